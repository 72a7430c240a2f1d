"""The program at a glance: one figure per step of the recipe, within a user's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from consequences.models import Consequence, ConsequenceStatus
from gap_analysis.models import ActionItem, ActionStatus, Assessment
from measurement.models import Deviation, DeviationStatus, Observation
from organization.models import Employee
from organization.scope import scope_queryset
from standards.models import Standard, Status
from standards.selectors import uncovered_touchpoints
from touchpoints.models import Touchpoint
from training.models import Completion, CompletionStatus


@dataclass(frozen=True)
class Figure:
    step: str
    value: int
    caption: str
    detail: str = ""


def program_figures(user) -> list[Figure]:
    """Figures for the six steps; evidence and people are counted within the user's scope,
    configuration (touchpoints, standards) across the organisation."""
    today = timezone.localdate()
    touchpoints = Touchpoint.objects.filter(active=True).aggregate(
        total=Count("pk"), without_owner=Count("pk", filter=Q(owner_team__isnull=True))
    )
    assessed = (
        Assessment.objects.filter(assessed_on__gte=today - timedelta(days=365))
        .values("touchpoint")
        .distinct()
        .count()
    )
    open_actions = scope_queryset(
        user, ActionItem.objects.exclude(status__in=[ActionStatus.DONE, ActionStatus.CANCELLED])
    )
    employees = scope_queryset(user, Employee.objects.filter(active=True)).count()
    pending = scope_queryset(user, Completion.objects.filter(status=CompletionStatus.LOGGED)).count()
    since = timezone.now() - timedelta(days=30)
    observations = scope_queryset(user, Observation.objects.filter(observed_at__gte=since)).aggregate(
        total=Count("pk"), passed=Count("pk", filter=Q(passed=True))
    )
    open_deviations = scope_queryset(user, Deviation.objects.filter(status=DeviationStatus.OPEN)).count()
    open_consequences = scope_queryset(
        user, Consequence.objects.exclude(status=ConsequenceStatus.CLOSED)
    ).count()
    pass_rate = (
        f"{100 * observations['passed'] / observations['total']:.0f}% passed (n = {observations['total']})"
        if observations["total"]
        else "no observations yet"
    )
    return [
        Figure(
            "Touchpoints",
            touchpoints["total"],
            "touchpoints identified",
            f"{touchpoints['without_owner']} without an owner team",
        ),
        Figure(
            "Gap analysis",
            assessed,
            "touchpoints assessed in 12 months",
            f"{open_actions.count()} open actions",
        ),
        Figure(
            "Standards",
            Standard.objects.filter(status=Status.ACTIVE).count(),
            "active standards",
            f"{uncovered_touchpoints().count()} touchpoints not covered",
        ),
        Figure("Training", employees, "active employees", f"{pending} completions awaiting verification"),
        Figure("Measurement", observations["total"], "observations in 30 days", pass_rate),
        Figure(
            "Consequences",
            open_consequences,
            "open consequences",
            f"{open_deviations} open deviations of non-negotiable standards",
        ),
    ]
