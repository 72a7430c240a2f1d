"""Template versions: publishing freezes one; a change to a published template is made on its
next version, a copy that starts as a draft. Audits keep the version they were done with."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..models import AuditTemplate, ChoiceOption, LogicRule, Question, Section, TemplateStatus


def template_problems(template: AuditTemplate) -> list[str]:
    """What stops a draft from being published: no question, or questions that do not hold
    together (each question's own checks, as in the admin)."""
    found = []
    questions = list(
        Question.objects.filter(section__template=template).select_related(
            "standard", "parent__section", "section"
        )
    )
    if not any(q.scored for q in questions):
        found.append("A template needs at least one scored question to be published.")
    for question in questions:
        try:
            question.clean()
        except ValidationError as error:
            for messages in error.message_dict.values():
                found.extend(f"“{question.text}”: {message}" for message in messages)
        if question.kind == "choice" and not question.options.exists():
            found.append(f"“{question.text}”: a multiple-choice question needs options.")
    return found


@transaction.atomic
def template_publish(template: AuditTemplate) -> AuditTemplate:
    """Publish a draft version; the lineage's previously published version is retired (audits
    already started on it still finish on it)."""
    template = AuditTemplate.objects.select_for_update().get(pk=template.pk)
    if template.status != TemplateStatus.DRAFT:
        raise ValidationError("Only a draft can be published; this version is already frozen.")
    problems = template_problems(template)
    if problems:
        raise ValidationError(problems)
    AuditTemplate.objects.filter(lineage=template.lineage, status=TemplateStatus.PUBLISHED).update(
        status=TemplateStatus.RETIRED
    )
    template.status = TemplateStatus.PUBLISHED
    template.published_at = timezone.now()
    template.save(update_fields=["status", "published_at"])
    return template


@transaction.atomic
def template_new_version(template: AuditTemplate) -> AuditTemplate:
    """A draft copy of `template` (sections, questions, follow-ups, options, rules) as the
    lineage's next version; returns the existing draft if the lineage has one already."""
    existing = AuditTemplate.objects.filter(lineage=template.lineage, status=TemplateStatus.DRAFT).first()
    if existing is not None:
        return existing
    latest = AuditTemplate.objects.filter(lineage=template.lineage).aggregate(v=Max("version"))["v"]
    copy = AuditTemplate.objects.create(
        lineage=template.lineage,
        version=latest + 1,
        title=template.title,
        description=template.description,
        method=template.method,
        pass_mark=template.pass_mark,
        status=TemplateStatus.DRAFT,
    )
    copy.touchpoints.set(template.touchpoints.all())
    copied: dict[int, Question] = {}
    parents: list[tuple[Question, int]] = []
    for section in template.sections.order_by("position", "pk"):
        new_section = Section.objects.create(
            template=copy,
            position=section.position,
            title=section.title,
            weight=section.weight,
            fail_below=section.fail_below,
        )
        for question in section.questions.order_by("position", "pk"):
            old_pk, parent_pk = question.pk, question.parent_id
            question.pk = None
            question.section = new_section
            question.parent = None
            question.save()
            copied[old_pk] = question
            if parent_pk is not None:
                parents.append((question, parent_pk))
    for question, parent_pk in parents:
        question.parent = copied[parent_pk]
        question.save(update_fields=["parent"])
    ChoiceOption.objects.bulk_create(
        ChoiceOption(
            question=copied[o.question_id], position=o.position, label=o.label, value=o.value, score=o.score
        )
        for o in ChoiceOption.objects.filter(question_id__in=copied)
    )
    LogicRule.objects.bulk_create(
        LogicRule(
            question=copied[r.question_id],
            answers=r.answers,
            require_note=r.require_note,
            require_photo=r.require_photo,
            require_action=r.require_action,
        )
        for r in LogicRule.objects.filter(question_id__in=copied)
    )
    return copy


def published_version(template: AuditTemplate) -> AuditTemplate | None:
    """The lineage's version that new audits use now."""
    return AuditTemplate.objects.filter(lineage=template.lineage, status=TemplateStatus.PUBLISHED).first()


@transaction.atomic
def template_retire(template: AuditTemplate) -> AuditTemplate:
    """Retire the published version: no new audit starts on it, while audits already started
    on it still finish (and keep their score) on it."""
    template = AuditTemplate.objects.select_for_update().get(pk=template.pk)
    if template.status != TemplateStatus.PUBLISHED:
        raise ValidationError("Only the published version can be retired.")
    template.status = TemplateStatus.RETIRED
    template.save(update_fields=["status"])
    return template
