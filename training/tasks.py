from celery import shared_task

from .notifications import training_reminders_send
from .services import assignments_sync


@shared_task(acks_late=True)
def sync_assignments() -> dict[str, int]:
    """Periodic housekeeping: keep every employee's training assignments in step with requirements."""
    return assignments_sync()


@shared_task(acks_late=True)
def send_training_reminders() -> dict[str, int]:
    """Daily: email employees whose required training is due, overdue, expiring soon or expired."""
    return training_reminders_send()
