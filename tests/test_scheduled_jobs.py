"""Scheduled emails: one email per person listing all their items, never the same item twice."""

from datetime import date, timedelta

import pytest
from django.conf import settings as django_settings
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from consequences.models import Action, Consequence, ConsequenceStatus, Polarity
from consequences.services import consequences_overdue_notify
from consequences.tasks import notify_overdue_consequences
from organization.models import Notice
from servicedesk.celery import app
from standards.models import Standard
from standards.notifications import acknowledgement_reminders_send, acknowledgements_outstanding
from standards.selectors import standards_to_acknowledge
from standards.tasks import send_acknowledgement_reminders
from tests import factories
from tests.concurrency import run_overlapping
from training.models import CompletionStatus
from training.notifications import training_reminders_send
from training.tasks import send_training_reminders

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a job the way a worker does: the emails leave once its transaction has committed."""

    def run_job(job, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return job(**kwargs)

    return run_job


def person(username, **extra):
    return factories.EmployeeFactory(user=factories.UserFactory(username=username), **extra)


# --------------------------------------------------------------------------- training refreshers


def assignment(employee, *, due_in_days, title):
    due_on = TODAY + timedelta(days=due_in_days)
    return factories.AssignmentFactory(
        employee=employee,
        course=factories.CourseFactory(title=title),
        assigned_on=due_on - timedelta(days=30),
        due_on=due_on,
    )


def verified(employee, course, *, days_ago):
    return factories.CompletionFactory(
        employee=employee,
        course=course,
        completed_on=TODAY - timedelta(days=days_ago),
        status=CompletionStatus.VERIFIED,
    )


@pytest.fixture
def training_landscape(db):
    alice = person("alice")
    assignment(alice, due_in_days=5, title="Greeting customers")  # due
    assignment(alice, due_in_days=-3, title="Handling complaints")  # overdue
    assignment(alice, due_in_days=90, title="Gift wrapping")  # not started, far off: nothing to say

    bob = person("bob")
    expired = assignment(bob, due_in_days=-400, title="Till procedures")
    verified(bob, expired.course, days_ago=400)  # expired 35 days ago (365-day refresher)
    soon = assignment(bob, due_in_days=-300, title="Phone etiquette")
    verified(bob, soon.course, days_ago=350)  # expires in 15 days

    carol = person("carol")
    current = assignment(carol, due_in_days=-10, title="Data protection")
    verified(carol, current.course, days_ago=20)  # current

    dan = person("dan")
    pending = assignment(dan, due_in_days=-2, title="Age-restricted sales")
    factories.CompletionFactory(employee=dan, course=pending.course, completed_on=TODAY - timedelta(days=1))
    return {"alice": alice, "bob": bob}


def test_training_reminders_send_one_email_per_employee_with_all_their_courses(
    training_landscape, mailoutbox, run
):
    result = run(training_reminders_send, today=TODAY)

    assert result == {"emails": 2, "items": 4, "already_sent": 0, "no_email_address": 0}
    by_recipient = {message.to[0]: message for message in mailoutbox}
    assert set(by_recipient) == {"alice@example.com", "bob@example.com"}

    alice = by_recipient["alice@example.com"]
    assert alice.subject == "ServiceDesk: 2 training courses need your attention"
    assert (
        "Greeting customers" in alice.body
        and "Due soon · never done, complete by 20 Jun 2026 (in 5 days)" in alice.body
    )
    assert (
        "Handling complaints" in alice.body
        and "Overdue · never done, was due 12 Jun 2026 (3 days ago)" in alice.body
    )
    assert "Gift wrapping" not in alice.body

    bob = by_recipient["bob@example.com"]
    assert (
        "Till procedures" in bob.body and "Expired · expired 11 May 2026 (35 days ago): renew now" in bob.body
    )
    assert "Phone etiquette" in bob.body and "Expiring soon · renew by 30 Jun 2026 (in 15 days)" in bob.body


def test_training_reminders_are_not_repeated_and_a_new_status_is_told_once(
    training_landscape, mailoutbox, run
):
    run(training_reminders_send, today=TODAY)
    mailoutbox.clear()

    assert run(training_reminders_send, today=TODAY)["already_sent"] == 4
    assert mailoutbox == []

    # six days later Alice's "due" course is overdue: that, and only that, is news
    run(training_reminders_send, today=TODAY + timedelta(days=6))
    assert [message.to for message in mailoutbox] == [["alice@example.com"]]
    assert "Greeting customers" in mailoutbox[0].body
    assert "Handling complaints" not in mailoutbox[0].body
    assert mailoutbox[0].subject == "ServiceDesk: 1 training course needs your attention"


def test_the_training_reminder_task_runs_the_job(training_landscape, mailoutbox, settings, run):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert run(lambda: send_training_reminders.delay().get())["emails"] == 2
    assert len(mailoutbox) == 2


# --------------------------------------------------------------------------- acknowledgement reminders


@pytest.fixture
def standards_landscape(db):
    greet, thank = (
        factories.StandardFactory(title="Greet every customer"),
        factories.StandardFactory(title="Thank"),
    )
    erin, frank = person("erin"), person("frank")
    for_franks_team = factories.StandardFactory(title="Count the float")
    for_franks_team.teams.add(frank.team)
    factories.StandardFactory(title="Draft standard", status="draft")
    factories.AcknowledgementFactory(employee=erin, standard=greet)
    return {"greet": greet, "thank": thank, "erin": erin, "frank": frank, "team_only": for_franks_team}


def test_outstanding_acknowledgements_match_the_selector_for_each_employee(standards_landscape):
    outstanding = acknowledgements_outstanding()
    for employee in (standards_landscape["erin"], standards_landscape["frank"]):
        assert outstanding.get(employee, []) == list(standards_to_acknowledge(employee))


def test_acknowledgement_reminders_list_every_standard_in_one_email(standards_landscape, mailoutbox, run):
    result = run(acknowledgement_reminders_send)

    assert result["emails"] == 2 and result["items"] == 1 + 3
    by_recipient = {message.to[0]: message for message in mailoutbox}
    erin, frank = by_recipient["erin@example.com"], by_recipient["frank@example.com"]
    assert erin.subject == "ServiceDesk: 1 service standard to acknowledge"
    assert (
        "Thank" in erin.body
        and "Greet every customer" not in erin.body
        and "Count the float" not in erin.body
    )
    assert frank.subject == "ServiceDesk: 3 service standards to acknowledge"
    assert all(title in frank.body for title in ("Greet every customer", "Thank", "Count the float"))
    assert "Draft standard" not in frank.body


def test_acknowledgement_reminders_come_once_per_version(standards_landscape, mailoutbox, run):
    run(acknowledgement_reminders_send)
    mailoutbox.clear()
    assert run(acknowledgement_reminders_send)["emails"] == 0
    assert mailoutbox == []

    # a material change makes version 2: both are asked again, Erin who accepted version 1 included
    Standard.objects.filter(pk=standards_landscape["greet"].pk).update(version=2)
    run(acknowledgement_reminders_send)

    assert sorted(message.to[0] for message in mailoutbox) == ["erin@example.com", "frank@example.com"]
    assert all("(version 2)" in message.body and "Thank" not in message.body for message in mailoutbox)


def test_the_acknowledgement_task_runs_the_job(standards_landscape, mailoutbox, settings, run):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert run(lambda: send_acknowledgement_reminders.delay().get())["emails"] == 2


# --------------------------------------------------------------------------- overdue consequences


def consequence(location, *, owner=None, due_in_days, summary, **extra):
    return factories.ConsequenceFactory(
        location=location,
        owner=owner,
        due_on=TODAY + timedelta(days=due_in_days),
        summary=summary,
        **extra,
    )


@pytest.fixture
def overdue_landscape(location_a, location_b, manager, other_manager):
    owner = person("gina", location=location_a).user
    consequence(location_a, owner=owner, due_in_days=-3, summary="Coach the tills team")
    consequence(location_a, owner=owner, due_in_days=-1, summary="Corrective plan for fitting rooms")
    consequence(location_a, owner=owner, due_in_days=2, summary="Not due yet")
    consequence(
        location_a,
        owner=owner,
        due_in_days=-9,
        summary="Already closed",
        status=ConsequenceStatus.CLOSED,
        closure_note="Done.",
        closed_at=timezone.now(),
    )
    consequence(
        location_b,
        due_in_days=-5,
        summary="Recognise the Beta Road team",
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
    )
    return {"owner": owner}


def test_overdue_consequences_go_to_their_owner_or_else_the_locations_managers(
    overdue_landscape, mailoutbox, run
):
    result = run(consequences_overdue_notify, today=TODAY)

    assert result["emails"] == 2 and result["items"] == 3
    by_recipient = {message.to[0]: message for message in mailoutbox}
    assert set(by_recipient) == {"gina@example.com", "other_manager@example.com"}
    owner_mail = by_recipient["gina@example.com"]
    assert owner_mail.subject == "ServiceDesk: 2 consequences past their due date"
    assert "Coach the tills team" in owner_mail.body and "(3 days overdue)" in owner_mail.body
    assert "Corrective plan for fitting rooms" in owner_mail.body and "(1 day overdue)" in owner_mail.body
    assert "Not due yet" not in owner_mail.body and "Already closed" not in owner_mail.body
    assert "Recognise the Beta Road team" in by_recipient["other_manager@example.com"].body


def test_overdue_reminders_come_once_per_due_date(overdue_landscape, mailoutbox, run):
    run(consequences_overdue_notify, today=TODAY)
    mailoutbox.clear()
    assert run(consequences_overdue_notify, today=TODAY + timedelta(days=1))["emails"] == 0
    assert mailoutbox == []

    # the owner moved a due date, which has passed again: a new reminder for that one only
    moved = Consequence.objects.get(summary="Coach the tills team")
    moved.due_on = TODAY + timedelta(days=1)
    moved.save()
    run(consequences_overdue_notify, today=TODAY + timedelta(days=3))

    assert len(mailoutbox) == 1
    assert "Coach the tills team" in mailoutbox[0].body
    assert "fitting rooms" not in mailoutbox[0].body


def test_the_overdue_task_runs_the_job(location_a, mailoutbox, settings, run):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    owner = person("gina", location=location_a).user
    factories.ConsequenceFactory(
        location=location_a,
        owner=owner,
        due_on=timezone.localdate() - timedelta(days=1),
        summary="Coach the tills team",
    )

    assert run(lambda: notify_overdue_consequences.delay().get())["emails"] == 1
    assert [message.to for message in mailoutbox] == [["gina@example.com"]]


# --------------------------------------------------------------------------- the notice log


def test_someone_without_an_email_address_is_told_once_they_have_one(training_landscape, mailoutbox, run):
    alice = training_landscape["alice"].user
    alice.email = ""
    alice.save()

    result = run(training_reminders_send, today=TODAY)
    assert result["no_email_address"] == 2
    assert not Notice.objects.filter(recipient=alice).exists()

    alice.email = "alice@example.com"
    alice.save()
    mailoutbox.clear()
    run(training_reminders_send, today=TODAY)
    assert [message.to for message in mailoutbox] == [["alice@example.com"]]


def test_an_email_that_cannot_be_sent_is_retried_next_run(training_landscape, mailoutbox, run, monkeypatch):
    def refuse(self, messages):
        raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", refuse)
        result = run(training_reminders_send, today=TODAY)
    assert result["emails"] == 2
    assert mailoutbox == [] and not Notice.objects.exists()

    run(training_reminders_send, today=TODAY)
    assert len(mailoutbox) == 2
    assert Notice.objects.count() == 4


def test_nothing_is_sent_if_the_job_transaction_rolls_back(
    training_landscape, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        training_reminders_send(today=TODAY)
    assert callbacks and mailoutbox == []  # emails wait for the commit, which never came


# --------------------------------------------------------------------------- the schedule


@pytest.mark.parametrize(
    "entry",
    ["training-send-reminders", "standards-send-acknowledgement-reminders", "consequences-notify-overdue"],
)
def test_each_reminder_runs_daily_with_an_expiry_and_names_a_real_task(entry):
    schedule = django_settings.CELERY_BEAT_SCHEDULE[entry]
    app.loader.import_default_modules()

    assert schedule["task"] in app.tasks
    assert schedule["options"]["expires"] <= 24 * 60 * 60
    assert schedule["schedule"].hour == {django_settings.REMINDER_HOUR}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_send_each_reminder_once(training_landscape, mailoutbox):
    results, errors = run_overlapping(lambda: training_reminders_send(today=TODAY))

    assert errors == []
    assert results["first"]["emails"] == 2
    assert results["second"] == {"emails": 0, "items": 0, "already_sent": 4, "no_email_address": 0}
    assert len(mailoutbox) == 2
