"""manage.py import_observations: streaming, all or nothing, every bad line named."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from measurement import csv_import
from measurement.models import Deviation, Feedback, Observation
from standards.models import Comparator, MeasureKind
from tests import factories

WHEN = (timezone.now() - timedelta(days=2)).replace(microsecond=0).isoformat()
HEADER = "external_id,standard,location,team,source,observed_at,value,passed,comment"


@pytest.fixture
def world(db):
    location = factories.LocationFactory(code="LDN-01")
    factories.TeamFactory(location=location, name="Shop floor")
    factories.StandardFactory(code="GREET")
    factories.StandardFactory(code="RECEIPT", non_negotiable=True, target_rate=Decimal("100"))
    factories.StandardFactory(
        code="SMILE", measure_kind=MeasureKind.RATING, comparator=Comparator.GTE, threshold=Decimal("4")
    )
    factories.TouchpointFactory(slug="till")
    return location


def write(tmp_path, *lines, name="file.csv", encoding="utf-8", prefix=b""):
    path = tmp_path / name
    path.write_bytes(prefix + "".join(f"{line}\r\n" for line in lines).encode(encoding))
    return str(path)


def run(path, *args):
    """Run the command; returns (stdout, stderr, the CommandError or None)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_observations", path, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def good_lines():
    return [
        HEADER,
        f"o-1,GREET,LDN-01,Shop floor,mystery_shop,{WHEN},,true,Warm welcome",
        f"o-2,SMILE,LDN-01,,qa_review,{WHEN},5,,",
        f"o-3,RECEIPT,LDN-01,,audit,{WHEN},,false,No receipt given",
    ]


def test_a_good_file_is_imported_with_a_summary(world, tmp_path):
    out, err, error = run(write(tmp_path, *good_lines()))
    assert error is None, err
    assert Observation.objects.count() == 3
    assert Deviation.objects.count() == 1
    assert "3 rows" in out and "3 created" in out and "0 duplicate(s)" in out and "1 deviation(s)" in out
    assert "rows/s" in out
    assert Observation.objects.get(external_id="o-2").passed is True


def test_importing_the_same_file_twice_reports_duplicates_and_adds_nothing(world, tmp_path):
    path = write(tmp_path, *good_lines())
    run(path)
    out, _, error = run(path)
    assert error is None
    assert "0 created" in out and "3 duplicate(s)" in out
    assert Observation.objects.count() == 3 and Deviation.objects.count() == 1


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_saved(world, tmp_path):
    path = tmp_path / "bad.csv"
    lines = [
        *good_lines(),  # lines 1-4
        "o-5,GREET,LDN-01,,mystery_shop,31/02/2026,,true,",
        f"o-6,NOPE,LDN-01,,mystery_shop,{WHEN},,true,",
        f"o-7,SMILE,LDN-01,,qa_review,{WHEN},7,,",
        f"o-8,GREET,XXX-99,,mystery_shop,{WHEN},,true,",
    ]
    content = "".join(f"{line}\n" for line in lines).encode()
    # Line 9 was saved by a spreadsheet in Latin-1: "é" is the single byte 0xe9.
    content += f"o-9,GREET,LDN-01,,mystery_shop,{WHEN},,true,Caf".encode() + b"\xe9\n"
    path.write_bytes(content)

    _, err, error = run(str(path))

    assert error is not None and "nothing was saved" in str(error)
    assert "line 5, observed_at: “31/02/2026” is not a date and time" in err
    assert "line 6, standard: No active or retired standard has the code “NOPE”" in err
    assert "line 7, value: 7 is not on the 1–5 rating scale" in err
    assert "line 8, location: No location has the code “XXX-99”" in err
    assert "line 9: not UTF-8 text (byte 0xe9 at position" in err
    assert "line 2" not in err and "line 3" not in err and "line 4" not in err
    assert Observation.objects.count() == 0 and Deviation.objects.count() == 0


def test_a_line_with_the_wrong_number_of_values_is_reported(world, tmp_path):
    path = write(tmp_path, *good_lines(), f"o-5,GREET,LDN-01,mystery_shop,{WHEN},,true")
    _, err, error = run(path)
    assert error is not None
    assert "line 5: 7 values, but the header names 9 columns" in err
    assert Observation.objects.count() == 0


def test_line_numbers_count_lines_inside_quoted_values(world, tmp_path):
    path = write(
        tmp_path,
        HEADER,
        f'o-1,GREET,LDN-01,,mystery_shop,{WHEN},,true,"Two lines,\r\nwith a comma"',
        "",
        f"o-3,GREET,LDN-01,,mystery_shop,{WHEN},,maybe,",
    )
    _, err, error = run(path)
    assert error is not None
    # The quoted comment spans lines 2-3, line 4 is blank: the bad record starts on line 5.
    assert "line 5, passed: “maybe” is not true or false" in err


def test_a_missing_column_is_named_and_nothing_is_saved(world, tmp_path):
    observed_at = HEADER.split(",").index("observed_at")
    lines = [",".join(v for i, v in enumerate(line.split(",")) if i != observed_at) for line in good_lines()]
    _, _, error = run(write(tmp_path, *lines))
    assert error is not None
    assert "required column observed_at is missing" in str(error)
    assert "Nothing was saved" in str(error)
    assert Observation.objects.count() == 0


def test_an_unknown_column_is_refused_with_the_allowed_ones(world, tmp_path):
    lines = [f"{line},x" for line in good_lines()]
    lines[0] = HEADER + ",shoe_size"
    _, _, error = run(write(tmp_path, *lines))
    assert error is not None
    assert "unknown column shoe_size" in str(error)
    assert "allowed columns are: external_id, standard, location, team, employee" in str(error)
    assert Observation.objects.count() == 0


def test_a_latin1_header_is_refused(world, tmp_path):
    path = write(tmp_path, HEADER + ",café", encoding="latin-1")
    _, _, error = run(path)
    assert error is not None
    assert "line 1 (header): not UTF-8 text (byte 0xe9" in str(error)


def test_an_empty_file_is_refused_with_a_clear_message(world, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    _, _, error = run(str(path))
    assert error is not None and "The file is empty" in str(error)


def test_a_file_with_only_a_header_is_refused(world, tmp_path):
    _, _, error = run(write(tmp_path, HEADER))
    assert error is not None and "no rows below it" in str(error)


def test_a_missing_file_is_reported(db, tmp_path):
    _, _, error = run(str(tmp_path / "nope.csv"))
    assert error is not None and "Cannot open" in str(error)


def test_a_utf8_byte_order_mark_is_accepted(world, tmp_path):
    lines = good_lines()
    lines[1] = lines[1].replace("Warm welcome", '"Très bien, merci"')
    _, err, error = run(write(tmp_path, *lines, prefix=b"\xef\xbb\xbf"))
    assert error is None, err
    assert Observation.objects.get(external_id="o-1").comment == "Très bien, merci"


def test_a_dry_run_checks_everything_and_saves_nothing(world, tmp_path):
    out, _, error = run(write(tmp_path, *good_lines()), "--dry-run")
    assert error is None
    assert "Dry run" in out and "3 would be created" in out and "1 deviation(s) would be opened" in out
    assert Observation.objects.count() == 0 and Deviation.objects.count() == 0


def test_a_dry_run_still_reports_bad_lines(world, tmp_path):
    _, err, error = run(write(tmp_path, *good_lines(), f"o-5,NOPE,LDN-01,,audit,{WHEN},,true,"), "--dry-run")
    assert error is not None and "line 5, standard" in err


def test_a_file_without_external_ids_gets_a_warning(world, tmp_path):
    lines = [line.split(",", 1)[1] for line in good_lines()]
    _, err, error = run(write(tmp_path, *lines))
    assert error is None
    assert "no external_id column" in err
    assert Observation.objects.count() == 3


def test_feedback_files_are_imported_with_kind_feedback(world, tmp_path):
    path = write(
        tmp_path,
        "external_id,touchpoint,location,submitted_at,csat,nps,comment,channel",
        f"f-1,till,LDN-01,{WHEN},5,10,Lovely,email",
        f"f-2,till,LDN-01,{WHEN},2,3,,phone",
    )
    out, err, error = run(path, "--kind", "feedback")
    assert error is None, err
    assert "2 created" in out and "deviation" not in out
    assert sorted(Feedback.objects.values_list("channel", "csat")) == [("email", 5), ("phone", 2)]
    _, _, again = run(path, "--kind", "feedback")
    assert again is None and Feedback.objects.count() == 2


def test_bad_feedback_lines_are_reported_and_nothing_is_saved(world, tmp_path):
    path = write(
        tmp_path,
        "external_id,touchpoint,location,csat,nps,contact_email",
        "f-1,till,LDN-01,5,10,",
        "f-2,till,LDN-01,6,10,",
        "f-3,till,LDN-01,4,9,someone@example.com",
    )
    _, err, error = run(path, "--kind", "feedback")
    assert error is not None
    assert "line 3, csat: 6 is outside 1–5" in err
    assert "line 4, contact_consent:" in err
    assert Feedback.objects.count() == 0


def test_an_observation_header_is_refused_for_feedback(world, tmp_path):
    _, _, error = run(write(tmp_path, *good_lines()), "--kind", "feedback")
    assert error is not None and "unknown column standard" in str(error)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_shown_on_a_terminal_only(world, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "PROGRESS_EVERY", 2)
    path = write(tmp_path, *good_lines())
    terminal = Terminal()
    call_command("import_observations", path, "--dry-run", stdout=terminal, stderr=io.StringIO())
    assert "\r           2 rows read" in terminal.getvalue()
    assert "rows/s\nDry run of" in terminal.getvalue()  # the summary starts on its own line
    out, _, _ = run(path, "--dry-run")
    assert "\r" not in out and "rows read" not in out
