from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from organization.models import Role
from tests import factories
from tests.concurrency import run_overlapping
from training.models import Assignment, Audience, Completion, CompletionStatus, DeliveryMethod
from training.selectors import (
    AWAITING,
    DUE_WARNING_DAYS,
    EXPIRY_WARNING_DAYS,
    TrainingStatus,
    status_totals,
    training_status,
    training_status_for,
)
from training.services import assignments_sync, completion_log, completion_reject, completion_verify
from training.tasks import sync_assignments

TODAY = date(2026, 6, 15)


@pytest.fixture
def course(db):
    return factories.CourseFactory(refresher_interval_days=365)


def test_a_requirement_for_everyone_assigns_every_active_employee(course):
    factories.RequirementFactory(course=course, due_within_days=30)
    employees = factories.EmployeeFactory.create_batch(3, hired_on=TODAY - timedelta(days=400))
    factories.EmployeeFactory(active=False)

    assert assignments_sync(today=TODAY) == {"created": 3, "reactivated": 0, "deactivated": 0}

    assignments = Assignment.objects.filter(course=course)
    assert {a.employee_id for a in assignments} == {e.pk for e in employees}
    assert {(a.assigned_on, a.due_on) for a in assignments} == {(TODAY, TODAY + timedelta(days=30))}


def test_a_new_starters_deadline_runs_from_their_hire_date(course):
    factories.RequirementFactory(course=course, due_within_days=30)
    starter = factories.EmployeeFactory(hired_on=TODAY - timedelta(days=10))
    assignments_sync(today=TODAY)
    assignment = Assignment.objects.get(employee=starter)
    assert assignment.assigned_on == TODAY - timedelta(days=10)
    assert assignment.due_on == TODAY + timedelta(days=20)


def test_requirements_by_role_team_and_location_reach_only_their_audience(db):
    manager = factories.EmployeeFactory(role=Role.MANAGER)
    staff = factories.EmployeeFactory()
    for_managers = factories.RequirementFactory(audience=Audience.ROLE, role=Role.MANAGER)
    for_team = factories.RequirementFactory(audience=Audience.TEAM, team=staff.team)
    for_location = factories.RequirementFactory(audience=Audience.LOCATION, location=manager.location)

    assignments_sync(today=TODAY)

    pairs = set(Assignment.objects.values_list("employee_id", "course_id"))
    assert pairs == {
        (manager.pk, for_managers.course_id),
        (staff.pk, for_team.course_id),
        (manager.pk, for_location.course_id),
    }


def test_the_shortest_deadline_wins_when_two_requirements_ask_for_one_course(course):
    employee = factories.EmployeeFactory(hired_on=TODAY - timedelta(days=400))
    factories.RequirementFactory(course=course, due_within_days=60)
    factories.RequirementFactory(course=course, audience=Audience.TEAM, team=employee.team, due_within_days=7)
    assignments_sync(today=TODAY)
    assert Assignment.objects.get(employee=employee).due_on == TODAY + timedelta(days=7)


def test_sync_is_idempotent_and_switches_off_what_is_no_longer_required(course):
    requirement = factories.RequirementFactory(course=course)
    factories.EmployeeFactory.create_batch(2)
    assignments_sync(today=TODAY)
    assert assignments_sync(today=TODAY) == {"created": 0, "reactivated": 0, "deactivated": 0}

    requirement.delete()
    assert assignments_sync(today=TODAY) == {"created": 0, "reactivated": 0, "deactivated": 2}
    assert Assignment.objects.filter(active=True).count() == 0

    factories.RequirementFactory(course=course, due_within_days=5)
    later = TODAY + timedelta(days=40)
    assert assignments_sync(today=later) == {"created": 0, "reactivated": 2, "deactivated": 0}
    assert set(Assignment.objects.values_list("assigned_on", "due_on")) == {
        (later, later + timedelta(days=5))
    }


def test_the_periodic_task_runs_the_sync(course, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    factories.RequirementFactory(course=course)
    factories.EmployeeFactory()
    result = sync_assignments.delay().get()
    assert result["created"] == 1
    assert Assignment.objects.count() == 1


@pytest.mark.parametrize(
    ("due_in_days", "verified_days_ago", "expires_in_days", "expected"),
    [
        (30, None, None, TrainingStatus.NOT_STARTED),
        (10, None, None, TrainingStatus.DUE),
        (-1, None, None, TrainingStatus.OVERDUE),
        (-1, 100, None, TrainingStatus.CURRENT),
        (-1, 100, 200, TrainingStatus.CURRENT),
        (-1, 340, 25, TrainingStatus.EXPIRING_SOON),
        (-1, 340, 0, TrainingStatus.EXPIRING_SOON),
        (-1, 400, -1, TrainingStatus.EXPIRED),
    ],
)
def test_training_status(due_in_days, verified_days_ago, expires_in_days, expected):
    status = training_status(
        due_on=TODAY + timedelta(days=due_in_days),
        verified_on=None if verified_days_ago is None else TODAY - timedelta(days=verified_days_ago),
        expires_on=None if expires_in_days is None else TODAY + timedelta(days=expires_in_days),
        today=TODAY,
    )
    assert status == expected


def test_status_uses_the_latest_verified_completion_and_flags_pending_ones(
    course, django_assert_max_num_queries
):
    employee = factories.EmployeeFactory()
    factories.AssignmentFactory(
        employee=employee,
        course=course,
        assigned_on=TODAY - timedelta(days=31),
        due_on=TODAY - timedelta(days=1),
    )
    factories.CompletionFactory(
        employee=employee,
        course=course,
        completed_on=TODAY - timedelta(days=500),
        status=CompletionStatus.VERIFIED,
    )
    factories.CompletionFactory(
        employee=employee,
        course=course,
        completed_on=TODAY - timedelta(days=20),
        status=CompletionStatus.VERIFIED,
    )
    factories.CompletionFactory(employee=employee, course=course, completed_on=TODAY - timedelta(days=2))

    with django_assert_max_num_queries(1):
        [row] = training_status_for(Assignment.objects.filter(employee=employee), today=TODAY)

    assert row.status == TrainingStatus.CURRENT
    assert row.verified_on == TODAY - timedelta(days=20)
    assert row.expires_on == TODAY - timedelta(days=20) + timedelta(days=365)
    assert row.awaiting_verification


def test_a_logged_completion_gets_its_expiry_from_the_course_and_waits_for_review(course):
    employee = factories.EmployeeFactory()
    completion = completion_log(employee=employee, course=course, completed_on=date.today(), score=85)
    assert completion.status == CompletionStatus.LOGGED
    assert completion.expires_on == date.today() + timedelta(days=365)
    # No method said: the course's own.
    assert completion.method == course.delivery_method


def test_a_completion_keeps_the_method_the_employee_names(course):
    completion = completion_log(
        employee=factories.EmployeeFactory(),
        course=course,
        completed_on=date.today(),
        method=DeliveryMethod.ON_THE_JOB,
        score=85,
    )
    assert completion.method == DeliveryMethod.ON_THE_JOB != course.delivery_method


def test_a_score_below_the_pass_mark_is_refused_with_the_reason(course):
    with pytest.raises(ValidationError) as exc:
        completion_log(
            employee=factories.EmployeeFactory(), course=course, completed_on=date.today(), score=50
        )
    assert exc.value.message_dict == {"score": ["A score of 50% is below the pass mark of 80%."]}
    assert not Completion.objects.exists()


def test_a_manager_verifies_or_rejects_once(course, manager, staff):
    completion = factories.CompletionFactory(employee=staff.employee, course=course)
    completion_verify(completion=completion, reviewer=manager)
    completion.refresh_from_db()
    assert completion.status == CompletionStatus.VERIFIED and completion.reviewed_by == manager
    with pytest.raises(ValidationError, match="already verified"):
        completion_reject(completion=completion, reviewer=manager, reason="Too late")


def test_a_rejection_needs_a_reason(course, manager, staff):
    completion = factories.CompletionFactory(employee=staff.employee, course=course)
    with pytest.raises(ValidationError) as exc:
        completion_reject(completion=completion, reviewer=manager, reason="  ")
    assert "rejection_reason" in exc.value.message_dict
    completion.refresh_from_db()
    assert completion.status == CompletionStatus.LOGGED


def test_nobody_verifies_their_own_training(course, manager):
    completion = factories.CompletionFactory(employee=manager.employee, course=course)
    with pytest.raises(ValidationError, match="your own training"):
        completion_verify(completion=completion, reviewer=manager)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_syncs_both_finish_and_assign_each_course_once():
    course = factories.CourseFactory(refresher_interval_days=365)
    factories.RequirementFactory(course=course, due_within_days=30)
    factories.EmployeeFactory.create_batch(3, hired_on=TODAY - timedelta(days=400))
    results, errors = run_overlapping(lambda: assignments_sync(today=TODAY))

    assert errors == []
    assert results["first"] == {"created": 3, "reactivated": 0, "deactivated": 0}
    assert results["second"] == {"created": 0, "reactivated": 0, "deactivated": 0}
    assert Assignment.objects.filter(course=course).count() == 3


def _status_row(*, due_in_days, verified_days_ago=None, refresher_days=365, pending_days_ago=None):
    """The status of one assignment, as the pages and emails word it, on TODAY."""
    course = factories.CourseFactory(refresher_interval_days=refresher_days)
    employee = factories.EmployeeFactory()
    factories.AssignmentFactory(
        employee=employee,
        course=course,
        assigned_on=TODAY - timedelta(days=500),
        due_on=TODAY + timedelta(days=due_in_days),
    )
    if verified_days_ago is not None:
        factories.CompletionFactory(
            employee=employee,
            course=course,
            completed_on=TODAY - timedelta(days=verified_days_ago),
            status=CompletionStatus.VERIFIED,
        )
    if pending_days_ago is not None:
        factories.CompletionFactory(
            employee=employee, course=course, completed_on=TODAY - timedelta(days=pending_days_ago)
        )
    [row] = training_status_for(Assignment.objects.filter(employee=employee), today=TODAY)
    return row


@pytest.mark.parametrize(
    ("kwargs", "summary", "when"),
    [
        # Verified 20 days ago, refreshed yearly: current, and the date is when to renew, not a deadline.
        (
            {"due_in_days": -10, "verified_days_ago": 20},
            "Current · renew by 26 May 2027",
            "renew by 26 May 2027",
        ),
        (
            {"due_in_days": -10, "verified_days_ago": 20, "refresher_days": None},
            "Current · no renewal needed",
            "",
        ),
        (
            {"due_in_days": -300, "verified_days_ago": 350},
            "Expiring soon · renew by 30 Jun 2026 (in 15 days)",
            "renew by 30 Jun 2026",
        ),
        (
            {"due_in_days": -400, "verified_days_ago": 400},
            "Expired · expired 11 May 2026 (35 days ago): renew now",
            "expired 11 May 2026",
        ),
        (
            {"due_in_days": -3},
            "Overdue · never done, was due 12 Jun 2026 (3 days ago)",
            "was due 12 Jun 2026",
        ),
        (
            {"due_in_days": 5},
            "Due soon · never done, complete by 20 Jun 2026 (in 5 days)",
            "due 20 Jun 2026",
        ),
        ({"due_in_days": 1}, "Due soon · never done, complete by 16 Jun 2026 (tomorrow)", "due 16 Jun 2026"),
        ({"due_in_days": 0}, "Due soon · never done, complete by 15 Jun 2026 (today)", "due 15 Jun 2026"),
        ({"due_in_days": 60}, "Not started · never done, complete by 14 Aug 2026", "due 14 Aug 2026"),
    ],
)
def test_each_status_is_said_in_plain_words_with_its_date(db, kwargs, summary, when):
    row = _status_row(**kwargs)
    assert row.summary == summary
    assert row.when == when
    assert row.pending_detail == ""


def test_a_logged_completion_is_said_to_wait_for_verification(db):
    row = _status_row(due_in_days=-2, pending_days_ago=1)
    assert row.status == TrainingStatus.OVERDUE and row.awaiting_verification
    assert row.pending_detail == "logged 14 Jun 2026, awaiting verification"


def test_the_legend_says_the_windows_the_statuses_use():
    meanings = TrainingStatus.MEANINGS
    assert f"within {DUE_WARNING_DAYS} days" in meanings[TrainingStatus.DUE]
    assert f"within {EXPIRY_WARNING_DAYS} days" in meanings[TrainingStatus.EXPIRING_SOON]
    assert set(meanings) == set(TrainingStatus.LABELS) == set(TrainingStatus.ORDER)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, "nothing required"),
        ({TrainingStatus.CURRENT: 3}, "3 of 3 current"),
        (
            {TrainingStatus.CURRENT: 12, TrainingStatus.OVERDUE: 1, TrainingStatus.DUE: 1, AWAITING: 2},
            "12 of 14 current · 1 overdue · 1 due soon · 2 to verify",
        ),
        ({TrainingStatus.CURRENT: 1200, TrainingStatus.EXPIRED: 34}, "1,200 of 1,234 current · 34 expired"),
        (
            {TrainingStatus.NOT_STARTED: 2, TrainingStatus.EXPIRING_SOON: 1},
            "0 of 3 current · 1 expiring soon · 2 not started",
        ),
    ],
)
def test_totals_count_current_first_then_each_other_status(counts, expected):
    assert status_totals(counts) == expected
