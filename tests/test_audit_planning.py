"""Audit schedules and occurrences: recurrence (dates checked by hand against a calendar), local
times across DST, planning, the clock (scheduled → open → missed, done and late), reminders and
missed alerts, the periodic job, and the schedule admin."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audits.models import Audit, Frequency, Occurrence, OccurrenceStatus, Schedule, TemplateStatus
from audits.services.planning import (
    local_moment,
    missed_alerts_send,
    occurrence_window,
    occurrences_advance,
    occurrences_plan,
    occurrences_remind,
)
from audits.services.schedules import schedule_dates, schedule_problems, schedules_create
from audits.services.submission import answer_save, audit_submit
from audits.tasks import plan_audits
from servicedesk.celery import app
from tests import factories
from tests.audit_factories import (
    AuditTemplateFactory,
    ExternalEvaluatorFactory,
    ScheduleFactory,
    template_from,
)
from tests.concurrency import run_overlapping

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def london(settings):
    settings.TIME_ZONE = "Europe/London"
    return LONDON


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a job the way a worker does: the emails leave once its transaction has committed."""

    def run_job(job, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return job(**kwargs)

    return run_job


def unsaved(**fields) -> Schedule:
    return Schedule(**{"starts_on": date(2026, 12, 1), **fields})


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# --------------------------------------------------------------------------- recurrence


def test_monthly_on_the_31st_uses_each_shorter_months_last_day():
    schedule = unsaved(frequency=Frequency.MONTHLY, day_of_month=31, starts_on=date(2027, 1, 1))

    # 2027 is not a leap year (28 Feb), 2028 is (29 Feb); April, June, September and November have 30.
    assert schedule_dates(schedule, date(2027, 1, 1), date(2027, 6, 30)) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
    ]
    assert schedule_dates(schedule, date(2028, 2, 1), date(2028, 3, 31)) == [
        date(2028, 2, 29),
        date(2028, 3, 31),
    ]


def test_monthly_on_the_30th_is_the_28th_in_february_and_the_30th_otherwise():
    schedule = unsaved(frequency=Frequency.MONTHLY, day_of_month=30, starts_on=date(2027, 1, 1))

    assert schedule_dates(schedule, date(2027, 1, 1), date(2027, 3, 31)) == [
        date(2027, 1, 30),
        date(2027, 2, 28),
        date(2027, 3, 30),
    ]


def test_weekly_on_chosen_days():
    # 1 Dec 2026 is a Tuesday: Mondays and Thursdays after it are the 3rd, 7th, 10th and 14th.
    schedule = unsaved(frequency=Frequency.WEEKLY, weekdays="mo, TH")

    assert schedule_dates(schedule, date(2026, 11, 1), date(2026, 12, 14)) == [
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 10),
        date(2026, 12, 14),
    ]


def test_quarterly_on_a_day_of_january_april_july_and_october():
    schedule = unsaved(frequency=Frequency.QUARTERLY, day_of_month=31, starts_on=date(2026, 2, 10))

    # Started in February: January's is before the start; April and the others follow (30 Apr).
    assert schedule_dates(schedule, date(2026, 1, 1), date(2027, 1, 31)) == [
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
        date(2027, 1, 31),
    ]


def test_custom_rules_every_other_tuesday_and_the_last_friday_of_the_month():
    fortnightly = unsaved(frequency=Frequency.CUSTOM, rule="RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")
    last_friday = unsaved(frequency=Frequency.CUSTOM, rule="FREQ=MONTHLY;BYDAY=-1FR")

    assert schedule_dates(fortnightly, date(2026, 12, 1), date(2027, 1, 12)) == [
        date(2026, 12, 1),
        date(2026, 12, 15),
        date(2026, 12, 29),
        date(2027, 1, 12),
    ]
    assert schedule_dates(last_friday, date(2026, 12, 1), date(2027, 2, 28)) == [
        date(2026, 12, 25),
        date(2027, 1, 29),
        date(2027, 2, 26),
    ]


def test_the_end_date_and_a_rules_until_bound_the_dates():
    daily = unsaved(frequency=Frequency.DAILY, ends_on=date(2026, 12, 3))
    until = unsaved(frequency=Frequency.CUSTOM, rule="FREQ=DAILY;UNTIL=20261202T000000Z")

    assert schedule_dates(daily, date(2026, 11, 1), date(2026, 12, 31)) == [
        date(2026, 12, 1),
        date(2026, 12, 2),
        date(2026, 12, 3),
    ]
    assert schedule_dates(until, date(2026, 11, 1), date(2026, 12, 31)) == [
        date(2026, 12, 1),
        date(2026, 12, 2),
    ]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"frequency": Frequency.CUSTOM, "rule": ""}, "rule", "needs a recurrence rule"),
        ({"frequency": Frequency.CUSTOM, "rule": "FREQ=HOURLY;INTERVAL=4"}, "rule", "finer than daily"),
        ({"frequency": Frequency.CUSTOM, "rule": "FREQ=SOMETIMES"}, "rule", "not an RFC 5545 rule"),
        ({"frequency": Frequency.CUSTOM, "rule": "every monday"}, "rule", "not an RFC 5545 rule"),
        ({"frequency": Frequency.WEEKLY, "weekdays": ""}, "weekdays", "needs its days"),
        ({"frequency": Frequency.WEEKLY, "weekdays": "MO,XX"}, "weekdays", "Unknown day XX"),
        ({"due_after_days": 0, "opens_at": time(9), "due_time": time(9)}, "due_time", "after the opening"),
        ({"due_after_days": 0, "opens_at": time(12), "due_time": time(8)}, "due_time", "after the opening"),
    ],
)
def test_refusals_name_the_field(fields, field, words):
    problems = schedule_problems(unsaved(**fields))

    assert list(problems) == [field]
    assert words in problems[field]


def test_a_due_time_after_the_opening_on_the_same_day_is_fine():
    assert schedule_problems(unsaved(due_after_days=0, opens_at=time(9), due_time=time(9, 30))) == {}


def test_a_draft_template_cannot_be_scheduled_until_a_version_is_published(location_a):
    draft = AuditTemplateFactory(status=TemplateStatus.DRAFT)
    schedule = Schedule(template=draft, location=location_a, starts_on=date(2026, 12, 1))

    with pytest.raises(ValidationError) as refused:
        schedule.full_clean()
    assert "publish it" in refused.value.message_dict["template"][0]

    # A draft next version of a published lineage is fine: audits use the published one.
    AuditTemplateFactory(lineage=draft.lineage, version=2, status=TemplateStatus.PUBLISHED)
    schedule.full_clean()


def test_schedules_create_makes_one_per_location_with_the_assignees(location_a, location_b):
    template = AuditTemplateFactory()
    employee = factories.EmployeeFactory(location=location_a)
    evaluator = ExternalEvaluatorFactory()

    created = schedules_create(
        template,
        [location_a, location_b],
        frequency=Frequency.WEEKLY,
        weekdays="MO",
        starts_on=date(2026, 12, 1),
        assigned_employees=[employee],
        assigned_evaluators=[evaluator],
    )

    assert sorted(s.location.code for s in created) == ["AAA-01", "BBB-01"]
    for schedule in created:
        assert list(schedule.assigned_employees.all()) == [employee]
        assert list(schedule.assigned_evaluators.all()) == [evaluator]


def test_schedules_create_writes_nothing_when_one_is_refused(location_a, location_b):
    with pytest.raises(ValidationError) as refused:
        schedules_create(
            AuditTemplateFactory(),
            [location_a, location_b],
            frequency=Frequency.WEEKLY,
            weekdays="",
            starts_on=date(2026, 12, 1),
        )

    assert "needs its days" in refused.value.message_dict["weekdays"][0]
    assert Schedule.objects.count() == 0
    with pytest.raises(ValidationError) as none:
        schedules_create(AuditTemplateFactory(), [], starts_on=date(2026, 12, 1))
    assert "at least one location" in none.value.message_dict["location"][0]


# --------------------------------------------------------------------------- local times and DST


def test_nine_oclock_stays_nine_oclock_local_on_both_sides_of_the_march_change(london):
    # Sunday 29 March 2026: clocks go from 01:00 GMT to 02:00 BST.
    schedule = unsaved(opens_at=time(9), due_after_days=2, due_time=time(18), late_allowed_days=1)

    opens, due, closes = occurrence_window(schedule, date(2026, 3, 28))  # Saturday, GMT

    assert opens == at(2026, 3, 28, 9)  # 09:00 GMT
    assert due == at(2026, 3, 30, 17)  # Monday 18:00 BST
    assert closes == at(2026, 3, 31, 17)  # a day later, still 18:00 BST
    assert occurrence_window(schedule, date(2026, 3, 30))[0] == at(2026, 3, 30, 8)  # 09:00 BST
    assert (
        opens.astimezone(london).hour
        == occurrence_window(schedule, date(2026, 3, 30))[0].astimezone(london).hour
    )


def test_nine_oclock_stays_nine_oclock_local_across_the_october_change(london):
    # Sunday 25 October 2026: clocks go from 02:00 BST back to 01:00 GMT.
    schedule = unsaved(opens_at=time(9), due_after_days=0, due_time=time(18))

    assert occurrence_window(schedule, date(2026, 10, 24))[:2] == (at(2026, 10, 24, 8), at(2026, 10, 24, 17))
    assert occurrence_window(schedule, date(2026, 10, 25))[:2] == (at(2026, 10, 25, 9), at(2026, 10, 25, 18))


def test_a_skipped_time_moves_forward_and_a_repeated_one_takes_its_first_instance(london):
    # 01:30 on 29 March does not exist: it becomes 02:30 BST (01:30 UTC).
    assert local_moment(date(2026, 3, 29), time(1, 30), london) == at(2026, 3, 29, 1, 30)
    # 01:30 on 25 October happens twice: the first one, 01:30 BST (00:30 UTC).
    assert local_moment(date(2026, 10, 25), time(1, 30), london) == at(2026, 10, 25, 0, 30)


def test_planning_uses_the_configured_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    schedule = unsaved(opens_at=time(9), due_after_days=0, due_time=time(18))

    # 1 Dec 2026, EST (UTC−5).
    assert occurrence_window(schedule, date(2026, 12, 1))[0] == at(2026, 12, 1, 14)


# --------------------------------------------------------------------------- planning


@pytest.fixture
def template():
    return AuditTemplateFactory()


def test_plan_creates_the_window_once_and_opens_todays(london, location_a, template, settings):
    settings.AUDIT_PLAN_BACK_DAYS = 2
    settings.AUDIT_PLAN_AHEAD_DAYS = 5
    schedule = ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.DAILY,
        starts_on=date(2026, 11, 1),
        opens_at=time(9),
        due_after_days=0,
        due_time=time(18),
    )
    now = at(2026, 12, 10, 12)  # 12:00 GMT on Thursday 10 December

    assert occurrences_plan(now=now) == 8  # 8 Dec to 15 Dec
    assert occurrences_plan(now=now) == 0
    rows = Occurrence.objects.filter(schedule=schedule).order_by("scheduled_for")
    assert [o.scheduled_for for o in rows] == [date(2026, 12, d) for d in range(8, 16)]
    statuses = {o.scheduled_for.day: o.status for o in rows}
    assert statuses[10] == OccurrenceStatus.OPEN
    assert statuses[8] == statuses[11] == OccurrenceStatus.SCHEDULED
    assert all(o.location_id == location_a.pk and o.assignee_key == "" for o in rows)


def test_each_of_them_plans_one_per_employee_team_member_and_evaluator(london, location_a, template):
    team = factories.TeamFactory(location=location_a)
    listed = factories.EmployeeFactory(location=location_a, team=team)
    other = factories.EmployeeFactory(location=location_a, team=None)
    factories.EmployeeFactory(location=location_a, team=team, active=False)
    evaluator = ExternalEvaluatorFactory()
    schedule = ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.MONTHLY,
        day_of_month=15,
        starts_on=date(2026, 12, 1),
        assignee_mode="each",
        assigned_team=team,
    )
    schedule.assigned_employees.set([listed, other])
    schedule.assigned_evaluators.set([evaluator])

    occurrences_plan(now=at(2026, 12, 10, 12))

    planned = Occurrence.objects.filter(schedule=schedule, scheduled_for=date(2026, 12, 15))
    # `listed` is in the team as well: once. The inactive member is left out.
    assert sorted(planned.values_list("assignee_key", flat=True)) == sorted(
        [f"e{listed.pk}", f"e{other.pk}", f"x{evaluator.pk}"]
    )
    assert planned.get(assignee_key=f"x{evaluator.pk}").assigned_evaluator == evaluator


def test_a_schedule_without_a_published_version_is_skipped_and_logged(london, location_a, caplog):
    draft = AuditTemplateFactory(status=TemplateStatus.DRAFT)
    skipped = ScheduleFactory(template=draft, location=location_a, starts_on=date(2026, 12, 1))
    planned = ScheduleFactory(location=location_a, frequency=Frequency.DAILY, starts_on=date(2026, 12, 1))

    with caplog.at_level(logging.WARNING, logger="audits.services.planning"):
        occurrences_plan(now=at(2026, 12, 10, 12))

    assert not Occurrence.objects.filter(schedule=skipped).exists()
    assert Occurrence.objects.filter(schedule=planned).exists()
    assert any(f"schedule {skipped.pk} skipped" in r.getMessage() for r in caplog.records)


def test_a_stored_rule_that_no_longer_parses_skips_only_its_schedule(london, location_a, caplog):
    bad = ScheduleFactory(location=location_a, frequency=Frequency.DAILY, starts_on=date(2026, 12, 1))
    good = ScheduleFactory(location=location_a, frequency=Frequency.DAILY, starts_on=date(2026, 12, 1))
    Schedule.objects.filter(pk=bad.pk).update(frequency=Frequency.CUSTOM, rule="FREQ=FORTNIGHTLY")
    inactive = ScheduleFactory(location=location_a, frequency=Frequency.DAILY, starts_on=date(2026, 12, 1))
    Schedule.objects.filter(pk=inactive.pk).update(active=False)

    with caplog.at_level(logging.WARNING, logger="audits.services.planning"):
        result = occurrences_plan(now=at(2026, 12, 10, 12))

    assert result == Occurrence.objects.filter(schedule=good).count() > 0
    assert not Occurrence.objects.filter(schedule__in=[bad, inactive]).exists()
    assert any(
        f"schedule {bad.pk} skipped" in r.getMessage() and "FORTNIGHTLY" in r.getMessage()
        for r in caplog.records
    )


# --------------------------------------------------------------------------- the clock


def test_scheduled_opens_at_its_time_and_is_missed_after_closing(london, location_a, template):
    schedule = ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.DAILY,
        starts_on=date(2026, 12, 12),
        ends_on=date(2026, 12, 12),
        opens_at=time(9),
        due_after_days=0,
        due_time=time(18),
        late_allowed_days=1,
    )
    occurrences_plan(now=at(2026, 12, 10, 12))
    occurrence = Occurrence.objects.get(schedule=schedule)
    assert occurrence.status == OccurrenceStatus.SCHEDULED

    assert occurrences_advance(now=at(2026, 12, 12, 8, 59)) == {"opened": 0, "missed": 0}
    assert occurrences_advance(now=at(2026, 12, 12, 9)) == {"opened": 1, "missed": 0}
    # Due 18:00 on the 12th, accepted late until 18:00 on the 13th.
    assert occurrences_advance(now=at(2026, 12, 13, 18)) == {"opened": 0, "missed": 0}
    assert occurrences_advance(now=at(2026, 12, 13, 18, 1)) == {"opened": 0, "missed": 1}
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.MISSED


def test_a_scheduled_one_past_closing_goes_straight_to_missed(london, location_a, template):
    ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.DAILY,
        starts_on=date(2026, 12, 1),
        ends_on=date(2026, 12, 5),
    )
    occurrences_plan(now=at(2026, 12, 1, 6))  # 1–5 Dec, each due 6 days later at 18:00

    occurrences_advance(now=at(2026, 12, 30))

    assert set(Occurrence.objects.values_list("status", flat=True)) == {OccurrenceStatus.MISSED}


def submittable_template():
    return template_from([{"title": "Welcome", "questions": [{"key": "greet", "kind": "yes_no"}]}])


def planned_today(location, *, late_allowed_days, due_after_days, days_ago):
    """A daily schedule started `days_ago` local days ago, opening at midnight and due a minute
    later (plus `due_after_days`); the real clock, since the intake refuses future evidence."""
    today = timezone.localdate()
    template = submittable_template()
    schedule = ScheduleFactory(
        template=template,
        location=location,
        frequency=Frequency.DAILY,
        starts_on=today - timedelta(days=days_ago),
        ends_on=today - timedelta(days=days_ago),
        opens_at=time(0),
        due_after_days=due_after_days,
        due_time=time(0, 1),
        late_allowed_days=late_allowed_days,
    )
    occurrences_plan()
    return template, Occurrence.objects.get(schedule=schedule)


def submit(template, occurrence, user):
    audit = Audit.objects.create(
        template=template, location=occurrence.location, auditor=user, occurrence=occurrence
    )
    answer_save(audit, template.q["greet"].pk, value="yes")
    return audit_submit(audit, user=user)


def test_submitted_before_the_due_time_is_done(london, location_a, staff):
    template, occurrence = planned_today(location_a, late_allowed_days=0, due_after_days=3, days_ago=0)

    assert submit(template, occurrence, staff).ok
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.DONE and occurrence.completed_at is not None
    # The clock leaves a done one alone.
    occurrences_advance(now=occurrence.closes_at + timedelta(days=1))
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.DONE


def test_submitted_after_the_due_time_within_the_late_days_is_late(london, location_a, staff):
    # Due at 00:01 two days ago, accepted late for 5 days after.
    template, occurrence = planned_today(location_a, late_allowed_days=5, due_after_days=0, days_ago=2)
    assert occurrence.closes_at - occurrence.due_at == timedelta(days=5)
    occurrences_advance()

    assert submit(template, occurrence, staff).ok
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.LATE


def test_past_its_closing_time_it_is_missed_and_takes_no_submission(london, location_a, staff):
    template, occurrence = planned_today(location_a, late_allowed_days=1, due_after_days=0, days_ago=3)
    occurrences_advance()
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.MISSED

    refused = submit(template, occurrence, staff)
    assert not refused.ok
    assert "closed" in refused.problems[0].message


# --------------------------------------------------------------------------- reminders and alerts


@pytest.fixture
def assigned(london, location_a, template):
    """An "any one of them" schedule with two employees and an evaluator, due at 18:00 on 12 Dec."""
    alice = factories.EmployeeFactory(location=location_a, user=factories.UserFactory(username="alice"))
    bob = factories.EmployeeFactory(location=location_a, user=factories.UserFactory(username="bob"))
    shopper = ExternalEvaluatorFactory(user=factories.UserFactory(username="shopper"))
    schedule = ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.DAILY,
        starts_on=date(2026, 12, 12),
        ends_on=date(2026, 12, 12),
        opens_at=time(9),
        due_after_days=0,
        due_time=time(18),
    )
    schedule.assigned_employees.set([alice, bob])
    schedule.assigned_evaluators.set([shopper])
    occurrences_plan(now=at(2026, 12, 10))
    return schedule


def test_reminders_go_once_to_every_listed_assignee_before_the_due_time(assigned, mailoutbox, run, settings):
    settings.AUDIT_REMINDER_HOURS = 24

    assert run(occurrences_remind, now=at(2026, 12, 11, 17, 59))["emails"] == 0  # 24 h 1 min before
    result = run(occurrences_remind, now=at(2026, 12, 11, 18))

    assert result["emails"] == 3
    assert sorted(m.to[0] for m in mailoutbox) == [
        "alice@example.com",
        "bob@example.com",
        "shopper@example.com",
    ]
    assert mailoutbox[0].subject == "ServiceDesk: 1 audit due soon"
    assert (
        f"{assigned.template.title} at" in mailoutbox[0].body
        and "due Sat 12 Dec 2026, 18:00" in mailoutbox[0].body
    )
    assert Occurrence.objects.get().reminded_at == at(2026, 12, 11, 18)
    assert run(occurrences_remind, now=at(2026, 12, 12, 10))["emails"] == 0
    assert len(mailoutbox) == 3


def test_each_of_them_reminds_only_the_occurrences_own_assignee(
    london, location_a, template, mailoutbox, run
):
    alice = factories.EmployeeFactory(location=location_a, user=factories.UserFactory(username="alice"))
    bob = factories.EmployeeFactory(location=location_a, user=factories.UserFactory(username="bob"))
    schedule = ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.DAILY,
        starts_on=date(2026, 12, 12),
        ends_on=date(2026, 12, 12),
        due_after_days=0,
        assignee_mode="each",
    )
    schedule.assigned_employees.set([alice, bob])
    occurrences_plan(now=at(2026, 12, 10))
    Occurrence.objects.filter(assigned_employee=bob).update(
        status=OccurrenceStatus.DONE, completed_at=at(2026, 12, 11)
    )

    run(occurrences_remind, now=at(2026, 12, 12, 8))

    assert [m.to for m in mailoutbox] == [["alice@example.com"]]


def test_a_missed_audit_alerts_the_locations_manager_once(assigned, manager, other_manager, mailoutbox, run):
    occurrences_advance(now=at(2026, 12, 13))

    result = run(missed_alerts_send, now=at(2026, 12, 13))

    assert result["emails"] == 1
    assert [m.to for m in mailoutbox] == [[manager.email]]
    assert mailoutbox[0].subject == "ServiceDesk: 1 audit missed"
    assert "planned for 12 Dec 2026" in mailoutbox[0].body
    assert Occurrence.objects.get().missed_alerted_at == at(2026, 12, 13)
    assert run(missed_alerts_send, now=at(2026, 12, 14))["emails"] == 0
    assert len(mailoutbox) == 1


def test_the_task_plans_advances_reminds_and_alerts(
    london, location_a, manager, template, mailoutbox, settings
):
    today = timezone.localdate()
    ScheduleFactory(
        template=template,
        location=location_a,
        frequency=Frequency.DAILY,
        starts_on=today - timedelta(days=3),
        ends_on=today - timedelta(days=3),
        opens_at=time(0),
        due_after_days=0,
        due_time=time(0, 1),
    )

    result = plan_audits.delay().get()

    assert result["planned"] == 1 and result["missed"] == 1
    assert result["missed_alerts"]["items"] == 1
    assert Occurrence.objects.get().status == OccurrenceStatus.MISSED


def test_the_job_is_in_the_beat_schedule_with_an_expiry():
    entry = django_settings.CELERY_BEAT_SCHEDULE["audits-plan"]
    app.loader.import_default_modules()

    assert entry["task"] == "audits.tasks.plan_audits" and entry["task"] in app.tasks
    assert 0 < entry["options"]["expires"] < entry["schedule"].total_seconds()


# --------------------------------------------------------------------------- overlapping runs


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_plan_runs_create_each_occurrence_once(settings):
    settings.TIME_ZONE = "Europe/London"
    location = factories.LocationFactory()
    schedule = ScheduleFactory(location=location, frequency=Frequency.DAILY, starts_on=date(2026, 12, 1))
    people = [factories.EmployeeFactory(location=location) for _ in range(2)]
    schedule.assignee_mode = "each"
    schedule.save()
    schedule.assigned_employees.set(people)

    results, errors = run_overlapping(lambda: occurrences_plan(now=at(2026, 12, 10, 12)))

    assert errors == []
    # 3 Dec (7 days back) to 14 Jan (35 ahead): 43 days × 2 people.
    expected = 43 * 2
    assert Occurrence.objects.count() == expected
    assert results["first"] == expected


# --------------------------------------------------------------------------- admin


@pytest.fixture
def admin_client_(client, admin):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_the_admin_add_form_creates_one_schedule_per_location(
    admin_client_, location_a, location_b, template
):
    response = admin_client_.post(
        reverse("admin:audits_schedule_add"),
        {
            "template": template.pk,
            "locations": [location_a.pk, location_b.pk],
            "frequency": Frequency.MONTHLY,
            "day_of_month": 31,
            "weekdays": "",
            "rule": "",
            "starts_on": "2026-12-01",
            "opens_at": "09:00",
            "due_after_days": 6,
            "due_time": "18:00",
            "assignee_mode": "any",
            "late_allowed_days": 0,
            "active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert sorted(Schedule.objects.values_list("location__code", flat=True)) == ["AAA-01", "BBB-01"]
    assert "2 schedules were created" in response.content.decode()


def test_the_admin_add_form_names_the_faulty_field(admin_client_, location_a, template):
    response = admin_client_.post(
        reverse("admin:audits_schedule_add"),
        {
            "template": template.pk,
            "locations": [location_a.pk],
            "frequency": Frequency.CUSTOM,
            "day_of_month": 1,
            "rule": "FREQ=MINUTELY",
            "starts_on": "2026-12-01",
            "opens_at": "09:00",
            "due_after_days": 6,
            "due_time": "18:00",
            "assignee_mode": "any",
            "late_allowed_days": 0,
        },
    )

    assert response.status_code == 200
    assert "finer than daily" in response.content.decode()
    assert not Schedule.objects.exists()


def test_the_plan_now_action_plans_the_chosen_schedules(admin_client_, location_a, template):
    schedule = ScheduleFactory(template=template, location=location_a, frequency=Frequency.DAILY)

    response = admin_client_.post(
        reverse("admin:audits_schedule_changelist"),
        {"action": "plan_now", "_selected_action": [schedule.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert Occurrence.objects.filter(schedule=schedule).exists()
    assert "occurrences were planned" in response.content.decode()


def test_admin_pages_have_a_fixed_number_of_queries(
    admin_client_, location_a, template, django_assert_max_num_queries
):
    for _ in range(3):
        ScheduleFactory(template=template, location=factories.LocationFactory(), frequency=Frequency.DAILY)
    occurrences_plan()
    occurrence = Occurrence.objects.first()

    for url in (
        reverse("admin:audits_schedule_changelist"),
        reverse("admin:audits_schedule_add"),
        reverse("admin:audits_occurrence_changelist"),
        reverse("admin:audits_occurrence_change", args=[occurrence.pk]),
        reverse("admin:audits_externalevaluator_changelist"),
    ):
        with django_assert_max_num_queries(20):
            assert admin_client_.get(url).status_code == 200


def test_occurrences_are_read_only_in_the_admin(admin_client_, location_a, template):
    ScheduleFactory(template=template, location=location_a, frequency=Frequency.DAILY)
    occurrences_plan()
    occurrence = Occurrence.objects.first()

    assert admin_client_.get(reverse("admin:audits_occurrence_add")).status_code == 403
    admin_client_.post(reverse("admin:audits_occurrence_change", args=[occurrence.pk]), {"status": "done"})
    occurrence.refresh_from_db()
    assert occurrence.status != OccurrenceStatus.DONE
