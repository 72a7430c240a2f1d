"""On the 1st and the 2nd of a month, in a real browser, the scorecards page and "my scorecard" open
on the last 30 days, say so in words, and hold weeks of evidence rather than a day's."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from measurement.models import Observation, Source
from measurement.selectors.rolling import RollingPeriod
from measurement.services.rollup import scorecards_rollup
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PER_DAY = 3


@pytest.fixture
def six_weeks(staff, location_a):
    """Three observations a day of the staff member at Alpha Street over the 42 days before
    2 December 2025, one in four failed; rolled up."""
    standard = factories.StandardFactory(code="GRT-01", title="Greet within 30 seconds", target_rate=85)
    employee = staff.employee
    Observation.objects.bulk_create(
        Observation(
            standard=standard,
            location=location_a,
            team=employee.team,
            employee=employee,
            source=Source.MYSTERY_SHOP,
            observed_at=timezone.make_aware(
                datetime.combine(date(2025, 12, 1) - timedelta(days=back), time(9 + i))
            ),
            passed=(back * PER_DAY + i) % 4 != 0,
        )
        for back in range(42)
        for i in range(PER_DAY)
    )
    scorecards_rollup(full=True)


@pytest.mark.parametrize("today", [date(2025, 12, 1), date(2025, 12, 2)], ids=["1st", "2nd"])
def test_the_dashboards_open_on_the_last_30_days_on_the_first_days_of_a_month(
    open_browser, monkeypatch, manager, staff, six_weeks, today
):
    # The live server runs in this process: its pages count back from the same day.
    monkeypatch.setattr("measurement.selectors.common.dashboard_today", lambda: today)
    words = RollingPeriod.ending(today).label
    week = 7 * PER_DAY

    page = open_browser(manager)
    page.goto("/dashboard/scorecards/")
    heading = page.locator("#headline-heading")
    expect(heading).to_contain_text(words)
    expect(page.locator("#f-period-kind")).to_have_value("rolling")
    expect(page.locator("#f-period-kind option").first).to_have_text("Last 30 days")
    caption = page.locator("#fig-pass ~ .figure-caption").first.inner_text()
    n = int(caption.split("n = ")[1].split(" ")[0].replace(",", ""))
    assert n >= week
    # The figure opens its evidence: the observations page counts the same n.
    page.locator("#fig-pass ~ .figure-value a").click()
    expect(page.locator("main")).to_contain_text(f"{n} observation")

    mine = open_browser(staff)
    mine.goto("/me/scorecard/")
    expect(mine.locator("#headline-heading")).to_contain_text(words[0].upper() + words[1:])
    my_caption = mine.locator("#fig-mine ~ .figure-caption").first.inner_text()
    assert int(my_caption.split("n = ")[1].split(" ")[0]) >= week
    expect(mine.locator("#trend-heading")).to_contain_text("complete month")
