"""Training refresher reminders: one email per employee listing every required course that needs them."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from organization.notifications import NoticeItem, notices_send

from .models import Assignment
from .selectors import TrainingStatus, training_status_for

TRAINING_NOTICE = "training_reminder"
# The statuses an employee is reminded of; "not started" (deadline far off) and "current" need nothing.
REMIND = (TrainingStatus.DUE, TrainingStatus.OVERDUE, TrainingStatus.EXPIRING_SOON, TrainingStatus.EXPIRED)


def training_reminders_send(*, today: date | None = None) -> dict[str, int]:
    """Email every active employee whose required training is due, overdue, expiring soon or expired.

    Statuses come from `training.selectors.training_status_for`. An item's key is
    ``training:<assignment id>:<status>:<date>`` — the deadline for due/overdue, the expiry date for
    expiring soon/expired — so each change of state is told once, and a refreshed course that later
    nears its new expiry is told again. A completion logged and awaiting a manager's verification is
    not nagged about: the employee has done their part. Returns `NoticeResult` counts.
    """
    today = today or timezone.localdate()
    assignments = Assignment.objects.filter(
        employee__active=True, employee__user__is_active=True, course__active=True
    )
    batches: dict = {}
    for row in training_status_for(assignments, today=today):
        if row.status not in REMIND or row.awaiting_verification:
            continue
        assignment = row.assignment
        expiring = row.status in (TrainingStatus.EXPIRING_SOON, TrainingStatus.EXPIRED)
        when = row.expires_on if expiring else assignment.due_on
        item = NoticeItem(
            key=f"training:{assignment.pk}:{row.status}:{when.isoformat()}",
            context={
                "course": assignment.course,
                "status": row.label,
                "summary": row.summary,
                "date": when,
                "expiring": expiring,
            },
        )
        batches.setdefault(assignment.employee.user, []).append(item)
    return notices_send(kind=TRAINING_NOTICE, batches=batches, template="training_reminder").as_dict()
