"""The staff portal's "my scorecard" (/me/scorecard/) and the staff landing page's links to it.

Figures come from the real rollup over observations that name the employee; intervals and control
limits are asserted against `measurement.stats`, which the page must use rather than re-implement.
"""

import json
import re
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from measurement import stats
from measurement.models import Observation
from measurement.services.rollup import scorecards_rollup
from measurement.templatetags import servicedesk_format as fmt
from tests import factories

URL = reverse("me:scorecard")
MARCH = timezone.make_aware(datetime(2025, 3, 10, 12, 0))
APRIL = timezone.make_aware(datetime(2025, 4, 14, 12, 0))


def observe(employee, standard, *, at, passed, n=1, **extra):
    """`n` observations of `employee` at their location and team."""
    return [
        factories.ObservationFactory(
            employee=employee,
            location=employee.location,
            team=employee.team,
            standard=standard,
            observed_at=at,
            passed=passed,
            **extra,
        )
        for _ in range(n)
    ]


def json_data(response, element_id):
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, f"no json_script #{element_id} on the page"
    return json.loads(match.group(1))


@pytest.fixture
def greet(db):
    return factories.StandardFactory(code="GREET", title="Greet every customer", target_rate=90)


@pytest.fixture
def safety(db):
    return factories.StandardFactory(
        code="SAFE", title="Check the customer's identity", target_rate=100, non_negotiable=True
    )


@pytest.fixture
def colleague(location_a):
    """Another employee at the staff member's location, with very different results."""
    return factories.EmployeeFactory(
        location=location_a, user__first_name="Cleo", user__last_name="Colleague"
    )


def stand_clock_on(monkeypatch, day):
    """The page counts back from `day` (the last 30 days and the complete months before it)."""
    monkeypatch.setattr("measurement.selectors.common.dashboard_today", lambda: day)


@pytest.fixture
def two_months(monkeypatch, staff, colleague, greet, safety):
    """March: staff 8/10 on GREET. April: staff 18/20 on GREET and 1/2 on SAFE (a deviation);
    the colleague 3/10 in April. Rolled up by the real rollup."""
    me = staff.employee
    observe(me, greet, at=MARCH, passed=True, n=8)
    observe(me, greet, at=MARCH, passed=False, n=2)
    observe(me, greet, at=APRIL, passed=True, n=18)
    observe(me, greet, at=APRIL, passed=False, n=2)
    observe(me, safety, at=APRIL, passed=True)
    observe(me, safety, at=APRIL, passed=False)
    observe(colleague, greet, at=APRIL, passed=True, n=3)
    observe(colleague, greet, at=APRIL, passed=False, n=7)
    scorecards_rollup(full=True)
    # On 2 May the last 30 days (3 Apr – 2 May) hold April's evidence; March and April are complete.
    stand_clock_on(monkeypatch, date(2025, 5, 2))


# --------------------------------------------------------------------------- access


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_everyone_with_a_profile_opens_their_own_scorecard(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 200


def test_an_account_without_an_employee_profile_is_told_so(client, db):
    superuser = factories.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    response = client.get(URL)
    assert response.status_code == 403
    assert "no employee profile" in response.content.decode()


def test_the_page_only_reads(client, staff):
    client.force_login(staff)
    assert client.post(URL).status_code == 405


# --------------------------------------------------------------------------- figures


def test_without_scorecards_the_page_says_what_comes_next(client, staff):
    client.force_login(staff)
    body = client.get(URL).content.decode()
    assert "No scorecard yet" in body
    assert "No observations of you in the last 30 days" in body
    assert 'id="my-pass-chart-data"' not in body


def test_the_headline_is_my_last_30_days_with_interval_n_target_and_deviations(client, staff, two_months):
    client.force_login(staff)
    body = client.get(URL).content.decode()
    low, high = stats.wilson_interval(19, 22)
    assert "Last 30 days, 3 Apr – 2 May 2025" in body
    assert f"n = 22 observations · Wilson 95% interval {fmt.interval(low, high)}" in body
    assert f">{fmt.percent(19 / 22)}<" in body
    # The target is the observation-weighted mean of the standards' targets: (20 × 90% + 2 × 100%) / 22.
    assert f"Target {fmt.percent((20 * 0.9 + 2 * 1.0) / 22)}" in body
    assert "not met" in body
    assert "failed observations of non-negotiable standards, out of n = 22" in body


def test_my_location_is_shown_as_context(client, staff, two_months):
    client.force_login(staff)
    body = client.get(URL).content.decode()
    # Alpha Street in April: my 19/22 and my colleague's 3/10.
    low, high = stats.wilson_interval(22, 32)
    assert "Alpha Street" in body
    assert f"n = 32 observations · Wilson 95% interval {fmt.interval(low, high)}" in body


def test_the_trend_is_a_p_chart_from_stats(client, staff, two_months):
    client.force_login(staff)
    chart = json_data(client.get(URL), "my-pass-chart-data")
    expected = stats.p_chart([(8, 10), (19, 22)])
    assert chart["labels"] == ["Mar 2025", "Apr 2025"]
    assert chart["n"] == [10, 22]
    assert chart["rates"] == pytest.approx(expected.rates)
    assert chart["centre"] == pytest.approx(expected.centre)
    assert chart["ucl"] == pytest.approx(expected.ucls)
    assert chart["lcl"] == pytest.approx(expected.lcls)
    assert chart["flags"] == expected.flags


def test_the_chart_is_drawn_by_the_local_script(client, staff, two_months):
    client.force_login(staff)
    body = client.get(URL).content.decode()
    assert 'data-chart="p" data-source="my-pass-chart-data"' in body
    assert "js/dashboard.js" in body
    assert "Show the numbers" in body  # the table that carries the chart's numbers without JavaScript


def test_the_trend_covers_twelve_complete_months(client, monkeypatch, staff, greet):
    me = staff.employee
    for months_back in range(14):
        start = datetime(2025, 12, 5, 12, 0) - timedelta(days=30 * months_back)
        observe(me, greet, at=timezone.make_aware(start), passed=True, n=2)
    scorecards_rollup(full=True)
    # On 2 January 2026 December is the last complete month; January so far is left out.
    stand_clock_on(monkeypatch, date(2026, 1, 2))
    client.force_login(staff)
    chart = json_data(client.get(URL), "my-pass-chart-data")
    assert len(chart["labels"]) == 12
    assert chart["labels"][-1] == "Dec 2025"
    assert chart["labels"][0] == "Jan 2025"


def test_staff_never_see_a_colleagues_figures(client, staff, colleague, two_months):
    client.force_login(staff)
    # No parameter selects somebody else: an employee id in the query string is ignored.
    body = client.get(URL, {"employee": colleague.pk}).content.decode()
    assert "Cleo" not in body and "Colleague" not in body
    assert "n = 10 observations" not in body  # the colleague's April
    assert json_data(client.get(URL), "my-pass-chart-data")["n"] == [10, 22]


def test_the_colleague_sees_their_own_and_not_mine(client, colleague, two_months):
    client.force_login(colleague.user)
    body = client.get(URL).content.decode()
    low, high = stats.wilson_interval(3, 10)
    assert f"n = 10 observations · Wilson 95% interval {fmt.interval(low, high)}" in body
    assert "n = 22 observations" not in body


def test_a_manager_sees_their_own_scorecard_not_their_teams(client, manager, staff, two_months):
    client.force_login(manager)
    body = client.get(URL).content.decode()
    assert "No scorecard yet" in body
    assert "n = 22" not in body


# --------------------------------------------------------------------------- recent observations


def test_my_last_30_days_are_counted_by_standard(client, staff, colleague, greet, safety):
    me = staff.employee
    recently = timezone.now() - timedelta(days=3)
    observe(me, greet, at=recently, passed=True, n=4)
    observe(me, greet, at=recently, passed=False)
    observe(me, safety, at=recently, passed=False, n=2)
    observe(me, greet, at=timezone.now() - timedelta(days=45), passed=False, n=6)  # too old
    observe(colleague, greet, at=recently, passed=False, n=9)  # somebody else's
    client.force_login(staff)
    body = client.get(URL).content.decode()
    greet_low, greet_high = stats.wilson_interval(4, 5)
    assert "7 observations in the last 30 days" in body
    assert "80% (n = 5)" in body and fmt.interval(greet_low, greet_high) in body
    assert "0% (n = 2)" in body
    row = re.search(r"SAFE</span>.*?</tr>", body, re.S).group(0)
    assert '<td class="text-end">2</td>' in row  # both failures of a non-negotiable standard


def test_a_corrected_observation_counts_once(client, staff, greet):
    me = staff.employee
    recently = timezone.now() - timedelta(days=2)
    (wrong,) = observe(me, greet, at=recently, passed=False)
    observe(me, greet, at=recently, passed=True, supersedes=wrong)
    client.force_login(staff)
    body = client.get(URL).content.decode()
    assert "100% (n = 1)" in body
    assert Observation.objects.filter(employee=me).count() == 2


# --------------------------------------------------------------------------- query budget


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_my_evidence(client, staff, greet, safety):
    me = staff.employee
    client.force_login(staff)
    observe(me, greet, at=MARCH, passed=True)
    scorecards_rollup(full=True)
    small = _queries(client, URL), _queries(client, reverse("home"))
    recently = timezone.now() - timedelta(days=1)
    for month in range(1, 13):
        at = timezone.make_aware(datetime(2024, month, 12, 9, 0))
        observe(me, greet, at=at, passed=month % 3 != 0, n=5)
    for code in range(8):
        standard = factories.StandardFactory(code=f"EXTRA-{code}")
        observe(me, standard, at=recently, passed=code % 2 == 0, n=3)
    observe(me, safety, at=recently, passed=False, n=4)
    scorecards_rollup(full=True)
    large = _queries(client, URL), _queries(client, reverse("home"))
    assert small == large
    assert large[0] <= 10


# --------------------------------------------------------------------------- landing page and navigation


def test_the_staff_landing_page_shows_my_last_30_days_with_their_n(client, staff, two_months):
    client.force_login(staff)
    body = client.get(reverse("home")).content.decode()
    low, high = stats.wilson_interval(19, 22)
    assert "My scorecard" in body
    assert (
        f"Last 30 days, 3 Apr – 2 May 2025 · n = 22 observations · Wilson 95% interval {fmt.interval(low, high)}"
        in body
    )
    assert f'href="{URL}"' in body


def test_the_staff_landing_page_links_to_recognitions_and_the_wall(client, staff):
    client.force_login(staff)
    body = client.get(reverse("home")).content.decode()
    assert "No scorecard yet" in body
    assert f'href="{reverse("consequences:mine")}"' in body
    assert f'href="{reverse("consequences:recognition-wall")}"' in body


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_the_navigation_links_to_my_scorecard(client, request, role):
    client.force_login(request.getfixturevalue(role))
    body = client.get(reverse("standards:mine")).content.decode()
    assert f'href="{URL}">My scorecard</a>' in body


def test_the_navigation_marks_my_scorecard_as_the_current_page(client, staff):
    client.force_login(staff)
    body = client.get(URL).content.decode()
    assert f'active" aria-current="page" href="{URL}"' in body
