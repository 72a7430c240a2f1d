import pytest
from django.urls import reverse

from tests import factories


@pytest.fixture
def home_url():
    return reverse("home")


def test_anonymous_is_sent_to_login(client, home_url):
    response = client.get(home_url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in to ServiceDesk" in response.content


def test_staff_lands_on_their_own_page(client, staff, home_url):
    standard = factories.StandardFactory(title="Greet every customer")
    factories.AssignmentFactory(
        employee=staff.employee, course=factories.CourseFactory(title="Welcome course")
    )
    client.force_login(staff)
    response = client.get(home_url)
    assert response.status_code == 200
    body = response.content.decode()
    assert standard.title in body
    assert "Welcome course" in body
    assert "Program health" not in body


def test_staff_who_acknowledged_sees_they_are_up_to_date(client, staff, home_url):
    standard = factories.StandardFactory()
    factories.AcknowledgementFactory(employee=staff.employee, standard=standard)
    client.force_login(staff)
    assert "You are up to date" in client.get(home_url).content.decode()


def test_manager_sees_program_figures_of_their_scope_only(client, manager, location_a, location_b, home_url):
    factories.ObservationFactory(location=location_a, passed=True)
    factories.ObservationFactory(location=location_a, passed=False)
    factories.ObservationFactory.create_batch(5, location=location_b)
    client.force_login(manager)
    response = client.get(home_url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Program health" in body
    assert "50% passed (n = 2)" in body
    assert location_a.name in body and location_b.name not in body


def test_admin_sees_the_whole_organisation(client, admin, location_a, location_b, home_url):
    factories.ObservationFactory(location=location_a)
    factories.ObservationFactory(location=location_b)
    client.force_login(admin)
    body = client.get(home_url).content.decode()
    assert "100% passed (n = 2)" in body
    assert reverse("admin:index") in body


def test_user_without_profile_is_told_what_to_do(db, client, home_url):
    client.force_login(factories.UserFactory())
    response = client.get(home_url)
    assert response.status_code == 403
    assert b"no employee profile" in response.content


def test_home_query_count_does_not_grow_with_data(
    client, manager, location_a, home_url, django_assert_max_num_queries
):
    factories.ObservationFactory.create_batch(30, location=location_a)
    client.force_login(manager)
    with django_assert_max_num_queries(20):
        assert client.get(home_url).status_code == 200
