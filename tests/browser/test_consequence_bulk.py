"""A manager clears the consequences waiting after the rules' first run in one go: selects all of
them across pages, reads the confirmation, confirms once, and finds them approved."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from consequences.models import Action, Consequence, ConsequenceStatus, Polarity
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def waiting(location_a):
    """30 proposals at the manager's location (more than one page): 24 coaching, 6 recognitions."""
    coaching = factories.ConsequenceFactory.create_batch(24, location=location_a)
    recognitions = factories.ConsequenceFactory.create_batch(
        6, location=location_a, action=Action.RECOGNITION, polarity=Polarity.POSITIVE
    )
    return coaching + recognitions


def test_a_manager_selects_everything_waiting_and_approves_it_with_one_confirmation(
    open_browser, manager, waiting, screenshot
):
    page = open_browser(manager)
    page.goto("/consequences/?status=proposed")

    # The box in the header ticks every row of the page.
    page.get_by_label("Select all on this page").check()
    expect(page.locator("input.bulk-select:checked")).to_have_count(25)
    page.get_by_label("All 30 matching the filters").check()
    screenshot(page, "consequence-bulk-inbox")
    page.get_by_role("button", name="Approve…").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Approve 30 consequences: 24 coaching sessions, 6 recognitions?"
    )
    assert Consequence.objects.filter(status=ConsequenceStatus.PROPOSED).count() == 30
    screenshot(page, "consequence-bulk-confirm")
    page.get_by_role("button", name="Approve 30").click()

    expect(page.get_by_role("alert").or_(page.locator(".alert")).first).to_contain_text(
        "Approved 30 consequences: 24 coaching sessions, 6 recognitions."
    )
    expect(page.get_by_text("Nothing waiting for you")).to_be_visible()
    assert Consequence.objects.filter(status=ConsequenceStatus.APPROVED, owner=manager).count() == 30
