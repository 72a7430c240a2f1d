"""Pages of step 2 for managers and admins (heatmap, assessments, actions) and the public
"you said, we did" page. Thin: selectors read and check scope, services write. The heatmap and
the action list can be downloaded with ``?format=csv`` (same filters and scope, every page)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from organization.access import MANAGERS, role_required
from servicedesk.exports import csv_response, wants_csv

from .forms import (
    ActionCancelForm,
    ActionDoneForm,
    ActionFilterForm,
    ActionForm,
    ActionPublishForm,
    AssessmentForm,
    HeatmapFilterForm,
    rating_forms,
)
from .models import ActionStatus, Dimension
from .selectors import (
    ACTION_CSV_HEADER,
    HEATMAP_CSV_HEADER,
    action_csv_rows,
    action_list,
    action_touchpoint,
    assessable_locations,
    assessment_page,
    can_change_location,
    get_action_for,
    get_assessment_for,
    get_feedback_for_action,
    get_rating_for_action,
    heatmap_csv_rows,
    heatmap_rows,
    heatmap_touchpoints,
    improvements_page,
    is_overdue,
    managed_location_id_set,
    parse_quarter_key,
    rating_cells,
    recent_comments_for_action,
)
from .services import (
    action_create,
    action_publish,
    action_unpublish,
    action_update_status,
    assessment_save,
)

HEATMAP_PAGE_SIZE = 50
ACTIONS_PAGE_SIZE = 25


def _add_errors(form, exc: ValidationError, rating_forms_=()) -> None:
    """Put a service's errors next to the inputs: "people-target" goes to the People rating form."""
    by_dimension = {rating_form.dimension: rating_form for rating_form in rating_forms_}
    for key, errors in exc.message_dict.items():
        dimension, _, name = key.partition("-")
        target = by_dimension[dimension] if dimension in by_dimension and name else form
        name = name if target is not form else key
        target.add_error(name if name in target.fields else None, errors)


def _query_without_page(request) -> str:
    """The page's filters, for the pagination and "Download CSV" links (without page or format)."""
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return query.urlencode()


def _int_or_404(value: str) -> int:
    if not value.isdigit():
        raise Http404("No such record.")
    return int(value)


# --- Heatmap and assessments ----------------------------------------------------------------


@role_required(*MANAGERS)
def heatmap(request):
    locations = list(assessable_locations(request.user).order_by("name"))
    filters = HeatmapFilterForm(request.GET, locations=locations)
    location, stage = None, ""
    if filters.is_valid():
        location, stage = filters.location_filter(), filters.cleaned_data["journey_stage"]
    touchpoints = heatmap_touchpoints(request.user, location=location, journey_stage=stage)
    if wants_csv(request):
        return csv_response(
            f"gap-heatmap-{timezone.localdate().isoformat()}",
            HEATMAP_CSV_HEADER,
            heatmap_csv_rows(touchpoints.iterator(chunk_size=500)),
        )
    page = Paginator(touchpoints, HEATMAP_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "gap_analysis/heatmap.html",
        {
            "filters": filters,
            "page": page,
            "rows": heatmap_rows(page.object_list),
            "dimensions": Dimension.choices,
            "can_assess": bool(locations) or can_change_location(request.user, None),
            "query": _query_without_page(request),
        },
    )


def _assessment_form_page(request, assessment=None):
    user = request.user
    data = request.POST if request.method == "POST" else None
    initial = None
    if assessment is None:
        initial = {key: request.GET[key] for key in ("touchpoint", "location") if request.GET.get(key)}
    form = AssessmentForm(data, user=user, assessment=assessment, initial=initial)
    ratings = rating_forms(data, assessment=assessment)
    if data is not None:
        valid = [form.is_valid()] + [rating_form.is_valid() for rating_form in ratings]
        if all(valid):
            cleaned = form.cleaned_data
            try:
                saved = assessment_save(
                    user=user,
                    assessment=assessment,
                    touchpoint=cleaned["touchpoint"],
                    location=cleaned["location"],
                    assessed_on=cleaned["assessed_on"],
                    expectations=cleaned["expectations"],
                    summary=cleaned["summary"],
                    completed=cleaned["completed"],
                    ratings={rating_form.dimension: rating_form.rating_input() for rating_form in ratings},
                )
            except ValidationError as exc:
                _add_errors(form, exc, ratings)
            else:
                state = "completed" if cleaned["completed"] else "saved as a draft"
                messages.success(request, f"Assessment of {saved.touchpoint} {state}.")
                return redirect("gap_analysis:assessment-detail", pk=saved.pk)
        messages.error(request, "The assessment was not saved: please correct the fields marked below.")
    return render(
        request,
        "gap_analysis/assessment_form.html",
        {"form": form, "rating_forms": ratings, "assessment": assessment},
    )


@role_required(*MANAGERS)
def assessment_create(request):
    return _assessment_form_page(request)


@role_required(*MANAGERS)
def assessment_edit(request, pk):
    assessment = get_assessment_for(request.user, pk, for_change=True)
    return _assessment_form_page(request, assessment)


@role_required(*MANAGERS)
def assessment_detail(request, pk):
    assessment = assessment_page(request.user, pk)
    return render(
        request,
        "gap_analysis/assessment_detail.html",
        {
            "assessment": assessment,
            "cells": rating_cells(assessment.ratings.all()),
            "can_change": can_change_location(request.user, assessment.location_id),
        },
    )


# --- Actions --------------------------------------------------------------------------------


@role_required(*MANAGERS)
def actions(request):
    filters = ActionFilterForm(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    items = action_list(
        request.user,
        status=chosen.get("status", ""),
        overdue=chosen.get("overdue", False),
        mine=chosen.get("owner") == "me",
    )
    if wants_csv(request):
        return csv_response(
            f"gap-actions-{timezone.localdate().isoformat()}",
            ACTION_CSV_HEADER,
            action_csv_rows(items.iterator(chunk_size=500)),
        )
    page = Paginator(items, ACTIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    managed_ids = managed_location_id_set(request.user)
    today = timezone.localdate()
    rows = [
        {
            "action": action,
            "touchpoint": action_touchpoint(action),
            "can_change": can_change_location(request.user, action.location_id, managed_ids=managed_ids),
            "overdue": is_overdue(action, today),
        }
        for action in page
    ]
    return render(
        request,
        "gap_analysis/action_list.html",
        {"filters": filters, "page": page, "rows": rows, "query": _query_without_page(request)},
    )


@role_required(*MANAGERS)
def action_new(request):
    """Open an action from a gap (``?rating=<id>``) or a customer comment (``?feedback=<id>``);
    without either, a page to choose a recent comment."""
    rating = feedback = None
    if request.GET.get("rating"):
        rating = get_rating_for_action(request.user, _int_or_404(request.GET["rating"]))
        location, touchpoint = rating.assessment.location, rating.assessment.touchpoint
        title = f"Close the {rating.get_dimension_display().lower()} gap at {touchpoint}"
    elif request.GET.get("feedback"):
        feedback = get_feedback_for_action(request.user, _int_or_404(request.GET["feedback"]))
        location, touchpoint = feedback.location, feedback.touchpoint
        title = f"Answer customer feedback on {touchpoint}"
    else:
        return render(
            request,
            "gap_analysis/action_start.html",
            {"comments": recent_comments_for_action(request.user)},
        )
    form = ActionForm(request.POST or None, location=location, initial={"title": title})
    if request.method == "POST" and form.is_valid():
        try:
            action = action_create(user=request.user, rating=rating, feedback=feedback, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            owner = action.owner.get_full_name() or action.owner.get_username()
            messages.success(request, f"Action “{action.title}” opened; {owner} owns it.")
            return redirect("gap_analysis:action-detail", pk=action.pk)
    return render(
        request,
        "gap_analysis/action_form.html",
        {
            "form": form,
            "rating": rating,
            "feedback": feedback,
            "location": location,
            "touchpoint": touchpoint,
        },
    )


def _action_page(request, action, *, done_form=None, cancel_form=None, publish_form=None):
    return render(
        request,
        "gap_analysis/action_detail.html",
        {
            "action": action,
            "touchpoint": action_touchpoint(action),
            "can_change": can_change_location(request.user, action.location_id),
            "done_form": done_form or ActionDoneForm(),
            "cancel_form": cancel_form or ActionCancelForm(),
            "publish_form": publish_form
            or ActionPublishForm(initial={"customer_summary": action.customer_summary}),
            "statuses": ActionStatus,
        },
    )


@role_required(*MANAGERS)
def action_detail(request, pk):
    return _action_page(request, get_action_for(request.user, pk))


@require_POST
@role_required(*MANAGERS)
def action_status(request, pk):
    action = get_action_for(request.user, pk, for_change=True)
    status = request.POST.get("status", "")
    forms_ = {
        ActionStatus.DONE: ("done_form", ActionDoneForm(request.POST)),
        ActionStatus.CANCELLED: ("cancel_form", ActionCancelForm(request.POST)),
    }
    name, form = forms_.get(status, (None, None))
    if form is not None and not form.is_valid():
        return _action_page(request, action, **{name: form})
    cleaned = form.cleaned_data if form is not None else {}
    try:
        action_update_status(
            action=action,
            status=status,
            user=request.user,
            closure_note=cleaned.get("closure_note", ""),
            closed_on=cleaned.get("closed_on"),
        )
    except ValidationError as exc:
        if form is None or "status" in exc.message_dict:
            messages.error(request, " ".join(exc.messages))
            return redirect("gap_analysis:action-detail", pk=action.pk)
        action.refresh_from_db()
        _add_errors(form, exc)
        return _action_page(request, action, **{name: form})
    messages.success(request, f"“{action.title}” is now {action.get_status_display().lower()}.")
    return redirect("gap_analysis:action-detail", pk=action.pk)


@require_POST
@role_required(*MANAGERS)
def action_publish_view(request, pk):
    action = get_action_for(request.user, pk, for_change=True)
    form = ActionPublishForm(request.POST)
    if form.is_valid():
        try:
            action_publish(action=action, summary=form.cleaned_data["customer_summary"], user=request.user)
        except ValidationError as exc:
            action.refresh_from_db()
            _add_errors(form, exc)
        else:
            messages.success(request, "Published: customers can read it on the “You said, we did” page.")
            return redirect("gap_analysis:action-detail", pk=action.pk)
    return _action_page(request, action, publish_form=form)


@require_POST
@role_required(*MANAGERS)
def action_unpublish_view(request, pk):
    action = get_action_for(request.user, pk, for_change=True)
    action_unpublish(action=action, user=request.user)
    messages.success(request, "Taken off the public page. The summary is kept if you publish it again.")
    return redirect("gap_analysis:action-detail", pk=action.pk)


# --- Public ---------------------------------------------------------------------------------


@require_safe
def improvements(request):
    """You said, we did: published improvements by quarter, for anyone (no login)."""
    before = parse_quarter_key(request.GET.get("before", ""))
    return render(request, "gap_analysis/improvements.html", {"page": improvements_page(before=before)})
