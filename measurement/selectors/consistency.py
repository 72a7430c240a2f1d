"""The consistency page: locations ordered by need (the lower Wilson bound), on a funnel plot.

A location is judged only on enough evidence: below settings.MIN_EVIDENCE observations it is listed
last, unranked, as "too little evidence", and never named strongest, weakest, above or below a limit.
A location lies above or below the limits only by the 99.8 % funnel limits (Spiegelhalter's control
limits); beyond the 95 % line alone is one chance in twenty, so it is only worth watching.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from organization.models import Location

from .. import stats
from ..models import Grain, Scorecard
from .common import OTHER_LOCATION, dashboard_locations
from .scorecards import Selection, period_scorecards

# --------------------------------------------------------------------------- precision

# Rates are shown with no more decimals than it takes to tell them from what they are compared with.
MOST_DIGITS = 3
TOO_LITTLE_EVIDENCE = "too little evidence"
INTERVAL_METHOD = "Wilson 95% interval"


def _rounded(proportion: float, digits: int) -> Decimal:
    return Decimal(str(proportion * 100)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def decisive_digits(value: float | None, others: Iterable[float | None], *, least: int = 0) -> int:
    """The fewest decimals (from `least`, at most MOST_DIGITS) at which the percentage `value` no
    longer reads the same as any of `others` it differs from: 0.896 against 0.9 needs one (89.6 %
    against 90 %), 0.8996 two."""
    if value is None:
        return least
    compared = [other for other in others if other is not None and abs(other - value) > 1e-12]
    for digits in range(least, MOST_DIGITS + 1):
        shown = _rounded(value, digits)
        if all(shown != _rounded(other, digits) for other in compared):
            return digits
    return MOST_DIGITS


def range_at(low: float | None, high: float | None, digits: int) -> str:
    """Two bounds as one range of percentages: '85.2–91.0%'."""
    if low is None or high is None:
        return "—"
    return f"{percent_at(low, digits)[:-1]}–{percent_at(high, digits)}"


def percent_at(proportion: float | None, digits: int, *, trim: bool = False) -> str:
    """A proportion as a percentage with `digits` decimals: '89.6%'; `trim` drops trailing zeros
    (a target of 90 % reads '90%', not '90.0%')."""
    if proportion is None:
        return "—"
    text = str(_rounded(proportion, digits))
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


# --------------------------------------------------------------------------- the league


@dataclass(frozen=True)
class LeagueRow:
    rank: int | None  # by need, 1 = the lowest lower bound; None with too little evidence
    location: Location | None  # None for a location the user sees only anonymously
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
    enough_evidence: bool
    # The observations page's parameters for exactly this figure's evidence (own locations only).
    evidence_params: dict[str, str] = field(default_factory=dict)

    @property
    def funnel_position(self) -> str:
        """Where the location lies on the funnel plot, in words."""
        if not self.enough_evidence:
            return f"{TOO_LITTLE_EVIDENCE} (n = {self.observations:,}, fewer than {settings.MIN_EVIDENCE:,})"
        if self.point.above998:
            return "above the 99.8% limit"
        if self.point.below998:
            return "below the 99.8% limit"
        if self.point.above95:
            return "within the 99.8% limits (above the 95% line: watch)"
        if self.point.below95:
            return "within the 99.8% limits (below the 95% line: watch)"
        return "within the limits"

    @property
    def rate_digits(self) -> int:
        return decisive_digits(self.pass_rate, [self.target_rate])

    @property
    def rate_text(self) -> str:
        """The pass rate at the precision that tells it from the target: '89.6%'."""
        return percent_at(self.pass_rate, self.rate_digits)

    @property
    def target_text(self) -> str:
        return percent_at(self.target_rate, self.rate_digits, trim=True)

    @property
    def interval_text(self) -> str:
        return range_at(self.pass_rate_low, self.pass_rate_high, self.rate_digits)

    @property
    def limit_digits(self) -> int:
        """Decimals telling the rate from the 99.8 % limits (at least one: limits are fractional)."""
        return decisive_digits(self.pass_rate, [self.point.low998, self.point.high998], least=1)

    @property
    def funnel_rate_text(self) -> str:
        return percent_at(self.pass_rate, self.limit_digits)

    @property
    def limits998_text(self) -> str:
        return range_at(self.point.low998, self.point.high998, self.limit_digits)

    @property
    def limits95_text(self) -> str:
        return range_at(self.point.low95, self.point.high95, self.limit_digits)

    @property
    def qr_code(self) -> str:
        """The location code of its printable QR feedback sheet, for an active location of the user's."""
        return self.location.code if self.location is not None and self.location.active else ""


def _join(words: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _who(rows: Sequence[LeagueRow]) -> str:
    """The locations of `rows` in words: named where the user may see the name, counted otherwise."""
    named = [row.label for row in rows if row.mine]
    others = len(rows) - len(named)
    if others:
        named.append("one other location" if others == 1 else f"{others} other locations")
    return _join(named)


@dataclass(frozen=True)
class League:
    """Locations ordered by need: ranked by the lower bound of their Wilson interval (the lowest
    first), those with too little evidence last; with a funnel plot of them all."""

    rows: list[LeagueRow]  # every location with observations; anonymised where not the user's
    overall_rate: float | None  # the funnel's centre: the pooled rate over all locations
    overall_n: int
    spread: stats.SpreadResult
    funnel_chart: dict | None
    min_evidence: int = 20
    evidence_params: dict[str, str] = field(default_factory=dict)  # the period (and standard) alone

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def interval_method(self) -> str:
        return INTERVAL_METHOD

    @property
    def ranked(self) -> list[LeagueRow]:
        return [row for row in self.rows if row.enough_evidence]

    @property
    def ranked_total(self) -> int:
        return len(self.ranked)

    @property
    def too_little(self) -> list[LeagueRow]:
        return [row for row in self.rows if not row.enough_evidence]

    @property
    def mine(self) -> list[LeagueRow]:
        return [row for row in self.rows if row.mine]

    @property
    def strongest(self) -> LeagueRow | None:
        """The highest lower bound among the locations with enough evidence (None if fewer than two)."""
        ranked = self.ranked
        return ranked[-1] if len(ranked) > 1 else None

    @property
    def weakest(self) -> LeagueRow | None:
        ranked = self.ranked
        return ranked[0] if len(ranked) > 1 else None

    @property
    def peaks(self) -> list[LeagueRow]:
        return [row for row in self.ranked if row.point.above998]

    @property
    def valleys(self) -> list[LeagueRow]:
        return [row for row in self.ranked if row.point.below998]

    @property
    def limit_sentences(self) -> list[str]:
        """What lies beyond the 99.8 % limits, in whole sentences, for every case: nothing to judge,
        nothing beyond, locations above and/or below (named, or counted when anonymous)."""
        if not self.ranked:
            return [
                f"No location has the {self.min_evidence:,} observations needed to judge it against "
                "the limits."
            ]
        sentences = []
        if self.peaks:
            sentences.append(f"Above the 99.8% limit, better than chance alone explains: {_who(self.peaks)}.")
        if self.valleys:
            sentences.append(
                f"Below the 99.8% limit, worse than chance alone explains: {_who(self.valleys)}."
            )
        if not sentences:
            judged = self.ranked_total
            sentences.append(
                f"No location lies beyond the 99.8% limits: the differences between the {judged:,} "
                f"location{'s' if judged != 1 else ''} with enough evidence are within what chance alone "
                "produces."
                if judged > 1
                else "The one location with enough evidence lies within the 99.8% limits."
            )
        return sentences

    @property
    def too_little_sentence(self) -> str:
        """Why some locations are unranked, or '' when every location has enough evidence."""
        count = len(self.too_little)
        if not count:
            return ""
        lead = "One location has" if count == 1 else f"{count:,} locations have"
        return (
            f"{lead} fewer than {self.min_evidence:,} observations: listed last, unranked, with "
            f"{TOO_LITTLE_EVIDENCE} to call {'it' if count == 1 else 'them'} strong or weak."
        )

    def standing(self, row: LeagueRow) -> str:
        """One of the user's locations in the league, in a sentence."""
        if not row.enough_evidence:
            return (
                f"{row.label} has {TOO_LITTLE_EVIDENCE} to rank: {row.observations:,} observation"
                f"{'s' if row.observations != 1 else ''}, {self.min_evidence:,} needed."
            )
        if self.ranked_total == 1:
            return f"{row.label} is the only location with enough evidence to rank."
        return (
            f"{row.label} ranks {row.rank} of {self.ranked_total} by need "
            f"(1 = the lowest lower bound of the {INTERVAL_METHOD}); on the funnel: {row.funnel_position}."
        )

    @property
    def standings(self) -> list[str]:
        return [self.standing(row) for row in self.mine]


# --------------------------------------------------------------------------- the funnel's axes


# Points along the funnel's limit curves, spaced evenly on a log scale of n.
FUNNEL_CURVE_POINTS = 60
# The x axis runs a little (this share of the data's span) beyond the smallest and largest n.
AXIS_MARGIN = 0.05
# When the smallest n is this close to 0 (as a share of the largest), the axis starts at 0.
AXIS_FROM_ZERO = 0.25


def funnel_axis(ns: Sequence[int]) -> tuple[int, int]:
    """The x axis (observations) that fits the points: from 0, or a little below the smallest n when
    that is far from 0, to a little above the largest n."""
    low, high = min(ns), max(ns)
    margin = max(1, math.ceil(AXIS_MARGIN * ((high - low) or high)))
    start = low - margin
    if start <= AXIS_FROM_ZERO * high:
        start = 0
    return start, high + margin


def _funnel_curve(centre: float, start: int, end: int) -> dict:
    first = max(1, start)
    ratio = end / first
    ns = sorted(
        {round(first * ratio ** (i / (FUNNEL_CURVE_POINTS - 1))) for i in range(FUNNEL_CURVE_POINTS)} | {end}
    )
    curve = {"n": ns, "low95": [], "high95": [], "low998": [], "high998": []}
    for n in ns:
        low95, high95 = stats.funnel_limits(centre, n, 0.95)
        low998, high998 = stats.funnel_limits(centre, n, 0.998)
        curve["low95"].append(low95)
        curve["high95"].append(high95)
        curve["low998"].append(low998)
        curve["high998"].append(high998)
    return curve


# --------------------------------------------------------------------------- reading the league


def location_league(*, user, selection: Selection, locations: Iterable[Location] | None = None) -> League:
    """The selection's period's locations (for its standard, if any), ordered by need, on a funnel
    plot around the pooled rate of all locations.

    The period is the selection's: the rolling one (scorecards summed from day scorecards) or a
    calendar period, read by `period_scorecards`. Locations with at least settings.MIN_EVIDENCE
    observations are ranked by the lower bound of their 95 % Wilson interval, lowest first (then
    the larger n first, then id); the others follow, unranked. Every location counts towards the
    pooled rate, the limits and the spread; for a manager, the locations they do not manage are
    returned anonymised (label "Other location", no Location object, no link). `locations` are the
    user's locations if already loaded (`DashboardChoices.locations`). Queries: one, plus one if
    `locations` is not given.
    """
    min_evidence = settings.MIN_EVIDENCE
    standard = selection.standard
    period_params = selection.period_params()
    if standard:
        period_params["standard"] = str(standard.pk)
    if not selection.has_period:
        return League([], None, 0, stats.spread([]), None, min_evidence, period_params)
    if locations is None:
        locations = dashboard_locations(user)
    visible = {location.pk: location for location in locations}
    # Deliberately unscoped: other locations contribute anonymously (see the package docstring);
    # their names are never loaded, only their ids and numbers.
    scorecards = Scorecard.objects.filter(grain=Grain.LOCATION_STANDARD if standard else Grain.LOCATION)
    if standard:
        scorecards = scorecards.filter(standard=standard)
    cards = [card for card in period_scorecards(scorecards, selection) if card.observations]

    def need(card: Scorecard) -> tuple:
        enough = card.observations >= min_evidence
        return (not enough, card.pass_rate_low or 0.0, -card.observations, card.location_id)

    cards.sort(key=need)
    points = stats.funnel_points([(str(card.location_id), card.passed, card.observations) for card in cards])
    league_rows = []
    rank = 0
    for card, point in zip(cards, points, strict=True):
        location = visible.get(card.location_id)
        enough = card.observations >= min_evidence
        rank += enough
        league_rows.append(
            LeagueRow(
                rank=rank if enough else None,
                location=location,
                label=location.name if location else OTHER_LOCATION,
                mine=location is not None,
                observations=card.observations,
                passed=card.passed,
                pass_rate=card.pass_rate,
                pass_rate_low=card.pass_rate_low,
                pass_rate_high=card.pass_rate_high,
                target_rate=card.target_rate,
                target_met=card.target_met,
                point=point,
                enough_evidence=enough,
                evidence_params={**period_params, "location": str(location.pk)} if location else {},
            )
        )
    overall_n = sum(row.observations for row in league_rows)
    overall = sum(row.passed for row in league_rows) / overall_n if overall_n else None
    funnel_chart = None
    if overall is not None:
        x_min, x_max = funnel_axis([row.observations for row in league_rows])
        funnel_chart = {
            "centre": overall,
            "x_min": x_min,
            "x_max": x_max,
            # Points with fewer observations are drawn hollow: too little evidence to judge.
            "min_evidence": min_evidence,
            "points": [
                {"n": row.observations, "rate": row.pass_rate, "label": row.label, "mine": row.mine}
                for row in league_rows
            ],
            "limits": _funnel_curve(overall, x_min, x_max),
        }
    return League(
        rows=league_rows,
        overall_rate=overall,
        overall_n=overall_n,
        spread=stats.spread(row.pass_rate for row in league_rows),
        funnel_chart=funnel_chart,
        min_evidence=min_evidence,
        evidence_params=period_params,
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
    """Rows for `LEAGUE_CSV_HEADER`: every location for admins, the user's own otherwise. Rank and
    "of" are by need among the locations with enough evidence (empty rank: too little evidence)."""
    for row in league.rows if admin else league.mine:
        yield (
            row.rank or "",
            league.ranked_total,
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
