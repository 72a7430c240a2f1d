"""The public customer feedback form, its guards (honeypot, rate limit) and its QR codes."""

import re

import pytest
import segno
from django.core.cache import cache
from django.urls import reverse

from measurement.models import Feedback
from tests import factories


@pytest.fixture(autouse=True)
def empty_cache():
    # The rate limit counts in the cache: every test starts with a fresh allowance.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def till(location_a):
    touchpoint = factories.TouchpointFactory(name="Checkout till", slug="till")
    touchpoint.locations.add(location_a)
    return touchpoint


@pytest.fixture
def form_url(location_a, till):
    return reverse("feedback-form", args=[location_a.code, till.slug])


def answer(**fields):
    return {"csat": "4", "nps": "9", "comment": "Quick and friendly", **fields}


# --- the form ------------------------------------------------------------------------------


def test_the_form_needs_no_login_and_names_the_location_and_touchpoint(client, form_url):
    response = client.get(form_url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Checkout till at Alpha Street" in body
    assert '<legend class="h6 fw-semibold">How satisfied are you with your visit?</legend>' in body
    assert 'name="website"' in body and 'tabindex="-1"' in body and 'autocomplete="off"' in body


def test_a_valid_answer_is_stored_with_the_web_form_channel(client, form_url, location_a, till):
    response = client.post(form_url, answer())
    assert response.status_code == 302
    assert response.url == reverse("feedback-thanks", args=[location_a.code, till.slug])
    feedback = Feedback.objects.get()
    assert (feedback.location, feedback.touchpoint) == (location_a, till)
    assert (feedback.csat, feedback.nps, feedback.comment) == (4, 9, "Quick and friendly")
    assert feedback.channel == "web_form"
    assert (feedback.contact_name, feedback.contact_email, feedback.contact_consent) == ("", "", False)
    assert "Thank you" in client.get(response.url).content.decode()


def test_an_answer_through_a_qr_code_is_marked_as_such(client, form_url):
    client.post(f"{form_url}?src=qr", answer())
    assert Feedback.objects.get().channel == "qr_code"


def test_the_touchpoint_can_be_named_by_id(client, location_a, till):
    response = client.post(reverse("feedback-form", args=[location_a.code, till.pk]), answer())
    assert response.status_code == 302 and Feedback.objects.get().touchpoint == till


def test_contact_details_are_kept_with_consent(client, form_url):
    client.post(
        form_url,
        answer(contact_name="Ann Lee", contact_email="ann@example.com", contact_consent="on"),
    )
    feedback = Feedback.objects.get()
    assert (feedback.contact_name, feedback.contact_email, feedback.contact_consent) == (
        "Ann Lee",
        "ann@example.com",
        True,
    )


def test_contact_details_without_consent_are_refused_next_to_the_box_and_the_input_kept(client, form_url):
    response = client.post(form_url, answer(contact_name="Ann Lee", contact_email="ann@example.com"))
    assert response.status_code == 200
    assert Feedback.objects.count() == 0
    body = response.content.decode()
    error_list = re.search(r'<ul [^>]*id="id_contact_consent_error">(.*?)</ul>', body, re.S)
    assert error_list and "Tick the box so that we may contact you" in error_list.group(1)
    assert re.search(r'<input type="checkbox"[^>]*aria-describedby="id_contact_consent_error"', body)
    assert 'value="Ann Lee"' in body and 'value="ann@example.com"' in body
    assert "Quick and friendly</textarea>" in body
    assert re.search(r'<input type="radio" name="csat" value="4"[^>]*checked', body)


def test_an_over_long_name_is_refused_next_to_its_field(client, form_url):
    response = client.post(form_url, answer(contact_name="A" * 121, contact_consent="on"))
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'id="id_contact_name_error"><li>At most 120 characters', body)
    assert Feedback.objects.count() == 0


def test_an_empty_answer_is_refused_with_a_message(client, form_url):
    response = client.post(form_url, {"comment": "  "})
    assert response.status_code == 200
    assert "Give a satisfaction rating, a recommendation score or a comment." in response.content.decode()
    assert Feedback.objects.count() == 0


def test_a_score_outside_the_scale_is_refused(client, form_url):
    response = client.post(form_url, answer(nps="11"))
    assert response.status_code == 200
    assert 'aria-describedby="id_nps_ends id_nps_error"' in response.content.decode()
    assert Feedback.objects.count() == 0


def test_a_double_submission_is_stored_once(client, form_url):
    response = client.get(form_url)
    submission = response.context["form"]["submission"].value()
    client.post(form_url, answer(submission=submission))
    second = client.post(form_url, answer(submission=submission))
    assert second.status_code == 302
    assert Feedback.objects.count() == 1


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(client, form_url, location_a, till):
    response = client.post(form_url, answer(website="http://spam.example"))
    assert response.status_code == 302
    assert response.url == reverse("feedback-thanks", args=[location_a.code, till.slug])
    assert Feedback.objects.count() == 0


def test_the_sixth_submission_from_one_address_in_the_window_is_refused(client, form_url, settings):
    settings.FEEDBACK_RATE_LIMIT = 5
    settings.FEEDBACK_RATE_WINDOW_SECONDS = 600
    for _ in range(5):
        assert client.post(form_url, answer()).status_code == 302
    response = client.post(form_url, answer())
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert response["Retry-After"] == "600"
    assert Feedback.objects.count() == 5
    # Another address still gets through.
    other = client.post(form_url, answer(), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302 and Feedback.objects.count() == 6


def test_the_rate_limit_follows_the_settings(client, form_url, settings):
    settings.FEEDBACK_RATE_LIMIT = 1
    assert client.post(form_url, answer()).status_code == 302
    assert client.post(form_url, answer()).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(client, form_url, settings):
    settings.FEEDBACK_RATE_LIMIT = 1
    settings.FEEDBACK_TRUSTED_PROXIES = 1
    assert client.post(form_url, answer(), HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 302
    assert client.post(form_url, answer(), HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302
    # A client cannot escape by making up addresses on the left of the header.
    spoofed = client.post(form_url, answer(), HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.2")
    assert spoofed.status_code == 429


@pytest.mark.parametrize(
    "code, touchpoint",
    [("NOPE-99", "till"), ("AAA-01", "nope"), ("AAA-01", "999999")],
)
def test_an_unknown_location_or_touchpoint_is_not_found(client, till, code, touchpoint):
    assert client.get(reverse("feedback-form", args=[code, touchpoint])).status_code == 404


def test_a_touchpoint_that_is_not_at_the_location_is_not_found(client, till, location_b):
    assert client.get(reverse("feedback-form", args=[location_b.code, till.slug])).status_code == 404


def test_a_touchpoint_with_no_locations_is_everywhere(client, location_b):
    phone = factories.TouchpointFactory(name="Phone line", slug="phone-line")
    assert client.get(reverse("feedback-form", args=[location_b.code, phone.slug])).status_code == 200


def test_an_inactive_touchpoint_is_not_found(client, form_url, till):
    till.active = False
    till.save()
    assert client.get(form_url).status_code == 404


# --- what else an anonymous visitor can reach ---------------------------------------------


@pytest.mark.parametrize("path", ["/", "/admin/"])
def test_no_other_page_is_reachable_without_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "login" in response.url


# --- QR codes ------------------------------------------------------------------------------


@pytest.fixture
def sheet_url(location_a):
    return reverse("feedback-qr-sheet", args=[location_a.code])


@pytest.fixture
def svg_url(location_a, till):
    return reverse("feedback-qr-svg", args=[location_a.code, till.slug])


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_of_the_location_get_the_qr_sheet(client, request, sheet_url, till, role):
    phone = factories.TouchpointFactory(name="Phone line", slug="phone-line")
    elsewhere = factories.TouchpointFactory(name="Drive-through", slug="drive-through")
    elsewhere.locations.add(factories.LocationFactory(code="CCC-01"))
    client.force_login(request.getfixturevalue(role))
    response = client.get(sheet_url)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="qr-card"') == 2
    assert "Checkout till" in body and phone.name in body and "Drive-through" not in body
    assert "http://testserver/feedback/AAA-01/till/?src=qr" in body
    assert "<svg" in body


@pytest.mark.parametrize("role", ["staff", "other_manager"])
@pytest.mark.parametrize("qr_url", ["sheet_url", "svg_url"])
def test_the_qr_pages_are_not_found_for_staff_and_other_managers(client, request, role, qr_url):
    client.force_login(request.getfixturevalue(role))
    assert client.get(request.getfixturevalue(qr_url)).status_code == 404


@pytest.mark.parametrize("qr_url", ["sheet_url", "svg_url"])
def test_the_qr_pages_send_anonymous_visitors_to_login(client, request, qr_url):
    url = request.getfixturevalue(qr_url)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_the_qr_svg_encodes_the_feedback_link(client, manager, svg_url):
    client.force_login(manager)
    response = client.get(svg_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert "<svg" in svg
    link = "http://testserver/feedback/AAA-01/till/?src=qr"
    # The modules drawn are exactly those of a code holding the link.
    expected = segno.make(link, error="m").svg_inline()
    assert re.search(r' d="([^"]+)"', svg).group(1) == re.search(r' d="([^"]+)"', expected).group(1)
    assert f"QR code for {link}" in svg
