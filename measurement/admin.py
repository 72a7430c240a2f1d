"""Measurement in admin: evidence is read here, not edited.

Observations, evaluations and feedback arrive through intake (API, CSV import, the evaluation
form, the public feedback form), which also records deviations and keeps scores consistent;
scorecards are written only by the rollup. Admin therefore shows them read-only.
"""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from organization.validators import earliest_timestamp, latest_timestamp

from .models import (
    Deviation,
    Evaluation,
    Feedback,
    Observation,
    QuarantinedRow,
    QuarantineTable,
    RollupState,
    Scorecard,
)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def shown_time(value):
    """A stored time as admin shows it: in local time, or in UTC when it has no local time that
    Python can hold (a year-1 or year-9999 row written past intake, listed as quarantined)."""
    try:
        return formats.localize(timezone.template_localtime(value))
    except (OverflowError, ValueError):
        return f"{value.isoformat()} (UTC)"


class EvidenceTimesChangeList(ChangeList):
    """A changelist whose date drill-down steps aside while a row lies outside the intake window:
    Django's drill-down converts every row's time to a local year, and such a row has none."""

    def get_results(self, request):
        super().get_results(request)
        field = self.model_admin.evidence_time
        outside = Q(**{f"{field}__lt": earliest_timestamp()}) | Q(**{f"{field}__gt": latest_timestamp()})
        if self.date_hierarchy and self.queryset.filter(outside).exists():
            self.date_hierarchy = None


class EvidenceTimesMixin:
    """Evidence times shown without failing on a row dated outside the intake window (list, detail)."""

    evidence_time = ""

    def get_changelist(self, request, **kwargs):
        return EvidenceTimesChangeList

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or ()), self.evidence_time]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "shown_evidence_time"]

    @admin.display(description="time")
    def shown_evidence_time(self, obj):
        return shown_time(getattr(obj, self.evidence_time))


class EvaluationObservationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Observation
    fk_name = "evaluation"
    fields = ("standard", "employee", "passed", "value", "weight", "critical", "comment")
    extra = 0
    show_change_link = True
    verbose_name = "item"
    verbose_name_plural = "items observed"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("standard", "employee__user")


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = (
        "evaluated_at",
        "method",
        "location",
        "team",
        "employee",
        "touchpoint",
        "score",
        "passed",
        "critical_failed",
        "evaluator",
    )
    list_filter = ("method", "passed", "critical_failed", "location")
    list_select_related = ("location", "team__location", "employee__user", "touchpoint", "evaluator")
    search_fields = ("location__code", "comment", "external_id", "employee__employee_number")
    date_hierarchy = "evaluated_at"
    inlines = [EvaluationObservationInline]
    # The score and verdict are computed from the items at intake; only the comment is editable.
    readonly_fields = (
        "location",
        "team",
        "employee",
        "touchpoint",
        "method",
        "evaluated_at",
        "evaluator",
        "score",
        "critical_failed",
        "passed",
        "external_id",
        "recorded_at",
    )

    def get_queryset(self, request):
        # The change page shows every related object by name.
        return super().get_queryset(request).select_related(*self.list_select_related)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Its observations are evidence behind scorecards and consequences.
        return False


@admin.register(Observation)
class ObservationAdmin(EvidenceTimesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Immutable evidence: a correction is a new observation that supersedes this one."""

    evidence_time = "observed_at"
    list_display = (
        "observed",
        "standard_code",
        "location_code",
        "team",
        "employee",
        "touchpoint",
        "source",
        "value",
        "passed",
        "critical",
        "supersedes",
    )
    list_filter = ("source", "passed", "critical", "location", "standard")
    list_select_related = (
        "standard",
        "location",
        "team__location",
        "employee__user",
        "touchpoint",
        "supersedes__standard",
        "supersedes__location",
    )
    search_fields = ("standard__code", "location__code", "external_id", "comment")
    date_hierarchy = "observed_at"
    show_full_result_count = False

    @admin.display(description="observed at", ordering="observed_at")
    def observed(self, obj):
        return shown_time(obj.observed_at)

    @admin.display(description="standard", ordering="standard__code")
    def standard_code(self, obj):
        return obj.standard.code

    @admin.display(description="location", ordering="location__code")
    def location_code(self, obj):
        return obj.location.code

    def get_queryset(self, request):
        # The read-only change page shows the related objects by name.
        return super().get_queryset(request).select_related(*self.list_select_related, "evaluation")


@admin.register(Feedback)
class FeedbackAdmin(EvidenceTimesMixin, admin.ModelAdmin):
    """Customers' own words are never edited. Deleting stays possible, for erasure requests."""

    evidence_time = "submitted_at"
    list_display = (
        "submitted",
        "touchpoint",
        "location",
        "csat",
        "nps",
        "channel",
        "short_comment",
        "contact_consent",
    )
    list_filter = ("channel", "csat", "contact_consent", "location", "touchpoint")
    list_select_related = ("touchpoint", "location")
    search_fields = ("comment", "contact_name", "contact_email", "external_id")
    date_hierarchy = "submitted_at"

    @admin.display(description="submitted at", ordering="submitted_at")
    def submitted(self, obj):
        return shown_time(obj.submitted_at)

    @admin.display(description="comment")
    def short_comment(self, obj):
        return obj.comment if len(obj.comment) <= 80 else obj.comment[:79] + "…"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Scorecard)
class ScorecardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rollup output: recomputed from the evidence, so never typed in."""

    list_display = (
        "period_kind",
        "period_start",
        "grain",
        "subject",
        "observations",
        "pass_rate_percent",
        "target_rate",
        "target_met",
        "deviations",
        "csat_with_n",
        "nps_with_n",
        "computed_at",
    )
    list_filter = ("period_kind", "grain", "target_met", "location")
    list_select_related = ("location", "team__location", "employee__user", "standard", "touchpoint")
    search_fields = ("grain_key", "location__code", "standard__code", "employee__employee_number")
    date_hierarchy = "period_start"

    @admin.display(description="subject")
    def subject(self, obj):
        parts = [obj.location, obj.team, obj.employee, obj.standard, obj.touchpoint]
        return " · ".join(str(part) for part in parts if part is not None) or "Organisation"

    @admin.display(description="pass rate", ordering="pass_rate")
    def pass_rate_percent(self, obj):
        if obj.pass_rate is None:
            return "—"
        return f"{obj.pass_rate:.1%} (n={obj.observations})"

    @admin.display(description="CSAT", ordering="csat")
    def csat_with_n(self, obj):
        return "—" if obj.csat is None else f"{obj.csat:.1f} (n={obj.csat_n})"

    @admin.display(description="NPS", ordering="nps")
    def nps_with_n(self, obj):
        return "—" if obj.nps is None else f"{obj.nps:+.0f} (n={obj.nps_n})"


@admin.register(Deviation)
class DeviationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Recorded at intake and closed by a corrective action (consequences), never by hand."""

    list_display = ("detected_at", "standard", "location", "team", "employee", "status", "closed_at")
    list_filter = ("status", "location", "standard")
    list_select_related = ("standard", "location", "team__location", "employee__user")
    search_fields = ("standard__code", "location__code", "employee__employee_number")
    date_hierarchy = "detected_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related, "observation__standard", "observation__location")
        )


@admin.register(RollupState)
class RollupStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where the incremental rollup has got to; `rollup_scorecards --full` rebuilds from scratch."""

    list_display = ("name", "watermark", "last_run_at", "last_full_run_at")


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Evidence rows the rollup leaves out, and why; fix or delete the row itself (a full rebuild
    then counts it, or forgets it)."""

    list_display = ("evidence_table", "row_link", "reason", "value", "first_seen_at", "last_seen_at")
    list_filter = ("evidence_table", "reason")
    search_fields = ("=row_id",)

    @admin.display(description="row id", ordering="row_id")
    def row_link(self, obj):
        model = Observation if obj.evidence_table == QuarantineTable.OBSERVATION else Feedback
        url = reverse(f"admin:measurement_{model._meta.model_name}_change", args=[obj.row_id])
        return format_html('<a href="{}">{}</a>', url, obj.row_id)
