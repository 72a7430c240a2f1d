"""The scorecards page: filter choices, the selection, headline figures and the scorecard table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from organization.models import Location, Team
from standards.models import Standard

from .. import stats
from ..models import Grain, Scorecard
from ..services.rollup import period_start
from .common import (
    DASHBOARD_PERIOD_KINDS,
    DEFAULT_PERIOD_KIND,
    PICKER_PERIODS,
    TABLE_GRAINS,
    TARGET_TOLERANCE,
    benchmark_scorecards,
    dashboard_locations,
    dashboard_teams,
    parse_date,
    period_label,
    scorecards_for,
)

# --------------------------------------------------------------------------- the selection


@dataclass(frozen=True)
class DashboardChoices:
    """What the filters offer a user: each list already limited to the user's scope."""

    period_kind: str
    periods: list[date]  # newest first
    # The newest period with observations: the default, so that a month only a day or two old, with
    # customer feedback but nothing measured yet, does not open the dashboard on "n = 0".
    latest_measured: date | None
    locations: list[Location]
    teams: list[Team]
    standards: list[Standard]
    has_scorecards: bool  # any scorecard at all, of any period kind


def dashboard_choices(user, *, period_kind: str) -> DashboardChoices:
    """The filter options for `user` and `period_kind`. Queries: four, whatever the data size.

    Periods are those that have an organisation-wide scorecard (every period with evidence has one);
    standards those with a location × standard scorecard of this period kind in the user's scope.
    """
    offered = list(
        Scorecard.objects.filter(grain=Grain.ORGANISATION, period_kind=period_kind)
        .order_by("-period_start")
        .values_list("period_start", "observations")[:PICKER_PERIODS]
    )
    periods = [start for start, _ in offered]
    latest_measured = next((start for start, observations in offered if observations), None)
    has_scorecards = bool(periods) or Scorecard.objects.filter(grain=Grain.ORGANISATION).exists()
    # One probe per standard (EXISTS on the partial index scorecard_measured_idx), not a scan of
    # every location x standard scorecard of the period kind: at 500 locations that took seconds.
    measured = scorecards_for(user).filter(
        grain=Grain.LOCATION_STANDARD, period_kind=period_kind, standard=OuterRef("pk")
    )
    standards = list(Standard.objects.filter(Exists(measured)).order_by("code"))
    return DashboardChoices(
        period_kind=period_kind,
        periods=periods,
        latest_measured=latest_measured,
        locations=list(dashboard_locations(user).order_by("name")),
        teams=list(dashboard_teams(user).order_by("location__name", "name")),
        standards=standards,
        has_scorecards=has_scorecards,
    )


@dataclass(frozen=True)
class Selection:
    """What the user is looking at: a period and optionally a location, team and standard."""

    period_kind: str
    period_start: date | None
    admin: bool  # the whole organisation is the default scope (else: "your locations")
    location: Location | None = None
    team: Team | None = None
    standard: Standard | None = None
    grain: str = Grain.LOCATION

    @property
    def period_label(self) -> str:
        return period_label(self.period_kind, self.period_start) if self.period_start else ""

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
        return f"{self.scope_label} · {self.standard.code}" if self.standard else self.scope_label

    @property
    def feedback_location(self) -> Location | None:
        """Customer feedback is rolled up per location, not per team or standard."""
        return self.team.location if self.team else self.location

    def params(self, **changes) -> dict[str, str]:
        """The query parameters that reproduce this selection, with `changes` applied."""
        params = {
            "period_kind": self.period_kind,
            "period_start": self.period_start.isoformat() if self.period_start else "",
            "location": self.location.pk if self.location else "",
            "team": self.team.pk if self.team else "",
            "standard": self.standard.pk if self.standard else "",
            "grain": self.grain,
        }
        params.update(changes)
        return {key: str(value) for key, value in params.items() if value not in ("", None)}

    def drilldown_params(self) -> dict[str, str]:
        """Parameters of the observations page for this selection's figures."""
        params = self.params(grain="")
        if self.team:
            # Team scorecards cover every standard of the team (there is no team × standard grain).
            params.pop("location", None)
            params.pop("standard", None)
        return params


def period_kind_from(params: Mapping[str, str]) -> str:
    kind = params.get("period_kind", "")
    return kind if kind in DASHBOARD_PERIOD_KINDS else DEFAULT_PERIOD_KIND


def _pick(options: Sequence, raw: str | None):
    """The option whose pk is `raw`, or None (an unknown or out-of-scope id is ignored)."""
    if not raw or not str(raw).isdigit():
        return None
    return next((option for option in options if option.pk == int(raw)), None)


def selection_from(params: Mapping[str, str], *, choices: DashboardChoices, admin: bool) -> Selection:
    """Read the selection from query parameters, keeping only what `choices` offers: an id outside
    the user's scope is ignored, an unknown period falls back to the latest with observations (else
    the latest). No queries."""
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
    )


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


def headline(user, selection: Selection) -> Headline:
    """The selection's headline figures. Queries: three (two without a benchmark)."""
    period = Q(period_kind=selection.period_kind, period_start=selection.period_start)
    mine = scorecards_for(user).filter(period)
    passing = list(mine.filter(pass_rows_filter(selection)))
    feedback = list(mine.filter(feedback_rows_filter(selection)))
    benchmark_filter = benchmark_row_filter(selection)
    benchmark = None
    if benchmark_filter is not None:
        rows = list(benchmark_scorecards().filter(period).filter(benchmark_filter))
        benchmark = Figures.of(
            "Organisation" + (f" · {selection.standard.code}" if selection.standard else ""), rows
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
    )


# --------------------------------------------------------------------------- the scorecard table


def scorecard_table(user, selection: Selection) -> QuerySet[Scorecard]:
    """The period's scorecards at the selection's table grain, in the user's scope, ordered by name.

    - location: one row per location (per location × standard when a standard is chosen);
    - team, employee: one row per team / employee (of the chosen location or team, if any);
    - standard: per standard — organisation-wide rows for an admin without a location, otherwise
      location × standard rows.
    """
    rows = scorecards_for(user).filter(period_kind=selection.period_kind, period_start=selection.period_start)
    grain, location, team, standard = selection.grain, selection.location, selection.team, selection.standard
    if grain == Grain.TEAM:
        rows = rows.filter(grain=Grain.TEAM).select_related("team__location")
        if team:
            rows = rows.filter(team=team)
        elif location:
            rows = rows.filter(team__location=location)
        return rows.order_by("team__location__name", "team__name")
    if grain == Grain.EMPLOYEE:
        rows = rows.filter(grain=Grain.EMPLOYEE).select_related("employee__user", "employee__location")
        if team:
            rows = rows.filter(employee__team=team)
        elif location:
            rows = rows.filter(employee__location=location)
        return rows.order_by("employee__user__last_name", "employee__user__first_name", "employee__pk")
    by_standard = grain == Grain.STANDARD or standard is not None
    if not by_standard:
        rows = rows.filter(grain=Grain.LOCATION).select_related("location")
        if location:
            rows = rows.filter(location=location)
        return rows.order_by("location__name")
    if grain == Grain.STANDARD and selection.admin and not location:
        rows = rows.filter(grain=Grain.STANDARD).select_related("standard")
        order = ["standard__code"]
    else:
        rows = rows.filter(grain=Grain.LOCATION_STANDARD).select_related("location", "standard")
        if location:
            rows = rows.filter(location=location)
        order = ["location__name", "standard__code"]
    if standard:
        rows = rows.filter(standard=standard)
    return rows.order_by(*order)


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
    """Parameters of the observations page listing the evidence behind `row`."""
    params = {"period_kind": row.period_kind, "period_start": row.period_start.isoformat()}
    for name in ("location", "team", "employee", "standard"):
        value = getattr(row, f"{name}_id")
        if value is not None:
            params[name] = str(value)
    return params


SCORECARD_CSV_HEADER = (
    "period_kind",
    "period_start",
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
        yield (
            row.period_kind,
            row.period_start,
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
