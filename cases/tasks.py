"""Celery tasks of the cases app: thin wrappers that call a service."""

from celery import shared_task

from .services.escalation import cases_escalate


# acks_late: a worker lost mid-run leaves the message to be redelivered. The run is one transaction
# and every warning and escalation has a unique key on the timeline, so a redelivered or overlapping
# run repeats nothing; emails leave after the commit (organization.notifications).
@shared_task(acks_late=True)
def escalate_cases() -> dict:
    """Every few minutes: warn owners of case deadlines coming, escalate the deadlines passed."""
    return cases_escalate().as_dict()
