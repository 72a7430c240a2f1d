"""Warnings before an SLA deadline and escalation after it, run by the beat task
`cases.tasks.escalate_cases`.

A case has two deadlines: *acknowledge* (counts while the case is new) and *resolve* (while it is
open). For each, on the location's clock (`cases.sla`):

- **warning**: once no more than the policy's `warn_before_hours` opening hours remain, the owner
  (without an active owner: the location's managers) is warned, once (event WARNED, key
  ``warned:<deadline>``). No warning with 0 hours or without a policy; a deadline already passed
  is escalated instead. Warnings are looked for in the last 31 days before a deadline
  (`WARNING_HORIZON`).
- **escalation**: once it has passed, the case goes once (event ESCALATED, key
  ``escalated:<deadline>``) to the next level above `Case.escalation_level`: 1, the managers of the
  case's team; 2, the managers of its location. A level with nobody is skipped. A breach with no
  level left above goes to the highest level that has someone (they are the last who can act); with
  nobody at all it is still recorded, so that the timeline shows the breach and no run tries again.

Each run works in one transaction under a database lock, so two runs never interleave and the
second sees what the first recorded (the events' unique keys would refuse a repeat anyway). It
takes at most `CASES_ESCALATION_BATCH` cases with something possibly to do, the soonest deadline
first; the rest wait for the next run. Cases someone is changing at that moment are skipped (row
locks, SKIP LOCKED) and come next run. A case whose stored data cannot be worked with is logged
and left out; the others go on. Each person gets one email per run listing their cases
(`organization.notifications.notices_send`), sent after the transaction commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case as Choose
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from organization.formatting import day
from organization.models import Team
from organization.notifications import NoticeItem, notices_send, serialise_runs
from organization.scope import location_managers

from ..models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, EventKind
from ..sla import opening_schedules
from .core import event_record

logger = logging.getLogger(__name__)

# The lock that serialises runs, and the notices' kind (one email per person per run).
ESCALATION_LOCK = "cases-escalation"
NOTICE_KIND = "case-sla"
TEAM_LEVEL, LOCATION_LEVEL = 1, 2
LEVEL_NAMES = {TEAM_LEVEL: "the team's managers", LOCATION_LEVEL: "the location's managers"}
# A warning is looked for only this close to its deadline, so that cases due in months do not take
# every run's batch: 168 opening hours, the longest warning, fit in 31 days of any week open 38
# hours or more; a location open less is warned no earlier than 31 days before the deadline.
WARNING_HORIZON = timedelta(days=31)
# Sorts a case with no deadline left to act on after every real one.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Deadline:
    name: str
    field: str
    label: str
    statuses: tuple[str, ...]

    @property
    def warned_key(self) -> str:
        return f"warned:{self.name}"

    @property
    def escalated_key(self) -> str:
        return f"escalated:{self.name}"


DEADLINES = (
    Deadline("acknowledge", "acknowledge_due_at", "Acknowledgement", (CaseStatus.NEW,)),
    Deadline("resolve", "resolve_due_at", "Resolution", tuple(OPEN_STATUSES)),
)


@dataclass
class EscalationResult:
    """What one run did: cases looked at, warnings and escalations recorded, emails prepared."""

    cases: int = 0
    warned: int = 0
    escalated: int = 0
    emails: int = 0
    skipped: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "cases": self.cases,
            "warned": self.warned,
            "escalated": self.escalated,
            "emails": self.emails,
            "skipped": self.skipped,
        }


def _event_exists(key: str) -> Exists:
    return Exists(CaseEvent.objects.filter(case=OuterRef("pk"), key=key))


def _actionable(deadline: Deadline, now: datetime) -> Q:
    """The deadline runs, is not escalated yet, and has passed or may still need its warning."""
    due = deadline.field
    warnable = Q(
        sla_policy__warn_before_hours__gt=0,
        **{f"{deadline.name}_warned": False, f"{due}__lte": now + WARNING_HORIZON},
    )
    return Q(
        status__in=deadline.statuses, **{f"{due}__isnull": False, f"{deadline.name}_escalated": False}
    ) & (Q(**{f"{due}__lte": now}) | warnable)


def cases_to_escalate(*, now: datetime, limit: int):
    """The open cases with a deadline to act on, the soonest first, row-locked for this run."""
    annotated = Case.objects.annotate(
        **{f"{d.name}_warned": _event_exists(d.warned_key) for d in DEADLINES},
        **{f"{d.name}_escalated": _event_exists(d.escalated_key) for d in DEADLINES},
    )
    far = Value(FAR_FUTURE, output_field=DateTimeField())
    next_due = Least(
        *(Coalesce(Choose(When(_actionable(d, now), then=F(d.field)), default=None), far) for d in DEADLINES)
    )
    return (
        annotated.filter(_actionable(DEADLINES[0], now) | _actionable(DEADLINES[1], now))
        .annotate(next_due=next_due)
        .select_related("location", "team", "sla_policy", "owner__user")
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("next_due", "pk")[:limit]
    )


def _team_managers(team_ids: set[int]) -> dict[int, list[int]]:
    rows = (
        Team.managers.through.objects.filter(team_id__in=team_ids, user__is_active=True)
        .values_list("team_id", "user_id")
        .order_by("user_id")
    )
    found: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in rows:
        found[team_id].append(user_id)
    return found


def _names(users) -> str:
    text = ", ".join(user.get_full_name() or user.get_username() for user in users)
    # The event's recipient column holds 254 characters; the email lists everyone.
    return text if len(text) <= 254 else text[:253] + "…"


@dataclass
class _Run:
    now: datetime
    users: dict
    team_managers: dict[int, list[int]]
    location_managers: dict[int, list[int]]
    schedules: dict
    batches: dict = field(default_factory=lambda: defaultdict(list))
    # The current case's emails, kept only once its savepoint has held.
    pending: list = field(default_factory=list)

    def level_users(self, case: Case, level: int) -> list:
        if level == TEAM_LEVEL:
            ids = self.team_managers.get(case.team_id, []) if case.team_id else []
        else:
            ids = self.location_managers.get(case.location_id, [])
        return [self.users[pk] for pk in ids if pk in self.users]

    def item(self, case: Case, deadline: Deadline, due: datetime, *, escalated: bool) -> NoticeItem:
        owner = case.owner.full_name if case.owner_id else "nobody"
        return NoticeItem(
            key=f"case:{case.pk}:{deadline.escalated_key if escalated else deadline.warned_key}",
            context={
                "kind": "escalated" if escalated else "warned",
                "reference": case.reference,
                "title": case.title,
                "location": str(case.location),
                "severity": case.get_severity_display(),
                "deadline": deadline.label,
                "due": day(due, with_time=True),
                "owner": owner,
            },
        )


def _warn(run: _Run, case: Case, deadline: Deadline, due: datetime) -> None:
    owner = case.owner
    if owner is not None and owner.active and owner.user.is_active:
        recipients, who = [owner.user], f"{owner.full_name} (owner)"
    else:
        recipients = run.level_users(case, LOCATION_LEVEL)
        who = _names(recipients) if recipients else ""
    text = f"{deadline.label} due {day(due, with_time=True)}: " + (
        f"warned {who}." if who else "no owner or location manager to warn."
    )
    event_record(
        case=case, kind=EventKind.WARNED, text=text, key=deadline.warned_key, at=run.now, recipient=who[:254]
    )
    item = run.item(case, deadline, due, escalated=False)
    for user in recipients:
        run.pending.append((user, item))


def _escalate(run: _Run, case: Case, deadline: Deadline, due: datetime) -> None:
    staffed = [level for level in (TEAM_LEVEL, LOCATION_LEVEL) if run.level_users(case, level)]
    above = [level for level in staffed if level > case.escalation_level]
    level = above[0] if above else (staffed[-1] if staffed else None)
    passed = f"{deadline.label} deadline {day(due, with_time=True)} passed"
    if level is None:
        event_record(
            case=case,
            kind=EventKind.ESCALATED,
            text=f"{passed}; no team or location manager to escalate to.",
            key=deadline.escalated_key,
            at=run.now,
        )
        return
    recipients = run.level_users(case, level)
    event_record(
        case=case,
        kind=EventKind.ESCALATED,
        text=f"{passed}; escalated to {LEVEL_NAMES[level]}: {_names(recipients)}.",
        key=deadline.escalated_key,
        at=run.now,
        recipient=_names(recipients),
    )
    if level != case.escalation_level:
        case.escalation_level = level
        case.save(update_fields=["escalation_level", "updated_at"])
    item = run.item(case, deadline, due, escalated=True)
    for user in recipients:
        run.pending.append((user, item))


def _case_escalate(run: _Run, case: Case) -> tuple[int, int]:
    """Warnings and escalations recorded for one case."""
    schedule = run.schedules[case.location_id]
    warn_hours = case.sla_policy.warn_before_hours if case.sla_policy_id else 0
    warned = escalated = 0
    for deadline in DEADLINES:
        due = getattr(case, deadline.field)
        if due is None or case.status not in deadline.statuses or getattr(case, f"{deadline.name}_escalated"):
            continue
        if due <= run.now:
            _escalate(run, case, deadline, due)
            escalated += 1
        elif (
            warn_hours > 0
            and not getattr(case, f"{deadline.name}_warned")
            and run.now >= schedule.subtract(due, warn_hours)
        ):
            _warn(run, case, deadline, due)
            warned += 1
    return warned, escalated


def cases_escalate(*, now: datetime | None = None) -> EscalationResult:
    """Warn owners of deadlines coming, escalate deadlines passed: one run (see the module docstring)."""
    now = now or timezone.now()
    result = EscalationResult()
    with transaction.atomic():
        serialise_runs(ESCALATION_LOCK)
        cases = list(cases_to_escalate(now=now, limit=settings.CASES_ESCALATION_BATCH))
        result.cases = len(cases)
        if not cases:
            return result
        team_managers = _team_managers({c.team_id for c in cases if c.team_id})
        managers_by_location = location_managers(location_ids={c.location_id for c in cases})
        user_ids = {pk for ids in (*team_managers.values(), *managers_by_location.values()) for pk in ids}
        run = _Run(
            now=now,
            users=get_user_model().objects.in_bulk(user_ids),
            team_managers=team_managers,
            location_managers=managers_by_location,
            schedules=opening_schedules({c.location_id for c in cases}),
        )
        for case in cases:
            run.pending = []
            try:
                with transaction.atomic():
                    warned, escalated = _case_escalate(run, case)
                result.warned += warned
                result.escalated += escalated
                for user, item in run.pending:
                    run.batches[user].append(item)
            except Exception:
                # One case's odd data (a date past the calendar, a limit past its validators) must
                # not stop the others: its savepoint is rolled back and it is tried again next run.
                logger.exception("Case %s left out of the SLA run", case.pk)
                result.skipped.append(case.pk)
        # Escalations first in each email, then the warnings (the template groups them).
        batches = {
            user: sorted(items, key=lambda item: item.context["kind"] != "escalated")
            for user, items in run.batches.items()
        }
        sent = notices_send(kind=NOTICE_KIND, batches=batches, template="case_escalation", now=now)
        result.emails = sent.emails
    return result
