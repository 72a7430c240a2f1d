"""What a scorecard holds: its columns, the grains it is computed for, and how scorecards are written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from measurement.models import (
    Grain,
    PeriodKind,
    Scorecard,
)

# Scorecards per INSERT … ON CONFLICT and ids per DELETE (Django lowers it further on SQLite).
BATCH_SIZE = 500
# Pass rate and target are both floats (9 / 10 against 90 / 100): compare with a little slack so
# that a rate exactly on target counts as met whatever the rounding.
TARGET_TOLERANCE = 1e-9

PERIOD_KINDS: tuple[str, ...] = tuple(PeriodKind.values)

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


@dataclass
class Outcome:
    """Scorecards written, found unchanged and deleted, and the periods they belong to."""

    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    periods: set[tuple[str, date]] = field(default_factory=set)

    def add(self, other: Outcome) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.periods |= other.periods


class Writes:
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
