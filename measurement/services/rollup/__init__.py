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
the observations that corrections recorded after it supersede), brings every period containing
one of those days up to date for every grain, and moves the watermark to its own start less
``IN_FLIGHT_MARGIN``. On PostgreSQL it recomputes exactly the day scorecards of those days and adds
each changed day's difference to its week, month and quarter, which always hold the sums of their
days (`postgresql._day_deltas_sql`); the portable path recomputes those periods whole. The margin exists because ``recorded_at`` is set when a row is written, not
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

Either way the result equals a full rebuild (`tests/test_rollup_sequences.py` checks it for any
sequence of intake, corrections and runs): scorecards whose values changed are upserted (which keeps scorecard ids stable: consequences cite
them), those that came out the same are left alone (no write, no dead row, ``computed_at`` kept),
and those that no longer have evidence are deleted.

Stages, one module each
-----------------------
- `measurement.services.rollup.scorecards`: the columns of a scorecard, the grains, and the writes;
- `measurement.services.rollup.evidence`: which evidence a run counts (`CountableWindow`), the rows it
  leaves out (`quarantine`) and the days evidence recorded since the watermark touched;
- `measurement.services.rollup.periods`: days, weeks, months and quarters in the local time zone;
- `measurement.services.rollup.postgresql`: the PostgreSQL path (one statement per run);
- `measurement.services.rollup.portable`: the portable path (SQLite and any other database).

bench/run.py measures both against PostgreSQL's own GROUP BY; bench/RESULTS.md has the figures.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from measurement.models import RollupState, Scorecard
from measurement.signals import scorecards_rolled_up

from . import portable, postgresql
from .evidence import IN_FLIGHT_MARGIN, CountableWindow, days_recorded_since, quarantine
from .periods import period_end, period_start
from .scorecards import Outcome

__all__ = [
    "ADVISORY_LOCK_KEY",
    "IN_FLIGHT_MARGIN",
    "CountableWindow",
    "RollupResult",
    "period_end",
    "period_start",
    "portable",
    "postgresql",
    "scorecards_rollup",
]

logger = logging.getLogger(__name__)

ROLLUP_NAME = "scorecards"
# Key of the PostgreSQL advisory lock that serialises runs: arbitrary, but no other code may use it.
ADVISORY_LOCK_KEY = 7_230_001


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
        quarantined = quarantine(window, now=now, since=None if full else state.watermark)
        days = None if full else days_recorded_since(state.watermark, tz, window)
        outcome = _recompute(days, tz, now, window)
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


def _recompute(days: set[date] | None, tz: ZoneInfo, now: datetime, window: CountableWindow) -> Outcome:
    """Bring the scorecards of every period containing one of `days` (None: of every period) up to
    date, for every grain; the periods reported are all those periods, including any left empty."""
    if connection.vendor == "postgresql":
        return postgresql.recompute_in_postgresql(days, tz, now, window)
    return portable.recompute_with_orm(days, tz, now, window)


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


def _announce(periods: tuple[tuple[str, date], ...], full: bool) -> None:
    """Tell receivers (the consequences app) which periods changed; a failing receiver is logged,
    never allowed to turn a committed rollup into a failed one."""
    responses = scorecards_rolled_up.send_robust(sender=Scorecard, periods=list(periods), full=full)
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error("scorecards_rolled_up receiver %r failed", receiver, exc_info=response)
