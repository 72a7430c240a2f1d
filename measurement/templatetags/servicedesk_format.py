"""Formatting of measures for templates: a score is never shown without its sample size.

    {% load servicedesk_format %}
    {{ row.pass_rate|percent_n:row.observations }}     82% (n = 140)
    {{ row.pass_rate_low|interval:row.pass_rate_high }} 74–88%
    {{ row|pass_summary }}                              82% (n = 140; 95% interval 74–88%)
    {{ row.csat|percentage_n:row.csat_n }}              91% (n = 64)
    {{ row|nps_summary }}                               +32 (n = 210; 95% interval +20 to +44)

Pass rates and their bounds are proportions 0–1; CSAT is already a percentage 0–100 (as the rollup
stores it); NPS runs from −100 to 100. Percentages are rounded half up to whole numbers, and a
missing value (no observations, no answers) reads "no data" with its n = 0.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from measurement import selectors

register = template.Library()

NO_DATA = "no data"
DASH = "—"
MINUS = "\u2212"


def _whole(value: float) -> int:
    """Round half up (82.5 → 83), not half to even as round() does."""
    return int(Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _n(n) -> str:
    return f"n = {int(n or 0):,}"


@register.filter
def count(value) -> str:
    """1400 → '1,400'."""
    return f"{int(value or 0):,}"


@register.filter
def percent(proportion) -> str:
    """A proportion 0–1 as a whole percentage: 0.823 → '82%'."""
    if proportion is None:
        return DASH
    return f"{_whole(proportion * 100)}%"


@register.filter
def share(part, whole) -> str:
    """A count as a share of another: {{ passed|share:observations }} → '90%'."""
    if not whole:
        return DASH
    return percent(part / whole)


@register.filter
def percentage(value) -> str:
    """A value already in percent (CSAT): 82.3 → '82%'."""
    if value is None:
        return DASH
    return f"{_whole(value)}%"


@register.filter
def percent_n(proportion, n) -> str:
    """A proportion with its sample size: '82% (n = 140)', or 'no data (n = 0)'."""
    if proportion is None or not n:
        return f"{NO_DATA} ({_n(n)})"
    return f"{percent(proportion)} ({_n(n)})"


@register.filter
def percentage_n(value, n) -> str:
    """A percentage (CSAT) with its sample size: '91% (n = 64)'."""
    if value is None or not n:
        return f"{NO_DATA} ({_n(n)})"
    return f"{percentage(value)} ({_n(n)})"


@register.filter
def interval(low, high) -> str:
    """Bounds of a proportion's interval: '74–88%'."""
    if low is None or high is None:
        return DASH
    return f"{_whole(low * 100)}–{_whole(high * 100)}%"


@register.filter
def points(difference) -> str:
    """A difference of two proportions in percentage points: 0.32 → '32 points'."""
    if difference is None:
        return DASH
    whole = _whole(difference * 100)
    return f"{whole} point{'' if whole == 1 else 's'}"


@register.filter
def signed(value) -> str:
    """An NPS with its sign: '+32', '−5', '0'."""
    if value is None:
        return DASH
    whole = _whole(value)
    if whole > 0:
        return f"+{whole}"
    if whole < 0:
        return f"{MINUS}{-whole}"
    return "0"


@register.filter
def pass_summary(figures) -> str:
    """Pass rate, n and 95 % Wilson interval of a scorecard (or `Figures`)."""
    if figures is None or figures.pass_rate is None or not figures.observations:
        return f"{NO_DATA} ({_n(0)})"
    return (
        f"{percent(figures.pass_rate)} ({_n(figures.observations)}; "
        f"95% interval {interval(figures.pass_rate_low, figures.pass_rate_high)})"
    )


@register.filter
def nps_summary(figures) -> str:
    """NPS with its n and, where known, its 95 % interval: '+32 (n = 210; 95% interval +20 to +44)'."""
    if figures is None or figures.nps is None or not figures.nps_n:
        return f"{NO_DATA} ({_n(0)})"
    text = f"{signed(figures.nps)} ({_n(figures.nps_n)}"
    if figures.nps_low is not None and figures.nps_high is not None:
        text += f"; 95% interval {signed(figures.nps_low)} to {signed(figures.nps_high)}"
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
