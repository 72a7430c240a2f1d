"""Reads of cases for pages and the API. Scope is decided in `organization.scope` (Case.scope_paths):
staff see the cases they own or logged, managers those of their locations and teams, admins all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case as Choose
from django.db.models import (
    Count,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from measurement.models import Feedback
from organization.formatting import duration_words
from organization.models import Employee, Location, Role
from organization.scope import (
    employee_of,
    get_in_scope,
    location_queryset_for,
    managed_location_ids,
    managed_team_ids,
    role_of,
    scope_queryset,
)
from touchpoints.models import Touchpoint

from .models import OPEN_STATUSES, UNACKNOWLEDGED_STATUSES, Case, CaseCategory, CaseEvent


def cases_visible_to(user) -> QuerySet[Case]:
    return scope_queryset(user, Case.objects.all())


def case_in_scope(user, pk: int) -> Case:
    """The case with `pk` if `user` may see it; Http404 otherwise."""
    return get_in_scope(
        user,
        Case.objects.select_related(
            "location",
            "touchpoint",
            "team",
            "category",
            "owner__user",
            "logged_by__user",
            "sla_policy",
            "feedback__touchpoint",
            "action",
        ),
        pk=pk,
    )


# --- The clock of a case ----------------------------------------------------------------------


def next_due_expression():
    """The earlier of the deadlines still running: acknowledgement while the case is new, resolution
    while it is open; none once resolved or closed. Coalesce because SQLite's MIN() of a NULL is NULL
    where PostgreSQL's LEAST() skips it."""
    acknowledge, resolve = F("acknowledge_due_at"), F("resolve_due_at")
    return Choose(
        When(
            status__in=UNACKNOWLEDGED_STATUSES,
            then=Least(Coalesce(acknowledge, resolve), Coalesce(resolve, acknowledge)),
        ),
        When(status__in=OPEN_STATUSES, then=resolve),
        default=Value(None, output_field=DateTimeField()),
        output_field=DateTimeField(),
    )


@dataclass(frozen=True)
class Deadline:
    """One deadline of a case as its page states it."""

    label: str  # "Acknowledge" or "Resolve"
    due_at: datetime | None
    done_at: datetime | None  # when it was met (acknowledged or resolved), if it was
    running: bool  # the clock still runs: the case waits for this step

    def words(self, now: datetime) -> str:
        if self.due_at is None:
            return "no deadline (no SLA policy applies)"
        if self.done_at is not None:
            late = self.done_at - self.due_at
            return f"late by {duration_words(late)}" if late > timedelta(0) else "in time"
        if not self.running:
            return "no longer running"
        left = self.due_at - now
        if left < timedelta(0):
            return f"overdue by {duration_words(-left)}"
        return f"{duration_words(left)} left"

    def breached(self, now: datetime) -> bool:
        if self.due_at is None:
            return False
        if self.done_at is not None:
            return self.done_at > self.due_at
        return self.running and now > self.due_at


def case_deadlines(case: Case) -> list[Deadline]:
    """The acknowledgement and resolution deadlines, with whether each still runs."""
    return [
        Deadline(
            "Acknowledge",
            case.acknowledge_due_at,
            case.acknowledged_at,
            case.status in UNACKNOWLEDGED_STATUSES,
        ),
        Deadline(
            "Resolve",
            case.resolve_due_at,
            case.resolved_at if case.status not in OPEN_STATUSES else None,
            case.status in OPEN_STATUSES,
        ),
    ]


def due_words(due: datetime | None, now: datetime) -> str:
    """'overdue by 3 h' or '5 h left' for a running deadline; '' when none runs."""
    if due is None:
        return ""
    left = due - now
    return f"overdue by {duration_words(-left)}" if left < timedelta(0) else f"{duration_words(left)} left"


# --- The cases queue --------------------------------------------------------------------------

QUEUE_TABS = {
    "mine": "Mine",
    "logged": "Logged by me",
    "team": "My teams",
    "locations": "My locations",
    "all": "All",
}


def queue_tabs(user) -> list[str]:
    """The tabs a user's queue offers, first the default: staff see what they own and what they
    logged; managers add their teams and locations; admins see everything."""
    role = role_of(user)
    if role == Role.ADMIN:
        return ["mine", "all"]
    if role == Role.MANAGER:
        return ["mine", "team", "locations"]
    return ["mine", "logged"]


def _tab_condition(user, tab: str) -> Q:
    employee = employee_of(user)
    nobody = Q(pk__in=[])  # an account without a profile owns and logs nothing
    return {
        "mine": Q(owner_id=employee.pk) if employee else nobody,
        "logged": Q(logged_by_id=employee.pk) if employee else nobody,
        "team": Q(team_id__in=managed_team_ids(user)),
        "locations": Q(location_id__in=managed_location_ids(user)),
        "all": Q(),
    }[tab]


@dataclass(frozen=True)
class QueueFilters:
    tab: str = "mine"
    status: str = ""  # "" = open cases; "any" = every status; else one status
    severity: str = ""
    location_id: int | None = None
    category_id: int | None = None
    breached: bool = False


def _status_condition(status: str) -> Q:
    if status == "any":
        return Q()
    if status:
        return Q(status=status)
    return Q(status__in=OPEN_STATUSES)


def queue_cases(user, *, filters: QueueFilters, now: datetime | None = None) -> QuerySet[Case]:
    """The queue in the order to work it: open cases due soonest first (a case with no deadline
    after those with one), then the rest newest first."""
    now = now or timezone.now()
    cases = (
        cases_visible_to(user)
        .filter(_tab_condition(user, filters.tab), _status_condition(filters.status))
        .select_related("location", "touchpoint", "category", "owner__user")
        .annotate(next_due=next_due_expression())
        .annotate(
            running=Choose(
                When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
    )
    if filters.severity:
        cases = cases.filter(severity=filters.severity)
    if filters.location_id:
        cases = cases.filter(location_id=filters.location_id)
    if filters.category_id:
        cases = cases.filter(category_id=filters.category_id)
    if filters.breached:
        cases = cases.filter(next_due__lt=now)
    return cases.order_by("running", F("next_due").asc(nulls_last=True), "-opened_at", "-pk")


def queue_tab_counts(user, *, tabs: list[str]) -> dict[str, int]:
    """How many open cases each tab holds (one query)."""
    counts = (
        cases_visible_to(user)
        .filter(status__in=OPEN_STATUSES)
        .aggregate(**{tab: Count("pk", filter=_tab_condition(user, tab)) for tab in tabs})
    )
    return {tab: counts[tab] or 0 for tab in tabs}


def queue_locations(user) -> QuerySet[Location]:
    """Locations a user's cases may be filtered by (their scope's)."""
    return location_queryset_for(user, Location.objects.all()).only("code", "name").order_by("name", "code")


def case_categories() -> QuerySet[CaseCategory]:
    return CaseCategory.objects.filter(active=True).order_by("name")


# --- One case ---------------------------------------------------------------------------------


def case_timeline(case: Case) -> QuerySet[CaseEvent]:
    """Every event of the case, oldest first, with who did it."""
    return case.events.select_related("actor__employee").order_by("at", "pk")


def case_handover_candidates(case: Case) -> QuerySet[Employee]:
    """Who may take the case over: active people who work at its location or manage it, but not its
    owner (`case_assign` accepts exactly these)."""
    return (
        Employee.objects.filter(
            Q(location_id=case.location_id) | Q(managed_locations=case.location_id),
            active=True,
            user__is_active=True,
        )
        .exclude(pk=case.owner_id)
        .select_related("user")
        .distinct()
        .order_by("user__first_name", "user__last_name", "pk")
    )


# --- The feedback inbox -----------------------------------------------------------------------

# An unhappy answer: a detractor's score or a low satisfaction.
UNHAPPY = Q(nps__lte=6) | Q(csat__lte=2)

SCORE_BANDS = {
    "detractors": ("Detractors (NPS 0–6)", Q(nps__lte=6)),
    "passives": ("Passives (NPS 7–8)", Q(nps__gte=7, nps__lte=8)),
    "promoters": ("Promoters (NPS 9–10)", Q(nps__gte=9)),
    "low_csat": ("Low satisfaction (CSAT 1–2)", Q(csat__lte=2)),
}

PERIODS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last 12 months"}


@dataclass(frozen=True)
class InboxFilters:
    location_id: int | None = None
    touchpoint_id: int | None = None
    period_days: int | None = None
    band: str = ""
    with_comment: bool = False
    contact: bool = False
    case: str = ""  # "with", "without" or "" for both


INBOX_ORDER = ("unhappy", "-submitted_at", "-pk")


def _unhappy_first(answers: QuerySet[Feedback]) -> QuerySet[Feedback]:
    unhappy = Choose(When(UNHAPPY, then=Value(0)), default=Value(1), output_field=IntegerField())
    return answers.annotate(unhappy=unhappy).order_by(*INBOX_ORDER)


def feedback_inbox(user, *, filters: InboxFilters, now: datetime | None = None) -> QuerySet[Feedback]:
    """Every feedback answer in the user's scope, unhappy ones first, newest first within. The
    answers alone, to count and to page (`feedback_rows` joins a page's)."""
    answers = scope_queryset(user, Feedback.objects.all())
    if filters.location_id:
        answers = answers.filter(location_id=filters.location_id)
    if filters.touchpoint_id:
        answers = answers.filter(touchpoint_id=filters.touchpoint_id)
    if filters.period_days:
        answers = answers.filter(
            submitted_at__gte=(now or timezone.now()) - timedelta(days=filters.period_days)
        )
    if filters.band in SCORE_BANDS:
        answers = answers.filter(SCORE_BANDS[filters.band][1])
    if filters.with_comment:
        answers = answers.exclude(comment="")
    if filters.contact:
        answers = answers.filter(contact_consent=True)
    if filters.case == "with":
        answers = answers.filter(case__isnull=False)
    elif filters.case == "without":
        answers = answers.filter(case__isnull=True)
    return _unhappy_first(answers)


def feedback_rows(page: QuerySet[Feedback]) -> list[Feedback]:
    """The answers of one page of `feedback_inbox` (a slice of it), in its order, with their
    location, touchpoint and case. The page is chosen among the answers alone, by one top-N sort
    of the feedback table in a subquery, and only its rows are joined: joining every answer in
    scope before sorting them took 120 ms at 50,000 answers. One query."""
    rows = Feedback.objects.filter(pk__in=page.values("pk")).select_related("location", "touchpoint", "case")
    return list(_unhappy_first(rows))


def inbox_touchpoints() -> QuerySet[Touchpoint]:
    """Touchpoints the inbox may be filtered by: every active one (touchpoints are the whole
    organisation's; an answer may name one not listed at its location)."""
    return Touchpoint.objects.filter(active=True).only("name", "slug").order_by("name")


def feedback_in_scope(user, pk: int) -> Feedback:
    """The feedback answer `pk` if the user may see it; Http404 otherwise."""
    return get_in_scope(user, Feedback.objects.select_related("location", "touchpoint", "case"), pk=pk)


# --- The complaint form -----------------------------------------------------------------------


def complaint_locations(user) -> QuerySet[Location]:
    """Where a user may log a complaint: their own location, and the locations they manage."""
    return location_queryset_for(user, Location.objects.filter(active=True)).order_by("name", "code")


def complaint_touchpoints() -> QuerySet[Touchpoint]:
    return inbox_touchpoints()
