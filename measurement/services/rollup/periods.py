"""Periods in the organisation's time zone: days, ISO weeks, months and quarters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from django.db.models import (
    DateField,
    Q,
)
from django.db.models.functions import TruncDay, TruncMonth, TruncQuarter, TruncWeek

from measurement.models import (
    PeriodKind,
)

from .scorecards import PERIOD_KINDS

_TRUNC = {
    PeriodKind.DAY: TruncDay,
    PeriodKind.WEEK: TruncWeek,
    PeriodKind.MONTH: TruncMonth,
    PeriodKind.QUARTER: TruncQuarter,
}


def period_start(kind: str, day: date) -> date:
    """The first day of the period of `kind` containing `day` (weeks start on Monday, ISO 8601)."""
    if kind == PeriodKind.DAY:
        return day
    if kind == PeriodKind.WEEK:
        return day - timedelta(days=day.weekday())
    if kind == PeriodKind.MONTH:
        return day.replace(day=1)
    if kind == PeriodKind.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown period kind {kind!r}")


def period_end(kind: str, start: date) -> date:
    """The first day after the period of `kind` starting on `start`."""
    if kind == PeriodKind.DAY:
        return start + timedelta(days=1)
    if kind == PeriodKind.WEEK:
        return start + timedelta(days=7)
    months = 1 if kind == PeriodKind.MONTH else 3
    month_index = start.month - 1 + months
    return date(start.year + month_index // 12, month_index % 12 + 1, 1)


def periods_containing(days: Iterable[date]) -> dict[str, set[date]]:
    """Period kind → starts of the periods that contain any of `days`."""
    return {kind: {period_start(kind, day) for day in days} for kind in PERIOD_KINDS}


def window_filter(column: str, kind: str, starts: set[date], tz: ZoneInfo) -> Q:
    """A sargable filter on `column` (a UTC timestamp) covering the periods `starts` of `kind`."""
    window = Q()
    for low, high in window_ranges(kind, starts, tz):
        window |= Q(**{f"{column}__gte": low, f"{column}__lt": high})
    return window


def window_ranges(kind: str, starts: set[date], tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """[low, high) instants that cover the periods `starts` of `kind`.

    Adjacent periods merge into one range. Each range is widened by a day on both sides so that
    no daylight-saving oddity (a skipped or repeated midnight) can leave a row outside; rows of
    the neighbouring periods this lets in are dropped after grouping.
    """
    ranges: list[list[date]] = []
    for start in sorted(starts):
        low, high = start - timedelta(days=1), period_end(kind, start) + timedelta(days=1)
        if ranges and low <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], high)
        else:
            ranges.append([low, high])
    return [(local_midnight(low, tz), local_midnight(high, tz)) for low, high in ranges]


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time.min, tzinfo=tz)


def period_of(kind: str, column: str, tz: ZoneInfo):
    """The start date of the period of `kind` containing `column`, computed in the database in `tz`."""
    return _TRUNC[kind](column, output_field=DateField(), tzinfo=tz)
