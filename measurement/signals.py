"""Signals the measurement app sends, so that higher layers can react without being imported here.

`scorecards_rolled_up` is sent after each successful scorecard rollup, once its transaction has
committed (so receivers read the new scorecards). Keyword arguments:

- ``periods``: the ``(period_kind, period_start)`` pairs recomputed, sorted, as ``list[tuple[str, date]]``
  (periods whose scorecards were all deleted are included);
- ``full``: whether the run rebuilt everything.

The sender is the `Scorecard` model. The consequences app connects a receiver that evaluates its
rules for those periods (DESIGN.md: a lower app never imports a higher one).
"""

from django.dispatch import Signal

scorecards_rolled_up = Signal()
