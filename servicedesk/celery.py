"""The Celery app: configured from Django settings (CELERY_*), tasks found per app."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

app = Celery("servicedesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def tasks_over_the_time_limit(celery_app: Celery) -> list[str]:
    """Registered tasks with a time limit of their own above CELERY_TASK_TIME_LIMIT.

    The settings check the global hard limit against the visibility timeout; a task with a longer
    limit would be delivered a second time while still running.
    """
    ceiling = celery_app.conf.task_time_limit
    return sorted(
        f"{name} ({limit} s)"
        for name, task in celery_app.tasks.items()
        for limit in {task.time_limit, task.soft_time_limit} - {None}
        if ceiling is not None and limit > ceiling
    )


@worker_init.connect
def _refuse_tasks_over_the_time_limit(sender=None, **kwargs) -> None:
    # worker_init comes after the tasks of every app are imported.
    from django.core.exceptions import ImproperlyConfigured

    over = tasks_over_the_time_limit(app)
    if over:
        raise ImproperlyConfigured(
            f"these tasks have a time limit above CELERY_TASK_TIME_LIMIT ({app.conf.task_time_limit} s), "
            f"which CELERY_VISIBILITY_TIMEOUT must exceed: {', '.join(over)}"
        )
