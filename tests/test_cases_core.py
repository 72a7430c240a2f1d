"""The case's life: who owns it, which status may follow which, and who may move it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases.models import CaseOrigin, CaseStatus, EventKind
from cases.services.core import case_assign, case_note_add, case_open, case_transition, default_owner
from organization.models import Employee, Role
from tests import factories


@pytest.fixture
def case(location_a, manager):
    return case_open(location=location_a, title="Waited 40 minutes", origin=CaseOrigin.PHONE, user=manager)


def test_a_case_nobody_took_belongs_to_the_locations_manager(case, manager):
    assert case.owner.user == manager
    assert case.status == CaseStatus.NEW
    assert list(case.events.values_list("kind", flat=True)) == [EventKind.OPENED]


def test_the_person_who_takes_a_complaint_owns_it(location_a, staff, manager):
    case = case_open(
        location=location_a,
        title="Rude at the till",
        origin=CaseOrigin.IN_PERSON,
        user=staff,
        logged_by=staff.employee,
    )
    assert case.owner == staff.employee


def test_resolving_needs_a_summary_and_leaving_new_counts_as_acknowledged(case, manager):
    with pytest.raises(ValidationError, match="Say what was done"):
        case_transition(case=case, to=CaseStatus.RESOLVED, user=manager)
    resolved = case_transition(
        case=case, to=CaseStatus.RESOLVED, user=manager, summary="Refunded the delivery."
    )
    assert resolved.acknowledged_at is not None and resolved.resolved_at is not None
    assert resolved.events.last().to_status == CaseStatus.RESOLVED


def test_an_invalid_transition_is_refused_with_both_statuses_named(case, manager):
    with pytest.raises(ValidationError) as refused:
        case_transition(case=case, to=CaseStatus.CLOSED, user=manager)
    assert (
        "A case that is new cannot become closed. It can become: acknowledged, in progress, resolved."
        in str(refused.value)
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW and case.events.count() == 1


def test_reopening_clears_the_resolution_times(case, manager):
    case_transition(case=case, to=CaseStatus.RESOLVED, user=manager, summary="Apologised and refunded.")
    case_transition(case=case, to=CaseStatus.CLOSED, user=manager)
    reopened = case_transition(case=case, to=CaseStatus.REOPENED, user=manager, note="Customer wrote again.")
    assert reopened.resolved_at is None and reopened.closed_at is None


def test_staff_who_do_not_own_the_case_cannot_move_it_but_the_other_manager_cannot_even_note_it(
    case, staff, other_manager
):
    with pytest.raises(PermissionDenied):
        case_transition(case=case, to=CaseStatus.ACKNOWLEDGED, user=staff)
    with pytest.raises(PermissionDenied):
        case_note_add(case=case, user=other_manager, text="Not mine")


def test_a_case_is_handed_only_to_someone_who_works_there(case, manager, staff, other_manager):
    handed = case_assign(case=case, owner=staff.employee, user=manager)
    assert handed.owner == staff.employee
    with pytest.raises(ValidationError, match="does not work at"):
        case_assign(case=case, owner=Employee.objects.get(user=other_manager), user=manager)


def test_a_case_goes_to_the_manager_who_works_there_before_a_regional_manager(location_a, location_b):
    from cases.services import intake

    regional = factories.EmployeeFactory(role=Role.MANAGER, location=location_b)  # the lower user id
    regional.managed_locations.add(location_a, location_b)
    store = factories.EmployeeFactory(role=Role.MANAGER, location=location_a)
    store.managed_locations.add(location_a)
    assert default_owner(location_a) == store
    assert default_owner(location_b) == regional
    assert intake._default_owners({location_a.pk, location_b.pk}) == {
        location_a.pk: store.pk,
        location_b.pk: regional.pk,
    }
