from django.contrib import admin
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from organization.admin import ProgramImportExportMixin, qr_sheet_link
from organization.models import Location

from .models import Touchpoint
from .resources import TouchpointResource

# Touchpoints sit below standards in the app layers, so coverage is counted through the
# reverse relation instead of importing standards.models.Status.
ACTIVE_STANDARD = Q(standards__status="active")


class CoverageFilter(admin.SimpleListFilter):
    title = "coverage"
    parameter_name = "covered"

    def lookups(self, request, model_admin):
        return [("yes", "Covered by an active standard"), ("no", "Coverage gap")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(active_standards__gt=0)
        if self.value() == "no":
            return queryset.filter(active_standards=0)
        return queryset


@admin.register(Touchpoint)
class TouchpointAdmin(ProgramImportExportMixin, admin.ModelAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("journey_stage", "name")
    resource_classes = [TouchpointResource]
    list_display = (
        "name",
        "slug",
        "channel",
        "journey_stage",
        "customer_kind",
        "owner_team",
        "active_standards",
        "active",
        "qr_sheets",
    )
    list_filter = (
        "channel",
        "journey_stage",
        "customer_kind",
        "active",
        CoverageFilter,
        "owner_team__location",
    )
    list_select_related = ("owner_team__location",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner_team",)
    filter_horizontal = ("locations",)
    readonly_fields = ("qr_sheets",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "active")}),
        (
            "Where and for whom",
            {"fields": ("channel", "journey_stage", "customer_kind", "owner_team", "locations", "qr_sheets")},
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .prefetch_related(Prefetch("locations", queryset=Location.objects.order_by("code")))
            .annotate(active_standards=Count("standards", filter=ACTIVE_STANDARD, distinct=True))
        )

    @admin.display(description="active standards", ordering="active_standards")
    def active_standards(self, obj):
        # 0 is a coverage gap: no active standard says how this touchpoint should go.
        return obj.active_standards

    @admin.display(description="printable QR sheets")
    def qr_sheets(self, obj):
        # A sheet is per location and lists every touchpoint there; a touchpoint with no
        # locations is everywhere, so its codes are on every location's sheet.
        if obj.pk is None:
            return "—"
        locations = obj.locations.all()  # prefetched by get_queryset
        if not locations:
            return format_html(
                'every location: <a href="{}">a sheet per location</a>',
                reverse("admin:organization_location_changelist") + "?active__exact=1",
            )
        links = [(qr_sheet_link(location, location.code),) for location in locations if location.active]
        return format_html_join(", ", "{}", links) if links else "—"
