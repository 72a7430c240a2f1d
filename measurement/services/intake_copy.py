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
    ReferenceCheck,
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

# Timestamps rarely repeat in a large file: the memo is emptied when it grows this big.
TIMESTAMP_MEMO_MAX = 50_000
_UNKNOWN = object()  # a memo entry for a text the fast path leaves to the row checker
_MISSING = object()  # no memo entry yet

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

    A row costs four memo look-ups, each keyed by the texts of several fields at once: (location,
    team, employee), (standard, value, passed), (touchpoint, source) and the timestamp. Every id
    a memo entry resolves is noted in `references` (intake.ReferenceCheck), which the writer
    checks before it writes a batch.
    """

    def __init__(
        self, lookups: Lookups, references: ReferenceCheck | None = None, *, recorded_by_id: int | None = None
    ):
        self.lookups = lookups
        self.references = references if references is not None else ReferenceCheck()
        self.non_negotiable = {s.pk for s in lookups.standards.values() if s.non_negotiable}
        self._tail = f"\t{_id_text(recorded_by_id)}"
        self._people: dict[tuple[str, str, str], Any] = {}
        self._verdicts: dict[tuple[str, str, str], Any] = {}
        self._places: dict[tuple[str, str], Any] = {}
        self._timestamps: dict[str, Any] = {}

    # --- memoised meanings of texts; _UNKNOWN leaves the row to the row checker --------------

    def _person(self, key: tuple[str, str, str]):
        """(COPY text of location_id, team_id, employee_id; location_id, team_id, employee_id)."""
        location_text, team_text, employee_text = key
        lookups = self.lookups
        code = location_text.strip()
        location_id = lookups.locations.get(code.upper()) if code else None
        if location_id is None:
            return _UNKNOWN
        team_id = employee_id = None
        if team_name := team_text.strip():
            team_id = lookups.teams.get((location_id, team_name.lower()))
            if team_id is None:
                return _UNKNOWN
        if number := employee_text.strip():
            found = lookups.employees.get(number.upper())
            if found is None or found[1] != location_id:
                return _UNKNOWN
            employee_id = found[0]
            team_id = team_id or found[2]
        self.references.note(location_id=location_id, team_id=team_id, employee_id=employee_id)
        return (
            f"{location_id}\t{_id_text(team_id)}\t{_id_text(employee_id)}",
            location_id,
            team_id,
            employee_id,
        )

    def _verdict(self, key: tuple[str, str, str]):
        """(standard_id, COPY text of standard_id, COPY text from value to critical, whether the
        row opens a deviation) of a standard's code, a value and a stated verdict."""
        code, value_raw, passed_raw = key
        code = code.strip()
        standard = self.lookups.standards.get(code.upper()) if code else None
        if standard is None:
            return _UNKNOWN
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
        self.references.note(standard_id=standard.pk)
        # value, passed, evaluation_id (none), weight, critical (false)
        middle = f"{_copy_text(value)}\t{'t' if passed else 'f'}\t{NULL}\t{_copy_text(standard.weight)}\tf"
        opens = not passed and standard.pk in self.non_negotiable
        return standard.pk, str(standard.pk), middle, opens

    def _place(self, key: tuple[str, str]):
        """(COPY text of touchpoint_id and source) of a touchpoint's slug and a source."""
        slug, source = key[0].strip(), key[1].strip()
        touchpoint_id = None
        if slug:
            touchpoint_id = self.lookups.touchpoints.get(slug)
            if touchpoint_id is None:
                return _UNKNOWN
            self.references.note(touchpoint_id=touchpoint_id)
        if source not in SOURCES:
            return _UNKNOWN
        return f"{_id_text(touchpoint_id)}\t{source}"

    def _timestamp(self, text: str):
        shown = text.strip()
        if not shown:
            return _UNKNOWN
        lookups = self.lookups
        try:  # what _parse_datetime tries first, without its layers: most rows need only this
            moment = datetime.fromisoformat(shown)
        except ValueError:
            moment = None
        # fromisoformat() gives a fixed offset or none: no tzinfo is what "naive" means here.
        if moment is None or moment.tzinfo is None:
            try:
                moment = _parse_datetime(shown)
            except (ValueError, OverflowError):  # the row checker says what is wrong
                return _UNKNOWN
        if not lookups.earliest_allowed <= moment <= lookups.latest_allowed:
            return _UNKNOWN
        return moment, moment.isoformat()

    # --- rows ---------------------------------------------------------------------------------

    def accept(self, values: Sequence[str]) -> Prepared | None:
        """A row of 11 texts in OBSERVATION_FIELDS order, or None for the row checker."""
        joined = "".join(values)
        # Non-ASCII text or NUL: the row checker's screening decides what may be stored.
        if not joined.isascii() or "\x00" in joined:
            return None
        # Each memo inline (get, then compute on a miss): this runs for every row of a file.
        key = (values[LOCATION], values[TEAM], values[EMPLOYEE])
        person = self._people.get(key, _MISSING)
        if person is _MISSING:
            person = self._people[key] = self._person(key)
        if person is _UNKNOWN:
            return None
        key = (values[STANDARD], values[VALUE], values[PASSED])
        verdict = self._verdicts.get(key, _MISSING)
        if verdict is _MISSING:
            verdict = self._verdicts[key] = self._verdict(key)
        if verdict is _UNKNOWN:
            return None
        key = (values[TOUCHPOINT], values[SOURCE])
        place = self._places.get(key, _MISSING)
        if place is _MISSING:
            place = self._places[key] = self._place(key)
        if place is _UNKNOWN:
            return None
        timestamps = self._timestamps
        observed = timestamps.get(values[OBSERVED_AT], _MISSING)
        if observed is _MISSING:
            if len(timestamps) >= TIMESTAMP_MEMO_MAX:
                timestamps.clear()
            observed = timestamps[values[OBSERVED_AT]] = self._timestamp(values[OBSERVED_AT])
        if observed is _UNKNOWN:
            return None
        external_id = values[EXTERNAL_ID].strip()
        if len(external_id) > EXTERNAL_ID_MAX:
            return None
        comment = values[COMMENT].strip()
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:  # rare: escape
            external_text, comment_text = _copy_text(external_id), _copy_text(comment)
        else:
            external_text, comment_text = external_id, comment
        standard_id, standard_text, middle, opens = verdict
        # The columns of PREPARED_COLUMNS, in order.
        text = (
            f"{standard_text}\t{person[0]}\t{place}\t{observed[1]}\t{middle}\t{comment_text}\t"
            f"{external_text if external_id else NULL}{self._tail}"
        )
        deviation = (standard_id, person[1], person[2], person[3], observed[0]) if opens else None
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
