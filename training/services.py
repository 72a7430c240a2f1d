"""Writes for training: assignments kept in step with requirements."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from organization.models import Employee

from .models import Assignment, Audience, Requirement


def _requirements_for(employee: Employee, requirements: list[Requirement]) -> list[Requirement]:
    return [
        r
        for r in requirements
        if r.audience == Audience.EVERYONE
        or (r.audience == Audience.ROLE and r.role == employee.role)
        or (r.audience == Audience.TEAM and r.team_id == employee.team_id)
        or (r.audience == Audience.LOCATION and r.location_id == employee.location_id)
    ]


@transaction.atomic
def assignments_sync(*, today: date | None = None) -> dict[str, int]:
    """Make every active employee's assignments match the requirements that apply to them.

    A new starter's assignment runs from their hire date, anyone else's from the day the
    requirement reaches them (today); it is due `due_within_days` later, and when several
    requirements ask for the same course the shortest deadline wins. Assignments no longer
    required are switched off, never deleted, so their history stays; one required again
    restarts from today. Idempotent: a second run with the same data changes nothing.

    Returns counts: {"created": n, "reactivated": n, "deactivated": n}.
    """
    today = today or timezone.localdate()
    requirements = list(Requirement.objects.filter(course__active=True))
    employees = Employee.objects.filter(active=True).only("pk", "role", "team_id", "location_id", "hired_on")
    existing = {(a.employee_id, a.course_id): a for a in Assignment.objects.all()}

    wanted: dict[tuple[int, int], Assignment] = {}
    for employee in employees:
        for requirement in _requirements_for(employee, requirements):
            key = (employee.pk, requirement.course_id)
            new_starter = (today - employee.hired_on).days <= requirement.due_within_days
            assigned_on = employee.hired_on if new_starter else today
            due_on = assigned_on + timedelta(days=requirement.due_within_days)
            current = wanted.get(key)
            if current is None or due_on < current.due_on:
                wanted[key] = Assignment(
                    employee_id=employee.pk,
                    course_id=requirement.course_id,
                    assigned_on=assigned_on,
                    due_on=due_on,
                )

    to_create = [a for key, a in wanted.items() if key not in existing]
    to_reactivate = []
    for key, assignment in wanted.items():
        if key in existing and not existing[key].active:
            previous = existing[key]
            previous.active, previous.assigned_on = True, today
            previous.due_on = today + (assignment.due_on - assignment.assigned_on)
            to_reactivate.append(previous)
    stale = [a.pk for key, a in existing.items() if key not in wanted and a.active]

    Assignment.objects.bulk_create(to_create, batch_size=1000)
    Assignment.objects.bulk_update(to_reactivate, ["active", "assigned_on", "due_on"], batch_size=1000)
    Assignment.objects.filter(pk__in=stale).update(active=False)
    return {"created": len(to_create), "reactivated": len(to_reactivate), "deactivated": len(stale)}
