"""servicedesk.exports: streamed CSV downloads with spreadsheet formula injection neutralised."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from servicedesk.exports import csv_response, neutralise, safe_filename


def read(response):
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize(
    "cell",
    ["=cmd()", '=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"],
)
def test_text_that_a_spreadsheet_would_run_is_prefixed_with_a_quote(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Alpha Street", "a=b", "Customer said: =bad", "", "5 stars"])
def test_ordinary_text_is_left_alone(cell):
    assert neutralise(cell) == cell


def test_numbers_stay_numbers_even_when_negative():
    assert neutralise(-20) == -20
    assert neutralise(-3.5) == -3.5
    assert neutralise(Decimal("-1.250")) == Decimal("-1.250")


def test_empty_booleans_and_dates_are_written_plainly():
    assert neutralise(None) == ""
    assert (neutralise(True), neutralise(False)) == ("yes", "no")
    assert neutralise(date(2025, 3, 1)) == "2025-03-01"
    assert neutralise(datetime(2025, 3, 1, 9, 30, tzinfo=UTC)) == "2025-03-01T09:30:00+00:00"


def test_a_csv_response_has_the_header_then_the_rows():
    response = csv_response("scorecards", ["location", "pass_rate", "comment"], [("AAA-01", 0.82, "=cmd()")])
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="scorecards.csv"'
    assert read(response) == [["location", "pass_rate", "comment"], ["AAA-01", "0.82", "'=cmd()"]]


def test_the_header_is_neutralised_too():
    response = csv_response("x", ["=evil", "ok"], [])
    assert read(response) == [["'=evil", "ok"]]


def test_cells_with_commas_quotes_and_newlines_survive_the_round_trip():
    cell = 'She said "hello", then\nleft'
    assert read(csv_response("x", ["comment"], [[cell]]))[1] == [cell]


def test_rows_are_read_lazily_while_the_response_streams():
    consumed = []

    def rows():
        for i in range(3):
            consumed.append(i)
            yield (i,)

    response = csv_response("lazy", ["i"], rows())
    assert consumed == []
    assert read(response) == [["i"], ["0"], ["1"], ["2"]]
    assert consumed == [0, 1, 2]


def test_a_large_table_streams_in_pieces():
    response = csv_response("big", ["n"], ((n,) for n in range(10_000)))
    chunks = list(response.streaming_content)
    assert len(chunks) > 1000
    assert b"".join(chunks).decode("utf-8-sig").splitlines()[-1] == "9999"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("scorecards-month-2025-03-01", "scorecards-month-2025-03-01.csv"),
        ("league.csv", "league.csv"),
        ('bad"name\r\nSet-Cookie: x', "bad-name-Set-Cookie-x.csv"),
        ("../../etc/passwd", "etc-passwd.csv"),
        ("", "export.csv"),
    ],
)
def test_the_file_name_cannot_break_the_header(given, expected):
    assert safe_filename(given) == expected


def test_the_byte_order_mark_can_be_left_out():
    response = csv_response("x", ["a"], [[1]], bom=False)
    assert b"".join(response.streaming_content) == b"a\r\n1\r\n"
