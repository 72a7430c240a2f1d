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
