"""The manager's "needs attention" ranking: each reason from data, linked to its evidence, in a
fixed number of queries; too little evidence is never called weak or strong."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consequences.models import Action, ConsequenceStatus, Polarity
from measurement.models import Observation, Source
from measurement.selectors.common import dashboard_today
from measurement.services.rollup import scorecards_rollup
from servicedesk.attention import EMPLOYEE, LOCATION, SERIOUS, TEAM, attention_board, last_complete_weeks
from tests import factories


def observe(location, *, passed, failed, standard, at=None, team=None, employee=None):
    """`passed` + `failed` observations at `location`, by default yesterday at noon."""
    at = at or timezone.make_aware(datetime.combine(dashboard_today() - timedelta(days=1), time(12)))
    rows = [
        Observation(
            standard=standard,
            location=location,
            team=team,
            employee=employee,
            source=Source.MYSTERY_SHOP,
            observed_at=at,
            passed=i < passed,
        )
        for i in range(passed + failed)
    ]
    Observation.objects.bulk_create(rows)


def board(user, kind=LOCATION, **filters):
    return attention_board(user, kind=kind, today=dashboard_today(), **filters)


def subject_of(result, pk):
    return next(subject for subject in result.subjects if subject.pk == pk)


def texts(items):
    return [item.text for item in items]


@pytest.fixture
def standard(db):
    return factories.StandardFactory(target_rate=80)


@pytest.fixture
def acknowledged(standard):
    """Every employee created so far has accepted `standard`, so it gives no reason by itself."""

    def acknowledge():
        from organization.models import Employee

        for employee in Employee.objects.all():
            factories.AcknowledgementFactory(employee=employee, standard=standard)

    return acknowledge


# --------------------------------------------------------------------------- pass rate


def test_a_location_far_below_the_others_is_below_the_funnel_limit_and_ranked_first(
    admin, location_a, location_b, standard
):
    observe(location_a, passed=30, failed=30, standard=standard)
    observe(location_b, passed=190, failed=10, standard=standard)
    scorecards_rollup(full=True)

    result = board(admin)

    assert [subject.pk for subject in result.subjects][:1] == [location_a.pk]
    worst = subject_of(result, location_a.pk)
    assert any("below the 99.8% funnel limit" in text for text in texts(worst.reasons))
    assert any("Below its 80% target" in text for text in texts(worst.reasons))
    assert worst.reasons[0].severity == SERIOUS
    # The link opens the observations of that location over the same rolling period.
    assert f"location={location_a.pk}" in worst.reasons[0].url
    assert f"from={result.period.start.isoformat()}" in worst.reasons[0].url
    assert f"to={result.period.last.isoformat()}" in worst.reasons[0].url
    best = subject_of(result, location_b.pk)
    assert any("Above its 80% target" in text for text in texts(best.successes))


def test_two_observations_at_100_percent_are_too_little_evidence_never_a_success(
    admin, location_a, location_b, standard
):
    observe(location_a, passed=2, failed=0, standard=standard)
    observe(location_b, passed=20, failed=20, standard=standard)
    scorecards_rollup(full=True)

    thin = subject_of(board(admin), location_a.pk)

    assert thin.successes == []
    assert not any("passed" in text for text in texts(thin.reasons))
    assert thin.evidence_words.startswith("too little evidence: 100% passed (n = 2)")


def test_a_location_with_no_evidence_says_so(admin, location_a):
    assert subject_of(board(admin), location_a.pk).evidence_words == "no observations in the period"


# --------------------------------------------------------------------------- weekly trend


def _weekly(location, standard, rates):
    for start, (passed, n) in zip(last_complete_weeks(dashboard_today()), rates, strict=True):
        at = timezone.make_aware(datetime.combine(start + timedelta(days=2), time(12)))
        observe(location, passed=passed, failed=n - passed, standard=standard, at=at)


def test_a_fall_in_the_last_complete_week_is_a_trend_signal_linked_to_that_week(admin, location_a, standard):
    _weekly(location_a, standard, [(18, 20)] * 11 + [(6, 20)])
    scorecards_rollup(full=True)

    subject = subject_of(board(admin), location_a.pk)

    signal = next(reason for reason in subject.reasons if reason.text.startswith("Trend signal"))
    last_week = last_complete_weeks(dashboard_today())[-1]
    assert "30% passed (n = 20)" in signal.text and "beyond 3σ" in signal.text
    assert f"period_kind=week&period_start={last_week.isoformat()}&location={location_a.pk}" in signal.url
    assert "pass rate by week: 90%" in subject.trend_words and subject.trend_words.endswith("30%")


def test_a_rise_in_the_last_complete_week_went_well(admin, location_a, standard):
    _weekly(location_a, standard, [(12, 20)] * 11 + [(20, 20)])
    scorecards_rollup(full=True)

    subject = subject_of(board(admin), location_a.pk)

    assert any(text.startswith("Improving trend") for text in texts(subject.successes))
    assert not any(text.startswith("Trend signal") for text in texts(subject.reasons))


# --------------------------------------------------------------------------- other reasons


def test_open_deviations_without_a_corrective_action_are_serious(admin, location_a, location_b):
    factories.DeviationFactory(observation__location=location_a)
    answered = factories.DeviationFactory(observation__location=location_b)
    factories.ConsequenceFactory(location=location_b, deviation=answered, action=Action.CORRECTIVE_ACTION)

    result = board(admin)

    reason = subject_of(result, location_a.pk).reasons[0]
    assert reason.text.startswith("1 open deviation of non-negotiable standards without a corrective action")
    assert reason.severity == SERIOUS
    assert reason.url == reverse("consequences:inbox") + f"?location={location_a.pk}"
    assert not any("deviation" in text for text in texts(subject_of(result, location_b.pk).reasons))


def test_overdue_gap_actions_name_each_action(admin, location_a):
    yesterday = dashboard_today() - timedelta(days=1)
    late = factories.ActionItemFactory(rating__assessment__location=location_a, due_on=yesterday)
    factories.ActionItemFactory(rating__assessment__location=location_a)  # not due yet

    reasons = subject_of(board(admin), location_a.pk).reasons

    reason = next(reason for reason in reasons if "overdue gap action" in reason.text)
    assert reason.text == "1 overdue gap action"
    assert reason.url == reverse("gap_analysis:action-detail", args=[late.pk])
    assert late.title in reason.links[0].text


def test_employees_behind_on_training_and_acknowledgements_are_counted(manager, location_a):
    today = dashboard_today()
    factories.StandardFactory()  # applies to everyone; nobody accepted it
    behind = factories.EmployeeFactory(location=location_a)
    factories.AssignmentFactory(employee=behind, due_on=today - timedelta(days=3))

    reasons = texts(subject_of(board(manager), location_a.pk).reasons)

    # The manager works at Alpha Street too: two employees.
    assert "1 of 2 employees not current on required training" in reasons
    assert "2 of 2 employees yet to acknowledge the standards in force" in reasons
    people = board(manager, kind=EMPLOYEE, location=location_a)
    assert texts(subject_of(people, behind.pk).reasons)[:2] == [
        "Required training not current",
        "Standards in force not acknowledged",
    ]


def test_consequences_waiting_for_approval_and_recognitions_due(admin, location_a):
    factories.ConsequenceFactory(location=location_a)  # proposed coaching
    factories.ConsequenceFactory(
        location=location_a,
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
        status=ConsequenceStatus.APPROVED,
    )
    factories.ConsequenceFactory(
        location=location_a,
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
        status=ConsequenceStatus.DELIVERED,
    )

    subject = subject_of(board(admin), location_a.pk)

    waiting = next(reason for reason in subject.reasons if "waiting for approval" in reason.text)
    assert waiting.text == "1 consequence waiting for approval"
    assert waiting.url == reverse("consequences:inbox") + f"?location={location_a.pk}&status=proposed"
    assert texts(subject.successes) == ["1 recognition due"]
    assert (
        subject.successes[0]
        .links[0]
        .url.endswith(f"?location={location_a.pk}&status=approved&action=recognition")
    )


def _breached_case(location, **fields):
    now = timezone.now()
    return factories.CaseFactory(
        location=location,
        opened_at=now - timedelta(hours=3),
        acknowledge_due_at=now - timedelta(hours=1),
        **fields,
    )


def test_open_cases_past_their_sla_and_new_ones_are_reasons_linked_to_the_queue(
    client, manager, location_a, location_b
):
    from cases.selectors import QueueFilters, queue_cases

    now = timezone.now()
    _breached_case(location_a)  # new and past its acknowledgement deadline
    _breached_case(
        location_a,
        status="in_progress",
        acknowledged_at=now - timedelta(hours=2),
        resolve_due_at=now - timedelta(minutes=1),
    )
    factories.CaseFactory(location=location_a, acknowledge_due_at=now + timedelta(hours=1))  # new, in time
    _breached_case(location_b)  # another manager's location

    reasons = {reason.text: reason for reason in subject_of(board(manager), location_a.pk).reasons}

    breached = reasons["2 open cases breached their SLA"]
    assert breached.severity == SERIOUS
    assert breached.url == "/cases/?tab=locations&location=AAA-01&breached=1"
    new = reasons["2 new cases not acknowledged"]
    assert new.url == "/cases/?tab=locations&location=AAA-01&status=new"
    # The queue behind the link lists exactly the cases counted.
    listed = queue_cases(
        manager, filters=QueueFilters(tab="locations", location_id=location_a.pk, breached=True)
    )
    assert listed.count() == 2
    client.force_login(manager)
    body = client.get(breached.url).content.decode()
    assert body.count("case-card--breached") == 2


def _planned_audit(location, *, due, status):
    from tests.audit_factories import OccurrenceFactory, ScheduleFactory

    return OccurrenceFactory(
        schedule=ScheduleFactory(location=location),
        opens_at=due - timedelta(days=2),
        due_at=due,
        closes_at=due + timedelta(days=1) if status == "open" else due,
        status=status,
    )


def test_missed_and_overdue_audits_are_reasons_linked_to_the_locations_programme(
    client, manager, location_a, location_b
):
    from servicedesk.attention import WARNING

    now = timezone.now()
    _planned_audit(location_a, due=now - timedelta(days=10), status="missed")
    _planned_audit(location_a, due=now - timedelta(days=40), status="missed")
    _planned_audit(location_a, due=now - timedelta(days=120), status="missed")  # too long ago
    _planned_audit(location_a, due=now - timedelta(hours=3), status="open")  # due, not done yet
    _planned_audit(location_a, due=now + timedelta(days=2), status="open")  # not due yet
    _planned_audit(location_b, due=now - timedelta(days=10), status="missed")  # another manager's

    reasons = {reason.text: reason for reason in subject_of(board(manager), location_a.pk).reasons}

    missed = reasons["2 planned audits missed in the last 90 days"]
    assert missed.severity == WARNING
    assert missed.url == f"/audits/programme/?location={location_a.pk}"
    assert reasons["1 audit overdue"].url == missed.url
    client.force_login(manager)
    assert client.get(missed.url).status_code == 200


def test_a_breached_case_ranks_its_location_first(admin, location_a, location_b):
    factories.ConsequenceFactory(location=location_a)  # a notice
    _breached_case(location_b)  # serious

    assert [subject.pk for subject in board(admin).subjects][:1] == [location_b.pk]


def test_serious_reasons_rank_above_notices(admin, location_a, location_b):
    factories.ConsequenceFactory(location=location_b)  # a notice
    factories.DeviationFactory(observation__location=location_a)  # serious

    assert [subject.pk for subject in board(admin).subjects] == [location_a.pk, location_b.pk]


def test_nothing_to_act_on_leaves_the_list_empty(client, manager, location_a, standard, acknowledged):
    acknowledged()
    client.force_login(manager)
    body = client.get(reverse("home")).content.decode()
    assert "Nothing needs your attention" in body
    assert board(manager).needs_attention == []


# --------------------------------------------------------------------------- pages and scope


def test_the_home_ranks_only_the_managers_locations(client, manager, location_a, location_b):
    factories.DeviationFactory(observation__location=location_b)
    factories.ConsequenceFactory(location=location_a)
    client.force_login(manager)
    body = client.get(reverse("home")).content.decode()
    assert "Needs attention" in body and location_a.name in body
    assert location_b.name not in body
    assert [subject.pk for subject in board(manager).subjects] == [location_a.pk]


def test_a_manager_without_locations_is_told_so(client, location_a):
    from organization.models import Role

    lonely = factories.EmployeeFactory(role=Role.MANAGER, location=location_a)
    client.force_login(lonely.user)
    assert "No locations in your scope" in client.get(reverse("home")).content.decode()


def test_teams_and_people_are_a_click_away(client, manager, location_a, location_b):
    team = factories.TeamFactory(location=location_a, name="Tills")
    factories.TeamFactory(location=location_b, name="Elsewhere")
    factories.ConsequenceFactory(location=location_a, team=team, subject_kind="team")
    client.force_login(manager)

    teams = client.get(reverse("attention"), {"view": TEAM}).content.decode()
    people = client.get(reverse("attention"), {"view": EMPLOYEE}).content.decode()

    assert "Tills" in teams and "1 consequence waiting for approval" in teams
    assert "Elsewhere" not in teams
    assert "Needs attention: people" in people


@pytest.mark.parametrize("param", ["location", "team"])
def test_another_locations_teams_and_people_answer_404(client, manager, location_b, param):
    other = location_b if param == "location" else factories.TeamFactory(location=location_b)
    client.force_login(manager)
    for view in (TEAM, EMPLOYEE):
        assert client.get(reverse("attention"), {"view": view, param: other.pk}).status_code == 404


@pytest.mark.parametrize("raw", ["abc", "-1", "9" * 30, "\x00", "²", "3.0"])
def test_a_malformed_filter_answers_404_not_500(client, manager, raw):
    client.force_login(manager)
    assert client.get(reverse("attention"), {"view": TEAM, "location": raw}).status_code == 404


def test_staff_and_anonymous_cannot_open_the_ranking(client, staff):
    assert client.get(reverse("attention")).status_code == 302
    client.force_login(staff)
    assert client.get(reverse("attention")).status_code == 403


def test_a_long_list_of_people_is_paginated(client, manager, location_a):
    factories.EmployeeFactory.create_batch(30, location=location_a)
    client.force_login(manager)
    first = client.get(reverse("attention"), {"view": EMPLOYEE}).content.decode()
    second = client.get(reverse("attention"), {"view": EMPLOYEE, "page": 2})
    assert "Page 1 of 2" in first
    assert second.status_code == 200 and "Page 2 of 2" in second.content.decode()


def test_each_location_has_a_sparkline_with_its_text(client, admin, location_a, standard):
    _weekly(location_a, standard, [(18, 20)] * 11 + [(6, 20)])
    scorecards_rollup(full=True)
    client.force_login(admin)
    body = client.get(reverse("home")).content.decode()
    assert '<svg class="sparkline"' in body
    assert 'aria-label="pass rate by week: 90%, 90%' in body


# --------------------------------------------------------------------------- query budget


def _location_with_everything(standard, admin_user):
    location = factories.LocationFactory()
    admin_user.employee.managed_locations.add(location)
    team = factories.TeamFactory(location=location)
    person = factories.EmployeeFactory(location=location, team=team)
    observe(location, passed=15, failed=10, standard=standard, team=team, employee=person)
    factories.DeviationFactory(observation__location=location)
    factories.ActionItemFactory(
        rating__assessment__location=location, due_on=date.today() - timedelta(days=2)
    )
    factories.ConsequenceFactory(location=location)
    factories.AssignmentFactory(employee=person, due_on=date.today() - timedelta(days=2))
    _breached_case(location)
    factories.CaseFactory(location=location)
    _planned_audit(location, due=timezone.now() - timedelta(days=3), status="missed")
    return location


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url, params or {}).status_code == 200
    return len(context.captured_queries)


# One more than the program's reads: the customer cases per location (shared by the list and the card);
# the planned audits add one to the list (per location) and one to the program's measurement card.
HOME_QUERIES = 24


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_the_home_costs_the_same_queries_with_two_and_eight_locations(
    request, client, standard, role, django_assert_max_num_queries
):
    user = request.getfixturevalue(role)
    for _ in range(2):
        _location_with_everything(standard, user)
    scorecards_rollup(full=True)
    client.force_login(user)
    counts = {}
    for view in (None, TEAM, EMPLOYEE):
        url, params = (reverse("home"), None) if view is None else (reverse("attention"), {"view": view})
        counts[view] = _queries(client, url, params)
    for _ in range(6):
        _location_with_everything(standard, user)
    scorecards_rollup(full=True)
    for view, before in counts.items():
        url, params = (reverse("home"), None) if view is None else (reverse("attention"), {"view": view})
        assert _queries(client, url, params) == before, view
    with django_assert_max_num_queries(HOME_QUERIES):
        client.get(reverse("home"))
    assert len(board(user).subjects) >= 8


def test_a_week_without_observations_breaks_the_sparkline_instead_of_drawing_zero(
    admin, location_a, standard
):
    from servicedesk.templatetags.attention import sparkline

    rates = [(18, 20)] * 5 + [(0, 0)] + [(15, 20)] * 6
    weeks = last_complete_weeks(dashboard_today())
    for start, (passed, n) in zip(weeks, rates, strict=True):
        if n:
            at = timezone.make_aware(datetime.combine(start + timedelta(days=2), time(12)))
            observe(location_a, passed=passed, failed=n - passed, standard=standard, at=at)
    scorecards_rollup(full=True)

    subject = subject_of(board(admin), location_a.pk)
    svg = sparkline(subject)

    assert svg.count("<polyline") == 2
    assert "90%, 90%, 90%, 90%, 90%, no observations, 75%" in subject.trend_words


def test_the_home_counts_back_from_the_dashboards_day(client, admin, location_a, monkeypatch):
    from measurement.selectors import common

    monkeypatch.setattr(common, "dashboard_today", lambda: date(2026, 3, 2))
    client.force_login(admin)
    body = client.get(reverse("home")).content.decode()
    assert "last 30 days, 1 Feb – 2 Mar 2026" in body
    assert "12 complete weeks, 8 Dec 2025 – 1 Mar 2026" in body
