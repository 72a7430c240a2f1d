"""Closing the loop on a case: the reply to the customer (sent once), the resolution with its gap
action and published improvement, and the follow-up survey the customer answers once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseOrigin, CaseStatus, EventKind
from cases.services.core import case_assign, case_open, case_transition
from cases.services.loop import (
    NewAction,
    case_follow_up_answer,
    case_reply_send,
    case_resolve,
)
from gap_analysis.models import ActionItem, ActionStatus
from measurement.models import Feedback
from tests import factories
from tests.concurrency import run_overlapping

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # The rate limit counts in the cache, which outlives a test's database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def touchpoint(location_a):
    tp = factories.TouchpointFactory(name="Checkout", slug="checkout")
    tp.locations.add(location_a)
    return tp


def _complaint(location, user, **fields):
    values = {
        "title": "Charged twice at the till",
        "origin": CaseOrigin.PHONE,
        "contact_name": "Dana Whitfield",
        "contact_email": "dana@example.org",
        "contact_consent": True,
    }
    values.update(fields)
    return case_open(location=location, user=user, **values)


@pytest.fixture
def case(location_a, manager, touchpoint):
    return _complaint(location_a, manager, touchpoint=touchpoint)


def _reply(case, user, key="form-1", message="We have refunded the second charge today."):
    return case_reply_send(case=case, user=user, message=message, key=key)


# --------------------------------------------------------------------------- reply


def test_a_reply_is_emailed_signed_by_the_owner_and_kept_on_the_timeline(
    case, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = _reply(case, manager, message="We are sorry.\nThe second charge is refunded.")
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["dana@example.org"]
    assert case.reference in email.subject
    owner = manager.employee
    body = email.body
    assert body.startswith("Dear Dana Whitfield,")
    assert "The second charge is refunded." in body
    assert f"Your case reference: {case.reference}" in body
    assert f"{owner.full_name}\nAlpha Street" in body
    html = email.alternatives[0][0]
    assert "We are sorry.<br>The second charge is refunded." in html and case.reference in html
    assert email.reply_to == [manager.email]
    assert event.kind == EventKind.MESSAGE and event.recipient == "dana@example.org"
    assert event.actor == manager and event.text.startswith("We are sorry.")


def test_the_same_form_sent_twice_sends_one_email(case, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _reply(case, manager, key="same")
    with django_capture_on_commit_callbacks(execute=True):
        second = _reply(case, manager, key="same")
    assert first.pk == second.pk
    assert len(mail.outbox) == 1
    assert case.events.filter(kind=EventKind.MESSAGE).count() == 1
    # A new form is a new reply.
    with django_capture_on_commit_callbacks(execute=True):
        _reply(case, manager, key="another", message="One more thing.")
    assert len(mail.outbox) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_the_same_key_at_once_send_one_email(location_a):
    manager = factories.EmployeeFactory(role="manager", location=location_a)
    manager.managed_locations.add(location_a)
    case = _complaint(location_a, manager.user)

    results, errors = run_overlapping(
        lambda: _reply(Case.objects.get(pk=case.pk), manager.user, key="double")
    )
    assert not errors
    assert results["first"].pk == results["second"].pk
    assert len(mail.outbox) == 1
    assert case.events.filter(kind=EventKind.MESSAGE).count() == 1
    # The first reply acknowledged the case once.
    assert case.events.filter(kind=EventKind.STATUS, to_status=CaseStatus.ACKNOWLEDGED).count() == 1


def test_a_first_reply_acknowledges_a_new_case_and_later_ones_do_not_move_it(case, manager):
    assert case.status == CaseStatus.NEW
    _reply(case, manager, key="one")
    case.refresh_from_db()
    assert case.status == CaseStatus.ACKNOWLEDGED and case.acknowledged_at is not None
    first_ack = case.acknowledged_at
    _reply(case, manager, key="two")
    case.refresh_from_db()
    assert case.status == CaseStatus.ACKNOWLEDGED and case.acknowledged_at == first_ack
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == [EventKind.OPENED, EventKind.STATUS, EventKind.MESSAGE, EventKind.MESSAGE]


def test_a_reply_to_a_case_in_progress_leaves_its_status(case, manager):
    case_transition(case=case, to=CaseStatus.IN_PROGRESS, user=manager)
    _reply(case, manager)
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS


def test_no_reply_without_consent_or_without_an_email_address(location_a, manager):
    anonymous = case_open(location=location_a, user=manager, title="Rude staff", origin=CaseOrigin.LETTER)
    with pytest.raises(ValidationError) as refused:
        _reply(anonymous, manager)
    assert "did not agree to be contacted" in str(refused.value)
    assert "contact_email" in refused.value.message_dict

    phone_only = _complaint(location_a, manager, contact_email="", contact_phone="+44 20 7946 0000")
    with pytest.raises(ValidationError, match="no email address"):
        _reply(phone_only, manager)
    assert not mail.outbox
    assert not anonymous.events.filter(kind=EventKind.MESSAGE).exists()
    anonymous.refresh_from_db()
    assert anonymous.status == CaseStatus.NEW


def test_an_empty_message_or_a_missing_key_is_refused_by_name(case, manager):
    with pytest.raises(ValidationError) as empty:
        _reply(case, manager, message="   ")
    assert "message" in empty.value.message_dict
    with pytest.raises(ValidationError) as keyless:
        _reply(case, manager, key="")
    assert "key" in keyless.value.message_dict
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def test_staff_who_do_not_own_the_case_and_other_managers_cannot_reply(case, staff, other_manager):
    for user in (staff, other_manager):
        with pytest.raises(PermissionDenied):
            _reply(case, user)
    assert not mail.outbox


def test_staff_who_own_the_case_may_reply_signed_with_their_name(
    case, manager, staff, django_capture_on_commit_callbacks
):
    case_assign(case=case, owner=staff.employee, user=manager)
    with django_capture_on_commit_callbacks(execute=True):
        _reply(case, staff)
    assert staff.employee.full_name in mail.outbox[0].body


def test_the_reply_form_sends_once_and_says_so(client, case, manager, django_capture_on_commit_callbacks):
    client.force_login(manager)
    url = reverse("cases:reply", args=[case.pk])
    data = {"message": "Refunded today.", "key": "k-123"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, data, follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, data, follow=True)
    assert first.redirect_chain[0] == (reverse("cases:detail", args=[case.pk]), 302)
    assert "Reply sent to dana@example.org" in first.content.decode()
    assert again.status_code == 200
    assert len(mail.outbox) == 1


def test_the_reply_form_names_the_field_it_refuses(client, case, manager):
    client.force_login(manager)
    response = client.post(reverse("cases:reply", args=[case.pk]), {"message": "", "key": "k"}, follow=True)
    assert (
        "The reply was not sent. Message: Write the message before sending it." in response.content.decode()
    )
    assert not mail.outbox


def test_the_case_page_offers_a_reply_only_when_the_customer_can_be_written_to(
    client, location_a, manager, case
):
    client.force_login(manager)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'action="{}"'.format(reverse("cases:reply", args=[case.pk])) in page
    assert 'name="key"' in page
    anonymous = case_open(location=location_a, user=manager, title="Rude staff", origin=CaseOrigin.LETTER)
    page = client.get(reverse("cases:detail", args=[anonymous.pk])).content.decode()
    assert reverse("cases:reply", args=[anonymous.pk]) not in page
    assert "The customer did not agree to be contacted, so no reply can be sent." in page


# --------------------------------------------------------------------------- resolve


def test_resolving_links_an_existing_action_at_the_location(case, manager, location_a):
    action = factories.ActionItemFactory(
        location=location_a, rating__assessment__location=location_a, owner=manager
    )
    resolved = case_resolve(case=case, user=manager, summary="Refunded and apologised.", action=action)
    assert resolved.status == CaseStatus.RESOLVED and resolved.action == action
    linked = resolved.events.get(kind=EventKind.LINKED_ACTION)
    assert action.title in linked.text


def test_an_action_of_another_location_cannot_be_linked(case, manager, location_b, other_manager):
    elsewhere = factories.ActionItemFactory(
        location=location_b, rating__assessment__location=location_b, owner=other_manager
    )
    with pytest.raises(ValidationError) as refused:
        case_resolve(case=case, user=manager, summary="Refunded.", action=elsewhere)
    assert "action" in refused.value.message_dict
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW and case.action is None


def test_resolving_opens_a_new_action_from_the_complaint(case, manager, touchpoint):
    due = timezone.localdate() + timedelta(days=14)
    resolved = case_resolve(
        case=case,
        user=manager,
        summary="Refunded the double charge.",
        new_action=NewAction(title="Fix the card reader's double charge", due_on=due),
    )
    action = resolved.action
    assert action.complaint == case.reference
    assert action.touchpoint == touchpoint and action.location == case.location
    assert action.owner == manager and action.due_on == due
    assert action.status == ActionStatus.OPEN and not action.published
    assert action.rating is None and action.feedback is None


def test_a_case_from_feedback_gives_its_action_the_feedback_as_source(location_a, manager, touchpoint):
    feedback = factories.FeedbackFactory(location=location_a, touchpoint=touchpoint, nps=2)
    case = case_open(
        location=location_a, user=manager, title="Detractor", origin=CaseOrigin.FEEDBACK, feedback=feedback
    )
    resolved = case_resolve(
        case=case,
        user=manager,
        summary="Called back.",
        new_action=NewAction(title="Shorter queues", due_on=timezone.localdate()),
    )
    assert resolved.action.feedback == feedback and resolved.action.complaint == case.reference


def test_a_published_improvement_shows_on_the_public_page_the_same_day(client, case, manager):
    summary = "You said you were charged twice; we replaced the card reader at the checkout."
    resolved = case_resolve(
        case=case,
        user=manager,
        summary="Refunded; reader replaced.",
        new_action=NewAction(
            title="Replace the card reader", due_on=None, customer_summary=summary, publish=True
        ),
    )
    action = resolved.action
    today = timezone.localdate()
    assert action.status == ActionStatus.DONE and action.closed_on == today
    assert action.published and action.published_on == today
    assert action.closure_note == "Refunded; reader replaced."
    page = client.get(reverse("improvements")).content.decode()
    assert summary in page
    # The complaint's touchpoint and location are shown with it.
    assert "Alpha Street · Checkout" in page
    assert (
        "published on the “you said, we did” page" in resolved.events.get(kind=EventKind.LINKED_ACTION).text
    )


def test_publishing_needs_the_customer_summary_and_nothing_is_half_done(case, manager):
    with pytest.raises(ValidationError) as refused:
        case_resolve(
            case=case,
            user=manager,
            summary="Refunded.",
            new_action=NewAction(title="Replace the reader", due_on=None, publish=True),
        )
    assert "new_action_customer_summary" in refused.value.message_dict
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert not ActionItem.objects.exists()


def test_a_new_action_without_a_title_or_due_date_is_refused_by_field(case, manager):
    with pytest.raises(ValidationError) as refused:
        case_resolve(
            case=case, user=manager, summary="Refunded.", new_action=NewAction(title="", due_on=None)
        )
    assert {"new_action_title", "new_action_due_on"} <= set(refused.value.message_dict)


def test_staff_owning_a_case_may_resolve_it_but_not_open_a_gap_action(case, manager, staff):
    case_assign(case=case, owner=staff.employee, user=manager)
    with pytest.raises(PermissionDenied):
        case_resolve(
            case=case,
            user=staff,
            summary="Refunded.",
            new_action=NewAction(title="Replace the reader", due_on=timezone.localdate()),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case_resolve(case=case, user=staff, summary="Refunded.").status == CaseStatus.RESOLVED


def test_the_resolve_form_publishes_and_the_customer_reads_it(client, case, manager):
    client.force_login(manager)
    summary = "You said the till charged you twice; we replaced the card reader."
    response = client.post(
        reverse("cases:resolve", args=[case.pk]),
        {
            "summary": "Refunded the second charge.",
            "action_choice": "new",
            "new_action_title": "Replace the card reader",
            "new_action_due_on": "",
            "new_action_customer_summary": summary,
            "new_action_publish": "1",
        },
        follow=True,
    )
    body = response.content.decode()
    assert f"Case {case.reference} resolved." in body and "published on “You said, we did”" in body
    client.logout()
    assert summary in client.get(reverse("improvements")).content.decode()


def test_the_resolve_form_explains_a_bad_date_and_a_missing_choice(client, case, manager):
    client.force_login(manager)
    url = reverse("cases:resolve", args=[case.pk])
    bad_date = client.post(
        url,
        {
            "summary": "Refunded.",
            "action_choice": "new",
            "new_action_title": "T",
            "new_action_due_on": "31/02/2026",
        },
        follow=True,
    ).content.decode()
    assert "New action&#x27;s due date: Give the due date as a date" in bad_date
    no_action = client.post(url, {"summary": "Refunded.", "action_choice": "existing"}, follow=True)
    assert "Gap action: Choose one of the actions at" in no_action.content.decode()
    no_summary = client.post(url, {"summary": "", "action_choice": "none"}, follow=True)
    assert "What was done for the customer: Say what was done" in no_summary.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def test_the_resolve_form_lists_only_actions_at_the_cases_location(
    client, case, manager, location_a, location_b, other_manager
):
    here = factories.ActionItemFactory(
        location=location_a, rating__assessment__location=location_a, owner=manager, title="Train the tills"
    )
    factories.ActionItemFactory(
        location=location_b, rating__assessment__location=location_b, owner=other_manager, title="Elsewhere"
    )
    client.force_login(manager)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f'<option value="{here.pk}">Train the tills' in page
    assert "Elsewhere" not in page


# --------------------------------------------------------------------------- follow-up


def _resolve_with_follow_up(case, manager, capture):
    with capture(execute=True):
        resolved = case_resolve(
            case=case, user=manager, summary="Refunded the second charge.", link_base=SITE
        )
    return resolved


def test_resolving_emails_the_customer_a_follow_up_link(case, manager, django_capture_on_commit_callbacks):
    resolved = _resolve_with_follow_up(case, manager, django_capture_on_commit_callbacks)
    assert len(resolved.follow_up_token) >= 40 and resolved.follow_up_sent_at is not None
    (email,) = mail.outbox
    assert email.to == ["dana@example.org"]
    link = SITE + reverse("case-follow-up", args=[resolved.follow_up_token])
    assert link in email.body and f'href="{link}"' in email.alternatives[0][0]
    assert "Refunded the second charge." in email.body


def test_no_follow_up_without_consent(location_a, manager, django_capture_on_commit_callbacks):
    case = case_open(location=location_a, user=manager, title="Rude staff", origin=CaseOrigin.LETTER)
    resolved = _resolve_with_follow_up(case, manager, django_capture_on_commit_callbacks)
    assert resolved.follow_up_token is None and not mail.outbox


def test_the_follow_up_is_answered_once_and_a_happy_answer_means_recovered(
    client, case, manager, django_capture_on_commit_callbacks
):
    resolved = _resolve_with_follow_up(case, manager, django_capture_on_commit_callbacks)
    url = reverse("case-follow-up", args=[resolved.follow_up_token])
    page = client.get(url)
    assert page.status_code == 200
    assert "How satisfied are you with how we handled it?" in page.content.decode()
    feedback_before = Feedback.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        answered = client.post(url, {"csat": "5", "comment": "Quick and kind."})
    assert answered.status_code == 200 and "Thank you" in answered.content.decode()
    case.refresh_from_db()
    assert case.follow_up_csat == 5 and case.follow_up_comment == "Quick and kind."
    assert case.recovered is True and case.follow_up_answered_at is not None
    event = case.events.get(kind=EventKind.FOLLOW_UP)
    assert "Satisfaction 5/5" in event.text and "Quick and kind." in event.text
    # Not a touchpoint rating, and nobody is alarmed by a happy answer.
    assert Feedback.objects.count() == feedback_before
    assert len(mail.outbox) == 1

    again = client.post(url, {"csat": "1", "comment": "Changed my mind"})
    assert "You have already answered" in again.content.decode()
    assert "You have already answered" in client.get(url).content.decode()
    case.refresh_from_db()
    assert case.follow_up_csat == 5 and case.events.filter(kind=EventKind.FOLLOW_UP).count() == 1


def test_an_unhappy_answer_is_on_the_case_and_emailed_to_the_owner(
    client, case, manager, django_capture_on_commit_callbacks
):
    resolved = _resolve_with_follow_up(case, manager, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("case-follow-up", args=[resolved.follow_up_token]), {"csat": "2", "comment": "Slow."}
        )
    case.refresh_from_db()
    assert case.recovered is False and case.follow_up_csat == 2
    assert "not recovered" in case.events.get(kind=EventKind.FOLLOW_UP).text
    owner_email = mail.outbox[-1]
    assert owner_email.to == [manager.email]
    assert case.reference in owner_email.subject and "2/5" in owner_email.subject
    assert "Slow." in owner_email.body
    client.force_login(manager)
    detail = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Satisfaction 2/5 with how the case was handled (not recovered" in detail


@pytest.mark.parametrize("csat", [3, 4])
def test_recovered_means_four_or_more(case, manager, csat):
    resolved = case_resolve(case=case, user=manager, summary="Refunded.")
    answered, first = case_follow_up_answer(case=resolved, csat=csat)
    assert first and answered.recovered is (csat >= 4)


def test_the_follow_up_needs_an_answer_between_one_and_five(
    client, case, manager, django_capture_on_commit_callbacks
):
    resolved = _resolve_with_follow_up(case, manager, django_capture_on_commit_callbacks)
    url = reverse("case-follow-up", args=[resolved.follow_up_token])
    for data in ({"comment": "no score"}, {"csat": "9"}, {"csat": "x"}):
        response = client.post(url, data)
        assert response.status_code == 200
        assert "Please check your answer" in response.content.decode()
    case.refresh_from_db()
    assert case.follow_up_answered_at is None
    with pytest.raises(ValidationError):
        case_follow_up_answer(case=case, csat=0)


@pytest.mark.parametrize("token", ["nope", "x" * 64, "x" * 300, "%00"])
def test_an_unknown_token_gets_a_friendly_page(client, db, token):
    response = client.get(f"/cases/follow-up/{token}/")
    assert response.status_code == 404
    assert "We do not recognise this link" in response.content.decode()
    assert client.post(f"/cases/follow-up/{token}/", {"csat": "5"}).status_code == 404


def test_a_reopened_and_resolved_again_case_gets_a_new_link(case, manager, client):
    first = case_resolve(case=case, user=manager, summary="Refunded.").follow_up_token
    case_transition(case=case, to=CaseStatus.REOPENED, user=manager, note="Charged again.")
    second = case_resolve(case=case, user=manager, summary="Refunded again.").follow_up_token
    assert first != second
    assert client.get(reverse("case-follow-up", args=[first])).status_code == 404
    assert client.get(reverse("case-follow-up", args=[second])).status_code == 200


def test_the_follow_up_answers_are_rate_limited_per_address(client, location_a, manager, settings):
    settings.FEEDBACK_RATE_LIMIT = 2
    settings.FEEDBACK_RATE_WINDOW_SECONDS = 600
    cases = [
        case_resolve(case=_complaint(location_a, manager, title=f"Case {n}"), user=manager, summary="Done.")
        for n in range(3)
    ]
    for answered in cases[:2]:
        url = reverse("case-follow-up", args=[answered.follow_up_token])
        assert client.post(url, {"csat": "4"}).status_code == 200
    limited = client.post(reverse("case-follow-up", args=[cases[2].follow_up_token]), {"csat": "4"})
    assert limited.status_code == 429 and limited["Retry-After"] == "600"
    assert "Please wait a moment" in limited.content.decode()
    assert Case.objects.filter(follow_up_answered_at__isnull=False).count() == 2
    other = client.post(
        reverse("case-follow-up", args=[cases[2].follow_up_token]), {"csat": "4"}, REMOTE_ADDR="203.0.113.7"
    )
    assert other.status_code == 200


def test_the_follow_up_page_fits_a_phone(client, case, manager):
    resolved = case_resolve(case=case, user=manager, summary="Refunded.")
    page = client.get(reverse("case-follow-up", args=[resolved.follow_up_token])).content.decode()
    assert 'name="viewport"' in page and "feedback-scale" in page
    # Contact details stay private even to the person holding the link.
    assert "dana@example.org" not in page


@pytest.mark.parametrize(
    "name, data",
    [
        ("cases:reply", {"message": "Hello\x00", "key": "k"}),
        ("cases:reply", {"message": "Hello", "key": "k\x00"}),
        ("cases:reply", {"message": "Hello", "key": "k" * 500}),
        ("cases:resolve", {"summary": "Done\x00", "action_choice": "none"}),
        ("cases:resolve", {"summary": "Done", "action_choice": "new", "new_action_title": "T\x00"}),
        (
            "cases:resolve",
            {
                "summary": "Done",
                "action_choice": "new",
                "new_action_title": "T" * 400,
                "new_action_due_on": "2999-01-01",
                "new_action_customer_summary": "S" * 400,
                "new_action_publish": "1",
            },
        ),
        ("cases:resolve", {"summary": "Done", "action_choice": "existing", "action": "99999999999999999999"}),
        ("cases:resolve", {"summary": "Done", "action_choice": "\x00"}),
    ],
)
def test_hostile_input_is_refused_with_a_message_never_a_500(client, case, manager, name, data):
    client.force_login(manager)
    response = client.post(reverse(name, args=[case.pk]), data, follow=True)
    assert response.status_code == 200
    assert "was not" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW and not mail.outbox
    assert not ActionItem.objects.exists()


def test_a_follow_up_comment_the_database_cannot_store_is_refused(case, manager):
    # A form post cannot carry a lone surrogate, but another caller of the service could.
    resolved = case_resolve(case=case, user=manager, summary="Refunded.")
    with pytest.raises(ValidationError) as refused:
        case_follow_up_answer(case=resolved, csat=4, comment="bad \ud800 text")
    assert "comment" in refused.value.message_dict
    case.refresh_from_db()
    assert case.follow_up_answered_at is None


def test_a_reply_the_mail_server_refuses_is_noted_on_the_timeline(
    case, manager, monkeypatch, django_capture_on_commit_callbacks
):
    import smtplib

    from django.core.mail import EmailMultiAlternatives

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({"dana@example.org": (550, b"no such user")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        _reply(case, manager)
    note = case.events.get(kind=EventKind.NOTE)
    assert "to dana@example.org could not be sent" in note.text
    # The reply stays recorded as written; a new form sends it again.
    assert case.events.filter(kind=EventKind.MESSAGE).count() == 1


def test_staff_owning_a_case_are_offered_the_resolve_form_without_a_new_action(client, case, manager, staff):
    case_assign(case=case, owner=staff.employee, user=manager)
    client.force_login(staff)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert reverse("cases:resolve", args=[case.pk]) in page
    assert 'value="new"' not in page
    assert "Only a manager of Alpha Street can open a new gap action." in page
    client.force_login(manager)
    assert 'value="new"' in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
