import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests import factories
from training.models import Completion, CompletionStatus
from training.selectors import MATRIX_CSV_HEADER, VERIFICATION_CSV_HEADER, matrix_csv_rows

# Session, user and profile, the navigation's locations, the paginator's count, the page of
# employees, and the matrix's own three (courses, cells, per-course totals), whatever the number of
# employees or courses.
MATRIX_QUERIES = 9


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
            "method": "classroom",
            "score": "88",
            "evidence": "Cert 123",
        },
        follow=True,
    )
    assert "Logged Welcome to service" in response.content.decode()
    completion = Completion.objects.get()
    assert completion.employee == staff.employee and completion.status == CompletionStatus.LOGGED
    assert completion.method == "classroom"


def test_the_method_is_asked_and_named_when_missing(client, staff, course):
    client.force_login(staff)
    response = client.post(
        reverse("training:mine"),
        {"course": course.pk, "completed_on": date.today().isoformat(), "score": "88", "evidence": "Cert 9"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"method": ["This field is required."]}
    assert "Cert 9" in response.content.decode()
    assert not Completion.objects.exists()


def test_a_bad_completion_keeps_the_input_and_names_the_problem(client, staff, course):
    client.force_login(staff)
    response = client.post(
        reverse("training:mine"),
        {
            "course": course.pk,
            "completed_on": date.today().isoformat(),
            "method": "e_learning",
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


# --- "Download CSV" on the matrix and the verification queue ---------------------------------


def _csv(response) -> list[dict]:
    """The rows of a streamed CSV download, as dicts keyed by the header."""
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_download_buttons_show_only_when_there_are_rows(client, manager, staff, course):
    client.force_login(manager)
    for url_name in ("training:matrix", "training:verification"):
        assert "Download CSV" not in client.get(reverse(url_name)).content.decode()
    factories.AssignmentFactory(employee=staff.employee, course=course)
    factories.CompletionFactory(employee=staff.employee, course=course)
    for url_name in ("training:matrix", "training:verification"):
        assert 'href="?format=csv">Download CSV</a>' in client.get(reverse(url_name)).content.decode()


def test_manager_downloads_the_matrix_with_the_pages_statuses(client, manager, staff, location_a, location_b):
    today = date.today()
    refresher = factories.CourseFactory(title="Refresher", refresher_interval_days=365)
    never_done = factories.CourseFactory(title="Never done")
    employee = staff.employee
    # Current, expiring soon and expired verified completions, and an overdue, a due and a
    # not-started assignment without one.
    colleagues = factories.EmployeeFactory.create_batch(5, location=location_a)
    for person, completed_days_ago in zip(colleagues[:3], (30, 350, 400), strict=True):
        factories.AssignmentFactory(
            employee=person, course=refresher, assigned_on=today - timedelta(days=500)
        )
        factories.CompletionFactory(
            employee=person,
            course=refresher,
            completed_on=today - timedelta(days=completed_days_ago),
            status=CompletionStatus.VERIFIED,
        )
    factories.AssignmentFactory(
        employee=employee,
        course=never_done,
        assigned_on=today - timedelta(days=40),
        due_on=today - timedelta(days=1),
    )
    factories.AssignmentFactory(employee=colleagues[3], course=never_done, assigned_on=today, due_on=today)
    factories.AssignmentFactory(
        employee=colleagues[4], course=never_done, assigned_on=today, due_on=today + timedelta(days=60)
    )
    factories.CompletionFactory(employee=employee, course=never_done)  # logged, waiting
    outsider = factories.EmployeeFactory(location=location_b)
    factories.AssignmentFactory(employee=outsider, course=factories.CourseFactory(title="Elsewhere only"))
    client.force_login(manager)

    rows = _csv(client.get(reverse("training:matrix"), {"format": "csv"}))

    assert tuple(rows[0]) == MATRIX_CSV_HEADER
    statuses = {(row["employee_number"], row["course"]): row["status"] for row in rows}
    assert statuses == {
        (colleagues[0].employee_number, "Refresher"): "Current",
        (colleagues[1].employee_number, "Refresher"): "Expiring soon",
        (colleagues[2].employee_number, "Refresher"): "Expired",
        (employee.employee_number, "Never done"): "Overdue",
        (colleagues[3].employee_number, "Never done"): "Due soon",
        (colleagues[4].employee_number, "Never done"): "Not started",
    }
    assert outsider.employee_number not in {row["employee_number"] for row in rows}
    assert "Elsewhere only" not in {row["course"] for row in rows}
    # Every cell says what the page says for the same employee and course.
    page = client.get(reverse("training:matrix"))
    matrix = page.context["matrix"]
    page_statuses = {
        (row.employee.employee_number, course.title): cell.label
        for row in matrix.rows
        for course, cell in zip(matrix.courses, row.cells, strict=True)
        if cell is not None
    }
    assert page_statuses == statuses
    overdue = next(row for row in rows if row["employee_number"] == employee.employee_number)
    assert overdue["employee"] == staff.get_full_name()
    assert overdue["location"] == "Alpha Street" and overdue["team"] == employee.team.name
    assert overdue["due_on"] == (today - timedelta(days=1)).isoformat()
    assert overdue["awaiting_verification"] == "yes" and overdue["verified_on"] == ""
    expired = next(row for row in rows if row["employee_number"] == colleagues[2].employee_number)
    assert expired["verified_on"] == (today - timedelta(days=400)).isoformat()
    assert expired["expires_on"] == (today - timedelta(days=35)).isoformat()


def test_the_matrix_export_reads_employees_in_batches_without_losing_or_reordering_rows(manager, location_a):
    courses = factories.CourseFactory.create_batch(2)
    for person in factories.EmployeeFactory.create_batch(5, location=location_a):
        for course in courses:
            factories.AssignmentFactory(employee=person, course=course)
    in_one_batch = list(matrix_csv_rows(manager))
    assert len(in_one_batch) == 10
    assert list(matrix_csv_rows(manager, batch_size=2)) == in_one_batch


def test_manager_downloads_the_verification_queue(client, manager, staff, course, location_b):
    waiting = factories.CompletionFactory(
        employee=staff.employee, course=course, evidence='=HYPERLINK("http://evil")', score=88
    )
    factories.CompletionFactory(employee=staff.employee, course=course, status=CompletionStatus.VERIFIED)
    outsider = factories.EmployeeFactory(location=location_b)
    factories.CompletionFactory(employee=outsider, course=course)
    client.force_login(manager)

    rows = _csv(client.get(reverse("training:verification"), {"format": "csv"}))

    assert len(rows) == 1
    [row] = rows
    assert tuple(row) == VERIFICATION_CSV_HEADER
    assert row["employee"] == staff.get_full_name()
    assert row["employee_number"] == staff.employee.employee_number
    assert row["location"] == "Alpha Street" and row["course"] == "Welcome to service"
    assert row["completed_on"] == (date.today() - timedelta(days=30)).isoformat()
    assert row["score"] == "88" and row["method"] == waiting.get_method_display() == "E-learning"
    assert row["evidence"] == '\'=HYPERLINK("http://evil")'
    assert row["logged_at"] == timezone.localtime(waiting.logged_at).isoformat()


@pytest.mark.parametrize("url_name", ["training:verification", "training:matrix"])
def test_downloads_refuse_staff_and_send_anonymous_to_login(client, staff, url_name):
    response = client.get(reverse(url_name), {"format": "csv"})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(staff)
    assert client.get(reverse(url_name), {"format": "csv"}).status_code == 403


@pytest.mark.parametrize("url_name", ["training:matrix", "training:verification"])
def test_download_query_counts_do_not_grow_with_rows(
    client, manager, location_a, url_name, django_assert_max_num_queries
):
    courses = factories.CourseFactory.create_batch(3)

    def add_employees(count):
        for person in factories.EmployeeFactory.create_batch(count, location=location_a):
            for course in courses:
                factories.AssignmentFactory(employee=person, course=course)
                factories.CompletionFactory(employee=person, course=course)

    def download():
        return _csv(client.get(reverse(url_name), {"format": "csv"}))

    client.force_login(manager)
    add_employees(3)
    with CaptureQueriesContext(connection) as few:
        assert len(download()) == 9
    assert len(few.captured_queries) <= 8
    add_employees(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(download()) == 90


def test_the_log_form_offers_todays_date_and_the_required_courses_first(client, staff):
    required = factories.CourseFactory(title="Zebra crossing safety")
    factories.CourseFactory(title="Apples and pears")
    factories.AssignmentFactory(employee=staff.employee, course=required)
    client.force_login(staff)

    response = client.get(reverse("training:mine"))

    form = response.context["form"]
    assert [course.title for course in form.fields["course"].queryset] == [
        "Zebra crossing safety",
        "Apples and pears",
    ]
    # In the ISO format a date input can show; a locale format would leave it blank.
    assert f'value="{timezone.localdate().isoformat()}"' in str(form["completed_on"])


def test_log_it_on_a_required_course_opens_the_form_with_it_chosen(client, staff, course):
    factories.AssignmentFactory(employee=staff.employee, course=course)
    client.force_login(staff)
    body = client.get(reverse("training:mine")).content.decode()
    assert f'href="?course={course.pk}#log-heading"' in body

    response = client.get(reverse("training:mine"), {"course": course.pk})
    assert response.context["form"]["course"].value() == course.pk
    # Anything else is ignored, not an error.
    assert client.get(reverse("training:mine"), {"course": "x"}).status_code == 200


# --- The matrix's legend, blank cells and totals; the wording of "My training" ---------------------


def _verified(employee, course, *, days_ago):
    factories.AssignmentFactory(
        employee=employee, course=course, assigned_on=date.today() - timedelta(days=500)
    )
    factories.CompletionFactory(
        employee=employee,
        course=course,
        completed_on=date.today() - timedelta(days=days_ago),
        status=CompletionStatus.VERIFIED,
    )


def _legend(body: str) -> str:
    start = body.index('class="list-inline small mb-0 matrix-legend"')
    return body[start : body.index("</ul>", start)]


def test_the_matrix_legend_shows_only_the_statuses_in_the_table(client, manager, location_a):
    greeting, till = factories.CourseFactory(title="Greeting"), factories.CourseFactory(title="Till")
    alice, bob = factories.EmployeeFactory.create_batch(2, location=location_a)
    _verified(alice, greeting, days_ago=20)  # current
    factories.AssignmentFactory(employee=bob, course=till, due_on=date.today() - timedelta(days=2))  # overdue
    client.force_login(manager)

    response = client.get(reverse("training:matrix"))

    legend = _legend(response.content.decode())
    assert [entry.label for entry in response.context["matrix"].legend] == ["Current", "Overdue"]
    assert ">Current</span>" in legend and ">Overdue</span>" in legend
    for absent in ("Expired", "Expiring soon", "Due soon", "Not started", "to verify"):
        assert absent not in legend

    factories.CompletionFactory(employee=bob, course=till)  # logged, waiting for the manager
    assert "to verify" in _legend(client.get(reverse("training:matrix")).content.decode())


def test_a_course_not_required_of_someone_is_a_blank_cell_named_for_screen_readers(
    client, manager, location_a
):
    greeting, till = factories.CourseFactory(title="Greeting"), factories.CourseFactory(title="Till")
    alice, bob = factories.EmployeeFactory.create_batch(2, location=location_a)
    _verified(alice, greeting, days_ago=20)
    _verified(bob, till, days_ago=20)
    client.force_login(manager)

    body = client.get(reverse("training:matrix")).content.decode()

    # Alice's Till, Bob's Greeting, and both for the manager (in scope, nothing required of them).
    assert body.count('<td><span class="visually-hidden">not required</span></td>') == 4
    assert "·</span>" not in body


def test_the_matrix_totals_each_person_and_each_course_over_the_whole_scope(
    client, manager, location_a, location_b, monkeypatch
):
    monkeypatch.setattr("training.views.MATRIX_PAGE_SIZE", 2)
    greeting, till = factories.CourseFactory(title="Greeting"), factories.CourseFactory(title="Till")
    people = factories.EmployeeFactory.create_batch(3, location=location_a)
    _verified(people[0], greeting, days_ago=20)  # current
    _verified(people[1], greeting, days_ago=350)  # expiring soon
    factories.AssignmentFactory(employee=people[2], course=greeting, due_on=date.today() - timedelta(days=1))
    factories.CompletionFactory(employee=people[2], course=greeting)  # overdue, waiting to be verified
    _verified(people[0], till, days_ago=400)  # expired
    outsider = factories.EmployeeFactory(location=location_b)
    _verified(outsider, greeting, days_ago=400)  # another manager's: counted nowhere here
    client.force_login(manager)

    response = client.get(reverse("training:matrix"))

    matrix = response.context["matrix"]
    assert [course.title for course in matrix.courses] == ["Greeting", "Till"]
    # The footer counts everyone in the scope (the manager, nothing required, included), though
    # the page shows two of them.
    assert len(matrix.rows) == 2
    assert matrix.course_totals == [
        "1 of 3 current · 1 overdue · 1 expiring soon · 1 to verify",
        "0 of 1 current · 1 expired",
    ]
    totals_by_person = {row.employee.pk: row.totals for row in matrix.rows}
    for page in (2, 3):
        rows = client.get(reverse("training:matrix"), {"page": page}).context["matrix"].rows
        totals_by_person |= {row.employee.pk: row.totals for row in rows}
    assert totals_by_person == {
        people[0].pk: "1 of 2 current · 1 expired",
        people[1].pk: "0 of 1 current · 1 expiring soon",
        people[2].pk: "0 of 1 current · 1 overdue · 1 to verify",
        manager.employee.pk: "nothing required",
    }
    body = response.content.decode()
    assert "<tfoot>" in body and "all 4 people in your scope" in body
    assert "1 of 3 current · 1 overdue · 1 expiring soon · 1 to verify" in body


def test_the_course_totals_agree_with_the_cells_for_every_status(client, manager, staff, location_a):
    # The footer counts in SQL what the cells work out in Python: both must give the same answer.
    refresher, never_done = (
        factories.CourseFactory(title="Refresher"),
        factories.CourseFactory(title="Never done"),
    )
    people = factories.EmployeeFactory.create_batch(6, location=location_a)
    for person, days_ago in zip(people[:3], (30, 350, 400), strict=True):
        _verified(person, refresher, days_ago=days_ago)
    for person, due_in in zip(people[3:], (-1, 0, 60), strict=True):
        factories.AssignmentFactory(
            employee=person,
            course=never_done,
            assigned_on=date.today() - timedelta(days=5),
            due_on=date.today() + timedelta(days=due_in) if due_in >= 0 else date.today() - timedelta(days=1),
        )
    client.force_login(manager)

    matrix = client.get(reverse("training:matrix")).context["matrix"]

    assert matrix.course_totals == [
        "0 of 3 current · 1 overdue · 1 due soon · 1 not started",
        "1 of 3 current · 1 expired · 1 expiring soon",
    ]
    assert [entry.label for entry in matrix.legend] == [
        "Current",
        "Overdue",
        "Expired",
        "Expiring soon",
        "Due soon",
        "Not started",
    ]


@pytest.mark.parametrize("employees", [5, 50])
def test_the_matrix_costs_the_same_queries_for_5_and_50_employees(
    client, manager, location_a, employees, django_assert_max_num_queries
):
    courses = factories.CourseFactory.create_batch(4)
    for person in factories.EmployeeFactory.create_batch(employees, location=location_a):
        for number, course in enumerate(courses):
            factories.AssignmentFactory(employee=person, course=course)
            if number % 2:
                factories.CompletionFactory(employee=person, course=course)
    client.force_login(manager)
    with django_assert_max_num_queries(MATRIX_QUERIES):
        assert client.get(reverse("training:matrix")).status_code == 200


def test_my_training_says_a_current_course_is_to_renew_not_due(client, staff):
    current, overdue = factories.CourseFactory(title="Greeting"), factories.CourseFactory(title="Till")
    _verified(staff.employee, current, days_ago=20)
    factories.AssignmentFactory(
        employee=staff.employee, course=overdue, due_on=date.today() - timedelta(days=3)
    )
    factories.CompletionFactory(employee=staff.employee, course=overdue, completed_on=date.today())
    client.force_login(staff)

    body = client.get(reverse("training:mine")).content.decode()

    renew_by = date.today() - timedelta(days=20) + timedelta(days=365)
    assert f">Current</span> renew by {renew_by.day} {renew_by:%b %Y}" in body
    was_due = date.today() - timedelta(days=3)
    assert f">Overdue</span> never done, was due {was_due.day} {was_due:%b %Y} (3 days ago)" in body
    assert f"Logged {date.today().day} {date.today():%b %Y}, awaiting verification" in body
    assert '<th scope="col">Due</th>' not in body
