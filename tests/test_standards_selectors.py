from standards.models import Status
from standards.selectors import standards_for_employee, standards_to_acknowledge, uncovered_touchpoints
from tests import factories


def test_a_standard_for_every_team_or_for_the_employees_team_applies(db):
    employee = factories.EmployeeFactory()
    for_all = factories.StandardFactory()
    for_my_team = factories.StandardFactory()
    for_my_team.teams.add(employee.team)
    for_another_team = factories.StandardFactory()
    for_another_team.teams.add(factories.TeamFactory())
    factories.StandardFactory(status=Status.DRAFT)

    assert set(standards_for_employee(employee)) == {for_all, for_my_team}


def test_a_new_version_must_be_acknowledged_again(db):
    employee = factories.EmployeeFactory()
    standard = factories.StandardFactory()
    factories.AcknowledgementFactory(employee=employee, standard=standard)
    assert list(standards_to_acknowledge(employee)) == []

    standard.version += 1
    standard.save()
    assert list(standards_to_acknowledge(employee)) == [standard]


def test_a_touchpoint_without_an_active_standard_is_a_coverage_gap(db):
    covered, uncovered, retired_only = factories.TouchpointFactory.create_batch(3)
    factories.StandardFactory().touchpoints.add(covered)
    factories.StandardFactory(status=Status.RETIRED).touchpoints.add(retired_only)
    factories.TouchpointFactory(active=False)

    assert set(uncovered_touchpoints()) == {uncovered, retired_only}
