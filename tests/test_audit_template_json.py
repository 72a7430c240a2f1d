"""Audit templates as JSON: an exported version imports back as an equal draft; a document
with problems is refused whole, each problem named by its path; and no document, however
odd, makes the import raise anything but a ValidationError."""

import copy
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits.models import AuditTemplate, ChoiceOption, LogicRule, Question, Section, TemplateStatus
from audits.services.template_json import (
    FORMAT,
    MAX_DOCUMENT_BYTES,
    MAX_SECTIONS,
    template_export,
    template_import,
    template_loads,
)
from standards.models import MeasureKind
from tests import factories
from tests.audit_factories import template_from

pytestmark = pytest.mark.django_db


def every_kind_template(**fields):
    """A published template with every question kind, a follow-up, options and rules."""
    template = template_from(
        [
            {
                "title": "Welcome",
                "weight": 2,
                "fail_below": 50,
                "questions": [
                    {"key": "greet", "kind": "yes_no", "weight": 3, "critical": True},
                    {
                        "key": "why",
                        "kind": "text",
                        "parent": "greet",
                        "shown_when": ["no"],
                        "required": False,
                    },
                    {
                        "key": "mood",
                        "kind": "choice",
                        "options": [("good", 2), ("fair", 1), ("poor", 0)],
                        "rules": [{"answers": ["poor"], "require_photo": True, "require_note": True}],
                    },
                ],
            },
            {
                "title": "Till",
                "questions": [
                    {
                        "key": "clean",
                        "kind": "pass_fail",
                        "rules": [{"answers": ["fail"], "require_action": True}],
                    },
                    {"key": "rate", "kind": "rating", "allow_na": True, "weight": "1.5"},
                    {"key": "wait", "kind": "number", "threshold": 5, "unit": "minutes"},
                    {"key": "shelf", "kind": "photo", "required": False},
                ],
            },
        ],
        pass_mark=Decimal("75.50"),
        **fields,
    )
    template.touchpoints.set(
        [factories.TouchpointFactory(slug="till"), factories.TouchpointFactory(slug="door")]
    )
    return template


def test_export_names_standards_by_code_touchpoints_by_slug_and_follow_ups_by_key():
    template = every_kind_template()

    document = template_export(template)

    assert document["format"] == FORMAT
    assert document["pass_mark"] == "75.50"
    assert document["touchpoints"] == ["door", "till"]
    welcome = document["sections"][0]
    assert (welcome["title"], welcome["weight"], welcome["fail_below"]) == ("Welcome", "2.00", "50.00")
    greet, why, mood = welcome["questions"]
    assert greet["key"] == "q1" and greet["standard"] == template.q["greet"].standard.code
    assert greet["critical"] is True
    assert (why["parent"], why["shown_when"], why["standard"]) == ("q1", ["no"], None)
    assert [(o["value"], o["score"]) for o in mood["options"]] == [
        ("good", "2.00"),
        ("fair", "1.00"),
        ("poor", "0.00"),
    ]
    assert mood["rules"] == [
        {"answers": ["poor"], "require_note": True, "require_photo": True, "require_action": False}
    ]
    assert [q["kind"] for q in document["sections"][1]["questions"]] == [
        "pass_fail",
        "rating",
        "number",
        "photo",
    ]
    json.dumps(document)  # a document is plain JSON


def test_export_then_import_gives_an_equal_draft():
    template = every_kind_template()
    document = template_export(template)

    imported = template_import(json.loads(json.dumps(document)))

    assert imported.pk != template.pk
    assert imported.status == TemplateStatus.DRAFT and imported.version == 1
    assert imported.lineage != template.lineage
    assert template_export(imported) == document
    # The follow-up points at the imported parent, not the original one.
    why = Question.objects.get(section__template=imported, text="why?")
    assert why.parent.section.template_id == imported.pk
    assert why.parent.text == "greet?"
    assert ChoiceOption.objects.filter(question__section__template=imported).count() == 3
    assert LogicRule.objects.filter(question__section__template=imported).count() == 2


def test_an_imported_draft_can_be_published():
    from audits.services.templates import template_publish

    imported = template_import(template_export(every_kind_template()))

    assert template_publish(imported).status == TemplateStatus.PUBLISHED


def _document():
    return template_export(every_kind_template())


def _problems(document) -> list[str]:
    before = (AuditTemplate.objects.count(), Section.objects.count(), Question.objects.count())
    with pytest.raises(ValidationError) as raised:
        template_import(document)
    assert (AuditTemplate.objects.count(), Section.objects.count(), Question.objects.count()) == before
    return raised.value.messages


def test_an_unknown_standard_is_named_by_its_path():
    document = _document()
    document["sections"][1]["questions"][2]["standard"] = "X"

    assert _problems(document) == ["sections[1].questions[2].standard: no standard with code “X”"]


def test_every_problem_of_a_document_is_listed_with_its_path():
    document = _document()
    document["colour"] = "blue"
    document["touchpoints"].append("nowhere")
    document["sections"][0]["weight"] = "heavy"
    document["sections"][0]["questions"][0]["critical"] = "yes"
    document["sections"][0]["questions"][1]["parent"] = "q99"
    document["sections"][0]["questions"][2]["options"][1]["value"] = "good"
    document["sections"][1]["questions"][0]["kind"] = "essay"
    document["sections"][1]["questions"][1]["rules"] = [{"answers": []}]

    problems = _problems(document)

    assert problems[0].startswith("unknown key “colour” (allowed: ")
    assert problems[1:] == [
        "touchpoints[2]: no touchpoint with slug “nowhere”",
        "sections[0].weight: “heavy” is not a number",
        "sections[0].questions[0].critical: must be true or false, not text",
        "sections[0].questions[2].options[1].value: “good” is already another option's value",
        "sections[1].questions[0].kind: must be one of yes_no, pass_fail, rating, choice, number, text, photo",
        'sections[1].questions[1].rules[0].answers: Give at least one answer, e.g. ["no"].',
        "sections[1].questions[1].rules[0].require_note: "
        "Choose what the answer requires: a note, a photo or a corrective action.",
        "sections[0].questions[1].parent: no question with key “q99”",
    ]


def test_required_keys_wrong_types_and_field_rules_are_refused():
    assert _problems([]) == ["The document must be a JSON object, not a list."]
    assert _problems({"format": FORMAT, "title": "T", "method": "qa_review", "sections": []}) == [
        "sections: a template needs at least one section"
    ]
    assert _problems({"format": "other/1", "title": "", "method": "x", "sections": "none"}) == [
        f"format: must be “{FORMAT}”",
        "method: must be one of mystery_shop, qa_review, internal_audit, self_assessment",
        "title: This field cannot be blank.",
        "sections: must be a list, not text",
    ]
    document = _document()
    document["pass_mark"] = 101
    document["sections"][0]["questions"][0]["weight"] = "NaN"
    document["sections"][0]["questions"][0]["text"] = "x" * 301
    assert _problems(document) == [
        "pass_mark: Ensure this value is less than or equal to 100.",
        "sections[0].questions[0].weight: must be a finite number",
        "sections[0].questions[0].text: Ensure this value has at most 300 characters (it has 301).",
    ]


def test_follow_ups_cannot_loop_and_keys_are_unique():
    document = _document()
    greet, why, _mood = document["sections"][0]["questions"]
    greet["parent"], greet["shown_when"] = "q2", ["yes"]
    document["sections"][1]["questions"][0]["key"] = "q3"

    assert _problems(document) == [
        "sections[1].questions[0].key: “q3” is also the key of sections[0].questions[2]",
        "sections[0].questions[0].parent: follow-ups cannot form a loop",
        "sections[0].questions[1].parent: follow-ups cannot form a loop",
    ]


def test_the_models_cross_checks_refuse_the_whole_document():
    """A standard measured as a rating on a yes/no question is found only once the parts are
    related; by then some rows were written, and all of them are rolled back."""
    document = _document()
    rating_standard = factories.StandardFactory(
        code="RATE-1", measure_kind=MeasureKind.RATING, comparator="gte", threshold=Decimal("4")
    )
    document["sections"][1]["questions"][3]["standard"] = rating_standard.code  # the photo question
    document["sections"][0]["questions"][0]["standard"] = rating_standard.code  # yes/no

    assert _problems(document) == [
        "sections[0].questions[0].standard: RATE-1 is measured as Rating (1–5); "
        "a Yes / no question needs a Pass / fail standard.",
        "sections[1].questions[3].standard: Photo answers are not scored: leave the standard empty.",
    ]


def test_documents_are_bounded():
    document = _document()
    document["sections"] = [copy.deepcopy(document["sections"][1]) for _ in range(MAX_SECTIONS + 1)]
    assert _problems(document) == [
        f"sections: has {MAX_SECTIONS + 1} entries; at most {MAX_SECTIONS} are allowed"
    ]

    with pytest.raises(ValidationError, match="at most 1,000,000"):
        template_loads(b" " * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(ValidationError, match="not valid JSON"):
        template_loads(b'{"title": NaN}')
    with pytest.raises(ValidationError, match="not UTF-8"):
        template_loads(b"\xff{}")
    with pytest.raises(ValidationError, match="nested too deeply|not valid JSON"):
        template_loads(b"[" * 200_000 + b"]" * 200_000)


# --- arbitrary documents ---------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["", "q1", "na", "\x00", "\ud800", "1e999999", "yes_no", "choice", "STD-001", "till"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
PROPERTY_SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _import_or_refuse(document) -> None:
    with transaction.atomic():
        try:
            imported = template_import(document)
        except ValidationError as error:
            assert error.messages and all(isinstance(m, str) and m for m in error.messages)
        else:
            assert imported.status == TemplateStatus.DRAFT
        transaction.set_rollback(True)


@PROPERTY_SETTINGS
@given(document=json_values)
def test_arbitrary_json_only_ever_raises_a_validation_error(document):
    _import_or_refuse(document)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@pytest.fixture
def valid_document(db):
    return template_export(every_kind_template())


@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_valid_document_with_any_part_replaced_only_ever_raises_a_validation_error(valid_document, data):
    document = copy.deepcopy(valid_document)
    paths = [p for p in _paths(document) if p]
    target = data.draw(st.sampled_from(paths))
    replacement = data.draw(json_values)
    holder = document
    for step in target[:-1]:
        holder = holder[step]
    holder[target[-1]] = replacement

    _import_or_refuse(document)
