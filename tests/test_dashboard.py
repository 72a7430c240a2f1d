"""The manager dashboard: scorecards, consistency, drill-down to observations and evaluations.

Figures are asserted against scorecards with known counts; intervals and limits against
`measurement.stats`, which the pages must use rather than re-implement.
"""

import csv
import html
import io
import json
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from measurement import selectors, stats
from measurement.models import Grain
from measurement.selectors import previous_periods
from measurement.services.rollup import scorecards_rollup
from measurement.templatetags import servicedesk_format as fmt
from organization.models import Location, Team
from standards.models import Standard
from tests import factories

PERIOD = date(2025, 3, 1)
# These tests read stored calendar scorecards: they ask for months, as the page opens on the last
# 30 days (tests/test_dashboard_periods.py covers that default).
MONTHLY = {"period_kind": "month"}
PAGES = {
    "scorecards": reverse("measurement:scorecards"),
    "consistency": reverse("measurement:consistency"),
    "observations": reverse("measurement:observations"),
}


# --------------------------------------------------------------------------- helpers


def card(*, grain=Grain.LOCATION, n=100, passed=90, target=0.9, start=PERIOD, kind="month", **links):
    """A scorecard as the rollup writes it: pass rate and Wilson interval from the counts."""
    low, high = stats.wilson_interval(passed, n)
    parts = [
        f"{name}={links[name].pk}" for name in ("location", "team", "employee", "standard") if links.get(name)
    ]
    rate = passed / n if n else None
    extra = {
        name: value
        for name, value in links.items()
        if name not in ("location", "team", "employee", "standard")
    }
    return factories.ScorecardFactory(
        period_kind=kind,
        period_start=start,
        grain=grain,
        grain_key="|".join(parts) or "org",
        location=links.get("location"),
        team=links.get("team"),
        employee=links.get("employee"),
        standard=links.get("standard"),
        observations=n,
        passed=passed,
        pass_rate=rate,
        pass_rate_low=low,
        pass_rate_high=high,
        target_rate=target if n else None,
        target_met=(rate >= target) if n else None,
        **extra,
    )


def feedback(*, satisfied, csat_n, promoters, detractors, nps_n):
    """Feedback columns of a scorecard, from answer counts, as the rollup computes them."""
    nps = stats.nps(promoters, detractors, nps_n)
    return {
        "feedback_count": max(csat_n, nps_n),
        "csat_n": csat_n,
        "csat": stats.csat_from_counts(satisfied, csat_n).score,
        "nps_n": nps_n,
        "nps": nps.score,
        "nps_low": nps.low,
        "nps_high": nps.high,
    }


def json_data(response, element_id):
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, f"no json_script #{element_id} on the page"
    return json.loads(match.group(1))


def response_has(response, text):
    return text in response.content.decode()


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def standard(db):
    return factories.StandardFactory(code="GREET", title="Greet every customer", target_rate=90)


@pytest.fixture
def location_c(db):
    return factories.LocationFactory(code="CCC-01", name="Gamma Square")


@pytest.fixture
def month(location_a, location_b, standard):
    """March 2025: Alpha Street (managed by `manager`) 115/140, Beta Road 55/60, organisation 170/200."""
    return {
        "org": card(
            grain=Grain.ORGANISATION,
            n=200,
            passed=170,
            deviations=4,
            **feedback(satisfied=72, csat_n=90, promoters=40, detractors=22, nps_n=90),
        ),
        "a": card(
            location=location_a,
            n=140,
            passed=115,
            deviations=3,
            **feedback(satisfied=30, csat_n=40, promoters=25, detractors=9, nps_n=50),
        ),
        "b": card(
            location=location_b,
            n=60,
            passed=55,
            deviations=1,
            **feedback(satisfied=42, csat_n=50, promoters=15, detractors=13, nps_n=40),
        ),
        "a_std": card(grain=Grain.LOCATION_STANDARD, location=location_a, standard=standard, n=40, passed=30),
        "b_std": card(grain=Grain.LOCATION_STANDARD, location=location_b, standard=standard, n=20, passed=19),
        "std": card(grain=Grain.STANDARD, standard=standard, n=60, passed=49),
    }


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize("page_name", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, page_name):
    response = client.get(PAGES[page_name])
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("page_name", PAGES)
def test_staff_cannot_open_the_dashboard(client, staff, page_name):
    client.force_login(staff)
    assert client.get(PAGES[page_name]).status_code == 403


def test_staff_cannot_open_an_evaluation(client, staff, location_a):
    evaluation = factories.EvaluationFactory(location=location_a)
    client.force_login(staff)
    assert client.get(reverse("measurement:evaluation-detail", args=[evaluation.pk])).status_code == 403


def test_dashboard_root_leads_to_scorecards(client, manager):
    client.force_login(manager)
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == PAGES["scorecards"]


@pytest.mark.parametrize("user", ["manager", "other_manager", "admin"])
@pytest.mark.parametrize("page_name", PAGES)
def test_managers_and_admins_open_every_page(client, request, month, user, page_name):
    client.force_login(request.getfixturevalue(user))
    assert client.get(PAGES[page_name]).status_code == 200


def test_the_navigation_links_to_the_dashboard_for_managers_only(client, manager, staff):
    client.force_login(manager)
    body = client.get(reverse("home")).content.decode()
    assert PAGES["scorecards"] in body and PAGES["consistency"] in body
    client.force_login(staff)
    assert PAGES["scorecards"] not in client.get(reverse("home")).content.decode()


# --------------------------------------------------------------------------- scorecards page


def test_manager_sees_their_locations_figures_with_interval_and_n(client, manager, month):
    client.force_login(manager)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    # Headline: Alpha Street's 115 of 140 = 82%, Wilson 75–88%, CSAT 30/40 = 75%, NPS +32 (+10 to +51).
    assert "Your locations, Mar 2025" in body
    assert "n = 140 observations · Wilson 95% interval 75–88%" in body
    assert "n = 40 answers" in body and ">75%<" in body
    assert ">+32<" in body and "n = 50 answers · adjusted-Wald 95% interval +10 to +51" in body
    assert "Target 90%" in body and "not met" in body
    # Table row and the organisation-wide benchmark, but never Beta Road.
    assert "82% (n = 140)" in body
    assert "Organisation: 85% (n = 200)" in body
    assert "Beta Road" not in body and "92% (n = 60)" not in body


def test_other_manager_never_sees_location_a(client, other_manager, month, location_a):
    client.force_login(other_manager)
    body = client.get(PAGES["scorecards"], {**MONTHLY, "location": location_a.pk}).content.decode()
    assert "Alpha Street" not in body and "n = 140" not in body
    # The out-of-scope id is ignored: the page shows Beta Road's own 55 of 60.
    assert "92% (n = 60)" in body


def test_admin_sees_the_organisation_and_every_location(client, admin, month):
    client.force_login(admin)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    assert "Organisation, Mar 2025" in body
    assert "n = 200 observations · Wilson 95% interval 79–89%" in body
    assert "+20" in body and "n = 90 answers · adjusted-Wald 95% interval +3 to +36" in body
    assert "82% (n = 140)" in body and "92% (n = 60)" in body
    assert "Alpha Street" in body and "Beta Road" in body


def test_a_manager_with_two_locations_sees_them_combined(client, manager, month, location_b):
    manager.employee.managed_locations.add(location_b)
    client.force_login(manager)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    low, high = stats.wilson_interval(115 + 55, 140 + 60)
    assert f"n = 200 observations · Wilson 95% interval {fmt.interval(low, high)}" in body
    # CSAT from the summed answers: (30 + 42) / (40 + 50) = 80%; NPS weighted: (32×50 + 5×40) / 90 = +20.
    assert "n = 90 answers · satisfied" in body and ">80%<" in body
    assert ">+20<" in body and "the interval is shown per location" in body


def test_the_location_filter_narrows_to_one_location(client, admin, month, location_b):
    client.force_login(admin)
    body = client.get(PAGES["scorecards"], {**MONTHLY, "location": location_b.pk}).content.decode()
    assert "Beta Road, Mar 2025" in body
    assert "n = 60 observations" in body and "Organisation: 85% (n = 200)" in body


def test_the_standard_filter_uses_location_standard_scorecards(client, manager, month, standard, location_a):
    client.force_login(manager)
    body = client.get(
        PAGES["scorecards"], {**MONTHLY, "location": location_a.pk, "standard": standard.pk}
    ).content.decode()
    assert "Alpha Street · Greet every customer" in body
    assert "n = 40 observations · Wilson 95% interval" in body and ">75%<" in body
    # The organisation-wide rate of that standard as context: 49 of 60.
    assert "Organisation · Greet every customer: 82% (n = 60)" in body
    drilldown = f"period_kind=month&amp;period_start=2025-03-01&amp;location={location_a.pk}&amp;standard={standard.pk}"
    assert f'{PAGES["observations"]}?{drilldown}">See the 40 observations' in body


def test_team_and_employee_tables_show_the_managers_people(
    client, manager, other_manager, month, location_a, location_b
):
    team_a = factories.TeamFactory(name="Tills", location=location_a)
    team_b = factories.TeamFactory(name="Warehouse", location=location_b)
    card(grain=Grain.TEAM, team=team_a, n=30, passed=27)
    card(grain=Grain.TEAM, team=team_b, n=10, passed=5)
    person = factories.EmployeeFactory(
        location=location_a, team=team_a, user__first_name="Ada", user__last_name="Byron"
    )
    card(grain=Grain.EMPLOYEE, employee=person, n=12, passed=12)

    client.force_login(manager)
    teams = client.get(PAGES["scorecards"], {**MONTHLY, "grain": "team"}).content.decode()
    assert "Tills · AAA-01" in teams and "90% (n = 30)" in teams and "Warehouse" not in teams
    people = client.get(PAGES["scorecards"], {**MONTHLY, "grain": "employee"}).content.decode()
    assert "Ada Byron" in people and "100% (n = 12)" in people

    client.force_login(other_manager)
    teams = client.get(PAGES["scorecards"], {**MONTHLY, "grain": "team"}).content.decode()
    assert "Warehouse · BBB-01" in teams and "Tills" not in teams
    assert (
        "Ada Byron" not in client.get(PAGES["scorecards"], {**MONTHLY, "grain": "employee"}).content.decode()
    )


def test_the_period_picker_offers_the_available_periods(client, admin, location_a):
    for start in (date(2025, 1, 1), date(2025, 2, 1)):
        card(grain=Grain.ORGANISATION, start=start, n=10, passed=9)
        card(location=location_a, start=start, n=10, passed=5 if start.month == 1 else 9)
    card(grain=Grain.ORGANISATION, kind="quarter", start=date(2025, 1, 1), n=20, passed=14)
    client.force_login(admin)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    assert '<option value="2025-02-01" selected>Feb 2025</option>' in body
    assert '<option value="2025-01-01">Jan 2025</option>' in body
    january = client.get(PAGES["scorecards"], {**MONTHLY, "period_start": "2025-01-01"}).content.decode()
    assert "50% (n = 10)" in january
    # Switching to quarters keeps the date: February lies in the first quarter.
    quarter = client.get(
        PAGES["scorecards"], {**MONTHLY, "period_kind": "quarter", "period_start": "2025-02-01"}
    )
    assert response_has(quarter, "Organisation, Q1 2025") and response_has(quarter, "n = 20 observations")


def test_a_new_month_with_feedback_only_does_not_open_the_dashboard_on_n_0(client, admin, location_a):
    # Early in a month: customers have answered, nothing has been measured yet.
    card(grain=Grain.ORGANISATION, start=date(2025, 2, 1), n=10, passed=9)
    card(grain=Grain.ORGANISATION, start=date(2025, 3, 1), n=0, passed=0, feedback_count=4)
    client.force_login(admin)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    assert '<option value="2025-02-01" selected>Feb 2025</option>' in body
    assert '<option value="2025-03-01">Mar 2025</option>' in body  # still offered


def test_without_scorecards_the_page_says_how_to_get_them(client, manager):
    client.force_login(manager)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    assert "No scorecards yet" in body and "manage.py rollup_scorecards" in body
    assert "No scorecards yet" in client.get(PAGES["consistency"]).content.decode()


def test_the_dashboard_shows_what_the_rollup_computed(
    client, manager, other_manager, location_a, location_b, standard
):
    # given evidence at both locations, rolled up by the real rollup
    team = factories.TeamFactory(name="Tills", location=location_a)
    person = factories.EmployeeFactory(
        location=location_a, team=team, user__first_name="Ada", user__last_name="Byron"
    )
    at = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    for i in range(10):
        factories.ObservationFactory(
            location=location_a, team=team, employee=person, standard=standard, observed_at=at, passed=i != 0
        )
    for _ in range(4):
        factories.ObservationFactory(location=location_b, standard=standard, observed_at=at)
    for csat, nps in ((5, 10), (5, 9), (4, 3), (2, 7)):
        factories.FeedbackFactory(location=location_a, submitted_at=at, csat=csat, nps=nps)
    scorecards_rollup(full=True)

    # when Alpha Street's manager opens March 2025
    client.force_login(manager)
    body = client.get(PAGES["scorecards"], {**MONTHLY, "period_start": "2025-03-01"}).content.decode()
    low, high = stats.wilson_interval(9, 10)
    nps = stats.nps(2, 1, 4)

    # then the figures are the rollup's, with their intervals and sample sizes
    assert f"n = 10 observations · Wilson 95% interval {fmt.interval(low, high)}" in body
    assert "n = 4 answers · satisfied" in body and ">75%<" in body
    assert (
        f"n = 4 answers · adjusted-Wald 95% interval {fmt.signed(nps.low)} to {fmt.signed(nps.high)}" in body
    )
    assert "Organisation: 93% (n = 14)" in body
    teams = client.get(
        PAGES["scorecards"], {**MONTHLY, "period_start": "2025-03-01", "grain": "team"}
    ).content.decode()
    assert "Tills · AAA-01" in teams and "90% (n = 10)" in teams
    people = client.get(
        PAGES["scorecards"], {**MONTHLY, "period_start": "2025-03-01", "grain": "employee"}
    ).content.decode()
    assert "Ada Byron" in people

    client.force_login(other_manager)
    body = client.get(
        PAGES["scorecards"], {**MONTHLY, "period_start": "2025-03-01", "grain": "team"}
    ).content.decode()
    assert "100% (n = 4)" in body and "Tills" not in body and "Alpha Street" not in body


# --------------------------------------------------------------------------- trend charts


@pytest.fixture
def year_of_a(location_a):
    """Twelve months at Alpha Street: 80 of 100 each month, except a collapse to 50 in November."""
    starts = previous_periods("month", PERIOD, 12)
    counts = []
    for start in starts:
        passed = 50 if start == date(2024, 11, 1) else 80
        counts.append((passed, 100))
        card(location=location_a, start=start, n=100, passed=passed, target=0.85,
             **feedback(satisfied=30 + start.month % 3, csat_n=40, promoters=20, detractors=10, nps_n=40))  # fmt: skip
        card(grain=Grain.ORGANISATION, start=start, n=200, passed=170)
    return starts, counts


def test_the_pass_rate_chart_carries_the_p_chart_limits_from_stats(client, manager, year_of_a):
    starts, counts = year_of_a
    client.force_login(manager)
    response = client.get(PAGES["scorecards"], MONTHLY)
    data = json_data(response, "pass-chart-data")
    expected = stats.p_chart(counts)
    assert data["labels"][0] == "Apr 2024" and data["labels"][-1] == "Mar 2025"
    assert data["n"] == [100] * 12
    assert data["centre"] == pytest.approx(expected.centre)
    assert data["ucl"] == pytest.approx(expected.ucls) and data["lcl"] == pytest.approx(expected.lcls)
    assert data["flags"] == expected.flags
    # November's collapse is beyond 3σ, and said so in the table next to the chart.
    assert 1 in data["flags"][starts.index(date(2024, 11, 1))]
    assert "beyond 3σ" in response.content.decode()
    assert data["target"] == pytest.approx(0.85)


def test_csat_and_nps_charts_are_xmr_charts_from_stats(client, manager, year_of_a):
    starts, _ = year_of_a
    client.force_login(manager)
    response = client.get(PAGES["scorecards"], MONTHLY)
    csat = json_data(response, "csat-chart-data")
    expected = stats.xmr_limits([100 * (30 + start.month % 3) / 40 for start in starts])
    assert csat["values"] == pytest.approx(expected.values)
    assert (csat["centre"], csat["ucl"], csat["lcl"]) == pytest.approx(
        (expected.centre, expected.ucl, expected.lcl)
    )
    nps = json_data(response, "nps-chart-data")
    assert nps["values"] == pytest.approx([25.0] * 12) and nps["n"] == [40] * 12


def test_charts_are_drawn_by_the_local_script_without_inline_code(client, manager, year_of_a):
    client.force_login(manager)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    assert "/static/vendor/chartjs/chart.umd.min.js" in body and "/static/js/dashboard.js" in body
    assert "chartjs-plugin-annotation.min.js" in body
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", body)
    assert inline == [] and "style=" not in body and "http://" not in body and "https://" not in body


# --------------------------------------------------------------------------- heatmap


def test_the_heatmap_shows_value_n_and_target_status(client, manager, month, standard, location_a):
    client.force_login(manager)
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    # Alpha Street on GREET: 30 of 40 = 75% against 90%; Wilson (0.60, 0.86) excludes 90% → below.
    cell = re.search(
        r'<td class="heat heat-(\w+)"><a href="([^"]+)">75%<span class="heat-n">n = 40</span>', body
    )
    assert cell and cell.group(1) == "below"
    assert f"location={location_a.pk}" in cell.group(2) and f"standard={standard.pk}" in cell.group(2)
    assert ": below target, target 90%" in body
    # Beta Road's cell (19 of 20) is not shown to Alpha Street's manager; the organisation's is.
    assert "95%<span" not in body and '82%<span class="heat-n">n = 60</span>' in body


def test_the_heatmap_shows_locations_a_page_at_a_time_with_the_same_columns(client, manager):
    populate(30, manager)
    other = factories.StandardFactory(code="ZZ")
    card(
        grain=Grain.LOCATION_STANDARD,
        location=Location.objects.get(code="Q-029"),
        standard=other,
        n=5,
        passed=5,
    )
    # The organisation's row of that standard, as the rollup writes beside every cell: the
    # columns are the standards the organisation measured in the period.
    card(grain=Grain.STANDARD, standard=other, n=5, passed=5)
    client.force_login(manager)

    pages = [
        client.get(PAGES["scorecards"], {**MONTHLY, "heatmap_page": number}).context["heatmap"]
        for number in (1, 2, 3)
    ]

    # Locations in order of need (the lowest lower bound of their interval first), ten a page.
    assert [len(page.rows) for page in pages] == [10, 10, 10]
    rows = [row for page in pages for row in page.rows]
    assert sorted(location.name for location, _ in rows) == [f"Store {i:03d}" for i in range(30)]
    lows = [row.pass_rate_low for page in pages for row in page.row_figures]
    assert lows == sorted(lows)
    # Every page has every standard measured in the period, so the columns line up.
    assert all([s.code for s in page.standards] == ["QC", "ZZ"] for page in pages)
    cells = {location.code: row for location, row in rows}
    assert cells["Q-029"][1].observations == 5
    body = client.get(PAGES["scorecards"], MONTHLY).content.decode()
    assert "Locations 1–10 of 30" in body and "heatmap_page=2" in body


@pytest.mark.parametrize(
    "passed, n, target, status",
    [
        (18, 20, 0.9, "met"),  # 90% against 90%
        (16, 20, 0.9, "near"),  # 80%, but the interval (58–92%) reaches the target
        (60, 100, 0.9, "below"),  # 60%, interval 50–69%
        (0, 0, 0.9, "none"),
    ],
)
def test_heatmap_cells_compare_the_interval_with_the_target(location_a, standard, passed, n, target, status):
    row = card(
        grain=Grain.LOCATION_STANDARD,
        location=location_a,
        standard=standard,
        n=n,
        passed=passed,
        target=target,
    )
    assert selectors.heat_status(row) == status


# --------------------------------------------------------------------------- drill-down


@pytest.fixture
def evidence(location_a, location_b, standard):
    at = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    evaluation_a = factories.EvaluationFactory(location=location_a, evaluated_at=at)
    evaluation_b = factories.EvaluationFactory(location=location_b, evaluated_at=at)
    factories.ObservationFactory(
        location=location_a, standard=standard, observed_at=at, passed=False, evaluation=evaluation_a,
        comment="Customer waited at the till",
    )  # fmt: skip
    factories.ObservationFactory(location=location_a, standard=standard, observed_at=at - timedelta(days=1))
    factories.ObservationFactory(location=location_a, standard=standard, observed_at=at - timedelta(days=30))
    factories.ObservationFactory(
        location=location_b, standard=standard, observed_at=at, evaluation=evaluation_b, comment="Beta only"
    )
    return {"a": evaluation_a, "b": evaluation_b}


def test_the_observations_behind_a_figure_are_listed_with_their_evaluation(
    client, manager, evidence, location_a, standard
):
    client.force_login(manager)
    params = {
        "location": location_a.pk,
        "standard": standard.pk,
        "period_kind": "month",
        "period_start": "2025-03-01",
    }
    body = client.get(PAGES["observations"], params).content.decode()
    assert "Alpha Street · Greet every customer · Mar 2025" in body
    assert "2 observations, 1 passed (50%)" in body
    assert reverse("evaluations:detail", args=[evidence["a"].pk]) in body
    assert "Customer waited at the till" in body and "Beta only" not in body


def test_another_locations_observations_answer_404(client, other_manager, evidence, location_a):
    client.force_login(other_manager)
    assert client.get(PAGES["observations"], {"location": location_a.pk}).status_code == 404
    body = client.get(PAGES["observations"]).content.decode()
    assert "Beta only" in body and "Customer waited" not in body


def test_a_corrected_observation_is_listed_only_as_its_correction(client, manager, location_a, standard):
    at = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    wrong = factories.ObservationFactory(
        location=location_a, standard=standard, observed_at=at, passed=False, comment="Entered in error"
    )
    factories.ObservationFactory(
        location=location_a,
        standard=standard,
        observed_at=at,
        passed=True,
        comment="Corrected",
        supersedes=wrong,
    )
    client.force_login(manager)
    body = client.get(PAGES["observations"], {"location": location_a.pk}).content.decode()
    assert "1 observation, 1 passed (100%)" in body
    assert "Corrected" in body and "Entered in error" not in body


def test_observations_are_paginated(client, admin, location_a, standard):
    at = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    for minute in range(55):
        factories.ObservationFactory(
            location=location_a, standard=standard, observed_at=at + timedelta(minutes=minute)
        )
    client.force_login(admin)
    first = client.get(PAGES["observations"], {"location": location_a.pk}).content.decode()
    assert "55 observations" in first
    older = re.search(r'href="\?([^"]*older=\d+[^"]*)"', first)
    assert older and f"location={location_a.pk}" in older.group(1)
    second = client.get(f"{PAGES['observations']}?{html.unescape(older.group(1))}").content.decode()
    assert "Newer" in second and "older=" not in second


@pytest.mark.parametrize(
    "user, own_status, other_status",
    [("manager", 200, 404), ("other_manager", 404, 200), ("admin", 200, 200)],
)
def test_an_evaluation_outside_scope_answers_404(client, request, evidence, user, own_status, other_status):
    client.force_login(request.getfixturevalue(user))
    assert client.get(reverse("evaluations:detail", args=[evidence["a"].pk])).status_code == own_status
    assert client.get(reverse("evaluations:detail", args=[evidence["b"].pk])).status_code == other_status


def test_the_evaluation_page_lists_its_items(client, manager, evidence):
    client.force_login(manager)
    body = client.get(reverse("evaluations:detail", args=[evidence["a"].pk])).content.decode()
    assert "Mystery shop at Alpha Street" in body and "Greet every customer</span> (GREET)" in body
    assert "Failed" in body and "Customer waited at the till" in body


# --------------------------------------------------------------------------- consistency


@pytest.fixture
def league(location_a, location_b, location_c):
    """Gamma's 19 of 20 (95%) is the highest rate but the least certain; Beta's 440 of 500 (88%) has the
    highest lower bound; Alpha's 115 of 140 (82%) the lowest."""
    card(grain=Grain.ORGANISATION, n=660, passed=574)
    return {
        "a": card(location=location_a, n=140, passed=115),
        "b": card(location=location_b, n=500, passed=440),
        "c": card(location=location_c, n=20, passed=19),
    }


def test_the_league_is_ordered_by_the_lower_bound_of_the_interval(client, admin, league):
    client.force_login(admin)
    response = client.get(PAGES["consistency"], MONTHLY)
    body = response.content.decode()
    assert [row.label for row in response.context["rows"]] == ["Alpha Street", "Gamma Square", "Beta Road"]
    table = body[body.index('id="league-heading"') :]
    assert table.index("82% (n = 140)") < table.index("95% (n = 20)") < table.index("88% (n = 500)")
    assert (
        "Strongest: <strong>Beta Road</strong>" in body and "Weakest: <strong>Alpha Street</strong>" in body
    )
    assert "85–91%" in body  # Beta's Wilson interval
    spread = stats.spread([115 / 140, 440 / 500, 19 / 20])
    assert f"{fmt.points(spread.range)}</p>" in body


def test_the_funnel_uses_the_limits_from_stats(client, admin, league):
    client.force_login(admin)
    data = json_data(client.get(PAGES["consistency"], MONTHLY), "funnel-chart-data")
    pooled = (115 + 440 + 19) / (140 + 500 + 20)
    assert data["centre"] == pytest.approx(pooled)
    assert [(point["label"], point["n"]) for point in data["points"]] == [
        ("Alpha Street", 140), ("Gamma Square", 20), ("Beta Road", 500),
    ]  # fmt: skip
    limits = data["limits"]
    for i in (0, len(limits["n"]) // 2, -1):
        n = limits["n"][i]
        assert (limits["low95"][i], limits["high95"][i]) == pytest.approx(
            stats.funnel_limits(pooled, n, 0.95)
        )
        assert (limits["low998"][i], limits["high998"][i]) == pytest.approx(
            stats.funnel_limits(pooled, n, 0.998)
        )
    assert limits["n"][-1] >= 500


def test_a_manager_sees_other_locations_only_anonymously(client, manager, league):
    client.force_login(manager)
    response = client.get(PAGES["consistency"], MONTHLY)
    body = response.content.decode()
    assert "Beta Road" not in body and "Gamma Square" not in body
    assert [row.label for row in response.context["rows"]] == ["Alpha Street"]
    assert "Alpha Street ranks 1 of 3 by need" in body
    data = json_data(response, "funnel-chart-data")
    assert sorted(point["label"] for point in data["points"]) == [
        "Alpha Street",
        "Other location",
        "Other location",
    ]
    assert all(set(point) == {"n", "rate", "label", "mine"} for point in data["points"])


def test_the_consistency_page_can_focus_on_one_standard(client, admin, month, standard):
    client.force_login(admin)
    response = client.get(PAGES["consistency"], {**MONTHLY, "standard": standard.pk})
    assert [(row.label, row.observations) for row in response.context["rows"]] == [
        ("Alpha Street", 40),
        ("Beta Road", 20),
    ]


# --------------------------------------------------------------------------- CSV exports


def test_the_scorecard_table_exports_as_csv_in_scope(client, manager, month):
    client.force_login(manager)
    response = client.get(PAGES["scorecards"], {**MONTHLY, "format": "csv"})
    rows = csv_rows(response)
    assert rows[0][:7] == [
        "period_kind",
        "period_start",
        "period_last",
        "grain",
        "subject",
        "location_code",
        "standard_code",
    ]
    assert rows[1][:8] == [
        "month",
        "2025-03-01",
        "2025-03-31",
        "location",
        "Alpha Street",
        "AAA-01",
        "",
        "140",
    ]
    assert len(rows) == 2
    assert 'filename="scorecards-month-2025-03-01-location.csv"' in response["Content-Disposition"]


def test_the_league_exports_as_csv(client, admin, other_manager, league):
    client.force_login(admin)
    rows = csv_rows(client.get(PAGES["consistency"], {**MONTHLY, "format": "csv"}))
    assert rows[0][:4] == ["rank", "of", "location_code", "location"]
    assert [row[3] for row in rows[1:]] == ["Alpha Street", "Gamma Square", "Beta Road"]
    client.force_login(other_manager)
    rows = csv_rows(client.get(PAGES["consistency"], {**MONTHLY, "format": "csv"}))
    assert [row[:4] for row in rows[1:]] == [["3", "3", "BBB-01", "Beta Road"]]


def test_the_observations_export_neutralises_formulas(client, manager, location_a, standard):
    factories.ObservationFactory(location=location_a, standard=standard, comment="=cmd()", passed=False)
    client.force_login(manager)
    rows = csv_rows(client.get(PAGES["observations"], {"location": location_a.pk, "format": "csv"}))
    assert rows[0][0] == "observed_at" and rows[0][-1] == "comment"
    assert rows[1][1:3] == ["AAA-01", "GREET"] and rows[1][8] == "no"
    assert rows[1][-1] == "'=cmd()"


# --------------------------------------------------------------------------- query counts


def populate(size, manager, *, first=0):
    """Locations `first` … `first + size - 1`, all managed by `manager`, each with a month of scorecards
    (location, location × standard, team, employee), an evaluation and an observation; on the first
    call also twelve months of organisation-wide scorecards. Returns the last evaluation."""
    standard = Standard.objects.filter(code="QC").first() or factories.StandardFactory(code="QC")
    at = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    evaluation = None
    for i in range(first, first + size):
        location = factories.LocationFactory(code=f"Q-{i:03d}", name=f"Store {i:03d}")
        manager.employee.managed_locations.add(location)
        team = factories.TeamFactory(location=location)
        person = factories.EmployeeFactory(location=location, team=team)
        answers = feedback(satisfied=8, csat_n=10, promoters=5, detractors=2, nps_n=10)
        card(location=location, n=50 + i, passed=40 + i % 10, **answers)
        card(grain=Grain.LOCATION_STANDARD, location=location, standard=standard, n=20, passed=15)
        card(grain=Grain.TEAM, team=team, n=20, passed=15)
        card(grain=Grain.EMPLOYEE, employee=person, n=10, passed=8)
        evaluation = factories.EvaluationFactory(location=location, evaluated_at=at)
        factories.ObservationFactory(
            location=location, standard=standard, observed_at=at, evaluation=evaluation
        )
    if first == 0:
        for start in previous_periods("month", PERIOD, 12):
            card(grain=Grain.ORGANISATION, start=start, n=100 * size, passed=80 * size)
        card(grain=Grain.STANDARD, standard=standard, n=20 * size, passed=15 * size)
    return evaluation


DASHBOARD_REQUESTS = [
    ("scorecards", {}),
    ("scorecards", {"grain": "team"}),
    ("scorecards", {"grain": "employee"}),
    ("scorecards", {"grain": "standard"}),
    ("scorecards", {"format": "csv"}),
    ("consistency", {}),
    ("consistency", {"format": "csv"}),
    ("observations", {"period_kind": "month", "period_start": "2025-03-01"}),
    ("observations", {"format": "csv"}),
    ("evaluation", {}),
]
# Session, user and profile, then the page's own reads: the same whatever the data size.
MAX_QUERIES = 20


def _fetch(client, page_name, params, evaluation):
    url = (
        reverse("evaluations:detail", args=[evaluation.pk]) if page_name == "evaluation" else PAGES[page_name]
    )
    response = client.get(url, params)
    assert response.status_code == 200
    if response.streaming:
        b"".join(response.streaming_content)
    return response


@pytest.mark.parametrize("size", [5, 60])
@pytest.mark.parametrize("page_name, params", DASHBOARD_REQUESTS)
def test_every_dashboard_page_has_a_fixed_query_budget(
    client, manager, django_assert_max_num_queries, size, page_name, params
):
    evaluation = populate(size, manager)
    client.force_login(manager)
    with django_assert_max_num_queries(MAX_QUERIES):
        _fetch(client, page_name, params, evaluation)


@pytest.mark.parametrize("page_name, params", DASHBOARD_REQUESTS)
def test_the_query_count_is_the_same_for_5_and_60_locations(client, manager, page_name, params):
    client.force_login(manager)
    counts = []
    for first, size in ((0, 5), (5, 55)):
        evaluation = populate(size, manager, first=first)
        with CaptureQueriesContext(connection) as queries:
            _fetch(client, page_name, params, evaluation)
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    "value, expected",
    [
        (fmt.percent_n(0.825, 140), "83% (n = 140)"),
        (fmt.percent_n(None, 0), "no data (n = 0)"),
        (fmt.percent_n(0.9, 1400), "90% (n = 1,400)"),
        (fmt.interval(0.7497, 0.876), "75–88%"),
        (fmt.interval(None, None), "—"),
        (fmt.percentage_n(75.0, 40), "75% (n = 40)"),
        (fmt.signed(-4.6), "\u22125"),
        (fmt.signed(0.2), "0"),
        (fmt.points(0.32), "32 points"),
    ],
)
def test_figures_are_formatted_with_their_sample_size(value, expected):
    assert value == expected


def test_an_nps_shows_its_interval_and_n(month):
    assert fmt.nps_summary(month["a"]) == "+32 (n = 50; adjusted-Wald 95% interval +10 to +51)"
    assert fmt.pass_summary(month["a"]) == "82% (n = 140; Wilson 95% interval 75–88%)"


def test_the_team_filter_lists_every_team_when_few_else_those_of_the_chosen_location(client, admin):
    here, there = factories.LocationFactory(name="Here"), factories.LocationFactory(name="There")
    factories.TeamFactory.create_batch(3, location=here)
    client.force_login(admin)

    def offered(params=None):
        body = client.get(PAGES["scorecards"], params or {}).content.decode()
        select = body[body.index('id="f-team"') :]
        return select[: select.index("</select>")].count('<option value="') - 1, body

    few, _ = offered()
    assert few == Team.objects.count()

    factories.TeamFactory.create_batch(selectors.scorecards.TEAM_OPTIONS, location=there)
    none, body = offered()
    assert none == 0 and "All teams (choose a location to list its teams)" in body
    mine, _ = offered({"location": here.pk})
    assert mine == Team.objects.filter(location=here).count() == 3
    team = Team.objects.filter(location=there).first()
    # A team chosen by a link brings its location, and is offered selected among that location's.
    _, body = offered({"team": team.pk})
    assert f'<option value="{team.pk}" selected>' in body
