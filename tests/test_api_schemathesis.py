"""Schemathesis against the API's own OpenAPI schema: every operation, every check.

The schema is the one /api/schema/ serves (drf-spectacular's generator, same settings); the
requests go in-process to Django's WSGI application, authenticated with a manager's token, over
seeded reference data so that valid requests exist.
"""

from __future__ import annotations

import json

import hypothesis
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.test_api import world  # noqa: F401  (the seeded reference data)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260302,
        "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
        "checks": {"enabled": True},
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                # Every check runs on every operation. Only here does a schema-valid request
                # get 400 by design, and positive_data_acceptance is told so: what an item
                # refers to (codes of locations, standards, touchpoints, teams), the window
                # its time must lie in (relative to now), which of value and passed its
                # standard needs, whether a user name and password match, and that
                # period_kind and period_start come together and name a period's first day,
                # depend on stored data, the clock or another parameter, which OpenAPI 3.0
                # cannot state. The 400 itself is still checked against the schema, and
                # tests/test_api.py shows realistic requests are accepted. For cases: a
                # complaint names stored locations, touchpoints and categories (and contact
                # details need consent), and which status a case may move to depends on the
                # status it is in (tests/test_cases_api.py); the months case measures can be
                # asked for run from INTAKE_EARLIEST to this month, which moves with the clock.
                "include-name": [
                    "POST /api/v1/observations/",
                    "POST /api/v1/evaluations/",
                    "POST /api/v1/feedback/",
                    "POST /api/v1/token/",
                    "GET /api/v1/observations/",
                    "POST /api/v1/cases/",
                    "POST /api/v1/cases/{id}/transition/",
                    "GET /api/v1/cases/measures/",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
                    }
                },
            }
        ],
    }
)

# What /api/schema/ serves (test_the_schema_fuzzed_is_the_one_the_api_serves), built at import:
# the parametrized tests need the operations before any database exists.
DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = get_wsgi_application()


@schema.auth(refresh_interval=None)
class CallerToken:
    """The token of the test's caller, as declared by the schema's tokenAuth scheme; the
    authentication checks then also send the request without it and with a wrong one."""

    key: str | None = None

    def get(self, case, context):
        return CallerToken.key

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


@pytest.fixture
def in_the_test_transaction():
    # The WSGI handler closes the connection at the end of each request, which would end the
    # test's transaction; Django's test client switches that off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(settings):
    """Rates no run reaches; afterwards the run's counts are forgotten, so that later tests
    start from nothing under the usual rates."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "1000000/minute", "anon": "1000000/minute"},
    }
    yield
    forget_throttle_counts()


def forget_throttle_counts():
    users = get_user_model().objects.values_list("pk", flat=True)
    cache.delete_many(
        [f"throttle_user_{pk}" for pk in users] + [f"throttle_anon_{ip}" for ip in ("127.0.0.1", "unknown")]
    )


@pytest.fixture
def token(manager, world, in_the_test_transaction, unthrottled):  # noqa: F811
    CallerToken.key = Token.objects.create(user=manager).key
    yield CallerToken.key
    CallerToken.key = None


@schema.parametrize()
# The examples of one operation share the seeded data and one database transaction, by design.
@hypothesis.settings(
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow]
)
def test_every_operation_keeps_its_schema(case, token):
    case.call_and_validate()


def test_the_schema_fuzzed_is_the_one_the_api_serves(manager):
    client = APIClient()
    client.force_authenticate(manager)
    response = client.get(reverse("api:schema"), {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content) == json.loads(json.dumps(DOCUMENT))
