"""Reads for consequences: the evidence rules are judged on, owners, and what is overdue.

How a rule reads scorecards
---------------------------
A rule judges the ``consecutive_periods`` most recent **closed** periods of its ``period_kind`` (the
open period is never judged: its figures still move). A period counts for a subject when its
scorecard has at least ``min_observations`` observations (and at least one) and ``target_met`` is
True (sustained performance) or False (shortfall); a scorecard without a target (``target_met``
null) is not judged. The condition holds when every period of the window counts.

Grains, since scorecards exist per location, team, employee and location × standard, but not per
team × standard or employee × standard:

- location subject, no standard → ``location`` scorecards;
- location subject with a standard → ``location_standard`` scorecards of that standard;
- team or employee subject → their own ``team``/``employee`` scorecards (all standards), and when
  the rule names a standard, **also** the ``location_standard`` scorecards of that standard at the
  subject's location must meet the same condition over the same periods. So "coach an employee below
  target on PHN-01" reads "the employee is below target overall, and their location is below target
  on PHN-01": both are cited as evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone

from audits.selectors import missed_in
from cases.measures import missed_acknowledgement, missed_resolution
from cases.models import Case as CustomerCase
from measurement.models import Deviation, DeviationStatus, Grain, Scorecard
from measurement.selectors import period_label, scorecard_subject
from measurement.services.rollup import period_start
from measurement.templatetags.servicedesk_format import percent_n
from organization.models import Employee, Location, Role, Team
from organization.scope import (
    employee_of,
    get_in_scope,
    location_queryset_for,
    role_of,
    scope_queryset,
)
from training.models import Assignment, Course
from training.selectors import AssignmentStatus, TrainingStatus, training_status_for

from .models import Action, Consequence, ConsequenceStatus, Polarity, Rule, SubjectKind, unanswered

# The scorecard grain and column of each kind of subject.
SUBJECT_GRAIN = {
    SubjectKind.EMPLOYEE: Grain.EMPLOYEE,
    SubjectKind.TEAM: Grain.TEAM,
    SubjectKind.LOCATION: Grain.LOCATION,
}
SUBJECT_COLUMN = {
    SubjectKind.EMPLOYEE: "employee_id",
    SubjectKind.TEAM: "team_id",
    SubjectKind.LOCATION: "location_id",
}


def closed_periods(*, kind: str, count: int, today: date) -> list[date]:
    """Starts of the `count` most recent periods of `kind` that ended before `today`, newest first."""
    starts = []
    start = period_start(kind, today)
    for _ in range(count):
        start = period_start(kind, start - timedelta(days=1))
        starts.append(start)
    return starts


@dataclass(frozen=True)
class Run:
    """A subject for which a rule's condition held over the whole window, with the scorecards cited."""

    subject_id: int
    scorecard_ids: tuple[int, ...]


def _judged(*, rule: Rule, grain: str, starts: list[date], met: bool) -> QuerySet[Scorecard]:
    """Scorecards of `grain` in the window that count towards the condition."""
    return Scorecard.objects.filter(
        period_kind=rule.period_kind,
        grain=grain,
        period_start__in=starts,
        observations__gte=max(rule.min_observations, 1),
        target_met=met,
    )


def _full_runs(queryset: QuerySet[Scorecard], column: str, periods: int) -> dict[int, list[int]]:
    """Subject id → scorecard ids, for the subjects with a counting scorecard in every period.

    Counting per subject happens in the database; there is one scorecard per subject and period
    (the scorecard's unique key covers the grain), so a count equal to the window's length is a run.
    """
    complete = queryset.values(column).annotate(periods=Count("pk")).filter(periods=periods).values(column)
    runs: dict[int, list[int]] = defaultdict(list)
    rows = queryset.filter(**{f"{column}__in": complete}).values_list(column, "pk").order_by("period_start")
    for subject_id, scorecard_id in rows:
        runs[subject_id].append(scorecard_id)
    return runs


def rule_runs(*, rule: Rule, starts: list[date], met: bool) -> list[Run]:
    """Subjects (active ones only) for which `rule`'s scorecard condition holds over the periods `starts`.

    ``met`` True asks for target met in every period (sustained performance), False for target missed
    in every period (shortfall). See the module docstring for the grains read.
    """
    kind = rule.subject_kind
    column = SUBJECT_COLUMN[kind]
    active = Q(**{f"{kind}__active": True})
    if kind == SubjectKind.LOCATION and rule.standard_id:
        cards = _judged(rule=rule, grain=Grain.LOCATION_STANDARD, starts=starts, met=met)
        cards = cards.filter(active, standard_id=rule.standard_id)
        return [Run(s, tuple(ids)) for s, ids in sorted(_full_runs(cards, column, len(starts)).items())]

    own = _full_runs(
        _judged(rule=rule, grain=SUBJECT_GRAIN[kind], starts=starts, met=met).filter(active),
        column,
        len(starts),
    )
    if not rule.standard_id or not own:
        return [Run(s, tuple(ids)) for s, ids in sorted(own.items())]

    # Team and employee subjects of a standard-specific rule: their location must agree on the standard.
    model = Employee if kind == SubjectKind.EMPLOYEE else Team
    location_of = dict(model.objects.filter(pk__in=list(own)).values_list("pk", "location_id"))
    standard_cards = _judged(rule=rule, grain=Grain.LOCATION_STANDARD, starts=starts, met=met).filter(
        standard_id=rule.standard_id, location_id__in=set(location_of.values())
    )
    by_location = _full_runs(standard_cards, "location_id", len(starts))
    return [
        Run(subject_id, tuple(ids + by_location[location_of[subject_id]]))
        for subject_id, ids in sorted(own.items())
        if location_of.get(subject_id) in by_location
    ]


def expired_training(
    *, employee_ids: list[int], standard_id: int | None, today: date
) -> dict[int, list[AssignmentStatus]]:
    """Employee id → their required training that has expired, on courses covering the standard.

    "Required" means an active assignment (so the `training.tasks.sync_assignments` housekeeping keeps
    it); "expired" is `training.selectors` status EXPIRED: the latest verified completion's expiry has
    passed. Without a standard, any course that covers at least one standard counts.
    """
    courses = Course.objects.filter(active=True)
    courses = (
        courses.filter(standards=standard_id) if standard_id else courses.filter(standards__isnull=False)
    )
    assignments = Assignment.objects.filter(employee_id__in=employee_ids, course__in=courses.values("pk"))
    expired: dict[int, list[AssignmentStatus]] = defaultdict(list)
    for status in training_status_for(assignments, today=today):
        if status.status == TrainingStatus.EXPIRED:
            expired[status.assignment.employee_id].append(status)
    return dict(expired)


def team_managers(*, team_ids: set[int]) -> dict[int, list[int]]:
    """Team id → ids of the users who manage it (active users), lowest id first."""
    through = Team.managers.through
    rows = (
        through.objects.filter(team_id__in=team_ids, user__is_active=True)
        .values_list("team_id", "user_id")
        .order_by("user_id")
    )
    managers: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in rows:
        managers[team_id].append(user_id)
    return dict(managers)


def overdue_consequences(*, today: date | None = None) -> QuerySet[Consequence]:
    """Consequences not closed whose due date has passed, with what an email about them shows."""
    today = today or timezone.localdate()
    return (
        Consequence.objects.filter(due_on__lt=today)
        .exclude(status=ConsequenceStatus.CLOSED)
        .select_related("owner", "employee__user", "team__location", "location", "rule")
        .order_by("due_on", "pk")
    )


# --------------------------------------------------------------------------- pages: inbox, wall, mine
#
# Reads for the consequence pages (`consequences.views`). Every list goes through `scope_queryset` (or,
# for the recognition wall seen by staff, a deliberate and documented widening to their location),
# and fetches what its rows show in a fixed number of queries whatever the number of rows.

# What the inbox lists unless a status is chosen: everything still waiting for someone.
INBOX_STATUSES = (ConsequenceStatus.PROPOSED, ConsequenceStatus.APPROVED, ConsequenceStatus.DELIVERED)
# A recognition counts as given once it is delivered; only given ones are celebrated.
GIVEN_STATUSES = (ConsequenceStatus.DELIVERED, ConsequenceStatus.CLOSED)

# The inbox's order: an open deviation's corrective action first (a non-negotiable standard was not
# met and nothing closes the deviation but this), then anything overdue, then by how far along it is.
RANK_DEVIATION = 0
RANK_OVERDUE = 1
RANK_BY_STATUS = {
    ConsequenceStatus.PROPOSED: 2,
    ConsequenceStatus.APPROVED: 3,
    ConsequenceStatus.DELIVERED: 4,
    ConsequenceStatus.CLOSED: 5,
}


def _with_page_relations(queryset: QuerySet[Consequence]) -> QuerySet[Consequence]:
    """`queryset` with what a consequence page shows: the subject, owner, rule, the deviation with its
    observation, and the evidence scorecards as the list ``cited_scorecards`` (one extra query for a
    whole page, oldest period first)."""
    evidence = Prefetch(
        "evidence",
        queryset=Scorecard.objects.select_related(
            "location", "team__location", "employee__user", "standard", "touchpoint"
        ).order_by("period_start", "grain", "pk"),
        to_attr="cited_scorecards",
    )
    return queryset.select_related(
        "employee__user",
        "team__location",
        "location",
        "owner",
        "rule",
        "deviation__standard",
        "deviation__location",
        "deviation__team__location",
        "deviation__employee__user",
        "deviation__observation",
    ).prefetch_related(evidence)


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox is narrowed to; empty values filter nothing (status "": everything waiting)."""

    status: str = ""
    action: str = ""
    polarity: str = ""
    overdue: bool = False
    location_id: int | None = None
    rule_id: int | None = None


def _filtered(queryset: QuerySet[Consequence], filters: InboxFilters, today: date) -> QuerySet[Consequence]:
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    else:
        queryset = queryset.filter(status__in=INBOX_STATUSES)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.polarity:
        queryset = queryset.filter(polarity=filters.polarity)
    if filters.overdue:
        queryset = queryset.filter(due_on__lt=today).exclude(status=ConsequenceStatus.CLOSED)
    if filters.location_id:
        queryset = queryset.filter(location_id=filters.location_id)
    if filters.rule_id:
        queryset = queryset.filter(rule_id=filters.rule_id)
    return queryset


def _in_inbox_order(user, queryset: QuerySet[Consequence], today: date) -> QuerySet[Consequence]:
    not_closed = ~Q(status=ConsequenceStatus.CLOSED)
    ranked = queryset.annotate(
        inbox_rank=Case(
            When(not_closed & Q(deviation__status=DeviationStatus.OPEN), then=Value(RANK_DEVIATION)),
            When(not_closed & Q(due_on__lt=today), then=Value(RANK_OVERDUE)),
            *(When(status=key, then=Value(rank)) for key, rank in RANK_BY_STATUS.items()),
            output_field=IntegerField(),
        )
    )
    return scope_queryset(user, ranked).order_by(
        "inbox_rank", F("due_on").asc(nulls_last=True), "created_at", "pk"
    )


def inbox_consequences(
    user,
    *,
    status: str = "",
    action: str = "",
    overdue: bool = False,
    location_id: int | None = None,
    filters: InboxFilters | None = None,
    today: date | None = None,
) -> QuerySet[Consequence]:
    """The consequences in `user`'s scope for the inbox, in the order they should be dealt with.

    `filters` (or the keyword arguments, when it is None): without a status, those not closed
    (`INBOX_STATUSES`); with one, that status only (so "closed" shows the history). `action` and
    `polarity` narrow to one kind, `overdue` to those past their due date and not closed,
    `location_id` to one location, `rule_id` to one rule's proposals. Order: open deviations'
    corrective actions, then overdue items, then proposed, approved, delivered (closed last), each by
    due date (none last), then age. Every row has ``inbox_rank`` (see ``RANK_*``). Rows carry their
    relations and evidence (`_with_page_relations`).
    """
    today = today or timezone.localdate()
    if filters is None:
        filters = InboxFilters(status=status, action=action, overdue=overdue, location_id=location_id)
    queryset = _filtered(Consequence.objects.all(), filters, today)
    return _with_page_relations(_in_inbox_order(user, queryset, today))


# The inbox's filters that show how many each choice would list.
FACETS = ("status", "action", "polarity", "location_id", "rule_id", "overdue")


def inbox_facets(user, *, filters: InboxFilters, today: date | None = None) -> dict[str, dict]:
    """For each filter of `FACETS`, choice → how many consequences in `user`'s scope it would list
    with the other filters as they are; the key "" is the choice that filters nothing (for status:
    everything waiting). One grouped query whatever the number of consequences."""
    today = today or timezone.localdate()
    overdue = Case(
        When(Q(due_on__lt=today) & ~Q(status=ConsequenceStatus.CLOSED), then=Value(True)),
        default=Value(False),
    )
    groups = (
        scope_queryset(user, Consequence.objects.all())
        .annotate(is_overdue=overdue)
        .values("status", "action", "polarity", "location_id", "rule_id", "is_overdue")
        .annotate(n=Count("pk"))
        .order_by()
    )
    chosen = {
        "status": filters.status,
        "action": filters.action,
        "polarity": filters.polarity,
        "location_id": filters.location_id,
        "rule_id": filters.rule_id,
        "overdue": filters.overdue,
    }

    def matches(group: dict, facet: str, value) -> bool:
        if facet == "status":
            return group["status"] == value if value else group["status"] in INBOX_STATUSES
        if facet == "overdue":
            return group["is_overdue"] if value else True
        return group[facet] == value if value else True

    counts: dict[str, dict] = {facet: defaultdict(int) for facet in FACETS}
    for group in groups:
        for facet in FACETS:
            if not all(matches(group, other, chosen[other]) for other in FACETS if other != facet):
                continue
            key = "is_overdue" if facet == "overdue" else facet
            if facet != "status" or group["status"] in INBOX_STATUSES:
                counts[facet][""] += group["n"]
            if facet == "overdue":
                if group["is_overdue"]:
                    counts[facet][True] += group["n"]
            else:
                counts[facet][group[key]] += group["n"]
    return {facet: dict(values) for facet, values in counts.items()}


def inbox_rules(user) -> QuerySet[Rule]:
    """The rules the inbox may be filtered by: those that proposed a consequence in `user`'s scope."""
    proposed = scope_queryset(user, Consequence.objects.filter(rule_id=OuterRef("pk")))
    return Rule.objects.filter(Exists(proposed)).order_by("name")


# The columns the bulk steps read (subject, and whom it is about), in one query.
BULK_RELATIONS = ("employee__user", "team__location", "location")


def bulk_matching(user, *, filters: InboxFilters, limit: int, today: date | None = None):
    """The first `limit` consequences the inbox lists with `filters`, in its order, and how many it
    lists in all. Two queries at most."""
    today = today or timezone.localdate()
    queryset = _in_inbox_order(user, _filtered(Consequence.objects.all(), filters, today), today)
    first = list(queryset.select_related(*BULK_RELATIONS)[: limit + 1])
    total = len(first) if len(first) <= limit else queryset.count()
    return first[:limit], total


def bulk_chosen(user, *, ids: Iterable[int], today: date | None = None) -> list[Consequence]:
    """The consequences `ids`, in the inbox's order, if `user`'s scope holds every one; else Http404
    (an id outside scope is refused, never acted on)."""
    wanted = set(ids)
    today = today or timezone.localdate()
    found = list(
        _in_inbox_order(user, Consequence.objects.filter(pk__in=wanted), today).select_related(
            *BULK_RELATIONS
        )
    )
    if len(found) != len(wanted):
        raise Http404("Some of the consequences chosen are not in your scope.")
    return found


# How each kind is counted in a sentence.
ACTION_NOUNS = {
    Action.RECOGNITION: ("recognition", "recognitions"),
    Action.COACHING: ("coaching session", "coaching sessions"),
    Action.CORRECTIVE_ACTION: ("corrective action plan", "corrective action plans"),
    Action.REMEDIAL_TRAINING: ("remedial training", "remedial trainings"),
}


def count_phrase(consequences: Iterable[Consequence]) -> str:
    """'141 consequences: 120 corrective action plans, 21 recognitions' — the kinds most numerous first."""
    by_action: dict[str, int] = defaultdict(int)
    for consequence in consequences:
        by_action[consequence.action] += 1
    total = sum(by_action.values())
    noun = "consequence" if total == 1 else "consequences"
    parts = [
        f"{n:,} {ACTION_NOUNS[action][0 if n == 1 else 1]}"
        for action, n in sorted(by_action.items(), key=lambda item: (-item[1], item[0]))
    ]
    return f"{total:,} {noun}: {', '.join(parts)}" if parts else f"{total:,} {noun}"


def uncovered_deviations(user, *, location_id: int | None = None) -> QuerySet[Deviation]:
    """Open deviations in `user`'s scope that no corrective action answers yet, oldest first.

    Rare: the rules engine proposes one corrective action per deviation after each rollup; a deviation
    stays here when no active "deviation" rule covers its standard, or until the next run.
    """
    queryset = unanswered(Deviation.objects.filter(status=DeviationStatus.OPEN))
    if location_id:
        queryset = queryset.filter(location_id=location_id)
    # The deviations alone, to count and to choose the first (`first_deviations` joins those).
    return scope_queryset(user, queryset).order_by(*DEVIATION_ORDER)


DEVIATION_ORDER = ("detected_at", "pk")


def first_deviations(deviations: QuerySet[Deviation], count: int) -> list[Deviation]:
    """The first `count` of `deviations` (`uncovered_deviations`), with what a row shows. They
    are chosen among the deviations alone and only they are joined: joined first, every open
    deviation (12,000 at 500 locations) met five tables before the sort kept ten. The
    observations are fetched for those rows too. Two queries."""
    return list(
        Deviation.objects.filter(pk__in=deviations.values("pk")[:count])
        .select_related("standard", "location", "team__location", "employee__user")
        .prefetch_related("observation")
        .order_by(*DEVIATION_ORDER)
    )


def inbox_locations(user) -> QuerySet[Location]:
    """The locations `user` may filter the inbox by (those they may see), by name."""
    return location_queryset_for(user, Location.objects.all()).order_by("name")


def consequence_for(user, pk: int) -> Consequence:
    """The consequence `pk` with everything its page shows, if `user`'s scope holds it; else Http404."""
    return get_in_scope(user, _with_page_relations(Consequence.objects.all()), pk=pk)


def consequence_to_change(user, pk: int) -> Consequence:
    """The consequence `pk`, with what the status services read, if `user`'s scope holds it; else
    Http404. Whether `user` may act on it is the services' decision (PermissionDenied)."""
    return get_in_scope(
        user, Consequence.objects.select_related("employee__user", "team__location", "location"), pk=pk
    )


def may_act_on(user, consequence: Consequence) -> bool:
    """Whether `user` may move `consequence` along its flow, for showing buttons only: the services
    decide (`consequences.services._check_may_act`). Admins may; managers may in their scope (the
    consequence is assumed to come from a scoped read) unless it is about themselves."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.MANAGER:
        return False
    return not (consequence.employee_id and consequence.employee.user_id == user.pk)


def recognition_wall(user) -> QuerySet[Consequence]:
    """Recognitions given (delivered or closed) that `user` may celebrate, newest first.

    Who sees what — a deliberate choice: celebrating success is meant to be seen, so the wall is wider
    than `scope_queryset` for staff. Staff see every recognition at their own location (their own,
    their colleagues', their team's and the location's), never another location's. Managers see their
    scope (the locations and teams they manage, and their own), admins everything, users without an
    employee profile nothing. Only the summary and scorecard figures are shown, never the notes.
    Proposed and approved recognitions are not on the wall: they have not been given yet.
    """
    queryset = Consequence.objects.filter(
        action=Action.RECOGNITION, polarity=Polarity.POSITIVE, status__in=GIVEN_STATUSES
    )
    if role_of(user) == Role.STAFF:
        queryset = queryset.filter(location_id=employee_of(user).location_id)
    else:
        queryset = scope_queryset(user, queryset)
    return _with_page_relations(queryset).order_by(F("delivered_at").desc(nulls_last=True), "-pk")


def my_consequences(user, *, recognitions: bool) -> QuerySet[Consequence]:
    """The consequences about `user` themselves (employee subject): recognitions, or else coaching,
    corrective actions and remedial training.

    Only those a manager has approved: a proposal is the rules engine's suggestion, not yet a decision
    to talk about. Recognitions newest first; the others open first by due date, then closed, newest
    first. Empty for a user without an employee profile.
    """
    employee = employee_of(user)
    if employee is None:
        return Consequence.objects.none()
    queryset = Consequence.objects.filter(subject_kind=SubjectKind.EMPLOYEE, employee=employee).exclude(
        status=ConsequenceStatus.PROPOSED
    )
    if recognitions:
        queryset = queryset.filter(action=Action.RECOGNITION)
        ordering = (F("delivered_at").desc(nulls_first=True), "-approved_at", "-pk")
    else:
        queryset = queryset.exclude(action=Action.RECOGNITION)
        ordering = (
            Case(When(status=ConsequenceStatus.CLOSED, then=Value(1)), default=Value(0)),
            F("due_on").asc(nulls_last=True),
            F("closed_at").desc(nulls_last=True),
            "-pk",
        )
    return _with_page_relations(queryset).order_by(*ordering)


def evidence_text(scorecard: Scorecard) -> str:
    """One evidence scorecard in words: 'Mar 2026 · Alpha Street: 92% (n = 40)'."""
    when = period_label(scorecard.period_kind, scorecard.period_start)
    return (
        f"{when} · {scorecard_subject(scorecard)}: {percent_n(scorecard.pass_rate, scorecard.observations)}"
    )


INBOX_CSV_HEADER = (
    "id",
    "status",
    "kind",
    "polarity",
    "subject_kind",
    "subject",
    "location",
    "summary",
    "owner",
    "due_on",
    "overdue",
    "deviation_standard",
    "deviation_detected_at",
    "deviation_status",
    "evidence",
    "created_at",
    "approved_at",
    "delivered_at",
    "closed_at",
    "closure_note",
)


def inbox_csv_rows(consequences: Iterable[Consequence]):
    """Rows of the inbox export, in `INBOX_CSV_HEADER`'s order, one per consequence (read lazily)."""
    for c in consequences:
        deviation = c.deviation
        owner = (c.owner.get_full_name() or c.owner.get_username()) if c.owner_id else ""
        yield (
            c.pk,
            c.get_status_display(),
            c.get_action_display(),
            c.get_polarity_display(),
            c.get_subject_kind_display(),
            c.subject_label,
            c.location.name,
            c.summary,
            owner,
            c.due_on,
            c.is_overdue,
            str(deviation.standard) if deviation else "",
            timezone.localtime(deviation.detected_at) if deviation else None,
            deviation.get_status_display() if deviation else "",
            "; ".join(evidence_text(card) for card in c.cited_scorecards),
            timezone.localtime(c.created_at),
            timezone.localtime(c.approved_at) if c.approved_at else None,
            timezone.localtime(c.delivered_at) if c.delivered_at else None,
            timezone.localtime(c.closed_at) if c.closed_at else None,
            c.closure_note,
        )


# --------------------------------------------------------------------------- SLA breaches of cases


@dataclass(frozen=True)
class Breach:
    """A customer case that missed a deadline, dated at the first deadline it missed."""

    case_id: int
    subject_id: int  # the case's owner (employee) or its location
    at: datetime
    deadline: str  # "acknowledgement" or "resolution"

    @property
    def reference(self) -> str:
        return CustomerCase(pk=self.case_id).reference


def sla_breaches(*, subject_kind: str, start: datetime, end: datetime, now: datetime) -> list[Breach]:
    """Cases whose first missed deadline falls in [start, end), as they stand at `now`, by subject:
    the owner for an employee rule (cases without an active owner count for nobody), else the
    location. A case counts once, at the acknowledgement deadline if it missed that, else at the
    resolution deadline. One query."""
    missed_ack, missed_res = missed_acknowledgement(now), missed_resolution(now)
    column = "owner_id" if subject_kind == SubjectKind.EMPLOYEE else "location_id"
    cases = CustomerCase.objects.annotate(
        breached_at=Case(
            When(missed_ack, then=F("acknowledge_due_at")),
            When(missed_res, then=F("resolve_due_at")),
            default=None,
            output_field=DateTimeField(),
        ),
        deadline=Case(
            When(missed_ack, then=Value("acknowledgement")),
            When(missed_res, then=Value("resolution")),
            default=Value(""),
            output_field=CharField(),
        ),
    ).filter(breached_at__gte=start, breached_at__lt=end)
    if subject_kind == SubjectKind.EMPLOYEE:
        cases = cases.filter(owner__active=True)
    rows = cases.order_by(column, "breached_at", "pk").values_list("pk", column, "breached_at", "deadline")
    return [Breach(pk, subject, at, deadline) for pk, subject, at, deadline in rows]


def audits_missed(*, start: datetime, end: datetime) -> list[tuple[int, str, datetime]]:
    """(location id, template title, due time) of each planned audit due in [start, end) that was
    missed, at active locations, in due order: one query."""
    return list(
        missed_in(location_ids=Location.objects.filter(active=True).values("pk"), start=start, end=end)
        .order_by("location_id", "due_at", "pk")
        .values_list("location_id", "schedule__template__title", "due_at")
    )
