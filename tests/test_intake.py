from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from measurement.models import Deviation, Evaluation, Feedback, Observation
from measurement.services.intake import evaluation_record, feedback_ingest, observations_ingest
from standards.models import Comparator, MeasureKind
from tests import factories

WHEN = "2026-03-02T10:15:00+00:00"


@pytest.fixture
def world(db):
    location = factories.LocationFactory(code="LDN-01")
    team = factories.TeamFactory(location=location, name="Shop floor")
    employee = factories.EmployeeFactory(location=location, team=team, employee_number="E00042")
    return {
        "location": location,
        "team": team,
        "employee": employee,
        "greet": factories.StandardFactory(code="GREET"),
        "receipt": factories.StandardFactory(code="RECEIPT", non_negotiable=True, target_rate=Decimal("100")),
        "rings": factories.StandardFactory(
            code="RINGS",
            measure_kind=MeasureKind.NUMERIC,
            comparator=Comparator.LTE,
            threshold=Decimal("3"),
            unit="rings",
        ),
        "touchpoint": factories.TouchpointFactory(slug="till"),
    }


def rows(*items):
    return list(enumerate(items, start=1))


def obs(**fields):
    return {
        "standard": "GREET",
        "location": "LDN-01",
        "source": "mystery_shop",
        "observed_at": WHEN,
        **fields,
    }


def test_valid_rows_are_stored_with_their_references(world):
    result = observations_ingest(
        rows(obs(passed="true", team="Shop floor", touchpoint="till"), obs(passed="no", employee="E00042"))
    )
    assert result.ok and result.created == 2
    first, second = Observation.objects.order_by("pk")
    assert first.passed and first.team == world["team"] and first.touchpoint == world["touchpoint"]
    assert not second.passed and second.employee == world["employee"] and second.team == world["team"]


def test_a_numeric_standard_is_judged_from_its_value(world):
    result = observations_ingest(rows(obs(standard="RINGS", value="2"), obs(standard="RINGS", value="5")))
    assert result.ok
    assert list(Observation.objects.order_by("pk").values_list("passed", flat=True)) == [True, False]


def test_every_bad_row_is_reported_and_nothing_is_saved(world):
    result = observations_ingest(
        rows(
            obs(passed="true"),
            obs(standard="NOPE", passed="true"),
            obs(location="XXX", passed="true"),
            obs(observed_at="yesterday", passed="true"),
            obs(standard="RINGS"),
            obs(standard="RINGS", value="2", passed="false"),
            obs(passed="maybe"),
            obs(source="rumour", passed="true"),
        )
    )
    assert not result.ok
    assert {(e.row, e.field) for e in result.errors} == {
        (2, "standard"),
        (3, "location"),
        (4, "observed_at"),
        (5, "value"),
        (6, "passed"),
        (7, "passed"),
        (8, "source"),
    }
    assert Observation.objects.count() == 0


def test_an_employee_from_another_location_is_refused(world):
    factories.EmployeeFactory(employee_number="E00099")
    result = observations_ingest(rows(obs(passed="true", employee="E00099")))
    assert [(e.field, e.message) for e in result.errors] == [
        ("employee", "Employee E00099 does not work at LDN-01.")
    ]


def test_a_resent_batch_is_stored_once_and_counted_as_duplicates(world):
    batch = rows(obs(passed="true", external_id="a-1"), obs(passed="false", external_id="a-2"))
    assert observations_ingest(batch).created == 2
    again = observations_ingest(batch)
    assert (again.created, again.duplicates) == (0, 2)
    assert Observation.objects.count() == 2


def test_a_repeated_external_id_inside_one_batch_is_an_error(world):
    result = observations_ingest(
        rows(obs(passed="true", external_id="x"), obs(passed="false", external_id="x"))
    )
    assert [str(e) for e in result.errors] == ["row 2, external_id: Repeats the external id of row 1."]


def test_a_failed_non_negotiable_observation_creates_a_deviation_at_once(world):
    result = observations_ingest(
        rows(obs(standard="RECEIPT", passed="false"), obs(standard="RECEIPT", passed="true"))
    )
    assert result.deviations == 1
    deviation = Deviation.objects.get()
    assert deviation.observation.passed is False
    assert deviation.standard == world["receipt"] and deviation.status == "open"


def test_evidence_from_the_future_is_refused(world):
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    result = observations_ingest(rows(obs(passed="true", observed_at=tomorrow)))
    assert [e.field for e in result.errors] == ["observed_at"]


def test_a_batch_larger_than_allowed_is_refused(world):
    result = observations_ingest(rows(*[obs(passed="true")] * 3), max_rows=2)
    assert [(e.row, e.field) for e in result.errors] == [(3, "__all__")]
    assert Observation.objects.count() == 0


def test_an_evaluation_is_scored_by_weight_and_fails_on_a_critical_item(world):
    outcome = evaluation_record(
        location="LDN-01",
        method="mystery_shop",
        evaluated_at=WHEN,
        employee="E00042",
        items=[
            {"standard": "GREET", "passed": True, "weight": "3"},
            {"standard": "RINGS", "value": "2"},
            {"standard": "RECEIPT", "passed": False, "critical": True},
        ],
    )
    evaluation = outcome.evaluation
    assert outcome.created and not outcome.errors
    assert evaluation.score == Decimal("80.00")  # 4 of 5 weight units passed
    assert evaluation.critical_failed and not evaluation.passed
    assert evaluation.observations.count() == 3
    assert Deviation.objects.filter(observation__evaluation=evaluation).count() == 1


def test_an_evaluation_with_a_bad_item_saves_nothing(world):
    outcome = evaluation_record(
        location="LDN-01",
        method="qa_review",
        evaluated_at=WHEN,
        items=[
            {"standard": "GREET", "passed": True},
            {"standard": "RINGS"},
            {"standard": "GREET", "weight": "-1", "passed": "y"},
        ],
    )
    assert outcome.evaluation is None
    assert {(e.row, e.field) for e in outcome.errors} == {(2, "value"), (3, "weight")}
    assert Evaluation.objects.count() == Observation.objects.count() == 0


def test_an_evaluation_with_an_external_id_is_recorded_once(world):
    kwargs = {"location": "LDN-01", "method": "audit", "evaluated_at": WHEN, "external_id": "ev-1"}
    first = evaluation_record(items=[{"standard": "GREET", "passed": True}], **kwargs)
    second = evaluation_record(items=[{"standard": "GREET", "passed": True}], **kwargs)
    assert first.created and not second.created
    assert second.evaluation == first.evaluation and Observation.objects.count() == 1


def test_feedback_is_checked_and_stored_all_or_nothing(world):
    good = {"touchpoint": "till", "location": "LDN-01", "csat": "5", "nps": "10", "comment": "Lovely"}
    result = feedback_ingest(
        rows(
            good,
            {**good, "csat": "6"},
            {**good, "nps": "eleven"},
            {"touchpoint": "till", "location": "LDN-01"},
            {**good, "contact_email": "a@example.com"},
        )
    )
    assert {(e.row, e.field) for e in result.errors} == {
        (2, "csat"),
        (3, "nps"),
        (4, "__all__"),
        (5, "contact_consent"),
    }
    assert Feedback.objects.count() == 0

    ok = feedback_ingest(
        rows(good, {**good, "external_id": "f-1", "contact_email": "a@example.com", "contact_consent": "yes"})
    )
    assert ok.created == 2
    assert feedback_ingest(rows({**good, "external_id": "f-1"})).duplicates == 1


def test_over_long_texts_are_refused_naming_the_field(world):
    good = {"touchpoint": "till", "location": "LDN-01", "csat": "5", "contact_consent": "yes"}
    result = feedback_ingest(rows({**good, "external_id": "x" * 101, "contact_name": "n" * 121}))
    assert {e.field for e in result.errors} == {"external_id", "contact_name"}
    outcome = evaluation_record(
        location="LDN-01",
        method="audit",
        evaluated_at=WHEN,
        external_id="e" * 101,
        items=[obs(passed="true")],
    )
    assert [(e.row, e.field) for e in outcome.errors] == [(0, "external_id")]
