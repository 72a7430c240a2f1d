"""In Chromium: every heatmap cell wears the colour its legend swatch shows for that gap size, the
table scrolls inside its box with the touchpoint column kept in view, the standard's admin form
sets a non-negotiable target as soon as the box is ticked, and a manager reaches the QR sheets."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from gap_analysis.models import Dimension
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# (current, target) per P: gaps 3, 2, 1, 0 on one touchpoint; -1 on another, its other Ps unrated.
EVERY_SIZE = {
    Dimension.POLICIES: (2, 5),
    Dimension.PROCESSES: (3, 5),
    Dimension.PEOPLE: (4, 5),
    Dimension.PRACTICES: (5, 5),
}
LEVELS = ("large", "medium", "small", "none", "exceeds")


def _assessed(touchpoint, location, scores):
    assessment = factories.AssessmentFactory(touchpoint=touchpoint, location=location, status="completed")
    for dimension, (current, target) in scores.items():
        factories.RatingFactory(assessment=assessment, dimension=dimension, current=current, target=target)


@pytest.fixture
def heatmap_data(location_a):
    _assessed(factories.TouchpointFactory(name="Checkout till"), location_a, EVERY_SIZE)
    _assessed(factories.TouchpointFactory(name="Returns desk"), location_a, {Dimension.POLICIES: (5, 4)})


def _background(page: Page, selector: str) -> str:
    return page.locator(selector).first.evaluate("element => getComputedStyle(element).backgroundColor")


def test_each_heatmap_cell_has_the_colour_of_its_legend_swatch(
    open_browser, manager, heatmap_data, screenshot
):
    page = open_browser(manager)
    page.goto(reverse("gap_analysis:heatmap"))
    expect(page.get_by_role("columnheader", name="Policies")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Checkout till")).to_be_visible()
    colours = set()
    for level in LEVELS:
        cell = _background(page, f"table.gap-heatmap td.gap-cell--{level}")
        swatch = _background(page, f".gap-legend .gap-swatch.gap-cell--{level}")
        assert cell == swatch, f"{level}: cell {cell}, legend {swatch}"
        colours.add(cell)
    assert len(colours) == len(LEVELS), colours  # five sizes, five colours
    assert "rgba(0, 0, 0, 0)" not in colours and "rgb(255, 255, 255)" not in colours
    screenshot(page, "gap-heatmap")


def test_on_a_phone_the_heatmap_scrolls_in_its_box_with_the_touchpoints_in_view(
    open_browser, manager, heatmap_data, screenshot
):
    page = open_browser(manager)  # signs in at desktop width, where "Sign out" shows
    page.set_viewport_size(PHONE)
    page.goto(reverse("gap_analysis:heatmap"))
    box = page.locator(".table-responsive").filter(has=page.locator("table.gap-heatmap"))
    assert box.evaluate("element => element.scrollWidth > element.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row_header = page.get_by_role("rowheader", name="Checkout till")
    left_before = row_header.bounding_box()["x"]
    box.evaluate("element => { element.scrollLeft = element.scrollWidth; }")
    assert row_header.evaluate("element => getComputedStyle(element).position") == "sticky"
    assert abs(row_header.bounding_box()["x"] - left_before) < 1
    screenshot(page, "gap-heatmap-phone")


def test_ticking_non_negotiable_shows_a_100_percent_target(open_browser, admin):
    page = open_browser(admin)
    page.goto(reverse("admin:standards_standard_add"))
    target = page.locator("#id_target_rate")
    target.fill("80")
    page.locator("#id_non_negotiable").check()
    expect(target).to_have_value("100")
    page.locator("#id_non_negotiable").uncheck()
    target.fill("85")
    expect(target).to_have_value("85")


def test_a_manager_opens_a_qr_sheet_from_the_navigation(open_browser, manager, location_a):
    factories.TouchpointFactory(name="Checkout till")
    # A long first name is the worst case for the bar: it is cut short, never pushed off the window.
    manager.first_name = "Maximiliana-Josephine"
    manager.save(update_fields=["first_name"])
    page = open_browser(manager)
    page.goto("/")
    # The manager's whole bar fits a 1280-pixel window: the navigation itself pushes nothing sideways.
    assert page.evaluate(
        "(() => { const bar = document.querySelector('.sd-navbar'); return bar.scrollWidth <= window.innerWidth; })()"
    )
    page.locator(".sd-navbar").get_by_role("button", name="QR sheets").click()
    page.get_by_role("link", name=location_a.name).click()
    expect(page).to_have_url(
        re.compile(re.escape(reverse("feedback-qr-sheet", args=[location_a.code])) + "$")
    )
    expect(page.locator("main")).to_contain_text("Checkout till")
