from django.contrib import admin
from django.db.models import Count, F, Max, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import ActionItem, ActionStatus, Assessment, CustomerExpectation, Dimension, Rating

OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


@admin.register(CustomerExpectation)
class CustomerExpectationAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name", "description")


class RatingInline(admin.TabularInline):
    model = Rating
    fields = ("dimension", "current", "target", "gap", "evidence")
    readonly_fields = ("gap",)
    max_num = len(Dimension)
    show_change_link = True

    def get_extra(self, request, obj=None, **kwargs):
        # Offer a row for each of the four Ps not rated yet.
        return len(Dimension) - (obj.ratings.count() if obj else 0)

    @admin.display(description="gap")
    def gap(self, obj):
        return obj.gap if obj.pk else "—"


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("-assessed_on",)
    list_display = (
        "touchpoint",
        "location",
        "assessed_on",
        "status",
        "assessor",
        "largest_gap",
        "open_actions",
    )
    list_filter = ("status", "location", "touchpoint__channel")
    list_select_related = ("touchpoint", "location", "assessor")
    search_fields = ("touchpoint__name", "location__code", "location__name", "summary")
    date_hierarchy = "assessed_on"
    autocomplete_fields = ("touchpoint", "location", "assessor")
    filter_horizontal = ("expectations",)
    readonly_fields = ("actions_summary",)
    fields = (
        "touchpoint",
        "location",
        "assessed_on",
        "assessor",
        "status",
        "expectations",
        "summary",
        "actions_summary",
    )
    inlines = [RatingInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(
                largest_gap_value=Max(F("ratings__target") - F("ratings__current")),
                open_action_count=Count(
                    "ratings__actions", filter=Q(ratings__actions__status__in=OPEN_STATUSES), distinct=True
                ),
            )
        )

    @admin.display(description="largest gap", ordering="largest_gap_value")
    def largest_gap(self, obj):
        return "—" if obj.largest_gap_value is None else obj.largest_gap_value

    @admin.display(description="open actions", ordering="open_action_count")
    def open_actions(self, obj):
        return obj.open_action_count

    @admin.display(description="actions")
    def actions_summary(self, obj):
        if obj.pk is None:
            return "Save the ratings first, then add actions on each rating."
        actions = ActionItem.objects.filter(rating__assessment=obj).select_related("rating", "owner")
        if not actions:
            return "No actions yet: add them on the rating they answer."
        rows = (
            (
                reverse("admin:gap_analysis_actionitem_change", args=[action.pk]),
                action.title,
                action.rating.get_dimension_display(),
                action.get_status_display(),
                action.owner.get_full_name() or action.owner.get_username(),
                action.due_on.strftime("%d %b %Y"),
            )
            for action in actions
        )
        return format_html(
            "<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> ({}): {}, {}, due {}</li>', rows)
        )

    def save_model(self, request, obj, form, change):
        if not change and obj.assessor_id is None:
            obj.assessor = request.user
        super().save_model(request, obj, form, change)


class ActionItemInline(admin.StackedInline):
    model = ActionItem
    fk_name = "rating"
    fields = (
        ("title", "owner", "due_on", "status"),
        "description",
        ("closure_note", "closed_on"),
        ("customer_summary", "published", "published_on"),
    )
    autocomplete_fields = ("owner",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner")


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    # Explicit: the count annotation in get_queryset drops Meta.ordering, and autocomplete pages need one.
    ordering = ("assessment", "dimension")
    list_display = ("assessment", "dimension", "current", "target", "gap", "action_count")
    list_filter = ("dimension", "assessment__status", "assessment__location")
    list_select_related = ("assessment__touchpoint", "assessment__location")
    search_fields = ("assessment__touchpoint__name", "assessment__location__code", "evidence")
    autocomplete_fields = ("assessment",)
    inlines = [ActionItemInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(action_count=Count("actions", distinct=True))
        )

    @admin.display(description="gap", ordering=F("target") - F("current"))
    def gap(self, obj):
        return obj.gap

    @admin.display(description="actions", ordering="action_count")
    def action_count(self, obj):
        return obj.action_count

    def save_formset(self, request, form, formset, change):
        if formset.model is ActionItem:
            # An action from a rating happens where the assessment was made.
            for action_form in formset.forms:
                if action_form.instance.location_id is None:
                    action_form.instance.location_id = form.instance.assessment.location_id
        super().save_formset(request, form, formset, change)


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ("title", "source", "location", "owner", "due_on", "status", "published")
    list_filter = ("status", "published", "location")
    list_select_related = (
        "rating__assessment__touchpoint",
        "feedback__touchpoint",
        "feedback__location",
        "location",
        "owner",
    )
    search_fields = ("title", "description", "customer_summary", "closure_note")
    date_hierarchy = "due_on"
    autocomplete_fields = ("rating", "feedback", "touchpoint", "location", "owner")
    fieldsets = (
        (None, {"fields": ("title", "description", "owner", "due_on", "status")}),
        ("Source", {"fields": ("rating", "feedback", "complaint", "touchpoint", "location")}),
        ("Closure", {"fields": ("closure_note", "closed_on")}),
        ("You said, we did", {"fields": ("customer_summary", "published", "published_on")}),
    )

    @admin.display(description="source")
    def source(self, obj):
        if obj.rating_id:
            return f"{obj.rating.assessment.touchpoint}: {obj.rating.get_dimension_display()}"
        if obj.feedback_id:
            return str(obj.feedback)
        return f"Complaint {obj.complaint}" if obj.complaint else "—"

    def save_model(self, request, obj, form, change):
        if obj.location_id is None:
            # Default the place from the source, so the action shows up in that location's scope.
            if obj.rating_id:
                obj.location_id = obj.rating.assessment.location_id
            elif obj.feedback_id:
                obj.location_id = obj.feedback.location_id
        super().save_model(request, obj, form, change)
