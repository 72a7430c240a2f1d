"""Invariants of locations, teams and employees: validation names the field, the database agrees."""

import pytest

from organization.models import Employee, Location, Role, Team
from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid

pytestmark = pytest.mark.django_db


# --- Location -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["LDN-01", "A", "X_1", "9-STORE", "ABCDEFGHIJKLMNOPQRST"])
def test_location_code_accepts_capitals_digits_dash_and_underscore(code):
    Location(code=code, name="Store", region="North").full_clean()


@pytest.mark.parametrize("code", ["ldn-01", "-LDN01", "_LDN", "LDN 01", "LDN.01", "LDN/01"])
def test_location_code_format_is_enforced(code):
    assert_invalid(Location(code=code, name="Store", region="North"), "code", "Use 1–20 capital letters")


def test_location_code_is_at_most_20_characters():
    assert_invalid(Location(code="A" * 21, name="Store", region="North"), "code", "at most 20 characters")


def test_location_code_is_unique():
    factories.LocationFactory(code="LDN-01")
    duplicate = Location(code="LDN-01", name="Other store", region="South")

    assert_invalid(duplicate, "code", "Location with this Code already exists.")
    assert_db_rejects(
        duplicate, "location_code_unique_ci", "organization_location.code", "organization_location_code_key"
    )


def test_location_code_is_unique_ignoring_case():
    factories.LocationFactory(code="LDN-01")
    shouting_twin = Location(code="ldn-01", name="Other store", region="South")

    # Validation never lets a lower-case code through, and the database refuses a case-twin
    # written around it (an import, a raw save).
    assert_invalid(shouting_twin, "code", "capital letters")
    assert_db_rejects(shouting_twin, "location_code_unique_ci")


# --- Team -----------------------------------------------------------------------------


def test_team_name_is_unique_per_location(location_a):
    factories.TeamFactory(name="Tills", location=location_a)
    duplicate = Team(name="Tills", location=location_a)

    assert_invalid(duplicate, "__all__", "Team with this Location and Name already exists.")
    assert_db_rejects(duplicate, "team_name_unique_per_location", "organization_team.location_id")


def test_same_team_name_may_exist_at_another_location(location_a, location_b):
    factories.TeamFactory(name="Tills", location=location_a)
    twin = Team(name="Tills", location=location_b)

    twin.full_clean()
    twin.save()


# --- Employee -------------------------------------------------------------------------


def test_employee_built_by_the_factory_is_valid(location_a):
    factories.EmployeeFactory(location=location_a).full_clean()


def test_employee_team_must_be_at_their_location(location_a, location_b):
    team_b = factories.TeamFactory(name="Warehouse", location=location_b)
    employee = factories.EmployeeFactory.build(user=factories.UserFactory(), location=location_a, team=team_b)

    # A cross-table rule: only validation can check it (no CHECK constraint spans two tables).
    assert_invalid(employee, "team", "belongs to Beta Road (BBB-01), not to this location")


def test_employee_without_team_is_valid(location_a):
    employee = factories.EmployeeFactory.build(user=factories.UserFactory(), location=location_a, team=None)

    employee.full_clean()


def test_employee_role_must_be_staff_manager_or_admin(location_a):
    employee = factories.EmployeeFactory.build(
        user=factories.UserFactory(), location=location_a, team=None, role="owner"
    )

    assert_invalid(employee, "role", "is not a valid choice")
    assert_db_rejects(employee, "employee_role_valid")


def test_employee_number_is_unique(location_a):
    factories.EmployeeFactory(employee_number="E-1", location=location_a)
    duplicate = factories.EmployeeFactory.build(
        user=factories.UserFactory(), employee_number="E-1", location=location_a, team=None
    )

    assert_invalid(duplicate, "employee_number", "Employee with this Employee number already exists.")
    assert_db_rejects(duplicate, "employee_number")


def test_roles_are_exactly_staff_manager_and_admin():
    assert Role.values == ["staff", "manager", "admin"]


# --- __str__ --------------------------------------------------------------------------


def _employee_named_ada():
    user = factories.UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    return factories.EmployeeFactory(user=user, employee_number="E-42")


def _employee_without_a_name():
    user = factories.UserFactory(username="jdoe", first_name="", last_name="")
    return factories.EmployeeFactory(user=user, employee_number="E-43")


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: factories.LocationFactory(code="LDN-01", name="London Bridge"), "London Bridge (LDN-01)"),
        (
            lambda: factories.TeamFactory(name="Tills", location=factories.LocationFactory(code="LDN-01")),
            "Tills · LDN-01",
        ),
        (_employee_named_ada, "Ada Lovelace (E-42)"),
        (_employee_without_a_name, "jdoe (E-43)"),
    ],
    ids=["location", "team", "employee", "employee-without-name"],
)
def test_organisation_models_read_well_as_text(build, expected):
    assert str(build()) == expected


def test_employee_scope_paths_point_at_the_employee_itself():
    # The scope helper relies on this shape; see tests/test_scope.py.
    assert Employee.scope_paths == {"location": "location", "team": "team", "employee": "pk"}
