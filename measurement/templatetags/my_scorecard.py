"""The signed-in employee's own latest scorecard, for the staff landing page's summary card.

    {% load my_scorecard %}
    {% my_latest_scorecard as latest %}

One query (none without an employee profile); the figures are the user's own, never anybody else's.
"""

from django import template

from measurement import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def my_latest_scorecard(context):
    """The user's latest monthly employee scorecard, or None."""
    return selectors.my_latest_scorecard(context["request"].user)
