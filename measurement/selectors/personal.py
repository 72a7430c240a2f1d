"""'My scorecard' on the staff portal: one employee's own figures, and nobody else's.

Every read starts from the signed-in user's own employee profile (`employee_of(user)`) and their
employee-grain scorecards go through `scorecards_for` (the one scope helper) as well, so no
argument can select another employee. The location the employee works at is shown as context, as
the organisation is shown to managers: one figure, no drill-down.

Reads scorecards (the rollup's output) for the headline and the trend, plus one bounded aggregate
of the employee's own observations of the last days by standard (one row per standard, never per
observation). Queries: four with scorecards (my scorecards, my location, my location's row, my
observations), three without, whatever the amount of evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from organization.models import Employee, Location
from organization.scope import employee_of

from .. import stats
from ..models import Grain, Observation, PeriodKind, Scorecard
from .charts import Trend, TrendPoint, p_chart_data
from .common import TREND_PERIODS, period_label, previous_periods, scorecards_for
from .scorecards import Figures

# Scorecards of single days and weeks are too thin for one person: the portal shows months.
MY_PERIOD_KIND = PeriodKind.MONTH
# The table of recent observations covers this many days up to now.
RECENT_DAYS = 30


@dataclass(frozen=True)
class StandardTally:
    """One standard in the employee's recent observations."""

    code: str
    title: str
    target_rate: float  # proportion 0–1, the standard's target
    observations: int
    passed: int
    deviations: int  # failed observations of a non-negotiable standard
    last_observed_at: datetime

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.observations if self.observations else None

    @property
    def pass_rate_low(self) -> float | None:
        return stats.wilson_interval(self.passed, self.observations)[0]

    @property
    def pass_rate_high(self) -> float | None:
        return stats.wilson_interval(self.passed, self.observations)[1]

    @property
    def target_met(self) -> bool | None:
        rate = self.pass_rate
        return None if rate is None else rate >= self.target_rate - 1e-9


@dataclass(frozen=True)
class MyScorecard:
    employee: Employee
    location: Location
    period_kind: str
    period_start: date | None  # the latest month with a scorecard of mine; None: none yet
    mine: Figures | None  # my figures for that month
    location_figures: Figures | None  # my location's for the same month (context)
    trend: Trend  # my monthly pass rate as a p-chart, up to that month
    recent: list[StandardTally] = field(default_factory=list)
    recent_since: date | None = None

    @property
    def has_scorecards(self) -> bool:
        return self.period_start is not None

    @property
    def period_label(self) -> str:
        return period_label(self.period_kind, self.period_start) if self.period_start else ""

    @property
    def recent_observations(self) -> int:
        return sum(tally.observations for tally in self.recent)


def my_latest_scorecard(user) -> Scorecard | None:
    """The user's own latest monthly scorecard (employee grain), or None. Queries: one (none
    without an employee profile)."""
    employee = employee_of(user)
    if employee is None:
        return None
    return _my_scorecards(user, employee).first()


def my_scorecard(user, *, now=None) -> MyScorecard | None:
    """The signed-in user's own scorecard page: the latest month they have a scorecard for (pass
    rate with its Wilson interval and n, target, deviations), their location's figures for that
    month, a p-chart of their last `TREND_PERIODS` months, and their observations of the last
    `RECENT_DAYS` days by standard. None for a user without an employee profile.

    `now` (default: the current time) ends the recent window. Queries: see the module docstring.
    """
    employee = employee_of(user)
    if employee is None:
        return None
    now = now or timezone.now()
    location = employee.location
    rows = list(_my_scorecards(user, employee)[:TREND_PERIODS])
    latest = rows[0].period_start if rows else None
    location_figures = None
    points: list[TrendPoint] = []
    if latest is not None:
        window = set(previous_periods(MY_PERIOD_KIND, latest, TREND_PERIODS))
        points = [
            TrendPoint(
                row.period_start, period_label(MY_PERIOD_KIND, row.period_start), Figures.of("You", [row])
            )
            for row in reversed(rows)
            if row.period_start in window and row.observations
        ]
        location_row = Scorecard.objects.filter(
            grain=Grain.LOCATION,
            location_id=employee.location_id,
            period_kind=MY_PERIOD_KIND,
            period_start=latest,
        ).first()
        if location_row is not None:
            location_figures = Figures.of(location.name, [location_row])
    since = now - timedelta(days=RECENT_DAYS)
    return MyScorecard(
        employee=employee,
        location=location,
        period_kind=MY_PERIOD_KIND,
        period_start=latest,
        mine=Figures.of("You", rows[:1]) if rows else None,
        location_figures=location_figures,
        trend=Trend(pass_chart=p_chart_data(points), csat_chart=None, nps_chart=None, points=points),
        recent=_recent_by_standard(employee, since=since),
        recent_since=timezone.localdate(since),
    )


def _my_scorecards(user, employee: Employee):
    """The employee's monthly scorecards, newest first, through the user's scope."""
    return (
        scorecards_for(user)
        .filter(grain=Grain.EMPLOYEE, employee=employee, period_kind=MY_PERIOD_KIND)
        .order_by("-period_start")
    )


def _recent_by_standard(employee: Employee, *, since) -> list[StandardTally]:
    """The employee's observations since `since`, counted per standard in the database; like the
    rollup, an observation a correction supersedes does not count. Queries: one."""
    rows = (
        Observation.objects.current()
        .filter(employee=employee, observed_at__gte=since)
        .values("standard__code", "standard__title", "standard__target_rate")
        .annotate(
            n=Count("pk"),
            n_passed=Count("pk", filter=Q(passed=True)),
            n_deviations=Count("pk", filter=Q(passed=False, standard__non_negotiable=True)),
            last_at=Max("observed_at"),
        )
        .order_by("standard__code")
    )
    return [
        StandardTally(
            code=row["standard__code"],
            title=row["standard__title"],
            target_rate=float(row["standard__target_rate"]) / 100,
            observations=row["n"],
            passed=row["n_passed"],
            deviations=row["n_deviations"],
            last_observed_at=row["last_at"],
        )
        for row in rows
    ]
