"""The program at a glance: one card per step of the recipe, within a user's scope.

Evidence and people (assessments, actions, employees, observations, consequences) are counted
within the user's scope; configuration (touchpoints, standards) across the organisation, since it
applies everywhere. Every figure is one aggregate query, so the page costs the same whatever the
amount of data; observations are counted from the day scorecards, so that query does not grow
with them either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Exists, Q
from django.urls import reverse
from django.utils import timezone

from audits.selectors import DEFAULT_MONTHS, on_time_in_scope
from cases.measures import open_breached, queue_url
from cases.models import OPEN_STATUSES, Case, CaseStatus
from consequences.models import Consequence, ConsequenceStatus, has_corrective_action
from gap_analysis.models import ActionStatus, AssessmentStatus
from gap_analysis.selectors import (
    ASSESSMENT_FRESH_DAYS,
    OPEN_ACTION_STATUSES,
    actions_visible_to,
    assessments_visible_to,
    heatmap_touchpoints,
)
from measurement.models import Deviation, DeviationStatus, Grain, QuarantinedRow, Scorecard
from measurement.selectors import common as measurement_common
from measurement.selectors.evidence import ObservationFilter
from measurement.selectors.rolling import RollingPeriod, rolling_scorecards
from measurement.templatetags.servicedesk_format import count
from organization.models import Employee, Location
from organization.scope import scope_queryset
from standards.models import Standard, Status
from standards.selectors import standards_unacknowledged_by_outer_employee, uncovered_touchpoints
from touchpoints.models import Touchpoint
from training.models import Assignment, Completion, CompletionStatus
from training.selectors import assignments_not_current


@dataclass(frozen=True)
class Detail:
    text: str
    url: str = ""
    warn: bool = False  # something needs attention: shown in the warning colour


@dataclass(frozen=True)
class Figure:
    step: str
    value: str
    caption: str
    url: str  # the evidence behind the value ("" when no page lists exactly it)
    details: list[Detail] = field(default_factory=list)
    page: str = ""  # the step's page, when it is not the value's evidence

    @property
    def page_url(self) -> str:
        return self.page or self.url


def counted(n: int, singular: str, plural: str = "") -> str:
    """'1 touchpoint', '3 touchpoints'."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def share(part: int, whole: int) -> str:
    """'21 of 23', or '0' when there is nothing to count."""
    return f"{part} of {whole}" if whole else "0"


def program_figures(user, *, period: RollingPeriod | None = None) -> list[Figure]:
    """The six cards of the program health page: figure, caption, link, and details that link on.
    Evidence is counted over `period` (default: the rolling period ending on the dashboards' day),
    exactly as the observations page it links to lists it."""
    period = period or RollingPeriod.ending(measurement_common.dashboard_today())
    today = period.last
    is_admin = user.is_staff  # may open the Django admin, where touchpoints and standards live

    # One query: coverage gaps and, for a manager, the touchpoints the gap heatmap lists them
    # (those of their locations) are counted over the same active touchpoints.
    touchpoints = Touchpoint.objects.filter(active=True).aggregate(
        total=Count("pk"),
        without_owner=Count("pk", filter=Q(owner_team__isnull=True)),
        uncovered=Count("pk", filter=Q(pk__in=uncovered_touchpoints().values("pk"))),
        listed=Count("pk", filter=Q(pk__in=heatmap_touchpoints(user).values("pk"))),
    )
    assessed = (
        assessments_visible_to(user)
        .filter(
            status=AssessmentStatus.COMPLETED, assessed_on__gte=today - timedelta(days=ASSESSMENT_FRESH_DAYS)
        )
        .aggregate(touchpoints=Count("touchpoint", distinct=True))["touchpoints"]
    )
    actions = actions_visible_to(user).aggregate(
        open=Count("pk", filter=Q(status=ActionStatus.OPEN)),
        in_progress=Count("pk", filter=Q(status=ActionStatus.IN_PROGRESS)),
        overdue=Count("pk", filter=Q(status__in=OPEN_ACTION_STATUSES, due_on__lt=today)),
    )
    standards = Standard.objects.filter(status=Status.ACTIVE).count()
    uncovered = touchpoints["uncovered"]

    employees = scope_queryset(user, Employee.objects.filter(active=True))
    people = employees.aggregate(
        total=Count("pk"),
        trained=Count(
            "pk",
            filter=~Q(
                pk__in=assignments_not_current(Assignment.objects.all(), today=today).values("employee_id")
            ),
        ),
        acknowledged=Count("pk", filter=~Exists(standards_unacknowledged_by_outer_employee())),
    )
    pending = scope_queryset(user, Completion.objects.filter(status=CompletionStatus.LOGGED)).count()

    in_period = measured_in(user, period)
    window = ObservationFilter(date_from=period.start, date_to=period.last)

    # Planned audits over the programme page's default months, as it shows them.
    audits = on_time_in_scope(user, today=today, now=timezone.now())
    programme = reverse("audit_programme:overview")

    # Rows the rollup cannot count (organisation-wide: they may belong to any location).
    quarantined = QuarantinedRow.objects.count()

    consequences = scope_queryset(
        user, Consequence.objects.exclude(status=ConsequenceStatus.CLOSED)
    ).aggregate(
        open=Count("pk"),
        proposed=Count("pk", filter=Q(status=ConsequenceStatus.PROPOSED)),
        overdue=Count("pk", filter=Q(due_on__lt=today)),
    )
    deviations = scope_queryset(user, Deviation.objects.filter(status=DeviationStatus.OPEN)).aggregate(
        open=Count("pk"),
        unanswered=Count("pk", filter=~has_corrective_action()),
    )

    heatmap = reverse("gap_analysis:heatmap")
    actions_url = reverse("gap_analysis:action-list")
    inbox = reverse("consequences:inbox")
    pass_rate = (
        f"{100 * in_period['passed'] / in_period['total']:.0f}% passed (n = {count(in_period['total'])})"
        if in_period["total"]
        else f"no observations in the {period.label}"
    )
    # The observations behind the figure: of its one location when the evidence lies at one.
    params = window.params()
    if len(in_period["locations"]) == 1:
        params["location"] = str(in_period["locations"][0])
    observations_url = reverse("measurement:observations") + "?" + urlencode(params)
    # A manager's touchpoint list is the gap heatmap, which shows those of their locations only.
    listed_touchpoints = touchpoints["total"] if is_admin else touchpoints["listed"]
    return [
        Figure(
            "Touchpoints",
            str(listed_touchpoints),
            "touchpoints identified" if is_admin else "touchpoints at your locations, on the gap heatmap",
            reverse("admin:touchpoints_touchpoint_changelist") if is_admin else heatmap,
            [
                Detail(
                    f"{counted(touchpoints['without_owner'], 'touchpoint')} without an owner team",
                    reverse("admin:touchpoints_touchpoint_changelist") + "?owner_team__isnull=True"
                    if is_admin
                    else "",
                    warn=bool(touchpoints["without_owner"]),
                )
            ],
        ),
        Figure(
            "Gap analysis",
            share(assessed, touchpoints["total"]),
            "touchpoints assessed in the last 12 months",
            heatmap,
            [
                Detail(f"{counted(actions['open'], 'open action')}", f"{actions_url}?status=open"),
                Detail(f"{actions['in_progress']} in progress", f"{actions_url}?status=in_progress"),
                Detail(
                    f"{actions['overdue']} overdue",
                    f"{actions_url}?overdue=on",
                    warn=bool(actions["overdue"]),
                ),
            ],
        ),
        Figure(
            "Standards",
            share(touchpoints["total"] - uncovered, touchpoints["total"]),
            "touchpoints covered by an active standard",
            # A manager's standards page lists those that apply to them, not the coverage.
            reverse("admin:standards_standard_changelist") if is_admin else "",
            page=reverse("admin:standards_standard_changelist") if is_admin else reverse("standards:mine"),
            details=[
                Detail(counted(standards, "active standard")),
                Detail(f"{counted(uncovered, 'touchpoint')} not covered", warn=bool(uncovered)),
            ],
        ),
        Figure(
            "Training",
            share(people["trained"], people["total"]),
            "employees current on required training",
            reverse("training:matrix"),
            [
                Detail(f"{share(people['acknowledged'], people['total'])} current on acknowledgements"),
                Detail(
                    f"{counted(pending, 'completion')} awaiting verification",
                    reverse("training:verification"),
                    warn=bool(pending),
                ),
            ],
        ),
        Figure(
            "Measurement",
            share(in_period["standards"], standards),
            f"standards measured in the {period.label}",
            observations_url,
            page=reverse("measurement:scorecards"),
            details=[
                Detail(pass_rate, observations_url),
                *(
                    [
                        Detail(
                            f"{counted(quarantined, 'evidence row')} left out of scorecards",
                            reverse("admin:measurement_quarantinedrow_changelist") if is_admin else "",
                            warn=True,
                        )
                    ]
                    if quarantined
                    else []
                ),
                *(
                    [
                        Detail(
                            f"Planned audits: {audits.rate_words}, last {DEFAULT_MONTHS} months", programme
                        ),
                        Detail(
                            f"{counted(audits.missed, 'audit')} missed, {audits.overdue} overdue",
                            programme,
                            warn=bool(audits.missed or audits.overdue),
                        ),
                    ]
                    if audits.planned
                    else []
                ),
            ],
        ),
        Figure(
            "Consequences",
            str(consequences["open"]),
            "open consequences",
            inbox,
            [
                Detail(f"{consequences['proposed']} to approve", f"{inbox}?status=proposed"),
                Detail(
                    f"{consequences['overdue']} overdue",
                    f"{inbox}?overdue=on",
                    warn=bool(consequences["overdue"]),
                ),
                Detail(
                    f"{counted(deviations['open'], 'open deviation')} of non-negotiable standards"
                    + (
                        f", {deviations['unanswered']} without a corrective action"
                        if deviations["unanswered"]
                        else ""
                    ),
                    inbox,
                    warn=bool(deviations["open"]),
                ),
            ],
        ),
    ]


def measured_in(user, period: RollingPeriod) -> dict:
    """Observations and passes over `period`, the standards they measured, and the locations
    they were made at, read from the day scorecards (`rolling_scorecards`): for an admin the
    organisation's row and its standards' rows; for a manager the rows of their locations and of
    their locations × standards, as the scorecards page counts "your locations" (an admin's
    `locations` is empty: the organisation names none). The same count as the observations page
    lists for those locations and days once the rollup has run, in one query whose cost does not
    grow with the evidence, where counting the observations read every one of the span (80,000
    rows a month at 500 locations)."""
    if measurement_common.is_admin(user):
        scorecards = Scorecard.objects.filter(grain__in=(Grain.ORGANISATION, Grain.STANDARD))
        total_grain, standard_grain = Grain.ORGANISATION, Grain.STANDARD
    else:
        scorecards = measurement_common.location_rows_for(user).filter(
            grain__in=(Grain.LOCATION, Grain.LOCATION_STANDARD)
        )
        total_grain, standard_grain = Grain.LOCATION, Grain.LOCATION_STANDARD
    rows = [row for row in rolling_scorecards(scorecards, period) if row.observations]
    totals = [row for row in rows if row.grain == total_grain]
    return {
        "total": sum(row.observations for row in totals),
        "passed": sum(row.passed for row in totals),
        "standards": len({row.standard_id for row in rows if row.grain == standard_grain}),
        "locations": sorted(row.location_id for row in totals if row.location_id is not None),
    }


# Locations named one by one under the cases card (the most breached first); the rest are counted.
CASE_LOCATIONS_NAMED = 3


def open_cases_by_location(user) -> list[dict]:
    """Open, breached and new cases per active location of the user's dashboard (managed locations;
    admins all), as the attention list counts them (it hands its rows to `cases_overview` on the
    home page): one query."""
    return list(
        Case.objects.filter(
            location__in=measurement_common.dashboard_locations(user).filter(active=True).values("pk"),
            status__in=OPEN_STATUSES,
        )
        .order_by()
        .values("location_id", "location__code", "location__name")
        .annotate(
            open=Count("pk"),
            breached=Count("pk", filter=open_breached(timezone.now())),
            new=Count("pk", filter=Q(status=CaseStatus.NEW)),
        )
    )


def cases_overview(user, *, rows: list[dict] | None = None) -> Figure:
    """Open customer cases at the user's locations, how many breached their SLA and how many wait
    to be acknowledged, with the locations most breached, each linked to the cases queue. `rows`:
    the counts per location when already read (`Board.case_rows`); else one query."""
    rows = open_cases_by_location(user) if rows is None else rows
    total = {key: sum(row[key] for row in rows) for key in ("open", "breached", "new")}
    worst = sorted(
        (row for row in rows if row["breached"]), key=lambda row: (-row["breached"], row["location__name"])
    )
    named = [
        Detail(
            f"{row['location__name']}: {row['breached']} of {counted(row['open'], 'open case')} breached",
            queue_url(user, Location(pk=row["location_id"], code=row["location__code"]), breached=1),
            warn=True,
        )
        for row in worst[:CASE_LOCATIONS_NAMED]
    ]
    if len(worst) > CASE_LOCATIONS_NAMED:
        named.append(Detail(f"and {counted(len(worst) - CASE_LOCATIONS_NAMED, 'more location')}"))
    return Figure(
        "Customer cases",
        count(total["open"]),
        "open customer cases" + ("" if measurement_common.is_admin(user) else " at your locations"),
        queue_url(user),
        [
            Detail(
                f"{count(total['breached'])} breached {'its' if total['breached'] == 1 else 'their'} SLA",
                queue_url(user, breached=1),
                warn=bool(total["breached"]),
            ),
            Detail(
                f"{count(total['new'])} new, not acknowledged",
                queue_url(user, status=CaseStatus.NEW),
                warn=bool(total["new"]),
            ),
            *named,
        ],
        page=reverse("cases:measures"),
    )
