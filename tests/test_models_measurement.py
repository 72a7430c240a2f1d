"""Invariants of evaluations, observations, feedback, scorecards and deviations."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone

from measurement.models import Deviation, DeviationStatus, Feedback, Observation
from standards.models import Comparator, MeasureKind
from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid

pytestmark = pytest.mark.django_db


NOON = datetime(2025, 2, 3, 12, 0, tzinfo=UTC)


# --- Evaluation -----------------------------------------------------------------------


def test_evaluation_built_by_the_factory_is_valid(location_a):
    factories.EvaluationFactory.build(location=location_a).full_clean()


@pytest.mark.parametrize(
    ("score", "phrase"),
    [(Decimal("-0.01"), "greater than or equal to 0"), (Decimal("100.01"), "less than or equal to 100")],
)
def test_evaluation_score_lies_between_0_and_100(score, phrase, location_a):
    evaluation = factories.EvaluationFactory.build(location=location_a, score=score)

    assert_invalid(evaluation, "score", phrase)
    assert_db_rejects(evaluation, "evaluation_score_0_100")


def test_evaluation_with_a_failed_critical_item_fails_whatever_the_score(location_a):
    evaluation = factories.EvaluationFactory.build(
        location=location_a, score=Decimal("98"), critical_failed=True, passed=True
    )

    assert_invalid(evaluation, "passed", "A failed critical item fails the whole evaluation")
    assert_db_rejects(evaluation, "evaluation_critical_failure_fails")


def test_evaluation_with_a_failed_critical_item_may_be_recorded_as_failed(location_a):
    factories.EvaluationFactory.build(location=location_a, critical_failed=True, passed=False).full_clean()


def test_evaluation_method_is_one_of_the_choices(location_a):
    evaluation = factories.EvaluationFactory.build(location=location_a, method="hunch")

    assert_invalid(evaluation, "method", "is not a valid choice")
    assert_db_rejects(evaluation, "evaluation_method_valid")


# --- Observation ----------------------------------------------------------------------


@pytest.fixture
def phone_standard():
    """Answer the phone within 3 rings."""
    return factories.StandardFactory(
        code="PHONE-01",
        measure_kind=MeasureKind.NUMERIC,
        comparator=Comparator.LTE,
        threshold=Decimal("3"),
        unit="rings",
    )


@pytest.fixture
def friendliness_standard():
    """Friendliness rated at least 4 of 5."""
    return factories.StandardFactory(
        code="FRIENDLY-01", measure_kind=MeasureKind.RATING, comparator=Comparator.GTE, threshold=Decimal("4")
    )


def observation(location, **overrides) -> Observation:
    """An unsaved observation at `location` (a pass/fail standard unless overridden)."""
    if "standard" not in overrides:
        overrides["standard"] = factories.StandardFactory()
    return factories.ObservationFactory.build(location=location, **overrides)


def test_observation_of_a_pass_fail_standard_needs_no_value(location_a):
    observation(location_a, passed=False).full_clean()


def test_observation_cannot_be_changed_once_recorded(location_a):
    recorded = factories.ObservationFactory(location=location_a, passed=True)
    recorded.passed = False

    with pytest.raises(ValidationError, match="cannot be changed once recorded; record a correction instead"):
        recorded.save()

    recorded.refresh_from_db()
    assert recorded.passed is True


def test_a_correction_is_a_new_observation_that_supersedes_the_old(location_a):
    recorded = factories.ObservationFactory(location=location_a, passed=True)
    correction = observation(location_a, standard=recorded.standard, passed=False, supersedes=recorded)

    correction.full_clean()
    correction.save()

    assert recorded.superseded_by == correction


def test_observation_cannot_supersede_itself(location_a):
    own_id = (Observation.objects.aggregate(top=Max("pk"))["top"] or 0) + 1000
    looped = observation(location_a, pk=own_id, supersedes_id=own_id)

    assert_invalid(looped, "supersedes", "An observation cannot supersede itself.")
    assert_db_rejects(looped, "observation_not_self_superseding")


def test_observation_team_must_be_at_the_location(location_a, location_b):
    team_b = factories.TeamFactory(name="Warehouse", location=location_b)

    # Cross-table rules: validation checks them, the database cannot.
    assert_invalid(observation(location_a, team=team_b), "team", "Team “Warehouse” is not at Alpha Street")


def test_observation_employee_must_work_at_the_location(location_a, location_b):
    user = factories.UserFactory(first_name="Ada", last_name="Lovelace")
    employee_b = factories.EmployeeFactory(user=user, employee_number="E-42", location=location_b)

    assert_invalid(
        observation(location_a, employee=employee_b),
        "employee",
        "Ada Lovelace (E-42) does not work at Alpha Street (AAA-01)",
    )


def test_observation_team_and_employee_at_the_location_are_valid(location_a):
    employee = factories.EmployeeFactory(location=location_a)

    observation(location_a, team=employee.team, employee=employee).full_clean()


@pytest.mark.parametrize("standard", ["phone_standard", "friendliness_standard"])
def test_observation_of_a_rating_or_numeric_standard_needs_a_value(standard, location_a, request):
    measured = observation(location_a, standard=request.getfixturevalue(standard), value=None)

    assert_invalid(measured, "value", "enter the value")


@pytest.mark.parametrize(
    ("value", "passed", "valid"),
    [("2", True, True), ("3", True, True), ("4", False, True), ("4", True, False), ("1", False, False)],
)
def test_observation_passed_must_agree_with_the_value(value, passed, valid, phone_standard, location_a):
    measured = observation(location_a, standard=phone_standard, value=Decimal(value), passed=passed)

    if valid:
        measured.full_clean()
    else:
        assert_invalid(
            measured, "passed", f"A value of {value} does not agree with passed={passed} for ≤ 3 rings"
        )


@pytest.mark.parametrize(("value", "passed"), [("0", False), ("6", True), ("5.5", True)])
def test_observation_rating_lies_on_the_1_to_5_scale(value, passed, friendliness_standard, location_a):
    rated = observation(location_a, standard=friendliness_standard, value=Decimal(value), passed=passed)

    assert_invalid(rated, "value", "A rating lies on the 1–5 scale.")


def test_observation_rating_on_the_scale_is_valid(friendliness_standard, location_a):
    observation(location_a, standard=friendliness_standard, value=Decimal("5"), passed=True).full_clean()


def test_observation_external_id_is_stored_once(location_a):
    factories.ObservationFactory(location=location_a, external_id="till-7/2025-02-03/001")
    resent = observation(location_a, external_id="till-7/2025-02-03/001")

    assert_invalid(resent, "external_id", "Observation with this External id already exists.")
    assert_db_rejects(resent, "measurement_observation.external_id", "observation_external_id_unique")


def test_observations_without_external_id_do_not_collide(location_a):
    factories.ObservationFactory(location=location_a, external_id=None)
    second = observation(location_a, external_id=None)

    second.full_clean()
    second.save()


@pytest.mark.parametrize("weight", [Decimal("0"), Decimal("-1")])
def test_observation_weight_must_be_positive(weight, location_a):
    weighed = observation(location_a, weight=weight)

    assert_invalid(weighed, "weight", "greater than or equal to 0.01")
    assert_db_rejects(weighed, "observation_weight_positive")


def test_observation_source_is_one_of_the_choices(location_a):
    rumour = observation(location_a, source="rumour")

    assert_invalid(rumour, "source", "is not a valid choice")
    assert_db_rejects(rumour, "observation_source_valid")


# --- Feedback -------------------------------------------------------------------------


def feedback(location, **overrides) -> Feedback:
    return factories.FeedbackFactory.build(
        location=location, touchpoint=factories.TouchpointFactory(), **overrides
    )


def test_feedback_built_by_the_factory_is_valid(location_a):
    feedback(location_a).full_clean()


@pytest.mark.parametrize(
    ("csat", "phrase"), [(0, "greater than or equal to 1"), (6, "less than or equal to 5")]
)
def test_feedback_csat_lies_between_1_and_5(csat, phrase, location_a):
    answer = feedback(location_a, csat=csat)

    assert_invalid(answer, "csat", phrase)
    assert_db_rejects(answer, "feedback_csat_1_5")


def test_feedback_nps_lies_between_0_and_10(location_a):
    answer = feedback(location_a, nps=11)

    assert_invalid(answer, "nps", "less than or equal to 10")
    assert_db_rejects(answer, "feedback_nps_0_10")


def test_feedback_nps_of_0_is_a_valid_answer(location_a):
    feedback(location_a, csat=None, nps=0).full_clean()


def test_feedback_cannot_be_empty(location_a):
    blank = feedback(location_a, csat=None, nps=None, comment="")

    assert_invalid(blank, "__all__", "Give a rating, a score or a comment.")
    assert_db_rejects(blank, "feedback_not_empty")


def test_feedback_of_whitespace_only_is_empty(location_a):
    assert_invalid(feedback(location_a, csat=None, nps=None, comment="  \n"), "__all__", "Give a rating")


def test_feedback_with_only_a_comment_is_valid(location_a):
    feedback(location_a, csat=None, nps=None, comment="The queue was long.").full_clean()


@pytest.mark.parametrize(
    "contact", [{"contact_email": "ada@example.com"}, {"contact_name": "Ada"}], ids=["email", "name"]
)
def test_feedback_contact_details_need_consent(contact, location_a):
    answer = feedback(location_a, contact_consent=False, **contact)

    assert_invalid(answer, "contact_consent", "Tick the consent box so we may contact you")
    assert_db_rejects(answer, "feedback_contact_needs_consent")


def test_feedback_contact_details_with_consent_are_kept(location_a):
    feedback(
        location_a, contact_name="Ada", contact_email="ada@example.com", contact_consent=True
    ).full_clean()


# --- Scorecard ------------------------------------------------------------------------


def test_scorecard_built_by_the_factory_is_valid(location_a):
    factories.ScorecardFactory.build(location=location_a).full_clean()


def test_scorecard_is_unique_per_period_and_grain_key(location_a):
    first = factories.ScorecardFactory(location=location_a)
    again = factories.ScorecardFactory.build(location=location_a, period_start=first.period_start)

    assert_invalid(
        again, "__all__", "Scorecard with this Period kind, Period start, Grain and Grain key already exists."
    )
    assert_db_rejects(again, "scorecard_one_per_grain", "measurement_scorecard.period_kind")


def test_scorecard_of_the_same_grain_key_in_another_period_is_valid(location_a):
    first = factories.ScorecardFactory(location=location_a, period_start=date(2025, 1, 1))
    factories.ScorecardFactory.build(
        location=location_a, grain_key=first.grain_key, period_start=date(2025, 2, 1)
    ).full_clean()


def test_scorecard_cannot_pass_more_than_it_observed(location_a):
    impossible = factories.ScorecardFactory.build(
        location=location_a, observations=20, passed=21, pass_rate=1
    )

    assert_invalid(impossible, "passed", "21 passed out of 20 observations is impossible")
    assert_db_rejects(impossible, "scorecard_passed_le_n")


@pytest.mark.parametrize(
    ("pass_rate", "phrase"), [(-0.1, "greater than or equal to 0"), (1.5, "less than or equal to 1")]
)
def test_scorecard_pass_rate_is_a_share_between_0_and_1(pass_rate, phrase, location_a):
    scorecard = factories.ScorecardFactory.build(location=location_a, pass_rate=pass_rate)

    assert_invalid(scorecard, "pass_rate", phrase)
    assert_db_rejects(scorecard, "scorecard_pass_rate_0_1")


def test_scorecard_without_observations_has_no_pass_rate(location_a):
    factories.ScorecardFactory.build(
        location=location_a, observations=0, passed=0, pass_rate=None, target_met=None
    ).full_clean()


@pytest.mark.parametrize(
    ("field", "constraint"), [("period_kind", "scorecard_period_valid"), ("grain", "scorecard_grain_valid")]
)
def test_scorecard_period_and_grain_are_choices(field, constraint, location_a):
    scorecard = factories.ScorecardFactory.build(location=location_a, **{field: "decade"})

    assert_invalid(scorecard, field, "is not a valid choice")
    assert_db_rejects(scorecard, constraint)


# --- Deviation ------------------------------------------------------------------------


def deviation(location, **overrides) -> Deviation:
    failed = factories.ObservationFactory(
        location=location,
        passed=False,
        standard=factories.StandardFactory(non_negotiable=True, target_rate=Decimal("100")),
    )
    values = {"standard": failed.standard, "location": location, "detected_at": timezone.now()}
    return Deviation(observation=failed, **{**values, **overrides})


def test_deviation_is_open_or_closed_and_never_excused():
    assert DeviationStatus.values == ["open", "closed"]
    assert [label for _, label in DeviationStatus.choices] == ["Open", "Closed by corrective action"]


def test_deviation_cannot_be_excused_or_waived(location_a):
    # "waived" fits the 6-character column, so a CHECK constraint (not the length) must refuse it. Both
    # status checks do; PostgreSQL happens to report the second one first.
    waived = deviation(location_a, status="waived")

    assert_invalid(waived, "status", "Value 'waived' is not a valid choice.")
    assert_db_rejects(waived, "deviation_status_valid", "deviation_closed_has_date")


def test_open_deviation_is_valid(location_a):
    found = deviation(location_a)

    found.full_clean()
    found.save()


def test_closed_deviation_needs_a_closing_date(location_a):
    closed = deviation(location_a, status=DeviationStatus.CLOSED, closed_at=None)

    assert_invalid(closed, "closed_at", "Give the date the corrective action closed this deviation.")
    assert_db_rejects(closed, "deviation_closed_has_date")


def test_open_deviation_has_no_closing_date(location_a):
    still_open = deviation(location_a, status=DeviationStatus.OPEN, closed_at=timezone.now())

    assert_invalid(still_open, "closed_at", "An open deviation has no closing date.")
    assert_db_rejects(still_open, "deviation_closed_has_date")


def test_closed_deviation_with_a_date_is_valid(location_a):
    deviation(location_a, status=DeviationStatus.CLOSED, closed_at=timezone.now()).full_clean()


def test_observation_has_at_most_one_deviation(location_a):
    first = deviation(location_a)
    first.save()
    second = Deviation(
        observation=first.observation,
        standard=first.standard,
        location=location_a,
        detected_at=timezone.now(),
    )

    assert_invalid(second, "observation", "Deviation with this Observation already exists.")
    assert_db_rejects(second, "measurement_deviation.observation_id", "measurement_deviation_observation_id")


# --- __str__ --------------------------------------------------------------------------


def test_measurement_models_read_well_as_text(location_a):
    standard = factories.StandardFactory(code="GREET-01")
    touchpoint = factories.TouchpointFactory(name="Checkout till")

    evaluation = factories.EvaluationFactory(location=location_a, evaluated_at=NOON)
    assert str(evaluation) == "Mystery shop at AAA-01, 3 Feb 2025"
    failed = factories.ObservationFactory(
        standard=standard, location=location_a, observed_at=NOON, passed=False
    )
    assert str(failed) == "GREET-01 failed at AAA-01, 3 Feb 2025 12:00"
    answer = factories.FeedbackFactory(touchpoint=touchpoint, location=location_a, submitted_at=NOON)
    assert str(answer) == "Feedback on Checkout till at AAA-01, 3 Feb 2025"
    scorecard = factories.ScorecardFactory(location=location_a, period_start=date(2025, 2, 1))
    assert str(scorecard) == f"Month from 1 Feb 2025: Location location={location_a.pk}"
    found = deviation(location_a, detected_at=NOON)
    found.save()
    assert str(found) == f"Deviation of {found.standard.code} at AAA-01, 3 Feb 2025"
