from django.contrib import admin

from .models import Case, CaseCategory, CaseEvent, CaseRule, SlaPolicy


@admin.register(CaseCategory)
class CaseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "active"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "severity",
        "location",
        "touchpoint",
        "acknowledge_within_hours",
        "resolve_within_days",
        "active",
    ]
    list_filter = ["severity", "active", "location"]
    autocomplete_fields = ["location", "touchpoint"]


@admin.register(CaseRule)
class CaseRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "nps_at_most",
        "csat_at_most",
        "contact_requested",
        "touchpoint",
        "severity",
        "active",
    ]
    list_filter = ["active", "severity"]
    autocomplete_fields = ["touchpoint"]


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "from_status", "to_status", "text", "recipient"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the timeline is written by the case's services, never by hand


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "title",
        "location",
        "status",
        "severity",
        "owner",
        "opened_at",
        "resolve_due_at",
    ]
    list_filter = ["status", "severity", "origin", "location"]
    search_fields = ["title", "description", "external_id"]
    autocomplete_fields = ["location", "touchpoint", "team", "owner", "logged_by"]
    raw_id_fields = ["feedback", "action"]
    readonly_fields = ["follow_up_token", "escalation_level"]
    date_hierarchy = "opened_at"
    inlines = [CaseEventInline]
