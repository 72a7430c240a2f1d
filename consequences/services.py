"""Writes for consequences: the rules engine, the status flow, and the overdue reminder.

The engine (`rules_evaluate`) runs after each scorecard rollup, through the task chain: measurement
sends `scorecards_rolled_up`, this app's receiver (in `apps.py`) enqueues
`consequences.tasks.evaluate_rules`; after the nightly full rebuild it evaluates every rule. Each
active rule proposes consequences:

- *sustained performance* → recognition, *repeated shortfall* → coaching, corrective action or
  remedial training: the subject's scorecards of the rule's period kind met (or missed) their target
  in each of the last ``consecutive_periods`` closed periods, each with at least ``min_observations``
  (grains: see `consequences.selectors`). The consequence's period is the newest of those periods.
- *deviation* → a corrective action for each open deviation not answered yet (optionally of the
  rule's standard only). Its subject follows the rule's subject kind and falls back when the
  deviation does not say enough: employee → the deviation's team → its location; team → the
  deviation's team, else the employee's team, else the location. An employee who has left is not
  given a corrective action: it falls back to their team or location in the same way.
- *training lapse* → remedial training: an employee below target (as for a shortfall) whose required
  training on a course covering the rule's standard (any standard when the rule names none) has
  expired. Those assignments get a new, near deadline (``due_within_days`` from today). A
  shortfall rule whose action is remedial training proposes the consequence only: the training
  status model cannot ask for a course again while its completion is still current.

- *SLA breached* → coaching or corrective action: at least ``breaches_at_least`` customer cases of
  the subject (an employee: the cases they own; a location: its cases) missed a deadline within one
  period of the rule's kind — the running period and the one before it are judged, so that a breach
  is acted on in the period it happens and one found late (the evaluation did not run at the turn
  of the period) still counts. A case counts once, in the period of the first deadline it missed
  (`consequences.selectors.sla_breaches`); the notes name each case's reference. These rules run
  on every evaluation (breaches come from the clock, not from a rollup) and on their own beat
  entry (``consequences.tasks.evaluate_sla_rules``), so they are judged even when no rollup runs.

- *audits missed* → coaching or corrective action for a location: at least ``missed_at_least`` of
  its planned audits due within one period of the rule's kind were missed (not done by their
  closing time) — the running period and the one before are judged, as for SLA breaches; the notes
  name each audit and its due date. These rules run on every evaluation and whenever the audit
  planner marks an audit missed (`audits.signals.audits_missed`).

Owner: the first (lowest user id) active manager of the subject's location, else of its team, else
none — then whoever approves it becomes its owner.

Idempotent: one consequence per rule, subject and period (``dedupe_key``
``rule=<id>|<subject kind>=<id>|<period kind>=<start>``), one per deviation (``deviation=<id>``).
A rerun, or a run overlapping another, finds the key taken and creates nothing; side effects
(training assignments) happen only for the consequence actually created.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from measurement.models import Deviation, DeviationStatus, Grain, PeriodKind, Scorecard
from measurement.selectors.common import period_bounds
from measurement.services.rollup import period_start
from organization.formatting import day
from organization.models import Employee, Location, Role, Team
from organization.notifications import NoticeItem, notices_send
from organization.scope import location_managers, role_of, scope_queryset
from organization.validators import earliest_timestamp, latest_timestamp
from training.models import Assignment

from . import selectors
from .models import NEXT_STATUS, Condition, Consequence, ConsequenceStatus, Rule, SubjectKind, unanswered

logger = logging.getLogger(__name__)

SUMMARY_LENGTH = Consequence._meta.get_field("summary").max_length
PERIOD_NOUN = {
    PeriodKind.DAY: "day",
    PeriodKind.WEEK: "week",
    PeriodKind.MONTH: "month",
    PeriodKind.QUARTER: "quarter",
}


# --------------------------------------------------------------------------- the engine

# Conditions whose evidence does not come from a rollup: every evaluation judges them.
CLOCK_CONDITIONS = (Condition.DEVIATION, Condition.SLA_BREACHED, Condition.AUDITS_MISSED)


@dataclass
class Proposal:
    """A consequence a rule wants, before it is known whether it exists already."""

    key: str
    subject_kind: str
    location: Location
    employee: Employee | None = None
    team: Team | None = None
    period_kind: str = ""
    period_start: date | None = None
    deviation: Deviation | None = None
    evidence: tuple[int, ...] = ()
    summary: str = ""
    notes: str = ""
    # Required training to give a new deadline when the consequence is created (training lapse).
    remedial_assignments: list[Assignment] = field(default_factory=list)


def period_label(kind: str, start: date) -> str:
    """How a period reads in a summary: 'March 2026', 'Q1 2026', 'week of 2 Mar 2026', '2 Mar 2026'."""
    if kind == PeriodKind.MONTH:
        return f"{start:%B %Y}"
    if kind == PeriodKind.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == PeriodKind.WEEK:
        return f"week of {start.day} {start:%b %Y}"
    return f"{start.day} {start:%b %Y}"


def _touched_periods(periods: Iterable | None) -> dict[str, set[date]] | None:
    """Period kind → starts, from (kind, start) pairs whose start is a date or an ISO string."""
    if periods is None:
        return None
    touched: dict[str, set[date]] = {}
    for kind, start in periods:
        day = start if isinstance(start, date) else parse_date(str(start))
        if kind not in PeriodKind.values or day is None:
            raise ValueError(f"not a period: ({kind!r}, {start!r})")
        touched.setdefault(kind, set()).add(day)
    return touched


def _is_affected(rule: Rule, touched: dict[str, set[date]] | None, today: date) -> bool:
    """Whether a rollup of `touched` periods can change what `rule` concludes today.

    Deviation rules always run (deviations are recorded at intake, not by the rollup). A scorecard
    rule reads its window of closed periods; it is affected when a scorecard in that window changed,
    or when evidence arrived in a later period — which is how a rollup shows that a new period has
    begun and the window has moved. The nightly full rebuild evaluates every rule, which catches a
    window that moved while no evidence came in.
    """
    if touched is None or rule.condition in CLOCK_CONDITIONS:
        return True
    window = selectors.closed_periods(kind=rule.period_kind, count=rule.consecutive_periods, today=today)
    return any(start >= window[-1] for start in touched.get(rule.period_kind, ()))


def rules_evaluate(
    *,
    periods: Iterable | None = None,
    today: date | None = None,
    now: datetime | None = None,
    conditions: Iterable[str] | None = None,
) -> dict:
    """Evaluate every active rule and propose the consequences that follow, idempotently.

    Inputs: ``periods``, the (period kind, period start) pairs a rollup recomputed (start as a date or
    ISO string); None evaluates every rule. ``today`` (default: today in the organisation's time zone)
    decides which periods are closed and sets due dates; ``now`` (default: the current time) which
    case deadlines have passed. ``conditions`` limits the run to rules of those conditions (the SLA
    beat entry evaluates SLA-breach rules only).
    Output: ``{"rules": evaluated, "created": consequences created, "assignments": training
    assignments given a remedial deadline, "by_rule": {rule name: created}}``.
    Each rule is evaluated in its own transaction; an error propagates (the task fails loudly) after
    the rules before it have committed, and a rerun carries on where it stopped. A rule whose stored
    settings give dates no calendar holds (``due_within_days`` or ``consecutive_periods`` at the
    edge of their columns) is skipped with a logged error and named in ``"skipped"``, so that it
    cannot stop the rules after it.
    Raises ValueError for a malformed period.
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    touched = _touched_periods(periods)
    # Standard-specific rules first: when two deviation rules match a deviation, the more specific
    # one answers it (a deviation has one corrective action).
    active = Rule.objects.filter(active=True)
    if conditions is not None:
        active = active.filter(condition__in=list(conditions))
    rules = sorted(
        active.select_related("standard"),
        key=lambda r: (r.standard_id is None, r.name),
    )
    result = {"rules": 0, "created": 0, "assignments": 0, "by_rule": {}, "skipped": []}
    for rule in rules:
        try:
            if not _is_affected(rule, touched, today):
                continue
            with transaction.atomic():
                created, assigned = _propose(rule=rule, proposals=_proposals(rule, today, now), today=today)
        except OverflowError as error:
            logger.error("Consequence rule %r skipped: its dates cannot be computed (%s)", rule.name, error)
            result["skipped"].append(rule.name)
            continue
        result["rules"] += 1
        result["created"] += created
        result["assignments"] += assigned
        result["by_rule"][rule.name] = created
    logger.info("Consequence rules evaluated: %s", result)
    return result


def _proposals(rule: Rule, today: date, now: datetime) -> list[Proposal]:
    if rule.condition == Condition.DEVIATION:
        return _deviation_proposals(rule)
    if rule.condition == Condition.SLA_BREACHED:
        return _sla_proposals(rule, today, now)
    if rule.condition == Condition.AUDITS_MISSED:
        return _missed_audit_proposals(rule, today)
    if rule.condition == Condition.SUSTAINED_PERFORMANCE:
        return _run_proposals(rule, today, met=True)
    if rule.condition == Condition.REPEATED_SHORTFALL:
        return _run_proposals(rule, today, met=False)
    if rule.condition == Condition.TRAINING_LAPSE:
        return _training_lapse_proposals(rule, today)
    raise ValueError(f"rule {rule.pk} has an unknown condition {rule.condition!r}")


def _subjects(kind: str, ids: Iterable[int]) -> dict[int, Employee | Team | Location]:
    if kind == SubjectKind.EMPLOYEE:
        return Employee.objects.select_related("user", "location", "team").in_bulk(list(ids))
    if kind == SubjectKind.TEAM:
        return Team.objects.select_related("location").in_bulk(list(ids))
    return Location.objects.in_bulk(list(ids))


def _subject_fields(kind: str, subject) -> dict:
    if kind == SubjectKind.EMPLOYEE:
        return {"employee": subject, "team": subject.team, "location": subject.location}
    if kind == SubjectKind.TEAM:
        return {"team": subject, "location": subject.location}
    return {"location": subject}


def _run_summary(rule: Rule, subject, starts: list[date], met: bool) -> str:
    verdict = "on target" if met else "below target"
    if rule.standard_id:
        verdict += f" on {rule.standard.code}"
    latest = period_label(rule.period_kind, starts[0])
    when = (
        f"{len(starts)} {PERIOD_NOUN[rule.period_kind]}s running to {latest}"
        if len(starts) > 1
        else f"in {latest}"
    )
    return f"{rule.get_action_display()}: {subject} {verdict} {when}"[:SUMMARY_LENGTH]


def _run_proposals(rule: Rule, today: date, *, met: bool) -> list[Proposal]:
    starts = selectors.closed_periods(kind=rule.period_kind, count=rule.consecutive_periods, today=today)
    runs = selectors.rule_runs(rule=rule, starts=starts, met=met)
    subjects = _subjects(rule.subject_kind, [run.subject_id for run in runs])
    return [
        Proposal(
            key=f"rule={rule.pk}|{rule.subject_kind}={run.subject_id}|{rule.period_kind}={starts[0].isoformat()}",
            subject_kind=rule.subject_kind,
            period_kind=rule.period_kind,
            period_start=starts[0],
            evidence=run.scorecard_ids,
            summary=_run_summary(rule, subjects[run.subject_id], starts, met),
            **_subject_fields(rule.subject_kind, subjects[run.subject_id]),
        )
        for run in runs
    ]


def _training_lapse_proposals(rule: Rule, today: date) -> list[Proposal]:
    shortfalls = {p.employee.pk: p for p in _run_proposals(rule, today, met=False)}
    expired = selectors.expired_training(
        employee_ids=list(shortfalls), standard_id=rule.standard_id, today=today
    )
    proposals = []
    for employee_id, statuses in sorted(expired.items()):
        proposal = shortfalls[employee_id]
        courses = ", ".join(s.assignment.course.code for s in statuses)
        proposal.summary = f"{proposal.summary}; training expired: {courses}"[:SUMMARY_LENGTH]
        proposal.notes = "\n".join(
            f"{s.assignment.course}: verified {s.verified_on:%d %b %Y}, expired {s.expires_on:%d %b %Y}."
            for s in statuses
        )
        proposal.remedial_assignments = [s.assignment for s in statuses]
        proposals.append(proposal)
    return proposals


def _deviation_subject(rule: Rule, deviation: Deviation) -> tuple[str, dict]:
    """The subject kind and fields of the corrective action for `deviation` (fallbacks: module docstring)."""
    employee = deviation.employee if deviation.employee and deviation.employee.active else None
    team = deviation.team or (deviation.employee.team if deviation.employee else None)
    if rule.subject_kind == SubjectKind.EMPLOYEE and employee:
        return SubjectKind.EMPLOYEE, {
            "employee": employee,
            "team": employee.team,
            "location": deviation.location,
        }
    if rule.subject_kind in (SubjectKind.EMPLOYEE, SubjectKind.TEAM) and team:
        return SubjectKind.TEAM, {"team": team, "location": deviation.location}
    return SubjectKind.LOCATION, {"location": deviation.location}


def _deviation_proposals(rule: Rule) -> list[Proposal]:
    deviations = (
        unanswered(Deviation.objects.filter(status=DeviationStatus.OPEN))
        .select_related(
            "standard", "location", "team__location", "employee__user", "employee__team", "observation"
        )
        .order_by("detected_at", "pk")
    )
    if rule.standard_id:
        deviations = deviations.filter(standard_id=rule.standard_id)
    # A deviation dated outside the intake window (written past intake) has no local date to cite,
    # and its observation is left out of the scorecards too.
    plausible = Q(detected_at__gte=earliest_timestamp(), detected_at__lte=latest_timestamp())
    if left_out := deviations.exclude(plausible).count():
        logger.warning(
            "Consequence rule %r left out %d deviation(s) dated outside the intake window",
            rule.name,
            left_out,
        )
    deviations = deviations.filter(plausible)
    proposals = []
    for deviation in deviations:
        subject_kind, subject = _deviation_subject(rule, deviation)
        detected = timezone.localtime(deviation.detected_at)
        who = subject.get(subject_kind)
        comment = deviation.observation.comment.strip()
        proposals.append(
            Proposal(
                key=f"deviation={deviation.pk}",
                subject_kind=subject_kind,
                period_kind=PeriodKind.DAY,
                period_start=detected.date(),
                deviation=deviation,
                summary=(
                    f"{rule.get_action_display()}: {deviation.standard.code} not met by {who}, "
                    f"{detected.day} {detected:%b %Y}"
                )[:SUMMARY_LENGTH],
                notes=f"Deviation of the non-negotiable standard {deviation.standard}."
                + (f"\nObserved: {comment}" if comment else ""),
                **subject,
            )
        )
    return proposals


def _sla_proposals(rule: Rule, today: date, now: datetime) -> list[Proposal]:
    """A proposal per subject and period (the running one and the one before) with at least
    ``breaches_at_least`` cases that breached their SLA in it (module docstring)."""
    kind = rule.period_kind
    start, end = _judged_span(kind, today)
    found: dict[tuple[date, int], list[selectors.Breach]] = {}
    for breach in selectors.sla_breaches(subject_kind=rule.subject_kind, start=start, end=end, now=now):
        started = period_start(kind, timezone.localtime(breach.at).date())
        found.setdefault((started, breach.subject_id), []).append(breach)
    enough = {key: breaches for key, breaches in found.items() if len(breaches) >= rule.breaches_at_least}
    subjects = _subjects(rule.subject_kind, {subject_id for _, subject_id in enough})
    proposals = []
    for (started, subject_id), breaches in sorted(enough.items()):
        subject = subjects.get(subject_id)
        if subject is None:  # gone since the read
            continue
        proposals.append(
            Proposal(
                key=f"rule={rule.pk}|{rule.subject_kind}={subject_id}|{kind}={started.isoformat()}",
                subject_kind=rule.subject_kind,
                period_kind=kind,
                period_start=started,
                summary=(
                    f"{rule.get_action_display()}: {len(breaches)} customer "
                    f"{'case' if len(breaches) == 1 else 'cases'} of {subject} "
                    f"breached {'its' if len(breaches) == 1 else 'their'} SLA in {period_label(kind, started)}"
                )[:SUMMARY_LENGTH],
                notes="SLA breached: "
                + ", ".join(f"{b.reference} ({b.deadline} due {day(b.at, with_time=True)})" for b in breaches)
                + ".",
                **_subject_fields(rule.subject_kind, subject),
            )
        )
    return proposals


def _judged_span(kind: str, today: date) -> tuple[datetime, datetime]:
    """From the start of the period before the running one to the end of the running one: the
    span clock-driven rules judge (module docstring)."""
    current = period_start(kind, today)
    start, _ = period_bounds(kind, period_start(kind, current - timedelta(days=1)))
    _, end = period_bounds(kind, current)
    return start, end


def _missed_audit_proposals(rule: Rule, today: date) -> list[Proposal]:
    """A proposal per location and period (the running one and the one before) with at least
    ``missed_at_least`` planned audits due in it that were missed (module docstring)."""
    kind = rule.period_kind
    start, end = _judged_span(kind, today)
    found: dict[tuple[date, int], list[tuple[str, datetime]]] = {}
    for location_id, title, due_at in selectors.audits_missed(start=start, end=end):
        started = period_start(kind, timezone.localtime(due_at).date())
        found.setdefault((started, location_id), []).append((title, due_at))
    enough = {key: missed for key, missed in found.items() if len(missed) >= rule.missed_at_least}
    locations = _subjects(SubjectKind.LOCATION, {location_id for _, location_id in enough})
    proposals = []
    for (started, location_id), missed in sorted(enough.items()):
        location = locations.get(location_id)
        if location is None:  # gone since the read
            continue
        n = len(missed)
        proposals.append(
            Proposal(
                key=f"rule={rule.pk}|{SubjectKind.LOCATION}={location_id}|{kind}={started.isoformat()}",
                subject_kind=SubjectKind.LOCATION,
                period_kind=kind,
                period_start=started,
                summary=(
                    f"{rule.get_action_display()}: {n} planned {'audit' if n == 1 else 'audits'} "
                    f"at {location} missed in {period_label(kind, started)}"
                )[:SUMMARY_LENGTH],
                notes="Missed: "
                + ", ".join(f"{title} (due {day(due_at, with_time=True)})" for title, due_at in missed)
                + ".",
                location=location,
            )
        )
    return proposals


def _owners(proposals: list[Proposal]) -> dict[str, int | None]:
    """Dedupe key → owner user id: a manager of the subject's location, else of its team, else none;
    never the employee the consequence is about (a manager is not their own judge)."""
    by_location = location_managers(location_ids={p.location.pk for p in proposals})
    by_team = selectors.team_managers(team_ids={p.team.pk for p in proposals if p.team})
    owners = {}
    for p in proposals:
        subject_user = p.employee.user_id if p.subject_kind == SubjectKind.EMPLOYEE else None
        managers = [*by_location.get(p.location.pk, []), *(by_team.get(p.team.pk, []) if p.team else [])]
        owners[p.key] = next((user_id for user_id in managers if user_id != subject_user), None)
    return owners


def _evidence_notes(cards: list[Scorecard]) -> str:
    lines = []
    for card in sorted(cards, key=lambda c: (c.period_start, c.grain)):
        what = (
            f" ({card.standard.code} at {card.location.code})"
            if card.grain == Grain.LOCATION_STANDARD
            else ""
        )
        target = f", target {card.target_rate:.0%}" if card.target_rate is not None else ""
        lines.append(
            f"{period_label(card.period_kind, card.period_start)}{what}: {card.pass_rate:.0%} passed "
            f"({card.passed} of {card.observations}){target}."
        )
    return "\n".join(lines)


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for offset in range(0, len(keys), 500):
        chunk = keys[offset : offset + 500]
        found.update(Consequence.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", flat=True))
    return found


def _propose(*, rule: Rule, proposals: list[Proposal], today: date) -> tuple[int, int]:
    """Create the consequences of `proposals` that do not exist yet; (created, assignments updated)."""
    existing = _existing_keys([p.key for p in proposals])
    fresh = [p for p in proposals if p.key not in existing]
    if not fresh:
        return 0, 0
    owners = _owners(fresh)
    cards = Scorecard.objects.select_related("standard", "location").in_bulk(
        [pk for p in fresh for pk in p.evidence]
    )
    due_on = today + timedelta(days=rule.due_within_days)
    created = assigned = 0
    for p in fresh:
        evidence_notes = _evidence_notes([cards[pk] for pk in p.evidence])
        consequence = Consequence(
            rule=rule,
            subject_kind=p.subject_kind,
            employee=p.employee if p.subject_kind == SubjectKind.EMPLOYEE else None,
            team=p.team if p.subject_kind != SubjectKind.LOCATION else None,
            location=p.location,
            action=rule.action,
            polarity=rule.polarity,
            period_kind=p.period_kind,
            period_start=p.period_start,
            dedupe_key=p.key,
            deviation=p.deviation,
            summary=p.summary,
            notes="\n".join(part for part in (p.notes, evidence_notes) if part),
            owner_id=owners[p.key],
            due_on=due_on,
        )
        # Uniqueness and the check constraints are the database's to enforce at insert: that is what
        # makes overlapping runs safe. clean() still reports a malformed consequence by field.
        consequence.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                consequence.save()
        except IntegrityError:
            taken = Q(dedupe_key=p.key) | (Q(deviation=p.deviation) if p.deviation else Q(pk__in=[]))
            if Consequence.objects.filter(taken).exists():
                continue  # an overlapping run (or another deviation rule) got there first
            raise
        consequence.evidence.add(*p.evidence)
        created += 1
        for assignment in p.remedial_assignments:
            _assignment_reschedule(assignment=assignment, today=today, due_on=due_on)
            assigned += 1
    return created, assigned


def _assignment_reschedule(*, assignment: Assignment, today: date, due_on: date) -> None:
    """Give a lapsed training assignment a fresh start and a near deadline."""
    assignment.active = True
    assignment.assigned_on = today
    assignment.due_on = due_on
    assignment.full_clean()
    assignment.save(update_fields=["active", "assigned_on", "due_on"])


# --------------------------------------------------------------------------- the status flow

# The verb of each step, for messages.
STEP_VERB = {
    ConsequenceStatus.APPROVED: "approved",
    ConsequenceStatus.DELIVERED: "delivered",
    ConsequenceStatus.CLOSED: "closed",
}
PREVIOUS_STATUS = {after: before for before, after in NEXT_STATUS.items()}


def _is_about(user, consequence: Consequence) -> bool:
    return bool(consequence.employee_id and consequence.employee.user_id == getattr(user, "pk", None))


def _self_refusal(verb: str) -> str:
    return f"A consequence about yourself is {verb} by your manager."


def _status_refusal(status: str, to: str) -> str | None:
    """Why a consequence in `status` cannot be moved to `to`, or None when that is its next step."""
    if NEXT_STATUS.get(status) == to:
        return None
    verb = STEP_VERB[to]
    current = ConsequenceStatus(status).label.lower()
    required = ConsequenceStatus(PREVIOUS_STATUS[to]).label.lower()
    message = f"A consequence can be {verb} only when {required}; this one is {current}."
    following = NEXT_STATUS.get(status)
    return message + (
        f" Its next step is to be {STEP_VERB[following]}." if following else " Nothing follows closing."
    )


def step_refusal(*, user, consequence: Consequence, to: str) -> str | None:
    """Why `user` may not move `consequence` to `to`, or None: the rule the single steps and the bulk
    steps share. Scope is not judged here: `consequence` must come from a scoped read."""
    if role_of(user) != Role.ADMIN and _is_about(user, consequence):
        return _self_refusal(STEP_VERB[to])
    return _status_refusal(consequence.status, to)


def _check_may_act(user, consequence: Consequence, verb: str) -> None:
    """Managers act on consequences in their scope (not about themselves); admins on all."""
    role = role_of(user)
    if role == Role.ADMIN:
        return
    if _is_about(user, consequence):
        raise PermissionDenied(_self_refusal(verb))
    in_scope = scope_queryset(user, Consequence.objects.filter(pk=consequence.pk)).exists()
    if role != Role.MANAGER or not in_scope:
        raise PermissionDenied(
            f"Only a manager of {consequence.location} or an admin may mark this consequence {verb}."
        )


def _advance(*, consequence: Consequence, to: str, user, **changes) -> Consequence:
    """Move `consequence` one step along proposed → approved → delivered → closed, or explain why not.

    The row is locked for the transaction so that two managers clicking at once cannot both move it.
    """
    locked = (
        Consequence.objects.select_for_update(of=("self",))
        .select_related("employee", "location")
        .get(pk=consequence.pk)
    )
    _check_may_act(user, locked, STEP_VERB[to])
    if refusal := _status_refusal(locked.status, to):
        raise ValidationError({"status": refusal})
    locked.status = to
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    return locked


@transaction.atomic
def consequence_approve(*, consequence: Consequence, user) -> Consequence:
    """Approve a proposed consequence. The approving manager becomes its owner if it has none.

    Raises ValidationError (on ``status``) unless it is proposed, PermissionDenied unless `user` is an
    admin or a manager whose scope holds it. Returns `consequence`, refreshed.
    """
    changes = {"approved_at": timezone.now()}
    if consequence.owner_id is None:
        changes["owner"] = user
    _advance(consequence=consequence, to=ConsequenceStatus.APPROVED, user=user, **changes)
    consequence.refresh_from_db()
    return consequence


@transaction.atomic
def consequence_deliver(*, consequence: Consequence, user) -> Consequence:
    """Record that an approved consequence was delivered (the recognition given, the session held).

    Raises ValidationError unless it is approved; PermissionDenied as for approving.
    """
    _advance(consequence=consequence, to=ConsequenceStatus.DELIVERED, user=user, delivered_at=timezone.now())
    consequence.refresh_from_db()
    return consequence


@transaction.atomic
def consequence_close(*, consequence: Consequence, note: str, user) -> Consequence:
    """Close a delivered consequence with a note saying what was done.

    Closing a deviation's corrective action closes the deviation too: it is the only way a deviation
    is ever closed. Raises ValidationError unless it is delivered (on ``status``) or when the note is
    empty (on ``closure_note``); PermissionDenied as for approving.
    """
    now = timezone.now()
    closed = _advance(
        consequence=consequence,
        to=ConsequenceStatus.CLOSED,
        user=user,
        closure_note=note.strip(),
        closed_at=now,
    )
    if closed.deviation_id:
        deviation = Deviation.objects.select_for_update().get(pk=closed.deviation_id)
        if deviation.status != DeviationStatus.CLOSED:
            deviation.status = DeviationStatus.CLOSED
            deviation.closed_at = now
            deviation.full_clean()
            deviation.save(update_fields=["status", "closed_at"])
    consequence.refresh_from_db()
    return consequence


# --------------------------------------------------------------------------- the status flow, in bulk

# One confirmation moves at most this many: the page says so, and the work per request stays bounded.
BULK_LIMIT = 1000


@dataclass
class BulkPlan:
    """What one bulk step would do: the consequences that can take it, and why the others cannot."""

    to: str
    movable: list[Consequence]
    refused: list[tuple[Consequence, str]]


def bulk_plan(*, consequences: Iterable[Consequence], to: str, user) -> BulkPlan:
    """Sort `consequences` (from a scoped read) into those `user` may move to `to` and those refused,
    each with its reason (`step_refusal`). Reads nothing from the database."""
    movable, refused = [], []
    for consequence in consequences:
        reason = step_refusal(user=user, consequence=consequence, to=to)
        if reason:
            refused.append((consequence, reason))
        else:
            movable.append(consequence)
    return BulkPlan(to=to, movable=movable, refused=refused)


@transaction.atomic
def consequences_advance_bulk(*, ids: Iterable[int], to: str, user, note: str = "") -> list[Consequence]:
    """Move every consequence of `ids` one step to `to` (approved, delivered or closed), all or none.

    The rows are locked, then judged by the same rule as one step (`step_refusal`); a single refusal
    refuses the whole request (ValidationError on ``status`` naming each), as does an id missing from
    `user`'s scope, more than `BULK_LIMIT` ids, or closing without a note (on ``closure_note``).
    Writes what the single steps write, with one UPDATE per column set whatever the number: the
    timestamps, the owner (the approving user when there was none), the closure note, and the
    deviations answered by closed corrective actions. Returns the consequences moved, as locked.
    """
    if to not in STEP_VERB:
        raise ValueError(f"not a step: {to!r}")
    wanted = set(ids)
    if not wanted:
        raise ValidationError({"status": "Choose at least one consequence."})
    if len(wanted) > BULK_LIMIT:
        raise ValidationError({"status": f"At most {BULK_LIMIT} consequences can be moved at once."})
    if role_of(user) not in (Role.MANAGER, Role.ADMIN):
        raise PermissionDenied(f"Only a manager or an admin may mark consequences {STEP_VERB[to]}.")
    note = note.strip()
    if to == ConsequenceStatus.CLOSED and not note:
        raise ValidationError({"closure_note": "Say what was done before closing."})
    locked = list(
        scope_queryset(user, Consequence.objects.filter(pk__in=wanted))
        .select_for_update(of=("self",))
        .select_related("employee__user", "team__location", "location")
        .order_by("pk")
    )
    if len(locked) != len(wanted):
        raise PermissionDenied("Some of the consequences chosen are not in your scope.")
    plan = bulk_plan(consequences=locked, to=to, user=user)
    if plan.refused:
        raise ValidationError(
            {"status": [f"{c.get_action_display()} for {c.subject_label}: {why}" for c, why in plan.refused]}
        )
    now = timezone.now()
    rows = Consequence.objects.filter(pk__in=wanted)
    if to == ConsequenceStatus.APPROVED:
        rows.filter(owner__isnull=True).update(owner=user)
        rows.update(status=to, approved_at=now)
    elif to == ConsequenceStatus.DELIVERED:
        rows.update(status=to, delivered_at=now)
    else:
        rows.update(status=to, closed_at=now, closure_note=note)
        # As one close does: a deviation is closed only by its corrective action.
        Deviation.objects.filter(pk__in=[c.deviation_id for c in locked if c.deviation_id]).exclude(
            status=DeviationStatus.CLOSED
        ).update(status=DeviationStatus.CLOSED, closed_at=now)
    return locked


# --------------------------------------------------------------------------- overdue reminder

OVERDUE_NOTICE = "overdue_consequence"


def consequences_overdue_notify(*, today: date | None = None) -> dict[str, int]:
    """Email each owner (or, without one, each manager of the location) their overdue consequences.

    One email per person per run listing all their items; an item is a consequence past its due date
    and not closed, keyed ``overdue:<id>:<due date>`` so a new due date is a new reminder and the same
    one never comes twice. Returns `organization.notifications.NoticeResult` counts.
    """
    today = today or timezone.localdate()
    overdue = list(selectors.overdue_consequences(today=today))
    unowned = {c.location_id for c in overdue if not (c.owner_id and c.owner.is_active)}
    managers = location_managers(location_ids=unowned)
    users = get_user_model().objects.in_bulk({pk for ids in managers.values() for pk in ids})
    batches: dict = {}
    for c in overdue:
        recipients = (
            [c.owner]
            if c.owner_id and c.owner.is_active
            else [users[pk] for pk in managers.get(c.location_id, [])]
        )
        item = NoticeItem(
            key=f"overdue:{c.pk}:{c.due_on.isoformat()}",
            context={
                "summary": c.summary,
                "subject": c.subject_label,
                "location": c.location,
                "action": c.get_action_display(),
                "status": c.get_status_display(),
                "due_on": c.due_on,
                "days_overdue": (today - c.due_on).days,
            },
        )
        for user in recipients:
            batches.setdefault(user, []).append(item)
    return notices_send(kind=OVERDUE_NOTICE, batches=batches, template="overdue_consequences").as_dict()
