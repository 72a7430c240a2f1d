"""The OpenAPI 3 schema at /api/schema/ and the docs page at /api/docs/ (offline: local files only)."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from openapi_spec_validator import validate
from rest_framework.test import APIClient

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor" / "swagger-ui"


@pytest.fixture
def schema(manager):
    client = APIClient()
    client.force_authenticate(manager)
    response = client.get(reverse("api:schema"), {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)  # raises OpenAPIValidationError with the path of the first problem


def test_the_schema_is_generated_without_warnings(db, tmp_path):
    # drf-spectacular's own check: its JSON-schema validation of the document, and no warning
    # (an undocumented field or an ambiguous name would otherwise pass unnoticed).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_the_schema_lists_every_resource_and_the_token_view(schema):
    paths = set(schema["paths"])
    for resource in (
        "observations",
        "evaluations",
        "feedback",
        "scorecards",
        "standards",
        "touchpoints",
        "locations",
        "cases",
    ):
        assert f"/api/v1/{resource}/" in paths
        assert f"/api/v1/{resource}/{{id}}/" in paths
    assert "/api/v1/token/" in paths
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize("resource", ["observations", "evaluations", "feedback"])
def test_posting_is_documented_as_one_object_or_a_list_with_per_item_errors(schema, resource):
    post = schema["paths"][f"/api/v1/{resource}/"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    one, many = schema["components"]["schemas"][body]["oneOf"]
    assert many["type"] == "array" and many["items"] == one
    assert set(post["responses"]) == {"200", "201", "400", "401", "403", "413", "415", "429"}
    errors = post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    item = schema["components"]["schemas"][errors]["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][item]["properties"]) == {"index", "field", "message"}


def test_the_observation_filters_are_documented(schema):
    parameters = {p["name"] for p in schema["paths"]["/api/v1/observations/"]["get"]["parameters"]}
    assert {
        "observed_after",
        "observed_before",
        "period_kind",
        "period_start",
        "location",
        "team",
        "employee",
        "standard",
        "passed",
        "source",
        "cursor",
    } <= parameters
    assert "page" not in parameters


@pytest.mark.parametrize("resource", ["observations", "evaluations", "feedback", "scorecards"])
def test_evidence_lists_are_documented_as_cursor_pages_without_a_count(schema, resource):
    ok = schema["paths"][f"/api/v1/{resource}/"]["get"]["responses"]["200"]
    page = schema["components"]["schemas"][ok["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(page["properties"]) == {"next", "previous", "results"}
    assert page["properties"]["next"]["nullable"] is True
    assert "90 days" in json.dumps(schema["paths"][f"/api/v1/{resource}/"]["get"]["parameters"])


def test_the_schema_needs_a_token_or_a_session(db):
    assert APIClient().get(reverse("api:schema")).status_code == 401


def test_the_schema_is_yaml_by_default_and_json_on_request(manager):
    client = APIClient()
    client.force_authenticate(manager)
    assert client.get(reverse("api:schema")).content.startswith(b"openapi: 3.")
    assert client.get(reverse("api:schema"), {"format": "json"})["Content-Type"].startswith(
        "application/vnd.oai.openapi+json"
    )


def test_the_docs_page_sends_anonymous_visitors_to_login(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_docs_page_loads_only_local_files(client, manager):
    client.force_login(manager)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.content.decode()

    # No address on another host: the page must work offline.
    assert re.findall(r"(?:https?:)?//[\w.-]+", html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == sorted(
        [
            "/static/vendor/swagger-ui/favicon-32x32.png",
            "/static/vendor/swagger-ui/swagger-ui.css",
            "/static/vendor/swagger-ui/swagger-ui-bundle.js",
            reverse("api:schema"),
        ]
    )
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file"
    assert f'url: "{reverse("api:schema")}"' in html


def test_every_vendored_source_map_comment_points_to_a_file_next_to_it():
    # whitenoise's manifest storage fails collectstatic on a sourceMappingURL to a missing file.
    for path in VENDOR.glob("*.[jc]s*"):
        if path.suffix not in {".js", ".css"}:
            continue
        for target in re.findall(r"sourceMappingURL=([^\s*]+)", path.read_text(encoding="utf-8")):
            assert (path.parent / target).is_file(), f"{path.name} points to missing {target}"


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        assert "429" in codes, (method, path)
        assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)
        if path != "/api/v1/token/":
            assert "401" in codes, (method, path)
        if "{id}" in path or (method == "get" and "results" in json.dumps(operation["responses"]["200"])):
            assert "404" in codes, (method, path)


def test_every_list_documents_its_bad_parameter_answer(schema):
    for path, method, operation in _operations(schema):
        if (
            method == "get"
            and "{id}" not in path
            and any(p["name"] != "page" for p in operation["parameters"])
        ):
            body = operation["responses"]["400"]["content"]["application/json"]["schema"]
            assert body["additionalProperties"] == {"type": "array", "items": {"type": "string"}}, path


def test_an_email_that_may_be_empty_is_not_documented_as_an_email(schema):
    contact_email = schema["components"]["schemas"]["Feedback"]["properties"]["contact_email"]
    assert contact_email["type"] == "string"
    assert "format" not in contact_email


def test_no_response_field_claims_a_format_its_empty_value_breaks(schema):
    # A blank-able model field documented with a format (email, uri, …) would be a lie when blank.
    for name, component in schema["components"]["schemas"].items():
        for field, spec in component.get("properties", {}).items():
            if spec.get("readOnly") and spec.get("format") in {"email", "uri", "uuid", "ipv4", "ipv6"}:
                raise AssertionError(f"{name}.{field} claims format {spec['format']}")


def test_ids_in_filters_are_integers_and_codes_exclude_nul(schema):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/v1/observations/"]["get"]["parameters"]
    }
    assert parameters["team"] == {"type": "integer"}
    assert parameters["evaluation"] == {"type": "integer"}
    assert parameters["location"]["pattern"] == "^[^\\u0000]*$"
