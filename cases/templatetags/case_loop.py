"""What the reply and resolve forms on a case's page need beyond the case itself."""

from __future__ import annotations

import secrets

from django import template

from ..services.loop import actions_linkable, may_open_action, reply_refusal

register = template.Library()


@register.simple_tag
def reply_key() -> str:
    """A fresh idempotency key for one reply form: the same form sent twice sends one email."""
    return secrets.token_urlsafe(24)


@register.simple_tag
def reply_blocker(case) -> str:
    """Why no reply can be sent to this case's customer, or "" when one can."""
    return reply_refusal(case) or ""


@register.simple_tag
def linkable_actions(case):
    """Gap actions at the case's location that a resolution may link to."""
    return list(actions_linkable(case=case))


@register.simple_tag
def action_opener(user, case) -> bool:
    """Whether `user` may open a gap action when resolving this case."""
    return may_open_action(user, case)
