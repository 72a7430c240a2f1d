"""Tests that need a real service say so with a marker; this plugin decides whether they run.

    @pytest.mark.postgres   the database engine must be PostgreSQL (DATABASE_URL=postgres://...)
    @pytest.mark.redis      REDIS_URL must be set and answer PING
    @pytest.mark.browser    a `chromium` executable must be on PATH

Without the service such a test is skipped with the reason. In CI, where the services are
meant to be there, a skip would hide a broken set-up, so REQUIRE_SERVICES=1 (postgres,
redis) and REQUIRE_BROWSER=1 (browser) turn the skip into an error naming what is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import pytest

TRUE_VALUES = {"1", "true", "yes", "on"}


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in TRUE_VALUES


def redacted(url: str) -> str:
    """The URL without its password, fit for a test report."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def postgres_missing() -> str | None:
    """Why a PostgreSQL test cannot run here, or None when it can."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return None
    return f"needs PostgreSQL: the database engine is {engine.rsplit('.', 1)[-1]} (set DATABASE_URL=postgres://...)"


@cache
def redis_missing(url: str | None) -> str | None:
    """Why a Redis test cannot run against `url`, or None when Redis answers PING (asked once per URL)."""
    if not url:
        return "needs Redis: REDIS_URL is not set"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        return f"needs Redis: {redacted(url)} is unreachable ({exc})"
    return None


def configured_redis_missing() -> str | None:
    return redis_missing(os.environ.get("REDIS_URL", "").strip() or None)


def browser_missing() -> str | None:
    """Why a browser test cannot run here, or None when Chromium is on PATH."""
    if shutil.which("chromium"):
        return None
    return "needs Chromium: no `chromium` executable on PATH (apt-get install chromium)"


@dataclass(frozen=True)
class Requirement:
    marker: str
    missing: Callable[[], str | None]
    strict_variable: str


REQUIREMENTS = (
    Requirement("postgres", postgres_missing, "REQUIRE_SERVICES"),
    Requirement("redis", configured_redis_missing, "REQUIRE_SERVICES"),
    Requirement("browser", browser_missing, "REQUIRE_BROWSER"),
)

MARKERS = {
    "postgres": "needs PostgreSQL (skips on SQLite unless REQUIRE_SERVICES=1)",
    "redis": "needs Redis (skips without REDIS_URL unless REQUIRE_SERVICES=1)",
    "browser": "drives headless Chromium (skips without it unless REQUIRE_BROWSER=1)",
}


def pytest_configure(config: pytest.Config) -> None:
    # Declared here too so that the plugin works on its own (pyproject.toml declares them as well).
    for name, help_text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")


def unmet_requirements(item: pytest.Item) -> list[tuple[Requirement, str]]:
    """The requirements of `item`'s markers that this machine does not meet, each with the reason."""
    unmet = []
    for requirement in REQUIREMENTS:
        if item.get_closest_marker(requirement.marker) is not None:
            reason = requirement.missing()
            if reason is not None:
                unmet.append((requirement, reason))
    return unmet


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A skip marker (rather than pytest.skip() in a hook) reports the test's own location.
    for item in items:
        unmet = unmet_requirements(item)
        if unmet and not any(env_flag(requirement.strict_variable) for requirement, _ in unmet):
            item.add_marker(pytest.mark.skip(reason="; ".join(reason for _, reason in unmet)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # tryfirst: fail before fixtures create a database or launch a browser.
    for requirement, reason in unmet_requirements(item):
        if env_flag(requirement.strict_variable):
            pytest.fail(f"{reason} — and {requirement.strict_variable}=1 forbids skipping", pytrace=False)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """One line in the report's header says which services this run has."""
    redis_url = os.environ.get("REDIS_URL", "").strip() or None
    try:
        from django.conf import settings

        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    except Exception as exc:  # settings not configured (e.g. run with -p no:django)
        database = f"unknown ({exc.__class__.__name__})"
    if redis_url is None:
        redis_state = "not set"
    else:
        redis_state = redacted(redis_url) + (" (unreachable)" if redis_missing(redis_url) else "")
    return [
        f"services: database {database}; redis {redis_state}; chromium {shutil.which('chromium') or 'not found'}; "
        f"REQUIRE_SERVICES={int(env_flag('REQUIRE_SERVICES'))} REQUIRE_BROWSER={int(env_flag('REQUIRE_BROWSER'))}"
    ]
