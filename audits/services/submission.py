"""Saving an audit's answers as a draft, and submitting it: its scored answers become an
evaluation and observations through the measurement intake service, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from measurement.services.intake import RowError, evaluation_record

from ..models import Answer, Audit, AuditStatus, Occurrence, OccurrenceStatus, Photo
from .scoring import AuditScore, Form, Given, Problem, audit_score, observation_items, problems
from .templates import published_version

NO_COUNTED_ANSWER = "Answer at least one scored question with something other than N/A."
NO_PUBLISHED_VERSION = "This audit's template has no published version: ask an administrator to publish one."


def audit_start(occurrence: Occurrence, user) -> Audit:
    """The occurrence's audit: the draft already started (by anyone), or a new draft by `user` on
    the template's version published now, which the audit then keeps."""
    existing = Audit.objects.filter(occurrence=occurrence).first()
    if existing is not None:
        return existing
    version = published_version(occurrence.schedule.template)
    if version is None:
        raise ValueError(NO_PUBLISHED_VERSION)
    try:
        with transaction.atomic():
            return Audit.objects.create(
                template=version,
                occurrence=occurrence,
                location=occurrence.location,
                touchpoint=occurrence.schedule.touchpoint,
                auditor=user,
            )
    except IntegrityError:
        # Two taps on "Start" (or two assignees at once): the first draft wins, the second resumes it.
        return Audit.objects.get(occurrence=occurrence)


def given_answers(audit: Audit) -> dict[int, Given]:
    """The audit's stored answers with their photo counts (two queries)."""
    photos: dict[int, int] = {}
    for answer_id in Photo.objects.filter(answer__audit=audit).values_list("answer_id", flat=True):
        photos[answer_id] = photos.get(answer_id, 0) + 1
    return {
        a.question_id: Given(a.value, a.note, a.action, photos.get(a.pk, 0))
        for a in Answer.objects.filter(audit=audit)
    }


def answer_save(audit: Audit, question_id: int, **fields: str) -> Answer:
    """Store one answer's value, note or action (any of them) on a draft: an upsert, so a
    resend after a dropped connection stores it once."""
    if audit.status != AuditStatus.DRAFT:
        raise ValueError("A submitted audit cannot be changed.")
    answer, _ = Answer.objects.update_or_create(audit=audit, question_id=question_id, defaults=fields)
    Audit.objects.filter(pk=audit.pk).update(updated_at=timezone.now())
    return answer


@dataclass
class Submission:
    audit: Audit
    problems: list[Problem] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    score: AuditScore | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.errors


def occurrence_status_on(occurrence: Occurrence, submitted_at: datetime) -> str | None:
    """done before the due time, late after it while late submission is allowed; None when the
    occurrence no longer takes a submission (missed, or already done)."""
    if occurrence.status in (OccurrenceStatus.DONE, OccurrenceStatus.LATE, OccurrenceStatus.MISSED):
        return None
    if submitted_at < occurrence.opens_at or submitted_at > occurrence.closes_at:
        return None
    return OccurrenceStatus.DONE if submitted_at <= occurrence.due_at else OccurrenceStatus.LATE


def audit_submit(audit: Audit, *, user, now: datetime | None = None) -> Submission:
    """Check the draft's answers against its template version and, if nothing is missing, record
    the evaluation (its score from the template's arithmetic) and its observations, then mark the
    audit submitted and its occurrence done or late. Idempotent: a second submit of the same
    audit finds its evaluation (by the audit's key) and changes nothing."""
    now = now or timezone.now()
    form = Form.load(audit.template)
    given = given_answers(audit)
    found = problems(form, given)
    outcome = Submission(audit, found)
    if audit.status == AuditStatus.SUBMITTED:
        return Submission(audit)
    occurrence = audit.occurrence
    new_status = None
    if occurrence is not None:
        new_status = occurrence_status_on(occurrence, now)
        if new_status is None:
            outcome.problems.append(
                Problem(0, "occurrence", "This audit is closed: it was missed or submitted already.")
            )
    items = observation_items(form, given)
    if not items and not found:
        outcome.problems.append(Problem(0, "value", NO_COUNTED_ANSWER))
    if outcome.problems:
        return outcome
    score = audit_score(form, given)
    outcome.score = score
    with transaction.atomic():
        locked = Audit.objects.select_for_update().get(pk=audit.pk)
        if locked.status == AuditStatus.SUBMITTED:
            return Submission(locked)
        recorded = evaluation_record(
            location=audit.location.code,
            method=audit.template.evaluation_method,
            evaluated_at=now,
            items=items,
            team=audit.team.name if audit.team_id else "",
            employee=audit.employee.employee_number if audit.employee_id else "",
            touchpoint=audit.touchpoint.slug if audit.touchpoint_id else "",
            comment=audit.comment,
            external_id=f"audit:{audit.key}",
            evaluator=user,
            result=(score.score, score.critical_failed, score.passed),
        )
        if recorded.evaluation is None:
            outcome.errors = recorded.errors
            transaction.set_rollback(True)
            return outcome
        Audit.objects.filter(pk=audit.pk).update(
            status=AuditStatus.SUBMITTED, submitted_at=now, evaluation=recorded.evaluation, updated_at=now
        )
        if occurrence is not None:
            Occurrence.objects.filter(pk=occurrence.pk, status__in=["scheduled", "open"]).update(
                status=new_status, completed_at=now
            )
    audit.refresh_from_db()
    return outcome
