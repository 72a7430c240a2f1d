"""Reads for the measurement dashboard: scorecards, trends, the location × standard heatmap, the
consistency league and funnel plot, and the observations behind a figure.

The scorecard and consistency pages read `Scorecard` rows only (the rollup's output) and never
aggregate observations, so their number of queries does not depend on how much evidence there is.
The drill-down pages read observations a page at a time.

Who sees which scorecards (decided in this package, for every dashboard page and export)
----------------------------------------------------------------------------------------
- Admins: all of them.
- Managers:
  * the rows of the locations they manage (location and location × standard grains), of the teams
    at those locations or that they manage, and of the employees who work at those locations (and
    their own). `scope_filter` covers the location rows; team and employee rows carry no location
    (the rollup groups them by team or employee only), so they are added here through the team's
    and the employee's *current* location — an employee who moved shows under their new location.
  * organisation-wide rows (org, standard and touchpoint grains) as **benchmarks**: they aggregate
    every location and name none, so they are shown as context ("Organisation: 86% (n = 1,200)"),
    never mixed into the manager's own figures and never linked to a drill-down.
  * never another location's row. On the consistency page the other locations appear in the funnel
    plot as anonymous "Other location" points (rate and sample size only: no name, id or link), so
    a manager sees where their locations sit in the spread between locations; the league table
    lists only their own locations, with their rank among all.
- Staff and anonymous users: none (the pages refuse them before any read).

Modules: `common` (who sees what, periods), `scorecards` (filters, selection, headline figures, the
scorecard table), `charts` (heatmap, SPC trends), `consistency` (league and funnel plot), `evidence`
(drill-down to observations and evaluations). Import from the package: ``from measurement import
selectors`` or ``from measurement.selectors import period_label``.

Units follow the rollup (`measurement.services.rollup`): pass rates and their Wilson bounds are
proportions 0–1, CSAT a percentage 0–100, NPS −100…100.
"""

from .charts import (
    WESTERN_ELECTRIC_RULES,
    ChartRow,
    Heatmap,
    Trend,
    TrendPoint,
    heat_status,
    heatmap,
    last_complete_period,
    trend,
    trend_periods,
)
from .common import (
    BENCHMARK_GRAINS,
    DASHBOARD_PERIOD_KINDS,
    DEFAULT_PERIOD_KIND,
    OTHER_LOCATION,
    TABLE_GRAINS,
    TREND_PERIODS,
    benchmark_scorecards,
    dashboard_locations,
    dashboard_teams,
    dashboard_today,
    is_admin,
    period_bounds,
    period_label,
    previous_periods,
    scorecards_for,
)
from .consistency import LEAGUE_CSV_HEADER, League, LeagueRow, league_csv_rows, location_league
from .evidence import (
    OBSERVATION_CSV_HEADER,
    ObservationFilter,
    evaluation_for,
    evaluation_items,
    observation_counts,
    observation_csv_rows,
    observation_filter_from,
    observations_behind,
)
from .personal import MyScorecard, StandardTally, my_rolling_figures, my_scorecard  # noqa: F401
from .rolling import ROLLING, RollingPeriod, rolling_scorecards
from .scorecards import (
    SCORECARD_CSV_HEADER,
    DashboardChoices,
    Figures,
    Headline,
    Selection,
    dashboard_choices,
    has_enough_evidence,
    headline,
    load_subjects,
    need_key,
    period_kind_from,
    period_scorecards,
    rolling_rows,
    scorecard_csv_rows,
    scorecard_drilldown_params,
    scorecard_subject,
    scorecard_table,
    selection_from,
    table_orders_heatmap,
    team_options,
)

__all__ = [
    "BENCHMARK_GRAINS",
    "DASHBOARD_PERIOD_KINDS",
    "DEFAULT_PERIOD_KIND",
    "LEAGUE_CSV_HEADER",
    "OBSERVATION_CSV_HEADER",
    "OTHER_LOCATION",
    "ROLLING",
    "SCORECARD_CSV_HEADER",
    "TABLE_GRAINS",
    "TREND_PERIODS",
    "WESTERN_ELECTRIC_RULES",
    "ChartRow",
    "DashboardChoices",
    "Figures",
    "Headline",
    "Heatmap",
    "League",
    "LeagueRow",
    "ObservationFilter",
    "RollingPeriod",
    "Selection",
    "Trend",
    "TrendPoint",
    "benchmark_scorecards",
    "dashboard_choices",
    "dashboard_locations",
    "dashboard_teams",
    "dashboard_today",
    "evaluation_for",
    "evaluation_items",
    "has_enough_evidence",
    "headline",
    "heat_status",
    "heatmap",
    "is_admin",
    "last_complete_period",
    "league_csv_rows",
    "load_subjects",
    "location_league",
    "need_key",
    "observation_counts",
    "observation_csv_rows",
    "observation_filter_from",
    "observations_behind",
    "period_bounds",
    "period_kind_from",
    "period_label",
    "period_scorecards",
    "previous_periods",
    "rolling_rows",
    "rolling_scorecards",
    "scorecard_csv_rows",
    "scorecard_drilldown_params",
    "scorecard_subject",
    "scorecard_table",
    "scorecards_for",
    "selection_from",
    "table_orders_heatmap",
    "team_options",
    "trend",
    "trend_periods",
]
