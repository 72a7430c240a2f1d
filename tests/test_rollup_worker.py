"""Acceptance of the scorecard rollup (issue 3): a real Celery worker against Redis and PostgreSQL.

The worker runs in this process, in a thread (`celery.contrib.testing.worker.start_worker`, solo
pool), and reaches the test database through Django's usual settings; `transaction=True` commits the
test's rows so that the worker's own connection sees them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/servicedesk_rollup REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m pytest tests/test_rollup_worker.py
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection, connections

from measurement.models import RollupState, Scorecard
from measurement.services.rollup import ADVISORY_LOCK_KEY, scorecards_rollup
from measurement.tasks import rollup_scorecards
from servicedesk.celery import app
from tests import factories
from tests.test_rollup import SPRING, assert_matches_independent_count, evidence, make_org, snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60


def _close_this_threads_connections(**kwargs) -> None:
    # The worker thread keeps its connection (CONN_MAX_AGE) between tasks; close it after each one
    # so that the test database can be flushed and dropped at the end.
    connections.close_all()


@pytest.fixture
def worker(settings):
    """A Celery worker in a thread, with Redis as broker and result backend, for one test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    redis_url = os.environ["REDIS_URL"]
    overrides = {"broker_url": redis_url, "result_backend": redis_url, "task_always_eager": False}
    saved = {name: app.conf[name] for name in overrides}
    app.conf.update(overrides)
    _forget_connections()
    task_postrun.connect(_close_this_threads_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT) as started:
            yield started
    finally:
        task_postrun.disconnect(_close_this_threads_connections)
        app.conf.update(saved)
        _forget_connections()


def _forget_connections() -> None:
    """Drop the broker pool and result backend Celery caches on first use, so the URLs set apply."""
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


def _advisory_lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return cursor.fetchone()[0]


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_worker_rolls_up_scorecards_that_match_an_independent_count(worker):
    org = make_org()
    evidence(org, start=SPRING, days=15, observations=150, answers=60)

    first = rollup_scorecards.delay().get(timeout=TIMEOUT)

    assert first["full"] is True  # the first run ever rebuilds everything
    assert first["rows_written"] == Scorecard.objects.count() > 0
    assert_matches_independent_count()
    assert RollupState.objects.get().watermark is not None


def test_rerunning_through_the_worker_changes_nothing(worker):
    org = make_org()
    evidence(org, start=SPRING, days=15, observations=80, answers=30)
    rollup_scorecards.delay().get(timeout=TIMEOUT)
    before = snapshot()

    incremental = rollup_scorecards.delay().get(timeout=TIMEOUT)
    assert snapshot() == before
    full = rollup_scorecards.delay(full=True).get(timeout=TIMEOUT)
    assert snapshot() == before

    assert incremental["full"] is False and full["full"] is True


def test_new_evidence_rolled_up_by_the_worker_equals_a_full_rebuild(worker):
    org = make_org()
    evidence(org, start=SPRING, days=15, observations=80, answers=30)
    location, standard = org["locations"][0], org["standards"][0]
    wrong = factories.ObservationFactory(
        location=location, standard=standard, observed_at=SPRING, passed=False
    )
    rollup_scorecards.delay().get(timeout=TIMEOUT)
    evidence(org, seed=2, start=SPRING + timedelta(days=10), days=30, observations=40, answers=10)
    factories.ObservationFactory(
        supersedes=wrong, location=location, standard=standard, observed_at=SPRING + timedelta(days=40)
    )

    rollup_scorecards.delay().get(timeout=TIMEOUT)
    after_incremental = snapshot()
    rollup_scorecards.delay(full=True).get(timeout=TIMEOUT)

    assert snapshot() == after_incremental
    assert_matches_independent_count()


def test_two_overlapping_runs_give_the_same_result_as_one(worker):
    org = make_org()
    evidence(org, start=SPRING, days=15, observations=150, answers=60)
    failures: list[BaseException] = []
    beside_results = []

    def run_beside_the_worker() -> None:
        try:
            beside_results.append(scorecards_rollup())
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            connections.close_all()

    # Hold the rollup's lock so that both runs are surely under way at the same moment.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    try:
        queued = rollup_scorecards.delay()
        beside = threading.Thread(target=run_beside_the_worker)
        beside.start()
        _wait_for(lambda: _advisory_lock_waiters() == 2, "both runs to wait for the rollup lock")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    summary = queued.get(timeout=TIMEOUT)
    beside.join(TIMEOUT)

    assert not beside.is_alive() and failures == []
    # Either run may take the lock first; the other then finds nothing new. Exactly one writes.
    written = [summary["rows_written"], beside_results[0].rows_written]
    assert sorted(written)[0] == 0 and sorted(written)[1] > 0
    assert sum(written) == Scorecard.objects.count()
    assert_matches_independent_count()
    after_both = snapshot()
    rollup_scorecards.delay(full=True).get(timeout=TIMEOUT)
    assert snapshot() == after_both
