"""Writes at the heart of a case: opening it, moving it along its statuses, notes and owners.

Who may do what (checked here, so that pages and the API refuse alike):

- anyone who can see a case (`cases.selectors.cases_visible_to`) may add an internal note;
- its owner, a manager whose scope holds it, and admins may change its status or owner;
- contact details are shown to its owner, managers in scope and admins (`may_see_contact`).

Every write takes the case's row lock, so two people clicking at once cannot both move it, and
records one event on the timeline.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case as Choose
from django.db.models import When
from django.utils import timezone

from organization.models import Employee, Location, Role
from organization.scope import employee_of, role_of, scope_queryset

from ..models import (
    TRANSITIONS,
    Case,
    CaseEvent,
    CaseStatus,
    EventKind,
    Severity,
)
from ..sla import deadlines_for


def default_owner(location: Location) -> Employee | None:
    """Who owns a case nobody took personally: the location's own manager, one who works there, before
    a regional manager who also manages it; among equals the first (lowest user id)."""
    return (
        Employee.objects.filter(
            managed_locations=location, role=Role.MANAGER, active=True, user__is_active=True
        )
        .order_by(Choose(When(location=location, then=0), default=1), "user_id")
        .first()
    )


def event_record(
    *, case: Case, kind: str, user=None, text: str = "", key: str = "", at: datetime | None = None, **fields
) -> CaseEvent:
    """One line on the case's timeline (validated, never edited later)."""
    event = CaseEvent(case=case, kind=kind, actor=user, text=text, key=key, at=at or timezone.now(), **fields)
    event.full_clean()
    event.save()
    return event


@transaction.atomic
def case_open(
    *,
    location: Location,
    title: str,
    origin: str,
    user=None,
    opened_at: datetime | None = None,
    severity: str = Severity.NORMAL,
    owner: Employee | None = None,
    logged_by: Employee | None = None,
    text: str = "",
    **fields,
) -> Case:
    """Open a case, set its deadlines from its SLA policy and record who opened it.

    The owner is, in order: `owner`, the person who logged it (who takes a complaint owns it until
    they hand it over), the location's first manager. `fields` are further `Case` fields
    (touchpoint, team, category, feedback, rule, contact details, description, external_id).
    """
    opened_at = opened_at or timezone.now()
    case = Case(
        location=location,
        title=title,
        origin=origin,
        opened_at=opened_at,
        severity=severity,
        owner=owner or logged_by or default_owner(location),
        logged_by=logged_by,
        **fields,
    )
    deadlines = deadlines_for(
        severity=severity, location_id=location.pk, touchpoint_id=case.touchpoint_id, opened_at=opened_at
    )
    case.sla_policy = deadlines.policy
    case.acknowledge_due_at = deadlines.acknowledge_due_at
    case.resolve_due_at = deadlines.resolve_due_at
    case.full_clean()
    case.save()
    event_record(case=case, kind=EventKind.OPENED, user=user, text=text, to_status=case.status, at=opened_at)
    return case


def may_manage(user, case: Case) -> bool:
    """Owner, managers whose scope holds the case, and admins may move it along or hand it over."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    employee = employee_of(user)
    if employee is not None and case.owner_id == employee.pk:
        return True
    return role == Role.MANAGER and scope_queryset(user, Case.objects.filter(pk=case.pk)).exists()


def may_see_contact(user, case: Case) -> bool:
    """The customer's details are for the owner, managers in scope and admins only."""
    return may_manage(user, case)


def transition_refusal(status: str, to: str) -> str | None:
    """Why a case in `status` cannot go to `to`, or None when it may."""
    if to in TRANSITIONS.get(status, ()):
        return None
    allowed = TRANSITIONS.get(status, ())
    current = CaseStatus(status).label.lower()
    wanted = CaseStatus(to).label.lower() if to in CaseStatus.values else repr(to)
    message = f"A case that is {current} cannot become {wanted}."
    if allowed:
        message += " It can become: " + ", ".join(CaseStatus(s).label.lower() for s in allowed) + "."
    return message


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("location", "owner").get(pk=case.pk)


def _check_may_manage(user, case: Case) -> None:
    if not may_manage(user, case):
        raise PermissionDenied(f"Only the case's owner or a manager of {case.location} may change it.")


@transaction.atomic
def case_transition(
    *, case: Case, to: str, user, note: str = "", summary: str = "", at: datetime | None = None
) -> Case:
    """Move a case to status `to`, or raise ValidationError saying why it cannot go there.

    Resolving needs a `summary` of what was done for the customer. Leaving *new* counts as the
    acknowledgement, whatever the next status is. `at` dates the change (default now); only the demo
    writes history in the past.
    """
    locked = _locked(case)
    _check_may_manage(user, locked)
    if refusal := transition_refusal(locked.status, to):
        raise ValidationError({"status": refusal})
    now = at or timezone.now()
    previous = locked.status
    if previous == CaseStatus.NEW:
        locked.acknowledged_at = now
    if to == CaseStatus.RESOLVED:
        if not summary.strip():
            raise ValidationError(
                {"summary": "Say what was done for the customer before resolving the case."}
            )
        locked.resolution_summary = summary.strip()
        locked.resolved_at = now
    elif to == CaseStatus.CLOSED:
        locked.closed_at = now
    elif to == CaseStatus.REOPENED:
        locked.resolved_at = None
        locked.closed_at = None
    locked.status = to
    locked.full_clean()
    locked.save()
    text = note.strip()
    if to == CaseStatus.RESOLVED:
        text = locked.resolution_summary + (f"\n\n{text}" if text else "")
    event_record(
        case=locked, kind=EventKind.STATUS, user=user, text=text, from_status=previous, to_status=to, at=now
    )
    return locked


@transaction.atomic
def case_assign(*, case: Case, owner: Employee, user, note: str = "", at: datetime | None = None) -> Case:
    """Hand a case over to another person, who must work where the case is (or manage it).

    `at` dates the hand-over (default now), as in `case_transition`."""
    locked = _locked(case)
    _check_may_manage(user, locked)
    works_there = (
        owner.location_id == locked.location_id
        or owner.managed_locations.filter(pk=locked.location_id).exists()
    )
    if not owner.active or not works_there:
        raise ValidationError(
            {"owner": f"{owner.full_name} does not work at {locked.location}: choose someone who does."}
        )
    if owner.pk == locked.owner_id:
        raise ValidationError({"owner": f"{owner.full_name} already owns this case."})
    locked.owner = owner
    locked.save(update_fields=["owner", "updated_at"])
    event_record(
        case=locked,
        kind=EventKind.ASSIGNED,
        user=user,
        text=note.strip(),
        recipient=owner.full_name,
        at=at,
    )
    return locked


@transaction.atomic
def case_note_add(*, case: Case, user, text: str, at: datetime | None = None) -> CaseEvent:
    """An internal note on the timeline (never shown to the customer); `at` dates it (default now)."""
    if not text.strip():
        raise ValidationError({"text": "Write the note before adding it."})
    if not scope_queryset(user, Case.objects.filter(pk=case.pk)).exists():
        raise PermissionDenied("This case is outside your scope.")
    return event_record(case=_locked(case), kind=EventKind.NOTE, user=user, text=text.strip(), at=at)
