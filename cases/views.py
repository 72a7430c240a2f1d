"""The case pages: the managers' feedback inbox, the cases queue, one case with its timeline and
its steps, and the complaint form staff use on a phone.

Thin: `cases.selectors` reads and applies scope (a case or answer outside it answers 404), the
services in `cases.services` decide who may do what and say why they refuse; a refusal is shown
on the page as the service words it.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from organization.access import EVERYONE, MANAGERS, employee_required, role_required
from organization.scope import employee_of

from . import selectors
from .forms import (
    AssignForm,
    ComplaintForm,
    InboxFilterForm,
    NoteForm,
    OpenFromFeedbackForm,
    QueueFilterForm,
    TransitionForm,
)
from .models import TRANSITIONS, CaseStatus, Severity
from .services.core import case_assign, case_note_add, case_open, case_transition, may_manage, may_see_contact
from .services.intake import case_open_from_feedback

PAGE_SIZE = 25


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _refusal(exc: Exception) -> str:
    """A service's refusal in words (ValidationError and PermissionDenied alike)."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You may not do this."


# --- The cases queue --------------------------------------------------------------------------


@role_required(*EVERYONE)
def queue(request):
    tabs = selectors.queue_tabs(request.user)
    form = QueueFilterForm(
        request.GET,
        tabs=tabs,
        locations=list(selectors.queue_locations(request.user)),
        categories=list(selectors.case_categories()),
    )
    filters = form.filters()
    now = timezone.now()
    page = Paginator(selectors.queue_cases(request.user, filters=filters, now=now), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "case": case,
            "due_words": selectors.due_words(case.next_due, now),
            "breached": case.next_due and case.next_due < now,
        }
        for case in page
    ]
    counts = selectors.queue_tab_counts(request.user, tabs=tabs)
    tab_query = _query_without(request, "page", "tab")
    return render(
        request,
        "cases/queue.html",
        {
            "filters": form,
            "tab": filters.tab,
            "tabs": [{"key": tab, "label": selectors.QUEUE_TABS[tab], "count": counts[tab]} for tab in tabs],
            "tab_query": tab_query,
            "page": page,
            "rows": rows,
            "query": _query_without(request, "page"),
            "filtered": any(
                request.GET.get(name) for name in ("status", "severity", "location", "category", "breached")
            ),
        },
    )


# --- The feedback inbox -----------------------------------------------------------------------


@role_required(*MANAGERS)
def feedback_inbox(request):
    form = InboxFilterForm(
        request.GET,
        locations=list(selectors.queue_locations(request.user)),
        touchpoints=list(selectors.inbox_touchpoints()),
    )
    answers = selectors.feedback_inbox(request.user, filters=form.filters())
    page = Paginator(answers, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.feedback_rows(page.object_list)
    return render(
        request,
        "cases/feedback_inbox.html",
        {
            "filters": form,
            "page": page,
            "severities": Severity.choices,
            "query": _query_without(request, "page"),
        },
    )


@require_POST
@role_required(*MANAGERS)
def feedback_open_case(request, pk):
    """ "Open a case" on one answer of the inbox; an answer that has one already leads to it."""
    answer = selectors.feedback_in_scope(request.user, pk)
    form = OpenFromFeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "No case was opened: choose the severity from the list.")
        return redirect(reverse("cases:feedback"))
    had_case = hasattr(answer, "case")
    try:
        case = case_open_from_feedback(
            feedback=answer, user=request.user, severity=form.cleaned_data["severity"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"No case was opened: {_refusal(exc)}")
        return redirect(reverse("cases:feedback"))
    if had_case:
        messages.info(request, f"This answer already has case {case.reference}.")
    else:
        messages.success(
            request,
            f"Case {case.reference} opened; {case.owner.full_name if case.owner else 'nobody'} owns it.",
        )
    return redirect("cases:detail", pk=case.pk)


# --- One case ---------------------------------------------------------------------------------


def _detail_page(request, case, *, note_form=None, transition_form=None, assign_form=None):
    can_manage = may_manage(request.user, case)
    candidates = list(selectors.case_handover_candidates(case)) if can_manage else []
    now = timezone.now()
    deadlines = [
        {"deadline": deadline, "words": deadline.words(now), "breached": deadline.breached(now)}
        for deadline in selectors.case_deadlines(case)
    ]
    allowed = TRANSITIONS.get(case.status, ())
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "can_manage": can_manage,
            "can_see_contact": may_see_contact(request.user, case),
            "deadlines": deadlines,
            "events": list(selectors.case_timeline(case)),
            "steps": {
                "acknowledge": CaseStatus.ACKNOWLEDGED in allowed,
                "start": CaseStatus.IN_PROGRESS in allowed,
                "close": CaseStatus.CLOSED in allowed,
                "reopen": CaseStatus.REOPENED in allowed,
            },
            "note_form": note_form or NoteForm(),
            "transition_form": transition_form,
            "assign_form": assign_form or AssignForm(candidates=candidates),
        },
    )


@role_required(*EVERYONE)
def detail(request, pk):
    return _detail_page(request, selectors.case_in_scope(request.user, pk))


@require_POST
@role_required(*EVERYONE)
def transition(request, pk):
    """Acknowledge, start work, close or reopen (with a note saying why)."""
    case = selectors.case_in_scope(request.user, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        if "step" in form.errors:
            messages.error(request, "Nothing was changed: choose one of the steps on the page.")
            return redirect("cases:detail", pk=case.pk)
        messages.error(request, "Not reopened: please correct the field marked below.")
        return _detail_page(request, case, transition_form=form)
    try:
        moved = case_transition(case=case, to=form.to, user=request.user, note=form.cleaned_data["note"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Nothing was changed: {_refusal(exc)}")
    else:
        messages.success(request, f"Case {moved.reference} is now {moved.get_status_display().lower()}.")
    return redirect("cases:detail", pk=case.pk)


@require_POST
@role_required(*EVERYONE)
def assign(request, pk):
    """Hand the case over to someone who works at its location."""
    case = selectors.case_in_scope(request.user, pk)
    form = AssignForm(request.POST, candidates=selectors.case_handover_candidates(case))
    if form.is_valid():
        try:
            handed = case_assign(
                case=case, owner=form.chosen_owner, user=request.user, note=form.cleaned_data["note"]
            )
        except PermissionDenied as exc:
            messages.error(request, f"Not handed over: {_refusal(exc)}")
            return redirect("cases:detail", pk=case.pk)
        except ValidationError as exc:
            form.add_error("owner", exc.message_dict.get("owner", exc.messages))
        else:
            messages.success(request, f"Case {handed.reference} handed over to {handed.owner.full_name}.")
            return redirect("cases:detail", pk=case.pk)
    messages.error(request, "Not handed over: please correct the field marked below.")
    return _detail_page(request, case, assign_form=form)


@require_POST
@role_required(*EVERYONE)
def note(request, pk):
    """An internal note, by anyone who can see the case."""
    case = selectors.case_in_scope(request.user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            case_note_add(case=case, user=request.user, text=form.cleaned_data["text"])
        except PermissionDenied as exc:
            messages.error(request, f"The note was not added: {_refusal(exc)}")
            return redirect("cases:detail", pk=case.pk)
        except ValidationError as exc:
            form.add_error("text", exc.message_dict.get("text", exc.messages))
        else:
            messages.success(request, "Note added to the timeline.")
            return redirect(reverse("cases:detail", args=[case.pk]) + "#timeline")
    messages.error(request, "The note was not added: please correct the field marked below.")
    return _detail_page(request, case, note_form=form)


# --- Log a complaint --------------------------------------------------------------------------


def _complaint_form(request, data=None) -> ComplaintForm:
    employee = employee_of(request.user)
    return ComplaintForm(
        data,
        locations=list(selectors.complaint_locations(request.user)),
        touchpoints=list(selectors.complaint_touchpoints()),
        categories=list(selectors.case_categories()),
        initial={"location": employee.location_id, "severity": Severity.NORMAL},
    )


@employee_required
def complaint_new(request):
    """Log a complaint: whoever takes it owns it until they hand it over."""
    employee = employee_of(request.user)
    form = _complaint_form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        fields = form.case_fields()
        # The logger's team answers for it when the team works where the complaint was made.
        team = employee.team if employee.team and employee.team.location_id == fields["location"].pk else None
        try:
            case = case_open(user=request.user, logged_by=employee, team=team, **fields)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, f"Complaint logged as case {case.reference}. You own it until you hand it over."
            )
            return redirect("cases:detail", pk=case.pk)
    return render(request, "cases/complaint_form.html", {"form": form})
