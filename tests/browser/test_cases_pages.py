"""The case pages in a real browser: a complaint logged on a phone in a few taps, and a manager
working a case from the navigation on the desktop."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cases.models import Case, CaseCategory, CaseOrigin, CaseStatus
from tests import factories

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
# The smallest target a thumb hits reliably (WCAG 2.5.5 asks 44 CSS pixels).
THUMB = 44


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_staff_log_a_complaint_on_a_phone_in_a_few_taps(open_browser, staff, location_a):
    factories.TouchpointFactory(name="Front counter")
    CaseCategory.objects.create(name="Billing error")
    page = open_browser(staff)  # signs in on the desktop, where "Sign out" is in view
    page.set_viewport_size(PHONE)
    page.goto("/")

    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("button", name="Toggle navigation").click()
    nav.get_by_role("button", name="Cases").click()
    nav.get_by_role("link", name="Log a complaint").click()
    expect(page.get_by_role("heading", name="Log a complaint")).to_be_visible()
    assert no_sideways_scroll(page)

    by_phone = page.locator("label", has_text="By phone")
    box = by_phone.bounding_box()
    assert box["height"] >= THUMB and box["width"] >= 120, box
    by_phone.click()
    page.get_by_label("What happened").fill("Charged twice for one coffee\nThe reader took two payments.")
    page.locator("label", has_text="High").click()
    page.get_by_label("Category").select_option(label="Billing error")
    page.get_by_label("Customer's email address").fill("robin@example.com")
    page.get_by_role("button", name="Log the complaint").click()

    # Details without consent are refused, on the field, and what was typed is kept.
    expect(page.get_by_role("alert")).to_contain_text("without their consent, leave their details out")
    assert no_sideways_scroll(page)
    expect(page.get_by_label("Customer's email address")).to_have_value("robin@example.com")
    assert not Case.objects.exists()
    consent = page.get_by_label("The customer agreed that we contact them about this complaint.")
    assert consent.bounding_box()["height"] >= 28
    consent.check()
    page.get_by_role("button", name="Log the complaint").click()

    case = Case.objects.get()
    expect(page).to_have_url(re.compile(re.escape(reverse("cases:detail", args=[case.pk])) + "$"))
    expect(page.locator("main")).to_contain_text(f"Complaint logged as case {case.reference}")
    assert no_sideways_scroll(page)
    assert case.origin == CaseOrigin.PHONE and case.severity == "high" and case.owner == staff.employee
    assert case.location == location_a and case.category.name == "Billing error"
    assert case.contact_email == "robin@example.com" and case.title == "Charged twice for one coffee"


def test_a_manager_acknowledges_a_case_from_the_queue(open_browser, manager, staff, location_a):
    case = factories.CaseFactory(
        location=location_a, title="Card reader took two payments", owner=manager.employee
    )
    page = open_browser(manager, viewport=DESKTOP)
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("button", name="Cases").click()
    nav.get_by_role("link", name="Cases queue").click()
    page.get_by_role("link", name=re.compile("Card reader took two payments")).click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("main")).to_contain_text(f"Case {case.reference} is now acknowledged.")
    expect(page.locator(".case-timeline")).to_contain_text("new → acknowledged")
    page.get_by_label("Hand over to").select_option(label=f"{staff.employee.full_name} (Customer advisor)")
    page.get_by_role("button", name="Hand over").click()
    expect(page.locator("main")).to_contain_text(f"handed over to {staff.employee.full_name}")
    case.refresh_from_db()
    assert case.status == CaseStatus.ACKNOWLEDGED and case.owner == staff.employee
