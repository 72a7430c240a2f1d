"""Formatting of a rate against its target, of evidence that is too thin to judge, and of intervals
named by their method, for the scorecard pages.

    {% load scorecard_format %}
    {{ figures|decisive_rate }} · target {{ figures|decisive_target }}    89.6% · target 90%
    {{ figures|decisive_rate_n }}                                          89.6% (n = 140)
    {{ figures|evidence_status }}                                          met / near / below / thin / …
    {{ figures|nps_interval }}        +32 (n = 210; adjusted-Wald 95% interval +20 to +44)

A rate of 89.6 % against a target of 90 % is "not met", but rounded to whole percents both read
"90%"; the rate and the target are therefore shown with the fewest decimals at which the shown
figures agree with the verdict (shown rate ≥ shown target exactly when the target is met).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.html import format_html

from measurement import selectors
from measurement.models import Grain
from measurement.selectors.common import TARGET_TOLERANCE
from measurement.templatetags.servicedesk_format import DASH, NO_DATA, count, nps_summary

register = template.Library()

# 4 decimals of a percent tell apart any two rates of up to a million observations.
MAX_DECIMALS = 4
THIN = "thin"
THIN_WORDS = "too little evidence"


def _rounded(proportion: float, decimals: int) -> Decimal:
    return Decimal(str(proportion * 100)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def decisive_decimals(rate: float | None, target: float | None, met: bool | None = None) -> int:
    """The fewest decimals (of a percentage) at which `rate` and `target`, both rounded half up,
    compare as `met` says (met: shown rate ≥ shown target; not met: below). `met` defaults to the
    comparison of the exact values; 0 when either is missing."""
    if rate is None or target is None:
        return 0
    if met is None:
        met = rate >= target - TARGET_TOLERANCE
    for decimals in range(MAX_DECIMALS + 1):
        if (_rounded(rate, decimals) >= _rounded(target, decimals)) == met:
            return decimals
    return MAX_DECIMALS


def _percent(proportion: float, decimals: int, *, trim: bool = False) -> str:
    text = f"{_rounded(proportion, decimals):f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _decimals(figures) -> int:
    return decisive_decimals(figures.pass_rate, figures.target_rate, figures.target_met)


@register.filter
def decisive_rate(figures) -> str:
    """The pass rate of a scorecard (or `Figures`) at the precision that decides met / not met."""
    if figures is None or figures.pass_rate is None:
        return DASH
    return _percent(figures.pass_rate, _decimals(figures))


@register.filter
def decisive_rate_n(figures) -> str:
    """`decisive_rate` with its sample size: '89.6% (n = 140)', or 'no data (n = 0)'."""
    if figures is None or figures.pass_rate is None or not figures.observations:
        return f"{NO_DATA} (n = 0)"
    return f"{decisive_rate(figures)} (n = {figures.observations:,})"


@register.filter
def decisive_target(figures) -> str:
    """The target at the same precision, trailing zeros dropped: '90%' next to '89.6%'."""
    if figures is None or figures.target_rate is None:
        return DASH
    return _percent(figures.target_rate, _decimals(figures), trim=True)


@register.filter
def enough_evidence(figures) -> bool:
    """Whether the figures hold at least settings.MIN_EVIDENCE observations."""
    return figures is not None and selectors.has_enough_evidence(figures)


@register.filter
def evidence_status(scorecard) -> str:
    """The heatmap's status (`selectors.heat_status`), or "thin" for a cell with observations but
    too few to call it strong or weak."""
    status = selectors.heat_status(scorecard)
    if status in ("met", "near", "below") and not selectors.has_enough_evidence(scorecard):
        return THIN
    return status


EVIDENCE_WORDS = {
    "met": "target met",
    "near": "below target, within the margin of error",
    "below": "below target",
    "untargeted": "no target",
    "none": "no observations",
    THIN: THIN_WORDS,
}


@register.filter
def evidence_words(scorecard) -> str:
    return EVIDENCE_WORDS[evidence_status(scorecard)]


_EMPTY_CELL = (
    '<td class="heat heat-{}"><span aria-hidden="true">·</span>'
    '<span class="visually-hidden">no observations</span></td>'
)


@register.filter
def heat_cell(cell, linked: bool = True) -> str:
    """One heatmap cell (``<td>``) of a scorecard, or of None: its status as a class, the decisive
    rate, n, and in words for screen readers the status and (`linked`) the target, the rate
    linking to the cell's observations (``cell.evidence_url``). Built in one call: a page has 600
    cells, and the template's five filters and tags per cell were most of the page's time."""
    status = evidence_status(cell)
    if cell is None:
        return format_html(_EMPTY_CELL, status)
    decimals = _decimals(cell)
    rate = DASH if cell.pass_rate is None else _percent(cell.pass_rate, decimals)
    words = EVIDENCE_WORDS[status]
    if not linked:
        return format_html(
            '<td class="heat heat-{}">{}<span class="heat-n">n = {}</span>'
            '<span class="visually-hidden">: {}</span></td>',
            status,
            rate,
            count(cell.observations),
            words,
        )
    if cell.target_rate is not None:
        words = f"{words}, target {_percent(cell.target_rate, decimals, trim=True)}"
    return format_html(
        '<td class="heat heat-{}"><a href="{}">{}<span class="heat-n">n = {}</span>'
        '<span class="visually-hidden">: {}</span></a></td>',
        status,
        cell.evidence_url,
        rate,
        count(cell.observations),
        words,
    )


# The NPS with its n and its adjusted-Wald interval, under the name these templates use.
register.filter("nps_interval", nps_summary)


@register.filter
def short_title(standard, length: int = 18) -> str:
    """A standard's title cut to `length` characters for a narrow column (the full title and code
    go in the column's abbr title)."""
    title = standard.title
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"


@register.filter
def subject_name(scorecard) -> str:
    """What a scorecard is about, for the scorecard tables: an employee by name only (their
    employee number adds nothing to reading who needs help)."""
    if scorecard.employee_id and scorecard.grain == Grain.EMPLOYEE:
        return scorecard.employee.full_name
    return selectors.scorecard_subject(scorecard)
