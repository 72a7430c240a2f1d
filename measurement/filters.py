"""Query-string filters of the measurement API (django-filter).

References are given the way a sending system knows them: locations by code, employees by
number, standards by code, touchpoints by slug; teams by id (their names repeat between
locations). Date bounds are whole days in the organisation's time zone (`TIME_ZONE`) and are
turned into timestamp ranges, so the indexes on the timestamp columns stay usable; periods
are the rollup's (`services.rollup.period_start`/`period_end`: weeks start on Monday).

Evidence and scorecards grow without bound, so a list that names no time window lists the last
`RECENT_DAYS` days (`RecentByDefault`); any window given, however wide, replaces that default.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django.utils import timezone

from organization.api import IdFilter, StrictFilterSet, StrictQueryForm, TextFilter

from .models import Evaluation, EvaluationMethod, Feedback, Observation, PeriodKind, Scorecard, Source
from .services.rollup import period_end, period_start


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the organisation's time zone. The first and last days
    a date can hold are moved in by one, so that the offset to UTC cannot leave the calendar;
    no evidence lies that far out, so the filter means the same."""
    day = min(max(day, date.min + timedelta(days=1)), date.max - timedelta(days=1))
    return timezone.make_aware(datetime.combine(day, time.min))


def day_after(day: date) -> date:
    return day if day == date.max else day + timedelta(days=1)


# What an evidence or scorecard list holds when the client gives no time window.
RECENT_DAYS = 90
DEFAULT_WINDOW = f"Without any time filter the list holds the last {RECENT_DAYS} days."


def recent_first_day() -> date:
    """The first local day of the default window: today and the RECENT_DAYS - 1 days before."""
    return timezone.localdate() - timedelta(days=RECENT_DAYS - 1)


class RecentByDefault:
    """A filter set whose list, without any of its `window_params`, is narrowed to the days from
    `recent_first_day()`: `recent_field` on or after its first instant (a timestamp) or day."""

    recent_field: str
    window_params: tuple[str, ...]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if any(self.form.cleaned_data.get(name) is not None for name in self.window_params):
            return queryset
        field = self._meta.model._meta.get_field(self.recent_field)
        first = recent_first_day()
        since = day_start(first) if field.get_internal_type() == "DateTimeField" else first
        return queryset.filter(**{f"{self.recent_field}__gte": since})


def _on_or_after(field_name: str):
    """A filter method: `field_name` on or after the given day (organisation's time zone)."""

    def apply(queryset, name, value):
        return queryset.filter(**{f"{field_name}__gte": day_start(value)})

    return apply


def _on_or_before(field_name: str):
    """A filter method: `field_name` on or before the given day, the whole day included."""

    def apply(queryset, name, value):
        return queryset.filter(**{f"{field_name}__lt": day_start(day_after(value))})

    return apply


class PeriodForm(StrictQueryForm):
    """Checks that `period_kind` and `period_start` come together and name a real period."""

    def clean(self):
        data = super().clean()
        kind, start = data.get("period_kind"), data.get("period_start")
        if bool(kind) != bool(start):
            missing = "period_start" if kind else "period_kind"
            self.add_error(missing, "Give period_kind and period_start together.")
        elif kind and start and period_start(kind, start) != start:
            self.add_error(
                "period_start",
                f"{start.isoformat()} is not the first day of a {kind} "
                f"(that {kind} starts on {period_start(kind, start).isoformat()}).",
            )
        return data


class ObservationFilter(RecentByDefault, StrictFilterSet):
    recent_field = "observed_at"
    window_params = ("observed_after", "observed_before", "period_start")

    observed_after = django_filters.DateFilter(
        method=_on_or_after("observed_at"), help_text=f"Observed on or after this day. {DEFAULT_WINDOW}"
    )
    observed_before = django_filters.DateFilter(
        method=_on_or_before("observed_at"), help_text="Observed on or before this day."
    )
    period_kind = django_filters.ChoiceFilter(
        choices=PeriodKind.choices, method="filter_period", help_text="With period_start: one whole period."
    )
    period_start = django_filters.DateFilter(
        method="filter_period", help_text="First day of the period (a Monday for weeks, the 1st for months)."
    )
    location = TextFilter(field_name="location__code", lookup_expr="iexact")
    team = IdFilter(field_name="team_id")
    employee = TextFilter(field_name="employee__employee_number", lookup_expr="iexact")
    standard = TextFilter(field_name="standard__code", lookup_expr="iexact")
    touchpoint = TextFilter(field_name="touchpoint__slug")
    passed = django_filters.BooleanFilter()
    source = django_filters.ChoiceFilter(choices=Source.choices)
    evaluation = IdFilter(field_name="evaluation_id")

    class Meta:
        model = Observation
        fields = []
        form = PeriodForm  # a StrictQueryForm

    def filter_period(self, queryset, name, value):
        # Both parameters arrive here; the form has checked they come together.
        if name == "period_start":
            return queryset
        start = self.form.cleaned_data["period_start"]
        try:
            end = period_end(value, start)
        except (OverflowError, ValueError):  # the period runs past the last day a date can hold
            end = date.max
        return queryset.filter(observed_at__gte=day_start(start), observed_at__lt=day_start(end))


class EvaluationFilter(RecentByDefault, StrictFilterSet):
    recent_field = "evaluated_at"
    window_params = ("evaluated_after", "evaluated_before")

    evaluated_after = django_filters.DateFilter(
        method=_on_or_after("evaluated_at"), help_text=f"Evaluated on or after this day. {DEFAULT_WINDOW}"
    )
    evaluated_before = django_filters.DateFilter(
        method=_on_or_before("evaluated_at"), help_text="Evaluated on or before this day."
    )
    location = TextFilter(field_name="location__code", lookup_expr="iexact")
    team = IdFilter(field_name="team_id")
    employee = TextFilter(field_name="employee__employee_number", lookup_expr="iexact")
    method = django_filters.ChoiceFilter(choices=EvaluationMethod.choices)
    passed = django_filters.BooleanFilter()

    class Meta(StrictFilterSet.Meta):
        model = Evaluation
        fields = []


class FeedbackFilter(RecentByDefault, StrictFilterSet):
    recent_field = "submitted_at"
    window_params = ("submitted_after", "submitted_before")

    submitted_after = django_filters.DateFilter(
        method=_on_or_after("submitted_at"), help_text=f"Submitted on or after this day. {DEFAULT_WINDOW}"
    )
    submitted_before = django_filters.DateFilter(
        method=_on_or_before("submitted_at"), help_text="Submitted on or before this day."
    )
    location = TextFilter(field_name="location__code", lookup_expr="iexact")
    touchpoint = TextFilter(field_name="touchpoint__slug")

    class Meta(StrictFilterSet.Meta):
        model = Feedback
        fields = []


class ScorecardFilter(RecentByDefault, StrictFilterSet):
    recent_field = "period_start"
    window_params = ("period_start", "period_start_after", "period_start_before")

    period_kind = django_filters.ChoiceFilter(choices=PeriodKind.choices)
    period_start = django_filters.DateFilter()
    period_start_after = django_filters.DateFilter(
        field_name="period_start",
        lookup_expr="gte",
        help_text=f"Periods starting on or after this day. {DEFAULT_WINDOW}",
    )
    period_start_before = django_filters.DateFilter(
        field_name="period_start", lookup_expr="lte", help_text="Periods starting on or before this day."
    )
    grain = django_filters.ChoiceFilter(choices=Scorecard._meta.get_field("grain").choices)
    location = TextFilter(field_name="location__code", lookup_expr="iexact")
    team = IdFilter(field_name="team_id")
    employee = TextFilter(field_name="employee__employee_number", lookup_expr="iexact")
    standard = TextFilter(field_name="standard__code", lookup_expr="iexact")
    touchpoint = TextFilter(field_name="touchpoint__slug")

    class Meta(StrictFilterSet.Meta):
        model = Scorecard
        fields = []
