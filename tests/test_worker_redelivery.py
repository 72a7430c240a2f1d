"""A lost worker costs minutes (issue 8): limits that hold together, periodic tasks safe to run again,
and a real worker killed with SIGKILL mid-task whose task runs again after a restart.

The kill test starts `celery worker --pool=prefork --concurrency=1` as a process on Redis and
PostgreSQL, with a visibility timeout of a few seconds from the environment, and makes the rollup
task wait on the rollup's advisory lock (held by the test) so that it is surely mid-way when the
main process and its pool child are killed.
"""

from __future__ import annotations

import ast
import os
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from measurement.services.rollup import ADVISORY_LOCK_KEY, scorecards_rollup
from measurement.tasks import rollup_scorecards
from organization.models import Notice
from organization.tasks import prune_expired_sessions
from servicedesk.celery import app, tasks_over_the_time_limit
from standards.tasks import send_acknowledgement_reminders
from tests import factories
from tests.test_rollup import SPRING, assert_matches_independent_count, evidence, make_org, snapshot
from tests.test_rollup_worker import _advisory_lock_waiters
from tests.test_runtime import Worker, _database_url, clean_environment
from tests.test_settings import start_django
from training.models import Assignment, Audience
from training.tasks import sync_assignments


class WorkerLost(Exception):
    """What a task sees of its worker being killed: nothing after this point runs."""


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("environment", "got"),
    [
        ({"CELERY_VISIBILITY_TIMEOUT": "720"}, "600 < 720 < 720"),  # equal to the hard limit
        ({"CELERY_TASK_TIME_LIMIT": "3600"}, "600 < 3600 < 900"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "720"}, "720 < 720 < 900"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "0"}, "0 < 720 < 900"),
    ],
)
def test_limits_that_do_not_grow_from_soft_to_hard_to_visibility_stop_start_up(tmp_path, environment, got):
    result = start_django(tmp_path, "manage.py", "check", **environment)

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: Celery limits must grow: 0 < CELERY_TASK_SOFT_TIME_LIMIT < "
        f"CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT, got {got} seconds"
    ) in result.stderr


def test_a_redis_broker_gets_the_visibility_timeout_and_a_sweep_every_restore_interval(tmp_path):
    show = (
        "from django.conf import settings as s; "
        "print(repr(s.CELERY_BROKER_TRANSPORT_OPTIONS)); print(s.CELERY_TASK_SOFT_TIME_LIMIT, s.CELERY_TASK_TIME_LIMIT)"
    )
    environment = {"REDIS_URL": "redis://127.0.0.1:6379/9", "CELERY_VISIBILITY_TIMEOUT": "1200"}
    result = start_django(
        tmp_path, "manage.py", "shell", "-v0", "-c", show, CELERY_RESTORE_INTERVAL="5", **environment
    )

    assert result.returncode == 0, result.stderr
    options, limits = result.stdout.strip().splitlines()[-2:]
    assert ast.literal_eval(options) | {} == {
        "visibility_timeout": 1200,
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    assert limits == "600 720"


def test_no_task_has_a_time_limit_of_its_own_above_the_hard_limit():
    app.loader.import_default_modules()

    assert [name for name in app.tasks if not name.startswith("celery.")], "no task registered"
    assert tasks_over_the_time_limit(app) == []


def test_a_task_with_a_longer_limit_of_its_own_is_named():
    @app.task(name="tests.too_long", time_limit=app.conf.task_time_limit + 1, shared=False)
    def too_long():
        pass

    try:
        assert tasks_over_the_time_limit(app) == [f"tests.too_long ({app.conf.task_time_limit + 1} s)"]
    finally:
        app.tasks.pop("tests.too_long")


# --------------------------------------------------------------------------- each periodic task, twice


def test_every_beat_entry_is_covered_here(settings):
    covered = {
        "measurement.tasks.rollup_scorecards",
        "training.tasks.sync_assignments",
        "organization.tasks.prune_expired_sessions",
        "training.tasks.send_training_reminders",
        "standards.tasks.send_acknowledgement_reminders",
        "consequences.tasks.notify_overdue_consequences",
        "consequences.tasks.evaluate_sla_rules",
        "cases.tasks.escalate_cases",
        "audits.tasks.plan_audits",
    }
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= covered


@pytest.mark.django_db(transaction=True)
def test_a_rollup_run_again_changes_nothing():
    org = make_org()
    evidence(org, start=SPRING, days=10, observations=60, answers=20)
    rollup_scorecards.delay().get()
    before = snapshot()

    again = rollup_scorecards.delay().get()
    full = rollup_scorecards.delay(full=True).get()

    assert snapshot() == before
    assert again["rows_written"] == full["rows_written"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("redelivered", "full"), [(False, False), (True, True)])
def test_a_redelivered_rollup_rebuilds_everything(redelivered, full):
    # The delivery that was lost may have committed its run and died before sending the follow-up;
    # only a full run (which evaluates every consequence rule) is sure to make up for it.
    org = make_org()
    evidence(org, start=SPRING, days=5, observations=30, answers=10)
    scorecards_rollup()

    rollup_scorecards.push_request(delivery_info={"redelivered": redelivered})
    try:
        summary = rollup_scorecards.run()
    finally:
        rollup_scorecards.pop_request()

    assert summary["full"] is full


@pytest.mark.django_db(transaction=True)
def test_a_sync_that_dies_mid_way_leaves_nothing_half_written_and_the_rerun_completes(monkeypatch):
    factories.EmployeeFactory()
    factories.EmployeeFactory()
    factories.RequirementFactory(audience=Audience.EVERYONE)

    def worker_lost(*args, **kwargs):
        raise WorkerLost

    # The assignments are created, then the worker is lost before the rest of the sync.
    monkeypatch.setattr(Assignment.objects, "bulk_update", worker_lost)
    with pytest.raises(WorkerLost):
        sync_assignments.delay().get()
    assert Assignment.objects.count() == 0
    monkeypatch.undo()

    assert sync_assignments.delay().get() == {"created": 2, "reactivated": 0, "deactivated": 0}
    assert sync_assignments.delay().get() == {"created": 0, "reactivated": 0, "deactivated": 0}


@pytest.mark.django_db(transaction=True)
def test_a_reminder_run_lost_before_its_commit_sends_nothing_and_the_rerun_sends_each_email_once(
    monkeypatch, mailoutbox
):
    # given: two employees who have a standard to acknowledge
    factories.EmployeeFactory()
    factories.EmployeeFactory()
    factories.StandardFactory()
    from organization import notifications

    rendered = []
    real_render = notifications._render

    def lost_after_the_first_email(template, context):
        if rendered:
            raise WorkerLost
        rendered.append(context["recipient"])
        return real_render(template, context)

    # when: the first delivery dies while preparing the second email
    monkeypatch.setattr(notifications, "_render", lost_after_the_first_email)
    with pytest.raises(WorkerLost):
        send_acknowledgement_reminders.delay().get()
    monkeypatch.undo()

    # then: nothing was sent nor recorded, and the redelivered run and any later one send each email once
    assert mailoutbox == [] and Notice.objects.count() == 0
    assert send_acknowledgement_reminders.delay().get()["emails"] == 2
    assert send_acknowledgement_reminders.delay().get()["emails"] == 0
    assert len(mailoutbox) == 2 and len({message.to[0] for message in mailoutbox}) == 2


@pytest.mark.django_db(transaction=True)
def test_sla_rules_evaluated_again_propose_nothing_more():
    from consequences.models import Action, Condition, Consequence, Rule, SubjectKind
    from consequences.tasks import evaluate_sla_rules

    location = factories.LocationFactory()
    owner = factories.EmployeeFactory(location=location)
    Rule.objects.create(
        name="Two breaches",
        subject_kind=SubjectKind.LOCATION,
        condition=Condition.SLA_BREACHED,
        action=Action.COACHING,
        breaches_at_least=2,
    )
    due = timezone.now() - timedelta(minutes=5)
    for minutes in (0, 1):
        factories.CaseFactory(
            location=location,
            owner=owner,
            opened_at=due - timedelta(hours=1, minutes=minutes),
            acknowledge_due_at=due - timedelta(minutes=minutes),
        )

    assert evaluate_sla_rules.delay().get()["created"] == 1
    assert evaluate_sla_rules.delay().get()["created"] == 0
    assert Consequence.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_case_escalation_run_again_escalates_nothing_more(mailoutbox):
    from cases.models import CaseEvent, EventKind
    from cases.tasks import escalate_cases
    from organization.models import Role

    location = factories.LocationFactory()
    owner = factories.EmployeeFactory(location=location)
    manager = factories.EmployeeFactory(location=location, role=Role.MANAGER)
    manager.managed_locations.add(location)
    due = timezone.now() - timedelta(minutes=5)
    case = factories.CaseFactory(
        location=location, owner=owner, opened_at=due - timedelta(hours=1), acknowledge_due_at=due
    )

    assert escalate_cases.delay().get()["escalated"] == 1
    assert escalate_cases.delay().get()["escalated"] == 0
    assert CaseEvent.objects.filter(case=case, kind=EventKind.ESCALATED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_audit_planning_run_again_plans_misses_and_alerts_nothing_more(mailoutbox):
    from audits.models import Frequency, Occurrence, OccurrenceStatus
    from audits.tasks import plan_audits
    from organization.models import Role
    from tests.audit_factories import ScheduleFactory, template_from

    location = factories.LocationFactory()
    manager = factories.EmployeeFactory(location=location, role=Role.MANAGER)
    manager.managed_locations.add(location)
    template = template_from([{"title": "Welcome", "questions": [{"key": "greet", "kind": "yes_no"}]}])
    today = timezone.localdate()
    # Three past days, each due a minute after it opened: all missed, one alert for the manager.
    ScheduleFactory(
        template=template,
        location=location,
        frequency=Frequency.DAILY,
        starts_on=today - timedelta(days=4),
        ends_on=today - timedelta(days=2),
        opens_at="00:00",
        due_after_days=0,
        due_time="00:01",
    )

    first = plan_audits.delay().get()
    emails = len(mailoutbox)
    again = plan_audits.delay().get()

    assert first["planned"] == 3 and first["missed"] == 3 and emails >= 1
    assert again["planned"] == again["opened"] == again["missed"] == 0
    assert again["missed_alerts"]["emails"] == again["reminders"]["emails"] == 0
    assert len(mailoutbox) == emails
    assert Occurrence.objects.filter(status=OccurrenceStatus.MISSED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_pruning_sessions_again_deletes_nothing_more():
    Session.objects.create(session_key="gone", session_data="", expire_date=timezone.now())
    Session.objects.create(
        session_key="live", session_data="", expire_date=timezone.now() + timedelta(days=1)
    )

    assert prune_expired_sessions.delay().get() == 1
    assert prune_expired_sessions.delay().get() == 0
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]


# --------------------------------------------------------------------------- a real worker, killed

VISIBILITY_TIMEOUT = 10
RESTORE_INTERVAL = 1
DEADLINE = 60


class PreforkWorker(Worker):
    """`celery worker --pool=prefork --concurrency=1`: a main process and one pool child."""

    def __init__(self, env: dict[str, str], log: Path, queue: str):
        super().__init__(env, log, queue, pool="prefork")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> list[int]:
        """SIGKILL the pool child and the main process, each by its id; the ids killed."""
        killed = [*self.children(), self.process.pid]
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()
        return killed


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_for(condition, what: str, worker: PreforkWorker, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited ({worker.process.returncode}) before {what}:\n{worker.output()}")
        time.sleep(0.1)
    pytest.fail(f"no {what} within {deadline} s; worker log:\n{worker.output()}")


@pytest.fixture
def tasks_go_to_the_broker():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_rollup_whose_worker_is_killed_runs_again_after_a_restart_and_equals_a_clean_run(
    tmp_path, tasks_go_to_the_broker
):
    # given: committed evidence, and a worker whose broker hands unacknowledged messages back fast
    org = make_org()
    evidence(org, start=SPRING, days=15, observations=150, answers=60)
    scorecards_rollup()  # the first run ever; the one killed below would be incremental
    evidence(org, seed=2, start=SPRING + timedelta(days=5), days=20, observations=80, answers=20)
    queue = f"test-kill-{uuid.uuid4().hex}"
    env = clean_environment(
        SERVICEDESK_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=_database_url(connection.settings_dict),
        REDIS_URL=os.environ["REDIS_URL"],
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        CELERY_RESTORE_INTERVAL=str(RESTORE_INTERVAL),
        CELERY_TASK_TIME_LIMIT="8",
        CELERY_TASK_SOFT_TIME_LIMIT="6",
    )
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    first = PreforkWorker(env, tmp_path / "first.log", queue)
    second = None
    try:
        result = rollup_scorecards.apply_async(queue=queue)
        # when: the task is mid-way (its transaction open, waiting for the lock) ...
        _wait_for(lambda: _advisory_lock_waiters() == 1, "the rollup waiting on its lock", first)
        delivered = time.monotonic()
        assert broker.hexists("unacked", result.id) or broker.hlen("unacked") >= 1
        # ... the whole worker dies: the pool child and the main process
        killed = first.kill()
        assert len(killed) == 2, f"expected a main process and one pool child, killed {killed}"
        # (the worker has exited by now, so this waits without _wait_for's check that it is alive)
        gone_by = time.monotonic() + 10
        while not all(_gone(pid) for pid in killed):
            assert time.monotonic() < gone_by, f"processes {killed} still alive after SIGKILL"
            time.sleep(0.05)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        assert result.state == "PENDING"

        # and the worker is started again
        restarted = time.monotonic()
        second = PreforkWorker(env, tmp_path / "second.log", queue)
        summary = result.get(timeout=DEADLINE)
        rerun = time.monotonic()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        first.stop()
        if second is not None:
            second.stop()

    # then: the task ran again within the bound, and its scorecards are those of a clean run
    print(
        f"restart to re-run: {rerun - restarted:.1f} s; first delivery to re-run: {rerun - delivered:.1f} s "
        f"(visibility timeout {VISIBILITY_TIMEOUT} s, sweep every {RESTORE_INTERVAL} s)"
    )
    # Not before the visibility timeout (the message really was handed back by it), and within it
    # plus a sweep and the second worker's start.
    assert VISIBILITY_TIMEOUT - 1 <= rerun - delivered <= VISIBILITY_TIMEOUT + RESTORE_INTERVAL + 20
    assert f"Task measurement.tasks.rollup_scorecards[{result.id}] received" in first.output()
    assert f"Task measurement.tasks.rollup_scorecards[{result.id}] succeeded" in second.output()
    # redelivered, it rebuilt everything (and so asked for every consequence rule to be evaluated)
    assert summary["full"] is True and summary["rows_written"] > 0
    assert_matches_independent_count()
    after_redelivery = snapshot()
    assert scorecards_rollup(full=True).rows_written == 0
    assert snapshot() == after_redelivery
