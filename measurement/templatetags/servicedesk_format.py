"""Formatting of measures for templates: a score is never shown without its sample size.

    {% load servicedesk_format %}
    {{ row.pass_rate|percent_n:row.observations }}     82% (n = 140)
    {{ row.pass_rate_low|interval:row.pass_rate_high }} 74–88%
    {{ row|pass_summary }}                              82% (n = 140; Wilson 95% interval 74–88%)
    {{ row.csat|percentage_n:row.csat_n }}              91% (n = 64)
    {{ row|nps_summary }}                               +32 (n = 210; adjusted-Wald 95% interval +20 to +44)
    {{ observations|count }}                            1,400
    {{ action.due_on|day }}                             4 Aug 2026

Every figure has thousands separators (1,234); dates read in words, day, short month, year, as
`{{ value|date:"j M Y" }}` does (CSV exports keep ISO dates: machines read them).

Pass rates and their bounds are proportions 0–1; CSAT is already a percentage 0–100 (as the rollup
stores it); NPS runs from −100 to 100. Percentages are rounded half up to whole numbers, and a
missing value (no observations, no answers) reads "no data" with its n = 0. A value that is no
number at all (None, NaN, infinity, text) reads "—" rather than failing the page.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone

from measurement import selectors

register = template.Library()

NO_DATA = "no data"
DASH = "—"
MINUS = "\u2212"
DAY_FORMAT = "j M Y"


# Whole numbers longer than this are no figure a page can show (and Python refuses to print
# integers past 4,300 digits): they read "—".
MAX_DIGITS = 1000


def _number(value) -> int | float | Decimal | None:
    """`value` when it is a finite number (text is read as a Decimal), else None: None, booleans,
    NaN, infinities and anything else that is no number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (ArithmeticError, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _whole(value, factor: int = 1) -> int | None:
    """`value × factor` rounded half up (82.5 → 83), not half to even as round() does; None when
    the result is no finite number a page can show."""
    try:
        scaled = value * factor if factor != 1 else value
        number = scaled if isinstance(scaled, Decimal) else Decimal(str(scaled))
        if not number.is_finite() or number.adjusted() > MAX_DIGITS:
            return None
        return int(number.to_integral_value(rounding=ROUND_HALF_UP))
    except (ArithmeticError, ValueError, TypeError):
        return None


def _grouped(whole: int | None, suffix: str = "") -> str:
    return DASH if whole is None else f"{whole:,}{suffix}"


def _n(n) -> str:
    number = _number(n)
    whole = 0 if number is None else _whole(number)
    return f"n = {_grouped(whole)}"


@register.filter
def count(value) -> str:
    """1400 → '1,400'; None → '0'; not a number → '—'."""
    if value is None or value == "":
        return "0"
    number = _number(value)
    return DASH if number is None else _grouped(_whole(number))


@register.filter
def day(value) -> str:
    """A date in words: '4 Aug 2026' (a datetime in the local time zone); None → '—'."""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    elif not isinstance(value, date):
        return DASH
    return dateformat.format(value, DAY_FORMAT)


@register.filter
def percent(proportion) -> str:
    """A proportion 0–1 as a whole percentage: 0.823 → '82%'."""
    number = _number(proportion)
    return DASH if number is None else _grouped(_whole(number, 100), "%")


@register.filter
def share(part, whole) -> str:
    """A count as a share of another: {{ passed|share:observations }} → '90%'."""
    part, whole = _number(part), _number(whole)
    if part is None or not whole:
        return DASH
    if isinstance(part, Decimal) or isinstance(whole, Decimal):
        part, whole = Decimal(str(part)), Decimal(str(whole))
    try:
        return percent(part / whole)
    except ArithmeticError:
        return DASH


@register.filter
def percentage(value) -> str:
    """A value already in percent (CSAT): 82.3 → '82%'."""
    number = _number(value)
    return DASH if number is None else _grouped(_whole(number), "%")


@register.filter
def percent_n(proportion, n) -> str:
    """A proportion with its sample size: '82% (n = 140)', or 'no data (n = 0)'."""
    if _number(proportion) is None or not _number(n):
        return f"{NO_DATA} ({_n(n)})"
    return f"{percent(proportion)} ({_n(n)})"


@register.filter
def percentage_n(value, n) -> str:
    """A percentage (CSAT) with its sample size: '91% (n = 64)'."""
    if _number(value) is None or not _number(n):
        return f"{NO_DATA} ({_n(n)})"
    return f"{percentage(value)} ({_n(n)})"


@register.filter
def interval(low, high) -> str:
    """Bounds of a proportion's interval: '74–88%'."""
    low, high = _number(low), _number(high)
    if low is None or high is None:
        return DASH
    low, high = _whole(low, 100), _whole(high, 100)
    if low is None or high is None:
        return DASH
    return f"{low:,}–{high:,}%"


@register.filter
def points(difference) -> str:
    """A difference of two proportions in percentage points: 0.32 → '32 points'."""
    number = _number(difference)
    if number is None:
        return DASH
    whole = _whole(number, 100)
    if whole is None:
        return DASH
    return f"{whole:,} point{'' if whole == 1 else 's'}"


@register.filter
def signed(value) -> str:
    """An NPS with its sign: '+32', '−5', '0'."""
    number = _number(value)
    if number is None:
        return DASH
    whole = _whole(number)
    if whole is None:
        return DASH
    if whole > 0:
        return f"+{whole:,}"
    if whole < 0:
        return f"{MINUS}{-whole:,}"
    return "0"


@register.filter
def pass_summary(figures) -> str:
    """Pass rate, n and 95 % Wilson interval of a scorecard (or `Figures`)."""
    if figures is None or figures.pass_rate is None or not figures.observations:
        return f"{NO_DATA} ({_n(0)})"
    return (
        f"{percent(figures.pass_rate)} ({_n(figures.observations)}; "
        f"Wilson 95% interval {interval(figures.pass_rate_low, figures.pass_rate_high)})"
    )


@register.filter
def nps_summary(figures) -> str:
    """NPS with its n and, where known, its interval, named by its method:
    '+32 (n = 210; adjusted-Wald 95% interval +20 to +44)'."""
    if figures is None or figures.nps is None or not figures.nps_n:
        return f"{NO_DATA} ({_n(0)})"
    text = f"{signed(figures.nps)} ({_n(figures.nps_n)}"
    if figures.nps_low is not None and figures.nps_high is not None:
        text += f"; adjusted-Wald 95% interval {signed(figures.nps_low)} to {signed(figures.nps_high)}"
    return text + ")"


@register.filter
def subject(scorecard) -> str:
    """What a scorecard is about: 'Alpha Street', 'Tills · AAA-01', 'STD-001 Greeting', …"""
    return selectors.scorecard_subject(scorecard)


@register.filter
def heat_status(scorecard) -> str:
    """met / near / below / untargeted / none, for the heatmap's cell class and words."""
    return selectors.heat_status(scorecard)


HEAT_WORDS = {
    "met": "target met",
    "near": "below target, within the margin of error",
    "below": "below target",
    "untargeted": "no target",
    "none": "no observations",
}


@register.filter
def heat_words(scorecard) -> str:
    return HEAT_WORDS[selectors.heat_status(scorecard)]


@register.filter
def observations_url(scorecard) -> str:
    """The drill-down page listing the observations behind a scorecard."""
    return (
        f"{reverse('measurement:observations')}?{urlencode(selectors.scorecard_drilldown_params(scorecard))}"
    )


@register.filter
def period_label(start, kind) -> str:
    """{{ start|period_label:kind }} → 'Mar 2025', 'Q1 2025', 'Week of 3 Mar 2025'."""
    return selectors.period_label(kind, start) if start else DASH


@register.simple_tag
def query(params, **changes) -> str:
    """A query string from a dict with `changes` applied (empty values dropped), for links and
    pagination: {% query selection_params grain="team" %}."""
    merged = {**params, **changes}
    return urlencode({key: value for key, value in merged.items() if value not in ("", None)})
