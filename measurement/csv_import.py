"""Reading an evidence CSV file for `manage.py import_observations`, one line at a time.

The file is opened in binary mode and decoded line by line, so a byte that is not UTF-8
is reported with the number of the line that holds it instead of stopping the whole read
at an unknown place. Records are parsed with the `csv` module and handed to the intake
service as (line number, mapping) pairs: the number is the line on which the record starts,
counting the header as line 1, so every message points at a line the user can open.

Nothing here checks values: that is the intake service's job. This module only checks what
belongs to the file itself: its encoding, its header and the number of values on each line.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from measurement.services.intake import (
    FEEDBACK_FIELDS,
    OBSERVATION_FIELDS,
    IntakeResult,
    RowError,
    feedback_ingest,
    observations_ingest,
)

# How often (in rows) the progress callback is told how far the reader got.
PROGRESS_EVERY = 2000
# A RowError field for problems of a whole line rather than of one column.
WHOLE_LINE = "__all__"


@dataclass(frozen=True)
class ImportKind:
    """What one kind of file may and must hold, and the intake service that stores it."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    # At least one of these columns must be present (e.g. a value or a verdict).
    one_of: tuple[str, ...]
    ingest: Callable[..., IntakeResult]
    # The service reads rows as value sequences in the header's order (`columns=`): no mapping
    # per row is built for the rows its fast path accepts.
    positional: bool = False

    def ingest_file(self, rows: CsvRows) -> IntakeResult:
        """Hand the file's rows (its header read) to the intake service."""
        if self.positional:
            return self.ingest(rows.records(), columns=rows.header)
        return self.ingest(rows)


KINDS = {
    "observations": ImportKind(
        name="observations",
        columns=OBSERVATION_FIELDS,
        required=("standard", "location", "source", "observed_at"),
        one_of=("value", "passed"),
        ingest=observations_ingest,
        positional=True,
    ),
    "feedback": ImportKind(
        name="feedback",
        columns=FEEDBACK_FIELDS,
        required=("touchpoint", "location"),
        one_of=("csat", "nps", "comment"),
        ingest=feedback_ingest,
    ),
}


class CsvFileError(Exception):
    """The file as a whole cannot be imported (empty, unreadable header, wrong columns)."""


def _undecodable(raw: bytes, exc: UnicodeDecodeError) -> str:
    return (
        f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start + 1}); save the file "
        "as UTF-8 (“CSV UTF-8” in spreadsheet programs) and import it again."
    )


class CsvRows:
    """The records of a CSV file as (line number, mapping) pairs, read lazily.

    Call `read_header()` first: it raises CsvFileError if the file cannot be imported at all.
    Iterating then yields every well-formed record; problems of a single line (bytes that are
    not UTF-8, too many or too few values) are collected in `errors` and the line is left out,
    so the caller must refuse the import when `errors` is not empty after the intake.
    """

    def __init__(self, stream: BinaryIO, kind: ImportKind, on_progress: Callable[[int], None] | None = None):
        self.kind = kind
        self.errors: list[RowError] = []
        self.rows_read = 0
        self.header: list[str] = []
        self._on_progress = on_progress
        self._bad_lines: dict[int, str] = {}
        self._reader = csv.reader(self._decoded_lines(stream), strict=True)

    def _decoded_lines(self, stream: BinaryIO) -> Iterator[str]:
        # Splitting bytes on b"\n" is safe in UTF-8: no multi-byte sequence contains that byte.
        for line_number, raw in enumerate(stream, start=1):
            if line_number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._bad_lines[line_number] = _undecodable(raw, exc)
                # Still feed the line to the parser so that the line count and quoting stay right.
                yield raw.decode("utf-8", errors="replace")

    def read_header(self) -> list[str]:
        """Read and check the header line; returns the column names (trimmed, lower case)."""
        try:
            names = next(self._reader, None)
            while names == []:  # blank lines before the header
                names = next(self._reader, None)
        except csv.Error as exc:
            raise CsvFileError(
                f"line {self._reader.line_num}: the header is not valid CSV ({exc})."
            ) from None
        if names is None:
            raise CsvFileError(
                "The file is empty: the first line must name the columns, e.g. "
                f"{','.join(self.kind.required)}."
            )
        header_line = self._reader.line_num
        if header_line in self._bad_lines:
            raise CsvFileError(f"line {header_line} (header): {self._bad_lines[header_line]}")
        self.header = [name.strip().lower() for name in names]
        problems = []
        allowed = ", ".join(self.kind.columns)
        if blank := [str(i) for i, name in enumerate(self.header, start=1) if not name]:
            problems.append(f"column {', '.join(blank)} of the header has no name.")
        if repeated := sorted({name for name in self.header if name and self.header.count(name) > 1}):
            problems.append(f"column {', '.join(repeated)} appears more than once.")
        if unknown := [name for name in self.header if name and name not in self.kind.columns]:
            problems.append(f"unknown column {', '.join(unknown)}; the allowed columns are: {allowed}.")
        if missing := [name for name in self.kind.required if name not in self.header]:
            problems.append(f"required column {', '.join(missing)} is missing.")
        if not any(name in self.header for name in self.kind.one_of):
            problems.append(f"the file needs at least one of the columns {', '.join(self.kind.one_of)}.")
        if problems:
            raise CsvFileError("\n".join(f"line {header_line} (header): {problem}" for problem in problems))
        return self.header

    def __iter__(self) -> Iterator[tuple[int, Mapping[str, str]]]:
        header = self.header
        for line, values in self.records():
            yield line, dict(zip(header, values, strict=True))

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Like iterating, but each record as its list of values in the header's order."""
        if not self.header:
            raise RuntimeError("Call read_header() before reading the rows.")
        reader, width = self._reader, len(self.header)
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self.errors.append(RowError(start, WHOLE_LINE, f"not valid CSV ({exc})."))
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not values:  # a blank line
                continue
            self.rows_read += 1
            if self._on_progress is not None and self.rows_read % PROGRESS_EVERY == 0:
                self._on_progress(self.rows_read)
            if self._bad_lines and (bad := self._first_bad_line(line, start)):
                self.errors.append(RowError(bad, WHOLE_LINE, self._bad_lines[bad]))
                continue
            if len(values) != width:
                self.errors.append(
                    RowError(
                        line,
                        WHOLE_LINE,
                        f"{len(values)} values, but the header names {width} columns "
                        "(a comma inside a value needs double quotes around the value).",
                    )
                )
                continue
            yield line, values

    def _first_bad_line(self, first: int, after_last: int) -> int | None:
        return next((n for n in range(first, after_last) if n in self._bad_lines), None)
