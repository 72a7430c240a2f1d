from axes.admin import AccessAttemptAdmin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ImportExportMixin

from .models import Employee, Location, Notice, OpeningHours, Team
from .resources import EmployeeResource, LocationResource, TeamResource
from .services import employee_sync_groups

User = get_user_model()


class ProgramImportExportMixin(ImportExportMixin):
    """Import and export in admin, gated by the model's own permissions: import-export lets any
    staff user import unless told otherwise, which would let a view-only user rewrite data."""

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class TeamInline(admin.TabularInline):
    model = Team
    fields = ("name", "active")
    extra = 0
    show_change_link = True


class OpeningHoursInline(admin.TabularInline):
    """A location's week for the SLA clock (cases.sla): the template says what no rows mean, since
    an empty table is a choice here (open around the clock), not a gap."""

    model = OpeningHours
    fields = ("weekday", "opens_at", "closes_at")
    extra = 0
    max_num = 7
    template = "admin/organization/openinghours_inline.html"


@admin.register(Location)
class LocationAdmin(ProgramImportExportMixin, admin.ModelAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("region", "name")
    resource_classes = [LocationResource]
    list_display = ("code", "name", "region", "active", "team_count", "employee_count", "qr_sheet")
    list_filter = ("region", "active")
    search_fields = ("code", "name", "region")
    readonly_fields = ("qr_sheet",)
    inlines = [TeamInline, OpeningHoursInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                team_count=Count("teams", distinct=True),
                employee_count=Count("employees", distinct=True),
            )
        )

    @admin.display(description="teams", ordering="team_count")
    def team_count(self, obj):
        return obj.team_count

    @admin.display(description="employees", ordering="employee_count")
    def employee_count(self, obj):
        return obj.employee_count

    @admin.display(description="feedback QR codes")
    def qr_sheet(self, obj):
        return qr_sheet_link(obj)


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    """Every location's week in one list, to compare them; each location's own is edited on its page."""

    list_display = ("location", "weekday", "opens_at", "closes_at")
    list_filter = ("weekday", "location")
    list_select_related = ("location",)
    search_fields = ("location__code", "location__name")
    autocomplete_fields = ("location",)
    ordering = ("location__name", "weekday")


def qr_sheet_link(location: Location, text: str = "Printable QR sheet") -> str:
    """A link to the location's printable sheet of feedback QR codes; the sheet exists only for an
    active, saved location."""
    if location.pk is None or not location.active:
        return "—"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">{}</a>',
        reverse("feedback-qr-sheet", args=[location.code]),
        text,
    )


class MemberInline(admin.TabularInline):
    """A team's members. New members join from the employee page, where their location is
    chosen too; here an admin adjusts roles and titles in one place."""

    model = Employee
    fk_name = "team"
    fields = ("employee_number", "user", "role", "job_title", "active")
    readonly_fields = ("employee_number", "user")
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "member"
    verbose_name_plural = "members"

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Team)
class TeamAdmin(ProgramImportExportMixin, admin.ModelAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("location__name", "name")
    resource_classes = [TeamResource]
    list_display = ("name", "location", "active", "member_count", "manager_names")
    list_filter = ("active", "location")
    list_select_related = ("location",)
    search_fields = ("name", "location__code", "location__name")
    autocomplete_fields = ("location", "managers")
    inlines = [MemberInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .prefetch_related("managers")
            .annotate(member_count=Count("members", distinct=True))
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    @admin.display(description="managers")
    def manager_names(self, obj):
        return ", ".join(user.get_full_name() or user.get_username() for user in obj.managers.all())

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Employee:
            # A role edited here must move the user to the role's group, as on the employee page.
            for employee, _changed in formset.changed_objects:
                employee_sync_groups(employee=employee)


@admin.register(Employee)
class EmployeeAdmin(ProgramImportExportMixin, admin.ModelAdmin):
    resource_classes = [EmployeeResource]
    list_display = ("name", "employee_number", "role", "location", "team", "job_title", "hired_on", "active")
    list_filter = ("role", "active", "location")
    list_select_related = ("user", "location", "team__location")
    search_fields = (
        "employee_number",
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "job_title",
    )
    date_hierarchy = "hired_on"
    autocomplete_fields = ("user", "location", "team")
    filter_horizontal = ("managed_locations",)
    fieldsets = (
        (None, {"fields": ("user", "employee_number", "job_title", "hired_on", "active")}),
        ("Role and place", {"fields": ("role", "location", "team", "managed_locations")}),
    )

    @admin.display(description="name", ordering="user__last_name")
    def name(self, obj):
        return obj.full_name

    def get_queryset(self, request):
        # The changelist applies list_select_related only to a queryset without select_related,
        # so it is repeated here, where the change page and autocomplete also need it.
        return super().get_queryset(request).select_related(*self.list_select_related)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        employee_sync_groups(employee=obj)


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """The log of scheduled emails, written by the jobs that send them. Deleting a notice lets
    its job tell that person again."""

    list_display = ("sent_at", "recipient", "kind", "key")
    list_filter = ("kind",)
    list_select_related = ("recipient",)
    search_fields = ("recipient__username", "recipient__email", "kind", "key")
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EmployeeInline(admin.StackedInline):
    model = Employee
    fk_name = "user"
    can_delete = False
    extra = 1
    max_num = 1
    autocomplete_fields = ("location", "team")
    filter_horizontal = ("managed_locations",)
    fields = (
        "employee_number",
        "role",
        "location",
        "team",
        "managed_locations",
        "job_title",
        "hired_on",
        "active",
    )


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [EmployeeInline]
    list_display = (*DjangoUserAdmin.list_display, "role")
    list_select_related = ("employee",)
    list_filter = (*DjangoUserAdmin.list_filter, "employee__role")
    actions = ["unlock_sign_in"]

    @admin.display(description="role", ordering="employee__role")
    def role(self, obj):
        try:
            return obj.employee.get_role_display()
        except Employee.DoesNotExist:
            return "—"

    @admin.action(
        description="Unlock sign-in of the selected users (forget their failed attempts)",
        permissions=["change"],
    )
    def unlock_sign_in(self, request, queryset):
        # Through django-axes' handler, so that the lockout ends wherever the attempts are kept.
        cleared = sum(
            AxesProxyHandler.reset_attempts(username=username)
            for username in queryset.values_list("username", flat=True)
        )
        self.message_user(
            request,
            f"Sign-in unlocked for {queryset.count()} user(s): {cleared} failed-attempt record(s) cleared.",
            messages.SUCCESS,
        )

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            # Program admins manage people, not the keys to the whole site.
            fields = (*fields, "is_superuser", "user_permissions")
        return fields

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The user form saves its group list first; the role then decides the role group.
        employee = Employee.objects.filter(user=form.instance).first()
        if employee is not None:
            employee_sync_groups(employee=employee)


# django-axes registers its own pages (Access attempts, Access logs); failed attempts gain an
# "unlock" action that says what it does.
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(AccessAttemptAdmin):
    actions = ["unlock_selected", *AccessAttemptAdmin.actions]

    @admin.action(description="Unlock: delete the selected failed attempts", permissions=["delete"])
    def unlock_selected(self, request, queryset):
        count, _ = queryset.delete()
        self.message_user(request, f"Unlocked: {count} failed-attempt record(s) deleted.", messages.SUCCESS)
