"""Signals the measurement app sends, so that higher layers can react without being imported here.

`scorecards_rolled_up` is sent after each successful scorecard rollup, once its transaction has
committed (so receivers read the new scorecards). Keyword arguments:

- ``periods``: the ``(period_kind, period_start)`` pairs recomputed, sorted, as ``list[tuple[str, date]]``
  (periods whose scorecards were all deleted are included);
- ``full``: whether the run rebuilt everything.

The sender is the `Scorecard` model. The consequences app connects a receiver that evaluates its
rules for those periods (DESIGN.md: a lower app never imports a higher one).

`feedback_received` is sent by `measurement.services.intake.feedback_ingest` *inside* the intake
transaction, right after new feedback rows are created (never for a batch that created none, such as
a full resend). Keyword argument:

- ``feedback_ids``: the ids of the rows created, as ``list[int]``.

The sender is the `Feedback` model. Receivers run in the same transaction: whatever they write is
committed with the feedback, and an exception they raise rolls the whole batch back, so a receiver
must not fail because of stored data. The cases app connects a receiver that opens cases through its
rules (`cases.services.intake.cases_open_for_feedback`).
"""

from django.dispatch import Signal

scorecards_rolled_up = Signal()
feedback_received = Signal()
