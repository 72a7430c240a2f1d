"""Doing an audit through its pages: my audits, start or resume, answers saved one by one (a resend
stored once), submission refused with the problems shown, then the result with its evidence."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import Answer, Audit, AuditStatus, Occurrence
from audits.services.templates import template_new_version, template_publish
from measurement.models import Deviation, Observation
from organization.scope import employee_of
from tests.audit_factories import OccurrenceFactory, ScheduleFactory, template_from

pytestmark = pytest.mark.django_db


def store_template():
    """Welcome: greet (yes/no, weight 2, critical), why (text, asked after "no"), wait (number,
    at most 5 minutes; a failed wait needs a note). Till: tidy (pass/fail; a fail needs a
    corrective action). Pass mark 80."""
    return template_from(
        [
            {
                "title": "Welcome",
                "questions": [
                    {"key": "greet", "kind": "yes_no", "weight": 2, "critical": True, "text": "Greeted?"},
                    {
                        "key": "why",
                        "kind": "text",
                        "parent": "greet",
                        "shown_when": ["no"],
                        "text": "Why not?",
                    },
                    {
                        "key": "wait",
                        "kind": "number",
                        "threshold": 5,
                        "unit": "minutes",
                        "text": "Minutes waited?",
                        "rules": [{"answers": ["failed"], "require_note": True}],
                    },
                ],
            },
            {
                "title": "Till",
                "questions": [
                    {
                        "key": "tidy",
                        "kind": "pass_fail",
                        "text": "Till tidy?",
                        "rules": [{"answers": ["fail"], "require_action": True}],
                    }
                ],
            },
        ],
        title="Store visit",
        pass_mark=Decimal("80"),
    )


@pytest.fixture
def template():
    return store_template()


@pytest.fixture
def occurrence(template, staff, location_a):
    schedule = ScheduleFactory(template=template, location=location_a)
    schedule.assigned_employees.add(employee_of(staff))
    return OccurrenceFactory(schedule=schedule)


@pytest.fixture
def draft(client, staff, occurrence):
    client.force_login(staff)
    client.post(reverse("audits:start", args=[occurrence.pk]))
    return Audit.objects.get(occurrence=occurrence)


def save(client, audit, question, **fields):
    return client.post(reverse("audits:answer", args=[audit.pk]), {"question": question.pk, **fields})


def test_my_audits_lists_the_assigned_audit_with_its_due_date_in_words(client, staff, occurrence):
    client.force_login(staff)
    response = client.get(reverse("audits:mine"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Store visit" in page and "Alpha Street" in page
    # Due in two days (less the moments the test took): "due in 1 day 23 h".
    assert "Due in 1 day 23 h" in page
    assert "Start the audit" in page


def test_my_audits_says_what_to_do_when_there_is_nothing(client, manager, occurrence):
    client.force_login(manager)
    page = client.get(reverse("audits:mine")).content.decode()
    # The manager sees the location's occurrences elsewhere, but none is assigned to them.
    assert "No audit to do" in page
    assert "Nothing submitted yet" in page


def test_an_overdue_audit_is_marked_and_one_not_yet_open_cannot_be_started(client, staff, occurrence):
    now = timezone.now()
    Occurrence.objects.filter(pk=occurrence.pk).update(
        due_at=now - timedelta(hours=3), closes_at=now + timedelta(days=1), opens_at=now - timedelta(days=2)
    )
    later = OccurrenceFactory(
        schedule=occurrence.schedule,
        scheduled_for=occurrence.scheduled_for + timedelta(days=7),
        status="scheduled",
        opens_at=now + timedelta(days=5),
        due_at=now + timedelta(days=6),
    )
    client.force_login(staff)
    page = client.get(reverse("audits:mine")).content.decode()
    assert "Overdue by 3 h" in page
    assert "Opens in 4 days 23 h" in page
    assert page.index("Overdue by 3 h") < page.index("Opens in")
    assert f'action="{reverse("audits:start", args=[later.pk])}"' not in page


def test_start_creates_the_draft_on_the_published_version_and_a_second_start_resumes_it(
    client, staff, occurrence, template
):
    client.force_login(staff)
    first = client.post(reverse("audits:start", args=[occurrence.pk]))
    audit = Audit.objects.get(occurrence=occurrence)
    assert first.status_code == 302 and first.url == reverse("audits:audit", args=[audit.pk])
    assert audit.template == template and audit.auditor == staff and audit.status == AuditStatus.DRAFT
    # A new version published afterwards does not change the draft's version.
    template_publish(template_new_version(template))
    again = client.post(reverse("audits:start", args=[occurrence.pk]))
    assert again.url == reverse("audits:audit", args=[audit.pk])
    assert Audit.objects.filter(occurrence=occurrence).count() == 1
    assert Audit.objects.get(pk=audit.pk).template == template


def test_the_form_renders_sections_questions_and_the_logic(client, draft, template):
    response = client.get(reverse("audits:audit", args=[draft.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "0 of 3 answered" in page  # greet, wait, tidy; "why" waits for a "no"
    assert page.count("<details") == 2
    assert "Standard: at most (≤) 5 minutes" in page
    why = template.q["why"]
    assert f'id="question-{why.pk}"' in page
    assert "All answers saved" in page


def test_an_answer_is_saved_with_progress_and_a_resend_is_stored_once(client, draft, template):
    greet = template.q["greet"]
    first = save(client, draft, greet, value="no")
    assert first.status_code == 200
    # "no" shows the follow-up: four questions asked, one answered.
    assert first.json() == {"question": greet.pk, "saved": {"value": "no"}, "answered": 1, "total": 4}
    resent = save(client, draft, greet, value="no")
    assert resent.json()["answered"] == 1
    assert Answer.objects.filter(audit=draft, question=greet).count() == 1
    note = save(client, draft, template.q["wait"], value="7", note="Six people in the queue")
    assert note.json()["saved"] == {"value": "7", "note": "Six people in the queue"}
    assert note.json()["answered"] == 2
    stored = Answer.objects.get(audit=draft, question=template.q["wait"])
    assert (stored.value, stored.note) == ("7", "Six people in the queue")
    # Resuming later shows the stored answers.
    page = client.get(reverse("audits:audit", args=[draft.pk])).content.decode()
    assert "2 of 4 answered" in page and "Six people in the queue" in page


def test_a_wrong_answer_is_refused_naming_the_field(client, draft, template):
    refused = save(client, draft, template.q["greet"], value="maybe")
    assert refused.status_code == 400
    assert refused.json() == {"error": "value: Answer yes or no.", "field": "value"}
    number = save(client, draft, template.q["wait"], value="soon")
    assert number.json()["error"] == "value: Enter a number, e.g. 12.5."
    assert save(client, draft, template.q["wait"], value="x" * 301).json()["field"] == "value"
    other = store_template()
    stranger = save(client, draft, other.q["greet"], value="yes")
    assert stranger.status_code == 400 and stranger.json()["field"] == "question"
    assert not Answer.objects.filter(audit=draft).exists()


def test_submit_with_problems_shows_them_next_to_their_questions(client, draft, template):
    save(client, draft, template.q["greet"], value="yes")
    save(client, draft, template.q["wait"], value="9")
    save(client, draft, template.q["tidy"], value="fail")
    response = client.post(reverse("audits:submit", args=[draft.pk]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "2 things to fix" in page
    assert "This answer needs a note: say what you saw." in page
    assert "This answer needs a corrective action: what will be done, by whom." in page
    # Both sections hold a problem, so both are opened.
    assert page.count('<details class="card mb-3 audit-section" data-section') == 2
    assert page.count(" open>") == 2
    draft.refresh_from_db()
    assert draft.status == AuditStatus.DRAFT and draft.evaluation is None


def test_submit_records_the_evaluation_observations_and_deviation(client, draft, template, occurrence):
    # Only a non-negotiable standard opens a deviation when it fails.
    wait_standard = template.q["wait"].standard
    wait_standard.non_negotiable, wait_standard.target_rate = True, 100
    wait_standard.save(update_fields=["non_negotiable", "target_rate"])
    save(client, draft, template.q["greet"], value="yes")
    save(client, draft, template.q["wait"], value="7", note="Six people in the queue")
    save(client, draft, template.q["tidy"], value="pass")
    response = client.post(reverse("audits:submit", args=[draft.pk]))
    assert response.status_code == 302 and response.url == reverse("audits:detail", args=[draft.pk])
    draft.refresh_from_db()
    occurrence.refresh_from_db()
    assert draft.status == AuditStatus.SUBMITTED and occurrence.status == "done"
    # Welcome: greet 1 × 2 + wait 0 × 1 (7 > 5 minutes) = 2 of 3 = 66.67 %; Till: tidy 1 of 1 = 100 %.
    # Audit: (66.667 + 100) ÷ 2 = 83.33 % ≥ 80, no critical question failed: passed.
    assert draft.evaluation.score == Decimal("83.33") and draft.evaluation.passed
    observations = Observation.objects.filter(evaluation=draft.evaluation)
    assert observations.count() == 3
    deviation = Deviation.objects.get(observation__evaluation=draft.evaluation)
    assert deviation.standard == template.q["wait"].standard
    page = client.get(response.url).content.decode()
    assert "Score 83.33 %" in page and "Passed" in page
    assert "66.67 %" in page and "100.00 %" in page
    assert "Pass mark: 80.00 %" in page
    assert reverse("evaluations:detail", args=[draft.evaluation.pk]) in page
    assert template.q["wait"].standard.code in page
    # The form of a submitted audit leads to its result; answers are refused.
    assert client.get(reverse("audits:audit", args=[draft.pk])).url == response.url
    assert save(client, draft, template.q["greet"], value="no").status_code == 403


def test_a_failed_audit_says_why(client, draft, template):
    save(client, draft, template.q["greet"], value="no")
    save(client, draft, template.q["why"], value="Busy on the phone")
    save(client, draft, template.q["wait"], value="3")
    save(client, draft, template.q["tidy"], value="pass")
    client.post(reverse("audits:submit", args=[draft.pk]))
    page = client.get(reverse("audits:detail", args=[draft.pk])).content.decode()
    # Welcome: greet 0 × 2 + wait 1 × 1 = 1 of 3 = 33.33 %; Till 100 %; audit 66.67 % < 80.
    assert "Score 66.67 %" in page and "Failed" in page
    assert "Critical question failed: “Greeted?”" in page
    assert "Score 66.67 % is under the pass mark of 80.00 %" in page


def test_outside_scope_everything_answers_404(client, draft, other_manager, occurrence, template):
    client.force_login(other_manager)
    assert client.get(reverse("audits:audit", args=[draft.pk])).status_code == 404
    assert save(client, draft, template.q["greet"], value="yes").status_code == 404
    assert client.post(reverse("audits:submit", args=[draft.pk])).status_code == 404
    assert client.get(reverse("audits:detail", args=[draft.pk])).status_code == 404
    assert client.post(reverse("audits:start", args=[occurrence.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("audits:mine")).status_code == 302


def test_a_manager_in_scope_reads_the_draft_but_does_not_change_it(client, draft, manager, template):
    client.force_login(manager)
    page = client.get(reverse("audits:audit", args=[draft.pk])).content.decode()
    assert "You are reading this draft" in page
    assert "Submit the audit" not in page
    refused = save(client, draft, template.q["greet"], value="yes")
    assert refused.status_code == 403
    assert refused.json()["error"] == "Only the auditor who started this audit changes its answers."
    client.post(reverse("audits:submit", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == AuditStatus.DRAFT and not Answer.objects.filter(audit=draft).exists()


def test_the_form_page_has_a_fixed_query_budget(client, draft, template, django_assert_max_num_queries):
    for key, value in (("greet", "no"), ("why", "Busy"), ("wait", "4"), ("tidy", "pass")):
        save(client, draft, template.q[key], value=value)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("audits:audit", args=[draft.pk]))
    assert response.status_code == 200


def test_my_audits_has_a_fixed_query_budget(
    client, staff, template, location_a, django_assert_max_num_queries
):
    schedule = ScheduleFactory(template=template, location=location_a)
    schedule.assigned_employees.add(employee_of(staff))
    today = timezone.localdate()
    for days in range(25):
        OccurrenceFactory(schedule=schedule, scheduled_for=today + timedelta(days=days))
    client.force_login(staff)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("audits:mine"))
    assert response.status_code == 200
    assert "Page 1 of 2" in response.content.decode()


def test_any_answer_posted_is_saved_or_refused_with_a_reason_never_a_server_error(client, draft, template):
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    from tests.test_api_properties import isolated

    ids = [str(q.pk) for q in template.q.values()]
    text = st.one_of(
        st.text(max_size=40),
        st.sampled_from(["yes", "no", "na", "pass", "fail", "1", "5", "good", "poor", "-1", "1e309", "\x00"]),
    )
    fields = st.fixed_dictionaries(
        {},
        optional={
            "question": st.one_of(st.sampled_from(ids), text),
            "value": text,
            "note": text,
            "action": text,
        },
    )

    @hypothesis_settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=fields)
    def run(data):
        with isolated():
            before = list(Answer.objects.order_by("pk").values_list("question_id", "value", "note", "action"))
            response = client.post(reverse("audits:answer", args=[draft.pk]), data)
            assert response.status_code in (200, 400), (data, response.status_code)
            body = response.json()
            if response.status_code == 400:
                assert body.get("error") or body.get("errors"), body
                after = list(
                    Answer.objects.order_by("pk").values_list("question_id", "value", "note", "action")
                )
                assert after == before, data

    run()
