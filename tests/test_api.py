"""The REST API under /api/v1/: intake (all-or-nothing batches, idempotent resends, scope on
posting), reads scoped to the token's owner, filters, and a query count that does not grow
with the page."""

import base64
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from measurement import filters
from measurement.models import Deviation, Evaluation, Feedback, Observation, Scorecard
from measurement.services.intake import MAX_BATCH
from organization.scope import scope_queryset
from standards.models import Comparator, MeasureKind, Status
from tests import factories
from tests.test_settings import start_django

WHEN = "2026-03-02T10:15:00+00:00"


@pytest.fixture(autouse=True)
def lists_reach_back_to_the_evidence(monkeypatch):
    """The evidence here is dated from January 2026 whatever today is, so the lists' default window
    (the last `filters.RECENT_DAYS` days) reaches back to then; the tests of that window set it."""
    monkeypatch.setattr(filters, "RECENT_DAYS", (timezone.localdate() - date(2026, 1, 1)).days + 1)


def url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs or None)


def client_for(user) -> APIClient:
    """A client that authenticates the way another system does: `Authorization: Token …`."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def world(location_a, location_b):
    team = factories.TeamFactory(location=location_a, name="Shop floor")
    return {
        "team": team,
        # Outside the numbers EmployeeFactory hands out (E00000, E00001, …), which it would reach.
        "employee": factories.EmployeeFactory(location=location_a, team=team, employee_number="E90042"),
        "greet": factories.StandardFactory(code="GREET"),
        "receipt": factories.StandardFactory(code="RECEIPT", non_negotiable=True, target_rate=Decimal("100")),
        "rings": factories.StandardFactory(
            code="RINGS",
            measure_kind=MeasureKind.NUMERIC,
            comparator=Comparator.LTE,
            threshold=Decimal("3"),
            unit="rings",
        ),
        "till": factories.TouchpointFactory(slug="till"),
    }


def obs(**fields):
    return {
        "standard": "GREET",
        "location": "AAA-01",
        "source": "mystery_shop",
        "observed_at": WHEN,
        **fields,
    }


def feedback(**fields):
    return {"touchpoint": "till", "location": "AAA-01", "submitted_at": WHEN, "csat": 5, "nps": 9, **fields}


def evaluation(**fields):
    return {
        "location": "AAA-01",
        "method": "mystery_shop",
        "evaluated_at": WHEN,
        "items": [{"standard": "GREET", "passed": True}],
        **fields,
    }


def error_places(response):
    return {(e["index"], e["field"]) for e in response.json()["errors"]}


# --- authentication ------------------------------------------------------------------------------

LIST_ENDPOINTS = [
    "observation-list",
    "evaluation-list",
    "feedback-list",
    "scorecard-list",
    "standard-list",
    "touchpoint-list",
    "location-list",
]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_anonymous_gets_401_on_every_endpoint(db, endpoint):
    response = APIClient().get(url(endpoint))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", ["observation-list", "evaluation-list", "feedback-list"])
def test_anonymous_cannot_post(world, endpoint):
    response = APIClient().post(url(endpoint), obs(), format="json")
    assert response.status_code == 401
    assert not Observation.objects.exists() and not Feedback.objects.exists()


def test_a_token_authenticates(manager):
    response = client_for(manager).get(url("observation-list"))
    assert response.status_code == 200


def test_a_wrong_token_is_refused(manager):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(url("observation-list")).status_code == 401


def test_a_token_is_obtained_with_username_and_password(manager):
    response = APIClient().post(
        url("token"), {"username": "manager", "password": "correct-horse-battery"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=manager).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(url("location-list")).status_code == 200


def test_a_wrong_password_gets_no_token(manager):
    response = APIClient().post(url("token"), {"username": "manager", "password": "guess"}, format="json")
    assert response.status_code == 400
    assert not Token.objects.exists()


# --- posting observations ------------------------------------------------------------------------


def test_a_single_observation_is_stored(manager, world):
    response = client_for(manager).post(
        url("observation-list"),
        obs(passed=True, team="Shop floor", touchpoint="till", external_id="shop-1"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    observation = Observation.objects.get()
    assert response.json() == {"created": 1, "duplicates": 0, "deviations": 0, "ids": [observation.pk]}
    assert (
        observation.passed and observation.team == world["team"] and observation.touchpoint == world["till"]
    )
    assert observation.recorded_by == manager
    assert observation.external_id == "shop-1"


def test_a_batch_is_stored_whole_and_numeric_values_are_judged(manager, world):
    response = client_for(manager).post(
        url("observation-list"),
        [
            obs(passed=True),
            obs(standard="RINGS", value=2),
            obs(standard="RINGS", value="5", employee="E90042"),
        ],
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 3
    assert sorted(response.json()["ids"]) == sorted(Observation.objects.values_list("pk", flat=True))
    assert list(Observation.objects.order_by("pk").values_list("passed", flat=True)) == [True, True, False]


def test_a_batch_with_bad_items_saves_nothing_and_reports_each_one(manager, world):
    response = client_for(manager).post(
        url("observation-list"),
        [
            obs(passed=True),
            obs(standard="NOPE", passed=True),
            obs(passed=True),
            obs(location="XXX-99", observed_at="yesterday", passed=True),
            obs(standard="RINGS"),
            obs(passed="maybe", source="rumour"),
        ],
        format="json",
    )
    assert response.status_code == 400
    assert error_places(response) == {
        (1, "standard"),
        (3, "location"),
        (3, "observed_at"),
        (4, "value"),
        (5, "passed"),
        (5, "source"),
    }
    assert response.json()["detail"] == "4 items with errors, so nothing was saved."
    messages = {(e["index"], e["field"]): e["message"] for e in response.json()["errors"]}
    assert "NOPE" in messages[(1, "standard")]
    assert "XXX-99" in messages[(3, "location")]
    assert Observation.objects.count() == 0
    assert Deviation.objects.count() == 0


def test_a_full_resend_is_answered_200_and_stored_once(manager, world):
    batch = [obs(passed=True, external_id=f"shop-{n}") for n in range(3)]
    client = client_for(manager)
    first = client.post(url("observation-list"), batch, format="json")
    assert first.status_code == 201 and first.json()["created"] == 3

    again = client.post(url("observation-list"), batch, format="json")

    assert again.status_code == 200
    assert again.json() == {"created": 0, "duplicates": 3, "deviations": 0, "ids": []}
    assert Observation.objects.count() == 3


def test_a_partial_resend_stores_only_the_new_items(manager, world):
    client = client_for(manager)
    client.post(url("observation-list"), [obs(passed=True, external_id="a")], format="json")
    response = client.post(
        url("observation-list"),
        [obs(passed=True, external_id="a"), obs(passed=True, external_id="b")],
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["created"] == 1 and response.json()["duplicates"] == 1
    assert sorted(Observation.objects.values_list("external_id", flat=True)) == ["a", "b"]


def test_an_external_id_repeated_inside_a_batch_is_an_error(manager, world):
    response = client_for(manager).post(
        url("observation-list"),
        [obs(passed=True, external_id="x"), obs(passed=True, external_id="x")],
        format="json",
    )
    assert response.status_code == 400
    assert error_places(response) == {(1, "external_id")}
    assert not Observation.objects.exists()


def test_a_failed_non_negotiable_standard_is_a_deviation_at_once(manager, world):
    response = client_for(manager).post(
        url("observation-list"), [obs(standard="RECEIPT", passed=False), obs(passed=False)], format="json"
    )
    assert response.status_code == 201
    assert response.json()["deviations"] == 1
    assert Deviation.objects.get().standard == world["receipt"]


def test_a_batch_of_the_maximum_size_is_accepted(manager, world):
    response = client_for(manager).post(
        url("observation-list"), [obs(passed=True)] * MAX_BATCH, format="json"
    )
    assert response.status_code == 201
    assert Observation.objects.count() == MAX_BATCH


def test_a_batch_over_the_maximum_is_refused_whole(manager, world):
    response = client_for(manager).post(
        url("observation-list"), [obs(passed=True)] * (MAX_BATCH + 1), format="json"
    )
    assert response.status_code == 413
    assert "at most 5,000 items" in response.json()["detail"]
    assert "5,001" in response.json()["detail"]
    assert not Observation.objects.exists()


@pytest.mark.parametrize("endpoint", ["observation-list", "feedback-list", "evaluation-list"])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("just text", "Send a JSON object or a list of JSON objects."),
        ([], "The list is empty: send at least one item."),
    ],
)
def test_a_body_that_is_not_items_is_refused_as_item_0(manager, world, endpoint, body, message):
    # Every 400 of the intake endpoints has the same shape: errors by index and field.
    response = client_for(manager).post(url(endpoint), body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{message} Nothing was saved.",
        "errors": [{"index": 0, "field": "__all__", "message": message}],
    }


def test_items_that_are_not_objects_are_reported_by_index(manager, world):
    response = client_for(manager).post(
        url("observation-list"), [obs(passed=True), "GREET", 3], format="json"
    )
    assert response.status_code == 400
    assert error_places(response) == {(1, "__all__"), (2, "__all__")}
    assert not Observation.objects.exists()


@pytest.mark.parametrize("endpoint", ["observation-list", "feedback-list", "evaluation-list"])
def test_malformed_json_is_a_400_naming_item_0(manager, world, endpoint):
    response = client_for(manager).post(url(endpoint), data="[{", content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "__all__")
    assert error["message"].startswith("JSON parse error")
    assert not Observation.objects.exists()


@pytest.mark.parametrize("endpoint", ["observation-list", "feedback-list", "evaluation-list"])
def test_a_body_over_the_upload_limit_is_a_413_in_json(manager, world, settings, endpoint):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = [obs(passed=True, comment="x" * 500) for _ in range(30)]
    response = client_for(manager).post(url(endpoint), body, format="json")
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The body is larger than 10,000 bytes")
    assert not Observation.objects.exists()


def test_a_full_batch_with_long_comments_fits_the_upload_limit():
    # The API promises 5,000 items per call: with 2,000-character comments (the forms' cap) they fit.
    item = obs(external_id="x" * 100, passed=True, comment="x" * 2000)
    body = json.dumps([item] * MAX_BATCH).encode()
    assert len(body) < django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_text_sent_as_a_form_is_a_415(manager, world):
    response = client_for(manager).post(url("observation-list"), obs(passed=True), format="multipart")
    assert response.status_code == 415
    assert response.json()["detail"].startswith("Unsupported media type")
    assert not Observation.objects.exists()


# --- posting: who may, and for where ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("observation-list", obs(passed=True)),
        ("evaluation-list", evaluation()),
        ("feedback-list", feedback()),
    ],
)
def test_a_staff_token_cannot_post(staff, world, endpoint, body):
    response = client_for(staff).post(url(endpoint), body, format="json")
    assert response.status_code == 403
    assert "Only managers and admins" in response.json()["detail"]
    assert not (Observation.objects.exists() or Evaluation.objects.exists() or Feedback.objects.exists())


def test_a_manager_cannot_post_observations_for_another_location(manager, world):
    response = client_for(manager).post(
        url("observation-list"),
        [obs(passed=True), obs(location="BBB-01", passed=True), obs(location="bbb-01", standard="NOPE")],
        format="json",
    )
    assert response.status_code == 400
    assert error_places(response) == {(1, "location"), (2, "location"), (2, "standard")}
    messages = [e["message"] for e in response.json()["errors"] if e["field"] == "location"]
    assert all("outside your scope" in message for message in messages)
    assert not Observation.objects.exists()


def test_a_manager_cannot_post_feedback_for_another_location(manager, world):
    response = client_for(manager).post(
        url("feedback-list"), [feedback(), feedback(location="BBB-01")], format="json"
    )
    assert response.status_code == 400
    assert error_places(response) == {(1, "location")}
    assert "outside your scope" in response.json()["errors"][0]["message"]
    assert not Feedback.objects.exists()


def test_a_manager_cannot_post_an_evaluation_for_another_location(manager, world):
    response = client_for(manager).post(
        url("evaluation-list"), [evaluation(), evaluation(location="BBB-01")], format="json"
    )
    assert response.status_code == 400
    assert error_places(response) == {(1, "location")}
    assert not Evaluation.objects.exists() and not Observation.objects.exists()


def test_the_other_manager_may_post_for_their_own_location(other_manager, world):
    response = client_for(other_manager).post(
        url("observation-list"), obs(location="BBB-01", passed=True), format="json"
    )
    assert response.status_code == 201


def test_an_admin_may_post_for_any_location(admin, world):
    response = client_for(admin).post(
        url("observation-list"),
        [obs(passed=True), obs(location="BBB-01", passed=True)],
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["created"] == 2


# --- posting feedback ------------------------------------------------------------------------------


def test_feedback_without_contact_details_reads_back_with_an_empty_email(manager, world):
    client_for(manager).post(url("feedback-list"), feedback(), format="json")
    [row] = client_for(manager).get(url("feedback-list")).json()["results"]
    assert row["contact_email"] == ""


def test_feedback_is_stored_single_or_batch_and_idempotently(manager, world):
    client = client_for(manager)
    single = client.post(url("feedback-list"), feedback(external_id="f-1", comment="Quick"), format="json")
    assert single.status_code == 201 and single.json()["created"] == 1
    stored = Feedback.objects.get()
    assert (stored.csat, stored.nps, stored.channel, stored.comment) == (5, 9, "api", "Quick")

    batch = [feedback(external_id="f-1"), feedback(external_id="f-2", csat=None, nps=3)]
    response = client.post(url("feedback-list"), batch, format="json")
    assert response.status_code == 201
    assert response.json()["created"] == 1 and response.json()["duplicates"] == 1
    assert client.post(url("feedback-list"), batch, format="json").status_code == 200
    assert Feedback.objects.count() == 2


def test_bad_feedback_is_reported_per_item_and_nothing_is_saved(manager, world):
    response = client_for(manager).post(
        url("feedback-list"),
        [
            feedback(),
            feedback(csat=7),
            feedback(touchpoint="nowhere", nps=11),
            feedback(contact_email="ann@example.com"),
            feedback(csat=None, nps=None),
        ],
        format="json",
    )
    assert response.status_code == 400
    assert error_places(response) == {
        (1, "csat"),
        (2, "touchpoint"),
        (2, "nps"),
        (3, "contact_consent"),
        (4, "__all__"),
    }
    assert not Feedback.objects.exists()


# --- posting evaluations ---------------------------------------------------------------------------


def test_an_evaluation_is_scored_from_its_weighted_items(manager, world):
    response = client_for(manager).post(
        url("evaluation-list"),
        evaluation(
            external_id="shop-2026-03",
            team="Shop floor",
            items=[
                {"standard": "GREET", "passed": True, "weight": 3},
                {"standard": "RINGS", "value": 5, "comment": "Five rings"},
            ],
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    stored = Evaluation.objects.get()
    assert body["created"] == 1 and body["ids"] == [stored.pk]
    [outcome] = body["evaluations"]
    assert outcome["score"] == "75.00"
    assert outcome["critical_failed"] is False
    assert outcome["passed"] is False  # below the pass mark of 80
    assert sorted(outcome["observation_ids"]) == sorted(stored.observations.values_list("pk", flat=True))
    assert stored.evaluator == manager and stored.team == world["team"]
    assert stored.observations.count() == 2


def test_a_failed_critical_item_fails_the_whole_evaluation(manager, world):
    response = client_for(manager).post(
        url("evaluation-list"),
        evaluation(
            items=[
                {"standard": "GREET", "passed": True, "weight": 9},
                {"standard": "RECEIPT", "passed": False, "critical": True},
            ]
        ),
        format="json",
    )
    assert response.status_code == 201
    outcome = response.json()["evaluations"][0]
    assert outcome["score"] == "90.00"
    assert outcome["critical_failed"] is True and outcome["passed"] is False
    assert response.json()["deviations"] == 1


def test_an_evaluation_resent_is_stored_once(manager, world):
    client = client_for(manager)
    first = client.post(url("evaluation-list"), evaluation(external_id="e-1"), format="json")
    again = client.post(url("evaluation-list"), evaluation(external_id="e-1"), format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1 and again.json()["created"] == 0
    assert again.json()["evaluations"][0]["id"] == first.json()["ids"][0]
    assert Evaluation.objects.count() == 1 and Observation.objects.count() == 1


def test_a_batch_of_evaluations_is_all_or_nothing(manager, world):
    response = client_for(manager).post(
        url("evaluation-list"),
        [
            evaluation(),
            evaluation(method="gossip", items=[{"standard": "NOPE", "passed": True}]),
            evaluation(
                evaluated_at="soon", items=[{"standard": "GREET"}, {"standard": "RINGS", "value": "x"}]
            ),
            evaluation(items="GREET"),
            evaluation(items=[]),
        ],
        format="json",
    )
    assert response.status_code == 400
    assert error_places(response) == {
        (1, "method"),
        (1, "items[0].standard"),
        (2, "evaluated_at"),
        (2, "items[0].passed"),
        (2, "items[1].value"),
        (3, "items"),
        (4, "items"),
    }
    assert not Evaluation.objects.exists() and not Observation.objects.exists()


def test_evaluations_over_the_maximum_number_of_items_are_refused(manager, world):
    items = [{"standard": "GREET", "passed": True}] * (MAX_BATCH // 2 + 1)
    response = client_for(manager).post(
        url("evaluation-list"), [evaluation(items=items), evaluation(items=items)], format="json"
    )
    assert response.status_code == 413
    assert not Evaluation.objects.exists()


# --- reading: scope --------------------------------------------------------------------------------


def _evidence_at(location, employee=None):
    """One of each kind of evidence at `location`; returns {endpoint basename: object}."""
    return {
        "observation": factories.ObservationFactory(location=location, employee=employee),
        "evaluation": factories.EvaluationFactory(location=location, employee=employee),
        "feedback": factories.FeedbackFactory(location=location),
        "scorecard": factories.ScorecardFactory(location=location),
    }


@pytest.mark.parametrize("kind", ["observation", "evaluation", "feedback", "scorecard"])
def test_a_managers_token_never_sees_another_location(manager, location_a, location_b, kind):
    mine = _evidence_at(location_a)[kind]
    theirs = _evidence_at(location_b)[kind]
    client = client_for(manager)

    listed = client.get(url(f"{kind}-list"))

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [mine.pk]
    assert client.get(url(f"{kind}-detail", pk=mine.pk)).status_code == 200
    assert client.get(url(f"{kind}-detail", pk=theirs.pk)).status_code == 404
    # Filtering by the other location's code does not reveal it either.
    assert client.get(url(f"{kind}-list"), {"location": "BBB-01"}).json()["results"] == []


def test_a_managers_scorecards_are_their_scope_in_key_order(manager, location_a, location_b, settings):
    """The API reads a manager's scorecards off the row's own columns as well as through the
    scope: the same rows in the same order, over keyset pages, and the same 404s."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    # given: the manager works at B but manages A, and also one team at B
    own = manager.employee
    own.location = location_b
    own.save()
    team_a = factories.TeamFactory(location=location_a)
    team_b = factories.TeamFactory(location=location_b)
    managed_b = factories.TeamFactory(location=location_b)
    managed_b.managers.add(manager)
    colleague_a = factories.EmployeeFactory(location=location_a)
    colleague_b = factories.EmployeeFactory(location=location_b, team=managed_b)

    def card(grain, link):
        # team and employee rows carry no location, as the rollup writes them
        fields = {"location": None, grain: link}
        return factories.ScorecardFactory(grain=grain, grain_key=f"{grain}={link.pk}", **fields).pk

    month = timezone.localdate().replace(day=1)
    visible = {
        card("location", location_a),
        card("team", team_a),
        card("team", managed_b),
        card("employee", colleague_a),
        card("employee", own),
    }
    hidden = {
        card("location", location_b),
        card("team", team_b),
        card("employee", colleague_b),
    }
    # a second period, so that the key order spans kinds and dates
    factories.ScorecardFactory(location=location_a, period_kind="week", period_start=month)
    expected = list(
        scope_queryset(manager, Scorecard.objects.all())
        .order_by("-period_kind", "-period_start", "-grain", "-grain_key")
        .values_list("pk", flat=True)
    )
    assert visible < set(expected) and not hidden & set(expected)
    client = client_for(manager)

    # when
    pages = _walk(client, url("scorecard-list"))

    # then
    assert [pk for ids, _ in pages for pk in ids] == expected
    assert all(client.get(url("scorecard-detail", pk=pk)).status_code == 200 for pk in visible)
    assert all(client.get(url("scorecard-detail", pk=pk)).status_code == 404 for pk in hidden)


@pytest.mark.parametrize("kind", ["observation", "evaluation", "feedback", "scorecard"])
def test_an_admin_sees_every_location(admin, location_a, location_b, kind):
    _evidence_at(location_a)
    _evidence_at(location_b)
    assert len(client_for(admin).get(url(f"{kind}-list")).json()["results"]) == 2


def test_staff_read_only_their_own_observations(staff, location_a):
    own = factories.ObservationFactory(location=location_a, employee=staff.employee)
    colleague = factories.ObservationFactory(
        location=location_a, employee=factories.EmployeeFactory(location=location_a)
    )
    unattributed = factories.ObservationFactory(location=location_a)
    client = client_for(staff)

    listed = client.get(url("observation-list")).json()

    assert [row["id"] for row in listed["results"]] == [own.pk]
    assert client.get(url("observation-detail", pk=colleague.pk)).status_code == 404
    assert client.get(url("observation-detail", pk=unattributed.pk)).status_code == 404


def test_staff_see_no_customer_feedback_and_only_their_location(staff, location_a, location_b):
    factories.FeedbackFactory(location=location_a)
    client = client_for(staff)
    assert client.get(url("feedback-list")).json()["results"] == []
    assert [row["code"] for row in client.get(url("location-list")).json()["results"]] == ["AAA-01"]


def test_a_manager_lists_only_the_locations_in_scope(manager, other_manager, location_a, location_b):
    assert [row["code"] for row in client_for(manager).get(url("location-list")).json()["results"]] == [
        "AAA-01"
    ]
    response = client_for(manager).get(url("location-detail", pk=location_b.pk))
    assert response.status_code == 404


def test_standards_and_touchpoints_are_readable_by_everyone_signed_in(staff, world):
    client = client_for(staff)
    codes = [row["code"] for row in client.get(url("standard-list")).json()["results"]]
    assert codes == ["GREET", "RECEIPT", "RINGS"]
    assert [row["slug"] for row in client.get(url("touchpoint-list")).json()["results"]] == ["till"]


def test_draft_standards_are_shown_to_admins_only(staff, admin, world):
    draft = factories.StandardFactory(code="DRAFT-1", status=Status.DRAFT)
    assert client_for(staff).get(url("standard-detail", pk=draft.pk)).status_code == 404
    assert client_for(admin).get(url("standard-detail", pk=draft.pk)).status_code == 200


def test_references_are_given_as_codes_and_ids(manager, world, location_a):
    observation = factories.ObservationFactory(
        location=location_a,
        standard=world["greet"],
        team=world["team"],
        employee=world["employee"],
        touchpoint=world["till"],
    )
    row = client_for(manager).get(url("observation-detail", pk=observation.pk)).json()
    assert (row["standard"], row["standard_id"]) == ("GREET", world["greet"].pk)
    assert (row["location"], row["location_id"]) == ("AAA-01", location_a.pk)
    assert (row["team"], row["team_id"]) == ("Shop floor", world["team"].pk)
    assert (row["employee"], row["employee_id"]) == ("E90042", world["employee"].pk)
    assert (row["touchpoint"], row["touchpoint_id"]) == ("till", world["till"].pk)


def test_what_get_returns_can_be_posted_back(admin, world):
    """GET rows use the same references as POST items, so another system can copy evidence."""
    client = client_for(admin)
    client.post(
        url("observation-list"), obs(passed=True, external_id="copy-1", team="Shop floor"), format="json"
    )
    row = client.get(url("observation-list")).json()["results"][0]
    Observation.objects.all().delete()
    response = client.post(url("observation-list"), row, format="json")
    assert response.status_code == 201, response.json()
    assert Observation.objects.get().external_id == "copy-1"


# --- reading: filters ------------------------------------------------------------------------------


def _at(day: date, hour: int = 12):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def ids(response):
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_observations_are_filtered(admin, world, location_a, location_b):
    march, april = date(2026, 3, 10), date(2026, 4, 2)
    a = factories.ObservationFactory(
        location=location_a,
        standard=world["greet"],
        employee=world["employee"],
        team=world["team"],
        observed_at=_at(march),
        passed=True,
    )
    b = factories.ObservationFactory(
        location=location_b, standard=world["receipt"], observed_at=_at(april), passed=False, source="audit"
    )
    c = factories.ObservationFactory(
        location=location_a, standard=world["receipt"], observed_at=_at(march, 23)
    )
    client = client_for(admin)
    get = lambda **params: ids(client.get(url("observation-list"), params))  # noqa: E731

    assert get(location="AAA-01") == {a.pk, c.pk}
    assert get(location="aaa-01") == {a.pk, c.pk}
    assert get(standard="RECEIPT") == {b.pk, c.pk}
    assert get(employee="E90042") == {a.pk}
    assert get(team=world["team"].pk) == {a.pk}
    assert get(passed="false") == {b.pk}
    assert get(source="audit") == {b.pk}
    assert get(observed_after="2026-03-10", observed_before="2026-03-10") == {a.pk, c.pk}
    assert get(observed_after="2026-03-11") == {b.pk}
    assert get(observed_before="2026-03-31") == {a.pk, c.pk}
    assert get(period_kind="month", period_start="2026-04-01") == {b.pk}
    assert get(period_kind="week", period_start="2026-03-09") == {a.pk, c.pk}
    assert get(period_kind="quarter", period_start="2026-01-01") == {a.pk, c.pk}
    assert get(period_kind="day", period_start="2026-03-11") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_kind": "month"}, "period_start"),
        ({"period_start": "2026-03-01"}, "period_kind"),
        ({"period_kind": "month", "period_start": "2026-03-05"}, "period_start"),
        ({"period_kind": "week", "period_start": "2026-03-01"}, "period_start"),
        ({"observed_after": "last week"}, "observed_after"),
        ({"source": "rumour"}, "source"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_parameter(admin, params, field):
    response = client_for(admin).get(url("observation-list"), params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("endpoint", "params", "field"),
    [
        ("observation-list", {"passed": "maybe"}, "passed"),
        ("observation-list", {"passed": ""}, "passed"),
        ("observation-list", {"team": "1.5"}, "team"),
        ("observation-list", {"observed_before": ""}, "observed_before"),
        ("evaluation-list", {"method": ""}, "method"),
        ("location-list", {"active": "null"}, "active"),
        ("standard-list", {"non_negotiable": "yes"}, "non_negotiable"),
        ("touchpoint-list", {"active": "maybe"}, "active"),
    ],
)
def test_a_filter_value_that_is_not_of_its_type_is_a_400_not_ignored(admin, endpoint, params, field):
    # django-filter alone reads these as "no filter" and lists everything.
    response = client_for(admin).get(url(endpoint), params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"observed_before": "9999-12-31"},
        {"observed_after": "0001-01-01"},
        {"period_kind": "quarter", "period_start": "9999-10-01"},
        {"period_kind": "day", "period_start": "9999-12-31"},
    ],
)
def test_the_first_and_last_days_a_date_can_hold_filter_without_an_error(admin, world, location_a, params):
    factories.ObservationFactory(location=location_a, observed_at=_at(date(2026, 3, 10)))
    response = client_for(admin).get(url("observation-list"), params)
    assert response.status_code == 200
    expected = 1 if set(params) <= {"observed_before", "observed_after"} else 0
    assert len(response.json()["results"]) == expected


def test_an_empty_page_number_is_a_404_like_any_page_that_is_not_one(admin):
    response = client_for(admin).get(url("location-list"), {"page": ""})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize("kind", [e.removesuffix("-list") for e in LIST_ENDPOINTS])
def test_a_malformed_id_is_a_404_in_json(admin, kind):
    response = client_for(admin).get(f"{url(f'{kind}-list')}-1.5e-3/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_feedback_is_filtered(admin, world, location_a, location_b):
    other = factories.TouchpointFactory(slug="phone")
    a = factories.FeedbackFactory(
        location=location_a, touchpoint=world["till"], submitted_at=_at(date(2026, 3, 1))
    )
    b = factories.FeedbackFactory(location=location_b, touchpoint=other, submitted_at=_at(date(2026, 3, 20)))
    client = client_for(admin)
    get = lambda **params: ids(client.get(url("feedback-list"), params))  # noqa: E731

    assert get(location="BBB-01") == {b.pk}
    assert get(touchpoint="till") == {a.pk}
    assert get(submitted_after="2026-03-02") == {b.pk}
    assert get(submitted_before="2026-03-01") == {a.pk}


def test_evaluations_are_filtered(admin, location_a, location_b):
    a = factories.EvaluationFactory(location=location_a, method="audit", evaluated_at=_at(date(2026, 3, 1)))
    b = factories.EvaluationFactory(location=location_b, passed=False, evaluated_at=_at(date(2026, 3, 5)))
    client = client_for(admin)
    get = lambda **params: ids(client.get(url("evaluation-list"), params))  # noqa: E731

    assert get(location="AAA-01") == {a.pk}
    assert get(method="audit") == {a.pk}
    assert get(passed="false") == {b.pk}
    assert get(evaluated_after="2026-03-02") == {b.pk}


def test_scorecards_are_filtered(admin, world, location_a, location_b):
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    a_march = factories.ScorecardFactory(location=location_a, period_start=march)
    a_april = factories.ScorecardFactory(location=location_a, period_start=april)
    b_march = factories.ScorecardFactory(location=location_b, period_start=march)
    week = factories.ScorecardFactory(location=location_a, period_kind="week", period_start=date(2026, 3, 2))
    per_standard = factories.ScorecardFactory(
        grain="location_standard",
        location=location_a,
        standard=world["greet"],
        period_start=march,
        grain_key=f"location={location_a.pk}|standard={world['greet'].pk}",
    )
    per_employee = factories.ScorecardFactory(
        grain="employee",
        location=None,
        employee=world["employee"],
        period_start=march,
        grain_key=f"employee={world['employee'].pk}",
    )
    client = client_for(admin)
    get = lambda **params: ids(client.get(url("scorecard-list"), params))  # noqa: E731

    assert get(period_kind="month", period_start="2026-03-01", grain="location") == {a_march.pk, b_march.pk}
    assert get(location="BBB-01") == {b_march.pk}
    assert get(period_start_after="2026-03-15") == {a_april.pk}
    assert get(period_start_before="2026-03-01", period_kind="month", location="AAA-01") == {
        a_march.pk,
        per_standard.pk,
    }
    assert get(period_kind="week") == {week.pk}
    assert get(standard="GREET") == {per_standard.pk}
    assert get(employee="E90042") == {per_employee.pk}


def test_configuration_is_filtered(admin, world, location_a, location_b):
    web = factories.TouchpointFactory(slug="web-chat", channel="chat", journey_stage="get_help", active=False)
    world["greet"].touchpoints.add(world["till"])
    location_b.active = False
    location_b.save()
    client = client_for(admin)

    assert ids(client.get(url("touchpoint-list"), {"channel": "chat"})) == {web.pk}
    assert ids(client.get(url("touchpoint-list"), {"active": "true"})) == {world["till"].pk}
    assert ids(client.get(url("touchpoint-list"), {"journey_stage": "get_help"})) == {web.pk}
    assert ids(client.get(url("touchpoint-list"), {"customer_kind": "external"})) == {
        world["till"].pk,
        web.pk,
    }
    assert ids(client.get(url("standard-list"), {"non_negotiable": "true"})) == {world["receipt"].pk}
    assert ids(client.get(url("standard-list"), {"touchpoint": "till"})) == {world["greet"].pk}
    assert ids(client.get(url("standard-list"), {"status": "active"})) == {
        world["greet"].pk,
        world["receipt"].pk,
        world["rings"].pk,
    }
    assert ids(client.get(url("location-list"), {"region": "south"})) == {location_b.pk}
    assert ids(client.get(url("location-list"), {"active": "true"})) == {location_a.pk}


def test_lists_are_paginated(admin, location_a):
    factories.ObservationFactory.create_batch(101, location=location_a)
    client = client_for(admin)
    first = client.get(url("observation-list")).json()
    assert set(first) == {"next", "previous", "results"}
    assert len(first["results"]) == 100 and first["next"] and first["previous"] is None
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    back = client.get(second["previous"]).json()
    assert back["results"] == first["results"] and back["previous"] is None


def _walk(client, link, direction="next"):
    """Every page from `link` on, following `direction`: [(ids, response body)]."""
    pages = []
    while link:
        response = client.get(link)
        assert response.status_code == 200, response.json()
        body = response.json()
        pages.append(([row["id"] for row in body["results"]], body))
        link = body[direction]
    return pages


def test_keyset_pages_list_every_scorecard_once_in_key_order_and_walk_back(admin, world, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 3}
    # given: many scorecards of one period (ties on the period), of two kinds and three grains
    month, week = timezone.localdate().replace(day=1), date(2026, 11, 30)
    for location in factories.LocationFactory.create_batch(3):
        factories.ScorecardFactory(location=location, period_start=month)
        factories.ScorecardFactory(location=location, period_kind="week", period_start=week)
        for standard in (world["greet"], world["receipt"]):
            factories.ScorecardFactory(
                location=location,
                standard=standard,
                grain="location_standard",
                period_start=month,
                grain_key=f"location={location.pk}|standard={standard.pk}",
            )
    expected = [
        card.pk
        for card in Scorecard.objects.order_by("-period_kind", "-period_start", "-grain", "-grain_key")
    ]
    client = client_for(admin)

    # when: the client follows `next` to the end, then `previous` back to the start
    forward = _walk(client, url("scorecard-list"))
    backward = _walk(client, forward[-1][1]["previous"], "previous")

    # then
    assert [pk for ids, _ in forward for pk in ids] == expected
    assert [len(ids) for ids, _ in forward] == [3, 3, 3, 3]
    assert [ids for ids, _ in backward] == [ids for ids, _ in forward[-2::-1]]
    assert backward[-1][1]["previous"] is None and forward[-1][1]["next"] is None


@pytest.mark.parametrize(
    ("kind", "field", "window"),
    [
        ("observation", "observed_at", "observed_after"),
        ("evaluation", "evaluated_at", "evaluated_after"),
        ("feedback", "submitted_at", "submitted_after"),
        ("scorecard", "period_start", "period_start_after"),
    ],
)
def test_a_list_without_a_time_filter_holds_the_last_90_days(
    admin, location_a, monkeypatch, kind, field, window
):
    monkeypatch.setattr(filters, "RECENT_DAYS", 90)
    today = timezone.localdate()
    first_day, day_before = today - timedelta(days=89), today - timedelta(days=90)
    at = {
        "observed_at": _at,
        "evaluated_at": _at,
        "submitted_at": _at,
        "period_start": lambda day, hour=0: day,
    }[field]
    make = {
        "observation": factories.ObservationFactory,
        "evaluation": factories.EvaluationFactory,
        "feedback": factories.FeedbackFactory,
        "scorecard": factories.ScorecardFactory,
    }[kind]
    inside = make(location=location_a, **{field: at(first_day, 0)})
    outside = make(location=location_a, **{field: at(day_before, 23)})
    client = client_for(admin)

    assert ids(client.get(url(f"{kind}-list"))) == {inside.pk}
    assert ids(client.get(url(f"{kind}-list"), {window: day_before.isoformat()})) == {inside.pk, outside.pk}
    assert ids(client.get(url(f"{kind}-list"), {window: "0001-01-01"})) == {inside.pk, outside.pk}


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "%%%",
        _cursor("n"),
        _cursor("x", "2026-03-02T10:15:00+00:00", 1),
        _cursor("n", "2026-03-02T10:15:00+00:00"),
        _cursor("n", "2026-03-02T10:15:00", 1),  # a time without its offset
        _cursor("n", "yesterday", 1),
        _cursor("n", "2026-03-02T10:15:00+00:00", 2**70),
        _cursor("n", "2026-03-02T10:15:00+00:00", True),
        _cursor("n", "2026-03-02T10:15:00+00:00", None),
        _cursor("n", "2026-03-02T10:15:00+00:00", "1\x00"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "w6k",
    ],
)
def test_a_cursor_that_is_not_one_is_a_404(admin, world, cursor):
    response = client_for(admin).get(url("observation-list"), {"cursor": cursor})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor."}


@pytest.mark.parametrize("kind", ["observation", "evaluation", "feedback", "scorecard"])
def test_a_deep_page_is_read_by_its_key_without_offset_or_count(admin, location_a, settings, kind):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    _rows(kind, 5, location_a, factories.EmployeeFactory(location=location_a))
    client = client_for(admin)
    second_link = client.get(url(f"{kind}-list")).json()["next"]

    with CaptureQueriesContext(connection) as captured:
        second = client.get(second_link)

    assert second.status_code == 200 and len(second.json()["results"]) == 2
    sql = " ".join(query["sql"].upper() for query in captured.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql
    # The page starts after the cursor's row: a comparison of the key (a row value where supported).
    table = {"observation": "OBSERVATION", "evaluation": "EVALUATION", "feedback": "FEEDBACK"}.get(
        kind, "SCORECARD"
    )
    assert f'"MEASUREMENT_{table}"."ID" <' in sql or '"GRAIN_KEY" <' in sql or ") < (" in sql


# --- reading: a fixed number of queries per page ---------------------------------------------------


def _rows(kind: str, count: int, location, employee):
    """`count` rows for the endpoint `kind`, with every reference filled in."""
    if kind == "observation":
        factories.ObservationFactory.create_batch(
            count,
            location=location,
            employee=employee,
            team=employee.team,
            touchpoint=factories.TouchpointFactory(),
        )
    elif kind == "evaluation":
        for _ in range(count):
            parent = factories.EvaluationFactory(location=location, employee=employee, team=employee.team)
            factories.ObservationFactory.create_batch(2, location=location, evaluation=parent)
    elif kind == "feedback":
        factories.FeedbackFactory.create_batch(count, location=location)
    elif kind == "scorecard":
        for _ in range(count):
            standard = factories.StandardFactory()
            factories.ScorecardFactory(
                grain="location_standard",
                location=location,
                standard=standard,
                team=employee.team,
                employee=employee,
                touchpoint=factories.TouchpointFactory(),
                grain_key=f"location={location.pk}|standard={standard.pk}",
            )
    elif kind == "standard":
        for standard in factories.StandardFactory.create_batch(count):
            standard.touchpoints.add(factories.TouchpointFactory(), factories.TouchpointFactory())
    elif kind == "touchpoint":
        for touchpoint in factories.TouchpointFactory.create_batch(count):
            touchpoint.locations.add(location, factories.LocationFactory())
    elif kind == "location":
        employee.managed_locations.add(*factories.LocationFactory.create_batch(count))


QUERY_BUDGET = 8  # token + user's profile + scope + count or page + one per prefetched many-to-many


@pytest.mark.parametrize("kind", [e.removesuffix("-list") for e in LIST_ENDPOINTS])
def test_a_list_page_costs_the_same_queries_for_5_or_50_rows(
    manager, location_a, kind, django_assert_max_num_queries
):
    client = client_for(manager)
    employee = manager.employee

    def queries_for_page() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url(f"{kind}-list"))
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    _rows(kind, 5, location_a, employee)
    few, few_rows = queries_for_page()
    _rows(kind, 45, location_a, employee)
    with django_assert_max_num_queries(QUERY_BUDGET):
        many, many_rows = queries_for_page()

    assert many_rows >= few_rows + 45
    assert many == few


# --- throttling ------------------------------------------------------------------------------------


@pytest.fixture
def low_rates(settings):
    """Rates a test reaches in a few requests, counted from nothing and forgotten afterwards."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/minute", "anon": "2/minute"},
    }
    forget_throttle_counts()
    yield
    forget_throttle_counts()


def forget_throttle_counts():
    users = get_user_model().objects.values_list("pk", flat=True)
    cache.delete_many(
        [f"throttle_user_{pk}" for pk in users]
        + [f"throttle_anon_{ip}" for ip in ("127.0.0.1", "10.0.0.1", "10.0.0.2", "unknown")]
    )


def test_a_token_over_its_rate_gets_429_with_retry_after(manager, other_manager, low_rates):
    client = client_for(manager)
    assert [client.get(url("location-list")).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(url("observation-list"))

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled.")
    # Per user: another token is not held back.
    assert client_for(other_manager).get(url("location-list")).status_code == 200


def test_posting_counts_towards_the_same_rate(manager, world, low_rates):
    client = client_for(manager)
    for _ in range(3):
        client.get(url("location-list"))
    response = client.post(url("observation-list"), obs(passed=True), format="json")
    assert response.status_code == 429
    assert not Observation.objects.exists()


def test_requests_without_credentials_are_throttled_per_address_before_the_401(db, low_rates):
    statuses = [APIClient().get(url("location-list")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    refused = APIClient().get(url("location-list"))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another address still gets its answer.
    assert APIClient(REMOTE_ADDR="10.0.0.1").get(url("location-list")).status_code == 401


def test_a_forged_forwarded_address_does_not_escape_the_limit(db, low_rates):
    # Without trusted proxies, X-Forwarded-For is whatever the client wrote: not an address.
    statuses = [
        APIClient(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        .get(url("location-list"))
        .status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]


@pytest.mark.redis
def test_the_counts_live_in_the_shared_cache_where_another_process_sees_them(manager, low_rates):
    from django.conf import settings
    from django.core.cache.backends.redis import RedisCache

    config = settings.CACHES["default"]
    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    client = client_for(manager)
    for _ in range(2):
        client.get(url("location-list"))
    # A cache of its own, with its own connections, as another gunicorn process has.
    elsewhere = RedisCache(
        config["LOCATION"], {k: v for k, v in config.items() if k not in {"BACKEND", "LOCATION"}}
    )
    assert len(elsewhere.get(f"throttle_user_{manager.pk}")) == 2
    client.get(url("location-list"))
    assert len(elsewhere.get(f"throttle_user_{manager.pk}")) == 3
    assert client.get(url("location-list")).status_code == 429


PRINT_RATES = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']))"
)


def test_the_rates_come_from_the_environment(tmp_path):
    result = start_django(tmp_path, "-c", PRINT_RATES, API_RATE_USER="50/hour", API_RATE_ANON="5/second")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"user": "50/hour", "anon": "5/second"}


@pytest.mark.parametrize("rate", ["many", "0/minute", "10/fortnight", "10 per minute"])
def test_a_rate_that_is_not_one_stops_start_up_naming_the_variable(tmp_path, rate):
    result = start_django(tmp_path, "-c", PRINT_RATES, API_RATE_USER=rate)
    assert result.returncode != 0
    assert "API_RATE_USER must be a number of requests per second, minute, hour or day" in result.stderr
