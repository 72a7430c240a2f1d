"""The scorecards page: filter choices, the selection, headline figures and the scorecard table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from organization.models import Employee, Location, Team
from standards.models import Standard
from touchpoints.models import Touchpoint

from .. import stats
from ..models import Grain, PeriodKind, Scorecard
from ..services.rollup import period_end, period_start

# dashboard_today is read through its module, so that tests can stand the clock elsewhere.
from . import common
from .common import (
    DASHBOARD_PERIOD_KINDS,
    DEFAULT_PERIOD_KIND,
    PICKER_PERIODS,
    TABLE_GRAINS,
    TARGET_TOLERANCE,
    benchmark_scorecards,
    dashboard_locations,
    dashboard_teams,
    location_rows_for,
    parse_date,
    period_label,
    scorecards_for,
)
from .rolling import (
    ROLLING,
    RollingPeriod,
    observations_from_sums,
    pass_rate_low_from_sums,
    rolling_days,
    rolling_scorecards,
    rolling_sums,
    scorecard_from_sums,
)

# --------------------------------------------------------------------------- the selection


@dataclass(frozen=True)
class DashboardChoices:
    """What the filters offer a user: each list already limited to the user's scope."""

    period_kind: str  # "rolling" or a calendar kind (DASHBOARD_PERIOD_KINDS)
    periods: list[date]  # calendar period starts, newest first; empty for "rolling"
    # The newest period with observations: the default, so that a month only a day or two old, with
    # customer feedback but nothing measured yet, does not open the dashboard on "n = 0".
    latest_measured: date | None
    locations: list[Location]
    teams: list[Team]
    standards: list[Standard]
    has_scorecards: bool  # any scorecard at all, of any period kind
    rolling: RollingPeriod | None = None  # the rolling period ending dashboard_today()
    today: date | None = None  # dashboard_today(): periods ending after it are partial

    @property
    def is_rolling(self) -> bool:
        return self.period_kind == ROLLING

    @property
    def rolling_days(self) -> int:
        """How many days the rolling period spans (for the picker's "Last 30 days")."""
        return rolling_days()


def dashboard_choices(user, *, period_kind: str) -> DashboardChoices:
    """The filter options for `user` and `period_kind` ("rolling" or a calendar kind). Queries:
    four, whatever the data size.

    Calendar periods are those that have an organisation-wide scorecard (every period with evidence
    has one); standards those with a location × standard scorecard of this period kind (of months,
    for the rolling period) in the user's scope.
    """
    today = common.dashboard_today()
    rolling = period_kind == ROLLING
    if rolling:
        offered = []
        has_scorecards = Scorecard.objects.filter(grain=Grain.ORGANISATION).exists()
    else:
        offered = list(
            Scorecard.objects.filter(grain=Grain.ORGANISATION, period_kind=period_kind)
            .order_by("-period_start")
            .values_list("period_start", "observations")[:PICKER_PERIODS]
        )
        has_scorecards = bool(offered) or Scorecard.objects.filter(grain=Grain.ORGANISATION).exists()
    periods = [start for start, _ in offered]
    latest_measured = next((start for start, observations in offered if observations), None)
    measured = location_rows_for(user).filter(
        grain=Grain.LOCATION_STANDARD, period_kind=PeriodKind.MONTH if rolling else period_kind
    )
    if common.is_admin(user):
        # One probe per standard (EXISTS on the partial index scorecard_measured_idx), not a scan
        # of every location x standard scorecard of the period kind: at 500 locations that took
        # seconds.
        standards = Standard.objects.filter(Exists(measured.filter(standard=OuterRef("pk"))))
    else:
        # A manager's few locations hold few rows: read them once through the location index.
        standards = Standard.objects.filter(pk__in=measured.values("standard_id"))
    standards = list(standards.order_by("code"))
    return DashboardChoices(
        period_kind=period_kind,
        periods=periods,
        latest_measured=latest_measured,
        locations=list(dashboard_locations(user).order_by("name")),
        teams=list(dashboard_teams(user).order_by("location__name", "name")),
        standards=standards,
        has_scorecards=has_scorecards,
        rolling=RollingPeriod.ending(today) if rolling else None,
        today=today,
    )


@dataclass(frozen=True)
class Selection:
    """What the user is looking at: a period and optionally a location, team and standard.

    The period is either the rolling one (`rolling` set, `period_kind` "rolling", `period_start` its
    first day) or a calendar period (`period_kind`, `period_start`). Read its scorecards with
    `period_scorecards(queryset, selection)`, which works for both.
    """

    period_kind: str
    period_start: date | None
    admin: bool  # the whole organisation is the default scope (else: "your locations")
    location: Location | None = None
    team: Team | None = None
    standard: Standard | None = None
    grain: str = Grain.LOCATION
    rolling: RollingPeriod | None = None
    today: date | None = None  # dashboard_today(), to tell a partial period from a complete one

    @property
    def is_rolling(self) -> bool:
        return self.rolling is not None

    @property
    def has_period(self) -> bool:
        return self.period_start is not None

    @property
    def period_end(self) -> date | None:
        """The first day after the period."""
        if self.rolling:
            return self.rolling.end
        return period_end(self.period_kind, self.period_start) if self.period_start else None

    @property
    def period_last(self) -> date | None:
        """The period's last day (inclusive)."""
        end = self.period_end
        return end - timedelta(days=1) if end else None

    @property
    def is_partial(self) -> bool:
        """A calendar period still running on `today` (its figures hold only part of it)."""
        if self.rolling or not self.period_start or self.today is None:
            return False
        return self.period_end > self.today

    @property
    def period_label(self) -> str:
        if self.rolling:
            return self.rolling.label
        if not self.period_start:
            return ""
        label = period_label(self.period_kind, self.period_start)
        return f"{label} (so far)" if self.is_partial else label

    @property
    def scope_label(self) -> str:
        """Whose figures: a team, a location, or everything the user sees."""
        if self.team:
            return f"{self.team.name} ({self.team.location.name})"
        if self.location:
            return self.location.name
        return "Organisation" if self.admin else "Your locations"

    @property
    def label(self) -> str:
        return f"{self.scope_label} · {self.standard.title}" if self.standard else self.scope_label

    @property
    def feedback_location(self) -> Location | None:
        """Customer feedback is rolled up per location, not per team or standard."""
        return self.team.location if self.team else self.location

    def previous(self) -> Selection | None:
        """The same selection over the span just before (the previous 30 days, the previous month)."""
        if self.rolling:
            earlier = self.rolling.previous()
            return replace(self, rolling=earlier, period_start=earlier.start)
        if not self.period_start:
            return None
        return replace(
            self, period_start=period_start(self.period_kind, self.period_start - timedelta(days=1))
        )

    def period_params(self) -> dict[str, str]:
        """The drill-down page's parameters for the period: from/to for a rolling period."""
        if self.rolling:
            return {"from": self.rolling.start.isoformat(), "to": self.rolling.last.isoformat()}
        if not self.period_start:
            return {}
        return {"period_kind": self.period_kind, "period_start": self.period_start.isoformat()}

    def params(self, **changes) -> dict[str, str]:
        """The query parameters that reproduce this selection, with `changes` applied (the rolling
        period always ends on the day the page is opened, so it carries no date)."""
        params = {
            "period_kind": self.period_kind,
            "period_start": self.period_start.isoformat() if self.period_start and not self.rolling else "",
            "location": self.location.pk if self.location else "",
            "team": self.team.pk if self.team else "",
            "standard": self.standard.pk if self.standard else "",
            "grain": self.grain,
        }
        params.update(changes)
        return {key: str(value) for key, value in params.items() if value not in ("", None)}

    def drilldown_params(self) -> dict[str, str]:
        """Parameters of the observations page for this selection's figures."""
        params = {
            **self.period_params(),
            **self.params(period_kind="", period_start="", grain=""),
        }
        if self.team:
            # Team scorecards cover every standard of the team (there is no team × standard grain).
            params.pop("location", None)
            params.pop("standard", None)
        return params


# The team filter lists every team in scope up to this many; past it, those of the chosen location.
TEAM_OPTIONS = 50


def team_options(choices: DashboardChoices, selection: Selection) -> list[Team] | None:
    """The teams the dashboard's team filter offers: every team in scope when there are at most
    TEAM_OPTIONS, else the chosen location's (a team chosen brings its location); None when
    there are too many to list and no location is chosen, so the filter asks for one first
    (1,000 teams made a 60 KB list). No queries: the choices hold the teams."""
    if len(choices.teams) <= TEAM_OPTIONS:
        return choices.teams
    if selection.location is None:
        return None
    return [team for team in choices.teams if team.location_id == selection.location.pk]


def period_kind_from(params: Mapping[str, str], *, rolling: bool = False) -> str:
    """The period kind asked for; with `rolling` the rolling period is offered and is the default."""
    kind = params.get("period_kind", "")
    if kind in DASHBOARD_PERIOD_KINDS or (rolling and kind == ROLLING):
        return kind
    return ROLLING if rolling else DEFAULT_PERIOD_KIND


def _pick(options: Sequence, raw: str | None):
    """The option whose pk is `raw`, or None (an unknown or out-of-scope id is ignored)."""
    if not raw or not str(raw).isdigit():
        return None
    return next((option for option in options if option.pk == int(raw)), None)


def selection_from(params: Mapping[str, str], *, choices: DashboardChoices, admin: bool) -> Selection:
    """Read the selection from query parameters, keeping only what `choices` offers: an id outside
    the user's scope is ignored, an unknown calendar period falls back to the latest with
    observations (else the latest). A rolling selection takes its period from `choices` (it ends
    on dashboard_today()) and ignores any period_start. No queries."""
    if choices.rolling is not None:
        start = choices.rolling.start if choices.has_scorecards else None
    else:
        start = parse_date(params.get("period_start"))
        if start is not None:
            # A date inside a period stands for that period (e.g. a month's start after switching to quarters).
            start = period_start(choices.period_kind, start)
        if start not in choices.periods:
            start = choices.latest_measured or (choices.periods[0] if choices.periods else None)
    team = _pick(choices.teams, params.get("team"))
    location = team.location if team else _pick(choices.locations, params.get("location"))
    grain = params.get("grain", "")
    return Selection(
        period_kind=choices.period_kind,
        period_start=start,
        admin=admin,
        location=location,
        team=team,
        standard=_pick(choices.standards, params.get("standard")),
        grain=grain if grain in TABLE_GRAINS else Grain.LOCATION,
        rolling=choices.rolling if start is not None else None,
        today=choices.today,
    )


def period_scorecards(scorecards: QuerySet[Scorecard], selection: Selection) -> list[Scorecard]:
    """The scorecards of the selection's period among `scorecards` (already narrowed to a scope and
    grains): the stored ones of a calendar period, or those of the rolling period summed from day
    scorecards (`rolling_scorecards`, each carrying its `rolling_period`). One query."""
    if selection.rolling:
        return rolling_rows(scorecards, selection.rolling)
    if not selection.period_start:
        return []
    return list(scorecards.filter(period_kind=selection.period_kind, period_start=selection.period_start))


def rolling_rows(scorecards: QuerySet[Scorecard], period: RollingPeriod) -> list[Scorecard]:
    """`rolling_scorecards`, each row knowing its period (its drill-down needs the last day)."""
    rows = rolling_scorecards(scorecards, period)
    for row in rows:
        row.rolling_period = period
    return rows


# --------------------------------------------------------------------------- figures


# The Scorecard columns a `Figures` copies from a single scorecard.
FIGURE_COLUMNS = (
    "observations",
    "passed",
    "pass_rate",
    "pass_rate_low",
    "pass_rate_high",
    "target_rate",
    "target_met",
    "deviations",
    "feedback_count",
    "csat_n",
    "csat",
    "nps_n",
    "nps",
    "nps_low",
    "nps_high",
)


@dataclass(frozen=True)
class Figures:
    """Pass rate, CSAT and NPS of one scorecard, or of several combined (e.g. a manager's locations).

    Combining adds the counts: the pass rate and its Wilson interval are recomputed from the summed
    passes and observations (`stats.wilson_interval`), CSAT from the summed satisfied answers
    (`stats.csat_from_counts`). Scorecards store NPS but not its promoters and detractors apart, so
    a combined NPS is exact (the answer-weighted mean) but its interval cannot be recomputed and is
    left out (`nps_low`/`nps_high` None).
    """

    label: str
    combined: int = 0  # scorecards behind these figures
    observations: int = 0
    passed: int = 0
    pass_rate: float | None = None
    pass_rate_low: float | None = None
    pass_rate_high: float | None = None
    target_rate: float | None = None
    target_met: bool | None = None
    deviations: int = 0
    feedback_count: int = 0
    csat_n: int = 0
    csat: float | None = None
    nps_n: int = 0
    nps: float | None = None
    nps_low: float | None = None
    nps_high: float | None = None

    @classmethod
    def of(cls, label: str, rows: Iterable[Scorecard]) -> Figures:
        rows = list(rows)
        if len(rows) == 1:
            row = rows[0]
            return cls(
                label=label,
                combined=1,
                **{name: getattr(row, name) for name in FIGURE_COLUMNS},
            )
        observations = sum(row.observations for row in rows)
        passed = sum(row.passed for row in rows)
        low, high = stats.wilson_interval(passed, observations)
        pass_rate = passed / observations if observations else None
        targeted = [row for row in rows if row.target_rate is not None and row.observations]
        target_n = sum(row.observations for row in targeted)
        target = sum(row.target_rate * row.observations for row in targeted) / target_n if target_n else None
        with_csat = [row for row in rows if row.csat_n and row.csat is not None]
        csat_n = sum(row.csat_n for row in with_csat)
        # csat = 100 × satisfied / csat_n exactly, so the count of satisfied answers is recovered.
        satisfied = sum(round(row.csat * row.csat_n / 100) for row in with_csat)
        with_nps = [row for row in rows if row.nps_n and row.nps is not None]
        nps_n = sum(row.nps_n for row in with_nps)
        net = sum(row.nps * row.nps_n for row in with_nps)
        return cls(
            label=label,
            combined=len(rows),
            observations=observations,
            passed=passed,
            pass_rate=pass_rate,
            pass_rate_low=low,
            pass_rate_high=high,
            target_rate=target,
            target_met=(
                pass_rate >= target - TARGET_TOLERANCE
                if pass_rate is not None and target is not None
                else None
            ),
            deviations=sum(row.deviations for row in rows),
            feedback_count=sum(row.feedback_count for row in rows),
            csat_n=csat_n,
            csat=stats.csat_from_counts(satisfied, csat_n).score,
            nps_n=nps_n,
            nps=net / nps_n if nps_n else None,
        )

    @property
    def is_empty(self) -> bool:
        return not self.observations and not self.feedback_count


def pass_rows_filter(selection: Selection) -> Q:
    """The scorecards whose observations make up the selection's pass rate (before scoping).

    For a manager without a location, the rows of all their locations (combined later); for an
    admin, the organisation-wide row.
    """
    if selection.team:
        return Q(grain=Grain.TEAM, team=selection.team)
    if selection.location and selection.standard:
        return Q(grain=Grain.LOCATION_STANDARD, location=selection.location, standard=selection.standard)
    if selection.location:
        return Q(grain=Grain.LOCATION, location=selection.location)
    if selection.standard:
        if selection.admin:
            return Q(grain=Grain.STANDARD, standard=selection.standard)
        return Q(grain=Grain.LOCATION_STANDARD, standard=selection.standard)
    return Q(grain=Grain.ORGANISATION) if selection.admin else Q(grain=Grain.LOCATION)


def feedback_rows_filter(selection: Selection) -> Q:
    """The scorecards holding the customer feedback of the selection's location(s)."""
    location = selection.feedback_location
    if location:
        return Q(grain=Grain.LOCATION, location=location)
    return Q(grain=Grain.ORGANISATION) if selection.admin else Q(grain=Grain.LOCATION)


def benchmark_row_filter(selection: Selection) -> Q | None:
    """The organisation-wide scorecard to show next to the selection, or None when the selection
    already is the organisation."""
    if selection.admin and not selection.location and not selection.team:
        return None
    if selection.standard:
        return Q(grain=Grain.STANDARD, standard=selection.standard)
    return Q(grain=Grain.ORGANISATION)


@dataclass(frozen=True)
class Headline:
    passing: Figures  # pass rate, target, deviations of the selection
    feedback: Figures  # CSAT and NPS of the selection's location(s)
    feedback_label: str
    benchmark: Figures | None  # the organisation-wide figures, as context
    team_ignores_standard: bool  # there are no team × standard scorecards
    previous: Figures | None = None  # the pass rate over the span just before, for comparison
    previous_selection: Selection | None = None


def headline(user, selection: Selection) -> Headline:
    """The selection's headline figures and its pass rate over the previous span. Queries: four
    (three without a benchmark), for a rolling period as for a calendar one."""
    mine = scorecards_for(user)
    passing = period_scorecards(mine.filter(pass_rows_filter(selection)), selection)
    feedback = period_scorecards(mine.filter(feedback_rows_filter(selection)), selection)
    earlier = selection.previous()
    previous = None
    if earlier is not None:
        previous = Figures.of(
            selection.label, period_scorecards(mine.filter(pass_rows_filter(earlier)), earlier)
        )
    benchmark_filter = benchmark_row_filter(selection)
    benchmark = None
    if benchmark_filter is not None:
        rows = period_scorecards(benchmark_scorecards().filter(benchmark_filter), selection)
        benchmark = Figures.of(
            "Organisation" + (f" · {selection.standard.title}" if selection.standard else ""), rows
        )
    feedback_location = selection.feedback_location
    feedback_label = (
        feedback_location.name
        if feedback_location
        else ("Organisation" if selection.admin else "Your locations")
    )
    return Headline(
        passing=Figures.of(selection.label, passing),
        feedback=Figures.of(feedback_label, feedback),
        feedback_label=feedback_label,
        benchmark=benchmark,
        team_ignores_standard=bool(selection.team and selection.standard),
        previous=previous,
        previous_selection=earlier,
    )


# --------------------------------------------------------------------------- the scorecard table


def has_enough_evidence(row) -> bool:
    """Whether a scorecard (or `Figures`) holds enough observations (settings.MIN_EVIDENCE) to
    call its subject strong or weak; below that it says "too little evidence"."""
    return (row.observations or 0) >= settings.MIN_EVIDENCE


def need_key(row: Scorecard) -> tuple:
    """Sort key "by need": rows with enough evidence first, the lowest lower bound of the Wilson
    interval first (the subject most surely below), then those with too little evidence; by name
    within ties. The rows' related objects must be loaded (`scorecard_subject`)."""
    low = row.pass_rate_low
    return (not has_enough_evidence(row), low is None, low or 0.0, scorecard_subject(row))


# The same order in SQL, for stored scorecards; the names that break ties follow.
NEED_ORDER = (
    Case(When(observations__lt=settings.MIN_EVIDENCE, then=Value(1)), default=Value(0)),
    F("pass_rate_low").asc(nulls_last=True),
)


def _table_rows(user, selection: Selection) -> tuple[QuerySet[Scorecard], tuple[str, ...], tuple[str, ...]]:
    """The scorecards of the selection's table grain, before the period is applied, with the
    relations the table shows and the names that break ties."""
    rows = scorecards_for(user)
    grain, location, team, standard = selection.grain, selection.location, selection.team, selection.standard
    if grain == Grain.TEAM:
        rows = common.team_rows_for(user).filter(grain=Grain.TEAM)
        if team:
            rows = rows.filter(team=team)
        elif location:
            rows = rows.filter(team__location=location)
        return rows, ("team__location",), ("team__location__name", "team__name")
    if grain == Grain.EMPLOYEE:
        rows = common.employee_rows_for(user).filter(grain=Grain.EMPLOYEE)
        if team:
            rows = rows.filter(employee__team=team)
        elif location:
            rows = rows.filter(employee__location=location)
        names = ("employee__user__last_name", "employee__user__first_name", "employee__pk")
        return rows, ("employee__user", "employee__location"), names
    by_standard = grain == Grain.STANDARD or standard is not None
    if not by_standard:
        rows = rows.filter(grain=Grain.LOCATION)
        if location:
            rows = rows.filter(location=location)
        return rows, ("location",), ("location__name",)
    if grain == Grain.STANDARD and selection.admin and not location:
        rows = rows.filter(grain=Grain.STANDARD)
        related, names = ("standard",), ("standard__code",)
    else:
        rows = rows.filter(grain=Grain.LOCATION_STANDARD)
        if location:
            rows = rows.filter(location=location)
        related, names = ("location", "standard"), ("location__name", "standard__code")
    if standard:
        rows = rows.filter(standard=standard)
    return rows, related, names


def scorecard_table(user, selection: Selection) -> QuerySet[Scorecard] | list[Scorecard] | RankedRollingTable:
    """The period's scorecards at the selection's table grain, in the user's scope, ordered by need
    (`need_key`): the lowest lower bound of the pass-rate interval first, rows with too little
    evidence last.

    - location: one row per location (per location × standard when a standard is chosen);
    - team, employee: one row per team / employee (of the chosen location or team, if any);
    - standard: per standard — organisation-wide rows for an admin without a location, otherwise
      location × standard rows.

    A calendar period gives a queryset ordered in SQL (paged by the database); the rolling period a
    list summed from day scorecards, its names loaded in one query per relation. Queries: one or
    two for a page of a calendar table; for the rolling one, one plus one per relation shown (for
    employees: the sums, their names, the page's employees; see `RankedRollingTable`).
    """
    rows, related, names = _table_rows(user, selection)
    if selection.rolling and selection.grain == Grain.EMPLOYEE:
        return RankedRollingTable.of(rows, selection.rolling)
    if selection.rolling and selection.grain == Grain.LOCATION and not selection.standard:
        return RankedRollingTable.of(rows, selection.rolling, Grain.LOCATION)
    if selection.rolling:
        table = period_scorecards(rows, selection)
        load_subjects(table)
        return sorted(table, key=need_key)
    if not selection.period_start:
        return rows.none()
    return (
        rows.filter(period_kind=selection.period_kind, period_start=selection.period_start)
        .select_related(*related)
        .order_by(*NEED_ORDER, *names)
    )


def employee_names(ids: Iterable[int]) -> dict[int, str]:
    """`str(employee)` per employee id, read as plain values (no model instances). One query."""
    rows = Employee.objects.filter(pk__in=ids).values_list(
        "pk", "user__first_name", "user__last_name", "user__username", "employee_number"
    )
    # Employee.__str__ over User.get_full_name, falling back to the username.
    return {
        pk: f"{f'{first} {last}'.strip() or username} ({number})"
        for pk, first, last, username, number in rows
    }


class RankedRollingTable(Sequence):
    """Rolling scorecards of employees or locations ranked by need (`need_key`) on their sums
    and names alone, built as scorecards only for the rows asked for (a page, or all for the
    CSV). Building 2,000 employees' scorecards to show 50 was most of the admin's page; 500
    locations' for the 25 of a table page and the 10 of a heatmap page, a quarter of it.

    Employees' names are read as plain values and the employees of each slice asked for loaded
    with it (`load_subjects`); locations, a few hundred plain rows, are loaded once and give both
    the names and every slice's locations, so that the table and the heatmap share them."""

    def __init__(
        self, ranked: list[dict], period: RollingPeriod, locations: dict[int, Location] | None = None
    ):
        self._ranked, self._period, self._locations = ranked, period, locations

    @classmethod
    def of(
        cls, rows: QuerySet[Scorecard], period: RollingPeriod, grain: str = Grain.EMPLOYEE
    ) -> RankedRollingTable:
        """`rows` (of the employee or the location grain, already narrowed) summed over `period`
        and ranked. Queries: two (the sums, and the names or the locations)."""
        sums = rolling_sums(rows, period, grain=grain)
        locations = None
        if grain == Grain.LOCATION:
            column = "location_id"
            locations = Location.objects.in_bulk({row[column] for row in sums})
            names = {pk: location.name for pk, location in locations.items()}
        else:
            column = "employee_id"
            names = employee_names({row[column] for row in sums})

        def need(row: dict) -> tuple:
            low = pass_rate_low_from_sums(row)
            enough = observations_from_sums(row) >= settings.MIN_EVIDENCE
            return (not enough, low is None, low or 0.0, names[row[column]])

        return cls(sorted(sums, key=need), period, locations)

    def with_observations(self) -> RankedRollingTable:
        """The rows that hold observations (a location's may hold customer feedback only), in order."""
        kept = [row for row in self._ranked if observations_from_sums(row)]
        return RankedRollingTable(kept, self._period, self._locations)

    def __len__(self) -> int:
        return len(self._ranked)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1 or None][0]
        cards = [scorecard_from_sums(row, self._period) for row in self._ranked[index]]
        for card in cards:
            card.rolling_period = self._period
        if self._locations is None:
            load_subjects(cards)
        else:
            for card in cards:  # location rows name a location and nothing else
                card.location = self._locations[card.location_id]
        return cards

    def __iter__(self):
        return iter(self[:])


def table_orders_heatmap(selection: Selection) -> bool:
    """Whether the selection's scorecard table is the list of rows the heatmap orders its
    locations by (`charts.heatmap`'s `located`): the rolling table of locations, without a
    standard, holds each location's rolling scorecard, so the page need not sum them twice."""
    return selection.is_rolling and selection.grain == Grain.LOCATION and selection.standard is None


def load_subjects(rows: list[Scorecard]) -> None:
    """Give unsaved (rolling) scorecards their location, team, employee, standard and touchpoint,
    as `select_related` does for stored ones: one query per relation the rows name."""
    relations = (
        ("location", Location.objects.all()),
        ("team", Team.objects.select_related("location")),
        ("employee", Employee.objects.select_related("user", "location")),
        ("standard", Standard.objects.all()),
        ("touchpoint", Touchpoint.objects.all()),
    )
    for name, queryset in relations:
        ids = {getattr(row, f"{name}_id") for row in rows} - {None}
        if not ids:
            continue
        objects = queryset.in_bulk(ids)
        for row in rows:
            value = getattr(row, f"{name}_id")
            if value is not None:
                setattr(row, name, objects[value])


def scorecard_subject(row: Scorecard) -> str:
    """What a scorecard is about, in words: 'Alpha Street', 'Tills · AAA-01', 'STD-001 Greeting'…"""
    if row.grain == Grain.ORGANISATION:
        return "Organisation"
    if row.grain == Grain.LOCATION:
        return row.location.name
    if row.grain == Grain.TEAM:
        return str(row.team)
    if row.grain == Grain.EMPLOYEE:
        return str(row.employee)
    if row.grain == Grain.STANDARD:
        return f"{row.standard.code} {row.standard.title}"
    if row.grain == Grain.TOUCHPOINT:
        return str(row.touchpoint)
    return f"{row.location.name} · {row.standard.code} {row.standard.title}"


def scorecard_drilldown_params(row: Scorecard) -> dict[str, str]:
    """Parameters of the observations page listing exactly the evidence behind `row`: its calendar
    period, or the from/to days of a rolling one, and the subject it is about."""
    period = getattr(row, "rolling_period", None)
    if period is not None:
        params = {"from": period.start.isoformat(), "to": period.last.isoformat()}
    else:
        params = {"period_kind": row.period_kind, "period_start": row.period_start.isoformat()}
    for name in ("location", "team", "employee", "standard", "touchpoint"):
        value = getattr(row, f"{name}_id")
        if value is not None:
            params[name] = str(value)
    return params


SCORECARD_CSV_HEADER = (
    "period_kind",
    "period_start",
    "period_last",
    "grain",
    "subject",
    "location_code",
    "standard_code",
    "observations",
    "passed",
    "pass_rate",
    "pass_rate_low",
    "pass_rate_high",
    "target_rate",
    "target_met",
    "deviations",
    "csat_n",
    "csat_percent",
    "nps_n",
    "nps",
    "nps_low",
    "nps_high",
)


def scorecard_csv_rows(rows: Iterable[Scorecard]) -> Iterable[tuple]:
    """Rows for `SCORECARD_CSV_HEADER` (proportions as 0–1, CSAT in percent, as stored)."""
    for row in rows:
        location = row.location or (row.team.location if row.team_id else None)
        if location is None and row.employee_id:
            location = row.employee.location
        period = getattr(row, "rolling_period", None)
        yield (
            row.period_kind,
            row.period_start,
            period.last if period else period_end(row.period_kind, row.period_start) - timedelta(days=1),
            row.grain,
            scorecard_subject(row),
            location.code if location else "",
            row.standard.code if row.standard_id else "",
            row.observations,
            row.passed,
            row.pass_rate,
            row.pass_rate_low,
            row.pass_rate_high,
            row.target_rate,
            row.target_met,
            row.deviations,
            row.csat_n,
            row.csat,
            row.nps_n,
            row.nps,
            row.nps_low,
            row.nps_high,
        )
