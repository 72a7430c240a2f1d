"""'My scorecard' on the staff portal: one employee's own figures, and nobody else's.

Every read starts from the signed-in user's own employee profile (`employee_of(user)`) and their
employee-grain scorecards go through `scorecards_for` (the one scope helper) as well, so no
argument can select another employee. The location the employee works at is shown as context, as
the organisation is shown to managers: one figure, no drill-down.

The headline covers the rolling period (the last DASHBOARD_ROLLING_DAYS days up to
`dashboard_today()`), summed from day scorecards, so on the 2nd of a month it still holds weeks of
evidence; the trend shows the last complete months. One bounded aggregate of the employee's own
observations over the same days breaks the headline down by standard (one row per standard, never
per observation; there is no employee × standard scorecard). Queries: four (my rolling figures, my
location's, my months, my observations by standard), whatever the amount of evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Max, Q

from organization.models import Employee, Location
from organization.scope import employee_of

from .. import stats
from ..filters import day_start
from ..models import Grain, Observation, PeriodKind, Scorecard
from ..services.rollup import period_start

# dashboard_today is read through its module, so that tests can stand the clock elsewhere.
from . import common
from .charts import Trend, TrendPoint, last_complete_period, p_chart_data
from .common import TREND_PERIODS, period_label, previous_periods, scorecards_for
from .rolling import RollingPeriod
from .scorecards import Figures, rolling_rows

# Scorecards of single days and weeks are too thin for one person: the trend shows months.
MY_PERIOD_KIND = PeriodKind.MONTH


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
    period: RollingPeriod  # the headline's span: the last 30 days up to dashboard_today()
    mine: Figures  # my figures over that span (n = 0 when nobody observed me in it)
    location_figures: Figures | None  # my location's over the same span (context)
    trend: Trend  # my monthly pass rate as a p-chart, over the last complete months
    recent: list[StandardTally] = field(default_factory=list)  # the span's observations by standard
    has_scorecards: bool = False  # any scorecard of mine, in the span or in the trend's months

    @property
    def period_label(self) -> str:
        return self.period.label

    @property
    def recent_since(self) -> date:
        return self.period.start

    @property
    def recent_observations(self) -> int:
        return sum(tally.observations for tally in self.recent)


def my_rolling_figures(user) -> tuple[Figures, RollingPeriod] | None:
    """The user's own figures over the rolling period ending dashboard_today() (employee grain,
    summed from day scorecards) and that period, or None without an employee profile. Queries: one
    (none without a profile)."""
    employee = employee_of(user)
    if employee is None:
        return None
    period = RollingPeriod.ending(common.dashboard_today())
    return Figures.of("You", rolling_rows(_mine(user, employee), period)), period


def my_scorecard(user, *, today: date | None = None) -> MyScorecard | None:
    """The signed-in user's own scorecard page: their pass rate over the rolling period (with its
    Wilson interval and n, target, deviations), their location's over the same days, a p-chart of
    their last `TREND_PERIODS` complete months, and the period's observations by standard. None
    for a user without an employee profile.

    `today` (default: `dashboard_today()`) ends the period. Queries: see the module docstring.
    """
    employee = employee_of(user)
    if employee is None:
        return None
    today = today or common.dashboard_today()
    period = RollingPeriod.ending(today)
    location = employee.location
    mine = rolling_rows(_mine(user, employee), period)
    here = rolling_rows(
        Scorecard.objects.filter(grain=Grain.LOCATION, location_id=employee.location_id), period
    )
    # A month that is still running would draw a plunge: the trend ends with the last complete one.
    starts = previous_periods(MY_PERIOD_KIND, last_complete_period(MY_PERIOD_KIND, today), TREND_PERIODS)
    months = list(
        _mine(user, employee)
        .filter(period_kind=MY_PERIOD_KIND, period_start__in=starts)
        .order_by("period_start")
    )
    points = [
        TrendPoint(row.period_start, period_label(MY_PERIOD_KIND, row.period_start), Figures.of("You", [row]))
        for row in months
        if row.observations
    ]
    return MyScorecard(
        employee=employee,
        location=location,
        period=period,
        mine=Figures.of("You", mine),
        location_figures=Figures.of(location.name, here) if here else None,
        trend=Trend(
            pass_chart=p_chart_data(points),
            csat_chart=None,
            nps_chart=None,
            points=points,
            period_kind=MY_PERIOD_KIND,
            left_out=period_label(MY_PERIOD_KIND, period_start(MY_PERIOD_KIND, today)),
        ),
        recent=_recent_by_standard(employee, since=day_start(period.start), until=day_start(period.end)),
        has_scorecards=bool(mine or months),
    )


def _mine(user, employee: Employee):
    """The employee's own scorecards, through the user's scope."""
    return scorecards_for(user).filter(grain=Grain.EMPLOYEE, employee=employee)


def _recent_by_standard(employee: Employee, *, since: datetime, until: datetime) -> list[StandardTally]:
    """The employee's observations in [since, until), counted per standard in the database; like
    the rollup, an observation a correction supersedes does not count. Queries: one."""
    rows = (
        Observation.objects.current()
        .filter(employee=employee, observed_at__gte=since, observed_at__lt=until)
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
