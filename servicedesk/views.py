from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from organization.models import Location, Role
from organization.scope import employee_of, location_queryset_for, role_of
from standards.selectors import standards_to_acknowledge
from training.models import Assignment
from training.selectors import training_status_for

from .selectors import program_figures


@login_required
def home(request):
    """Each role lands on its own page: admins and managers on the program, staff on their own."""
    role = role_of(request.user)
    employee = employee_of(request.user)
    context = {"employee": employee}
    if role in (Role.ADMIN, Role.MANAGER):
        context["figures"] = program_figures(request.user)
        context["locations"] = location_queryset_for(request.user, Location.objects.filter(active=True))
        return render(request, "home/program.html", context)
    if role == Role.STAFF:
        context["to_acknowledge"] = standards_to_acknowledge(employee)
        context["training"] = training_status_for(Assignment.objects.filter(employee=employee))
        return render(request, "home/staff.html", context)
    return render(request, "home/no_profile.html", context, status=403)
