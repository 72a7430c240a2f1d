from django.core.management.base import BaseCommand

from measurement.services.rollup import scorecards_rollup


class Command(BaseCommand):
    help = (
        "Roll observations and feedback up into scorecards: the periods touched since the last run, "
        "or every period with --full. The same code the periodic task runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Rebuild every period (for backfills and repairs) instead of only the touched ones.",
        )

    def handle(self, *args, full: bool, **options):
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
