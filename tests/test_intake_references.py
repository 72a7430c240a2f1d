"""The references of observations (standard, location, team, employee, touchpoint) have no
foreign-key constraint: intake checks them once per batch (ReferenceCheck) and triggers refuse
deleting what observations refer to. A reference deleted under an intake is reported as the row
checker reports an unknown code, and no observation ever points at nothing."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from measurement.csv_import import KINDS, CsvRows
from measurement.models import Deviation, Evaluation, Observation
from measurement.services.intake import (
    BULK_BATCH_SIZE,
    OBSERVATION_FIELDS,
    Lookups,
    evaluation_record,
    observations_ingest,
)
from organization.models import Employee, Location, Team
from standards.models import Standard
from tests import factories
from touchpoints.models import Touchpoint

WHEN = "2026-03-02T10:15:00+00:00"


@pytest.fixture
def world(db):
    location = factories.LocationFactory(code="LDN-01")
    other = factories.LocationFactory(code="MAN-02")
    team = factories.TeamFactory(location=location, name="Shop floor")
    return {
        "location": location,
        "other": other,
        "team": team,
        "employee": factories.EmployeeFactory(location=location, team=None, employee_number="E00042"),
        "standard": factories.StandardFactory(code="GREET"),
        "spare": factories.StandardFactory(code="SMILE"),
        "touchpoint": factories.TouchpointFactory(slug="till"),
    }


def row(number: int = 0, **fields) -> dict:
    return {
        "external_id": f"ext-{number}",
        "standard": "GREET",
        "location": "LDN-01",
        "team": "Shop floor",
        "employee": "E00042",
        "touchpoint": "till",
        "source": "mystery_shop",
        "observed_at": WHEN,
        "value": "",
        "passed": "false",
        "comment": "",
        **fields,
    }


def numbered(items) -> list:
    return list(enumerate(items, start=2))


# What is deleted, and the row checker's message for it once it is gone.
DELETIONS = {
    "standard": ("standard", "No active or retired standard has the code “GREET”."),
    "location": ("location", "No location has the code “LDN-01”."),
    "team": ("team", "Location LDN-01 has no team called “Shop floor”."),
    "employee": ("employee", "No employee has the number “E00042”."),
    "touchpoint": ("touchpoint", "No touchpoint has the slug “till”."),
}


def delete(world, name: str) -> None:
    if name == "location":  # its team and employee go first (PROTECT)
        world["employee"].delete()
        world["team"].delete()
    world[name].delete()


@pytest.mark.parametrize("name", sorted(DELETIONS))
def test_a_reference_deleted_after_the_lookups_were_loaded_is_reported_like_an_unknown_one(world, name):
    lookups = Lookups.load()
    delete(world, name)
    # Past the first batch, so that the rows of a batch written already are in the story too.
    items = [row(n) for n in range(BULK_BATCH_SIZE + 3)]

    result = observations_ingest(numbered(items), lookups=lookups)

    field, message = DELETIONS[name]
    fresh = observations_ingest(numbered(items))
    assert not result.ok and result.errors == fresh.errors
    assert {(e.field, e.message) for e in result.errors} >= {(field, message)}
    assert {e.row for e in result.errors if e.field == field} == set(range(2, BULK_BATCH_SIZE + 5))
    assert Observation.objects.count() == 0 and Deviation.objects.count() == 0


def test_a_file_whose_location_was_deleted_during_the_import_names_every_line(world, tmp_path):
    path = tmp_path / "observations.csv"
    lines = [",".join(OBSERVATION_FIELDS)]
    lines += [",".join(row(n).values()) for n in range(3)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lookups = Lookups.load()
    delete(world, "location")

    with path.open("rb") as stream:
        rows = CsvRows(stream, KINDS["observations"])
        rows.read_header()
        result = observations_ingest(rows.records(), columns=rows.header, lookups=lookups)

    located = [(e.row, e.field, e.message) for e in result.errors if e.field == "location"]
    assert located == [(line, "location", "No location has the code “LDN-01”.") for line in (2, 3, 4)]
    assert Observation.objects.count() == 0


def test_rows_that_refer_to_other_rows_are_written_when_an_unrelated_one_was_deleted(world):
    lookups = Lookups.load()
    world["spare"].delete()  # a standard the lookups hold, but no row names

    result = observations_ingest(
        numbered([row(1), row(2, location="MAN-02", team="", employee="")]), lookups=lookups
    )

    assert result.ok and result.created == 2


def test_an_evaluation_whose_location_was_deleted_is_reported_as_it_would_be_afterwards(world):
    lookups = Lookups.load()
    delete(world, "location")
    evaluation = {
        "location": "LDN-01",
        "method": "mystery_shop",
        "evaluated_at": WHEN,
        "items": [{"standard": "GREET", "passed": "true"}],
    }

    outcome = evaluation_record(**evaluation, lookups=lookups)

    assert outcome.evaluation is None and outcome.errors == evaluation_record(**evaluation).errors
    assert ("location", "No location has the code “LDN-01”.") in {
        (e.field, e.message) for e in outcome.errors
    }
    assert Evaluation.objects.count() == 0 and Observation.objects.count() == 0


def test_references_held_already_are_not_checked_again_in_the_same_intake(world):
    items = [row(n) for n in range(2 * BULK_BATCH_SIZE)]
    lookups = Lookups.load()
    with CaptureQueriesContext(connection) as one_batch:
        observations_ingest(numbered(items[:BULK_BATCH_SIZE]), lookups=lookups)
    with CaptureQueriesContext(connection) as two_batches:
        more = items[BULK_BATCH_SIZE:] + [row(n, external_id="") for n in range(5)]
        observations_ingest(numbered(more), lookups=lookups)

    def checks(context) -> list[str]:
        return [q["sql"] for q in context.captured_queries if "organization_location" in q["sql"]]

    # The second batch of the second intake refers to the same rows: no second check.
    assert len(checks(one_batch)) == len(checks(two_batches)) == 1


# --- the guard on the referenced tables (PostgreSQL) --------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "model, column",
    [
        (Standard, "standard"),
        (Location, "location"),
        (Team, "team"),
        (Employee, "employee"),
        (Touchpoint, "touchpoint"),
    ],
)
def test_sql_cannot_delete_or_renumber_a_row_observations_refer_to(world, model, column):
    assert observations_ingest(numbered([row(1)])).ok
    target = world[column]
    table = model._meta.db_table
    for statement in (
        f"DELETE FROM {table} WHERE id = %s",
        f"UPDATE {table} SET id = id + 100000 WHERE id = %s",
    ):
        refused = pytest.raises(IntegrityError, match="still referred to by observations")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [target.pk])
    assert model.objects.filter(pk=target.pk).exists()


@pytest.mark.postgres
def test_sql_may_still_delete_a_row_no_observation_refers_to(world):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM standards_standard WHERE id = %s", [world["spare"].pk])
    assert not Standard.objects.filter(pk=world["spare"].pk).exists()


# --- a delete racing an intake (PostgreSQL, two connections) ------------------------------


def _in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delete_during_an_intake_waits_for_it_and_is_then_refused():
    location = factories.LocationFactory(code="LDN-01")
    factories.StandardFactory(code="GREET")
    written, deleting = threading.Event(), threading.Event()
    outcome: dict = {}

    def intake():
        with transaction.atomic():
            items = [row(n, team="", employee="", touchpoint="") for n in range(5)]
            outcome["intake"] = observations_ingest(numbered(items))
            written.set()
            deleting.wait(10)
            time.sleep(0.5)  # the delete is now waiting for this transaction
            outcome["committed_at"] = time.monotonic()

    def remove():
        written.wait(10)
        deleting.set()
        try:
            # The ORM's PROTECT check cannot see the uncommitted rows: only the database can stop it.
            Location.objects.filter(pk=location.pk).delete()
            outcome["deleted"] = True
        except IntegrityError as error:
            outcome["refused"] = (str(error), time.monotonic())

    threads = [_in_thread(intake), _in_thread(remove)]
    for thread in threads:
        thread.join(30)

    assert outcome["intake"].ok and outcome["intake"].created == 5
    assert "deleted" not in outcome
    message, refused_at = outcome["refused"]
    assert "still referred to by observations" in message
    assert refused_at >= outcome["committed_at"]  # it waited for the intake's commit
    assert Location.objects.filter(pk=location.pk).exists()
    assert Observation.objects.filter(location_id=location.pk).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_intake_during_a_delete_waits_for_it_and_then_reports_the_location_missing():
    location = factories.LocationFactory(code="LDN-01")
    factories.StandardFactory(code="GREET")
    lookups = Lookups.load()  # loaded before the delete: they still know LDN-01
    deleted, checking = threading.Event(), threading.Event()
    outcome: dict = {}

    def remove():
        with transaction.atomic():
            Location.objects.filter(pk=location.pk).delete()
            deleted.set()
            checking.wait(10)
            time.sleep(0.5)  # the intake's check is now waiting for this transaction
            outcome["committed_at"] = time.monotonic()

    def intake():
        deleted.wait(10)
        checking.set()
        items = [row(n, team="", employee="", touchpoint="") for n in range(3)]
        outcome["intake"] = observations_ingest(numbered(items), lookups=lookups)
        outcome["reported_at"] = time.monotonic()

    threads = [_in_thread(remove), _in_thread(intake)]
    for thread in threads:
        thread.join(30)

    result = outcome["intake"]
    assert not result.ok
    assert [(e.row, e.field, e.message) for e in result.errors] == [
        (line, "location", "No location has the code “LDN-01”.") for line in (2, 3, 4)
    ]
    assert outcome["reported_at"] >= outcome["committed_at"]
    assert not Location.objects.filter(pk=location.pk).exists()
    assert Observation.objects.count() == 0
