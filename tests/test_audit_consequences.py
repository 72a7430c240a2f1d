"""The consequence rule on planned audits: "N planned audits missed in a period" → coaching or a
corrective action for the location, once per rule, location and period, naming the audits; judged
on every evaluation and as soon as the audit planner marks one missed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from audits.models import OccurrenceStatus
from audits.services.planning import audits_plan_and_notify
from consequences.models import Action, Condition, Consequence, Rule, SubjectKind
from consequences.services import rules_evaluate
from measurement.models import PeriodKind
from tests.audit_factories import AuditTemplateFactory, OccurrenceFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)  # Q4 2026 runs; Q3 is the one before


def missed_rule(**fields) -> Rule:
    values = {
        "name": "Corrective action after two missed audits in a quarter",
        "subject_kind": SubjectKind.LOCATION,
        "condition": Condition.AUDITS_MISSED,
        "action": Action.CORRECTIVE_ACTION,
        "period_kind": PeriodKind.QUARTER,
        "missed_at_least": 2,
        **fields,
    }
    rule = Rule(**values)
    rule.full_clean()
    rule.save()
    return rule


def occurrence(
    schedule,
    due: datetime,
    status=OccurrenceStatus.MISSED,
    closes_after=timedelta(days=1),
    scheduled_for=None,
):
    completed = status in (OccurrenceStatus.DONE, OccurrenceStatus.LATE)
    return OccurrenceFactory(
        schedule=schedule,
        scheduled_for=scheduled_for or due.date(),
        opens_at=due - timedelta(days=2),
        due_at=due,
        closes_at=due + closes_after,
        status=status,
        completed_at=due if completed else None,
    )


@pytest.fixture
def shop(location_a):
    template = AuditTemplateFactory(title="Store mystery shop")
    return ScheduleFactory(template=template, location=location_a)


def evaluate():
    return rules_evaluate(today=TODAY, now=NOW)


def test_two_missed_in_a_quarter_propose_one_corrective_action_naming_the_audits(
    manager, location_a, location_b, shop
):
    rule = missed_rule()
    occurrence(shop, datetime(2026, 10, 5, 9, tzinfo=UTC))
    occurrence(shop, datetime(2026, 11, 2, 9, tzinfo=UTC))
    occurrence(shop, datetime(2026, 11, 9, 9, tzinfo=UTC), status=OccurrenceStatus.DONE)
    occurrence(shop, datetime(2026, 11, 16, 9, tzinfo=UTC), status=OccurrenceStatus.LATE)
    # another location missed one only
    occurrence(
        ScheduleFactory(template=shop.template, location=location_b), datetime(2026, 10, 6, 9, tzinfo=UTC)
    )

    result = evaluate()

    assert result["by_rule"] == {rule.name: 1}
    action = Consequence.objects.get()
    assert (action.subject_kind, action.location, action.action) == (
        SubjectKind.LOCATION,
        location_a,
        Action.CORRECTIVE_ACTION,
    )
    assert (action.period_kind, action.period_start) == (PeriodKind.QUARTER, date(2026, 10, 1))
    assert action.summary == f"Corrective action plan: 2 planned audits at {location_a} missed in Q4 2026"
    # 5 Oct 09:00 UTC is 10:00 in London (summer time), 2 Nov 09:00 is 09:00 (winter time)
    assert action.notes == (
        "Missed: Store mystery shop (due 5 Oct 2026 10:00), Store mystery shop (due 2 Nov 2026 09:00)."
    )
    assert action.owner == manager  # the location's manager


def test_running_again_proposes_nothing_more_and_a_third_miss_adds_no_second(location_a, shop):
    missed_rule()
    occurrence(shop, datetime(2026, 10, 5, 9, tzinfo=UTC))
    occurrence(shop, datetime(2026, 10, 12, 9, tzinfo=UTC))
    assert evaluate()["created"] == 1

    occurrence(shop, datetime(2026, 10, 19, 9, tzinfo=UTC))

    assert evaluate()["created"] == 0
    assert Consequence.objects.count() == 1


def test_one_miss_is_not_enough_and_misses_in_different_quarters_do_not_add_up(location_a, shop):
    missed_rule()
    occurrence(shop, datetime(2026, 9, 28, 9, tzinfo=UTC))  # Q3, the quarter before: judged
    occurrence(shop, datetime(2026, 10, 5, 9, tzinfo=UTC))  # Q4

    assert evaluate()["created"] == 0


def test_the_quarter_before_is_judged_and_older_ones_are_not(location_a, shop):
    missed_rule()
    for due in (datetime(2026, 7, 6, 9, tzinfo=UTC), datetime(2026, 8, 3, 9, tzinfo=UTC)):  # Q3
        occurrence(shop, due)
    for due in (datetime(2026, 4, 6, 9, tzinfo=UTC), datetime(2026, 5, 4, 9, tzinfo=UTC)):  # Q2
        occurrence(shop, due)

    evaluate()

    assert [c.period_start for c in Consequence.objects.all()] == [date(2026, 7, 1)]


def test_an_inactive_location_gets_no_consequence(location_a, shop):
    missed_rule()
    for day in (5, 12):
        occurrence(shop, datetime(2026, 10, day, 9, tzinfo=UTC))
    location_a.active = False
    location_a.save()

    assert evaluate()["created"] == 0


def test_when_the_planner_marks_audits_missed_the_rule_runs_at_once(
    settings, location_a, shop, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the task runs on the real clock: audits of this quarter
    missed_rule()
    now = datetime.now(UTC)
    for minutes in (1, 2):  # still open, closing (at their due time) a minute or two ago
        occurrence(
            shop,
            now - timedelta(minutes=minutes),
            status=OccurrenceStatus.OPEN,
            closes_after=timedelta(0),
            scheduled_for=now.date() - timedelta(days=minutes),  # one per planned day
        )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = audits_plan_and_notify(now=now)

    assert result["missed"] == 2
    assert callbacks  # the signal waited for the commit
    assert Consequence.objects.get().location == location_a


def test_without_an_active_missed_audit_rule_the_planner_enqueues_nothing(
    location_a, shop, django_capture_on_commit_callbacks
):
    missed_rule(active=False)
    now = datetime.now(UTC)
    occurrence(shop, now - timedelta(minutes=1), status=OccurrenceStatus.OPEN, closes_after=timedelta(0))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert audits_plan_and_notify(now=now)["missed"] == 1
    for callback in callbacks:
        callback()  # the signal's receiver: it finds no active rule and enqueues nothing

    assert not Consequence.objects.exists()
