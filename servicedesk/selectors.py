"""The program at a glance: one card per step of the recipe, within a user's scope.

Evidence and people (assessments, actions, employees, observations, consequences) are counted
within the user's scope; configuration (touchpoints, standards) across the organisation, since it
applies everywhere. Every figure is one aggregate query, so the page costs the same whatever the
amount of data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Exists, Q
from django.urls import reverse
from django.utils import timezone

from consequences.models import Consequence, ConsequenceStatus, has_corrective_action
from gap_analysis.models import AssessmentStatus
from gap_analysis.selectors import (
    ASSESSMENT_FRESH_DAYS,
    OPEN_ACTION_STATUSES,
    actions_visible_to,
    assessments_visible_to,
)
from measurement.models import Deviation, DeviationStatus, Observation, QuarantinedRow
from organization.models import Employee
from organization.scope import scope_queryset
from standards.models import Standard, Status
from standards.selectors import standards_unacknowledged_by_outer_employee, uncovered_touchpoints
from touchpoints.models import Touchpoint
from training.models import Assignment, Completion, CompletionStatus
from training.selectors import assignments_not_current


@dataclass(frozen=True)
class Detail:
    text: str
    url: str = ""
    warn: bool = False  # something needs attention: shown in the warning colour


@dataclass(frozen=True)
class Figure:
    step: str
    value: str
    caption: str
    url: str
    details: list[Detail] = field(default_factory=list)


def counted(n: int, singular: str, plural: str = "") -> str:
    """'1 touchpoint', '3 touchpoints'."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def share(part: int, whole: int) -> str:
    """'21 of 23', or '0' when there is nothing to count."""
    return f"{part} of {whole}" if whole else "0"


def program_figures(user) -> list[Figure]:
    """The six cards of the program health page: figure, caption, link, and details that link on."""
    today = timezone.localdate()
    is_admin = user.is_staff  # may open the Django admin, where touchpoints and standards live

    touchpoints = Touchpoint.objects.filter(active=True).aggregate(
        total=Count("pk"), without_owner=Count("pk", filter=Q(owner_team__isnull=True))
    )
    assessed = (
        assessments_visible_to(user)
        .filter(
            status=AssessmentStatus.COMPLETED, assessed_on__gte=today - timedelta(days=ASSESSMENT_FRESH_DAYS)
        )
        .aggregate(touchpoints=Count("touchpoint", distinct=True))["touchpoints"]
    )
    actions = actions_visible_to(user).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_ACTION_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_ACTION_STATUSES, due_on__lt=today)),
    )
    standards = Standard.objects.filter(status=Status.ACTIVE).count()
    uncovered = uncovered_touchpoints().count()

    employees = scope_queryset(user, Employee.objects.filter(active=True))
    people = employees.aggregate(
        total=Count("pk"),
        trained=Count(
            "pk",
            filter=~Q(
                pk__in=assignments_not_current(Assignment.objects.all(), today=today).values("employee_id")
            ),
        ),
        acknowledged=Count("pk", filter=~Exists(standards_unacknowledged_by_outer_employee())),
    )
    pending = scope_queryset(user, Completion.objects.filter(status=CompletionStatus.LOGGED)).count()

    # From midnight (local time) on the 1st: a range on observed_at itself, so its index serves.
    month_start = timezone.make_aware(datetime.combine(today.replace(day=1), time.min))
    this_month = scope_queryset(
        user, Observation.objects.current().filter(observed_at__gte=month_start)
    ).aggregate(
        total=Count("pk"),
        passed=Count("pk", filter=Q(passed=True)),
        standards=Count("standard", distinct=True),
    )

    # Rows the rollup cannot count (organisation-wide: they may belong to any location).
    quarantined = QuarantinedRow.objects.count()

    consequences = scope_queryset(
        user, Consequence.objects.exclude(status=ConsequenceStatus.CLOSED)
    ).aggregate(
        open=Count("pk"),
        proposed=Count("pk", filter=Q(status=ConsequenceStatus.PROPOSED)),
        overdue=Count("pk", filter=Q(due_on__lt=today)),
    )
    deviations = scope_queryset(user, Deviation.objects.filter(status=DeviationStatus.OPEN)).aggregate(
        open=Count("pk"),
        unanswered=Count("pk", filter=~has_corrective_action()),
    )

    heatmap = reverse("gap_analysis:heatmap")
    actions_url = reverse("gap_analysis:action-list")
    inbox = reverse("consequences:inbox")
    pass_rate = (
        f"{100 * this_month['passed'] / this_month['total']:.0f}% passed (n = {this_month['total']})"
        if this_month["total"]
        else "no observations yet this month"
    )
    return [
        Figure(
            "Touchpoints",
            str(touchpoints["total"]),
            "touchpoints identified",
            reverse("admin:touchpoints_touchpoint_changelist") if is_admin else heatmap,
            [
                Detail(
                    f"{counted(touchpoints['without_owner'], 'touchpoint')} without an owner team",
                    reverse("admin:touchpoints_touchpoint_changelist") + "?owner_team__isnull=True"
                    if is_admin
                    else "",
                    warn=bool(touchpoints["without_owner"]),
                )
            ],
        ),
        Figure(
            "Gap analysis",
            share(assessed, touchpoints["total"]),
            "touchpoints assessed in the last 12 months",
            heatmap,
            [
                Detail(f"{counted(actions['open'], 'open action')}", actions_url),
                Detail(
                    f"{actions['overdue']} overdue",
                    f"{actions_url}?overdue=on",
                    warn=bool(actions["overdue"]),
                ),
            ],
        ),
        Figure(
            "Standards",
            share(touchpoints["total"] - uncovered, touchpoints["total"]),
            "touchpoints covered by an active standard",
            reverse("admin:standards_standard_changelist") if is_admin else reverse("standards:mine"),
            [
                Detail(counted(standards, "active standard")),
                Detail(f"{counted(uncovered, 'touchpoint')} not covered", warn=bool(uncovered)),
            ],
        ),
        Figure(
            "Training",
            share(people["trained"], people["total"]),
            "employees current on required training",
            reverse("training:matrix"),
            [
                Detail(f"{share(people['acknowledged'], people['total'])} current on acknowledgements"),
                Detail(
                    f"{counted(pending, 'completion')} awaiting verification",
                    reverse("training:verification"),
                    warn=bool(pending),
                ),
            ],
        ),
        Figure(
            "Measurement",
            share(this_month["standards"], standards),
            "standards measured this month",
            reverse("measurement:scorecards"),
            [
                Detail(pass_rate, reverse("measurement:observations")),
                *(
                    [
                        Detail(
                            f"{counted(quarantined, 'evidence row')} left out of scorecards",
                            reverse("admin:measurement_quarantinedrow_changelist") if is_admin else "",
                            warn=True,
                        )
                    ]
                    if quarantined
                    else []
                ),
            ],
        ),
        Figure(
            "Consequences",
            str(consequences["open"]),
            "open consequences",
            inbox,
            [
                Detail(
                    f"{consequences['proposed']} to approve · {consequences['overdue']} overdue",
                    f"{inbox}?overdue=on" if consequences["overdue"] else f"{inbox}?status=proposed",
                    warn=bool(consequences["overdue"]),
                ),
                Detail(
                    f"{counted(deviations['open'], 'open deviation')} of non-negotiable standards"
                    + (
                        f", {deviations['unanswered']} without a corrective action"
                        if deviations["unanswered"]
                        else ""
                    ),
                    inbox,
                    warn=bool(deviations["open"]),
                ),
            ],
        ),
    ]
