"""Forms of the case pages: they collect and clean input; the services decide and write."""

from __future__ import annotations

from django import forms

from .models import COMPLAINT_ORIGINS, CaseStatus, Severity
from .selectors import PERIODS, QUEUE_TABS, SCORE_BANDS, InboxFilters, QueueFilters

TITLE_MAX = 160  # Case.title


def _choices_by(items, key: str) -> dict[str, object]:
    return {str(getattr(item, key)): item for item in items}


# --- The cases queue --------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    """Filters of the queue. Locations are named by code (`?location=AAA-01`), as people quote them."""

    tab = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Open (waiting for us)"), *CaseStatus.choices, ("any", "Any status")],
    )
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    location = forms.ChoiceField(required=False)
    category = forms.ChoiceField(required=False)
    breached = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args, tabs: list[str], locations, categories, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices from rows already read, so that rendering and validating cost no extra query.
        self.tabs = tabs
        self.locations = _choices_by(locations, "code")
        self.categories = _choices_by(categories, "pk")
        self.fields["tab"].choices = [(tab, QUEUE_TABS[tab]) for tab in tabs]
        self.fields["location"].choices = [
            ("", "All my locations"),
            *((code, f"{location.name} ({code})") for code, location in self.locations.items()),
        ]
        self.fields["category"].choices = [
            ("", "Any category"),
            *((pk, category.name) for pk, category in self.categories.items()),
        ]

    def filters(self) -> QueueFilters:
        """The filters chosen; a field that is not valid is left out (its error shows on the page)."""
        self.is_valid()
        data = self.cleaned_data
        location = self.locations.get(data.get("location") or "")
        category = self.categories.get(data.get("category") or "")
        return QueueFilters(
            tab=data.get("tab") or self.tabs[0],
            status=data.get("status") or "",
            severity=data.get("severity") or "",
            location_id=location.pk if location else None,
            category_id=category.pk if category else None,
            breached=bool(data.get("breached")),
        )


# --- The feedback inbox -----------------------------------------------------------------------


class InboxFilterForm(forms.Form):
    location = forms.ChoiceField(required=False)
    touchpoint = forms.ChoiceField(required=False)
    period = forms.ChoiceField(required=False, choices=[("", "Any time"), *PERIODS.items()])
    band = forms.ChoiceField(
        required=False,
        label="Score",
        choices=[("", "Any score"), *((key, label) for key, (label, _) in SCORE_BANDS.items())],
    )
    case = forms.ChoiceField(
        required=False,
        choices=[("", "With or without a case"), ("without", "Without a case"), ("with", "With a case")],
    )
    with_comment = forms.BooleanField(required=False, label="With a comment")
    contact = forms.BooleanField(required=False, label="Asked to be contacted")

    def __init__(self, *args, locations, touchpoints, **kwargs):
        super().__init__(*args, **kwargs)
        self.locations = _choices_by(locations, "code")
        self.touchpoints = _choices_by(touchpoints, "slug")
        self.fields["location"].choices = [
            ("", "All my locations"),
            *((code, f"{location.name} ({code})") for code, location in self.locations.items()),
        ]
        self.fields["touchpoint"].choices = [
            ("", "Any touchpoint"),
            *((slug, touchpoint.name) for slug, touchpoint in self.touchpoints.items()),
        ]

    def filters(self) -> InboxFilters:
        self.is_valid()
        data = self.cleaned_data
        location = self.locations.get(data.get("location") or "")
        touchpoint = self.touchpoints.get(data.get("touchpoint") or "")
        return InboxFilters(
            location_id=location.pk if location else None,
            touchpoint_id=touchpoint.pk if touchpoint else None,
            period_days=int(data["period"]) if data.get("period") else None,
            band=data.get("band") or "",
            with_comment=bool(data.get("with_comment")),
            contact=bool(data.get("contact")),
            case=data.get("case") or "",
        )


class OpenFromFeedbackForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.NORMAL)


# --- One case ---------------------------------------------------------------------------------

# The steps the case page offers as buttons (resolving has its own form, with the summary).
STEPS = {
    "acknowledge": CaseStatus.ACKNOWLEDGED,
    "start": CaseStatus.IN_PROGRESS,
    "close": CaseStatus.CLOSED,
    "reopen": CaseStatus.REOPENED,
}


class TransitionForm(forms.Form):
    step = forms.ChoiceField(choices=[(step, step) for step in STEPS])
    note = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why it is reopened",
    )

    def __init__(self, *args, **kwargs):
        # The case page holds several forms with a note: each names its own element ids.
        kwargs.setdefault("auto_id", "reopen_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("step") == "reopen" and not (data.get("note") or "").strip():
            self.add_error("note", "Say why the case is reopened: what the customer came back with.")
        return data

    @property
    def to(self) -> str:
        return STEPS[self.cleaned_data["step"]]


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=5000,
        label="Internal note",
        help_text="Seen by colleagues only, never by the customer.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the note before adding it."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class AssignForm(forms.Form):
    owner = forms.ChoiceField(label="Hand over to")
    note = forms.CharField(
        required=False,
        max_length=5000,
        label="Note for the new owner",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, candidates, **kwargs):
        kwargs.setdefault("auto_id", "assign_%s")
        super().__init__(*args, **kwargs)
        self.candidates = {str(employee.pk): employee for employee in candidates}
        self.fields["owner"].choices = [
            ("", "Choose a colleague…"),
            *(
                (pk, f"{e.full_name}{f' ({e.job_title})' if e.job_title else ''}")
                for pk, e in self.candidates.items()
            ),
        ]
        self.fields["owner"].error_messages["invalid_choice"] = (
            "Choose someone who works at the case's location from the list."
        )
        self.fields["owner"].error_messages["required"] = "Choose who takes the case over."

    @property
    def chosen_owner(self):
        return self.candidates[self.cleaned_data["owner"]]


# --- Log a complaint --------------------------------------------------------------------------


def title_from(text: str) -> str:
    """A case's title from what happened: its first line, cut at a word to fit."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(first) <= TITLE_MAX:
        return first
    cut = first[: TITLE_MAX - 1].rsplit(" ", 1)[0] or first[: TITLE_MAX - 1]
    return cut.rstrip(" ,.;:") + "…"


class ComplaintForm(forms.Form):
    """A complaint taken in person, on the phone, by letter, email or social media, in a few taps."""

    origin = forms.ChoiceField(
        label="How did it reach you?",
        choices=[(origin.value, origin.label) for origin in COMPLAINT_ORIGINS],
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={"required": "Choose how the complaint reached you."},
    )
    location = forms.ChoiceField(label="Location")
    touchpoint = forms.ChoiceField(label="Where it happened (touchpoint)", required=False)
    category = forms.ChoiceField(label="Category", required=False)
    severity = forms.ChoiceField(
        label="Severity",
        choices=Severity.choices,
        initial=Severity.NORMAL,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={"required": "Choose how serious it is."},
    )
    description = forms.CharField(
        label="What happened",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="In the customer's words if you can. The first line becomes the case's title.",
        error_messages={"required": "Say what happened: the customer's complaint in a sentence or two."},
    )
    contact_name = forms.CharField(
        label="Customer's name",
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contact_email = forms.EmailField(
        label="Customer's email address",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    contact_phone = forms.CharField(
        label="Customer's phone number",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    contact_consent = forms.BooleanField(
        label="The customer agreed that we contact them about this complaint.", required=False
    )

    def __init__(self, *args, locations, touchpoints, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.locations = _choices_by(locations, "pk")
        self.touchpoints = _choices_by(touchpoints, "pk")
        self.categories = _choices_by(categories, "pk")
        self.fields["location"].choices = [(pk, location.name) for pk, location in self.locations.items()]
        self.fields["location"].error_messages["invalid_choice"] = (
            "Choose your own location or one you manage."
        )
        self.fields["touchpoint"].choices = [
            ("", "Not sure / none"),
            *((pk, touchpoint.name) for pk, touchpoint in self.touchpoints.items()),
        ]
        self.fields["category"].choices = [
            ("", "Not sure"),
            *((pk, category.name) for pk, category in self.categories.items()),
        ]

    def clean(self):
        data = super().clean()
        details = any(data.get(name) for name in ("contact_name", "contact_email", "contact_phone"))
        if details and not data.get("contact_consent"):
            self.add_error(
                "contact_consent",
                "Tick this only if the customer agreed; without their consent, leave their details out.",
            )
        return data

    def case_fields(self) -> dict:
        """The `case_open` arguments the form gives (all but who logs it)."""
        data = self.cleaned_data
        consent = bool(data["contact_consent"])
        return {
            "location": self.locations[data["location"]],
            "touchpoint": self.touchpoints.get(data.get("touchpoint") or ""),
            "category": self.categories.get(data.get("category") or ""),
            "origin": data["origin"],
            "severity": data["severity"],
            "title": title_from(data["description"]),
            "description": data["description"].strip(),
            "contact_name": data["contact_name"].strip() if consent else "",
            "contact_email": data["contact_email"].strip() if consent else "",
            "contact_phone": data["contact_phone"].strip() if consent else "",
            "contact_consent": consent,
        }
