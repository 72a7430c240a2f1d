"""/api/v1/cases/: list, retrieve, create, transition and notes, by role and scope."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case, CaseCategory, CaseEvent, CaseOrigin, CaseStatus, EventKind, Severity, SlaPolicy
from cases.services.core import case_open, case_transition, may_see_contact
from tests import factories


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def url(name="case-list", *args):
    return reverse(f"api:{name}", args=args)


@pytest.fixture
def till(db):
    return factories.TouchpointFactory(slug="till")


@pytest.fixture
def logged_by_staff(location_a, staff, manager):
    """A complaint staff took and handed to the manager: staff logged it but no longer own it."""
    return case_open(
        location=location_a,
        title="Charged twice",
        origin=CaseOrigin.PHONE,
        user=staff,
        logged_by=staff.employee,
        owner=manager.employee,
        contact_consent=True,
        contact_name="Ann Lee",
        contact_email="ann@example.com",
    )


@pytest.fixture
def owned_by_staff(location_a, staff):
    return case_open(
        location=location_a,
        title="Rude at the till",
        origin=CaseOrigin.IN_PERSON,
        user=staff,
        logged_by=staff.employee,
    )


@pytest.fixture
def elsewhere(location_b, other_manager):
    return case_open(location=location_b, title="Lost parcel", origin=CaseOrigin.EMAIL, user=other_manager)


@pytest.fixture
def unrelated_here(location_a, manager):
    return case_open(location=location_a, title="Broken door", origin=CaseOrigin.LETTER, user=manager)


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("case-list", "get"),
        ("case-list", "post"),
        ("case-detail", "get"),
        ("case-transition", "post"),
        ("case-notes", "post"),
    ],
)
def test_anonymous_gets_401(unrelated_here, name, method):
    args = () if name == "case-list" else (unrelated_here.pk,)
    response = getattr(APIClient(), method)(url(name, *args), {}, format="json")
    assert response.status_code == 401
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1


def test_staff_see_only_the_cases_they_own_or_logged(
    staff, logged_by_staff, owned_by_staff, elsewhere, unrelated_here
):
    assert sorted(ids(client_for(staff).get(url()))) == sorted([logged_by_staff.pk, owned_by_staff.pk])
    assert client_for(staff).get(url("case-detail", unrelated_here.pk)).status_code == 404


def test_a_manager_sees_their_locations_and_gets_404_elsewhere(
    manager, other_manager, logged_by_staff, owned_by_staff, elsewhere, unrelated_here
):
    assert sorted(ids(client_for(manager).get(url()))) == sorted(
        [logged_by_staff.pk, owned_by_staff.pk, unrelated_here.pk]
    )
    outsider = client_for(other_manager)
    assert outsider.get(url("case-detail", unrelated_here.pk)).status_code == 404
    assert (
        outsider.post(
            url("case-transition", unrelated_here.pk), {"to": "acknowledged"}, format="json"
        ).status_code
        == 404
    )
    assert (
        outsider.post(url("case-notes", unrelated_here.pk), {"text": "Mine?"}, format="json").status_code
        == 404
    )
    assert unrelated_here.events.count() == 1
    assert client_for(manager).get(url("case-detail", "not-a-number")).status_code == 404


def test_admins_see_every_case(admin, logged_by_staff, elsewhere):
    assert sorted(ids(client_for(admin).get(url()))) == sorted([logged_by_staff.pk, elsewhere.pk])


# --- contact details -----------------------------------------------------------------------------


def test_contact_details_are_hidden_from_staff_who_only_logged_the_case(staff, manager, logged_by_staff):
    seen_by_staff = client_for(staff).get(url("case-detail", logged_by_staff.pk)).json()
    assert seen_by_staff["contact"] is None and seen_by_staff["contact_consent"] is True
    assert "ann@example.com" not in str(client_for(staff).get(url()).content)
    seen_by_manager = client_for(manager).get(url("case-detail", logged_by_staff.pk)).json()
    assert seen_by_manager["contact"] == {"name": "Ann Lee", "email": "ann@example.com", "phone": ""}


def test_the_list_shows_contact_details_exactly_where_may_see_contact_allows(
    staff, manager, admin, logged_by_staff, owned_by_staff, unrelated_here
):
    Case.objects.update(contact_consent=True, contact_name="Bo")
    for user in (staff, manager, admin):
        for row in client_for(user).get(url()).json()["results"]:
            case = Case.objects.get(pk=row["id"])
            assert (row["contact"] is not None) == may_see_contact(user, case), (user, case)


# --- list filters and order ----------------------------------------------------------------------


def test_open_cases_come_first_due_soonest_and_the_filters_narrow(manager, location_a, till):
    SlaPolicy.objects.create(
        name="Urgent", severity=Severity.URGENT, acknowledge_within_hours=1, resolve_within_days=1
    )
    SlaPolicy.objects.create(
        name="Low", severity=Severity.LOW, acknowledge_within_hours=48, resolve_within_days=10
    )
    long_ago = timezone.now() - timedelta(days=5)
    late = case_open(
        location=location_a,
        title="Late",
        origin=CaseOrigin.PHONE,
        severity=Severity.URGENT,
        opened_at=long_ago,
    )
    soon = case_open(location=location_a, title="Soon", origin=CaseOrigin.PHONE, severity=Severity.URGENT)
    later = case_open(
        location=location_a, title="Later", origin=CaseOrigin.PHONE, severity=Severity.LOW, touchpoint=till
    )
    done = case_open(location=location_a, title="Done", origin=CaseOrigin.PHONE, severity=Severity.URGENT)
    case_transition(case=done, to=CaseStatus.RESOLVED, user=manager, summary="Refunded.")
    client = client_for(manager)
    assert ids(client.get(url())) == [late.pk, soon.pk, later.pk, done.pk]
    assert ids(client.get(url(), {"open": "true"})) == [late.pk, soon.pk, later.pk]
    assert ids(client.get(url(), {"open": "false"})) == [done.pk]
    assert ids(client.get(url(), {"breached": "true"})) == [late.pk]
    assert client.get(url("case-detail", late.pk)).json()["breached"] is True
    assert ids(client.get(url(), {"severity": "low"})) == [later.pk]
    assert ids(client.get(url(), {"status": "resolved"})) == [done.pk]
    assert ids(client.get(url(), {"location": "aaa-01", "owner": manager.employee.employee_number})) == [
        late.pk,
        soon.pk,
        later.pk,
        done.pk,
    ]
    today = timezone.localdate()
    assert ids(client.get(url(), {"opened_to": (today - timedelta(days=1)).isoformat()})) == [late.pk]
    assert late.pk not in ids(client.get(url(), {"opened_from": today.isoformat()}))


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("status", "lost"), ("open", "maybe"), ("opened_from", "yesterday"), ("breached", "")],
)
def test_a_bad_filter_is_a_400_naming_it(manager, parameter, value):
    response = client_for(manager).get(url(), {parameter: value})
    assert response.status_code == 400 and parameter in response.json()


def test_the_list_costs_the_same_queries_for_one_case_or_many(
    manager, location_a, django_assert_max_num_queries
):
    client = client_for(manager)
    case_open(location=location_a, title="One", origin=CaseOrigin.PHONE)
    with django_assert_max_num_queries(8) as few:
        client.get(url())
    for number in range(15):
        case_open(location=location_a, title=f"Case {number}", origin=CaseOrigin.PHONE)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url()).json()["results"]) == 16


# --- create --------------------------------------------------------------------------------------


def complaint(**fields):
    return {
        "external_id": "crm-1",
        "location": "AAA-01",
        "touchpoint": "till",
        "title": "Charged twice for one order",
        "severity": "high",
        "category": "billing error",
        "origin": "phone",
        "contact_name": "Ann Lee",
        "contact_email": "ann@example.com",
        "contact_consent": True,
        **fields,
    }


def test_a_complaint_from_another_system_opens_a_case_once(manager, till):
    CaseCategory.objects.create(name="Billing error")
    client = client_for(manager)
    first = client.post(url(), complaint(), format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    case = Case.objects.get()
    assert body["id"] == case.pk and body["reference"] == case.reference
    assert (case.origin, case.severity, case.category.name, case.touchpoint) == (
        "phone",
        "high",
        "Billing error",
        till,
    )
    assert case.owner == manager.employee and case.logged_by is None
    assert body["contact"]["email"] == "ann@example.com"
    assert [e["kind"] for e in body["events"]] == [EventKind.OPENED]
    again = client.post(url(), complaint(title="A different title"), format="json")
    assert again.status_code == 200 and again.json()["id"] == case.pk
    assert Case.objects.count() == 1


def test_a_complaint_is_refused_field_by_field(manager, other_manager, till):
    client = client_for(manager)
    cases = [
        (complaint(location="ZZZ-99"), "location", "No location has the code"),
        (complaint(location="BBB-01"), "location", "outside your scope"),
        (complaint(touchpoint="nowhere"), "touchpoint", "No touchpoint"),
        (complaint(category="Nope"), "category", "No active case category"),
        (complaint(contact_consent=False, category=""), "contact_consent", "consent"),
        (complaint(title="  ", category=""), "title", ""),
        (complaint(severity="huge", category=""), "severity", ""),
        (complaint(title="Bad \ud800 text", category=""), "title", "Surrogate"),
    ]
    for body, field, message in cases:
        # json.dumps escapes the lone surrogate as \ud800, as another system's JSON would.
        response = client.post(url(), json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert message in " ".join(response.json()[field]), response.json()
    assert not Case.objects.exists()


def test_an_external_id_of_a_case_outside_the_scope_is_refused(manager, other_manager, till):
    assert (
        client_for(other_manager)
        .post(url(), complaint(location="BBB-01", category=""), format="json")
        .status_code
        == 201
    )
    response = client_for(manager).post(url(), complaint(category=""), format="json")
    assert response.status_code == 400 and "outside your scope" in response.json()["external_id"][0]
    assert Case.objects.count() == 1


def test_staff_may_not_log_complaints_through_the_api(staff, till):
    response = client_for(staff).post(url(), complaint(category=""), format="json")
    assert response.status_code == 403 and not Case.objects.exists()


def test_a_body_that_is_not_json_is_refused(manager):
    assert client_for(manager).post(url(), "title=x", content_type="text/plain").status_code == 415
    response = client_for(manager).post(url(), "{not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


# --- transition and notes ------------------------------------------------------------------------


def test_an_invalid_transition_answers_400_with_the_reason(manager, unrelated_here):
    response = client_for(manager).post(
        url("case-transition", unrelated_here.pk), {"to": "closed"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "to": ["A case that is new cannot become closed. It can become: acknowledged, in progress, resolved."]
    }
    unrelated_here.refresh_from_db()
    assert unrelated_here.status == CaseStatus.NEW


def test_the_owner_moves_a_case_along_and_resolving_needs_a_summary(staff, owned_by_staff):
    client = client_for(staff)
    moved = client.post(
        url("case-transition", owned_by_staff.pk), {"to": "acknowledged", "note": "On it"}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["status"] == "acknowledged"
    assert moved.json()["events"][-1]["text"] == "On it"
    missing = client.post(url("case-transition", owned_by_staff.pk), {"to": "resolved"}, format="json")
    assert missing.status_code == 400 and "Say what was done" in missing.json()["summary"][0]
    resolved = client.post(
        url("case-transition", owned_by_staff.pk), {"to": "resolved", "summary": "Apologised."}, format="json"
    )
    assert resolved.json()["resolution_summary"] == "Apologised."
    bad = client.post(url("case-transition", owned_by_staff.pk), {"to": "lost"}, format="json")
    assert bad.status_code == 400 and "to" in bad.json()


def test_resolving_through_the_api_sends_the_customer_the_follow_up_survey(
    manager, logged_by_staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).post(
            url("case-transition", logged_by_staff.pk),
            {"to": "resolved", "summary": "Refunded the second charge.", "note": "Card ref 5521."},
            format="json",
        )
    assert response.status_code == 200, response.content
    logged_by_staff.refresh_from_db()
    assert logged_by_staff.status == CaseStatus.RESOLVED and logged_by_staff.follow_up_token
    [survey] = [m for m in mailoutbox if "ann@example.com" in m.to]
    assert reverse("case-follow-up", args=[logged_by_staff.follow_up_token]) in survey.body
    assert response.json()["events"][-1]["text"] == "Card ref 5521."


def test_staff_who_only_logged_a_case_may_note_it_but_not_move_it(staff, logged_by_staff):
    client = client_for(staff)
    refused = client.post(url("case-transition", logged_by_staff.pk), {"to": "acknowledged"}, format="json")
    assert refused.status_code == 403 and "owner" in refused.json()["detail"]
    noted = client.post(
        url("case-notes", logged_by_staff.pk), {"text": "  Customer rang again  "}, format="json"
    )
    assert noted.status_code == 201
    assert (noted.json()["kind"], noted.json()["text"], noted.json()["actor"]) == (
        "note",
        "Customer rang again",
        "staff",
    )
    empty = client.post(url("case-notes", logged_by_staff.pk), {"text": "   "}, format="json")
    assert empty.status_code == 400 and "text" in empty.json()
    assert logged_by_staff.events.filter(kind=EventKind.NOTE).count() == 1


# --- the schema ----------------------------------------------------------------------------------


def test_the_cases_endpoints_are_in_the_schema_with_examples(manager):
    client = APIClient()
    client.force_authenticate(manager)
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/cases/"])
    assert "get" in paths["/api/v1/cases/{id}/"]
    assert "post" in paths["/api/v1/cases/{id}/transition/"] and "post" in paths["/api/v1/cases/{id}/notes/"]
    create = paths["/api/v1/cases/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert {"200", "201", "400", "401", "403", "415"} <= set(create["responses"])
    parameters = {p["name"] for p in paths["/api/v1/cases/"]["get"]["parameters"]}
    assert {
        "status",
        "severity",
        "location",
        "owner",
        "open",
        "breached",
        "opened_from",
        "opened_to",
    } <= parameters
