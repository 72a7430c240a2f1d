"""The evidence behind the figures, in a real browser: the observations page with its filters, and
a scorecard's link landing on a list whose count is the scorecard's n."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db.models import Sum
from django.utils import timezone
from playwright.sync_api import expect

from measurement.models import Grain, PeriodKind, Scorecard
from measurement.services.rollup import scorecards_rollup
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def evidence(location_a, location_b, staff, name_users):
    """Ten days of observations of two standards at A (every third one failed), and some at B."""
    name_users(staff, "Sam", "Rivers")
    greeting = factories.StandardFactory(code="STD-01", title="Greeting within 30 s")
    thanks = factories.StandardFactory(code="STD-02", title="Thank the customer")
    now = timezone.now()
    for day in range(10):
        for index, standard in enumerate((greeting, thanks, greeting)):
            factories.ObservationFactory(
                location=location_a, team=staff.employee.team, employee=staff.employee, standard=standard,
                observed_at=now - timedelta(days=day, hours=index + 1), passed=(day + index) % 3 != 0,
            )  # fmt: skip
        factories.ObservationFactory(
            location=location_b, standard=greeting, observed_at=now - timedelta(days=day)
        )
    scorecards_rollup(full=True)
    return {"greeting": greeting, "thanks": thanks}


def count_shown(page) -> int:
    text = page.locator("#observations-count").inner_text()
    return int(re.match(r"([\d,]+) observation", text).group(1).replace(",", ""))


def scorecard_n(params: dict[str, str]) -> int:
    """The n of the scorecard a drill-down link names: stored for a calendar period, the sum of the
    day scorecards for from/to days (as rolling periods are computed)."""
    subject = {
        name: int(params[name])
        for name in ("location", "team", "employee", "standard", "touchpoint")
        if name in params
    }
    grain = {
        ("location", "standard"): Grain.LOCATION_STANDARD,
        ("location",): Grain.LOCATION,
        ("team",): Grain.TEAM,
        ("employee",): Grain.EMPLOYEE,
        ("standard",): Grain.STANDARD,
        ("touchpoint",): Grain.TOUCHPOINT,
        (): Grain.ORGANISATION,
    }[tuple(sorted(subject))]
    rows = Scorecard.objects.filter(grain=grain, **{f"{name}_id": pk for name, pk in subject.items()})
    if "period_kind" in params:
        return rows.get(period_kind=params["period_kind"], period_start=params["period_start"]).observations
    span = rows.filter(
        period_kind=PeriodKind.DAY,
        period_start__gte=date.fromisoformat(params["from"]),
        period_start__lte=date.fromisoformat(params["to"]),
    )
    return span.aggregate(n=Sum("observations"))["n"]


def test_filters_on_the_page_and_a_scorecards_link_agree_with_the_figures(
    open_browser, manager, location_a, evidence, screenshot
):
    page = open_browser(manager)
    page.goto(f"/dashboard/observations/?location={location_a.pk}&passed=no")
    expect(page.locator("#observations-filter")).to_have_text("Alpha Street · failed only")
    failed = count_shown(page)
    assert failed == 10  # (day + index) % 3 == 0 once for each of the ten days

    # Narrow it on the page: one standard, then "Show".
    page.get_by_label("Standard").select_option(label="Greeting within 30 s (STD-01)")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#observations-filter")).to_have_text(
        "Alpha Street · Greeting within 30 s · failed only"
    )
    assert f"standard={evidence['greeting'].pk}" in page.url
    greeting_failed = count_shown(page)
    assert 0 < greeting_failed < failed
    expect(page.locator("tbody tr")).to_have_count(greeting_failed)
    expect(page.locator("tbody tr").first).to_contain_text("Greeting within 30 s (STD-01)")
    screenshot(page, "observations-filtered")

    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("#observations-filter")).to_have_text("All observations in your scope")
    assert count_shown(page) == 30  # the manager's location only

    # From the scorecards page: the first link to a location's evidence lands on its n.
    page.goto("/dashboard/scorecards/")
    link = page.locator('main a[href*="/dashboard/observations/?"][href*="location="]').first
    href = link.get_attribute("href")
    link.click()
    expect(page.locator("#observations-count")).to_be_visible()
    params = {key: values[0] for key, values in parse_qs(urlparse(href).query).items()}
    assert count_shown(page) == scorecard_n(params) > 0
