"""Recording a whole audit at once (another system sends the answers together): the audit and its
answers are created and submitted through `audit_submit` in one transaction, or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from measurement.models import Evaluation
from measurement.services.intake import RowError

from ..models import Answer, Audit, AuditTemplate, Occurrence
from .scoring import Problem
from .submission import audit_submit


@dataclass
class Recorded:
    """The evaluation the audit made (or found, for a resend), or what stopped it."""

    evaluation: Evaluation | None = None
    created: bool = False
    problems: list[Problem] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def audit_record(
    *,
    template: AuditTemplate,
    location,
    answers: list[dict[str, str]],
    evaluated_at: datetime,
    user,
    touchpoint=None,
    team=None,
    employee=None,
    occurrence: Occurrence | None = None,
    comment: str = "",
    external_id: str | None = None,
) -> Recorded:
    """Create an audit of `template` with `answers` ({"question": id, "value", "note", "action"})
    and submit it as done at `evaluated_at`. Idempotent by `external_id`: a resend finds the
    evaluation already stored and records nothing. Nothing is kept when the answers have problems
    (`problems`) or the intake refuses the evaluation (`errors`)."""
    if external_id:
        existing = Evaluation.objects.filter(external_id=external_id).first()
        if existing is not None:
            return Recorded(existing, created=False)
    with transaction.atomic():
        audit = Audit.objects.create(
            template=template,
            occurrence=occurrence,
            location=location,
            touchpoint=touchpoint,
            team=team,
            employee=employee,
            auditor=user,
            comment=comment,
        )
        Answer.objects.bulk_create(
            Answer(
                audit=audit,
                question_id=answer["question"],
                value=answer.get("value", ""),
                note=answer.get("note", ""),
                action=answer.get("action", ""),
            )
            for answer in answers
        )
        submission = audit_submit(audit, user=user, now=evaluated_at)
        if not submission.ok:
            transaction.set_rollback(True)
            return Recorded(problems=submission.problems, errors=submission.errors)
        evaluation = audit.evaluation
        if external_id:
            # The audit's evaluation carries the sender's id, so that a resend finds it.
            Evaluation.objects.filter(pk=evaluation.pk).update(external_id=external_id)
            evaluation.external_id = external_id
    return Recorded(evaluation, created=True)
