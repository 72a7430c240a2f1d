from datetime import date, timedelta

import pytest
from django.urls import reverse

from tests import factories
from training.models import Completion, CompletionStatus


@pytest.fixture
def course(db):
    return factories.CourseFactory(title="Welcome to service", pass_mark=70)


def test_staff_logs_a_completion(client, staff, course):
    client.force_login(staff)
    response = client.post(
        reverse("training:mine"),
        {
            "course": course.pk,
            "completed_on": date.today().isoformat(),
            "score": "88",
            "evidence": "Cert 123",
        },
        follow=True,
    )
    assert "Logged Welcome to service" in response.content.decode()
    completion = Completion.objects.get()
    assert completion.employee == staff.employee and completion.status == CompletionStatus.LOGGED


def test_a_bad_completion_keeps_the_input_and_names_the_problem(client, staff, course):
    client.force_login(staff)
    response = client.post(
        reverse("training:mine"),
        {
            "course": course.pk,
            "completed_on": date.today().isoformat(),
            "score": "40",
            "evidence": "My notes",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "A score of 40% is below the pass mark of 70%." in body
    assert "My notes" in body
    assert not Completion.objects.exists()


@pytest.mark.parametrize("url_name", ["training:verification", "training:matrix"])
def test_manager_pages_refuse_staff_and_send_anonymous_to_login(client, staff, url_name):
    assert client.get(reverse(url_name)).status_code == 302
    client.force_login(staff)
    assert client.get(reverse(url_name)).status_code == 403


def test_manager_verifies_a_completion_of_their_location(client, manager, staff, course):
    completion = factories.CompletionFactory(
        employee=staff.employee, course=course, status=CompletionStatus.LOGGED
    )
    client.force_login(manager)
    assert str(staff.employee) in client.get(reverse("training:verification")).content.decode()
    client.post(reverse("training:review", args=[completion.pk]), {"decision": "verify"})
    completion.refresh_from_db()
    assert completion.status == CompletionStatus.VERIFIED and completion.reviewed_by == manager


def test_a_rejection_without_reason_changes_nothing(client, manager, staff, course):
    completion = factories.CompletionFactory(employee=staff.employee, course=course)
    client.force_login(manager)
    response = client.post(
        reverse("training:review", args=[completion.pk]), {"decision": "reject"}, follow=True
    )
    assert "say why" in response.content.decode()
    completion.refresh_from_db()
    assert completion.status == CompletionStatus.LOGGED


def test_another_locations_manager_cannot_see_or_review_it(client, other_manager, staff, course):
    completion = factories.CompletionFactory(employee=staff.employee, course=course)
    client.force_login(other_manager)
    assert str(staff.employee) not in client.get(reverse("training:verification")).content.decode()
    assert (
        client.post(reverse("training:review", args=[completion.pk]), {"decision": "verify"}).status_code
        == 404
    )
    completion.refresh_from_db()
    assert completion.status == CompletionStatus.LOGGED


def test_the_matrix_shows_each_employee_against_required_courses(client, manager, staff, course, location_b):
    factories.AssignmentFactory(
        employee=staff.employee, course=course, due_on=date.today() - timedelta(days=1)
    )
    outsider = factories.EmployeeFactory(location=location_b)
    factories.AssignmentFactory(employee=outsider, course=factories.CourseFactory(title="Elsewhere only"))
    client.force_login(manager)
    body = client.get(reverse("training:matrix")).content.decode()
    assert "Welcome to service" in body and "Overdue" in body
    assert str(outsider) not in body and "Elsewhere only" not in body


def test_matrix_and_queue_query_counts_do_not_grow(
    client, manager, location_a, django_assert_max_num_queries
):
    courses = factories.CourseFactory.create_batch(4)
    for employee in factories.EmployeeFactory.create_batch(30, location=location_a):
        for course in courses:
            factories.AssignmentFactory(employee=employee, course=course)
            factories.CompletionFactory(employee=employee, course=course)
    client.force_login(manager)
    for url_name in ("training:matrix", "training:verification"):
        with django_assert_max_num_queries(10):
            assert client.get(reverse(url_name)).status_code == 200
