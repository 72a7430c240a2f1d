"""Reads for training: where each employee stands on each course they must complete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

from django.db.models import OuterRef, Q, QuerySet, Subquery
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


def assignments_not_current(queryset: QuerySet[Assignment], *, today: date) -> QuerySet[Assignment]:
    """The active assignments in `queryset` that `training_status` calls expired or overdue, in SQL:
    the latest verified completion has expired, or none is verified and the due date has passed."""
    rows = assignments_with_latest_completion(queryset.filter(active=True))
    return rows.filter(
        Q(verified_on__isnull=False, verified_expires_on__lt=today)
        | Q(verified_on__isnull=True, due_on__lt=today)
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


def verification_pending(user) -> QuerySet[Completion]:
    """Completions logged by employees in the user's scope and waiting for verification, oldest first."""
    pending = Completion.objects.filter(status=CompletionStatus.LOGGED).select_related(
        "employee__user", "employee__location", "course"
    )
    return scope_queryset(user, pending).order_by("logged_at")


# --- CSV exports ("Download CSV" on the matrix and the verification queue) --------------------

# The matrix in "long" form: one row per employee × course required of them (cells the page
# shows as "·", not required, have no row), so a spreadsheet can filter and pivot it.
MATRIX_CSV_HEADER = (
    "employee",
    "employee_number",
    "location",
    "team",
    "course_code",
    "course",
    "status",
    "awaiting_verification",
    "due_on",
    "verified_on",
    "expires_on",
)
# Employees whose cells are read together: every batch costs a fixed number of queries.
MATRIX_CSV_BATCH = 500


def matrix_csv_rows(
    user, *, today: date | None = None, batch_size: int = MATRIX_CSV_BATCH
) -> Iterator[tuple]:
    """Rows of the matrix export, in `MATRIX_CSV_HEADER`'s order, for every employee in the user's
    scope (not one page), in the page's order; status labels are the page's words.

    Read lazily: one query streams the employees, and each batch of `batch_size` employees costs
    the two queries of `matrix_cells` (courses, cells), so the count grows with the number of
    batches, never with the number of employees or cells within one.
    """
    today = today or timezone.localdate()
    employees = matrix_employees(user).select_related("team").iterator(chunk_size=batch_size)
    while batch := list(islice(employees, batch_size)):
        courses, cells = matrix_cells(user, [employee.pk for employee in batch], today=today)
        for employee in batch:
            for course in courses:
                cell = cells.get((employee.pk, course.pk))
                if cell is None:
                    continue
                yield (
                    employee.full_name,
                    employee.employee_number,
                    employee.location.name,
                    employee.team.name if employee.team_id else "",
                    course.code,
                    course.title,
                    cell.label,
                    cell.awaiting_verification,
                    cell.assignment.due_on,
                    cell.verified_on,
                    cell.expires_on,
                )


VERIFICATION_CSV_HEADER = (
    "employee",
    "employee_number",
    "location",
    "course_code",
    "course",
    "completed_on",
    "score",
    "method",
    "evidence",
    "logged_at",
)


def verification_csv_rows(completions: Iterable[Completion]) -> Iterator[tuple]:
    """Rows of the verification queue export, in `VERIFICATION_CSV_HEADER`'s order, one per
    completion (read lazily). "method" is how the employee says they completed it."""
    for c in completions:
        yield (
            c.employee.full_name,
            c.employee.employee_number,
            c.employee.location.name,
            c.course.code,
            c.course.title,
            c.completed_on,
            c.score,
            c.get_method_display(),
            c.evidence,
            timezone.localtime(c.logged_at),
        )
