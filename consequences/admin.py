from django import forms
from django.contrib import admin

from .models import Action, Consequence, Polarity, Rule


def polarity_of(action: str) -> str:
    return Polarity.POSITIVE if action == Action.RECOGNITION else Polarity.NEGATIVE


class ConsequenceAdminForm(forms.ModelForm):
    class Meta:
        model = Consequence
        fields = (
            "summary",
            "action",
            "owner",
            "due_on",
            "notes",
            "subject_kind",
            "employee",
            "team",
            "location",
            "rule",
            "deviation",
            "evidence",
        )

    def clean(self):
        cleaned = super().clean()
        # Polarity follows from the action, so it is set before the model's own checks run
        # rather than offered as a choice that could contradict the action.
        if cleaned.get("action"):
            self.instance.polarity = polarity_of(cleaned["action"])
        return cleaned


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "subject_kind",
        "condition",
        "action",
        "polarity",
        "period_kind",
        "consecutive_periods",
        "min_observations",
        "breaches_at_least",
        "missed_at_least",
        "standard",
        "active",
    )
    list_filter = ("active", "subject_kind", "condition", "action", "period_kind")
    list_select_related = ("standard",)
    search_fields = ("name", "description", "standard__code")
    autocomplete_fields = ("standard",)
    fieldsets = (
        (None, {"fields": ("name", "description", "active")}),
        (
            "When",
            {
                "fields": (
                    "subject_kind",
                    "condition",
                    "standard",
                    "period_kind",
                    "consecutive_periods",
                    "min_observations",
                )
            },
        ),
        (
            "Customer cases (SLA breached)",
            {
                "fields": ("breaches_at_least",),
                "description": "A rule on SLA breaches counts the cases of one person (the owner) or one "
                "location that missed a deadline in one period of the period kind above; the standard, "
                "consecutive periods and minimum observations do not apply to it.",
            },
        ),
        (
            "Planned audits (missed)",
            {
                "fields": ("missed_at_least",),
                "description": "A rule on missed audits counts the planned audits of one location due in "
                "one period of the period kind above that were not done by their closing time (for "
                "example 2 in a quarter); the standard, consecutive periods and minimum observations do "
                "not apply to it.",
            },
        ),
        ("Then", {"fields": ("action", "due_within_days")}),
    )

    @admin.display(description="polarity")
    def polarity(self, obj):
        return Polarity(obj.polarity).label


@admin.register(Consequence)
class ConsequenceAdmin(admin.ModelAdmin):
    form = ConsequenceAdminForm
    """Consequences proposed by rules or by hand. Their workflow (approve, deliver, close) runs in
    the managers' dashboard, which stamps each step; admin shows the steps read-only."""

    list_display = (
        "summary",
        "subject",
        "action",
        "polarity",
        "status",
        "owner",
        "due_on",
        "overdue",
        "rule",
        "created_at",
    )
    list_filter = ("status", "polarity", "action", "subject_kind", "location", "rule")
    list_select_related = ("rule", "employee__user", "team__location", "location", "owner")
    search_fields = ("summary", "notes", "location__code", "employee__employee_number", "team__name")
    date_hierarchy = "created_at"
    autocomplete_fields = ("rule", "employee", "team", "location", "deviation", "owner", "evidence")
    readonly_fields = (
        "polarity",
        "status",
        "period_kind",
        "period_start",
        "dedupe_key",
        "created_at",
        "approved_at",
        "delivered_at",
        "closed_at",
        "closure_note",
    )
    fieldsets = (
        (None, {"fields": ("summary", "action", "polarity", "owner", "due_on", "notes")}),
        ("Subject", {"fields": ("subject_kind", "employee", "team", "location")}),
        (
            "Evidence",
            {"fields": ("rule", "period_kind", "period_start", "deviation", "evidence", "dedupe_key")},
        ),
        (
            "Workflow",
            {"fields": ("status", "created_at", "approved_at", "delivered_at", "closed_at", "closure_note")},
        ),
    )

    @admin.display(description="subject")
    def subject(self, obj):
        return obj.subject_label

    @admin.display(description="overdue", boolean=True)
    def overdue(self, obj):
        return obj.is_overdue

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)
