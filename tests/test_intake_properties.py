"""Properties of the intake service, on arbitrary JSON-like input mixed with valid rows.

Whatever it is given, `observations_ingest`, `feedback_ingest` and `evaluation_record`
- never raise;
- either succeed, and exactly the rows they report are in the database, which accepted them
  (deferred constraints are checked at once on PostgreSQL), and can be read back;
- or return errors that each name a row of the input and one of its fields, in a sentence,
  with nothing written.

Each example runs in a savepoint rolled back after it, so examples share the test's reference
data and nothing else. INTAKE_PROPERTY_EXAMPLES sets the examples per test (CI: the default).
"""

import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone as dj_timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from measurement.models import Deviation, Evaluation, Feedback, Observation
from measurement.services.intake import (
    EVALUATION_HEAD_FIELDS,
    FEEDBACK_FIELDS,
    OBSERVATION_ROW_FIELDS,
    Lookups,
    evaluation_record,
    feedback_ingest,
    observations_ingest,
)
from standards.models import Comparator, MeasureKind
from tests import factories

EXAMPLES = int(os.environ.get("INTAKE_PROPERTY_EXAMPLES", "1200"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,
    deadline=None,
    # The database fixture is function-scoped on purpose: every example is isolated in its own
    # rolled-back savepoint (`isolated`), so sharing the fixture is safe.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- values ----------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=[]), max_size=12)  # NUL, surrogates, controls
odd_text = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "—", "🙂", "０", "٣", "1_0", "x" * 300]
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["NaN", "-Infinity", "1e999999", "1e-999999", "0.0005", "999999999.999", "1E+9", "-0"]),
)


def moments(min_year=1, max_year=9999):
    offsets = st.integers(min_value=-1439, max_value=1439).map(lambda m: timezone(timedelta(minutes=m)))
    return st.datetimes(
        min_value=datetime(min_year, 1, 1),
        max_value=datetime(max_year, 12, 31),
        timezones=st.none() | offsets,
    ).map(lambda d: d.isoformat())


recent = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.isoformat())
junk_scalar = st.one_of(st.none(), st.booleans(), numbers, any_text, odd_text, moments())
junk = st.one_of(
    junk_scalar, st.lists(junk_scalar, max_size=2), st.dictionaries(any_text, junk_scalar, max_size=2)
)


def field(*valid):
    """Mostly a valid value, sometimes anything at all."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), junk)


observation_row = st.fixed_dictionaries(
    {},
    optional={
        "standard": field("GREET", "RINGS", "RATE", "greet"),
        "location": field("LDN-01", "ldn-01"),
        "team": field("Shop floor", ""),
        "employee": field("E00042"),
        "touchpoint": field("till"),
        "source": field("mystery_shop", "qa_review", "audit"),
        "observed_at": st.one_of(recent, recent, junk),
        "value": field("2", "4", 3, 2.5, "0"),
        "passed": field("true", "false", True, False, "yes"),
        "comment": field("", "Friendly"),
        "external_id": field("ext-1", "ext-2", "ext-3"),
    },
)
feedback_row = st.fixed_dictionaries(
    {},
    optional={
        "touchpoint": field("till"),
        "location": field("LDN-01"),
        "submitted_at": st.one_of(recent, recent, junk),
        "csat": field(1, 5, "4"),
        "nps": field(0, 10, "9"),
        "comment": field("", "Thanks"),
        "channel": field("web_form", "api", "email"),
        "contact_name": field("", "Ann"),
        "contact_email": field("", "ann@example.com"),
        "contact_consent": field(True, False, "true"),
        "external_id": field("fb-1", "fb-2"),
    },
)
item = st.fixed_dictionaries(
    {},
    optional={
        "standard": field("GREET", "RINGS", "RATE"),
        "passed": field("true", "false", True),
        "value": field("2", "5", 1),
        "weight": field("1", "2.5", 0, "999.99"),
        "critical": field("true", "false", True),
        "comment": field("", "ok"),
    },
)


def rows_of(row):
    """A batch: mostly rows, now and then an item that is not an object at all."""
    return st.lists(st.one_of(row, row, row, junk), min_size=1, max_size=5)


# --- the world and the checks ----------------------------------------------------------------


@pytest.fixture
def lookups(db):
    location = factories.LocationFactory(code="LDN-01")
    team = factories.TeamFactory(location=location, name="Shop floor")
    factories.EmployeeFactory(location=location, team=team, employee_number="E00042")
    factories.StandardFactory(code="GREET", non_negotiable=True, target_rate=Decimal("100"))
    factories.StandardFactory(
        code="RINGS", measure_kind=MeasureKind.NUMERIC, comparator=Comparator.LTE, threshold=Decimal("3")
    )
    factories.StandardFactory(
        code="RATE", measure_kind=MeasureKind.RATING, comparator=Comparator.GTE, threshold=Decimal("4")
    )
    factories.TouchpointFactory(slug="till")
    return Lookups.load


class isolated:
    """A savepoint rolled back after the example, whatever happened in it."""

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()

    def __exit__(self, *exc_info):
        transaction.set_rollback(True)
        self.atomic.__exit__(*exc_info)


def database_accepts_it() -> None:
    """Check deferred constraints now rather than at a commit the test never reaches."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def assert_errors_name_rows_and_fields(errors, rows: range, fields) -> None:
    assert errors
    for error in errors:
        assert error.row in rows, error
        assert error.field in {*fields, "__all__"}, error
        assert error.message.endswith("."), error


def assert_readable(observations) -> None:
    """Stored times lie in the window and have a local day (what the rollup cuts periods by)."""
    earliest = dj_timezone.make_aware(datetime(2000, 1, 1))
    for observed_at in observations:
        assert earliest <= observed_at <= dj_timezone.now() + timedelta(hours=1)
        dj_timezone.localtime(observed_at).date()


# --- properties --------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(batch=rows_of(observation_row))
def test_observations_ingest_stores_exactly_what_it_reports_or_nothing(lookups, batch):
    with isolated():
        result = observations_ingest(list(enumerate(batch, start=1)), lookups=lookups())
        event("stored" if result.ok else "refused")
        if result.ok:
            database_accepts_it()
            stored = list(Observation.objects.values_list("pk", "observed_at"))
            assert sorted(pk for pk, _ in stored) == sorted(result.created_ids)
            assert result.created + result.duplicates == len(batch)
            assert Deviation.objects.count() == result.deviations
            assert_readable(moment for _, moment in stored)
        else:
            assert_errors_name_rows_and_fields(
                result.errors, range(1, len(batch) + 1), OBSERVATION_ROW_FIELDS
            )
            assert not Observation.objects.exists() and not Deviation.objects.exists()


@PROPERTY_SETTINGS
@given(batch=rows_of(feedback_row))
def test_feedback_ingest_stores_exactly_what_it_reports_or_nothing(lookups, batch):
    with isolated():
        result = feedback_ingest(list(enumerate(batch, start=1)), lookups=lookups())
        event("stored" if result.ok else "refused")
        if result.ok:
            database_accepts_it()
            stored = list(
                Feedback.objects.values_list("pk", "submitted_at", "contact_consent", "contact_email")
            )
            assert sorted(pk for pk, *_ in stored) == sorted(result.created_ids)
            assert result.created + result.duplicates == len(batch)
            assert_readable(moment for _, moment, *_ in stored)
        else:
            assert_errors_name_rows_and_fields(result.errors, range(1, len(batch) + 1), FEEDBACK_FIELDS)
            assert not Feedback.objects.exists()


@PROPERTY_SETTINGS
@given(
    head=st.fixed_dictionaries(
        {
            "location": field("LDN-01"),
            "method": field("mystery_shop", "audit"),
            "evaluated_at": st.one_of(recent, recent, junk),
        },
        optional={
            "team": field("Shop floor"),
            "employee": field("E00042"),
            "touchpoint": field("till"),
            "comment": field("Fine"),
            "external_id": field("ev-1"),
        },
    ),
    items=st.one_of(st.lists(st.one_of(item, item, junk), max_size=4), junk),
)
def test_evaluation_record_stores_the_evaluation_and_its_items_or_nothing(lookups, head, items):
    with isolated():
        outcome = evaluation_record(**head, items=items, lookups=lookups())
        event("refused" if outcome.errors else "stored")
        if not outcome.errors:
            database_accepts_it()
            assert outcome.created and outcome.evaluation is not None
            evaluation = Evaluation.objects.get()
            stored = list(evaluation.observations.values_list("observed_at", flat=True))
            assert len(stored) == len(items)
            assert 0 <= evaluation.score <= 100
            assert_readable(stored)
        else:
            count = len(items) if isinstance(items, list) else 0
            fields = {*EVALUATION_HEAD_FIELDS, *OBSERVATION_ROW_FIELDS, "items"}
            assert_errors_name_rows_and_fields(outcome.errors, range(count + 1), fields)
            assert not Evaluation.objects.exists() and not Observation.objects.exists()
