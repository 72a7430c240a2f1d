from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from organization.access import employee_required

from .selectors import standards_for_employee, standards_with_acknowledgement
from .services import standard_acknowledge


@employee_required
def my_standards(request):
    """The standards that apply to me, each with whether I accepted the version in force."""
    employee = request.user.employee
    rows = standards_with_acknowledgement(employee)
    return render(
        request,
        "standards/my_standards.html",
        {"rows": rows, "outstanding": sum(1 for row in rows if not row.acknowledged)},
    )


@employee_required
def standard_detail(request, code):
    employee = request.user.employee
    standard = get_object_or_404(standards_for_employee(employee).prefetch_related("touchpoints"), code=code)
    acknowledged = standard.acknowledgements.filter(employee=employee, version=standard.version).first()
    return render(
        request, "standards/standard_detail.html", {"standard": standard, "acknowledged": acknowledged}
    )


@require_POST
@employee_required
def acknowledge(request, code):
    employee = request.user.employee
    standard = get_object_or_404(standards_for_employee(employee), code=code)
    try:
        standard_acknowledge(standard=standard, employee=employee)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Thank you: you have acknowledged {standard.code} version {standard.version}."
        )
    return redirect("standards:mine")
