"""The consequences engine: every rule kind, idempotency, the status flow, and the rollup → rules chain."""

from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from consequences.models import Action, Condition, Consequence, ConsequenceStatus, Polarity, SubjectKind
from consequences.selectors import closed_periods
from consequences.services import (
    consequence_approve,
    consequence_close,
    consequence_deliver,
    rules_evaluate,
)
from measurement.models import DeviationStatus, Grain, Scorecard
from measurement.services.rollup import scorecards_rollup
from measurement.signals import scorecards_rolled_up
from tests import factories
from tests.concurrency import run_overlapping
from training.models import Assignment, CompletionStatus

pytestmark = pytest.mark.django_db

TODAY = date(2026, 4, 15)  # April is open; March and February are the last two closed months
JANUARY, FEBRUARY, MARCH, APRIL = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def scorecard(*, start, passed, observations=20, target=0.9, kind="month", standard=None, **subject):
    """A scorecard of the grain given by `subject` (employee=, team=, location= [with standard=])."""
    if "employee" in subject:
        employee = subject["employee"]
        grain, key = Grain.EMPLOYEE, f"employee={employee.pk}"
        subject.update(location=employee.location, team=employee.team)
    elif "team" in subject:
        grain, key = Grain.TEAM, f"team={subject['team'].pk}"
        subject["location"] = subject["team"].location
    elif standard is not None:
        grain, key = Grain.LOCATION_STANDARD, f"location={subject['location'].pk}|standard={standard.pk}"
    else:
        grain, key = Grain.LOCATION, f"location={subject['location'].pk}"
    rate = passed / observations if observations else None
    return factories.ScorecardFactory(
        period_kind=kind,
        period_start=start,
        grain=grain,
        grain_key=key,
        standard=standard,
        observations=observations,
        passed=passed,
        pass_rate=rate,
        target_rate=target,
        target_met=None if rate is None else rate >= target,
        **subject,
    )


@pytest.fixture
def employee(location_a, manager):
    # `manager` manages location A, so they own what the engine proposes there.
    return factories.EmployeeFactory(location=location_a)


@pytest.fixture
def recognition_rule(db):
    return factories.RuleFactory(
        subject_kind=SubjectKind.EMPLOYEE,
        condition=Condition.SUSTAINED_PERFORMANCE,
        action=Action.RECOGNITION,
        consecutive_periods=2,
        min_observations=10,
        due_within_days=14,
    )


# --------------------------------------------------------------------------- periods


def test_closed_periods_are_the_ones_before_the_open_period():
    assert closed_periods(kind="month", count=2, today=TODAY) == [MARCH, FEBRUARY]
    assert closed_periods(kind="quarter", count=1, today=TODAY) == [JANUARY]
    assert closed_periods(kind="week", count=2, today=TODAY) == [date(2026, 4, 6), date(2026, 3, 30)]
    assert closed_periods(kind="day", count=1, today=TODAY) == [date(2026, 4, 14)]


# --------------------------------------------------------------------------- sustained performance


def test_sustained_performance_earns_a_recognition_citing_its_scorecards(employee, manager, recognition_rule):
    # given two closed months on target with enough observations
    cards = [scorecard(employee=employee, start=start, passed=19) for start in (FEBRUARY, MARCH)]

    # when
    result = rules_evaluate(today=TODAY)

    # then
    assert result["created"] == 1
    consequence = Consequence.objects.get()
    assert consequence.rule == recognition_rule
    assert (consequence.subject_kind, consequence.employee, consequence.location) == (
        SubjectKind.EMPLOYEE,
        employee,
        employee.location,
    )
    assert (consequence.action, consequence.polarity) == (Action.RECOGNITION, Polarity.POSITIVE)
    assert consequence.status == ConsequenceStatus.PROPOSED
    assert (consequence.period_kind, consequence.period_start) == ("month", MARCH)
    assert consequence.dedupe_key == f"rule={recognition_rule.pk}|employee={employee.pk}|month=2026-03-01"
    assert set(consequence.evidence.all()) == set(cards)
    assert consequence.owner == manager
    assert consequence.due_on == TODAY + timedelta(days=14)
    assert "2 months running to March 2026" in consequence.summary
    assert "March 2026: 95% passed (19 of 20), target 90%." in consequence.notes


@pytest.mark.parametrize(
    ("february", "march", "why"),
    [
        ({"passed": 15}, {"passed": 19}, "only one of the two months on target"),
        ({"passed": 19}, {"passed": 9, "observations": 9}, "too few observations in one month"),
        (None, {"passed": 19}, "no scorecard for one month"),
    ],
)
def test_sustained_performance_needs_every_period_of_the_window(
    employee, recognition_rule, february, march, why
):
    if february:
        scorecard(employee=employee, start=FEBRUARY, **february)
    scorecard(employee=employee, start=MARCH, **march)

    assert rules_evaluate(today=TODAY)["created"] == 0, why


def test_the_open_period_is_never_judged(employee, recognition_rule):
    # March and April on target, but April is still open and February has nothing
    scorecard(employee=employee, start=MARCH, passed=19)
    scorecard(employee=employee, start=APRIL, passed=20)

    assert rules_evaluate(today=TODAY)["created"] == 0
    # once April has closed, March and April are the window
    assert rules_evaluate(today=date(2026, 5, 2))["created"] == 1


def test_a_period_without_a_target_is_not_judged(employee, recognition_rule):
    scorecard(employee=employee, start=FEBRUARY, passed=19)
    scorecard(employee=employee, start=MARCH, passed=19)
    Scorecard.objects.filter(period_start=MARCH).update(target_rate=None, target_met=None)

    assert rules_evaluate(today=TODAY)["created"] == 0


def test_an_employee_who_has_left_is_not_recognised(employee, recognition_rule):
    for start in (FEBRUARY, MARCH):
        scorecard(employee=employee, start=start, passed=19)
    employee.active = False
    employee.save()

    assert rules_evaluate(today=TODAY)["created"] == 0


def test_a_location_on_target_for_a_quarter_of_weeks_is_celebrated(location_a, manager):
    rule = factories.RuleFactory(
        subject_kind=SubjectKind.LOCATION,
        condition=Condition.SUSTAINED_PERFORMANCE,
        action=Action.RECOGNITION,
        period_kind="week",
        consecutive_periods=3,
        min_observations=50,
    )
    for start in closed_periods(kind="week", count=3, today=TODAY):
        scorecard(location=location_a, kind="week", start=start, passed=95, observations=100)

    rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get(rule=rule)
    assert (consequence.subject_kind, consequence.location, consequence.team) == (
        "location",
        location_a,
        None,
    )
    assert consequence.period_start == date(2026, 4, 6)
    assert consequence.evidence.count() == 3


def test_without_a_location_manager_a_team_manager_owns_the_consequence(recognition_rule):
    employee = factories.EmployeeFactory()  # at a location nobody manages
    team_lead = factories.UserFactory(username="team_lead")
    employee.team.managers.add(team_lead)
    for start in (FEBRUARY, MARCH):
        scorecard(employee=employee, start=start, passed=19)

    rules_evaluate(today=TODAY)

    assert Consequence.objects.get().owner == team_lead


# --------------------------------------------------------------------------- repeated shortfall


def test_a_team_below_target_twice_running_gets_coaching(location_a, manager):
    team = factories.TeamFactory(location=location_a)
    rule = factories.RuleFactory(subject_kind=SubjectKind.TEAM, action=Action.COACHING, min_observations=10)
    scorecard(team=team, start=FEBRUARY, passed=12)
    scorecard(team=team, start=MARCH, passed=15)
    other_team = factories.TeamFactory(location=location_a)
    scorecard(team=other_team, start=FEBRUARY, passed=12)
    scorecard(team=other_team, start=MARCH, passed=19)  # recovered in March

    rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get(rule=rule)
    assert (consequence.subject_kind, consequence.team, consequence.employee) == ("team", team, None)
    assert (consequence.action, consequence.polarity) == (Action.COACHING, Polarity.NEGATIVE)
    assert consequence.owner == manager
    assert "below target 2 months running" in consequence.summary


def test_a_location_rule_on_a_standard_reads_the_location_standard_scorecards(location_a):
    standard = factories.StandardFactory()
    rule = factories.RuleFactory(
        subject_kind=SubjectKind.LOCATION,
        action=Action.CORRECTIVE_ACTION,
        standard=standard,
        min_observations=10,
    )
    # the location is on target overall, but not on this standard
    for start in (FEBRUARY, MARCH):
        scorecard(location=location_a, start=start, passed=19)
        scorecard(location=location_a, standard=standard, start=start, passed=10)

    rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get(rule=rule)
    assert {card.grain for card in consequence.evidence.all()} == {Grain.LOCATION_STANDARD}
    assert f"below target on {standard.code}" in consequence.summary


def test_a_location_rule_on_a_standard_ignores_the_overall_scorecards(location_a):
    standard = factories.StandardFactory()
    factories.RuleFactory(subject_kind=SubjectKind.LOCATION, standard=standard, min_observations=10)
    for start in (FEBRUARY, MARCH):
        scorecard(location=location_a, start=start, passed=10)  # below target overall only

    assert rules_evaluate(today=TODAY)["created"] == 0


def test_an_employee_rule_on_a_standard_needs_their_location_below_target_on_it_too(employee):
    standard = factories.StandardFactory()
    rule = factories.RuleFactory(standard=standard, action=Action.COACHING, min_observations=10)
    for start in (FEBRUARY, MARCH):
        scorecard(employee=employee, start=start, passed=12)
        scorecard(location=employee.location, standard=standard, start=start, passed=14)
    colleague_elsewhere = factories.EmployeeFactory()
    for start in (FEBRUARY, MARCH):
        scorecard(employee=colleague_elsewhere, start=start, passed=12)
        scorecard(location=colleague_elsewhere.location, standard=standard, start=start, passed=19)

    rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get(rule=rule)
    assert consequence.employee == employee
    assert {card.grain for card in consequence.evidence.all()} == {Grain.EMPLOYEE, Grain.LOCATION_STANDARD}
    assert consequence.evidence.count() == 4


# --------------------------------------------------------------------------- deviations


@pytest.fixture
def deviation_rule(db):
    return factories.RuleFactory(
        subject_kind=SubjectKind.EMPLOYEE,
        condition=Condition.DEVIATION,
        action=Action.CORRECTIVE_ACTION,
        due_within_days=7,
    )


def deviation_by(employee=None, *, location=None, team=None, **extra):
    location = employee.location if employee else location
    team = employee.team if employee else team
    return factories.DeviationFactory(
        observation__location=location,
        observation__team=team,
        observation__employee=employee,
        team=team,
        employee=employee,
        **extra,
    )


def test_each_open_deviation_gets_one_corrective_action(employee, manager, deviation_rule):
    deviation = deviation_by(employee)

    rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get()
    assert consequence.deviation == deviation
    assert (consequence.subject_kind, consequence.employee) == (SubjectKind.EMPLOYEE, employee)
    assert (consequence.action, consequence.polarity) == (Action.CORRECTIVE_ACTION, Polarity.NEGATIVE)
    assert consequence.due_on == TODAY + timedelta(days=7)
    assert consequence.owner == manager
    assert consequence.dedupe_key == f"deviation={deviation.pk}"
    assert deviation.standard.code in consequence.summary


def test_a_deviation_without_an_employee_falls_back_to_its_team_then_its_location(location_a, deviation_rule):
    team = factories.TeamFactory(location=location_a)
    by_team = deviation_by(location=location_a, team=team)
    by_location = deviation_by(location=location_a)

    rules_evaluate(today=TODAY)

    assert Consequence.objects.get(deviation=by_team).subject_kind == SubjectKind.TEAM
    assert Consequence.objects.get(deviation=by_team).team == team
    assert Consequence.objects.get(deviation=by_location).subject_kind == SubjectKind.LOCATION


def test_a_location_deviation_rule_answers_at_the_location(employee):
    factories.RuleFactory(
        subject_kind=SubjectKind.LOCATION, condition=Condition.DEVIATION, action=Action.CORRECTIVE_ACTION
    )
    deviation_by(employee)

    rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get()
    assert (consequence.subject_kind, consequence.employee, consequence.team) == ("location", None, None)


def test_deviations_already_answered_or_closed_and_of_other_standards_are_left_alone(employee):
    answered = deviation_by(employee)
    factories.ConsequenceFactory(
        deviation=answered,
        location=employee.location,
        action=Action.CORRECTIVE_ACTION,
        polarity=Polarity.NEGATIVE,
    )
    deviation_by(employee, status=DeviationStatus.CLOSED, closed_at=timezone.now())
    mine = deviation_by(employee)
    deviation_by(employee)  # another non-negotiable standard
    factories.RuleFactory(
        condition=Condition.DEVIATION, action=Action.CORRECTIVE_ACTION, standard=mine.standard
    )

    assert rules_evaluate(today=TODAY)["created"] == 1
    assert Consequence.objects.get(rule__isnull=False).deviation == mine


def test_when_two_deviation_rules_match_the_one_for_the_standard_answers(employee, deviation_rule):
    deviation = deviation_by(employee)
    specific = factories.RuleFactory(
        name="A specific rule",
        condition=Condition.DEVIATION,
        action=Action.CORRECTIVE_ACTION,
        standard=deviation.standard,
    )

    assert rules_evaluate(today=TODAY)["created"] == 1
    assert Consequence.objects.get().rule == specific


# --------------------------------------------------------------------------- training lapse


@pytest.fixture
def lapse(employee):
    """An employee whose required training on a standard has expired."""
    standard = factories.StandardFactory()
    course = factories.CourseFactory(refresher_interval_days=365)
    course.standards.add(standard)
    assignment = factories.AssignmentFactory(
        employee=employee,
        course=course,
        assigned_on=TODAY - timedelta(days=800),
        due_on=TODAY - timedelta(days=770),
    )
    completion = factories.CompletionFactory(
        employee=employee,
        course=course,
        completed_on=TODAY - timedelta(days=500),
        status=CompletionStatus.VERIFIED,
    )
    rule = factories.RuleFactory(
        condition=Condition.TRAINING_LAPSE,
        action=Action.REMEDIAL_TRAINING,
        consecutive_periods=1,
        min_observations=5,
        due_within_days=21,
    )
    return {
        "standard": standard,
        "course": course,
        "assignment": assignment,
        "completion": completion,
        "rule": rule,
    }


def test_below_target_with_expired_training_assigns_remedial_training(employee, lapse):
    card = scorecard(employee=employee, start=MARCH, passed=10)

    result = rules_evaluate(today=TODAY)

    consequence = Consequence.objects.get()
    assert (consequence.rule, consequence.employee, consequence.action) == (
        lapse["rule"],
        employee,
        Action.REMEDIAL_TRAINING,
    )
    assert list(consequence.evidence.all()) == [card]
    assert lapse["course"].code in consequence.summary
    assignment = Assignment.objects.get(pk=lapse["assignment"].pk)
    assert (assignment.active, assignment.assigned_on, assignment.due_on) == (
        True,
        TODAY,
        TODAY + timedelta(days=21),
    )
    assert result["assignments"] == 1


def test_current_training_means_no_remedial_training(employee, lapse):
    factories.CompletionFactory(
        employee=employee,
        course=lapse["course"],
        completed_on=TODAY - timedelta(days=10),
        status=CompletionStatus.VERIFIED,
    )
    scorecard(employee=employee, start=MARCH, passed=10)

    assert rules_evaluate(today=TODAY)["created"] == 0


def test_expired_training_on_target_means_no_remedial_training(employee, lapse):
    scorecard(employee=employee, start=MARCH, passed=19)

    assert rules_evaluate(today=TODAY)["created"] == 0
    assert Assignment.objects.get().due_on == TODAY - timedelta(days=770)


def test_a_lapse_rule_on_another_standard_ignores_this_course(employee, lapse):
    lapse["rule"].standard = factories.StandardFactory()
    lapse["rule"].save()
    scorecard(employee=employee, start=MARCH, passed=10)
    scorecard(location=employee.location, standard=lapse["rule"].standard, start=MARCH, passed=10)

    assert rules_evaluate(today=TODAY)["created"] == 0


# --------------------------------------------------------------------------- idempotency


def test_running_twice_creates_nothing_new_and_a_new_period_does(
    employee, recognition_rule, deviation_rule, lapse
):
    for start in (FEBRUARY, MARCH):
        scorecard(employee=employee, start=start, passed=19)
    deviation_by(employee)

    first = rules_evaluate(today=TODAY)
    second = rules_evaluate(today=TODAY)

    assert first["created"] == 2 and second["created"] == 0
    assert Consequence.objects.count() == 2

    # a month later April has closed on target too: a new recognition, for the new period
    scorecard(employee=employee, start=APRIL, passed=20)
    assert rules_evaluate(today=date(2026, 5, 3))["created"] == 1
    assert sorted(
        Consequence.objects.filter(rule=recognition_rule).values_list("period_start", flat=True)
    ) == [
        MARCH,
        APRIL,
    ]


def test_the_remedial_deadline_is_set_once(employee, lapse):
    scorecard(employee=employee, start=MARCH, passed=10)
    rules_evaluate(today=TODAY)
    rules_evaluate(today=TODAY + timedelta(days=5))

    assert Assignment.objects.get().assigned_on == TODAY


def test_periods_outside_a_rules_window_do_not_evaluate_it(employee, recognition_rule, deviation_rule):
    for start in (FEBRUARY, MARCH):
        scorecard(employee=employee, start=start, passed=19)
    deviation_by(employee)

    # a late correction to last year: the recognition's window is untouched, deviations always run
    result = rules_evaluate(periods=[("month", "2025-06-01"), ("day", "2025-06-12")], today=TODAY)
    assert result["by_rule"] == {deviation_rule.name: 1}

    # the window's March was recomputed
    result = rules_evaluate(periods=[("month", MARCH)], today=TODAY)
    assert result["by_rule"] == {deviation_rule.name: 0, recognition_rule.name: 1}


def test_a_malformed_period_is_refused():
    with pytest.raises(ValueError, match="not a period"):
        rules_evaluate(periods=[("fortnight", "2026-03-01")], today=TODAY)


# --------------------------------------------------------------------------- status flow


@pytest.fixture
def proposed(employee, deviation_rule):
    deviation_by(employee)
    rules_evaluate(today=TODAY)
    return Consequence.objects.get()


def test_a_consequence_goes_proposed_approved_delivered_closed(proposed, manager):
    consequence_approve(consequence=proposed, user=manager)
    assert proposed.status == ConsequenceStatus.APPROVED and proposed.approved_at

    consequence_deliver(consequence=proposed, user=manager)
    assert proposed.status == ConsequenceStatus.DELIVERED and proposed.delivered_at

    consequence_close(
        consequence=proposed, note="Re-briefed; next ten sales observed, all correct.", user=manager
    )
    assert proposed.status == ConsequenceStatus.CLOSED and proposed.closed_at
    assert proposed.closure_note == "Re-briefed; next ten sales observed, all correct."


def test_closing_a_corrective_action_closes_its_deviation(proposed, manager):
    consequence_approve(consequence=proposed, user=manager)
    consequence_deliver(consequence=proposed, user=manager)
    assert proposed.deviation.status == DeviationStatus.OPEN

    consequence_close(consequence=proposed, note="Walked through the till prompt again.", user=manager)

    proposed.deviation.refresh_from_db()
    assert proposed.deviation.status == DeviationStatus.CLOSED
    assert proposed.deviation.closed_at == proposed.closed_at


@pytest.mark.parametrize(
    ("steps", "service", "message"),
    [
        ([], consequence_deliver, "A consequence can be delivered only when approved; this one is proposed."),
        ([], consequence_close, "A consequence can be closed only when delivered; this one is proposed."),
        (
            [consequence_approve],
            consequence_approve,
            "A consequence can be approved only when proposed; this one is approved.",
        ),
        ([consequence_approve], consequence_close, "Its next step is to be delivered."),
    ],
)
def test_skipping_or_repeating_a_step_is_refused_with_a_reason(proposed, manager, steps, service, message):
    for step in steps:
        step(consequence=proposed, user=manager)
    kwargs = {"note": "Done."} if service is consequence_close else {}

    with pytest.raises(ValidationError) as excinfo:
        service(consequence=proposed, user=manager, **kwargs)

    assert any(message in m for m in excinfo.value.message_dict["status"]), excinfo.value.message_dict


def test_nothing_follows_closing(proposed, manager):
    consequence_approve(consequence=proposed, user=manager)
    consequence_deliver(consequence=proposed, user=manager)
    consequence_close(consequence=proposed, note="Done.", user=manager)

    with pytest.raises(ValidationError, match="Nothing follows closing"):
        consequence_close(consequence=proposed, note="Again.", user=manager)


def test_closing_without_a_note_is_refused_and_the_deviation_stays_open(proposed, manager):
    consequence_approve(consequence=proposed, user=manager)
    consequence_deliver(consequence=proposed, user=manager)

    with pytest.raises(ValidationError) as excinfo:
        consequence_close(consequence=proposed, note="   ", user=manager)

    assert (
        "a deviation is closed only by a corrective action" in excinfo.value.message_dict["closure_note"][0]
    )
    proposed.refresh_from_db()
    proposed.deviation.refresh_from_db()
    assert proposed.status == ConsequenceStatus.DELIVERED
    assert proposed.deviation.status == DeviationStatus.OPEN


def test_approving_makes_the_manager_owner_of_an_unowned_consequence(proposed, manager):
    Consequence.objects.filter(pk=proposed.pk).update(owner=None)
    proposed.refresh_from_db()

    consequence_approve(consequence=proposed, user=manager)

    assert proposed.owner == manager


def test_only_a_manager_in_scope_or_an_admin_moves_a_consequence(proposed, staff, other_manager, admin):
    with pytest.raises(PermissionDenied):
        consequence_approve(consequence=proposed, user=staff)
    with pytest.raises(PermissionDenied, match="Only a manager of"):
        consequence_approve(consequence=proposed, user=other_manager)

    consequence_approve(consequence=proposed, user=admin)
    assert proposed.status == ConsequenceStatus.APPROVED


def test_a_manager_cannot_approve_a_consequence_about_themselves(location_a, manager, deviation_rule):
    deviation_by(manager.employee)
    rules_evaluate(today=TODAY)
    about_manager = Consequence.objects.get(employee=manager.employee)

    assert about_manager.owner is None  # the location's only manager is the subject
    with pytest.raises(PermissionDenied, match="about yourself"):
        consequence_approve(consequence=about_manager, user=manager)


# --------------------------------------------------------------------------- the rollup → rules chain


def test_a_rollup_enqueues_the_rule_evaluation_after_commit(
    settings, employee, recognition_rule, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    today = timezone.localdate()
    window = closed_periods(kind="month", count=2, today=today)
    for start in window:
        scorecard(employee=employee, start=start, passed=19)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scorecards_rolled_up.send(sender=Scorecard, periods=[("month", window[0])], full=False)
    assert not Consequence.objects.exists()  # nothing before the commit
    assert len(callbacks) == 1

    callbacks[0]()

    consequence = Consequence.objects.get()
    assert (consequence.rule, consequence.employee, consequence.period_start) == (
        recognition_rule,
        employee,
        window[0],
    )


def test_a_full_rebuild_evaluates_every_rule(
    settings, employee, recognition_rule, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    for start in closed_periods(kind="month", count=2, today=timezone.localdate()):
        scorecard(employee=employee, start=start, passed=19)

    with django_capture_on_commit_callbacks(execute=True):
        # a full rebuild lists every period; the receiver evaluates everything instead
        scorecards_rolled_up.send(sender=Scorecard, periods=[("day", date(2020, 1, 1))], full=True)

    assert Consequence.objects.count() == 1


# --------------------------------------------------------------------------- overlapping runs (PostgreSQL)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_create_each_consequence_once(employee, recognition_rule, deviation_rule):
    for start in (FEBRUARY, MARCH):
        scorecard(employee=employee, start=start, passed=19)
    deviation_by(employee)
    results, errors = run_overlapping(lambda: rules_evaluate(today=TODAY))

    assert errors == []
    assert results["first"]["created"] == 2 and results["second"]["created"] == 0
    assert Consequence.objects.count() == 2


def test_without_an_active_rule_a_rollup_enqueues_nothing(settings, django_capture_on_commit_callbacks):
    factories.RuleFactory(active=False)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scorecards_rolled_up.send(sender=Scorecard, periods=[("month", MARCH)], full=False)

    assert callbacks == []


def test_from_observations_to_a_recognition_through_the_rollup(
    settings, employee, recognition_rule, django_capture_on_commit_callbacks
):
    # given two closed months of observations of an employee, 19 of 20 passed (target 90%)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    standard = factories.StandardFactory(target_rate=90)
    window = closed_periods(kind="month", count=2, today=timezone.localdate())
    for start in window:
        observed_at = datetime.combine(
            start + timedelta(days=14), clock_time(12), tzinfo=ZoneInfo(settings.TIME_ZONE)
        )
        for n in range(20):
            factories.ObservationFactory(
                standard=standard,
                location=employee.location,
                team=employee.team,
                employee=employee,
                observed_at=observed_at,
                passed=n != 0,
            )

    # when the rollup runs and commits
    with django_capture_on_commit_callbacks(execute=True):
        scorecards_rollup()

    # then the rules ran on its scorecards
    consequence = Consequence.objects.get()
    assert (consequence.rule, consequence.employee, consequence.period_start) == (
        recognition_rule,
        employee,
        window[0],
    )
    assert {(card.grain, card.period_start) for card in consequence.evidence.all()} == {
        (Grain.EMPLOYEE, start) for start in window
    }
