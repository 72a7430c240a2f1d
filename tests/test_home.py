import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from measurement.selectors.common import dashboard_today
from measurement.selectors.rolling import RollingPeriod
from measurement.services.rollup import scorecards_rollup
from servicedesk.selectors import program_figures
from tests import factories
from training.models import Assignment, CompletionStatus


@pytest.fixture
def home_url():
    return reverse("home")


def test_anonymous_is_sent_to_login(client, home_url):
    response = client.get(home_url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in to ServiceDesk" in response.content


def test_staff_lands_on_their_own_page(client, staff, home_url):
    standard = factories.StandardFactory(title="Greet every customer")
    factories.AssignmentFactory(
        employee=staff.employee, course=factories.CourseFactory(title="Welcome course")
    )
    client.force_login(staff)
    response = client.get(home_url)
    assert response.status_code == 200
    body = response.content.decode()
    assert standard.title in body
    assert "Welcome course" in body
    assert "Program health" not in body


def test_staff_home_says_when_to_renew_a_current_course_and_no_due_date_beside_it(client, staff, home_url):
    today = timezone.localdate()
    course = factories.CourseFactory(title="Till safety", refresher_interval_days=365)
    # Due weeks ago and done since: current, so the date that matters is the renewal.
    factories.AssignmentFactory(
        employee=staff.employee,
        course=course,
        assigned_on=today - timedelta(days=60),
        due_on=today - timedelta(days=30),
    )
    completion = factories.CompletionFactory(
        employee=staff.employee,
        course=course,
        status=CompletionStatus.VERIFIED,
        completed_on=today - timedelta(days=40),
    )
    client.force_login(staff)
    body = client.get(home_url).content.decode()
    training = body[body.index('id="training-heading"') :]
    assert "Current" in training
    assert f"renew by {completion.expires_on.day} {completion.expires_on:%b %Y}" in training
    assert "Due" not in training


def test_staff_who_acknowledged_sees_they_are_up_to_date(client, staff, home_url):
    standard = factories.StandardFactory()
    factories.AcknowledgementFactory(employee=staff.employee, standard=standard)
    client.force_login(staff)
    assert "You are up to date" in client.get(home_url).content.decode()


def test_manager_sees_program_figures_of_their_scope_only(client, manager, location_a, location_b, home_url):
    factories.ObservationFactory(location=location_a, passed=True)
    factories.ObservationFactory(location=location_a, passed=False)
    factories.ObservationFactory.create_batch(5, location=location_b)
    scorecards_rollup(full=True)  # the figures are read from the day scorecards
    client.force_login(manager)
    response = client.get(home_url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Program health" in body
    assert "50% passed (n = 2)" in body
    assert location_a.name in body and location_b.name not in body


def test_admin_sees_the_whole_organisation(client, admin, location_a, location_b, home_url):
    factories.ObservationFactory(location=location_a)
    factories.ObservationFactory(location=location_b)
    scorecards_rollup(full=True)
    client.force_login(admin)
    body = client.get(home_url).content.decode()
    assert "100% passed (n = 2)" in body
    assert reverse("admin:index") in body


def test_user_without_profile_is_told_what_to_do(db, client, home_url):
    client.force_login(factories.UserFactory())
    response = client.get(home_url)
    assert response.status_code == 403
    assert b"no employee profile" in response.content


def test_home_query_count_does_not_grow_with_data(
    client, manager, location_a, home_url, django_assert_max_num_queries
):
    factories.ObservationFactory.create_batch(30, location=location_a)
    # Customer cases too: the attention list counts them per location in one query, which the
    # cases card reuses; and planned audits, counted per location and once for the program.
    factories.CaseFactory.create_batch(5, location=location_a)
    from tests.audit_factories import OccurrenceFactory, ScheduleFactory

    OccurrenceFactory(schedule=ScheduleFactory(location=location_a))
    client.force_login(manager)
    with django_assert_max_num_queries(24):
        assert client.get(home_url).status_code == 200


# --------------------------------------------------------------------------- program health figures


def _figures(user):
    period = RollingPeriod.ending(dashboard_today())
    return {figure.step: figure for figure in program_figures(user, period=period)}


def _details(figure):
    return [detail.text for detail in figure.details]


def test_training_counts_employees_current_on_every_required_course(manager, location_a, location_b):
    today = date.today()
    course = factories.CourseFactory(refresher_interval_days=365)
    current, overdue, expired, not_yet_due = factories.EmployeeFactory.create_batch(4, location=location_a)
    for employee in (current, overdue, expired, not_yet_due):
        factories.AssignmentFactory(employee=employee, course=course, due_on=today - timedelta(days=5))
    Assignment.objects.filter(employee=not_yet_due).update(due_on=today + timedelta(days=5))
    factories.CompletionFactory(employee=current, course=course, status=CompletionStatus.VERIFIED)
    factories.CompletionFactory(
        employee=expired,
        course=course,
        status=CompletionStatus.VERIFIED,
        completed_on=today - timedelta(days=400),
        expires_on=today - timedelta(days=35),
    )
    # Logged, not verified: still overdue, and waiting in the verification queue.
    factories.CompletionFactory(employee=overdue, course=course)
    # Another location's lagging employee is outside the manager's figures.
    factories.AssignmentFactory(
        employee=factories.EmployeeFactory(location=location_b), due_on=today - timedelta(days=5)
    )

    training = _figures(manager)["Training"]
    # The four above plus the manager, who has no assignment: 3 of 5 are current.
    assert training.value == "3 of 5"
    assert "1 completion awaiting verification" in _details(training)


def test_acknowledgements_count_the_version_in_force_of_standards_for_the_employees_team(manager, location_a):
    team = factories.TeamFactory(location=location_a)
    other_team = factories.TeamFactory(location=location_a)
    everyone = factories.StandardFactory()
    for_team = factories.StandardFactory()
    for_team.teams.add(team)
    for_other_team = factories.StandardFactory()
    for_other_team.teams.add(other_team)
    accepted_all = factories.EmployeeFactory(location=location_a, team=team)
    factories.AcknowledgementFactory(employee=accepted_all, standard=everyone)
    factories.AcknowledgementFactory(employee=accepted_all, standard=for_team)
    missing_team_one = factories.EmployeeFactory(location=location_a, team=team)
    factories.AcknowledgementFactory(employee=missing_team_one, standard=everyone)
    old_version = factories.EmployeeFactory(location=location_a, team=other_team)
    factories.AcknowledgementFactory(employee=old_version, standard=everyone)
    factories.AcknowledgementFactory(employee=old_version, standard=for_other_team)
    type(for_other_team).objects.filter(pk=for_other_team.pk).update(version=for_other_team.version + 1)

    training = _figures(manager)["Training"]
    # Only the first: the second misses their team's standard, the third accepted an old version,
    # the manager accepted nothing.
    assert "1 of 4 current on acknowledgements" in _details(training)


def test_measurement_counts_the_standards_observed_this_month_in_scope(manager, location_a, location_b):
    measured, unmeasured_here = factories.StandardFactory.create_batch(2)
    factories.ObservationFactory(location=location_a, standard=measured, passed=True)
    factories.ObservationFactory(location=location_b, standard=unmeasured_here)
    scorecards_rollup(full=True)

    measurement = _figures(manager)["Measurement"]
    assert measurement.value == "1 of 2"
    assert _details(measurement) == ["100% passed (n = 1)"]


def test_measurement_tells_the_planned_audits_on_time_rate_and_what_was_missed(
    client, manager, location_a, location_b
):
    from tests.audit_factories import OccurrenceFactory, ScheduleFactory

    now = timezone.now()
    here, there = ScheduleFactory(location=location_a), ScheduleFactory(location=location_b)
    for day, status in enumerate(["done", "done", "done", "late", "missed"], start=1):
        due = now - timedelta(days=day)
        OccurrenceFactory(
            schedule=here,
            scheduled_for=due.date(),
            opens_at=due - timedelta(days=1),
            due_at=due,
            closes_at=due,
            status=status,
            completed_at=due if status in ("done", "late") else None,
        )
    OccurrenceFactory(
        schedule=there,
        opens_at=now - timedelta(days=2),
        due_at=now - timedelta(days=1),
        closes_at=now - timedelta(days=1),
        status="missed",
    )

    measurement = _figures(manager)["Measurement"]

    # 3 done on time of 5 closed (3 done, 1 late, 1 missed) = 60%; the other location's not counted
    assert _details(measurement)[-2:] == [
        "Planned audits: 60% on time (n = 5), last 6 months",
        "1 audit missed, 0 overdue",
    ]
    assert measurement.details[-1].warn
    client.force_login(manager)
    assert client.get(measurement.details[-1].url).status_code == 200


def test_gap_and_consequence_cards_show_what_is_overdue(manager, location_a, location_b):
    yesterday = date.today() - timedelta(days=1)
    factories.ActionItemFactory(rating__assessment__location=location_a, due_on=yesterday)
    factories.ActionItemFactory(rating__assessment__location=location_a)
    factories.ActionItemFactory(rating__assessment__location=location_b, due_on=yesterday)
    factories.ConsequenceFactory(location=location_a, due_on=yesterday)
    factories.ConsequenceFactory(location=location_b, due_on=yesterday)
    factories.DeviationFactory(observation__location=location_a)

    figures = _figures(manager)
    assert _details(figures["Gap analysis"]) == ["2 open actions", "0 in progress", "1 overdue"]
    assert figures["Consequences"].value == "1"
    assert _details(figures["Consequences"]) == [
        "1 to approve",
        "1 overdue",
        "1 open deviation of non-negotiable standards, 1 without a corrective action",
    ]
    assert figures["Gap analysis"].details[2].warn


def test_every_card_links_to_a_page_the_manager_may_open(client, manager, location_a):
    client.force_login(manager)
    for figure in _figures(manager).values():
        links = [figure.url, figure.page_url, *(detail.url for detail in figure.details)]
        for url in filter(None, links):
            assert client.get(url).status_code == 200, f"{figure.step}: {url}"


def test_the_admin_cards_link_to_administration(admin):
    figures = _figures(admin)
    assert figures["Touchpoints"].url == reverse("admin:touchpoints_touchpoint_changelist")
    assert figures["Standards"].url == reverse("admin:standards_standard_changelist")


def test_the_pass_rate_opens_exactly_its_observations_over_the_rolling_period(
    manager, location_a, location_b
):
    from urllib.parse import parse_qs, urlsplit

    from measurement.selectors.common import parse_date
    from measurement.selectors.evidence import ObservationFilter, observations_behind

    period = RollingPeriod.ending(dashboard_today())
    factories.ObservationFactory(location=location_a, passed=True)
    factories.ObservationFactory(location=location_a, passed=False)
    wrong = factories.ObservationFactory(location=location_a, passed=False)
    factories.ObservationFactory(location=location_a, passed=True, supersedes=wrong)  # a correction
    factories.ObservationFactory(location=location_a, observed_at=timezone.now() - timedelta(days=45))
    factories.ObservationFactory(location=location_b)
    scorecards_rollup(full=True)

    detail = _figures(manager)["Measurement"].details[0]

    # Counted from the day scorecards, as the rollup counts: the correction replaces the wrong row.
    assert detail.text == "67% passed (n = 3)"
    params = {key: values[0] for key, values in parse_qs(urlsplit(detail.url).query).items()}
    # The evidence lies at one location: the link names it.
    assert params == {
        "from": period.start.isoformat(),
        "to": period.last.isoformat(),
        "location": str(location_a.pk),
    }
    listed = observations_behind(
        manager,
        ObservationFilter(
            date_from=parse_date(params["from"]), date_to=parse_date(params["to"]), location=location_a
        ),
    )
    assert listed.count() == 3


def test_an_admins_pass_rate_is_the_organisations_over_the_rolling_period(admin, location_a, location_b):
    standard = factories.StandardFactory()
    factories.ObservationFactory.create_batch(3, location=location_a, standard=standard, passed=True)
    factories.ObservationFactory(location=location_b, standard=standard, passed=False)
    factories.ObservationFactory(location=location_b, observed_at=timezone.now() - timedelta(days=45))
    scorecards_rollup(full=True)

    measurement = _figures(admin)["Measurement"]

    assert measurement.value.startswith("1 of ")
    assert _details(measurement)[0] == "75% passed (n = 4)"
    # Evidence at several locations: the link lists the organisation's over the same days.
    assert "location=" not in measurement.details[0].url


def test_the_home_names_the_ten_locations_most_in_need_and_links_to_the_whole_ranking(client, admin):
    today = timezone.localdate()
    for i in range(13):
        location = factories.LocationFactory(code=f"N-{i:02d}", name=f"Needy {i:02d}")
        # An overdue gap action: a reason to act at every location.
        factories.ActionItemFactory(rating__assessment__location=location, due_on=today - timedelta(days=1))
    client.force_login(admin)

    response = client.get(reverse("home"))

    body = response.content.decode()
    board = response.context["board"]
    assert len(board.needs_attention) == 13
    listed = body[body.index('id="attention-list"') : body.index('id="went-well"')]
    assert listed.count('class="list-group-item attention-subject"') == 10
    assert [subject.name for subject in board.needs_attention_shown] == [
        subject.name for subject in board.needs_attention[:10]
    ]
    assert "3 more locations need attention" in listed
    assert f'href="{reverse("attention")}?view=location"' in listed


def test_a_managers_touchpoint_figure_counts_what_the_heatmap_lists(manager, location_a, location_b):
    from gap_analysis.selectors import heatmap_touchpoints

    here = factories.TouchpointFactory()
    here.locations.add(location_a)
    elsewhere = factories.TouchpointFactory()
    elsewhere.locations.add(location_b)

    touchpoints = _figures(manager)["Touchpoints"]

    assert touchpoints.value == str(heatmap_touchpoints(manager).count())
    assert touchpoints.url == reverse("gap_analysis:heatmap")
    assert "your locations" in touchpoints.caption


# --------------------------------------------------------------------------- customer cases


def _case(location, *, new=True, past_due=False):
    now = timezone.now()
    return factories.CaseFactory(
        location=location,
        opened_at=now - timedelta(hours=3),
        status="new" if new else "in_progress",
        acknowledged_at=None if new else now - timedelta(hours=2),
        acknowledge_due_at=now - timedelta(hours=1) if past_due and new else now + timedelta(hours=1),
        resolve_due_at=now - timedelta(minutes=5) if past_due and not new else now + timedelta(days=2),
    )


def test_the_cases_card_counts_open_breached_and_new_cases_of_the_managers_locations(
    client, manager, location_a, location_b, home_url
):
    from servicedesk.selectors import cases_overview

    _case(location_a, new=True, past_due=True)  # breached: not acknowledged in time
    _case(location_a, new=False, past_due=True)  # breached: not resolved in time
    _case(location_a, new=True)  # new, within its deadline
    _case(location_b, new=True, past_due=True)  # another manager's
    factories.CaseFactory(
        location=location_a, status="closed", resolution_summary="Done", resolved_at=timezone.now()
    )

    card = cases_overview(manager)

    assert (card.value, card.caption) == ("3", "open customer cases at your locations")
    assert [detail.text for detail in card.details] == [
        "2 breached their SLA",
        "2 new, not acknowledged",
        "Alpha Street: 2 of 3 open cases breached",
    ]
    assert card.details[0].url == "/cases/?tab=locations&breached=1"
    assert card.details[2].url == "/cases/?tab=locations&location=AAA-01&breached=1"
    assert card.url == "/cases/?tab=locations" and card.page == reverse("cases:measures")
    client.force_login(manager)
    body = client.get(home_url).content.decode()
    assert "Customer cases" in body and "2 breached their SLA" in body
    assert 'href="/cases/?tab=locations&amp;location=AAA-01&amp;breached=1"' in body


def test_an_admins_cases_card_covers_every_location(admin, location_a, location_b):
    from servicedesk.selectors import cases_overview

    _case(location_a, new=True, past_due=True)
    _case(location_b, new=True, past_due=True)
    card = cases_overview(admin)
    assert (card.value, card.caption) == ("2", "open customer cases")
    assert card.details[0].url == "/cases/?tab=all&breached=1"
    assert [d.text for d in card.details[2:]] == [
        "Alpha Street: 1 of 1 open case breached",
        "Beta Road: 1 of 1 open case breached",
    ]


def test_the_navigation_names_ten_qr_sheets_and_sends_to_the_league_for_the_others(client, admin):
    for i in range(12):
        factories.LocationFactory(code=f"QR-{i:02d}", name=f"Sheet {i:02d}")
    client.force_login(admin)

    body = client.get(reverse("home")).content.decode()

    menu = body[body.index('class="dropdown-menu nav-qr-sheets"') :]
    menu = menu[: menu.index("</ul>")]
    assert menu.count('href="/feedback/') == 10
    # By name: the first ten active locations.
    from organization.models import Location

    first = Location.objects.filter(active=True).order_by("name", "code")[:10]
    assert [f"/feedback/{location.code}/qr/" for location in first] == re.findall(
        r'href="(/feedback/[^"]+)"', menu
    )
    assert f'href="{reverse("measurement:consistency")}#league-heading"' in menu
