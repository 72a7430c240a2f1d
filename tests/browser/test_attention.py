"""A regional manager's Monday morning in a real browser: the home names the location that needs
them first, with its reasons, and a reason's link lands on the evidence behind it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from measurement.models import Observation, Source
from measurement.selectors.common import dashboard_today
from measurement.services.rollup import scorecards_rollup
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _observe(location, standard, *, passed: int, failed: int) -> None:
    at = timezone.make_aware(datetime.combine(dashboard_today() - timedelta(days=2), time(11)))
    Observation.objects.bulk_create(
        Observation(
            standard=standard,
            location=location,
            source=Source.MYSTERY_SHOP,
            observed_at=at,
            passed=i < passed,
        )
        for i in range(passed + failed)
    )


@pytest.fixture
def region(manager, location_a):
    """Three locations the manager runs; Harbour Street is clearly the worst (40 observations and a deviation)."""
    standard = factories.StandardFactory(code="GRT-01", title="Greet within 30 seconds", target_rate=85)
    harbour = factories.LocationFactory(code="HRB-01", name="Harbour Street")
    castle = factories.LocationFactory(code="CST-01", name="Castle Hill")
    manager.employee.managed_locations.add(harbour, castle)
    _observe(location_a, standard, passed=95, failed=5)
    _observe(castle, standard, passed=88, failed=4)
    _observe(harbour, standard, passed=10, failed=30)
    factories.DeviationFactory(observation__location=harbour)
    scorecards_rollup(full=True)
    return harbour


def test_the_worst_location_comes_first_and_its_reason_opens_its_evidence(
    open_browser, manager, region, screenshot
):
    page = open_browser(manager)
    page.goto("/")

    first = page.locator("#attention-list > li").first
    expect(first.get_by_role("heading")).to_contain_text("Harbour Street")
    expect(first).to_contain_text("24% passed (n = 41)")
    expect(first).to_contain_text("below the 99.8% funnel limit")
    expect(first).to_contain_text("without a corrective action")
    expect(first.locator("svg.sparkline, .sparkline-empty")).to_have_count(1)
    screenshot(page, "home-needs-attention")

    first.get_by_role("link", name="below the 99.8% funnel limit").click()

    expect(page.get_by_role("heading", name="Observations")).to_be_visible()
    assert f"location={region.pk}" in page.url and "from=" in page.url and "to=" in page.url
    expect(page.locator("#observations-filter")).to_contain_text("Harbour Street")
    expect(page.locator("#observations-count")).to_contain_text("41 observations, 10 passed")
