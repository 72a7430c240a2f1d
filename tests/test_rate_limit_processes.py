"""Limits hold across processes: two real gunicorn servers, one client, one count.

Each test starts two gunicorn processes (one worker each, on two ports) against the test
PostgreSQL database and Redis, and posts the public feedback form from one client address to
both in turn. With the shared cache (Redis, the default whenever REDIS_URL is set) the total
accepted equals FEEDBACK_RATE_LIMIT exactly; the control run gives each server a local-memory
cache and lets through the limit once per process, which is what the test would catch. Failed
sign-ins likewise add up across the two servers (django-axes counts in the database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/servicedesk REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/pytest tests/test_rate_limit_processes.py -s     # -s shows the figures
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.core.cache import cache
from django.db import connection

from measurement.models import Feedback
from measurement.ratelimit import rate_limit_allows
from tests import factories


def on_servers(test):
    """Marks for a test with real servers: PostgreSQL and Redis, rows committed for them to see."""
    marks = (pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True))
    for mark in (*marks, pytest.mark.usefixtures("fresh_counts")):
        test = mark(test)
    return test


REPO = Path(__file__).resolve().parent.parent
LIMIT = 5
PASSWORD = "correct-horse-battery"  # the factories' password
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """DATABASE_URL with the test database's name, which the servers must use."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def _wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            # The first request loads the whole project: allow it time on a busy machine.
            requests.get(base + "/accounts/login/", timeout=(1, START_TIMEOUT))
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer at {base} within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


class Servers:
    """Pairs of gunicorn servers on the test database; start(cache_url) → their base URLs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen] = []

    def start(self, cache_url: str = "") -> list[str]:
        tmp_path = self.folder
        environment = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            # Connections closed after each request, so the test database can be flushed and dropped.
            "CONN_MAX_AGE": "0",
            "CACHE_URL": cache_url,
            "CACHE_KEY_PREFIX": "",
            "FEEDBACK_RATE_LIMIT": str(LIMIT),
            "FEEDBACK_RATE_WINDOW_SECONDS": "600",
            "FEEDBACK_TRUSTED_PROXIES": "0",
            "LOGIN_FAILURE_LIMIT": str(LIMIT),
            "LOGIN_COOLOFF_MINUTES": "15",
            # Nothing these requests enqueue needs a worker here.
            "CELERY_BROKER_URL": "memory://",
            "DEBUG": "1",
            "SERVICEDESK_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
        }
        bases = []
        for number in (1, 2):
            port = _free_port()
            log = tmp_path / f"gunicorn-{number}-{port}.log"
            command = [sys.executable, "-m", "gunicorn", "servicedesk.wsgi", "--bind", f"127.0.0.1:{port}"]
            command += ["--workers", "1", "--timeout", "30", "--log-level", "warning"]
            with log.open("wb") as output:
                server = subprocess.Popen(
                    command, cwd=REPO, env=environment, stdout=output, stderr=subprocess.STDOUT
                )
            self.started.append(server)
            bases.append((f"http://127.0.0.1:{port}", server, log))
        for base, server, log in bases:
            _wait_until_serving(base, server, log)
        return [base for base, _server, _log in bases]

    def stop(self) -> None:
        for server in self.started:
            server.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: nothing is in flight
        for server in self.started:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture(scope="module")
def shared_cache_servers(django_db_setup, tmp_path_factory):
    """Two servers on the shared cache (CACHE_URL unset: Redis on REDIS_URL), for the module."""
    servers = Servers(tmp_path_factory.mktemp("shared"))
    try:
        yield servers.start()
    finally:
        servers.stop()


@pytest.fixture
def start_servers(tmp_path):
    servers = Servers(tmp_path)
    yield servers.start
    servers.stop()


@pytest.fixture
def form_path(db):
    location = factories.LocationFactory(code="AAA-01", name="Alpha Street")
    touchpoint = factories.TouchpointFactory(name="Checkout till", slug="till")
    touchpoint.locations.add(location)
    return f"/feedback/{location.code}/{touchpoint.slug}/"


@pytest.fixture
def fresh_counts():
    # This process's cache is the servers' Redis: every test starts with a full allowance.
    cache.clear()
    yield
    cache.clear()


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def post_feedback_alternately(bases: list[str], form_path: str, posts: int) -> Counter:
    """Post `posts` answers from one client, server 1, 2, 1, 2, …; count the answers per server."""
    outcomes: Counter = Counter()
    sessions = {base: requests.Session() for base in bases}
    # One form per server: its token stays valid for the session's CSRF cookie.
    tokens = {base: _csrf(sessions[base], base + form_path) for base in bases}
    for number in range(posts):
        base = bases[number % len(bases)]
        session, token = sessions[base], tokens[base]
        response = session.post(
            base + form_path,
            data={
                "csat": "4",
                "nps": "9",
                "comment": f"visit {number}",
                "submission": str(uuid.uuid4()),
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": base + form_path},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code in (302, 429), (response.status_code, response.text[:500])
        outcomes[(base, "accepted" if response.status_code == 302 else "refused")] += 1
    return outcomes


def _report(title: str, bases: list[str], outcomes: Counter) -> tuple[int, int]:
    accepted = sum(outcomes[(base, "accepted")] for base in bases)
    refused = sum(outcomes[(base, "refused")] for base in bases)
    per_process = ", ".join(
        f"server {n} accepted {outcomes[(base, 'accepted')]} refused {outcomes[(base, 'refused')]}"
        for n, base in enumerate(bases, start=1)
    )
    print(f"\n{title}: limit {LIMIT}; {per_process}; total accepted {accepted}, refused {refused}")
    return accepted, refused


@on_servers
def test_two_processes_on_the_shared_cache_accept_the_limit_in_total(shared_cache_servers, form_path):
    bases = shared_cache_servers

    outcomes = post_feedback_alternately(bases, form_path, posts=3 * LIMIT)

    accepted, refused = _report("shared Redis cache", bases, outcomes)
    assert accepted == LIMIT and refused == 2 * LIMIT
    assert Feedback.objects.count() == LIMIT
    # Both servers took part in the count.
    assert all(outcomes[(base, "accepted")] > 0 and outcomes[(base, "refused")] > 0 for base in bases)


@on_servers
def test_control_with_a_cache_per_process_the_limit_is_counted_twice(start_servers, form_path):
    bases = start_servers("locmem://")

    outcomes = post_feedback_alternately(bases, form_path, posts=3 * LIMIT)

    accepted, _refused = _report("control, local memory per process", bases, outcomes)
    assert accepted == 2 * LIMIT
    assert Feedback.objects.count() == 2 * LIMIT


@on_servers
def test_failed_sign_ins_add_up_across_two_processes(shared_cache_servers, db):
    factories.UserFactory(username="clerk")
    bases = shared_cache_servers
    statuses = []
    for number in range(LIMIT + 1):
        base = bases[number % 2]
        session = requests.Session()
        token = _csrf(session, base + "/accounts/login/")
        response = session.post(
            base + "/accounts/login/",
            # The last one, on the other server, with the right password.
            data={
                "username": "clerk",
                "password": "wrong" if number < LIMIT else PASSWORD,
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": base + "/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        statuses.append(response.status_code)

    print(f"\nsign-ins alternating between two servers, limit {LIMIT}: statuses {statuses}")
    # Three failures on one server and two on the other make five: the fifth locks out, and the
    # right password on the other server is refused too.
    assert statuses == [200] * (LIMIT - 1) + [429, 429]


# --- the count itself ---------------------------------------------------------------------------

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


@pytest.mark.redis
def test_a_count_that_lost_its_expiry_gets_one_again(rf, settings):
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": os.environ["REDIS_URL"]}}
    key = "ratelimit:feedback:203.0.113.5"
    # What Redis' INCR leaves when the key expires just after Django's existence check.
    cache.set(key, 0, timeout=None)

    assert rate_limit_allows(
        rf.post("/", REMOTE_ADDR="203.0.113.5"), scope="feedback", limit=5, window_seconds=600
    )

    ttl = cache._cache.get_client(key).ttl(cache.make_and_validate_key(key))
    cache.delete(key)
    assert 0 < ttl <= 600, "the count would never reset"


@pytest.mark.django_db
def test_an_unreachable_cache_lets_the_customer_through_and_logs_it(client, settings, form_path, caplog):
    # Nothing listens on port 1: every cache call fails at once.
    settings.CACHES = {
        "default": {
            "BACKEND": REDIS_CACHE,
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }

    response = client.post(form_path, {"csat": "4", "nps": "9", "submission": str(uuid.uuid4())})

    assert response.status_code == 302 and Feedback.objects.count() == 1
    assert "Rate limit feedback not applied: the cache could not be reached" in caplog.text
