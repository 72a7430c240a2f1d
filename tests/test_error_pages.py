"""The 403 and 404 pages: same status codes, the site's navigation, who is signed in and what to do
next, with DEBUG off as in production; and the navigation's list of printable QR sheets."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests import factories

MISSING = "/no-such-page/"


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


def _as(client, user):
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_a_missing_page_answers_404_with_the_navigation_and_a_way_home(client, request, role):
    user = request.getfixturevalue(role)
    response = _as(client, user).get(MISSING)
    assert response.status_code == 404
    body = response.content.decode()
    assert "No such page" in body and MISSING in body
    assert 'aria-label="Main navigation"' in body and "Sign out" in body
    assert f"You are signed in as {user.get_full_name()} ({role})" in body
    assert f'href="{reverse("home")}">Go to your home page' in body


def test_an_anonymous_visitor_on_a_missing_page_is_offered_sign_in(client, db):
    response = client.get(MISSING)
    assert response.status_code == 404
    body = response.content.decode()
    assert "No such page" in body and f'href="{reverse("login")}"' in body
    assert "Sign out" not in body


def test_a_record_outside_the_scope_answers_the_same_404_page(client, other_manager, location_a):
    response = _as(client, other_manager).get(reverse("feedback-qr-sheet", args=[location_a.code]))
    assert response.status_code == 404
    assert "No such page" in response.content.decode()


def test_a_page_for_another_role_answers_403_with_the_reason(client, staff):
    response = _as(client, staff).get(reverse("gap_analysis:heatmap"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "This is outside your scope" in body
    assert "Your role does not give access to this page." in body
    assert f'href="{reverse("home")}">Go to your home page' in body
    assert "staff" in body and "Sign out" in body


def test_an_account_without_a_profile_gets_the_403_page_with_what_to_ask(client, db):
    user = get_user_model().objects.create_user("bare", password="long-enough-pw-1")
    response = _as(client, user).get(reverse("home"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Your account has no employee profile yet" in body
    assert "What you can do" in body and "Go to your home page" not in body


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_employees_on_the_admin_get_the_403_page(client, request, role):
    response = _as(client, request.getfixturevalue(role)).get("/admin/")
    assert response.status_code == 403
    assert "Administration is for administrators" in response.content.decode()


def test_admins_open_the_admin(client, admin):
    assert _as(client, admin).get("/admin/").status_code == 200


def test_anonymous_visitors_on_the_admin_get_its_login(client, db):
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


# --- The navigation's QR sheets ----------------------------------------------------------------


def _sheet(location) -> str:
    return reverse("feedback-qr-sheet", args=[location.code])


def test_managers_find_the_qr_sheets_of_their_locations_in_the_navigation(
    client, manager, location_a, location_b
):
    body = _as(client, manager).get(reverse("gap_analysis:heatmap")).content.decode()
    assert "QR feedback sheets" in body and ">QR sheets<" in body
    assert f'href="{_sheet(location_a)}"' in body
    assert _sheet(location_b) not in body


def test_admins_find_every_active_locations_qr_sheet(client, admin, location_a, location_b):
    closed = factories.LocationFactory(code="OLD-01", active=False)
    body = _as(client, admin).get(reverse("home")).content.decode()
    assert f'href="{_sheet(location_a)}"' in body and f'href="{_sheet(location_b)}"' in body
    assert _sheet(closed) not in body


def test_staff_have_no_qr_sheets_in_the_navigation(client, staff):
    body = _as(client, staff).get(reverse("home")).content.decode()
    assert "QR sheets" not in body


@pytest.mark.parametrize("managed", [1, 5])
def test_the_navigation_costs_the_same_queries_for_one_or_five_locations(
    client, manager, location_a, managed, django_assert_max_num_queries
):
    for location in factories.LocationFactory.create_batch(managed - 1):
        manager.employee.managed_locations.add(location)
    _as(client, manager)
    page = reverse("consequences:mine")
    with django_assert_max_num_queries(QUERIES_OF_A_NAVIGATED_PAGE):
        body = client.get(page).content.decode()
    assert body.count('href="/feedback/') == managed


# Measured for consequences:mine, a manager's page with the full navigation: session, user, employee,
# the page's own queries, and one for the navigation's locations, for 1 location as for 5.
QUERIES_OF_A_NAVIGATED_PAGE = 6
