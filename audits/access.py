"""Who sees and does which planned audit: the one place for the audit programme's access.

- admin: every occurrence and audit;
- manager: those at the locations in their scope (organization.scope), and the audits they did;
- staff: the occurrences assigned to them (themselves, their team, or any-one-of a list they are
  on) and the audits they did;
- external evaluator (a user with an `ExternalEvaluator` profile and no employee profile): only
  the occurrences assigned to them and the audits they did — nothing else in the program;
- anonymous: nothing.

Everything outside this answers 404, through `occurrence_for` and `audit_for`.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from organization.models import Role
from organization.scope import employee_of, role_of, scope_filter

from .models import Audit, AuditStatus, ExternalEvaluator, Occurrence, OccurrenceStatus

NOTHING = Q(pk__in=[])


def evaluator_of(user) -> ExternalEvaluator | None:
    """The user's active external evaluator profile, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        profile = user.external_evaluator
    except ExternalEvaluator.DoesNotExist:
        return None
    return profile if profile.active else None


def is_external_evaluator(user) -> bool:
    return evaluator_of(user) is not None and employee_of(user) is None


def assigned_to(user) -> Q:
    """The occurrences assigned to `user` as a person, through their team, or as an external
    evaluator; "any one of them" occurrences reach everyone on the schedule's lists."""
    condition = NOTHING
    employee = employee_of(user)
    if employee is not None:
        condition |= Q(assigned_employee=employee)
        listed = Q(schedule__assigned_employees=employee)
        if employee.team_id:
            listed |= Q(schedule__assigned_team_id=employee.team_id)
        condition |= Q(assignee_key="") & Q(pk__in=Occurrence.objects.filter(listed).values("pk"))
    evaluator = evaluator_of(user)
    if evaluator is not None:
        condition |= Q(assigned_evaluator=evaluator)
        condition |= Q(assignee_key="") & Q(
            pk__in=Occurrence.objects.filter(schedule__assigned_evaluators=evaluator).values("pk")
        )
    return condition


def occurrences_for(user) -> QuerySet[Occurrence]:
    """The occurrences `user` may see."""
    queryset = Occurrence.objects.all()
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    role = role_of(user)
    if role == Role.ADMIN:
        return queryset
    condition = assigned_to(user)
    if role == Role.MANAGER:
        condition |= scope_filter(user, Occurrence)
    return queryset.filter(condition)


def audits_for(user) -> QuerySet[Audit]:
    """The audits `user` may see: their own, and for managers those in their scope."""
    queryset = Audit.objects.all()
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    role = role_of(user)
    if role == Role.ADMIN:
        return queryset
    condition = Q(auditor=user)
    if role == Role.MANAGER:
        condition |= scope_filter(user, Audit)
    return queryset.filter(condition)


def occurrence_for(user, pk) -> Occurrence:
    try:
        return occurrences_for(user).select_related("schedule__template", "location").get(pk=pk)
    except (Occurrence.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No planned audit found in your scope.") from exc


def audit_for(user, pk) -> Audit:
    try:
        return audits_for(user).select_related("template", "location", "occurrence").get(pk=pk)
    except (Audit.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No audit found in your scope.") from exc


def may_do(user, occurrence: Occurrence) -> bool:
    """Whether `user` may start (or carry on) the audit of `occurrence`: an assignee, or a manager
    of its location, or an admin; and only while it takes a submission."""
    if occurrence.status not in (OccurrenceStatus.SCHEDULED, OccurrenceStatus.OPEN):
        return False
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if Occurrence.objects.filter(assigned_to(user), pk=occurrence.pk).exists():
        return True
    return role == Role.MANAGER and occurrences_for(user).filter(pk=occurrence.pk).exists()


def may_edit(user, audit: Audit) -> bool:
    """Only the auditor changes a draft; a submitted audit is never changed."""
    return audit.status == AuditStatus.DRAFT and audit.auditor_id == getattr(user, "pk", None)
