"""Customer cases: what the case rules need before the evidence comes in, and each case's history
after it.

`build_case_setup` runs before the evidence: categories, SLA policies, the case rules and the
locations' opening hours, so that feedback intake opens a case by the rules for every matching
answer, as it would in real life. `build_cases` runs after it and the gap analyses:

- opens the cases intake did not (only when intake opened none of this run's answers: the rules
  are then not wired into intake, and the demo applies them itself through `case_open`);
- dates each case from the customer's answer (intake dates it when it ran, the demo replays the past);
- writes each case's history up to the anchor date, from the catalogue's speeds and the quality of
  the location: the weakest store slow and breaching its deadlines, the strongest quick and
  winning customers back; the last days' cases still new or in progress;
- logs the complaints colleagues took in person, by phone or by letter, through the case services;
- publishes a few "you said, we did" improvements that came out of cases.

The histories of hundreds of cases are written in bulk (events and case fields validated, then
`bulk_create`/`bulk_update`): through the services one by one they would double the demo's run
time. Every step of a history is checked against `TRANSITIONS` as the services check it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from cases.models import (
    Case,
    CaseCategory,
    CaseEvent,
    CaseRule,
    CaseStatus,
    EventKind,
    SlaPolicy,
)
from cases.services.core import (
    case_assign,
    case_note_add,
    case_open,
    case_transition,
    event_record,
    transition_refusal,
)
from cases.services.intake import cases_open_for_feedback
from cases.sla import DeadlineRequest, OpeningSchedule, deadlines_for_many, opening_schedules
from gap_analysis.models import ActionItem, ActionStatus
from measurement.models import Feedback
from organization.formatting import day
from organization.models import Employee, OpeningHours, Role

from . import catalogue
from .context import DemoContext, employee_number, ensure

DEMO_FEEDBACK = "demo-fb-"
COMPLAINT_PREFIX = "demo-case-"


# --- before the evidence -------------------------------------------------------------------


def build_case_setup(demo: DemoContext) -> None:
    added = 0
    for name, description in catalogue.CASE_CATEGORIES:
        demo.case_categories[name], new = ensure(CaseCategory, {"name": name}, description=description)
        added += new
    for spec in catalogue.SLA_POLICIES:
        if spec.site is not None and spec.site > len(demo.stores):
            continue
        location = None if spec.site is None else demo.sites[spec.site][0]
        touchpoint = demo.touchpoints[spec.touchpoint] if spec.touchpoint else None
        label = Case._meta.get_field("severity").choices
        severity = dict(label)[spec.severity]
        where = " at ".join(x.name for x in (touchpoint, location) if x is not None)
        days = "day" if spec.resolve_within_days == 1 else "days"
        _, new = ensure(
            SlaPolicy,
            {"severity": spec.severity, "location": location, "touchpoint": touchpoint},
            name=f"{severity}{f' ({where})' if where else ''}: acknowledge in {spec.acknowledge_within_hours} h, "
            f"resolve in {spec.resolve_within_days} {days}",
            acknowledge_within_hours=spec.acknowledge_within_hours,
            resolve_within_days=spec.resolve_within_days,
            warn_before_hours=spec.warn_before_hours,
        )
        added += new
    for spec in catalogue.CASE_RULES:
        _, new = ensure(
            CaseRule,
            {"name": spec.name},
            severity=spec.severity,
            nps_at_most=spec.nps_at_most,
            csat_at_most=spec.csat_at_most,
            contact_requested=spec.contact_requested,
        )
        added += new
    known = set(OpeningHours.objects.values_list("location_id", "weekday"))
    hours = []
    for location, _ in demo.sites:
        for weekdays, opens, closes in catalogue.OPENING_HOURS.get(
            location.code, catalogue.STORE_OPENING_HOURS
        ):
            for weekday in weekdays:
                if (location.pk, weekday) in known:
                    continue
                row = OpeningHours(
                    location=location,
                    weekday=weekday,
                    opens_at=time.fromisoformat(opens),
                    closes_at=time.fromisoformat(closes),
                )
                row.full_clean(validate_unique=False)
                hours.append(row)
    OpeningHours.objects.bulk_create(hours)
    # The answers this run ingests are those above this id: did intake open cases for them?
    demo.feedback_before = Feedback.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    demo.log(
        f"Case set-up: {added} categories, SLA policies and rules, {len(hours)} days of opening hours added"
    )


# --- after the evidence --------------------------------------------------------------------


def build_cases(demo: DemoContext) -> None:
    horizon = demo.at(demo.until, 0)  # the demo's "now": the end of the last day of evidence
    opened = _open_missing(demo)
    dated, progressed = _histories(demo, horizon)
    complaints = _complaints(demo)
    improvements = _improvements(demo)
    demo.log(
        f"Cases: {opened} opened for earlier answers (the rest at intake), {dated} dated from their answers, "
        f"{progressed} given their history, {complaints} complaints logged by staff, "
        f"{improvements} improvements published from cases"
    )


def _open_missing(demo: DemoContext) -> int:
    """Intake opens the cases of the answers it takes; answers stored before the rules existed (a
    database seeded by an earlier version) get theirs here, through the same service."""
    waiting = Feedback.objects.filter(external_id__startswith=DEMO_FEEDBACK, case__isnull=True)
    return cases_open_for_feedback(feedback_ids=list(waiting.values_list("pk", flat=True)))


def _untouched(demo: DemoContext):
    """The demo's feedback cases with nothing on their timeline but their opening."""
    return (
        Case.objects.filter(feedback__external_id__startswith=DEMO_FEEDBACK)
        .annotate(events_n=Count("events"))
        .filter(events_n=1)
    )


def _date_from_answers(cases: list[Case]) -> int:
    """Intake dates a case when it runs; in the demo's past the case opened with the answer, and its
    deadlines count from then. Changes `cases` in memory; `_histories` stores them."""
    late = [case for case in cases if case.opened_at != case.feedback.submitted_at]
    for case in late:
        case.opened_at = case.feedback.submitted_at
    requests = [DeadlineRequest(c.severity, c.location_id, c.touchpoint_id, c.opened_at) for c in late]
    for case, deadlines in zip(late, deadlines_for_many(requests), strict=True):
        case.sla_policy = deadlines.policy
        case.acknowledge_due_at = deadlines.acknowledge_due_at
        case.resolve_due_at = deadlines.resolve_due_at
    return len(late)


# --- histories -----------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass
class History:
    """One case's timeline as it is written: the case's fields change as its events are added."""

    case: Case
    events: list[CaseEvent] = field(default_factory=list)

    def add(self, kind: str, at: datetime, user=None, **fields) -> None:
        event = CaseEvent(case=self.case, kind=kind, at=at, actor=user, **fields)
        event.clean_fields(exclude=["case", "actor"])
        self.events.append(event)

    def move(self, to: str, at: datetime, user, text: str = "", summary: str = "") -> None:
        case = self.case
        if refusal := transition_refusal(case.status, to):
            raise AssertionError(f"{case.title}: {refusal}")  # the planner's own invariant
        if case.status == CaseStatus.NEW:
            case.acknowledged_at = at
        if to == CaseStatus.RESOLVED:
            case.resolution_summary, case.resolved_at = summary, at
            text = summary + (f"\n\n{text}" if text else "")
        elif to == CaseStatus.CLOSED:
            case.closed_at = at
        elif to == CaseStatus.REOPENED:
            case.resolved_at = case.closed_at = None
        self.add(EventKind.STATUS, at, user, text=text, from_status=case.status, to_status=to)
        case.status = to


@dataclass(frozen=True)
class People:
    """Who handles a location's cases, and who hears of a missed deadline."""

    manager: object  # the user who takes the location's cases: a store's manager, else the admin
    leads: dict[str, object]  # team key → the team lead's user
    # Escalation levels as the SLA task has them: 1 the case's team's managers, 2 the location's.
    team_managers: dict[int, list]  # team id → users
    location_managers: list


HISTORY_FIELDS = [
    "opened_at",
    "sla_policy_id",
    "acknowledge_due_at",
    "resolve_due_at",
    "status",
    "owner_id",
    "category_id",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "resolution_summary",
    "escalation_level",
    "action_id",
    "follow_up_token",
    "follow_up_sent_at",
    "follow_up_answered_at",
    "follow_up_csat",
    "follow_up_comment",
    "recovered",
]
# Relations read from the database: validating each would cost a query per case.
RELATIONS = [
    "feedback",
    "rule",
    "location",
    "touchpoint",
    "team",
    "owner",
    "logged_by",
    "category",
    "sla_policy",
]


def _histories(demo: DemoContext, horizon: datetime) -> tuple[int, int]:
    """Date and write the history of every case nothing has happened to yet: (dated, written)."""
    cases = list(
        _untouched(demo).select_related(
            "feedback", "touchpoint", "location", "owner__user", "sla_policy", "team"
        )
    )
    if not cases:
        return 0, 0
    dated = _date_from_answers(cases)
    specs = {location.pk: spec for location, spec in demo.sites}

    def quality(case: Case) -> float:
        # As the evidence: the site's quality, moved along its trend over the window.
        progress = (timezone.localdate(case.opened_at) - demo.first_day).days / max(demo.options.days - 1, 1)
        spec = specs[case.location_id]
        return spec.quality + spec.trend * min(max(progress, 0.0), 1.0)

    delivered_by = {demo.touchpoints[s.slug].pk: s.delivered_by for s in catalogue.TOUCHPOINTS}
    people = _people(demo)
    schedules = opening_schedules(specs)
    employees = {e.user_id: e for e in demo.employees.values()}
    actions = _linkable_actions()
    histories = []
    for case in sorted(cases, key=lambda c: c.feedback.external_id):
        history = History(case)
        _plan(
            demo,
            history,
            horizon=horizon,
            quality=quality(case),
            who=people[case.location_id],
            clock=schedules[case.location_id],
            team_key=delivered_by.get(case.touchpoint_id, ""),
            employees=employees,
            actions=actions.get((case.location_id, case.touchpoint_id), []),
        )
        case.clean_fields(exclude=[*RELATIONS, "action"])
        histories.append(history)
    # One plain UPDATE a case: bulk_update's CASE expressions over this many fields cost far more.
    for history in histories:
        case = history.case
        Case.objects.filter(pk=case.pk).update(**{name: getattr(case, name) for name in HISTORY_FIELDS})
    CaseEvent.objects.filter(case__in=cases, kind=EventKind.OPENED).update(
        at=Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("opened_at")[:1])
    )
    CaseEvent.objects.bulk_create([e for h in histories for e in h.events], batch_size=500)
    return dated, len(histories)


def _people(demo: DemoContext) -> dict[int, People]:
    users = {e.user_id: e.user for e in demo.employees.values()}
    team_managers: dict[int, list] = {}
    for team in demo.teams.values():
        team_managers[team.pk] = [users[pk] for pk in sorted(team.managers.values_list("pk", flat=True))]
    managing = Employee.managed_locations.through.objects.filter(
        employee__role=Role.MANAGER, location__in=[location for location, _ in demo.sites]
    ).values_list("location_id", "employee__user_id")
    location_managers: dict[int, list] = {}
    for location_id, user_id in sorted(managing, key=lambda row: row[1]):
        location_managers.setdefault(location_id, []).append(users[user_id])
    found = {}
    for location, _ in demo.sites:
        keys = {key for (code, key) in demo.teams if code == location.code}
        found[location.pk] = People(
            manager=demo.admin_user if location == demo.head_office else demo.store_manager(location),
            leads={key: lead for key in keys if (lead := demo.lead(location, key)) is not None},
            team_managers=team_managers,
            location_managers=location_managers.get(location.pk, []),
        )
    return found


def _linkable_actions() -> dict[tuple[int, int], list[ActionItem]]:
    """Gap actions not cancelled, by (location, touchpoint): a resolved case may be linked to one."""
    found: dict[tuple[int, int], list[ActionItem]] = {}
    rows = (
        ActionItem.objects.exclude(status=ActionStatus.CANCELLED)
        .filter(location__isnull=False)
        .select_related("rating__assessment", "feedback")
        .order_by("pk")
    )
    for action in rows:
        touchpoint_id = (
            action.rating.assessment.touchpoint_id if action.rating_id else action.feedback.touchpoint_id
        )
        found.setdefault((action.location_id, touchpoint_id), []).append(action)
    return found


def _spread(rng, median: float, effect: float, spread: float, quality: float) -> float:
    """Log-normal around `median`, shorter where service is better (`quality` > 0)."""
    return rng.lognormvariate(math.log(median) - effect * quality, spread)


def _plan(
    demo,
    history: History,
    *,
    horizon,
    quality,
    who: People,
    clock: OpeningSchedule,
    team_key,
    employees,
    actions,
) -> None:
    """Write what became of one customer's case by `horizon`. Owners work in opening hours."""
    case = history.case
    rng = demo.rng("case", case.feedback.external_id)
    ack_hours = _spread(
        rng,
        catalogue.ACKNOWLEDGE_MEDIAN_HOURS,
        catalogue.ACKNOWLEDGE_QUALITY_EFFECT,
        catalogue.ACKNOWLEDGE_SPREAD,
        quality,
    )
    ack_at = clock.add(case.opened_at, ack_hours)
    resolve_days = _spread(
        rng,
        catalogue.RESOLVE_MEDIAN_DAYS,
        catalogue.RESOLVE_QUALITY_EFFECT,
        catalogue.RESOLVE_SPREAD,
        quality,
    )
    resolved_at = clock.add(ack_at, resolve_days * catalogue.OPENING_HOURS_A_DAY)
    category = catalogue.COMMENT_CATEGORIES.get(case.description) or catalogue.TOUCHPOINT_CATEGORIES.get(
        case.touchpoint.slug, catalogue.OTHER
    )
    lead = who.leads.get(team_key)
    handler = who.manager
    if case.location_id == demo.head_office.pk and lead is not None:
        handler = lead  # at the head office the team that delivers the touchpoint takes its cases
    first_name = case.contact_name.split(" ")[0] if case.contact_name else ""

    _escalation(history, "acknowledge", case.acknowledge_due_at, min(ack_at, horizon), clock, who)
    if ack_at >= horizon:
        _escalation(history, "resolve", case.resolve_due_at, horizon, clock, who)
        return
    owner = case.owner
    if owner is None or owner.user_id != handler.pk:
        history.add(
            EventKind.ASSIGNED,
            ack_at,
            handler,
            text="Taken on." if owner is None else "Taken on from the location's default owner.",
            recipient=handler.get_full_name(),
        )
        case.owner = employees[handler.pk]
    case.category = demo.case_categories[category]
    history.move(CaseStatus.ACKNOWLEDGED, ack_at, handler)
    if case.contact_email:
        history.add(
            EventKind.MESSAGE,
            ack_at + timedelta(minutes=rng.randint(5, 40)),
            handler,
            text=rng.choice(catalogue.CASE_REPLIES).format(
                name=first_name, owner=handler.get_full_name(), location=case.location.name
            ),
            recipient=case.contact_email,
        )
    worker = handler
    if lead is not None and lead != handler and rng.random() < catalogue.HAND_OVER_SHARE:
        at = ack_at + timedelta(minutes=rng.randint(10, 90))
        if at < horizon:
            history.add(
                EventKind.ASSIGNED, at, handler, text=catalogue.HAND_OVER_NOTE, recipient=lead.get_full_name()
            )
            case.owner, worker = employees[lead.pk], lead
    working_at = ack_at + (resolved_at - ack_at) * rng.uniform(0.1, 0.5)
    if rng.random() < catalogue.IN_PROGRESS_SHARE and working_at < horizon:
        history.move(CaseStatus.IN_PROGRESS, working_at, worker)
    if rng.random() < catalogue.NOTE_SHARE:
        note_at = ack_at + (resolved_at - ack_at) * rng.uniform(0.5, 0.9)
        if note_at < horizon:
            history.add(EventKind.NOTE, note_at, worker, text=rng.choice(catalogue.CASE_NOTES[category]))
    _escalation(history, "resolve", case.resolve_due_at, min(resolved_at, horizon), clock, who)
    if resolved_at >= horizon:
        return
    summary = rng.choice(catalogue.RESOLUTIONS[category])
    history.move(CaseStatus.RESOLVED, resolved_at, worker, summary=summary)
    if actions and rng.random() < catalogue.LINK_ACTION_SHARE:
        action = rng.choice(actions)
        case.action = action
        history.add(
            EventKind.LINKED_ACTION,
            resolved_at,
            worker,
            text=f"Gap action “{action.title}” (due {day(action.due_on)}).",
        )
    if case.contact_email:
        history.add(
            EventKind.MESSAGE,
            resolved_at + timedelta(minutes=rng.randint(2, 20)),
            worker,
            text=catalogue.CASE_CLOSING_MESSAGE.format(
                name=first_name, summary=summary, owner=worker.get_full_name()
            ),
            recipient=case.contact_email,
        )
        _follow_up(history, rng, resolved_at, horizon, quality)
    if rng.random() < catalogue.REOPEN_SHARE:
        reopened_at = resolved_at + timedelta(days=rng.uniform(1, 4))
        if reopened_at >= horizon:
            return
        history.move(CaseStatus.REOPENED, reopened_at, worker, text=catalogue.REOPEN_NOTE)
        resolved_at = reopened_at + timedelta(days=rng.uniform(1, 3))
        # Open again: the resolve clock runs again, and a deadline passed meanwhile is escalated now.
        _escalation(
            history, "resolve", case.resolve_due_at, min(resolved_at, horizon), clock, who, since=reopened_at
        )
        if resolved_at >= horizon:
            return
        history.move(
            CaseStatus.RESOLVED, resolved_at, worker, summary=rng.choice(catalogue.RESOLUTIONS[category])
        )
    closed_at = resolved_at + timedelta(days=rng.uniform(*catalogue.CLOSE_AFTER_DAYS))
    if closed_at < horizon:
        history.move(CaseStatus.CLOSED, closed_at, worker, text=catalogue.CLOSE_NOTE)


def _follow_up(history: History, rng, resolved_at: datetime, horizon: datetime, quality: float) -> None:
    """The follow-up survey goes out on resolution; most customers answer within three days."""
    case = history.case
    case.follow_up_token = secrets.token_urlsafe(32)
    case.follow_up_sent_at = resolved_at
    answered_at = resolved_at + timedelta(hours=rng.uniform(2, 72))
    if rng.random() >= catalogue.FOLLOW_UP_ANSWER_SHARE or answered_at >= horizon:
        return
    recovered = rng.random() < _sigmoid(catalogue.RECOVERY_EASE + catalogue.RECOVERY_QUALITY_EFFECT * quality)
    case.follow_up_csat = rng.choice((4, 5)) if recovered else rng.choice((1, 2, 3))
    case.follow_up_comment = rng.choice(catalogue.FOLLOW_UP_COMMENTS[recovered])
    case.follow_up_answered_at, case.recovered = answered_at, recovered
    verdict = "recovered" if recovered else "not recovered: the customer is still unhappy"
    text = f"Satisfaction {case.follow_up_csat}/5 with how the case was handled ({verdict})."
    if case.follow_up_comment:
        text += f"\n\n{case.follow_up_comment}"
    history.add(EventKind.FOLLOW_UP, answered_at, text=text, key="follow-up")


DEADLINE_LABELS = {"acknowledge": "Acknowledgement", "resolve": "Resolution"}
LEVEL_NAMES = {1: "the team's managers", 2: "the location's managers"}


def _names(users) -> str:
    return ", ".join(user.get_full_name() for user in users)


def _escalation(
    history: History,
    deadline: str,
    due,
    met: datetime,
    clock: OpeningSchedule,
    who: People,
    *,
    since: datetime | None = None,
) -> None:
    """What the SLA task (`cases.services.escalation`) wrote for a deadline met at `met` (or not met
    by the horizon): a warning once the policy's hours before it began, and one escalation once it
    passed, to the next level up that has someone: the team's managers, then the location's."""
    case, policy = history.case, history.case.sla_policy
    if due is None or policy is None:
        return
    since = since or case.opened_at  # when this deadline's clock began to run
    label = DEADLINE_LABELS[deadline]
    done = {event.key for event in history.events}
    if policy.warn_before_hours and f"warned:{deadline}" not in done:
        warn_at = clock.subtract(due, policy.warn_before_hours)
        if since < warn_at < met:
            owner = case.owner.full_name if case.owner else ""
            history.add(
                EventKind.WARNED,
                warn_at,
                text=f"{label} due {day(due, with_time=True)}: warned {owner} (owner).",
                recipient=f"{owner} (owner)",
                key=f"warned:{deadline}",
            )
    if met <= due or f"escalated:{deadline}" in done:
        return
    at = max(due, since)
    levels = {1: who.team_managers.get(case.team_id, []), 2: who.location_managers}
    staffed = [level for level, users in levels.items() if users]
    above = [level for level in staffed if level > case.escalation_level]
    level = above[0] if above else (staffed[-1] if staffed else None)
    passed = f"{label} deadline {day(due, with_time=True)} passed"
    if level is None:
        history.add(
            EventKind.ESCALATED,
            at,
            text=f"{passed}; no team or location manager to escalate to.",
            key=f"escalated:{deadline}",
        )
        return
    names = _names(levels[level])
    history.add(
        EventKind.ESCALATED,
        at,
        text=f"{passed}; escalated to {LEVEL_NAMES[level]}: {names}.",
        recipient=names[:254],
        key=f"escalated:{deadline}",
    )
    case.escalation_level = level


# --- complaints taken by staff -------------------------------------------------------------


def _complaints(demo: DemoContext) -> int:
    """Complaints colleagues took themselves: whoever takes one owns it until they hand it over."""
    added = 0
    for spec in catalogue.COMPLAINTS:
        if spec.site > len(demo.stores):
            continue
        external_id = f"{COMPLAINT_PREFIX}{spec.key}"
        if Case.objects.filter(external_id=external_id).exists():
            continue
        location = demo.sites[spec.site][0]
        taker = demo.employees[employee_number(spec.site, spec.taken_by)]
        opened = demo.at(demo.days_ago(spec.days_ago), spec.hour)
        name, email, phone = spec.contact or ("", "", "")
        case = case_open(
            location=location,
            title=spec.title,
            origin=spec.origin,
            user=taker.user,
            opened_at=opened,
            severity=spec.severity,
            logged_by=taker,
            touchpoint=demo.touchpoints[spec.touchpoint],
            team=taker.team,
            category=demo.case_categories[spec.category],
            description=spec.description,
            external_id=external_id,
            contact_consent=bool(spec.contact),
            contact_name=name,
            contact_email=email,
            contact_phone=phone,
        )
        _complaint_history(demo, case, spec, taker, opened)
        added += 1
    return added


def _complaint_history(demo, case: Case, spec, taker: Employee, opened: datetime) -> None:
    path = {
        CaseStatus.NEW: (),
        CaseStatus.ACKNOWLEDGED: (CaseStatus.ACKNOWLEDGED,),
        CaseStatus.IN_PROGRESS: (CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS),
        CaseStatus.RESOLVED: (CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED),
        CaseStatus.CLOSED: (CaseStatus.ACKNOWLEDGED, CaseStatus.RESOLVED, CaseStatus.CLOSED),
        CaseStatus.REOPENED: (CaseStatus.ACKNOWLEDGED, CaseStatus.RESOLVED, CaseStatus.REOPENED),
    }[spec.status]
    owner, at = taker, opened
    summary = catalogue.RESOLUTIONS[spec.category][0]
    for step, status in enumerate(path, start=1):
        at = opened + timedelta(hours=step * (1 if step == 1 else 20))
        if status == CaseStatus.ACKNOWLEDGED and spec.contact:
            event_record(
                case=case,
                kind=EventKind.MESSAGE,
                user=owner.user,
                text=catalogue.CASE_REPLIES[0].format(
                    name=spec.contact[0].split(" ")[0], owner=owner.full_name, location=case.location.name
                ),
                recipient=spec.contact[1],
                at=at + timedelta(minutes=10),
            )
        if status == CaseStatus.IN_PROGRESS and spec.hand_to:
            new_owner = demo.employees[employee_number(spec.site, spec.hand_to)]
            case = case_assign(
                case=case, owner=new_owner, user=owner.user, note="Needs a manager's decision.", at=at
            )
            owner = new_owner
            case_note_add(case=case, user=owner.user, text=catalogue.CASE_NOTES[spec.category][0], at=at)
        note = catalogue.REOPEN_NOTE if status == CaseStatus.REOPENED else ""
        if status == CaseStatus.CLOSED:
            note = catalogue.CLOSE_NOTE
        case = case_transition(
            case=case,
            to=status,
            user=owner.user,
            note=note,
            summary=summary if status == CaseStatus.RESOLVED else "",
            at=at,
        )


# --- improvements ---------------------------------------------------------------------------


def _improvements(demo: DemoContext) -> int:
    """A few cases led to a change the store published: "you said, we did"."""
    added = 0
    for spec in catalogue.CASE_IMPROVEMENTS:
        if spec.site > len(demo.stores):
            continue
        location = demo.sites[spec.site][0]
        if ActionItem.objects.filter(title=spec.title, location=location).exists():
            continue
        case = (
            Case.objects.filter(
                location=location,
                category__name=spec.category,
                feedback__isnull=False,
                action__isnull=True,
                status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED],
            )
            .select_related("owner__user", "feedback")
            .order_by("-resolved_at", "pk")
            .first()
        )
        if case is None:
            continue
        done_on = timezone.localdate(case.resolved_at)
        owner = case.owner.user if case.owner else demo.admin_user
        action, _ = ensure(
            ActionItem,
            {"title": spec.title, "location": location},
            description=f"Raised from the customer's complaint {case.reference}: {case.title}",
            owner=owner,
            feedback=case.feedback,
            due_on=done_on + timedelta(days=14),
            status=ActionStatus.DONE,
            closure_note=spec.closure_note,
            closed_on=done_on,
            customer_summary=spec.customer_summary,
            published=True,
            published_on=min(done_on + timedelta(days=1), demo.until),
        )
        case.action = action
        case.save(update_fields=["action", "updated_at"])
        event_record(
            case=case,
            kind=EventKind.LINKED_ACTION,
            user=owner,
            text=f"Gap action “{action.title}” (due {day(action.due_on)}). It is published on the "
            "“you said, we did” page.",
            at=case.resolved_at,
        )
        added += 1
    return added
