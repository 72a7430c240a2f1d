"""The audit programme's API: templates (shape, versions, query count), schedules (admins write,
managers read their scope), audits recorded through the evaluations endpoint with a template
version and answers (score, observations, logic, idempotency), and who may do what."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audits.models import Answer, Audit, AuditStatus, Schedule, TemplateStatus
from audits.services.templates import template_new_version
from measurement.models import Deviation, Evaluation, Observation
from standards.models import Standard
from tests import factories
from tests.audit_factories import ExternalEvaluatorFactory, OccurrenceFactory, ScheduleFactory
from tests.test_api import client_for, url
from tests.test_audit_scoring import store_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    return store_template(title="Store visit")


@pytest.fixture
def evaluator():
    return ExternalEvaluatorFactory(user=factories.UserFactory(username="shopper"))


def when(hours_ago=2):
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def audit_body(template, location="AAA-01", **values):
    """An evaluation sent as an audit, with answers in the template's question order."""
    notes = values.pop("notes", {})
    body = {
        "template": template.pk,
        "location": location,
        "evaluated_at": when(),
        "answers": [
            {"question": template.q[key].pk, "value": value, **notes.get(key, {})}
            for key, value in values.items()
        ],
    }
    return body


def errors_of(response):
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# --- templates -----------------------------------------------------------------------------------


def test_template_detail_has_sections_questions_options_and_rules_in_order(manager, template):
    response = client_for(manager).get(url("audit-template-detail", pk=template.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Store visit" and body["status"] == "published" and body["version"] == 1
    assert body["pass_mark"] == "80.00" and body["method"] == "mystery_shop"
    assert [s["title"] for s in body["sections"]] == ["Welcome", "Till"]
    assert [s["weight"] for s in body["sections"]] == ["2.00", "1.00"]
    assert body["sections"][0]["fail_below"] == "50.00" and body["sections"][1]["fail_below"] is None
    welcome = body["sections"][0]["questions"]
    assert [q["text"] for q in welcome] == ["greet?", "why?", "wait?", "mood?"]
    greet, why, wait, mood = welcome
    assert greet["kind"] == "yes_no" and greet["critical"] is True and greet["weight"] == "3.00"
    assert greet["standard"] == template.q["greet"].standard.code
    assert why["parent"] == greet["id"] and why["shown_when"] == ["no"] and why["standard"] is None
    assert wait["kind"] == "number" and wait["allow_na"] is False
    assert mood["options"] == [
        {"value": "good", "label": "Good", "score": "2.00"},
        {"value": "fair", "label": "Fair", "score": "1.00"},
        {"value": "poor", "label": "Poor", "score": "0.00"},
    ]
    assert mood["rules"] == [
        {"answers": ["poor"], "require_note": False, "require_photo": True, "require_action": False}
    ]
    tidy, rate, clean = body["sections"][1]["questions"]
    # pass/fail questions always take N/A; "clean" allows it explicitly.
    assert tidy["allow_na"] is True and rate["allow_na"] is False and clean["allow_na"] is True
    assert clean["rules"][0]["require_action"] is True


def test_template_pages_take_the_same_queries_for_one_template_or_three(
    manager, template, django_assert_max_num_queries
):
    client = client_for(manager)
    client.get(url("audit-template-list"))  # the token's first use
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("audit-template-list")).status_code == 200
    store_template(title="Second visit")
    store_template(title="Third visit")
    with CaptureQueriesContext(connection) as three:
        response = client.get(url("audit-template-list"))
    assert response.json()["count"] == 3
    assert len(three) == len(one)
    # Token and profile, count, templates, touchpoints, sections, questions, options, rules.
    with django_assert_max_num_queries(10):
        assert client.get(url("audit-template-detail", pk=template.pk)).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(url("audit-template-list")).status_code == 200


def test_only_published_versions_unless_an_admin_asks_for_others(admin, manager, template):
    draft = template_new_version(template)
    for user in (admin, manager):
        listed = client_for(user).get(url("audit-template-list")).json()["results"]
        assert [t["id"] for t in listed] == [template.pk]
    drafts = client_for(admin).get(url("audit-template-list"), {"status": "draft"}).json()["results"]
    assert [(t["id"], t["version"], t["status"]) for t in drafts] == [(draft.pk, 2, "draft")]
    assert client_for(manager).get(url("audit-template-list"), {"status": "draft"}).json()["results"] == []
    assert client_for(manager).get(url("audit-template-detail", pk=draft.pk)).status_code == 404
    assert client_for(admin).get(url("audit-template-detail", pk=draft.pk)).status_code == 404
    assert (
        client_for(admin).get(url("audit-template-detail", pk=draft.pk), {"status": "draft"}).status_code
        == 200
    )


def test_staff_read_templates_and_anonymous_callers_are_refused(staff, anonymous, template):
    assert client_for(staff).get(url("audit-template-detail", pk=template.pk)).status_code == 200
    assert client_for(None).get(url("audit-template-list")).status_code == 401


def test_an_external_evaluator_sees_only_the_templates_of_their_audits(evaluator, location_a, template):
    other = store_template(title="Call review")
    schedule = ScheduleFactory(template=template, location=location_a)
    OccurrenceFactory(schedule=schedule, assigned_evaluator=evaluator, assignee_key=f"x{evaluator.pk}")
    ScheduleFactory(template=other, location=location_a)
    client = client_for(evaluator.user)
    listed = client.get(url("audit-template-list")).json()["results"]
    assert [t["id"] for t in listed] == [template.pk]
    assert client.get(url("audit-template-detail", pk=other.pk)).status_code == 404


def test_an_evaluator_with_no_assigned_audit_sees_no_template(evaluator, template):
    assert client_for(evaluator.user).get(url("audit-template-list")).json()["results"] == []


def test_an_external_evaluator_cannot_read_schedules_observations_or_scorecards(
    evaluator, location_a, template, manager
):
    ScheduleFactory(template=template, location=location_a)
    observation = factories.ObservationFactory(location=location_a)
    scorecard = factories.ScorecardFactory(location=location_a)
    assert client_for(manager).get(url("observation-detail", pk=observation.pk)).status_code == 200
    client = client_for(evaluator.user)
    assert client.get(url("audit-schedule-list")).status_code == 403
    assert client.get(url("observation-list")).json()["results"] == []
    assert client.get(url("observation-detail", pk=observation.pk)).status_code == 404
    assert client.get(url("scorecard-list")).json()["results"] == []
    assert client.get(url("scorecard-detail", pk=scorecard.pk)).status_code == 404
    assert (
        client.post(url("evaluation-list"), audit_body(template, greet="yes"), format="json").status_code
        == 403
    )


# --- schedules -----------------------------------------------------------------------------------


def schedule_body(version, **fields):
    return {
        "template": version.pk,
        "locations": ["AAA-01", "BBB-01"],
        "frequency": "weekly",
        "weekdays": "MO,TH",
        "starts_on": "2026-01-05",
        "due_after_days": 2,
        **fields,
    }


def test_an_admin_schedules_a_template_at_two_locations_at_once(
    admin, location_a, location_b, template, evaluator
):
    employee = factories.EmployeeFactory(location=location_a, employee_number="E77001")
    response = client_for(admin).post(
        url("audit-schedule-list"),
        schedule_body(template, assigned_employees=["E77001"], assigned_evaluators=[evaluator.pk]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()["schedules"]
    assert [s["location"] for s in created] == ["AAA-01", "BBB-01"]
    assert all(s["assigned_employees"] == ["E77001"] for s in created)
    assert all(s["assigned_evaluators"] == [evaluator.pk] for s in created)
    schedules = Schedule.objects.order_by("location__code")
    assert [(s.location, s.template, s.weekdays, s.due_after_days) for s in schedules] == [
        (location_a, template, "MO,TH", 2),
        (location_b, template, "MO,TH", 2),
    ]
    assert list(schedules[0].assigned_employees.all()) == [employee]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"locations": ["AAA-01", "ZZZ-99"]}, "locations", "ZZZ-99"),
        ({"locations": []}, "locations", "at least one"),
        ({"assigned_employees": ["E404"]}, "assigned_employees", "E404"),
        ({"ends_on": "2025-12-31"}, "ends_on", "before the start"),
        ({"frequency": "custom", "rule": ""}, "rule", "recurrence rule"),
        ({"template": 999999}, "template", "999999"),
    ],
)
def test_a_bad_schedule_names_its_field_and_saves_nothing(
    admin, location_a, location_b, template, fields, field, words
):
    response = client_for(admin).post(
        url("audit-schedule-list"), schedule_body(template, **fields), format="json"
    )
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert Schedule.objects.count() == 0


def test_a_draft_template_cannot_be_scheduled(admin, location_a, location_b, template):
    draft = template_new_version(template)
    template.status = TemplateStatus.RETIRED
    template.save(update_fields=["status"])
    response = client_for(admin).post(url("audit-schedule-list"), schedule_body(draft), format="json")
    assert response.status_code == 400 and "publish" in " ".join(response.json()["template"])
    assert Schedule.objects.count() == 0


def test_an_admin_updates_and_deletes_a_schedule(admin, location_a, template):
    schedule = ScheduleFactory(template=template, location=location_a, frequency="monthly")
    client = client_for(admin)
    response = client.patch(
        url("audit-schedule-detail", pk=schedule.pk),
        {"day_of_month": 15, "late_allowed_days": 3},
        format="json",
    )
    assert response.status_code == 200, response.json()
    schedule.refresh_from_db()
    assert (schedule.day_of_month, schedule.late_allowed_days) == (15, 3)
    moved = client.patch(
        url("audit-schedule-detail", pk=schedule.pk), {"locations": ["BBB-01"]}, format="json"
    )
    assert moved.status_code == 400 and "cannot be changed" in moved.json()["locations"][0]
    assert client.delete(url("audit-schedule-detail", pk=schedule.pk)).status_code == 204
    assert not Schedule.objects.exists()


def test_managers_read_the_schedules_of_their_locations_only(
    manager, other_manager, location_a, location_b, template
):
    mine = ScheduleFactory(template=template, location=location_a)
    theirs = ScheduleFactory(template=template, location=location_b)
    listed = client_for(manager).get(url("audit-schedule-list")).json()
    assert [s["id"] for s in listed["results"]] == [mine.pk] and "next" in listed
    assert client_for(manager).get(url("audit-schedule-detail", pk=theirs.pk)).status_code == 404
    assert client_for(other_manager).get(url("audit-schedule-detail", pk=mine.pk)).status_code == 404
    refused = client_for(manager).post(url("audit-schedule-list"), schedule_body(template), format="json")
    assert refused.status_code == 403
    assert client_for(manager).delete(url("audit-schedule-detail", pk=mine.pk)).status_code == 403
    assert Schedule.objects.count() == 2


def test_staff_and_anonymous_callers_cannot_read_schedules(staff, location_a, template):
    ScheduleFactory(template=template, location=location_a)
    assert client_for(staff).get(url("audit-schedule-list")).status_code == 403
    assert client_for(None).get(url("audit-schedule-list")).status_code == 401


def test_the_schedule_list_takes_the_same_queries_for_one_schedule_or_five(
    admin, location_a, template, django_assert_max_num_queries
):
    client = client_for(admin)
    ScheduleFactory(template=template, location=location_a)
    client.get(url("audit-schedule-list"))
    with CaptureQueriesContext(connection) as one:
        client.get(url("audit-schedule-list"))
    for _ in range(4):
        ScheduleFactory(template=template, location=factories.LocationFactory())
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(url("audit-schedule-list")).json()["results"]) == 5
    assert len(five) == len(one)
    with django_assert_max_num_queries(8):
        client.get(url("audit-schedule-list"))


# --- audits through the evaluations endpoint ---------------------------------------------------


def test_an_audit_sent_with_answers_is_scored_from_the_template_and_observed(manager, template):
    Standard.objects.filter(pk=template.q["greet"].standard_id).update(non_negotiable=True, target_rate=100)
    body = audit_body(
        template,
        greet="no",
        why="No greeting",
        wait="7",
        mood="fair",
        tidy="na",
        rate="4",
        clean="yes",
        notes={"greet": {"note": "Busy on the phone"}},
    )
    response = client_for(manager).post(url("evaluation-list"), body, format="json")
    assert response.status_code == 201, response.json()
    result = response.json()["evaluations"][0]
    # The worked example of tests/test_audit_scoring.py: Welcome 1 of 6 (greet 0×3, wait 0, mood
    # 1 of 2 points × 2), Till 2.75 of 3 (tidy N/A); (2 × 1/6 + 1 × 2.75/3) ÷ 3 = 41.67 %.
    assert result["score"] == "41.67" and result["critical_failed"] is True and result["passed"] is False
    audit = Audit.objects.get()
    assert audit.status == AuditStatus.SUBMITTED and audit.template == template and audit.auditor == manager
    assert audit.evaluation_id == result["id"] and audit.answers.count() == 7
    assert audit.answers.get(question=template.q["greet"]).note == "Busy on the phone"
    # greet, wait, mood, rate, clean: five observations; N/A and free text record none.
    observations = Observation.objects.filter(evaluation_id=result["id"])
    assert sorted(result["observation_ids"]) == sorted(observations.values_list("pk", flat=True))
    assert {o.standard_id for o in observations} == {
        template.q[k].standard_id for k in ("greet", "wait", "mood", "rate", "clean")
    }
    assert response.json()["deviations"] == 1
    assert Deviation.objects.get().observation.standard_id == template.q["greet"].standard_id


def test_a_full_marks_audit_passes(manager, template):
    body = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    result = client_for(manager).post(url("evaluation-list"), body, format="json").json()["evaluations"][0]
    # Welcome 6 of 6; Till: rate (5−1)/4 = 1 of 1; (2 × 1 + 1 × 1) ÷ 3 = 100 %.
    assert (result["score"], result["passed"]) == ("100.00", True)


def test_logic_refuses_an_audit_and_names_each_answer(manager, template):
    body = audit_body(
        template,
        greet="yes",
        wait="4",
        mood="poor",
        tidy="fail",
        clean="no",
        notes={"clean": {"note": "Dusty"}},
    )
    response = client_for(manager).post(url("evaluation-list"), body, format="json")
    assert response.status_code == 400
    errors = errors_of(response)
    # answers: greet 0, wait 1, mood 2, tidy 3, clean 4; "rate" was not sent.
    assert "audit form" in errors["answers[2].value"]
    assert "note" in errors["answers[3].note"]
    assert "corrective action" in errors["answers[4].action"]
    assert errors["answers"] == "Question {} (“rate?”): Answer this question.".format(template.q["rate"].pk)
    assert not Audit.objects.exists() and not Evaluation.objects.exists() and not Answer.objects.exists()


def test_answers_that_are_not_possible_are_named(manager, template):
    other = store_template(title="Other")
    body = audit_body(template, greet="maybe", wait="soon", mood="great", tidy="pass", rate="9", clean="yes")
    body["answers"].append({"question": other.q["greet"].pk, "value": "yes"})
    response = client_for(manager).post(url("evaluation-list"), body, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {
        "answers[6].question": "Give the id of a question of this template version.",
    }
    body["answers"].pop()
    errors = errors_of(client_for(manager).post(url("evaluation-list"), body, format="json"))
    assert errors == {
        "answers[0].value": "Answer yes or no.",
        "answers[1].value": "Enter a number, e.g. 12.5.",
        "answers[2].value": "Choose one of: good, fair, poor.",
        "answers[4].value": "Give a rating from 1 to 5.",
    }


def test_only_a_published_version_records_an_audit(manager, template):
    draft = template_new_version(template)
    body = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    body["template"] = draft.pk
    errors = errors_of(client_for(manager).post(url("evaluation-list"), body, format="json"))
    assert "draft" in errors["template"]
    body["template"] = 0
    errors = errors_of(client_for(manager).post(url("evaluation-list"), body, format="json"))
    assert errors["template"] == "Give the id of a published audit template version."


def test_a_resent_audit_is_stored_once(manager, template):
    body = audit_body(template, greet="yes", wait="7", mood="fair", tidy="na", rate="4", clean="yes")
    body["external_id"] = "shop-2026-0042"
    client = client_for(manager)
    first = client.post(url("evaluation-list"), body, format="json")
    again = client.post(url("evaluation-list"), body, format="json")
    assert first.status_code == 201 and again.status_code == 200
    # Welcome 4 of 6, Till 2.75 of 3: (2 × 4/6 + 2.75/3) ÷ 3 = 75 %.
    assert first.json()["evaluations"][0]["score"] == "75.00"
    assert again.json()["duplicates"] == 1 and again.json()["created"] == 0
    assert again.json()["evaluations"][0]["id"] == first.json()["evaluations"][0]["id"]
    assert Audit.objects.count() == 1 and Evaluation.objects.get().external_id == "shop-2026-0042"
    assert Observation.objects.count() == 5


def test_an_audit_and_items_in_one_batch_are_all_or_nothing(manager, template):
    good_items = {
        "location": "AAA-01",
        "method": "mystery_shop",
        "evaluated_at": when(),
        "items": [{"standard": template.q["greet"].standard.code, "passed": True}],
    }
    bad_audit = audit_body(template, greet="maybe")
    response = client_for(manager).post(url("evaluation-list"), [good_items, bad_audit], format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]][0] == (1, "answers[0].value")
    assert not Evaluation.objects.exists()
    good_audit = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    response = client_for(manager).post(url("evaluation-list"), [good_items, good_audit], format="json")
    assert response.status_code == 201 and response.json()["created"] == 2
    assert [e["score"] for e in response.json()["evaluations"]] == ["100.00", "100.00"]


def test_an_audit_of_a_planned_occurrence_marks_it_done(manager, location_a, template):
    occurrence = OccurrenceFactory(schedule=ScheduleFactory(template=template, location=location_a))
    body = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    body["occurrence"] = occurrence.pk
    body["evaluated_at"] = timezone.now().isoformat()
    response = client_for(manager).post(url("evaluation-list"), body, format="json")
    assert response.status_code == 201, response.json()
    occurrence.refresh_from_db()
    assert occurrence.status == "done" and Audit.objects.get().occurrence == occurrence


def test_an_occurrence_outside_the_scope_is_refused(manager, location_b, template):
    occurrence = OccurrenceFactory(schedule=ScheduleFactory(template=template, location=location_b))
    body = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    body["occurrence"] = occurrence.pk
    errors = errors_of(client_for(manager).post(url("evaluation-list"), body, format="json"))
    assert errors == {"occurrence": "No planned audit with this id in your scope."}
    occurrence.refresh_from_db()
    assert occurrence.status == "open" and not Audit.objects.exists()


def test_a_manager_records_audits_only_at_their_locations(other_manager, location_a, template):
    body = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    errors = errors_of(client_for(other_manager).post(url("evaluation-list"), body, format="json"))
    assert "outside your scope" in errors["location"]
    assert not Audit.objects.exists()


def test_staff_cannot_record_audits(staff, template):
    body = audit_body(template, greet="yes", wait="3", mood="good", tidy="na", rate="5", clean="na")
    assert client_for(staff).post(url("evaluation-list"), body, format="json").status_code == 403


def test_schedules_filter_by_template_and_location_code_and_an_unknown_one_lists_nothing(
    admin, location_a, location_b, template
):
    here = ScheduleFactory(template=template, location=location_a)
    ScheduleFactory(template=template, location=location_b)
    client = client_for(admin)

    def listed(**params):
        response = client.get(url("audit-schedule-list"), params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert listed(location="aaa-01", template=template.pk) == [here.pk]
    assert listed(location="NOPE-99") == []
    assert listed(template=987654321) == []
    assert client.get(url("audit-schedule-list"), {"template": "x"}).status_code == 400


def test_the_schema_documents_both_evaluation_shapes_and_the_audit_endpoints(manager):
    schema = client_for(manager).get(url("schema"), {"format": "json"}).json()
    assert {"/api/v1/audit-templates/", "/api/v1/audit-templates/{id}/", "/api/v1/audit-schedules/"} <= set(
        schema["paths"]
    )
    components = schema["components"]["schemas"]
    # One item or a list of items, and an item is either shape (a list may mix them).
    one, many = components["EvaluationBatch"]["oneOf"]
    assert one == {"$ref": "#/components/schemas/EvaluationOrAudit"} and many["items"] == one
    assert {entry["$ref"] for entry in components["EvaluationOrAudit"]["oneOf"]} == {
        "#/components/schemas/EvaluationInput",
        "#/components/schemas/AuditEvaluationInput",
    }
    assert "answers" in schema["components"]["schemas"]["AuditEvaluationInput"]["required"]
