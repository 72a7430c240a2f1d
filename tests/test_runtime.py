"""The runtime around the code: real Celery workers, and the plugin that gates tests on services.

The worker tests start `celery -A servicedesk worker` as a real process, send it
`training.tasks.sync_assignments` and wait for the rows it writes, so they prove the broker,
the task routing and the worker's database settings together — what an eager task cannot.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.plugins import requirements as service_requirements

REPO = Path(__file__).resolve().parent.parent
# What the settings read from the environment; a subprocess gets none of it unless told.
SETTINGS_PREFIXES = (
    "CELERY_",
    "EMAIL_",
    "SECURE_",
    "REQUIRE_",
    "CACHE_",
    "LOGIN_",
    "API_RATE_",
    "FEEDBACK_",
    "INTAKE_",
)
SETTINGS_NAMES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "CONN_MAX_AGE",
    "REDIS_URL",
    "HOUSEKEEPING_INTERVAL_MINUTES",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "SERVICEDESK_VAR_DIR",
    "DJANGO_SETTINGS_MODULE",
}
WORKER_DEADLINE_SECONDS = 40


def clean_environment(**environment: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_NAMES and not name.startswith(SETTINGS_PREFIXES)
    }
    env.update(DJANGO_SETTINGS_MODULE="servicedesk.settings", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env.update(environment)
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 60) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Worker:
    """A `celery worker --pool=solo` process (or `prefork` with one pool child), stopped (its whole
    process group) on exit."""

    def __init__(self, env: dict[str, str], log: Path, queue: str | None = None, pool: str = "solo"):
        command = [sys.executable, "-m", "celery", "-A", "servicedesk", "worker", f"--pool={pool}"]
        if pool == "prefork":
            command += ["--concurrency=1"]
        command += ["--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"]
        command += ["--hostname", f"test-{uuid.uuid4().hex[:8]}@%h"]
        if queue:
            command += ["--queues", queue]
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")

    def wait_for(self, condition, what: str):
        """Poll `condition()` until it returns a truthy value; fail if the worker dies or time runs out."""
        deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}) before {what}:\n{self.output()}")
            time.sleep(0.25)
        pytest.fail(f"no {what} within {WORKER_DEADLINE_SECONDS} s; worker log:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log_file.close()


# Two staff members and one course required of everyone: a sync creates two assignments.
DATASET = textwrap.dedent(
    """
    from tests import factories
    from training.models import Audience
    factories.EmployeeFactory()
    factories.EmployeeFactory()
    factories.RequirementFactory(audience=Audience.EVERYONE)
    """
)


@pytest.mark.slow
def test_a_worker_on_the_filesystem_broker_runs_a_task_sent_from_another_process(tmp_path):
    # given: the embedded default (SQLite file, filesystem broker) in a private var folder
    var_dir = tmp_path / "var"
    env = clean_environment(SERVICEDESK_VAR_DIR=str(var_dir))
    run(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    send = DATASET + "from training.tasks import sync_assignments\nprint(sync_assignments.delay().id)\n"
    task_id = run(["manage.py", "shell", "-c", send], env).split()[-1]
    database = var_dir / "servicedesk.sqlite3"

    def assignments() -> int:
        with sqlite3.connect(database, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM training_assignment WHERE active").fetchone()[0]

    assert assignments() == 0
    assert list((var_dir / "celery-broker" / "queue").iterdir()), "no message in the broker folder"

    # when: a worker starts against the same folder
    with Worker(env, tmp_path / "worker.log") as worker:
        worker.wait_for(lambda: assignments() == 2, "two training assignments in the database")
        succeeded = f"Task training.tasks.sync_assignments[{task_id}] succeeded"
        worker.wait_for(lambda: succeeded in worker.output(), "success line in the worker's log")

    # then: the task ran once, and the worker shut down cleanly
    assert "{'created': 2, 'reactivated': 0, 'deactivated': 0}" in worker.output()
    assert worker.process.returncode == 0, worker.output()


@pytest.fixture
def tasks_go_to_the_broker():
    """Tasks sent by the test go to the broker, although the suite runs them inline by default."""
    from servicedesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


def _database_url(settings_dict: dict) -> str:
    user = settings_dict["USER"] or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}{settings_dict['HOST'] or 'localhost'}{port}/{settings_dict['NAME']}"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_runs_a_task_against_postgresql(tmp_path, tasks_go_to_the_broker):
    from tests import factories
    from training.models import Assignment, Audience
    from training.tasks import sync_assignments

    # given: committed data in pytest's PostgreSQL database, and a worker on a queue of its own
    factories.EmployeeFactory()
    factories.EmployeeFactory()
    factories.RequirementFactory(audience=Audience.EVERYONE)
    queue = f"test-runtime-{uuid.uuid4().hex}"
    env = clean_environment(
        SERVICEDESK_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=_database_url(connection.settings_dict),
        REDIS_URL=os.environ["REDIS_URL"],
    )

    with Worker(env, tmp_path / "worker.log", queue=queue) as worker:
        # when
        result = sync_assignments.apply_async(queue=queue)
        # then: the result comes back through the Redis result backend, the rows are in the database
        outcome = result.get(timeout=WORKER_DEADLINE_SECONDS)

    assert outcome == {"created": 2, "reactivated": 0, "deactivated": 0}
    assert Assignment.objects.filter(active=True).count() == 2
    assert f"Task training.tasks.sync_assignments[{result.id}] succeeded" in worker.output()
    assert worker.process.returncode == 0, worker.output()


# --- the service requirement plugin -------------------------------------------------------------

MARKED_TESTS = textwrap.dedent(
    """
    import pytest

    @pytest.mark.postgres
    def test_needs_postgres():
        pass

    @pytest.mark.redis
    def test_needs_redis():
        pass

    @pytest.mark.browser
    def test_needs_browser():
        pass

    def test_needs_nothing():
        pass
    """
)


def run_marked_tests(tmp_path: Path, *, chromium: bool, **environment: str) -> str:
    """Run MARKED_TESTS in a pytest of their own, on SQLite, with only the given services; its report."""
    (tmp_path / "test_marked.py").write_text(MARKED_TESTS)
    path = tmp_path / "bin"
    path.mkdir()
    if chromium:
        fake = path / "chromium"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
    env = clean_environment(
        PATH=str(path),
        PYTHONPATH=str(REPO),
        SERVICEDESK_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **environment,
    )
    command = [sys.executable, "-m", "pytest", "-p", "tests.plugins.requirements", "-p", "no:cacheprovider"]
    # The plugin reads Django's settings lazily; without pytest-django and pytest-playwright it starts faster.
    command += ["-p", "no:django", "-p", "no:playwright"]
    result = subprocess.run(
        [*command, "-rsE", "test_marked.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout + result.stderr


def test_tests_needing_absent_services_are_skipped_with_the_reason(tmp_path):
    report = run_marked_tests(tmp_path, chromium=False)

    assert "1 passed, 3 skipped" in report
    assert "needs PostgreSQL: the database engine is sqlite3" in report
    assert "needs Redis: REDIS_URL is not set" in report
    assert "needs Chromium: no `chromium` executable on PATH" in report


def test_require_services_and_require_browser_turn_those_skips_into_errors(tmp_path):
    report = run_marked_tests(tmp_path, chromium=False, REQUIRE_SERVICES="1", REQUIRE_BROWSER="1")

    assert "1 passed, 3 errors" in report
    lines = report.splitlines()
    for reason, flag in [
        (
            "needs PostgreSQL: the database engine is sqlite3 (set DATABASE_URL=postgres://...)",
            "REQUIRE_SERVICES",
        ),
        ("needs Redis: REDIS_URL is not set", "REQUIRE_SERVICES"),
        ("needs Chromium: no `chromium` executable on PATH (apt-get install chromium)", "REQUIRE_BROWSER"),
    ]:
        assert f"{reason} — and {flag}=1 forbids skipping" in lines


def test_each_requirement_flag_covers_only_its_own_markers(tmp_path):
    report = run_marked_tests(
        tmp_path, chromium=True, REQUIRE_BROWSER="1", REDIS_URL="redis://:hunter2@127.0.0.1:9/0"
    )

    # Chromium is there, so the browser test runs; postgres and redis still only skip.
    assert "2 passed, 2 skipped" in report
    assert "needs Redis: redis://:***@127.0.0.1:9/0 is unreachable" in report
    assert "hunter2" not in report


def test_a_password_in_a_service_url_is_never_reported():
    assert service_requirements.redacted("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert service_requirements.redacted("redis://user:s3cret@cache/0") == "redis://user:***@cache/0"
    assert service_requirements.redacted("redis://cache:6379/0") == "redis://cache:6379/0"


@pytest.mark.redis
def test_redis_marked_tests_run_only_where_redis_answers():
    assert service_requirements.redis_missing(os.environ["REDIS_URL"]) is None


@pytest.mark.postgres
def test_postgres_marked_tests_run_only_on_postgresql():
    assert connection.vendor == "postgresql"
