"""The fast path of observation intake: plainly valid rows straight to COPY text.

Most rows of a large file repeat the same few codes, sources, verdicts and values. This
checker memoises what each distinct text means (a location code, a standard with its weight,
a value against a standard) and writes a row's COPY text directly from those memos, with no
mapping and no model instance per row.

It accepts only what it can be sure of: plain ASCII text that the row checker
(`intake._observation_from_row`) would accept. Every other row, whatever is wrong with it or
merely unusual about it, is handed back (`None`) so that the row checker decides, and a bad row
is reported with exactly the same messages as before. For the rows it does accept, the COPY
text is byte for byte what the row checker's output is written as (tests/test_intake_fast_copy.py
compares both on generated rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from standards.models import MeasureKind

from .intake import (
    EXTERNAL_ID_MAX,
    OBSERVATION_COLUMNS,
    OBSERVATION_FIELDS,
    SOURCES,
    VALUE_FIELD,
    Lookups,
    _copy_text,
    _parse_bool,
    _parse_datetime,
    _parse_decimal,
)

# One checked row: (external id or None, its COPY text from standard_id to recorded_by_id, the
# deviation it opens as (standard_id, location_id, team_id, employee_id, detected_at) or None).
Prepared = tuple[str | None, str, tuple | None]

# The columns a prepared row's text holds: all but recorded_at, which is stamped per batch.
PREPARED_COLUMNS = OBSERVATION_COLUMNS[:-1]
assert OBSERVATION_COLUMNS[-1] == "recorded_at"

# Positions of the fields in a row given as a sequence in OBSERVATION_FIELDS order.
(
    EXTERNAL_ID,
    STANDARD,
    LOCATION,
    TEAM,
    EMPLOYEE,
    TOUCHPOINT,
    SOURCE,
    OBSERVED_AT,
    VALUE,
    PASSED,
    COMMENT,
) = range(len(OBSERVATION_FIELDS))
FIELD_SET = frozenset(OBSERVATION_FIELDS)

# Characters COPY's text format escapes: a text holding none of them is written as it is.
_COPY_SPECIAL = frozenset("\\\t\n\r")
# Timestamps rarely repeat in a large file: the memo is emptied when it grows this big.
TIMESTAMP_MEMO_MAX = 50_000
_UNKNOWN = object()  # a memo entry for a text the fast path leaves to the row checker

NULL = "\\N"


def prepared_from_checked(row: Mapping[str, Any], non_negotiable: set[int]) -> Prepared:
    """A row checked by the row checker (a dict of column values) as a prepared row."""
    text = "\t".join(_copy_text(row[column]) for column in PREPARED_COLUMNS)
    deviation = None
    if not row["passed"] and row["standard_id"] in non_negotiable:
        deviation = (
            row["standard_id"],
            row["location_id"],
            row["team_id"],
            row["employee_id"],
            row["observed_at"],
        )
    return row["external_id"], text, deviation


def copy_lines(pks: Sequence[int], rows: Sequence[Prepared], recorded_at: datetime) -> str:
    """The COPY text of prepared rows with their ids and the batch's recorded_at."""
    tail = f"\t{_copy_text(recorded_at)}\n"
    return "".join(f"{pk}\t{text}{tail}" for pk, (_, text, _) in zip(pks, rows, strict=True))


def _id_text(pk: int | None) -> str:
    return NULL if pk is None else str(pk)


class FastObservationChecker:
    """Checks plainly valid observation rows against memoised lookups; see the module docstring.

    `accept(values)` takes the 11 fields in OBSERVATION_FIELDS order as text, `accept_mapping(raw)`
    an API item; both return a Prepared row, or None to say "ask the row checker".
    """

    def __init__(self, lookups: Lookups, *, recorded_by_id: int | None = None):
        self.lookups = lookups
        self.non_negotiable = {s.pk for s in lookups.standards.values() if s.non_negotiable}
        self._recorded_by = _id_text(recorded_by_id)
        self._standards_by_pk = {s.pk: s for s in lookups.standards.values()}
        self._standards: dict[str, Any] = {}
        self._locations: dict[str, Any] = {}
        self._teams: dict[tuple[int, str], Any] = {}
        self._employees: dict[tuple[int, str], Any] = {}
        self._touchpoints: dict[str, Any] = {}
        self._sources: dict[str, Any] = {}
        self._timestamps: dict[str, Any] = {}
        self._verdicts: dict[tuple[int, str, str], Any] = {}

    # --- memoised meanings of one text; _UNKNOWN leaves the row to the row checker ----------

    def _standard(self, text: str):
        code = text.strip()
        standard = self.lookups.standards.get(code.upper()) if code else None
        if standard is None:
            return _UNKNOWN
        return standard, str(standard.pk), _copy_text(standard.weight), standard.pk in self.non_negotiable

    def _location(self, text: str):
        code = text.strip()
        pk = self.lookups.locations.get(code.upper()) if code else None
        return _UNKNOWN if pk is None else pk

    def _team(self, key: tuple[int, str]):
        location_id, text = key
        name = text.strip()
        if not name:
            return None
        pk = self.lookups.teams.get((location_id, name.lower()))
        return _UNKNOWN if pk is None else pk

    def _employee(self, key: tuple[int, str]):
        location_id, text = key
        number = text.strip()
        if not number:
            return None
        found = self.lookups.employees.get(number.upper())
        if found is None or found[1] != location_id:
            return _UNKNOWN
        return found[0], found[2]

    def _touchpoint(self, text: str):
        slug = text.strip()
        if not slug:
            return None
        pk = self.lookups.touchpoints.get(slug)
        return _UNKNOWN if pk is None else pk

    def _source(self, text: str):
        source = text.strip()
        return source if source in SOURCES else _UNKNOWN

    def _timestamp(self, text: str):
        shown = text.strip()
        if not shown:
            return _UNKNOWN
        lookups = self.lookups
        try:
            moment = _parse_datetime(shown)
            if not lookups.earliest_allowed <= moment <= lookups.latest_allowed:
                return _UNKNOWN
            return moment, _copy_text(moment)
        except (ValueError, OverflowError):  # the row checker says what is wrong
            return _UNKNOWN

    def _verdict(self, key: tuple[int, str, str]):
        """(value's COPY text, passed) of a value and a stated verdict against one standard."""
        standard_id, value_raw, passed_raw = key
        standard = self._standards_by_pk[standard_id]
        try:
            value = _parse_decimal(value_raw, VALUE_FIELD) if value_raw.strip() else None
            passed = _parse_bool(passed_raw) if passed_raw.strip() else None
        except (ValueError, OverflowError):
            return _UNKNOWN
        if standard.measure_kind == MeasureKind.PASS_FAIL:
            if passed is None:
                return _UNKNOWN
        else:
            if value is None or (standard.measure_kind == MeasureKind.RATING and not 1 <= value <= 5):
                return _UNKNOWN
            computed = standard.passes(value)
            if passed is not None and passed != computed:
                return _UNKNOWN
            passed = computed
        return _copy_text(value), passed

    @staticmethod
    def _memo(memo: dict, key, compute):
        found = memo.get(key, _UNKNOWN)
        if found is _UNKNOWN and key not in memo:
            found = memo[key] = compute(key)
        return found

    # --- rows ---------------------------------------------------------------------------------

    def accept(self, values: Sequence[str]) -> Prepared | None:
        """A row of 11 texts in OBSERVATION_FIELDS order, or None for the row checker."""
        joined = "".join(values)
        # Non-ASCII text or NUL: the row checker's screening decides what may be stored.
        if not joined.isascii() or "\x00" in joined:
            return None
        memo = self._memo
        standard = memo(self._standards, values[STANDARD], self._standard)
        if standard is _UNKNOWN:
            return None
        location_id = memo(self._locations, values[LOCATION], self._location)
        if location_id is _UNKNOWN:
            return None
        team_id = memo(self._teams, (location_id, values[TEAM]), self._team)
        if team_id is _UNKNOWN:
            return None
        employee = memo(self._employees, (location_id, values[EMPLOYEE]), self._employee)
        if employee is _UNKNOWN:
            return None
        employee_id = None
        if employee is not None:
            employee_id = employee[0]
            team_id = team_id or employee[1]
        touchpoint_id = memo(self._touchpoints, values[TOUCHPOINT], self._touchpoint)
        if touchpoint_id is _UNKNOWN:
            return None
        source = memo(self._sources, values[SOURCE], self._source)
        if source is _UNKNOWN:
            return None
        timestamps = self._timestamps
        if len(timestamps) >= TIMESTAMP_MEMO_MAX:
            timestamps.clear()
        observed = memo(timestamps, values[OBSERVED_AT], self._timestamp)
        if observed is _UNKNOWN:
            return None
        standard, standard_text, weight_text, non_negotiable = standard
        verdict = memo(self._verdicts, (standard.pk, values[VALUE], values[PASSED]), self._verdict)
        if verdict is _UNKNOWN:
            return None
        value_text, passed = verdict
        external_id = values[EXTERNAL_ID].strip()
        if len(external_id) > EXTERNAL_ID_MAX:
            return None
        comment = values[COMMENT].strip()
        if not _COPY_SPECIAL.isdisjoint(joined):  # rare: escape what needs it
            external_text, comment_text = _copy_text(external_id), _copy_text(comment)
        else:
            external_text, comment_text = external_id, comment
        # The columns of PREPARED_COLUMNS, in order; evaluation_id is NULL and critical false.
        text = (
            f"{standard_text}\t{location_id}\t{_id_text(team_id)}\t{_id_text(employee_id)}\t"
            f"{_id_text(touchpoint_id)}\t{source}\t{observed[1]}\t{value_text}\t{'t' if passed else 'f'}\t"
            f"{NULL}\t{weight_text}\tf\t{comment_text}\t{external_text if external_id else NULL}\t"
            f"{self._recorded_by}"
        )
        deviation = None
        if non_negotiable and not passed:
            deviation = (standard.pk, location_id, team_id, employee_id, observed[0])
        return external_id or None, text, deviation

    def accept_mapping(self, raw: Any) -> Prepared | None:
        """An API item (a JSON object), or None for the row checker."""
        if type(raw) is not dict or not FIELD_SET.issuperset(raw):
            return None
        values = []
        for name in OBSERVATION_FIELDS:
            value = raw.get(name)
            if type(value) is str:
                values.append(value)
            elif value is None:
                values.append("")
            elif name == "passed" and type(value) is bool:
                values.append("true" if value else "false")
            elif name == "value" and type(value) is int and value.bit_length() <= 64:
                values.append(str(value))
            else:
                return None
        return self.accept(values)
