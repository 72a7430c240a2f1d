"""Closing the loop with the customer: a reply from the case, the resolution (with the gap action
it led to and, through it, a published "you said, we did" improvement) and the follow-up survey.

Emails are rendered inside the transaction that records them and sent once it has committed, so a
rolled-back write never emails anybody. A reply happens once per form (its `key`), however often
the form is sent; the follow-up survey is answered once per case.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from gap_analysis.models import ActionItem, ActionStatus
from gap_analysis.selectors import can_change_location
from gap_analysis.services import action_create, action_publish, action_update_status
from organization.models import Employee
from organization.validators import text_problem

from ..models import Case, CaseEvent, CaseStatus, EventKind
from .core import _check_may_manage, _locked, case_transition, event_record

logger = logging.getLogger(__name__)

# The follow-up question's scale: 4 and 5 mean the customer was won back.
RECOVERED_AT_LEAST = 4
MESSAGE_MAX_LENGTH = 5000
KEY_MAX_LENGTH = 100
FOLLOW_UP_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
REPLY_KEY = re.compile(rf"[A-Za-z0-9_-]{{1,{KEY_MAX_LENGTH}}}")


def reply_refusal(case: Case) -> str | None:
    """Why nobody can write to this case's customer, or None when a reply may be sent."""
    if not case.contact_consent:
        return "The customer did not agree to be contacted, so no reply can be sent."
    if not case.contact_email:
        return "The customer left no email address, so no reply can be sent by email."
    return None


def actions_linkable(*, case: Case) -> QuerySet[ActionItem]:
    """Gap actions at the case's location a resolution may link to (not cancelled), newest due first."""
    return (
        ActionItem.objects.filter(location_id=case.location_id)
        .exclude(status=ActionStatus.CANCELLED)
        .order_by("-due_on", "-pk")
    )


def may_open_action(user, case: Case) -> bool:
    """Whether resolving may open a gap action: the gap-analysis rule (its location's managers, admins)."""
    return can_change_location(user, case.location_id)


def _signature(case: Case, user) -> tuple[str, str]:
    """The name and place a customer's email is signed with: the case's owner, else the sender."""
    owner: Employee | None = case.owner
    if owner is not None:
        return owner.full_name, case.location.name
    return (user.get_full_name() or user.get_username()), case.location.name


def _email(
    *, template: str, subject: str, to: str, context: dict, reply_to: str = ""
) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
    )
    email.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return email


def _send_after_commit(email: EmailMultiAlternatives, *, case_id: int, what: str) -> None:
    def send() -> None:
        try:
            email.send()
        except Exception:
            # The event stays on the timeline; the note says the email did not leave, so the owner
            # knows to write again instead of believing the customer was told.
            logger.exception("%s for case %s could not be sent", what, case_id)
            event_record(
                case=Case.objects.get(pk=case_id),
                kind=EventKind.NOTE,
                text=f"{what} to {', '.join(email.to)} could not be sent: the mail server refused it.",
            )

    transaction.on_commit(send)


def _text_errors(**fields: str) -> dict[str, str]:
    """Fields whose text a database column cannot store (a NUL, a lone surrogate), by name."""
    return {name: problem for name, value in fields.items() if value and (problem := text_problem(value))}


def _reply_key(key: str) -> str:
    key = (key or "").strip()
    if not REPLY_KEY.fullmatch(key):
        raise ValidationError(
            {"key": "The reply form has expired: reload the case and write your reply again."}
        )
    return f"reply:{key}"


def case_reply_send(*, case: Case, user, message: str, key: str) -> CaseEvent:
    """Email `message` to the case's customer, signed by its owner, and keep it on the timeline.

    Only the case's managers may reply, and only to a customer who consented and left an email
    address. `key` is the form's idempotency token: sending the same form again (a double click, a
    retried request) returns the first reply's event and sends nothing. A first reply to a new
    case acknowledges it. Raises ValidationError naming the field, PermissionDenied for others.
    """
    event_key = _reply_key(key)
    text = (message or "").strip()
    if errors := _text_errors(message=text):
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            # The row lock orders concurrent sends of one form: the second sees the first's event.
            locked = _locked(case)
            _check_may_manage(user, locked)
            if done := CaseEvent.objects.filter(case=locked, key=event_key).first():
                return done
            if refusal := reply_refusal(locked):
                raise ValidationError({"contact_email": refusal})
            if not text:
                raise ValidationError({"message": "Write the message before sending it."})
            if len(text) > MESSAGE_MAX_LENGTH:
                raise ValidationError(
                    {
                        "message": f"The message is {len(text)} characters long: keep it to {MESSAGE_MAX_LENGTH}."
                    }
                )
            if locked.status == CaseStatus.NEW:
                locked = case_transition(
                    case=locked,
                    to=CaseStatus.ACKNOWLEDGED,
                    user=user,
                    note="Acknowledged by the first reply to the customer.",
                )
            event = event_record(
                case=locked,
                kind=EventKind.MESSAGE,
                user=user,
                text=text,
                recipient=locked.contact_email,
                key=event_key,
            )
            name, place = _signature(locked, user)
            owner_email = locked.owner.user.email if locked.owner_id else ""
            email = _email(
                template="case_reply",
                subject=f"About your case {locked.reference} at {place}",
                to=locked.contact_email,
                reply_to=owner_email or getattr(user, "email", ""),
                context={
                    "case": locked,
                    "customer_name": locked.contact_name,
                    "message": text,
                    "signer": name,
                    "place": place,
                },
            )
            _send_after_commit(
                email, case_id=locked.pk, what=f"The reply of {timezone.localtime(event.at):%d %b %Y %H:%M}"
            )
            return event
    except IntegrityError:
        # Another database connection recorded the same key between our check and our insert.
        done = CaseEvent.objects.filter(case_id=case.pk, key=event_key).first()
        if done is None:
            raise
        return done


@dataclass(frozen=True)
class NewAction:
    """A gap action to open when resolving: `publish` marks it done and publishes it today."""

    title: str
    due_on: date | None
    customer_summary: str = ""
    publish: bool = False


def _action_open(*, case: Case, user, new_action: NewAction, summary: str) -> ActionItem:
    today = timezone.localdate()
    errors = _text_errors(
        new_action_title=new_action.title, new_action_customer_summary=new_action.customer_summary
    )
    if not new_action.title.strip():
        errors["new_action_title"] = "Give the new action a title."
    due_on = new_action.due_on or (today if new_action.publish else None)
    if due_on is None:
        errors["new_action_due_on"] = "Give the new action a due date."
    if new_action.publish and not new_action.customer_summary.strip():
        errors["new_action_customer_summary"] = (
            "Write the “you said, we did” summary customers will read before publishing."
        )
    if errors:
        raise ValidationError(errors)
    try:
        action = action_create(
            user=user,
            title=new_action.title,
            owner=user,
            due_on=due_on,
            description=f"Raised from the customer's complaint {case.reference}: {case.title}",
            feedback=case.feedback,
            complaint=case.reference,
            location=case.location,
            touchpoint=case.touchpoint,
        )
        if new_action.customer_summary.strip():
            action.customer_summary = new_action.customer_summary.strip()
            action.full_clean()
            action.save(update_fields=["customer_summary"])
        if new_action.publish:
            action_update_status(action=action, status=ActionStatus.DONE, user=user, closure_note=summary)
            action = action_publish(action=action, summary=new_action.customer_summary, user=user)
    except ValidationError as exc:
        raise ValidationError(_prefixed(exc)) from exc
    return action


def _prefixed(exc: ValidationError) -> dict[str, list[str]]:
    """A gap action's errors keyed by the resolve form's field names ("new_action_due_on")."""
    if not hasattr(exc, "error_dict"):
        return {"new_action_title": exc.messages}
    return {
        (f"new_action_{field}" if field != "__all__" else "new_action_title"): messages
        for field, messages in exc.message_dict.items()
    }


@transaction.atomic
def case_resolve(
    *,
    case: Case,
    user,
    summary: str,
    action: ActionItem | None = None,
    new_action: NewAction | None = None,
    link_base: str = "",
) -> Case:
    """Resolve the case with `summary`, linking an existing gap `action` at its location or
    opening `new_action` (owned by the user; published today when ticked), all or nothing.

    When the customer consented and left an email address, they are sent a follow-up survey link
    (`link_base` is the site's address, e.g. "https://servicedesk.example.com"), unless they have
    answered one already. Raises ValidationError naming the field, PermissionDenied for others.
    """
    if errors := _text_errors(summary=summary):
        raise ValidationError(errors)
    if action is not None and new_action is not None:
        raise ValidationError({"action": "Link an existing action or open a new one, not both."})
    if action is not None and (
        action.location_id != case.location_id or action.status == ActionStatus.CANCELLED
    ):
        raise ValidationError(
            {"action": f"“{action.title}” is not an open or done action at {case.location}: choose another."}
        )
    resolved = case_transition(case=case, to=CaseStatus.RESOLVED, user=user, summary=summary)
    if new_action is not None:
        action = _action_open(
            case=resolved, user=user, new_action=new_action, summary=resolved.resolution_summary
        )
    if action is not None:
        resolved.action = action
        resolved.save(update_fields=["action", "updated_at"])
        published = " It is published on the “you said, we did” page." if action.published else ""
        event_record(
            case=resolved,
            kind=EventKind.LINKED_ACTION,
            user=user,
            text=f"Gap action “{action.title}” (due {action.due_on:%d %b %Y}).{published}",
        )
    if reply_refusal(resolved) is None and resolved.follow_up_answered_at is None:
        _follow_up_send(case=resolved, link_base=link_base)
    return resolved


def _follow_up_send(*, case: Case, link_base: str) -> None:
    # A new token each time: a case resolved again after reopening asks about the latest resolution.
    case.follow_up_token = secrets.token_urlsafe(32)
    case.follow_up_sent_at = timezone.now()
    case.save(update_fields=["follow_up_token", "follow_up_sent_at", "updated_at"])
    link = link_base.rstrip("/") + reverse("case-follow-up", args=[case.follow_up_token])
    name, place = _signature(case, None) if case.owner_id else ("The team", case.location.name)
    email = _email(
        template="case_follow_up",
        subject=f"How did we handle your case {case.reference}?",
        to=case.contact_email,
        context={
            "case": case,
            "customer_name": case.contact_name,
            "link": link,
            "signer": name,
            "place": place,
        },
    )
    _send_after_commit(email, case_id=case.pk, what="The follow-up survey")


def case_by_follow_up_token(token: str) -> Case | None:
    """The case whose follow-up survey `token` opens, or None for an unknown token."""
    # Tokens are URL-safe base64; anything else (a NUL, a stray character) names no case.
    if not FOLLOW_UP_TOKEN.fullmatch(token or ""):
        return None
    return Case.objects.select_related("location", "owner__user").filter(follow_up_token=token).first()


@transaction.atomic
def case_follow_up_answer(*, case: Case, csat: int | None, comment: str = "") -> tuple[Case, bool]:
    """Keep the customer's follow-up answer on the case: (case, True), or (case, False) when it
    was answered before (the first answer stands).

    `recovered` is a satisfaction of 4 or 5. An unhappy answer is emailed to the case's owner.
    The answer is the case's own, not a touchpoint rating: no feedback row is written.
    """
    locked = _locked(case)
    if locked.follow_up_answered_at is not None:
        return locked, False
    if errors := _text_errors(comment=comment):
        raise ValidationError(errors)
    if csat is None or not 1 <= csat <= 5:
        raise ValidationError({"csat": "Choose how satisfied you are, from 1 to 5."})
    locked.follow_up_csat = csat
    locked.follow_up_comment = (comment or "").strip()
    locked.follow_up_answered_at = timezone.now()
    locked.recovered = csat >= RECOVERED_AT_LEAST
    locked.full_clean()
    locked.save(
        update_fields=[
            "follow_up_csat",
            "follow_up_comment",
            "follow_up_answered_at",
            "recovered",
            "updated_at",
        ]
    )
    verdict = "recovered" if locked.recovered else "not recovered: the customer is still unhappy"
    text = f"Satisfaction {csat}/5 with how the case was handled ({verdict})."
    if locked.follow_up_comment:
        text += f"\n\n{locked.follow_up_comment}"
    event_record(
        case=locked, kind=EventKind.FOLLOW_UP, text=text, key="follow-up", at=locked.follow_up_answered_at
    )
    owner_email = locked.owner.user.email if locked.owner_id else ""
    if not locked.recovered and owner_email:
        email = _email(
            template="case_follow_up_unhappy",
            subject=f"Case {locked.reference}: the customer is still unhappy ({csat}/5)",
            to=owner_email,
            context={
                "case": locked,
                "owner": locked.owner,
                "csat": csat,
                "comment": locked.follow_up_comment,
            },
        )
        _send_after_commit(email, case_id=locked.pk, what="The unhappy follow-up notice")
    return locked, True
