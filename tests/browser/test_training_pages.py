"""The training matrix in Chromium: a legend of only the statuses shown, blank cells where a course
is not required, totals per person and per course, and names that stay put while a wide matrix
scrolls sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from training.models import CompletionStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def matrix_data(location_a, name_users, manager):
    """Three people at the manager's location: Ada current on Greeting, Ben overdue on Till and
    waiting for his completion to be verified, Cy expiring soon on Greeting; nobody else is due or
    has expired, and Till is not required of Ada or Cy."""
    name_users(manager, "Mo", "Manager")
    today = timezone.localdate()
    greeting = factories.CourseFactory(title="Greeting customers", refresher_interval_days=365)
    till = factories.CourseFactory(title="Till procedures", refresher_interval_days=365)
    ada, ben, cy = (
        factories.EmployeeFactory(location=location_a, user__first_name=first, user__last_name="Tester")
        for first in ("Ada", "Ben", "Cy")
    )
    for person, days_ago in ((ada, 20), (cy, 350)):
        factories.AssignmentFactory(employee=person, course=greeting, assigned_on=today - timedelta(days=500))
        factories.CompletionFactory(
            employee=person,
            course=greeting,
            completed_on=today - timedelta(days=days_ago),
            status=CompletionStatus.VERIFIED,
        )
    factories.AssignmentFactory(
        employee=ben, course=till, assigned_on=today - timedelta(days=40), due_on=today - timedelta(days=2)
    )
    factories.CompletionFactory(employee=ben, course=till, completed_on=today)
    return {"ada": ada, "ben": ben, "cy": cy}


def test_the_matrix_legend_cells_and_totals(open_browser, manager, matrix_data):
    page = open_browser(manager)
    page.goto("/training/matrix/")

    legend = page.get_by_role("list", name="What the statuses mean")
    expect(legend.get_by_role("listitem")).to_have_count(4)
    for shown in ("Current", "Overdue", "Expiring soon", "to verify"):
        expect(legend).to_contain_text(shown)
    for absent in ("Expired", "Due soon", "Not started"):
        expect(legend).not_to_contain_text(absent)

    table = page.get_by_role("table")
    ada = table.get_by_role("row", name="Ada Tester")
    # Greeting, Till (not required: blank, named for screen readers), then her totals.
    cells = ada.get_by_role("cell")
    expect(cells.nth(0)).to_contain_text("Current")
    expect(cells.nth(1)).to_have_text("not required")
    expect(cells.nth(1).locator(".visually-hidden")).to_have_count(1)
    # Nothing shows in it but the words kept for screen readers.
    assert cells.nth(1).evaluate(
        "cell => [...cell.childNodes].every(node => node.classList?.contains('visually-hidden'))"
    )
    expect(cells.nth(2)).to_have_text("1 of 1 current")
    expect(table.get_by_role("row", name="Ben Tester").get_by_role("cell").last).to_have_text(
        "0 of 1 current · 1 overdue · 1 to verify"
    )

    footer = table.locator("tfoot tr")
    expect(footer.get_by_role("rowheader")).to_contain_text("all 4 people in your scope")
    expect(footer.get_by_role("cell").nth(0)).to_have_text("1 of 2 current · 1 expiring soon")
    expect(footer.get_by_role("cell").nth(1)).to_have_text("0 of 1 current · 1 overdue · 1 to verify")


def test_a_wide_matrix_scrolls_in_its_box_and_keeps_the_names_in_view(open_browser, manager, matrix_data):
    for number in range(16):
        course = factories.CourseFactory(title=f"Refresher course number {number}")
        factories.AssignmentFactory(employee=matrix_data["ada"], course=course)
    page = open_browser(manager, viewport={"width": 1000, "height": 900})
    page.goto("/training/matrix/")

    box = page.get_by_role("region", name="Training matrix")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    # The box keeps to the width of the content it sits in: only the matrix scrolls, inside it.
    assert box.evaluate(
        "el => el.getBoundingClientRect().right <= el.parentElement.getBoundingClientRect().right + 1"
    )
    name = page.get_by_role("rowheader", name="Ada Tester")
    left = name.bounding_box()["x"]
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert box.evaluate("el => el.scrollLeft") > 0
    assert name.bounding_box()["x"] == pytest.approx(left, abs=1)
    expect(name).to_be_in_viewport()
