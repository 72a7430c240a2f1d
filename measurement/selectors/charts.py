"""The scorecards page's charts: the location × standard heatmap and the SPC trend charts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.urls import reverse

from organization.models import Location
from standards.models import Standard

from .. import stats
from ..models import Grain, PeriodKind, Scorecard
from ..services.rollup import period_start

# dashboard_today is read through its module, so that tests can stand the clock elsewhere.
from . import common
from .common import (
    TREND_PERIODS,
    benchmark_scorecards,
    location_rows_for,
    period_label,
    previous_periods,
    scorecards_for,
)
from .scorecards import (
    Figures,
    RankedRollingTable,
    Selection,
    feedback_rows_filter,
    load_subjects,
    need_key,
    pass_rows_filter,
    period_scorecards,
    scorecard_drilldown_params,
)

# --------------------------------------------------------------------------- heatmap


def heat_status(row: Scorecard | None) -> str:
    """How a pass rate stands against its target: met, near (below, but the target lies within the
    95 % interval, so the shortfall may be chance), below, or none (no observations)."""
    if row is None or row.pass_rate is None:
        return "none"
    if row.target_rate is None:
        return "untargeted"
    if row.target_met:
        return "met"
    if row.pass_rate_high is not None and row.pass_rate_high >= row.target_rate:
        return "near"
    return "below"


# Locations (rows) per page of the heatmap: 500 locations × 60 standards on one page made 8 MB,
# 25 of them 400 KB; ten, the most in need first, are what a manager acts on.
HEATMAP_LOCATIONS_PER_PAGE = 10


@dataclass(frozen=True)
class Heatmap:
    standards: list[Standard]
    rows: list[tuple[Location, list[Scorecard | None]]]  # one cell per standard
    benchmark: list[Scorecard | None]  # the organisation-wide row per standard
    page: Page | None = None  # the page of locations shown
    # Each row's own figures (the location's, or its cell when one standard is chosen): the order.
    row_figures: list[Scorecard] = field(default_factory=list)


def heatmap(
    user, selection: Selection, *, page_number=None, located: list[Scorecard] | None = None
) -> Heatmap:
    """Location × standard pass rates for the period in the user's scope, one page of locations at a
    time (every page has the same columns), with the organisation-wide rate per standard as the
    last row. Locations are ordered by need (`need_key` on the location's own scorecard, or on its
    cell of the chosen standard), so the page that opens first holds those most surely below.
    The columns are the standards measured in the organisation in the period (those with an
    organisation-wide standard scorecard), so a standard not measured at a location shows there as
    an empty cell beside the organisation's figure. Rolling and calendar periods alike. Queries:
    four (locations with their figures, benchmark, the standards, the page's cells); three when a
    standard is chosen; three when `located` gives the rows that order the locations (the
    scorecards page's table of locations holds exactly them for a rolling period)."""
    mine = location_rows_for(user)
    cells = mine.filter(grain=Grain.LOCATION_STANDARD)
    bench = benchmark_scorecards().filter(grain=Grain.STANDARD)
    order_rows = mine.filter(grain=Grain.LOCATION)
    if selection.location:
        cells = cells.filter(location=selection.location)
        order_rows = order_rows.filter(location=selection.location)
    if selection.standard:
        cells = cells.filter(standard=selection.standard)
        bench = bench.filter(standard=selection.standard)
        order_rows = cells
    if located is None and selection.rolling and not selection.standard:
        located = RankedRollingTable.of(order_rows, selection.rolling, Grain.LOCATION)
    elif located is None and selection.rolling:
        located = period_scorecards(order_rows, selection)
        load_subjects(located)
    elif located is None:
        located = period_scorecards(order_rows.select_related("location", "standard"), selection)
    # A location appears once it has a cell: its location row may hold customer feedback only.
    if isinstance(located, RankedRollingTable):
        located = located.with_observations()  # ranked already; scorecards built for the page only
    else:
        located = sorted((row for row in located if row.observations), key=need_key)
    page = Paginator(located, HEATMAP_LOCATIONS_PER_PAGE).get_page(page_number)
    shown = list(page.object_list)
    if not shown:
        return Heatmap(standards=[], rows=[], benchmark=[], page=page)
    bench_by_standard = {row.standard_id: row for row in period_scorecards(bench, selection)}
    if selection.standard:
        # The rows shown are that standard's cells of the period: it is the only column.
        standards = [selection.standard]
    else:
        # The organisation's row per standard says which were measured: 60 rows a period, where
        # the distinct standards of the cells read every cell of the period (80,000 a month).
        measured = [pk for pk, row in bench_by_standard.items() if row.observations]
        standards = list(Standard.objects.filter(pk__in=measured).order_by("code"))
    page_cells = period_scorecards(cells.filter(location__in=[row.location_id for row in shown]), selection)
    by_key = {(cell.location_id, cell.standard_id): cell for cell in page_cells}
    # Each cell links to its observations: the page's path resolved once for the page's cells.
    observations = reverse("measurement:observations")
    for cell in page_cells:
        cell.evidence_url = f"{observations}?{urlencode(scorecard_drilldown_params(cell))}"
    return Heatmap(
        standards=standards,
        rows=[(row.location, [by_key.get((row.location_id, s.pk)) for s in standards]) for row in shown],
        benchmark=[bench_by_standard.get(s.pk) for s in standards],
        page=page,
        row_figures=shown,
    )


# --------------------------------------------------------------------------- trends (SPC)


@dataclass(frozen=True)
class TrendPoint:
    period_start: date
    label: str
    figures: Figures


# The Western Electric rules as `stats.western_electric_flags` numbers them.
WESTERN_ELECTRIC_RULES = {
    1: "beyond 3σ",
    2: "2 of 3 beyond 2σ",
    3: "4 of 5 beyond 1σ",
    4: "8 in a row on one side",
}


@dataclass(frozen=True)
class ChartRow:
    """One period of a control chart, for the table that accompanies it (screen readers, no JS)."""

    label: str
    value: float
    n: int
    lcl: float
    ucl: float
    rules: list[str]
    evidence: dict[str, str] | None = None  # the observations page's parameters for this point


def _chart_rows(chart: dict | None, values_key: str, evidence: list[dict] | None = None) -> list[ChartRow]:
    if chart is None:
        return []
    rows = []
    for i, label in enumerate(chart["labels"]):
        lcl, ucl = chart["lcl"], chart["ucl"]
        rows.append(
            ChartRow(
                label=label,
                value=chart[values_key][i],
                n=chart["n"][i],
                lcl=lcl[i] if isinstance(lcl, list) else lcl,
                ucl=ucl[i] if isinstance(ucl, list) else ucl,
                rules=[WESTERN_ELECTRIC_RULES[rule] for rule in chart["flags"][i]],
                evidence=evidence[i] if evidence else None,
            )
        )
    return rows


@dataclass(frozen=True)
class Trend:
    """Chart data for the selection over the last `TREND_PERIODS` complete periods, JSON-ready."""

    pass_chart: dict | None  # p-chart (stats.p_chart), None without observations
    csat_chart: dict | None  # XmR (stats.xmr_limits), None with fewer than two periods of answers
    nps_chart: dict | None
    points: list[TrendPoint] = field(default_factory=list)
    period_kind: str = PeriodKind.MONTH
    # The running period the chart leaves out ("Dec 2026"): a few days of it would read as a plunge.
    left_out: str = ""
    # Per pass-rate point, the observations page's parameters (None where the reader cannot open it).
    pass_evidence: list[dict] | None = None

    @property
    def pass_rows(self) -> list[ChartRow]:
        return _chart_rows(self.pass_chart, "rates", self.pass_evidence)

    @property
    def csat_rows(self) -> list[ChartRow]:
        return _chart_rows(self.csat_chart, "values")

    @property
    def nps_rows(self) -> list[ChartRow]:
        return _chart_rows(self.nps_chart, "values")


def _period_figures(label: str, rows: Iterable[Scorecard]) -> dict[date, Figures]:
    grouped: dict[date, list[Scorecard]] = defaultdict(list)
    for row in rows:
        grouped[row.period_start].append(row)
    return {start: Figures.of(label, group) for start, group in grouped.items()}


def _xmr_chart(labels: list[str], values: list[float], ns: list[int], *, unit: str) -> dict | None:
    if len(values) < 2:
        return None
    xmr = stats.xmr_limits(values)
    return {
        "unit": unit,
        "labels": labels,
        "values": xmr.values,
        "n": ns,
        "centre": xmr.centre,
        "ucl": xmr.ucl,
        "lcl": xmr.lcl,
        "flags": xmr.flags,
        "rules": WESTERN_ELECTRIC_RULES,
    }


def p_chart_data(points: list[TrendPoint]) -> dict | None:
    """The pass rates of `points` as a p-chart (`stats.p_chart`: per-period 3σ limits, Western
    Electric flags), JSON-ready for static/js/dashboard.js, with the latest point's target; None
    without points. No queries."""
    if not points:
        return None
    chart = stats.p_chart([(point.figures.passed, point.figures.observations) for point in points])
    return {
        "unit": "proportion",
        "labels": [point.label for point in points],
        "rates": chart.rates,
        "n": [point.figures.observations for point in points],
        "centre": chart.centre,
        "ucl": chart.ucls,
        "lcl": chart.lcls,
        "flags": chart.flags,
        "rules": WESTERN_ELECTRIC_RULES,
        "target": points[-1].figures.target_rate,
    }


# Next to the rolling 30 days the trend shows complete months: a month holds about as many days of
# evidence as the headline figure, so each point reads against it at the same noise level, and
# twelve of them cover a year (seasons) where twelve weeks would cover one quarter, one noisier
# point at a time.
ROLLING_TREND_KIND = PeriodKind.MONTH
PERIOD_PARAMS = ("period_kind", "period_start", "from", "to")


def last_complete_period(kind: str, today: date) -> date:
    """The start of the latest period of `kind` that ended before `today` (today's evidence is still
    arriving, so the period holding today is partial even on its last day)."""
    return period_start(kind, period_start(kind, today) - timedelta(days=1))


def trend_periods(selection: Selection) -> tuple[str, list[date], str]:
    """The period kind of the trend, the starts of its `TREND_PERIODS` complete periods (oldest
    first), and the label of the running period left out ("" when none is)."""
    today = selection.today or common.dashboard_today()
    if selection.rolling:
        kind = ROLLING_TREND_KIND
        last = last_complete_period(kind, today)
        left_out = period_label(kind, period_start(kind, today))
    else:
        kind = selection.period_kind
        last, left_out = selection.period_start, ""
        if selection.is_partial:
            last = last_complete_period(kind, today)
            left_out = period_label(kind, selection.period_start)
    return kind, previous_periods(kind, last, TREND_PERIODS), left_out


def trend(user, selection: Selection) -> Trend:
    """The selection's pass rate as a p-chart (per-period 3σ limits, Western Electric flags) and its
    location's (or the organisation's) CSAT and NPS as XmR charts, over the last complete periods
    (`trend_periods`: months for the rolling period, else the chosen kind up to the chosen period).
    A running period is left out, so its first days never show as a plunge. Periods without data
    are left out of a chart. Queries: two."""
    kind, starts, left_out = trend_periods(selection)
    window = Q(period_kind=kind, period_start__in=starts)
    mine = scorecards_for(user).filter(window)
    passing = _period_figures(selection.label, mine.filter(pass_rows_filter(selection)))
    feedback = _period_figures(selection.label, mine.filter(feedback_rows_filter(selection)))
    points = [
        TrendPoint(start, period_label(kind, start), passing[start])
        for start in starts
        if start in passing and passing[start].observations
    ]
    pass_chart = p_chart_data(points)
    # Each point opens the observations of its own period, with the selection's other filters.
    scope = {key: value for key, value in selection.drilldown_params().items() if key not in PERIOD_PARAMS}
    pass_evidence = [
        {"period_kind": kind, "period_start": point.period_start.isoformat(), **scope} for point in points
    ]
    csat_points = [
        (start, feedback[start]) for start in starts if start in feedback and feedback[start].csat_n
    ]
    nps_points = [(start, feedback[start]) for start in starts if start in feedback and feedback[start].nps_n]
    return Trend(
        pass_chart=pass_chart,
        csat_chart=_xmr_chart(
            [period_label(kind, start) for start, _ in csat_points],
            [figures.csat for _, figures in csat_points],
            [figures.csat_n for _, figures in csat_points],
            unit="percent",
        ),
        nps_chart=_xmr_chart(
            [period_label(kind, start) for start, _ in nps_points],
            [figures.nps for _, figures in nps_points],
            [figures.nps_n for _, figures in nps_points],
            unit="score",
        ),
        points=points,
        period_kind=kind,
        left_out=left_out,
        pass_evidence=pass_evidence,
    )
