"""Reads for training: where each employee stands on each course they must complete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from organization.models import Employee
from organization.scope import scope_queryset

from .models import Assignment, Completion, CompletionStatus, Course

# A completion is "expiring soon" this many days before it expires, and an assignment is
# "due" (rather than "not started") this many days before its deadline.
EXPIRY_WARNING_DAYS = 30
DUE_WARNING_DAYS = 14


class TrainingStatus:
    NOT_STARTED = "not_started"
    DUE = "due"
    OVERDUE = "overdue"
    CURRENT = "current"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"

    LABELS = {
        NOT_STARTED: "Not started",
        DUE: "Due",
        OVERDUE: "Overdue",
        CURRENT: "Current",
        EXPIRING_SOON: "Expiring soon",
        EXPIRED: "Expired",
    }
    # Bootstrap colours, so every page shows a status the same way.
    COLOURS = {
        NOT_STARTED: "secondary",
        DUE: "info",
        OVERDUE: "danger",
        CURRENT: "success",
        EXPIRING_SOON: "warning",
        EXPIRED: "danger",
    }


def training_status(*, due_on: date, verified_on: date | None, expires_on: date | None, today: date) -> str:
    """The status of one employee on one required course.

    `verified_on`/`expires_on` describe the latest verified completion (None when there is
    none; `expires_on` None means it never expires).
    """
    if verified_on is not None:
        if expires_on is None or expires_on > today + timedelta(days=EXPIRY_WARNING_DAYS):
            return TrainingStatus.CURRENT
        if expires_on >= today:
            return TrainingStatus.EXPIRING_SOON
        return TrainingStatus.EXPIRED
    if due_on < today:
        return TrainingStatus.OVERDUE
    if due_on <= today + timedelta(days=DUE_WARNING_DAYS):
        return TrainingStatus.DUE
    return TrainingStatus.NOT_STARTED


@dataclass(frozen=True)
class AssignmentStatus:
    assignment: Assignment
    status: str
    verified_on: date | None
    expires_on: date | None
    awaiting_verification: bool

    @property
    def label(self) -> str:
        return TrainingStatus.LABELS[self.status]

    @property
    def colour(self) -> str:
        return TrainingStatus.COLOURS[self.status]


def assignments_with_latest_completion(queryset: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Annotate assignments with their latest verified completion and any pending one, in one query."""
    completions = Completion.objects.filter(employee=OuterRef("employee"), course=OuterRef("course"))
    latest_verified = completions.filter(status=CompletionStatus.VERIFIED).order_by("-completed_on")
    pending = completions.filter(status=CompletionStatus.LOGGED)
    return queryset.select_related("course", "employee__user").annotate(
        verified_on=Subquery(latest_verified.values("completed_on")[:1]),
        verified_expires_on=Subquery(latest_verified.values("expires_on")[:1]),
        pending_id=Subquery(pending.values("pk")[:1]),
    )


def training_status_for(
    queryset: QuerySet[Assignment], *, today: date | None = None
) -> list[AssignmentStatus]:
    """The training status of each active assignment in `queryset` (already scoped by the caller)."""
    today = today or timezone.localdate()
    rows = assignments_with_latest_completion(queryset.filter(active=True))
    return [
        AssignmentStatus(
            assignment=a,
            status=training_status(
                due_on=a.due_on, verified_on=a.verified_on, expires_on=a.verified_expires_on, today=today
            ),
            verified_on=a.verified_on,
            expires_on=a.verified_expires_on,
            awaiting_verification=a.pending_id is not None,
        )
        for a in rows
    ]


def matrix_employees(user) -> QuerySet[Employee]:
    """Active employees in the user's scope, in matrix order (rows of the training matrix)."""
    employees = scope_queryset(user, Employee.objects.filter(active=True).select_related("user", "location"))
    return employees.order_by("location__name", "user__last_name", "user__first_name")


def matrix_cells(user, employee_ids: list[int], *, today: date | None = None):
    """The columns and cells of the training matrix for one page of employees: every course
    required of anyone in the user's scope, and each (employee, course) status.
    Two queries whatever the data size. Returns (courses, {(employee id, course id): AssignmentStatus}).
    """
    in_scope = scope_queryset(user, Assignment.objects.filter(active=True, employee__active=True))
    courses = list(Course.objects.filter(pk__in=in_scope.values("course_id")).order_by("title"))
    statuses = training_status_for(in_scope.filter(employee_id__in=employee_ids), today=today)
    return courses, {(row.assignment.employee_id, row.assignment.course_id): row for row in statuses}
