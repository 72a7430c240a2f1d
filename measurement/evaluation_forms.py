"""Forms of the *record an evaluation* page: the evaluation itself and one item per standard.

The forms check only what the page needs: that the location is one the evaluator may record
at, that the touchpoint, team and employee belong to it, that a choice is one of those shown.
Every rule about the evidence itself (what a value must look like, which verdict a standard
needs, weights, times) lives in the intake service; its errors are put back on the form next
to the field they name (row 0 = the evaluation, row i = item i).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import uuid4

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from organization.models import Employee, Location, Team
from organization.scope import location_queryset_for
from standards.models import MeasureKind, Standard, Status
from touchpoints.models import Touchpoint

from .models import EvaluationMethod
from .services.intake import RowError

COMMENT_MAX_LENGTH = 2000
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
PASSED_CHOICES = [("true", "Passed"), ("false", "Failed")]
RATING_CHOICES = [(str(score), str(score)) for score in range(1, 6)]

# The intake service reports the evaluation's own fields on every item (they are copied onto
# each observation); on this page they belong to the evaluation, under these names.
SHARED_FIELDS = {
    "location": "location",
    "team": "team",
    "employee": "employee",
    "touchpoint": "touchpoint",
    "observed_at": "evaluated_at",
    "source": "method",
    "method": "method",
    "items": "touchpoint",
}
# Where the service words a message for a file or an API call, the page says what to do on it.
FORM_WORDING = {
    "passed": "Choose passed or failed.",
    "items": "This touchpoint has no active standard to evaluate; choose another touchpoint.",
}


def touchpoints_at(location: Location) -> QuerySet[Touchpoint]:
    """Active touchpoints present at `location` (a touchpoint with no locations is everywhere)."""
    return (
        Touchpoint.objects.filter(active=True)
        .filter(Q(locations__isnull=True) | Q(locations=location))
        .order_by("name")
    )


def standards_for(touchpoint: Touchpoint | None) -> list[Standard]:
    """The active standards that cover `touchpoint`, in code order: the items of an evaluation."""
    if touchpoint is None:
        return []
    return list(Standard.objects.filter(status=Status.ACTIVE, touchpoints=touchpoint).order_by("code"))


def _pk(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return obj.name


class EmployeeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Employee) -> str:
        return str(obj)  # name (employee number)


class EvaluationForm(forms.Form):
    """Where, what and when: the evaluation's own fields.

    Choices are narrowed by who records (`location_queryset_for`) and by the location chosen
    (touchpoints present there, its teams and employees), so a value from outside is refused as
    an invalid choice naming its field.
    """

    location = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        empty_label="Choose a location",
        error_messages={
            "invalid_choice": "Choose one of your locations: you cannot record evaluations there."
        },
    )
    touchpoint = forms.ModelChoiceField(
        queryset=Touchpoint.objects.none(),
        empty_label="Choose a touchpoint",
        help_text="The standards that cover it become the items to evaluate.",
        error_messages={"invalid_choice": "Choose a touchpoint present at this location."},
    )
    method = forms.ChoiceField(choices=EvaluationMethod.choices, widget=forms.RadioSelect)
    team = TeamChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="The whole location",
        error_messages={"invalid_choice": "Choose a team of this location."},
    )
    employee = EmployeeChoiceField(
        queryset=Employee.objects.none(),
        required=False,
        empty_label="No one in particular",
        error_messages={"invalid_choice": "Choose an employee of this location."},
    )
    evaluated_at = forms.DateTimeField(
        label="Evaluated at",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    comment = forms.CharField(
        label="Overall comment",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # Drawn when the page is shown and sent as the external id: a double tap on "Record"
    # stores the evaluation once (the service returns the one already stored).
    submission = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = location_queryset_for(user, Location.objects.filter(active=True))
        self.chosen_location = self._chosen_location()
        if self.chosen_location is not None:
            self.fields["touchpoint"].queryset = touchpoints_at(self.chosen_location)
            self.fields["team"].queryset = Team.objects.filter(
                location=self.chosen_location, active=True
            ).order_by("name")
            self.fields["employee"].queryset = (
                Employee.objects.filter(location=self.chosen_location, active=True)
                .select_related("user")
                .order_by("user__last_name", "user__first_name", "employee_number")
            )
        elif self.is_bound:
            # The location is refused on its own; the touchpoint is still checked to exist, so
            # that the items already filled in are shown again rather than lost.
            self.fields["touchpoint"].queryset = Touchpoint.objects.filter(active=True)
        for name in ("location", "touchpoint", "team", "employee"):
            self.fields[name].widget.attrs["class"] = "form-select"
        for name in ("evaluated_at", "comment"):
            self.fields[name].widget.attrs["class"] = "form-control"
        self.fields["method"].widget.attrs["class"] = "form-check-input"
        # htmx: a new location brings its touchpoints, teams and employees; a new touchpoint
        # brings its standards as the items. Only these values travel (GET), never the items.
        self.fields["location"].widget.attrs.update(
            {
                "hx-get": reverse("evaluations:location-fields"),
                "hx-target": "#evaluation-context",
                "hx-swap": "outerHTML",
                "hx-include": "#evaluation-context",
            }
        )
        self.fields["touchpoint"].widget.attrs.update(
            {
                "hx-get": reverse("evaluations:items"),
                "hx-target": "#evaluation-items",
                "hx-swap": "outerHTML",
                "hx-include": "#id_location",
            }
        )

    def _chosen_location(self) -> Location | None:
        """The location in the data (or the initial one) if it is in the evaluator's scope."""
        raw = self.data.get("location") if self.is_bound else self.initial.get("location")
        if isinstance(raw, Location):
            raw = raw.pk
        pk = _pk(raw)
        if pk is None:
            return None
        return self.fields["location"].queryset.filter(pk=pk).first()

    def chosen_touchpoint(self) -> Touchpoint | None:
        """The touchpoint whose standards make the items: the valid one in the data, or the
        initial one if it is present at the chosen location."""
        if self.is_bound:
            self.is_valid()  # cleans every field; a valid touchpoint is kept whatever the others
            return self.cleaned_data.get("touchpoint")
        pk = _pk(self.initial.get("touchpoint"))
        if pk is None or self.chosen_location is None:
            return None
        return self.fields["touchpoint"].queryset.filter(pk=pk).first()

    def add_shared_error(self, field: str | None, message: str) -> None:
        """Add a service error once, however many items repeat it."""
        if message not in self.errors.get(field or NON_FIELD_ERRORS, []):
            self.add_error(field, message)


class ItemForm(forms.Form):
    """One standard's item: the verdict or value, its weight, whether it is critical, a comment.

    The measure decides the widget: pass/fail radios, a 1–5 rating, or a number with its unit.
    """

    passed = forms.ChoiceField(
        label="Result", choices=PASSED_CHOICES, required=False, widget=forms.RadioSelect
    )
    value = forms.CharField(label="Value", required=False, max_length=40)
    weight = forms.CharField(label="Weight", required=False, max_length=20)
    critical = forms.BooleanField(label="Critical: failing it fails the whole evaluation", required=False)
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )

    def __init__(self, *args, standard: Standard, number: int, **kwargs):
        kwargs.setdefault("prefix", f"item-{standard.pk}")
        kwargs.setdefault(
            "initial", {"weight": f"{standard.weight.normalize():f}", "critical": standard.non_negotiable}
        )
        super().__init__(*args, **kwargs)
        self.standard = standard
        self.number = number
        kind = standard.measure_kind
        if kind == MeasureKind.PASS_FAIL:
            del self.fields["value"]
            self.fields["passed"].widget.attrs["class"] = "btn-check"
        else:
            del self.fields["passed"]
            if kind == MeasureKind.RATING:
                self.fields["value"] = forms.ChoiceField(
                    label="Rating",
                    choices=RATING_CHOICES,
                    required=False,
                    widget=forms.RadioSelect(attrs={"class": "btn-check"}),
                )
            else:
                self.fields["value"].widget.attrs.update(
                    {"class": "form-control", "inputmode": "decimal", "autocomplete": "off"}
                )
                self.fields["value"].label = f"Value{f' ({standard.unit})' if standard.unit else ''}"
                self.fields["value"].help_text = f"Passes at {standard.measure_summary}."
        self.fields["weight"].widget.attrs.update(
            {"class": "form-control", "inputmode": "decimal", "autocomplete": "off"}
        )
        self.fields["critical"].widget.attrs["class"] = "form-check-input"

    @property
    def title(self) -> str:
        return f"Item {self.number} · {self.standard.code} {self.standard.title}"

    @property
    def measure_field(self):
        return self["passed"] if "passed" in self.fields else self["value"]

    def intake_item(self) -> dict[str, Any]:
        """The item as the intake service reads it."""
        data = self.cleaned_data
        item = {
            "standard": self.standard.code,
            "weight": data["weight"],
            "critical": "true" if data["critical"] else "false",
            "comment": data["comment"],
        }
        if "passed" in self.fields:
            item["passed"] = data["passed"]
        else:
            item["value"] = data["value"]
        return item

    def add_intake_error(self, field: str, message: str) -> None:
        self.add_error(field if field in self.fields else None, FORM_WORDING.get(field, message))


class EvaluationEntry:
    """The whole page: the evaluation form and one item form per standard of its touchpoint."""

    def __init__(self, *, user, data=None, initial: dict[str, Any] | None = None):
        self.form = EvaluationForm(data, user=user, initial=initial)
        self.touchpoint = self.form.chosen_touchpoint()
        self.items = item_forms(standards_for(self.touchpoint), data)

    @classmethod
    def blank(cls, *, user, location=None, touchpoint=None) -> EvaluationEntry:
        """A fresh page: now as the time; the location preselected when there is only one choice."""
        initial = {
            "location": location,
            "touchpoint": touchpoint,
            "evaluated_at": timezone.localtime().replace(second=0, microsecond=0),
            "submission": uuid4(),
        }
        entry = cls(user=user, initial=initial)
        if entry.form.chosen_location is None:
            only = list(entry.form.fields["location"].queryset[:2])
            if len(only) == 1:
                entry = cls(user=user, initial={**initial, "location": only[0].pk})
        return entry

    def is_valid(self) -> bool:
        # Every form is checked, so that every problem is shown at once.
        results = [self.form.is_valid(), *(item.is_valid() for item in self.items)]
        return all(results)

    @property
    def items_posted(self) -> bool:
        """Whether the data carries the items (without JavaScript, the first post brings them)."""
        prefixes = tuple(f"{item.prefix}-" for item in self.items)
        return bool(prefixes) and any(key.startswith(prefixes) for key in self.form.data)

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors) or any(item.errors for item in self.items)

    def intake_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `evaluation_record`, from the cleaned forms."""
        data = self.form.cleaned_data
        submission = data.get("submission")
        return {
            "location": data["location"].code,
            "touchpoint": data["touchpoint"].slug,
            "method": data["method"],
            "evaluated_at": data["evaluated_at"],
            "team": data["team"].name if data["team"] else "",
            "employee": data["employee"].employee_number if data["employee"] else "",
            "comment": data["comment"],
            "external_id": f"form-{submission}" if submission else None,
            "items": [item.intake_item() for item in self.items],
        }

    def add_intake_errors(self, errors: Iterable[RowError]) -> None:
        """Put the service's errors back: row 0 and the shared fields on the evaluation, row i on item i."""
        for error in errors:
            if error.field in SHARED_FIELDS:
                message = FORM_WORDING.get(error.field, error.message)
                self.form.add_shared_error(SHARED_FIELDS[error.field], message)
            elif 1 <= error.row <= len(self.items):
                self.items[error.row - 1].add_intake_error(error.field, error.message)
            else:
                self.form.add_shared_error(None, error.message)


def item_forms(standards: Iterable[Standard], data=None) -> list[ItemForm]:
    return [ItemForm(data, standard=standard, number=n) for n, standard in enumerate(standards, start=1)]
