"""A schedule's recurrence (python-dateutil rrule) and its validation, shared by `Schedule.clean`,
the admin and the API; and creating one schedule per location at once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time

from dateutil import rrule as rr
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import AuditTemplate, Frequency, Schedule, TemplateStatus

WEEKDAYS = {"MO": rr.MO, "TU": rr.TU, "WE": rr.WE, "TH": rr.TH, "FR": rr.FR, "SA": rr.SA, "SU": rr.SU}
QUARTER_MONTHS = (1, 4, 7, 10)
UTC_UNTIL = re.compile(r"UNTIL=(\d{8}(?:T\d{6})?)Z", re.IGNORECASE)
# rrule frequencies from YEARLY (0) to SECONDLY (6): a custom rule finer than daily would plan
# several audits a day, which the (schedule, day, assignee) key cannot hold.
FINEST_FREQUENCY = rr.DAILY


def weekdays_parse(value: str) -> list[rr.weekday]:
    """ "MO,WE,FR" → the rrule weekdays; a ValueError names the code it does not know."""
    codes = [code.strip().upper() for code in value.split(",") if code.strip()]
    unknown = [code for code in codes if code not in WEEKDAYS]
    if unknown:
        raise ValueError(
            f"Unknown day {', '.join(unknown)}: use two-letter codes MO, TU, WE, TH, FR, SA, SU separated by commas."
        )
    return [WEEKDAYS[code] for code in dict.fromkeys(codes)]


def _custom_rule(text: str, dtstart: datetime) -> rr.rrule:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body:
        raise ValueError("A custom schedule needs a recurrence rule, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU.")
    if "\n" in body or "DTSTART" in body.upper():
        raise ValueError("Give one RRULE line only; the schedule's start date is its DTSTART.")
    # Planning works on local days: an UNTIL given in UTC ("...Z") bounds the same local date.
    body = UTC_UNTIL.sub(r"UNTIL=\1", body)
    try:
        rule = rr.rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        detail = str(exc) if str(exc).lower().startswith(("invalid", "unknown")) else ""
        raise ValueError(
            f"“{body}” is not an RFC 5545 rule{f' ({detail})' if detail else ''}; "
            "write it like FREQ=MONTHLY;BYMONTHDAY=15."
        ) from None
    if not isinstance(rule, rr.rrule):
        raise ValueError("Give one RRULE line only.")
    if rule._freq > FINEST_FREQUENCY:
        raise ValueError("A rule finer than daily (hourly, by the minute or second) cannot plan audits.")
    return rule


def schedule_rule(schedule: Schedule) -> rr.rrule:
    """The schedule's recurrence from its start date, bounded by its end date. A ValidationError
    names the field at fault (`weekdays`, `rule`)."""
    dtstart = datetime.combine(schedule.starts_on, time.min)
    until = datetime.combine(schedule.ends_on, time.max) if schedule.ends_on else None
    frequency = schedule.frequency
    if frequency == Frequency.DAILY:
        return rr.rrule(rr.DAILY, dtstart=dtstart, until=until)
    if frequency == Frequency.WEEKLY:
        try:
            days = weekdays_parse(schedule.weekdays or "")
        except ValueError as exc:
            raise ValidationError({"weekdays": str(exc)}) from None
        if not days:
            raise ValidationError({"weekdays": "A weekly schedule needs its days, e.g. MO,WE,FR."})
        return rr.rrule(rr.WEEKLY, byweekday=days, dtstart=dtstart, until=until)
    if frequency in (Frequency.MONTHLY, Frequency.QUARTERLY):
        n = schedule.day_of_month
        # The days from min(N, 28) to N that the month has; the last of them is day N, or the
        # month's last day when it is shorter (the 31st → 30 Apr, 28 or 29 Feb).
        months = QUARTER_MONTHS if frequency == Frequency.QUARTERLY else None
        return rr.rrule(
            rr.MONTHLY,
            bymonth=months,
            bymonthday=list(range(min(n, 28), n + 1)),
            bysetpos=-1,
            dtstart=dtstart,
            until=until,
        )
    if frequency == Frequency.CUSTOM:
        try:
            rule = _custom_rule(schedule.rule or "", dtstart)
        except ValueError as exc:
            raise ValidationError({"rule": str(exc)}) from None
        # The end date bounds it in `schedule_dates` (a rule with COUNT cannot also take UNTIL).
        return rule
    raise ValidationError({"frequency": f"Unknown frequency “{frequency}”."})


def schedule_dates(schedule: Schedule, start: date, end: date) -> list[date]:
    """The schedule's days from `start` to `end` (both included), within its own start and end."""
    first = max(start, schedule.starts_on)
    last = min(end, schedule.ends_on) if schedule.ends_on else end
    if last < first:
        return []
    rule = schedule_rule(schedule)
    found = rule.between(datetime.combine(first, time.min), datetime.combine(last, time.max), inc=True)
    return sorted({moment.date() for moment in found})


def _template_usable(template: AuditTemplate) -> bool:
    if template.status == TemplateStatus.PUBLISHED:
        return True
    return AuditTemplate.objects.filter(lineage=template.lineage, status=TemplateStatus.PUBLISHED).exists()


def schedule_problems(schedule: Schedule) -> dict[str, str]:
    """Field → what is wrong with the schedule (empty when it can plan audits)."""
    found: dict[str, str] = {}
    if schedule.frequency == Frequency.CUSTOM and not (schedule.rule or "").strip():
        found["rule"] = "A custom schedule needs a recurrence rule, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU."
    elif schedule.starts_on:
        try:
            schedule_rule(schedule)
        except ValidationError as exc:
            found.update({name: " ".join(messages) for name, messages in exc.message_dict.items()})
    if schedule.ends_on and schedule.starts_on and schedule.ends_on < schedule.starts_on:
        found["ends_on"] = "The end date cannot be before the start date."
    if (
        schedule.due_after_days == 0
        and schedule.due_time is not None
        and schedule.opens_at is not None
        and _as_time(schedule.due_time) <= _as_time(schedule.opens_at)
    ):
        found["due_time"] = (
            "Due the same day it opens, the due time must come after the opening time "
            f"({_as_time(schedule.opens_at):%H:%M})."
        )
    if schedule.template_id and not _template_usable(schedule.template):
        found["template"] = "This template has no published version yet: publish it before scheduling it."
    return found


def _as_time(value) -> time:
    # A default given as text ("09:00") is a time only once the field has cleaned it.
    return time.fromisoformat(value) if isinstance(value, str) else value


def schedules_create(template: AuditTemplate, locations: Iterable, **fields) -> list[Schedule]:
    """One schedule of `template` per location, all or none (one transaction). `fields` are the
    schedule's other fields; `assigned_employees` and `assigned_evaluators` (lists) are copied to
    each. A ValidationError names the field (and the location) at fault."""
    employees = list(fields.pop("assigned_employees", None) or [])
    evaluators = list(fields.pop("assigned_evaluators", None) or [])
    locations = list(locations)
    if not locations:
        raise ValidationError({"location": "Choose at least one location."})
    created = []
    with transaction.atomic():
        for location in locations:
            schedule = Schedule(template=template, location=location, **fields)
            try:
                schedule.full_clean()
            except ValidationError as exc:
                if len(locations) == 1:
                    raise
                raise ValidationError(
                    {
                        name: [f"{location}: {m}" for m in messages]
                        for name, messages in exc.message_dict.items()
                    }
                ) from None
            schedule.save()
            if employees:
                schedule.assigned_employees.set(employees)
            if evaluators:
                schedule.assigned_evaluators.set(evaluators)
            created.append(schedule)
    return created
