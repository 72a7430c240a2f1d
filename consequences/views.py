"""Pages of step 6: the managers' consequence inbox and detail page, the recognition wall, and each
employee's own recognitions and coaching items.

Thin: `consequences.selectors` reads and applies scope (an object outside it answers 404), the
services move a consequence along proposed → approved → delivered → closed and decide who may
(PermissionDenied answers 403). The inbox can be downloaded with ``?format=csv``.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from organization.access import MANAGERS, employee_required, role_required
from servicedesk.exports import csv_response, wants_csv

from . import selectors
from .forms import CloseForm, InboxFilterForm
from .services import consequence_approve, consequence_close, consequence_deliver

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


@role_required(*MANAGERS)
def inbox(request):
    filters = InboxFilterForm(request.GET, locations=list(selectors.inbox_locations(request.user)))
    chosen = filters.cleaned_data if filters.is_valid() else {}
    location_id = filters.location_id() if chosen else None
    items = selectors.inbox_consequences(
        request.user,
        status=chosen.get("status", ""),
        action=chosen.get("action", ""),
        overdue=chosen.get("overdue", False),
        location_id=location_id,
    )
    if wants_csv(request):
        return csv_response(
            f"consequences-{timezone.localdate().isoformat()}",
            selectors.INBOX_CSV_HEADER,
            selectors.inbox_csv_rows(items.iterator(chunk_size=500)),
        )
    page = Paginator(items, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    uncovered = selectors.uncovered_deviations(request.user, location_id=location_id)
    rows = [
        {"consequence": consequence, "can_act": selectors.may_act_on(request.user, consequence)}
        for consequence in page
    ]
    return render(
        request,
        "consequences/inbox.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "uncovered": list(uncovered[:UNCOVERED_SHOWN]),
            "uncovered_count": uncovered.count(),
            "query": _query_without(request, "page", "format"),
            "here": request.get_full_path(),
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
