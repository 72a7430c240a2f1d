"""Dates in words for text written in Python: messages, labels, `__str__`.

    day(date(2026, 8, 4))                       4 Aug 2026
    day(observed_at, with_time=True)            4 Aug 2026 14:05
    duration_words(timedelta(hours=3, minutes=20))  3 h 20 min

The same words as the `day` template filter (`{{ value|date:"j M Y" }}`): day without a leading
zero, short month, year; a datetime is read in the local time zone. CSV exports and the API's
fields keep ISO dates: machines read them.

It lives in `organization`, the lowest app, so that every app may import it.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

from django.utils import dateformat, timezone

DAY_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DASH = "—"


def day(value, *, with_time: bool = False) -> str:
    """A date in words: '4 Aug 2026'; with `with_time`, a datetime's time too: '4 Aug 2026 14:05'.

    An aware datetime is read in the local time zone (as it stands when that is impossible, at
    the very ends of the calendar); None or anything else that is no date reads '—'.
    """
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            with contextlib.suppress(OverflowError, ValueError):
                value = timezone.localtime(value)
    elif isinstance(value, date):
        with_time = False
    else:
        return DASH
    return dateformat.format(value, f"{DAY_FORMAT} {TIME_FORMAT}" if with_time else DAY_FORMAT)


def duration_words(delta: timedelta) -> str:
    """A length of time as people say it: '25 min', '3 h', '3 h 20 min', '2 days 4 h'."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{max(minutes, 1)} min"
