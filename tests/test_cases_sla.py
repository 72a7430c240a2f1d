"""The SLA clock: which policy applies, and how opening hours count across weekends, closed days and
the DST changes of Europe/London (2026: spring forward Sunday 29 March at 01:00 GMT, fall back Sunday
25 October at 02:00 BST)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from cases.models import CaseOrigin, Severity, SlaPolicy
from cases.services.core import case_open
from cases.sla import (
    DeadlineRequest,
    add_opening_days,
    add_opening_hours,
    deadlines_for,
    deadlines_for_many,
    opening_hours_between,
    opening_schedules,
    policy_for,
    subtract_opening_hours,
)
from organization.models import OpeningHours
from tests import factories

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def london_time(settings):
    settings.TIME_ZONE = "Europe/London"


def at(year, month, day, hour=0, minute=0) -> datetime:
    """A wall-clock time in London."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def open_hours(location, days, opens=time(9), closes=time(17)):
    for weekday in days:
        OpeningHours.objects.create(location=location, weekday=weekday, opens_at=opens, closes_at=closes)


@pytest.fixture
def store(db):
    """Open Monday to Friday 09:00–17:00, closed at the weekend."""
    location = factories.LocationFactory(code="SHOP-01")
    open_hours(location, range(5))
    return location


@pytest.fixture
def contact_centre(db):
    """No opening hours: open around the clock."""
    return factories.LocationFactory(code="CALL-01")


def policy(**fields) -> SlaPolicy:
    values = {
        "name": "Normal",
        "severity": Severity.NORMAL,
        "acknowledge_within_hours": 4,
        "resolve_within_days": 2,
        **fields,
    }
    made = SlaPolicy(**values)
    made.full_clean()
    made.save()
    return made


# --------------------------------------------------------------------------- which policy


def test_the_most_specific_active_policy_of_the_severity_applies(store, contact_centre):
    touchpoint = factories.TouchpointFactory()
    general = policy(name="General")
    by_touchpoint = policy(name="Touchpoint", touchpoint=touchpoint)
    by_location = policy(name="Location", location=store)
    both = policy(name="Both", location=store, touchpoint=touchpoint)
    policy(name="Urgent", severity=Severity.URGENT, acknowledge_within_hours=1)
    policy(name="Retired", severity=Severity.HIGH, active=False)

    def chosen(location, touchpoint_id, severity=Severity.NORMAL):
        return policy_for(severity=severity, location_id=location.pk, touchpoint_id=touchpoint_id)

    assert chosen(store, touchpoint.pk) == both
    assert chosen(store, None) == by_location
    assert chosen(contact_centre, touchpoint.pk) == by_touchpoint
    assert chosen(contact_centre, None) == general
    assert chosen(store, None, Severity.HIGH) is None  # only a retired policy


def test_many_cases_get_the_same_deadlines_as_one_at_a_time_in_two_queries(
    store, contact_centre, django_assert_num_queries
):
    touchpoint = factories.TouchpointFactory()
    policy(name="General")
    policy(name="Store", location=store, acknowledge_within_hours=2, resolve_within_days=1)
    policy(name="Urgent", severity=Severity.URGENT, touchpoint=touchpoint, acknowledge_within_hours=1)
    requests = [
        DeadlineRequest(Severity.NORMAL, store.pk, None, at(2026, 6, 12, 15)),
        DeadlineRequest(Severity.NORMAL, contact_centre.pk, touchpoint.pk, at(2026, 6, 12, 15)),
        DeadlineRequest(Severity.URGENT, store.pk, touchpoint.pk, at(2026, 6, 13, 10)),
        DeadlineRequest(Severity.LOW, store.pk, None, at(2026, 6, 13, 10)),
    ] * 5
    one_by_one = [
        deadlines_for(
            severity=r.severity,
            location_id=r.location_id,
            touchpoint_id=r.touchpoint_id,
            opened_at=r.opened_at,
        )
        for r in requests
    ]

    with django_assert_num_queries(2):
        together = deadlines_for_many(requests)

    assert together == one_by_one
    # Store, Friday 15:00: 2 opening hours → 17:00; one opening day → Monday 15:00.
    assert together[0].acknowledge_due_at == at(2026, 6, 12, 17)
    assert together[0].resolve_due_at == at(2026, 6, 15, 15)
    assert together[3].policy is None and together[3].resolve_due_at is None


def test_opening_a_case_sets_its_deadlines_on_the_locations_clock(store, manager):
    policy(acknowledge_within_hours=3, resolve_within_days=1)
    case = case_open(
        location=store, title="Parcel lost", origin=CaseOrigin.PHONE, opened_at=at(2026, 6, 12, 16)
    )
    # Friday 16:00 + 3 opening hours: Friday 16–17 (1 h), Monday 09–11 (2 h) → Monday 11:00.
    assert case.acknowledge_due_at == at(2026, 6, 15, 11)
    # One opening day after Friday, 7 hours into the day: Monday 16:00.
    assert case.resolve_due_at == at(2026, 6, 15, 16)


# --------------------------------------------------------------------------- opening hours


def test_the_clock_stops_over_the_weekend(store):
    # Friday 12 June 2026 16:00 BST + 3 h: Friday 16:00–17:00 is 1 h, Saturday and Sunday closed,
    # Monday 09:00 + the other 2 h = Monday 11:00.
    assert add_opening_hours(at(2026, 6, 12, 16), 3, location_id=store.pk) == at(2026, 6, 15, 11)
    # Opened on Saturday: the clock starts at Monday's opening. 09:00 + 8 h = 17:00 (the whole day).
    assert add_opening_hours(at(2026, 6, 13, 11), 8, location_id=store.pk) == at(2026, 6, 15, 17)
    # And back: 2 h before Monday 10:00 is 1 h of Monday and the last hour of Friday: Friday 16:00.
    assert subtract_opening_hours(at(2026, 6, 15, 10), 2, location_id=store.pk) == at(2026, 6, 12, 16)
    # Friday 16:00 to Monday 10:00 holds 2 opening hours, not 66.
    assert opening_hours_between(at(2026, 6, 12, 16), at(2026, 6, 15, 10), location_id=store.pk) == 2.0


def test_a_weekday_without_a_row_is_closed(db):
    location = factories.LocationFactory(code="HALF-01")
    open_hours(location, [0, 1, 3, 4])  # Wednesday has no row
    # Tuesday 9 June 2026 16:00 + 3 h: Tuesday 16–17 (1 h), Wednesday closed, Thursday 09–11 (2 h).
    assert add_opening_hours(at(2026, 6, 9, 16), 3, location_id=location.pk) == at(2026, 6, 11, 11)
    # A case opened on the closed Wednesday starts counting on Thursday at 09:00.
    assert add_opening_hours(at(2026, 6, 10, 12), 1, location_id=location.pk) == at(2026, 6, 11, 10)
    assert opening_hours_between(at(2026, 6, 10, 0), at(2026, 6, 11, 0), location_id=location.pk) == 0.0


def test_spring_forward_keeps_opening_at_nine_on_the_wall(store):
    # Friday 27 March 2026 15:00 GMT (15:00 UTC) + 4 h: Friday 15–17 GMT (2 h); the clocks go forward
    # on Sunday, so Monday opens at 09:00 BST = 08:00 UTC; + 2 h = 11:00 BST = 10:00 UTC.
    due = add_opening_hours(at(2026, 3, 27, 15), 4, location_id=store.pk)
    assert due == at(2026, 3, 30, 11) == utc(2026, 3, 30, 10)
    # Arithmetic on a fixed UTC offset would have opened Monday at 09:00 UTC and said 12:00 BST.
    assert due != utc(2026, 3, 30, 11)


def test_fall_back_keeps_opening_at_nine_on_the_wall(store):
    # Friday 23 October 2026 15:00 BST (14:00 UTC) + 4 h: Friday 15–17 BST (2 h); after Sunday's fall
    # back Monday opens at 09:00 GMT = 09:00 UTC; + 2 h = 11:00 GMT = 11:00 UTC.
    due = add_opening_hours(at(2026, 10, 23, 15), 4, location_id=store.pk)
    assert due == at(2026, 10, 26, 11) == utc(2026, 10, 26, 11)


def test_hours_open_across_the_change_count_as_they_pass(db):
    # A night opening on Sundays, 00:00–06:00 on the wall: on 29 March it lasts 5 real hours (01:00
    # GMT jumps to 02:00 BST), on 25 October 7 (02:00 BST falls back to 01:00 GMT), otherwise 6.
    location = factories.LocationFactory(code="NIGHT-01")
    open_hours(location, [6], opens=time(0), closes=time(6))

    def sunday(day_in_march_or_october, month):
        start = at(2026, month, day_in_march_or_october)
        return opening_hours_between(
            start, at(2026, month, day_in_march_or_october, 12), location_id=location.pk
        )

    assert sunday(29, 3) == 5.0
    assert sunday(25, 10) == 7.0
    assert sunday(22, 3) == 6.0
    # 5 hours after Sunday 29 March 00:00 GMT is the closing time 06:00 BST (05:00 UTC).
    assert add_opening_hours(at(2026, 3, 29), 5, location_id=location.pk) == utc(2026, 3, 29, 5)


def test_round_the_clock_counts_elapsed_hours_through_the_change(contact_centre):
    # Saturday 28 March 2026 12:00 GMT + 24 h = Sunday 12:00 UTC, which is 13:00 BST on the wall.
    assert add_opening_hours(at(2026, 3, 28, 12), 24, location_id=contact_centre.pk) == at(2026, 3, 29, 13)
    # A resolve deadline of 2 days is 48 elapsed hours: Saturday 24 October 12:00 BST (11:00 UTC)
    # → Monday 26 October 11:00 UTC = 11:00 GMT.
    assert add_opening_days(at(2026, 10, 24, 12), 2, location_id=contact_centre.pk) == at(2026, 10, 26, 11)
    # The weekend counts like any other time.
    assert (
        opening_hours_between(at(2026, 6, 12, 16), at(2026, 6, 15, 10), location_id=contact_centre.pk) == 66.0
    )


def test_resolve_days_are_opening_days_at_the_same_point_of_the_day(db):
    # Monday–Friday 09:00–17:00, Saturday 10:00–14:00, Sunday closed.
    location = factories.LocationFactory(code="SHOP-02")
    open_hours(location, range(5))
    open_hours(location, [5], opens=time(10), closes=time(14))

    def due(opened, days):
        return add_opening_days(opened, days, location_id=location.pk)

    # Monday 8 June 15:00 is 6 h into the day; one opening day later, Tuesday 09:00 + 6 h = 15:00.
    assert due(at(2026, 6, 8, 15), 1) == at(2026, 6, 9, 15)
    # Friday 12 June 15:00, 1 day: Saturday 10:00 + 6 h = 16:00 is past its 14:00 closing → 14:00.
    assert due(at(2026, 6, 12, 15), 1) == at(2026, 6, 13, 14)
    # Friday 12 June 11:00, 2 days: Saturday, then Sunday is closed, so Monday 09:00 + 2 h = 11:00.
    assert due(at(2026, 6, 12, 11), 2) == at(2026, 6, 15, 11)
    # Saturday 13 June 18:00 (after closing): its opening day is Monday at 09:00; 2 days → Wednesday 09:00.
    assert due(at(2026, 6, 13, 18), 2) == at(2026, 6, 17, 9)
    # Before opening counts from the opening: Monday 07:00, 1 day → Tuesday 09:00.
    assert due(at(2026, 6, 8, 7), 1) == at(2026, 6, 9, 9)
    # Across spring forward: Friday 27 March 15:00 GMT, 1 day → Saturday 28 March 14:00 GMT (cut at
    # closing); 2 days → Monday 30 March 15:00 BST: the same wall-clock time, an hour less in UTC.
    assert due(at(2026, 3, 27, 15), 2) == at(2026, 3, 30, 15) == utc(2026, 3, 30, 14)


def test_one_query_loads_the_hours_of_many_locations(store, contact_centre, django_assert_num_queries):
    with django_assert_num_queries(1):
        schedules = opening_schedules([store.pk, contact_centre.pk])
    assert schedules[contact_centre.pk].round_the_clock
    with django_assert_num_queries(0):
        assert add_opening_hours(
            at(2026, 6, 12, 16), 3, location_id=store.pk, schedule=schedules[store.pk]
        ) == at(2026, 6, 15, 11)


def test_a_week_too_short_to_hold_the_time_gives_no_deadline_instead_of_an_error(db):
    # One minute a week cannot hold 720 opening hours within the clock's range: the case still opens.
    location = factories.LocationFactory(code="RARE-01")
    OpeningHours.objects.create(location=location, weekday=0, opens_at=time(9), closes_at=time(9, 1))
    policy(acknowledge_within_hours=720, location=location)
    case = case_open(location=location, title="Rare", origin=CaseOrigin.PHONE, opened_at=at(2026, 6, 8, 8))
    assert case.sla_policy is not None
    assert case.acknowledge_due_at is None and case.resolve_due_at is None


# --------------------------------------------------------------------------- admin


@pytest.fixture
def root_client(client, db):
    client.force_login(
        get_user_model().objects.create_superuser("root", "root@example.com", "pw-long-enough")
    )
    return client


def location_post(location, rows):
    data = {
        "code": location.code,
        "name": location.name,
        "region": location.region,
        "active": "on",
        "teams-TOTAL_FORMS": "0",
        "teams-INITIAL_FORMS": "0",
        "opening_hours-TOTAL_FORMS": str(len(rows)),
        "opening_hours-INITIAL_FORMS": "0",
    }
    for i, (weekday, opens, closes) in enumerate(rows):
        data |= {
            f"opening_hours-{i}-weekday": str(weekday),
            f"opening_hours-{i}-opens_at": opens,
            f"opening_hours-{i}-closes_at": closes,
        }
    return data


def test_the_location_admin_edits_opening_hours_and_says_what_no_rows_mean(root_client, contact_centre):
    url = f"/admin/organization/location/{contact_centre.pk}/change/"
    page = root_client.get(url).content.decode()
    assert "No rows at all: open around the clock" in page
    assert "A weekday without a row: closed all day" in page

    response = root_client.post(
        url, location_post(contact_centre, [(0, "09:00", "17:00"), (5, "10:00", "14:00")])
    )

    assert response.status_code == 302
    assert set(contact_centre.opening_hours.values_list("weekday", "opens_at", "closes_at")) == {
        (0, time(9), time(17)),
        (5, time(10), time(14)),
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(0, "17:00", "09:00")], "Closing time must be after opening time."),
        ([(0, "09:00", "17:00"), (0, "10:00", "12:00")], "Please correct the duplicate data for weekday"),
        ([(0, "9 o'clock", "17:00")], "Enter a valid time."),
    ],
    ids=["closing-before-opening", "weekday-twice", "not-a-time"],
)
def test_bad_opening_hours_are_refused_naming_the_field(root_client, contact_centre, rows, message):
    url = f"/admin/organization/location/{contact_centre.pk}/change/"
    response = root_client.post(url, location_post(contact_centre, rows))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not contact_centre.opening_hours.exists()
