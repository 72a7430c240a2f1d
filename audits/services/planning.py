"""Planning audits from their schedules, and moving them along the clock.

- `occurrences_plan`: each active schedule's occurrences from a short back window to a look-ahead;
- `occurrences_advance`: scheduled → open at the opening time, → missed after the closing time;
- `occurrences_remind`: the assignees, once, before the due time;
- `missed_alerts_send`: the location's managers, once, when one is missed.

Every step is idempotent and safe when two runs overlap: occurrences are unique on (schedule,
day, assignee) and created with ignore_conflicts, status changes are conditional UPDATEs, and
emails go through `organization.notifications.notices_send` (never the same item twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from organization.models import Employee
from organization.notifications import NoticeItem, notices_send
from organization.scope import location_managers

from ..models import (
    AssigneeMode,
    AuditTemplate,
    ExternalEvaluator,
    Occurrence,
    OccurrenceStatus,
    Schedule,
    TemplateStatus,
)
from ..signals import audits_missed
from .schedules import schedule_dates

logger = logging.getLogger(__name__)

DUE_NOTICE = "audit_due"
MISSED_NOTICE = "audit_missed"
OPEN_STATUSES = (OccurrenceStatus.SCHEDULED, OccurrenceStatus.OPEN)


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at the local wall-clock time `at`, as an aware UTC datetime.

    Built from the wall clock of that very day, so a 09:00 opening is 09:00 local on both sides
    of a DST change. The times the change skips or repeats resolve with fold=0 (PEP 495): a time
    that does not exist (01:30 on the last Sunday of March in London) takes the offset before the
    change, i.e. it moves forward by the gap (02:30 BST); a time that happens twice (01:30 on the
    last Sunday of October) is its first, earlier instance (01:30 BST). fold=0 keeps the order of
    wall-clock times, so an opening before a due time stays before it.
    """
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def occurrence_window(schedule: Schedule, day: date, zone: ZoneInfo | None = None) -> tuple[datetime, ...]:
    """(opens_at, due_at, closes_at) of the schedule's occurrence on `day`."""
    zone = zone or ZoneInfo(settings.TIME_ZONE)
    opens_at = local_moment(day, schedule.opens_at, zone)
    due_day = day + timedelta(days=schedule.due_after_days)
    due_at = local_moment(due_day, schedule.due_time, zone)
    # Late submission is allowed for whole local days: the same wall-clock time that many days on.
    closes_at = local_moment(due_day + timedelta(days=schedule.late_allowed_days), schedule.due_time, zone)
    return opens_at, due_at, closes_at


@dataclass(frozen=True)
class Assignee:
    key: str
    employee_id: int | None = None
    evaluator_id: int | None = None


def schedule_assignees(schedule: Schedule) -> list[Assignee]:
    """One occurrence's assignee per planned occurrence: nobody in particular for "any one of
    them"; each listed employee, each active member of the team (once, same keys) and each
    active external evaluator for "each of them". Uses the prefetched relations."""
    if schedule.assignee_mode != AssigneeMode.EACH:
        return [Assignee("")]
    employees = {e.pk for e in schedule.assigned_employees.all()}
    if schedule.assigned_team_id:
        employees |= {e.pk for e in schedule.assigned_team.members.all()}
    found = [Assignee(f"e{pk}", employee_id=pk) for pk in sorted(employees)]
    found += [Assignee(f"x{x.pk}", evaluator_id=x.pk) for x in schedule.assigned_evaluators.all()]
    # "Each of them" with nobody listed still plans the audit, for anyone at the location who
    # may do it, rather than silently planning nothing.
    return found or [Assignee("")]


def _planning_schedules():
    return (
        Schedule.objects.filter(active=True)
        .select_related("template", "location", "assigned_team")
        .prefetch_related(
            Prefetch("assigned_employees", queryset=Employee.objects.filter(active=True)),
            Prefetch(
                "assigned_team__members", queryset=Employee.objects.filter(active=True, user__is_active=True)
            ),
            Prefetch("assigned_evaluators", queryset=_active_evaluators()),
        )
    )


def _active_evaluators():
    return ExternalEvaluator.objects.filter(active=True, user__is_active=True)


def occurrences_plan(now: datetime | None = None, schedules=None) -> int:
    """Create the occurrences of every active schedule (or of the active ones among `schedules`) from max(its start, today minus
    AUDIT_PLAN_BACK_DAYS) to today plus AUDIT_PLAN_AHEAD_DAYS (local days). Returns how many
    were created. A schedule whose template has no published version, or whose stored rule no
    longer parses, is skipped with a logged reason; the others are planned."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(zone).date()
    start = today - timedelta(days=settings.AUDIT_PLAN_BACK_DAYS)
    end = today + timedelta(days=settings.AUDIT_PLAN_AHEAD_DAYS)
    published = set(
        AuditTemplate.objects.filter(status=TemplateStatus.PUBLISHED).values_list("lineage", flat=True)
    )
    created = 0
    planning = _planning_schedules()
    if schedules is not None:
        planning = planning.filter(pk__in=schedules.values("pk"))
    for schedule in planning:
        if schedule.template.lineage not in published:
            logger.warning("Audit schedule %s skipped: its template has no published version", schedule.pk)
            continue
        try:
            days = schedule_dates(schedule, start, end)
        except ValidationError as exc:
            logger.warning("Audit schedule %s skipped: %s", schedule.pk, "; ".join(exc.messages))
            continue
        if not days:
            continue
        assignees = schedule_assignees(schedule)
        existing = set(
            Occurrence.objects.filter(schedule=schedule, scheduled_for__gte=days[0]).values_list(
                "scheduled_for", "assignee_key"
            )
        )
        rows = []
        for day in days:
            try:
                opens_at, due_at, closes_at = occurrence_window(schedule, day, zone)
            except (OverflowError, ValueError):
                logger.warning("Audit schedule %s: %s is out of range, left out", schedule.pk, day)
                continue
            if not opens_at < due_at:
                logger.warning(
                    "Audit schedule %s: on %s it would be due before it opens, left out", schedule.pk, day
                )
                continue
            for person in assignees:
                if (day, person.key) in existing:
                    continue
                rows.append(
                    Occurrence(
                        schedule=schedule,
                        location=schedule.location,
                        scheduled_for=day,
                        opens_at=opens_at,
                        due_at=due_at,
                        closes_at=closes_at,
                        assignee_key=person.key,
                        assigned_employee_id=person.employee_id,
                        assigned_evaluator_id=person.evaluator_id,
                        status=OccurrenceStatus.OPEN
                        if opens_at <= now < closes_at
                        else OccurrenceStatus.SCHEDULED,
                    )
                )
        # A run overlapping this one may have created some of them since `existing` was read: the
        # unique (schedule, day, assignee) leaves those as they are.
        Occurrence.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        created += len(rows)
    return created


def occurrences_advance(now: datetime | None = None) -> dict[str, int]:
    """Open the occurrences whose opening time has come; mark missed those past their closing
    time and not submitted. Conditional UPDATEs: a submission or another run changing a row at
    the same time leaves it in the state the first writer gave it (done and late stay so)."""
    now = now or timezone.now()
    missed = Occurrence.objects.filter(status__in=OPEN_STATUSES, closes_at__lt=now).update(
        status=OccurrenceStatus.MISSED
    )
    opened = Occurrence.objects.filter(
        status=OccurrenceStatus.SCHEDULED, opens_at__lte=now, closes_at__gte=now
    ).update(status=OccurrenceStatus.OPEN)
    return {"opened": opened, "missed": missed}


def _occurrence_context(occurrence: Occurrence, zone: ZoneInfo) -> dict:
    return {
        "title": occurrence.schedule.template.title,
        "location": occurrence.location,
        "scheduled_for": occurrence.scheduled_for,
        "opens_at": occurrence.opens_at.astimezone(zone),
        "due_at": occurrence.due_at.astimezone(zone),
        "closes_at": occurrence.closes_at.astimezone(zone),
        "late_allowed": occurrence.closes_at > occurrence.due_at,
    }


def _recipients(occurrence: Occurrence) -> list:
    """The users to remind: the occurrence's own assignee, or for "any one of them" everyone the
    schedule lists (employees, the team's active members, external evaluators)."""
    if occurrence.assigned_employee_id:
        employee = occurrence.assigned_employee
        return [employee.user] if employee.active and employee.user.is_active else []
    if occurrence.assigned_evaluator_id:
        evaluator = occurrence.assigned_evaluator
        return [evaluator.user] if evaluator.active and evaluator.user.is_active else []
    schedule = occurrence.schedule
    users = {e.user for e in schedule.assigned_employees.all() if e.user.is_active}
    if schedule.assigned_team_id:
        users |= {e.user for e in schedule.assigned_team.members.all()}
    users |= {x.user for x in schedule.assigned_evaluators.all()}
    return sorted(users, key=lambda u: u.pk)


def occurrences_remind(now: datetime | None = None) -> dict[str, int]:
    """Email the assignees of the occurrences due within AUDIT_REMINDER_HOURS and not submitted,
    once each (one email per person listing all of theirs); marks them reminded."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    due = list(
        Occurrence.objects.filter(
            status__in=OPEN_STATUSES,
            reminded_at__isnull=True,
            due_at__gt=now,
            due_at__lte=now + timedelta(hours=settings.AUDIT_REMINDER_HOURS),
        )
        .select_related(
            "schedule__template",
            "schedule__assigned_team",
            "location",
            "assigned_employee__user",
            "assigned_evaluator__user",
        )
        .prefetch_related(
            Prefetch(
                "schedule__assigned_employees",
                queryset=Employee.objects.filter(active=True).select_related("user"),
            ),
            Prefetch(
                "schedule__assigned_team__members",
                queryset=Employee.objects.filter(active=True, user__is_active=True).select_related("user"),
            ),
            Prefetch("schedule__assigned_evaluators", queryset=_active_evaluators().select_related("user")),
        )
    )
    batches: dict = {}
    reminded = []
    for occurrence in due:
        users = _recipients(occurrence)
        if not users:
            continue
        item = NoticeItem(key=f"audit-due:{occurrence.pk}", context=_occurrence_context(occurrence, zone))
        for user in users:
            batches.setdefault(user, []).append(item)
        reminded.append(occurrence.pk)
    with transaction.atomic():
        result = notices_send(kind=DUE_NOTICE, batches=batches, template="audit_due", now=now)
        Occurrence.objects.filter(pk__in=reminded, reminded_at__isnull=True).update(reminded_at=now)
    return result.as_dict()


def missed_alerts_send(now: datetime | None = None) -> dict[str, int]:
    """Email the managers of each missed occurrence's location, once per occurrence; marks it
    alerted. A location without an active manager is alerted once it has one."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    missed = list(
        Occurrence.objects.filter(
            status=OccurrenceStatus.MISSED, missed_alerted_at__isnull=True
        ).select_related(
            "schedule__template", "location", "assigned_employee__user", "assigned_evaluator__user"
        )
    )
    managers = location_managers(location_ids={o.location_id for o in missed})
    users = get_user_model().objects.in_bulk({pk for ids in managers.values() for pk in ids})
    batches: dict = {}
    alerted = []
    for occurrence in missed:
        recipients = [users[pk] for pk in managers.get(occurrence.location_id, [])]
        if not recipients:
            continue
        assignee = occurrence.assigned_employee or occurrence.assigned_evaluator
        context = _occurrence_context(occurrence, zone) | {"assignee": str(assignee) if assignee else ""}
        item = NoticeItem(key=f"audit-missed:{occurrence.pk}", context=context)
        for user in recipients:
            batches.setdefault(user, []).append(item)
        alerted.append(occurrence.pk)
    with transaction.atomic():
        result = notices_send(kind=MISSED_NOTICE, batches=batches, template="audit_missed", now=now)
        Occurrence.objects.filter(pk__in=alerted, missed_alerted_at__isnull=True).update(
            missed_alerted_at=now
        )
    return result.as_dict()


def audits_plan_and_notify(now: datetime | None = None) -> dict:
    """The periodic job: plan, advance, remind, alert (in that order, on one clock)."""
    now = now or timezone.now()
    planned = occurrences_plan(now=now)
    advanced = occurrences_advance(now=now)
    if advanced["missed"]:
        # After commit, so that receivers read the audits as missed (audits.signals).
        count = advanced["missed"]
        transaction.on_commit(lambda: audits_missed.send(sender=Occurrence, count=count))
    return {
        "planned": planned,
        **advanced,
        "reminders": occurrences_remind(now=now),
        "missed_alerts": missed_alerts_send(now=now),
    }
