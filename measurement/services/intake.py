"""Intake of evidence: one service layer for every channel (API, CSV import, forms, demo data).

Rows arrive as plain mappings of JSON-like values (strings from a CSV file, strings, numbers
and booleans from the API). Every row is checked here, against lookups loaded once per batch,
so that a channel cannot skip a rule and every channel reports the same messages. A batch is
all-or-nothing: if any row is bad, nothing is written and every bad row is reported with its
position and field.

Idempotency: a row whose `external_id` is already stored is counted as a duplicate and not
written again. The standard, location, team, employee and touchpoint an observation refers to
are checked once per batch, not by foreign-key constraints (ReferenceCheck says what that
guarantees and to whom). A failed observation of a non-negotiable standard creates its deviation in
the same transaction.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from organization.models import Employee, Location, Team
from organization.validators import (
    decimal_problem,
    earliest_timestamp,
    latest_timestamp,
    text_problem,
    timestamp_problem,
)
from standards.models import MeasureKind, Standard
from standards.models import Status as StandardStatus
from touchpoints.models import Touchpoint

from ..models import (
    CONTACT_WITHOUT_DETAILS,
    Deviation,
    Evaluation,
    EvaluationMethod,
    Feedback,
    FeedbackChannel,
    Observation,
    Source,
)
from ..signals import feedback_received
from .freshness import rollup_soon

SOURCES = frozenset(Source.values)
EVALUATION_METHODS = frozenset(EvaluationMethod.values)
FEEDBACK_CHANNELS = frozenset(FeedbackChannel.values)

EXTERNAL_ID_MAX = 100
# The columns' own sizes, so that a number is refused here rather than by the database.
VALUE_FIELD = Observation._meta.get_field("value")
WEIGHT_FIELD = Observation._meta.get_field("weight")
CONTACT_NAME_MAX = Feedback._meta.get_field("contact_name").max_length
CONTACT_EMAIL_MAX = Feedback._meta.get_field("contact_email").max_length
# A value is one JSON-like scalar; lists and objects are refused by name.
SCALARS = (str, int, float, Decimal, bool, datetime, date)
# Longer than any number a column here can hold: refused before it is parsed at all.
NUMBER_TEXT_MAX = 60

# Above this, a batch is refused outright: the API promises at most 5,000 items per call.
MAX_BATCH = 5000
BULK_BATCH_SIZE = 2000
TRUE_WORDS = {"true", "1", "yes", "y", "pass", "passed"}
FALSE_WORDS = {"false", "0", "no", "n", "fail", "failed"}


@dataclass(frozen=True)
class RowError:
    """One problem with one row: `row` is the caller's numbering (item index or file line)."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


@dataclass
class IntakeResult:
    created: int = 0
    duplicates: int = 0
    deviations: int = 0
    errors: list[RowError] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class IntakeError(Exception):
    """Raised inside the intake transaction to roll it back; carries every row error."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} bad row(s); nothing was saved")
        self.errors = errors


# --- value parsing -------------------------------------------------------------------------


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else str(value).strip()


ISO_EXAMPLE = "use ISO 8601, e.g. 2026-03-31T14:05:00+01:00"


def _parse_datetime(value: str) -> datetime:
    """ISO 8601; a time without an offset is read in the organisation's time zone."""
    try:
        parsed = parse_datetime(value)
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
    except (ValueError, OverflowError) as exc:  # 2026-02-30, hour 25, offset +25:00
        raise ValueError(f"“{value}” is not a date and time ({exc}); {ISO_EXAMPLE}.") from None
    if parsed is None:
        raise ValueError(f"“{value}” is not a date and time; {ISO_EXAMPLE}.")
    return parsed


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"“{value}” is not true or false.")


def _parse_decimal(value: Any, column=None) -> Decimal:
    """A finite number; with `column` (a DecimalField), one that fits it."""
    if isinstance(value, bool):
        raise ValueError(f"“{value}” is not a number.")
    text = str(value).strip()
    if len(text) > NUMBER_TEXT_MAX:
        raise ValueError(f"“{text[:20]}…” is not a number a column can hold ({len(text)} characters).")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{value}” is not a number.") from None
    if not number.is_finite():
        raise ValueError(f"“{value}” is not a finite number.")
    if column is not None and (
        problem := decimal_problem(number, max_digits=column.max_digits, decimal_places=column.decimal_places)
    ):
        raise ValueError(problem)
    return number


def _parse_int(value: Any, low: int, high: int) -> int:
    text = "" if isinstance(value, bool) else str(value).strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > NUMBER_TEXT_MAX:
        raise ValueError(f"“{value}” is not a whole number.")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"{number} is outside {low}–{high}.")
    return number


# --- lookups -------------------------------------------------------------------------------


@dataclass
class Lookups:
    """Reference data loaded once per batch, so checking a row costs no query."""

    standards: dict[str, Standard]
    locations: dict[str, int]
    teams: dict[tuple[int, str], int]
    employees: dict[str, tuple[int, int, int | None]]
    touchpoints: dict[str, int]
    # The window of accepted times, computed once per batch (organization.validators).
    earliest_allowed: datetime = field(default_factory=earliest_timestamp)
    latest_allowed: datetime = field(default_factory=latest_timestamp)

    @classmethod
    def load(cls) -> Lookups:
        return cls(
            standards={s.code.upper(): s for s in Standard.objects.exclude(status=StandardStatus.DRAFT)},
            locations={code.upper(): pk for pk, code in Location.objects.values_list("pk", "code")},
            teams={
                (loc, name.lower()): pk
                for pk, loc, name in Team.objects.values_list("pk", "location_id", "name")
            },
            employees={
                number.upper(): (pk, location_id, team_id)
                for pk, number, location_id, team_id in Employee.objects.values_list(
                    "pk", "employee_number", "location_id", "team_id"
                )
            },
            touchpoints=dict(Touchpoint.objects.values_list("slug", "pk")),
        )


class _RowChecker:
    """Collects the errors of one row, field by field, so all of them are reported at once."""

    def __init__(self, row: int):
        self.row = row
        self.errors: list[RowError] = []
        # Fields refused by `screen`: they were left out, so no further message about them.
        self.screened: set[str] = set()

    def error(self, field_name: str, message: str) -> None:
        if field_name not in self.screened:
            self.errors.append(RowError(self.row, field_name, message))

    def screen(self, raw: Any, names: Iterable[str]) -> dict[str, Any]:
        """The row's values of `names` that a column could hold at all: one scalar each, text
        PostgreSQL can store. Others are reported once, by field, and left out."""
        if not isinstance(raw, Mapping):
            self.error("__all__", "An item is an object of named fields, not a list or a single value.")
            self.screened.update(names)
            return {}
        # The common case first, cheaply: a row of plain ASCII text without NUL (a CSV line).
        try:
            joined = "".join(raw.values())
        except TypeError:  # a value that is not text: look at each one
            joined = None
        if joined is not None and joined.isascii() and "\x00" not in joined:
            return raw
        kept: dict[str, Any] = {}
        for name in names:
            value = raw.get(name)
            if value is None:
                continue
            if type(value) is str and value.isascii() and "\x00" not in value:
                kept[name] = value
                continue
            if not isinstance(value, SCALARS):
                self.error(name, "Give one value here, not a list or an object.")
            elif isinstance(value, str) and (problem := text_problem(value)):
                self.error(name, problem)
            elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
                self.error(name, "This number is far larger than any column holds.")
            else:
                kept[name] = value
                continue
            self.screened.add(name)
        return kept

    def timestamp(self, name: str, text: str, lookups: Lookups) -> datetime | None:
        """A time in the accepted window (INTAKE_EARLIEST to now + INTAKE_FUTURE_TOLERANCE)."""
        moment = self.parse(name, _parse_datetime, text)
        if moment is not None:
            problem = timestamp_problem(
                moment, earliest=lookups.earliest_allowed, latest=lookups.latest_allowed, shown=text
            )
            if problem:
                self.error(name, problem)
                return None
        return moment

    def required(self, raw: Mapping[str, Any], name: str) -> str:
        value = _text(raw, name)
        if not value:
            self.error(name, "This field is required.")
        return value

    def at_most(self, name: str, value: str, limit: int) -> str:
        if len(value) > limit:
            self.error(name, f"At most {limit} characters (this has {len(value)}).")
        return value

    def parse(self, name: str, parser, value, *args):
        try:
            return parser(value, *args)
        except (ValueError, OverflowError) as exc:
            self.error(name, str(exc))
            return None


# --- observations --------------------------------------------------------------------------

OBSERVATION_FIELDS = (
    "external_id",
    "standard",
    "location",
    "team",
    "employee",
    "touchpoint",
    "source",
    "observed_at",
    "value",
    "passed",
    "comment",
)
# An evaluation item also carries its weight and whether it is critical.
OBSERVATION_ROW_FIELDS = (*OBSERVATION_FIELDS, "weight", "critical")


def _observation_from_row(
    raw: Mapping[str, Any], row: int, lookups: Lookups, reported: Iterable[str] = ()
) -> tuple[Observation | None, list]:
    check = _RowChecker(row)
    check.screened.update(reported)  # refused already, elsewhere (an evaluation's own fields)
    raw = check.screen(raw, OBSERVATION_ROW_FIELDS)
    standard_code = check.required(raw, "standard")
    standard = lookups.standards.get(standard_code.upper()) if standard_code else None
    if standard_code and standard is None:
        check.error("standard", f"No active or retired standard has the code “{standard_code}”.")

    location_code = check.required(raw, "location")
    location_id = lookups.locations.get(location_code.upper()) if location_code else None
    if location_code and location_id is None:
        check.error("location", f"No location has the code “{location_code}”.")

    team_id = employee_id = touchpoint_id = None
    if team_name := _text(raw, "team"):
        team_id = lookups.teams.get((location_id, team_name.lower()))
        if location_id and team_id is None:
            check.error("team", f"Location {location_code} has no team called “{team_name}”.")
    if employee_number := _text(raw, "employee"):
        found = lookups.employees.get(employee_number.upper())
        if found is None:
            check.error("employee", f"No employee has the number “{employee_number}”.")
        elif location_id and found[1] != location_id:
            check.error("employee", f"Employee {employee_number} does not work at {location_code}.")
        else:
            employee_id = found[0]
            team_id = team_id or found[2]
    if slug := _text(raw, "touchpoint"):
        touchpoint_id = lookups.touchpoints.get(slug)
        if touchpoint_id is None:
            check.error("touchpoint", f"No touchpoint has the slug “{slug}”.")

    source = check.required(raw, "source")
    if source and source not in SOURCES:
        check.error("source", f"“{source}” is not one of: {', '.join(Source.values)}.")
        source = ""

    observed_text = check.required(raw, "observed_at")
    observed_at = check.timestamp("observed_at", observed_text, lookups) if observed_text else None

    value_text = _text(raw, "value")
    value = check.parse("value", _parse_decimal, raw.get("value"), VALUE_FIELD) if value_text else None
    passed_text = _text(raw, "passed")
    passed = check.parse("passed", _parse_bool, raw.get("passed")) if passed_text else None

    if standard is not None:
        passed = _judge(standard, value, passed, value_text, passed_text, check)

    external_id = check.at_most("external_id", _text(raw, "external_id"), EXTERNAL_ID_MAX) or None
    comment = _text(raw, "comment")

    if check.errors:
        return None, check.errors
    return (
        {
            "standard_id": standard.pk,
            "location_id": location_id,
            "team_id": team_id,
            "employee_id": employee_id,
            "touchpoint_id": touchpoint_id,
            "source": source,
            "observed_at": observed_at,
            "value": value,
            "passed": passed,
            "weight": standard.weight,
            "critical": False,
            "comment": comment,
            "external_id": external_id,
            "evaluation_id": None,
            "recorded_by_id": None,
        },
        [],
    )


def _judge(standard: Standard, value, passed, value_text, passed_text, check: _RowChecker) -> bool | None:
    """Whether the observation passed: stated for pass/fail standards, computed from the value
    for rating and numeric ones (a stated verdict must then agree with the value)."""
    if standard.measure_kind == MeasureKind.PASS_FAIL:
        if not passed_text:
            check.error("passed", f"{standard.code} is pass/fail: say whether it passed (true or false).")
        return passed
    if not value_text:
        check.error("value", f"{standard.code} is measured as {standard.measure_summary}: give the value.")
        return None
    if value is None:
        return None
    if standard.measure_kind == MeasureKind.RATING and not 1 <= value <= 5:
        check.error("value", f"{value} is not on the 1–5 rating scale.")
        return None
    computed = standard.passes(value)
    if passed is not None and passed != computed:
        check.error(
            "passed", f"passed={passed} disagrees with value {value} against {standard.measure_summary}."
        )
    return computed


def observations_ingest(
    rows: Iterable[tuple[int, Any]],
    *,
    recorded_by=None,
    evaluation: Evaluation | None = None,
    lookups: Lookups | None = None,
    max_rows: int | None = None,
    columns: Sequence[str] | None = None,
) -> IntakeResult:
    """Check and store observations, all or nothing.

    `rows` yields (row number, mapping) pairs; the number is what errors refer to (an API item
    index or a CSV line). With `columns` (a CSV file's header), each row is instead the sequence
    of its values in that order. Returns an IntakeResult: on any bad row, `errors` lists every one
    of them and nothing is saved; otherwise `created`, `duplicates` (rows whose external id was
    already stored) and `deviations` created.

    On PostgreSQL, rows go through the fast path (intake_copy) first; whatever it does not accept
    is checked here by `_observation_from_row`, so the messages are the same either way. A row
    referring to a standard, location, team, employee or touchpoint deleted while the batch was
    being checked is reported as if the deletion had come first (ReferenceCheck).
    """
    result = IntakeResult()
    rows_of = _ObservationRows(lookups or Lookups.load(), recorded_by, columns)
    try:
        with transaction.atomic(), _ObservationWriter(result, rows_of.lookups, rows_of.references) as writer:
            pending: list = []
            pending_rows: list = []  # the (row, raw) items of `pending`, to check again if need be
            seen: dict[str, int] = {}
            for count, item in enumerate(rows, start=1):
                row, raw = item
                if max_rows is not None and count > max_rows:
                    result.errors.append(RowError(row, "__all__", f"A batch holds at most {max_rows} items."))
                    break
                observation = rows_of.fast_accept(raw) if rows_of.fast is not None else None
                if observation is None:
                    observation = rows_of.checked(row, raw, result.errors)
                    if observation is None:
                        continue
                external_id = observation[0] if type(observation) is tuple else observation["external_id"]
                if external_id:
                    if external_id in seen:
                        message = f"Repeats the external id of row {seen[external_id]}."
                        result.errors.append(RowError(row, "external_id", message))
                        continue
                    seen[external_id] = row
                if result.errors:
                    # Checking goes on so that every bad row is reported, but nothing is written.
                    continue
                pending.append(observation)
                pending_rows.append(item)
                # Keep memory flat on large files.
                if len(pending) >= BULK_BATCH_SIZE:
                    rows_of.write(writer, pending, pending_rows, result.errors)
                    pending, pending_rows = [], []
            if not result.errors:
                rows_of.write(writer, pending, pending_rows, result.errors)
            if result.errors:
                raise IntakeError(result.errors)
            rollup_soon()
    except IntakeError:
        return IntakeResult(errors=result.errors)
    return result


class _ObservationRows:
    """How observations_ingest checks and writes its rows: the fast path first (PostgreSQL), else
    the row checker; and checking a batch again when a row it refers to has been deleted."""

    def __init__(self, lookups: Lookups, recorded_by, columns: Sequence[str] | None):
        self.recorded_by_id = recorded_by.pk if recorded_by is not None else None
        self.references = ReferenceCheck()
        self.columns = tuple(columns) if columns is not None else None
        self.fast_accept = None
        self.fast = None
        self._load(lookups)

    def _load(self, lookups: Lookups) -> None:
        self.lookups = lookups
        if connection.vendor != "postgresql":  # the fast path writes COPY text, which only it reads
            return
        # Imported here: intake_copy builds on this module's parsers.
        from .intake_copy import FastObservationChecker

        self.fast = fast = FastObservationChecker(
            lookups, self.references, recorded_by_id=self.recorded_by_id
        )
        columns = self.columns
        if columns is None:
            self.fast_accept = fast.accept_mapping
        elif columns == OBSERVATION_FIELDS:
            self.fast_accept = fast.accept
        else:
            # The fields in OBSERVATION_FIELDS order; a column the file lacks reads the "" appended.
            canonical = itemgetter(*(columns.index(f) if f in columns else -1 for f in OBSERVATION_FIELDS))
            accept = fast.accept
            self.fast_accept = lambda values: accept(canonical([*values, ""]))

    def checked(self, row: int, raw: Any, errors: list[RowError]):
        """The row checked by the row checker, in the writer's form; None (errors added) if bad."""
        mapping = dict(zip(self.columns, raw, strict=False)) if self.columns is not None else raw
        observation, row_errors = _observation_from_row(mapping, row, self.lookups)
        if row_errors:
            errors.extend(row_errors)
            return None
        observation["recorded_by_id"] = self.recorded_by_id
        if self.fast is None:
            return observation
        from .intake_copy import prepared_from_checked

        self.references.note_row(observation)
        return prepared_from_checked(observation, self.fast.non_negotiable)

    def write(self, writer: _ObservationWriter, pending: list, pending_rows: list, errors: list) -> None:
        """Write one batch; if a row refers to a row deleted since the lookups were loaded, check
        the batch again against the data as it is now, and report its rows or write them."""
        while True:
            try:
                writer.write(pending, prepared=self.fast is not None)
                return
            except ReferenceVanished:
                self._load(Lookups.load())
                rechecked = []
                for row, raw in pending_rows:
                    observation = self.fast_accept(raw) if self.fast is not None else None
                    rechecked.append(observation or self.checked(row, raw, errors))
                if errors:
                    return
                pending = rechecked


OBSERVATION_COLUMNS = (
    "standard_id",
    "location_id",
    "team_id",
    "employee_id",
    "touchpoint_id",
    "source",
    "observed_at",
    "value",
    "passed",
    "evaluation_id",
    "weight",
    "critical",
    "comment",
    "external_id",
    "recorded_by_id",
    "recorded_at",
)


def _write_observations(batch: list[dict], result: IntakeResult, lookups: Lookups) -> None:
    """Store checked rows, skipping external ids already stored, and their deviations."""
    with _ObservationWriter(result, lookups, ReferenceCheck()) as writer:
        writer.write(batch)


# The references an observation's row resolves from codes, which have no foreign-key constraint.
REFERENCES = (
    ("standard_id", Standard),
    ("location_id", Location),
    ("team_id", Team),
    ("employee_id", Employee),
    ("touchpoint_id", Touchpoint),
)


class ReferenceVanished(Exception):
    """A row of the batch refers to a standard, location, team, employee or touchpoint that was
    deleted after the lookups were loaded: the caller checks its rows again."""


class ReferenceCheck:
    """What replaces the foreign-key constraints of Observation.standard, location, team,
    employee and touchpoint (migration 0010 dropped them: their per-row triggers were half the
    time of writing a large file).

    The writer of observations (the only one: every channel writes through this module) calls
    `check()` before each batch. One statement reads the referenced rows noted since the last
    check and, on PostgreSQL, takes `FOR KEY SHARE` on them until the transaction ends, as the
    constraint's own per-row check does: a concurrent delete of one of them waits for the intake
    to end. A row already deleted is missing from the answer: `ReferenceVanished`, and the caller
    checks the batch again against fresh lookups, so the rows are reported with the row checker's
    message ("No location has the code …", same field, same line) and nothing is written. Rows
    checked once stay locked, so each id costs one check per transaction, not one per row.

    The other half of a constraint, for every writer of the referenced tables: triggers
    (migration 0010, PostgreSQL) refuse to delete a row, or change its id, while an observation
    refers to it. A delete waiting on the intake's lock runs its trigger after the intake's
    commit and sees its rows (READ COMMITTED, Django's default; a REPEATABLE READ deleter would
    not see them, which the constraint's cross-check did). ORM deletes meet on_delete=PROTECT
    before that, as before. Not covered: TRUNCATE of a referenced table, and observations
    written without this module (raw SQL, or the ORM's own `Observation.objects.create()` as the
    test factories use it with objects they have just made); the admin cannot add observations. On SQLite there is no trigger (one naming the observation
    table would break Django's table rebuilds in later migrations); there every write
    transaction takes the database lock first (BEGIN IMMEDIATE), so the check here and an ORM
    delete in a transaction cannot interleave.
    """

    def __init__(self):
        self._noted: list[set[int]] = [set() for _ in REFERENCES]
        self._held: list[set[int]] = [set() for _ in REFERENCES]

    def note(self, *, standard_id=None, location_id=None, team_id=None, employee_id=None, touchpoint_id=None):
        """Ids a row about to be written refers to (None: no reference)."""
        for noted, pk in zip(
            self._noted, (standard_id, location_id, team_id, employee_id, touchpoint_id), strict=True
        ):
            if pk is not None:
                noted.add(pk)

    def note_row(self, row: Mapping[str, Any]) -> None:
        """The ids a checked row (a dict of column values) refers to."""
        for noted, (column, _) in zip(self._noted, REFERENCES, strict=True):
            if (pk := row[column]) is not None:
                noted.add(pk)

    def noted(self) -> dict[str, set[int]]:
        """The ids noted since the last check, by column."""
        return {column: set(ids) for (column, _), ids in zip(REFERENCES, self._noted, strict=True)}

    def check(self) -> None:
        """Check (and on PostgreSQL lock) the ids noted since the last check; raise
        ReferenceVanished if one of them no longer exists."""
        wanted = [noted - held for noted, held in zip(self._noted, self._held, strict=True)]
        for noted in self._noted:
            noted.clear()
        if not any(wanted):
            return
        found = _existing_references(wanted)
        if any(ids - present for ids, present in zip(wanted, found, strict=True)):
            raise ReferenceVanished
        for held, present in zip(self._held, found, strict=True):
            held |= present


def _existing_references(wanted: list[set[int]]) -> list[set[int]]:
    """Which of the wanted ids (one set per REFERENCES entry) exist; on PostgreSQL one statement
    that also takes FOR KEY SHARE on them (sorted, so concurrent intakes lock in one order)."""
    asked = [(i, model) for i, (_, model) in enumerate(REFERENCES) if wanted[i]]
    found: list[set[int]] = [set() for _ in REFERENCES]
    if connection.vendor == "postgresql":
        selects = ", ".join(
            f"ARRAY(SELECT id FROM {model._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE)"
            for _, model in asked
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {selects}", [sorted(wanted[i]) for i, _ in asked])
            for (i, _), ids in zip(asked, cursor.fetchone(), strict=True):
                found[i] = set(ids)
        return found
    for i, model in asked:
        found[i] = set(model.objects.filter(pk__in=wanted[i]).order_by().values_list("pk", flat=True))
    return found


class _ObservationWriter:
    """Stores batches of checked observations, skipping external ids already stored, with the
    deviations of the failed non-negotiable ones; counts go to `result`. Use it as a context
    manager: leaving it waits for the last batch. Before each batch, `references` checks the
    rows it refers to (ReferenceCheck; ReferenceVanished if one was deleted, nothing written).

    On PostgreSQL a batch's COPY runs in a background thread, so that the database inserts and
    indexes one batch while this process checks the next, and both cores of a small server work.
    The connection is never used by two threads at once: every query waits for the COPY under way
    first (`_wait`).
    """

    def __init__(self, result: IntakeResult, lookups: Lookups, references: ReferenceCheck):
        self.result = result
        self.references = references
        self.non_negotiable = {s.pk for s in lookups.standards.values() if s.non_negotiable}
        self._copy: threading.Thread | None = None
        self._copy_error: BaseException | None = None

    def __enter__(self) -> _ObservationWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        # Also on an error: the transaction must not roll back under a COPY still running.
        self._wait()

    def write(self, batch: list, *, prepared: bool = False) -> None:
        """Store a batch of checked rows: dicts as `_observation_from_row` makes them, or with
        `prepared` (PostgreSQL only) rows of the fast path (intake_copy.Prepared), whose
        references the caller has noted."""
        if not batch:
            return
        if not prepared:
            for row in batch:
                self.references.note_row(row)
        if connection.vendor == "postgresql":
            from .intake_copy import prepared_from_checked  # it builds on this module

            if not prepared:
                batch = [prepared_from_checked(row, self.non_negotiable) for row in batch]
            self._write_prepared(batch)
            return
        self._wait()
        self.references.check()
        known = _stored_external_ids([o["external_id"] for o in batch if o["external_id"]])
        fresh = [o for o in batch if o["external_id"] is None or o["external_id"] not in known]
        self.result.duplicates += len(batch) - len(fresh)
        if not fresh:
            return
        now = timezone.now()
        for observation in fresh:
            observation["recorded_at"] = now
        created = Observation.objects.bulk_create(
            [Observation(**row) for row in fresh], batch_size=BULK_BATCH_SIZE
        )
        pks = [o.pk for o in created]
        self._record_deviations(
            [
                (pk, (o["standard_id"], o["location_id"], o["team_id"], o["employee_id"], o["observed_at"]))
                for pk, o in zip(pks, fresh, strict=True)
                if not o["passed"] and o["standard_id"] in self.non_negotiable
            ]
        )
        self.result.created += len(pks)
        self.result.created_ids.extend(pks)

    def _write_prepared(self, batch: list) -> None:
        from .intake_copy import copy_lines

        self._wait()
        self.references.check()
        known = _stored_external_ids([p[0] for p in batch if p[0]])
        fresh = [p for p in batch if p[0] is None or p[0] not in known] if known else batch
        self.result.duplicates += len(batch) - len(fresh)
        if not fresh:
            return
        pks = _next_observation_ids(len(fresh))
        # Possibly before the COPY of their observations has ended: PostgreSQL checks the
        # (deferred) foreign key at commit.
        self._record_deviations([(pk, p[2]) for pk, p in zip(pks, fresh, strict=True) if p[2] is not None])
        self._start_copy(copy_lines(pks, fresh, timezone.now()))
        self.result.created += len(pks)
        self.result.created_ids.extend(pks)

    def _record_deviations(self, opened: list[tuple[int, tuple]]) -> None:
        """`opened`: (observation id, (standard_id, location_id, team_id, employee_id, observed_at))."""
        deviations = [
            Deviation(
                observation_id=pk,
                standard_id=standard_id,
                location_id=location_id,
                team_id=team_id,
                employee_id=employee_id,
                detected_at=observed_at,  # when it happened, also for backfilled history
            )
            for pk, (standard_id, location_id, team_id, employee_id, observed_at) in opened
        ]
        Deviation.objects.bulk_create(deviations, batch_size=BULK_BATCH_SIZE)
        self.result.deviations += len(deviations)

    def _start_copy(self, text: str) -> None:
        """COPY the rows (several times faster than INSERT) in a background thread."""
        data = text.encode()
        sql = f"COPY {Observation._meta.db_table} ({', '.join(('id', *OBSERVATION_COLUMNS))}) FROM STDIN"
        # The raw psycopg2 cursor: Django's connection object refuses use from another thread, and
        # psycopg2 lets go of the GIL while the server works.
        cursor = connection.connection.cursor()

        def copy() -> None:
            try:
                cursor.copy_expert(sql, io.BytesIO(data), size=len(data) + 1)
            except BaseException as error:  # handed to the caller's thread by _wait
                self._copy_error = error
            finally:
                cursor.close()

        self._copy = threading.Thread(target=copy, name="observation-copy", daemon=True)
        self._copy.start()

    def _wait(self) -> None:
        """Wait for the COPY under way, if any; raise its error as Django's database error."""
        if self._copy is None:
            return
        self._copy.join()
        self._copy, error, self._copy_error = None, self._copy_error, None
        if error is not None:
            with connection.wrap_database_errors:
                raise error


@functools.cache
def _observation_sequence() -> str:
    """The name of the observation table's id sequence (PostgreSQL), read once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Observation._meta.db_table])
        return cursor.fetchone()[0]


def _next_observation_ids(count: int) -> list[int]:
    """`count` ids drawn from the observation table's sequence (PostgreSQL)."""
    with connection.cursor() as cursor:
        # The name as a constant: pg_get_serial_sequence() inside this query would run once per
        # id (7 ms for 2,000 ids, against 1 ms).
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_observation_sequence(), count]
        )
        return [pk for (pk,) in cursor.fetchall()]


def _stored_external_ids(external_ids: list[str]) -> set[str]:
    """The external ids among `external_ids` that are already stored (one query, none if empty)."""
    if not external_ids:
        return set()
    if connection.vendor == "postgresql":
        # One probe of the unique index per id. For `external_id IN (…)` with a few thousand ids the
        # planner picks a scan of the whole table, which grows with it: 15-20 ms a batch at a
        # million rows, against 4 ms. LIMIT keeps the LATERAL subquery a per-id index probe.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT stored.external_id FROM unnest(%s::text[]) AS sent(external_id) "
                "CROSS JOIN LATERAL (SELECT external_id FROM "
                f"{Observation._meta.db_table} o WHERE o.external_id = sent.external_id LIMIT 1) stored",
                [external_ids],
            )
            return {external_id for (external_id,) in cursor.fetchall()}
    return set(Observation.objects.filter(external_id__in=external_ids).values_list("external_id", flat=True))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


# --- evaluations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationOutcome:
    evaluation: Evaluation | None
    created: bool
    errors: list[RowError]


def evaluation_score(items: list[dict]) -> tuple[Decimal, bool, bool]:
    """(weighted score in percent, whether a critical item failed, whether it passed overall)
    for checked observation rows."""
    total = sum((o["weight"] for o in items), Decimal(0))
    earned = sum((o["weight"] for o in items if o["passed"]), Decimal(0))
    score = (Decimal(100) * earned / total).quantize(Decimal("0.01")) if total else Decimal(0)
    critical_failed = any(o["critical"] and not o["passed"] for o in items)
    passed = score >= settings.EVALUATION_PASS_MARK and not critical_failed
    return score, critical_failed, passed


EVALUATION_HEAD_FIELDS = (
    "location",
    "method",
    "evaluated_at",
    "team",
    "employee",
    "touchpoint",
    "comment",
    "external_id",
)


def evaluation_record(
    *,
    location: str,
    method: str,
    evaluated_at: str | datetime,
    items: list[Mapping[str, Any]],
    team: str = "",
    employee: str = "",
    touchpoint: str = "",
    comment: str = "",
    external_id: str | None = None,
    evaluator=None,
    lookups: Lookups | None = None,
    result: tuple[Decimal, bool, bool] | None = None,
) -> EvaluationOutcome:
    """Record a mystery shop, QA review or audit and its items (observations) in one transaction.

    Each item is an observation mapping (standard, passed or value, comment) plus optional
    `weight` (default: the standard's) and `critical`. The evaluation's location, team,
    employee, touchpoint, source and time apply to every item. Errors name the item
    (row = item number, from 1) or the evaluation (row 0); nothing is saved then. Pass
    `lookups` when recording many evaluations, to load the reference data once. An audit done
    from a template passes its own `result` (score, critical failed, passed; see
    `audits.services.scoring`): its sections, N/A answers and option points make its score.
    """
    head = _RowChecker(0)
    given = head.screen(
        {
            "location": location,
            "method": method,
            "evaluated_at": evaluated_at,
            "team": team,
            "employee": employee,
            "touchpoint": touchpoint,
            "comment": comment,
            "external_id": external_id,
        },
        EVALUATION_HEAD_FIELDS,
    )
    location, method, team, employee, touchpoint, comment = (
        _text(given, name) for name in ("location", "method", "team", "employee", "touchpoint", "comment")
    )
    evaluated_at = given.get("evaluated_at")
    if not isinstance(evaluated_at, datetime):
        evaluated_at = _text(given, "evaluated_at")
    external_id = head.at_most("external_id", _text(given, "external_id"), EXTERNAL_ID_MAX) or None
    if not isinstance(items, list | tuple):
        head.error("items", "Give the items as a list.")
        items = []
    elif len(items) > MAX_BATCH:
        head.error("items", f"An evaluation holds at most {MAX_BATCH} items.")
        items = []
    if external_id and not head.errors:
        existing = Evaluation.objects.filter(external_id=external_id).first()
        if existing:
            return EvaluationOutcome(existing, False, [])
    if method not in EVALUATION_METHODS:
        head.error("method", f"“{method}” is not one of: {', '.join(EvaluationMethod.values)}.")
    if not items and "items" not in {e.field for e in head.errors}:
        head.error("items", "An evaluation needs at least one item.")
    when = evaluated_at.isoformat() if isinstance(evaluated_at, datetime) else evaluated_at
    shared = {
        "location": location,
        "team": team,
        "employee": employee,
        "touchpoint": touchpoint,
        "source": method if method in EVALUATION_METHODS else "",
        "observed_at": when,
    }
    lookups = lookups or Lookups.load()
    # The evaluation's own fields copied into every item: refused once, at row 0.
    as_item = {"location": "location", "team": "team", "employee": "employee", "touchpoint": "touchpoint"}
    as_item |= {"method": "source", "evaluated_at": "observed_at"}
    head_refused = {as_item[name] for name in head.screened if name in as_item}
    observations, errors = [], list(head.errors)
    for number, item in enumerate(items, start=1):
        row = {**item, **shared} if isinstance(item, Mapping) else item
        observation, item_errors = _observation_from_row(row, number, lookups, head_refused)
        check = _RowChecker(number)
        # Refused values were reported with the item's other fields already.
        item = check.screen(item, ("weight", "critical"))
        check.errors.clear()
        critical = (
            check.parse("critical", _parse_bool, item["critical"]) if _text(item, "critical") else False
        )
        weight = (
            check.parse("weight", _parse_decimal, item["weight"], WEIGHT_FIELD)
            if _text(item, "weight")
            else None
        )
        if weight is not None and weight <= 0:
            check.error("weight", "A weight is a number above 0.")
        errors.extend(item_errors + check.errors)
        if observation is not None:
            observation["critical"] = bool(critical)
            observation["weight"] = weight or observation["weight"]
            observations.append(observation)
    if errors:
        return EvaluationOutcome(None, False, errors)

    try:
        evaluation = _evaluation_store(
            observations,
            lookups,
            method=method,
            evaluator=evaluator,
            comment=comment,
            external_id=external_id,
            result=result,
        )
    except ReferenceVanished:
        # Deleted since the lookups were loaded: check it again against the data as it is now.
        return evaluation_record(
            location=location,
            method=method,
            evaluated_at=evaluated_at,
            items=items,
            team=team,
            employee=employee,
            touchpoint=touchpoint,
            comment=comment,
            external_id=external_id,
            evaluator=evaluator,
            result=result,
        )
    return EvaluationOutcome(evaluation, True, [])


def _evaluation_store(
    observations: list[dict], lookups: Lookups, *, evaluator, result=None, **fields
) -> Evaluation:
    """Store a checked evaluation and its items in one transaction; ReferenceVanished if a row
    they refer to was deleted since `lookups` were loaded (then nothing is stored)."""
    score, critical_failed, passed = result or evaluation_score(observations)
    first = observations[0]
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            location_id=first["location_id"],
            team_id=first["team_id"],
            employee_id=first["employee_id"],
            touchpoint_id=first["touchpoint_id"],
            evaluated_at=first["observed_at"],
            evaluator=evaluator,
            score=score,
            critical_failed=critical_failed,
            passed=passed,
            **fields,
        )
        for observation in observations:
            observation["evaluation_id"] = evaluation.pk
            observation["recorded_by_id"] = evaluator.pk if evaluator is not None else None
        _write_observations(observations, IntakeResult(), lookups)
        rollup_soon()
    return evaluation


# --- feedback ------------------------------------------------------------------------------

FEEDBACK_FIELDS = (
    "external_id",
    "touchpoint",
    "location",
    "submitted_at",
    "csat",
    "nps",
    "comment",
    "channel",
    "contact_name",
    "contact_email",
    "contact_consent",
)


def _is_email(text: str) -> bool:
    """The rule of the model's EmailField, so that admin and intake agree."""
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _feedback_from_row(raw: Mapping[str, Any], row: int, lookups: Lookups) -> tuple[Feedback | None, list]:
    check = _RowChecker(row)
    raw = check.screen(raw, FEEDBACK_FIELDS)
    slug = check.required(raw, "touchpoint")
    touchpoint_id = lookups.touchpoints.get(slug) if slug else None
    if slug and touchpoint_id is None:
        check.error("touchpoint", f"No touchpoint has the slug “{slug}”.")
    location_code = check.required(raw, "location")
    location_id = lookups.locations.get(location_code.upper()) if location_code else None
    if location_code and location_id is None:
        check.error("location", f"No location has the code “{location_code}”.")
    submitted_text = _text(raw, "submitted_at")
    # The same window as for observations: feedback from a thousand years ahead is a typo.
    submitted_at = (
        check.timestamp("submitted_at", submitted_text, lookups) if submitted_text else timezone.now()
    )
    csat = check.parse("csat", _parse_int, raw.get("csat"), 1, 5) if _text(raw, "csat") else None
    nps = check.parse("nps", _parse_int, raw.get("nps"), 0, 10) if _text(raw, "nps") else None
    comment = _text(raw, "comment")
    said = _text(raw, "csat") or _text(raw, "nps") or comment
    if not said and not check.screened & {"csat", "nps", "comment"}:
        check.error("__all__", "Give a satisfaction rating, a recommendation score or a comment.")
    channel = _text(raw, "channel") or FeedbackChannel.API
    if channel not in FEEDBACK_CHANNELS:
        check.error("channel", f"“{channel}” is not one of: {', '.join(FeedbackChannel.values)}.")
    consent = (
        check.parse("contact_consent", _parse_bool, raw.get("contact_consent"))
        if _text(raw, "contact_consent")
        else False
    )
    name = check.at_most("contact_name", _text(raw, "contact_name"), CONTACT_NAME_MAX)
    email = check.at_most("contact_email", _text(raw, "contact_email"), CONTACT_EMAIL_MAX)
    external_id = check.at_most("external_id", _text(raw, "external_id"), EXTERNAL_ID_MAX) or None
    if (name or email) and not consent:
        check.error("contact_consent", "Contact details are kept only with the customer's consent.")
    if consent and not (name or email) and not check.screened & {"contact_name", "contact_email"}:
        check.error("contact_email", CONTACT_WITHOUT_DETAILS)
    if email and len(email) <= CONTACT_EMAIL_MAX and not _is_email(email):
        check.error("contact_email", f"“{email}” is not an email address.")
    if check.errors:
        return None, check.errors
    return (
        Feedback(
            touchpoint_id=touchpoint_id,
            location_id=location_id,
            submitted_at=submitted_at,
            csat=csat,
            nps=nps,
            comment=comment,
            channel=channel,
            contact_name=name,
            contact_email=email,
            contact_consent=bool(consent),
            external_id=external_id,
        ),
        [],
    )


def feedback_ingest(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    lookups: Lookups | None = None,
    max_rows: int | None = None,
) -> IntakeResult:
    """Check and store customer feedback, all or nothing, idempotent by external id."""
    lookups = lookups or Lookups.load()
    result = IntakeResult()
    pending: list[Feedback] = []
    seen: dict[str, int] = {}
    for count, (row, raw) in enumerate(rows, start=1):
        if max_rows is not None and count > max_rows:
            result.errors.append(RowError(row, "__all__", f"A batch holds at most {max_rows} items."))
            break
        feedback, errors = _feedback_from_row(raw, row, lookups)
        if errors:
            result.errors.extend(errors)
            continue
        if feedback.external_id:
            if feedback.external_id in seen:
                result.errors.append(
                    RowError(
                        row, "external_id", f"Repeats the external id of row {seen[feedback.external_id]}."
                    )
                )
                continue
            seen[feedback.external_id] = row
        pending.append(feedback)
    if result.errors:
        return IntakeResult(errors=result.errors)
    ids = [f.external_id for f in pending if f.external_id]
    with transaction.atomic():
        known = (
            set(Feedback.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
            if ids
            else set()
        )
        fresh = [f for f in pending if f.external_id is None or f.external_id not in known]
        created = Feedback.objects.bulk_create(fresh, batch_size=BULK_BATCH_SIZE)
        if created:
            # In the transaction: what receivers open (cases) is stored with the answers, or neither.
            feedback_received.send(sender=Feedback, feedback_ids=[f.pk for f in created])
            rollup_soon()
    result.created = len(created)
    result.duplicates = len(pending) - len(fresh)
    result.created_ids = [f.pk for f in created]
    return result
