"""Doing planned audits: my audits, the audit form (each answer saved as it is given), the
submission and its result. Who may see or change what is decided in `audits.access`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from measurement.models import Deviation
from organization.formatting import duration_words

from . import access
from .models import (
    NOT_APPLICABLE,
    Answer,
    Audit,
    AuditStatus,
    OccurrenceStatus,
    Question,
    QuestionKind,
)
from .services.scoring import Form, Given, Problem, audit_score, shown, valid_answer
from .services.submission import answer_save, audit_start, audit_submit, given_answers

PAGE_SIZE = 20
RECENT = 10
ANSWER_FIELDS = ("value", "note", "action")
# Reversed in the photo upload address and replaced by each question's id on the page.
QUESTION_SLOT = 987654321


# --- My audits --------------------------------------------------------------------------------


def due_in_words(occurrence, now) -> str:
    """'opens in 2 days', 'due in 5 h', 'overdue by 3 h (late submission until …)'."""
    if occurrence.status == OccurrenceStatus.SCHEDULED and occurrence.opens_at > now:
        return f"opens in {duration_words(occurrence.opens_at - now)}"
    if occurrence.due_at >= now:
        return f"due in {duration_words(occurrence.due_at - now)}"
    return f"overdue by {duration_words(now - occurrence.due_at)}"


@require_GET
@login_required
def mine(request):
    """The user's planned audits still to do (overdue first, as they come due), their drafts,
    and what they submitted lately."""
    now = timezone.now()
    todo = (
        access.occurrences_for(request.user)
        .filter(access.assigned_to(request.user) | Q(audit__auditor=request.user))
        .filter(status__in=[OccurrenceStatus.SCHEDULED, OccurrenceStatus.OPEN], closes_at__gte=now)
        .filter(Q(audit__isnull=True) | Q(audit__status=AuditStatus.DRAFT))
        .select_related("schedule__template", "location", "audit")
        .order_by("due_at", "pk")
        .distinct()
    )
    page = Paginator(todo, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "occurrence": o,
            "words": due_in_words(o, now),
            "overdue": o.due_at < now,
            "draft": getattr(o, "audit", None),
            "opens_later": o.status == OccurrenceStatus.SCHEDULED and o.opens_at > now,
        }
        for o in page
    ]
    mine_qs = access.audits_for(request.user).filter(auditor=request.user)
    drafts = list(
        mine_qs.filter(status=AuditStatus.DRAFT, occurrence__isnull=True)
        .select_related("template", "location")
        .order_by("-updated_at")[:RECENT]
    )
    submitted = list(
        mine_qs.filter(status=AuditStatus.SUBMITTED)
        .select_related("template", "location", "evaluation")
        .order_by("-submitted_at")[:RECENT]
    )
    return render(
        request,
        "audits/mine.html",
        {"page": page, "rows": rows, "drafts": drafts, "submitted": submitted},
    )


@require_POST
@login_required
def start(request, pk):
    """Start the audit of a planned occurrence, or resume its draft."""
    occurrence = access.occurrence_for(request.user, pk)
    existing = Audit.objects.filter(occurrence=occurrence).first()
    if existing is not None and access.audits_for(request.user).filter(pk=existing.pk).exists():
        return redirect("audits:audit", pk=existing.pk)
    if not access.may_do(request.user, occurrence):
        messages.error(request, "This audit no longer takes a submission: it was done or missed.")
        return redirect("audits:mine")
    try:
        audit = audit_start(occurrence, request.user)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("audits:mine")
    return redirect("audits:audit", pk=audit.pk)


# --- The form ---------------------------------------------------------------------------------


def is_answered(question: Question, given: Given) -> bool:
    """A photo question is answered by its photos, any other by its value."""
    if question.kind == QuestionKind.PHOTO:
        return given.photos > 0
    return bool(given.value.strip())


@dataclass
class QuestionRow:
    question: Question
    given: Given
    visible: bool
    data: str  # the logic as JSON, for the page's script
    options: list = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return is_answered(self.question, self.given)


@dataclass
class SectionRow:
    section: object
    questions: list[QuestionRow]
    open: bool = False

    @property
    def shown(self) -> int:
        return sum(1 for q in self.questions if q.visible)

    @property
    def answered(self) -> int:
        return sum(1 for q in self.questions if q.visible and q.answered)


def question_logic(form: Form, question: Question) -> dict:
    """What the page's script needs to apply the logic as the auditor answers: when the question
    is shown, what earns full marks (so it can tell a "failed" answer) and what each rule asks."""
    logic = {
        "id": question.pk,
        "kind": question.kind,
        "parent": question.parent_id,
        "shownWhen": question.shown_when,
        "rules": [
            {
                "answers": r.answers,
                "note": r.require_note,
                "photo": r.require_photo,
                "action": r.require_action,
            }
            for r in form.rules.get(question.pk, [])
        ],
    }
    if question.kind == QuestionKind.CHOICE:
        options = form.options.get(question.pk, [])
        best = max((o.score for o in options), default=0)
        logic["full"] = [o.value for o in options if best <= 0 or o.score >= best]
    if question.kind == QuestionKind.NUMBER and question.standard and question.standard.threshold is not None:
        logic["comparator"] = question.standard.comparator
        logic["threshold"] = str(question.standard.threshold)
    return logic


def form_sections(form: Form, given: dict[int, Given], found: list[Problem] = ()) -> list[SectionRow]:
    visible = {q.pk for q in shown(form, given)}
    by_question: dict[int, dict[str, str]] = {}
    for problem in found:
        by_question.setdefault(problem.question, {})[problem.field] = problem.message
    rows = []
    for section in form.sections:
        questions = [
            QuestionRow(
                question=q,
                given=given.get(q.pk, Given()),
                visible=q.pk in visible,
                data=json.dumps(question_logic(form, q)),
                options=form.options.get(q.pk, []),
                problems=by_question.get(q.pk, {}),
            )
            for q in form.questions[section.pk]
        ]
        rows.append(SectionRow(section, questions, open=any(q.problems for q in questions)))
    if rows and not any(r.open for r in rows):
        # Open the first section with a question still to answer, so a resumed audit starts there.
        unfinished = next((r for r in rows if r.answered < r.shown), rows[0])
        unfinished.open = True
    return rows


def photo_upload_url(audit: Audit) -> str:
    """The photo upload address with placeholders for the question, or '' while uploads are not
    offered (the page then says photos cannot be added)."""
    try:
        url = reverse("audit_photos:upload", kwargs={"audit": audit.pk, "question": QUESTION_SLOT})
    except NoReverseMatch:
        return ""
    return url.replace(str(QUESTION_SLOT), "{q}")


def render_form(request, audit: Audit, found: list[Problem] = (), errors=(), status: int = 200):
    form = Form.load(audit.template)
    given = given_answers(audit)
    sections = form_sections(form, given, found)
    total = sum(s.shown for s in sections)
    answered = sum(s.answered for s in sections)
    general = [p.message for p in found if p.question == 0 or form.question(p.question) is None]
    context = {
        "audit": audit,
        "sections": sections,
        "total": total,
        "answered": answered,
        "editable": access.may_edit(request.user, audit),
        "problems": found,
        "general_problems": general,
        "row_errors": errors,
        "photo_url": photo_upload_url(audit),
        "NOT_APPLICABLE": NOT_APPLICABLE,
        "ratings": range(1, 6),
    }
    return render(request, "audits/form.html", context, status=status)


@require_GET
@login_required
def audit(request, pk):
    """The audit form: editable by its auditor while a draft, read-only to others in scope."""
    found = access.audit_for(request.user, pk)
    if found.status == AuditStatus.SUBMITTED:
        return redirect("audits:detail", pk=found.pk)
    return render_form(request, found)


def json_error(message: str, status: int = 400, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


@require_POST
@login_required
def answer(request, pk):
    """Save one answer's value, note or corrective action (any of them), as the auditor gives it.
    Saving the same answer twice stores it once (a resend after a dropped connection)."""
    draft = access.audit_for(request.user, pk)
    if not access.may_edit(request.user, draft):
        reason = (
            "This audit is submitted: it cannot be changed."
            if draft.status != AuditStatus.DRAFT
            else ("Only the auditor who started this audit changes its answers.")
        )
        return json_error(reason, status=403)
    form = Form.load(draft.template)
    try:
        question = form.question(int(request.POST.get("question", "")))
    except ValueError:
        question = None
    if question is None:
        return json_error("question: not a question of this audit.", field="question")
    fields = {}
    for name in ANSWER_FIELDS:
        if name not in request.POST:
            continue
        raw = request.POST[name].strip()
        try:
            fields[name] = Answer._meta.get_field(name).clean(raw, None)
        except ValidationError as error:
            return json_error(f"{name}: {' '.join(error.messages)}", field=name)
    if not fields:
        return json_error("Send a value, a note or an action to save.", field="value")
    if "value" in fields:
        invalid = valid_answer(form, question, fields["value"])
        if invalid:
            return json_error(f"value: {invalid}", field="value")
    saved = answer_save(draft, question.pk, **fields)
    given = given_answers(draft)
    visible = shown(form, given)
    answered = sum(1 for q in visible if is_answered(q, given.get(q.pk, Given())))
    return JsonResponse(
        {
            "question": question.pk,
            "saved": {name: getattr(saved, name) for name in fields},
            "answered": answered,
            "total": len(visible),
        }
    )


@require_POST
@login_required
def submit(request, pk):
    """Submit the draft: refused, with the problems next to their questions, while anything is
    missing; otherwise the evaluation and its observations are recorded."""
    draft = access.audit_for(request.user, pk)
    if draft.status == AuditStatus.SUBMITTED:
        return redirect("audits:detail", pk=draft.pk)
    if not access.may_edit(request.user, draft):
        messages.error(request, "Only the auditor who started this audit submits it.")
        return redirect("audits:audit", pk=draft.pk)
    outcome = audit_submit(draft, user=request.user)
    if not outcome.ok:
        return render_form(request, draft, outcome.problems, outcome.errors, status=400)
    messages.success(request, "Audit submitted: its score and observations are recorded.")
    return redirect("audits:detail", pk=draft.pk)


# --- The result -------------------------------------------------------------------------------


@require_GET
@login_required
def detail(request, pk):
    """A submitted audit: its score, section scores, pass or fail and why, and the evidence."""
    done = access.audit_for(request.user, pk)
    if done.status != AuditStatus.SUBMITTED:
        return redirect("audits:audit", pk=done.pk)
    form = Form.load(done.template)
    given = given_answers(done)
    score = audit_score(form, given)
    evaluation = done.evaluation
    observations = list(evaluation.observations.select_related("standard").order_by("pk"))
    deviations = list(
        Deviation.objects.filter(observation__evaluation=evaluation).select_related("standard").order_by("pk")
    )
    reasons = []
    if score.critical_failed:
        reasons.extend(f"Critical question failed: “{q.text}”" for q in score.critical_questions)
    for part in score.failed_sections:
        reasons.append(
            f"{part.section.title} scored {part.percent} %, under its mark of {part.section.fail_below} %"
        )
    if evaluation.score is not None and evaluation.score < done.template.pass_mark:
        reasons.append(f"Score {evaluation.score} % is under the pass mark of {done.template.pass_mark} %")
    return render(
        request,
        "audits/detail.html",
        {
            "audit": done,
            "evaluation": evaluation,
            "score": score,
            "sections": score.sections,
            "reasons": reasons,
            "observations": observations,
            "deviations": deviations,
            "late": timedelta(0) < (done.submitted_at - done.occurrence.due_at) if done.occurrence else False,
        },
    )
