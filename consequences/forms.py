"""Forms of the consequence pages: they collect and clean input; the services decide and write."""

from django import forms

from .models import Action, ConsequenceStatus, Polarity
from .selectors import InboxFilters
from .services import BULK_LIMIT

# The largest id a database key column holds: beyond it a lookup would fail instead of finding nothing.
LARGEST_ID = 2**63 - 1


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Waiting (not closed)"), *ConsequenceStatus.choices]
    )
    action = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Action.choices], label="Kind")
    polarity = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Positive and negative"),
            (Polarity.POSITIVE, "Positive (recognition)"),
            (Polarity.NEGATIVE, "Negative (coaching, corrective action, training)"),
        ],
        label="Positive or negative",
    )
    location = forms.ChoiceField(required=False)
    rule = forms.ChoiceField(required=False)
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args, locations, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Choices from the rows already read, so that rendering and validating cost no query.
        self.locations = {str(location.pk): location for location in locations}
        self.rules = {str(rule.pk): rule for rule in rules}
        self.fields["location"].choices = [
            ("", "All my locations"),
            *((pk, location.name) for pk, location in self.locations.items()),
        ]
        self.fields["rule"].choices = [
            ("", "Any rule"),
            *((pk, rule.name) for pk, rule in self.rules.items()),
        ]

    def location_id(self) -> int | None:
        """The id of the location chosen, or None (no filter)."""
        location = self.locations.get(self.cleaned_data.get("location") or "")
        return location.pk if location else None

    def filters(self) -> InboxFilters:
        """The filters chosen; none when the input is not valid (the inbox then lists everything waiting)."""
        if not self.is_valid():
            return InboxFilters()
        rule = self.rules.get(self.cleaned_data.get("rule") or "")
        return InboxFilters(
            status=self.cleaned_data.get("status", ""),
            action=self.cleaned_data.get("action", ""),
            polarity=self.cleaned_data.get("polarity", ""),
            overdue=self.cleaned_data.get("overdue", False),
            location_id=self.location_id(),
            rule_id=rule.pk if rule else None,
        )

    def show_counts(self, facets: dict[str, dict]) -> None:
        """Put after each choice how many consequences it would list (`selectors.inbox_facets`)."""
        for name, facet in (
            ("status", "status"),
            ("action", "action"),
            ("polarity", "polarity"),
            ("location", "location_id"),
            ("rule", "rule_id"),
        ):
            counts = facets.get(facet, {})
            field = self.fields[name]
            field.choices = [
                (value, f"{label} ({counts.get(_facet_key(facet, value), 0):,})")
                for value, label in field.choices
            ]
        label = f"Overdue only ({facets.get('overdue', {}).get(True, 0):,})"
        # The bound field copied the label when the form was cleaned: set both.
        self.fields["overdue"].label = self["overdue"].label = label


def _facet_key(facet: str, value: str):
    """A choice's value as `inbox_facets` keys it (ids are numbers there)."""
    if facet in ("location_id", "rule_id") and value:
        return int(value)
    return value


class CloseForm(forms.Form):
    closure_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # the service says why an empty note is refused, next to the field
        label="What was done",
        help_text="Required to close: what was said or done, and the outcome.",
    )


class IdsField(forms.Field):
    """Consequence ids, from ticked boxes (one value each) or a comma-separated list, in any mix."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value or ""]
        ids: list[int] = []
        for part in (piece.strip() for text in values for piece in str(text).split(",")):
            if not part:
                continue
            if not part.isdigit() or not 1 <= int(part) <= LARGEST_ID:
                raise forms.ValidationError("The consequences chosen are not valid: reload the inbox.")
            ids.append(int(part))
        return list(dict.fromkeys(ids))


# Which button was pressed → the status the consequences move to.
BULK_STEPS = {
    "approve": ConsequenceStatus.APPROVED,
    "deliver": ConsequenceStatus.DELIVERED,
    "close": ConsequenceStatus.CLOSED,
}


class BulkForm(forms.Form):
    """One bulk step: which consequences (ticked, this page's or all matching the filters) and what to
    do. The first post asks for confirmation; the confirmation posts the ids with ``confirm``."""

    step = forms.ChoiceField(choices=[(key, key) for key in BULK_STEPS])
    which = forms.ChoiceField(
        required=False,
        choices=[("ticked", "ticked"), ("page", "page"), ("matching", "matching")],
    )
    ids = IdsField(required=False)
    page_ids = IdsField(required=False)
    filters = forms.CharField(required=False, max_length=2000)
    closure_note = CloseForm.base_fields["closure_note"]
    confirm = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        which = data.get("which") or "ticked"
        data["which"] = which
        chosen = data.get("page_ids" if which == "page" else "ids") or []
        if which != "matching" and not chosen:
            raise forms.ValidationError("Tick at least one consequence, or choose the whole page.")
        if len(chosen) > BULK_LIMIT:
            raise forms.ValidationError(f"At most {BULK_LIMIT:,} consequences can be moved at once.")
        data["chosen"] = chosen
        return data

    @property
    def to(self) -> str:
        return BULK_STEPS[self.cleaned_data["step"]]
