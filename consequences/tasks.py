"""Celery tasks of the consequences app: thin wrappers that take plain values and call a service."""

from celery import shared_task

from .services import consequences_overdue_notify, rules_evaluate


# acks_late: a worker lost mid-run leaves the message to be redelivered; each rule commits on its own
# and a rerun creates only what is still missing, so running twice is harmless.
@shared_task(acks_late=True, soft_time_limit=10 * 60, time_limit=15 * 60)
def evaluate_rules(periods: list | None = None) -> dict:
    """Evaluate the consequence rules: after a rollup for the periods it recomputed
    (``[[kind, "YYYY-MM-DD"], ...]``), or every rule when `periods` is None (the nightly run)."""
    return rules_evaluate(periods=periods)


@shared_task(acks_late=True, soft_time_limit=10 * 60, time_limit=15 * 60)
def notify_overdue_consequences() -> dict:
    """Daily: email owners (or location managers) the consequences past their due date."""
    return consequences_overdue_notify()
