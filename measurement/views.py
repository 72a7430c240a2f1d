"""The manager dashboard: scorecards, consistency between locations, and the evidence behind them.

Managers and admins only (staff get 403, anonymous visitors the login page). What each user sees is
decided in `measurement.selectors` (see its docstring). The scorecard and consistency pages read
scorecards only, so their query count is fixed whatever the amount of evidence; the drill-down
pages read observations a page at a time, from one index range (`?older=` / `?newer=` an id). Every table can be downloaded with ``?format=csv``.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from organization.access import MANAGERS, role_required
from servicedesk.exports import csv_response, wants_csv

from . import selectors
from .models import Grain
from .selectors import evidence

TABLE_PAGE_SIZE = 50
OBSERVATIONS_PAGE_SIZE = 50
# Locations a page in the consistency page's league table and table of funnel points.
LEAGUE_PAGE_SIZE = 25


def _selection(request, *, rolling=False):
    """The dashboard filters and the selection they make; with `rolling` the page offers the rolling
    period ("the last 30 days") and opens on it."""
    kind = selectors.period_kind_from(request.GET, rolling=rolling)
    choices = selectors.dashboard_choices(request.user, period_kind=kind)
    selection = selectors.selection_from(request.GET, choices=choices, admin=selectors.is_admin(request.user))
    return choices, selection


@role_required(*MANAGERS)
def scorecards(request):
    choices, selection = _selection(request, rolling=True)
    has_period = selection.has_period
    table = selectors.scorecard_table(request.user, selection) if has_period else None
    if wants_csv(request):
        rows = selectors.scorecard_csv_rows(table.iterator() if hasattr(table, "iterator") else table or ())
        period = f"{selection.period_start or 'none'}" + (
            f"-{selection.period_last}" if selection.rolling else ""
        )
        name = f"scorecards-{selection.period_kind}-{period}-{selection.grain}"
        return csv_response(name, selectors.SCORECARD_CSV_HEADER, rows)
    context = {
        "choices": choices,
        "selection": selection,
        "params": selection.params(),
        "team_options": selectors.team_options(choices, selection),
    }
    if has_period:
        trend = selectors.trend(request.user, selection)
        context.update(
            headline=selectors.headline(request.user, selection),
            page=Paginator(table, TABLE_PAGE_SIZE).get_page(request.GET.get("page")),
            trend=trend,
            heatmap=selectors.heatmap(
                request.user,
                selection,
                page_number=request.GET.get("heatmap_page"),
                located=table if selectors.table_orders_heatmap(selection) else None,
            ),
            grains=selectors.TABLE_GRAINS,
            # Customer feedback is rolled up per location: only location rows have CSAT and NPS.
            table_has_feedback=selection.grain == Grain.LOCATION and not selection.standard,
            drilldown=selection.drilldown_params(),
            min_evidence=settings.MIN_EVIDENCE,
        )
    return render(request, "measurement/scorecards.html", context)


@role_required(*MANAGERS)
def consistency(request):
    choices, selection = _selection(request, rolling=True)
    admin = selection.admin
    league = selectors.location_league(user=request.user, selection=selection, locations=choices.locations)
    if wants_csv(request):
        period = f"{selection.period_start or 'none'}" + (
            f"-{selection.period_last}" if selection.rolling else ""
        )
        name = f"league-{selection.period_kind}-{period}"
        return csv_response(name, selectors.LEAGUE_CSV_HEADER, selectors.league_csv_rows(league, admin=admin))
    params = selection.params(grain="")
    # Both tables a page at a time, most in need first; the chart above them draws every point.
    rows = Paginator(league.rows if admin else league.mine, LEAGUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    points = Paginator(league.rows, LEAGUE_PAGE_SIZE).get_page(request.GET.get("points_page"))
    context = {
        "choices": choices,
        "selection": selection,
        "params": params,
        "league": league,
        "rows": list(rows.object_list),
        "rows_page": rows,
        "points_page": points,
        "page_query": urlencode(params),
        "rolling_days": settings.DASHBOARD_ROLLING_DAYS,
    }
    return render(request, "measurement/consistency.html", context)


@role_required(*MANAGERS)
def observations(request):
    choices = evidence.observation_choices(request.user)
    form = evidence.observation_filter_form(request.GET, choices)
    if not form.is_valid():
        # Malformed parameters: the form says which, and nothing is listed.
        context = {"form": form, "narrowed": choices.narrowed()}
        return render(request, "measurement/observations.html", context, status=400)
    selected = evidence.observation_filter(form.cleaned_data, choices)
    listed = evidence.observations_behind(request.user, selected, choices=choices)
    if wants_csv(request):
        return csv_response(
            "observations-" + "-".join(selected.params().values()),
            evidence.OBSERVATION_CSV_HEADER,
            evidence.observation_csv_rows(listed),
        )
    page = evidence.observation_page(listed, evidence.page_cursor(request.GET), size=OBSERVATIONS_PAGE_SIZE)
    context = {
        "form": form,
        "narrowed": choices.narrowed(),
        "selected": selected,
        "params": selected.params(),
        "counts": evidence.observation_counts(listed),
        "page": page,
    }
    return render(request, "measurement/observations.html", context)


@role_required(*MANAGERS)
def evaluation_detail(request, pk):
    # One page per evaluation: the scope is checked here, so a redirect reveals nothing.
    evaluation = evidence.evaluation_for(request.user, pk)
    return redirect("evaluations:detail", pk=evaluation.pk)
