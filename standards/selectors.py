"""Reads for standards: which apply to whom, what is still to acknowledge, coverage of touchpoints."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from organization.models import Employee
from touchpoints.models import Touchpoint

from .models import Acknowledgement, Standard, Status


def _applies_to_team(team) -> Q:
    """Standards for every team (none named), or for `team` (an id, or an OuterRef to one)."""
    return Q(teams__isnull=True) | Q(teams=team)


def standards_for_employee(employee: Employee) -> QuerySet[Standard]:
    """Active standards that apply to the employee: those for every team, or for theirs."""
    return Standard.objects.filter(status=Status.ACTIVE).filter(_applies_to_team(employee.team_id)).distinct()


def standards_unacknowledged_by_outer_employee() -> QuerySet[Standard]:
    """For use in a subquery over employees: the active standards that apply to the outer employee
    whose version in force they have not accepted (the rule of `standards_to_acknowledge`)."""
    accepted = Acknowledgement.objects.filter(
        employee=OuterRef(OuterRef("pk")), standard=OuterRef("pk"), version=OuterRef("version")
    )
    return (
        Standard.objects.filter(status=Status.ACTIVE)
        .filter(_applies_to_team(OuterRef("team_id")))
        .filter(~Exists(accepted))
    )


def standards_to_acknowledge(employee: Employee) -> QuerySet[Standard]:
    """Standards that apply to the employee whose version in force they have not accepted yet."""
    accepted = Acknowledgement.objects.filter(
        employee=employee, standard=OuterRef("pk"), version=OuterRef("version")
    )
    return standards_for_employee(employee).filter(~Exists(accepted)).order_by("code")


def uncovered_touchpoints() -> QuerySet[Touchpoint]:
    """Active touchpoints with no active standard: the coverage gaps of the program."""
    covering = Standard.objects.filter(status=Status.ACTIVE, touchpoints=OuterRef("pk"))
    return Touchpoint.objects.filter(active=True).filter(~Exists(covering))


@dataclass(frozen=True)
class StandardForEmployee:
    standard: Standard
    acknowledged: bool


def standards_with_acknowledgement(employee: Employee) -> list[StandardForEmployee]:
    """Every standard that applies to the employee, flagged when its version in force is accepted."""
    accepted = Acknowledgement.objects.filter(
        employee=employee, standard=OuterRef("pk"), version=OuterRef("version")
    )
    standards = (
        standards_for_employee(employee).annotate(accepted=Exists(accepted)).order_by("accepted", "code")
    )
    return [StandardForEmployee(standard=s, acknowledged=s.accepted) for s in standards]
