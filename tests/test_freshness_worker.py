"""Freshness (issue 11): evidence committed through the intake reaches its consequence within
seconds, through a real Celery worker on Redis and PostgreSQL, with no beat running.

The commit asks for a rollup ``ROLLUP_AFTER_COMMIT_SECONDS`` later (`measurement.services.freshness`);
the worker runs it, the rollup announces its periods, and the consequences app's receiver enqueues
the rule evaluation that proposes the corrective action. The worker is the one of
`tests/test_rollup_worker.py` (in a thread, solo pool); beat is never started.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/servicedesk REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m pytest tests/test_freshness_worker.py
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.core.cache import cache
from django.utils import timezone

from consequences.models import Action, Condition, Consequence, SubjectKind
from measurement.models import Deviation
from measurement.services import freshness
from measurement.services.intake import evaluation_record, observations_ingest
from measurement.services.rollup import scorecards_rollup
from tests import factories
from tests.test_rollup_worker import worker  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

COUNTDOWN = 2  # ROLLUP_AFTER_COMMIT_SECONDS, the setting's default
# Countdown, one incremental rollup of a few rows and one rule evaluation, on a loaded 2-core
# machine; the beat this replaces would have taken up to ROLLUP_INTERVAL (5 minutes).
WITHIN_SECONDS = 15
BURST = 12


@pytest.fixture
def after_commit(settings):
    settings.ROLLUP_AFTER_COMMIT_SECONDS = COUNTDOWN
    cache.delete(freshness.FLAG_KEY)
    yield
    cache.delete(freshness.FLAG_KEY)


@pytest.fixture
def rollup_runs():
    """The keyword arguments of every rollup task the worker starts, in order."""
    runs: list[dict] = []
    lock = threading.Lock()

    def started(sender=None, kwargs=None, **extra) -> None:
        if sender is not None and sender.name == "measurement.tasks.rollup_scorecards":
            with lock:
                runs.append(dict(kwargs or {}))

    task_prerun.connect(started, weak=False)
    yield runs
    task_prerun.disconnect(started)


@pytest.fixture
def deviation_rule():
    """Any deviation of a non-negotiable standard → a corrective action for its location."""
    location = factories.LocationFactory()
    standard = factories.StandardFactory(non_negotiable=True, target_rate=100)
    # The first rollup ever is a full rebuild; start from a rolled-up state, as in production, so
    # that the run the commit asks for is the incremental one. The rule comes after it, so that
    # this run enqueues no evaluation that could answer the test's evidence in its place.
    scorecards_rollup(full=True)
    factories.RuleFactory(
        subject_kind=SubjectKind.LOCATION, condition=Condition.DEVIATION, action=Action.CORRECTIVE_ACTION
    )
    return location, standard


def _wait_for(condition, timeout: float) -> float:
    """Seconds until `condition()` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"nothing after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def _failed_row(standard, location, number: int) -> tuple[int, dict]:
    return (
        1,
        {
            "external_id": f"fresh-{number}",
            "standard": standard.code,
            "location": location.code,
            "observed_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
            "passed": "false",
            "source": "qa_review",
        },
    )


def test_a_failed_critical_evaluation_leads_to_its_corrective_action_within_seconds(
    worker,  # noqa: F811
    after_commit,
    rollup_runs,
    deviation_rule,
):
    location, standard = deviation_rule
    other = factories.StandardFactory()

    committed = time.monotonic()
    outcome = evaluation_record(
        location=location.code,
        method="mystery_shop",
        evaluated_at=timezone.now() - timedelta(minutes=10),
        items=[
            {"standard": standard.code, "passed": "false", "critical": "true"},
            {"standard": other.code, "passed": "true"},
        ],
    )
    assert outcome.errors == [] and outcome.created
    deviation = Deviation.objects.get(observation__evaluation=outcome.evaluation)

    seconds = _wait_for(lambda: Consequence.objects.filter(deviation=deviation).exists(), WITHIN_SECONDS)

    consequence = Consequence.objects.get(deviation=deviation)
    assert consequence.action == Action.CORRECTIVE_ACTION and consequence.location_id == location.pk
    # It came from the run the commit asked for, after its countdown, not from anything else.
    assert rollup_runs == [{"requested": True}]
    assert time.monotonic() - committed >= COUNTDOWN
    assert seconds < WITHIN_SECONDS


def test_a_burst_of_commits_is_rolled_up_by_one_run_and_every_deviation_gets_its_action(
    worker,  # noqa: F811
    after_commit,
    rollup_runs,
    deviation_rule,
):
    location, standard = deviation_rule

    started = time.monotonic()
    for number in range(BURST):
        result = observations_ingest([_failed_row(standard, location, number)])  # one commit each
        assert result.ok and result.deviations == 1
    burst = time.monotonic() - started

    _wait_for(
        lambda: Consequence.objects.filter(deviation__isnull=False).count() == BURST, WITHIN_SECONDS + burst
    )

    # A run clears the flag as it starts, so a burst longer than the countdown may ask for one
    # more per countdown it outlasted; never one per commit.
    most = 1 + int(burst // COUNTDOWN)
    assert 1 <= len(rollup_runs) <= most < BURST, (len(rollup_runs), burst)
    assert all(run == {"requested": True} for run in rollup_runs)
    assert Consequence.objects.filter(location=location, action=Action.CORRECTIVE_ACTION).count() == BURST
