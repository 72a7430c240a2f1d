"""Forms of the consequence pages: they collect and clean input; the services decide and write."""

from django import forms

from .models import Action, ConsequenceStatus


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Waiting (not closed)"), *ConsequenceStatus.choices]
    )
    action = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Action.choices], label="Kind")
    location = forms.ChoiceField(required=False)
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices from the locations already read, so that rendering and validating cost no query.
        self.locations = {str(location.pk): location for location in locations}
        self.fields["location"].choices = [
            ("", "All my locations"),
            *((pk, location.name) for pk, location in self.locations.items()),
        ]

    def location_id(self) -> int | None:
        """The id of the location chosen, or None (no filter)."""
        location = self.locations.get(self.cleaned_data.get("location") or "")
        return location.pk if location else None


class CloseForm(forms.Form):
    closure_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # the service says why an empty note is refused, next to the field
        label="What was done",
        help_text="Required to close: what was said or done, and the outcome.",
    )
