"""Default periods that carry evidence: the scorecards page and "my scorecard" open on the last 30
days (summed from day scorecards), trends hold complete periods only, tables come in order of need,
and a rate is shown against its target at the precision that decides it.

Evidence is recorded through the real rollup over the weeks before a clock stood on the 1st or 2nd
of a month (`measurement.selectors.common.dashboard_today`).
"""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from measurement import selectors, stats
from measurement.models import Grain, Scorecard
from measurement.selectors.rolling import RollingPeriod
from measurement.services.rollup import scorecards_rollup
from measurement.templatetags import scorecard_format as fmt
from measurement.templatetags.servicedesk_format import signed
from tests import factories

SCORECARDS = reverse("measurement:scorecards")
OBSERVATIONS = reverse("measurement:observations")
MINE = reverse("me:scorecard")
SECOND = date(2025, 12, 2)


def stand_clock_on(monkeypatch, day):
    monkeypatch.setattr("measurement.selectors.common.dashboard_today", lambda: day)


def observe_daily(*, location, standard, last, days, per_day=2, fail_every=4, employee=None):
    """`per_day` observations on each of the `days` days up to `last`; every `fail_every`-th fails."""
    made = 0
    for back in range(days):
        day = last - timedelta(days=back)
        for i in range(per_day):
            made += 1
            factories.ObservationFactory(
                location=location,
                standard=standard,
                employee=employee,
                team=employee.team if employee else None,
                observed_at=timezone.make_aware(datetime.combine(day, time(10 + i))),
                passed=made % fail_every != 0,
            )


def expected(location, period, **filters):
    """Passed and counted observations of `location` in `period`, as the rollup counts them."""
    rows = selectors.rolling_scorecards(
        Scorecard.objects.filter(grain=Grain.LOCATION, location=location, **filters), period
    )
    return rows[0].passed, rows[0].observations


@pytest.fixture
def greet(db):
    return factories.StandardFactory(code="GREET-01", title="Greet every customer warmly", target_rate=90)


@pytest.fixture
def evidence(monkeypatch, staff, location_a, location_b, greet):
    """Sixty days of observations up to 1 Dec 2025 at both locations (Alpha Street names the staff
    member), rolled up; the clock stands on 2 December."""
    observe_daily(
        location=location_a, standard=greet, last=SECOND - timedelta(days=1), days=60, employee=staff.employee
    )
    observe_daily(
        location=location_b, standard=greet, last=SECOND - timedelta(days=1), days=60, fail_every=10
    )
    scorecards_rollup(full=True)
    stand_clock_on(monkeypatch, SECOND)
    return RollingPeriod.ending(SECOND)


# --------------------------------------------------------------------------- the rolling default


def test_the_scorecards_page_opens_on_the_last_30_days_in_words(client, manager, evidence, location_a):
    client.force_login(manager)
    response = client.get(SCORECARDS)
    body = response.content.decode()
    passed, n = expected(location_a, evidence)
    assert evidence.label == "last 30 days, 3 Nov – 2 Dec 2025"
    assert "Your locations, last 30 days, 3 Nov – 2 Dec 2025" in body
    # 29 days of two observations (the 2nd itself holds none yet): weeks of evidence, not a day's.
    assert n == 58
    assert f"n = {n} observations · Wilson 95% interval" in body
    assert response.context["selection"].is_rolling


def test_the_period_picker_offers_the_last_30_days_first_then_calendar_periods(client, manager, evidence):
    client.force_login(manager)
    body = client.get(SCORECARDS).content.decode()
    options = body[body.index('id="f-period-kind"') :].split("</select>")[0]
    assert options.index('value="rolling" selected>Last 30 days') < options.index('value="week"')
    assert 'value="month"' in options and 'value="quarter"' in options
    month = client.get(SCORECARDS, {"period_kind": "month", "period_start": "2025-11-01"})
    assert "Your locations, Nov 2025" in month.content.decode()


def test_the_headline_links_to_exactly_its_observations_by_from_and_to(client, manager, evidence, location_a):
    client.force_login(manager)
    response = client.get(SCORECARDS, {"location": location_a.pk})
    drilldown = response.context["drilldown"]
    assert drilldown == {"from": "2025-11-03", "to": "2025-12-02", "location": str(location_a.pk)}
    passed, n = expected(location_a, evidence)
    listed = client.get(OBSERVATIONS, drilldown)
    assert listed.status_code == 200
    assert f"{n} observation" in listed.content.decode()
    failed = client.get(OBSERVATIONS, {**drilldown, "passed": "no"})
    assert f"{n - passed} observation" in failed.content.decode()


def test_the_headline_compares_with_the_previous_30_days(client, manager, evidence, location_a):
    client.force_login(manager)
    response = client.get(SCORECARDS, {"location": location_a.pk})
    previous = response.context["headline"].previous
    passed, n = expected(location_a, evidence.previous())
    assert (previous.passed, previous.observations) == (passed, n)
    assert "Last 30 days, 4 Oct – 2 Nov 2025: <a href=" in response.content.decode()


def test_on_the_first_of_a_month_the_page_still_holds_weeks_of_evidence(
    client, monkeypatch, manager, evidence, location_a
):
    stand_clock_on(monkeypatch, date(2025, 12, 1))
    client.force_login(manager)
    response = client.get(SCORECARDS, {"location": location_a.pk})
    assert response.context["headline"].passing.observations >= 7 * 2
    assert "last 30 days, 2 Nov – 1 Dec 2025" in response.content.decode()


def test_a_calendar_month_still_running_is_marked_so_far(client, manager, evidence):
    client.force_login(manager)
    body = client.get(SCORECARDS, {"period_kind": "month", "period_start": "2025-12-01"}).content.decode()
    # December holds the 1st's evidence: the picker offers it, and its figures say they are partial.
    assert "Your locations, Dec 2025 (so far)" in body
    assert "This month is still running" in body


# --------------------------------------------------------------------------- trends


def test_the_rolling_trend_shows_complete_months_and_leaves_the_running_one_out(client, manager, evidence):
    client.force_login(manager)
    response = client.get(SCORECARDS)
    trend = response.context["trend"]
    labels = trend.pass_chart["labels"]
    assert trend.period_kind == "month"
    assert labels[-1] == "Nov 2025" and "Dec 2025" not in labels
    assert trend.left_out == "Dec 2025"
    assert "Dec 2025 is still running and is left out of the charts" in response.content.decode()
    assert len(selectors.previous_periods("month", date(2025, 11, 1), selectors.TREND_PERIODS)) == 12


def test_each_trend_point_links_to_the_observations_of_its_period(client, manager, evidence, location_a):
    client.force_login(manager)
    response = client.get(SCORECARDS, {"location": location_a.pk})
    last = response.context["trend"].pass_rows[-1]
    assert last.evidence == {
        "period_kind": "month",
        "period_start": "2025-11-01",
        "location": str(location_a.pk),
    }
    assert f"{last.n} observation" in client.get(OBSERVATIONS, last.evidence).content.decode()
    assert "?period_kind=month&amp;period_start=2025-11-01&amp;location=" in response.content.decode()


def test_a_running_calendar_week_is_left_out_of_its_trend(client, manager, evidence):
    client.force_login(manager)
    # The week of Monday 1 Dec 2025 is running on the 2nd: the chart ends with the week before.
    response = client.get(SCORECARDS, {"period_kind": "week", "period_start": "2025-12-01"})
    assert response.context["selection"].period_start == date(2025, 12, 1)
    trend = response.context["trend"]
    assert trend.left_out == "Week of 1 Dec 2025"
    assert trend.pass_chart["labels"][-1] == "Week of 24 Nov 2025"


def test_my_scorecard_opens_on_my_last_30_days_with_complete_months_in_the_trend(client, staff, evidence):
    client.force_login(staff)
    response = client.get(MINE)
    body = response.content.decode()
    card = response.context["card"]
    assert card.period == evidence
    assert card.mine.observations == 58
    assert "Last 30 days, 3 Nov – 2 Dec 2025" in body
    assert card.trend.pass_chart["labels"][-1] == "Nov 2025"
    # The breakdown by standard covers the same days as the headline.
    assert card.recent_observations == card.mine.observations


def test_the_staff_home_shows_my_last_30_days(client, staff, evidence):
    client.force_login(staff)
    body = client.get(reverse("home")).content.decode()
    assert "Last 30 days, 3 Nov – 2 Dec 2025 · n = 58 observations" in body


# --------------------------------------------------------------------------- order of need, thin evidence


@pytest.fixture
def three_locations(monkeypatch, admin, greet):
    """Three locations over the last 30 days: one clearly weak, one strong, one with 6 observations."""
    weak = factories.LocationFactory(code="W-01", name="Weak Street")
    strong = factories.LocationFactory(code="S-01", name="Alpha Strong")
    thin = factories.LocationFactory(code="T-01", name="Thin Lane")
    last = SECOND - timedelta(days=1)
    observe_daily(location=weak, standard=greet, last=last, days=20, fail_every=2)
    observe_daily(location=strong, standard=greet, last=last, days=20, fail_every=50)
    observe_daily(location=thin, standard=greet, last=last, days=3, fail_every=2)
    scorecards_rollup(full=True)
    stand_clock_on(monkeypatch, SECOND)
    return weak, strong, thin


def test_the_table_orders_locations_by_need_and_names_thin_evidence(client, admin, three_locations):
    weak, strong, thin = three_locations
    client.force_login(admin)
    response = client.get(SCORECARDS)
    rows = list(response.context["page"].object_list)
    assert [row.location.name for row in rows if row.location_id in {weak.pk, strong.pk, thin.pk}] == [
        "Weak Street",
        "Alpha Strong",
        "Thin Lane",
    ]
    body = response.content.decode()
    thin_row = body[body.index("Thin Lane</th>") :].split("</tr>")[0]
    assert "too little evidence" in thin_row and "Not met" not in thin_row and "Met" not in thin_row


def test_the_rolling_employee_table_is_ranked_on_sums_and_pages_built_alike(
    client, admin, location_a, greet, monkeypatch
):
    """The employees' rolling table is ranked before any scorecard is built: each page, and the
    CSV, holds the rows the built-and-sorted table would, with the same figures and names."""
    monkeypatch.setattr("measurement.views.TABLE_PAGE_SIZE", 2)
    last = SECOND - timedelta(days=1)
    people = [
        factories.EmployeeFactory(location=location_a, user=factories.UserFactory(username=name, **names))
        for name, names in [
            ("weak", {"first_name": "Wendy", "last_name": "Weak"}),
            ("strong", {"first_name": "Sam", "last_name": "Strong"}),
            ("thin", {"first_name": "Tom", "last_name": "Thin"}),
            ("twin-b", {"first_name": "Bea", "last_name": "Twin"}),
            ("twin-a", {"first_name": "Ada", "last_name": "Twin"}),
            ("nameless", {"first_name": "", "last_name": ""}),
        ]
    ]
    for person, days, fail_every in zip(people, (20, 20, 3, 10, 10, 8), (2, 50, 2, 4, 4, 3), strict=True):
        observe_daily(
            location=location_a, standard=greet, last=last, days=days, fail_every=fail_every, employee=person
        )
    scorecards_rollup(full=True)
    stand_clock_on(monkeypatch, SECOND)
    period = RollingPeriod.ending(SECOND)
    built = selectors.rolling_rows(Scorecard.objects.filter(grain=Grain.EMPLOYEE), period)
    selectors.load_subjects(built)
    expected_rows = [
        (row.employee_id, str(row.employee), row.observations, row.passed, row.pass_rate_low, row.target_rate)
        for row in sorted(built, key=selectors.need_key)
    ]
    client.force_login(admin)

    shown = []
    for number in (1, 2, 3):
        page = client.get(SCORECARDS, {"grain": "employee", "page": number}).context["page"]
        shown += [
            (
                row.employee_id,
                str(row.employee),
                row.observations,
                row.passed,
                row.pass_rate_low,
                row.target_rate,
            )
            for row in page.object_list
        ]
        assert all(row.rolling_period == period for row in page.object_list)
    export = client.get(SCORECARDS, {"grain": "employee", "format": "csv"})
    csv = b"".join(export.streaming_content).decode().splitlines()[1:]

    assert len(expected_rows) == 6 and shown == expected_rows
    assert any(name.startswith("nameless (") for _, name, *_ in expected_rows)
    assert [line.split(",")[4] for line in csv] == [name for _, name, *_ in expected_rows]


def test_calendar_tables_are_ordered_by_need_too(client, admin, three_locations):
    client.force_login(admin)
    rows = list(
        client.get(SCORECARDS, {"period_kind": "month", "period_start": "2025-11-01"})
        .context["page"]
        .object_list
    )
    thin = [row for row in rows if row.observations < 20]
    enough = [row for row in rows if row.observations >= 20]
    assert rows == enough + thin
    assert [row.pass_rate_low for row in enough] == sorted(row.pass_rate_low for row in enough)


def test_the_heatmap_shows_standard_titles_with_the_code_in_a_tooltip(client, admin, three_locations, greet):
    client.force_login(admin)
    response = client.get(SCORECARDS)
    body = response.content.decode()
    assert '<abbr title="Greet every customer warmly (GREET-01)">Greet every custo…</abbr>' in body
    assert "heatmap-scroll" in body and "heat-thin" in body
    names = [location.name for location, _ in response.context["heatmap"].rows]
    assert names.index("Weak Street") < names.index("Alpha Strong") < names.index("Thin Lane")


def test_every_table_row_links_to_its_own_evidence(client, admin, three_locations):
    weak, _, _ = three_locations
    client.force_login(admin)
    response = client.get(SCORECARDS)
    row = next(row for row in response.context["page"].object_list if row.location_id == weak.pk)
    params = selectors.scorecard_drilldown_params(row)
    assert params == {"from": "2025-11-03", "to": "2025-12-02", "location": str(weak.pk)}
    listed = client.get(OBSERVATIONS, params)
    assert f"{row.observations} observation" in listed.content.decode()


def test_the_rolling_table_exports_its_days(client, admin, three_locations):
    client.force_login(admin)
    response = client.get(SCORECARDS, {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("period_kind,period_start,period_last,grain")
    assert lines[1].startswith("rolling,2025-11-03,2025-12-02,location,")
    assert (
        'filename="scorecards-rolling-2025-11-03-2025-12-02-location.csv"' in response["Content-Disposition"]
    )


# --------------------------------------------------------------------------- rate against target


@pytest.mark.parametrize(
    "rate, target, met, shown_rate, shown_target",
    [
        (0.896, 0.9, False, "89.6%", "90%"),
        (0.8996, 0.9, False, "89.96%", "90%"),
        (0.8951, 0.9, False, "89.5%", "90%"),
        (0.82, 0.9, False, "82%", "90%"),
        (0.9, 0.9, True, "90%", "90%"),
        (0.904, 0.905, False, "90%", "91%"),
        (0.95, 0.9, True, "95%", "90%"),
    ],
)
def test_the_rate_and_target_are_shown_at_the_precision_that_decides_them(
    rate, target, met, shown_rate, shown_target
):
    figures = selectors.Figures(
        label="x", observations=100, pass_rate=rate, target_rate=target, target_met=met
    )
    assert (fmt.decisive_rate(figures), fmt.decisive_target(figures)) == (shown_rate, shown_target)


def test_the_headline_says_89_6_against_90_not_met(client, manager, location_a, greet, monkeypatch):
    # 9 of 10 fail-free days less one: 112 passed of 125 = 89.6 % against a 90 % target.
    for i in range(125):
        factories.ObservationFactory(
            location=location_a,
            standard=greet,
            observed_at=timezone.make_aware(datetime.combine(SECOND - timedelta(days=1 + i % 20), time(9))),
            passed=i >= 13,
        )
    scorecards_rollup(full=True)
    stand_clock_on(monkeypatch, SECOND)
    client.force_login(manager)
    body = client.get(SCORECARDS).content.decode()
    assert ">89.6%</a>" in body
    assert "Target 90% ·" in body and "not met" in body


def test_nps_and_pass_rate_intervals_name_their_method(client, admin, location_a, monkeypatch):
    touchpoint = factories.TouchpointFactory()
    for i in range(30):
        factories.FeedbackFactory(
            location=location_a,
            touchpoint=touchpoint,
            nps=10 if i % 3 else 3,
            csat=5,
            submitted_at=timezone.make_aware(datetime.combine(SECOND - timedelta(days=1 + i % 10), time(9))),
        )
    scorecards_rollup(full=True)
    stand_clock_on(monkeypatch, SECOND)
    client.force_login(admin)
    body = client.get(SCORECARDS, {"location": location_a.pk}).content.decode()
    nps = stats.nps(20, 10, 30)
    assert f"adjusted-Wald 95% interval {signed(nps.low)} to {signed(nps.high)}" in body
    assert "Wilson 95% interval" in body


# --------------------------------------------------------------------------- query budgets


def _grow(location, standard, employee):
    observe_daily(
        location=location,
        standard=standard,
        last=SECOND - timedelta(days=1),
        days=40,
        per_day=6,
        employee=employee,
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"grain": "team"},
        {"grain": "employee"},
        {"grain": "standard"},
        {"standard": "GREET"},
        {"period_kind": "month"},
        {"period_kind": "week"},
    ],
)
def test_the_rolling_pages_keep_a_fixed_query_count(
    client, monkeypatch, admin, staff, location_a, location_b, greet, params, django_assert_max_num_queries
):
    stand_clock_on(monkeypatch, SECOND)
    if params.get("standard"):
        params = {**params, "standard": greet.pk}

    def count(user, url, query):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, query).status_code == 200
        return len(queries)

    observe_daily(
        location=location_a, standard=greet, last=SECOND - timedelta(days=1), days=5, employee=staff.employee
    )
    scorecards_rollup(full=True)
    small = count(admin, SCORECARDS, params), count(staff, MINE, {}), count(staff, reverse("home"), {})
    for i in range(6):
        location = factories.LocationFactory(code=f"G-{i}", name=f"Grown {i}")
        team = factories.TeamFactory(location=location)
        employee = factories.EmployeeFactory(location=location, team=team)
        standard = factories.StandardFactory(code=f"G-STD-{i}")
        _grow(location, standard, employee)
    _grow(location_b, greet, None)
    _grow(location_a, greet, staff.employee)
    scorecards_rollup(full=True)
    large = count(admin, SCORECARDS, params), count(staff, MINE, {}), count(staff, reverse("home"), {})
    assert small == large
    client.force_login(admin)
    # Measured: 19 (calendar) to 22 (one standard) with the session, user and navigation.
    with django_assert_max_num_queries(22):
        client.get(SCORECARDS, params)


def test_the_rolling_heatmap_orders_its_locations_as_the_table_does_from_the_same_rows(
    client, admin, three_locations, greet
):
    client.force_login(admin)
    with CaptureQueriesContext(connection) as shared:
        response = client.get(SCORECARDS)
    table = list(response.context["page"].object_list)
    heatmap = response.context["heatmap"]

    # The same rolling scorecards (one sum for both, each page building its own rows from it),
    # locations with observations in need order.
    def figures(rows):
        return [(row.location_id, row.observations, row.passed, row.pass_rate_low) for row in rows]

    assert figures(heatmap.row_figures) == figures(row for row in table if row.observations)
    assert len(heatmap.row_figures) == 3
    sums = [q["sql"] for q in shared.captured_queries if "SUM(" in q["sql"] and "'location'" in q["sql"]]
    assert len(sums) == 1, sums
