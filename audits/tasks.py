"""Celery tasks of the audit programme: thin wrappers that call a service."""

from celery import shared_task

from .services.planning import audits_plan_and_notify


# acks_late: a redelivered run is harmless; occurrences are unique per (schedule, day, assignee),
# status changes are conditional and no notice is sent twice (organization.notifications).
@shared_task(acks_late=True)
def plan_audits() -> dict:
    """Plan the schedules' occurrences, open and miss them on the clock, remind and alert."""
    return audits_plan_and_notify()
