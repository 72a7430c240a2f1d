"""Broker outages are visible (issue 8): nothing waits long on a broker that is down, a rollup run from
the command line says that its follow-up was not sent, and the next run repairs.

"Down" is a Redis URL on a port nothing listens on, for the broker and the result store alike (in
production both are the same Redis, so an outage takes both). The in-process tests need no service;
the end-to-end one runs `manage.py rollup_scorecards` as a process against PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from kombu.exceptions import OperationalError

from consequences.models import Action, Condition, Consequence, SubjectKind
from consequences.tasks import evaluate_rules
from measurement.models import Scorecard
from measurement.tasks import rollup_scorecards
from servicedesk.celery import app
from tests import factories
from tests.test_rollup import SPRING, assert_matches_independent_count, evidence, make_org
from tests.test_runtime import REPO, _database_url, clean_environment
from training.tasks import sync_assignments

# A web request or a rollup may wait this long on a broker that is down, no more.
GIVE_UP_WITHIN_SECONDS = 3.0


def closed_port() -> int:
    """A local port with nothing listening on it: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _forget_connections() -> None:
    """Drop the broker pool and result backend Celery caches on first use, so the URLs set apply."""
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


@pytest.fixture
def broker_down():
    """Tasks go to a broker (and result store) that is down, instead of running inline."""
    down = f"redis://127.0.0.1:{closed_port()}/0"
    overrides = {"broker_url": down, "result_backend": down, "task_always_eager": False}
    saved = {name: app.conf[name] for name in overrides}
    app.conf.update(overrides)
    _forget_connections()
    yield down
    app.conf.update(saved)
    _forget_connections()


def timed(action) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        action()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def deviation_rule():
    return factories.RuleFactory(
        subject_kind=SubjectKind.LOCATION, condition=Condition.DEVIATION, action=Action.CORRECTIVE_ACTION
    )


@pytest.mark.parametrize(
    "enqueue",
    [
        pytest.param(lambda: evaluate_rules.delay(periods=None), id="follow-up, result ignored"),
        pytest.param(lambda: sync_assignments.delay(), id="task with a stored result"),
        pytest.param(lambda: rollup_scorecards.delay(), id="the rollup, as beat sends it"),
    ],
)
def test_enqueuing_with_the_broker_down_fails_within_seconds(broker_down, enqueue):
    elapsed, error = timed(enqueue)

    print(f"enqueue with the broker down failed after {elapsed:.2f} s")
    # A task whose result is stored first subscribes to it in the result store, which says so
    # with a RuntimeError; the others fail on the broker itself.
    assert isinstance(error, (OperationalError, RuntimeError)), error
    assert elapsed < GIVE_UP_WITHIN_SECONDS


@pytest.mark.django_db(transaction=True)
def test_enqueuing_on_commit_with_the_broker_down_costs_the_request_seconds_not_minutes(broker_down):
    # given: what a view does — write, and enqueue once the write is committed
    location = factories.LocationFactory()

    def request() -> None:
        with transaction.atomic():
            location.name = "Renamed"
            location.save()
            evaluate_rules.delay_on_commit(periods=None)

    # when
    elapsed, error = timed(request)

    # then: the write stands, and the failed publish came back quickly
    print(f"write + enqueue on commit with the broker down: {elapsed:.2f} s")
    assert isinstance(error, OperationalError), error
    assert elapsed < GIVE_UP_WITHIN_SECONDS
    location.refresh_from_db()
    assert location.name == "Renamed"


@pytest.mark.django_db(transaction=True)
def test_a_rollup_with_the_broker_down_writes_the_scorecards_and_says_the_follow_up_was_not_sent(
    broker_down, capsys
):
    # given: evidence, and a consequence rule, so that the rollup has a follow-up to send
    org = make_org()
    evidence(org, start=SPRING, days=10, observations=60, answers=20)
    deviation_rule()

    # when
    started = time.monotonic()
    with pytest.raises(CommandError) as failure:
        call_command("rollup_scorecards")
    elapsed = time.monotonic() - started

    # then: the scorecards are all there, and the message says what is missing and why
    assert "Full rebuild:" in capsys.readouterr().out
    assert_matches_independent_count()
    message = str(failure.value)
    assert "the follow-up was NOT sent: consequences.tasks.evaluate_rules" in message
    assert f"the broker at {broker_down.split('//')[1].split('/')[0]} is unreachable" in message
    assert "rollup_scorecards --full" in message
    assert elapsed < 2 * GIVE_UP_WITHIN_SECONDS


@pytest.mark.django_db(transaction=True)
def test_the_run_after_an_outage_repairs_scorecards_and_consequences(broker_down, settings):
    # given: a deviation waiting for its corrective action, and a rollup during the outage
    org = make_org()
    evidence(org, start=SPRING, days=10, observations=60, answers=20)
    deviation_rule()
    factories.DeviationFactory(observation__location=org["locations"][0])
    with pytest.raises(CommandError):
        call_command("rollup_scorecards")
    assert Consequence.objects.count() == 0  # the rules were never evaluated
    # and more evidence arrives while beat cannot even send the next run
    evidence(org, seed=2, start=SPRING, days=20, observations=40, answers=10)
    elapsed, error = timed(rollup_scorecards.delay)
    assert isinstance(error, (OperationalError, RuntimeError)) and elapsed < GIVE_UP_WITHIN_SECONDS

    # when: the broker is back (tasks run again) and the next runs happen
    app.conf.task_always_eager = True
    call_command("rollup_scorecards")
    call_command("rollup_scorecards", "--full")

    # then: the watermark brought every late row in, and the rules were evaluated
    assert_matches_independent_count()
    assert Consequence.objects.filter(deviation__isnull=False).count() == 1
    assert Scorecard.objects.exists()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_rollup_command_as_a_process_exits_non_zero_within_seconds_when_the_broker_is_down(tmp_path):
    # given: committed evidence and a rule in pytest's PostgreSQL database
    org = make_org()
    evidence(org, start=SPRING, days=5, observations=30, answers=10)
    deviation_rule()
    down = f"redis://127.0.0.1:{closed_port()}/0"
    env = clean_environment(
        SERVICEDESK_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=_database_url(connection.settings_dict),
        CELERY_BROKER_URL=down,
        CELERY_RESULT_BACKEND=down,
    )

    # when
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "rollup_scorecards"],
        cwd=REPO,
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started

    # then: scorecards written, a clear error, status 1, in seconds (Django's start-up included)
    print(f"manage.py rollup_scorecards with the broker down: exit {result.returncode} in {elapsed:.2f} s")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Full rebuild:" in result.stdout
    assert "the follow-up was NOT sent: consequences.tasks.evaluate_rules" in result.stderr
    assert f"the broker at {down.split('//')[1].split('/')[0]} is unreachable" in result.stderr
    assert_matches_independent_count()
    assert elapsed < 20


@pytest.mark.slow
def test_a_broker_that_accepts_connections_but_never_answers_costs_the_follow_up_seconds(tmp_path):
    # given: a port that completes the TCP handshake (the kernel's backlog) and never says a word,
    # as a hung Redis or a half-open connection does; the settings of a Redis broker apply to it
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(16)
        url = f"redis://127.0.0.1:{mute.getsockname()[1]}/0"
        send = (
            "import time\n"
            "from consequences.tasks import evaluate_rules\n"
            "started = time.monotonic()\n"
            "try:\n"
            "    evaluate_rules.delay(periods=None)\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, round(time.monotonic() - started, 2))\n"
        )
        env = clean_environment(SERVICEDESK_VAR_DIR=str(tmp_path / "var"), CELERY_BROKER_URL=url)

        # when
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v0", "-c", send],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # then: the publish timed out on the socket (5 s) instead of waiting for ever
    assert result.returncode == 0, result.stderr
    name, elapsed = result.stdout.split()[-2:]
    print(f"enqueue on a broker that never answers failed after {elapsed} s")
    assert name == "OperationalError" and float(elapsed) < 10
