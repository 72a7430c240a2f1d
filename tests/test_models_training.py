"""Invariants of courses, requirements, assignments and completions."""

from datetime import date, timedelta

import pytest

from organization.models import Role
from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid
from training.models import Audience, Completion, CompletionStatus, Requirement

pytestmark = pytest.mark.django_db


# --- Course ---------------------------------------------------------------------------


def test_course_built_by_the_factory_is_valid():
    factories.CourseFactory.build().full_clean()


def test_course_lasts_at_least_a_minute():
    course = factories.CourseFactory.build(duration_minutes=0)

    assert_invalid(course, "duration_minutes", "greater than or equal to 1")
    assert_db_rejects(course, "course_duration_positive")


def test_course_pass_mark_is_at_most_100():
    course = factories.CourseFactory.build(pass_mark=101)

    assert_invalid(course, "pass_mark", "less than or equal to 100")
    assert_db_rejects(course, "course_pass_mark_0_100")


@pytest.mark.parametrize("pass_mark", [None, 0, 100])
def test_course_pass_mark_may_be_empty_or_0_to_100(pass_mark):
    factories.CourseFactory.build(pass_mark=pass_mark).full_clean()


def test_course_refresher_interval_is_at_least_a_day():
    course = factories.CourseFactory.build(refresher_interval_days=0)

    assert_invalid(course, "refresher_interval_days", "greater than or equal to 1")
    assert_db_rejects(course, "course_refresher_interval_positive")


def test_course_delivery_method_is_one_of_the_choices():
    course = factories.CourseFactory.build(delivery_method="telepathy")

    assert_invalid(course, "delivery_method", "is not a valid choice")
    assert_db_rejects(course, "course_delivery_method_valid")


def test_course_expiry_is_the_completion_date_plus_the_refresher_interval():
    course = factories.CourseFactory.build(refresher_interval_days=365)

    assert course.expiry_for(date(2024, 3, 1)) == date(2025, 3, 1)
    assert course.expiry_for(date(2023, 3, 1)) == date(2024, 2, 29)


def test_course_without_refresher_never_expires():
    assert factories.CourseFactory.build(refresher_interval_days=None).expiry_for(date(2024, 3, 1)) is None


# --- Requirement ----------------------------------------------------------------------


@pytest.fixture
def team(location_a):
    return factories.TeamFactory(name="Tills", location=location_a)


@pytest.fixture
def course():
    return factories.CourseFactory(title="Greeting customers")


@pytest.mark.parametrize(
    "audience_fields",
    [
        {"audience": Audience.EVERYONE},
        {"audience": Audience.ROLE, "role": Role.MANAGER},
        {"audience": Audience.TEAM, "team": "team"},
        {"audience": Audience.LOCATION, "location": "location_a"},
    ],
    ids=["everyone", "role", "team", "location"],
)
def test_requirement_for_each_audience_names_exactly_its_target(audience_fields, course, request):
    fields = {
        key: request.getfixturevalue(value) if key in ("team", "location") else value
        for key, value in audience_fields.items()
    }
    requirement = Requirement(course=course, **fields)

    requirement.full_clean()
    requirement.save()


@pytest.mark.parametrize(
    ("audience", "extra", "field", "phrase"),
    [
        (Audience.EVERYONE, {"role": Role.STAFF}, "role", "Leave role empty when the audience is “Everyone”"),
        (Audience.EVERYONE, {"team": "team"}, "team", "Leave team empty"),
        (Audience.EVERYONE, {"location": "location_a"}, "location", "Leave location empty"),
        (Audience.ROLE, {}, "role", "Choose the role this requirement applies to"),
        (Audience.ROLE, {"role": Role.STAFF, "team": "team"}, "team", "Leave team empty"),
        (Audience.ROLE, {"role": Role.STAFF, "location": "location_a"}, "location", "Leave location empty"),
        (Audience.TEAM, {}, "team", "Choose the team this requirement applies to"),
        (Audience.TEAM, {"team": "team", "role": Role.STAFF}, "role", "Leave role empty"),
        (Audience.TEAM, {"team": "team", "location": "location_a"}, "location", "Leave location empty"),
        (Audience.LOCATION, {}, "location", "Choose the location this requirement applies to"),
        (Audience.LOCATION, {"location": "location_a", "role": Role.STAFF}, "role", "Leave role empty"),
        (Audience.LOCATION, {"location": "location_a", "team": "team"}, "team", "Leave team empty"),
    ],
)
def test_requirement_audience_must_match_the_target_given(audience, extra, field, phrase, course, request):
    fields = {
        key: request.getfixturevalue(value) if key in ("team", "location") else value
        for key, value in extra.items()
    }
    requirement = Requirement(course=course, audience=audience, **fields)

    assert_invalid(requirement, field, phrase)
    assert_db_rejects(requirement, "requirement_audience_consistent")


def test_requirement_audience_labels(course, team, location_a):
    assert Requirement(course=course).audience_label == "everyone"
    assert Requirement(course=course, audience=Audience.ROLE, role=Role.MANAGER).audience_label == (
        "role Manager"
    )
    assert Requirement(course=course, audience=Audience.TEAM, team=team).audience_label == (
        "team Tills · AAA-01"
    )
    assert Requirement(course=course, audience=Audience.LOCATION, location=location_a).audience_label == (
        "location Alpha Street (AAA-01)"
    )


# --- Assignment -----------------------------------------------------------------------


def test_assignment_may_be_due_on_the_day_it_is_assigned():
    today = date.today()
    factories.AssignmentFactory.build(
        employee=factories.EmployeeFactory(),
        course=factories.CourseFactory(),
        assigned_on=today,
        due_on=today,
    ).full_clean()


def test_assignment_cannot_be_due_before_it_is_assigned():
    assignment = factories.AssignmentFactory.build(
        employee=factories.EmployeeFactory(),
        course=factories.CourseFactory(),
        assigned_on=date.today(),
        due_on=date.today() - timedelta(days=1),
    )

    assert_invalid(assignment, "due_on", "cannot be before the date the course was assigned")
    assert_db_rejects(assignment, "assignment_due_after_assigned")


def test_assignment_is_unique_per_employee_and_course():
    first = factories.AssignmentFactory()
    again = factories.AssignmentFactory.build(employee=first.employee, course=first.course)

    assert_invalid(again, "__all__", "Assignment with this Employee and Course already exists.")
    assert_db_rejects(again, "assignment_once_per_course", "training_assignment.employee_id")


# --- Completion -----------------------------------------------------------------------


def completion(**overrides) -> Completion:
    """An unsaved completion of an assessed course (pass mark 80, refresher 365 days)."""
    values = {
        "employee": factories.EmployeeFactory(),
        "course": factories.CourseFactory(pass_mark=80, refresher_interval_days=365),
        "completed_on": date.today() - timedelta(days=30),
        "method": "e_learning",
        "score": 90,
    }
    values.update(overrides)
    return Completion(**values)


def test_completion_of_an_assessed_course_with_a_passing_score_is_valid():
    done = completion(score=80)

    done.full_clean()
    done.save()


def test_completion_score_is_at_most_100():
    done = completion(score=101)

    assert_invalid(done, "score", "less than or equal to 100")
    assert_db_rejects(done, "completion_score_0_100")


def test_completion_score_is_not_negative():
    assert_invalid(completion(score=-1), "score", "greater than or equal to 0")


def test_completion_below_the_pass_mark_is_rejected():
    assert_invalid(completion(score=79), "score", "A score of 79% is below the pass mark of 80%.")


def test_completion_of_an_assessed_course_needs_a_score():
    assert_invalid(
        completion(score=None), "score", "This course is assessed: enter the score (pass mark 80%)"
    )


def test_completion_of_a_course_without_assessment_needs_no_score():
    completion(course=factories.CourseFactory(pass_mark=None), score=None).full_clean()


def test_completion_cannot_be_dated_in_the_future():
    assert_invalid(
        completion(completed_on=date.today() + timedelta(days=1)),
        "completed_on",
        "cannot be dated in the future",
    )


def test_completion_may_be_dated_today():
    completion(completed_on=date.today()).full_clean()


def test_completion_expiry_is_derived_from_the_courses_refresher_interval():
    completed_on = date.today() - timedelta(days=30)
    done = completion(completed_on=completed_on, expires_on=date(2099, 1, 1))

    done.full_clean()

    assert done.expires_on == completed_on + timedelta(days=365)


def test_completion_of_a_course_without_refresher_never_expires():
    course = factories.CourseFactory(pass_mark=None, refresher_interval_days=None)
    done = completion(course=course, score=None, expires_on=date(2099, 1, 1))

    done.full_clean()

    assert done.expires_on is None


def test_completion_expires_after_it_was_completed():
    completed_on = date.today() - timedelta(days=30)
    done = completion(completed_on=completed_on, expires_on=completed_on)

    # Validation cannot be fooled: it derives the expiry from the course, overriding what was typed...
    done.full_clean()
    assert done.expires_on > completed_on
    # ...and the database refuses an expiry written around it.
    done.expires_on = completed_on
    assert_db_rejects(done, "completion_expires_after_completed")


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejected_completion_needs_a_reason(reason):
    done = completion(status=CompletionStatus.REJECTED, rejection_reason=reason)

    assert_invalid(done, "rejection_reason", "Say why the completion is rejected")


def test_database_refuses_a_rejected_completion_without_reason():
    assert_db_rejects(
        completion(status=CompletionStatus.REJECTED, rejection_reason=""), "completion_rejection_has_reason"
    )


def test_rejected_completion_with_a_reason_is_valid():
    completion(
        status=CompletionStatus.REJECTED, rejection_reason="Certificate is for another course."
    ).full_clean()


def test_completion_status_is_logged_verified_or_rejected():
    done = completion(status="excused")

    assert CompletionStatus.values == ["logged", "verified", "rejected"]
    assert_invalid(done, "status", "is not a valid choice")
    assert_db_rejects(done, "completion_status_valid")


def test_completion_method_is_one_of_the_delivery_methods():
    done = completion(method="osmosis")

    assert_invalid(done, "method", "is not a valid choice")
    assert_db_rejects(done, "completion_method_valid")


# --- __str__ --------------------------------------------------------------------------


def test_training_models_read_well_as_text(location_a):
    user = factories.UserFactory(first_name="Ada", last_name="Lovelace")
    employee = factories.EmployeeFactory(user=user, employee_number="E-42", location=location_a)
    course = factories.CourseFactory(code="GREET-101", title="Greeting customers")

    assert str(course) == "GREET-101 · Greeting customers"
    assert str(factories.RequirementFactory(course=course)) == "Greeting customers for everyone"
    assignment = factories.AssignmentFactory(
        employee=employee, course=course, assigned_on=date(2025, 2, 1), due_on=date(2025, 3, 1)
    )
    assert str(assignment) == "Greeting customers for Ada Lovelace (E-42), due 1 Mar 2025"
    done = factories.CompletionFactory(employee=employee, course=course, completed_on=date(2025, 2, 3))
    assert str(done) == "Ada Lovelace (E-42) completed GREET-101 on 3 Feb 2025"
