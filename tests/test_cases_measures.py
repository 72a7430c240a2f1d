"""Case measures: nearest-rank percentiles and SLA shares computed in SQL, checked against
arithmetic done by hand, per location and month, within scope, in a fixed number of queries."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases.measures import case_measures, last_months, open_breached
from cases.models import Case, CaseStatus
from tests import factories

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def at(day: int, month: int = 1, hour: float = 10.0) -> datetime:
    """A time in winter 2026, when London time is UTC."""
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def case(location, opened_at, *, ack=None, resolved=None, ack_due=None, resolve_due=None, **fields):
    """A case opened at `opened_at`, acknowledged and resolved `ack` and `resolved` hours later."""
    status = (
        CaseStatus.RESOLVED
        if resolved is not None
        else CaseStatus.ACKNOWLEDGED
        if ack is not None
        else CaseStatus.NEW
    )
    return factories.CaseFactory(
        location=location,
        opened_at=opened_at,
        status=fields.pop("status", status),
        acknowledged_at=opened_at + timedelta(hours=ack) if ack is not None else None,
        resolved_at=opened_at + timedelta(hours=resolved) if resolved is not None else None,
        resolution_summary="Put right." if resolved is not None else "",
        acknowledge_due_at=opened_at + timedelta(hours=ack_due) if ack_due is not None else None,
        resolve_due_at=opened_at + timedelta(hours=resolve_due) if resolve_due is not None else None,
        **fields,
    )


def row_of(report, location):
    return next(row for row in report.locations if row.location == location)


def month_of(row, month):
    return dict(row.months)[month]


@pytest.fixture
def worked(location_a, location_b):
    """January at Alpha: acknowledged after 1, 2, 3, 4 and 10 hours; at Beta after 6 and 8.
    February at Alpha: after half an hour; at Beta ten cases resolved after 1, 2, …, 10 hours."""
    for day, hours in enumerate([10, 3, 1, 4, 2], start=1):  # stored out of order on purpose
        case(location_a, at(day), ack=hours)
    for day, hours in enumerate([8, 6], start=10):
        case(location_b, at(day), ack=hours)
    case(location_a, at(3, month=2), ack=0.5)
    for day, hours in enumerate(range(1, 11), start=1):
        case(location_b, at(day, month=2), ack=0.25, resolved=hours)


def test_nearest_rank_median_and_90th_percentile_per_location_month_location_month_and_overall(
    admin, location_a, location_b, worked
):
    report = case_measures(admin, months=[JAN, FEB], now=NOW)
    alpha, beta = row_of(report, location_a), row_of(report, location_b)

    # Alpha, January: 1 2 3 4 10 (n = 5): median rank ⌈5/2⌉ = 3 → 3 h; 90th rank ⌈4.5⌉ = 5 → 10 h.
    jan = month_of(alpha, JAN).acknowledge
    assert (jan.n, jan.median_hours, jan.p90_hours) == (5, 3.0, 10.0)
    # Beta, January: 6 8 (n = 2): median rank ⌈1⌉ = 1 → 6 h; 90th rank ⌈1.8⌉ = 2 → 8 h.
    jan_b = month_of(beta, JAN).acknowledge
    assert (jan_b.n, jan_b.median_hours, jan_b.p90_hours) == (2, 6.0, 8.0)
    # Alpha, February: one case, 0.5 h: both percentiles are that one value.
    feb = month_of(alpha, FEB).acknowledge
    assert (feb.n, feb.median_hours, feb.p90_hours) == (1, 0.5, 0.5)
    # Alpha over both months: 0.5 1 2 3 4 10 (n = 6): median rank 3 → 2 h; 90th rank ⌈5.4⌉ = 6 → 10 h.
    assert (alpha.total.acknowledge.n, alpha.total.acknowledge.median_hours) == (6, 2.0)
    assert alpha.total.acknowledge.p90_hours == 10.0
    # Every location, January: 1 2 3 4 6 8 10 (n = 7): median rank 4 → 4 h; 90th rank ⌈6.3⌉ = 7 → 10 h.
    overall_jan = month_of(report.overall, JAN).acknowledge
    assert (overall_jan.n, overall_jan.median_hours, overall_jan.p90_hours) == (7, 4.0, 10.0)
    # Everything: 0.25 ×10, 0.5, 1 2 3 4 6 8 10 (n = 18): median rank 9 → 0.25 h; 90th rank ⌈16.2⌉ = 17 → 8 h.
    everything = report.overall.total.acknowledge
    assert (everything.n, everything.median_hours, everything.p90_hours) == (18, 0.25, 8.0)
    # Beta, February, resolved after 1…10 h (n = 10): median rank 5 → 5 h; 90th rank 9 → 9 h.
    resolve = month_of(beta, FEB).resolve
    assert (resolve.n, resolve.median_hours, resolve.p90_hours) == (10, 5.0, 9.0)
    # Nothing resolved at Alpha: no figure, n = 0.
    assert alpha.total.resolve.n == 0 and alpha.total.resolve.median_hours is None
    assert report.overall.total.opened == 18


def test_eleven_values_put_the_90th_percentile_at_the_tenth(admin, location_a):
    for hours in range(1, 12):
        case(location_a, at(hours), ack=hours)
    figures = row_of(case_measures(admin, months=[JAN], now=NOW), location_a).total.acknowledge
    # n = 11: 90th rank ⌈9.9⌉ = 10 → 10 h; median rank ⌈5.5⌉ = 6 → 6 h.
    assert (figures.n, figures.median_hours, figures.p90_hours) == (11, 6.0, 10.0)


def test_sla_shares_count_only_cases_whose_outcome_is_known(admin, location_a):
    # Acknowledgement due within 2 h:
    case(location_a, at(1), ack=1, ack_due=2)  # met
    case(location_a, at(2), ack=2, ack_due=2)  # met: on the deadline
    case(location_a, at(3), ack=3, ack_due=2)  # missed
    case(location_a, at(4), ack_due=2)  # never acknowledged, long past the deadline: missed
    case(location_a, opened_at=NOW - timedelta(hours=1), ack_due=2)  # still within it: not known yet
    case(location_a, at(5), ack=1)  # no deadline: not counted
    # Resolution due within 48 h:
    case(location_a, at(6), ack=1, resolved=40, resolve_due=48)  # met
    case(location_a, at(7), ack=1, resolved=50, resolve_due=48)  # missed
    case(location_a, at(8), ack=1, resolve_due=48)  # open past it: missed
    report = case_measures(admin, months=[JAN, FEB, MAR], now=NOW)
    total = row_of(report, location_a).total

    # Acknowledged within SLA: met 2 of known 4 (the case opened an hour ago waits).
    assert (total.acknowledged_in_sla.part, total.acknowledged_in_sla.n) == (2, 4)
    assert total.acknowledged_in_sla.rate == 0.5
    # Resolved within SLA: 1 of 3.
    assert (total.resolved_in_sla.part, total.resolved_in_sla.n) == (1, 3)
    # Now: open are the three never resolved and the two within or without deadline still waiting …
    row = row_of(report, location_a)
    assert row.open_now == Case.objects.filter(status__in=["new", "acknowledged"]).count() == 7
    # … breached now: never acknowledged past its deadline, open past its resolution deadline (the
    # one acknowledged 3 h late waits for no deadline any more: it counts as missed above only).
    assert row.breached_now == 2
    assert row.breached_now == Case.objects.filter(open_breached(NOW)).count()
    assert row.unacknowledged_now == 2


def test_recovery_rate_is_happy_follow_ups_over_answered_ones(admin, location_a):
    for recovered in (True, True, False):
        case(location_a, at(1), ack=1, resolved=5, recovered=recovered, follow_up_csat=5 if recovered else 2)
    case(location_a, at(2), ack=1, resolved=5)  # no answer to the follow-up: not counted
    recovery = row_of(case_measures(admin, months=[JAN], now=NOW), location_a).total.recovery
    assert (recovery.part, recovery.n) == (2, 3)


def test_months_are_cut_in_the_organisations_time_zone(admin, location_a):
    # 30 Jun 23:30 UTC is 1 Jul 00:30 in London (summer time): a July case.
    case(location_a, datetime(2026, 6, 30, 23, 30, tzinfo=UTC), ack=1)
    case(location_a, datetime(2026, 6, 30, 22, 30, tzinfo=UTC), ack=2)  # 23:30 London: June
    report = case_measures(
        admin, months=[date(2026, 6, 1), date(2026, 7, 1)], now=datetime(2026, 7, 2, tzinfo=UTC)
    )
    row = row_of(report, location_a)
    assert month_of(row, date(2026, 6, 1)).acknowledge.median_hours == 2.0
    assert month_of(row, date(2026, 7, 1)).acknowledge.median_hours == 1.0


def test_a_manager_sees_only_the_locations_they_manage(manager, location_a, location_b, worked):
    report = case_measures(manager, months=[JAN, FEB], now=NOW)
    assert [row.location for row in report.locations] == [location_a]
    assert report.overall.total.acknowledge.n == 6  # Alpha's six, none of Beta's


def test_staff_see_no_measures(staff, worked):
    report = case_measures(staff, months=[JAN], now=NOW)
    assert report.locations == [] and report.overall.total.opened == 0


def _count_queries(user, months) -> int:
    with CaptureQueriesContext(connection) as queries:
        case_measures(user, months=months, now=NOW)
    return len(queries.captured_queries)


def test_the_query_count_does_not_grow_with_locations_months_or_cases(admin, location_a, location_b, worked):
    few = _count_queries(admin, [JAN])
    for _ in range(5):
        place = factories.LocationFactory()
        for day in range(1, 4):
            case(place, at(day, month=2), ack=day, resolved=day + 1)
    assert _count_queries(admin, last_months(date(2026, 3, 15))) == few == 5


def test_last_months_are_the_twelve_up_to_this_one():
    months = last_months(date(2026, 3, 15))
    assert months[0] == date(2025, 4, 1) and months[-1] == MAR and len(months) == 12


# --------------------------------------------------------------------------- the page and the API


@pytest.fixture
def recent(location_a, location_b):
    """This month: at Alpha two cases acknowledged after 2 and 4 hours (one still new and past its
    deadline); at Beta one case acknowledged after 6 hours."""
    now = timezone.now()
    case(location_a, now - timedelta(hours=5), ack=2)
    case(location_a, now - timedelta(hours=6), ack=4)
    case(location_a, now - timedelta(hours=3), ack_due=1)
    case(location_b, now - timedelta(hours=7), ack=6)


def test_the_page_shows_each_location_with_n_and_too_little_evidence(client, manager, location_a, recent):
    client.force_login(manager)
    response = client.get(reverse("cases:measures"))
    body = response.content.decode()
    assert response.status_code == 200
    assert ">Alpha Street (AAA-01)</h2>" in body and "Beta Road" not in body
    # Median of 2 and 4 by nearest rank: the 1st, 2 h; 90th percentile: the 2nd, 4 h.
    assert '2.0 h · 4.0 h <span class="text-body-secondary">(n = 2)</span>' in body
    assert "too little evidence" in body
    # The queue of the manager's locations, the breached and the new ones of Alpha.
    assert "/cases/?tab=locations&amp;location=AAA-01&amp;breached=1" in body
    assert "1 breached its SLA" in body and "1 new, not acknowledged" in body


def test_one_month_of_one_location(client, admin, location_a, location_b, worked):
    client.force_login(admin)
    body = client.get(reverse("cases:measures"), {"month": "2026-01", "location": "BBB-01"}).content.decode()
    # One table, Beta's (Alpha is still offered in the location menu).
    assert ">Beta Road (BBB-01)</h2>" in body and ">Alpha Street (AAA-01)</h2>" not in body
    assert "Jan 2026" in body and "6.0 h · 8.0 h" in body


def test_a_malformed_month_says_which_field_and_another_managers_location_is_404(client, manager, location_b):
    client.force_login(manager)
    for month in ("2026-13", "March", "2026-1", "1999-12"):
        bad = client.get(reverse("cases:measures"), {"month": month})
        assert bad.status_code == 400, month
        assert (
            "Give the month as YYYY-MM" in bad.content.decode()
            or "Choose a month from" in bad.content.decode()
        )
    too_early = client.get(reverse("cases:measures"), {"month": "1999-12"}).content.decode()
    assert "Choose a month from January 2000" in too_early
    assert client.get(reverse("cases:measures"), {"location": "BBB-01"}).status_code == 404
    assert client.get(reverse("cases:measures"), {"location": "\x00"}).status_code == 404


def test_the_csv_has_a_row_per_location_and_month_and_the_totals(client, admin, location_a, worked):
    client.force_login(admin)
    response = client.get(reverse("cases:measures"), {"month": "2026-01", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["location code", "location", "month", "cases opened"]
    alpha_january = next(r for r in body if r[0] == "AAA-01" and r[2] == "2026-01")
    assert alpha_january[3:7] == ["5", "5", "3.0", "10.0"]
    # Alpha, Beta and everyone: a month row and a total row each.
    assert [(r[0], r[2]) for r in body] == [
        ("AAA-01", "2026-01"),
        ("AAA-01", "all"),
        ("BBB-01", "2026-01"),
        ("BBB-01", "all"),
        ("all", "2026-01"),
        ("all", "all"),
    ]


def test_the_page_costs_the_same_queries_with_more_locations_and_cases(
    client, admin, location_a, worked, django_assert_max_num_queries
):
    client.force_login(admin)
    url = reverse("cases:measures")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(4):
        place = factories.LocationFactory()
        case(place, at(3, month=2), ack=1)
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more.captured_queries) == len(few.captured_queries) <= 14


def _api(client, user, **params):
    token, _ = Token.objects.get_or_create(user=user)
    return client.get(reverse("api:case-measures"), params, HTTP_AUTHORIZATION=f"Token {token.key}")


def test_the_api_gives_the_same_figures_scoped_by_the_tokens_owner(client, manager, location_a, worked):
    response = _api(client, manager, month="2026-01")
    assert response.status_code == 200
    data = response.json()
    assert data["months"] == ["2026-01"] and [row["location"] for row in data["locations"]] == ["AAA-01"]
    january = data["locations"][0]["months"][0]
    assert january["month"] == "2026-01"
    assert january["time_to_acknowledge"] == {"n": 5, "median_hours": 3.0, "p90_hours": 10.0}
    assert data["overall"]["location"] is None and data["min_evidence"] == 20


def test_the_api_refuses_staff_a_bad_month_and_another_location(client, staff, manager, location_b):
    assert _api(client, staff).status_code == 403
    bad = _api(client, manager, month="March")
    assert bad.status_code == 400 and bad.json()["month"] == ["Give the month as YYYY-MM, e.g. 2026-03."]
    assert "Give a month from 2000-01" in _api(client, manager, month="1999-12").json()["month"][0]
    assert _api(client, manager, location="BBB-01").status_code == 404
    assert client.get(reverse("api:case-measures")).status_code == 401


def test_the_api_is_in_the_schema(admin, client):
    client.force_login(admin)
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/cases/measures/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"month", "location"}
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
