"""Celery tasks of the measurement app: thin wrappers that call a service."""

from celery import shared_task
from django.conf import settings

from .services.freshness import rollup_flag_clear
from .services.rollup import scorecards_rollup


# acks_late: a worker that dies mid-run leaves the message to be redelivered; the run it was doing
# rolled back with its transaction, and the next one recomputes the same periods. The longest task,
# so its limits are named: the settings' own, which the visibility timeout is checked against.
@shared_task(
    bind=True,
    acks_late=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def rollup_scorecards(self, full: bool = False, requested: bool = False) -> dict:
    """Roll observations and feedback up into scorecards (incremental, or everything with `full`).

    Safe to run twice or overlapping: runs are serialised by a database lock and rewrite the same rows.
    A redelivered message runs as a full rebuild: the lost delivery may have committed its run and
    died before sending the follow-up, and a full run evaluates every consequence rule again.
    Returns a small summary: periods recomputed, rows written and deleted, duration, watermark.
    `requested`: enqueued after evidence was committed (`services.freshness`), not by the beat.
    """
    if requested:
        rollup_flag_clear()
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return scorecards_rollup(full=full or redelivered).summary()
