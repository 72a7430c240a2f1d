"""Who needs a manager this week, and why: locations, teams or people in scope, ranked by need.

Every subject gets reasons to act and things that went well, each computed from data over the
rolling period (`measurement.selectors.rolling`) and linked to exactly the evidence behind it:

- pass rate below the funnel's 99.8% lower limit around the organisation's rate, or below its
  target with confidence (the Wilson interval's upper bound under the target); above the upper
  limit, or above target with confidence, went well;
- a control-chart signal (p-chart, Western Electric rules) on the last of the 12 complete weeks;
  a signal below the centre needs attention, above it is an improving trend;
- open deviations of non-negotiable standards that no corrective action answers;
- overdue gap actions (at a location; for a person, those they own);
- employees not current on required training, or not having acknowledged the standards in force;
- consequences waiting for approval; recognitions proposed or approved but not yet delivered;
- (locations) open customer cases past a running SLA deadline, and new cases not yet acknowledged,
  each linked to the cases queue of that location (`cases.measures.open_breached`, the queue's
  ``breached=1``).
- (locations) planned audits missed in the last 90 days, and open ones past their due time, each
  linked to the audit programme of that location (`audits.selectors.missed_and_overdue_by_location`).

A subject with fewer than settings.MIN_EVIDENCE observations in the period is never called weak
or strong on its pass rate: it is shown as "too little evidence". Each kind of figure is one
aggregate query grouped by subject, so a board costs the same number of queries (ten) whatever
the number of subjects or of evidence rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Exists, Q, QuerySet
from django.http import Http404
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from audits.selectors import MISSED_LOOKBACK_DAYS, missed_and_overdue_by_location
from cases.measures import open_breached, queue_url
from cases.models import OPEN_STATUSES, Case, CaseStatus
from consequences.models import Consequence, ConsequenceStatus, Polarity, has_corrective_action
from gap_analysis.models import ActionItem
from gap_analysis.selectors import OPEN_ACTION_STATUSES
from measurement import stats
from measurement.models import Deviation, DeviationStatus, Grain, PeriodKind, Scorecard
from measurement.selectors.common import dashboard_locations, dashboard_teams, previous_periods
from measurement.selectors.evidence import span_label
from measurement.selectors.rolling import RollingPeriod, rolling_scorecards
from measurement.services.rollup import period_start
from measurement.templatetags.servicedesk_format import count, percent
from organization.models import Employee, Location, Team
from organization.scope import scope_queryset
from standards.selectors import standards_unacknowledged_by_outer_employee
from training.models import Assignment
from training.selectors import assignments_not_current

LOCATION, TEAM, EMPLOYEE = "location", "team", "employee"
KINDS = (LOCATION, TEAM, EMPLOYEE)
GRAINS = {LOCATION: Grain.LOCATION, TEAM: Grain.TEAM, EMPLOYEE: Grain.EMPLOYEE}
NOUNS = {LOCATION: "locations", TEAM: "teams", EMPLOYEE: "people"}
SINGULAR = {LOCATION: "location", TEAM: "team", EMPLOYEE: "person"}

# How bad a reason is: the ranking adds them up.
SERIOUS, WARNING, NOTICE = 3, 2, 1
TREND_WEEKS = 12
# A p-chart over fewer weeks with evidence says nothing about a process.
MIN_TREND_WEEKS = 6
# Subjects of each list the home names; the rest are counted and a click away.
HOME_SHOWN = 10
# Overdue actions named one by one under their reason; the rest are counted.
ACTIONS_NAMED = 3
FUNNEL_COVERAGE = 0.998
RULE_WORDS = {
    1: "beyond 3σ",
    2: "2 of 3 weeks beyond 2σ",
    3: "4 of 5 weeks beyond 1σ",
    4: "8 weeks in a row on one side",
}


def _pct(proportion: float) -> str:
    return percent(proportion)


def _counted(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _url(name: str, params: dict | None = None) -> str:
    url = _path(name, get_script_prefix(), get_urlconf())
    return f"{url}?{urlencode(params)}" if params else url


@lru_cache(maxsize=64)
def _path(name: str, prefix: str, urlconf) -> str:
    # A board builds a link or more per subject; resolving the same few names again each time
    # cost a fifth of the home page at 500 locations. The prefix and URLconf are in the key, so a
    # change of either resolves afresh.
    return reverse(name, urlconf=urlconf)


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Reason:
    """One reason to act (or one thing that went well), with the link to its evidence."""

    text: str
    url: str
    severity: int = NOTICE
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Week:
    start: date
    passed: int
    observations: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.observations if self.observations else None


@dataclass
class Subject:
    """A location, team or employee with its rolling scorecard, weekly trend, reasons and successes."""

    kind: str
    pk: int
    name: str
    where: str  # the location of a team or person ("" for a location)
    location_id: int
    params: dict[str, str]  # the drill-down parameters naming the subject
    scorecard: Scorecard | None = None
    weeks: list[Week] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    successes: list[Reason] = field(default_factory=list)
    evidence_url: str = ""
    user_id: int | None = None  # a person's account: gap actions are owned by users

    @property
    def observations(self) -> int:
        return self.scorecard.observations if self.scorecard else 0

    @property
    def enough_evidence(self) -> bool:
        return self.observations >= settings.MIN_EVIDENCE

    @property
    def evidence_words(self) -> str:
        """The pass rate with its n, or why none is judged."""
        card = self.scorecard
        if not self.observations:
            return "no observations in the period"
        rate = f"{_pct(card.pass_rate)} passed (n = {count(card.observations)})"
        if not self.enough_evidence:
            return f"too little evidence: {rate}, fewer than {settings.MIN_EVIDENCE}"
        return rate

    @property
    def need(self) -> int:
        return sum(reason.severity for reason in self.reasons)

    def rank_key(self) -> tuple:
        # Most serious first; among equals the lowest credible pass rate; thin evidence after.
        low = self.scorecard.pass_rate_low if self.enough_evidence else None
        return (-self.need, -len(self.reasons), low if low is not None else 2.0, self.name.lower())

    @property
    def trend_words(self) -> str:
        """'pass rate by week: 81%, 84%, no observations, …' (the sparkline's text)."""
        parts = [_pct(week.rate) if week.observations else "no observations" for week in self.weeks]
        return "pass rate by week: " + ", ".join(parts)


@dataclass(frozen=True)
class Board:
    kind: str
    period: RollingPeriod
    subjects: list[Subject]  # ranked by need
    organisation_rate: float | None
    weeks: list[date]
    location: Location | None = None  # the filter, on the teams and people views
    team: Team | None = None
    # Open, breached and new cases per location (location view only), for the home's cases card.
    case_rows: list[dict] = field(default_factory=list)

    @cached_property
    def needs_attention(self) -> list[Subject]:
        return [subject for subject in self.subjects if subject.reasons]

    @cached_property
    def went_well(self) -> list[Subject]:
        return [subject for subject in self.subjects if subject.successes]

    @cached_property
    def quiet(self) -> list[Subject]:
        return [subject for subject in self.subjects if not subject.reasons]

    # The home shows the first few of each list, most in need first; the whole ranking is the
    # paginated locations view a click away, so the page stays small at 500 locations.
    @property
    def needs_attention_shown(self) -> list[Subject]:
        return self.needs_attention[:HOME_SHOWN]

    @property
    def needs_attention_more(self) -> int:
        return max(0, len(self.needs_attention) - HOME_SHOWN)

    @property
    def went_well_shown(self) -> list[Subject]:
        return self.went_well[:HOME_SHOWN]

    @property
    def went_well_more(self) -> int:
        return max(0, len(self.went_well) - HOME_SHOWN)

    @property
    def quiet_shown(self) -> list[Subject]:
        return self.quiet[:HOME_SHOWN]

    @property
    def quiet_more(self) -> int:
        return max(0, len(self.quiet) - HOME_SHOWN)

    @property
    def subjects_shown(self) -> list[Subject]:
        """The subjects named in the home's "your scope" line (by name, as the board ranks them)."""
        return sorted(self.subjects, key=lambda subject: subject.name.lower())[:HOME_SHOWN]

    @property
    def subjects_more(self) -> int:
        return max(0, len(self.subjects) - HOME_SHOWN)

    @property
    def has_evidence(self) -> bool:
        return any(subject.observations for subject in self.subjects)

    @property
    def noun(self) -> str:
        return NOUNS[self.kind]

    @property
    def singular(self) -> str:
        return SINGULAR[self.kind]

    @property
    def min_evidence(self) -> int:
        return settings.MIN_EVIDENCE

    @property
    def weeks_label(self) -> str:
        if not self.weeks:
            return ""
        last = self.weeks[-1] + timedelta(days=6)
        return f"{len(self.weeks)} complete weeks, {span_label(self.weeks[0], last)}"


# --------------------------------------------------------------------------- subjects


def _locations(user, location: Location | None) -> tuple[list[Subject], QuerySet]:
    locations = dashboard_locations(user).filter(active=True).order_by("name")
    if location is not None:
        locations = locations.filter(pk=location.pk)
    subjects = [
        Subject(LOCATION, loc.pk, loc.name, "", loc.pk, {"location": str(loc.pk)}) for loc in locations
    ]
    return subjects, locations


def _teams(user, location: Location | None) -> list[Subject]:
    teams = (
        dashboard_teams(user).filter(active=True, location__active=True).order_by("location__name", "name")
    )
    if location is not None:
        teams = teams.filter(location=location)
    subjects = [
        Subject(TEAM, t.pk, t.name, t.location.name, t.location_id, {"team": str(t.pk)}) for t in teams
    ]
    return subjects, teams


def _employees(user, location: Location | None, team: Team | None) -> tuple[list[Subject], QuerySet]:
    employees = scope_queryset(user, Employee.objects.filter(active=True)).select_related("user", "location")
    if location is not None:
        employees = employees.filter(location=location)
    if team is not None:
        employees = employees.filter(team=team)
    subjects = []
    for employee in employees.order_by("user__last_name", "user__first_name", "employee_number"):
        subjects.append(
            Subject(
                EMPLOYEE,
                employee.pk,
                employee.full_name,
                employee.location.name,
                employee.location_id,
                {"employee": str(employee.pk)},
                user_id=employee.user_id,
            )
        )
    return subjects, employees


# --------------------------------------------------------------------------- the board


def last_complete_weeks(today: date, count: int = TREND_WEEKS) -> list[date]:
    """Starts of the `count` weeks (Monday to Sunday) that ended before `today`'s week, oldest first."""
    return previous_periods(PeriodKind.WEEK, period_start(PeriodKind.WEEK, today) - timedelta(days=7), count)


def attention_board(
    user,
    *,
    kind: str = LOCATION,
    today: date,
    location: Location | None = None,
    team: Team | None = None,
) -> Board:
    """The subjects of `kind` in the user's scope (optionally of one location or team, already
    checked to be in scope), ranked by need, over the rolling period ending `today`.

    Queries: nine at most, whatever the number of subjects or of evidence (one per kind of
    figure); the subjects are narrowed by a subquery, so no query grows with their number."""
    period = RollingPeriod.ending(today)
    weeks = last_complete_weeks(today)
    if kind == LOCATION:
        subjects, chosen = _locations(user, location)
    elif kind == TEAM:
        subjects, chosen = _teams(user, location)
    else:
        subjects, chosen = _employees(user, location, team)
    column = f"{kind}_id"
    ids = chosen.order_by().values("pk")
    by_pk = {subject.pk: subject for subject in subjects}

    # The organisation's row rides in the same query: it is the funnel's centre.
    cards = rolling_scorecards(
        Scorecard.objects.filter(
            Q(grain=Grain.ORGANISATION) | Q(grain=GRAINS[kind], **{f"{column}__in": ids})
        ),
        period,
    )
    organisation_rate = None
    for card in cards:
        if card.grain == Grain.ORGANISATION:
            organisation_rate = card.pass_rate
        elif getattr(card, column) in by_pk:
            by_pk[getattr(card, column)].scorecard = card

    weekly = defaultdict(dict)
    rows = Scorecard.objects.filter(
        period_kind=PeriodKind.WEEK, period_start__in=weeks, grain=GRAINS[kind], **{f"{column}__in": ids}
    ).values_list(column, "period_start", "passed", "observations")
    for pk, start, passed, n in rows:
        weekly[pk][start] = (passed, n)
    for subject in subjects:
        subject.weeks = [Week(start, *weekly[subject.pk].get(start, (0, 0))) for start in weeks]
        subject.evidence_url = _url(
            "measurement:observations",
            {"from": period.start.isoformat(), "to": period.last.isoformat(), **subject.params},
        )
        _judge_pass_rate(subject, organisation_rate)
        _judge_trend(subject)

    _judge_deviations(kind, column, ids, by_pk)
    _judge_actions(kind, chosen, subjects, today)
    _judge_people(kind, column, ids, by_pk, today)
    _judge_consequences(kind, column, ids, by_pk)
    case_rows = []
    if kind == LOCATION:
        case_rows = _judge_cases(user, ids, by_pk)
        _judge_audits(ids, by_pk)

    subjects.sort(key=Subject.rank_key)
    return Board(
        kind, period, subjects, organisation_rate, weeks, location=location, team=team, case_rows=case_rows
    )


def _judge_pass_rate(subject: Subject, organisation_rate: float | None) -> None:
    card = subject.scorecard
    if not subject.enough_evidence:
        return  # never weak or strong on a handful of observations
    # The figure itself stands beside the subject's name: a reason says where it lies.
    rate, n = card.pass_rate, card.observations
    if organisation_rate is not None:
        low, high = stats.funnel_limits(organisation_rate, n, FUNNEL_COVERAGE)
        around = f"the 99.8% funnel limit of {{}} around the organisation's {_pct(organisation_rate)}"
        if rate < low:
            subject.reasons.append(
                Reason(f"Pass rate below {around.format(_pct(low))}", subject.evidence_url, SERIOUS)
            )
        elif rate > high:
            subject.successes.append(
                Reason(f"Pass rate above {around.format(_pct(high))}", subject.evidence_url)
            )
    target = card.target_rate
    if target is not None:
        interval = f"95% interval {100 * card.pass_rate_low:.0f}–{_pct(card.pass_rate_high)}"
        if card.pass_rate_high < target:
            subject.reasons.append(
                Reason(
                    f"Below its {_pct(target)} target with confidence ({interval})",
                    subject.evidence_url,
                    WARNING,
                )
            )
        elif card.pass_rate_low > target:
            subject.successes.append(
                Reason(f"Above its {_pct(target)} target with confidence ({interval})", subject.evidence_url)
            )


def _judge_trend(subject: Subject) -> None:
    plotted = [week for week in subject.weeks if week.observations]
    if len(plotted) < MIN_TREND_WEEKS or sum(week.observations for week in plotted) < settings.MIN_EVIDENCE:
        return
    chart = stats.p_chart([(week.passed, week.observations) for week in plotted])
    last, rules = plotted[-1], chart.flags[-1]
    if not rules or last is not subject.weeks[-1]:
        return  # only a signal on the latest complete week is news this week
    words = ", ".join(RULE_WORDS[rule] for rule in rules)
    url = _url(
        "measurement:observations",
        {"period_kind": PeriodKind.WEEK, "period_start": last.start.isoformat(), **subject.params},
    )
    text = (
        f"week of {last.start.day} {last.start:%b}: {_pct(last.rate)} passed (n = {count(last.observations)}), "
        f"{{}} the weekly centre line of {_pct(chart.centre)} ({words})"
    )
    if last.rate < chart.centre:
        subject.reasons.append(Reason("Trend signal: " + text.format("below"), url, WARNING))
    else:
        subject.successes.append(Reason("Improving trend: " + text.format("above"), url))


def _inbox(subject: Subject, **params) -> str:
    # The inbox filters by location only: a team's or person's items are among their location's.
    return _url("consequences:inbox", {"location": subject.location_id, **params})


def _judge_deviations(kind: str, column: str, ids: QuerySet, by_pk: dict[int, Subject]) -> None:
    rows = (
        Deviation.objects.filter(status=DeviationStatus.OPEN, **{f"{column}__in": ids})
        .filter(~has_corrective_action())
        .order_by()
        .values(column)
        .annotate(n=Count("pk"))
    )
    for row in rows:
        subject = by_pk.get(row[column])
        if subject is None:  # a subject added between two of the reads
            continue
        subject.reasons.append(
            Reason(
                f"{_counted(row['n'], 'open deviation')} of non-negotiable standards without a corrective action",
                _inbox(subject),
                SERIOUS,
            )
        )


def _judge_actions(kind: str, chosen: QuerySet, subjects: list[Subject], today: date) -> None:
    if kind == TEAM:
        return  # gap actions belong to a location and an owner, not to a team
    overdue = ActionItem.objects.filter(status__in=OPEN_ACTION_STATUSES, due_on__lt=today)
    if kind == LOCATION:
        key, owners, among = "location_id", {subject.pk: subject for subject in subjects}, "pk"
    else:
        key, owners, among = "owner_id", {subject.user_id: subject for subject in subjects}, "user_id"
    overdue = overdue.filter(**{f"{key}__in": chosen.order_by().values(among)}).order_by("due_on", "pk")
    found = defaultdict(list)
    for pk, title, owner, due_on in overdue.values_list("pk", "title", key, "due_on"):
        found[owner].append(
            Link(f"{title} (due {due_on.day} {due_on:%b})", reverse("gap_analysis:action-detail", args=[pk]))
        )
    for owner, links in found.items():
        extra = len(links) - ACTIONS_NAMED
        named = tuple(links[:ACTIONS_NAMED])
        if extra > 0:
            named += (Link(f"and {extra} more", _url("gap_analysis:action-list", {"overdue": "on"})),)
        if owner not in owners:
            continue
        owners[owner].reasons.append(
            Reason(
                f"{_counted(len(links), 'overdue gap action')}",
                links[0].url if len(links) == 1 else _url("gap_analysis:action-list", {"overdue": "on"}),
                WARNING,
                named,
            )
        )


def _judge_people(kind: str, column: str, ids: QuerySet, by_pk: dict[int, Subject], today: date) -> None:
    not_current = Q(
        pk__in=assignments_not_current(Assignment.objects.all(), today=today).values("employee_id")
    )
    unacknowledged = Exists(standards_unacknowledged_by_outer_employee())
    group = "pk" if kind == EMPLOYEE else column
    rows = (
        Employee.objects.filter(active=True, **{f"{group}__in": ids})
        .order_by()
        .values(group)
        .annotate(
            total=Count("pk"),
            untrained=Count("pk", filter=not_current),
            unacknowledged=Count("pk", filter=Q(unacknowledged)),
        )
    )
    for row in rows:
        subject = by_pk.get(row[group])
        if subject is None:
            continue
        if kind == EMPLOYEE:
            if row["untrained"]:
                subject.reasons.append(Reason("Required training not current", reverse("training:matrix")))
            if row["unacknowledged"]:
                # No page lists one person's acknowledgements: the reason names what to ask for.
                subject.reasons.append(Reason("Standards in force not acknowledged", ""))
            continue
        people = _url("attention", {"view": EMPLOYEE, kind: subject.pk})
        total = row["total"]
        if row["untrained"]:
            subject.reasons.append(
                Reason(
                    f"{row['untrained']} of {_counted(total, 'employee')} not current on required training",
                    people,
                )
            )
        if row["unacknowledged"]:
            subject.reasons.append(
                Reason(
                    f"{row['unacknowledged']} of {_counted(total, 'employee')} yet to acknowledge the standards in force",
                    people,
                )
            )


def _judge_consequences(kind: str, column: str, ids: QuerySet, by_pk: dict[int, Subject]) -> None:
    positive = Q(polarity=Polarity.POSITIVE)
    rows = (
        Consequence.objects.filter(
            status__in=(ConsequenceStatus.PROPOSED, ConsequenceStatus.APPROVED), **{f"{column}__in": ids}
        )
        .order_by()
        .values(column)
        .annotate(
            proposed=Count("pk", filter=Q(status=ConsequenceStatus.PROPOSED)),
            recognitions_proposed=Count("pk", filter=positive & Q(status=ConsequenceStatus.PROPOSED)),
            recognitions_approved=Count("pk", filter=positive & Q(status=ConsequenceStatus.APPROVED)),
        )
    )
    for row in rows:
        subject = by_pk.get(row[column])
        if subject is None:  # a subject added between two of the reads
            continue
        if row["proposed"]:
            subject.reasons.append(
                Reason(
                    f"{_counted(row['proposed'], 'consequence')} waiting for approval",
                    _inbox(subject, status=ConsequenceStatus.PROPOSED),
                )
            )
        due = []
        if row["recognitions_proposed"]:
            due.append(
                Link(
                    f"{row['recognitions_proposed']} to approve",
                    _inbox(subject, status=ConsequenceStatus.PROPOSED, action="recognition"),
                )
            )
        if row["recognitions_approved"]:
            due.append(
                Link(
                    f"{row['recognitions_approved']} approved, to deliver",
                    _inbox(subject, status=ConsequenceStatus.APPROVED, action="recognition"),
                )
            )
        if due:
            total = row["recognitions_proposed"] + row["recognitions_approved"]
            subject.successes.append(
                Reason(f"{_counted(total, 'recognition')} due", due[0].url, links=tuple(due))
            )


def _judge_cases(user, ids: QuerySet, by_pk: dict[int, Subject]) -> list[dict]:
    """Open cases past a running SLA deadline (serious: a customer waits beyond what was promised)
    and new cases nobody has acknowledged yet, per location, linked to the queue that lists them.
    Returns the counts per location (open, breached, new), which the home's cases card sums."""
    rows = list(
        Case.objects.filter(location_id__in=ids, status__in=OPEN_STATUSES)
        .order_by()
        .values("location_id", "location__code", "location__name")
        .annotate(
            open=Count("pk"),
            breached=Count("pk", filter=open_breached(timezone.now())),
            new=Count("pk", filter=Q(status=CaseStatus.NEW)),
        )
    )
    for row in rows:
        subject = by_pk.get(row["location_id"])
        if subject is None:  # a subject added between two of the reads
            continue
        where = Location(pk=row["location_id"], code=row["location__code"])
        if row["breached"]:
            n = row["breached"]
            subject.reasons.append(
                Reason(
                    f"{_counted(n, 'open case')} breached {'its' if n == 1 else 'their'} SLA",
                    queue_url(user, where, breached=1),
                    SERIOUS,
                )
            )
        if row["new"]:
            subject.reasons.append(
                Reason(
                    f"{_counted(row['new'], 'new case')} not acknowledged",
                    queue_url(user, where, status=CaseStatus.NEW),
                )
            )
    return rows


def _judge_audits(ids: QuerySet, by_pk: dict[int, Subject]) -> None:
    """Planned audits missed lately (a warning: the location went unchecked) and open ones past
    their due time, per location, linked to that location's audit programme."""
    for row in missed_and_overdue_by_location(ids, now=timezone.now()):
        subject = by_pk.get(row["location_id"])
        if subject is None:  # a subject added between two of the reads
            continue
        url = _url("audit_programme:overview", {"location": str(subject.pk)})
        if row["missed"]:
            subject.reasons.append(
                Reason(
                    f"{_counted(row['missed'], 'planned audit')} missed in the last {MISSED_LOOKBACK_DAYS} days",
                    url,
                    WARNING,
                )
            )
        if row["overdue"]:
            subject.reasons.append(Reason(f"{_counted(row['overdue'], 'audit')} overdue", url))


# --------------------------------------------------------------------------- the page's filters


def board_filters(user, params) -> tuple[str, Location | None, Team | None]:
    """The view, location and team a query string asks for; Http404 for a location or team
    outside the user's scope (or malformed), exactly as for one that does not exist."""
    kind = params.get("view") or TEAM
    if kind not in KINDS:
        kind = TEAM
    location = team = None
    if params.get("location"):
        location = _in_scope(dashboard_locations(user), params["location"])
    if params.get("team"):
        team = _in_scope(dashboard_teams(user), params["team"])
    return kind, location, team


def _in_scope(queryset: QuerySet, raw: str):
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise Http404("Not found in your scope.")
    try:
        return queryset.get(pk=int(raw))
    except queryset.model.DoesNotExist as exc:
        raise Http404("Not found in your scope.") from exc
