"""Audit scoring, logic and versions against worked examples (the arithmetic is in each test)."""

from decimal import Decimal

import pytest

from audits.models import Audit, AuditStatus, TemplateStatus
from audits.services.scoring import Form, Given, audit_score, problems
from audits.services.submission import answer_save, audit_submit
from audits.services.templates import template_new_version, template_publish
from measurement.models import Deviation, Observation
from tests.audit_factories import template_from

pytestmark = pytest.mark.django_db


def store_template(**fields):
    """Welcome (weight 2, fails the audit below 50 %) and Till (weight 1); pass mark 80."""
    return template_from(
        [
            {
                "title": "Welcome",
                "weight": 2,
                "fail_below": 50,
                "questions": [
                    {"key": "greet", "kind": "yes_no", "weight": 3, "critical": True},
                    {"key": "why", "kind": "text", "parent": "greet", "shown_when": ["no"]},
                    {"key": "wait", "kind": "number", "weight": 1, "comparator": "lte", "threshold": 5},
                    {
                        "key": "mood",
                        "kind": "choice",
                        "weight": 2,
                        "options": [("good", 2), ("fair", 1), ("poor", 0)],
                        "rules": [{"answers": ["poor"], "require_photo": True}],
                    },
                ],
            },
            {
                "title": "Till",
                "weight": 1,
                "questions": [
                    {
                        "key": "tidy",
                        "kind": "pass_fail",
                        "weight": 1,
                        "rules": [{"answers": ["fail"], "require_note": True}],
                    },
                    {"key": "rate", "kind": "rating", "weight": 1},
                    {
                        "key": "clean",
                        "kind": "yes_no",
                        "weight": 2,
                        "allow_na": True,
                        "rules": [{"answers": ["no"], "require_action": True}],
                    },
                ],
            },
        ],
        pass_mark=Decimal("80"),
        **fields,
    )


def answer_all(audit, template, **values):
    for key, value in values.items():
        answer_save(audit, template.q[key].pk, value=value)


def answers(template, **values):
    return {template.q[key].pk: (v if isinstance(v, Given) else Given(v)) for key, v in values.items()}


def test_weights_na_and_sections_make_the_score():
    t = store_template()
    given = answers(t, greet="yes", wait="7", mood="fair", tidy="na", rate="4", clean="yes")
    result = audit_score(Form.load(t), given)
    # Welcome: greet 1×3 + wait 0×1 (7 > 5 minutes) + mood (1 of 2 points)×2 = 4 of 6.
    # Till: tidy is N/A and leaves the denominator; rate (4−1)/4 × 1 = 0.75; clean 1×2 → 2.75 of 3.
    # Audit: (2 × 4/6 + 1 × 2.75/3) ÷ (2 + 1) = (1.3333 + 0.9167) ÷ 3 = 0.75 → 75.00 %.
    assert result.score == Decimal("75.00")
    assert [s.percent for s in result.sections] == [Decimal("66.67"), Decimal("91.67")]
    # 75 < the pass mark of 80; no critical question failed, no section under its mark.
    assert result.passed is False and result.critical_failed is False and not result.failed_sections


def test_a_failed_critical_question_and_a_weak_section_fail_the_audit():
    t = store_template()
    given = answers(t, greet="no", why="Nobody looked up", wait="7", mood="fair", rate="4", clean="yes")
    result = audit_score(Form.load(t), given)
    # Welcome: greet 0×3 + wait 0 + mood 1 → 1 of 6 = 16.67 %, under its 50 % mark.
    # Till: tidy unanswered counts nothing; 2.75 of 3 as before.
    # Audit: (2 × 1/6 + 2.75/3) ÷ 3 = (0.3333 + 0.9167) ÷ 3 = 0.41667 → 41.67 %.
    assert result.score == Decimal("41.67")
    assert result.critical_failed is True
    assert [s.section.title for s in result.failed_sections] == ["Welcome"]
    assert result.passed is False


def test_full_marks_pass_and_na_never_lowers_the_score():
    t = store_template()
    given = answers(t, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    result = audit_score(Form.load(t), given)
    # Welcome 6 of 6; Till: only rate counts, (5−1)/4 = 1 of 1. (2×1 + 1×1) ÷ 3 = 100 %.
    assert result.score == Decimal("100.00") and result.passed is True


def test_a_follow_up_hidden_by_the_answer_is_neither_asked_nor_scored():
    t = store_template()
    form = Form.load(t)
    shown_yes = problems(
        form, answers(t, greet="yes", wait="3", mood="good", tidy="pass", rate="5", clean="yes")
    )
    assert shown_yes == []
    shown_no = problems(
        form, answers(t, greet="no", wait="3", mood="good", tidy="pass", rate="5", clean="yes")
    )
    assert [(p.question, p.field) for p in shown_no] == [(t.q["why"].pk, "value")]


def test_logic_demands_a_note_a_photo_and_an_action_before_submitting(staff, location_a):
    t = store_template()
    audit = Audit.objects.create(template=t, location=location_a, auditor=staff)
    answer_all(audit, t, greet="yes", wait="4", mood="poor", tidy="fail", rate="3", clean="no")
    refused = audit_submit(audit, user=staff)
    assert {(p.question, p.field) for p in refused.problems} == {
        (t.q["mood"].pk, "photo"),
        (t.q["tidy"].pk, "note"),
        (t.q["clean"].pk, "action"),
    }
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DRAFT and Observation.objects.count() == 0


def test_submitting_records_the_evaluation_observations_and_deviation(staff, location_a):
    t = store_template()
    type(t.q["greet"].standard).objects.filter(pk=t.q["greet"].standard_id).update(
        non_negotiable=True, target_rate=100
    )
    audit = Audit.objects.create(template=t, location=location_a, auditor=staff)
    answer_all(
        audit, t, greet="no", why="No greeting", wait="7", mood="fair", tidy="na", rate="4", clean="yes"
    )
    outcome = audit_submit(audit, user=staff)
    assert outcome.ok, outcome.problems or outcome.errors
    audit.refresh_from_db()
    assert audit.status == AuditStatus.SUBMITTED
    evaluation = audit.evaluation
    # (2 × 1/6 + 2.75/3) ÷ 3 = 41.67 %, as in the worked example above.
    assert evaluation.score == Decimal("41.67") and evaluation.critical_failed and not evaluation.passed
    # greet, wait, mood, rate, clean: five counted answers; N/A and free text record nothing.
    observed = {o.standard_id: o for o in Observation.objects.filter(evaluation=evaluation)}
    assert set(observed) == {t.q[k].standard_id for k in ("greet", "wait", "mood", "rate", "clean")}
    assert (
        observed[t.q["wait"].standard_id].value == Decimal("7")
        and not observed[t.q["wait"].standard_id].passed
    )
    assert (
        observed[t.q["rate"].standard_id].value == Decimal("4") and observed[t.q["rate"].standard_id].passed
    )
    assert Deviation.objects.filter(observation=observed[t.q["greet"].standard_id]).exists()
    # A second submit (a double tap) records nothing more.
    assert audit_submit(audit, user=staff).ok
    assert Observation.objects.filter(evaluation=evaluation).count() == 5


def test_a_new_version_never_changes_an_existing_audits_score(staff, location_a):
    t = store_template()
    audit = Audit.objects.create(template=t, location=location_a, auditor=staff)
    answer_all(audit, t, greet="yes", wait="7", mood="fair", tidy="na", rate="4", clean="yes")
    assert audit_submit(audit, user=staff).ok
    audit.refresh_from_db()
    assert audit.evaluation.score == Decimal("75.00")

    draft = template_new_version(t)
    assert draft.version == 2 and draft.lineage == t.lineage and draft.status == TemplateStatus.DRAFT
    # The new version weighs the till ten times more and drops the wait question.
    draft.sections.get(title="Till").__class__.objects.filter(template=draft, title="Till").update(weight=10)
    draft.sections.get(title="Welcome").questions.filter(text="wait?").delete()
    template_publish(draft)
    t.refresh_from_db()
    assert t.status == TemplateStatus.RETIRED

    audit.refresh_from_db()
    # The audit keeps version 1 and its stored score; scoring it again from v1 gives the same.
    assert audit.template_id == t.pk and audit.evaluation.score == Decimal("75.00")
    again = audit_score(
        Form.load(audit.template), {a.question_id: Given(a.value) for a in audit.answers.all()}
    )
    assert again.score == Decimal("75.00")
    # The same answers on version 2: Welcome 5 of 5... greet 3 + mood 1 = 4 of 5; Till 2.75 of 3.
    # (2 × 4/5 + 10 × 2.75/3) ÷ 12 = (1.6 + 9.1667) ÷ 12 = 0.89722 → 89.72 %.
    mapped = {}
    for old in Form.load(t).all_questions():
        new = next((q for q in Form.load(draft).all_questions() if q.text == old.text), None)
        if new is not None and old.pk in {a.question_id for a in audit.answers.all()}:
            mapped[new.pk] = Given(audit.answers.get(question=old).value)
    assert audit_score(Form.load(draft), mapped).score == Decimal("89.72")
