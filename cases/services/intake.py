"""Cases from customer feedback: one answer at a time from the feedback inbox, or a whole intake
batch at once through the active `CaseRule`s.

Either way an answer has at most one case (`Case.feedback` is unique): asking again returns the
case it already has, and a case is never opened twice for the same answer, even when two requests
race. The customer's contact details go to the case only when they consented to be contacted.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from measurement.models import Feedback
from organization.scope import employee_of, scope_queryset

from ..models import Case, CaseCategory, CaseOrigin, Severity
from .core import case_open

TITLE_MAX = Case._meta.get_field("title").max_length
# How many words of the comment a title quotes before it is cut.
TITLE_WORDS = 8


def feedback_title(
    *, location_name: str, csat: int | None, nps: int | None, comment: str, limit: int = TITLE_MAX
) -> str:
    """ "NPS 2 at Manchester Arndale: the first words of the comment…", within `limit` characters."""
    if nps is not None:
        head = f"NPS {nps} at {location_name}"
    elif csat is not None:
        head = f"CSAT {csat} at {location_name}"
    else:
        head = f"Comment at {location_name}"
    words = comment.split()
    if words:
        quoted = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
        head = f"{head}: {quoted}"
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def _contact(feedback: Feedback) -> dict:
    """The customer's details for the case, only when they agreed to be contacted."""
    if not feedback.contact_consent:
        return {}
    return {
        "contact_consent": True,
        "contact_name": feedback.contact_name,
        "contact_email": feedback.contact_email,
    }


def _team_for(touchpoint, location_id: int):
    """The touchpoint's owner team, when that team works at the case's location."""
    team = touchpoint.owner_team if touchpoint is not None else None
    return team if team is not None and team.location_id == location_id else None


def case_open_from_feedback(
    *,
    feedback: Feedback,
    user,
    severity: str = Severity.NORMAL,
    category: CaseCategory | None = None,
) -> Case:
    """Open the case for one customer answer (a manager's "open a case" in the feedback inbox).

    Idempotent: an answer that already has a case returns that case. The person who opens it owns
    it (as with a complaint they take); a user without an employee profile leaves it to the
    location's manager. Raises PermissionDenied when the answer is outside the user's scope.
    """
    if not scope_queryset(user, Feedback.objects.filter(pk=feedback.pk)).exists():
        raise PermissionDenied("This feedback answer is outside your scope.")
    with transaction.atomic():
        # The answer's row lock makes a second, simultaneous "open a case" wait and then find the first.
        answer = (
            Feedback.objects.select_for_update(of=("self",))
            .select_related("location", "touchpoint__owner_team")
            .get(pk=feedback.pk)
        )
        existing = Case.objects.filter(feedback=answer).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return case_open(
                    location=answer.location,
                    title=feedback_title(
                        location_name=answer.location.name,
                        csat=answer.csat,
                        nps=answer.nps,
                        comment=answer.comment,
                    ),
                    description=answer.comment,
                    origin=CaseOrigin.FEEDBACK,
                    user=user,
                    severity=severity,
                    logged_by=employee_of(user),
                    feedback=answer,
                    touchpoint=answer.touchpoint,
                    team=_team_for(answer.touchpoint, answer.location_id),
                    category=category,
                    **_contact(answer),
                )
        except (IntegrityError, ValidationError):
            # Without row locks (SQLite) a racing request can still win: its case is the answer's case.
            existing = Case.objects.filter(feedback=answer).first()
            if existing is None:
                raise
            return existing
