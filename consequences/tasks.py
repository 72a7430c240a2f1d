"""Celery tasks of the consequences app: thin wrappers that take plain values and call a service."""

from celery import shared_task

from .models import Condition
from .services import consequences_overdue_notify, rules_evaluate


# acks_late: a worker lost mid-run leaves the message to be redelivered; each rule commits on its own
# and a rerun creates only what is still missing (one consequence per dedupe key), so running twice
# is harmless. ignore_result: nobody waits for it, and enqueuing it then needs only the broker.
@shared_task(acks_late=True, ignore_result=True)
def evaluate_rules(periods: list | None = None, conditions: list | None = None) -> dict:
    """Evaluate the consequence rules: after a rollup for the periods it recomputed
    (``[[kind, "YYYY-MM-DD"], ...]``), or every rule when `periods` is None (the nightly run);
    `conditions` limits the run to rules of those conditions."""
    return rules_evaluate(periods=periods, conditions=conditions)


# Redelivered, it sends nothing twice: notices are recorded in the run's transaction, emails leave
# after its commit (organization.notifications).
@shared_task(acks_late=True)
def notify_overdue_consequences() -> dict:
    """Daily: email owners (or location managers) the consequences past their due date."""
    return consequences_overdue_notify()


# Breaches come from the clock, not from evidence: these rules are judged on their own schedule
# too, so that they run when no rollup does. Idempotent like every evaluation (dedupe keys).
@shared_task(acks_late=True, ignore_result=True)
def evaluate_sla_rules() -> dict:
    """Evaluate the SLA-breach consequence rules only."""
    return rules_evaluate(conditions=[Condition.SLA_BREACHED])
