"""The manager dashboard: scorecards, consistency between locations, and the evidence behind them.

Managers and admins only (staff get 403, anonymous visitors the login page). What each user sees is
decided in `measurement.selectors` (see its docstring). The scorecard and consistency pages read
scorecards only, so their query count is fixed whatever the amount of evidence; the drill-down
pages read observations a page at a time. Every table can be downloaded with ``?format=csv``.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render

from organization.access import MANAGERS, role_required
from servicedesk.exports import csv_response, wants_csv

from . import selectors
from .models import Grain

TABLE_PAGE_SIZE = 50
OBSERVATIONS_PAGE_SIZE = 50


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
        "rolling_days": settings.DASHBOARD_ROLLING_DAYS,
    }
    if has_period:
        trend = selectors.trend(request.user, selection)
        context.update(
            headline=selectors.headline(request.user, selection),
            page=Paginator(table, TABLE_PAGE_SIZE).get_page(request.GET.get("page")),
            trend=trend,
            heatmap=selectors.heatmap(request.user, selection, page_number=request.GET.get("heatmap_page")),
            grains=selectors.TABLE_GRAINS,
            # Customer feedback is rolled up per location: only location rows have CSAT and NPS.
            table_has_feedback=selection.grain == Grain.LOCATION and not selection.standard,
            drilldown=selection.drilldown_params(),
            min_evidence=settings.MIN_EVIDENCE,
        )
    return render(request, "measurement/scorecards.html", context)


@role_required(*MANAGERS)
def consistency(request):
    choices, selection = _selection(request)
    admin = selection.admin
    league = selectors.location_league(
        user=request.user,
        period_kind=selection.period_kind,
        period_start=selection.period_start,
        standard=selection.standard,
        locations=choices.locations,
    )
    if wants_csv(request):
        name = f"league-{selection.period_kind}-{selection.period_start or 'none'}"
        return csv_response(name, selectors.LEAGUE_CSV_HEADER, selectors.league_csv_rows(league, admin=admin))
    context = {
        "choices": choices,
        "selection": selection,
        "params": selection.params(grain=""),
        "league": league,
        "rows": league.rows if admin else league.mine,
    }
    return render(request, "measurement/consistency.html", context)


@role_required(*MANAGERS)
def observations(request):
    selected = selectors.observation_filter_from(request.user, request.GET)
    listed = selectors.observations_behind(request.user, selected)
    if wants_csv(request):
        return csv_response(
            "observations-" + "-".join(selected.params().values()),
            selectors.OBSERVATION_CSV_HEADER,
            selectors.observation_csv_rows(listed),
        )
    counts = selectors.observation_counts(listed)
    paginator = Paginator(listed, OBSERVATIONS_PAGE_SIZE)
    # The aggregate above has counted them: spare the paginator a second count of a large table.
    paginator.count = counts["observations"]
    context = {
        "selected": selected,
        "params": selected.params(),
        "counts": counts,
        "page": paginator.get_page(request.GET.get("page")),
    }
    return render(request, "measurement/observations.html", context)


@role_required(*MANAGERS)
def evaluation_detail(request, pk):
    evaluation = selectors.evaluation_for(request.user, pk)
    items = list(selectors.evaluation_items(evaluation))
    return render(request, "measurement/evaluation_detail.html", {"evaluation": evaluation, "items": items})
