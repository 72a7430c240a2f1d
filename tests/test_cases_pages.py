"""The case pages: the cases queue, the feedback inbox, one case with its steps, the complaint form.

Roles as in tests/conftest.py: `staff` works at location A, `manager` manages A, `other_manager`
manages B, `admin` sees everything.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseCategory, CaseEvent, CaseOrigin, CaseStatus, EventKind, Severity
from cases.selectors import duration_words
from cases.services.core import case_assign, case_open, case_transition, event_record
from organization.models import Role
from tests import factories

QUEUE = reverse("cases:queue")
INBOX = reverse("cases:feedback")
NEW = reverse("cases:new")


def _open(location, title, *, user=None, due_in=None, **fields) -> Case:
    """A case at `location`; `due_in` puts its acknowledgement deadline that far from now."""
    case = case_open(location=location, title=title, origin=CaseOrigin.PHONE, user=user, **fields)
    if due_in is not None:
        due = timezone.now() + due_in
        Case.objects.filter(pk=case.pk).update(acknowledge_due_at=due, resolve_due_at=due + timedelta(days=3))
        case.refresh_from_db()
    return case


def _text(response) -> str:
    """The page's words with the markup taken out and the spaces folded, for phrases that span tags."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --------------------------------------------------------------------------- the cases queue


@pytest.fixture
def cases(location_a, location_b, staff, manager, other_manager):
    """At A: one owned by the manager, one logged by staff, one handed from staff to the manager;
    at B: one of the other manager's."""
    return {
        "manager": _open(location_a, "Till queue too long", due_in=timedelta(hours=5)),
        "staff": _open(location_a, "Rude on the phone", logged_by=staff.employee, due_in=timedelta(hours=1)),
        "handed": case_assign(
            case=_open(location_a, "Lost parcel", logged_by=staff.employee),
            owner=manager.employee,
            user=staff,
        ),
        "other": _open(location_b, "Broken card reader"),
    }


def test_staff_see_the_cases_they_own_and_those_they_logged_only(client, staff, cases):
    client.force_login(staff)
    mine = _text(client.get(QUEUE))
    assert "Rude on the phone" in mine
    assert "Lost parcel" not in mine and "Till queue" not in mine and "Broken card reader" not in mine
    logged = _text(client.get(QUEUE, {"tab": "logged"}))
    assert "Rude on the phone" in logged and "Lost parcel" in logged
    assert "Till queue" not in logged
    # Another role's tab is not offered: the queue falls back on the first tab.
    assert "Till queue" not in _text(client.get(QUEUE, {"tab": "all"}))
    assert "My locations" not in mine


def test_a_manager_has_mine_teams_and_locations_tabs(client, manager, cases):
    client.force_login(manager)
    mine = _text(client.get(QUEUE))
    assert "Till queue too long" in mine and "Lost parcel" in mine
    assert "Rude on the phone" not in mine  # staff own it
    assert "My teams" in mine and "All 0" not in mine
    locations = _text(client.get(QUEUE, {"tab": "locations"}))
    assert "Rude on the phone" in locations and "Till queue" in locations
    assert "Broken card reader" not in locations


def test_a_team_managers_tab_lists_the_cases_of_the_teams_they_manage(client, manager, staff, location_a):
    team = staff.employee.team
    team.managers.add(manager)
    _open(location_a, "Case of the team", team=team)
    _open(location_a, "Case of no team")
    client.force_login(manager)
    page = _text(client.get(QUEUE, {"tab": "team"}))
    assert "Case of the team" in page and "Case of no team" not in page


def test_an_admin_sees_every_case_under_all(client, admin, cases):
    client.force_login(admin)
    page = _text(client.get(QUEUE, {"tab": "all"}))
    assert all(
        title in page for title in ("Till queue", "Rude on the phone", "Lost parcel", "Broken card reader")
    )


def test_open_cases_come_due_soonest_first_and_an_overdue_one_says_by_how_much(client, manager, location_a):
    _open(location_a, "Due tomorrow", due_in=timedelta(days=1))
    _open(location_a, "Overdue case", due_in=-timedelta(hours=3, minutes=10))
    _open(location_a, "No deadline at all")
    _open(location_a, "Due in two hours", due_in=timedelta(hours=2, minutes=5))
    client.force_login(manager)
    page = _text(client.get(QUEUE))
    order = [
        page.index(title) for title in ("Overdue case", "Due in two hours", "Due tomorrow", "No deadline")
    ]
    assert order == sorted(order)
    assert "Overdue by 3 h 10 min" in page or "Overdue by 3 h 9 min" in page
    assert "2 h 4 min left" in page or "2 h 5 min left" in page
    html = client.get(QUEUE).content.decode()
    assert html.count("case-card--breached") == 1


def test_an_acknowledged_case_runs_on_its_resolution_deadline(client, manager, location_a):
    case = _open(location_a, "Acknowledged late", due_in=-timedelta(hours=1))
    case_transition(case=case, to=CaseStatus.ACKNOWLEDGED, user=manager)
    client.force_login(manager)
    page = _text(client.get(QUEUE))
    # The acknowledgement deadline has passed but stopped running; the resolution one has days left.
    assert "Overdue by" not in page and "2 days 22 h" in page


def test_the_queue_filters_by_status_severity_location_category_and_breach(
    client, admin, location_a, location_b, manager
):
    waiting = CaseCategory.objects.create(name="Waiting time")
    _open(location_a, "Urgent at A", severity=Severity.URGENT, category=waiting, due_in=-timedelta(hours=1))
    _open(location_b, "Normal at B", due_in=timedelta(hours=4))
    closed = _open(location_a, "Closed at A")
    case_transition(case=closed, to=CaseStatus.RESOLVED, user=manager, summary="Refunded.")
    case_transition(case=closed, to=CaseStatus.CLOSED, user=manager)
    client.force_login(admin)

    def titles(**query) -> set[str]:
        page = _text(client.get(QUEUE, {"tab": "all", **query}))
        return {title for title in ("Urgent at A", "Normal at B", "Closed at A") if title in page}

    assert titles() == {"Urgent at A", "Normal at B"}
    assert titles(status="closed") == {"Closed at A"}
    assert titles(status="any") == {"Urgent at A", "Normal at B", "Closed at A"}
    assert titles(severity="urgent") == {"Urgent at A"}
    assert titles(location=location_b.code) == {"Normal at B"}
    assert titles(category=waiting.pk) == {"Urgent at A"}
    assert titles(breached="1") == {"Urgent at A"}


def test_a_location_outside_scope_or_a_bad_value_is_named_and_ignored(client, manager, location_b, cases):
    client.force_login(manager)
    response = client.get(QUEUE, {"tab": "locations", "location": location_b.code, "severity": "huge"})
    assert response.status_code == 200
    page = _text(response)
    assert "Broken card reader" not in page and "Till queue" in page
    assert page.count("Select a valid choice") == 2


def test_an_empty_queue_says_what_to_do_next(client, staff):
    client.force_login(staff)
    page = _text(client.get(QUEUE))
    assert "You have no open case" in page and "Log a complaint" in page
    filtered = _text(client.get(QUEUE, {"severity": "urgent"}))
    assert "No case matches these filters" in filtered


def test_the_queue_is_paginated(client, manager, location_a):
    for number in range(27):
        _open(location_a, f"Case number {number:02d}", due_in=timedelta(hours=number + 1))
    client.force_login(manager)
    first = _text(client.get(QUEUE))
    assert "Page 1 of 2" in first and "Case number 24" in first and "Case number 25" not in first
    second = _text(client.get(QUEUE, {"page": 2}))
    assert "Case number 25" in second and "Case number 26" in second


def test_duration_words():
    assert duration_words(timedelta(minutes=25)) == "25 min"
    assert duration_words(timedelta(hours=3)) == "3 h"
    assert duration_words(timedelta(hours=3, minutes=20)) == "3 h 20 min"
    assert duration_words(timedelta(days=2, hours=4, minutes=59)) == "2 days 4 h"
    assert duration_words(timedelta(days=1)) == "1 day"
    assert duration_words(timedelta(seconds=10)) == "1 min"


# --------------------------------------------------------------------------- the feedback inbox


@pytest.fixture
def answers(location_a, location_b):
    counter = factories.TouchpointFactory(name="Front counter", slug="front-counter")
    phone = factories.TouchpointFactory(name="Phone line", slug="phone-line")
    now = timezone.now()
    made = {
        "old_unhappy": factories.FeedbackFactory(
            location=location_a,
            touchpoint=counter,
            nps=2,
            csat=4,
            submitted_at=now - timedelta(days=40),
            comment="Waited forty minutes.",
        ),
        "happy_new": factories.FeedbackFactory(
            location=location_a,
            touchpoint=counter,
            nps=10,
            csat=5,
            submitted_at=now - timedelta(hours=1),
            comment="Lovely staff.",
        ),
        "low_csat": factories.FeedbackFactory(
            location=location_a,
            touchpoint=phone,
            nps=8,
            csat=1,
            submitted_at=now - timedelta(days=2),
            contact_consent=True,
            contact_name="Pat Jones",
            contact_email="pat@example.com",
        ),
        "passive": factories.FeedbackFactory(
            location=location_a,
            touchpoint=counter,
            nps=7,
            csat=3,
            submitted_at=now - timedelta(days=3),
            comment="Fine, I suppose.",
        ),
        "at_b": factories.FeedbackFactory(
            location=location_b,
            touchpoint=counter,
            nps=0,
            csat=1,
            comment="Awful at Beta.",
        ),
    }
    return made


def _order(page: str, *comments: str) -> list[int]:
    return [page.index(comment) for comment in comments]


def test_the_inbox_is_for_managers_and_lists_unhappy_answers_first(client, staff, manager, answers):
    client.force_login(staff)
    assert client.get(INBOX).status_code == 403
    client.force_login(manager)
    page = _text(client.get(INBOX))
    assert "Awful at Beta" not in page
    # Unhappy (the low CSAT two days old, then the detractor forty days old), then the rest newest first.
    positions = _order(page, "Pat Jones", "Waited forty minutes", "Lovely staff", "Fine, I suppose")
    assert positions == sorted(positions)
    assert "NPS 2 out of 10 · detractor" in page and "Phone line at Alpha Street" in page
    assert "Web form" in page


def test_the_inbox_filters(client, manager, answers, location_a):
    client.force_login(manager)
    _open(location_a, "Case for the detractor", feedback=answers["old_unhappy"])

    def shown(**query) -> set[str]:
        page = _text(client.get(INBOX, query))
        found = {
            "old_unhappy": "Waited forty minutes" in page,
            "happy_new": "Lovely staff" in page,
            "low_csat": "Pat Jones" in page,
            "passive": "Fine, I suppose" in page,
        }
        return {key for key, there in found.items() if there}

    assert shown(band="detractors") == {"old_unhappy"}
    assert shown(band="passives") == {"low_csat", "passive"}
    assert shown(band="promoters") == {"happy_new"}
    assert shown(band="low_csat") == {"low_csat"}
    assert shown(with_comment="on") == {"old_unhappy", "happy_new", "passive"}
    assert shown(contact="on") == {"low_csat"}
    assert shown(case="with") == {"old_unhappy"}
    assert shown(case="without") == {"happy_new", "low_csat", "passive"}
    assert shown(period="30") == {"happy_new", "low_csat", "passive"}
    assert shown(touchpoint="phone-line") == {"low_csat"}
    assert shown(location=location_a.code, period="7", band="promoters") == {"happy_new"}


def test_each_answer_links_to_its_case_or_offers_to_open_one(client, manager, answers, location_a):
    case = _open(location_a, "Already a case", feedback=answers["old_unhappy"])
    client.force_login(manager)
    html = client.get(INBOX).content.decode()
    assert reverse("cases:detail", args=[case.pk]) in html
    assert reverse("cases:feedback-open", args=[answers["old_unhappy"].pk]) not in html
    assert reverse("cases:feedback-open", args=[answers["happy_new"].pk]) in html


def test_opening_a_case_from_an_answer_leads_to_it_and_a_second_click_to_the_same_case(
    client, manager, answers
):
    client.force_login(manager)
    url = reverse("cases:feedback-open", args=[answers["low_csat"].pk])
    response = client.post(url, {"severity": "high"})
    case = Case.objects.get(feedback=answers["low_csat"])
    assert response.status_code == 302 and response.url == reverse("cases:detail", args=[case.pk])
    assert case.severity == Severity.HIGH and case.owner == manager.employee
    assert case.contact_email == "pat@example.com"
    assert f"Case {case.reference} opened" in _messages(response)[0]
    again = client.post(url, {"severity": "low"})
    assert again.url == response.url and Case.objects.filter(feedback=answers["low_csat"]).count() == 1
    assert "already has case" in _messages(again)[-1]


def test_opening_a_case_refuses_a_bad_severity_and_an_answer_outside_scope(client, manager, answers):
    client.force_login(manager)
    refused = client.post(reverse("cases:feedback-open", args=[answers["passive"].pk]), {"severity": "huge"})
    assert refused.status_code == 302 and not Case.objects.exists()
    assert "choose the severity" in _messages(refused)[0]
    outside = client.post(reverse("cases:feedback-open", args=[answers["at_b"].pk]), {"severity": "normal"})
    assert outside.status_code == 404 and not Case.objects.exists()


def test_the_inbox_is_paginated(client, manager, location_a):
    touchpoint = factories.TouchpointFactory()
    for number in range(26):
        factories.FeedbackFactory(
            location=location_a,
            touchpoint=touchpoint,
            comment=f"Answer {number:02d}",
            submitted_at=timezone.now() - timedelta(minutes=number),
        )
    client.force_login(manager)
    first = _text(client.get(INBOX))
    assert "Page 1 of 2" in first and "Answer 24" in first and "Answer 25" not in first
    assert "Answer 25" in _text(client.get(INBOX, {"page": 2}))


# --------------------------------------------------------------------------- one case


@pytest.fixture
def complaint(location_a, staff):
    """A complaint staff logged with the customer's consent and details."""
    case = _open(
        location_a,
        "Charged twice",
        user=staff,
        logged_by=staff.employee,
        contact_consent=True,
        contact_name="Robin Hill",
        contact_email="robin@example.com",
        contact_phone="0161 496 0000",
        due_in=timedelta(hours=2),
    )
    return case


def detail(case) -> str:
    return reverse("cases:detail", args=[case.pk])


def test_the_case_page_shows_its_header_deadlines_and_timeline(client, manager, complaint):
    event_record(case=complaint, kind=EventKind.NOTE, user=manager, text="Checked the till roll.")
    event_record(
        case=complaint,
        kind=EventKind.MESSAGE,
        user=manager,
        text="We are refunding you.",
        recipient="robin@example.com",
    )
    client.force_login(manager)
    response = client.get(detail(complaint))
    page = _text(response)
    assert complaint.reference in page and "New" in page and "Normal severity" in page
    assert "Acknowledge by" in page and re.search(r"1 h 5\d min left", page)
    assert "Owner " + complaint.owner.full_name in page
    html = response.content.decode()
    assert 'class="case-event case-event--note"' in html and 'class="case-event case-event--message"' in html
    assert "Internal note" in page and "Message to the customer" in page and "We are refunding you." in page


def test_an_overdue_case_says_by_how_much_in_red(client, manager, location_a):
    case = _open(location_a, "Late one", due_in=-timedelta(hours=3, minutes=2))
    client.force_login(manager)
    response = client.get(detail(case))
    assert re.search(r"overdue by 3 h \d min", _text(response))
    assert "case-due--breached" in response.content.decode()


def test_contact_details_only_for_the_owner_and_managers_in_scope(client, staff, manager, admin, complaint):
    for user in (staff, manager, admin):  # staff own it: they logged it
        client.force_login(user)
        assert "robin@example.com" in client.get(detail(complaint)).content.decode(), user
    case_assign(case=complaint, owner=manager.employee, user=staff)
    client.force_login(staff)
    page = _text(client.get(detail(complaint)))  # logged it, still sees it, no longer owns it
    assert "robin@example.com" not in page and "0161 496 0000" not in page and "Robin Hill" not in page
    assert "their details are shown to the case's owner" in page


def test_a_case_outside_scope_answers_404(client, other_manager, staff, manager, complaint, location_a):
    client.force_login(other_manager)
    assert client.get(detail(complaint)).status_code == 404
    assert client.post(reverse("cases:note", args=[complaint.pk]), {"text": "Hi"}).status_code == 404
    assert (
        client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "acknowledge"}).status_code
        == 404
    )
    not_hers = _open(location_a, "Manager's own")
    client.force_login(staff)
    assert client.get(detail(not_hers)).status_code == 404


def test_a_manager_acknowledges_starts_work_and_the_steps_follow_the_status(client, manager, complaint):
    client.force_login(manager)
    page = _text(client.get(detail(complaint)))
    assert "Acknowledge" in page and "Start work" in page and "Reopen the case" not in page
    response = client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "acknowledge"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.ACKNOWLEDGED and complaint.acknowledged_at is not None
    assert f"Case {complaint.reference} is now acknowledged." in _messages(response)
    client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "start"})
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.IN_PROGRESS
    assert list(complaint.events.values_list("kind", flat=True)) == ["opened", "status", "status"]


def test_a_refused_step_shows_the_services_words_and_changes_nothing(client, manager, complaint):
    client.force_login(manager)
    response = client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "close"}, follow=True)
    assert response.status_code == 200
    assert "A case that is new cannot become closed." in _text(response)
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.NEW and complaint.events.count() == 1
    junk = client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "explode"}, follow=True)
    assert "choose one of the steps" in _text(junk)


def test_someone_in_scope_who_may_not_manage_it_is_told_so(client, staff, manager, complaint):
    case_assign(case=complaint, owner=manager.employee, user=staff)
    client.force_login(staff)
    page = _text(client.get(detail(complaint)))
    assert "Start work" not in page and "Hand over" not in page and "Add an internal note" in page
    response = client.post(
        reverse("cases:transition", args=[complaint.pk]), {"step": "acknowledge"}, follow=True
    )
    assert (
        "Nothing was changed: Only the case's owner or a manager of Alpha Street (AAA-01) may change it."
        in _text(response)
    )
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.NEW


def test_closing_and_reopening_needs_a_reason(client, manager, complaint):
    case_transition(
        case=complaint, to=CaseStatus.RESOLVED, user=manager, summary="Refunded the second charge."
    )
    client.force_login(manager)
    client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "close"})
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.CLOSED
    refused = client.post(reverse("cases:transition", args=[complaint.pk]), {"step": "reopen", "note": " "})
    assert refused.status_code == 200
    assert "Say why the case is reopened" in _text(refused)
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.CLOSED
    client.post(
        reverse("cases:transition", args=[complaint.pk]), {"step": "reopen", "note": "Charged a third time."}
    )
    complaint.refresh_from_db()
    assert complaint.status == CaseStatus.REOPENED
    assert complaint.events.last().text == "Charged a third time."


def test_a_case_is_handed_over_to_a_colleague_at_its_location_only(
    client, manager, staff, other_manager, complaint, location_a
):
    colleague = factories.EmployeeFactory(location=location_a, role=Role.STAFF, user__first_name="Kim")
    client.force_login(manager)
    page = client.get(detail(complaint)).content.decode()
    assert colleague.full_name in page and other_manager.employee.full_name not in page
    refused = client.post(reverse("cases:assign", args=[complaint.pk]), {"owner": other_manager.employee.pk})
    assert refused.status_code == 200
    assert "Choose someone who works at the case's location" in _text(refused)
    complaint.refresh_from_db()
    assert complaint.owner == staff.employee
    response = client.post(
        reverse("cases:assign", args=[complaint.pk]), {"owner": colleague.pk, "note": "Kim knows the till."}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.owner == colleague
    assert f"handed over to {colleague.full_name}" in _messages(response)[0]
    assert complaint.events.last().kind == EventKind.ASSIGNED


def test_anyone_in_scope_adds_an_internal_note_and_an_empty_one_is_refused(client, staff, manager, complaint):
    case_assign(case=complaint, owner=manager.employee, user=staff)
    client.force_login(staff)
    refused = client.post(reverse("cases:note", args=[complaint.pk]), {"text": "  "})
    assert refused.status_code == 200 and "Write the note before adding it." in _text(refused)
    assert not complaint.events.filter(kind=EventKind.NOTE).exists()
    response = client.post(reverse("cases:note", args=[complaint.pk]), {"text": "Customer called back."})
    assert response.status_code == 302
    note = CaseEvent.objects.get(case=complaint, kind=EventKind.NOTE)
    assert note.text == "Customer called back." and note.actor == staff


# --------------------------------------------------------------------------- log a complaint


def _complaint(location, **changes) -> dict:
    return {
        "location": location.pk,
        "origin": CaseOrigin.PHONE,
        "severity": Severity.NORMAL,
        "description": "Charged twice for one coffee\nThe card reader took two payments.",
        **changes,
    }


def test_staff_log_a_complaint_and_own_it(client, staff, location_a):
    client.force_login(staff)
    form = client.get(NEW)
    assert form.status_code == 200
    html = form.content.decode()
    assert f'<option value="{location_a.pk}" selected>' in html
    assert 'value="normal"' in html and "checked" in html
    response = client.post(NEW, _complaint(location_a))
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("cases:detail", args=[case.pk])
    assert _messages(response) == [
        f"Complaint logged as case {case.reference}. You own it until you hand it over."
    ]
    assert case.owner == staff.employee and case.logged_by == staff.employee
    assert case.location == location_a and case.team == staff.employee.team
    assert case.title == "Charged twice for one coffee" and case.origin == CaseOrigin.PHONE
    assert not case.contact_consent and case.events.get().actor == staff


def test_customer_details_need_consent_with_the_message_on_the_field(client, staff, location_a):
    client.force_login(staff)
    response = client.post(
        NEW, _complaint(location_a, contact_email="robin@example.com", contact_name="Robin")
    )
    assert response.status_code == 200 and not Case.objects.exists()
    page = _text(response)
    assert "without their consent, leave their details out" in page
    assert 'value="robin@example.com"' in response.content.decode()  # what was typed is kept
    client.post(NEW, _complaint(location_a, contact_email="robin@example.com", contact_consent="on"))
    assert Case.objects.get().contact_email == "robin@example.com"


def test_bad_complaints_name_their_fields(client, staff, location_a, location_b):
    client.force_login(staff)
    page = _text(
        client.post(NEW, {"origin": "pigeon", "severity": "", "description": "", "location": location_b.pk})
    )
    assert "How did it reach you?: Select a valid choice" in page
    assert "Severity: Choose how serious it is." in page
    assert "What happened: Say what happened" in page
    assert "Location: Choose your own location or one you manage." in page
    assert "Customer's email address" in page
    bad_email = _text(
        client.post(NEW, _complaint(location_a, contact_email="not-an-address", contact_consent="on"))
    )
    assert "Customer's email address: Enter a valid email address." in bad_email
    assert not Case.objects.exists()


def test_a_long_first_line_is_cut_into_the_title(client, manager, location_a):
    client.force_login(manager)
    client.post(NEW, _complaint(location_a, description="word " * 60))
    case = Case.objects.get()
    assert len(case.title) <= 160 and case.title.endswith("…")
    assert case.owner == manager.employee


def test_an_admin_without_a_profile_cannot_log_a_complaint(client, db):
    client.force_login(factories.UserFactory(username="root", is_superuser=True))
    assert client.get(NEW).status_code == 403


# --------------------------------------------------------------------------- what a visitor can type

HOSTILE = ("\x00", "99999999999999999999999999", "-1", "x" * 3000, "é", "[]", "2026-02-30")
PARAMETERS = (
    "tab",
    "status",
    "severity",
    "location",
    "category",
    "breached",
    "page",
    "touchpoint",
    "period",
    "band",
    "case",
    "with_comment",
    "contact",
)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda value: repr(value[:12]))
def test_no_case_page_answers_500_to_what_is_typed_into_its_address(client, admin, complaint, answers, value):
    client.force_login(admin)
    for path in (QUEUE, INBOX, NEW, detail(complaint)):
        response = client.get(path, dict.fromkeys(PARAMETERS, value))
        assert response.status_code == 200, (path, response.status_code)
