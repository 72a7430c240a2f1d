"""Audit templates as JSON documents, to move a template between installations or keep it
under review outside the admin.

`template_export` writes one version; `template_import` reads such a document back as a new
*draft* (a lineage of its own), checking the whole document first and writing it in one
transaction. Every problem is reported with its path in the document, e.g.
`sections[1].questions[2].standard: no standard with code “X”`. Touchpoints are named by
slug and standards by code, so a document means the same wherever those exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from standards.models import Standard
from touchpoints.models import Touchpoint

from ..models import (
    AuditMethod,
    AuditTemplate,
    ChoiceOption,
    LogicRule,
    Question,
    QuestionKind,
    Section,
    TemplateStatus,
)

FORMAT = "servicedesk.audit-template/1"

# Bounds that keep a document to the size of a real template (and an upload from exhausting
# the server): the largest demo template has a few dozen questions.
MAX_DOCUMENT_BYTES = 1_000_000
MAX_SECTIONS = 50
MAX_QUESTIONS = 500
MAX_OPTIONS = 50
MAX_RULES = 20
MAX_TOUCHPOINTS = 100
MAX_ANSWERS = 50
MAX_ANSWER_LENGTH = 300
MAX_KEY_LENGTH = 40
MAX_ERRORS = 50

TEMPLATE_KEYS = {"format", "title", "description", "method", "pass_mark", "touchpoints", "sections"}
SECTION_KEYS = {"title", "weight", "fail_below", "questions"}
QUESTION_KEYS = {
    "key",
    "text",
    "help_text",
    "kind",
    "standard",
    "weight",
    "critical",
    "required",
    "allow_na",
    "parent",
    "shown_when",
    "options",
    "rules",
}
OPTION_KEYS = {"label", "value", "score"}
RULE_KEYS = {"answers", "require_note", "require_photo", "require_action"}


def _number(value: Decimal | None) -> str | None:
    # Decimals as strings: a float would turn 0.1 into 0.1000000000000000055.
    return None if value is None else str(value)


def template_export(template: AuditTemplate) -> dict:
    """The document for one template version: its fields, touchpoints by slug, sections in
    order with their questions, options and rules. Follow-ups name their parent by the
    question's `key` (q1, q2, … in document order); standards are named by code."""
    sections = list(template.sections.order_by("position", "pk"))
    questions = list(
        Question.objects.filter(section__template=template)
        .select_related("standard")
        .prefetch_related("options", "rules")
        .order_by("section__position", "section__pk", "position", "pk")
    )
    keys = {question.pk: f"q{index}" for index, question in enumerate(questions, start=1)}
    by_section: dict[int, list[Question]] = {}
    for question in questions:
        by_section.setdefault(question.section_id, []).append(question)
    return {
        "format": FORMAT,
        "title": template.title,
        "description": template.description,
        "method": template.method,
        "pass_mark": _number(template.pass_mark),
        "touchpoints": sorted(template.touchpoints.values_list("slug", flat=True)),
        "sections": [
            {
                "title": section.title,
                "weight": _number(section.weight),
                "fail_below": _number(section.fail_below),
                "questions": [
                    {
                        "key": keys[question.pk],
                        "text": question.text,
                        "help_text": question.help_text,
                        "kind": question.kind,
                        "standard": question.standard.code if question.standard_id else None,
                        "weight": _number(question.weight),
                        "critical": question.critical,
                        "required": question.required,
                        "allow_na": question.allow_na,
                        "parent": keys.get(question.parent_id),
                        "shown_when": list(question.shown_when),
                        "options": [
                            {"label": option.label, "value": option.value, "score": _number(option.score)}
                            for option in sorted(question.options.all(), key=lambda o: (o.position, o.pk))
                        ],
                        "rules": [
                            {
                                "answers": list(rule.answers),
                                "require_note": rule.require_note,
                                "require_photo": rule.require_photo,
                                "require_action": rule.require_action,
                            }
                            for rule in sorted(question.rules.all(), key=lambda r: r.pk)
                        ],
                    }
                    for question in by_section.get(section.pk, [])
                ],
            }
            for section in sections
        ],
    }


def template_loads(raw: bytes) -> dict:
    """Parse an uploaded document, refusing what is too large or not JSON (ValidationError)."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            f"The file is {len(raw):,} bytes; a template document can be at most {MAX_DOCUMENT_BYTES:,}."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationError(f"The file is not UTF-8 text (byte {error.start}).") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise ValidationError(f"The file is not valid JSON: {error}.") from None
    except RecursionError:
        raise ValidationError("The file is nested too deeply to be a template document.") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


@dataclass
class _Reader:
    """Walks a document, collecting messages by path instead of stopping at the first."""

    problems: list[str] = field(default_factory=list)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def keys(self, data: dict, path: str, allowed: set[str], required: set[str]) -> None:
        for key in data:
            if key not in allowed:
                self.fail(path, f"unknown key “{str(key)[:60]}” (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(data)):
            self.fail(_join(path, key), "is required")

    def text(self, data: dict, path: str, key: str, *, default: str = "") -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            self.fail(_join(path, key), f"must be text, not {_kind(value)}")
            return default
        return value

    def flag(self, data: dict, path: str, key: str, *, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(_join(path, key), f"must be true or false, not {_kind(value)}")
            return default
        return value

    def decimal(self, data: dict, path: str, key: str, *, default, nullable: bool = False):
        if key not in data:
            return default
        value = data[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(_join(path, key), f"must be a number, not {_kind(value)}")
            return default
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(_join(path, key), f"“{str(value)[:40]}” is not a number")
            return default
        if not number.is_finite():
            self.fail(_join(path, key), "must be a finite number")
            return default
        return number

    def items(self, data: dict, path: str, key: str, limit: int) -> list:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(path, key), f"must be a list, not {_kind(value)}")
            return []
        if len(value) > limit:
            self.fail(_join(path, key), f"has {len(value)} entries; at most {limit} are allowed")
            return []
        return value

    def answers(self, data: dict, path: str, key: str) -> list[str]:
        values = self.items(data, path, key, MAX_ANSWERS)
        clean = []
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value or len(value) > MAX_ANSWER_LENGTH:
                self.fail(
                    f"{_join(path, key)}[{index}]",
                    f"must be an answer text of 1–{MAX_ANSWER_LENGTH} characters",
                )
            else:
                clean.append(value)
        return clean

    def model_fields(self, instance, path: str, exclude: list[str]) -> None:
        """The model's own field rules (lengths, ranges, digits, text), said at `path`."""
        try:
            instance.clean_fields(exclude=exclude)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    self.fail(_join(path, name), message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


@dataclass
class _PlannedQuestion:
    path: str
    key: str
    question: Question
    parent_key: str | None
    options: list[tuple[str, ChoiceOption]]
    rules: list[tuple[str, LogicRule]]


def template_import(data) -> AuditTemplate:
    """Create a draft template from a document made by `template_export`.

    Everything is checked before anything is written (structure, types, bounds, references to
    touchpoints, standards and follow-up keys, the models' field rules); the draft and all its
    parts are then written in one transaction together with the models' cross-field checks,
    so a refused document leaves nothing behind. Raises ValidationError with one message per
    problem, each starting with its path.
    """
    reader = _Reader()
    if not isinstance(data, dict):
        raise ValidationError([f"The document must be a JSON object, not {_kind(data)}."])
    reader.keys(data, "", TEMPLATE_KEYS, {"format", "title", "method", "sections"})
    if "format" in data and data["format"] != FORMAT:
        reader.fail("format", f"must be “{FORMAT}”")

    template = AuditTemplate(
        title=reader.text(data, "", "title"),
        description=reader.text(data, "", "description"),
        method=reader.text(data, "", "method"),
        pass_mark=reader.decimal(
            data, "", "pass_mark", default=AuditTemplate._meta.get_field("pass_mark").default
        ),
        status=TemplateStatus.DRAFT,
    )
    if "method" in data and template.method not in AuditMethod.values:
        reader.fail("method", f"must be one of {', '.join(AuditMethod.values)}")
    reader.model_fields(template, "", exclude=["method"])

    slugs = reader.items(data, "", "touchpoints", MAX_TOUCHPOINTS)
    wanted_slugs = [s for s in slugs if isinstance(s, str)]
    touchpoints = (
        {t.slug: t for t in Touchpoint.objects.filter(slug__in=wanted_slugs)} if wanted_slugs else {}
    )
    for index, slug in enumerate(slugs):
        if not isinstance(slug, str):
            reader.fail(f"touchpoints[{index}]", f"must be a touchpoint's slug, not {_kind(slug)}")
        elif slug not in touchpoints:
            reader.fail(f"touchpoints[{index}]", f"no touchpoint with slug “{slug[:80]}”")

    raw_sections = reader.items(data, "", "sections", MAX_SECTIONS)
    if "sections" in data and isinstance(data["sections"], list) and not data["sections"]:
        reader.fail("sections", "a template needs at least one section")
    question_total = sum(
        len(s["questions"])
        for s in raw_sections
        if isinstance(s, dict) and isinstance(s.get("questions"), list)
    )
    if question_total > MAX_QUESTIONS:
        reader.fail("sections", f"hold {question_total} questions; at most {MAX_QUESTIONS} are allowed")
        raw_sections = []

    codes = {
        q.get("standard")
        for s in raw_sections
        if isinstance(s, dict) and isinstance(s.get("questions"), list)
        for q in s["questions"]
        if isinstance(q, dict) and isinstance(q.get("standard"), str)
    }
    standards = {s.code: s for s in Standard.objects.filter(code__in=codes)} if codes else {}

    plan: list[tuple[Section, list[_PlannedQuestion]]] = []
    seen_keys: dict[str, str] = {}
    for s_index, raw_section in enumerate(raw_sections):
        s_path = f"sections[{s_index}]"
        if not isinstance(raw_section, dict):
            reader.fail(s_path, f"must be an object, not {_kind(raw_section)}")
            continue
        reader.keys(raw_section, s_path, SECTION_KEYS, {"title", "questions"})
        section = Section(
            position=s_index,
            title=reader.text(raw_section, s_path, "title"),
            weight=reader.decimal(raw_section, s_path, "weight", default=Decimal("1")),
            fail_below=reader.decimal(raw_section, s_path, "fail_below", default=None, nullable=True),
        )
        reader.model_fields(section, s_path, exclude=["template"])
        planned = []
        for q_index, raw_question in enumerate(reader.items(raw_section, s_path, "questions", MAX_QUESTIONS)):
            q_path = f"{s_path}.questions[{q_index}]"
            if not isinstance(raw_question, dict):
                reader.fail(q_path, f"must be an object, not {_kind(raw_question)}")
                continue
            item = _plan_question(reader, raw_question, q_path, q_index, standards)
            if item.key in seen_keys:
                reader.fail(_join(q_path, "key"), f"“{item.key}” is also the key of {seen_keys[item.key]}")
            elif item.key:
                seen_keys[item.key] = q_path
            planned.append(item)
        plan.append((section, planned))

    every = {item.key: item for _, items in plan for item in items if item.key}
    for item in every.values():
        if item.parent_key is not None and item.parent_key not in every:
            reader.fail(_join(item.path, "parent"), f"no question with key “{item.parent_key[:60]}”")
    for item in every.values():
        if _in_cycle(item, every):
            reader.fail(_join(item.path, "parent"), "follow-ups cannot form a loop")

    _raise(reader)
    return _write(template, list(touchpoints.values()), plan, every)


def _plan_question(reader: _Reader, raw: dict, path: str, position: int, standards: dict) -> _PlannedQuestion:
    reader.keys(raw, path, QUESTION_KEYS, {"key", "text", "kind"})
    key = reader.text(raw, path, "key")
    if "key" in raw and isinstance(raw["key"], str) and not (0 < len(key) <= MAX_KEY_LENGTH):
        reader.fail(_join(path, "key"), f"must be 1–{MAX_KEY_LENGTH} characters")
        key = ""
    kind = reader.text(raw, path, "kind")
    if "kind" in raw and kind not in QuestionKind.values:
        reader.fail(_join(path, "kind"), f"must be one of {', '.join(QuestionKind.values)}")
    standard = None
    code = raw.get("standard")
    if code is not None:
        if not isinstance(code, str):
            reader.fail(_join(path, "standard"), f"must be a standard's code or null, not {_kind(code)}")
        elif code not in standards:
            reader.fail(_join(path, "standard"), f"no standard with code “{code[:40]}”")
        else:
            standard = standards[code]
    parent_key = raw.get("parent")
    if parent_key is not None and not isinstance(parent_key, str):
        reader.fail(_join(path, "parent"), f"must be a question's key or null, not {_kind(parent_key)}")
        parent_key = None
    question = Question(
        position=position,
        text=reader.text(raw, path, "text"),
        help_text=reader.text(raw, path, "help_text"),
        kind=kind,
        standard=standard,
        weight=reader.decimal(raw, path, "weight", default=Decimal("1")),
        critical=reader.flag(raw, path, "critical", default=False),
        required=reader.flag(raw, path, "required", default=True),
        allow_na=reader.flag(raw, path, "allow_na", default=False),
        shown_when=reader.answers(raw, path, "shown_when"),
    )
    reader.model_fields(question, path, exclude=["section", "standard", "parent", "kind", "shown_when"])

    options = []
    values_seen = set()
    for o_index, raw_option in enumerate(reader.items(raw, path, "options", MAX_OPTIONS)):
        o_path = f"{path}.options[{o_index}]"
        if not isinstance(raw_option, dict):
            reader.fail(o_path, f"must be an object, not {_kind(raw_option)}")
            continue
        reader.keys(raw_option, o_path, OPTION_KEYS, {"label", "value"})
        option = ChoiceOption(
            position=o_index,
            label=reader.text(raw_option, o_path, "label"),
            value=reader.text(raw_option, o_path, "value"),
            score=reader.decimal(raw_option, o_path, "score", default=Decimal("0")),
        )
        reader.model_fields(option, o_path, exclude=["question"])
        if option.value in values_seen:
            reader.fail(_join(o_path, "value"), f"“{option.value}” is already another option's value")
        values_seen.add(option.value)
        options.append((o_path, option))
    if options and kind != QuestionKind.CHOICE:
        reader.fail(_join(path, "options"), "only a multiple-choice question has options")

    rules = []
    for r_index, raw_rule in enumerate(reader.items(raw, path, "rules", MAX_RULES)):
        r_path = f"{path}.rules[{r_index}]"
        if not isinstance(raw_rule, dict):
            reader.fail(r_path, f"must be an object, not {_kind(raw_rule)}")
            continue
        reader.keys(raw_rule, r_path, RULE_KEYS, {"answers"})
        rule = LogicRule(
            answers=reader.answers(raw_rule, r_path, "answers"),
            require_note=reader.flag(raw_rule, r_path, "require_note", default=False),
            require_photo=reader.flag(raw_rule, r_path, "require_photo", default=False),
            require_action=reader.flag(raw_rule, r_path, "require_action", default=False),
        )
        _model_clean(reader, rule, r_path)
        rules.append((r_path, rule))
    return _PlannedQuestion(path, key, question, parent_key, options, rules)


def _in_cycle(item: _PlannedQuestion, every: dict[str, _PlannedQuestion]) -> bool:
    seen = {item.key}
    current = item
    while current.parent_key is not None and current.parent_key in every:
        if current.parent_key in seen:
            return current.parent_key == item.key
        seen.add(current.parent_key)
        current = every[current.parent_key]
    return False


def _model_clean(reader: _Reader, instance, path: str) -> None:
    try:
        instance.clean()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            for message in messages:
                reader.fail(_join(path, name), message)


def _raise(reader: _Reader) -> None:
    if reader.problems:
        shown = reader.problems[:MAX_ERRORS]
        if len(reader.problems) > MAX_ERRORS:
            shown.append(f"… and {len(reader.problems) - MAX_ERRORS} more problems.")
        raise ValidationError(shown)


@transaction.atomic
def _write(
    template: AuditTemplate,
    touchpoints: list[Touchpoint],
    plan: list[tuple[Section, list[_PlannedQuestion]]],
    every: dict[str, _PlannedQuestion],
) -> AuditTemplate:
    template.save()
    template.touchpoints.set(touchpoints)
    for section, items in plan:
        section.template = template
        section.save()
        for item in items:
            item.question.section = section
            item.question.save()
    reader = _Reader()
    for _, items in plan:
        for item in items:
            if item.parent_key is not None:
                item.question.parent = every[item.parent_key].question
                item.question.save(update_fields=["parent"])
            # The question's own checks (standard of the right kind, follow-up with answers …)
            # need the saved relations; a problem here rolls the whole draft back.
            _model_clean(reader, item.question, item.path)
            for _, option in item.options:
                option.question = item.question
            for _, rule in item.rules:
                rule.question = item.question
    # Raised inside the atomic block, so nothing written above is kept.
    _raise(reader)
    ChoiceOption.objects.bulk_create(
        option for _, items in plan for item in items for _, option in item.options
    )
    LogicRule.objects.bulk_create(rule for _, items in plan for item in items for _, rule in item.rules)
    return template
