"""Replying to the customer and resolving a case, from the case's page (POST only).

Each view reads the form, calls the service and goes back to the case with a message saying what
happened or, when the service refused, which field was wrong.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from gap_analysis.models import ActionItem
from organization.access import EVERYONE, role_required

from .selectors import case_in_scope
from .services.loop import NewAction, actions_linkable, case_reply_send, case_resolve

# How a refusal names the field the person filled in.
FIELD_LABELS = {
    "message": "Message",
    "key": "Reply form",
    "contact_email": "Customer's email address",
    "summary": "What was done for the customer",
    "resolution_summary": "What was done for the customer",
    "text": "Message",
    "status": "Status",
    "action": "Gap action",
    "action_choice": "Gap action",
    "new_action_title": "New action's title",
    "new_action_due_on": "New action's due date",
    "new_action_customer_summary": "You said, we did",
    "new_action_owner": "New action's owner",
}


def _refusal(exc: ValidationError) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for field, errors in exc.message_dict.items():
        label = FIELD_LABELS.get(field)
        parts.append((f"{label}: " if label else "") + " ".join(errors))
    return " ".join(parts)


@require_POST
@role_required(*EVERYONE)
def reply(request, pk: int):
    case = case_in_scope(request.user, pk)
    try:
        event = case_reply_send(
            case=case,
            user=request.user,
            message=request.POST.get("message", ""),
            key=request.POST.get("key", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        text = _refusal(exc) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, f"The reply was not sent. {text}")
    else:
        messages.success(request, f"Reply sent to {event.recipient}; it is on the timeline.")
    return redirect("cases:detail", pk=case.pk)


def _parse_due(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValidationError({"new_action_due_on": "Give the due date as a date, e.g. 2026-03-31."}) from exc


def _chosen_action(request, case) -> tuple[ActionItem | None, NewAction | None]:
    choice = request.POST.get("action_choice", "none")
    if choice == "existing":
        raw = request.POST.get("action", "").strip()
        action = actions_linkable(case=case).filter(pk=int(raw)).first() if raw.isdigit() else None
        if action is None:
            raise ValidationError({"action": f"Choose one of the actions at {case.location} to link."})
        return action, None
    if choice == "new":
        return None, NewAction(
            title=request.POST.get("new_action_title", ""),
            due_on=_parse_due(request.POST.get("new_action_due_on", "")),
            customer_summary=request.POST.get("new_action_customer_summary", ""),
            publish=bool(request.POST.get("new_action_publish")),
        )
    if choice != "none":
        raise ValidationError({"action_choice": "Choose no action, an existing one or a new one."})
    return None, None


@require_POST
@role_required(*EVERYONE)
def resolve(request, pk: int):
    case = case_in_scope(request.user, pk)
    try:
        action, new_action = _chosen_action(request, case)
        resolved = case_resolve(
            case=case,
            user=request.user,
            summary=request.POST.get("summary", ""),
            action=action,
            new_action=new_action,
            link_base=request.build_absolute_uri("/"),
        )
    except (ValidationError, PermissionDenied) as exc:
        text = _refusal(exc) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, f"The case was not resolved. {text}")
    else:
        said = f"Case {resolved.reference} resolved."
        if resolved.action_id:
            said += f" Gap action “{resolved.action.title}” linked"
            said += ", published on “You said, we did”." if resolved.action.published else "."
        if resolved.follow_up_sent_at and resolved.follow_up_answered_at is None:
            said += " The customer was sent the follow-up survey."
        messages.success(request, said)
    return redirect("cases:detail", pk=case.pk)
