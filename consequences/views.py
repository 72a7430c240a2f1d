"""Pages of step 6: the managers' consequence inbox and detail page, the recognition wall, and each
employee's own recognitions and coaching items.

Thin: `consequences.selectors` reads and applies scope (an object outside it answers 404), the
services move a consequence along proposed → approved → delivered → closed and decide who may
(PermissionDenied answers 403). The inbox can be downloaded with ``?format=csv``.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from organization.access import MANAGERS, employee_required, role_required
from servicedesk.exports import csv_response, wants_csv

from . import selectors
from .forms import BulkForm, CloseForm, InboxFilterForm
from .services import (
    BULK_LIMIT,
    STEP_VERB,
    bulk_plan,
    consequence_approve,
    consequence_close,
    consequence_deliver,
    consequences_advance_bulk,
)

INBOX_PAGE_SIZE = 25
WALL_PAGE_SIZE = 24
MINE_PAGE_SIZE = 20
UNCOVERED_SHOWN = 10


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _next_url(request, consequence) -> str:
    """Where to go after a step: back to the page the form was on (the inbox with its filters), or
    the consequence's own page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("consequences:detail", args=[consequence.pk])


# --- The inbox ------------------------------------------------------------------------------


def _inbox_filters(request, data) -> InboxFilterForm:
    return InboxFilterForm(
        data,
        locations=list(selectors.inbox_locations(request.user)),
        rules=list(selectors.inbox_rules(request.user)),
    )


@role_required(*MANAGERS)
def inbox(request):
    filter_form = _inbox_filters(request, request.GET)
    filters = filter_form.filters()
    items = selectors.inbox_consequences(request.user, filters=filters)
    if wants_csv(request):
        return csv_response(
            f"consequences-{timezone.localdate().isoformat()}",
            selectors.INBOX_CSV_HEADER,
            selectors.inbox_csv_rows(items.iterator(chunk_size=500)),
        )
    filter_form.show_counts(selectors.inbox_facets(request.user, filters=filters))
    page = Paginator(items, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    uncovered = selectors.uncovered_deviations(request.user, location_id=filters.location_id)
    rows = [
        {"consequence": consequence, "can_act": selectors.may_act_on(request.user, consequence)}
        for consequence in page
    ]
    return render(
        request,
        "consequences/inbox.html",
        {
            "filters": filter_form,
            "page": page,
            "rows": rows,
            "page_ids": ",".join(str(row["consequence"].pk) for row in rows),
            "bulk_limit": BULK_LIMIT,
            "uncovered": selectors.first_deviations(uncovered, UNCOVERED_SHOWN),
            "uncovered_count": uncovered.count(),
            "query": _query_without(request, "page", "format"),
            "filter_query": _query_without(request, "page", "format"),
            "here": request.get_full_path(),
        },
    )


# --- Many consequences at once ----------------------------------------------------------------


def _inbox_url(filter_query: str) -> str:
    return reverse("consequences:inbox") + (f"?{filter_query}" if filter_query else "")


@require_POST
@role_required(*MANAGERS)
def bulk(request):
    """Approve, deliver or close many consequences: the first post shows what would happen and asks
    for confirmation; the confirmation moves them all or none (`services.consequences_advance_bulk`)."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Nothing was changed: choose again.")
        return redirect(_inbox_url(QueryDict(request.POST.get("filters", "")[:2000]).urlencode()))
    data = form.cleaned_data
    filter_query = QueryDict(data["filters"]).urlencode()
    note_error = ""
    total = None
    if data["which"] == "matching" and not data["confirm"]:
        filters = _inbox_filters(request, QueryDict(data["filters"])).filters()
        chosen, total = selectors.bulk_matching(request.user, filters=filters, limit=BULK_LIMIT)
    else:
        chosen = selectors.bulk_chosen(request.user, ids=data["chosen"])
    if data["confirm"]:
        try:
            moved = consequences_advance_bulk(
                ids=[c.pk for c in chosen], to=form.to, user=request.user, note=data["closure_note"]
            )
        except ValidationError as exc:
            errors = exc.message_dict
            note_error = " ".join(errors.get("closure_note", []))
            if not note_error:
                messages.error(
                    request, "Nothing was changed: " + " ".join(errors.get("status", exc.messages))
                )
        else:
            messages.success(request, f"{STEP_VERB[form.to].capitalize()} {selectors.count_phrase(moved)}.")
            return redirect(_inbox_url(filter_query))
    plan = bulk_plan(consequences=chosen, to=form.to, user=request.user)
    refused: dict[str, list] = {}
    for consequence, reason in plan.refused:
        refused.setdefault(reason, []).append(consequence)
    return render(
        request,
        "consequences/bulk_confirm.html",
        {
            "step": data["step"],
            "verb": STEP_VERB[form.to],
            "plan": plan,
            "phrase": selectors.count_phrase(plan.movable),
            "chosen_count": len(chosen),
            "matching_total": total,
            "bulk_limit": BULK_LIMIT,
            "refused": sorted(refused.items(), key=lambda item: -len(item[1])),
            "movable_ids": ",".join(str(c.pk) for c in plan.movable),
            "filters": data["filters"],
            "back": _inbox_url(filter_query),
            "closure_note": data["closure_note"],
            "note_error": note_error,
        },
    )


# --- One consequence and its steps ----------------------------------------------------------


def _detail_page(request, consequence, *, close_form=None):
    return render(
        request,
        "consequences/detail.html",
        {
            "consequence": consequence,
            "evidence": consequence.cited_scorecards,
            "can_act": selectors.may_act_on(request.user, consequence),
            "close_form": close_form or CloseForm(),
        },
    )


@role_required(*MANAGERS)
def detail(request, pk):
    return _detail_page(request, selectors.consequence_for(request.user, pk))


def _step(request, pk, service, verb: str):
    consequence = selectors.consequence_to_change(request.user, pk)
    try:
        service(consequence=consequence, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{consequence.get_action_display()} for {consequence.subject_label} {verb}."
        )
    return redirect(_next_url(request, consequence))


@require_POST
@role_required(*MANAGERS)
def approve(request, pk):
    return _step(request, pk, consequence_approve, "approved")


@require_POST
@role_required(*MANAGERS)
def deliver(request, pk):
    return _step(request, pk, consequence_deliver, "marked delivered")


@require_POST
@role_required(*MANAGERS)
def close(request, pk):
    consequence = selectors.consequence_to_change(request.user, pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            consequence_close(
                consequence=consequence, note=form.cleaned_data["closure_note"], user=request.user
            )
        except ValidationError as exc:
            if "closure_note" not in exc.message_dict:
                # Not about the note (closed already, not delivered yet): nothing to correct here.
                messages.error(request, " ".join(exc.messages))
                return redirect(_next_url(request, consequence))
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            closed = f"{consequence.get_action_display()} for {consequence.subject_label} closed."
            if consequence.deviation_id:
                closed += " The deviation it answered is closed too."
            messages.success(request, closed)
            return redirect(_next_url(request, consequence))
    messages.error(request, "Not closed: please correct the field marked below.")
    # The page again, with the note as typed and the reason next to it.
    return _detail_page(request, selectors.consequence_for(request.user, pk), close_form=form)


# --- Everyone: the recognition wall and my own items ----------------------------------------


@employee_required
def recognition_wall(request):
    """Recognitions given in the viewer's scope; staff see their whole location's (see
    `selectors.recognition_wall` for why)."""
    page = Paginator(selectors.recognition_wall(request.user), WALL_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "consequences/recognition_wall.html", {"page": page})


@employee_required
def mine(request):
    """My recognitions and my coaching items: read-only, each list paged on its own."""
    recognitions = Paginator(selectors.my_consequences(request.user, recognitions=True), MINE_PAGE_SIZE)
    coaching = Paginator(selectors.my_consequences(request.user, recognitions=False), MINE_PAGE_SIZE)
    return render(
        request,
        "consequences/mine.html",
        {
            "recognitions": recognitions.get_page(request.GET.get("recognitions_page")),
            "coaching": coaching.get_page(request.GET.get("coaching_page")),
            "recognitions_query": _query_without(request, "recognitions_page"),
            "coaching_query": _query_without(request, "coaching_page"),
        },
    )
