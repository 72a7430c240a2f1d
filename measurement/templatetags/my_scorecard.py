"""The signed-in employee's own figures over the rolling period, for the staff landing page's card.

    {% load my_scorecard %}
    {% my_rolling_figures as latest %}
    {{ latest.figures.pass_rate }} over {{ latest.period.label }}

One query (none without an employee profile); the figures are the user's own, never anybody else's.
"""

from django import template

from measurement import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def my_rolling_figures(context):
    """{"figures": Figures, "period": RollingPeriod} of the user's last 30 days, or None."""
    found = selectors.my_rolling_figures(context["request"].user)
    if found is None:
        return None
    figures, period = found
    return {"figures": figures, "period": period}
