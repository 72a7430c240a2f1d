"""Writes for gap analysis: assessments with their four ratings, and the actions that close gaps
(created, moved through their statuses, published as "you said, we did").

Every service is keyword-only, validates with ``full_clean()`` before saving and raises
``ValidationError`` keyed by the field at fault, so a form can show the message next to the input.
Who may change a record is checked here too (``PermissionDenied``), whatever interface calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from measurement.models import Feedback
from organization.models import Location
from touchpoints.models import Touchpoint

from .models import (
    ActionItem,
    ActionStatus,
    Assessment,
    AssessmentStatus,
    CustomerExpectation,
    Dimension,
    Rating,
)
from .selectors import action_owner_choices, assessable_locations, can_change_location


@dataclass(frozen=True)
class RatingInput:
    """One P as entered: both scores None means "not rated yet" (allowed in a draft only)."""

    current: int | None
    target: int | None
    evidence: str = ""


def _rating_key(dimension: str, field: str) -> str:
    # The same name as the field of the rating's prefixed form ("people-target").
    return f"{dimension}-{field}"


def _check_location(user, location: Location | None) -> None:
    if location is None:
        if not can_change_location(user, None):
            raise ValidationError(
                {"location": "Only an administrator can assess across the organisation: choose a location."}
            )
    elif not assessable_locations(user).filter(pk=location.pk).exists():
        raise ValidationError({"location": f"You cannot assess {location.name}: it is not one of yours."})


@transaction.atomic
def assessment_save(
    *,
    user,
    touchpoint: Touchpoint,
    location: Location | None,
    assessed_on: date,
    expectations: Iterable[CustomerExpectation] = (),
    summary: str = "",
    completed: bool,
    ratings: Mapping[str, RatingInput],
    assessment: Assessment | None = None,
) -> Assessment:
    """Create (`assessment` None) or update an assessment with its four ratings, all or nothing.

    `ratings` maps each dimension (``Dimension`` values) to what was entered. A completed
    assessment needs all four rated; a draft may leave some out, but a rating once saved cannot be
    removed (actions may hang on it). The user must be allowed to assess `location` (None, the
    whole organisation, is for admins). The assessor is the user who first saves it.

    Raises ValidationError keyed by assessment field ("location", "assessed_on", …) or by
    "<dimension>-<field>" for a rating ("people-target"); nothing is written then.
    Raises PermissionDenied if the user may not change this assessment.
    """
    if assessment is not None and not can_change_location(user, assessment.location_id):
        raise PermissionDenied("You cannot change this assessment.")
    _check_location(user, location)
    if assessed_on and assessed_on > timezone.localdate():
        raise ValidationError({"assessed_on": "An assessment cannot be dated in the future."})

    if assessment is None:
        assessment = Assessment(assessor=user)
    assessment.touchpoint = touchpoint
    assessment.location = location
    assessment.assessed_on = assessed_on
    assessment.summary = summary.strip()
    assessment.status = AssessmentStatus.COMPLETED if completed else AssessmentStatus.DRAFT

    errors: dict[str, list[str]] = {}
    try:
        assessment.full_clean(exclude=["expectations"])
    except ValidationError as exc:
        errors.update(exc.message_dict)

    existing = {rating.dimension: rating for rating in assessment.ratings.all()} if assessment.pk else {}
    to_save: list[Rating] = []
    for dimension, label in Dimension.choices:
        entered = ratings.get(dimension) or RatingInput(None, None)
        rating = existing.get(dimension)
        if entered.current is None and entered.target is None:
            if rating is not None:
                errors[_rating_key(dimension, "current")] = [
                    f"{label} was rated before: change the scores rather than clearing them."
                ]
            elif completed:
                errors[_rating_key(dimension, "current")] = [
                    f"Rate {label.lower()} before marking the assessment completed, or save it as a draft."
                ]
            continue
        for field_name in ("current", "target"):
            if getattr(entered, field_name) is None:
                errors[_rating_key(dimension, field_name)] = [f"Give both scores for {label.lower()}."]
        rating = rating or Rating(dimension=dimension)
        rating.current, rating.target = entered.current, entered.target
        rating.evidence = entered.evidence.strip()
        try:
            rating.full_clean(exclude=["assessment"], validate_unique=False)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                errors.setdefault(_rating_key(dimension, field_name), []).extend(messages)
        to_save.append(rating)
    if errors:
        raise ValidationError(errors)

    assessment.save()
    assessment.expectations.set(expectations)
    for rating in to_save:
        rating.assessment = assessment
        rating.save()
    return assessment


def _check_can_change(user, action: ActionItem) -> None:
    if not can_change_location(user, action.location_id):
        raise PermissionDenied("You cannot change this action.")


@transaction.atomic
def action_create(
    *,
    user,
    title: str,
    owner,
    due_on: date,
    description: str = "",
    rating: Rating | None = None,
    feedback: Feedback | None = None,
    complaint: str = "",
    location: Location | None = None,
    touchpoint: Touchpoint | None = None,
) -> ActionItem:
    """Open an action answering a gap `rating`, or a customer's `feedback` and/or `complaint`
    (the reference of a complaint recorded elsewhere, e.g. a case's "C-000042").

    The action belongs where its source is: the assessment's location (None for an
    organisation-wide assessment), the feedback's, or for a complaint alone `location` (required
    then), with the complaint's `touchpoint`. A rating must show a gap (target above current).
    The owner must be one of ``action_owner_choices`` for that location and the due date not in
    the past. Raises ValidationError naming the field, PermissionDenied if the user may not act
    at that location.
    """
    complaint = complaint.strip()
    customer_source = feedback is not None or bool(complaint)
    if (rating is None) == (not customer_source):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: "An action answers either a gap rating or a customer's feedback or complaint: "
                "give one."
            }
        )
    if rating is not None:
        location_id = rating.assessment.location_id
    elif feedback is not None:
        location_id = feedback.location_id
    elif location is not None:
        location_id = location.pk
    else:
        raise ValidationError({"location": "Say where the complaint was made."})
    if not can_change_location(user, location_id):
        raise PermissionDenied("You cannot open actions at this location.")
    errors: dict[str, str] = {}
    if rating is not None and (rating.gap or 0) <= 0:
        errors["rating"] = (
            f"{rating.get_dimension_display()} meets what customers expect (no gap): there is nothing to close."
        )
    location = Location.objects.filter(pk=location_id).first() if location_id else None
    if owner is not None and not action_owner_choices(location).filter(pk=owner.pk).exists():
        where = location.name if location else "an organisation-wide action"
        errors["owner"] = f"Choose a manager of {where} or an administrator as the owner."
    if due_on and due_on < timezone.localdate():
        errors["due_on"] = "The due date is in the past: choose today or later."
    if errors:
        raise ValidationError(errors)
    action = ActionItem(
        title=title.strip(),
        description=description.strip(),
        rating=rating,
        feedback=feedback,
        complaint=complaint,
        # A rating's or feedback's touchpoint is read through them; a complaint names its own.
        touchpoint=touchpoint if rating is None and feedback is None else None,
        location_id=location_id,
        owner=owner,
        due_on=due_on,
        status=ActionStatus.OPEN,
    )
    action.full_clean()
    action.save()
    return action


# Where each status may go next. Done and cancelled are final (a published action can be
# unpublished, not reopened).
ALLOWED_TRANSITIONS = {
    ActionStatus.OPEN: {ActionStatus.IN_PROGRESS, ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.IN_PROGRESS: {ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.DONE: set(),
    ActionStatus.CANCELLED: set(),
}


@transaction.atomic
def action_update_status(
    *,
    action: ActionItem,
    status: str,
    user,
    closure_note: str = "",
    closed_on: date | None = None,
) -> ActionItem:
    """Move an action on: open → in progress → done, or cancel it while it is open or in progress.

    Done needs a `closure_note` (what was done) and records `closed_on` (default today, never in
    the future); cancelling records the date and keeps the note as the reason, if given.
    Raises ValidationError ("status" for a move that is not allowed, "closure_note",
    "closed_on"), PermissionDenied if the user may not change the action.
    """
    _check_can_change(user, action)
    current = ActionStatus(action.status)
    if status not in ActionStatus.values or status not in ALLOWED_TRANSITIONS[current]:
        target = dict(ActionStatus.choices).get(status, status)
        raise ValidationError(
            {"status": f"An action that is {current.label.lower()} cannot become {str(target).lower()}."}
        )
    today = timezone.localdate()
    errors: dict[str, str] = {}
    closing = status in (ActionStatus.DONE, ActionStatus.CANCELLED)
    if status == ActionStatus.DONE and not closure_note.strip():
        errors["closure_note"] = "Say what was done before marking the action done."
    if closing and closed_on and closed_on > today:
        errors["closed_on"] = "The action cannot be closed on a future date."
    if errors:
        raise ValidationError(errors)
    action.status = status
    if closing:
        action.closure_note = closure_note.strip()
        action.closed_on = closed_on or today
    action.full_clean()
    action.save(update_fields=["status", "closure_note", "closed_on"])
    return action


@transaction.atomic
def action_publish(*, action: ActionItem, summary: str, user) -> ActionItem:
    """Publish a done action on the public "you said, we did" page with a customer-facing
    `summary` (at most 280 characters), dated today. Publishing again replaces the summary and
    keeps the first publication date.

    Raises ValidationError ("published" if the action is not done, "customer_summary" if the
    summary is empty or too long), PermissionDenied if the user may not change the action.
    """
    _check_can_change(user, action)
    if action.status != ActionStatus.DONE:
        raise ValidationError(
            {"published": "Only a done action can be published: mark it done with what was done first."}
        )
    if not summary.strip():
        raise ValidationError({"customer_summary": "Write the summary customers will read."})
    action.customer_summary = summary.strip()
    action.published = True
    action.published_on = action.published_on or timezone.localdate()
    action.full_clean()
    action.save(update_fields=["customer_summary", "published", "published_on"])
    return action


@transaction.atomic
def action_unpublish(*, action: ActionItem, user) -> ActionItem:
    """Take an action off the public page; its summary is kept for a later publication.
    Raises PermissionDenied if the user may not change the action."""
    _check_can_change(user, action)
    action.published = False
    action.published_on = None
    action.full_clean()
    action.save(update_fields=["published", "published_on"])
    return action
