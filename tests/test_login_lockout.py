"""Login protection (django-axes): repeated failures lock one user out from one address, on the
browser sign-in, the admin sign-in and the API token endpoint alike; the answer says when to try
again; an admin unlocks.

The defaults are used throughout: 5 failures, 15 minutes' cool-off.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY, get_user_model
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories
from tests.test_settings import start_django

PASSWORD = "correct-horse-battery"
LIMIT = 5
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
TOKEN = "/api/v1/token/"


@pytest.fixture
def clerk(db):
    return factories.UserFactory(username="clerk")


def sign_in(client, path, username, password, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def fail(client, path, username="clerk", times=1, **extra):
    for _ in range(times):
        response = sign_in(client, path, username, "not-the-password", **extra)
    return response


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_the_settings_apply_the_documented_defaults(settings):
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    cool_off = settings.AXES_COOLOFF_TIME
    assert cool_off == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    # Kept in the database: every process and host sees the same count.
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


def test_the_fifth_failure_locks_the_browser_sign_in_and_says_until_when(client, clerk):
    for attempt in range(1, LIMIT):
        response = fail(client, LOGIN)
        assert response.status_code == 200, attempt
        assert "Please enter a correct username and password" in response.content.decode()

    before = timezone.now()
    locked = fail(client, LOGIN)

    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in locked for a while" in page
    assert f"There were {LIMIT} failed sign-ins" in page
    until = timezone.localtime(before + timedelta(minutes=15))
    assert until.strftime("%H:%M") in page or (until + timedelta(minutes=1)).strftime("%H:%M") in page
    assert "in about 15 minutes" in page
    assert 14 * 60 <= int(locked["Retry-After"]) <= 15 * 60
    # Even the right password is refused now, and no session is opened.
    right = sign_in(client, LOGIN, "clerk", PASSWORD)
    assert right.status_code == 429 and not signed_in(client)


def test_below_the_limit_the_right_password_still_signs_in(client, clerk):
    fail(client, LOGIN, times=LIMIT - 1)

    response = sign_in(client, LOGIN, "clerk", PASSWORD)

    assert response.status_code == 302 and signed_in(client)


def test_a_successful_sign_in_forgets_the_earlier_failures(client, clerk):
    fail(client, LOGIN, times=LIMIT - 1)
    sign_in(client, LOGIN, "clerk", PASSWORD)
    client.logout()

    assert fail(client, LOGIN, times=LIMIT - 1).status_code == 200
    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 302


def test_the_lockout_is_for_that_user_from_that_address_only(client, clerk):
    factories.UserFactory(username="colleague")
    fail(client, LOGIN, times=LIMIT)

    # A colleague behind the same address signs in ...
    assert sign_in(client, LOGIN, "colleague", PASSWORD).status_code == 302
    client.logout()
    # ... and so does the user from another address: a stranger cannot lock them out.
    elsewhere = sign_in(client, LOGIN, "clerk", PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert elsewhere.status_code == 302
    client.logout()
    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 429


def test_the_admin_sign_in_locks_too(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    fail(client, ADMIN_LOGIN, username="root", times=LIMIT - 1)

    locked = fail(client, ADMIN_LOGIN, username="root")

    assert locked.status_code == 429
    assert "Sign-in locked for a while" in locked.content.decode()
    assert sign_in(client, ADMIN_LOGIN, "root", PASSWORD).status_code == 429 and not signed_in(client)


def test_the_token_endpoint_answers_429_with_json_once_locked(clerk):
    api = APIClient()
    wrong = api.post(TOKEN, {"username": "clerk", "password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    for _ in range(LIMIT - 2):
        api.post(TOKEN, {"username": "clerk", "password": "nope"}, format="json")

    locked = api.post(TOKEN, {"username": "clerk", "password": "nope"}, format="json")

    assert locked.status_code == 429
    body = locked.json()
    assert set(body) == {"detail", "locked_until", "retry_after"}
    assert "Too many failed sign-ins (5) for this user from this address" in body["detail"]
    assert 14 * 60 <= body["retry_after"] <= 15 * 60 and locked["Retry-After"] == str(body["retry_after"])
    right = api.post(TOKEN, {"username": "clerk", "password": PASSWORD}, format="json")
    assert right.status_code == 429
    assert not Token.objects.filter(user=clerk).exists()


def test_the_token_endpoint_still_gives_a_token_to_the_right_password(clerk):
    response = APIClient().post(TOKEN, {"username": "clerk", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=clerk).key}


def test_failures_on_all_three_doors_add_up(client, clerk):
    fail(client, LOGIN, times=2)
    fail(client, ADMIN_LOGIN, times=2)
    locked = APIClient().post(TOKEN, {"username": "clerk", "password": "nope"}, format="json")

    assert locked.status_code == 429
    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "username",
    ["x" * 151, "clerk\x00", "x" * 10_000],
    ids=["longer-than-the-column", "nul", "ten-thousand"],
)
def test_a_token_request_the_attempt_log_could_not_hold_is_refused_with_400(clerk, username):
    # Without the length check PostgreSQL refuses the failed-attempt row: a 500.
    response = APIClient().post(TOKEN, {"username": username, "password": "nope"}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()
    assert not AccessAttempt.objects.exists()


def test_the_lockout_lifts_after_the_cool_off(client, clerk):
    fail(client, LOGIN, times=LIMIT)
    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))

    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 302


def test_attempts_during_a_lockout_do_not_extend_it(client, clerk):
    fail(client, LOGIN, times=LIMIT)
    last_failure = AccessAttempt.objects.get().attempt_time

    fail(client, LOGIN, times=3)

    attempt = AccessAttempt.objects.get()
    assert attempt.attempt_time == last_failure and attempt.failures_since_start == LIMIT


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_locked(client, clerk, settings):
    settings.FEEDBACK_TRUSTED_PROXIES = 1
    fail(client, LOGIN, times=LIMIT, HTTP_X_FORWARDED_FOR="198.51.100.1")

    # The proxy's own address is not what was locked: another client through it signs in.
    assert sign_in(client, LOGIN, "clerk", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302
    client.logout()
    # Made-up addresses on the left of the header do not escape the lockout.
    spoofed = sign_in(client, LOGIN, "clerk", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.1")
    assert spoofed.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "198.51.100.1"


# --- unlocking in admin ------------------------------------------------------------------------


def test_an_admin_unlocks_a_user_from_the_user_list(client, clerk, admin):
    fail(client, LOGIN, times=LIMIT)
    client.force_login(admin)

    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [clerk.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Sign-in unlocked for 1 user(s): 1 failed-attempt record(s) cleared." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 302


def test_a_superuser_unlocks_from_the_access_attempts_page(client, clerk):
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    fail(client, LOGIN, times=LIMIT)
    client.force_login(root)
    changelist = reverse("admin:axes_accessattempt_changelist")
    page = client.get(changelist).content.decode()
    assert "Unlock: delete the selected failed attempts" in page and "Locked Out" in page

    response = client.post(
        changelist,
        {"action": "unlock_selected", "_selected_action": [AccessAttempt.objects.get().pk]},
        follow=True,
    )

    assert "Unlocked: 1 failed-attempt record(s) deleted." in response.content.decode()
    client.logout()
    assert sign_in(client, LOGIN, "clerk", PASSWORD).status_code == 302


def test_staff_cannot_unlock_anyone(client, clerk, staff):
    fail(client, LOGIN, times=LIMIT)
    client.force_login(staff)

    response = client.post(
        reverse("admin:auth_user_changelist"), {"action": "unlock_sign_in", "_selected_action": [clerk.pk]}
    )

    # The admin refuses employees who are not administrators with its 403 page, before any action runs.
    assert response.status_code == 403
    assert AccessAttempt.objects.count() == 1


# --- configuration -------------------------------------------------------------------------------


def test_the_limit_and_the_cool_off_come_from_the_environment(tmp_path):
    result = start_django(
        tmp_path,
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds())",
        LOGIN_FAILURE_LIMIT="3",
        LOGIN_COOLOFF_MINUTES="60",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "3600.0"]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"LOGIN_FAILURE_LIMIT": "five"}, "LOGIN_FAILURE_LIMIT must be a whole number, got “five”"),
        (
            {"LOGIN_COOLOFF_MINUTES": "0"},
            "LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be whole numbers ≥ 1, got 5 and 0",
        ),
    ],
)
def test_a_bad_limit_stops_start_up_naming_the_variable(tmp_path, environment, message):
    result = start_django(tmp_path, "manage.py", "check", **environment)

    assert result.returncode != 0
    assert message in result.stderr


def test_the_schema_documents_the_token_endpoints_answers(manager):
    api = APIClient()
    api.force_authenticate(manager)
    schema = api.get(reverse("api:schema"), {"format": "json"}).json()

    post = schema["paths"][TOKEN]["post"]

    assert {"200", "400", "429"} <= set(post["responses"])
    locked = post["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][locked]["properties"]) == {
        "detail",
        "locked_until",
        "retry_after",
    }
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    username = schema["components"]["schemas"][body]["properties"]["username"]
    assert username["maxLength"] == 150
