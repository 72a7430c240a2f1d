"""Browser tests: Playwright drives the system's Chromium against pytest-django's live server.

Chromium comes from the operating system (Debian's `chromium` package), never from a Playwright
download: `browser_type_launch_args` points Playwright at it. Where it is missing, the `browser`
marker (tests/plugins/requirements.py) skips these tests with the reason, or fails them under
REQUIRE_BROWSER=1.

Playwright's sync API keeps an asyncio event loop running in the main thread while it is started,
and Django refuses database calls from a thread with a running loop (SynchronousOnlyOperation)
unless DJANGO_ALLOW_ASYNC_UNSAFE is set. pytest-playwright starts Playwright once per session, which
would leave that loop running, and the variable set, for every test collected after these. The
fixtures below narrow Playwright's lifetime to this package: it starts before the first browser test,
stops after the last, and DJANGO_ALLOW_ASYNC_UNSAFE is set only in between.

Screenshots of the pages go to artifacts/screenshots/ (git-ignored; CI keeps them as artefacts).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserType, Page, Playwright, expect, sync_playwright
from pytest_django.plugin import pytest_collection_modifyitems as django_test_order

from standards.models import Comparator, MeasureKind
from tests import factories

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# The password every factory-made user has (tests/factories.py).
PASSWORD = "correct-horse-battery"
DESKTOP = {"width": 1280, "height": 900}
# Long enough for a slow 2-core CI machine, short enough that a missing element fails quickly.
TIMEOUT_MS = 15_000
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

expect.set_options(timeout=TIMEOUT_MS)


# --- Test order --------------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep Django's test order: tests on a rolled-back transaction first, then transactional ones
    (like these), whose flush empties the tables that migrations filled (e.g. the customer
    expectations), then the rest. pytest-django sorts so (tryfirst), but pytest then regroups tests
    by session-scoped parameters, and pytest-playwright parametrizes every test that uses a browser
    with `browser_name`, which moved these tests ahead of database tests. Sorting again (stable)
    after the regrouping restores Django's order and keeps pytest's grouping within it."""
    django_test_order(items)


# --- Playwright, the system's Chromium, for this package only ---------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, with the system's Chromium, headless (no display here)."""
    flags = list(CHROMIUM_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium"),
        "headless": True,
        "args": flags,
    }


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as started:
            yield started


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict, browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict:
    return {"locale": "en-GB"}


# --- People at the keyboard -------------------------------------------------------------------


def log_in(page: Page, username: str) -> None:
    """Sign in through the real login form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def tab_to(page: Page, description: str, matches: str, *, presses: int = 40) -> None:
    """Press Tab until the focused element satisfies the JavaScript predicate `matches` (on `el`)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({matches}); }})()"):
            return
    raise AssertionError(f"{description} cannot be reached with the Tab key")


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def open_browser(request, new_context, live_server) -> Iterator[Callable[..., Page]]:
    """`open_browser(user=None, viewport=DESKTOP)`: a page in a browser of its own (its own cookies),
    on the live server, signed in as `user` through the login form, or anonymous without one.

    When the test fails, each page is saved as it was left, as artifacts/screenshots/failed-*.png."""
    # The public forms' rate limits count per address in the cache, which outlives a test's
    # database: every browser comes from 127.0.0.1, so each test starts with a fresh allowance.
    cache.clear()
    pages: list[Page] = []

    def open_(user=None, *, viewport: dict = DESKTOP) -> Page:
        context = new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        pages.append(page)
        if user is not None:
            log_in(page, user.get_username())
        return page

    yield open_
    if request.node.stash.get(FAILED, False):
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
        for number, page in enumerate(pages, start=1):
            if not page.is_closed():
                page.screenshot(path=str(SCREENSHOT_DIR / f"failed-{test}-{number}.png"), full_page=True)


@pytest.fixture
def name_users():
    """Give the role fixtures' users fixed names (the factories draw random ones), so that pages
    and screenshots read the same on every run."""

    def name(user, first: str, last: str):
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        return user

    return name


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """`screenshot(page, name)`: the whole page as artifacts/screenshots/<name>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ValueError(f"screenshot names are lower-case words joined by '-': {name!r}")
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- Data both journeys evaluate against -----------------------------------------------------


def thank_and_tone_standards():
    """A pass/fail standard weighted 3 and a 1-5 rating standard (4 or more passes), so that an
    evaluation has a weighted score: (THX-01, TON-01)."""
    thank = factories.StandardFactory(code="THX-01", title="Thank the customer by name", weight=Decimal("3"))
    tone = factories.StandardFactory(
        code="TON-01",
        title="Courteous tone",
        measure_kind=MeasureKind.RATING,
        comparator=Comparator.GTE,
        threshold=Decimal("4"),
    )
    return thank, tone
