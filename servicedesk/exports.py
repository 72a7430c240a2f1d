"""CSV export of any table, safe to open in a spreadsheet.

Every page that offers "Download CSV" builds its rows and hands them to `csv_response`, so that
every export is streamed the same way and every cell is neutralised the same way.

Spreadsheet formula injection (CSV injection): Excel, LibreOffice and Google Sheets treat a cell
that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a leading tab or carriage return
can hide such a cell's first character. A customer comment such as ``=HYPERLINK(...)`` or
``=cmd|' /C calc'!A0`` would then run on a manager's machine. Text cells starting with one of
those characters get a leading ``'`` (OWASP's recommendation), which spreadsheets show as text.
Numbers (int, float, Decimal) are written as they are, so a negative NPS stays a number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Byte order mark: without it Excel reads UTF-8 as the local code page and garbles "é" and "–".
UTF8_BOM = "\ufeff"


def neutralise(value: Any) -> Any:
    """The value as it should be written to a CSV cell.

    None becomes an empty cell; numbers stay numbers; datetimes are written in ISO 8601; booleans as
    "yes"/"no"; anything else as text, with a leading ``'`` if it starts with a formula character.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() returns the line instead of storing it (for streaming)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> Iterator[str]:
    """The CSV text of `header` and `rows`, one line at a time, every cell neutralised."""
    writer = csv.writer(_Echo())
    if bom:
        yield UTF8_BOM
    yield writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


def safe_filename(filename: str) -> str:
    """`filename` reduced to letters, digits, dot, dash and underscore, ending in .csv."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", filename.removesuffix(".csv")).strip(".-") or "export"
    return f"{stem}.csv"


def wants_csv(request) -> bool:
    """Whether the request asks for the page's table as a download (``?format=csv``)."""
    return request.GET.get("format") == "csv"


def csv_response(
    filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], *, bom: bool = True
) -> StreamingHttpResponse:
    """A streamed CSV download of `header` and `rows`.

    Inputs: a file name (sanitised, ".csv" added if missing), the column names, and the rows as any
    iterable of sequences, consumed lazily while the response is sent: pass a generator over
    ``queryset.iterator()`` to export a large table without holding it in memory. Cells are
    neutralised by `neutralise` (formula injection, None, booleans, dates).
    Output: a StreamingHttpResponse with ``text/csv; charset=utf-8`` and an attachment disposition.
    `bom` prefixes a UTF-8 byte order mark so that Excel reads accented names correctly.
    """
    response = StreamingHttpResponse(csv_lines(header, rows, bom=bom), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
