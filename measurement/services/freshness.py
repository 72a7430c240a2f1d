"""Evidence reaches its scorecards and consequences within seconds of its commit.

Every intake path (observations, evaluations, feedback; API, forms, CSV) calls `rollup_soon()`
inside its transaction. Once that transaction commits, the first caller of a window claims a
flag in the shared cache and enqueues one incremental rollup ``ROLLUP_AFTER_COMMIT_SECONDS``
later; the callers after it, until that run starts, find the flag taken and enqueue nothing, so
a burst of commits costs one run. The run clears the flag as its first step
(`rollup_flag_clear`), so evidence committed once it has started asks for the next one: nothing
committed is left for the beat, which stays as the safety net should the broker or the cache
be away (either failure is logged, never raised into the request that committed the evidence).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

FLAG_KEY = "measurement:rollup-requested"


def rollup_soon() -> None:
    """Ask for a rollup shortly after the current transaction commits (at once outside one)."""
    if settings.ROLLUP_AFTER_COMMIT_SECONDS <= 0:
        return
    transaction.on_commit(_request_rollup)


def _request_rollup() -> None:
    from measurement.tasks import rollup_scorecards

    delay = settings.ROLLUP_AFTER_COMMIT_SECONDS
    try:
        # The flag outlives the countdown by a margin, so a run stuck in the queue behind a busy
        # worker does not let every commit enqueue another; past it, the next commit asks again.
        if not cache.add(FLAG_KEY, True, timeout=delay + settings.ROLLUP_INTERVAL.total_seconds()):
            return
        rollup_scorecards.apply_async(countdown=delay, kwargs={"requested": True})
    except Exception:
        logger.exception("Could not ask for a rollup after a commit; the periodic run will do it")


def rollup_flag_clear() -> None:
    """Called by a requested run before it starts: what commits from now on asks for another."""
    try:
        cache.delete(FLAG_KEY)
    except Exception:
        logger.exception("Could not clear the rollup request flag")
