"""Approving, delivering and closing many consequences at once from the inbox: who may, what the
confirmation says, what cannot move and why, all or nothing, and a fixed number of queries."""

from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from consequences import views
from consequences.models import Action, Consequence, ConsequenceStatus, Polarity, SubjectKind
from measurement.models import DeviationStatus
from tests import factories

TODAY = date.today()
BULK = reverse("consequences:bulk")


def proposed(location, **extra):
    extra.setdefault("summary", f"Coaching at {location.name}")
    extra.setdefault("due_on", TODAY + timedelta(days=14))
    return factories.ConsequenceFactory(location=location, **extra)


def recognition(location, **extra):
    return proposed(location, action=Action.RECOGNITION, polarity=Polarity.POSITIVE, **extra)


def corrective_action(location, **extra):
    deviation = factories.DeviationFactory(observation__location=location)
    return proposed(location, action=Action.CORRECTIVE_ACTION, deviation=deviation, **extra)


def ids(*consequences) -> str:
    return ",".join(str(c.pk) for c in consequences)


def statuses(*consequences) -> list[str]:
    return [Consequence.objects.get(pk=c.pk).status for c in consequences]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def confirm(client, step, chosen, **extra):
    return client.post(BULK, {"step": step, "ids": ids(*chosen), "confirm": "on", **extra})


# --- Who may ------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login_and_nothing_moves(client, location_a):
    consequence = proposed(location_a)
    response = confirm(client, "approve", [consequence])
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert statuses(consequence) == [ConsequenceStatus.PROPOSED]


def test_staff_are_refused(client, staff, location_a):
    consequence = proposed(location_a)
    client.force_login(staff)
    assert confirm(client, "approve", [consequence]).status_code == 403
    assert client.post(BULK, {"step": "approve", "ids": ids(consequence)}).status_code == 403
    assert statuses(consequence) == [ConsequenceStatus.PROPOSED]


def test_a_manager_of_another_location_cannot_touch_them(client, other_manager, location_a, location_b):
    theirs = proposed(location_b)
    not_theirs = proposed(location_a)
    client.force_login(other_manager)
    assert client.post(BULK, {"step": "approve", "ids": ids(theirs, not_theirs)}).status_code == 404
    assert confirm(client, "approve", [theirs, not_theirs]).status_code == 404
    assert statuses(theirs, not_theirs) == [ConsequenceStatus.PROPOSED] * 2


def test_all_matching_the_filters_stays_in_the_managers_scope(client, other_manager, location_a, location_b):
    theirs = proposed(location_b)
    not_theirs = proposed(location_a)
    client.force_login(other_manager)
    response = client.post(BULK, {"step": "approve", "which": "matching", "filters": ""})
    assert [c.pk for c in response.context["plan"].movable] == [theirs.pk]
    assert statuses(not_theirs) == [ConsequenceStatus.PROPOSED]


def test_the_bulk_page_answers_only_posts(client, manager):
    client.force_login(manager)
    assert client.get(BULK).status_code == 405


@pytest.mark.parametrize(
    "chosen",
    ["abc", "-3", "1.5", str(2**63), "99999999999999999999999", "", ",,"],
)
def test_ids_that_are_not_ids_are_refused_with_a_message(client, manager, location_a, chosen):
    consequence = proposed(location_a)
    client.force_login(manager)
    response = client.post(
        BULK, {"step": "approve", "ids": chosen, "confirm": "on", "filters": "status=proposed"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?status=proposed")
    assert messages_of(response)
    assert statuses(consequence) == [ConsequenceStatus.PROPOSED]


def test_an_unknown_step_is_refused(client, manager, location_a):
    consequence = proposed(location_a)
    client.force_login(manager)
    response = client.post(BULK, {"step": "delete", "ids": ids(consequence), "confirm": "on"})
    assert response.status_code == 302
    assert statuses(consequence) == [ConsequenceStatus.PROPOSED]


# --- The confirmation ---------------------------------------------------------------------------


def test_the_confirmation_says_what_will_happen_and_changes_nothing(client, manager, location_a):
    chosen = [corrective_action(location_a), corrective_action(location_a), recognition(location_a)]
    client.force_login(manager)
    response = client.post(BULK, {"step": "approve", "ids": ids(*chosen)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Approve 3 consequences: 2 corrective action plans, 1 recognition" in page
    # The confirmation carries exactly the ids it speaks of.
    carried = response.context["movable_ids"].split(",")
    assert sorted(carried) == sorted(str(c.pk) for c in chosen)
    assert statuses(*chosen) == [ConsequenceStatus.PROPOSED] * 3


def test_confirming_approves_them_all_and_names_the_counts(client, manager, other_manager, location_a):
    owned = proposed(location_a, owner=other_manager)
    chosen = [proposed(location_a), recognition(location_a), owned]
    client.force_login(manager)
    response = confirm(client, "approve", chosen, filters="status=proposed")
    assert response.status_code == 302 and response["Location"].endswith("?status=proposed")
    assert messages_of(response) == ["Approved 3 consequences: 2 coaching sessions, 1 recognition."]
    rows = Consequence.objects.in_bulk([c.pk for c in chosen])
    assert {row.status for row in rows.values()} == {ConsequenceStatus.APPROVED}
    assert all(row.approved_at for row in rows.values())
    # The approving manager owns those that had no owner, as one approval does.
    assert rows[chosen[0].pk].owner == manager and rows[owned.pk].owner == other_manager


def test_those_that_cannot_move_are_listed_with_the_reason(client, manager, location_a):
    movable = [proposed(location_a), proposed(location_a)]
    approved = proposed(location_a, status=ConsequenceStatus.APPROVED)
    about_me = proposed(location_a, subject_kind=SubjectKind.EMPLOYEE, employee=manager.employee)
    client.force_login(manager)
    response = client.post(BULK, {"step": "approve", "ids": ids(*movable, approved, about_me)})
    page = response.content.decode()
    assert "Approve 2 consequences: 2 coaching sessions" in page
    assert "2 cannot be approved" in page
    assert "this one is approved. Its next step is to be delivered." in page
    assert "A consequence about yourself is approved by your manager." in page
    plan = response.context["plan"]
    assert {c.pk for c in plan.movable} == {c.pk for c in movable}
    assert {c.pk for c, _ in plan.refused} == {approved.pk, about_me.pk}

    # The confirmation carries only those that can move: they move, the others stay.
    confirm(client, "approve", list(plan.movable))
    assert statuses(*movable, approved, about_me) == [
        ConsequenceStatus.APPROVED,
        ConsequenceStatus.APPROVED,
        ConsequenceStatus.APPROVED,
        ConsequenceStatus.PROPOSED,
    ]


def test_nothing_moves_when_one_changed_since_the_confirmation(client, manager, location_a):
    chosen = [proposed(location_a) for _ in range(3)]
    Consequence.objects.filter(pk=chosen[1].pk).update(status=ConsequenceStatus.APPROVED)
    client.force_login(manager)
    response = confirm(client, "approve", chosen)
    assert response.status_code == 200  # the confirmation again, with the new figures
    assert any(m.startswith("Nothing was changed") for m in messages_of(response))
    assert statuses(*chosen) == [
        ConsequenceStatus.PROPOSED,
        ConsequenceStatus.APPROVED,
        ConsequenceStatus.PROPOSED,
    ]
    assert len(response.context["plan"].movable) == 2


def test_nothing_to_do_says_so_without_a_confirm_button(client, manager, location_a):
    closed = proposed(
        location_a, status=ConsequenceStatus.CLOSED, closure_note="Done.", closed_at=timezone.now()
    )
    client.force_login(manager)
    response = client.post(BULK, {"step": "deliver", "ids": ids(closed)})
    page = response.content.decode()
    assert "Nothing to deliver" in page and 'name="confirm"' not in page


def test_delivering_records_when(client, manager, location_a):
    chosen = [proposed(location_a, status=ConsequenceStatus.APPROVED) for _ in range(2)]
    client.force_login(manager)
    response = confirm(client, "deliver", chosen)
    assert messages_of(response) == ["Delivered 2 consequences: 2 coaching sessions."]
    assert all(c.delivered_at for c in Consequence.objects.filter(pk__in=[c.pk for c in chosen]))


def test_closing_needs_a_note_and_closes_the_deviations_answered(client, manager, location_a):
    chosen = [
        corrective_action(location_a, status=ConsequenceStatus.DELIVERED),
        proposed(location_a, status=ConsequenceStatus.DELIVERED),
    ]
    client.force_login(manager)
    response = confirm(client, "close", chosen, closure_note="   ")
    assert response.status_code == 200
    assert "Say what was done before closing." in response.content.decode()
    assert statuses(*chosen) == [ConsequenceStatus.DELIVERED] * 2

    response = confirm(client, "close", chosen, closure_note="Talked it through with the team.")
    assert messages_of(response)[-1] == (
        "Closed 2 consequences: 1 coaching session, 1 corrective action plan."
    )
    rows = Consequence.objects.select_related("deviation").in_bulk([c.pk for c in chosen])
    assert {row.closure_note for row in rows.values()} == {"Talked it through with the team."}
    assert all(row.closed_at for row in rows.values())
    deviation = rows[chosen[0].pk].deviation
    assert deviation.status == DeviationStatus.CLOSED and deviation.closed_at is not None


def test_the_history_on_the_consequence_page_shows_the_bulk_steps(client, manager, location_a):
    consequence = proposed(location_a)
    client.force_login(manager)
    confirm(client, "approve", [consequence])
    confirm(client, "deliver", [consequence])
    page = client.get(reverse("consequences:detail", args=[consequence.pk])).content.decode()
    assert '<span class="fw-semibold">Approved</span>' in page
    assert '<span class="fw-semibold">Delivered</span>' in page


# --- Across pages: everything matching the filters --------------------------------------------


def test_all_matching_the_filters_takes_every_page(client, manager, location_a):
    coaching = [proposed(location_a) for _ in range(30)]
    recognitions = [recognition(location_a) for _ in range(3)]
    proposed(location_a, status=ConsequenceStatus.APPROVED)  # not proposed: filtered out
    client.force_login(manager)
    response = client.post(BULK, {"step": "approve", "which": "matching", "filters": "status=proposed"})
    assert "Approve 33 consequences: 30 coaching sessions, 3 recognitions" in response.content.decode()
    assert {c.pk for c in response.context["plan"].movable} == {c.pk for c in coaching + recognitions}

    response = client.post(
        BULK, {"step": "approve", "which": "matching", "filters": "status=proposed&polarity=positive"}
    )
    assert {c.pk for c in response.context["plan"].movable} == {c.pk for c in recognitions}


def test_this_page_takes_the_ids_it_showed(client, manager, location_a):
    chosen = [proposed(location_a) for _ in range(3)]
    proposed(location_a)
    client.force_login(manager)
    response = client.post(BULK, {"step": "approve", "which": "page", "page_ids": ids(*chosen)})
    assert {c.pk for c in response.context["plan"].movable} == {c.pk for c in chosen}


def test_the_work_per_request_is_bounded(client, manager, location_a, monkeypatch):
    monkeypatch.setattr(views, "BULK_LIMIT", 4)
    for _ in range(6):
        proposed(location_a)
    client.force_login(manager)
    response = client.post(BULK, {"step": "approve", "which": "matching", "filters": ""})
    page = response.content.decode()
    assert len(response.context["plan"].movable) == 4
    assert "from the 6 matching the filters: at most 4 are taken" in page


def test_more_ids_than_the_limit_are_refused(client, manager, location_a):
    consequence = proposed(location_a)
    client.force_login(manager)
    too_many = ",".join(str(n) for n in range(1, 1002))
    response = client.post(BULK, {"step": "approve", "ids": too_many, "confirm": "on"})
    assert response.status_code == 302
    assert "At most 1,000" in " ".join(messages_of(response))
    assert statuses(consequence) == [ConsequenceStatus.PROPOSED]


# --- The inbox: filters with counts and the bulk form -----------------------------------------


def test_the_inbox_filters_by_kind_and_rule_with_counts(client, manager, location_a):
    rule = factories.RuleFactory(name="Coach below target")
    by_rule = [proposed(location_a, rule=rule) for _ in range(2)]
    recognitions = [recognition(location_a) for _ in range(3)]
    proposed(location_a)
    client.force_login(manager)
    response = client.get(reverse("consequences:inbox"), {"rule": rule.pk})
    assert {row["consequence"].pk for row in response.context["rows"]} == {c.pk for c in by_rule}
    response = client.get(reverse("consequences:inbox"), {"polarity": "positive"})
    assert {row["consequence"].pk for row in response.context["rows"]} == {c.pk for c in recognitions}
    page = response.content.decode()
    # Each choice says how many it would list with the other filters as they are.
    assert "Coach below target (0)" in page  # no recognition comes from that rule
    assert "Proposed (3)" in page and "Negative (coaching, corrective action, training) (3)" in page
    assert "Positive (recognition) (3)" in page and "Recognition (3)" in page


def test_the_counts_stay_in_scope_and_count_the_overdue(client, manager, location_a, location_b):
    proposed(location_a, due_on=TODAY - timedelta(days=2))
    proposed(location_a)
    proposed(location_b, due_on=TODAY - timedelta(days=2))
    client.force_login(manager)
    page = client.get(reverse("consequences:inbox")).content.decode()
    assert "Overdue only (1)" in page and "Proposed (2)" in page and "Any kind (2)" in page
    page = client.get(reverse("consequences:inbox"), {"overdue": "on"}).content.decode()
    assert "Proposed (1)" in page and "Closed (0)" in page


def test_the_inbox_offers_the_bulk_form_and_states_the_limit(client, manager, location_a):
    for _ in range(30):
        proposed(location_a)
    client.force_login(manager)
    page = client.get(reverse("consequences:inbox")).content.decode()
    assert 'form="bulk-form"' in page and "All 25 on this page" in page
    assert "All 30 matching the filters" in page and "At most 1,000 per confirmation" in page


# --- A fixed number of queries -----------------------------------------------------------------


def many(location, size, employee):
    made = []
    for number in range(size):
        if number % 10 == 0:
            made.append(corrective_action(location))
        elif number % 3 == 0:
            made.append(recognition(location, subject_kind=SubjectKind.EMPLOYEE, employee=employee))
        else:
            made.append(
                proposed(location, team=factories.TeamFactory(location=location), subject_kind="team")
            )
    return made


@pytest.mark.parametrize("size", [10, 200])
def test_confirmation_and_approval_keep_a_fixed_number_of_queries(
    client, manager, staff, location_a, size, django_assert_max_num_queries
):
    chosen = many(location_a, size, staff.employee)
    # Some already approved: the confirmation lists them with their subjects, in the same queries.
    Consequence.objects.filter(pk__in=[c.pk for c in chosen[::5]]).update(status=ConsequenceStatus.APPROVED)
    client.force_login(manager)
    with django_assert_max_num_queries(5):
        response = client.post(BULK, {"step": "approve", "ids": ids(*chosen)})
    assert len(response.context["plan"].refused) == len(chosen[::5])
    Consequence.objects.update(status=ConsequenceStatus.PROPOSED)
    with django_assert_max_num_queries(7):
        response = client.post(BULK, {"step": "approve", "which": "matching", "filters": "status=proposed"})
    assert len(response.context["plan"].movable) == size
    with django_assert_max_num_queries(9):
        confirm(client, "approve", chosen)
    assert set(statuses(*chosen)) == {ConsequenceStatus.APPROVED}


@pytest.mark.parametrize("size", [10, 200])
def test_closing_keeps_a_fixed_number_of_queries(
    client, manager, staff, location_a, size, django_assert_max_num_queries
):
    chosen = many(location_a, size, staff.employee)
    Consequence.objects.update(status=ConsequenceStatus.DELIVERED)
    client.force_login(manager)
    with django_assert_max_num_queries(9):
        confirm(client, "close", chosen, closure_note="Done with each.")
    assert set(statuses(*chosen)) == {ConsequenceStatus.CLOSED}
