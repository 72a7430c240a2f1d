"""Warnings before a case's SLA deadline and escalation after it: once each, to the team's managers
and then the location's, whatever number of runs and however they overlap."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings

from cases.models import CaseEvent, CaseOrigin, CaseStatus, EventKind, Severity, SlaPolicy
from cases.services.core import case_open, case_transition
from cases.services.escalation import cases_escalate
from cases.tasks import escalate_cases
from organization.models import OpeningHours
from tests import factories
from tests.concurrency import run_overlapping

LONDON = ZoneInfo("Europe/London")
# Monday 15 June 2026, 12:00 UTC (13:00 BST).
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def london_time(settings):
    settings.TIME_ZONE = "Europe/London"


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the job as a worker does: its emails leave once its transaction has committed."""

    def run_job(now=NOW):
        with django_capture_on_commit_callbacks(execute=True):
            return cases_escalate(now=now)

    return run_job


@pytest.fixture
def sla_policy(db):
    # Acknowledge within 4 hours, resolve within 2 days, warn 2 hours before each deadline.
    policy = SlaPolicy(
        name="Normal",
        severity=Severity.NORMAL,
        acknowledge_within_hours=4,
        resolve_within_days=2,
        warn_before_hours=2,
    )
    policy.full_clean()
    policy.save()
    return policy


@pytest.fixture
def team(location_a):
    team = factories.TeamFactory(location=location_a, name="Front desk")
    team.managers.add(factories.UserFactory(username="team_lead", first_name="Tess", last_name="Lead"))
    return team


def team_lead():
    return factories.UserFactory(username="team_lead")


def opened(location, *, hours_ago: float, staff=None, team=None, title="Waited 40 minutes", **fields):
    """A case opened `hours_ago` before NOW (the location of the fixtures is open round the clock)."""
    return case_open(
        location=location,
        title=title,
        origin=CaseOrigin.PHONE,
        opened_at=NOW - timedelta(hours=hours_ago),
        owner=staff.employee if staff else None,
        team=team,
        **fields,
    )


def events(case, kind):
    return list(CaseEvent.objects.filter(case=case, kind=kind).values_list("key", "text", "recipient"))


# --------------------------------------------------------------------------- warnings


def test_the_owner_is_warned_once_before_the_acknowledgement_deadline(
    sla_policy, location_a, staff, manager, team, run, mailoutbox
):
    # Opened 3 h ago: acknowledgement due in 1 h, inside the 2 h warning; resolution due in 45 h.
    case = opened(location_a, hours_ago=3, staff=staff, team=team)

    first = run()

    assert (first.warned, first.escalated, first.emails) == (1, 0, 1)
    [(key, text, recipient)] = events(case, EventKind.WARNED)
    assert key == "warned:acknowledge"
    assert text == f"Acknowledgement due 15 Jun 2026 14:00: warned {staff.employee.full_name} (owner)."
    assert [m.to for m in mailoutbox] == [[staff.email]]
    case.refresh_from_db()
    assert case.escalation_level == 0

    second = run(NOW + timedelta(minutes=30))

    assert (second.warned, second.escalated, second.emails) == (0, 0, 0)
    assert len(events(case, EventKind.WARNED)) == 1 and len(mailoutbox) == 1


def test_no_warning_before_the_window_and_none_once_acknowledged(
    sla_policy, location_a, staff, run, mailoutbox
):
    early = opened(location_a, hours_ago=1, staff=staff, title="Early")  # due in 3 h: not yet
    acknowledged = opened(location_a, hours_ago=3, staff=staff, title="Answered")
    case_transition(case=acknowledged, to=CaseStatus.ACKNOWLEDGED, user=staff)

    result = run()

    assert result.warned == 0 and mailoutbox == []
    assert not CaseEvent.objects.filter(kind=EventKind.WARNED).exists()
    assert early.pk


def test_the_resolve_deadline_is_warned_while_the_case_is_open(
    sla_policy, location_a, staff, run, mailoutbox
):
    # Opened 47 h ago and acknowledged: resolution (48 h round the clock) due in 1 h.
    case = opened(location_a, hours_ago=47, staff=staff)
    case_transition(case=case, to=CaseStatus.IN_PROGRESS, user=staff)

    result = run()

    # The acknowledgement deadline no longer runs once the case has left new.

    assert (result.warned, result.escalated) == (1, 0)
    assert [key for key, _, _ in events(case, EventKind.WARNED)] == ["warned:resolve"]


def test_the_warning_counts_opening_hours_not_the_weekend(sla_policy, location_a, staff, run, mailoutbox):
    # Monday to Friday 09:00–17:00. Opened Friday 12 June 15:00 BST: acknowledgement due after 4
    # opening hours, Monday 15 June 11:00 BST; the warning comes 2 opening hours before, at Monday
    # 09:00, not 2 elapsed hours before (Monday 09:00 is also when the owner is back at work).
    for weekday in range(5):
        OpeningHours.objects.create(
            location=location_a, weekday=weekday, opens_at=time(9), closes_at=time(17)
        )
    case = case_open(
        location=location_a,
        title="Parcel lost",
        origin=CaseOrigin.PHONE,
        opened_at=datetime(2026, 6, 12, 15, tzinfo=LONDON),
        owner=staff.employee,
    )
    assert case.acknowledge_due_at == datetime(2026, 6, 15, 11, tzinfo=LONDON)

    # Friday 17:30: only 2 opening hours remain, but nobody is there until Monday.
    assert run(datetime(2026, 6, 12, 17, 30, tzinfo=LONDON)).warned == 0
    assert run(datetime(2026, 6, 15, 8, 59, tzinfo=LONDON)).warned == 0
    assert run(datetime(2026, 6, 15, 9, 0, tzinfo=LONDON)).warned == 1
    assert len(mailoutbox) == 1


# --------------------------------------------------------------------------- escalation


def test_a_breach_is_escalated_once_to_the_teams_managers(
    sla_policy, location_a, staff, manager, team, run, mailoutbox
):
    # Opened 5 h ago: acknowledgement was due 1 h ago. A breach needs no warning any more.
    case = opened(location_a, hours_ago=5, staff=staff, team=team)

    first = run()

    assert (first.warned, first.escalated, first.emails) == (0, 1, 1)
    [(key, text, recipient)] = events(case, EventKind.ESCALATED)
    assert key == "escalated:acknowledge"
    assert (
        text
        == "Acknowledgement deadline 15 Jun 2026 12:00 passed; escalated to the team's managers: Tess Lead."
    )
    assert recipient == "Tess Lead"
    case.refresh_from_db()
    assert case.escalation_level == 1
    assert [m.to for m in mailoutbox] == [[team_lead().email]]

    for later in (NOW + timedelta(minutes=5), NOW + timedelta(hours=1)):
        assert run(later).escalated == 0
    assert len(events(case, EventKind.ESCALATED)) == 1 and len(mailoutbox) == 1


def test_the_next_breach_goes_to_the_locations_managers(
    sla_policy, location_a, staff, manager, team, run, mailoutbox
):
    case = opened(location_a, hours_ago=5, staff=staff, team=team)
    run()  # acknowledgement breach → the team's managers
    case_transition(case=case, to=CaseStatus.IN_PROGRESS, user=staff)

    # Resolution was due 48 h after opening: 43 h from NOW.
    resolved_due = run(NOW + timedelta(hours=43, minutes=1))

    assert resolved_due.escalated == 1
    case.refresh_from_db()
    assert case.escalation_level == 2
    assert [key for key, _, _ in events(case, EventKind.ESCALATED)] == [
        "escalated:acknowledge",
        "escalated:resolve",
    ]
    assert mailoutbox[-1].to == [manager.email]
    # Opened 15 June 07:00 UTC + 48 h = 17 June 07:00 UTC, 08:00 BST.
    assert "Resolution was due 17 Jun 2026 08:00" in mailoutbox[-1].body


def test_a_level_with_nobody_is_skipped(sla_policy, location_a, staff, manager, run, mailoutbox):
    # A team without managers: the acknowledgement breach goes straight to the location's managers.
    empty_team = factories.TeamFactory(location=location_a, name="Night shift")
    case = opened(location_a, hours_ago=5, staff=staff, team=empty_team)

    run()

    case.refresh_from_db()
    assert case.escalation_level == 2
    [(_, text, _)] = events(case, EventKind.ESCALATED)
    assert f"escalated to the location's managers: {manager.get_full_name()}." in text
    assert [m.to for m in mailoutbox] == [[manager.email]]

    # No level is left above: the resolution breach goes to the location's managers again.
    run(NOW + timedelta(hours=44))
    case.refresh_from_db()
    assert case.escalation_level == 2
    assert len(events(case, EventKind.ESCALATED)) == 2 and len(mailoutbox) == 2


def test_a_breach_with_nobody_to_tell_is_still_recorded_once(sla_policy, location_b, run, mailoutbox):
    # Location B has no manager in this test, the case no team and no owner.
    case = opened(location_b, hours_ago=5)
    assert case.owner is None

    assert run().escalated == 1
    assert run(NOW + timedelta(minutes=5)).escalated == 0

    [(_, text, recipient)] = events(case, EventKind.ESCALATED)
    assert text.endswith("passed; no team or location manager to escalate to.") and recipient == ""
    case.refresh_from_db()
    assert case.escalation_level == 0 and mailoutbox == []


def test_a_case_without_an_active_owner_warns_the_locations_managers(
    sla_policy, location_a, staff, manager, run, mailoutbox
):
    case = opened(location_a, hours_ago=3, staff=staff)
    staff.is_active = False
    staff.save()

    run()

    [(_, text, recipient)] = events(case, EventKind.WARNED)
    assert recipient == manager.get_full_name()
    assert [m.to for m in mailoutbox] == [[manager.email]]


def test_one_email_per_person_lists_all_their_cases(
    sla_policy, location_a, staff, manager, team, run, mailoutbox
):
    # Two breaches for the team lead and two warnings for the owner: each gets one email.
    breached_1 = opened(location_a, hours_ago=5, staff=staff, team=team, title="Cold soup")
    breached_2 = opened(location_a, hours_ago=6, staff=staff, team=team, title="Wrong change")
    opened(location_a, hours_ago=3, staff=staff, title="Lost card")
    opened(location_a, hours_ago=2.5, staff=staff, title="No receipt")

    result = run()

    assert (result.escalated, result.warned, result.emails) == (2, 2, 2)
    by_recipient = {m.to[0]: m for m in mailoutbox}
    lead = by_recipient[team_lead().email]
    assert lead.subject == "ServiceDesk: 2 case deadlines passed"
    # The soonest deadline first.
    assert lead.body.index(breached_2.reference) < lead.body.index(breached_1.reference)
    assert f"- {breached_2.reference} Wrong change (normal, {location_a})" in lead.body
    assert f"Acknowledgement was due 15 Jun 2026 11:00; owner: {staff.employee.full_name}" in lead.body
    assert "These cases have passed a deadline and are escalated to you" in lead.body
    owner = by_recipient[staff.email]
    assert owner.subject == "ServiceDesk: 2 case deadlines coming"
    assert (
        "These cases are due soon" in owner.body and "Lost card" in owner.body and "No receipt" in owner.body
    )
    assert "Acknowledgement due 15 Jun 2026 14:00" in owner.body


def test_an_email_with_both_kinds_names_both(sla_policy, location_a, staff, manager, run, mailoutbox):
    # The manager owns one case coming due and is the location's manager for another that breached.
    opened(location_a, hours_ago=3, title="Mine")  # default owner: the location's manager
    opened(location_a, hours_ago=5, staff=staff, title="Escalated")

    run()

    [email] = [m for m in mailoutbox if m.to == [manager.email]]
    assert email.subject == "ServiceDesk: 1 case deadline passed, 1 case deadline coming"
    assert email.body.index("Escalated") < email.body.index("Mine")


def test_a_run_is_bounded_and_takes_the_soonest_deadlines_first(
    settings, sla_policy, location_a, staff, manager, run
):
    settings.CASES_ESCALATION_BATCH = 2
    newest = opened(location_a, hours_ago=5, staff=staff)
    oldest = opened(location_a, hours_ago=7, staff=staff)
    middle = opened(location_a, hours_ago=6, staff=staff)

    first = run()

    assert (first.cases, first.escalated) == (2, 2)
    escalated = set(CaseEvent.objects.filter(kind=EventKind.ESCALATED).values_list("case_id", flat=True))
    assert escalated == {oldest.pk, middle.pk}
    # The newest case's acknowledgement (due 1 h ago) comes before the others' resolution warnings.
    second = run(NOW + timedelta(minutes=5))
    assert second.escalated == 1
    assert CaseEvent.objects.filter(kind=EventKind.ESCALATED, case=newest).exists()
    assert run(NOW + timedelta(minutes=10)).escalated == 0


def test_a_runs_queries_grow_with_its_cases_only(
    sla_policy, location_a, location_b, staff, manager, other_manager, team, django_assert_max_num_queries
):
    for extra in range(4):
        team.managers.add(factories.UserFactory(username=f"lead_{extra}"))
    other_team = factories.TeamFactory(location=location_b)
    other_team.managers.add(factories.UserFactory(username="lead_b"))
    for hours_ago in (5, 6, 3):
        opened(location_a, hours_ago=hours_ago, staff=staff, team=team)
    for hours_ago in (7, 2.5):
        opened(location_b, hours_ago=hours_ago, team=other_team)

    # Fixed: the lock, the cases, team and location managers, their users, the opening hours, the
    # notices (lock, lookup, insert). Per case: its savepoint, the event's checks and insert, the
    # escalation level: none per manager, location or email.
    with django_assert_max_num_queries(12 + 5 * 12):
        result = cases_escalate(now=NOW)
    # Five team leads at A, one at B, the owner at A and the default owner at B.
    assert (result.escalated, result.warned, result.emails) == (3, 2, 8)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_warn_and_escalate_once(mailoutbox):
    location = factories.LocationFactory(code="OVR-01")
    manager = factories.EmployeeFactory(location=location, role="manager").user
    manager.employee.managed_locations.add(location)
    owner = factories.EmployeeFactory(location=location)
    policy = SlaPolicy(
        name="Normal",
        severity=Severity.NORMAL,
        acknowledge_within_hours=4,
        resolve_within_days=2,
        warn_before_hours=2,
    )
    policy.full_clean()
    policy.save()
    breached = opened(location, hours_ago=5, staff=owner.user)
    coming = opened(location, hours_ago=3, staff=owner.user)

    results, errors = run_overlapping(lambda: cases_escalate(now=NOW))

    assert errors == []
    assert (results["first"].escalated, results["first"].warned) == (1, 1)
    assert (results["second"].escalated, results["second"].warned, results["second"].emails) == (0, 0, 0)
    assert CaseEvent.objects.filter(case=breached, kind=EventKind.ESCALATED).count() == 1
    assert CaseEvent.objects.filter(case=coming, kind=EventKind.WARNED).count() == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted([manager.email, owner.user.email])


# --------------------------------------------------------------------------- the task


def test_the_task_runs_the_service_and_is_scheduled_to_expire(sla_policy, location_a, staff, manager):
    opened(location_a, hours_ago=5, staff=staff)
    assert escalate_cases.acks_late
    # On the real clock both deadlines of a case opened in June 2026 have passed.
    assert escalate_cases.delay().get()["escalated"] == 2

    entry = django_settings.CELERY_BEAT_SCHEDULE["cases-escalate"]
    assert entry["task"] == "cases.tasks.escalate_cases"
    assert entry["schedule"] == django_settings.CASES_ESCALATION_INTERVAL
    assert 0 < entry["options"]["expires"] < entry["schedule"].total_seconds()
