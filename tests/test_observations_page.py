"""The observations page (the drill-down behind every figure) and the one page of an evaluation.

The page must list exactly what a scorecard counts, so that "88% passed (n = 41)" opens a page
saying 41: checked against every scorecard of a rolled-up data set (every grain and period kind),
and against sums of day scorecards for from/to spans.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from measurement.models import Grain, Observation, PeriodKind, Scorecard, Source
from measurement.selectors import scorecard_drilldown_params
from measurement.selectors.evidence import COUNT_LIMIT
from measurement.services.rollup import scorecards_rollup
from organization.models import Role
from standards.models import Comparator, MeasureKind
from tests import factories

URL = reverse("measurement:observations")
TZ = ZoneInfo(settings.TIME_ZONE)
FIRST_DAY = date(2025, 3, 20)  # the evidence spans March into April, across the clock change
DAYS = 21


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def page_count(client, params: dict) -> int:
    response = client.get(URL, params)
    assert response.status_code == 200, (params, response.status_code)
    return response.context["counts"].observations


# --------------------------------------------------------------------------- a rolled-up data set


@pytest.fixture
def organisation(manager, other_manager, admin, location_a, location_b):
    """Two locations with two teams each, three standards (one timed in seconds), two touchpoints,
    three weeks of observations at every hour including the minutes around local midnight, a
    correction, a team observed away from its own location, and a row dated where no rollup counts."""
    rng = random.Random(5)
    greeting = factories.StandardFactory(
        code="STD-01",
        title="Greeting within 30 s",
        measure_kind=MeasureKind.NUMERIC,
        comparator=Comparator.LTE,
        threshold=Decimal("30"),
        unit="seconds",
    )
    standards = [greeting, factories.StandardFactory(code="STD-02"), factories.StandardFactory(code="STD-03")]
    touchpoints = [factories.TouchpointFactory(name="Till"), factories.TouchpointFactory(name="Phone")]
    people = []
    for location in (location_a, location_b):
        for _ in range(2):
            team = factories.TeamFactory(location=location)
            people += [factories.EmployeeFactory(location=location, team=team) for _ in range(2)]
    sources = [Source.MYSTERY_SHOP, Source.OPERATIONAL, Source.QA_REVIEW]
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for hour, minute in ((0, 5), (9, 30), (13, 0), (23, 55)):
            for _ in range(rng.randint(1, 3)):
                person = rng.choice(people)
                standard = rng.choice(standards)
                value = Decimal(rng.randint(5, 60)) if standard == greeting else None
                factories.ObservationFactory(
                    location=person.location,
                    team=person.team if rng.random() < 0.8 else None,
                    employee=person if rng.random() < 0.7 else None,
                    touchpoint=rng.choice([*touchpoints, None]),
                    standard=standard,
                    source=rng.choice(sources),
                    observed_at=local(day, hour, minute),
                    value=value,
                    passed=value <= 30 if value is not None else rng.random() < 0.8,
                )
    wrong = Observation.objects.filter(location=location_a).order_by("pk").first()
    factories.ObservationFactory(
        location=wrong.location,
        team=wrong.team,
        employee=wrong.employee,
        standard=wrong.standard,
        touchpoint=wrong.touchpoint,
        observed_at=wrong.observed_at,
        value=wrong.value,
        passed=not wrong.passed,
        supersedes=wrong,
    )
    visiting = people[-1]  # a team of location B, observed at A
    factories.ObservationFactory(
        location=location_a, team=visiting.team, employee=visiting, standard=greeting,
        observed_at=local(FIRST_DAY + timedelta(days=3), 11), value=Decimal("12"), passed=True,
    )  # fmt: skip
    factories.ObservationFactory(
        location=location_a, standard=greeting, observed_at=datetime(2999, 1, 1, tzinfo=UTC), passed=False
    )  # a date no rollup counts: never listed either
    scorecards_rollup(full=True)
    return {"greeting": greeting, "touchpoints": touchpoints, "people": people}


def drilldown(row: Scorecard) -> dict[str, str]:
    params = scorecard_drilldown_params(row)
    if row.touchpoint_id:
        params["touchpoint"] = str(row.touchpoint_id)
    return params


@pytest.mark.django_db
def test_the_page_counts_what_the_scorecards_count(client, admin, organisation):
    # Three scorecards of every grain and period kind (the first, a middle and the last), so that
    # periods cut by the month's end and the clock change are among them.
    client.force_login(admin)
    checked = defaultdict(int)
    for grain in Grain.values:
        for kind in PeriodKind.values:
            rows = list(
                Scorecard.objects.filter(grain=grain, period_kind=kind, observations__gt=0).order_by(
                    "period_start", "grain_key"
                )
            )
            for row in {
                rows[0].pk: rows[0],
                rows[len(rows) // 2].pk: rows[len(rows) // 2],
                rows[-1].pk: rows[-1],
            }.values():
                params = drilldown(row)
                assert page_count(client, params) == row.observations, (row.grain, row.grain_key, params)
                assert page_count(client, {**params, "passed": "yes"}) == row.passed, params
                checked[grain, kind] += 1
    assert len(checked) == len(Grain.values) * len(PeriodKind.values)
    # The failed ones are the rest (a check that "passed=no" is not "everything").
    row = Scorecard.objects.filter(grain=Grain.ORGANISATION, period_kind=PeriodKind.MONTH).first()
    assert page_count(client, {**drilldown(row), "passed": "no"}) == row.observations - row.passed > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "first, last", [(date(2025, 3, 25), date(2025, 4, 3)), (date(2025, 3, 30), date(2025, 3, 30))]
)
def test_a_from_to_span_counts_the_sum_of_its_day_scorecards(
    client, admin, manager, organisation, first, last
):
    days = Scorecard.objects.filter(
        period_kind=PeriodKind.DAY, period_start__gte=first, period_start__lte=last
    )
    sums: dict[str, list] = {}
    for row in days:
        total = sums.setdefault(row.grain_key, [row, 0, 0])
        total[1] += row.observations
        total[2] += row.passed
    assert len({row.grain for row, _, _ in sums.values()}) == len(Grain.values)
    client.force_login(admin)
    for row, observations, passed in sums.values():
        params = {**drilldown(row), "from": first.isoformat(), "to": last.isoformat()}
        del params["period_kind"], params["period_start"]
        assert page_count(client, params) == observations, (row.grain_key, params)
        assert page_count(client, {**params, "passed": "yes"}) == passed, (row.grain_key, params)


@pytest.mark.django_db
def test_a_manager_lands_on_the_count_of_their_locations_scorecard(client, manager, location_a, organisation):
    client.force_login(manager)
    for row in Scorecard.objects.filter(grain=Grain.LOCATION, location=location_a, observations__gt=0):
        assert page_count(client, drilldown(row)) == row.observations


@pytest.mark.django_db
def test_a_team_seen_at_another_location_is_listed_whole(client, other_manager, organisation):
    # Its scorecard counts the visit to location A; the team's manager sees the same count.
    team = organisation["people"][-1].team
    client.force_login(other_manager)
    row = Scorecard.objects.get(
        grain=Grain.TEAM, team=team, period_kind=PeriodKind.MONTH, period_start=date(2025, 3, 1)
    )
    assert page_count(client, drilldown(row)) == row.observations


@pytest.mark.django_db
def test_unfiltered_the_page_lists_the_users_scope(client, manager, location_a, organisation):
    client.force_login(manager)
    listed = Observation.objects.current().filter(location=location_a, observed_at__year__lt=2100).count()
    assert page_count(client, {}) == listed


# --------------------------------------------------------------------------- filters and words


@pytest.mark.django_db
def test_the_filter_is_described_in_words(client, manager, location_a, organisation):
    client.force_login(manager)
    params = {
        "location": location_a.pk,
        "standard": organisation["greeting"].pk,
        "from": "2025-03-25",
        "to": "2025-04-03",
        "passed": "no",
    }
    body = client.get(URL, params).content.decode()
    assert "Alpha Street · Greeting within 30 s · 25 Mar – 3 Apr 2025 · failed only" in body
    assert 'href="/dashboard/observations/"' in body  # clear filters


@pytest.mark.django_db
def test_a_team_is_described_with_its_location(client, manager, staff, location_a):
    team = staff.employee.team
    client.force_login(manager)
    body = client.get(
        URL, {"team": team.pk, "period_kind": "week", "period_start": "2025-03-05"}
    ).content.decode()
    assert f"{team.name} (Alpha Street) · Week of 3 Mar 2025" in body
    body = client.get(URL, {"team": team.pk, "location": location_a.pk}).content.decode()
    assert f"Alpha Street · {team.name}</p>" in body


@pytest.mark.django_db
def test_rows_show_names_units_dates_in_words_and_the_evaluation(client, manager, location_a, staff):
    standard = factories.StandardFactory(
        code="STD-01", title="Greeting within 30 s", measure_kind=MeasureKind.NUMERIC,
        comparator=Comparator.LTE, threshold=Decimal("30"), unit="seconds",
    )  # fmt: skip
    evaluation = factories.EvaluationFactory(location=location_a, evaluated_at=local(date(2025, 3, 4), 10))
    factories.ObservationFactory(
        location=location_a, standard=standard, employee=staff.employee, evaluation=evaluation,
        observed_at=local(date(2025, 3, 4), 10, 15), value=Decimal("42"), passed=False,
    )  # fmt: skip
    client.force_login(manager)
    body = client.get(URL, {"location": location_a.pk}).content.decode()
    assert "Greeting within 30 s (STD-01)" in body
    assert "42 seconds" in body and "passes at ≤ 30 seconds" in body
    assert "Tue 4 Mar 2025, 10:15" in body
    assert staff.employee.full_name in body and staff.employee.employee_number not in body
    assert reverse("evaluations:detail", args=[evaluation.pk]) in body
    csv = b"".join(client.get(URL, {"location": location_a.pk, "format": "csv"}).streaming_content).decode()
    assert staff.employee.employee_number in csv


@pytest.mark.django_db
def test_the_form_offers_only_the_users_scope(client, manager, location_a, location_b):
    team_b = factories.TeamFactory(location=location_b, name="Night shift B")
    factories.EmployeeFactory(location=location_b, team=team_b, user__first_name="Bianca")
    client.force_login(manager)
    form = client.get(URL).context["form"]
    assert [label for _, label in form.fields["location"].widget.choices] == ["All locations", "Alpha Street"]
    assert "Night shift B" not in str(form.fields["team"].widget.choices)
    assert "Bianca" not in str(form.fields["employee"].widget.choices)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        ({"period_kind": "fortnight", "period_start": "2025-03-01"}, "period_kind"),
        ({"period_kind": "month"}, "period_start"),
        ({"period_start": "2025-03-01"}, "period_kind"),
        ({"period_kind": "month", "period_start": "2025-02-30"}, "period_start"),
        ({"from": "2025-03-05", "to": "2025-03-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"period_kind": "month", "period_start": "2025-03-01", "from": "2025-03-01"}, "from"),
        ({"location": "abc"}, "location"),
        ({"standard": "1.5"}, "standard"),
        ({"team": "9" * 26}, "team"),
        ({"source": "rumour"}, "source"),
        ({"passed": "maybe"}, "passed"),
    ],
)
def test_a_bad_parameter_gets_a_message_naming_it(client, manager, params, field):
    client.force_login(manager)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert f'id="id_{field}-error"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_answer_an_empty_page(client, admin, value):
    client.force_login(admin)
    for params in ({"from": value, "to": value}, {"period_kind": "quarter", "period_start": value}):
        assert page_count(client, params) == 0


@pytest.mark.django_db
def test_a_period_named_by_any_of_its_days_is_the_whole_period(client, admin, organisation):
    client.force_login(admin)
    row = Scorecard.objects.get(
        grain=Grain.ORGANISATION, period_kind=PeriodKind.MONTH, period_start=date(2025, 3, 1)
    )
    assert page_count(client, {"period_kind": "month", "period_start": "2025-03-17"}) == row.observations


@pytest.mark.django_db
def test_filters_by_source_and_touchpoint(client, admin, organisation):
    client.force_login(admin)
    till = organisation["touchpoints"][0]
    expected = Observation.objects.current().filter(
        touchpoint=till, source=Source.OPERATIONAL, observed_at__year__lt=2100
    )
    body = client.get(URL, {"touchpoint": till.pk, "source": "operational"})
    assert body.context["counts"].observations == expected.count()
    assert "Till · Operational metric" in body.content.decode()


# --------------------------------------------------------------------------- the count and its cost


@pytest.mark.django_db
def test_the_count_stops_past_its_limit_with_or_without_a_period(
    client, admin, location_a, standard_for_bulk, settings, django_assert_max_num_queries
):
    at = local(date(2025, 3, 4), 10)
    Observation.objects.bulk_create(
        Observation(location=location_a, standard=standard_for_bulk, source=Source.OPERATIONAL,
                    observed_at=at + timedelta(seconds=second), passed=True)
        for second in range(COUNT_LIMIT + 5)
    )  # fmt: skip
    client.force_login(admin)
    response = client.get(URL)
    assert response.context["counts"].more_than == COUNT_LIMIT
    assert response.context["counts"].passed is None
    assert "More than 10,000 observations" in response.content.decode()
    # A period can hold as many rows as the table: its count stops at the same limit.
    day = client.get(URL, {"period_kind": "day", "period_start": "2025-03-04"})
    assert day.context["counts"].more_than == COUNT_LIMIT
    # One row fewer than the limit past it: the exact count and the share passed.
    Observation.objects.filter(pk__in=Observation.objects.order_by("pk").values("pk")[:5]).delete()
    assert page_count(client, {"period_kind": "day", "period_start": "2025-03-04"}) == COUNT_LIMIT
    assert client.get(URL).context["counts"].passed == COUNT_LIMIT


@pytest.fixture
def standard_for_bulk(db):
    return factories.StandardFactory(code="OPS-01")


def _add_observations(count: int, location, employee, evaluation) -> None:
    standard = factories.StandardFactory()
    for index in range(count):
        factories.ObservationFactory(
            location=location, standard=standard, team=employee.team, employee=employee,
            touchpoint=factories.TouchpointFactory(), evaluation=evaluation, passed=index % 3 != 0,
            observed_at=local(date(2025, 3, 4), 10) + timedelta(minutes=index),
        )  # fmt: skip
        factories.EmployeeFactory(location=location, team=employee.team)  # more options to offer


QUERY_BUDGET = (
    14  # session, user, profile, the navigation; five option lists, the count, the cursor's row, a page
)


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_whatever_the_data(
    client, manager, location_a, staff, django_assert_max_num_queries
):
    evaluation = factories.EvaluationFactory(location=location_a)
    client.force_login(manager)
    counts = {}
    for size in (3, 80):
        _add_observations(size, location_a, staff.employee, evaluation)
        middle = Observation.objects.order_by("observed_at")[size // 2].pk
        requests = (
            {},
            {"period_kind": "month", "period_start": "2025-03-01", "location": location_a.pk},
            {"from": "2025-03-01", "to": "2025-03-31", "employee": staff.employee.pk, "passed": "yes"},
            {"team": staff.employee.team.pk, "source": "mystery_shop", "older": middle},
            {"team": staff.employee.team.pk, "newer": middle},
        )
        for number, params in enumerate(requests):
            with django_assert_max_num_queries(QUERY_BUDGET) as queries:
                assert client.get(URL, params).status_code == 200
            counts[size, number] = len(queries)
    assert [counts[3, number] for number in range(len(requests))] == [
        counts[80, number] for number in range(len(requests))
    ]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [observation.pk for observation in response.context["page"].rows]


def _link(response, label: str) -> str | None:
    """The href of the page link `label` ("Newest", "Newer", "Older"), as the page writes it."""
    found = re.search(rf'<a class="page-link"[^>]*href="([^"]+)">{label}</a>', response.content.decode())
    return found and found.group(1).replace("&amp;", "&")


@pytest.mark.django_db
def test_older_and_newer_pages_list_every_observation_once_newest_first_keeping_the_filters(
    client, manager, location_a, standard_for_bulk
):
    # given: 120 observations of one standard, some at the same instant, and others not listed
    at = local(date(2025, 3, 4), 10)
    Observation.objects.bulk_create(
        Observation(location=location_a, standard=standard_for_bulk, source=Source.OPERATIONAL,
                    observed_at=at + timedelta(minutes=index // 3), passed=index % 2 == 0)
        for index in range(120)
    )  # fmt: skip
    factories.ObservationFactory.create_batch(3, location=location_a, observed_at=at)
    expected = list(
        Observation.objects.filter(standard=standard_for_bulk)
        .order_by("-observed_at", "-pk")
        .values_list("pk", flat=True)
    )
    client.force_login(manager)
    filters = f"?location={location_a.pk}&standard={standard_for_bulk.pk}"

    # when: the manager reads the pages older and older, then goes back
    first = client.get(URL + filters)
    second = client.get(URL + _link(first, "Older"))
    third = client.get(URL + _link(second, "Older"))
    back = client.get(URL + _link(third, "Newer"))

    # then
    assert _ids(first) + _ids(second) + _ids(third) == expected
    assert [len(_ids(page)) for page in (first, second, third)] == [50, 50, 20]
    assert _link(first, "Newer") is None and _link(first, "Newest") is None
    assert _link(third, "Older") is None and _link(third, "Newest") == filters
    assert _ids(back) == _ids(second) and _link(back, "Newer") is not None
    assert _ids(client.get(URL + _link(back, "Newer"))) == _ids(first)
    assert f"standard={standard_for_bulk.pk}" in _link(second, "Older")
    assert _link(second, "Older") == f"{filters}&older={_ids(second)[-1]}"  # readable and stable
    assert third.context["counts"].observations == 120


@pytest.mark.django_db
def test_a_deep_page_reads_one_index_range_and_the_count_stops_at_its_limit(client, admin, location_a):
    factories.ObservationFactory.create_batch(60, location=location_a)
    client.force_login(admin)
    last_of_first = _ids(client.get(URL))[-1]
    with CaptureQueriesContext(connection) as captured:
        assert len(_ids(client.get(URL, {"older": last_of_first}))) == 10
    sql = [query["sql"].upper() for query in captured.captured_queries]
    assert not any("OFFSET" in query for query in sql)
    counts = [query for query in sql if "COUNT(" in query]
    assert len(counts) == 1 and f"LIMIT {COUNT_LIMIT + 1}" in counts[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [{"older": "abc"}, {"newer": "-1"}, {"older": ""}, {"older": "99999999"}, {"older": "1", "newer": "1"},
     {"older": "١٢"}, {"newer": "9" * 40}],
)  # fmt: skip
def test_a_page_cursor_that_names_no_page_is_a_404(client, admin, location_a, params):
    factories.ObservationFactory(location=location_a)
    client.force_login(admin)
    assert client.get(URL, params).status_code == 404


# --------------------------------------------------------------------------- who may see what


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_staff_cannot_open_the_page(client, staff):
    client.force_login(staff)
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["location", "team", "employee"])
def test_another_locations_objects_answer_404(client, other_manager, location_a, staff, name):
    objects = {"location": location_a, "team": staff.employee.team, "employee": staff.employee}
    client.force_login(other_manager)
    response = client.get(URL, {name: objects[name].pk})
    assert response.status_code == 404
    assert location_a.name not in response.content.decode()


@pytest.mark.django_db
def test_an_admin_sees_every_location(client, admin, location_a, location_b):
    standard = factories.StandardFactory()
    for location in (location_a, location_b):
        factories.ObservationFactory(
            location=location, standard=standard, observed_at=local(date(2025, 3, 4), 9)
        )
    client.force_login(admin)
    assert page_count(client, {}) == 2
    assert page_count(client, {"location": location_b.pk}) == 1


# --------------------------------------------------------------------------- one page per evaluation


@pytest.fixture
def evaluation_at_a(location_a, staff, manager):
    standard = factories.StandardFactory(
        code="STD-07", title="Thank the customer", non_negotiable=True, target_rate=100
    )
    evaluation = factories.EvaluationFactory(
        location=location_a, employee=staff.employee, evaluator=manager, score=Decimal("50"),
        passed=False, critical_failed=True, evaluated_at=local(date(2025, 3, 4), 10),
    )  # fmt: skip
    failed = factories.ObservationFactory(
        location=location_a, standard=standard, evaluation=evaluation, passed=False, critical=True,
        observed_at=evaluation.evaluated_at,
    )  # fmt: skip
    factories.DeviationFactory(observation=failed, standard=standard, location=location_a)
    factories.ObservationFactory(
        location=location_a, evaluation=evaluation, observed_at=evaluation.evaluated_at, passed=True
    )
    return evaluation


@pytest.mark.django_db
def test_the_dashboard_address_of_an_evaluation_leads_to_its_one_page(client, manager, evaluation_at_a):
    client.force_login(manager)
    response = client.get(reverse("measurement:evaluation-detail", args=[evaluation_at_a.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("evaluations:detail", args=[evaluation_at_a.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["measurement:evaluation-detail", "evaluations:detail"])
def test_another_locations_evaluation_answers_404_before_any_redirect(
    client, other_manager, evaluation_at_a, name
):
    client.force_login(other_manager)
    assert client.get(reverse(name, args=[evaluation_at_a.pk])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["measurement:evaluation-detail", "evaluations:detail"])
def test_staff_and_anonymous_visitors_cannot_open_an_evaluation(client, staff, evaluation_at_a, name):
    url = reverse(name, args=[evaluation_at_a.pk])
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(staff)
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_the_evaluation_page_shows_its_result_and_links_to_its_evidence(
    client, admin, manager, location_a, evaluation_at_a, django_assert_max_num_queries
):
    client.force_login(admin)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("evaluations:detail", args=[evaluation_at_a.pk]))
    body = response.content.decode()
    assert "Thank the customer</span> (STD-07)" in body
    assert "A critical item failed" in body and "Deviations" in body
    assert f'Evaluator</dt><dd class="col-sm-8">{manager.get_full_name() or manager.username}' in body
    assert 'Observations made</dt><dd class="col-sm-8">2' in body
    evidence = f"{URL}?period_kind=month&amp;period_start=2025-03-01&amp;location={location_a.pk}"
    assert evidence in body
    # The link opens the month's observations at the location: the two items.
    assert (
        page_count(client, {"period_kind": "month", "period_start": "2025-03-01", "location": location_a.pk})
        == 2
    )


@pytest.mark.django_db
def test_an_evaluator_without_a_manager_role_sees_no_links_to_the_dashboard(
    client, location_a, evaluation_at_a
):
    from django.contrib.auth.models import Permission

    evaluator = factories.EmployeeFactory(role=Role.STAFF, location=location_a).user
    evaluator.user_permissions.add(Permission.objects.get(codename="record_evaluation"))
    mine = factories.EvaluationFactory(location=location_a, evaluator=evaluator)
    client.force_login(evaluator)
    response = client.get(reverse("evaluations:detail", args=[mine.pk]))
    assert response.status_code == 200 and URL not in response.content.decode()


def test_long_lists_of_teams_and_people_offer_those_of_the_chosen_location(client, admin, location_a):
    from measurement.selectors.evidence import LONG_LIST
    from organization.models import Employee

    elsewhere = factories.LocationFactory(name="Elsewhere")
    factories.EmployeeFactory.create_batch(LONG_LIST, location=elsewhere)
    here = factories.EmployeeFactory(location=location_a)
    client.force_login(admin)
    page = reverse("measurement:observations")

    def offered(params):
        body = client.get(page, params).content.decode()
        select = body[body.index('name="employee"') :]
        return re.findall(r'<option value="(\d+)"', select[: select.index("</select>")]), body

    unfiltered, body = offered({})
    assert unfiltered == [] and "Those of the chosen location" in body
    at_a, _ = offered({"location": location_a.pk})
    assert set(at_a) == {
        str(pk) for pk in Employee.objects.filter(location=location_a).values_list("pk", flat=True)
    }
    # An employee chosen by a link is offered, selected, among their location's; and still listed.
    chosen, body = offered({"employee": here.pk})
    assert str(here.pk) in chosen and f'<option value="{here.pk}" selected>' in body
    assert client.get(page, {"employee": here.pk}).status_code == 200


def test_a_managers_list_holds_their_locations_their_teams_elsewhere_and_their_own_and_nothing_else(
    client, manager, location_a, location_b
):
    managed_elsewhere = factories.TeamFactory(location=location_b)
    managed_elsewhere.managers.add(manager)
    unmanaged = factories.TeamFactory(location=location_b)
    at_a = factories.ObservationFactory(location=location_a)
    by_their_team = factories.ObservationFactory(location=location_b, team=managed_elsewhere)
    their_own = factories.ObservationFactory(location=location_b, employee=manager.employee)
    factories.ObservationFactory(location=location_b, team=unmanaged)
    factories.ObservationFactory(location=location_b)
    client.force_login(manager)

    response = client.get(reverse("measurement:observations"))

    listed = {row.pk for row in response.context["page"].rows}
    assert listed == {at_a.pk, by_their_team.pk, their_own.pk}
    assert response.context["counts"].observations == 3
