"""The consequence pages: the managers' inbox and detail page with approve → deliver → close, the
recognition wall, and each employee's own recognitions and coaching — who sees what, and what they do."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consequences.models import Action, Consequence, ConsequenceStatus, Polarity, SubjectKind
from measurement.models import DeviationStatus
from tests import factories

TODAY = date.today()


# --- Data ---------------------------------------------------------------------------------


def scorecard(location, *, months_back=1, observations=40, passed=38):
    start = (TODAY.replace(day=1) - timedelta(days=31 * months_back)).replace(day=1)
    return factories.ScorecardFactory(
        location=location,
        period_start=start,
        observations=observations,
        passed=passed,
        pass_rate=passed / observations,
        target_rate=0.9,
    )


def coaching(location, **extra):
    extra.setdefault("summary", f"Coaching at {location.name}")
    extra.setdefault("due_on", TODAY + timedelta(days=14))
    return factories.ConsequenceFactory(location=location, **extra)


def recognition(location, *, status=ConsequenceStatus.DELIVERED, evidence=(), **extra):
    given = timezone.now() - timedelta(days=extra.pop("days_ago", 1))
    consequence = factories.ConsequenceFactory(
        location=location,
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
        status=status,
        approved_at=given if status != ConsequenceStatus.PROPOSED else None,
        delivered_at=given if status in (ConsequenceStatus.DELIVERED, ConsequenceStatus.CLOSED) else None,
        closed_at=given if status == ConsequenceStatus.CLOSED else None,
        closure_note="Thanked at the team meeting." if status == ConsequenceStatus.CLOSED else "",
        **extra,
    )
    consequence.evidence.set(evidence)
    return consequence


def corrective_action(location, **extra):
    deviation = factories.DeviationFactory(
        observation__location=location, observation__comment="Till left unattended with the drawer open."
    )
    return factories.ConsequenceFactory(
        location=location,
        action=Action.CORRECTIVE_ACTION,
        deviation=deviation,
        summary=f"Corrective action: {deviation.standard.code} not met",
        due_on=TODAY + timedelta(days=7),
        **extra,
    )


@pytest.fixture
def coaching_a(location_a):
    return coaching(location_a, summary="Coaching on greeting at Alpha")


@pytest.fixture
def coaching_b(location_b):
    return coaching(location_b, summary="Coaching on greeting at Beta")


def get(client, user, url, data=None):
    if user is not None:
        client.force_login(user)
    return client.get(url, data or {})


def statuses_shown(response):
    return [row["consequence"].pk for row in response.context["rows"]]


# --- Access: every page × role --------------------------------------------------------------

PAGES = ["consequences:inbox", "consequences:recognition-wall", "consequences:mine"]


@pytest.mark.parametrize("url_name", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_anonymous_visitors_are_sent_to_login_from_a_consequence_and_its_steps(client, coaching_a):
    assert reverse("login") in client.get(reverse("consequences:detail", args=[coaching_a.pk]))["Location"]
    for step in ("approve", "deliver", "close"):
        response = client.post(reverse(f"consequences:{step}", args=[coaching_a.pk]), {"closure_note": "x"})
        assert response.status_code == 302 and reverse("login") in response["Location"]
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.PROPOSED


@pytest.mark.parametrize(("url_name", "expected"), [(PAGES[0], 403), (PAGES[1], 200), (PAGES[2], 200)])
def test_staff_see_the_wall_and_their_own_items_but_not_the_inbox(client, staff, url_name, expected):
    assert get(client, staff, reverse(url_name)).status_code == expected


def test_staff_cannot_open_or_move_a_consequence_about_their_location(client, staff, coaching_a):
    client.force_login(staff)
    assert client.get(reverse("consequences:detail", args=[coaching_a.pk])).status_code == 403
    assert client.post(reverse("consequences:approve", args=[coaching_a.pk])).status_code == 403
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.PROPOSED


@pytest.mark.parametrize("url_name", PAGES)
@pytest.mark.parametrize("role", ["manager", "other_manager", "admin"])
def test_managers_and_admins_open_every_page(client, request, role, url_name, coaching_a, coaching_b):
    assert get(client, request.getfixturevalue(role), reverse(url_name)).status_code == 200


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 302), ("staff", 403), ("manager", 200), ("other_manager", 404), ("admin", 200)],
)
def test_a_consequence_page_by_role(client, request, role, expected, coaching_a):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    assert get(client, user, reverse("consequences:detail", args=[coaching_a.pk])).status_code == expected


@pytest.mark.parametrize("step", ["approve", "deliver", "close"])
def test_another_locations_manager_cannot_move_a_consequence(client, other_manager, location_a, step):
    consequence = coaching(location_a, status=ConsequenceStatus.DELIVERED)
    client.force_login(other_manager)
    response = client.post(
        reverse(f"consequences:{step}", args=[consequence.pk]), {"closure_note": "Done and dusted."}
    )
    assert response.status_code == 404
    consequence.refresh_from_db()
    assert consequence.status == ConsequenceStatus.DELIVERED and consequence.closure_note == ""


def test_a_manager_may_not_judge_a_consequence_about_themselves(client, manager, location_a):
    about_me = coaching(location_a, subject_kind=SubjectKind.EMPLOYEE, employee=manager.employee)
    client.force_login(manager)
    assert client.post(reverse("consequences:approve", args=[about_me.pk])).status_code == 403
    about_me.refresh_from_db()
    assert about_me.status == ConsequenceStatus.PROPOSED
    page = client.get(reverse("consequences:detail", args=[about_me.pk])).content.decode()
    assert (
        "This consequence is about you" in page
        and reverse("consequences:approve", args=[about_me.pk]) not in page
    )


def test_the_steps_answer_only_posts(client, manager, coaching_a):
    client.force_login(manager)
    assert client.get(reverse("consequences:approve", args=[coaching_a.pk])).status_code == 405


# --- The inbox --------------------------------------------------------------------------------


def test_a_manager_sees_only_their_locations_consequences(client, manager, coaching_a, coaching_b):
    response = get(client, manager, reverse("consequences:inbox"))
    assert statuses_shown(response) == [coaching_a.pk]
    page = response.content.decode()
    assert "Coaching on greeting at Alpha" in page and "at Beta" not in page


def test_another_manager_sees_only_theirs(client, other_manager, coaching_a, coaching_b):
    assert statuses_shown(get(client, other_manager, reverse("consequences:inbox"))) == [coaching_b.pk]


def test_an_admin_sees_every_location(client, admin, coaching_a, coaching_b):
    assert set(statuses_shown(get(client, admin, reverse("consequences:inbox")))) == {
        coaching_a.pk,
        coaching_b.pk,
    }


def test_deviations_come_first_then_overdue_then_by_status(client, manager, location_a):
    delivered = coaching(location_a, status=ConsequenceStatus.DELIVERED, due_on=TODAY + timedelta(days=1))
    approved = coaching(location_a, status=ConsequenceStatus.APPROVED, due_on=TODAY + timedelta(days=1))
    proposed = coaching(location_a, due_on=TODAY + timedelta(days=30))
    overdue = coaching(location_a, status=ConsequenceStatus.APPROVED, due_on=TODAY - timedelta(days=3))
    deviation = corrective_action(location_a)
    closed = coaching(
        location_a, status=ConsequenceStatus.CLOSED, closure_note="Done.", closed_at=timezone.now()
    )

    shown = statuses_shown(get(client, manager, reverse("consequences:inbox")))

    assert shown == [deviation.pk, overdue.pk, proposed.pk, approved.pk, delivered.pk]
    assert closed.pk not in shown


def test_rows_show_polarity_evidence_deviation_owner_and_overdue(client, manager, location_a):
    praised = recognition(
        location_a, status=ConsequenceStatus.PROPOSED, evidence=[scorecard(location_a, passed=37)]
    )
    late = coaching(location_a, owner=manager, due_on=TODAY - timedelta(days=2))
    fix = corrective_action(location_a)

    page = get(client, manager, reverse("consequences:inbox")).content.decode()

    assert "polarity-badge--positive" in page and "polarity-badge--negative" in page
    assert "consequence-row--positive" in page
    assert "93% (n = 40)" in page  # 37 of 40, with its sample size
    assert fix.deviation.standard.code in page and "Till left unattended with the drawer open." in page
    assert "Overdue" in page and manager.get_full_name() in page
    assert praised.summary in page and late.summary in page


def test_filters_narrow_the_inbox(client, admin, location_a, location_b):
    proposed_a = coaching(location_a)
    approved_b = coaching(location_b, status=ConsequenceStatus.APPROVED)
    overdue_a = coaching(location_a, status=ConsequenceStatus.APPROVED, due_on=TODAY - timedelta(days=1))
    praise_b = recognition(location_b, status=ConsequenceStatus.APPROVED)
    closed_a = coaching(
        location_a, status=ConsequenceStatus.CLOSED, closure_note="x", closed_at=timezone.now()
    )
    client.force_login(admin)

    def shown(**params):
        return set(statuses_shown(client.get(reverse("consequences:inbox"), params)))

    assert shown() == {proposed_a.pk, approved_b.pk, overdue_a.pk, praise_b.pk}
    assert shown(status="approved") == {approved_b.pk, overdue_a.pk, praise_b.pk}
    assert shown(status="closed") == {closed_a.pk}
    assert shown(action="recognition") == {praise_b.pk}
    assert shown(overdue="on") == {overdue_a.pk}
    assert shown(location=location_a.pk) == {proposed_a.pk, overdue_a.pk}
    # An unknown choice is reported on the form and filters nothing.
    response = client.get(reverse("consequences:inbox"), {"status": "excused"})
    assert response.context["filters"].errors["status"]


def test_a_manager_cannot_filter_by_a_location_they_do_not_see(
    client, manager, coaching_a, coaching_b, location_b
):
    response = get(client, manager, reverse("consequences:inbox"), {"location": location_b.pk})
    assert response.context["filters"].errors["location"]
    assert statuses_shown(response) == [coaching_a.pk]


def test_open_deviations_without_a_corrective_action_are_listed_first_with_their_count(
    client, manager, location_a, location_b
):
    waiting = factories.DeviationFactory.create_batch(2, observation__location=location_a)
    factories.DeviationFactory(observation__location=location_b)
    corrective_action(location_a)  # answered: not listed

    response = get(client, manager, reverse("consequences:inbox"))

    assert response.context["uncovered_count"] == 2
    assert {d.pk for d in response.context["uncovered"]} == {d.pk for d in waiting}
    assert "2 open deviations without a corrective action" in response.content.decode()


def test_the_inbox_downloads_as_csv_in_scope_with_formulas_neutralised(
    client, manager, location_a, location_b
):
    risky = coaching(location_a, summary='=HYPERLINK("http://evil.example","x")', owner=manager)
    risky.evidence.set([scorecard(location_a)])
    fix = corrective_action(location_a)
    coaching(location_b, summary="Beta only")

    response = get(client, manager, reverse("consequences:inbox"), {"format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in rows] == [str(fix.pk), str(risky.pk)]
    by_id = {row["id"]: row for row in rows}
    assert by_id[str(risky.pk)]["summary"] == '\'=HYPERLINK("http://evil.example","x")'
    assert "95% (n = 40)" in by_id[str(risky.pk)]["evidence"]
    assert by_id[str(fix.pk)]["deviation_standard"].startswith(fix.deviation.standard.code)
    assert "Beta only" not in text


# --- Approve → deliver → close ----------------------------------------------------------------


def test_a_manager_approves_delivers_and_closes_from_the_pages(client, manager, coaching_a):
    client.force_login(manager)
    inbox = reverse("consequences:inbox") + "?status=&action=coaching"

    response = client.post(
        reverse("consequences:approve", args=[coaching_a.pk]), {"next": inbox}, follow=True
    )
    assert response.redirect_chain[-1][0] == inbox
    assert "Coaching session for Alpha Street (AAA-01) approved." in response.content.decode()
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.APPROVED and coaching_a.owner == manager
    assert coaching_a.approved_at is not None

    client.post(reverse("consequences:deliver", args=[coaching_a.pk]), {"next": inbox})
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.DELIVERED and coaching_a.delivered_at is not None

    response = client.post(
        reverse("consequences:close", args=[coaching_a.pk]),
        {"closure_note": "Shadowed at the door for a morning.", "next": inbox},
        follow=True,
    )
    assert "closed." in response.content.decode()
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.CLOSED
    assert coaching_a.closure_note == "Shadowed at the door for a morning."
    page = client.get(reverse("consequences:detail", args=[coaching_a.pk])).content.decode()
    assert "Shadowed at the door for a morning." in page and "Closed: nothing follows." in page
    assert page.count("<time") >= 4  # proposed, approved, delivered, closed


def test_closing_without_a_note_is_refused_with_the_reason_and_the_input_kept(client, manager, coaching_a):
    Consequence.objects.filter(pk=coaching_a.pk).update(status=ConsequenceStatus.DELIVERED)
    client.force_login(manager)

    response = client.post(reverse("consequences:close", args=[coaching_a.pk]), {"closure_note": "   "})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Say what was done before closing." in page
    assert response.context["close_form"]["closure_note"].value() == "   "
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.DELIVERED and coaching_a.closed_at is None


def test_a_step_out_of_order_is_refused_with_a_message(client, manager, coaching_a):
    client.force_login(manager)
    response = client.post(reverse("consequences:deliver", args=[coaching_a.pk]), follow=True)
    assert "can be delivered only when approved; this one is proposed" in response.content.decode()
    coaching_a.refresh_from_db()
    assert coaching_a.status == ConsequenceStatus.PROPOSED


def test_closing_a_closed_consequence_says_so(client, manager, location_a):
    done = coaching(
        location_a, status=ConsequenceStatus.CLOSED, closure_note="Done.", closed_at=timezone.now()
    )
    client.force_login(manager)
    response = client.post(
        reverse("consequences:close", args=[done.pk]), {"closure_note": "Again"}, follow=True
    )
    assert "Nothing follows closing." in response.content.decode()
    done.refresh_from_db()
    assert done.closure_note == "Done."


def test_closing_a_deviations_corrective_action_closes_the_deviation(client, manager, location_a):
    fix = corrective_action(location_a)
    client.force_login(manager)
    for step in ("approve", "deliver"):
        client.post(reverse(f"consequences:{step}", args=[fix.pk]))

    refused = client.post(reverse("consequences:close", args=[fix.pk]), {"closure_note": ""})
    assert "a deviation is closed only by a corrective action" in refused.content.decode()
    fix.deviation.refresh_from_db()
    assert fix.deviation.status == DeviationStatus.OPEN

    response = client.post(
        reverse("consequences:close", args=[fix.pk]),
        {"closure_note": "Retrained on till security; spot-checked for a week."},
        follow=True,
    )
    assert "The deviation it answered is closed too." in response.content.decode()
    fix.deviation.refresh_from_db()
    assert fix.deviation.status == DeviationStatus.CLOSED and fix.deviation.closed_at is not None


def test_a_redirect_elsewhere_is_not_followed(client, manager, coaching_a):
    client.force_login(manager)
    response = client.post(
        reverse("consequences:approve", args=[coaching_a.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("consequences:detail", args=[coaching_a.pk])


# --- The recognition wall -------------------------------------------------------------------


@pytest.fixture
def wall(location_a, location_b, staff):
    colleague = factories.EmployeeFactory(location=location_a)
    return {
        "mine": recognition(
            location_a,
            subject_kind=SubjectKind.EMPLOYEE,
            employee=staff.employee,
            summary="Recognition: staff on target 2 months running",
            evidence=[scorecard(location_a, passed=36)],
            days_ago=3,
        ),
        "colleague": recognition(
            location_a,
            subject_kind=SubjectKind.EMPLOYEE,
            employee=colleague,
            status=ConsequenceStatus.CLOSED,
            summary="Recognition: colleague on target",
            days_ago=1,
        ),
        "location_b": recognition(location_b, summary="Recognition: Beta Road on target"),
        "not_given_yet": recognition(location_a, status=ConsequenceStatus.APPROVED, summary="Not given yet"),
        "coaching": coaching(location_a, status=ConsequenceStatus.DELIVERED, summary="Coaching, not praise"),
    }


def wall_of(client, user):
    return [c.pk for c in get(client, user, reverse("consequences:recognition-wall")).context["page"]]


def test_the_wall_shows_given_recognitions_in_the_managers_scope_newest_first(client, manager, wall):
    assert wall_of(client, manager) == [wall["colleague"].pk, wall["mine"].pk]


def test_staff_celebrate_their_whole_location_but_not_others(client, staff, wall):
    response = get(client, staff, reverse("consequences:recognition-wall"))
    page = response.content.decode()
    assert [c.pk for c in response.context["page"]] == [wall["colleague"].pk, wall["mine"].pk]
    assert "Recognition: colleague on target" in page and "Beta Road on target" not in page
    assert "90%" in page and "of 40 observations met the standard" in page  # the figure behind it


def test_other_locations_see_their_own_wall(client, other_manager, admin, wall):
    assert wall_of(client, other_manager) == [wall["location_b"].pk]
    client.logout()
    assert set(wall_of(client, admin)) == {wall["mine"].pk, wall["colleague"].pk, wall["location_b"].pk}


def test_an_empty_wall_says_what_will_appear(client, staff):
    assert (
        "No recognitions here yet"
        in get(client, staff, reverse("consequences:recognition-wall")).content.decode()
    )


# --- My recognitions and coaching ------------------------------------------------------------


def test_staff_see_their_own_recognitions_and_coaching_once_approved(client, staff, location_a):
    me = {"subject_kind": SubjectKind.EMPLOYEE, "employee": staff.employee}
    praise = recognition(location_a, summary="Recognition: on target all quarter", **me)
    plan = coaching(location_a, status=ConsequenceStatus.APPROVED, summary="Coaching: greeting", **me)
    proposed = coaching(location_a, summary="Coaching: still only proposed", **me)
    colleague = coaching(
        location_a,
        status=ConsequenceStatus.APPROVED,
        subject_kind=SubjectKind.EMPLOYEE,
        employee=factories.EmployeeFactory(location=location_a),
        summary="Coaching: someone else",
    )
    location_wide = coaching(
        location_a, status=ConsequenceStatus.APPROVED, summary="Coaching: the whole store"
    )

    response = get(client, staff, reverse("consequences:mine"))

    assert [c.pk for c in response.context["recognitions"]] == [praise.pk]
    assert [c.pk for c in response.context["coaching"]] == [plan.pk]
    page = response.content.decode()
    assert plan.due_on.strftime("%-d %b %Y") in page and "Approved" in page
    for hidden in (proposed, colleague, location_wide):
        assert hidden.summary not in page
    assert "<form" not in page.split('id="main"')[1]  # read-only


def test_open_coaching_comes_before_closed(client, staff, location_a):
    me = {"subject_kind": SubjectKind.EMPLOYEE, "employee": staff.employee}
    closed = coaching(
        location_a, status=ConsequenceStatus.CLOSED, closure_note="Done", closed_at=timezone.now(), **me
    )
    later = coaching(location_a, status=ConsequenceStatus.DELIVERED, due_on=TODAY + timedelta(days=20), **me)
    sooner = coaching(location_a, status=ConsequenceStatus.APPROVED, due_on=TODAY + timedelta(days=2), **me)
    response = get(client, staff, reverse("consequences:mine"))
    assert [c.pk for c in response.context["coaching"]] == [sooner.pk, later.pk, closed.pk]


def test_my_page_is_empty_with_guidance(client, staff):
    page = get(client, staff, reverse("consequences:mine")).content.decode()
    assert "No recognitions yet" in page and "No coaching or action plans" in page


# --- Navigation ------------------------------------------------------------------------------


def test_navigation_links_by_role(client, staff, manager):
    staff_page = get(client, staff, reverse("consequences:mine")).content.decode()
    inbox_link = f'href="{reverse("consequences:inbox")}"'
    assert f'href="{reverse("consequences:mine")}"' in staff_page and inbox_link not in staff_page
    client.logout()
    manager_page = get(client, manager, reverse("consequences:mine")).content.decode()
    assert inbox_link in manager_page


# --- Query counts: fixed whatever the number of consequences ---------------------------------


def many_consequences(location, size, staff_user):
    for number in range(size):
        kind = number % 4
        if kind == 0:
            consequence = corrective_action(location)
        elif kind == 1:
            consequence = recognition(
                location,
                subject_kind=SubjectKind.EMPLOYEE,
                employee=staff_user.employee,
                days_ago=number,
            )
        elif kind == 2:
            consequence = coaching(
                location,
                status=ConsequenceStatus.APPROVED,
                subject_kind=SubjectKind.EMPLOYEE,
                employee=staff_user.employee,
                due_on=TODAY - timedelta(days=number),
            )
        else:
            consequence = coaching(
                location, team=factories.TeamFactory(location=location), subject_kind="team"
            )
        consequence.evidence.set([scorecard(location, months_back=number + 1)])
    factories.DeviationFactory.create_batch(2, observation__location=location)


@pytest.mark.parametrize("size", [5, 40])
def test_inbox_query_count_does_not_grow(
    client, manager, staff, location_a, size, django_assert_max_num_queries
):
    many_consequences(location_a, size, staff)
    client.force_login(manager)
    # One more than before the filters by rule, with each choice's count.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("consequences:inbox"))
    assert len(response.context["rows"]) == min(size, 25)


@pytest.mark.parametrize("size", [5, 40])
def test_inbox_csv_query_count_does_not_grow(
    client, manager, staff, location_a, size, django_assert_max_num_queries
):
    many_consequences(location_a, size, staff)
    client.force_login(manager)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("consequences:inbox"), {"format": "csv"})
        text = b"".join(response.streaming_content).decode("utf-8")
    assert text.count("\n") == size + 1


@pytest.mark.parametrize("size", [5, 40])
@pytest.mark.parametrize("role", ["staff", "manager"])
def test_wall_query_count_does_not_grow(
    client, request, staff, location_a, role, size, django_assert_max_num_queries
):
    many_consequences(location_a, size, staff)
    client.force_login(request.getfixturevalue(role))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("consequences:recognition-wall"))
    assert len(response.context["page"]) == min(len(range(1, size, 4)), 24)


@pytest.mark.parametrize("size", [5, 40])
def test_my_page_query_count_does_not_grow(client, staff, location_a, size, django_assert_max_num_queries):
    many_consequences(location_a, size, staff)
    client.force_login(staff)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("consequences:mine"))
    assert len(response.context["recognitions"]) == min(len(range(1, size, 4)), 20)
    assert len(response.context["coaching"]) == min(len(range(2, size, 4)), 20)
