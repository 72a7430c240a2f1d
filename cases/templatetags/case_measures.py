"""Figures of the case measures page: hours in words, and "too little evidence" below MIN_EVIDENCE.

{% load case_measures %}
{{ figures.acknowledge.median_hours|hours }}     2.5 h
{{ figures.recovery.n|thin }}                     True below settings.MIN_EVIDENCE
"""

from __future__ import annotations

from django import template
from django.conf import settings

from cases.measures import hours_words

register = template.Library()


@register.filter
def hours(value) -> str:
    return hours_words(value)


@register.filter
def thin(n) -> bool:
    """Fewer than MIN_EVIDENCE cases behind a figure: it is shown, but never judged."""
    return (n or 0) < settings.MIN_EVIDENCE
