"""The fast path of observation intake writes exactly what the row checker would, or steps aside.

For any row, CSV text or API item: either the fast path leaves it to the row checker (None), or
the row checker accepts it too and the COPY line the fast path writes is byte for byte the line
written from the row checker's output (the loop below is the writer's, before the fast path), with
the same deviation. One checker serves every example of a test, so a memo that remembered a text
wrongly would show too.
"""

import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils import timezone as dj_timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from measurement.models import Deviation, Observation
from measurement.services.intake import (
    OBSERVATION_COLUMNS,
    OBSERVATION_FIELDS,
    REFERENCES,
    Lookups,
    _copy_text,
    _observation_from_row,
    observations_ingest,
)
from measurement.services.intake_copy import FastObservationChecker, copy_lines
from standards.models import Comparator, MeasureKind
from tests import factories

EXAMPLES = int(os.environ.get("INTAKE_PROPERTY_EXAMPLES", "1200"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Nothing is written: the examples only read the reference data the fixture made.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RECORDED_AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
RECORDED_BY = 7


@pytest.fixture
def checker(db):
    location = factories.LocationFactory(code="LDN-01")
    other = factories.LocationFactory(code="MAN-02")
    team = factories.TeamFactory(location=location, name="Shop floor")
    factories.TeamFactory(location=other, name="Shop floor")
    factories.EmployeeFactory(location=location, team=team, employee_number="E00042")
    factories.EmployeeFactory(location=other, team=None, employee_number="E00043")
    factories.StandardFactory(code="GREET", non_negotiable=True, target_rate=Decimal("100"))
    factories.StandardFactory(code="SMILE", weight=Decimal("2.50"))
    factories.StandardFactory(
        code="RINGS", measure_kind=MeasureKind.NUMERIC, comparator=Comparator.LTE, threshold=Decimal("3")
    )
    factories.StandardFactory(
        code="RATE", measure_kind=MeasureKind.RATING, comparator=Comparator.GTE, threshold=Decimal("4")
    )
    factories.StandardFactory(code="OLD", status="draft")
    factories.TouchpointFactory(slug="till")
    lookups = Lookups.load()
    return FastObservationChecker(lookups, recorded_by_id=RECORDED_BY)


def _dressed(pair: tuple[str, str]) -> str:
    text, how = pair
    return {"padded": f" {text}\t", "lower": text.lower()}.get(how, text)


def text_of(valid, odd=()):
    """A valid text, padded or cased now and then, and about one in twenty an odd one: most rows
    should be ones the fast path can take."""
    texts = st.sampled_from([*valid] * (19 * max(len(odd), 1)) + [*odd] * len(valid))
    return st.tuples(texts, st.sampled_from(["as is"] * 4 + ["padded", "lower"])).map(_dressed)


def moments(min_value=datetime(2000, 1, 2), max_value=datetime(2025, 12, 31)):
    offsets = st.integers(min_value=-1439, max_value=1439).map(lambda m: timezone(timedelta(minutes=m)))
    when = st.datetimes(min_value=min_value, max_value=max_value, timezones=st.none() | offsets)
    return st.one_of(
        when.map(lambda d: d.isoformat()),
        when.map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
        st.sampled_from(["2026-01-05T10:00:00Z", "2026-01-05"]),
    )


junk_text = st.one_of(
    st.sampled_from(["", " ", "\x00", "é", "a\\b", "x\ty", "1\n", "x" * 101, "🙂", "NaN", "1e999", "maybe"]),
    st.text(max_size=6),
    moments(datetime(1, 1, 1), datetime(9999, 12, 31)),
    st.just((dj_timezone.now() + timedelta(days=2)).isoformat()),
    st.sampled_from(["2026-02-30T10:00", "yesterday", "1999-12-31T23:59:59"]),
)
plain_row = st.fixed_dictionaries(
    {
        "external_id": text_of(["ext-1", "ext-2", ""], ["a\\b\tc", "x" * 100]),
        "standard": text_of(["GREET", "SMILE", "RINGS", "RATE"], ["OLD", "NOPE"]),
        "location": text_of(["LDN-01", "MAN-02"], ["XXX"]),
        "team": text_of(["", "Shop floor"], ["Back office"]),
        "employee": text_of(["", "E00042", "E00043"], ["E99999"]),
        "touchpoint": text_of(["", "till"], ["TILL", "door"]),
        "source": text_of(["mystery_shop", "qa_review", "operational"], ["gossip"]),
        "observed_at": moments(),
        "value": text_of(["", "2", "3", "3.000", "4.5", "5", "6"], ["1e1", "-0", "0.0005", "1_0", "-0.5"]),
        "passed": text_of(["", "true", "false"], ["yes", "FAIL", "0", "maybe"]),
        "comment": text_of(["", "Friendly"], ["said \\hello\\", "two\tcolumns", "line\rbreak"]),
    }
)
# Now and then one or two fields are anything at all.
csv_row = st.tuples(
    plain_row,
    st.one_of(
        st.just({}), st.just({}), st.dictionaries(st.sampled_from(OBSERVATION_FIELDS), junk_text, max_size=1)
    ),
).map(lambda pair: pair[0] | pair[1])
api_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=10),
    st.integers(),
    st.floats(),
    st.text(max_size=3),
)
api_row = st.one_of(
    csv_row,
    csv_row.flatmap(
        lambda row: st.fixed_dictionaries(
            {
                "passed": st.one_of(st.booleans(), api_value),
                "value": st.one_of(st.integers(min_value=0, max_value=7), api_value),
            }
        ).map(lambda typed: row | typed)
    ),
    csv_row.map(lambda row: row | {"weight": "2"}),
    csv_row.map(lambda row: {k: v for k, v in row.items() if k not in {"team", "comment"}}),
)


def line_as_written_before(pk: int, row: dict) -> str:
    """The writer's loop before the fast path: one line of COPY text for a checked row."""
    line = str(pk)
    for column in OBSERVATION_COLUMNS:
        line += "\t" + _copy_text(row[column])
    return line + "\n"


def assert_same_as_row_checker(checker, raw: dict, prepared) -> None:
    observation, errors = _observation_from_row(raw, 3, checker.lookups)
    if prepared is None:
        event("left to the row checker" + (" (bad)" if errors else " (good)"))
        return
    event("fast")
    assert errors == [], raw
    observation |= {"recorded_by_id": RECORDED_BY, "recorded_at": RECORDED_AT}
    assert copy_lines([41], [prepared], RECORDED_AT) == line_as_written_before(41, observation)
    assert prepared[0] == observation["external_id"]
    opens = not observation["passed"] and observation["standard_id"] in checker.non_negotiable
    expected = (
        (
            observation["standard_id"],
            observation["location_id"],
            observation["team_id"],
            observation["employee_id"],
            observation["observed_at"],
        )
        if opens
        else None
    )
    assert prepared[2] == expected
    # Every row it refers to is noted for the writer's reference check (no foreign key checks it).
    noted = checker.references.noted()
    for column, _ in REFERENCES:
        assert observation[column] is None or observation[column] in noted[column], column


@PROPERTY_SETTINGS
@given(row=csv_row, drop=st.sets(st.sampled_from(["team", "employee", "touchpoint", "comment", "value"])))
def test_a_csv_row_the_fast_path_takes_is_written_as_the_row_checker_would(checker, row, drop):
    # A file without some optional columns: those fields read as empty text, as in CsvRows.
    header = [name for name in OBSERVATION_FIELDS if name not in drop]
    values = [row[name] for name in header]
    canonical = [row[name] if name in header else "" for name in OBSERVATION_FIELDS]
    assert_same_as_row_checker(checker, dict(zip(header, values, strict=True)), checker.accept(canonical))


@PROPERTY_SETTINGS
@given(row=api_row)
def test_an_api_item_the_fast_path_takes_is_written_as_the_row_checker_would(checker, row):
    assert_same_as_row_checker(checker, row, checker.accept_mapping(row))


def test_plain_rows_take_the_fast_path_and_unusual_ones_the_row_checker(checker):
    plain = {
        "external_id": "ext-9",
        "standard": "GREET",
        "location": "LDN-01",
        "team": "",
        "employee": "E00042",
        "touchpoint": "till",
        "source": "operational",
        "observed_at": "2026-01-05T10:00:00+01:00",
        "value": "",
        "passed": "false",
        "comment": "",
    }
    values = [plain[name] for name in OBSERVATION_FIELDS]
    prepared = checker.accept(values)
    assert prepared is not None
    assert prepared[2] is not None  # a failed non-negotiable standard: its deviation
    assert checker.accept_mapping(plain) == prepared
    assert checker.accept_mapping(plain | {"passed": False}) == prepared
    for unusual in (
        {"comment": "très bien"},  # not ASCII: the row checker's screening decides
        {"location": "XXX"},
        {"employee": "E00043"},  # works at another location
        {"observed_at": "2026-02-30T10:00"},
        {"passed": ""},
        {"external_id": "x" * 101},
    ):
        assert checker.accept([(plain | unusual)[name] for name in OBSERVATION_FIELDS]) is None, unusual
    assert checker.accept_mapping(plain | {"weight": "2"}) is None  # an evaluation item's field
    assert checker.accept_mapping(plain | {"value": 2.5}) is None  # a float: the row checker reads it


def test_a_batch_mixing_both_paths_stores_every_row_with_its_deviations(checker):
    rows = [
        {"standard": "GREET", "location": "LDN-01", "source": "operational", "passed": "false"},
        {
            "standard": "GREET",
            "location": "LDN-01",
            "source": "operational",
            "passed": "false",
            "comment": "très",
        },
        {"standard": "RINGS", "location": "MAN-02", "source": "audit", "value": "2", "employee": "E00043"},
    ]
    for number, row in enumerate(rows):
        row |= {"external_id": f"mix-{number}", "observed_at": "2026-01-05T10:00:00Z"}
    result = observations_ingest(list(enumerate(rows, start=1)), lookups=checker.lookups)
    assert result.ok, result.errors
    assert (result.created, result.deviations) == (3, 2)
    stored = {o.external_id: o for o in Observation.objects.all()}
    assert stored["mix-1"].comment == "très"
    assert stored["mix-2"].passed is True and stored["mix-2"].value == Decimal("2")
    assert stored["mix-2"].team_id is None and stored["mix-2"].employee.employee_number == "E00043"
    assert Deviation.objects.filter(observation__external_id__in=["mix-0", "mix-1"]).count() == 2
    again = observations_ingest(list(enumerate(rows, start=1)), lookups=checker.lookups)
    assert (again.created, again.duplicates) == (0, 3)
