"""Signals the audits app sends, so that higher layers can react without being imported here.

`audits_missed` is sent by `audits.services.planning.audits_plan_and_notify` after the planner has
marked one or more planned audits missed (their closing time passed with no evaluation), once that
change has committed. Keyword argument:

- ``count``: how many audits this run marked missed, as ``int``.

The sender is the `Occurrence` model. The consequences app connects a receiver that judges its
missed-audit rules (DESIGN.md: a lower app never imports a higher one).
"""

from django.dispatch import Signal

audits_missed = Signal()
