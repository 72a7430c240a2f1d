"""Factories for the audit programme (templates, schedules, occurrences, audits), and
`template_from`, which builds a whole template version from a compact description."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from audits.models import (
    Audit,
    AuditMethod,
    AuditTemplate,
    ChoiceOption,
    ExternalEvaluator,
    LogicRule,
    Occurrence,
    Question,
    QuestionKind,
    Schedule,
    Section,
    TemplateStatus,
)
from standards.models import MeasureKind
from tests.factories import LocationFactory, StandardFactory, UserFactory


class AuditTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditTemplate

    title = factory.Sequence(lambda n: f"Audit template {n}")
    method = AuditMethod.MYSTERY_SHOP
    status = TemplateStatus.PUBLISHED


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    template = factory.SubFactory(AuditTemplateFactory)
    title = factory.Sequence(lambda n: f"Section {n}")
    position = factory.Sequence(lambda n: n)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    section = factory.SubFactory(SectionFactory)
    text = factory.Sequence(lambda n: f"Question {n}?")
    kind = QuestionKind.YES_NO
    position = factory.Sequence(lambda n: n)
    standard = factory.Maybe(
        factory.LazyAttribute(lambda q: q.kind in {"yes_no", "pass_fail", "choice"}),
        yes_declaration=factory.SubFactory(StandardFactory),
        no_declaration=None,
    )


class ExternalEvaluatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalEvaluator

    user = factory.SubFactory(UserFactory)
    organisation = "Shopper Panel Ltd"


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    template = factory.SubFactory(AuditTemplateFactory)
    location = factory.SubFactory(LocationFactory)
    starts_on = factory.LazyFunction(lambda: date.today() - timedelta(days=30))


class OccurrenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Occurrence

    schedule = factory.SubFactory(ScheduleFactory)
    location = factory.SelfAttribute("schedule.location")
    scheduled_for = factory.LazyFunction(date.today)
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    closes_at = factory.SelfAttribute("due_at")
    status = "open"


class AuditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Audit

    template = factory.SubFactory(AuditTemplateFactory)
    location = factory.SubFactory(LocationFactory)


def template_from(sections: list[dict], **template_fields) -> AuditTemplate:
    """A published template from a description, e.g.

        template_from([{"title": "Welcome", "weight": 2, "fail_below": 50, "questions": [
            {"key": "greet", "kind": "yes_no", "weight": 3, "critical": True},
            {"key": "why", "kind": "text", "parent": "greet", "shown_when": ["no"]},
            {"key": "mood", "kind": "choice", "options": [("good", 2), ("fair", 1), ("poor", 0)],
             "rules": [{"answers": ["poor"], "require_photo": True}]},
        ]}])

    Questions get a standard of the right kind unless one is given. The questions are reachable
    as `template.q[key]`.
    """
    template = AuditTemplateFactory(**template_fields)
    template.q = {}
    kinds = {
        "yes_no": MeasureKind.PASS_FAIL,
        "pass_fail": MeasureKind.PASS_FAIL,
        "choice": MeasureKind.PASS_FAIL,
        "rating": MeasureKind.RATING,
        "number": MeasureKind.NUMERIC,
    }
    for s_index, spec in enumerate(sections):
        section = Section.objects.create(
            template=template,
            position=s_index,
            title=spec.get("title", f"Section {s_index + 1}"),
            weight=Decimal(str(spec.get("weight", 1))),
            fail_below=None if spec.get("fail_below") is None else Decimal(str(spec["fail_below"])),
        )
        for q_index, q in enumerate(spec["questions"]):
            kind = q.get("kind", "yes_no")
            standard = q.get("standard")
            if standard is None and kind in kinds:
                extra = {}
                if kind == "rating":
                    extra = {"comparator": "gte", "threshold": Decimal("4")}
                if kind == "number":
                    extra = {
                        "comparator": q.get("comparator", "lte"),
                        "threshold": Decimal(str(q.get("threshold", 10))),
                        "unit": q.get("unit", "minutes"),
                    }
                standard = StandardFactory(measure_kind=kinds[kind], **extra)
            question = Question.objects.create(
                section=section,
                position=q_index,
                text=q.get("text", f"{q['key']}?"),
                kind=kind,
                standard=standard,
                weight=Decimal(str(q.get("weight", 1))),
                critical=q.get("critical", False),
                required=q.get("required", True),
                allow_na=q.get("allow_na", False),
                parent=template.q.get(q.get("parent")),
                shown_when=q.get("shown_when", []),
            )
            for o_index, (value, score) in enumerate(q.get("options", [])):
                ChoiceOption.objects.create(
                    question=question,
                    position=o_index,
                    label=value.title(),
                    value=value,
                    score=Decimal(str(score)),
                )
            for rule in q.get("rules", []):
                LogicRule.objects.create(question=question, **rule)
            template.q[q["key"]] = question
    return template
