"""Properties of the intake endpoints, on arbitrary JSON bodies mixed with valid items.

Whatever body is posted to /api/v1/observations/, /api/v1/feedback/ or /api/v1/evaluations/:
- the answer is never a 5xx;
- a 400 always carries `errors`, each naming an item by its index in what was sent (the body
  itself counts as item 0 when it is not a list) and a field, with a message;
- a 201 or 200 stores exactly what it reports, and a 400 stores nothing.

Each example runs in a savepoint rolled back after it, so examples share the seeded reference
data and nothing else. API_PROPERTY_EXAMPLES sets the examples per endpoint.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from measurement.models import Evaluation, Feedback, Observation
from tests.test_api import client_for, evaluation, feedback, obs, url, world  # noqa: F401

EXAMPLES = int(os.environ.get("API_PROPERTY_EXAMPLES", "300"))
PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,
    deadline=None,
    # Each example is isolated in its own rolled-back savepoint (`isolated`).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- bodies ------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "AAA-01", "GREET", "RINGS", "till", "mystery_shop", "2026-03-02T10:15:00Z", "\x00"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)

FIELDS = {
    "observation-list": [
        "external_id",
        "standard",
        "location",
        "team",
        "employee",
        "touchpoint",
        "source",
        "observed_at",
        "value",
        "passed",
        "comment",
    ],
    "feedback-list": [
        "external_id",
        "touchpoint",
        "location",
        "submitted_at",
        "csat",
        "nps",
        "comment",
        "channel",
        "contact_name",
        "contact_email",
        "contact_consent",
    ],
    "evaluation-list": [
        "external_id",
        "location",
        "method",
        "evaluated_at",
        "team",
        "employee",
        "touchpoint",
        "comment",
        "items",
    ],
}
VALID = {
    "observation-list": lambda: obs(passed=True),
    "feedback-list": feedback,
    "evaluation-list": evaluation,
}


def items(endpoint: str):
    """A valid item, or one with some of its fields replaced or dropped, or any JSON value at all."""
    fields = FIELDS[endpoint]
    changed = st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(fields, json_values) | {"x-extra": json_values},
    )
    dropped = st.lists(st.sampled_from(fields), max_size=3)

    def build(changes, drops):
        item = {**VALID[endpoint](), **changes}
        for name in drops:
            item.pop(name, None)
        return item

    one_change = st.builds(
        lambda name, value: {**VALID[endpoint](), name: value}, st.sampled_from(fields), json_values
    )
    # Valid items too, so that stored batches (and a bad item among good ones) are common.
    return st.one_of(st.builds(VALID[endpoint]), one_change, st.builds(build, changed, dropped), json_values)


def bodies(endpoint: str):
    return st.one_of(items(endpoint), st.lists(items(endpoint), max_size=4))


# --- the properties ------------------------------------------------------------------------------


@contextmanager
def isolated():
    """Run one example in a savepoint that is always rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def stored_counts():
    return Observation.objects.count(), Feedback.objects.count(), Evaluation.objects.count()


def check_answer(endpoint: str, body, response) -> None:
    assert response.status_code < 500, (body, response.content)
    answer = response.json()
    if response.status_code == 400:
        assert isinstance(answer.get("errors"), list) and answer["errors"], answer
        count = len(body) if isinstance(body, list) else 1
        for error in answer["errors"]:
            assert set(error) == {"index", "field", "message"}, error
            assert isinstance(error["index"], int) and 0 <= error["index"] < max(count, 1), (body, error)
            assert isinstance(error["field"], str) and error["field"], error
            assert isinstance(error["message"], str) and error["message"].strip(), error
    else:
        assert response.status_code in (200, 201), (body, response.status_code, answer)


@pytest.fixture
def poster(manager, world, settings):  # noqa: F811
    # The examples come faster than the usual per-user rate allows.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": None, "anon": None},
    }
    return client_for(manager)


@pytest.mark.parametrize("endpoint", ["observation-list", "feedback-list", "evaluation-list"])
def test_any_json_body_is_answered_without_a_server_error_and_a_400_names_index_and_field(poster, endpoint):
    @PROPERTY_SETTINGS
    @given(body=bodies(endpoint))
    def run(body):
        with isolated():
            before = stored_counts()
            response = poster.post(url(endpoint), body, format="json")
            event(f"answered {response.status_code}")  # --hypothesis-show-statistics: how many were stored
            check_answer(endpoint, body, response)
            if response.status_code == 400:
                assert stored_counts() == before, body
            else:
                created = response.json()["created"]
                kind = {"observation-list": 0, "feedback-list": 1, "evaluation-list": 2}[endpoint]
                assert stored_counts()[kind] - before[kind] == created, (body, response.json())

    run()


@PROPERTY_SETTINGS
@given(raw=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)))
def test_a_body_that_is_not_json_is_a_400_naming_item_0(poster, raw):
    try:
        json.loads(raw)
    except ValueError:
        pass
    else:
        return  # valid JSON: the test above covers it
    with isolated():
        response = poster.post(url("observation-list"), data=raw, content_type="application/json")
        assert response.status_code == 400, response.content
        errors = response.json()["errors"]
        assert {error["index"] for error in errors} == {0}
        if raw:  # an empty body is read as an empty object: its required fields are reported
            [error] = errors
            assert error["field"] == "__all__" and "JSON" in error["message"], error
        assert not Observation.objects.exists()


# --- audits through the evaluations endpoint ------------------------------------------------------

AUDIT_FIELDS = [
    "external_id",
    "template",
    "occurrence",
    "location",
    "evaluated_at",
    "team",
    "comment",
    "answers",
]
ANSWER_FIELDS = ["question", "value", "note", "action"]


def audit_bodies(template, valid_answers):
    """A valid audit (or an evaluation with items) with top-level fields or single answers
    replaced by any JSON, alone or in a list."""

    def valid() -> dict:
        return {
            "template": template.pk,
            "location": "AAA-01",
            "evaluated_at": "2026-03-02T10:15:00Z",
            "answers": [dict(answer) for answer in valid_answers],
        }

    top = st.builds(lambda name, value: {**valid(), name: value}, st.sampled_from(AUDIT_FIELDS), json_values)

    def with_answer(position, name, value):
        body = valid()
        body["answers"][position % len(body["answers"])][name] = value
        return body

    answer = st.builds(
        with_answer, st.integers(min_value=0, max_value=20), st.sampled_from(ANSWER_FIELDS), json_values
    )
    one = st.one_of(st.builds(valid), top, answer, st.builds(evaluation))
    return st.one_of(one, st.lists(one, max_size=3))


def test_any_audit_body_is_answered_without_a_server_error_and_a_400_names_index_and_field(poster):
    from tests.test_audit_scoring import store_template

    template = store_template(title="Store visit")
    values = {"greet": "yes", "wait": "3", "mood": "good", "tidy": "pass", "rate": "5", "clean": "yes"}
    valid_answers = [{"question": template.q[key].pk, "value": value} for key, value in values.items()]
    with isolated():  # the unchanged body is stored: the examples cover both outcomes
        sent = {"template": template.pk, "location": "AAA-01", "evaluated_at": "2026-03-02T10:15:00Z"}
        assert (
            poster.post(url("evaluation-list"), {**sent, "answers": valid_answers}, format="json").status_code
            == 201
        )

    @PROPERTY_SETTINGS
    @given(body=audit_bodies(template, valid_answers))
    def run(body):
        with isolated():
            before = stored_counts()
            response = poster.post(url("evaluation-list"), body, format="json")
            event(f"answered {response.status_code}")
            check_answer("evaluation-list", body, response)
            if response.status_code == 400:
                assert stored_counts() == before, body
            else:
                assert stored_counts()[2] - before[2] == response.json()["created"], (body, response.json())

    run()
