"""Writes for the organisation: employees and their role groups."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .models import Employee, Location, Role, Team
from .roles import GROUP_NAMES


def employee_sync_groups(*, employee: Employee) -> None:
    """Put the employee's user in exactly the group of their role; admins may use Django admin."""
    user = employee.user
    role_groups = Group.objects.filter(name__in=GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    if employee.active:
        user.groups.add(Group.objects.get(name=GROUP_NAMES[Role(employee.role)]))
    should_be_staff = employee.active and employee.role == Role.ADMIN
    if user.is_staff != should_be_staff and not user.is_superuser:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])


@transaction.atomic
def employee_create(
    *,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    employee_number: str,
    location: Location,
    hired_on: date,
    role: str = Role.STAFF,
    team: Team | None = None,
    job_title: str = "",
    password: str | None = None,
) -> Employee:
    """Create a user and their employee profile in one go, validated, with the role's group.

    Raises ValidationError naming the field when a value is invalid; nothing is saved then.
    """
    user_model = get_user_model()
    user = user_model(username=username, first_name=first_name, last_name=last_name, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    employee = Employee(
        user=user,
        employee_number=employee_number,
        location=location,
        team=team,
        role=role,
        job_title=job_title,
        hired_on=hired_on,
    )
    employee.full_clean()
    employee.save()
    employee_sync_groups(employee=employee)
    return employee
