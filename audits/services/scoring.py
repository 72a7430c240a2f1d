"""How an audit is scored, and what its answers demand, from the exact template version.

Each shown, answered, scored question earns a fraction of its weight:

- yes/no: yes 1, no 0; pass/fail: pass 1, fail 0;
- rating 1–5: (rating − 1) ÷ 4, so 1 earns nothing and 5 everything;
- multiple choice: the option's points ÷ the best option's points;
- number: 1 if it meets its standard's threshold, else 0;
- N/A: not counted at all, neither earned nor possible (it leaves the denominator).

A section's score is Σ earned × weight ÷ Σ weight over its counted questions; the audit's score
is the sections' scores weighted by section weight, over the sections with a counted question.
The audit fails when its score is below the template's pass mark, when a critical question earns
less than full marks, or when a section with a `fail_below` mark scores under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..models import (
    FAILED,
    NOT_APPLICABLE,
    AuditTemplate,
    ChoiceOption,
    LogicRule,
    Question,
    QuestionKind,
    Section,
)

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
YES_NO = {"yes": Decimal(1), "no": Decimal(0)}
PASS_FAIL = {"pass": Decimal(1), "fail": Decimal(0)}
RATINGS = {str(r): Decimal(r - 1) / Decimal(4) for r in range(1, 6)}


@dataclass
class Given:
    """One answer as the auditor gave it: its value, note, corrective action and photo count."""

    value: str = ""
    note: str = ""
    action: str = ""
    photos: int = 0


@dataclass
class Form:
    """A template version with everything scoring needs, loaded in five queries."""

    template: AuditTemplate
    sections: list[Section]
    questions: dict[int, list[Question]]  # section id → its questions in order
    options: dict[int, list[ChoiceOption]]  # question id → its options
    rules: dict[int, list[LogicRule]]  # question id → its rules

    @classmethod
    def load(cls, template: AuditTemplate) -> Form:
        sections = list(template.sections.order_by("position", "pk"))
        questions: dict[int, list[Question]] = {s.pk: [] for s in sections}
        every = list(
            Question.objects.filter(section__template=template)
            .select_related("standard")
            .order_by("section__position", "section_id", "position", "pk")
        )
        for question in every:
            questions[question.section_id].append(question)
        options: dict[int, list[ChoiceOption]] = {}
        for option in ChoiceOption.objects.filter(question__section__template=template).order_by(
            "position", "pk"
        ):
            options.setdefault(option.question_id, []).append(option)
        rules: dict[int, list[LogicRule]] = {}
        for rule in LogicRule.objects.filter(question__section__template=template).order_by("pk"):
            rules.setdefault(rule.question_id, []).append(rule)
        return cls(template, sections, questions, options, rules)

    def all_questions(self) -> list[Question]:
        return [q for s in self.sections for q in self.questions[s.pk]]

    def question(self, pk: int) -> Question | None:
        return next((q for q in self.all_questions() if q.pk == pk), None)


def earned(form: Form, question: Question, value: str) -> Decimal | None:
    """The fraction of its weight an answer earns; None when it does not count (unanswered, N/A,
    unscored, or not a valid answer to this question)."""
    value = (value or "").strip()
    if not question.scored or not value or value == NOT_APPLICABLE:
        return None
    if question.kind == QuestionKind.YES_NO:
        return YES_NO.get(value)
    if question.kind == QuestionKind.PASS_FAIL:
        return PASS_FAIL.get(value)
    if question.kind == QuestionKind.RATING:
        return RATINGS.get(value)
    if question.kind == QuestionKind.CHOICE:
        options = form.options.get(question.pk, [])
        best = max((o.score for o in options), default=Decimal(0))
        chosen = next((o for o in options if o.value == value), None)
        if chosen is None:
            return None
        return chosen.score / best if best > 0 else Decimal(1)
    number = parse_number(value)
    if number is None or question.standard is None or question.standard.threshold is None:
        return None
    return Decimal(1) if question.standard.passes(number) else Decimal(0)


def parse_number(value: str) -> Decimal | None:
    try:
        number = Decimal(value.strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        return None
    return number if number.is_finite() else None


def valid_answer(form: Form, question: Question, value: str) -> str | None:
    """None if `value` is a possible answer to `question`, else a message saying what is."""
    value = (value or "").strip()
    if not value:
        return None
    if value == NOT_APPLICABLE:
        return None if question.na_allowed else "N/A is not an answer to this question."
    expected = {
        QuestionKind.YES_NO: ("Answer yes or no.", YES_NO),
        QuestionKind.PASS_FAIL: ("Answer pass, fail or N/A.", PASS_FAIL),
        QuestionKind.RATING: ("Give a rating from 1 to 5.", RATINGS),
    }
    if question.kind in expected:
        message, allowed = expected[question.kind]
        return None if value in allowed else message
    if question.kind == QuestionKind.CHOICE:
        values = [o.value for o in form.options.get(question.pk, [])]
        return None if value in values else f"Choose one of: {', '.join(values)}."
    if question.kind == QuestionKind.NUMBER:
        return None if parse_number(value) is not None else "Enter a number, e.g. 12.5."
    if question.kind == QuestionKind.PHOTO:
        return "A photo question is answered with photos, not text."
    return None


def matches(form: Form, question: Question, value: str, answers: list[str]) -> bool:
    """Whether an answer is one of `answers` (the special answer "failed": anything that earns
    less than full marks)."""
    value = (value or "").strip()
    if not value:
        return False
    if value in answers:
        return True
    fraction = earned(form, question, value)
    return FAILED in answers and fraction is not None and fraction < 1


def shown(form: Form, given: Mapping[int, Given]) -> list[Question]:
    """The questions asked, given these answers: follow-ups only after their triggering answer
    (and only when their parent is itself shown)."""
    asked: set[int] = set()
    result = []
    for question in form.all_questions():
        if question.parent_id is not None:
            parent = form.question(question.parent_id)
            parent_value = given.get(question.parent_id, Given()).value
            if (
                parent is None
                or parent.pk not in asked
                or not matches(form, parent, parent_value, question.shown_when)
            ):
                continue
        asked.add(question.pk)
        result.append(question)
    return result


@dataclass
class SectionScore:
    section: Section
    earned: Decimal = Decimal(0)
    possible: Decimal = Decimal(0)
    counted: int = 0

    @property
    def percent(self) -> Decimal | None:
        return (HUNDRED * self.earned / self.possible).quantize(CENT) if self.possible else None

    @property
    def failed_mark(self) -> bool:
        mark = self.section.fail_below
        return mark is not None and self.percent is not None and self.percent < mark


@dataclass
class AuditScore:
    score: Decimal
    critical_failed: bool
    passed: bool
    sections: list[SectionScore] = field(default_factory=list)
    critical_questions: list[Question] = field(default_factory=list)

    @property
    def failed_sections(self) -> list[SectionScore]:
        return [s for s in self.sections if s.failed_mark]

    @property
    def counted(self) -> int:
        return sum(s.counted for s in self.sections)


def audit_score(form: Form, given: Mapping[int, Given]) -> AuditScore:
    """Score the shown questions' answers (see the module's docstring for the arithmetic)."""
    by_section = {s.pk: SectionScore(s) for s in form.sections}
    critical = []
    for question in shown(form, given):
        fraction = earned(form, question, given.get(question.pk, Given()).value)
        if fraction is None:
            continue
        part = by_section[question.section_id]
        part.earned += fraction * question.weight
        part.possible += question.weight
        part.counted += 1
        if question.critical and fraction < 1:
            critical.append(question)
    counted = [s for s in by_section.values() if s.possible]
    total_weight = sum((s.section.weight for s in counted), Decimal(0))
    weighted = sum((s.section.weight * s.earned / s.possible for s in counted), Decimal(0))
    score = (HUNDRED * weighted / total_weight).quantize(CENT) if total_weight else Decimal(0)
    sections = list(by_section.values())
    failed_sections = any(s.failed_mark for s in sections)
    passed = bool(counted) and score >= form.template.pass_mark and not critical and not failed_sections
    return AuditScore(score, bool(critical), passed, sections, critical)


@dataclass(frozen=True)
class Problem:
    """Something that stops a submission, on one question (field: value, note, photo or action)."""

    question: int
    field: str
    message: str


def problems(form: Form, given: Mapping[int, Given]) -> list[Problem]:
    """Everything that stops these answers from being submitted, question by question: required
    questions unanswered, answers that are not possible, and the note, photo or corrective action
    that a logic rule demands."""
    found = []
    for question in shown(form, given):
        answer = given.get(question.pk, Given())
        value = answer.value.strip()
        invalid = valid_answer(form, question, value)
        if invalid:
            found.append(Problem(question.pk, "value", invalid))
            continue
        answered = answer.photos > 0 if question.kind == QuestionKind.PHOTO else bool(value)
        if question.required and not answered:
            what = "Add a photo." if question.kind == QuestionKind.PHOTO else "Answer this question."
            found.append(Problem(question.pk, "value", what))
            continue
        for rule in form.rules.get(question.pk, []):
            if not matches(form, question, value, rule.answers):
                continue
            if rule.require_note and not answer.note.strip():
                found.append(Problem(question.pk, "note", "This answer needs a note: say what you saw."))
            if rule.require_photo and answer.photos == 0:
                found.append(Problem(question.pk, "photo", "This answer needs a photo."))
            if rule.require_action and not answer.action.strip():
                found.append(
                    Problem(
                        question.pk,
                        "action",
                        "This answer needs a corrective action: what will be done, by whom.",
                    )
                )
    # One message per question and field, in question order.
    unique = []
    for problem in found:
        if all((p.question, p.field) != (problem.question, problem.field) for p in unique):
            unique.append(problem)
    return unique


def observation_items(form: Form, given: Mapping[int, Given]) -> list[dict]:
    """The intake items of the counted answers: one observation per scored question answered
    (not N/A), of its standard. A pass/fail standard passes when the answer earns full marks;
    ratings and numbers are recorded as values, judged by the standard's threshold."""
    items = []
    for question in shown(form, given):
        answer = given.get(question.pk, Given())
        fraction = earned(form, question, answer.value)
        if fraction is None or question.standard is None:
            continue
        item = {
            "standard": question.standard.code,
            "weight": str(question.weight),
            "critical": "true" if question.critical else "false",
            "comment": answer.note.strip()[:2000],
        }
        if question.kind in (QuestionKind.RATING, QuestionKind.NUMBER):
            item["value"] = str(parse_number(answer.value.strip()))
        else:
            item["passed"] = "true" if fraction == 1 else "false"
        items.append(item)
    return items
