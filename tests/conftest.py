"""Role fixtures shared by every test: staff, manager, other_manager, admin, anonymous.

`manager` manages location A (where `staff` works); `other_manager` manages location B.
"""

import copy
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser

from organization.models import Role
from organization.services import employee_sync_groups
from servicedesk.celery import app as celery_app
from tests import factories

# Shared assertion helpers get pytest's detailed failure messages too.
pytest.register_assert_rewrite("tests.assertions")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Factories give every user a password; the production hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def cache_of_its_own(settings):
    # Counts kept in the cache (the public forms' rate limits) must not carry over from one test
    # to the next, nor from an earlier run on a shared Redis: each test gets its own key prefix.
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def no_rollup_after_commit(settings):
    # With tasks inline, the rollup that a commit asks for would run inside every request that
    # records evidence; tests roll up when they mean to (tests/test_freshness.py switches it on).
    settings.ROLLUP_AFTER_COMMIT_SECONDS = 0


@pytest.fixture(autouse=True)
def tasks_run_in_process():
    # Tasks enqueued by the code under test run inline instead of leaving messages in the
    # development broker; tests with a real worker switch this off for themselves.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def location_a(db):
    return factories.LocationFactory(code="AAA-01", name="Alpha Street", region="North")


@pytest.fixture
def location_b(db):
    return factories.LocationFactory(code="BBB-01", name="Beta Road", region="South")


def _employee(role, location, username, **extra):
    employee = factories.EmployeeFactory(
        role=role, location=location, user=factories.UserFactory(username=username), **extra
    )
    employee_sync_groups(employee=employee)
    return employee


@pytest.fixture
def staff(location_a):
    return _employee(Role.STAFF, location_a, "staff").user


@pytest.fixture
def manager(location_a):
    employee = _employee(Role.MANAGER, location_a, "manager", job_title="Store manager")
    employee.managed_locations.add(location_a)
    return employee.user


@pytest.fixture
def other_manager(location_b):
    employee = _employee(Role.MANAGER, location_b, "other_manager", job_title="Store manager")
    employee.managed_locations.add(location_b)
    return employee.user


@pytest.fixture
def admin(location_a):
    return _employee(Role.ADMIN, location_a, "admin", job_title="Program administrator").user


@pytest.fixture
def anonymous():
    return AnonymousUser()
