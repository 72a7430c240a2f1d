"""The PostgreSQL path (production).

Two ways to compute the same scorecards
---------------------------------------
On PostgreSQL (production) a run is one SQL statement, `_synchronise_sql` for a full run and
`_day_deltas_sql` for an incremental one, built by small functions below. A rollup makes about
eight scorecards per observation (seven grains, four period kinds), so what costs is the traffic
per scorecard: the portable path sends every aggregated row to Python and every changed scorecard
back, and reads every stored one to compare. The statement keeps all of that inside the server:

- one scan of the observations of the days concerned (every day on a full run), grouped by local
  day with every grain a grouping set (``GROUP BY day, GROUPING SETS ((), (location_id), …)``):
  ``GROUPING()`` names the grain of a row, ``HAVING`` drops the rows without a team, employee or
  touchpoint from those grains, and the ids that corrections supersede are left out; feedback
  likewise. The sums are exact whole numbers (and an exact numeric for values), so they add up:
- a full run sums the day rows into every week and month (``date_trunc`` of the day), and the
  months into quarters,
  joins them to the stored scorecards by their key (one hash join, not a probe per row), and
  writes what differs; an incremental run synchronises the day scorecards of its days the same
  way, then adds each changed day's difference to the stored sums of its week, month and quarter
  (see `_day_deltas_sql` for why this is exact);
- runs compare the additive sums (`ADDITIVE_COLUMNS`): every other column is a statistic of them,
  computed in SQL for the scorecards written only, doing the arithmetic of `measurement.stats`
  operation for operation in IEEE doubles (Wilson and NPS intervals, CSAT), and means and targets
  from exact whole-number sums divided as ``numeric``, as Django's ``Avg`` does: every float equals
  the portable path's to the last bit (a test checks it), so switching paths rewrites nothing;
- new scorecards are inserted and changed ones updated by id (HOT updates: the table keeps free
  space on its pages, migration 0012); stale ones come back as ids and are deleted through the
  ORM, which also removes the consequences' links to them;
- planner settings for the run's transaction only: ``work_mem`` for the hash tables, hash rather
  than merge joins, no JIT (compiling this statement costs seconds).
A run costs about ten queries whatever it touches (and one DELETE per ``BATCH_SIZE`` stale
scorecards), the listing of rows left out included (one INSERT, a DELETE on full runs, a count
when there are any); a run with nothing new skips the statement.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connection

from measurement import stats
from measurement.models import Feedback, Observation, PeriodKind, Scorecard
from standards.models import Standard

from .evidence import CountableWindow
from .periods import periods_containing, window_ranges
from .scorecards import (
    GRAINS,
    PERIOD_KINDS,
    TARGET_TOLERANCE,
    UNIQUE_FIELDS,
    VALUE_COLUMNS,
    GrainSpec,
    Outcome,
    Writes,
)

# The columns an observation grain may group by, in grain_key order, and those of feedback. In a
# GROUPING SETS aggregate, GROUPING() over them is a bit mask (1 = not grouped) naming the grain.
OBSERVATION_GRAIN_COLUMNS = ("location_id", "team_id", "employee_id", "standard_id", "touchpoint_id")
FEEDBACK_GRAIN_COLUMNS = ("location_id", "touchpoint_id")
KEY_COLUMNS = [*UNIQUE_FIELDS, *OBSERVATION_GRAIN_COLUMNS]
# Planner settings for the run's transaction only (set_config(..., is_local => true)): memory for the
# hash tables of the aggregates and joins, which the default 4 MB would spill to disk; hash joins
# rather than sorting hundreds of thousands of wide rows for a merge join; and no JIT, whose
# compilation of this long statement costs more (seconds) than it saves.
PLANNER_SETTINGS = {"work_mem": "1GB", "enable_mergejoin": "off", "jit": "off"}


class Params:
    """Named query parameters, so that SQL built in pieces cannot pass them in the wrong order."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"


def recompute_in_postgresql(
    days: set[date] | None, tz: ZoneInfo, now: datetime, window: CountableWindow
) -> Outcome:
    """Bring the periods containing `days` (None: every period) up to date for every grain, in one
    SQL statement; see the module docstring.

    A full run (None) recomputes every period from the evidence (`_synchronise_sql`). An incremental
    run recomputes exactly the day scorecards of `days` and adds the difference each changed day
    scorecard made to its week, month and quarter (`_day_deltas_sql`).
    Queries: the planner settings, the statement, and the ORM's DELETEs of the scorecards whose period
    or grain lost its evidence (rare: corrections; the ORM also removes the consequences' links to them).
    """
    outcome = Outcome()
    params = Params()
    if days is None:
        sql = _synchronise_sql(tz, now, window, params)
    else:
        outcome.periods = {
            (kind, start) for kind, starts in periods_containing(days).items() for start in starts
        }
        if not days:
            return outcome
        sql = _day_deltas_sql(days, tz, now, window, params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(PLANNER_SETTINGS)),
            [item for setting in PLANNER_SETTINGS.items() for item in setting],
        )
        cursor.execute(sql, params.values)
        written, unchanged, stale, kinds, starts = cursor.fetchone()
    writes = Writes()
    writes.delete(stale)
    writes.flush()
    outcome.written, outcome.unchanged, outcome.deleted = written, unchanged, len(stale)
    outcome.periods |= set(zip(kinds, starts, strict=True))
    return outcome


# The columns of a scorecard that add up: a week, month or quarter holds the sums of its days'.
# Every other column is a statistic computed from them by one expression (`_statistics_sql`), so
# a scorecard whose sums are right is right, and runs compare sums only.
ADDITIVE_COLUMNS = (
    "observations",
    "passed",
    "deviations",
    "target_cents",
    "value_sum",
    "values_n",
    "feedback_count",
    "csat_n",
    "satisfied",
    "nps_n",
    "promoters",
    "detractors",
)


def _synchronise_sql(tz: ZoneInfo, now: datetime, window: CountableWindow, params: Params) -> str:
    """A full run in one statement: the sums of every period and grain from the evidence, compared
    with the stored ones (a join, not a probe per row); statistics computed for the new and changed
    scorecards only, which are inserted or updated. Returns (written, unchanged, ids of the stale
    scorecards, the periods recomputed as two arrays)."""
    computed = " UNION ALL ".join(
        _kind_sums_sql(kind, params, *OBSERVATIONS_SUMMED_FROM[kind]) for kind in PERIOD_KINDS
    )
    month_keys = ", ".join(["grain", "grain_key", *OBSERVATION_GRAIN_COLUMNS])
    month_sums = ", ".join(OBSERVATION_SUMS)
    table = Scorecard._meta.db_table
    # The computed sums are read once, by the join: streamed into it, not stored (millions of rows).
    # So the periods come from the org day rows (every day with evidence has one), and the count of
    # unchanged scorecards from the stored ones: stored − stale − updated.
    return f"""
        WITH observation_days AS MATERIALIZED ({_observation_days_sql(None, tz, window, params)}),
        answer_days AS MATERIALIZED ({_feedback_days_sql(None, tz, window, params)}),
        observation_months AS MATERIALIZED (
            SELECT period_start AS day, {month_keys}, {month_sums}
            FROM ({_period_sums_sql("observation_days", OBSERVATION_SUMS, OBSERVATION_GRAIN_COLUMNS, PeriodKind.MONTH)}) m
        ),
        changes AS MATERIALIZED ({_changes_sql(f"({computed})", "TRUE")}),
        {_writes_sql("changes", "written", now, params)},
        periods AS (
            SELECT DISTINCT kind, date_trunc(kind, day::timestamp)::date AS period_start
            FROM (
                SELECT day FROM observation_days WHERE grain = 'org'
                UNION SELECT day FROM answer_days WHERE grain = 'org'
            ) days CROSS JOIN unnest({params(list(PERIOD_KINDS))}::text[]) AS kinds (kind)
            UNION SELECT stored_period_kind, stored_period_start FROM changes WHERE grain IS NULL
        )
        SELECT (SELECT count(*) FROM written_inserted) + (SELECT count(*) FROM written_updated),
            (SELECT count(*) FROM {table}) - (SELECT count(*) FROM changes WHERE grain IS NULL)
                - (SELECT count(*) FROM written_updated),
            ARRAY(SELECT stored_id FROM changes WHERE grain IS NULL),
            ARRAY(SELECT kind FROM periods), ARRAY(SELECT period_start FROM periods)
    """


def _day_deltas_sql(
    days: set[date], tz: ZoneInfo, now: datetime, window: CountableWindow, params: Params
) -> str:
    """An incremental run in one statement: the day scorecards of `days` recomputed from the
    evidence and synchronised as a full run does, then each changed day's difference (its new sums
    less its stored sums) added to the stored sums of its week, month and quarter, whose statistics
    are recomputed from the new sums by the same expressions. Returns what `_synchronise_sql`
    returns, the periods as empty arrays (the caller knows them).

    Exact, not approximate: the days are recomputed whole from one snapshot, and a coarser
    scorecard always holds the sums of its stored days (every run keeps it so, under the rollup
    lock), so adding the days' differences gives what recomputing the period would. A coarser
    scorecard left with no evidence is stale (deleted); one that no changed day belongs to is not
    read at all: the run costs what the changed days cost, not what their periods hold.
    """
    table = Scorecard._meta.db_table
    stored_days = f"period_kind = {_text(PeriodKind.DAY)} AND period_start = ANY({params(sorted(days))})"
    keys = ("grain", "grain_key", *OBSERVATION_GRAIN_COLUMNS)
    either = ", ".join(f"COALESCE({column}, stored_{column}) AS {column}" for column in keys)
    differences = ", ".join(
        f"sum(COALESCE({column}, 0) - COALESCE(stored_{column}, 0)) AS {column}"
        for column in ADDITIVE_COLUMNS
    )
    unchanged = " AND ".join(
        f"sum(COALESCE({column}, 0) - COALESCE(stored_{column}, 0)) = 0" for column in ADDITIVE_COLUMNS
    )
    added = ", ".join(f"COALESCE(s.{column}, 0) + d.{column} AS {column}" for column in ADDITIVE_COLUMNS)
    coarser = [kind for kind in PERIOD_KINDS if kind != PeriodKind.DAY]
    return f"""
        WITH observation_days AS MATERIALIZED ({_observation_days_sql(days, tz, window, params)}),
        answer_days AS MATERIALIZED ({_feedback_days_sql(days, tz, window, params)}),
        computed AS MATERIALIZED ({_kind_sums_sql(PeriodKind.DAY, params)}),
        changes AS MATERIALIZED ({_changes_sql("computed", stored_days)}),
        {_writes_sql("changes", "days", now, params)},
        -- What the changed days add to (or take from) each coarser period, per grain.
        deltas AS (
            SELECT kind AS period_kind,
                date_trunc(kind, COALESCE(period_start, stored_period_start)::timestamp)::date AS period_start,
                {either}, {differences}
            FROM changes CROSS JOIN unnest({params(coarser)}::text[]) AS kinds (kind)
            GROUP BY {", ".join(str(position) for position in range(1, len(keys) + 3))}
            HAVING NOT ({unchanged})
        ),
        coarse AS MATERIALIZED (
            SELECT d.period_kind, d.period_start, {", ".join(f"d.{column}" for column in keys)},
                s.id AS stored_id, {added}
            -- In key order: each probe of the unique index then lands beside the last one, on
            -- pages already in shared buffers, instead of anywhere in an index larger than them.
            FROM (SELECT * FROM deltas ORDER BY {", ".join(UNIQUE_FIELDS)}) d
            LEFT JOIN {table} s ON {" AND ".join(f"s.{column} = d.{column}" for column in UNIQUE_FIELDS)}
        ),
        {_writes_sql("coarse", "periods", now, params)}
        SELECT (SELECT count(*) FROM days_inserted) + (SELECT count(*) FROM days_updated)
                + (SELECT count(*) FROM periods_inserted) + (SELECT count(*) FROM periods_updated),
            (SELECT count(*) FROM computed) - (SELECT count(*) FROM days_inserted)
                - (SELECT count(*) FROM days_updated),
            ARRAY(
                SELECT stored_id FROM changes WHERE grain IS NULL
                UNION ALL SELECT stored_id FROM coarse
                WHERE stored_id IS NOT NULL AND observations = 0 AND feedback_count = 0
            ),
            ARRAY[]::text[], ARRAY[]::date[]
    """


def _changes_sql(computed: str, stored_filter: str) -> str:
    """The computed sums that differ from the stored scorecards (`stored_filter` picks the stored
    rows to compare): new ones (no stored row), stale ones (no computed row, so a null grain) and
    changed ones, each with the stored row's id, key and sums as ``stored_<column>``."""
    table = Scorecard._meta.db_table
    columns = [*KEY_COLUMNS, *ADDITIVE_COLUMNS]
    stored = ", ".join(f"s.{column} AS stored_{column}" for column in columns)
    return f"""
        SELECT c.*, s.id AS stored_id, {stored}
        FROM {computed} c
        FULL JOIN (SELECT id, {", ".join(columns)} FROM {table} WHERE {stored_filter}) s
            ON {" AND ".join(f"s.{column} = c.{column}" for column in UNIQUE_FIELDS)}
        WHERE s.id IS NULL OR c.grain IS NULL
            OR ({", ".join(f"s.{column}" for column in ADDITIVE_COLUMNS)})
                IS DISTINCT FROM ({", ".join(f"c.{column}" for column in ADDITIVE_COLUMNS)})
    """


def _writes_sql(source: str, name: str, now: datetime, params: Params) -> str:
    """Three CTEs: ``<name>``, the scorecards of `source` (key columns, ``stored_id`` and sums) that
    have evidence, with their statistics; ``<name>_inserted`` and ``<name>_updated``, which write
    them (those with a stored id by that id, the others as new rows)."""
    table = Scorecard._meta.db_table
    new_columns = ", ".join([*KEY_COLUMNS, *VALUE_COLUMNS])
    computed_at = params(now)
    parts = _shared_parts_sql(params, "b")
    computed_parts = ", ".join(f"{expression} AS shared_{part}" for part, expression in parts.items())
    statistics = _statistics_sql(params, "a", {part: f"a.shared_{part}" for part in parts})
    # OFFSET 0 keeps the inner query as it is: flattened, its parts would be inlined into every
    # statistic that reads them, and each computed again (PostgreSQL shares no subexpressions).
    return f"""
        {name} AS MATERIALIZED (
            SELECT {", ".join(f"a.{column}" for column in KEY_COLUMNS)}, a.stored_id, {statistics}
            FROM (
                SELECT b.*, {computed_parts}
                FROM (SELECT *, {_AS_AGGREGATE} FROM {source} WHERE observations > 0 OR feedback_count > 0) b
                OFFSET 0
            ) a
        ),
        {name}_inserted AS (
            INSERT INTO {table} ({new_columns}, computed_at)
            SELECT {new_columns}, {computed_at} FROM {name} WHERE stored_id IS NULL
            -- In key order: the unique index grows at its right edge, and a period's scorecards
            -- share table pages, which the next run that reads the period reads.
            ORDER BY {", ".join(UNIQUE_FIELDS)}
            RETURNING 1
        ),
        {name}_updated AS (
            UPDATE {table} s SET {", ".join(f"{column} = c.{column}" for column in VALUE_COLUMNS)},
                computed_at = {computed_at}
            FROM {name} c
            -- The id list lets PostgreSQL fetch the few rows changed through the primary key; with
            -- the join alone it may hash the whole scorecard table to find them.
            WHERE s.id = ANY(ARRAY(SELECT stored_id FROM {name} WHERE stored_id IS NOT NULL))
                AND s.id = c.stored_id
            RETURNING 1
        )"""


# A scorecard's sums under the names and types its statistics read (those of the day aggregates):
# no observations is null, as for a period with feedback only; the value sum in thousandths.
_AS_AGGREGATE = (
    "NULLIF(observations, 0) AS n, passed AS passed_n, deviations AS deviations_n, "
    "(value_sum * 1000)::bigint::numeric AS value_thousandths, feedback_count AS feedback_n"
)


def _statistics_sql(params: Params, alias: str, parts: dict[str, str]) -> str:
    """Every value column of a scorecard from the aggregate `alias` and its shared `parts`
    (`_shared_parts_sql`, as columns), as ``<expression> AS <column>``."""
    values = {**_observation_values_sql(params, alias, parts), **_feedback_values_sql(params, alias, parts)}
    return ", ".join(f"{expression} AS {column}" for column, expression in values.items())


def _shared_parts_sql(params: Params, a: str) -> dict[str, str]:
    """The subexpressions that several statistics of the aggregate `a` read (the pass rate and
    target in the target test, the Wilson and NPS centres and half-widths in both bounds), by
    name. Null where the statistics are: no observations (n is null), or no NPS answers."""
    n, passed = f"{a}.n", f"{a}.passed_n"
    centre, half = _wilson_parts_sql(passed, n, params)
    difference, nps_half = _nps_parts_sql(f"{a}.promoters", f"{a}.detractors", f"{a}.nps_n", params)
    return {
        "pass_rate": f"({passed}::float8 / {n})",
        "target_rate": f"(({a}.target_cents * 0.01 / {n})::float8 / 100)",
        "wilson_centre": centre,
        "wilson_half": half,
        "nps_difference": f"CASE WHEN {a}.nps_n > 0 THEN {difference} END",
        "nps_half": f"CASE WHEN {a}.nps_n > 0 THEN {nps_half} END",
    }


# Where a full run sums each period kind's observation aggregates from, and the kind they are of:
# a quarter is three months, and its sums from the month rows (a fifth as many as the day rows)
# are the same exact whole numbers, at 0.63 s against 2.19 s at a million observations.
OBSERVATIONS_SUMMED_FROM = {
    PeriodKind.DAY: ("observation_days", PeriodKind.DAY),
    PeriodKind.WEEK: ("observation_days", PeriodKind.DAY),
    PeriodKind.MONTH: ("observation_months", PeriodKind.MONTH),
    PeriodKind.QUARTER: ("observation_months", PeriodKind.MONTH),
}


def _kind_sums_sql(
    kind: str, params: Params, observations: str = "observation_days", of_kind: str = PeriodKind.DAY
) -> str:
    """The sums of one period kind for every day the day aggregates hold (those the run asked
    for), every grain, as the key and additive columns of the scorecard table: observation and
    feedback sums joined. The observation sums come from the aggregates `observations` of the
    period kind `of_kind` (the day aggregates unless said), feedback from its day aggregates;
    aggregates of the kind itself are taken as they are, others summed."""
    observations = _period_sums_sql(observations, OBSERVATION_SUMS, OBSERVATION_GRAIN_COLUMNS, kind, of_kind)
    feedback = _period_sums_sql("answer_days", FEEDBACK_SUMS, FEEDBACK_GRAIN_COLUMNS, kind)
    either = {
        column: f"COALESCE(o.{column}, f.{column})"
        for column in ("period_start", "grain", "grain_key", *FEEDBACK_GRAIN_COLUMNS)
    }
    values = {**_observation_values_sql(params), **_feedback_values_sql(params)}
    columns = {
        "period_kind": f"{_text(kind)}::varchar",
        **either,
        **{column: f"o.{column}" for column in OBSERVATION_GRAIN_COLUMNS if column not in either},
        **{column: values[column] for column in ADDITIVE_COLUMNS},
    }
    select = ", ".join(f"{expression} AS {column}" for column, expression in columns.items())
    return f"""(
        SELECT {select}
        FROM ({observations}) o
        FULL JOIN ({feedback}) f
            ON f.period_start = o.period_start AND f.grain = o.grain AND f.grain_key = o.grain_key
    )"""


# The sums a day aggregate holds: every one adds up over days (and over new rows), so weeks,
# months and quarters are sums of days. Counts stay whole numbers (bigint), the value sum is numeric.
OBSERVATION_SUMS = {
    "n": "::bigint",
    "passed_n": "::bigint",
    "deviations_n": "::bigint",
    "target_cents": "::bigint",
    "value_thousandths": "",
    "values_n": "::bigint",
}
FEEDBACK_SUMS = dict.fromkeys(
    ("feedback_n", "csat_n", "satisfied", "nps_n", "promoters", "detractors"), "::bigint"
)


def _period_sums_sql(
    days: str, sums: dict[str, str], columns: tuple[str, ...], kind: str, of_kind: str = PeriodKind.DAY
) -> str:
    """The aggregates `days` (of period kind `of_kind`, their start in ``day``) as sums per period
    of `kind` (of their own kind: the aggregates as they are)."""
    keys = ", ".join(["grain", "grain_key", *columns])
    if kind == of_kind:
        totals = ", ".join(f"{name}{cast} AS {name}" for name, cast in sums.items())
        return f"SELECT day AS period_start, {keys}, {totals} FROM {days}"
    totals = ", ".join(f"sum({name}){cast} AS {name}" for name, cast in sums.items())
    return f"""
        SELECT date_trunc({_text(kind)}, day::timestamp)::date AS period_start, {keys}, {totals}
        FROM {days}
        GROUP BY 1, {keys}
    """


def _on_days_sql(column: str, days: set[date] | None, tz: ZoneInfo, params: Params) -> str:
    """Rows whose `column` (a UTC timestamp) falls on one of the local `days` (every row, unless
    None): sargable ranges for the index (widened by a day, see `window_ranges`), then the exact
    local day, so that the aggregates see no row of a neighbouring day."""
    if days is None:
        return "TRUE"
    local_day = f"({column} AT TIME ZONE {params(str(tz))})::date"
    ranges = _window_sql(column, PeriodKind.DAY, days, tz, params)
    return f"({ranges} AND {local_day} = ANY({params(sorted(days))}))"


def _observation_days_sql(
    days: set[date] | None, tz: ZoneInfo, window: CountableWindow, params: Params
) -> str:
    """Sums per local day and grain over the countable observations no countable correction
    supersedes, for the local `days` (every day, unless None): one scan, every grain a grouping
    set. Rows without a team, employee or touchpoint are left out of that grain."""
    observation, standard = Observation._meta.db_table, Standard._meta.db_table
    local_time = f"o.observed_at AT TIME ZONE {params(str(tz))}"
    present = " AND ".join(
        f"(GROUPING({column}) = 1 OR {column} IS NOT NULL)"
        for column in ("team_id", "employee_id", "touchpoint_id")
    )
    return f"""
        SELECT day, {_grain_sql(OBSERVATION_GRAIN_COLUMNS)},
            count(*) AS n,
            count(*) FILTER (WHERE passed) AS passed_n,
            count(*) FILTER (WHERE deviation) AS deviations_n,
            sum(target_cents) AS target_cents,
            sum(value_thousandths) AS value_thousandths,
            count(value_thousandths) AS values_n
        FROM (
            SELECT ({local_time})::date AS day,
                {", ".join(f"o.{column}" for column in OBSERVATION_GRAIN_COLUMNS)}, o.passed,
                NOT o.passed AND s.non_negotiable AS deviation,
                -- Whole numbers sum faster than numerics, and exactly: target_rate has 2 decimal
                -- places and value 3.
                (s.target_rate * 100)::integer AS target_cents,
                (o.value * 1000)::bigint AS value_thousandths
            FROM {observation} o JOIN {standard} s ON s.id = o.standard_id
            -- The superseded ids read once, through the index on supersedes_id, into a hashed set
            -- (NOT IN over a subquery without nulls), whatever the planner guesses of their number:
            -- an anti-join hashed the whole table, or probed a misestimated few for every row.
            WHERE o.id NOT IN (
                SELECT later.supersedes_id FROM {observation} later
                WHERE later.supersedes_id IS NOT NULL AND {window.observations_sql("later", params)}
            ) AND {window.observations_sql("o", params)} AND {_on_days_sql("o.observed_at", days, tz, params)}
        ) evidence
        GROUP BY day, GROUPING SETS ({_grouping_sets_sql(OBSERVATION_GRAIN_COLUMNS)})
        HAVING {present}
    """


def _feedback_days_sql(days: set[date] | None, tz: ZoneInfo, window: CountableWindow, params: Params) -> str:
    """Answer counts per local day and grain (org, location, touchpoint) over countable customer
    feedback, for the local `days` (every day, unless None)."""
    feedback = Feedback._meta.db_table
    local_time = f"submitted_at AT TIME ZONE {params(str(tz))}"
    return f"""
        SELECT day, {_grain_sql(FEEDBACK_GRAIN_COLUMNS)},
            count(*) AS feedback_n,
            count(csat) AS csat_n,
            count(*) FILTER (WHERE csat >= 4) AS satisfied,
            count(nps) AS nps_n,
            count(*) FILTER (WHERE nps >= 9) AS promoters,
            count(*) FILTER (WHERE nps <= 6) AS detractors
        FROM (
            SELECT ({local_time})::date AS day, location_id, touchpoint_id, csat, nps
            FROM {feedback} WHERE {window.feedback_sql(params)} AND {_on_days_sql("submitted_at", days, tz, params)}
        ) answers
        GROUP BY day, GROUPING SETS ({_grouping_sets_sql(FEEDBACK_GRAIN_COLUMNS)})
    """


def _grain_specs(columns: tuple[str, ...]) -> list[GrainSpec]:
    """The grains an evidence table with these columns reaches."""
    if columns == FEEDBACK_GRAIN_COLUMNS:
        return [grain for grain in GRAINS if grain.has_feedback]
    return list(GRAINS)


def _grouping_sets_sql(columns: tuple[str, ...]) -> str:
    return ", ".join(f"({', '.join(grain.columns)})" for grain in _grain_specs(columns))


def _grain_sql(columns: tuple[str, ...]) -> str:
    """grain, grain_key and the id columns of a GROUPING SETS row (ids of the other grains are null)."""
    mask = f"GROUPING({', '.join(columns)})"
    names, keys = [], []
    for grain in _grain_specs(columns):
        bits = sum(
            1 << (len(columns) - 1 - i) for i, column in enumerate(columns) if column not in grain.columns
        )
        parts = [f"{_text(column.removesuffix('_id') + '=')} || {column}" for column in grain.columns]
        names.append(f"WHEN {bits} THEN {_text(grain.grain)}")
        key = " || '|' || ".join(parts) if parts else _text("org")
        keys.append(f"WHEN {bits} THEN {key}")
    return (
        f"CASE {mask} {' '.join(names)} END AS grain, CASE {mask} {' '.join(keys)} END AS grain_key, "
        + ", ".join(columns)
    )


def _window_sql(column: str, kind: str, starts: set[date] | None, tz: ZoneInfo, params: Params) -> str:
    """`window_filter` in SQL: ranges of `column` that cover the periods (TRUE for every period)."""
    if starts is None:
        return "TRUE"
    ranges = [
        f"({column} >= {params(low)} AND {column} < {params(high)})"
        for low, high in window_ranges(kind, starts, tz)
    ]
    return f"({' OR '.join(ranges)})"


def _observation_values_sql(
    params: Params, o: str = "o", parts: dict[str, str] | None = None
) -> dict[str, str]:
    """The observation columns of a scorecard from the aggregate `o` (null when it has none); the
    same arithmetic, in the same order, as `_observation_columns`, so the floats are identical.
    `parts`: the shared subexpressions as columns (default: written out in place)."""
    parts = parts or _shared_parts_sql(params, o)
    n, passed = f"{o}.n", f"{o}.passed_n"
    pass_rate, target_rate = parts["pass_rate"], parts["target_rate"]
    low, high = _wilson_bounds_sql(passed, n, parts["wilson_centre"], parts["wilson_half"])
    one_standard = ", ".join(_text(grain.grain) for grain in GRAINS if grain.one_standard)
    return {
        "observations": f"COALESCE({n}, 0)",
        "passed": f"COALESCE({passed}, 0)",
        "pass_rate": pass_rate,
        "pass_rate_low": f"CASE WHEN {n} > 0 THEN {low} END",
        "pass_rate_high": f"CASE WHEN {n} > 0 THEN {high} END",
        "mean_value": (
            f"CASE WHEN {o}.grain IN ({one_standard}) "
            f"THEN ({o}.value_thousandths * 0.001 / NULLIF({o}.values_n, 0))::float8 END"
        ),
        "values_n": f"CASE WHEN {o}.grain IN ({one_standard}) THEN {o}.values_n ELSE 0 END",
        "value_sum": (
            f"CASE WHEN {o}.grain IN ({one_standard}) THEN COALESCE({o}.value_thousandths * 0.001, 0) ELSE 0 END"
        ),
        "target_rate": target_rate,
        "target_cents": f"COALESCE({o}.target_cents, 0)",
        "target_met": f"{pass_rate} >= {target_rate} - {params(TARGET_TOLERANCE)}::float8",
        "deviations": f"COALESCE({o}.deviations_n, 0)",
    }


def _feedback_values_sql(params: Params, f: str = "f", parts: dict[str, str] | None = None) -> dict[str, str]:
    """The feedback columns of a scorecard from the aggregate `f`, as `_feedback_columns` computes
    them; `parts` as for `_observation_values_sql`."""
    parts = parts or _shared_parts_sql(params, f)
    low, high = _nps_bounds_sql(parts["nps_difference"], parts["nps_half"])
    return {
        "feedback_count": f"COALESCE({f}.feedback_n, 0)",
        "csat_n": f"COALESCE({f}.csat_n, 0)",
        "satisfied": f"COALESCE({f}.satisfied, 0)",
        "promoters": f"COALESCE({f}.promoters, 0)",
        "detractors": f"COALESCE({f}.detractors, 0)",
        "csat": f"CASE WHEN {f}.csat_n > 0 THEN 100::float8 * {f}.satisfied / {f}.csat_n END",
        "nps_n": f"COALESCE({f}.nps_n, 0)",
        "nps": f"CASE WHEN {f}.nps_n > 0 THEN 100::float8 * ({f}.promoters - {f}.detractors) / {f}.nps_n END",
        "nps_low": f"CASE WHEN {f}.nps_n > 0 THEN {low} END",
        "nps_high": f"CASE WHEN {f}.nps_n > 0 THEN {high} END",
    }


def _wilson_parts_sql(successes: str, n: str, params: Params) -> tuple[str, str]:
    """The centre and half-width of `stats.wilson_interval` in SQL, operation for operation (IEEE
    doubles in both, sqrt exact)."""
    z = f"{params(stats.Z95)}::float8"
    p = f"({successes}::float8 / {n})"
    denom = f"(1 + {z} * {z} / {n})"
    centre = f"(({p} + {z} * {z} / (2 * {n})) / {denom})"
    half = f"({z} / {denom} * sqrt({p} * (1 - {p}) / {n} + {z} * {z} / (4 * {n} * {n})))"
    return centre, half


def _wilson_bounds_sql(successes: str, n: str, centre: str, half: str) -> tuple[str, str]:
    """The bounds of `stats.wilson_interval` from its centre and half-width."""
    low = f"CASE WHEN {successes} = 0 THEN 0::float8 ELSE GREATEST(0::float8, {centre} - {half}) END"
    high = f"CASE WHEN {successes} = {n} THEN 1::float8 ELSE LEAST(1::float8, {centre} + {half}) END"
    return low, high


def _nps_parts_sql(promoters: str, detractors: str, n: str, params: Params) -> tuple[str, str]:
    """The difference (promoters less detractors, adjusted) and half-width of the adjusted-Wald
    interval of `stats.nps` in SQL, operation for operation (``power`` is the same C ``pow`` that
    Python's ``**`` calls)."""
    z = f"{params(stats.Z95)}::float8"
    n_adjusted = f"({n} + 3)"
    p_adjusted = f"(({promoters} + 0.75::float8) / {n_adjusted})"
    d_adjusted = f"(({detractors} + 0.75::float8) / {n_adjusted})"
    difference = f"({p_adjusted} - {d_adjusted})"
    half = f"({z} * sqrt(({p_adjusted} + {d_adjusted} - power({difference}, 2::float8)) / {n_adjusted}))"
    return difference, half


def _nps_bounds_sql(difference: str, half: str) -> tuple[str, str]:
    """The bounds of the NPS interval from its difference and half-width."""
    low = f"GREATEST(-100::float8, 100::float8 * ({difference} - {half}))"
    high = f"LEAST(100::float8, 100::float8 * ({difference} + {half}))"
    return low, high


def _text(value: str) -> str:
    """A string literal for names this module owns (period kinds, grains, column names)."""
    if not all(character.isalnum() or character in "_=|" for character in value):
        raise ValueError(f"unexpected character in {value!r}")
    return f"'{value}'"
