"""Writes for training: assignments kept in step with requirements, completions logged and reviewed."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from organization.models import Employee
from organization.notifications import serialise_runs

from .models import Assignment, Audience, Completion, CompletionStatus, Course, Requirement

logger = logging.getLogger(__name__)


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

    Returns counts: {"created": n, "reactivated": n, "deactivated": n}. A pair whose deadline no
    calendar holds (a hire date or `due_within_days` at the edge of its column, written past the
    forms) is left out with a logged count, so that it cannot stop the sync for everyone else.
    """
    # Two runs at once (a slow one and the next beat, or a redelivery) would both create the same
    # assignments and the second would fail on their unique key: the later one waits instead.
    serialise_runs("training.assignments_sync")
    today = today or timezone.localdate()
    requirements = list(Requirement.objects.filter(course__active=True))
    employees = Employee.objects.filter(active=True).only("pk", "role", "team_id", "location_id", "hired_on")
    existing = {(a.employee_id, a.course_id): a for a in Assignment.objects.all()}

    wanted: dict[tuple[int, int], Assignment] = {}
    impossible = 0
    for employee in employees:
        for requirement in _requirements_for(employee, requirements):
            key = (employee.pk, requirement.course_id)
            new_starter = (today - employee.hired_on).days <= requirement.due_within_days
            assigned_on = employee.hired_on if new_starter else today
            try:
                due_on = assigned_on + timedelta(days=requirement.due_within_days)
            except OverflowError:
                impossible += 1
                continue
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
            try:
                due_on = today + (assignment.due_on - assignment.assigned_on)
            except OverflowError:
                impossible += 1
                continue
            previous = existing[key]
            previous.active, previous.assigned_on, previous.due_on = True, today, due_on
            to_reactivate.append(previous)
    stale = [a.pk for key, a in existing.items() if key not in wanted and a.active]

    Assignment.objects.bulk_create(to_create, batch_size=1000)
    Assignment.objects.bulk_update(to_reactivate, ["active", "assigned_on", "due_on"], batch_size=1000)
    Assignment.objects.filter(pk__in=stale).update(active=False)
    if impossible:
        logger.warning(
            "Training sync left out %d training assignments whose deadline cannot be computed "
            "(hire date or due-within days beyond any date)",
            impossible,
        )
    return {"created": len(to_create), "reactivated": len(to_reactivate), "deactivated": len(stale)}


def completion_log(
    *,
    employee: Employee,
    course: Course,
    completed_on: date,
    method: str = "",
    score: int | None = None,
    evidence: str = "",
) -> Completion:
    """An employee logs that they completed a course; it waits for a manager's verification.

    `method` is how they completed it (a `DeliveryMethod`); empty means the course's own. The
    expiry is derived from the course's refresher interval. Raises ValidationError naming the
    field (future date, score below the pass mark, missing score on an assessed course).
    """
    completion = Completion(
        employee=employee,
        course=course,
        completed_on=completed_on,
        method=method or course.delivery_method,
        score=score,
        evidence=evidence.strip(),
    )
    completion.full_clean()
    completion.save()
    return completion


def _review(completion: Completion, *, reviewer, status: str, reason: str = "") -> Completion:
    if completion.status != CompletionStatus.LOGGED:
        raise ValidationError(
            {
                "status": f"This completion was already {completion.get_status_display().lower()}; it cannot be reviewed again."
            }
        )
    if completion.employee.user_id == reviewer.pk:
        raise ValidationError({"status": "You cannot verify your own training: ask another manager."})
    completion.status = status
    completion.rejection_reason = reason.strip()
    completion.reviewed_by = reviewer
    completion.reviewed_at = timezone.now()
    completion.full_clean()
    completion.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at"])
    return completion


@transaction.atomic
def completion_verify(*, completion: Completion, reviewer) -> Completion:
    """A manager confirms a logged completion; it then counts towards the employee's training."""
    return _review(completion, reviewer=reviewer, status=CompletionStatus.VERIFIED)


@transaction.atomic
def completion_reject(*, completion: Completion, reviewer, reason: str) -> Completion:
    """A manager rejects a logged completion, saying why so the employee can put it right."""
    return _review(completion, reviewer=reviewer, status=CompletionStatus.REJECTED, reason=reason)
