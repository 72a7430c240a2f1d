"""Consequence rules on customer cases: "SLA breached N times in a period" → coaching or corrective
action for the case owner or the location, once per rule, subject and period, citing the cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from consequences.models import Action, Condition, Consequence, Rule, SubjectKind
from consequences.services import rules_evaluate
from consequences.tasks import evaluate_sla_rules
from measurement.models import PeriodKind
from tests import factories

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 20)


def breached_case(location, owner, *, due: datetime, acknowledged=None, **fields):
    """A case whose acknowledgement was due at `due` (acknowledged at `acknowledged`, or not yet)."""
    return factories.CaseFactory(
        location=location,
        owner=owner,
        opened_at=due - timedelta(hours=2),
        acknowledge_due_at=due,
        acknowledged_at=acknowledged,
        status="acknowledged" if acknowledged else "new",
        **fields,
    )


def sla_rule(**fields) -> Rule:
    values = {
        "name": "Coach after two SLA breaches in a month",
        "subject_kind": SubjectKind.EMPLOYEE,
        "condition": Condition.SLA_BREACHED,
        "action": Action.COACHING,
        "period_kind": PeriodKind.MONTH,
        "breaches_at_least": 2,
        **fields,
    }
    rule = Rule(**values)
    rule.full_clean()
    rule.save()
    return rule


def evaluate():
    return rules_evaluate(today=TODAY, now=NOW)


@pytest.fixture
def owner(location_a):
    return factories.EmployeeFactory(location=location_a)


def test_two_breaches_of_one_owner_in_a_month_propose_one_coaching_naming_the_cases(
    manager, location_a, owner
):
    rule = sla_rule()
    first = breached_case(location_a, owner, due=datetime(2026, 3, 2, 12, tzinfo=UTC))
    second = breached_case(
        location_a,
        owner,
        due=datetime(2026, 3, 9, 9, tzinfo=UTC),
        acknowledged=datetime(2026, 3, 9, 11, tzinfo=UTC),  # two hours late
    )
    breached_case(location_a, owner, due=NOW + timedelta(hours=1))  # not due yet: no breach
    on_time = breached_case(location_a, owner, due=datetime(2026, 3, 4, 12, tzinfo=UTC))
    on_time.acknowledged_at = on_time.acknowledge_due_at  # on the deadline: met
    on_time.save()
    other = factories.EmployeeFactory(location=location_a)
    breached_case(location_a, other, due=datetime(2026, 3, 3, 12, tzinfo=UTC))  # one breach only

    result = evaluate()

    assert result["by_rule"] == {rule.name: 1}
    coaching = Consequence.objects.get()
    assert (coaching.employee, coaching.action, coaching.location) == (owner, Action.COACHING, location_a)
    assert (coaching.period_kind, coaching.period_start) == (PeriodKind.MONTH, date(2026, 3, 1))
    assert (
        coaching.summary == f"Coaching session: 2 customer cases of {owner} breached their SLA in March 2026"
    )
    assert first.reference in coaching.notes and second.reference in coaching.notes
    assert f"{first.reference} (acknowledgement due 2 Mar 2026 12:00)" in coaching.notes
    assert coaching.owner == manager  # the location's manager, not the person it is about


def test_running_again_proposes_nothing_more_and_a_third_breach_adds_no_second(location_a, owner):
    sla_rule()
    for day in (2, 3):
        breached_case(location_a, owner, due=datetime(2026, 3, day, 12, tzinfo=UTC))
    assert evaluate()["created"] == 1
    breached_case(location_a, owner, due=datetime(2026, 3, 5, 12, tzinfo=UTC))
    assert evaluate()["created"] == 0
    assert Consequence.objects.count() == 1


def test_breaches_count_in_the_period_of_the_first_deadline_missed_and_last_month_is_judged(
    location_a, owner
):
    rule = sla_rule(subject_kind=SubjectKind.LOCATION, action=Action.CORRECTIVE_ACTION, breaches_at_least=2)
    # February: missed its acknowledgement on 27 Feb and its resolution on 3 Mar: a February breach.
    february = breached_case(
        location_a,
        owner,
        due=datetime(2026, 2, 27, 12, tzinfo=UTC),
        resolve_due_at=datetime(2026, 3, 3, 12, tzinfo=UTC),
    )
    # Acknowledged in time, resolution missed on 26 Feb: a February breach, at its resolution deadline.
    late_resolution = breached_case(
        location_a,
        owner,
        due=datetime(2026, 2, 20, 12, tzinfo=UTC),
        acknowledged=datetime(2026, 2, 20, 11, tzinfo=UTC),
        resolve_due_at=datetime(2026, 2, 26, 12, tzinfo=UTC),
    )
    breached_case(location_a, owner, due=datetime(2026, 3, 10, 12, tzinfo=UTC))  # one in March
    breached_case(location_a, owner, due=datetime(2026, 1, 10, 12, tzinfo=UTC))  # January: not judged

    result = evaluate()

    assert result["by_rule"] == {rule.name: 1}
    action = Consequence.objects.get()
    assert action.subject_kind == SubjectKind.LOCATION and action.period_start == date(2026, 2, 1)
    assert f"{late_resolution.reference} (resolution due 26 Feb 2026 12:00)" in action.notes
    assert february.reference in action.notes


def test_cases_of_someone_who_left_count_for_nobody_but_still_for_the_location(location_a, owner):
    sla_rule()
    location_rule = sla_rule(name="Location breaches", subject_kind=SubjectKind.LOCATION)
    for day in (2, 3):
        breached_case(location_a, owner, due=datetime(2026, 3, day, 12, tzinfo=UTC))
    owner.active = False
    owner.save()

    assert evaluate()["by_rule"] == {"Coach after two SLA breaches in a month": 0, location_rule.name: 1}


def test_the_periodic_task_evaluates_sla_rules_only(location_a, owner):
    sla_rule()
    factories.RuleFactory(name="A shortfall rule")  # judged after rollups, not by this task
    for day in (2, 3):
        breached_case(location_a, owner, due=datetime.now(UTC) - timedelta(hours=day))
    result = evaluate_sla_rules.delay().get()
    assert result["rules"] == 1 and list(result["by_rule"]) == ["Coach after two SLA breaches in a month"]
    entry = django_settings.CELERY_BEAT_SCHEDULE["consequences-evaluate-sla-rules"]
    assert entry["task"] == "consequences.tasks.evaluate_sla_rules"
    assert 0 < entry["options"]["expires"] <= entry["schedule"].total_seconds()


def test_an_evaluation_after_a_rollup_that_touched_nothing_still_judges_sla_rules(location_a, owner):
    sla_rule()
    for day in (2, 3):
        breached_case(location_a, owner, due=datetime(2026, 3, day, 12, tzinfo=UTC))
    assert rules_evaluate(periods=[], today=TODAY, now=NOW)["created"] == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"breaches_at_least": None}, "breaches_at_least", "how many SLA breaches"),
        ({"subject_kind": SubjectKind.TEAM}, "subject_kind", "choose Employee or Location"),
        ({"action": Action.RECOGNITION}, "action", "leads to: "),
        ({"breaches_at_least": 0}, "breaches_at_least", "greater than or equal to 1"),
        (
            {"condition": Condition.REPEATED_SHORTFALL, "breaches_at_least": 2},
            "breaches_at_least",
            "leave this empty",
        ),
    ],
)
def test_a_rule_that_does_not_fit_is_refused_naming_the_field(db, fields, field, message):
    with pytest.raises(ValidationError) as refused:
        sla_rule(**fields)
    assert message in " ".join(refused.value.message_dict[field])


def test_the_database_refuses_a_breach_rule_without_its_count(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Rule.objects.create(
            name="No count",
            subject_kind=SubjectKind.EMPLOYEE,
            condition=Condition.SLA_BREACHED,
            action=Action.COACHING,
        )
