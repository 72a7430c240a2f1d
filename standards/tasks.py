"""Celery tasks of the standards app: thin wrappers that call a service."""

from celery import shared_task

from .notifications import acknowledgement_reminders_send


@shared_task(acks_late=True)
def send_acknowledgement_reminders() -> dict[str, int]:
    """Daily: email employees the standards (or new versions) they have not acknowledged yet."""
    return acknowledgement_reminders_send()
