"""How well cases are handled: per location and month, per location, per month and overall.

Figures (every one with its n):

- **time to acknowledge** and **time to resolve**: median and 90th percentile, in hours of elapsed
  wall-clock time from ``opened_at`` to ``acknowledged_at`` (``resolved_at``), over the cases
  acknowledged (resolved). Wall-clock, not opening hours: it is what the customer waited. The SLA
  shares below are the ones judged on the location's opening hours (the deadlines are).
- **acknowledged within SLA** and **resolved within SLA**: the share of cases with a deadline
  whose outcome is known that met it. Known: acknowledged (resolved) — met when on or before the
  deadline — or still waiting and past the deadline (missed). A case still waiting and within its
  deadline is not counted yet.
- **recovery rate**: follow-ups whose answer was happy (``recovered``) over follow-ups answered.
- **open** and **breached** now, per location: cases still open; of them, those past a deadline
  that still runs (`open_breached`, the queue's ``breached=1``).

A case counts in the month it was opened, months cut in ``TIME_ZONE``.

**Percentiles** are nearest-rank: the p-th percentile of n values sorted ascending is the value of
rank ⌈p·n/100⌉ (the median of 4 values is the 2nd, the 90th percentile of 10 values the 9th, of 11
the 10th). Both databases compute it in SQL with ROW_NUMBER() and COUNT() over a partition, the
rank as integer arithmetic: ⌈n/2⌉ = (n + 1) / 2 and ⌈9n/10⌉ = (9n + 9) / 10.

**Queries**: five, whatever the number of locations, months or cases — the locations, one
percentile query per duration (all four groupings in one pass, one window partition each), one
query of counts per location and month (the totals are their sums) and one of open and breached
cases now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.urls import reverse
from django.utils import timezone

from measurement.models import PeriodKind
from measurement.selectors.common import dashboard_locations, period_bounds, previous_periods
from measurement.services.rollup import period_start
from organization.models import Location, Role
from organization.scope import role_of

from .models import OPEN_STATUSES, UNACKNOWLEDGED_STATUSES, Case, CaseStatus
from .selectors import cases_visible_to

ALL = None  # the key of "every location" or "every month" in the groupings
MONTHS_SHOWN = 12


def missed_acknowledgement(now: datetime) -> Q:
    """Cases that missed their acknowledgement deadline, as it stands at `now`: acknowledged after
    it, or not yet and past it."""
    return Q(acknowledge_due_at__isnull=False) & (
        Q(acknowledged_at__gt=F("acknowledge_due_at"))
        | Q(acknowledged_at__isnull=True, acknowledge_due_at__lt=now)
    )


def missed_resolution(now: datetime) -> Q:
    """Cases that missed their resolution deadline at `now`: resolved after it, or not and past it."""
    return Q(resolve_due_at__isnull=False) & (
        Q(resolved_at__gt=F("resolve_due_at")) | Q(resolved_at__isnull=True, resolve_due_at__lt=now)
    )


def open_breached(now: datetime) -> Q:
    """Open cases past a deadline that still runs at `now` — the acknowledgement while the case is
    new, the resolution while it is open: what the cases queue lists with ``breached=1``."""
    return Q(status__in=OPEN_STATUSES) & (
        Q(resolve_due_at__lt=now) | Q(status__in=UNACKNOWLEDGED_STATUSES, acknowledge_due_at__lt=now)
    )


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Share:
    part: int = 0
    n: int = 0

    @property
    def rate(self) -> float | None:
        return self.part / self.n if self.n else None

    def __add__(self, other: Share) -> Share:
        return Share(self.part + other.part, self.n + other.n)


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile (nearest rank) in hours, over `n` cases."""

    n: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None


@dataclass
class Measures:
    opened: int = 0
    acknowledge: Durations = field(default_factory=Durations)
    resolve: Durations = field(default_factory=Durations)
    acknowledged_in_sla: Share = field(default_factory=Share)
    resolved_in_sla: Share = field(default_factory=Share)
    recovery: Share = field(default_factory=Share)

    @property
    def durations(self) -> tuple[Durations, Durations]:
        return (self.acknowledge, self.resolve)

    @property
    def shares(self) -> tuple[Share, Share, Share]:
        return (self.acknowledged_in_sla, self.resolved_in_sla, self.recovery)

    def add_counts(self, other: Measures) -> None:
        self.opened += other.opened
        self.acknowledged_in_sla += other.acknowledged_in_sla
        self.resolved_in_sla += other.resolved_in_sla
        self.recovery += other.recovery


@dataclass
class LocationMeasures:
    location: Location | None  # None: every location in the report
    months: list[tuple[date, Measures]]
    total: Measures
    open_now: int = 0
    breached_now: int = 0
    unacknowledged_now: int = 0


@dataclass(frozen=True)
class Report:
    months: list[date]  # oldest first
    locations: list[LocationMeasures]
    overall: LocationMeasures
    now: datetime

    @property
    def min_evidence(self) -> int:
        return settings.MIN_EVIDENCE


# --------------------------------------------------------------------------- months


def last_months(today: date, count: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the `count` months up to `today`'s, oldest first."""
    return previous_periods(PeriodKind.MONTH, period_start(PeriodKind.MONTH, today), count)


def _month_of(value) -> date:
    """The local month start a TruncMonth value stands for (a datetime, or a date on some backends)."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(ZoneInfo(settings.TIME_ZONE))
        return value.date().replace(day=1)
    return value.replace(day=1)


# --------------------------------------------------------------------------- the report


def queue_tab(user) -> str:
    """The cases queue's tab that holds every case of the locations counted here (``all`` for admins,
    ``locations`` for managers): links from a count to its cases name it, so the lists match."""
    return "all" if role_of(user) == Role.ADMIN else "locations"


def queue_url(user, location: Location | None = None, **params) -> str:
    """The cases queue of `user`'s widest tab, of one location (by code) if given, with `params`."""
    query = {"tab": queue_tab(user), **({"location": location.code} if location else {}), **params}
    return f"{reverse('cases:queue')}?{urlencode(query)}"


def measure_locations(user) -> QuerySet[Location]:
    """The locations whose measures `user` sees: every one for admins, the managed ones for managers."""
    return dashboard_locations(user).order_by("name", "code")


def case_measures(
    user,
    *,
    months: list[date],
    locations: list[Location] | None = None,
    now: datetime | None = None,
) -> Report:
    """The measures of the cases `user` may see at the locations they manage (admins: all), for
    `months` (first days; consecutive), optionally of some of those `locations` (already read
    through `measure_locations`, which then costs no query). Five queries (module docstring)."""
    now = now or timezone.now()
    locations = list(measure_locations(user)) if locations is None else locations
    months = sorted(months)
    start, _ = period_bounds(PeriodKind.MONTH, months[0])
    _, end = period_bounds(PeriodKind.MONTH, months[-1])

    cases = cases_visible_to(user).filter(location__in=[loc.pk for loc in locations]).order_by()
    opened = cases.filter(opened_at__gte=start, opened_at__lt=end).annotate(
        month=TruncMonth("opened_at", tzinfo=ZoneInfo(settings.TIME_ZONE))
    )

    counts = _counts(opened, now)
    acknowledge = _percentiles(opened, "acknowledged_at")
    resolve = _percentiles(opened, "resolved_at")
    current = _now(cases, now)

    def measures(location_id, month) -> Measures:
        figures = Measures()
        if month is ALL:
            for m in months:
                figures.add_counts(_sum(counts, location_id, m))
        else:
            figures.add_counts(_sum(counts, location_id, month))
        figures.acknowledge = acknowledge.get((location_id, month), Durations())
        figures.resolve = resolve.get((location_id, month), Durations())
        return figures

    def row(loc: Location | None) -> LocationMeasures:
        key = loc.pk if loc else ALL
        now_open, now_breached, now_new = (
            current.get(key, (0, 0, 0))
            if loc
            else tuple(sum(values[i] for values in current.values()) for i in range(3))
        )
        return LocationMeasures(
            location=loc,
            months=[(m, measures(key, m)) for m in months],
            total=measures(key, ALL),
            open_now=now_open,
            breached_now=now_breached,
            unacknowledged_now=now_new,
        )

    return Report(months=months, locations=[row(loc) for loc in locations], overall=row(None), now=now)


def _sum(counts: dict, location_id, month) -> Measures:
    """The counts of one location (or, with ALL, of every location) in one month."""
    if location_id is not ALL:
        return counts.get((location_id, month), Measures())
    total = Measures()
    for (_, m), figures in counts.items():
        if m == month:
            total.add_counts(figures)
    return total


def _counts(opened: QuerySet[Case], now: datetime) -> dict[tuple[int, date], Measures]:
    """(location id, month) → the counted figures: one GROUP BY query."""
    rows = (
        opened.values("location_id", "month")
        .annotate(
            opened=Count("pk"),
            ack_met=Count("pk", filter=Q(acknowledged_at__lte=F("acknowledge_due_at"))),
            ack_missed=Count("pk", filter=missed_acknowledgement(now)),
            resolve_met=Count("pk", filter=Q(resolved_at__lte=F("resolve_due_at"))),
            resolve_missed=Count("pk", filter=missed_resolution(now)),
            answered=Count("pk", filter=Q(recovered__isnull=False)),
            recovered_n=Count("pk", filter=Q(recovered=True)),
        )
        .order_by()
    )
    found: dict[tuple[int, date], Measures] = {}
    for r in rows:
        key = (r["location_id"], _month_of(r["month"]))
        figures = found.setdefault(key, Measures())
        figures.add_counts(
            Measures(
                opened=r["opened"],
                acknowledged_in_sla=Share(r["ack_met"], r["ack_met"] + r["ack_missed"]),
                resolved_in_sla=Share(r["resolve_met"], r["resolve_met"] + r["resolve_missed"]),
                recovery=Share(r["recovered_n"], r["answered"]),
            )
        )
    return found


# The four groupings, each a window partition: location and month, location, month, everything.
GROUPINGS = {
    "lm": ("location_id", "month"),
    "l": ("location_id",),
    "m": ("month",),
    "a": (),
}


def _median_rank(n):
    return (n + 1) / 2  # ⌈n/2⌉ in integer arithmetic


def _p90_rank(n):
    return (n * 9 + 9) / 10  # ⌈9n/10⌉ in integer arithmetic


def _percentiles(opened: QuerySet[Case], until: str) -> dict[tuple, Durations]:
    """(location id or ALL, month or ALL) → median and 90th percentile of ``until − opened_at``.

    One query: every case with `until` set gets its rank and its group's size in each grouping
    (ROW_NUMBER and COUNT over a window partition); only the rows at a percentile's rank in some
    grouping come back, at most two per group.
    """
    rows = opened.filter(**{f"{until}__isnull": False}).annotate(
        hours=ExpressionWrapper(F(until) - F("opened_at"), output_field=DurationField())
    )
    windows = {}
    for name, partition in GROUPINGS.items():
        by = [F(column) for column in partition] or None
        windows[f"rn_{name}"] = Window(
            RowNumber(), partition_by=by, order_by=[F("hours").asc(), F("pk").asc()]
        )
        windows[f"n_{name}"] = Window(Count("pk"), partition_by=by)
    rows = rows.annotate(**windows)
    at_rank = Q()
    for name in GROUPINGS:
        n = F(f"n_{name}")
        at_rank |= Q(**{f"rn_{name}": _median_rank(n)}) | Q(**{f"rn_{name}": _p90_rank(n)})
    rows = rows.filter(at_rank).values_list("location_id", "month", "hours", *windows)

    medians: dict[tuple, tuple[int, float]] = {}
    p90s: dict[tuple, float] = {}
    for location_id, month, hours, *ranks in rows:
        hours = hours.total_seconds() / 3600 if isinstance(hours, timedelta) else hours / 3_600_000_000
        keys = {
            "lm": (location_id, _month_of(month)),
            "l": (location_id, ALL),
            "m": (ALL, _month_of(month)),
            "a": (ALL, ALL),
        }
        for i, name in enumerate(GROUPINGS):
            rank, n = ranks[2 * i], ranks[2 * i + 1]
            if rank == (n + 1) // 2:
                medians[keys[name]] = (n, hours)
            if rank == (9 * n + 9) // 10:
                p90s[keys[name]] = hours
    return {key: Durations(n, median, p90s.get(key)) for key, (n, median) in medians.items()}


def _now(cases: QuerySet[Case], now: datetime) -> dict[int, tuple[int, int, int]]:
    """Location id → (open, breached, new) cases as they stand at `now`: one GROUP BY query."""
    rows = (
        cases.filter(status__in=OPEN_STATUSES)
        .values("location_id")
        .annotate(
            open=Count("pk"),
            breached=Count("pk", filter=open_breached(now)),
            new=Count("pk", filter=Q(status=CaseStatus.NEW)),
        )
        .order_by()
    )
    return {r["location_id"]: (r["open"], r["breached"], r["new"]) for r in rows}


def case_counts_by_location(cases: QuerySet[Case], *, now: datetime | None = None) -> dict:
    """Location id → (open, breached, new) for `cases` (already scoped) at `now`: one query. The
    home page and the attention list count with it, so their figures equal the measures page's."""
    return _now(cases.order_by(), now or timezone.now())


# --------------------------------------------------------------------------- words and CSV


def hours_words(hours: float | None) -> str:
    """'45 min' under an hour, '2.5 h' under ten hours, '36 h' above (grouped: '1,204 h'); '—' for none."""
    if hours is None:
        return "—"
    if hours < 1:
        return f"{round(hours * 60):,} min"
    if hours < 10:
        return f"{hours:.1f} h"
    return f"{round(hours):,} h"


def month_code(month: date | None) -> str:
    return month.strftime("%Y-%m") if month else "all"


MEASURE_CSV_HEADER = [
    "location code",
    "location",
    "month",
    "cases opened",
    "acknowledged (n)",
    "hours to acknowledge, median",
    "hours to acknowledge, 90th percentile",
    "resolved (n)",
    "hours to resolve, median",
    "hours to resolve, 90th percentile",
    "acknowledged within SLA",
    "acknowledgement outcomes known (n)",
    "resolved within SLA",
    "resolution outcomes known (n)",
    "recovered",
    "follow-ups answered (n)",
    "open now",
    "breached now",
]


def _hours_cell(hours: float | None):
    return round(hours, 2) if hours is not None else None


def measure_csv_rows(report: Report):
    """One row per location and month, then its total ("all"), then every location's (code "all")."""
    for row in [*report.locations, report.overall]:
        code = row.location.code if row.location else "all"
        name = row.location.name if row.location else "All locations"
        for month, figures in [*row.months, (None, row.total)]:
            yield [
                code,
                name,
                month_code(month),
                figures.opened,
                figures.acknowledge.n,
                _hours_cell(figures.acknowledge.median_hours),
                _hours_cell(figures.acknowledge.p90_hours),
                figures.resolve.n,
                _hours_cell(figures.resolve.median_hours),
                _hours_cell(figures.resolve.p90_hours),
                figures.acknowledged_in_sla.part,
                figures.acknowledged_in_sla.n,
                figures.resolved_in_sla.part,
                figures.resolved_in_sla.n,
                figures.recovery.part,
                figures.recovery.n,
                row.open_now if month is None else None,
                row.breached_now if month is None else None,
            ]
