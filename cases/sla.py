"""Which SLA policy applies to a case, and when its deadlines fall on the location's clock.

Policy: the most specific active policy of the case's severity applies: location and touchpoint,
then location, then touchpoint, then the severity's general policy. A case with no policy has no
deadlines.

The clock: a location's `OpeningHours` rows (one per weekday, local wall-clock times in the
organisation's `TIME_ZONE`) say when it is open.

- A location with **no rows** is open around the clock: an hour is an elapsed hour. Across a DST
  change the wall clock moves, the elapsed time does not (24 hours after Saturday 12:00 GMT before
  spring-forward is Sunday 13:00 BST).
- A location with rows is open only then; a weekday without a row is closed. Each day's opening is
  made an aware datetime with zoneinfo and counted in real (UTC) time, so a DST change never shifts
  opening times: Monday 09:00 is 09:00 on the wall in GMT and in BST alike.

Deadlines:

- **Acknowledge within N hours**: N opening hours after the case was opened (time while closed does
  not count; a case opened while closed starts counting at the next opening).
- **Resolve within M days**: round the clock, M × 24 hours. With opening hours, M *opening days*:
  the deadline falls as far into the M-th opening day after the case's own opening day as the case
  was into its own, cut at that day's closing time. The case's own opening day is the day it was
  opened on if that day is open and not yet closed, otherwise the next open day, with the position
  at its opening. Worked examples, Monday to Friday 09:00–17:00, Saturday 10:00–14:00:
  opened Monday 15:00, 1 day → Tuesday 15:00; opened Friday 15:00, 1 day → Saturday 14:00 (15:00 is
  past Saturday's closing); opened Saturday 18:00, 2 days → Tuesday 09:00 (Monday 09:00 is its own
  opening day's start, plus two opening days).

Every function takes an optional `schedule` (from `opening_schedules`) so that a caller working on
many cases loads each location's hours once; without one it costs one query. `deadlines_for_many`
computes the deadlines of many new cases in two queries whatever their number.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from organization.models import OpeningHours

from .models import SlaPolicy

logger = logging.getLogger(__name__)

# How far ahead (or back) the clock looks for the opening hours it counts. The policies' own limits
# (720 hours, 365 days) fit in well under a year of any sensible week; a week of a few minutes
# would need centuries, and is refused rather than counted for seconds on end.
MAX_SCAN_DAYS = 20 * 366


class ClockError(ValueError):
    """The opening hours cannot hold the time asked for within the clock's range."""


@dataclass(frozen=True)
class OpeningSchedule:
    """A location's week: weekday (0 = Monday) → (opens at, closes at) in local wall-clock time.

    Empty means open around the clock.
    """

    week: Mapping[int, tuple[time, time]]
    zone: ZoneInfo

    @property
    def round_the_clock(self) -> bool:
        return not self.week

    def _opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening as aware UTC datetimes, or None when closed that day."""
        row = self.week.get(day.weekday())
        if row is None:
            return None
        # Wall-clock times made aware in the zone, then compared in UTC: a time in the spring-forward
        # gap reads as zoneinfo's first offset; a day whose opening the gap swallows is closed.
        opens = datetime.combine(day, row[0], tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, row[1], tzinfo=self.zone).astimezone(UTC)
        return (opens, closes) if opens < closes else None

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _days_from(self, moment: datetime, step: int) -> Iterable[tuple[date, datetime, datetime]]:
        """Open days (with their opening) from `moment`'s local day, forwards (+1) or backwards (−1)."""
        day = self._local_day(moment)
        for _ in range(MAX_SCAN_DAYS):
            opening = self._opening(day)
            if opening is not None:
                yield day, *opening
            day += timedelta(days=step)
        raise ClockError(f"The opening hours hold too little time to count within {MAX_SCAN_DAYS} days.")

    def add(self, start: datetime, hours: float) -> datetime:
        """`start` plus `hours` of opening time."""
        if hours < 0:
            raise ClockError("Opening hours to add cannot be negative.")
        remaining = timedelta(hours=hours)
        # In UTC: an aware datetime plus a timedelta in its own zone is wall-clock arithmetic.
        start = start.astimezone(UTC)
        if self.round_the_clock:
            return start + remaining
        for _day, opens, closes in self._days_from(start, 1):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable: _days_from raises when it runs out")

    def subtract(self, end: datetime, hours: float) -> datetime:
        """The moment `hours` of opening time before `end`."""
        if hours < 0:
            raise ClockError("Opening hours to subtract cannot be negative.")
        remaining = timedelta(hours=hours)
        end = end.astimezone(UTC)
        if self.round_the_clock:
            return end - remaining
        for _day, opens, closes in self._days_from(end, -1):
            stop = min(closes, end)
            if opens >= stop:
                continue
            if remaining <= stop - opens:
                return stop - remaining
            remaining -= stop - opens
        raise AssertionError("unreachable: _days_from raises when it runs out")

    def between(self, start: datetime, end: datetime) -> float:
        """Opening hours from `start` to `end` (0 when `end` is not after `start`)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0.0
        if self.round_the_clock:
            return (end - start).total_seconds() / 3600
        total = timedelta()
        day, last_day = self._local_day(start), self._local_day(end)
        while day <= last_day:
            if (opening := self._opening(day)) is not None:
                overlap = min(opening[1], end) - max(opening[0], start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def add_days(self, start: datetime, days: int) -> datetime:
        """The resolve deadline: `days` × 24 hours round the clock, else `days` opening days later
        at the same point of the opening day (see the module's docstring)."""
        if days < 0:
            raise ClockError("Opening days to add cannot be negative.")
        start = start.astimezone(UTC)
        if self.round_the_clock:
            return start + timedelta(days=days)
        open_days = iter(self._days_from(start, 1))
        # The case's own opening day: the first open day not yet closed at `start`.
        for _day, opens, closes in open_days:
            if closes > start:
                into_day = max(start, opens) - opens
                break
        for _ in range(days):
            _day, opens, closes = next(open_days)
        return min(opens + into_day, closes)


def _schedule(week: Mapping[int, tuple[time, time]]) -> OpeningSchedule:
    return OpeningSchedule(week=dict(week), zone=ZoneInfo(settings.TIME_ZONE))


def opening_schedules(location_ids: Iterable[int]) -> dict[int, OpeningSchedule]:
    """The clock of each location (one query for all of them); a location without rows is open
    around the clock."""
    ids = set(location_ids)
    weeks: dict[int, dict[int, tuple[time, time]]] = {pk: {} for pk in ids}
    rows = OpeningHours.objects.filter(location_id__in=ids).values_list(
        "location_id", "weekday", "opens_at", "closes_at"
    )
    for location_id, weekday, opens_at, closes_at in rows:
        weeks[location_id][weekday] = (opens_at, closes_at)
    return {pk: _schedule(week) for pk, week in weeks.items()}


def _clock(location_id: int, schedule: OpeningSchedule | None) -> OpeningSchedule:
    return schedule if schedule is not None else opening_schedules([location_id])[location_id]


def add_opening_hours(
    start: datetime, hours: float, *, location_id: int, schedule: OpeningSchedule | None = None
) -> datetime:
    """`start` plus `hours` of the location's opening time."""
    return _clock(location_id, schedule).add(start, hours)


def subtract_opening_hours(
    end: datetime, hours: float, *, location_id: int, schedule: OpeningSchedule | None = None
) -> datetime:
    """The moment `hours` of the location's opening time before `end` (when to warn of a deadline)."""
    return _clock(location_id, schedule).subtract(end, hours)


def opening_hours_between(
    start: datetime, end: datetime, *, location_id: int, schedule: OpeningSchedule | None = None
) -> float:
    """Opening hours of the location from `start` to `end` (time to acknowledge or resolve, in the
    same hours as the deadlines)."""
    return _clock(location_id, schedule).between(start, end)


def add_opening_days(
    start: datetime, days: int, *, location_id: int, schedule: OpeningSchedule | None = None
) -> datetime:
    """The resolve deadline `days` after `start` on the location's clock (see the module's docstring)."""
    return _clock(location_id, schedule).add_days(start, days)


@dataclass(frozen=True)
class Deadlines:
    policy: SlaPolicy | None
    acknowledge_due_at: datetime | None
    resolve_due_at: datetime | None


@dataclass(frozen=True)
class DeadlineRequest:
    """One new case's facts that decide its deadlines (for `deadlines_for_many`)."""

    severity: str
    location_id: int
    touchpoint_id: int | None
    opened_at: datetime


def _specificity(policy: SlaPolicy) -> tuple[bool, bool]:
    return (policy.location_id is not None, policy.touchpoint_id is not None)


def _most_specific(
    policies: Iterable[SlaPolicy], *, severity: str, location_id: int, touchpoint_id: int | None
) -> SlaPolicy | None:
    fitting = (
        p
        for p in policies
        if p.severity == severity
        and p.location_id in (None, location_id)
        and p.touchpoint_id in (None, touchpoint_id)
    )
    return max(fitting, key=_specificity, default=None)


def policy_for(*, severity: str, location_id: int, touchpoint_id: int | None) -> SlaPolicy | None:
    """The most specific active policy for a case (one query)."""
    candidates = SlaPolicy.objects.filter(
        Q(location_id=location_id) | Q(location__isnull=True),
        Q(touchpoint_id=touchpoint_id) | Q(touchpoint__isnull=True),
        severity=severity,
        active=True,
    )
    return _most_specific(candidates, severity=severity, location_id=location_id, touchpoint_id=touchpoint_id)


def _deadlines(policy: SlaPolicy | None, opened_at: datetime, schedule: OpeningSchedule) -> Deadlines:
    if policy is None:
        return Deadlines(None, None, None)
    try:
        return Deadlines(
            policy,
            schedule.add(opened_at, policy.acknowledge_within_hours),
            schedule.add_days(opened_at, policy.resolve_within_days),
        )
    except (ClockError, OverflowError) as error:
        # A week of minutes or a limit stored past its validators: the case still opens, without a
        # clock, rather than refusing a customer's complaint.
        logger.warning("SLA policy %s gives no deadline from %s: %s", policy.pk, opened_at, error)
        return Deadlines(policy, None, None)


def deadlines_for(
    *,
    severity: str,
    location_id: int,
    touchpoint_id: int | None,
    opened_at: datetime,
    schedule: OpeningSchedule | None = None,
) -> Deadlines:
    """The policy and deadlines of one new case (two queries: the policy, the location's hours)."""
    policy = policy_for(severity=severity, location_id=location_id, touchpoint_id=touchpoint_id)
    if policy is None:
        return Deadlines(None, None, None)
    return _deadlines(policy, opened_at, _clock(location_id, schedule))


def deadlines_for_many(requests: Sequence[DeadlineRequest]) -> list[Deadlines]:
    """The deadlines of many new cases, in the order asked, in two queries (policies, hours)."""
    if not requests:
        return []
    location_ids = {r.location_id for r in requests}
    touchpoint_ids = {r.touchpoint_id for r in requests if r.touchpoint_id is not None}
    policies = list(
        SlaPolicy.objects.filter(
            Q(location_id__in=location_ids) | Q(location__isnull=True),
            Q(touchpoint_id__in=touchpoint_ids) | Q(touchpoint__isnull=True),
            severity__in={r.severity for r in requests},
            active=True,
        )
    )
    schedules = opening_schedules(location_ids)
    return [
        _deadlines(
            _most_specific(
                policies, severity=r.severity, location_id=r.location_id, touchpoint_id=r.touchpoint_id
            ),
            r.opened_at,
            schedules[r.location_id],
        )
        for r in requests
    ]
