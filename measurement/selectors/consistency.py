"""The consistency page: locations ranked by the lower Wilson bound, on a funnel plot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from organization.models import Location
from standards.models import Standard

from .. import stats
from ..models import Grain, Scorecard
from .common import OTHER_LOCATION, dashboard_locations

# --------------------------------------------------------------------------- consistency


@dataclass(frozen=True)
class LeagueRow:
    rank: int
    location: Location | None  # None for another manager's location (anonymised)
    label: str
    mine: bool
    observations: int
    passed: int
    pass_rate: float
    pass_rate_low: float | None
    pass_rate_high: float | None
    target_rate: float | None
    target_met: bool | None
    point: stats.FunnelPoint

    @property
    def funnel_position(self) -> str:
        """Where the location lies on the funnel plot, in words."""
        if self.point.above998:
            return "above the 99.8% limit"
        if self.point.below998:
            return "below the 99.8% limit"
        if self.point.above95:
            return "above the 95% limit"
        if self.point.below95:
            return "below the 95% limit"
        return "within the limits"


@dataclass(frozen=True)
class League:
    """Locations ranked by the lower bound of their Wilson interval, with a funnel plot."""

    rows: list[LeagueRow]  # every location with observations; anonymised where not the user's
    overall_rate: float | None  # the funnel's centre: the pooled rate over all locations
    overall_n: int
    spread: stats.SpreadResult
    funnel_chart: dict | None

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def mine(self) -> list[LeagueRow]:
        return [row for row in self.rows if row.mine]

    @property
    def strongest(self) -> LeagueRow | None:
        return self.rows[0] if self.rows else None

    @property
    def weakest(self) -> LeagueRow | None:
        return self.rows[-1] if len(self.rows) > 1 else None

    @property
    def peaks(self) -> list[LeagueRow]:
        return [row for row in self.rows if row.point.above998]

    @property
    def valleys(self) -> list[LeagueRow]:
        return [row for row in self.rows if row.point.below998]


# Points along the funnel's limit curves, spaced evenly on a log scale of n.
FUNNEL_CURVE_POINTS = 60


def _funnel_curve(centre: float, max_n: int) -> dict:
    top = max(10, int(max_n * 1.1) + 1)
    ns = sorted({max(1, round(top ** (i / (FUNNEL_CURVE_POINTS - 1)))) for i in range(FUNNEL_CURVE_POINTS)})
    curve = {"n": ns, "low95": [], "high95": [], "low998": [], "high998": []}
    for n in ns:
        low95, high95 = stats.funnel_limits(centre, n, 0.95)
        low998, high998 = stats.funnel_limits(centre, n, 0.998)
        curve["low95"].append(low95)
        curve["high95"].append(high95)
        curve["low998"].append(low998)
        curve["high998"].append(high998)
    return curve


def location_league(
    *,
    user,
    period_kind: str,
    period_start: date | None,
    standard: Standard | None = None,
    locations: Iterable[Location] | None = None,
) -> League:
    """The period's locations (for one standard, if given) ranked by the lower bound of their 95 %
    Wilson interval, placed on a funnel plot around the pooled rate of all locations.

    Every location counts towards the pooled rate, the limits and the spread; for a manager, the
    locations they do not manage are returned anonymised (label "Other location", no Location
    object) — see the module docstring. `locations` are the user's locations if already loaded
    (`DashboardChoices.locations`). Queries: one, plus one if `locations` is not given.
    """
    if period_start is None:
        return League([], None, 0, stats.spread([]), None)
    if locations is None:
        locations = dashboard_locations(user)
    visible = {location.pk: location for location in locations}
    grain = Grain.LOCATION_STANDARD if standard else Grain.LOCATION
    # Deliberately unscoped: other locations contribute anonymously (see the module docstring).
    # Only ids and numbers are read, so no other location's name is ever loaded.
    scorecards = Scorecard.objects.filter(
        period_kind=period_kind, period_start=period_start, grain=grain, observations__gt=0
    )
    if standard:
        scorecards = scorecards.filter(standard=standard)
    rows = list(
        scorecards.values(
            "location_id",
            "observations",
            "passed",
            "pass_rate",
            "pass_rate_low",
            "pass_rate_high",
            "target_rate",
            "target_met",
        )
    )
    rows.sort(key=lambda row: (-(row["pass_rate_low"] or 0.0), -row["observations"], row["location_id"]))
    points = stats.funnel_points(
        [(str(row["location_id"]), row["passed"], row["observations"]) for row in rows]
    )
    league_rows = []
    for rank, (row, point) in enumerate(zip(rows, points, strict=True), start=1):
        location = visible.get(row["location_id"])
        league_rows.append(
            LeagueRow(
                rank=rank,
                location=location,
                label=location.name if location else OTHER_LOCATION,
                mine=location is not None,
                observations=row["observations"],
                passed=row["passed"],
                pass_rate=row["pass_rate"],
                pass_rate_low=row["pass_rate_low"],
                pass_rate_high=row["pass_rate_high"],
                target_rate=row["target_rate"],
                target_met=row["target_met"],
                point=point,
            )
        )
    overall_n = sum(row["observations"] for row in rows)
    overall = sum(row["passed"] for row in rows) / overall_n if overall_n else None
    funnel_chart = None
    if overall is not None:
        funnel_chart = {
            "centre": overall,
            "points": [
                {"n": row.observations, "rate": row.pass_rate, "label": row.label, "mine": row.mine}
                for row in league_rows
            ],
            "limits": _funnel_curve(overall, max(row.observations for row in league_rows)),
        }
    return League(
        rows=league_rows,
        overall_rate=overall,
        overall_n=overall_n,
        spread=stats.spread(row.pass_rate for row in league_rows),
        funnel_chart=funnel_chart,
    )


LEAGUE_CSV_HEADER = (
    "rank",
    "of",
    "location_code",
    "location",
    "observations",
    "passed",
    "pass_rate",
    "pass_rate_low",
    "pass_rate_high",
    "target_rate",
    "target_met",
    "funnel_position",
)


def league_csv_rows(league: League, *, admin: bool) -> Iterable[tuple]:
    """Rows for `LEAGUE_CSV_HEADER`: every location for admins, the user's own otherwise."""
    for row in league.rows if admin else league.mine:
        yield (
            row.rank,
            league.total,
            row.location.code if row.location else "",
            row.label,
            row.observations,
            row.passed,
            row.pass_rate,
            row.pass_rate_low,
            row.pass_rate_high,
            row.target_rate,
            row.target_met,
            row.funnel_position,
        )
