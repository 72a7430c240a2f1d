"""Who sees which scorecards, and the periods the dashboard offers (see the package docstring)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from organization.models import Employee, Location, Role, Team
from organization.scope import managed_location_ids, managed_team_ids, role_of, scope_queryset

from ..models import Grain, PeriodKind, Scorecard
from ..services.rollup import period_end, period_start

# The period kinds the dashboard offers (day scorecards exist, but are too noisy to manage by).
DASHBOARD_PERIOD_KINDS = (PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER)
DEFAULT_PERIOD_KIND = PeriodKind.MONTH
# How many periods a trend chart shows, ending with the chosen one.
TREND_PERIODS = 12
# How many period starts the period picker offers.
PICKER_PERIODS = 60
# The table grains a user can choose; "standard" means per standard, within the selection.
TABLE_GRAINS = {
    Grain.LOCATION: "Location",
    Grain.TEAM: "Team",
    Grain.EMPLOYEE: "Employee",
    Grain.STANDARD: "Standard",
}
# Organisation-wide grains: they name no location, so every dashboard user may read them as context.
BENCHMARK_GRAINS = (Grain.ORGANISATION, Grain.STANDARD, Grain.TOUCHPOINT)
# Rates are compared with targets with a little slack (they come back from float arithmetic).
TARGET_TOLERANCE = 1e-9
OTHER_LOCATION = "Other location"


# --------------------------------------------------------------------------- who sees what


def is_admin(user) -> bool:
    return role_of(user) == Role.ADMIN


def scorecards_for(user) -> QuerySet[Scorecard]:
    """The scorecards `user` may see as their own (see the module docstring): all for admins; for
    managers their locations', teams' and employees' rows (organization.scope); staff their own."""
    return scope_queryset(user, Scorecard.objects.all())


def location_rows_for(user) -> QuerySet[Scorecard]:
    """`scorecards_for(user)`, narrowed beside the scope to the rows naming one of the user's
    dashboard locations: the same rows for the location and location × standard grains, which
    name a location and no team or employee. For a manager the extra condition lets PostgreSQL
    read their locations' rows through the index on location_id instead of testing the scope's
    OR of joins on every row of the grain (60 ms against 3 for the standard filter at 500
    locations); for an admin it would only add work, so it is left out."""
    rows = scorecards_for(user)
    if is_admin(user):
        return rows
    return rows.filter(location__in=dashboard_locations(user).values("pk"))


def team_rows_for(user) -> QuerySet[Scorecard]:
    """`scorecards_for(user)`, narrowed as `location_rows_for` is, to the rows naming one of the
    teams in the user's scope, given as ids read first: as literals PostgreSQL reads those teams'
    rows through the index on team_id instead of testing the scope's OR of joins on every team's
    day rows (a subquery of the ids is misestimated as 1,500 rows). One query for a manager."""
    rows = scorecards_for(user)
    if is_admin(user):
        return rows
    return rows.filter(team__in=list(dashboard_teams(user).values_list("pk", flat=True)))


def employee_rows_for(user) -> QuerySet[Scorecard]:
    """Likewise for the employees in the user's scope (a superset of those whose scorecards the
    scope shows, which the scope's own filter still decides). One query for a manager."""
    rows = scorecards_for(user)
    if is_admin(user):
        return rows
    reached = scope_queryset(user, Employee.objects.all()).values_list("pk", flat=True)
    return rows.filter(employee__in=list(reached))


def benchmark_scorecards() -> QuerySet[Scorecard]:
    """Organisation-wide scorecards (org, standard, touchpoint grains): context for every manager."""
    return Scorecard.objects.filter(grain__in=BENCHMARK_GRAINS)


def dashboard_locations(user) -> QuerySet[Location]:
    """Locations whose scorecards `user` sees: all for admins, the managed ones for managers."""
    if is_admin(user):
        return Location.objects.all()
    if role_of(user) == Role.MANAGER:
        return Location.objects.filter(pk__in=managed_location_ids(user))
    return Location.objects.none()


def dashboard_teams(user) -> QuerySet[Team]:
    """Teams whose scorecards `user` sees: all for admins; for managers the teams of their
    locations and the teams they manage."""
    teams = Team.objects.select_related("location")
    if is_admin(user):
        return teams
    if role_of(user) == Role.MANAGER:
        return teams.filter(Q(location__in=managed_location_ids(user)) | Q(pk__in=managed_team_ids(user)))
    return teams.none()


# --------------------------------------------------------------------------- periods


def dashboard_today() -> date:
    """The day the dashboards and the home page count back from (the organisation's local date).
    One function, so that tests can stand the clock on the 1st or 2nd of a month."""
    return timezone.localdate()


def period_label(kind: str, start: date) -> str:
    """'Mar 2025', 'Q1 2025', 'Week of 3 Mar 2025' or '3 Mar 2025'."""
    if kind == PeriodKind.MONTH:
        return start.strftime("%b %Y")
    if kind == PeriodKind.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == PeriodKind.WEEK:
        return f"Week of {start.day} {start:%b %Y}"
    return f"{start.day} {start:%b %Y}"


def previous_periods(kind: str, last: date, count: int) -> list[date]:
    """The starts of `count` consecutive periods of `kind` ending with the one starting `last`,
    oldest first."""
    starts = [last]
    while len(starts) < count:
        starts.append(period_start(kind, starts[-1] - timedelta(days=1)))
    return starts[::-1]


def period_bounds(kind: str, start: date) -> tuple[datetime, datetime]:
    """The instants a period starts and ends (exclusive), in the organisation's time zone, as the
    rollup computes periods."""
    tz = ZoneInfo(settings.TIME_ZONE)
    end = period_end(kind, start)
    return datetime.combine(start, clock_time.min, tzinfo=tz), datetime.combine(
        end, clock_time.min, tzinfo=tz
    )


def parse_date(raw: str | None) -> date | None:
    """An ISO date from a query parameter, or None if it is missing or malformed."""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
