"""Record an evaluation (mystery shop, QA review, audit) from a phone, and see its result.

Who may record: managers and admins, and any employee given the `measurement.record_evaluation`
permission (directly or through a group); where: the locations in their scope. The evaluation
is written by the intake service, as from the API; these views build the forms, pass the
typed values on and put the service's errors back next to the fields they name.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from organization.access import MANAGERS
from organization.scope import role_of
from touchpoints.models import Touchpoint

from .evaluation_forms import EvaluationEntry, EvaluationForm, item_forms, standards_for, touchpoints_at
from .selectors import evidence
from .services.intake import evaluation_record

RECORD_PERMISSION = "measurement.record_evaluation"


def can_record_evaluations(user) -> bool:
    """Managers and admins; other employees when given the evaluator permission."""
    role = role_of(user)
    if role in MANAGERS:
        return True
    return role is not None and user.has_perm(RECORD_PERMISSION)


def evaluator_required(view):
    """Anonymous visitors go to the login page; users who may not record evaluations get 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not can_record_evaluations(request.user):
            raise PermissionDenied("Recording evaluations needs the evaluator permission.")
        return view(request, *args, **kwargs)

    return wrapped


@evaluator_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request):
    if request.method == "POST":
        entry = EvaluationEntry(user=request.user, data=request.POST)
        # Without JavaScript the items are not on the page yet: show them, record nothing.
        step_two = bool(entry.items) and not entry.items_posted
        if entry.is_valid() and not step_two:
            outcome = evaluation_record(**entry.intake_arguments(), evaluator=request.user)
            if outcome.evaluation is not None:
                # Also when the service found this submission already stored (a double tap).
                return redirect("evaluations:detail", pk=outcome.evaluation.pk)
            entry.add_intake_errors(outcome.errors)
    else:
        entry = EvaluationEntry.blank(
            user=request.user, location=request.GET.get("location"), touchpoint=request.GET.get("touchpoint")
        )
    return render(request, "evaluations/evaluation_form.html", {"entry": entry, "form": entry.form})


@evaluator_required
@require_GET
def evaluation_items(request):
    """The items fieldset for a touchpoint (htmx swaps it in when the touchpoint changes)."""
    touchpoint = _requested_touchpoint(request)
    items = item_forms(standards_for(touchpoint))
    context = {"items": items, "touchpoint": touchpoint, "announce": True}
    return render(request, "evaluations/includes/items.html", context)


@evaluator_required
@require_GET
def evaluation_location_fields(request):
    """The fields that depend on the location: its touchpoints, teams and employees (htmx swaps
    them in when the location changes). Choices still valid at the new location are kept; when
    the touchpoint is not, the items are cleared too."""
    initial = {name: request.GET.get(name) for name in ("location", "touchpoint", "team", "employee")}
    form = EvaluationForm(user=request.user, initial=initial)
    # A team or employee not at the new location simply matches no option and is dropped.
    touchpoint = form.chosen_touchpoint()
    context = {"form": form, "touchpoint": touchpoint, "reset_items": touchpoint is None, "items": []}
    return render(request, "evaluations/includes/location_fields.html", context)


@evaluator_required
@require_GET
def evaluation_detail(request, pk: int):
    """The one page of an evaluation: weighted score, verdict, critical failures, the deviations
    created, its items, and (for managers) links to the evidence at its location. An evaluator
    sees what their scope covers and what they recorded themselves."""
    evaluation = evidence.evaluation_for(request.user, pk)
    context = {
        "evaluation": evaluation,
        "result": evidence.evaluation_result(evaluation),
        "sees_evidence": evidence.sees_evidence(request.user),
    }
    return render(request, "evaluations/evaluation_detail.html", context)


def _int(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _requested_touchpoint(request) -> Touchpoint | None:
    """The active touchpoint `?touchpoint=`, present at `?location=` when one in scope is given."""
    pk = _int(request.GET.get("touchpoint"))
    if pk is None:
        return None
    candidates = Touchpoint.objects.filter(active=True)
    if _int(request.GET.get("location")) is not None:
        location = EvaluationForm(
            user=request.user, initial={"location": request.GET["location"]}
        ).chosen_location
        if location is not None:
            candidates = touchpoints_at(location)
    return candidates.filter(pk=pk).first()
