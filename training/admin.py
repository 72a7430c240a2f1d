from django.contrib import admin
from django.db.models import Count
from django.utils import timezone

from organization.admin import ProgramImportExportMixin

from .models import Assignment, Completion, CompletionStatus, Course, Requirement
from .resources import CourseResource


class CourseStandardInline(admin.TabularInline):
    model = Course.standards.through
    autocomplete_fields = ("standard",)
    extra = 0
    verbose_name = "standard taught"
    verbose_name_plural = "standards taught"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("standard")


class RequirementInline(admin.TabularInline):
    model = Requirement
    fields = ("audience", "role", "team", "location", "due_within_days")
    autocomplete_fields = ("team", "location")
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("team__location", "location")


@admin.register(Course)
class CourseAdmin(ProgramImportExportMixin, admin.ModelAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("title",)
    resource_classes = [CourseResource]
    list_display = (
        "code",
        "title",
        "delivery_method",
        "duration_minutes",
        "pass_mark",
        "refresher_interval_days",
        "standard_count",
        "active",
    )
    list_filter = ("delivery_method", "active")
    search_fields = ("code", "title", "description")
    exclude = ("standards",)
    inlines = [CourseStandardInline, RequirementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(standard_count=Count("standards", distinct=True))

    @admin.display(description="standards", ordering="standard_count")
    def standard_count(self, obj):
        return obj.standard_count


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):
    list_display = ("course", "audience", "role", "team", "location", "due_within_days")
    list_filter = ("audience", "role", "course")
    list_select_related = ("course", "team__location", "location")
    search_fields = ("course__code", "course__title", "team__name", "location__code")
    autocomplete_fields = ("course", "team", "location")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    """Assignments are derived from requirements by the training housekeeping task: read-only."""

    list_display = ("employee", "course", "assigned_on", "due_on", "active")
    list_filter = ("active", "course", "employee__location")
    list_select_related = ("employee__user", "course")
    search_fields = (
        "employee__employee_number",
        "employee__user__last_name",
        "course__code",
        "course__title",
    )
    date_hierarchy = "due_on"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Completion)
class CompletionAdmin(admin.ModelAdmin):
    list_display = (
        "employee",
        "course",
        "completed_on",
        "method",
        "score",
        "status",
        "expires_on",
        "reviewed_by",
    )
    list_filter = ("status", "method", "course", "employee__location")
    list_select_related = ("employee__user", "course", "reviewed_by")
    search_fields = ("employee__employee_number", "employee__user__last_name", "course__code", "evidence")
    date_hierarchy = "completed_on"
    autocomplete_fields = ("employee", "course")
    readonly_fields = ("expires_on", "reviewed_by", "reviewed_at", "logged_at")
    fields = (
        "employee",
        "course",
        "completed_on",
        "method",
        "score",
        "evidence",
        "status",
        "rejection_reason",
        "expires_on",
        "reviewed_by",
        "reviewed_at",
        "logged_at",
    )

    def save_model(self, request, obj, form, change):
        # A verdict given here is signed like one given by a manager in the dashboard.
        if "status" in form.changed_data and obj.status != CompletionStatus.LOGGED:
            obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)
