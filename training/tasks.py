from celery import shared_task

from .services import assignments_sync


@shared_task(acks_late=True)
def sync_assignments() -> dict[str, int]:
    """Periodic housekeeping: keep every employee's training assignments in step with requirements."""
    return assignments_sync()
