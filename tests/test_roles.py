"""The three role groups, their permissions, and keeping each employee's user in the right one."""

from datetime import date

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError

from organization.models import Employee, Role
from organization.roles import PROGRAM_APPS, sync_role_groups
from organization.services import employee_create, employee_sync_groups
from tests import factories

pytestmark = pytest.mark.django_db


def perms_of(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def program_perms(prefix: str = "") -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(
            content_type__app_label__in=PROGRAM_APPS, codename__startswith=prefix
        ).values_list("content_type__app_label", "codename")
    }


# --- the groups after migrations ------------------------------------------------------


def test_the_three_role_groups_exist_after_migrations():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admins", "Managers", "Staff"}


def test_admins_hold_every_program_permission_and_user_management():
    user_perms = {"auth.add_user", "auth.change_user", "auth.delete_user", "auth.view_user"}

    every_model_action = {
        f"{app}.{action}_{model._meta.model_name}"
        for app in PROGRAM_APPS
        for model in apps.get_app_config(app).get_models()
        for action in ("view", "add", "change", "delete")
    }

    assert every_model_action <= program_perms()
    assert perms_of("Admins") == program_perms() | user_perms
    assert "measurement.record_evaluation" in perms_of("Admins")


def test_managers_can_view_everything_in_the_program():
    assert program_perms("view_") <= perms_of("Managers")


@pytest.mark.parametrize(
    "perm",
    [
        "measurement.add_evaluation",
        "measurement.record_evaluation",
        "measurement.add_observation",
        "training.change_completion",
        "gap_analysis.add_actionitem",
        "gap_analysis.change_actionitem",
        "consequences.change_consequence",
    ],
)
def test_managers_record_evaluations_verify_training_and_act_on_gaps(perm):
    assert perm in perms_of("Managers")


@pytest.mark.parametrize(
    "perm",
    [
        "standards.change_standard",
        "standards.add_standard",
        "training.add_course",
        "consequences.change_rule",
        "organization.change_employee",
        "measurement.change_observation",
    ],
)
def test_managers_cannot_change_the_program_itself(perm):
    assert perm not in perms_of("Managers")


def test_managers_delete_nothing():
    assert not {perm for perm in perms_of("Managers") if ".delete_" in perm}


def test_staff_acknowledge_standards_and_log_training_and_nothing_more():
    assert perms_of("Staff") == {
        "standards.view_standard",
        "standards.view_acknowledgement",
        "standards.add_acknowledgement",
        "touchpoints.view_touchpoint",
        "training.view_course",
        "training.view_completion",
        "training.add_completion",
    }


def test_role_permissions_reach_users_through_their_group(staff, manager, admin):
    assert staff.has_perm("standards.add_acknowledgement")
    assert staff.has_perm("training.add_completion")
    assert not staff.has_perm("standards.change_standard")
    assert not staff.has_perm("training.change_completion")
    assert manager.has_perm("measurement.record_evaluation")
    assert manager.has_perm("training.change_completion")
    assert not manager.has_perm("standards.change_standard")
    assert admin.has_perm("standards.change_standard")
    assert admin.has_perm("auth.change_user")


def test_syncing_role_groups_again_changes_nothing():
    before = {name: perms_of(name) for name in ("Admins", "Managers", "Staff")}

    sync_role_groups(Group, Permission)

    assert {name: perms_of(name) for name in ("Admins", "Managers", "Staff")} == before
    assert Group.objects.filter(name__in=before).count() == 3


def test_syncing_role_groups_restores_a_tampered_group():
    staff_group = Group.objects.get(name="Staff")
    staff_group.permissions.add(Permission.objects.get(codename="change_standard"))

    sync_role_groups(Group, Permission)

    assert "standards.change_standard" not in perms_of("Staff")


# --- employee_sync_groups -------------------------------------------------------------


def group_names(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("role", "group", "is_staff"),
    [(Role.STAFF, "Staff", False), (Role.MANAGER, "Managers", False), (Role.ADMIN, "Admins", True)],
)
def test_employee_joins_the_group_of_their_role(role, group, is_staff, location_a):
    employee = factories.EmployeeFactory(role=role, location=location_a)

    employee_sync_groups(employee=employee)

    employee.user.refresh_from_db()
    assert group_names(employee.user) == [group]
    assert employee.user.is_staff is is_staff


@pytest.mark.parametrize(
    ("old", "new", "group", "is_staff"),
    [
        (Role.STAFF, Role.MANAGER, "Managers", False),
        (Role.MANAGER, Role.ADMIN, "Admins", True),
        (Role.ADMIN, Role.STAFF, "Staff", False),
        (Role.ADMIN, Role.MANAGER, "Managers", False),
    ],
)
def test_employee_moves_group_when_their_role_changes(old, new, group, is_staff, location_a):
    employee = factories.EmployeeFactory(role=old, location=location_a)
    employee_sync_groups(employee=employee)

    employee.role = new
    employee.save()
    employee_sync_groups(employee=employee)

    employee.user.refresh_from_db()
    assert group_names(employee.user) == [group]
    assert employee.user.is_staff is is_staff


@pytest.mark.parametrize("role", Role.values)
def test_inactive_employee_loses_their_group_and_admin_access(role, location_a):
    employee = factories.EmployeeFactory(role=role, location=location_a)
    employee_sync_groups(employee=employee)

    employee.active = False
    employee.save()
    employee_sync_groups(employee=employee)

    employee.user.refresh_from_db()
    assert group_names(employee.user) == []
    assert employee.user.is_staff is False


def test_syncing_keeps_groups_that_are_not_roles(location_a):
    employee = factories.EmployeeFactory(role=Role.STAFF, location=location_a)
    auditors = Group.objects.create(name="Auditors")
    employee.user.groups.add(auditors)

    employee_sync_groups(employee=employee)

    assert group_names(employee.user) == ["Auditors", "Staff"]


def test_syncing_leaves_a_superusers_admin_access_alone(location_a):
    root = factories.UserFactory(username="root", is_superuser=True, is_staff=True)
    employee = factories.EmployeeFactory(user=root, role=Role.STAFF, location=location_a)

    employee_sync_groups(employee=employee)

    root.refresh_from_db()
    assert root.is_staff is True
    assert group_names(root) == ["Staff"]


# --- employee_create ------------------------------------------------------------------


def new_employee(location, **overrides) -> Employee:
    values = {
        "username": "ada",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "employee_number": "E-100",
        "location": location,
        "hired_on": date(2024, 9, 2),
    }
    return employee_create(**{**values, **overrides})


def test_employee_create_makes_a_user_with_profile_and_group(location_a):
    team = factories.TeamFactory(name="Tills", location=location_a)

    employee = new_employee(location_a, role=Role.MANAGER, team=team, job_title="Shift lead")

    employee.refresh_from_db()
    assert employee.user.username == "ada"
    assert employee.user.get_full_name() == "Ada Lovelace"
    assert (employee.employee_number, employee.team, employee.job_title) == ("E-100", team, "Shift lead")
    assert group_names(employee.user) == ["Managers"]
    assert employee.user.is_staff is False


def test_employee_create_without_password_leaves_it_unusable(location_a):
    assert not new_employee(location_a).user.has_usable_password()


def test_employee_create_sets_the_given_password(location_a):
    assert new_employee(location_a, password="correct-horse-battery").user.check_password(
        "correct-horse-battery"
    )


def test_employee_create_makes_admins_staff_users(location_a):
    assert new_employee(location_a, role=Role.ADMIN).user.is_staff is True


def test_employee_create_refuses_a_duplicate_employee_number_and_saves_nothing(location_a):
    factories.EmployeeFactory(employee_number="E-100", location=location_a)
    users_before = get_user_model().objects.count()

    with pytest.raises(ValidationError) as excinfo:
        new_employee(location_a, employee_number="E-100")

    assert (
        "Employee with this Employee number already exists." in excinfo.value.message_dict["employee_number"]
    )
    assert get_user_model().objects.count() == users_before
    assert not get_user_model().objects.filter(username="ada").exists()


def test_employee_create_refuses_a_team_at_another_location_and_saves_nothing(location_a, location_b):
    team_b = factories.TeamFactory(name="Warehouse", location=location_b)
    users_before = get_user_model().objects.count()

    with pytest.raises(ValidationError) as excinfo:
        new_employee(location_a, team=team_b)

    assert "team" in excinfo.value.message_dict
    assert get_user_model().objects.count() == users_before


def test_employee_create_refuses_a_taken_username(location_a):
    factories.UserFactory(username="ada")
    employees_before = Employee.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        new_employee(location_a)

    assert "A user with that username already exists." in excinfo.value.message_dict["username"]
    assert Employee.objects.count() == employees_before


def test_employee_create_refuses_an_unknown_role(location_a):
    users_before = get_user_model().objects.count()

    with pytest.raises(ValidationError) as excinfo:
        new_employee(location_a, role="owner")

    assert "role" in excinfo.value.message_dict
    assert get_user_model().objects.count() == users_before
