"""Reads for training: where each employee stands on each course they must complete."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import dateformat, timezone

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
        DUE: "Due soon",
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
    # What each status means, for the matrix's legend; the windows come from the constants above.
    MEANINGS = {
        CURRENT: f"verified, and not expiring in the next {EXPIRY_WARNING_DAYS} days",
        EXPIRING_SOON: f"verified, but expires within {EXPIRY_WARNING_DAYS} days",
        EXPIRED: "verified once, now past its expiry: to renew",
        OVERDUE: "never done, and past its deadline",
        DUE: f"never done, deadline within {DUE_WARNING_DAYS} days",
        NOT_STARTED: f"never done, deadline more than {DUE_WARNING_DAYS} days away",
    }
    # Totals and legends list the statuses in this order: current first, then the most urgent.
    ORDER = (CURRENT, OVERDUE, EXPIRED, EXPIRING_SOON, DUE, NOT_STARTED)


# Dates in words everywhere a person reads them ("4 Aug 2026"); exports keep ISO.
DAY_FORMAT = "j M Y"


def day_text(value: date) -> str:
    """4 Aug 2026."""
    return dateformat.format(value, DAY_FORMAT)


def _in_days(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {days:,} days"


def _days_ago(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days:,} days ago"


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
    # The day the status was worked out for, and the date of the completion awaiting verification.
    today: date | None = None
    pending_completed_on: date | None = None

    @property
    def label(self) -> str:
        return TrainingStatus.LABELS[self.status]

    @property
    def colour(self) -> str:
        return TrainingStatus.COLOURS[self.status]

    @property
    def detail(self) -> str:
        """What the status means for this course, in plain words, with its date:
        'renew by 4 Aug 2026', 'never done, was due 2 Aug 2026 (3 days ago)'."""
        today = self.today or timezone.localdate()
        due_on = self.assignment.due_on
        if self.status == TrainingStatus.CURRENT:
            return f"renew by {day_text(self.expires_on)}" if self.expires_on else "no renewal needed"
        if self.status == TrainingStatus.EXPIRING_SOON:
            return f"renew by {day_text(self.expires_on)} ({_in_days((self.expires_on - today).days)})"
        if self.status == TrainingStatus.EXPIRED:
            return f"expired {day_text(self.expires_on)} ({_days_ago((today - self.expires_on).days)}): renew now"
        if self.status == TrainingStatus.OVERDUE:
            return f"never done, was due {day_text(due_on)} ({_days_ago((today - due_on).days)})"
        if self.status == TrainingStatus.DUE:
            return f"never done, complete by {day_text(due_on)} ({_in_days((due_on - today).days)})"
        return f"never done, complete by {day_text(due_on)}"

    @property
    def when(self) -> str:
        """The date that matters, briefly, for a matrix cell: 'renew by 4 Aug 2026', 'was due 2 Aug 2026'."""
        if self.status in (TrainingStatus.CURRENT, TrainingStatus.EXPIRING_SOON):
            return f"renew by {day_text(self.expires_on)}" if self.expires_on else ""
        if self.status == TrainingStatus.EXPIRED:
            return f"expired {day_text(self.expires_on)}"
        if self.status == TrainingStatus.OVERDUE:
            return f"was due {day_text(self.assignment.due_on)}"
        return f"due {day_text(self.assignment.due_on)}"

    @property
    def summary(self) -> str:
        """'Current · renew by 4 Aug 2026'."""
        return f"{self.label} · {self.detail}"

    @property
    def pending_detail(self) -> str:
        """'logged 3 Aug 2026, awaiting verification', or '' when nothing waits."""
        if not self.awaiting_verification:
            return ""
        if self.pending_completed_on is None:
            return "awaiting verification"
        return f"logged {day_text(self.pending_completed_on)}, awaiting verification"


def assignments_with_latest_completion(queryset: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Annotate assignments with their latest verified completion and any pending one, in one query."""
    completions = Completion.objects.filter(employee=OuterRef("employee"), course=OuterRef("course"))
    latest_verified = completions.filter(status=CompletionStatus.VERIFIED).order_by("-completed_on")
    pending = completions.filter(status=CompletionStatus.LOGGED).order_by("-completed_on", "-pk")
    return queryset.select_related("course", "employee__user").annotate(
        verified_on=Subquery(latest_verified.values("completed_on")[:1]),
        verified_expires_on=Subquery(latest_verified.values("expires_on")[:1]),
        pending_id=Subquery(pending.values("pk")[:1]),
        pending_completed_on=Subquery(pending.values("completed_on")[:1]),
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
            today=today,
            pending_completed_on=a.pending_completed_on,
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


def _status_conditions(today: date) -> dict[str, Q]:
    """`training_status`'s rule in SQL, over `assignments_with_latest_completion`'s annotations."""
    verified, never = Q(verified_on__isnull=False), Q(verified_on__isnull=True)
    expiry_warning = today + timedelta(days=EXPIRY_WARNING_DAYS)
    due_warning = today + timedelta(days=DUE_WARNING_DAYS)
    return {
        TrainingStatus.CURRENT: verified
        & (Q(verified_expires_on__isnull=True) | Q(verified_expires_on__gt=expiry_warning)),
        TrainingStatus.EXPIRING_SOON: verified
        & Q(verified_expires_on__gte=today, verified_expires_on__lte=expiry_warning),
        TrainingStatus.EXPIRED: verified & Q(verified_expires_on__lt=today),
        TrainingStatus.OVERDUE: never & Q(due_on__lt=today),
        TrainingStatus.DUE: never & Q(due_on__gte=today, due_on__lte=due_warning),
        TrainingStatus.NOT_STARTED: never & Q(due_on__gt=due_warning),
    }


AWAITING = "awaiting"


def course_status_counts(user, *, today: date | None = None) -> dict[int, Counter]:
    """For every course required in the user's scope: how many active employees are in each status
    (and how many have a completion awaiting verification), over the whole scope, not one page.
    One query. Returns {course id: Counter({status: n, ..., AWAITING: n})}."""
    today = today or timezone.localdate()
    in_scope = scope_queryset(user, Assignment.objects.filter(active=True, employee__active=True))
    rows = (
        assignments_with_latest_completion(in_scope)
        .order_by()
        .values("course_id")
        .annotate(
            **{
                status: Count("pk", filter=condition)
                for status, condition in _status_conditions(today).items()
            },
            **{AWAITING: Count("pk", filter=Q(pending_id__isnull=False))},
        )
    )
    return {row.pop("course_id"): Counter(row) for row in rows}


def status_totals(counts: Mapping[str, int]) -> str:
    """'12 of 14 current · 1 overdue · 1 due soon · 2 to verify'; 'nothing required' when empty."""
    required = sum(counts.get(status, 0) for status in TrainingStatus.ORDER)
    if not required:
        return "nothing required"
    parts = [f"{counts.get(TrainingStatus.CURRENT, 0):,} of {required:,} current"]
    for status in TrainingStatus.ORDER[1:]:
        if counts.get(status):
            parts.append(f"{counts[status]:,} {TrainingStatus.LABELS[status].lower()}")
    if counts.get(AWAITING):
        parts.append(f"{counts[AWAITING]:,} to verify")
    return " · ".join(parts)


@dataclass(frozen=True)
class MatrixRow:
    employee: Employee
    cells: list[AssignmentStatus | None]
    totals: str


@dataclass(frozen=True)
class LegendEntry:
    status: str
    label: str
    colour: str
    meaning: str


@dataclass(frozen=True)
class TrainingMatrix:
    """One page of the matrix: columns, rows with per-person totals, per-course totals over the
    whole scope, and a legend of only the statuses the page shows."""

    courses: list[Course]
    rows: list[MatrixRow]
    course_totals: list[str]
    legend: list[LegendEntry]
    shows_awaiting: bool


def training_matrix(user, employees: Iterable[Employee], *, today: date | None = None) -> TrainingMatrix:
    """The training matrix for one page of `employees` (already scoped and ordered). Three
    queries whatever the number of employees or courses: courses, cells, per-course totals."""
    today = today or timezone.localdate()
    employees = list(employees)
    courses, cells = matrix_cells(user, [employee.pk for employee in employees], today=today)
    rows = []
    shown: set[str] = set()
    shows_awaiting = False
    for employee in employees:
        row_cells = [cells.get((employee.pk, course.pk)) for course in courses]
        present = [cell for cell in row_cells if cell is not None]
        counts = Counter(cell.status for cell in present)
        counts[AWAITING] = sum(cell.awaiting_verification for cell in present)
        shown.update(counts)
        shows_awaiting = shows_awaiting or bool(counts[AWAITING])
        rows.append(MatrixRow(employee=employee, cells=row_cells, totals=status_totals(counts)))
    totals = course_status_counts(user, today=today)
    legend = [
        LegendEntry(
            status=status,
            label=TrainingStatus.LABELS[status],
            colour=TrainingStatus.COLOURS[status],
            meaning=TrainingStatus.MEANINGS[status],
        )
        for status in TrainingStatus.ORDER
        if status in shown
    ]
    return TrainingMatrix(
        courses=courses,
        rows=rows,
        course_totals=[status_totals(totals.get(course.pk, Counter())) for course in courses],
        legend=legend,
        shows_awaiting=shows_awaiting,
    )


def verification_pending(user) -> QuerySet[Completion]:
    """Completions logged by employees in the user's scope and waiting for verification, oldest first."""
    pending = Completion.objects.filter(status=CompletionStatus.LOGGED).select_related(
        "employee__user", "employee__location", "course"
    )
    return scope_queryset(user, pending).order_by("logged_at")


# --- CSV exports ("Download CSV" on the matrix and the verification queue) --------------------

# The matrix in "long" form: one row per employee × course required of them (cells the page
# leaves blank, not required, have no row), so a spreadsheet can filter and pivot it.
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
