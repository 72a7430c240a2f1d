"""The consistency page in a real browser: the league in order of need, whole sentences about the
funnel's limits, and every funnel point named by the keyboard as well as by the mouse."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from measurement.models import Observation, Source
from measurement.services.rollup import scorecards_rollup
from tests import factories

from .conftest import tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = date(2025, 12, 2)


@pytest.fixture
def last_30_days(monkeypatch, location_a, location_b):
    """Over the 30 days before 2 December 2025: Alpha Street 97 of 100 (above the 99.8 % limit),
    Beta Road 50 of 100 (below), Gamma Square 80 of 100, Delta Lane 9 of 10 (too little evidence)."""
    monkeypatch.setattr("measurement.selectors.common.dashboard_today", lambda: TODAY)
    gamma = factories.LocationFactory(code="CCC-01", name="Gamma Square")
    delta = factories.LocationFactory(code="DDD-01", name="Delta Lane")
    standard = factories.StandardFactory(code="GRT-01", title="Greet within 30 seconds", target_rate=85)
    Observation.objects.bulk_create(
        Observation(
            standard=standard,
            location=location,
            source=Source.MYSTERY_SHOP,
            observed_at=timezone.make_aware(datetime.combine(TODAY - timedelta(days=1 + i % 20), time(10))),
            passed=i < passed,
        )
        for location, passed, n in (
            (location_a, 97, 100),
            (location_b, 50, 100),
            (gamma, 80, 100),
            (delta, 9, 10),
        )
        for i in range(n)
    )
    scorecards_rollup(full=True)


def test_an_admin_reads_the_league_in_order_of_need(open_browser, admin, last_30_days):
    page = open_browser(admin)
    page.goto("/dashboard/consistency/")
    expect(page.locator("#summary-heading")).to_contain_text("Last 30 days, 3 Nov – 2 Dec 2025")
    names = page.locator(".league-table tbody th").all_inner_texts()
    assert names == ["Beta Road", "Gamma Square", "Alpha Street", "Delta Lane"]
    expect(page.locator(".league-table tbody tr").last).to_contain_text("too little evidence")
    sentences = page.locator("#limit-sentences p").all_inner_texts()
    assert sentences[:2] == [
        "Above the 99.8% limit, better than chance alone explains: Alpha Street.",
        "Below the 99.8% limit, worse than chance alone explains: Beta Road.",
    ]
    expect(page.get_by_text("Strongest: Alpha Street")).to_be_visible()
    expect(page.get_by_text("Weakest: Beta Road")).to_be_visible()


def test_a_manager_names_a_funnel_point_with_the_keyboard(open_browser, manager, last_30_days):
    page = open_browser(manager)
    page.goto("/dashboard/consistency/")
    sentences = page.locator("#limit-sentences p").all_inner_texts()
    assert sentences[:2] == [
        "Above the 99.8% limit, better than chance alone explains: Alpha Street.",
        "Below the 99.8% limit, worse than chance alone explains: one other location.",
    ]
    expect(page.locator("main")).not_to_contain_text("Beta Road")

    # The first point (the location in most need) is an anonymous one; Tab reaches its number.
    tab_to(page, "the first funnel point", "el.matches('[data-funnel-point=\"0\"]')", presses=80)
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("Point 1: Other location, 50.0% (n = 100), below the 99.8% limit")
    # ... and the chart shows that point's tooltip.
    tooltip = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('funnel-chart'));
            const active = chart.tooltip.getActiveElements();
            return active.length === 1 ? chart.tooltip.body.map((part) => part.lines.join(' ')).join(' ') : '';
        }"""
    )
    assert tooltip == "Point 1, Other location: 50.0% (n = 100)"
    # Alpha Street's own point, further on, names it.
    tab_to(
        page, "Alpha Street's funnel point", "(el.getAttribute('aria-label') || '').includes('Alpha Street')"
    )
    expect(page.locator(":focus")).to_have_attribute("data-funnel-point", "2")
