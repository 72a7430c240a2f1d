"""Forms of the gap-analysis pages: they collect and clean input; the services decide and write."""

from datetime import timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone

from touchpoints.models import JourneyStage, Touchpoint

from .models import ActionStatus, Assessment, AssessmentStatus, CustomerExpectation, Dimension
from .selectors import ORGANISATION_WIDE, action_owner_choices, assessable_locations, can_change_location
from .services import RatingInput

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


# --- The heatmap's and the action list's filters --------------------------------------------


class HeatmapFilterForm(forms.Form):
    location = forms.ChoiceField(required=False)
    journey_stage = forms.ChoiceField(
        required=False, choices=[("", "Every stage"), *JourneyStage.choices], label="Journey stage"
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.locations = {str(location.pk): location for location in locations}
        self.fields["location"].choices = [
            ("", "All my locations"),
            (ORGANISATION_WIDE, "Organisation-wide assessments"),
            *((pk, location.name) for pk, location in self.locations.items()),
        ]

    def location_filter(self):
        """The Location chosen, ``ORGANISATION_WIDE``, or None (no filter)."""
        value = self.cleaned_data.get("location") or ""
        if value == ORGANISATION_WIDE:
            return ORGANISATION_WIDE
        return self.locations.get(value)


class ActionFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ActionStatus.choices])
    overdue = forms.BooleanField(required=False, label="Overdue only")
    owner = forms.ChoiceField(required=False, choices=[("", "Anyone"), ("me", "Me")], label="Owner")


# --- The assessment form --------------------------------------------------------------------


class AssessmentForm(forms.Form):
    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), empty_label="Choose a touchpoint")
    location = forms.ModelChoiceField(
        queryset=None, empty_label="Choose a location", help_text="Where the touchpoint was assessed."
    )
    assessed_on = forms.DateField(widget=DATE_INPUT, label="Assessed on")
    expectations = forms.ModelMultipleChoiceField(
        queryset=CustomerExpectation.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Customer expectations",
        help_text="What customers expect of this touchpoint: the criteria of the ratings below.",
    )
    summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The main findings, in a few sentences.",
    )
    completed = forms.BooleanField(
        required=False,
        label="Mark the assessment completed",
        help_text="A completed assessment needs all four Ps rated and shows on the heatmap; leave unticked to save a draft.",
    )

    def __init__(self, *args, user, assessment: Assessment | None = None, **kwargs):
        if assessment is not None:
            kwargs["initial"] = {
                "touchpoint": assessment.touchpoint_id,
                "location": assessment.location_id,
                "assessed_on": assessment.assessed_on,
                "expectations": list(assessment.expectations.all()),
                "summary": assessment.summary,
                "completed": assessment.status == AssessmentStatus.COMPLETED,
            } | (kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        # An inactive touchpoint stays choosable on the assessment that already names it.
        keep = Q(pk=assessment.touchpoint_id) if assessment is not None else Q(pk__in=[])
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(Q(active=True) | keep).order_by("name")
        location = self.fields["location"]
        location.queryset = assessable_locations(user).order_by("name")
        if can_change_location(user, None):
            # Only admins may assess the whole organisation at once.
            location.required = False
            location.empty_label = "Whole organisation (no single location)"
        elif assessment is None and "location" not in self.initial:
            # A manager of one location has nothing to choose.
            only = list(location.queryset[:2])
            if len(only) == 1:
                self.initial["location"] = only[0].pk
        if assessment is None:
            self.fields["assessed_on"].initial = timezone.localdate()


class RatingForm(forms.Form):
    """One of the four Ps; prefixed by its dimension on the page ("people-current")."""

    current = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=5,
        help_text="How it is today: 1 (far below) to 5 (fully meets what customers expect).",
    )
    target = forms.IntegerField(
        required=False, min_value=1, max_value=5, help_text="Where customers expect it to be, 1 to 5."
    )
    evidence = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was seen, heard or measured.",
    )

    def __init__(self, *args, dimension: str, **kwargs):
        super().__init__(*args, prefix=dimension, **kwargs)
        self.dimension = dimension
        self.label = Dimension(dimension).label
        for name in ("current", "target"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "min": 1, "max": 5})

    def rating_input(self) -> RatingInput:
        data = self.cleaned_data
        return RatingInput(data.get("current"), data.get("target"), data.get("evidence") or "")


def rating_forms(data=None, *, assessment: Assessment | None = None) -> list[RatingForm]:
    """The four rating forms, in the fixed order of the four Ps, filled from `assessment`."""
    existing = {rating.dimension: rating for rating in assessment.ratings.all()} if assessment else {}
    forms_ = []
    for dimension in Dimension.values:
        rating = existing.get(dimension)
        initial = (
            {"current": rating.current, "target": rating.target, "evidence": rating.evidence}
            if rating
            else {}
        )
        forms_.append(RatingForm(data, dimension=dimension, initial=initial))
    return forms_


# --- Actions --------------------------------------------------------------------------------


class ActionForm(forms.Form):
    title = forms.CharField(max_length=160, help_text="What will be done, in a few words.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="How, and what done looks like."
    )
    owner = UserChoiceField(
        queryset=None, help_text="A manager of the location or an administrator answers for it."
    )
    due_on = forms.DateField(widget=DATE_INPUT, label="Due on")

    def __init__(self, *args, location, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = action_owner_choices(location)
        self.fields["due_on"].initial = timezone.localdate() + timedelta(days=30)


class ActionDoneForm(forms.Form):
    closure_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # the service says why an empty note is refused, next to the field
        label="What was done",
        help_text="Required: the change made, so the next reader knows the gap is closed.",
    )
    closed_on = forms.DateField(widget=DATE_INPUT, label="Done on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="done", **kwargs)
        self.fields["closed_on"].initial = timezone.localdate()


class ActionCancelForm(forms.Form):
    closure_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Why is it cancelled?"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="cancel", **kwargs)


class ActionPublishForm(forms.Form):
    customer_summary = forms.CharField(
        max_length=280,
        required=False,  # the service explains an empty summary
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 280}),
        label="What customers will read",
        help_text="“You said …, we did …”, at most 280 characters. No names, no private details: it is public.",
    )
