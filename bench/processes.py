"""The processes the benchmark starts beside itself: a Celery worker and a gunicorn server.

Both run the tree's own code against the benchmark's database and Redis, with production
settings (``DEBUG`` off), so that what is timed is what a deployment serves. Each is started
by a context manager that waits until it answers and stops it (by its own process id) on the
way out, whatever happened inside.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 90  # seconds a process may take to answer after its start


def production_environment(*, database_url: str, redis_url: str, secret_key: str, var_dir: str) -> dict:
    """The environment of a child process: the benchmark's database and Redis, DEBUG off.

    The secret key is the benchmark's own, so that the sessions it creates are valid in the
    server; plain HTTP on 127.0.0.1, so no redirect to HTTPS."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SERVICEDESK_VAR_DIR": var_dir,
        "STATIC_ROOT": str(Path(var_dir) / "staticfiles"),
    }


def _stop(process: subprocess.Popen, grace: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def celery_worker(environment: dict) -> Iterator[subprocess.Popen]:
    """One Celery worker (solo pool: one task at a time, as the smallest deployment runs it), no
    beat. Yields once it has logged that it is ready to take tasks."""
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as folder:
        log = Path(folder) / "worker.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "servicedesk", "worker", "--pool", "solo",
                 "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=environment, stdout=handle, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Celery worker did not start:\n{_log_tail(log)}")
                time.sleep(0.2)
            yield process
        finally:
            _stop(process)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    host: str
    port: int

    def get(self, path: str, cookie: str = "") -> tuple[int, float, int]:
        """One GET on a new connection (gunicorn's sync workers close each one): status, seconds
        until the body is read to its end, and its size."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=600)
        headers = {"Cookie": cookie} if cookie else {}
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return response.status, time.perf_counter() - started, len(body)


@contextmanager
def gunicorn(environment: dict, *, workers: int = 2, timeout: float = 600) -> Iterator[Server]:
    """gunicorn serving ``servicedesk.wsgi`` with `workers` sync workers on a free local port,
    after ``collectstatic`` (production serves the hashed static files). Yields once the login
    page answers 200."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT, env=environment, check=True,
    )  # fmt: skip
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as folder:
        log = Path(folder) / "gunicorn.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "servicedesk.wsgi", "--workers", str(workers),
                 "--bind", f"127.0.0.1:{port}", "--timeout", str(int(timeout))],
                cwd=ROOT, env=environment, stdout=handle, stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = Server("127.0.0.1", port)
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{_log_tail(log)}")
                try:
                    if server.get("/accounts/login/")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            yield server
        finally:
            _stop(process)
