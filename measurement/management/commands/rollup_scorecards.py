from celery import current_app
from celery.signals import after_task_publish, before_task_publish
from django.core.management.base import BaseCommand, CommandError

from measurement.services.rollup import scorecards_rollup


class Publications:
    """The tasks a block of code tried to send to the broker, and which of them reached it.

    A publish that fails (broker down) raises inside the rollup's after-commit announcement, which
    logs it and carries on: only the publish signals tell the command what was not sent.
    """

    def __init__(self) -> None:
        self.attempted: dict[str, str] = {}  # task id → task name
        self.sent: set[str] = set()

    def _before(self, sender=None, headers=None, **kwargs) -> None:
        self.attempted[(headers or {}).get("id", "")] = sender

    def _after(self, sender=None, headers=None, **kwargs) -> None:
        self.sent.add((headers or {}).get("id", ""))

    def __enter__(self) -> "Publications":
        before_task_publish.connect(self._before, weak=False)
        after_task_publish.connect(self._after, weak=False)
        return self

    def __exit__(self, *exc_info) -> None:
        before_task_publish.disconnect(self._before)
        after_task_publish.disconnect(self._after)

    @property
    def not_sent(self) -> list[str]:
        return sorted(name for task_id, name in self.attempted.items() if task_id not in self.sent)

    @property
    def delivered(self) -> list[str]:
        return sorted(name for task_id, name in self.attempted.items() if task_id in self.sent)


def broker_problem() -> str:
    """Why the broker cannot be reached (its host and port, never a password, and the error), or ''."""
    with current_app.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:
            where = (
                f"{connection.hostname}:{connection.port}" if connection.port else connection.transport_cls
            )
            return f"the broker at {where} is unreachable: {exc}"
    return ""


class Command(BaseCommand):
    help = (
        "Roll observations and feedback up into scorecards: the periods touched since the last run, "
        "or every period with --full. The same code the periodic task runs. Exits with status 1, "
        "after writing the scorecards, when the follow-up (consequence rules) could not be sent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Rebuild every period (for backfills and repairs) instead of only the touched ones.",
        )

    def handle(self, *args, full: bool, **options):
        with Publications() as publications:
            result = scorecards_rollup(full=full)
        kinds = sorted({kind for kind, _ in result.periods})
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Full rebuild' if result.full else 'Incremental rollup'}: "
                f"{result.periods_recomputed} periods recomputed ({', '.join(kinds) or 'none'}), "
                f"{result.rows_written} scorecards written, {result.rows_unchanged} unchanged, "
                f"{result.rows_deleted} deleted "
                f"in {result.duration:.2f} s."
            )
        )
        if result.periods and options["verbosity"] >= 2:
            for kind, start in result.periods:
                self.stdout.write(f"  {kind:<8} {start.isoformat()}")
        if publications.delivered:
            self.stdout.write(f"Follow-up sent: {', '.join(publications.delivered)}.")
        if publications.not_sent:
            # The scorecards are committed; what is missing is the evaluation of the consequence
            # rules for these periods. A full run evaluates every rule (the nightly rebuild does).
            raise CommandError(
                f"The scorecards are rolled up, but the follow-up was NOT sent: "
                f"{', '.join(publications.not_sent)} ({broker_problem() or 'the broker refused it'}). "
                "Once the broker is back, `manage.py rollup_scorecards --full` (or the nightly rebuild) "
                "evaluates every consequence rule again."
            )
