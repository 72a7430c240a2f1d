"""manage.py import_observations FILE.csv [--kind observations|feedback] [--dry-run]

All or nothing: the file is read once, line by line, through the intake service inside one
transaction; if any line is bad, every bad line is reported with its number, column and
reason, and the transaction is rolled back.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from measurement.csv_import import KINDS, WHOLE_LINE, CsvFileError, CsvRows
from measurement.services.intake import RowError


@contextmanager
def _without_cyclic_gc():
    """The cyclic garbage collector paused: a file's rows are millions of tuples and strings that
    hold no cycles, and the collector would walk them again and again as they pile up (a tenth
    to a fifth of the import's own CPU time). Reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _describe(error: RowError) -> str:
    where = f"line {error.row}" if error.field == WHOLE_LINE else f"line {error.row}, {error.field}"
    return f"{where}: {error.message}"


class Command(BaseCommand):
    help = (
        "Import observations (or customer feedback with --kind feedback) from a UTF-8 CSV file whose "
        "header names the columns. All or nothing: any bad line is reported and nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8, header line first).")
        parser.add_argument(
            "--kind",
            choices=sorted(KINDS),
            default="observations",
            help="What the file holds (default: observations).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every line and report what would be stored, then save nothing.",
        )

    def handle(self, *args, file: str, kind: str, dry_run: bool, **options):
        import_kind = KINDS[kind]
        started = time.monotonic()
        self._progress_shown = False
        progress = self._progress_printer(started) if self.stdout.isatty() else None
        try:
            stream = open(file, "rb")  # noqa: SIM115 — closed below; binary: CsvRows decodes per line
        except OSError as exc:
            raise CommandError(f"Cannot open {file}: {exc.strerror}.") from None
        with stream:
            rows = CsvRows(stream, import_kind, on_progress=progress)
            try:
                rows.read_header()
            except CsvFileError as exc:
                raise CommandError(f"{file}: {exc}\nNothing was saved.") from None
            if "external_id" not in rows.header:
                self.stderr.write(
                    "Warning: no external_id column, so importing this file again would store its rows twice."
                )
            # One transaction around the intake: the service rolls back its own errors, and this
            # one also undoes its work when the file had lines it never saw, or on a dry run.
            with transaction.atomic(), _without_cyclic_gc():
                result = import_kind.ingest_file(rows)
                errors = sorted([*rows.errors, *result.errors], key=lambda error: error.row)
                if errors or dry_run:
                    transaction.set_rollback(True)
        elapsed = time.monotonic() - started
        if self._progress_shown:
            self.stdout.write("")  # end the progress line

        if errors:
            for error in errors:
                self.stderr.write(_describe(error))
            bad_lines = len({error.row for error in errors})
            raise CommandError(
                f"{file}: {len(errors)} problem(s) on {bad_lines} of {rows.rows_read:,} row(s); nothing was saved."
            )
        if rows.rows_read == 0:
            raise CommandError(
                f"{file}: the header is fine but there are no rows below it; nothing was saved."
            )
        self.stdout.write(self._summary(file, kind, rows.rows_read, result, elapsed, dry_run))

    def _progress_printer(self, started: float):
        def show(count: int) -> None:
            rate = count / max(time.monotonic() - started, 1e-6)
            self.stdout.write(f"\r{count:>12,} rows read · {rate:,.0f} rows/s", ending="")
            self.stdout.flush()
            self._progress_shown = True

        return show

    @staticmethod
    def _summary(file, kind, rows_read, result, elapsed, dry_run) -> str:
        rate = rows_read / max(elapsed, 1e-6)
        figures = [
            f"{result.created:,} {'would be created' if dry_run else 'created'}",
            f"{result.duplicates:,} duplicate(s) already stored",
        ]
        if kind == "observations":
            figures.append(f"{result.deviations:,} deviation(s) {'would be ' if dry_run else ''}opened")
        head = f"Dry run of {file}, nothing saved" if dry_run else f"Imported {kind} from {file}"
        return f"{head}: {rows_read:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s): {', '.join(figures)}."
