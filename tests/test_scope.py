"""Who sees what: the one scope helper every list, detail, export and API view goes through.

The world: `staff` and a colleague on another team work at location A, which `manager` manages;
a third employee works at location B, which `other_manager` manages. Each of the three has one
record of every scoped kind.
"""

from decimal import Decimal

import pytest
from django.http import Http404

from consequences.models import Consequence, SubjectKind
from gap_analysis.models import ActionItem, Rating
from measurement.models import Deviation, Evaluation, Feedback, Observation, Scorecard
from organization.models import Employee, Location, Role
from organization.scope import (
    get_in_scope,
    get_location_for,
    location_queryset_for,
    scope_filter,
    scope_queryset,
)
from standards.models import Acknowledgement
from tests import factories
from touchpoints.models import Touchpoint
from training.models import Assignment, Completion

pytestmark = pytest.mark.django_db

# Every scoped model, and whether it carries an employee (staff see their own rows of those).
PERSONAL = {
    "employee": Employee,
    "completion": Completion,
    "acknowledgement": Acknowledgement,
    "assignment": Assignment,
    "observation": Observation,
    "evaluation": Evaluation,
    "deviation": Deviation,
    "consequence": Consequence,
    "scorecard": Scorecard,
}
LOCATION_ONLY = {"feedback": Feedback, "action_item": ActionItem}
SCOPED = {**PERSONAL, **LOCATION_ONLY}


def records_of(employee: Employee) -> dict:
    """One record of every scoped kind about `employee` (or, for location-only kinds, their location)."""
    location, team = employee.location, employee.team
    at_work = {"location": location, "team": team, "employee": employee}
    # One observation each: a failed one of a non-negotiable standard, hence also a deviation.
    failed = factories.ObservationFactory(
        passed=False,
        standard=factories.StandardFactory(non_negotiable=True, target_rate=Decimal("100")),
        **at_work,
    )
    rating = factories.RatingFactory(assessment=factories.AssessmentFactory(location=location))
    return {
        "employee": employee,
        "completion": factories.CompletionFactory(employee=employee),
        "acknowledgement": factories.AcknowledgementFactory(employee=employee),
        "assignment": factories.AssignmentFactory(employee=employee),
        "observation": failed,
        "evaluation": factories.EvaluationFactory(**at_work),
        "deviation": factories.DeviationFactory(observation=failed, team=team, employee=employee),
        "consequence": factories.ConsequenceFactory(subject_kind=SubjectKind.EMPLOYEE, **at_work),
        "scorecard": factories.ScorecardFactory(
            grain="employee", grain_key=f"employee={employee.pk}", **at_work
        ),
        "feedback": factories.FeedbackFactory(location=location),
        "action_item": factories.ActionItemFactory(rating=rating, location=location),
    }


@pytest.fixture
def mine(staff):
    return records_of(staff.employee)


@pytest.fixture
def colleagues(location_a, staff):
    colleague = factories.EmployeeFactory(location=location_a)
    assert colleague.team != staff.employee.team
    return records_of(colleague)


@pytest.fixture
def elsewhere(location_b):
    return records_of(factories.EmployeeFactory(location=location_b))


@pytest.fixture
def team_manager(location_a, staff):
    """A manager of staff's team only: no location of their own to manage."""
    employee = factories.EmployeeFactory(role=Role.MANAGER, location=location_a, team=None)
    staff.employee.team.managers.add(employee.user)
    return employee.user


def visible(user, kind: str) -> set:
    return set(scope_queryset(user, SCOPED[kind].objects.all()))


# --- managers of a location -----------------------------------------------------------


@pytest.mark.parametrize("kind", SCOPED)
def test_manager_sees_their_locations_records_and_not_another_locations(
    kind, manager, mine, colleagues, elsewhere
):
    seen = visible(manager, kind)

    assert mine[kind] in seen
    assert colleagues[kind] in seen
    assert elsewhere[kind] not in seen


@pytest.mark.parametrize("kind", SCOPED)
def test_other_manager_sees_only_their_own_location(kind, other_manager, mine, colleagues, elsewhere):
    seen = visible(other_manager, kind)

    assert elsewhere[kind] in seen
    assert mine[kind] not in seen
    assert colleagues[kind] not in seen


def test_manager_sees_every_employee_of_their_location_including_themselves(
    manager, other_manager, staff, location_a, mine, colleagues, elsewhere
):
    assert visible(manager, "employee") == set(Employee.objects.filter(location=location_a))
    assert staff.employee in visible(manager, "employee")
    assert other_manager.employee not in visible(manager, "employee")


def test_manager_of_a_location_and_one_of_its_teams_sees_each_record_once(manager, staff, mine, colleagues):
    staff.employee.team.managers.add(manager)

    completions = scope_queryset(manager, Completion.objects.all())

    assert completions.count() == len(set(completions)) == 2


# --- managers of a team ---------------------------------------------------------------


@pytest.mark.parametrize("kind", PERSONAL)
def test_team_manager_sees_their_teams_records_only(kind, team_manager, mine, colleagues, elsewhere):
    seen = visible(team_manager, kind)

    assert mine[kind] in seen
    assert colleagues[kind] not in seen
    assert elsewhere[kind] not in seen


@pytest.mark.parametrize("kind", LOCATION_ONLY)
def test_team_manager_sees_no_location_wide_records(kind, team_manager, mine, colleagues, elsewhere):
    assert visible(team_manager, kind) == set()


def test_team_membership_alone_gives_a_staff_member_no_team_view(staff, mine, colleagues):
    # Team.managers only counts for managers: a staff member listed there still sees only their own.
    staff.employee.team.managers.add(staff)

    assert visible(staff, "completion") == {mine["completion"]}


# --- staff ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PERSONAL)
def test_staff_sees_only_their_own_records(kind, staff, mine, colleagues, elsewhere):
    assert visible(staff, kind) == {mine[kind]}


@pytest.mark.parametrize("kind", LOCATION_ONLY)
def test_staff_sees_no_location_wide_records(kind, staff, mine, colleagues):
    assert visible(staff, kind) == set()


def test_staff_sees_own_observations_not_those_of_colleagues_at_the_same_location(staff, mine, colleagues):
    own = scope_queryset(staff, Observation.objects.all())

    assert set(own.values_list("employee", flat=True)) == {staff.employee.pk}
    assert colleagues["observation"] not in own


# --- nobody and everybody -------------------------------------------------------------


@pytest.mark.parametrize("kind", SCOPED)
def test_anonymous_user_sees_nothing(kind, anonymous, mine, elsewhere):
    assert visible(anonymous, kind) == set()


@pytest.mark.parametrize("kind", SCOPED)
def test_user_without_employee_profile_sees_nothing(kind, mine, elsewhere):
    bare = factories.UserFactory(username="contractor")

    assert visible(bare, kind) == set()


@pytest.mark.parametrize("kind", SCOPED)
def test_admin_sees_everything(kind, admin, mine, colleagues, elsewhere):
    assert visible(admin, kind) == set(SCOPED[kind].objects.all())
    assert elsewhere[kind] in visible(admin, kind)


@pytest.mark.parametrize("kind", SCOPED)
def test_superuser_without_profile_sees_everything(kind, mine, elsewhere):
    root = factories.UserFactory(username="root", is_superuser=True)

    assert visible(root, kind) == set(SCOPED[kind].objects.all())


# --- get_in_scope ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", SCOPED)
def test_get_in_scope_answers_404_for_another_locations_record(kind, manager, elsewhere):
    with pytest.raises(Http404):
        get_in_scope(manager, SCOPED[kind].objects.all(), pk=elsewhere[kind].pk)


def test_get_in_scope_returns_a_record_in_scope(manager, mine):
    found = get_in_scope(manager, Completion.objects.all(), pk=mine["completion"].pk)

    assert found == mine["completion"]


def test_staff_cannot_fetch_a_colleagues_completion(staff, mine, colleagues):
    assert get_in_scope(staff, Completion.objects.all(), pk=mine["completion"].pk) == mine["completion"]
    with pytest.raises(Http404, match="No completion found in your scope."):
        get_in_scope(staff, Completion.objects.all(), pk=colleagues["completion"].pk)


def test_get_in_scope_answers_404_for_a_missing_record(admin):
    with pytest.raises(Http404):
        get_in_scope(admin, Completion.objects.all(), pk=999_999)


def test_get_in_scope_answers_404_to_anonymous_users(anonymous, mine):
    with pytest.raises(Http404):
        get_in_scope(anonymous, Completion.objects.all(), pk=mine["completion"].pk)


# --- locations ------------------------------------------------------------------------


def test_admin_sees_every_location(admin, location_a, location_b):
    assert set(location_queryset_for(admin, Location.objects.all())) == {location_a, location_b}


def test_manager_sees_the_locations_they_manage(manager, other_manager, location_a, location_b):
    assert set(location_queryset_for(manager, Location.objects.all())) == {location_a}
    assert set(location_queryset_for(other_manager, Location.objects.all())) == {location_b}


def test_manager_sees_the_location_of_a_team_they_manage(manager, location_a, location_b):
    factories.TeamFactory(location=location_b).managers.add(manager)

    assert set(location_queryset_for(manager, Location.objects.all())) == {location_a, location_b}


def test_team_manager_sees_their_teams_location(team_manager, location_a, location_b):
    assert set(location_queryset_for(team_manager, Location.objects.all())) == {location_a}


def test_staff_sees_only_their_own_location(staff, location_a, location_b):
    assert set(location_queryset_for(staff, Location.objects.all())) == {location_a}


def test_location_queryset_keeps_the_callers_filter(admin, location_a, location_b):
    Location.objects.filter(pk=location_b.pk).update(active=False)

    assert set(location_queryset_for(admin, Location.objects.filter(active=True))) == {location_a}


def test_anonymous_and_bare_users_see_no_location(anonymous, location_a, location_b):
    bare = factories.UserFactory(username="contractor")

    assert not location_queryset_for(anonymous, Location.objects.all()).exists()
    assert not location_queryset_for(bare, Location.objects.all()).exists()


def test_get_location_for_returns_a_location_in_scope(manager, location_a):
    assert get_location_for(manager, location_a.pk) == location_a


@pytest.mark.parametrize("user", ["manager", "staff", "anonymous"])
def test_get_location_for_answers_404_outside_scope(user, location_b, request):
    with pytest.raises(Http404, match="No location found in your scope."):
        get_location_for(request.getfixturevalue(user), location_b.pk)


# --- models that cannot be scoped -----------------------------------------------------


@pytest.mark.parametrize("model", [Location, Touchpoint, Rating])
@pytest.mark.parametrize("user", ["staff", "manager", "admin"])
def test_model_without_scope_paths_cannot_be_scoped(model, user, request):
    with pytest.raises(TypeError, match=f"{model.__name__} declares no scope_paths"):
        scope_filter(request.getfixturevalue(user), model)
    with pytest.raises(TypeError):
        scope_queryset(request.getfixturevalue(user), model.objects.all())


def test_team_and_employee_scorecards_reach_their_managers_through_the_team_or_employee(
    manager, other_manager, staff, location_a
):
    team_row = factories.ScorecardFactory(
        grain="team", location=None, team=staff.employee.team, grain_key=f"team={staff.employee.team_id}"
    )
    employee_row = factories.ScorecardFactory(
        grain="employee", location=None, employee=staff.employee, grain_key=f"employee={staff.employee.pk}"
    )
    everything = Scorecard.objects.all()
    assert set(scope_queryset(manager, everything)) >= {team_row, employee_row}
    assert not set(scope_queryset(other_manager, everything)) & {team_row, employee_row}
    assert set(scope_queryset(staff, everything)) == {employee_row}
