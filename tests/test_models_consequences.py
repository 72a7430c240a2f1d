"""Invariants of consequence rules and consequences: validation names the field, the database agrees."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from consequences.models import (
    ALLOWED_ACTIONS,
    Action,
    Condition,
    Consequence,
    ConsequenceStatus,
    Polarity,
    Rule,
    SubjectKind,
)
from measurement.models import Deviation
from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid

pytestmark = pytest.mark.django_db


# --- Rule -----------------------------------------------------------------------------

ALLOWED_PAIRS = {
    (Condition.SUSTAINED_PERFORMANCE, Action.RECOGNITION),
    (Condition.REPEATED_SHORTFALL, Action.COACHING),
    (Condition.REPEATED_SHORTFALL, Action.CORRECTIVE_ACTION),
    (Condition.REPEATED_SHORTFALL, Action.REMEDIAL_TRAINING),
    (Condition.DEVIATION, Action.CORRECTIVE_ACTION),
    (Condition.TRAINING_LAPSE, Action.REMEDIAL_TRAINING),
    (Condition.SLA_BREACHED, Action.COACHING),
    (Condition.SLA_BREACHED, Action.CORRECTIVE_ACTION),
    (Condition.AUDITS_MISSED, Action.COACHING),
    (Condition.AUDITS_MISSED, Action.CORRECTIVE_ACTION),
}
EVERY_PAIR = [(condition, action) for condition in Condition for action in Action]


def _rule(condition, action):
    # An SLA-breach rule says how many breaches it takes, a missed-audit rule how many missed
    # audits (of a location); no other rule may.
    audits = condition == Condition.AUDITS_MISSED
    return factories.RuleFactory.build(
        subject_kind=SubjectKind.LOCATION if audits else SubjectKind.EMPLOYEE,
        condition=condition,
        action=action,
        breaches_at_least=2 if condition == Condition.SLA_BREACHED else None,
        missed_at_least=2 if audits else None,
    )


def test_allowed_actions_table_is_the_documented_one():
    assert {(c, a) for c, actions in ALLOWED_ACTIONS.items() for a in actions} == ALLOWED_PAIRS


@pytest.mark.parametrize(("condition", "action"), sorted(ALLOWED_PAIRS))
def test_rule_action_that_fits_its_condition_is_valid(condition, action):
    rule = _rule(condition, action)

    rule.full_clean()
    rule.save()


@pytest.mark.parametrize(("condition", "action"), sorted(set(EVERY_PAIR) - ALLOWED_PAIRS))
def test_rule_action_must_fit_its_condition(condition, action):
    rule = _rule(condition, action)

    assert_invalid(rule, "action", f"“{Condition(condition).label}” leads to:")
    assert_db_rejects(rule, "rule_action_fits_condition")


def test_rule_message_lists_the_actions_a_condition_allows():
    rule = factories.RuleFactory.build(condition=Condition.DEVIATION, action=Action.COACHING)

    assert_invalid(rule, "action", "leads to: Corrective action plan.")


@pytest.mark.parametrize("subject_kind", [SubjectKind.TEAM, SubjectKind.LOCATION])
def test_training_lapse_rule_concerns_an_employee(subject_kind):
    rule = factories.RuleFactory.build(
        subject_kind=subject_kind, condition=Condition.TRAINING_LAPSE, action=Action.REMEDIAL_TRAINING
    )

    assert_invalid(rule, "subject_kind", "Training lapses concern one employee: choose Employee.")
    assert_db_rejects(rule, "rule_action_fits_condition")


@pytest.mark.parametrize("subject_kind", SubjectKind.values)
def test_other_rules_may_concern_any_subject(subject_kind):
    factories.RuleFactory.build(subject_kind=subject_kind).full_clean()


@pytest.mark.parametrize("subject_kind", [SubjectKind.EMPLOYEE, SubjectKind.TEAM])
def test_missed_audit_rule_concerns_a_location(subject_kind):
    rule = factories.RuleFactory.build(
        subject_kind=subject_kind,
        condition=Condition.AUDITS_MISSED,
        action=Action.CORRECTIVE_ACTION,
        missed_at_least=2,
    )

    assert_invalid(rule, "subject_kind", "Audits are planned for a location: choose Location.")
    assert_db_rejects(rule, "rule_action_fits_condition")


def test_missed_audit_rule_says_how_many_missed_audits():
    rule = factories.RuleFactory.build(
        subject_kind=SubjectKind.LOCATION, condition=Condition.AUDITS_MISSED, action=Action.CORRECTIVE_ACTION
    )

    assert_invalid(rule, "missed_at_least", "Say how many missed audits in a period")
    assert_db_rejects(rule, "rule_missed_only_for_audit_rules")


def test_only_missed_audit_rules_count_missed_audits():
    rule = factories.RuleFactory.build(missed_at_least=2)

    assert_invalid(rule, "missed_at_least", "Only the missed-audits condition counts missed audits")
    assert_db_rejects(rule, "rule_missed_only_for_audit_rules")


def test_rule_needs_at_least_one_period():
    rule = factories.RuleFactory.build(consecutive_periods=0)

    assert_invalid(rule, "consecutive_periods", "greater than or equal to 1")
    assert_db_rejects(rule, "rule_consecutive_periods_positive")


def test_rule_subject_kind_is_employee_team_or_location():
    rule = factories.RuleFactory.build(subject_kind="region")

    assert_invalid(rule, "subject_kind", "is not a valid choice")
    assert_db_rejects(rule, "rule_subject_kind_valid")


def test_rule_with_an_unknown_condition_is_reported_not_crashed():
    assert_invalid(factories.RuleFactory.build(condition="full_moon"), "condition", "is not a valid choice")


def test_rule_name_is_unique():
    factories.RuleFactory(name="Coach after two bad months")
    twin = factories.RuleFactory.build(name="Coach after two bad months")

    assert_invalid(twin, "name", "Rule with this Name already exists.")
    assert_db_rejects(twin, "consequences_rule.name", "consequences_rule_name")


@pytest.mark.parametrize(
    ("action", "polarity"),
    [
        (Action.RECOGNITION, Polarity.POSITIVE),
        (Action.COACHING, Polarity.NEGATIVE),
        (Action.CORRECTIVE_ACTION, Polarity.NEGATIVE),
        (Action.REMEDIAL_TRAINING, Polarity.NEGATIVE),
    ],
)
def test_rule_polarity_follows_its_action(action, polarity):
    assert Rule(action=action).polarity == polarity


# --- Consequence ----------------------------------------------------------------------


@pytest.fixture
def employee(location_a):
    return factories.EmployeeFactory(location=location_a)


def consequence(location, **overrides) -> Consequence:
    """An unsaved coaching consequence for `location`."""
    values = {
        "subject_kind": SubjectKind.LOCATION,
        "location": location,
        "action": Action.COACHING,
        "polarity": Polarity.NEGATIVE,
        "summary": "Coaching on greeting customers",
    }
    return Consequence(**{**values, **overrides})


def closed(location, **overrides) -> Consequence:
    values = {
        "status": ConsequenceStatus.CLOSED,
        "closure_note": "Coached on 3 March; greeting rate back above target.",
        "closed_at": timezone.now(),
    }
    return consequence(location, **{**values, **overrides})


def test_consequence_for_each_kind_of_subject_is_valid(location_a, employee):
    for subject in (
        {"subject_kind": SubjectKind.EMPLOYEE, "employee": employee, "team": employee.team},
        {"subject_kind": SubjectKind.EMPLOYEE, "employee": employee},
        {"subject_kind": SubjectKind.TEAM, "team": employee.team},
        {"subject_kind": SubjectKind.LOCATION},
    ):
        item = consequence(location_a, **subject)
        item.full_clean()
        item.save()


def test_employee_consequence_names_the_employee(location_a):
    nameless = consequence(location_a, subject_kind=SubjectKind.EMPLOYEE)

    assert_invalid(nameless, "employee", "Choose the employee this consequence is for.")
    assert_db_rejects(nameless, "consequence_subject_matches_kind")


def test_team_consequence_names_the_team(location_a):
    nameless = consequence(location_a, subject_kind=SubjectKind.TEAM)

    assert_invalid(nameless, "team", "Choose the team this consequence is for.")
    assert_db_rejects(nameless, "consequence_subject_matches_kind")


def test_team_consequence_names_no_employee(location_a, employee):
    mixed = consequence(location_a, subject_kind=SubjectKind.TEAM, team=employee.team, employee=employee)

    assert_invalid(mixed, "employee", "Leave employee empty for a consequence about a team.")
    assert_db_rejects(mixed, "consequence_subject_matches_kind")


@pytest.mark.parametrize(
    ("subject", "field", "phrase"),
    [
        ("team", "team", "Leave team empty for a consequence about a location."),
        ("employee", "employee", "Leave employee empty for a consequence about a location."),
    ],
)
def test_location_consequence_names_no_team_or_employee(subject, field, phrase, location_a, employee):
    named = {"team": employee.team} if subject == "team" else {"employee": employee}
    mixed = consequence(location_a, subject_kind=SubjectKind.LOCATION, **named)

    assert_invalid(mixed, field, phrase)
    assert_db_rejects(mixed, "consequence_subject_matches_kind")


def test_consequence_subject_kind_is_one_of_the_choices(location_a):
    assert_invalid(consequence(location_a, subject_kind="region"), "subject_kind", "is not a valid choice")


@pytest.mark.parametrize("note", ["", "   "])
def test_closing_a_consequence_needs_a_note(note, location_a):
    assert_invalid(closed(location_a, closure_note=note), "closure_note", "Say what was done before closing.")


def test_database_refuses_a_closed_consequence_without_note(location_a):
    assert_db_rejects(closed(location_a, closure_note=""), "consequence_closed_has_note")


def test_closing_a_consequence_needs_a_date(location_a):
    undated = closed(location_a, closed_at=None)

    assert_invalid(undated, "closed_at", "Give the date the consequence was closed.")
    assert_db_rejects(undated, "consequence_closed_has_note")


def test_closed_consequence_with_note_and_date_is_valid(location_a):
    closed(location_a).full_clean()


@pytest.fixture
def deviation(location_a):
    failed = factories.ObservationFactory(
        location=location_a,
        passed=False,
        standard=factories.StandardFactory(non_negotiable=True, target_rate=Decimal("100")),
    )
    return Deviation.objects.create(
        observation=failed, standard=failed.standard, location=location_a, detected_at=timezone.now()
    )


def test_deviation_is_answered_by_a_corrective_action(location_a, deviation):
    corrective = consequence(location_a, deviation=deviation, action=Action.CORRECTIVE_ACTION)

    corrective.full_clean()
    corrective.save()


@pytest.mark.parametrize("action", [Action.COACHING, Action.REMEDIAL_TRAINING])
def test_deviation_cannot_be_answered_by_anything_but_a_corrective_action(action, location_a, deviation):
    soft = consequence(location_a, deviation=deviation, action=action)

    assert_invalid(
        soft, "action", "A deviation of a non-negotiable standard is answered by a corrective action."
    )
    assert_db_rejects(soft, "consequence_deviation_needs_corrective_action")


def test_closing_a_deviations_consequence_reminds_that_only_corrective_action_closes_it(
    location_a, deviation
):
    unexplained = closed(location_a, deviation=deviation, action=Action.CORRECTIVE_ACTION, closure_note="")

    assert_invalid(unexplained, "closure_note", "a deviation is closed only by a corrective action")


@pytest.mark.parametrize(
    ("action", "polarity", "phrase"),
    [
        (Action.RECOGNITION, Polarity.NEGATIVE, "Recognition is a positive consequence"),
        (Action.COACHING, Polarity.POSITIVE, "Coaching session is a negative consequence"),
        (Action.CORRECTIVE_ACTION, Polarity.POSITIVE, "Corrective action plan is a negative consequence"),
        (Action.REMEDIAL_TRAINING, Polarity.POSITIVE, "Remedial training is a negative consequence"),
    ],
)
def test_consequence_polarity_matches_its_action(action, polarity, phrase, location_a):
    mismatched = consequence(location_a, action=action, polarity=polarity)

    assert_invalid(mismatched, "polarity", phrase)
    assert_db_rejects(mismatched, "consequence_polarity_matches_action")


def test_recognition_is_positive(location_a):
    consequence(location_a, action=Action.RECOGNITION, polarity=Polarity.POSITIVE).full_clean()


def test_consequence_status_is_one_of_the_choices(location_a):
    item = consequence(location_a, status="forgiven")

    assert_invalid(item, "status", "is not a valid choice")
    assert_db_rejects(item, "consequence_status_valid")


def test_consequence_dedupe_key_is_unique(location_a):
    first = consequence(location_a, dedupe_key="rule=1|location=1|month=2025-02-01")
    first.save()
    again = consequence(location_a, dedupe_key=first.dedupe_key)

    assert_invalid(again, "dedupe_key", "Consequence with this Dedupe key already exists.")
    assert_db_rejects(again, "consequences_consequence.dedupe_key", "consequences_consequence_dedupe_key")


@pytest.mark.parametrize(
    ("due_in_days", "status", "overdue"),
    [
        (-1, ConsequenceStatus.PROPOSED, True),
        (-30, ConsequenceStatus.DELIVERED, True),
        (0, ConsequenceStatus.APPROVED, False),
        (7, ConsequenceStatus.PROPOSED, False),
        (-1, ConsequenceStatus.CLOSED, False),
        (None, ConsequenceStatus.PROPOSED, False),
    ],
    ids=["late", "late-delivered", "due-today", "due-later", "closed-late", "no-due-date"],
)
def test_consequence_is_overdue_when_past_due_and_not_closed(due_in_days, status, overdue, location_a):
    due_on = None if due_in_days is None else timezone.localdate() + timedelta(days=due_in_days)

    assert consequence(location_a, due_on=due_on, status=status).is_overdue is overdue


# --- __str__ --------------------------------------------------------------------------


def test_consequences_read_well_as_text(location_a):
    user = factories.UserFactory(first_name="Ada", last_name="Lovelace")
    employee = factories.EmployeeFactory(user=user, employee_number="E-42", location=location_a)
    team = factories.TeamFactory(name="Tills", location=location_a)

    assert str(factories.RuleFactory(name="Coach after two bad months")) == "Coach after two bad months"
    recognition = consequence(
        location_a,
        subject_kind=SubjectKind.EMPLOYEE,
        employee=employee,
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
    )
    assert str(recognition) == "Recognition: Ada Lovelace (E-42)"
    assert str(consequence(location_a, subject_kind=SubjectKind.TEAM, team=team)) == (
        "Coaching session: Tills · AAA-01"
    )
    assert str(factories.ConsequenceFactory(location=location_a)) == (
        "Coaching session: Alpha Street (AAA-01)"
    )
