from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from organization.access import MANAGERS, employee_required, role_required
from organization.scope import get_in_scope
from servicedesk.exports import csv_response, wants_csv

from .forms import CompletionForm, RejectForm
from .models import Assignment, Completion
from .selectors import (
    MATRIX_CSV_HEADER,
    VERIFICATION_CSV_HEADER,
    matrix_csv_rows,
    matrix_employees,
    training_matrix,
    training_status_for,
    verification_csv_rows,
    verification_pending,
)
from .services import completion_log, completion_reject, completion_verify

MATRIX_PAGE_SIZE = 25
QUEUE_PAGE_SIZE = 20


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@employee_required
def my_training(request):
    employee = request.user.employee
    rows = training_status_for(Assignment.objects.filter(employee=employee))
    # "Log it" on a required course opens the form with that course chosen.
    chosen = request.GET.get("course", "")
    form = CompletionForm(
        request.POST or None,
        assigned_course_ids=[row.assignment.course_id for row in rows],
        initial={"course": int(chosen)} if chosen.isdigit() else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            completion = completion_log(employee=employee, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                f"Logged {completion.course.title}. Your manager will verify it; until then it shows as logged.",
            )
            return redirect("training:mine")
    completions = Completion.objects.filter(employee=employee).select_related("course")[:20]
    return render(
        request,
        "training/my_training.html",
        {"rows": rows, "form": form, "completions": completions},
    )


@role_required(*MANAGERS)
def verification_queue(request):
    """Completions waiting for the manager's decision; ``?format=csv`` downloads the whole queue."""
    pending = verification_pending(request.user)
    if wants_csv(request):
        return csv_response(
            f"training-verification-{timezone.localdate().isoformat()}",
            VERIFICATION_CSV_HEADER,
            verification_csv_rows(pending.iterator(chunk_size=500)),
        )
    page = Paginator(pending, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "training/verification_queue.html", {"page": page, "reject_form": RejectForm()})


@require_POST
@role_required(*MANAGERS)
def review_completion(request, pk):
    completion = get_in_scope(
        request.user, Completion.objects.select_related("employee__user", "course"), pk=pk
    )
    decision = request.POST.get("decision")
    form = RejectForm(request.POST)
    try:
        if decision == "verify":
            completion_verify(completion=completion, reviewer=request.user)
            messages.success(request, f"Verified {completion.course.title} for {completion.employee}.")
        elif decision == "reject" and form.is_valid():
            completion_reject(
                completion=completion, reviewer=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"Rejected {completion.course.title} for {completion.employee}.")
        else:
            messages.error(request, "To reject a completion, say why.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("training:verification")


@role_required(*MANAGERS)
def matrix(request):
    """Employees × required courses, a page at a time; ``?format=csv`` downloads every employee in
    scope in long form (one row per employee × required course)."""
    if wants_csv(request):
        return csv_response(
            f"training-matrix-{timezone.localdate().isoformat()}",
            MATRIX_CSV_HEADER,
            matrix_csv_rows(request.user),
        )
    page = Paginator(matrix_employees(request.user), MATRIX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "training/matrix.html", {"page": page, "matrix": training_matrix(request.user, page)}
    )
