"""The demo organisation as its users first see it, in Chromium, at desktop and phone width.

The default demo (`manage.py seed_demo`, shortened to 60 days) is seeded and rolled up once for the
test; the admin's home must name the demo's weakest location first with its reasons, the staff
member's home and scorecard must show a month of evidence, and every page a manager starts from is
saved as artifacts/screenshots/demo-<page>-<width>.png for people to look at.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.test import override_settings
from playwright.sync_api import Page, expect

from cases.models import OPEN_STATUSES, Case
from organization.models import Location
from servicedesk.demo.catalogue import DEMO_ROLES

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
PAGES = {
    "admin": [
        "/",
        "/dashboard/scorecards/",
        "/dashboard/consistency/",
        "/gaps/",
        "/cases/",
        "/cases/measures/",
    ],
    "manager": [
        "/",
        "/dashboard/scorecards/",
        "/dashboard/consistency/",
        "/gaps/",
        "/cases/",
        "/cases/feedback/",
        "/cases/measures/",
    ],
    "staff": ["/", "/me/scorecard/", "/cases/", "/cases/new/"],
}


@pytest.fixture
def demo(db):
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        call_command("seed_demo", "--days", "60", stdout=StringIO())
        call_command("rollup_scorecards", "--full", stdout=StringIO())
        for user in get_user_model().objects.filter(username__in=PAGES):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        yield


def slug(path: str) -> str:
    if re.fullmatch(r"/cases/\d+/", path):
        return "case-detail"  # one case's page: named by what it is, not by its id
    return path.strip("/").replace("/", "-") or "home"


def richest_case(username: str) -> Case:
    """The case of the user's own with the most on its timeline: a page with something on it."""
    return (
        Case.objects.filter(owner__user__username=username)
        .annotate(events_n=Count("events"))
        .order_by("-events_n", "-opened_at")
        .first()
    )


def test_the_demo_as_each_role_first_sees_it(demo, open_browser, screenshot):
    """One test, so that the demo is seeded once (a minute of work)."""
    users = {user.username: user for user in get_user_model().objects.filter(username__in=PAGES)}

    # The admin's home names the weakest location first, and each of its reasons links to evidence.
    weakest = Location.objects.get(code=DEMO_ROLES["weakest"])
    page = open_browser(users["admin"])
    page.goto("/")
    first = page.locator("#attention-list > li").first
    expect(first).to_contain_text(weakest.name)
    reasons = first.locator("a")
    assert reasons.count() >= 2, first.inner_text()
    reasons.first.click()
    expect(page.locator("main h1")).to_be_visible()

    # Staff open their scorecard on the last 30 days, with evidence in it.
    page = open_browser(users["staff"])
    page.goto("/me/scorecard/")
    expect(page.locator("main")).to_contain_text("last 30 days")

    # The cases pages open with something to act on: the manager's store has open cases, some
    # overdue, and the staff member owns the complaint they took on the phone.
    page = open_browser(users["manager"])
    page.goto("/cases/?tab=locations")
    expect(page.locator("main .case-card-title").first).to_be_visible()
    page.goto("/cases/?tab=locations&status=any")
    expect(page.locator("main")).to_contain_text("Closed")
    staff_cases = Case.objects.filter(owner__user__username="staff", status__in=OPEN_STATUSES)
    assert staff_cases.exists()
    page = open_browser(users["staff"])
    page.goto("/cases/")
    expect(page.locator("main")).to_contain_text(staff_cases.first().title)

    details = {role: f"/cases/{richest_case(role).pk}/" for role in ("manager", "staff")}
    for role, paths in PAGES.items():
        if role in details:
            paths = [*paths, details[role]]
        for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            # Signed in at desktop width, where the sign-out button the login waits for is in view.
            page: Page = open_browser(users[role])
            page.set_viewport_size(viewport)
            for path in paths:
                response = page.goto(path)
                assert response is not None and response.status == 200, (role, path)
                expect(page.locator("main h1").first).to_be_visible()
                screenshot(page, f"demo-{role}-{slug(path)}-{width}")
