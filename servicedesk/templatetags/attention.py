"""Sparklines: a subject's weekly pass rate as a small inline SVG, drawn on the server.

The line is scaled to the weeks' own lowest and highest rates, so that a change of a few points
shows; the text alternative gives every week's figure, so nothing is only in the picture. A week
without observations breaks the line instead of being drawn as zero.
"""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()

WIDTH, HEIGHT, PAD = 120, 28, 3
NO_TREND = "no weekly trend yet"


@register.simple_tag
def sparkline(subject):
    """`<svg role="img">` of `subject.weeks` (attention.Week), labelled with `subject.trend_words`."""
    weeks = subject.weeks
    rates = [week.rate for week in weeks]
    known = [rate for rate in rates if rate is not None]
    if not known:
        return format_html('<span class="sparkline-empty small text-body-secondary">{}</span>', NO_TREND)
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(weeks) - 1)

    def point(i: int, rate: float) -> tuple[float, float]:
        # A flat line sits in the middle rather than on an edge.
        y = HEIGHT / 2 if high == low else HEIGHT - PAD - (rate - low) / span * (HEIGHT - 2 * PAD)
        return PAD + i * step, y

    segments, current = [], []
    for i, rate in enumerate(rates):
        if rate is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(point(i, rate))
    if current:
        segments.append(current)
    lines = format_html_join(
        "",
        '<polyline points="{}" />',
        ((" ".join(f"{x:.1f},{y:.1f}" for x, y in segment),) for segment in segments),
    )
    last_x, last_y = next(point(i, rate) for i, rate in reversed(list(enumerate(rates))) if rate is not None)
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<title>{}</title>{}<circle cx="{}" cy="{}" r="2" /></svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        subject.trend_words,
        subject.trend_words,
        lines,
        f"{last_x:.1f}",
        f"{last_y:.1f}",
    )
