"""One rule per field, for every channel: what a column cannot hold is refused where it enters.

Each refusal names the row (item index or file line) and the field, and nothing is written:
times outside INTAKE_EARLIEST .. now + INTAKE_FUTURE_TOLERANCE, numbers beyond their column,
text PostgreSQL cannot store (NUL, lone surrogates), lists or objects where one value belongs,
and "contact me" without any contact details.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import tablib
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from measurement.models import Evaluation, Feedback, Observation
from measurement.services.intake import evaluation_record, feedback_ingest, observations_ingest
from measurement.templatetags import servicedesk_format
from organization.formatting import day
from organization.models import Location, Role
from organization.resources import LocationResource
from organization.services import employee_sync_groups
from organization.validators import (
    decimal_problem,
    text_problem,
    validate_date,
    validate_hire_date,
    validate_timestamp,
)
from standards.models import Comparator, MeasureKind
from tests import factories
from training.services import completion_log

WHEN = "2026-03-02T10:15:00+00:00"
NUL = "a\x00b"
SURROGATE = "a\ud800b"


@pytest.fixture
def world(db):
    location = factories.LocationFactory(code="LDN-01")
    team = factories.TeamFactory(location=location, name="Shop floor")
    factories.EmployeeFactory(location=location, team=team, employee_number="E00042")
    factories.StandardFactory(code="GREET")
    factories.StandardFactory(
        code="RINGS", measure_kind=MeasureKind.NUMERIC, comparator=Comparator.LTE, threshold=Decimal("3")
    )
    factories.TouchpointFactory(slug="till")
    return location


def obs(**fields):
    return {
        "standard": "GREET",
        "location": "LDN-01",
        "source": "mystery_shop",
        "observed_at": WHEN,
        **fields,
    }


def answer(**fields):
    return {"touchpoint": "till", "location": "LDN-01", "csat": 4, **fields}


def answer_row(values):
    return answer(**values)


def places(result_or_errors):
    errors = getattr(result_or_errors, "errors", result_or_errors)
    return {(e.row, e.field) for e in errors}


def nothing_written():
    return not (Observation.objects.exists() or Feedback.objects.exists() or Evaluation.objects.exists())


def passed_obs(values):
    return obs(**{"passed": "true", **values})


def rings_obs(values):
    return obs(**{"standard": "RINGS", "value": "2", **values})


def refused(field, values, ingest=observations_ingest, row=passed_obs):
    """Ingest a good row and then the bad one; the bad one must be refused at (2, field)."""
    result = ingest([(1, row({})), (2, row(values))])
    assert not result.ok, f"{values!r} was accepted"
    assert places(result) == {(2, field)}, result.errors
    assert nothing_written()
    return result.errors[0].message


# --- the failures of the issue -------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+00:00", "1999-12-31T23:59:59Z"]
)
def test_an_observation_dated_before_the_earliest_day_is_refused(world, moment):
    message = refused("observed_at", {"passed": "true", "observed_at": moment})
    assert "before 1 Jan 2000, the earliest date accepted." in message


def test_the_earliest_day_comes_from_the_setting(world, settings):
    settings.INTAKE_EARLIEST = date(2026, 3, 3)
    result = observations_ingest([(1, obs(passed="true", observed_at="2026-03-02T23:00:00+00:00"))])
    assert places(result) == {(1, "observed_at")}
    settings.INTAKE_EARLIEST = date(2026, 3, 2)
    assert observations_ingest([(1, obs(passed="true"))]).created == 1


@pytest.mark.parametrize("value", ["1234567890123", "1e12", 10**12, 1e300, "-999999999.9999"])
def test_a_value_the_column_cannot_hold_is_refused_naming_the_row(world, value):
    message = refused("value", {"standard": "RINGS", "value": value}, row=rings_obs)
    assert "too large" in message or "decimal places" in message


@pytest.mark.parametrize(
    "field", ["comment", "external_id", "standard", "location", "team", "employee", "touchpoint", "source"]
)
@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_unstorable_text_in_any_observation_field_is_refused(world, field, bad):
    result = observations_ingest([(1, obs(passed="true")), (7, obs(passed="true", **{field: bad}))])
    assert places(result) == {(7, field)}, result.errors
    assert result.errors[0].message.startswith("Text cannot contain")
    assert nothing_written()


@pytest.mark.parametrize(
    "field", ["comment", "contact_name", "contact_email", "external_id", "touchpoint", "location", "channel"]
)
@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_unstorable_text_in_any_feedback_field_is_refused(world, field, bad):
    extra = {"contact_consent": True} if field.startswith("contact") else {}
    refused(field, {field: bad, **extra}, ingest=feedback_ingest, row=answer_row)


def test_feedback_from_a_thousand_years_ahead_is_refused_like_an_observation(world):
    message = refused(
        "submitted_at", {"submitted_at": "3026-03-02T10:15:00+00:00"}, ingest=feedback_ingest, row=answer_row
    )
    assert message.endswith("is in the future.")
    refused(
        "submitted_at", {"submitted_at": "1066-10-14T09:00:00+00:00"}, ingest=feedback_ingest, row=answer_row
    )


def test_feedback_a_little_ahead_is_accepted_within_the_tolerance(world):
    soon = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert feedback_ingest([(1, answer(submitted_at=soon))]).created == 1


def test_asking_to_be_contacted_without_name_or_email_is_refused(world):
    message = refused("contact_email", {"contact_consent": True}, ingest=feedback_ingest, row=answer_row)
    assert message == "To be contacted, leave an email address or a name, or do not ask to be contacted."
    assert feedback_ingest([(1, answer(contact_consent=True, contact_name="Ann"))]).created == 1


def test_an_email_address_follows_the_rule_of_the_models_email_field(world):
    refused(
        "contact_email",
        {"contact_consent": True, "contact_email": "ann@"},
        ingest=feedback_ingest,
        row=answer_row,
    )


@pytest.fixture
def completion_world(db):
    return {"employee": factories.EmployeeFactory(), "course": factories.CourseFactory(pass_mark=None)}


@pytest.mark.parametrize(
    ("completed_on", "message"),
    [
        (date(1990, 6, 1), "1 Jun 1990 is before 1 Jan 2000, the earliest date accepted."),
        (date(1, 1, 1), "1 Jan 0001 is before 1 Jan 2000, the earliest date accepted."),
        (date.today() + timedelta(days=2), "A completion cannot be dated in the future."),
    ],
)
def test_a_training_completion_outside_the_window_is_refused(completion_world, completed_on, message):
    with pytest.raises(ValidationError) as caught:
        completion_log(**completion_world, completed_on=completed_on)
    assert caught.value.message_dict == {"completed_on": [message]}
    assert not completion_world["employee"].completions.exists()


def test_training_evidence_with_a_nul_is_refused(completion_world):
    with pytest.raises(ValidationError) as caught:
        completion_log(**completion_world, completed_on=date.today(), evidence=NUL)
    assert list(caught.value.message_dict) == ["evidence"]


# --- the class: every other value a column cannot hold -------------------------------------------


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"observed_at": "9999-12-31T23:59:59-23:59"}, "observed_at"),  # would overflow in UTC
        ({"observed_at": "2026-02-30T10:00:00"}, "observed_at"),
        ({"observed_at": "2026-01-01T10:00:00+25:00"}, "observed_at"),
        ({"observed_at": ["2026-03-02"]}, "observed_at"),
        ({"standard": "RINGS", "value": "NaN"}, "value"),
        ({"standard": "RINGS", "value": float("inf")}, "value"),
        ({"standard": "RINGS", "value": "1.0005"}, "value"),
        ({"standard": "RINGS", "value": "1" * 5000}, "value"),
        ({"standard": "RINGS", "value": 10**5000}, "value"),
        ({"standard": "RINGS", "value": True}, "value"),
        ({"passed": {"yes": True}}, "passed"),
        ({"passed": "true", "comment": {"text": "hi"}}, "comment"),
        ({"passed": "true", "external_id": "x" * 101}, "external_id"),
    ],
)
def test_other_values_a_column_cannot_hold_are_refused(world, value, field):
    refused(field, value)


def test_an_item_that_is_not_an_object_is_refused_by_its_index(world):
    result = observations_ingest([(0, obs(passed="true")), (1, "GREET"), (2, ["GREET"]), (3, None)])
    assert places(result) == {(1, "__all__"), (2, "__all__"), (3, "__all__")}
    assert nothing_written()


@pytest.mark.parametrize(
    ("value", "field"),
    [(10**40, "csat"), ("٣", "nps"), ("1" * 5000, "nps"), (4.5, "csat"), (True, "csat"), ([4], "csat")],
)
def test_feedback_scores_must_be_whole_numbers_on_their_scale(world, value, field):
    refused(field, {field: value}, ingest=feedback_ingest, row=answer_row)


def item(**fields):
    return {"standard": "GREET", "passed": "true", **fields}


def record(**overrides):
    arguments = {"location": "LDN-01", "method": "mystery_shop", "evaluated_at": WHEN, "items": [item()]}
    return evaluation_record(**{**arguments, **overrides})


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"evaluated_at": "0001-01-01T00:00:00"}, {(1, "observed_at")}),
        ({"comment": NUL}, {(0, "comment")}),
        ({"external_id": SURROGATE}, {(0, "external_id")}),
        ({"location": NUL}, {(0, "location")}),
        ({"method": ["audit"]}, {(0, "method")}),
        ({"items": {"standard": "GREET"}}, {(0, "items")}),
        ({"items": "GREET"}, {(0, "items")}),
        ({"items": [item(), "GREET"]}, {(2, "__all__")}),
        ({"items": [item(comment=NUL)]}, {(1, "comment")}),
        ({"items": [item(weight="1000")]}, {(1, "weight")}),
        ({"items": [item(weight="0.005")]}, {(1, "weight")}),
        ({"items": [item(weight="NaN")]}, {(1, "weight")}),
        ({"items": [item(weight=[1])]}, {(1, "weight")}),
        ({"items": [item(critical={"a": 1})]}, {(1, "critical")}),
    ],
)
def test_an_evaluation_refuses_what_its_columns_cannot_hold(world, overrides, expected):
    outcome = record(**overrides)
    assert outcome.evaluation is None and places(outcome.errors) == expected, outcome.errors
    assert nothing_written()


def test_an_evaluation_reports_a_refused_location_once_not_per_item(world):
    outcome = record(location=NUL, items=[item(), item(standard="RINGS", value="2", passed=None)])
    assert places(outcome.errors) == {(0, "location")}


# --- the other channels: CSV file, public form, API, admin, import-export ------------------------


def test_the_csv_import_reports_the_line_and_field_and_saves_nothing(world, tmp_path, capsys):
    path = tmp_path / "evidence.csv"
    path.write_text(
        "standard,location,source,observed_at,passed,value,comment\n"
        f"GREET,LDN-01,mystery_shop,{WHEN},true,,fine\n"
        "GREET,LDN-01,mystery_shop,0001-01-01T00:00:00,true,,\n"
        f"GREET,LDN-01,mystery_shop,{WHEN},true,,nul \x00 here\n"
        f"RINGS,LDN-01,mystery_shop,{WHEN},,1234567890123,\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="3 problem"):
        call_command("import_observations", str(path))
    output = capsys.readouterr()
    text = output.out + output.err
    assert "line 3" in text and "observed_at" in text
    assert "line 4" in text and "comment" in text and "NUL" in text
    assert "line 5" in text and "value" in text
    assert nothing_written()


@pytest.fixture
def form_url(world):
    return reverse("feedback-form", args=["LDN-01", "till"])


def test_the_feedback_form_asks_for_details_when_contact_is_requested(client, form_url):
    response = client.post(form_url, {"csat": "4", "contact_consent": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "contact_email": ["To be contacted, leave an email address or a name, or do not ask to be contacted."]
    }
    assert not Feedback.objects.exists()


def test_the_feedback_form_refuses_a_nul_in_the_comment(client, form_url):
    response = client.post(form_url, {"csat": "4", "comment": NUL})
    assert response.status_code == 200 and "comment" in response.context["form"].errors
    assert not Feedback.objects.exists()


@pytest.fixture
def api(world):
    employee = factories.EmployeeFactory(location=world, role=Role.MANAGER)
    employee_sync_groups(employee=employee)
    employee.managed_locations.add(world)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=employee.user).key}")
    return client


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (obs(passed="true", observed_at="0001-01-01T00:00:00"), "observed_at"),
        (obs(standard="RINGS", value=1234567890123), "value"),
        (obs(passed="true", comment="nul \u0000 here"), "comment"),
        (obs(passed="true", external_id="nul \u0000 here"), "external_id"),
    ],
)
def test_the_api_answers_400_naming_the_field_not_500(api, body, field):
    response = api.post(reverse("api:observation-list"), [body], format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert nothing_written()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (answer(comment="nul \u0000 here"), "comment"),
        (answer(submitted_at="3026-01-01T00:00:00Z"), "submitted_at"),
        (answer(contact_consent=True), "contact_email"),
    ],
)
def test_the_feedback_api_answers_400_naming_the_field(api, body, field):
    response = api.post(reverse("api:feedback-list"), [body], format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert nothing_written()


def test_admin_full_clean_applies_the_same_window_and_text_rules(world):
    observation = Observation(
        standard=factories.StandardFactory(code="OPEN"),
        location=world,
        source="audit",
        observed_at=datetime(1, 1, 1, tzinfo=timezone.get_current_timezone()),
        passed=True,
        comment=NUL,
    )
    with pytest.raises(ValidationError) as caught:
        observation.full_clean()
    assert {"observed_at", "comment"} <= set(caught.value.message_dict)
    feedback = Feedback(
        touchpoint=factories.TouchpointFactory(slug="door"),
        location=world,
        submitted_at=timezone.now() + timedelta(days=365 * 1000),
        csat=4,
        contact_consent=True,
    )
    with pytest.raises(ValidationError) as caught:
        feedback.full_clean()
    assert {"submitted_at", "contact_email"} <= set(caught.value.message_dict)


def test_an_import_file_with_unstorable_text_is_refused_by_row_and_column(db):
    dataset = tablib.Dataset(headers=["code", "name", "region", "active"])
    dataset.append(["LDN-01", "London", "South", "1"])
    dataset.append(["MAN-01", "Man\x00chester", "North", "1"])
    dataset.append(["BRS-\x00", "Bristol", "West", "1"])
    result = LocationResource().import_data(dataset, dry_run=False, raise_errors=False)
    assert not result.has_errors(), [e.error for _, errors in result.row_errors() for e in errors]
    invalid = {row.number: set(row.field_specific_errors) for row in result.invalid_rows}
    assert invalid[2] == {"name"} and "code" in invalid[3]
    assert not Location.objects.exists()


# --- the rules themselves ------------------------------------------------------------------------


def test_text_rule_accepts_ordinary_unicode():
    assert text_problem("Café – naïve 日本 🙂") is None
    assert text_problem("\x00") and text_problem("\udfff")


@pytest.mark.parametrize(
    ("number", "fits"),
    [
        ("999999999.999", True),
        ("1000000000", False),
        ("0.001", True),
        ("0.0005", False),
        ("1.5000", True),
        ("-0", True),
    ],
)
def test_decimal_rule_is_the_columns(number, fits):
    assert (decimal_problem(Decimal(number), max_digits=12, decimal_places=3) is None) == fits


def test_a_bad_earliest_date_setting_stops_start_up(tmp_path):
    from tests.test_settings import start_django

    started = start_django(tmp_path, "-c", "import django; django.setup()", INTAKE_EARLIEST="01/01/2000")
    assert started.returncode != 0
    assert "INTAKE_EARLIEST must be a date as YYYY-MM-DD, got “01/01/2000”" in started.stderr


def test_the_completion_form_shows_the_earliest_date_next_to_the_field(client, staff):
    course = factories.CourseFactory(pass_mark=None)
    client.force_login(staff)
    response = client.post(
        reverse("training:mine"),
        {"course": course.pk, "completed_on": "1990-06-01", "method": "classroom"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "completed_on": ["1 Jun 1990 is before 1 Jan 2000, the earliest date accepted."]
    }
    assert not staff.employee.completions.exists()


@pytest.mark.parametrize(
    ("hired_on", "message"), [(date(9999, 1, 1), "more than a year ahead"), (date(1, 1, 1), "before 1900")]
)
def test_a_hire_date_every_deadline_is_counted_from_must_be_plausible(db, hired_on, message):
    employee = factories.EmployeeFactory.build(
        user=factories.UserFactory(), location=factories.LocationFactory(), hired_on=hired_on
    )
    with pytest.raises(ValidationError) as caught:
        employee.full_clean()
    assert message in caught.value.message_dict["hired_on"][0]


@pytest.mark.parametrize(
    ("validator", "value", "message"),
    [
        (validate_date, date(1999, 8, 4), "4 Aug 1999 is before 1 Jan 2000, the earliest date accepted."),
        (
            validate_timestamp,
            datetime(1999, 8, 4, 9, 5),
            "4 Aug 1999 09:05 is before 1 Jan 2000, the earliest date accepted.",
        ),
        (validate_hire_date, date(1899, 12, 31), "31 Dec 1899 is before 1900."),
    ],
)
def test_a_validation_message_names_the_date_in_words(validator, value, message):
    with pytest.raises(ValidationError) as caught:
        validator(value)
    assert caught.value.messages == [message]


@pytest.mark.parametrize(
    "value",
    [date(2026, 8, 4), date(1, 1, 1), datetime(2026, 7, 31, 23, 30, tzinfo=UTC), None, "2026-08-04"],
)
def test_dates_in_python_text_read_as_the_day_filter_shows_them(value):
    assert day(value) == servicedesk_format.day(value)


def test_a_time_in_words_is_read_in_the_local_time_zone():
    assert day(datetime(2026, 7, 31, 23, 30, tzinfo=UTC), with_time=True) == "1 Aug 2026 00:30"
    assert day(date(2026, 8, 4), with_time=True) == "4 Aug 2026"


# --- day counts that dates are computed from --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "field", "bad"),
    [
        (factories.RuleFactory.build, "due_within_days", 3651),
        (factories.RuleFactory.build, "consecutive_periods", 37),
        (factories.RequirementFactory.build, "due_within_days", 3651),
        (factories.CourseFactory.build, "refresher_interval_days", 3651),
    ],
)
def test_a_day_count_that_would_carry_a_date_past_the_calendar_is_refused_in_admin(make, field, bad):
    record = make(**{field: bad})
    with pytest.raises(ValidationError) as refused:
        record.full_clean(exclude=[f.name for f in record._meta.fields if f.name != field])
    assert field in refused.value.message_dict
