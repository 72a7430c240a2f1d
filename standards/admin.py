from django.contrib import admin
from django.db.models import Count, F, Q
from simple_history.admin import SimpleHistoryAdmin

from organization.admin import ProgramImportExportMixin

from .forms import StandardAdminForm
from .models import Acknowledgement, Standard
from .resources import StandardResource
from .services import standard_save

StandardTouchpoint = Standard.touchpoints.through


def _standard_touchpoint_label(link) -> str:
    return str(link.touchpoint)


# The link table Django makes for Standard.touchpoints calls its rows "Standard_touchpoints
# object (3)"; the inline and the change history name the touchpoint instead.
StandardTouchpoint.__str__ = _standard_touchpoint_label


class StandardTouchpointInline(admin.TabularInline):
    model = StandardTouchpoint
    autocomplete_fields = ("touchpoint",)
    extra = 0
    verbose_name = "touchpoint covered"
    verbose_name_plural = "touchpoints covered"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("touchpoint")


@admin.register(Standard)
class StandardAdmin(ProgramImportExportMixin, SimpleHistoryAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("code",)
    form = StandardAdminForm
    resource_classes = [StandardResource]
    list_display = (
        "code",
        "title",
        "status",
        "version",
        "measure",
        "target_rate",
        "weight",
        "non_negotiable",
        "effective_from",
        "touchpoint_count",
        "acknowledged_current",
    )
    list_filter = ("status", "measure_kind", "non_negotiable")
    search_fields = ("code", "title", "behaviour")
    date_hierarchy = "effective_from"
    readonly_fields = ("version",)
    autocomplete_fields = ("teams",)
    inlines = [StandardTouchpointInline]
    history_list_display = ("version", "status")
    fieldsets = (
        (None, {"fields": ("code", "title", "status", "effective_from", "version")}),
        ("Expected behaviour", {"fields": ("behaviour", "how", "why_customer", "why_employee")}),
        (
            "Measure",
            {
                "fields": (
                    "measure_kind",
                    "comparator",
                    "threshold",
                    "unit",
                    "target_rate",
                    "weight",
                    "non_negotiable",
                )
            },
        ),
        ("Who acknowledges it", {"fields": ("teams",)}),
    )
    change_fieldsets = (("Versioning", {"fields": ("material_change",)}),)

    def get_fieldsets(self, request, obj=None):
        # A new standard is version 1 whatever the box says, so it is offered on change only.
        return self.fieldsets + self.change_fieldsets if obj is not None else self.fieldsets

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                touchpoint_count=Count("touchpoints", distinct=True),
                acknowledged_current=Count(
                    "acknowledgements", filter=Q(acknowledgements__version=F("version")), distinct=True
                ),
            )
        )

    @admin.display(description="measure")
    def measure(self, obj):
        return obj.measure_summary

    @admin.display(description="touchpoints", ordering="touchpoint_count")
    def touchpoint_count(self, obj):
        return obj.touchpoint_count

    @admin.display(description="acknowledged (this version)", ordering="acknowledged_current")
    def acknowledged_current(self, obj):
        return obj.acknowledged_current

    def save_model(self, request, obj, form, change):
        standard_save(
            standard=obj, material_change=form.cleaned_data.get("material_change", False), user=request.user
        )


@admin.register(Acknowledgement)
class AcknowledgementAdmin(admin.ModelAdmin):
    """Employees' own acceptances, kept as evidence: read-only here (staff acknowledge in the
    portal; deleting one asks the employee to acknowledge again)."""

    list_display = ("employee", "standard", "version", "is_current", "acknowledged_at")
    list_filter = ("standard__status", "employee__location")
    list_select_related = ("employee__user", "standard")
    search_fields = ("standard__code", "employee__employee_number", "employee__user__last_name")
    date_hierarchy = "acknowledged_at"

    @admin.display(description="current version", boolean=True)
    def is_current(self, obj):
        return obj.version == obj.standard.version

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
