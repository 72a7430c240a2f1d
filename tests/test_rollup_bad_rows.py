"""Rows the rollup cannot count (written past intake: older data, a direct SQL write) are left out
and listed, and every other scorecard comes out as a clean run without them computes it.

Run on SQLite (default) and on PostgreSQL, where a year-1 time used to stop every run:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/servicedesk .venv/bin/python -m pytest tests/test_rollup_bad_rows.py
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from measurement.models import Feedback, Observation, QuarantinedRow, Scorecard
from measurement.services import rollup
from measurement.services.rollup import scorecards_rollup
from servicedesk.selectors import program_figures
from tests import factories
from tests.test_rollup import SPRING, age_evidence, answer, evidence, make_org, observe, snapshot

YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
# The last hour of the year 9999: a quarter or a local day after it is past what a date can hold.
YEAR_9999 = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


@pytest.fixture
def org(db):
    organisation = make_org()
    evidence(organisation, start=SPRING, days=15, observations=80, answers=30)
    return organisation


def write_observation(org, **columns) -> int:
    """An observation written past intake and the model (bulk_create runs no validation)."""
    location, standard = org["locations"][0], org["standards"][0]
    defaults = {"standard": standard, "location": location, "source": "audit", "passed": True}
    (row,) = Observation.objects.bulk_create([Observation(**{**defaults, **columns})])
    return row.pk


def write_feedback(org, **columns) -> int:
    defaults = {"location": org["locations"][0], "touchpoint": org["touchpoints"][0], "csat": 5}
    (row,) = Feedback.objects.bulk_create([Feedback(**{**defaults, **columns})])
    return row.pk


def write_value_the_column_cannot_hold(org) -> int:
    """PostgreSQL's numeric takes 'NaN' in any column; SQLite stores any magnitude."""
    pk = write_observation(org, observed_at=SPRING + timedelta(days=2), value=Decimal("1"))
    with connection.cursor() as cursor:
        value = "'NaN'" if connection.vendor == "postgresql" else "1e15"
        cursor.execute(f"UPDATE {Observation._meta.db_table} SET value = {value} WHERE id = %s", [pk])
    return pk


BAD_ROWS = {
    "observation in the year 1": (
        lambda org: write_observation(org, observed_at=YEAR_1),
        "observation",
        "too_early",
    ),
    "observation in the year 9999": (
        lambda org: write_observation(org, observed_at=YEAR_9999),
        "observation",
        "future",
    ),
    "observation the day before INTAKE_EARLIEST": (
        lambda org: write_observation(org, observed_at=datetime(1999, 12, 31, 12, tzinfo=UTC)),
        "observation",
        "too_early",
    ),
    "observation value the column cannot hold": (write_value_the_column_cannot_hold, "observation", "value"),
    "feedback in the year 1": (lambda org: write_feedback(org, submitted_at=YEAR_1), "feedback", "too_early"),
    "feedback in the year 9999": (
        lambda org: write_feedback(org, submitted_at=YEAR_9999),
        "feedback",
        "future",
    ),
}


def scorecards() -> dict[tuple, tuple]:
    """Every scorecard by its key, ids and computed_at left out."""
    return {row[:4]: row for row in snapshot().values()}


def delete_row(table: str, pk: int) -> None:
    # In SQL: the ORM's delete would load the row, and Django cannot read every bad value back.
    model = Observation if table == "observation" else Feedback
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [pk])


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
@pytest.mark.parametrize("bad_row", list(BAD_ROWS))
def test_a_row_the_rollup_cannot_count_is_left_out_and_everything_else_is_computed(
    org, bad_row, full, caplog
):
    # given: scorecards up to date, then new good evidence and a row the rollup cannot count
    age_evidence()
    scorecards_rollup(full=True)
    rng = random.Random(7)
    observe(org, rng, SPRING + timedelta(days=3, hours=4))
    answer(org, rng, SPRING + timedelta(days=4, hours=5))
    write, table, reason = BAD_ROWS[bad_row]
    pk = write(org)

    # when
    with caplog.at_level(logging.WARNING, logger="measurement.services.rollup"):
        result = scorecards_rollup(full=full)

    # then: the run completed, named the row and said so once, with the count
    assert result.rows_quarantined == 1
    listed = QuarantinedRow.objects.get()
    assert (listed.evidence_table, listed.row_id, listed.reason) == (table, pk, reason)
    assert listed.value
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"Scorecard rollup left out 1 evidence rows it cannot count ({table} {reason}: 1); "
        "they are listed as quarantined evidence rows in admin"
    ]
    # ... and the scorecards are exactly those of a clean rebuild without the row
    with_the_row = scorecards()
    delete_row(table, pk)
    clean = scorecards_rollup(full=True)
    assert (clean.rows_written, clean.rows_deleted) == (0, 0)
    assert scorecards() == with_the_row
    assert QuarantinedRow.objects.count() == 0  # the full rebuild forgot the row that is gone


def test_a_correction_the_rollup_cannot_count_supersedes_nothing(org):
    original = Observation.objects.filter(supersedes=None).order_by("pk").first()
    scorecards_rollup(full=True)
    before = scorecards()

    write_observation(
        org, observed_at=YEAR_1, supersedes=original, standard=original.standard, location=original.location
    )
    result = scorecards_rollup()

    assert result.rows_quarantined == 1
    assert scorecards() == before  # the original still counts, as if the correction were not there


def test_a_correction_of_a_row_the_rollup_cannot_count_is_counted_on_its_own(org):
    bad = write_observation(org, observed_at=YEAR_9999)
    scorecards_rollup(full=True)
    before = Scorecard.objects.get(period_kind="day", grain="org", period_start=SPRING.date()).observations

    factories.ObservationFactory(
        supersedes_id=bad, standard=org["standards"][0], location=org["locations"][0], observed_at=SPRING
    )
    result = scorecards_rollup()

    assert result.rows_written > 0
    assert Scorecard.objects.get(period_kind="day", grain="org", period_start=SPRING.date()).observations == (
        before + 1
    )


def test_a_row_dated_ahead_is_counted_by_the_full_rebuild_once_it_is_due(org):
    now = timezone.now()
    ahead = now + timedelta(days=1)
    pk = write_observation(org, observed_at=ahead)

    first = scorecards_rollup(full=True, now=now)
    assert first.rows_quarantined == 1
    assert QuarantinedRow.objects.get().row_id == pk
    listed_first = QuarantinedRow.objects.get().first_seen_at

    scorecards_rollup(full=True, now=now + timedelta(hours=1))
    assert QuarantinedRow.objects.get().first_seen_at == listed_first  # still the same entry
    later = scorecards_rollup(full=True, now=ahead + timedelta(hours=1))

    assert later.rows_quarantined == 0
    assert QuarantinedRow.objects.count() == 0
    day = timezone.localtime(ahead).date()
    assert Scorecard.objects.filter(period_kind="day", grain="org", period_start=day, observations=1).exists()


def test_a_time_just_inside_the_intake_tolerance_is_counted(org, settings):
    now = timezone.now()
    write_observation(org, observed_at=now + settings.INTAKE_FUTURE_TOLERANCE)

    result = scorecards_rollup(full=True, now=now)

    assert result.rows_quarantined == 0
    assert QuarantinedRow.objects.count() == 0


def test_many_bad_rows_are_recorded_in_one_statement(org, django_assert_max_num_queries):
    for year in (1, 2, 3, 1500, 1999):
        write_observation(org, observed_at=datetime(year, 6, 1, tzinfo=UTC))
    for _ in range(5):
        write_feedback(org, submitted_at=YEAR_9999)
    scorecards_rollup(full=True)
    QuarantinedRow.objects.all().delete()

    with django_assert_max_num_queries(12 if connection.vendor == "postgresql" else 80) as full_run:
        result = scorecards_rollup(full=True)

    assert result.rows_quarantined == QuarantinedRow.objects.count() == 10
    inserts = [q["sql"] for q in full_run.captured_queries if QuarantinedRow._meta.db_table in q["sql"]]
    assert len([sql for sql in inserts if sql.startswith("INSERT")]) == 1


@pytest.mark.postgres
def test_on_postgresql_the_fast_path_leaves_out_the_same_rows_bit_for_bit_as_the_portable_one(
    org, monkeypatch
):
    for write, _, _ in BAD_ROWS.values():
        write(org)
    monkeypatch.setattr(rollup, "_recompute", rollup.portable.recompute_with_orm)
    scorecards_rollup(full=True)
    by_the_orm = snapshot()
    monkeypatch.undo()

    result = scorecards_rollup(full=True)

    assert result.rows_quarantined == len(BAD_ROWS)
    assert (result.rows_written, result.rows_deleted, result.rows_unchanged) == (0, 0, len(by_the_orm))
    assert snapshot() == by_the_orm


# --------------------------------------------------------------------------- where it shows


def test_admin_lists_the_quarantined_rows_read_only(org, admin, client):
    pk = write_observation(org, observed_at=YEAR_1)
    scorecards_rollup(full=True)
    client.force_login(admin)
    admin.is_superuser = admin.is_staff = True
    admin.save()
    url = reverse("admin:measurement_quarantinedrow_changelist")

    page = client.get(url)

    assert page.status_code == 200
    text = page.content.decode()
    assert "Dated before INTAKE_EARLIEST" in text and f">{pk}<" in text and "0001-01-01" in text
    entry = QuarantinedRow.objects.get()
    assert client.get(reverse("admin:measurement_quarantinedrow_add")).status_code == 403
    detail = client.get(reverse("admin:measurement_quarantinedrow_change", args=[entry.pk]))
    assert detail.status_code == 200 and "Save" not in detail.content.decode()
    assert client.post(reverse("admin:measurement_quarantinedrow_delete", args=[entry.pk])).status_code == 403


def measurement_details(user) -> list:
    (figure,) = [f for f in program_figures(user) if f.step == "Measurement"]
    return figure.details


def test_program_health_counts_the_quarantined_rows_and_links_admin_to_them(org, admin):
    write_observation(org, observed_at=YEAR_1)
    write_feedback(org, submitted_at=YEAR_9999)
    scorecards_rollup(full=True)

    (detail,) = [d for d in measurement_details(admin) if "left out" in d.text]

    assert detail.text == "2 evidence rows left out of scorecards"
    assert detail.warn
    assert detail.url == reverse("admin:measurement_quarantinedrow_changelist")


def test_program_health_says_nothing_of_quarantine_when_there_is_none(org, admin):
    scorecards_rollup(full=True)

    assert [d.text for d in measurement_details(admin) if "left out" in d.text] == []


def test_admin_opens_the_rows_left_out_and_their_lists(org, admin, client):
    observation = write_observation(org, observed_at=YEAR_1)
    feedback = write_feedback(org, submitted_at=YEAR_9999)
    client.force_login(admin)

    pages = {
        url: client.get(url)
        for url in [
            reverse("admin:measurement_observation_changelist"),
            reverse("admin:measurement_observation_change", args=[observation]),
            reverse("admin:measurement_feedback_changelist"),
            reverse("admin:measurement_feedback_change", args=[feedback]),
        ]
    }

    assert {url: page.status_code for url, page in pages.items()} == dict.fromkeys(pages, 200)
    # The year-1 time has no local time (London's offset then was −0:01:15): shown in UTC.
    shown = [page.content.decode() for page in pages.values()]
    assert ["0001-01-01T00:00:00+00:00 (UTC)" in text for text in shown] == [True, True, False, False]
    assert all("9999" in text for text in shown[2:])
