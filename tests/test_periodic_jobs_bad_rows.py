"""No stored row stops a periodic job: rows written past the services' checks (older data, a
direct SQL write, a configuration value at the edge of its column) are left out with a logged
reason, and the job still does its work for everything else.

Each test writes the bad row with SQL or `update()` (no model validation) next to a good one.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseOrigin, EventKind, Severity, SlaPolicy
from cases.services.core import case_open
from cases.services.escalation import cases_escalate
from consequences.models import Action, Condition, Consequence, Rule, SubjectKind
from consequences.services import consequences_overdue_notify, rules_evaluate
from measurement.models import Deviation
from organization.tasks import prune_expired_sessions
from standards.notifications import acknowledgement_reminders_send
from tests import factories
from training.models import Assignment, Completion, Requirement
from training.notifications import training_reminders_send
from training.services import assignments_sync

YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
# PositiveIntegerField's largest value: the admin form accepts it, a date cannot go that far.
HUGE_DAYS = 2_147_483_647


@pytest.fixture
def employee(location_a, manager):
    return factories.EmployeeFactory(location=location_a)


def deviation_of(employee, **extra) -> Deviation:
    return factories.DeviationFactory(
        observation__location=employee.location,
        observation__employee=employee,
        employee=employee,
        team=employee.team,
        **extra,
    )


# --------------------------------------------------------------------------- consequence rules


def deviation_rule(**extra) -> Rule:
    return factories.RuleFactory(
        subject_kind=SubjectKind.EMPLOYEE,
        condition=Condition.DEVIATION,
        action=Action.CORRECTIVE_ACTION,
        due_within_days=7,
        **extra,
    )


def test_a_deviation_dated_in_the_year_1_is_left_out_and_the_others_are_answered(employee, caplog):
    good = deviation_of(employee)
    bad = deviation_of(employee)
    Deviation.objects.filter(pk=bad.pk).update(detected_at=YEAR_1)
    deviation_rule()

    with caplog.at_level(logging.WARNING, logger="consequences.services"):
        result = rules_evaluate()

    assert result["created"] == 1
    assert Consequence.objects.get().deviation_id == good.pk
    assert any("1 deviation" in r.getMessage() and "left out" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "bad_columns",
    [
        {"due_within_days": HUGE_DAYS},
        {"condition": Condition.REPEATED_SHORTFALL, "period_kind": "quarter", "consecutive_periods": 32767},
        {
            "condition": Condition.SUSTAINED_PERFORMANCE,
            "action": Action.RECOGNITION,
            "period_kind": "month",
            "consecutive_periods": 32767,
        },
    ],
    ids=["due-within-days-beyond-any-date", "quarters-back-beyond-year-1", "months-back-beyond-year-1"],
)
def test_a_rule_whose_dates_cannot_be_computed_is_skipped_and_the_others_run(employee, bad_columns, caplog):
    # Sorted first by name, so that it would stop every rule after it.
    bad = deviation_rule(name="A broken rule")
    Rule.objects.filter(pk=bad.pk).update(**bad_columns)
    deviation_rule(name="B working rule")
    deviation = deviation_of(employee)

    with caplog.at_level(logging.ERROR, logger="consequences.services"):
        result = rules_evaluate()

    assert result["created"] == 1
    assert Consequence.objects.get().deviation_id == deviation.pk
    assert result["skipped"] == ["A broken rule"]
    assert any("A broken rule" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_overdue_notices_go_out_whatever_the_due_dates_stored(employee, manager):
    long_overdue = factories.ConsequenceFactory(location=employee.location, owner=manager)
    Consequence.objects.filter(pk=long_overdue.pk).update(due_on=date(1, 1, 1))
    factories.ConsequenceFactory(
        location=employee.location, owner=manager, due_on=date.today() - timedelta(days=1)
    )

    result = consequences_overdue_notify()

    assert (result["emails"], result["items"]) == (1, 2)


# --------------------------------------------------------------------------- training


def test_a_requirement_or_hire_date_beyond_any_date_does_not_stop_the_assignment_sync(location_a, caplog):
    good_employee = factories.EmployeeFactory(location=location_a)
    late_starter = factories.EmployeeFactory(location=location_a)
    type(late_starter).objects.filter(pk=late_starter.pk).update(hired_on=date(9999, 12, 31))
    good = factories.RequirementFactory(audience="everyone", due_within_days=30)
    huge = factories.RequirementFactory(audience="everyone")
    Requirement.objects.filter(pk=huge.pk).update(due_within_days=HUGE_DAYS)

    with caplog.at_level(logging.WARNING, logger="training.services"):
        result = assignments_sync()

    # Only the pairs whose deadline can be written down are assigned: the good course to the good employee.
    assigned = set(Assignment.objects.values_list("employee_id", "course_id"))
    assert assigned == {(good_employee.pk, good.course_id)}
    assert result["created"] == 1
    assert any(
        "3 training assignments" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )
    assert assignments_sync() == {"created": 0, "reactivated": 0, "deactivated": 0}


def test_training_reminders_go_out_whatever_the_dates_stored(location_a):
    employee = factories.EmployeeFactory(location=location_a)
    course, far = factories.CourseFactory(), factories.CourseFactory()
    overdue = factories.AssignmentFactory(employee=employee, course=course)
    Assignment.objects.filter(pk=overdue.pk).update(assigned_on=date(1, 1, 1), due_on=date(1, 1, 2))
    expiring = factories.AssignmentFactory(employee=employee, course=far)
    completion = factories.CompletionFactory(employee=employee, course=far, status="verified")
    Completion.objects.filter(pk=completion.pk).update(
        completed_on=date(9999, 12, 30), expires_on=date(9999, 12, 31), reviewed_at=timezone.now()
    )
    assert expiring.pk

    result = training_reminders_send()

    assert result["emails"] == 1


# --------------------------------------------------------------------------- standards, sessions


def test_acknowledgement_reminders_go_out_whatever_the_dates_stored(location_a):
    employee = factories.EmployeeFactory(location=location_a)
    standard = factories.StandardFactory(status="active")
    type(standard).objects.filter(pk=standard.pk).update(effective_from=date(9999, 12, 31))
    factories.StandardFactory(status="active")
    assert employee.pk

    result = acknowledgement_reminders_send()

    assert result["emails"] == 1


def test_sessions_at_either_end_of_time_are_pruned_or_kept_and_the_job_completes(db):
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=YEAR_1)
    Session.objects.create(
        session_key="b" * 32, session_data="", expire_date=datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    )

    assert prune_expired_sessions() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]


# --------------------------------------------------------------------------- case escalation


def test_cases_with_dates_or_limits_past_the_calendar_do_not_stop_the_escalation(location_a, manager, caplog):
    general = SlaPolicy.objects.create(
        name="Normal", severity=Severity.NORMAL, acknowledge_within_hours=4, resolve_within_days=2
    )
    odd = SlaPolicy.objects.create(
        name="Odd", severity=Severity.HIGH, acknowledge_within_hours=4, resolve_within_days=2
    )
    now = timezone.now()

    def case(severity, **columns):
        made = case_open(
            location=location_a, title="Late", origin=CaseOrigin.PHONE, severity=severity, opened_at=now
        )
        Case.objects.filter(pk=made.pk).update(**columns)
        return made

    # Sorted first (soonest deadline): an acknowledgement due in the year 1, and a warning limit
    # past any date, written past the validators; then a good case breached an hour ago.
    year_1 = case(Severity.NORMAL, acknowledge_due_at=YEAR_1, resolve_due_at=YEAR_1)
    beyond = case(Severity.HIGH, acknowledge_due_at=now + timedelta(hours=1))
    SlaPolicy.objects.filter(pk=odd.pk).update(warn_before_hours=HUGE_DAYS)
    far = case(Severity.NORMAL, acknowledge_due_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    good = case(Severity.NORMAL, acknowledge_due_at=now - timedelta(hours=1))

    with caplog.at_level(logging.ERROR, logger="cases.services.escalation"):
        result = cases_escalate(now=now)

    escalated = set(CaseEvent.objects.filter(kind=EventKind.ESCALATED).values_list("case_id", "key"))
    assert (good.pk, "escalated:acknowledge") in escalated
    assert {(year_1.pk, "escalated:acknowledge"), (year_1.pk, "escalated:resolve")} <= escalated
    assert result.skipped == [beyond.pk]
    assert any(f"Case {beyond.pk} left out" in r.getMessage() for r in caplog.records)
    assert not CaseEvent.objects.filter(case=far, kind__in=[EventKind.WARNED, EventKind.ESCALATED]).exists()
    assert general.pk


def test_no_stored_audit_schedule_stops_the_audit_planner(location_a):
    """Whatever a schedule's columns hold (written past the model's checks), the planner plans the
    good schedule beside it and moves on: every kind of stored value, drawn by Hypothesis."""
    from datetime import time

    from django.db import DataError, IntegrityError, transaction
    from hypothesis import HealthCheck, given, reject
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    from audits.models import Occurrence, Schedule
    from audits.services.planning import audits_plan_and_notify
    from tests.audit_factories import AuditTemplateFactory, ScheduleFactory
    from tests.test_api_properties import isolated

    template = AuditTemplateFactory()
    good = ScheduleFactory(template=template, location=location_a, frequency="daily")
    columns = st.fixed_dictionaries(
        {},
        optional={
            "frequency": st.one_of(
                st.sampled_from(["daily", "weekly", "monthly", "quarterly", "custom"]), st.text(max_size=10)
            ),
            "weekdays": st.one_of(st.sampled_from(["MO,WE", "SU", "XX", ",,"]), st.text(max_size=30)),
            "day_of_month": st.integers(min_value=0, max_value=32767),
            "rule": st.one_of(
                st.sampled_from(
                    ["FREQ=DAILY", "FREQ=SECONDLY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "COUNT=0"]
                ),
                st.text(max_size=60),
            ),
            "starts_on": st.dates(),
            "ends_on": st.one_of(st.none(), st.dates()),
            "opens_at": st.times(),
            "due_time": st.sampled_from([time(0), time(23, 59, 59), time(1, 30)]),
            "due_after_days": st.integers(min_value=0, max_value=32767),
            "late_allowed_days": st.integers(min_value=0, max_value=32767),
        },
    )

    @hypothesis_settings(
        max_examples=120,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(values=columns)
    def run(values):
        with isolated():
            bad = ScheduleFactory(template=template, location=location_a)
            try:
                with transaction.atomic():
                    Schedule.objects.filter(pk=bad.pk).update(**values)
            except (IntegrityError, DataError, ValueError):
                reject()  # the database refuses it (a constraint, NUL in text): such a row cannot be stored
            audits_plan_and_notify()  # plans, advances, reminds and alerts: none of it may raise
            assert Occurrence.objects.filter(schedule=good).exists()

    run()
