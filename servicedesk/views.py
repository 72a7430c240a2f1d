from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from audits.access import is_external_evaluator
from measurement.selectors import common as measurement_common
from organization.access import MANAGERS, role_required
from organization.models import Role
from organization.scope import employee_of, role_of
from standards.selectors import standards_to_acknowledge
from training.models import Assignment
from training.selectors import training_status_for

from .attention import LOCATION, attention_board, board_filters
from .selectors import cases_overview, program_figures

ATTENTION_PAGE_SIZE = 25


@login_required
def home(request):
    """Each role lands on its own page: admins and managers on the program, staff on their own,
    external evaluators on their audits."""
    role = role_of(request.user)
    employee = employee_of(request.user)
    context = {"employee": employee}
    if role in (Role.ADMIN, Role.MANAGER):
        board = attention_board(request.user, kind=LOCATION, today=measurement_common.dashboard_today())
        context["board"] = board
        context["figures"] = program_figures(request.user, period=board.period)
        context["cases"] = cases_overview(request.user, rows=board.case_rows)
        return render(request, "home/program.html", context)
    if role == Role.STAFF:
        context["to_acknowledge"] = standards_to_acknowledge(employee)
        context["training"] = training_status_for(Assignment.objects.filter(employee=employee))
        return render(request, "home/staff.html", context)
    if is_external_evaluator(request.user):
        # A mystery shopper or outside auditor has one thing to do here: the audits assigned to them.
        return redirect("audits:mine")
    return render(request, "home/no_profile.html", context, status=403)


@role_required(*MANAGERS)
def attention(request):
    """The home's ranked view for teams or people (``?view=team|employee``), optionally of one
    location or team in scope (``?location=``, ``?team=``; outside scope: 404), a page at a time."""
    kind, location, team = board_filters(request.user, request.GET)
    board = attention_board(
        request.user, kind=kind, today=measurement_common.dashboard_today(), location=location, team=team
    )
    page = Paginator(board.subjects, ATTENTION_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "home/attention.html", {"board": board, "page": page, "query": query.urlencode()})
