"""Acknowledgement reminders: one email per employee listing every standard version they still have to accept."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F

from organization.models import Employee
from organization.notifications import NoticeItem, notices_send

from .models import Acknowledgement, Standard, Status

ACKNOWLEDGEMENT_NOTICE = "acknowledgement_reminder"


def acknowledgements_outstanding() -> dict[Employee, list[Standard]]:
    """Every active employee → the standards they have to acknowledge, in code order.

    The same answer as `standards.selectors.standards_to_acknowledge` for each employee (active
    standards for every team or for the employee's, whose version in force they have not accepted),
    in three queries for the whole organisation instead of one per employee.
    """
    standards = list(Standard.objects.filter(status=Status.ACTIVE).prefetch_related("teams").order_by("code"))
    teams = {standard.pk: {team.pk for team in standard.teams.all()} for standard in standards}
    accepted = set(
        Acknowledgement.objects.filter(
            standard__status=Status.ACTIVE, version=F("standard__version")
        ).values_list("employee_id", "standard_id")
    )
    outstanding: dict[Employee, list[Standard]] = defaultdict(list)
    employees = (
        Employee.objects.filter(active=True, user__is_active=True).select_related("user").order_by("pk")
    )
    for employee in employees:
        for standard in standards:
            applies = not teams[standard.pk] or employee.team_id in teams[standard.pk]
            if applies and (employee.pk, standard.pk) not in accepted:
                outstanding[employee].append(standard)
    return dict(outstanding)


def acknowledgement_reminders_send() -> dict[str, int]:
    """Email every employee the standards they still have to acknowledge, in one email each.

    An item's key is ``ack:<standard id>:v<version>``: a new version of a standard is a new reminder;
    the same version is never reminded twice. Returns `NoticeResult` counts.
    """
    batches = {
        employee.user: [
            NoticeItem(key=f"ack:{standard.pk}:v{standard.version}", context={"standard": standard})
            for standard in standards
        ]
        for employee, standards in acknowledgements_outstanding().items()
    }
    return notices_send(
        kind=ACKNOWLEDGEMENT_NOTICE, batches=batches, template="acknowledgement_reminder"
    ).as_dict()
