"""Scorecard rollups: observations and customer feedback aggregated per period and grain.

`scorecards_rollup()` is the one entry point: the periodic Celery task and
`manage.py rollup_scorecards` both call it.

What a scorecard holds (one row per period kind, period start, grain and grain key)
-------------------------------------------------------------------------------------
- Periods: day, ISO week (starting Monday), month and quarter, in the organisation's time zone
  (``settings.TIME_ZONE``); timestamps are stored in UTC. ``period_start`` is the local date the
  period starts on.
- Grains and their ``grain_key`` (ids of the rows they describe, in this order, joined by ``|``):

  ================== ============================ =================
  grain              grain_key                    has feedback
  ================== ============================ =================
  org                ``org``                      yes
  location           ``location=3``               yes
  team               ``team=5``                   no
  employee           ``employee=12``              no
  standard           ``standard=7``               no
  touchpoint         ``touchpoint=2``             yes
  location_standard  ``location=3|standard=7``    no
  ================== ============================ =================

  Observations without a team, employee or touchpoint count for the other grains only.
- Evidence counted: observations that no later observation supersedes (a correction replaces the
  row it corrects), and all feedback.
- ``observations``, ``passed``; ``pass_rate`` = passed / observations as a proportion 0–1, with its
  95 % Wilson interval (``pass_rate_low``, ``pass_rate_high``, also 0–1).
- ``target_rate`` (0–1): for the standard and location_standard grains, the standard's target; for the
  other grains, the observation-weighted mean of the targets of the standards observed — the pass
  rate expected if every observation met its own standard's target exactly, so that a location
  observed mostly on a 100 % standard is held to nearly 100 %. ``target_met`` = pass_rate ≥ target.
- ``mean_value``: mean of the measured values, for the standard and location_standard grains only —
  elsewhere values of different standards have different units (seconds, rings, a 1–5 rating) and
  their mean would mean nothing, so it is left null. ``values_n`` counts the values behind it.
- ``deviations``: failed observations of non-negotiable standards.
- Feedback (org, location and touchpoint grains; zero/null elsewhere): ``feedback_count`` (all answers,
  comment-only ones included), ``csat_n`` and ``csat`` as a **percentage 0–100** of answers 4–5 (as
  `stats.csat` returns it), ``nps_n`` and ``nps`` from −100 to 100 with its adjusted-Wald 95 % interval
  (``nps_low``, ``nps_high``) from `stats.nps`. The counts behind them (``satisfied``, ``promoters``,
  ``detractors``) are stored too, so that day scorecards add up to any span of days
  (`measurement.selectors.rolling`).

How a run works
---------------
One transaction per run, serialised by a database lock (``pg_advisory_xact_lock`` on PostgreSQL; on
SQLite the IMMEDIATE transaction mode set in settings holds the write lock from the start), so two
runs never interleave and a run that fails leaves the previous scorecards and watermark untouched.

Incremental (the default): `RollupState.watermark` says that all evidence recorded up to that instant
has been rolled up. A run finds the local days of the evidence recorded after the watermark (and of
the observations that corrections recorded after it supersede), recomputes every period containing
one of those days, for every grain, and moves the watermark to its own start less
``IN_FLIGHT_MARGIN``. The margin exists because ``recorded_at`` is set when a row is written, not
when its transaction commits: a row written just before a run but committed after it carries an
older ``recorded_at``, and the next run must still see it. So each run looks again at the last
couple of minutes before the previous one (harmless: recomputing gives the same scorecards), and a
run after a quiet spell finds nothing to do. Intake transactions longer than the margin, or app
server clocks further apart than it, could slip past; the nightly full rebuild repairs that.
The portable path reads at READ COMMITTED with one query per aggregate, so evidence committed while
it is under way may reach some of its aggregates and not others; such rows were recorded after the
new watermark, so the next run recomputes their periods whole. (On PostgreSQL one statement computes
everything from a single snapshot.)

Full (``full=True``, and the first run ever): recomputes every period and deletes scorecards of
periods or grains that no longer have evidence.

Rows no run can count (`CountableWindow`: a time outside INTAKE_EARLIEST .. now + tolerance, a
value the column cannot hold) are left out of every aggregate by the same WHERE in both paths,
so one such row, written past intake, no longer stops the rollup. Each run lists the ones it reads
(recorded since the watermark, or all on a full run) in `QuarantinedRow` with one
INSERT … SELECT … ON CONFLICT and logs one warning with the counts per table and reason; admin
lists them and program health shows how many there are.

Either way the result equals a full rebuild: each recomputed period is recomputed for every grain,
scorecards whose values changed are upserted (which keeps scorecard ids stable: consequences cite
them), those that came out the same are left alone (no write, no dead row, ``computed_at`` kept),
and those that no longer have evidence are deleted.

Two ways to compute the same scorecards
---------------------------------------
On PostgreSQL (production) a run is one SQL statement, `_synchronise_sql`, built by small
functions below. A rollup makes about eight scorecards per observation (seven grains, four period
kinds), so what costs is the traffic per scorecard: the portable path sends every aggregated row
to Python and every changed scorecard back, and reads every stored one to compare. The statement
keeps all of that inside the server:

- one scan of the observations over the days of the recomputed periods, grouped by local day with
  every grain a grouping set (``GROUP BY day, GROUPING SETS ((), (location_id), (team_id), …)``):
  ``GROUPING()`` names the grain of a row, ``HAVING`` drops the rows without a team, employee or
  touchpoint from those grains, an anti-join leaves superseded observations out; feedback likewise.
  Every period kind is then a sum of those day rows (``date_trunc`` of the day): the sums are exact
  whole numbers (and an exact numeric for values), so a week summed from its days equals one counted
  from the raw rows; observation and feedback sums are joined on (period, grain, grain_key);
- the statistics in SQL, doing the arithmetic of `measurement.stats` operation for operation in
  IEEE doubles (Wilson and NPS intervals, CSAT), and means and targets from exact whole-number sums
  divided as ``numeric``, as Django's ``Avg`` does: every float equals the portable path's to the
  last bit (a test checks it), so switching paths rewrites nothing;
- one hash join with the stored scorecards of the same periods (not a probe per row); only new
  scorecards are inserted and changed ones updated, by id; stale ones come back as ids and are
  deleted through the ORM, which also removes the consequences' links to them;
- planner settings for the run's transaction only: ``work_mem`` for the hash tables, hash rather
  than merge joins, no JIT (compiling this statement costs seconds).
A run costs about ten queries whatever it touches (and one DELETE per ``BATCH_SIZE`` stale
scorecards), the listing of rows left out included (one INSERT, a DELETE on full runs, a count
when there are any); a run with nothing new skips the statement.

On SQLite (development, most tests) and any other database the portable path,
`_recompute_with_orm`, computes every aggregate as one ORM ``GROUP BY`` per grain and period kind
over the recomputed periods; Python then works per aggregated row (Wilson and NPS intervals), never
per observation, and writes with ``bulk_create(update_conflicts=True)``. A run that touches all
four period kinds costs about 75 queries — 28 observation aggregates, 12 feedback aggregates, 28
reads of the stored scorecards, the lock, the watermark — plus one INSERT or DELETE per
``BATCH_SIZE`` scorecards changed; a run with nothing new costs about 7. The count grows with
grains × period kinds and with scorecards changed, never with the number of observations.

bench/run.py measures both against PostgreSQL's own GROUP BY; bench/RESULTS.md has the figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate, TruncDay, TruncMonth, TruncQuarter, TruncWeek
from django.utils import timezone

from measurement import stats
from measurement.models import (
    Feedback,
    Grain,
    Observation,
    PeriodKind,
    QuarantinedRow,
    QuarantineReason,
    QuarantineTable,
    RollupState,
    Scorecard,
)
from measurement.signals import scorecards_rolled_up
from organization.validators import earliest_timestamp
from standards.models import Standard

logger = logging.getLogger(__name__)

ROLLUP_NAME = "scorecards"
# Key of the PostgreSQL advisory lock that serialises runs: arbitrary, but no other code may use it.
ADVISORY_LOCK_KEY = 7_230_001
# Longest time an intake transaction may stay open between writing rows and committing them.
IN_FLIGHT_MARGIN = timedelta(minutes=2)
# Scorecards per INSERT … ON CONFLICT and ids per DELETE (Django lowers it further on SQLite).
BATCH_SIZE = 500
# A value the observation column could not hold (NaN, which PostgreSQL's numeric accepts, or more
# whole digits than the column has, which SQLite does not enforce) is left out, like a bad time.
_VALUE_FIELD = Observation._meta.get_field("value")
VALUE_LIMIT = Decimal(10) ** (_VALUE_FIELD.max_digits - _VALUE_FIELD.decimal_places)
# Pass rate and target are both floats (9 / 10 against 90 / 100): compare with a little slack so
# that a rate exactly on target counts as met whatever the rounding.
TARGET_TOLERANCE = 1e-9

PERIOD_KINDS: tuple[str, ...] = tuple(PeriodKind.values)
_TRUNC = {
    PeriodKind.DAY: TruncDay,
    PeriodKind.WEEK: TruncWeek,
    PeriodKind.MONTH: TruncMonth,
    PeriodKind.QUARTER: TruncQuarter,
}

# Computed columns an upsert rewrites (the unique key and the grain's ids identify the row).
UPDATE_FIELDS = [
    "observations",
    "passed",
    "pass_rate",
    "pass_rate_low",
    "pass_rate_high",
    "mean_value",
    "values_n",
    "value_sum",
    "target_rate",
    "target_cents",
    "target_met",
    "deviations",
    "feedback_count",
    "csat_n",
    "satisfied",
    "csat",
    "nps_n",
    "promoters",
    "detractors",
    "nps",
    "nps_low",
    "nps_high",
    "computed_at",
]
UNIQUE_FIELDS = ["period_kind", "period_start", "grain", "grain_key"]
# The values compared with the stored row to decide whether a scorecard changed.
VALUE_COLUMNS = [name for name in UPDATE_FIELDS if name != "computed_at"]
# A scorecard before any evidence is counted: the model's defaults (zero counts, null rates).
EMPTY_VALUES = {name: Scorecard._meta.get_field(name).get_default() for name in VALUE_COLUMNS}


@dataclass(frozen=True)
class GrainSpec:
    """One grain: the evidence columns it groups by and what it reports."""

    grain: str
    columns: tuple[str, ...]  # Observation/Feedback columns, in grain_key order
    has_feedback: bool
    one_standard: bool  # every scorecard of this grain is about a single standard

    def key(self, row: dict) -> str:
        """The grain_key of an aggregated row, e.g. ``org`` or ``location=3|standard=7``."""
        if not self.columns:
            return "org"
        return "|".join(f"{column.removesuffix('_id')}={row[column]}" for column in self.columns)


GRAINS: tuple[GrainSpec, ...] = (
    GrainSpec(Grain.ORGANISATION, (), has_feedback=True, one_standard=False),
    GrainSpec(Grain.LOCATION, ("location_id",), has_feedback=True, one_standard=False),
    GrainSpec(Grain.TEAM, ("team_id",), has_feedback=False, one_standard=False),
    GrainSpec(Grain.EMPLOYEE, ("employee_id",), has_feedback=False, one_standard=False),
    GrainSpec(Grain.STANDARD, ("standard_id",), has_feedback=False, one_standard=True),
    GrainSpec(Grain.TOUCHPOINT, ("touchpoint_id",), has_feedback=True, one_standard=False),
    GrainSpec(Grain.LOCATION_STANDARD, ("location_id", "standard_id"), has_feedback=False, one_standard=True),
)


@dataclass(frozen=True)
class RollupResult:
    """What one run did."""

    full: bool
    periods: tuple[tuple[str, date], ...]  # (period_kind, period_start) recomputed, sorted
    rows_written: int  # new or changed scorecards
    rows_unchanged: int  # recomputed and found the same, so not rewritten
    rows_deleted: int
    duration: float  # seconds, including the commit
    watermark: datetime  # evidence recorded up to this instant is rolled up
    rows_quarantined: int = 0  # evidence rows read by this run and left out (see `CountableWindow`)

    @property
    def periods_recomputed(self) -> int:
        return len(self.periods)

    def summary(self) -> dict:
        """A small JSON-friendly summary (the Celery task's return value)."""
        return {
            "full": self.full,
            "periods_recomputed": self.periods_recomputed,
            "rows_written": self.rows_written,
            "rows_unchanged": self.rows_unchanged,
            "rows_deleted": self.rows_deleted,
            "duration_seconds": round(self.duration, 3),
            "watermark": self.watermark.isoformat(),
            "rows_quarantined": self.rows_quarantined,
        }


# Periods: None stands for "every period" (a full rebuild); otherwise period kind → period starts.
Periods = dict[str, set[date]] | None


@dataclass(frozen=True)
class CountableWindow:
    """The evidence a run counts: times from INTAKE_EARLIEST to the run's clock plus
    INTAKE_FUTURE_TOLERANCE and IN_FLIGHT_MARGIN, and values the column can hold.

    Intake refuses anything else, but a row can still reach the table (older data, a direct SQL
    write); one such row, dated in the year 1 or 9999, has no local-time period Python can
    represent and used to stop every run. Such rows are left out of every aggregate as if they did
    not exist (a correction left out supersedes nothing) and listed in `QuarantinedRow`.
    The upper bound uses the same tolerance as intake, with the in-flight margin as slack for app
    server clocks that run ahead of the worker's. A row dated later is counted once it is due, by
    the nightly full rebuild (an incremental run only revisits rows recorded since the watermark).
    """

    earliest: datetime
    latest: datetime

    @classmethod
    def at(cls, now: datetime) -> CountableWindow:
        return cls(earliest_timestamp(), now + settings.INTAKE_FUTURE_TOLERANCE + IN_FLIGHT_MARGIN)

    def observations(self, prefix: str = "") -> Q:
        """Observations that can be counted (`prefix`: the path to another observation)."""
        value = f"{prefix}value"
        return Q(**{f"{prefix}observed_at__gte": self.earliest, f"{prefix}observed_at__lte": self.latest}) & (
            Q(**{f"{value}__isnull": True}) | Q(**{f"{value}__gt": -VALUE_LIMIT, f"{value}__lt": VALUE_LIMIT})
        )

    def feedback(self) -> Q:
        return Q(submitted_at__gte=self.earliest, submitted_at__lte=self.latest)

    def observations_sql(self, alias: str, params: _Params) -> str:
        """`observations()` in SQL for the fast path (NaN fails both comparisons, as it does there)."""
        return (
            f"{alias}.observed_at >= {params(self.earliest)} AND {alias}.observed_at <= {params(self.latest)}"
            f" AND ({alias}.value IS NULL OR ({alias}.value > {params(-VALUE_LIMIT)}"
            f" AND {alias}.value < {params(VALUE_LIMIT)}))"
        )

    def feedback_sql(self, params: _Params) -> str:
        return f"submitted_at >= {params(self.earliest)} AND submitted_at <= {params(self.latest)}"


def scorecards_rollup(*, full: bool = False, now: datetime | None = None) -> RollupResult:
    """Recompute scorecards from observations and feedback, in one transaction.

    Inputs: ``full`` rebuilds every period (and the first run always does); otherwise only the
    periods touched by evidence recorded since the watermark are recomputed. ``now`` is the run's
    clock (default: the current time, read once the lock is held): it stamps ``computed_at`` and
    sets the watermark to ``now − IN_FLIGHT_MARGIN``.
    Output: a `RollupResult`. After the commit, `measurement.signals.scorecards_rolled_up` is sent with
    the periods recomputed.
    Errors: any database error propagates and the transaction rolls back, leaving the scorecards and
    the watermark as they were. Raises RuntimeError if called inside an open transaction, since the
    lock and the "one transaction per run" promise need the run to own its transaction.
    """
    started = time.monotonic()
    tz = ZoneInfo(settings.TIME_ZONE)
    with transaction.atomic(durable=True):
        state = _lock_and_load_state()
        # Read the clock after the lock: a run that waited for another starts where that one ended.
        now = now or timezone.now()
        full = full or state.watermark is None
        window = CountableWindow.at(now)
        quarantined = _quarantine(window, now=now, since=None if full else state.watermark)
        periods = None if full else _periods_containing(_days_recorded_since(state.watermark, tz, window))
        outcome = _recompute(periods, tz, now, window)
        watermark = _advance(state, now=now, full=full)
        touched = tuple(sorted(outcome.periods))
        transaction.on_commit(lambda: _announce(touched, full))

    result = RollupResult(
        full=full,
        periods=touched,
        rows_written=outcome.written,
        rows_unchanged=outcome.unchanged,
        rows_deleted=outcome.deleted,
        duration=time.monotonic() - started,
        watermark=watermark,
        rows_quarantined=quarantined,
    )
    logger.info("Scorecard rollup: %s", result.summary())
    return result


def _recompute(periods: Periods, tz: ZoneInfo, now: datetime, window: CountableWindow) -> _Outcome:
    """Recompute `periods` (None: all) for every grain; the periods reported include those left empty."""
    if connection.vendor == "postgresql":
        return _recompute_in_postgresql(periods, tz, now, window)
    return _recompute_with_orm(periods, tz, now, window)


def _recompute_with_orm(periods: Periods, tz: ZoneInfo, now: datetime, window: CountableWindow) -> _Outcome:
    """The portable path (SQLite and any other backend): one ORM aggregate per grain and period kind."""
    total, writes = _Outcome(), _Writes()
    for kind in PERIOD_KINDS:
        starts = None if periods is None else periods[kind]
        if starts is not None:
            total.periods |= {(kind, start) for start in starts}
            if not starts:
                continue
        for grain in GRAINS:
            total.add(_rollup_grain(grain, kind, starts, tz, now, window, writes))
    writes.flush()
    return total


def _advance(state: RollupState, *, now: datetime, full: bool) -> datetime:
    """Move the watermark to `now` less the in-flight margin (never backwards) and record the run."""
    watermark = now - IN_FLIGHT_MARGIN
    if state.watermark is not None:
        watermark = max(watermark, state.watermark)
    state.watermark = watermark
    state.last_run_at = now
    if full:
        state.last_full_run_at = now
    state.save(update_fields=["watermark", "last_run_at", "last_full_run_at"])
    return watermark


# --------------------------------------------------------------------------- rows left out


def _quarantine(window: CountableWindow, *, now: datetime, since: datetime | None) -> int:
    """List the evidence rows outside `window` in `QuarantinedRow`, set-based, and return how many
    this run read: those recorded after `since`, or every one on a full run (None), which also
    forgets the entries of rows that have become countable or are gone.

    One INSERT … SELECT … ON CONFLICT over both tables (through the indexes on the times, or on
    ``recorded_at``), a count by reason for the log when there are any, and a DELETE on full runs.
    """
    earliest, latest = window.earliest, window.latest
    seen = Value(now, output_field=DateTimeField())

    def listed(queryset: QuerySet, table: str, time: str, value: str) -> QuerySet:
        if since is not None:
            queryset = queryset.filter(recorded_at__gt=since)
        timed = Q(**{f"{time}__lt": earliest}) | Q(**{f"{time}__gt": latest})
        return queryset.annotate(
            q_table=Value(table),
            q_row_id=F("pk"),
            q_reason=Case(
                When(Q(**{f"{time}__lt": earliest}), then=Value(QuarantineReason.TOO_EARLY)),
                When(Q(**{f"{time}__gt": latest}), then=Value(QuarantineReason.FUTURE)),
                default=Value(QuarantineReason.VALUE),
            ),
            q_value=Case(When(timed, then=Cast(time, TextField())), default=Cast(value, TextField())),
            q_first=seen,
            q_last=seen,
        ).values_list("q_table", "q_row_id", "q_reason", "q_value", "q_first", "q_last")

    # The complement of the window, written out: NaN compares above every number in PostgreSQL,
    # so ``value >= VALUE_LIMIT`` catches it, and a null value is countable.
    observations = listed(
        Observation.objects.filter(
            Q(observed_at__lt=earliest)
            | Q(observed_at__gt=latest)
            | Q(value__lte=-VALUE_LIMIT)
            | Q(value__gte=VALUE_LIMIT)
        ),
        QuarantineTable.OBSERVATION,
        "observed_at",
        "value",
    )
    feedback = listed(
        Feedback.objects.filter(Q(submitted_at__lt=earliest) | Q(submitted_at__gt=latest)),
        QuarantineTable.FEEDBACK,
        "submitted_at",
        "submitted_at",
    )
    select, select_params = (
        observations.order_by().union(feedback.order_by(), all=True).query.sql_with_params()
    )
    table = connection.ops.quote_name(QuarantinedRow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (evidence_table, row_id, reason, value, first_seen_at, last_seen_at) {select}"
            " ON CONFLICT (evidence_table, row_id) DO UPDATE SET reason = excluded.reason,"
            " value = excluded.value, last_seen_at = excluded.last_seen_at",
            select_params,
        )
        read = cursor.rowcount
    if since is None:
        QuarantinedRow.objects.exclude(last_seen_at=now).delete()
    if read:
        counts = (
            QuarantinedRow.objects.filter(last_seen_at=now)
            .values_list("evidence_table", "reason")
            .annotate(n=Count("pk"))
            .order_by("evidence_table", "reason")
        )
        logger.warning(
            "Scorecard rollup left out %d evidence rows it cannot count (%s); they are listed as "
            "quarantined evidence rows in admin",
            read,
            ", ".join(f"{evidence} {reason}: {n}" for evidence, reason, n in counts),
        )
    return read


# --------------------------------------------------------------------------- lock, watermark, periods


def _lock_and_load_state() -> RollupState:
    """Take the rollup lock for the rest of the transaction, then read the watermark.

    The lock comes first so that a run that waited for another reads the watermark it left.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
    # Other backends: SQLite's IMMEDIATE transactions (settings) already exclude a second writer;
    # for anything else, a row lock on the state row serialises runs.
    state, _ = RollupState.objects.get_or_create(name=ROLLUP_NAME)
    if connection.vendor not in ("postgresql", "sqlite"):
        state = RollupState.objects.select_for_update().get(pk=state.pk)
    return state


def _days_recorded_since(since: datetime, tz: ZoneInfo, window: CountableWindow) -> set[date]:
    """Local days whose countable evidence changed after `since`.

    A new observation changes its own day and, when it is a correction, the day of the observation
    it supersedes (which loses a row). Rows outside `window` change nothing (and have no day Python
    could always represent). Two queries, each through the index on ``recorded_at``, returning
    distinct days.
    """
    observations = (
        Observation.objects.filter(window.observations(), recorded_at__gt=since)
        .annotate(
            day=TruncDate("observed_at", tzinfo=tz),
            corrected_day=Case(
                When(
                    window.observations("supersedes__"), then=TruncDate("supersedes__observed_at", tzinfo=tz)
                ),
                output_field=DateField(),
            ),
        )
        .values_list("day", "corrected_day")
        .order_by()
        .distinct()
    )
    feedback = (
        Feedback.objects.filter(window.feedback(), recorded_at__gt=since)
        .annotate(day=TruncDate("submitted_at", tzinfo=tz))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    )
    days = {day for pair in observations for day in pair if day is not None}
    return days | set(feedback)


def period_start(kind: str, day: date) -> date:
    """The first day of the period of `kind` containing `day` (weeks start on Monday, ISO 8601)."""
    if kind == PeriodKind.DAY:
        return day
    if kind == PeriodKind.WEEK:
        return day - timedelta(days=day.weekday())
    if kind == PeriodKind.MONTH:
        return day.replace(day=1)
    if kind == PeriodKind.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown period kind {kind!r}")


def period_end(kind: str, start: date) -> date:
    """The first day after the period of `kind` starting on `start`."""
    if kind == PeriodKind.DAY:
        return start + timedelta(days=1)
    if kind == PeriodKind.WEEK:
        return start + timedelta(days=7)
    months = 1 if kind == PeriodKind.MONTH else 3
    month_index = start.month - 1 + months
    return date(start.year + month_index // 12, month_index % 12 + 1, 1)


def _periods_containing(days: Iterable[date]) -> dict[str, set[date]]:
    """Period kind → starts of the periods that contain any of `days`."""
    return {kind: {period_start(kind, day) for day in days} for kind in PERIOD_KINDS}


def _window(column: str, kind: str, starts: set[date], tz: ZoneInfo) -> Q:
    """A sargable filter on `column` (a UTC timestamp) covering the periods `starts` of `kind`."""
    window = Q()
    for low, high in _window_ranges(kind, starts, tz):
        window |= Q(**{f"{column}__gte": low, f"{column}__lt": high})
    return window


def _window_ranges(kind: str, starts: set[date], tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """[low, high) instants that cover the periods `starts` of `kind`.

    Adjacent periods merge into one range. Each range is widened by a day on both sides so that
    no daylight-saving oddity (a skipped or repeated midnight) can leave a row outside; rows of
    the neighbouring periods this lets in are dropped after grouping.
    """
    ranges: list[list[date]] = []
    for start in sorted(starts):
        low, high = start - timedelta(days=1), period_end(kind, start) + timedelta(days=1)
        if ranges and low <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], high)
        else:
            ranges.append([low, high])
    return [(_local_midnight(low, tz), _local_midnight(high, tz)) for low, high in ranges]


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time.min, tzinfo=tz)


def _period(kind: str, column: str, tz: ZoneInfo):
    """The start date of the period of `kind` containing `column`, computed in the database in `tz`."""
    return _TRUNC[kind](column, output_field=DateField(), tzinfo=tz)


# --------------------------------------------------------------------------- one grain, one period kind


@dataclass
class _Outcome:
    """Scorecards written, found unchanged and deleted, and the periods they belong to."""

    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    periods: set[tuple[str, date]] = field(default_factory=set)

    def add(self, other: _Outcome) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.periods |= other.periods


def _rollup_grain(
    grain: GrainSpec,
    kind: str,
    starts: set[date] | None,
    tz: ZoneInfo,
    now: datetime,
    window: CountableWindow,
    writes: _Writes,
) -> _Outcome:
    """Recompute the scorecards of one grain for the periods `starts` of `kind` (None: all periods).

    Upserts the scorecards whose values changed (a scorecard that comes out the same is left alone:
    no write, no dead row, same computed_at) and deletes those of the periods that no longer have
    evidence, through `writes`. Queries: one aggregate over observations, one over feedback (grains
    that have it) and one read of the stored scorecards.
    """
    computed = _computed_scorecards(grain, kind, starts, tz, window)
    stored = _stored_scorecards(grain, kind, starts)
    stale = [key for key in stored if key not in computed]
    changed = [key for key in computed if key not in stored or stored[key][1] != _comparable(computed[key])]

    writes.delete(stored[key][0] for key in stale)
    # Model instances only for the rows written: building them is most of the Python time.
    writes.upsert(
        Scorecard(period_kind=kind, grain=grain.grain, computed_at=now, **computed[key]) for key in changed
    )
    return _Outcome(
        written=len(changed),
        unchanged=len(computed) - len(changed),
        deleted=len(stale),
        periods={(kind, start) for start, _ in [*computed, *stale]},
    )


class _Writes:
    """Upserts and deletes gathered across grains and sent in full batches, so that a small run
    costs one INSERT (and at most one DELETE) rather than one per grain and period kind."""

    def __init__(self) -> None:
        self._upserts: list[Scorecard] = []
        self._deletes: list[int] = []

    def upsert(self, scorecards: Iterable[Scorecard]) -> None:
        self._upserts.extend(scorecards)
        self._send()

    def delete(self, pks: Iterable[int]) -> None:
        self._deletes.extend(pks)
        self._send()

    def flush(self) -> None:
        self._send(everything=True)

    def _send(self, *, everything: bool = False) -> None:
        # Upserts and deletes never touch the same key (a key is either still there or gone),
        # so their order does not matter.
        self._deletes = _send_batches(self._deletes, _delete_batch, everything)
        self._upserts = _send_batches(self._upserts, _upsert_batch, everything)


def _send_batches(items: list, send, everything: bool) -> list:
    """Send full batches of `items` (and the last, short one too with `everything`); return the rest."""
    end = len(items) if everything else len(items) - len(items) % BATCH_SIZE
    for offset in range(0, end, BATCH_SIZE):
        send(items[offset : offset + BATCH_SIZE])
    return items[end:]


def _delete_batch(pks: list[int]) -> None:
    Scorecard.objects.filter(pk__in=pks).delete()


def _upsert_batch(scorecards: list[Scorecard]) -> None:
    Scorecard.objects.bulk_create(
        scorecards, update_conflicts=True, unique_fields=UNIQUE_FIELDS, update_fields=UPDATE_FIELDS
    )


def _computed_scorecards(
    grain: GrainSpec, kind: str, starts: set[date] | None, tz: ZoneInfo, window: CountableWindow
) -> dict[tuple[date, str], dict]:
    """(period_start, grain_key) → the scorecard's columns, from the evidence."""
    scorecards: dict[tuple[date, str], dict] = {}
    for row in _observation_aggregates(grain, kind, starts, tz, window):
        _scorecard_for(scorecards, grain, row).update(_observation_columns(row, grain))
    if grain.has_feedback:
        for row in _feedback_aggregates(grain, kind, starts, tz, window):
            _scorecard_for(scorecards, grain, row).update(_feedback_columns(row))
    return scorecards


def _stored_scorecards(
    grain: GrainSpec, kind: str, starts: set[date] | None
) -> dict[tuple[date, str], tuple]:
    """(period_start, grain_key) → (pk, comparable values) of the scorecards stored for these periods."""
    stored = Scorecard.objects.filter(period_kind=kind, grain=grain.grain)
    if starts is not None:
        stored = stored.filter(period_start__in=starts)
    rows = stored.values_list("pk", "period_start", "grain_key", *VALUE_COLUMNS).order_by()
    return {(start, key): (pk, tuple(values)) for pk, start, key, *values in rows.iterator()}


def _in_periods(
    queryset: QuerySet, column: str, kind: str, starts: set[date] | None, tz: ZoneInfo
) -> QuerySet:
    if starts is not None:
        queryset = queryset.filter(_window(column, kind, starts, tz))
    return queryset.annotate(period=_period(kind, column, tz))


def _observation_aggregates(
    grain: GrainSpec, kind: str, starts: set[date] | None, tz: ZoneInfo, window: CountableWindow
) -> Iterator[dict]:
    """Counts per period and grain over the countable observations that no countable correction
    supersedes: one query."""
    countable = window.observations()
    observations = Observation.objects.filter(
        countable,
        ~Exists(Observation.objects.filter(countable, supersedes=OuterRef("pk"))),
        **{f"{column}__isnull": False for column in grain.columns},
    )
    # One standard per scorecard: its target exactly; otherwise the observation-weighted mean.
    target = Max("standard__target_rate") if grain.one_standard else Avg("standard__target_rate")
    measures = {
        "n": Count("pk"),
        "passed_n": Count("pk", filter=Q(passed=True)),
        "deviations_n": Count("pk", filter=Q(passed=False, standard__non_negotiable=True)),
        "target_percent": target,
        "target_sum": Sum("standard__target_rate"),
    }
    if grain.one_standard:
        measures["mean"] = Avg("value")
        measures["values_n"] = Count("value")
        measures["value_sum"] = Sum("value")
    rows = (
        _in_periods(observations, "observed_at", kind, starts, tz)
        .values("period", *grain.columns)
        .annotate(**measures)
        .order_by()
    )
    return _within(rows, starts)


def _feedback_aggregates(
    grain: GrainSpec, kind: str, starts: set[date] | None, tz: ZoneInfo, window: CountableWindow
) -> Iterator[dict]:
    """Answer counts per period and grain over countable customer feedback: one query."""
    rows = (
        _in_periods(Feedback.objects.filter(window.feedback()), "submitted_at", kind, starts, tz)
        .values("period", *grain.columns)
        .annotate(
            feedback_n=Count("pk"),
            csat_n=Count("csat"),
            satisfied=Count("pk", filter=Q(csat__gte=4)),
            nps_n=Count("nps"),
            promoters=Count("pk", filter=Q(nps__gte=9)),
            detractors=Count("pk", filter=Q(nps__lte=6)),
        )
        .order_by()
    )
    return _within(rows, starts)


def _within(rows: Iterable[dict], starts: set[date] | None) -> Iterator[dict]:
    """Drop aggregated rows of neighbouring periods that the widened window let in."""
    return (row for row in rows if starts is None or row["period"] in starts)


def _scorecard_for(scorecards: dict, grain: GrainSpec, row: dict) -> dict:
    """The columns of the scorecard an aggregated row belongs to, created empty on first sight."""
    key = (row["period"], grain.key(row))
    if key not in scorecards:
        scorecards[key] = {
            **EMPTY_VALUES,
            "period_start": key[0],
            "grain_key": key[1],
            **{column: row[column] for column in grain.columns},
        }
    return scorecards[key]


def _observation_columns(row: dict, grain: GrainSpec) -> dict:
    n, passed = row["n"], row["passed_n"]
    pass_rate = passed / n
    low, high = stats.wilson_interval(passed, n)
    target_rate = float(row["target_percent"]) / 100
    mean = row.get("mean")
    return {
        "observations": n,
        "passed": passed,
        "pass_rate": pass_rate,
        "pass_rate_low": low,
        "pass_rate_high": high,
        "target_rate": target_rate,
        "target_met": pass_rate >= target_rate - TARGET_TOLERANCE,
        "mean_value": float(mean) if mean is not None else None,
        "values_n": row.get("values_n", 0),
        "value_sum": row.get("value_sum") or Decimal(0),
        # Targets have two decimal places: hundredths of a percent are whole.
        "target_cents": round(row["target_sum"] * 100),
        "deviations": row["deviations_n"],
    }


def _feedback_columns(row: dict) -> dict:
    nps = stats.nps(row["promoters"], row["detractors"], row["nps_n"])
    return {
        "feedback_count": row["feedback_n"],
        "csat_n": row["csat_n"],
        "satisfied": row["satisfied"],
        "promoters": row["promoters"],
        "detractors": row["detractors"],
        "csat": stats.csat_from_counts(row["satisfied"], row["csat_n"]).score,
        "nps_n": nps.n,
        "nps": nps.score,
        "nps_low": nps.low,
        "nps_high": nps.high,
    }


def _comparable(values: dict) -> tuple:
    return tuple(values[column] for column in VALUE_COLUMNS)


# --------------------------------------------------------------------------- the PostgreSQL fast path

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


class _Params:
    """Named query parameters, so that SQL built in pieces cannot pass them in the wrong order."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"


def _recompute_in_postgresql(
    periods: Periods, tz: ZoneInfo, now: datetime, window: CountableWindow
) -> _Outcome:
    """Recompute `periods` (None: all) for every grain in one SQL statement; see the module docstring.

    Queries: the planner settings, the statement, and the ORM's DELETEs of the scorecards whose period
    or grain lost its evidence (rare: corrections; the ORM also removes the consequences' links to them).
    """
    wanted = {kind: None if periods is None else periods[kind] for kind in PERIOD_KINDS}
    wanted = {kind: starts for kind, starts in wanted.items() if starts is None or starts}
    outcome = _Outcome()
    if periods is not None:
        outcome.periods = {(kind, start) for kind, starts in periods.items() for start in starts}
    if not wanted:
        return outcome
    params = _Params()
    sql = _synchronise_sql(wanted, tz, now, window, params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(PLANNER_SETTINGS)),
            [item for setting in PLANNER_SETTINGS.items() for item in setting],
        )
        cursor.execute(sql, params.values)
        inserted, updated, computed, stale, kinds, starts = cursor.fetchone()
    writes = _Writes()
    writes.delete(stale or [])
    writes.flush()
    outcome.written, outcome.deleted = inserted + updated, len(stale or [])
    outcome.unchanged = computed - outcome.written
    outcome.periods |= set(zip(kinds or [], starts or [], strict=True))
    return outcome


def _synchronise_sql(
    wanted: dict[str, set[date] | None], tz: ZoneInfo, now: datetime, window: CountableWindow, params: _Params
) -> str:
    """One statement that computes the scorecards of the `wanted` periods, compares them with the
    stored ones (a join, not a probe per row), inserts the new, updates the changed and returns
    (written, unchanged, ids of the stale scorecards, the periods recomputed as two arrays)."""
    computed = " UNION ALL ".join(
        _kind_scorecards_sql(kind, starts, params) for kind, starts in wanted.items()
    )
    stored_in_periods = " OR ".join(
        "TRUE"
        if starts is None
        else f"(period_kind = {params(kind)} AND period_start = ANY({params(sorted(starts))}))"
        for kind, starts in wanted.items()
    )
    keys = " AND ".join(f"s.{column} = c.{column}" for column in UNIQUE_FIELDS)
    stored_values = ", ".join(f"s.{column}" for column in VALUE_COLUMNS)
    computed_values = ", ".join(f"c.{column}" for column in VALUE_COLUMNS)
    new_columns = ", ".join([*KEY_COLUMNS, *VALUE_COLUMNS])
    computed_at = params(now)
    table = Scorecard._meta.db_table
    return f"""
        WITH observation_days AS MATERIALIZED ({_observation_days_sql(wanted, tz, window, params)}),
        answer_days AS MATERIALIZED ({_feedback_days_sql(wanted, tz, window, params)}),
        computed AS MATERIALIZED ({computed}),
        stored AS (
            SELECT id, {", ".join(UNIQUE_FIELDS)}, {", ".join(VALUE_COLUMNS)} FROM {table}
            WHERE {stored_in_periods}
        ),
        -- New (no stored row), stale (no computed row) and changed scorecards; the others are left alone.
        changes AS MATERIALIZED (
            SELECT c.*, s.id AS stored_id, s.period_kind AS stored_kind, s.period_start AS stored_start
            FROM computed c FULL JOIN stored s ON {keys}
            WHERE s.id IS NULL OR c.grain IS NULL OR ({stored_values}) IS DISTINCT FROM ({computed_values})
        ),
        inserted AS (
            INSERT INTO {table} ({new_columns}, computed_at)
            SELECT {new_columns}, {computed_at} FROM changes WHERE stored_id IS NULL
            -- In key order: the unique index grows at its right edge, and a period's scorecards
            -- share table pages, which the next run that recomputes the period reads.
            ORDER BY {", ".join(UNIQUE_FIELDS)}
            RETURNING 1
        ),
        updated AS (
            UPDATE {table} s SET {", ".join(f"{column} = c.{column}" for column in VALUE_COLUMNS)},
                computed_at = {computed_at}
            FROM changes c
            -- The id list lets PostgreSQL fetch the few rows changed through the primary key; with
            -- the join alone it may hash the whole scorecard table to find them.
            WHERE s.id = ANY(ARRAY(SELECT stored_id FROM changes WHERE grain IS NOT NULL))
                AND s.id = c.stored_id AND c.grain IS NOT NULL
            RETURNING 1
        ),
        periods AS (
            -- Every period with evidence has an org scorecard, so these rows name every period.
            SELECT period_kind, period_start FROM computed WHERE grain = 'org'
            UNION SELECT stored_kind, stored_start FROM changes WHERE grain IS NULL
        )
        SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated), (SELECT count(*) FROM computed),
            (SELECT array_agg(stored_id) FROM changes WHERE grain IS NULL),
            (SELECT array_agg(period_kind::text) FROM periods),
            (SELECT array_agg(period_start) FROM periods)
    """


def _kind_scorecards_sql(kind: str, starts: set[date] | None, params: _Params) -> str:
    """The scorecards of one period kind (every grain) as rows of the scorecard table's columns:
    observation and feedback sums of the day aggregates joined, and the statistics computed from them."""
    observations = _period_sums_sql(
        "observation_days", OBSERVATION_SUMS, OBSERVATION_GRAIN_COLUMNS, kind, starts, params
    )
    feedback = _period_sums_sql("answer_days", FEEDBACK_SUMS, FEEDBACK_GRAIN_COLUMNS, kind, starts, params)
    either = {
        column: f"COALESCE(o.{column}, f.{column})"
        for column in ("period_start", "grain", "grain_key", *FEEDBACK_GRAIN_COLUMNS)
    }
    columns = {
        "period_kind": f"{_text(kind)}::varchar",
        **either,
        **{column: f"o.{column}" for column in OBSERVATION_GRAIN_COLUMNS if column not in either},
        **_observation_values_sql(params),
        **_feedback_values_sql(params),
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
    days: str,
    sums: dict[str, str],
    columns: tuple[str, ...],
    kind: str,
    starts: set[date] | None,
    params: _Params,
) -> str:
    """The day aggregates `days` summed into the periods of `kind` (only `starts`, unless None)."""
    keys = ", ".join(["grain", "grain_key", *columns])
    totals = ", ".join(f"sum({name}){cast} AS {name}" for name, cast in sums.items())
    return f"""
        SELECT date_trunc({_text(kind)}, day::timestamp)::date AS period_start, {keys}, {totals}
        FROM {days}
        GROUP BY 1, {keys}
        HAVING {_wanted_sql(starts, params, "date_trunc(" + _text(kind) + ", day::timestamp)::date")}
    """


def _days_window_sql(column: str, wanted: dict[str, set[date] | None], tz: ZoneInfo, params: _Params) -> str:
    """Ranges of `column` that cover every wanted period of every kind (TRUE on a full run)."""
    if any(starts is None for starts in wanted.values()):
        return "TRUE"
    return (
        "("
        + " OR ".join(_window_sql(column, kind, starts, tz, params) for kind, starts in wanted.items())
        + ")"
    )


def _observation_days_sql(
    wanted: dict[str, set[date] | None], tz: ZoneInfo, window: CountableWindow, params: _Params
) -> str:
    """Sums per local day and grain over the countable observations no countable correction
    supersedes, for every day of the wanted periods: one scan, every grain a grouping set. Rows
    without a team, employee or touchpoint are left out of that grain."""
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
            WHERE NOT EXISTS (
                SELECT FROM {observation} later WHERE later.supersedes_id = o.id AND {window.observations_sql("later", params)}
            ) AND {window.observations_sql("o", params)} AND {_days_window_sql("o.observed_at", wanted, tz, params)}
        ) evidence
        GROUP BY day, GROUPING SETS ({_grouping_sets_sql(OBSERVATION_GRAIN_COLUMNS)})
        HAVING {present}
    """


def _feedback_days_sql(
    wanted: dict[str, set[date] | None], tz: ZoneInfo, window: CountableWindow, params: _Params
) -> str:
    """Answer counts per local day and grain (org, location, touchpoint) over countable customer
    feedback, for every day of the wanted periods."""
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
            FROM {feedback} WHERE {window.feedback_sql(params)} AND {_days_window_sql("submitted_at", wanted, tz, params)}
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


def _window_sql(column: str, kind: str, starts: set[date] | None, tz: ZoneInfo, params: _Params) -> str:
    """`_window` in SQL: ranges of `column` that cover the periods (TRUE for every period)."""
    if starts is None:
        return "TRUE"
    ranges = [
        f"({column} >= {params(low)} AND {column} < {params(high)})"
        for low, high in _window_ranges(kind, starts, tz)
    ]
    return f"({' OR '.join(ranges)})"


def _wanted_sql(starts: set[date] | None, params: _Params, column: str = "period_start") -> str:
    """Keep the periods asked for (the window lets in a day of the neighbouring ones)."""
    return "TRUE" if starts is None else f"{column} = ANY({params(sorted(starts))})"


def _observation_values_sql(params: _Params) -> dict[str, str]:
    """The observation columns of a scorecard from the aggregate `o` (null when it has none); the
    same arithmetic, in the same order, as `_observation_columns`, so the floats are identical."""
    n, passed = "o.n", "o.passed_n"
    pass_rate = f"({passed}::float8 / {n})"
    target_rate = f"((o.target_cents * 0.01 / {n})::float8 / 100)"
    low, high = _wilson_sql(passed, n, params)
    one_standard = ", ".join(_text(grain.grain) for grain in GRAINS if grain.one_standard)
    return {
        "observations": f"COALESCE({n}, 0)",
        "passed": f"COALESCE({passed}, 0)",
        "pass_rate": pass_rate,
        "pass_rate_low": f"CASE WHEN {n} > 0 THEN {low} END",
        "pass_rate_high": f"CASE WHEN {n} > 0 THEN {high} END",
        "mean_value": (
            f"CASE WHEN o.grain IN ({one_standard}) "
            "THEN (o.value_thousandths * 0.001 / NULLIF(o.values_n, 0))::float8 END"
        ),
        "values_n": f"CASE WHEN o.grain IN ({one_standard}) THEN o.values_n ELSE 0 END",
        "value_sum": (
            f"CASE WHEN o.grain IN ({one_standard}) THEN COALESCE(o.value_thousandths * 0.001, 0) ELSE 0 END"
        ),
        "target_rate": target_rate,
        "target_cents": "COALESCE(o.target_cents, 0)",
        "target_met": f"{pass_rate} >= {target_rate} - {params(TARGET_TOLERANCE)}::float8",
        "deviations": "COALESCE(o.deviations_n, 0)",
    }


def _feedback_values_sql(params: _Params) -> dict[str, str]:
    """The feedback columns of a scorecard from the aggregate `f`, as `_feedback_columns` computes them."""
    low, high = _nps_interval_sql("f.promoters", "f.detractors", "f.nps_n", params)
    return {
        "feedback_count": "COALESCE(f.feedback_n, 0)",
        "csat_n": "COALESCE(f.csat_n, 0)",
        "satisfied": "COALESCE(f.satisfied, 0)",
        "promoters": "COALESCE(f.promoters, 0)",
        "detractors": "COALESCE(f.detractors, 0)",
        "csat": "CASE WHEN f.csat_n > 0 THEN 100::float8 * f.satisfied / f.csat_n END",
        "nps_n": "COALESCE(f.nps_n, 0)",
        "nps": "CASE WHEN f.nps_n > 0 THEN 100::float8 * (f.promoters - f.detractors) / f.nps_n END",
        "nps_low": f"CASE WHEN f.nps_n > 0 THEN {low} END",
        "nps_high": f"CASE WHEN f.nps_n > 0 THEN {high} END",
    }


def _wilson_sql(successes: str, n: str, params: _Params) -> tuple[str, str]:
    """`stats.wilson_interval` in SQL, operation for operation (IEEE doubles in both, sqrt exact)."""
    z = f"{params(stats.Z95)}::float8"
    p = f"({successes}::float8 / {n})"
    denom = f"(1 + {z} * {z} / {n})"
    centre = f"(({p} + {z} * {z} / (2 * {n})) / {denom})"
    half = f"({z} / {denom} * sqrt({p} * (1 - {p}) / {n} + {z} * {z} / (4 * {n} * {n})))"
    low = f"CASE WHEN {successes} = 0 THEN 0::float8 ELSE GREATEST(0::float8, {centre} - {half}) END"
    high = f"CASE WHEN {successes} = {n} THEN 1::float8 ELSE LEAST(1::float8, {centre} + {half}) END"
    return low, high


def _nps_interval_sql(promoters: str, detractors: str, n: str, params: _Params) -> tuple[str, str]:
    """The adjusted-Wald interval of `stats.nps` in SQL, operation for operation (``power`` is the
    same C ``pow`` that Python's ``**`` calls)."""
    z = f"{params(stats.Z95)}::float8"
    n_adjusted = f"({n} + 3)"
    p_adjusted = f"(({promoters} + 0.75::float8) / {n_adjusted})"
    d_adjusted = f"(({detractors} + 0.75::float8) / {n_adjusted})"
    difference = f"({p_adjusted} - {d_adjusted})"
    half = f"({z} * sqrt(({p_adjusted} + {d_adjusted} - power({difference}, 2::float8)) / {n_adjusted}))"
    low = f"GREATEST(-100::float8, 100::float8 * ({difference} - {half}))"
    high = f"LEAST(100::float8, 100::float8 * ({difference} + {half}))"
    return low, high


def _text(value: str) -> str:
    """A string literal for names this module owns (period kinds, grains, column names)."""
    if not all(character.isalnum() or character in "_=|" for character in value):
        raise ValueError(f"unexpected character in {value!r}")
    return f"'{value}'"


# --------------------------------------------------------------------------- after commit


def _announce(periods: tuple[tuple[str, date], ...], full: bool) -> None:
    """Tell receivers (the consequences app) which periods changed; a failing receiver is logged,
    never allowed to turn a committed rollup into a failed one."""
    responses = scorecards_rolled_up.send_robust(sender=Scorecard, periods=list(periods), full=full)
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error("scorecards_rolled_up receiver %r failed", receiver, exc_info=response)
