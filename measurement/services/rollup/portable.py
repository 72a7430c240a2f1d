"""The portable path (SQLite, development and most tests; any other database).

On SQLite (development, most tests) and any other database the portable path,
`recompute_with_orm`, computes every aggregate as one ORM ``GROUP BY`` per grain and period kind
over the recomputed periods; Python then works per aggregated row (Wilson and NPS intervals), never
per observation, and writes with ``bulk_create(update_conflicts=True)``. A run that touches all
four period kinds costs about 75 queries — 28 observation aggregates, 12 feedback aggregates, 28
reads of the stored scorecards, the lock, the watermark — plus one INSERT or DELETE per
``BATCH_SIZE`` scorecards changed; a run with nothing new costs about 7. The count grows with
grains × period kinds and with scorecards changed, never with the number of observations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)

from measurement import stats
from measurement.models import (
    Feedback,
    Observation,
    Scorecard,
)

from .evidence import CountableWindow
from .periods import period_of, periods_containing, window_filter
from .scorecards import (
    EMPTY_VALUES,
    GRAINS,
    PERIOD_KINDS,
    TARGET_TOLERANCE,
    VALUE_COLUMNS,
    GrainSpec,
    Outcome,
    Writes,
)


def recompute_with_orm(
    days: set[date] | None, tz: ZoneInfo, now: datetime, window: CountableWindow
) -> Outcome:
    """The portable path (SQLite and any other backend): every period containing one of `days`
    (None: every period) recomputed whole, one ORM aggregate per grain and period kind."""
    periods = None if days is None else periods_containing(days)
    total, writes = Outcome(), Writes()
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


def _rollup_grain(
    grain: GrainSpec,
    kind: str,
    starts: set[date] | None,
    tz: ZoneInfo,
    now: datetime,
    window: CountableWindow,
    writes: Writes,
) -> Outcome:
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
    return Outcome(
        written=len(changed),
        unchanged=len(computed) - len(changed),
        deleted=len(stale),
        periods={(kind, start) for start, _ in [*computed, *stale]},
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
        queryset = queryset.filter(window_filter(column, kind, starts, tz))
    return queryset.annotate(period=period_of(kind, column, tz))


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
