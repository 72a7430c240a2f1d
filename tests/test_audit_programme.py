"""The audit programme page: planned vs done vs late vs missed per location and month, against a
hand-built set of occurrences; scope, query budget, filters and the empty state."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from itertools import count

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audits import selectors
from audits.models import AuditTemplate, Occurrence, TemplateStatus
from tests import factories
from tests.audit_factories import AuditTemplateFactory, OccurrenceFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

URL = "audit_programme:overview"
_days = count()


def months_back(n: int) -> date:
    return selectors.add_months(selectors.month_start(timezone.localdate()), -n)


def occurrence(schedule, due: datetime, status: str) -> Occurrence:
    """One planned audit due at `due` (aware) with `status`; done and late ones have a completion."""
    completed = {"done": due - timedelta(hours=2), "late": due + timedelta(days=1)}.get(status)
    return OccurrenceFactory(
        schedule=schedule,
        # The key keeps (schedule, day, assignee) unique when a test plans two on one day.
        assignee_key=f"t{next(_days)}",
        scheduled_for=timezone.localtime(due).date(),
        opens_at=due - timedelta(days=2),
        due_at=due,
        closes_at=due + timedelta(days=3) if status == "late" else due,
        status=status,
        completed_at=completed,
    )


def local(day: date, hour: int = 18) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


@pytest.fixture
def programme(location_a, location_b):
    """Two templates at Alpha Street (the manager's) and one at Beta Road (the other manager's).

    Alpha Street, two months back (M2), template "Store walk" (v1 and v2, one lineage):
      3 done, 1 late                          → on time 3 of 4 closed = 75%
    Alpha Street, last month (M1):
      Store walk: 1 done, 1 missed, 1 open past its due time (overdue, not closed)
      Manager self-audit: 1 late, 1 missed
      → planned 5; closed 4 (1 done + 1 late + 2 missed); on time 1 of 4 = 25%
    Beta Road, M1: Store walk, 2 done         → 2 of 2 = 100%
    """
    walk_v1 = AuditTemplateFactory(title="Store walk", status=TemplateStatus.RETIRED)
    walk_v2 = AuditTemplateFactory(
        title="Store walk", lineage=walk_v1.lineage, version=2, status=TemplateStatus.PUBLISHED
    )
    self_audit = AuditTemplateFactory(title="Manager self-audit")
    m2, m1 = months_back(2), months_back(1)
    walk_a_v1 = ScheduleFactory(template=walk_v1, location=location_a)
    walk_a_v2 = ScheduleFactory(template=walk_v2, location=location_a)
    self_a = ScheduleFactory(template=self_audit, location=location_a)
    walk_b = ScheduleFactory(template=walk_v2, location=location_b)
    for day_of_month, status in ((3, "done"), (5, "done"), (7, "late")):
        occurrence(walk_a_v1, local(m2.replace(day=day_of_month)), status)
    occurrence(walk_a_v2, local(m2.replace(day=20)), "done")
    occurrence(walk_a_v2, local(m1.replace(day=4)), "done")
    missed = occurrence(walk_a_v2, local(m1.replace(day=8)), "missed")
    overdue = occurrence(walk_a_v2, local(m1.replace(day=12)), "open")
    occurrence(self_a, local(m1.replace(day=9)), "late")
    missed_self = occurrence(self_a, local(m1.replace(day=16)), "missed")
    occurrence(walk_b, local(m1.replace(day=4)), "done")
    occurrence(walk_b, local(m1.replace(day=6)), "done")
    return {
        "walk": walk_v2,
        "self_audit": self_audit,
        "m1": m1,
        "m2": m2,
        "missed": [missed, missed_self],
        "overdue": overdue,
    }


def _cell(row, month):
    return dict(row.cells)[month]


def test_heatmap_counts_each_location_and_month_by_hand(client, manager, location_a, programme):
    client.force_login(manager)

    response = client.get(reverse(URL))

    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.location == location_a
    m2, m1 = _cell(row, programme["m2"]), _cell(row, programme["m1"])
    assert (m2.planned, m2.done, m2.late, m2.missed, m2.overdue) == (4, 3, 1, 0, 0)
    assert m2.on_time_rate == 3 / 4
    assert (m1.planned, m1.done, m1.late, m1.missed, m1.overdue) == (5, 1, 1, 2, 1)
    assert m1.closed == 4 and m1.on_time_rate == 1 / 4
    assert (m2.band, m1.band) == ("near", "below")
    # The row: 9 planned, 4 done on time of 8 closed.
    assert row.total.on_time_rate == 4 / 8
    content = response.content.decode()
    assert "75% on time (n = 4)" in content
    assert "25% on time (n = 4)" in content
    assert "5 planned · 1 done · 1 late · 2 missed · 1 overdue" in content


def test_template_summary_counts_every_version_of_a_template(client, manager, programme):
    client.force_login(manager)

    response = client.get(reverse(URL))

    rows = {row.title: row.tally for row in response.context["templates"]}
    # Store walk: M2 2 done + 1 late on v1 and 1 done on v2; M1 1 done, 1 missed, 1 open
    # → 7 planned, 6 closed, on time 3 + 1 = 4 of 6 = 67%.
    walk = rows["Store walk"]
    assert (walk.planned, walk.done, walk.late, walk.missed, walk.overdue) == (7, 4, 1, 1, 1)
    assert walk.rate_words == "67% on time (n = 6)"
    self_audit = rows["Manager self-audit"]
    assert (self_audit.planned, self_audit.late, self_audit.missed) == (2, 1, 1)
    assert self_audit.rate_words == "0% on time (n = 2)"
    total = response.context["total"]
    assert (total.planned, total.closed, total.done) == (9, 8, 4)
    assert total.rate_words == "50% on time (n = 8)"


def test_overdue_list_puts_the_open_past_due_first_then_the_missed(client, manager, programme):
    client.force_login(manager)

    response = client.get(reverse(URL))

    listed = [item["occurrence"] for item in response.context["overdue"]]
    # The open one first; then the missed, by due date (8th before 16th).
    assert listed == [programme["overdue"], *programme["missed"]]
    first = response.context["overdue"][0]
    assert first["due"].startswith(f"due {programme['m1'].replace(day=12):%-d %b %Y}, ")
    assert first["due"].endswith("days ago")
    assert first["assignee"] == "nobody assigned"
    content = response.content.decode()
    assert content.index("To chase") < content.index("By location and month")


def test_the_overdue_list_names_the_assignee(client, manager, programme):
    person = factories.EmployeeFactory(location=programme["overdue"].location)
    schedule = programme["overdue"].schedule
    schedule.assigned_employees.add(person)
    client.force_login(manager)

    response = client.get(reverse(URL))

    assert response.context["overdue"][0]["assignee"] == person.full_name


def test_a_template_filter_keeps_only_its_lineage(client, manager, programme):
    client.force_login(manager)

    response = client.get(reverse(URL), {"template": str(programme["self_audit"].lineage)})

    (row,) = response.context["rows"]
    m1 = _cell(row, programme["m1"])
    assert (m1.planned, m1.late, m1.missed) == (2, 1, 1)
    assert _cell(row, programme["m2"]).planned == 0
    assert [item["occurrence"] for item in response.context["overdue"]] == [programme["missed"][1]]


def test_a_months_range_limits_the_heatmap_and_the_missed(client, manager, programme):
    client.force_login(manager)
    m2 = programme["m2"]

    response = client.get(reverse(URL), {"start": f"{m2:%Y-%m}", "end": f"{m2:%Y-%m}"})

    assert response.context["filters"].months == [m2]
    (row,) = response.context["rows"]
    assert row.total.planned == 4
    # The missed audits were due last month: out of range. The overdue one is still to be done.
    assert [item["occurrence"] for item in response.context["overdue"]] == [programme["overdue"]]


def test_months_are_local_months(client, admin, location_a, settings):
    # 00:30 on the 1st in Tokyo is 15:30 the day before in UTC: it belongs to the month it starts.
    settings.TIME_ZONE = "Asia/Tokyo"
    m1 = months_back(1)
    schedule = ScheduleFactory(location=location_a)
    occurrence(schedule, local(m1, hour=0) + timedelta(minutes=30), "done")
    client.force_login(admin)

    response = client.get(reverse(URL))

    (row,) = response.context["rows"]
    assert _cell(row, m1).done == 1
    assert _cell(row, selectors.add_months(m1, -1)).planned == 0


def test_a_region_filter_keeps_its_locations(client, admin, location_a, location_b, programme):
    client.force_login(admin)

    response = client.get(reverse(URL), {"region": "South"})

    assert [row.location for row in response.context["rows"]] == [location_b]
    assert response.context["total"].planned == 2


def test_a_malformed_month_is_explained_and_the_defaults_shown(client, manager, programme):
    client.force_login(manager)

    response = client.get(reverse(URL), {"start": "2026-13"})

    assert response.status_code == 200
    assert "Give a month as YYYY-MM" in response.content.decode()
    assert len(response.context["filters"].months) == selectors.DEFAULT_MONTHS


def test_a_range_backwards_or_too_long_is_refused_by_field(client, manager, programme):
    client.force_login(manager)

    backwards = client.get(reverse(URL), {"start": "2026-05", "end": "2026-02"})
    too_long = client.get(reverse(URL), {"start": "2020-01", "end": "2026-02"})

    assert "The last month comes after the first." in backwards.content.decode()
    assert f"at most {selectors.MAX_MONTHS} months" in too_long.content.decode()


# --------------------------------------------------------------------------- scope


def test_manager_of_another_location_sees_none_of_ours(client, other_manager, location_b, programme):
    client.force_login(other_manager)

    response = client.get(reverse(URL))

    assert [row.location for row in response.context["rows"]] == [location_b]
    assert response.context["overdue"] == []
    assert response.context["total"].planned == 2
    assert "Alpha Street" not in response.content.decode()


def test_a_location_outside_scope_answers_404(client, other_manager, location_a, programme):
    client.force_login(other_manager)

    assert client.get(reverse(URL), {"location": location_a.pk}).status_code == 404
    assert client.get(reverse(URL), {"location": "x"}).status_code == 404


def test_admin_sees_every_location(client, admin, location_a, location_b, programme):
    client.force_login(admin)

    response = client.get(reverse(URL))

    assert [row.location for row in response.context["rows"]] == [location_a, location_b]
    assert response.context["total"].planned == 11


def test_staff_are_refused(client, staff, programme):
    client.force_login(staff)

    assert client.get(reverse(URL)).status_code == 403


def test_anonymous_is_sent_to_log_in(client, programme):
    response = client.get(reverse(URL))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# --------------------------------------------------------------------------- empty state and budget


def test_without_audits_the_admin_is_told_how_to_plan_them(client, admin):
    client.force_login(admin)

    response = client.get(reverse(URL))

    content = response.content.decode()
    assert "No audits planned in these months" in content
    assert reverse("admin:audits_schedule_changelist") in content
    assert "Nothing to chase" in content


def test_without_audits_a_manager_is_told_whom_to_ask(client, manager):
    client.force_login(manager)

    content = client.get(reverse(URL)).content.decode()

    assert "ask an administrator to schedule audits" in content


def _many(locations: int, per_month: int) -> None:
    template = AuditTemplate.objects.get(title="Manager self-audit")
    for _ in range(locations):
        schedule = ScheduleFactory(template=template, location=factories.LocationFactory(region="East"))
        for month in range(1, 4):
            for k in range(per_month):
                status = ("done", "late", "missed", "open")[k % 4]
                occurrence(schedule, local(months_back(month).replace(day=k + 1)), status)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_the_page_costs_the_same_queries_whatever_the_data(
    request, client, programme, role, django_assert_max_num_queries
):
    user = request.getfixturevalue(role)
    client.force_login(user)
    with django_assert_max_num_queries(16) as small:
        assert client.get(reverse(URL)).status_code == 200
    _many(locations=30, per_month=4)
    with django_assert_max_num_queries(16) as large:
        response = client.get(reverse(URL))
    assert response.status_code == 200
    assert len(large) == len(small)
    if role == "admin":
        # 32 locations with audits: the first page holds 25.
        assert len(response.context["rows"]) == 25
        assert response.context["location_page"].paginator.count == 32
