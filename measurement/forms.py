"""Forms of the measurement app.

The public feedback form checks only what the page itself needs: that an answer is one of the
choices shown, and a cap on comment length for a page open to anyone. Every rule about feedback
(something must be said, contact details need consent, lengths, what an email address is)
lives in the intake service, whose errors are put back on the form next to the field they name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from measurement.services.intake import RowError

CSAT_CHOICES = [
    (1, "Very dissatisfied"),
    (2, "Dissatisfied"),
    (3, "Neither satisfied nor dissatisfied"),
    (4, "Satisfied"),
    (5, "Very satisfied"),
]
NPS_CHOICES = [(score, str(score)) for score in range(11)]
COMMENT_MAX_LENGTH = 2000
# The intake service words its messages for the staff who read them; where a customer needs
# to be told what to do instead, the form says it in the customer's words (same rule).
CUSTOMER_WORDING = {
    "contact_consent": "Tick the box so that we may contact you, or leave your name and email address out.",
}


class FeedbackForm(forms.Form):
    """A customer's answer about one touchpoint at one location.

    Field names are the intake service's feedback field names, so that its errors map onto
    the form one to one. `website` is a honeypot: people never see it, bots fill it in.
    """

    csat = forms.TypedChoiceField(
        label="How satisfied are you with your visit?",
        choices=CSAT_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )
    nps = forms.TypedChoiceField(
        label="How likely are you to recommend us to a friend or colleague?",
        choices=NPS_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )
    comment = forms.CharField(
        label="Anything you would like to tell us?",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
    )
    # The intake service checks their length; `maxlength` only stops the browser earlier.
    contact_name = forms.CharField(
        label="Your name",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": 120, "class": "form-control"}),
    )
    contact_email = forms.CharField(
        label="Your email address",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254, "class": "form-control"}),
    )
    contact_consent = forms.BooleanField(
        label="You may contact me about this feedback.",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    # Drawn when the page is shown and stored as the external id: a double tap on "Send"
    # stores the answer once (the intake counts the second one as a duplicate).
    submission = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def is_bot(self) -> bool:
        """Whether the honeypot was filled in (only software does that)."""
        return bool(self.data.get("website", "").strip())

    def intake_row(self, *, location_code: str, touchpoint_slug: str, channel: str) -> dict[str, Any]:
        """The cleaned answer as a row for `feedback_ingest`."""
        data = self.cleaned_data
        submission = data.get("submission")
        return {
            "external_id": f"form-{submission}" if submission else "",
            "location": location_code,
            "touchpoint": touchpoint_slug,
            "channel": channel,
            "csat": data["csat"],
            "nps": data["nps"],
            "comment": data["comment"],
            "contact_name": data["contact_name"],
            "contact_email": data["contact_email"],
            "contact_consent": data["contact_consent"],
        }

    def add_intake_errors(self, errors: Iterable[RowError]) -> None:
        """Show the intake service's errors next to the fields they name."""
        for error in errors:
            field = error.field if error.field in self.fields else None
            self.add_error(field, CUSTOMER_WORDING.get(error.field, error.message))


# --------------------------------------------------------------------------- the observations page

PASSED_CHOICES = [("", "Passed and failed"), ("yes", "Passed only"), ("no", "Failed only")]
# Longer than any id a column can hold: refused as a malformed id, not looked up.
ID_MAX_DIGITS = 18
SELECT = {"class": "form-select form-select-sm"}
DATE = {"class": "form-control form-control-sm", "type": "date"}
FILTER_ORDER = (
    "period_kind",
    "period_start",
    "from",
    "to",
    "location",
    "team",
    "employee",
    "standard",
    "touchpoint",
    "source",
    "passed",
)


class ObjectIdField(forms.Field):
    """The id of an object chosen from a list. A malformed id is a form error naming the field;
    a well-formed one outside the user's scope is not the form's business (the page answers 404,
    as for a missing one, so that nothing tells the two apart)."""

    def __init__(self, *, what: str, options: Iterable = (), empty_label: str, **kwargs):
        self.what = what
        choices = [("", empty_label), *((str(pk), label) for pk, label in options)]
        super().__init__(required=False, widget=forms.Select(attrs=SELECT, choices=choices), **kwargs)

    def to_python(self, value) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        if not text.isdigit() or len(text) > ID_MAX_DIGITS:
            raise forms.ValidationError(f"Choose a {self.what} from the list (got {text[:40]!r}).")
        return int(text)


class ObservationFilterForm(forms.Form):
    """The filters of the observations page (GET), parameters as the drill-down links write them:
    `period_kind` + `period_start` (a calendar period) or `from` + `to` (inclusive local days),
    `location`, `team`, `employee`, `standard`, `touchpoint` (ids), `source`, `passed` (yes/no).

    `options` gives, per object field, the (id, label) pairs the user may choose from."""

    period_kind = forms.ChoiceField(
        label="Period",
        required=False,
        widget=forms.Select(attrs=SELECT),
    )
    period_start = forms.DateField(label="Period containing", required=False, widget=forms.DateInput(DATE))
    source = forms.ChoiceField(label="Source", required=False, widget=forms.Select(attrs=SELECT))
    passed = forms.ChoiceField(
        label="Result", required=False, choices=PASSED_CHOICES, widget=forms.Select(SELECT)
    )

    OBJECTS = (
        ("location", "location", "All locations"),
        ("team", "team", "All teams"),
        ("employee", "employee", "All employees"),
        ("standard", "standard", "All standards"),
        ("touchpoint", "touchpoint", "All touchpoints"),
    )

    def __init__(self, data=None, *, options: dict[str, Iterable], period_kinds, sources):
        super().__init__(data)
        self.fields["period_kind"].choices = [("", "Any period"), *period_kinds]
        self.fields["source"].choices = [("", "Any source"), *sources]
        for name in ("period_kind", "source", "passed"):
            values = ", ".join(value for value, _ in self.fields[name].choices if value)
            self.fields[name].error_messages["invalid_choice"] = f"%(value)s is not one of {values}."
        # `from` is a Python keyword: these two are added by name.
        self.fields["from"] = forms.DateField(label="From", required=False, widget=forms.DateInput(DATE))
        self.fields["to"] = forms.DateField(label="To", required=False, widget=forms.DateInput(DATE))
        for name, what, empty_label in self.OBJECTS:
            self.fields[name] = ObjectIdField(
                label=what.capitalize(), what=what, options=options.get(name, ()), empty_label=empty_label
            )
        self.order_fields([*FILTER_ORDER])

    def full_clean(self):
        super().full_clean()
        # Mark what is wrong for the browser and screen readers (the message names the field).
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-describedby"] = f"id_{name}-error"

    def clean(self):
        data = super().clean()
        kind, start = data.get("period_kind"), data.get("period_start")
        first, last = data.get("from"), data.get("to")
        if kind and not start and "period_start" not in self.errors:
            self.add_error("period_start", "Give the day the period starts on (or any day in it).")
        if start and not kind and "period_kind" not in self.errors:
            self.add_error("period_kind", "Choose a day, week, month or quarter for this date.")
        if (kind or start) and (first or last):
            self.add_error("from", "Give a calendar period or from/to dates, not both: clear one of them.")
        if first and last and first > last:
            self.add_error(
                "to", f"{last.isoformat()} is before {first.isoformat()}: give the later day in to."
            )
        data["passed"] = {"yes": True, "no": False}.get(data.get("passed") or "")
        return data
