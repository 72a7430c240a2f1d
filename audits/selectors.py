"""Reads of the audit programme: planned vs done vs missed per location, template and month, the
overdue list, and the counts the attention list, program health and consequence rules use.

Every figure is a SQL aggregate (``Count`` with a filter) over the occurrences, grouped by
location and by month of the due date in local time, so a page costs the same queries whatever
the number of occurrences. On time = done by the due time; the on-time rate is done on time ÷
closed (done, late or missed), shown with its n.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Case, Count, DateField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from measurement.selectors.common import dashboard_locations
from organization.formatting import day
from organization.models import Location

from .models import AuditTemplate, Occurrence, OccurrenceStatus

# Months the page shows unless asked otherwise (this one included), and the most it shows at once.
DEFAULT_MONTHS = 6
MAX_MONTHS = 24
# Where an on-time rate reads as good, fair or poor: the heatmap's colours and its legend.
ON_TIME_GOOD = 0.9
ON_TIME_FAIR = 0.75
# How far back the attention list looks for missed audits.
MISSED_LOOKBACK_DAYS = 90

OPEN_STATUSES = (OccurrenceStatus.SCHEDULED, OccurrenceStatus.OPEN)
CLOSED_STATUSES = (OccurrenceStatus.DONE, OccurrenceStatus.LATE, OccurrenceStatus.MISSED)


def _local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def month_start(value: date) -> date:
    return value.replace(day=1)


def add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s, both included."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def default_months(today: date) -> tuple[date, date]:
    """The last `DEFAULT_MONTHS` months, this one included: (first month, last month)."""
    last = month_start(today)
    return add_months(last, 1 - DEFAULT_MONTHS), last


def local_midnight(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=_local_zone())


def due_between(first_month: date, last_month: date) -> Q:
    """Occurrences due from the first month's first local midnight to the end of the last month."""
    return Q(due_at__gte=local_midnight(first_month), due_at__lt=local_midnight(add_months(last_month, 1)))


def counts(now: datetime) -> dict:
    """The aggregate columns every programme figure is made of."""
    return {
        "planned": Count("pk"),
        "done": Count("pk", filter=Q(status=OccurrenceStatus.DONE)),
        "late": Count("pk", filter=Q(status=OccurrenceStatus.LATE)),
        "missed": Count("pk", filter=Q(status=OccurrenceStatus.MISSED)),
        "overdue": Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
    }


@dataclass(frozen=True)
class Tally:
    """Planned, done (on time), late, missed and overdue (open past due) audits of one cell or row."""

    planned: int = 0
    done: int = 0
    late: int = 0
    missed: int = 0
    overdue: int = 0

    @classmethod
    def of(cls, row: dict) -> Tally:
        return cls(**{name: row.get(name, 0) for name in ("planned", "done", "late", "missed", "overdue")})

    @property
    def closed(self) -> int:
        return self.done + self.late + self.missed

    @property
    def on_time_rate(self) -> float | None:
        return self.done / self.closed if self.closed else None

    @property
    def band(self) -> str:
        """The heatmap colour: met, near, below, or none without a closed audit."""
        rate = self.on_time_rate
        if rate is None:
            return "none"
        if rate >= ON_TIME_GOOD:
            return "met"
        return "near" if rate >= ON_TIME_FAIR else "below"

    @property
    def rate_words(self) -> str:
        """'75% on time (n = 4)', or why there is no rate."""
        rate = self.on_time_rate
        if rate is None:
            return "none closed yet" if self.planned else "none planned"
        return f"{100 * rate:.0f}% on time (n = {self.closed})"


@dataclass(frozen=True)
class TemplateChoice:
    lineage: uuid.UUID
    title: str


def template_choices() -> list[TemplateChoice]:
    """One choice per template lineage, named after its newest version (one query; templates are
    configuration, a few dozen at most)."""
    newest: dict[uuid.UUID, str] = {}
    for lineage, title in AuditTemplate.objects.order_by("lineage", "-version").values_list(
        "lineage", "title"
    ):
        newest.setdefault(lineage, title)
    return sorted(
        (TemplateChoice(lineage, title) for lineage, title in newest.items()), key=lambda c: c.title
    )


def programme_locations(user) -> QuerySet[Location]:
    """The locations whose programme `user` sees: all for admins, the managed ones for managers."""
    return dashboard_locations(user)


@dataclass(frozen=True)
class ProgrammeFilters:
    first_month: date
    last_month: date
    lineage: uuid.UUID | None = None
    location: Location | None = None
    region: str = ""

    @property
    def months(self) -> list[date]:
        return months_between(self.first_month, self.last_month)


def programme_occurrences(user, filters: ProgrammeFilters) -> QuerySet[Occurrence]:
    """The occurrences the programme of `user` counts under `filters` (due in the months chosen)."""
    occurrences = Occurrence.objects.filter(
        location__in=filtered_locations(user, filters).values("pk"),
        **({"schedule__template__lineage": filters.lineage} if filters.lineage else {}),
    )
    return occurrences.filter(due_between(filters.first_month, filters.last_month))


def filtered_locations(user, filters: ProgrammeFilters) -> QuerySet[Location]:
    locations = programme_locations(user)
    if filters.location is not None:
        locations = locations.filter(pk=filters.location.pk)
    if filters.region:
        locations = locations.filter(region=filters.region)
    return locations


def heatmap_locations(user, filters: ProgrammeFilters) -> QuerySet[Location]:
    """The locations with audits due in the months chosen, by name: the heatmap's rows (paginated
    by the caller, so the page holds a bounded number whatever the size of the organisation)."""
    planned = programme_occurrences(user, filters)
    return (
        filtered_locations(user, filters).filter(pk__in=planned.values("location_id")).order_by("name", "pk")
    )


@dataclass
class HeatmapRow:
    location: Location
    cells: list[tuple[date, Tally]]
    total: Tally = field(default_factory=Tally)


def heatmap_rows(
    user, filters: ProgrammeFilters, locations: list[Location], *, now: datetime
) -> list[HeatmapRow]:
    """One row per location of `locations` (a page of `heatmap_locations`), one cell per month:
    one query grouped by location and local month of the due date."""
    rows = (
        programme_occurrences(user, filters)
        .filter(location__in=[location.pk for location in locations])
        .annotate(month=TruncMonth("due_at", output_field=DateField(), tzinfo=_local_zone()))
        .order_by()
        .values("location_id", "month")
        .annotate(**counts(now))
    )
    by_cell: dict[tuple[int, date], Tally] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime):  # a backend that keeps the time of day
            month = month.date()
        by_cell[(row["location_id"], month)] = Tally.of(row)
    result = []
    for location in locations:
        cells = [(month, by_cell.get((location.pk, month), Tally())) for month in filters.months]
        result.append(HeatmapRow(location, cells, _sum(tally for _, tally in cells)))
    return result


def _sum(tallies) -> Tally:
    tallies = list(tallies)
    return Tally(
        **{
            name: sum(getattr(t, name) for t in tallies)
            for name in ("planned", "done", "late", "missed", "overdue")
        }
    )


@dataclass(frozen=True)
class TemplateRow:
    lineage: uuid.UUID
    title: str
    tally: Tally


def template_summary(user, filters: ProgrammeFilters, *, now: datetime) -> tuple[list[TemplateRow], Tally]:
    """Planned, done, late and missed per template lineage over every location of the filters
    (not only the page shown), and their total: one query."""
    rows = (
        programme_occurrences(user, filters)
        .order_by()
        .values("schedule__template__lineage")
        .annotate(**counts(now))
    )
    titles = {choice.lineage: choice.title for choice in template_choices()}
    result = sorted(
        (
            TemplateRow(
                row["schedule__template__lineage"],
                titles.get(row["schedule__template__lineage"], ""),
                Tally.of(row),
            )
            for row in rows
        ),
        key=lambda r: r.title.lower(),
    )
    return result, _sum(r.tally for r in result)


def overdue_occurrences(user, filters: ProgrammeFilters, *, now: datetime) -> QuerySet[Occurrence]:
    """The next actions: open occurrences past their due time (the longest overdue first), then
    those missed in the months chosen (the latest first). Open ones are listed whenever they fell
    due: an audit overdue since before the months chosen is still to be done."""
    open_past_due = Q(status__in=OPEN_STATUSES, due_at__lt=now)
    missed = Q(status=OccurrenceStatus.MISSED) & due_between(filters.first_month, filters.last_month)
    occurrences = Occurrence.objects.filter(
        location__in=filtered_locations(user, filters).values("pk"),
        **({"schedule__template__lineage": filters.lineage} if filters.lineage else {}),
    ).filter(open_past_due | missed)
    return (
        occurrences.annotate(
            missed_first=Case(
                When(status=OccurrenceStatus.MISSED, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .select_related(
            "location",
            "schedule__template",
            "schedule__assigned_team",
            "assigned_employee__user",
            "assigned_evaluator__user",
            "audit",
        )
        .prefetch_related("schedule__assigned_employees__user", "schedule__assigned_evaluators__user")
        .order_by("missed_first", "due_at", "pk")
    )


def assignee_words(occurrence: Occurrence) -> str:
    """Who is to do it: the person or evaluator it is assigned to, else the schedule's list."""
    if occurrence.assigned_employee_id:
        return occurrence.assigned_employee.full_name
    if occurrence.assigned_evaluator_id:
        return str(occurrence.assigned_evaluator)
    schedule = occurrence.schedule
    names = [employee.full_name for employee in schedule.assigned_employees.all()]
    names += [str(evaluator) for evaluator in schedule.assigned_evaluators.all()]
    if schedule.assigned_team_id:
        names.append(f"team {schedule.assigned_team.name}")
    if not names:
        return "nobody assigned"
    return ("any of " if len(names) > 1 else "") + ", ".join(names)


def due_words(occurrence: Occurrence, now: datetime) -> str:
    """'due 4 Aug 2026, 3 days ago' (or 'today')."""
    days = (timezone.localdate(now) - timezone.localdate(occurrence.due_at)).days
    ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    return f"due {day(occurrence.due_at)}, {ago}"


# --------------------------------------------------------------------------- for other pages


def missed_and_overdue_by_location(location_ids, *, now: datetime) -> QuerySet:
    """Per location of `location_ids` (a list or a subquery): audits missed (due in the last
    `MISSED_LOOKBACK_DAYS` days) and open past due — one grouped query, rows with either only."""
    since = now - timedelta(days=MISSED_LOOKBACK_DAYS)
    missed = Q(status=OccurrenceStatus.MISSED, due_at__gte=since, due_at__lt=now)
    overdue = Q(status__in=OPEN_STATUSES, due_at__lt=now)
    return (
        Occurrence.objects.filter(location_id__in=location_ids)
        .filter(missed | overdue)
        .order_by()
        .values("location_id")
        .annotate(missed=Count("pk", filter=missed), overdue=Count("pk", filter=overdue))
    )


def on_time_in_scope(user, *, today: date, now: datetime) -> Tally:
    """The programme's default view for `user` summed up (every template and location in scope,
    the default months): one query."""
    first, last = default_months(today)
    filters = ProgrammeFilters(first_month=first, last_month=last)
    return Tally.of(programme_occurrences(user, filters).aggregate(**counts(now)))


def missed_in(*, location_ids, start: datetime, end: datetime) -> QuerySet[Occurrence]:
    """Occurrences missed that were due in [start, end), for consequence rules."""
    return Occurrence.objects.filter(
        location_id__in=location_ids, status=OccurrenceStatus.MISSED, due_at__gte=start, due_at__lt=end
    )
