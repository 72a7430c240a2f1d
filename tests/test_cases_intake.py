"""Cases from feedback: rules evaluated at intake (API, public form, CSV import) and "open a case"
from one answer. One case per answer, whatever is sent twice; a batch costs a fixed number of
queries; no stored rule or answer can make intake fail."""

import io
import os
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import (
    Case,
    CaseCategory,
    CaseEvent,
    CaseOrigin,
    CaseRule,
    CaseStatus,
    EventKind,
    Severity,
    SlaPolicy,
)
from cases.services import intake
from cases.services.core import default_owner
from cases.services.intake import (
    CaseIntakeError,
    case_open_from_feedback,
    cases_open_for_feedback,
    feedback_title,
)
from measurement.models import Feedback
from measurement.services.intake import feedback_ingest
from organization.models import Role
from tests import factories

WHEN = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()


@pytest.fixture
def till(location_a):
    touchpoint = factories.TouchpointFactory(name="Checkout till", slug="till")
    touchpoint.locations.add(location_a)
    return touchpoint


@pytest.fixture
def web(location_a):
    return factories.TouchpointFactory(name="Website", slug="web")


@pytest.fixture
def detractors(db):
    return CaseRule.objects.create(
        name="Detractors",
        nps_at_most=6,
        severity=Severity.HIGH,
        category=CaseCategory.objects.create(name="Service"),
    )


@pytest.fixture
def policy(db):
    return SlaPolicy.objects.create(
        name="High", severity=Severity.HIGH, acknowledge_within_hours=4, resolve_within_days=3
    )


def answer(**fields):
    return {"touchpoint": "till", "location": "AAA-01", "submitted_at": WHEN, "csat": 4, "nps": 9, **fields}


def ingest(*answers):
    result = feedback_ingest(enumerate(answers, start=1))
    assert result.ok, result.errors
    return result


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# --- through each channel ------------------------------------------------------------------------


def test_an_api_batch_opens_a_case_for_each_detractor_and_a_resend_opens_none(
    manager, till, detractors, policy
):
    batch = [
        answer(external_id="crm-1", nps=2, comment="Waited forty minutes at the till and nobody came"),
        answer(external_id="crm-2", nps=9),
        answer(external_id="crm-3", nps=6, csat=None),
    ]
    client = api_client(manager)
    first = client.post(reverse("api:feedback-list"), batch, format="json")
    assert first.status_code == 201, first.json()
    cases = list(Case.objects.order_by("feedback__external_id"))
    assert [c.feedback.external_id for c in cases] == ["crm-1", "crm-3"]
    case = cases[0]
    assert case.origin == CaseOrigin.FEEDBACK_RULE and case.rule == detractors
    assert case.severity == Severity.HIGH and case.category.name == "Service"
    assert case.title == "NPS 2 at Alpha Street: Waited forty minutes at the till and nobody…"
    assert case.description == "Waited forty minutes at the till and nobody came"
    assert case.owner == manager.employee and case.touchpoint == till
    assert case.sla_policy == policy
    assert case.acknowledge_due_at == case.opened_at + timedelta(hours=4)
    event = case.events.get()
    assert (event.kind, event.to_status, event.actor) == (EventKind.OPENED, CaseStatus.NEW, None)
    assert "Detractors" in event.text

    again = client.post(reverse("api:feedback-list"), batch, format="json")
    assert again.status_code == 200 and again.json()["duplicates"] == 3
    assert Case.objects.count() == 2 and CaseEvent.objects.count() == 2


def test_the_public_form_opens_a_case_with_the_customers_details(client, till, detractors):
    response = client.post(
        reverse("feedback-form", args=["AAA-01", "till"]),
        {
            "nps": "1",
            "comment": "Rude staff",
            "contact_consent": "on",
            "contact_name": "Ann Lee",
            "contact_email": "ann@example.com",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.feedback.comment == "Rude staff"
    assert (case.contact_consent, case.contact_name, case.contact_email) == (
        True,
        "Ann Lee",
        "ann@example.com",
    )


def test_a_csv_import_opens_cases_and_importing_the_file_again_opens_none(till, detractors, tmp_path):
    path = tmp_path / "feedback.csv"
    path.write_text(
        "external_id,touchpoint,location,submitted_at,csat,nps,comment\r\n"
        f"f-1,till,AAA-01,{WHEN},2,3,Cold coffee\r\n"
        f"f-2,till,AAA-01,{WHEN},5,10,Lovely\r\n"
    )
    for _ in range(2):
        call_command("import_observations", str(path), "--kind", "feedback", stdout=io.StringIO())
    assert list(Case.objects.values_list("feedback__external_id", "title")) == [
        ("f-1", "NPS 3 at Alpha Street: Cold coffee")
    ]


# --- which rule, which answer --------------------------------------------------------------------


def test_several_rules_the_first_by_name_wins_and_every_condition_must_hold(till, web):
    CaseRule.objects.create(name="B unhappy", csat_at_most=2, severity=Severity.LOW)
    CaseRule.objects.create(name="A unhappy online", csat_at_most=2, touchpoint=web, severity=Severity.URGENT)
    CaseRule.objects.create(name="C contact", contact_requested=True, severity=Severity.HIGH)
    ingest(
        answer(external_id="online", touchpoint="web", csat=1),
        answer(external_id="till", csat=2),
        answer(
            external_id="asks",
            csat=5,
            contact_consent=True,
            contact_email="bo@example.com",
        ),
        answer(external_id="happy", csat=5),
    )
    got = dict(Case.objects.values_list("feedback__external_id", "rule__name"))
    assert got == {"online": "A unhappy online", "till": "B unhappy", "asks": "C contact"}
    assert Case.objects.get(feedback__external_id="online").severity == Severity.URGENT


def test_no_rule_or_an_inactive_one_opens_no_case(till, detractors):
    detractors.active = False
    detractors.save()
    ingest(answer(nps=0))
    assert not Case.objects.exists()


def test_contact_details_without_consent_never_reach_the_case_and_the_team_only_where_it_works(
    location_a, location_b, detractors
):
    here = factories.TouchpointFactory(slug="till", owner_team=factories.TeamFactory(location=location_a))
    factories.TouchpointFactory(slug="desk", owner_team=factories.TeamFactory(location=location_b))
    ingest(answer(external_id="here", nps=1), answer(external_id="away", touchpoint="desk", nps=1))
    cases = {c.feedback.external_id: c for c in Case.objects.select_related("feedback")}
    assert cases["here"].team == here.owner_team
    assert cases["away"].team is None
    assert cases["here"].contact_email == "" and not cases["here"].contact_consent


def test_an_answer_that_already_has_a_case_gets_no_second_one(manager, till, detractors):
    result = ingest(answer(nps=1))
    (feedback_id,) = result.created_ids
    assert cases_open_for_feedback(feedback_ids=[feedback_id]) == 0
    assert Case.objects.filter(feedback_id=feedback_id).count() == 1


def test_a_case_another_writer_stored_meanwhile_is_left_to_it(manager, till):
    first, second = (
        factories.FeedbackFactory(location=manager.employee.location, touchpoint=till) for _ in "12"
    )
    theirs = factories.CaseFactory(location=first.location, feedback=first, origin=CaseOrigin.FEEDBACK)
    mine = [
        Case(
            location=first.location,
            feedback=f,
            title="Mine",
            origin=CaseOrigin.FEEDBACK_RULE,
            opened_at=timezone.now(),
        )
        for f in (first, second)
    ]
    stored = intake._cases_insert(mine)
    assert [c.feedback for c in stored] == [second]
    assert Case.objects.get(feedback=first) == theirs


def test_a_failing_case_insert_rolls_the_intake_back_with_a_clear_error(till, detractors, monkeypatch):
    def refuse(cases):
        raise CaseIntakeError("The cases for 1 feedback answer(s) could not be stored: boom")

    monkeypatch.setattr(intake, "_cases_insert", refuse)
    with pytest.raises(CaseIntakeError, match="could not be stored"):
        feedback_ingest([(1, answer(nps=0))])
    assert not Feedback.objects.exists() and not Case.objects.exists()


def test_a_rule_with_a_severity_written_past_validation_still_opens_a_normal_case(till, detractors):
    CaseRule.objects.filter(pk=detractors.pk).update(severity="bogus")
    ingest(answer(nps=0))
    assert Case.objects.get().severity == Severity.NORMAL


def test_the_batch_owners_are_those_of_default_owner(location_a, location_b, manager, other_manager, db):
    later = factories.EmployeeFactory(role=Role.MANAGER, location=location_a)
    later.managed_locations.add(location_a, location_b)
    nobody = factories.LocationFactory()
    owners = intake._default_owners({location_a.pk, location_b.pk, nobody.pk})
    for location in (location_a, location_b, nobody):
        expected = default_owner(location)
        assert owners.get(location.pk) == (expected.pk if expected else None)


# --- cost ----------------------------------------------------------------------------------------


def _queries_of(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured)


def test_a_batch_without_rules_costs_one_query_and_without_match_two(till):
    ids = ingest(*(answer(nps=9) for _ in range(50))).created_ids
    assert _queries_of(lambda: cases_open_for_feedback(feedback_ids=ids)) == 1
    CaseRule.objects.create(name="Detractors", nps_at_most=6)
    assert _queries_of(lambda: cases_open_for_feedback(feedback_ids=ids)) == 2


def test_the_queries_of_a_batch_do_not_grow_with_its_size(manager, till, detractors, policy):
    def batch(size):
        rows = [answer(nps=index % 7, comment=f"Problem {index}") for index in range(size)]
        return _queries_of(lambda: ingest(*rows))

    small, large = batch(3), batch(20)
    assert Case.objects.count() == 23
    assert large == small


# --- one answer from the inbox -------------------------------------------------------------------


def test_opening_a_case_from_an_answer_twice_returns_the_same_case(manager, till):
    feedback = factories.FeedbackFactory(
        location=manager.employee.location,
        touchpoint=till,
        csat=1,
        nps=None,
        comment="",
        contact_consent=True,
        contact_email="cy@example.com",
    )
    case = case_open_from_feedback(feedback=feedback, user=manager, severity=Severity.URGENT)
    assert case.origin == CaseOrigin.FEEDBACK and case.title == "CSAT 1 at Alpha Street"
    assert case.owner == manager.employee and case.contact_email == "cy@example.com"
    assert case_open_from_feedback(feedback=feedback, user=manager) == case
    assert Case.objects.count() == 1 and case.events.count() == 1


def test_an_answer_outside_the_scope_cannot_be_made_a_case(other_manager, manager, till):
    feedback = factories.FeedbackFactory(location=manager.employee.location, touchpoint=till)
    with pytest.raises(PermissionDenied):
        case_open_from_feedback(feedback=feedback, user=other_manager)
    assert not Case.objects.exists()


def test_a_title_stays_within_its_column():
    title = feedback_title(location_name="L" * 120, csat=None, nps=0, comment="word " * 50)
    assert len(title) == Case._meta.get_field("title").max_length and title.endswith("…")
    assert feedback_title(location_name="X", csat=None, nps=None, comment="  ") == "Comment at X"


# --- no stored rule or answer can make intake fail -----------------------------------------------

EXAMPLES = int(os.environ.get("INTAKE_PROPERTY_EXAMPLES", "1200")) // 6
small_or_odd = st.one_of(
    st.none(), st.integers(min_value=0, max_value=12), st.integers(min_value=0, max_value=32767)
)
rule_rows = st.lists(
    st.fixed_dictionaries(
        {
            # Letters and digits, which every collation orders alike: "first by name" is then one order.
            "name": st.text(alphabet="abcdefgh0123", min_size=1, max_size=6),
            "active": st.booleans(),
            "nps_at_most": small_or_odd,
            "csat_at_most": small_or_odd,
            "contact_requested": st.booleans(),
            "on_till": st.booleans(),
            "severity": st.sampled_from([*Severity.values, "", "bogus"]),
            "with_category": st.booleans(),
        }
    ),
    max_size=4,
    unique_by=lambda r: r["name"],
)
answer_rows = st.lists(
    st.fixed_dictionaries(
        {
            "csat": st.none() | st.integers(1, 5),
            "nps": st.none() | st.integers(0, 10),
            "comment": st.text(max_size=400).filter(lambda s: "\x00" not in s),
            "contact": st.booleans(),
            "name": st.text(max_size=120).filter(lambda s: "\x00" not in s),
            "touchpoint": st.sampled_from(["till", "web"]),
        }
    ),
    min_size=1,
    max_size=8,
)


def _is_storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _expected_rule(rules: list[CaseRule], feedback: Feedback) -> CaseRule | None:
    """The rules' meaning, said again in Python: every condition given holds; first name wins."""
    for rule in sorted((r for r in rules if r.active), key=lambda r: r.name):
        conditions = []
        if rule.nps_at_most is not None:
            conditions.append(feedback.nps is not None and feedback.nps <= rule.nps_at_most)
        if rule.csat_at_most is not None:
            conditions.append(feedback.csat is not None and feedback.csat <= rule.csat_at_most)
        if rule.contact_requested:
            conditions.append(
                feedback.contact_consent and bool(feedback.contact_name or feedback.contact_email)
            )
        if rule.touchpoint_id is not None:
            conditions.append(feedback.touchpoint_id == rule.touchpoint_id)
        if conditions and all(conditions):
            return rule
    return None


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=max(EXAMPLES, 50),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rules=rule_rows, answers=answer_rows)
def test_intake_never_fails_because_of_rules_and_opens_exactly_the_rules_cases(
    manager, till, web, rules, answers
):
    rows = []
    for a in answers:
        if a["csat"] is None and a["nps"] is None and not a["comment"].strip():
            a["comment"] = "Something"
        if not _is_storable(a["comment"]) or not _is_storable(a["name"]):
            continue
        rows.append(
            answer(
                touchpoint=a["touchpoint"],
                csat=a["csat"],
                nps=a["nps"],
                comment=a["comment"],
                contact_consent=a["contact"],
                contact_name=a["name"].strip() if a["contact"] else "",
                contact_email="a@example.com" if a["contact"] and not a["name"].strip() else "",
            )
        )
    if not rows:
        return
    with transaction.atomic():
        stored_rules = []
        for r in rules:
            rule = CaseRule(
                name=r["name"],
                active=r["active"],
                nps_at_most=r["nps_at_most"],
                csat_at_most=r["csat_at_most"],
                contact_requested=r["contact_requested"],
                touchpoint=till if r["on_till"] else None,
                severity=r["severity"],
                category=CaseCategory.objects.get_or_create(name="Any")[0] if r["with_category"] else None,
            )
            if (
                rule.nps_at_most is None
                and rule.csat_at_most is None
                and not rule.contact_requested
                and not rule.touchpoint
            ):
                continue  # the database refuses a rule without a condition
            stored_rules.append(rule)
        # Stored past the admin's validation on purpose (bulk_create runs no full_clean).
        CaseRule.objects.bulk_create(stored_rules)
        result = feedback_ingest(enumerate(rows, start=1))
        assert result.ok, result.errors
        feedback = Feedback.objects.in_bulk(result.created_ids)
        got = dict(
            Case.objects.filter(feedback_id__in=result.created_ids).values_list("feedback_id", "rule_id")
        )
        stored_rules = list(CaseRule.objects.all())
        expected = {}
        for pk, item in feedback.items():
            rule = _expected_rule(stored_rules, item)
            if rule is not None:
                expected[pk] = rule.pk
        assert got == expected
        assert CaseEvent.objects.filter(case__feedback_id__in=result.created_ids).count() == len(got)
        transaction.set_rollback(True)
