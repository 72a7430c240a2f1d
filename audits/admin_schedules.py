"""Django admin for schedules, occurrences, external evaluators and (read only) audits."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import ngettext

from organization.models import Location

from .models import Answer, Audit, ExternalEvaluator, Occurrence, Photo, Schedule
from .services.planning import occurrences_plan
from .services.schedules import schedules_create

# Fields an admin sets on a schedule; the add form replaces `location` by `locations`.
SCHEDULE_FIELDS = [
    "template",
    "touchpoint",
    "frequency",
    "weekdays",
    "day_of_month",
    "rule",
    "starts_on",
    "ends_on",
    "opens_at",
    "due_after_days",
    "due_time",
    "assignee_mode",
    "assigned_employees",
    "assigned_team",
    "assigned_evaluators",
    "late_allowed_days",
    "active",
]


class ScheduleAddForm(forms.ModelForm):
    """One form, one schedule per chosen location: a programme usually audits every store alike."""

    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.order_by("name"),
        widget=admin.widgets.FilteredSelectMultiple("locations", is_stacked=False),
        help_text="One schedule is created for each location chosen, all with the settings below.",
    )

    class Meta:
        model = Schedule
        fields = ["locations", *SCHEDULE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        # Check each location's schedule before anything is saved, so that a fault is shown on the
        # form (naming the location) instead of failing half-way through the creation.
        fields = {
            name: value
            for name, value in cleaned.items()
            if name in SCHEDULE_FIELDS and name not in ("assigned_employees", "assigned_evaluators")
        }
        for location in cleaned.get("locations") or []:
            try:
                Schedule(location=location, **fields).full_clean(
                    exclude=[name for name in SCHEDULE_FIELDS if name not in fields]
                )
            except ValidationError as exc:
                for name, problems in exc.message_dict.items():
                    field = name if name in self.fields else None
                    for problem in problems:
                        self.add_error(field, f"{location}: {problem}")
        return cleaned


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["template", "location", "frequency", "assignee_mode", "late_allowed_days", "active"]
    list_filter = ["frequency", "active", "template"]
    list_select_related = ["template", "location"]
    search_fields = ["location__name", "location__code", "template__title"]
    autocomplete_fields = ["location"]
    filter_horizontal = ["assigned_employees", "assigned_evaluators"]
    actions = ["plan_now"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ScheduleAddForm
            kwargs["fields"] = ScheduleAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ScheduleAddForm.Meta.fields})]
        return super().get_fieldsets(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = {name: form.cleaned_data[name] for name in SCHEDULE_FIELDS if name in form.cleaned_data}
        template = data.pop("template")
        created = schedules_create(template, form.cleaned_data["locations"], **data)
        # The admin logs and links the first; the message counts them all.
        obj.pk, obj.location = created[0].pk, created[0].location
        obj._state.adding = False
        request._schedules_created = created

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(self, request, obj, post_url_continue=None):
        count = len(getattr(request, "_schedules_created", [obj]))
        self.message_user(
            request,
            ngettext("%d schedule was created.", "%d schedules were created.", count) % count,
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:audits_schedule_changelist"))

    @admin.action(description="Plan the chosen schedules' occurrences now")
    def plan_now(self, request, queryset):
        count = occurrences_plan(schedules=queryset)
        self.message_user(
            request,
            ngettext("%d occurrence was planned.", "%d occurrences were planned.", count) % count
            if count
            else "Nothing new to plan: the chosen schedules' occurrences exist already (or they are inactive).",
            messages.SUCCESS,
        )


@admin.register(Occurrence)
class OccurrenceAdmin(admin.ModelAdmin):
    """Occurrences are made by planning and changed by audits: here they are only looked at."""

    list_display = ["schedule", "location", "scheduled_for", "due_at", "status"]
    list_filter = ["status"]
    list_select_related = ["schedule__template", "schedule__location", "location"]
    date_hierarchy = "scheduled_for"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExternalEvaluator)
class ExternalEvaluatorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organisation", "active"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "organisation"]
    autocomplete_fields = ["user"]


class ReadOnlyAdminMixin:
    """Audits, answers and photos are written by the audit form and the API only: an edit here
    would change a submitted score behind its evaluation."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AnswerInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Answer
    fields = ["question", "value", "note", "action", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "location", "template", "auditor", "status", "submitted_at"]
    list_filter = ["status", "template"]
    list_select_related = ["location", "template", "auditor"]
    search_fields = ["location__name", "location__code", "template__title", "auditor__username"]
    date_hierarchy = "started_at"
    inlines = [AnswerInline]


@admin.register(Photo)
class PhotoAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "width", "height", "size", "uploaded_by", "uploaded_at"]
    list_select_related = ["answer__question", "answer__audit", "uploaded_by"]
    exclude = ["image"]  # stored outside any URL; the audit pages hand it out to who may see it
