"""Every page has a fixed query budget, whatever the amount of data behind it.

The demo organisation (`manage.py seed_demo`) is seeded twice — small, then large (six stores, 60
days of 40 observations per store and day) — and rolled up; every page of the manager dashboard,
the staff portal and the public site is opened by the demo manager, admin, staff member (and an
anonymous visitor for public pages) with `django_assert_max_num_queries(BUDGET)`. The same budget
holds for both sizes, and the large data set costs no more queries than the small one: a count that
grew with the data would be an N+1 query.

Each data set is seeded once per class, inside a transaction rolled back at its end; each test
still runs in its own savepoint. The clock stands at the end of the seeded evidence, so "the last
30 days" of every page are full. Deselect with ``-m "not slow"``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from io import StringIO
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from consequences.models import Consequence
from gap_analysis.selectors import actions_visible_to, assessments_visible_to
from measurement.models import Evaluation, Feedback, Scorecard
from measurement.services.rollup import scorecards_rollup
from organization.models import Location, Team
from organization.scope import scope_queryset
from standards.selectors import standards_for_employee
from touchpoints.models import Touchpoint
from training.models import Completion

pytestmark = pytest.mark.slow

UNTIL = date(2025, 6, 30)  # the seeded evidence covers the days before this date
CLOCK = datetime.combine(UNTIL, time(12, 0), tzinfo=ZoneInfo(settings.TIME_ZONE)).astimezone(UTC)
# Small, but with something in every list (a page with an empty list skips its reads).
SMALL = {"locations": 2, "days": 30, "observations_per_day": 15, "feedback_per_day": 3}
LARGE = {"locations": 6, "days": 60, "observations_per_day": 40, "feedback_per_day": 8}
# Session, user and profile, the navigation's permission check, then the page's own reads.
BUDGET = 25
FAST_HASHER = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


# --------------------------------------------------------------------------- the data sets


@dataclass(frozen=True)
class Demo:
    """The seeded organisation, and the objects in the demo manager's scope that pages are about."""

    size: dict
    store: Location
    evaluation: Evaluation
    assessment: object
    action: object
    rating: object
    feedback: Feedback
    consequence: Consequence
    completion: Completion | None
    standard_code: str
    touchpoint: Touchpoint
    team: Team
    case: Case


def _first(queryset, what: str):
    found = queryset.first()
    assert found is not None, f"the demo has no {what} in the demo manager's scope"
    return found


def _demo(size: dict) -> Demo:
    users = get_user_model().objects.select_related("employee")
    manager, staff = users.get(username="manager"), users.get(username="staff")
    store = _first(manager.employee.managed_locations.order_by("code"), "store")
    assessments = assessments_visible_to(manager).filter(location=store)
    actions = actions_visible_to(manager).filter(location=store, rating__isnull=False)
    return Demo(
        size=size,
        store=store,
        evaluation=_first(Evaluation.objects.filter(location=store).order_by("-evaluated_at"), "evaluation"),
        assessment=_first(assessments.order_by("pk"), "assessment"),
        action=_first(actions.order_by("pk"), "action item from a rating"),
        rating=_first(actions.order_by("pk"), "rating").rating,
        feedback=_first(Feedback.objects.filter(location=store).exclude(comment=""), "comment"),
        consequence=_first(scope_queryset(manager, Consequence.objects.order_by("pk")), "consequence"),
        completion=scope_queryset(manager, Completion.objects.order_by("pk")).first(),
        standard_code=_first(standards_for_employee(staff.employee).order_by("code"), "standard").code,
        touchpoint=_first(
            Touchpoint.objects.filter(locations=store, active=True).order_by("pk"), "touchpoint"
        ),
        team=_first(Team.objects.filter(location=store).order_by("pk"), "team"),
        case=_first(scope_queryset(manager, Case.objects.filter(location=store).order_by("pk")), "case"),
    )


@contextmanager
def _rolled_back():
    """A transaction for the whole class, rolled back at its end. Marked as a test case's own, as
    `django.test.TestCase` marks its class-wide transaction, so that the rollup's durable
    transaction may run inside it (as a savepoint)."""
    atomic = transaction.atomic()
    atomic._from_testcase = True
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
        ContentType.objects.clear_cache()


@contextmanager
def _seeded(django_db_blocker, size: dict):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch, FAST_HASHER, _rolled_back():
        patch.setattr(timezone, "now", lambda: CLOCK)
        call_command(
            "seed_demo",
            locations=size["locations"],
            days=size["days"],
            observations_per_day=size["observations_per_day"],
            feedback_per_day=size["feedback_per_day"],
            until=UNTIL.isoformat(),
            verbosity=0,
            stdout=StringIO(),
        )
        scorecards_rollup(full=True)
        yield _demo(size)


@pytest.fixture(scope="class")
def small_demo(django_db_setup, django_db_blocker):
    with _seeded(django_db_blocker, SMALL) as demo:
        yield demo


@pytest.fixture(scope="class")
def large_demo(django_db_setup, django_db_blocker):
    with _seeded(django_db_blocker, LARGE) as demo:
        yield demo


# --------------------------------------------------------------------------- the pages


@dataclass(frozen=True)
class Request:
    id: str
    roles: tuple[str, ...]
    url: Callable[[Demo], str]


MANAGERS = ("manager", "admin")
EVERYONE = ("staff", "manager", "admin")


def page(name: str, *args: Callable[[Demo], object], **query) -> Callable[[Demo], str]:
    def build(demo: Demo) -> str:
        path = reverse(name, args=[arg(demo) for arg in args])
        params = {key: value(demo) if callable(value) else value for key, value in query.items()}
        return f"{path}?{urlencode(params)}" if params else path

    return build


REQUESTS = [
    # Landing pages and the staff portal.
    Request("home", EVERYONE, page("home")),
    Request("standards:mine", EVERYONE, page("standards:mine")),
    Request("standards:detail", ("staff",), page("standards:detail", lambda d: d.standard_code)),
    Request("training:mine", EVERYONE, page("training:mine")),
    Request("me:scorecard", EVERYONE, page("me:scorecard")),
    Request("consequences:mine", EVERYONE, page("consequences:mine")),
    Request("consequences:recognition-wall", EVERYONE, page("consequences:recognition-wall")),
    # The manager dashboard.
    Request("scorecards", MANAGERS, page("measurement:scorecards")),
    Request("scorecards by team", MANAGERS, page("measurement:scorecards", grain="team")),
    Request("scorecards by employee", MANAGERS, page("measurement:scorecards", grain="employee")),
    Request("scorecards by standard", MANAGERS, page("measurement:scorecards", grain="standard")),
    Request("scorecards of a week", MANAGERS, page("measurement:scorecards", period_kind="week")),
    Request("scorecards of a store", MANAGERS, page("measurement:scorecards", location=lambda d: d.store.pk)),
    Request("scorecards of a team", MANAGERS, page("measurement:scorecards", team=lambda d: d.team.pk)),
    Request("scorecards as CSV", MANAGERS, page("measurement:scorecards", format="csv")),
    Request("consistency", MANAGERS, page("measurement:consistency")),
    Request("consistency as CSV", MANAGERS, page("measurement:consistency", format="csv")),
    Request("observations", MANAGERS, page("measurement:observations")),
    Request(
        "observations of a store and month",
        MANAGERS,
        page(
            "measurement:observations",
            location=lambda d: d.store.pk,
            period_kind="month",
            period_start="2025-06-01",
        ),
    ),
    Request("observations as CSV", MANAGERS, page("measurement:observations", format="csv")),
    # Recording evaluations.
    Request("evaluations:new", MANAGERS, page("evaluations:new")),
    Request(
        "evaluations:items",
        MANAGERS,
        page("evaluations:items", location=lambda d: d.store.pk, touchpoint=lambda d: d.touchpoint.pk),
    ),
    Request(
        "evaluations:location-fields",
        MANAGERS,
        page("evaluations:location-fields", location=lambda d: d.store.pk),
    ),
    # The one page of an evaluation (its dashboard address redirects here).
    Request("evaluations:detail", MANAGERS, page("evaluations:detail", lambda d: d.evaluation.pk)),
    # Training.
    Request("training:verification", MANAGERS, page("training:verification")),
    Request("training:matrix", MANAGERS, page("training:matrix")),
    Request("training matrix as CSV", MANAGERS, page("training:matrix", format="csv")),
    Request("verification queue as CSV", MANAGERS, page("training:verification", format="csv")),
    # Gap analysis.
    Request("gap heatmap", MANAGERS, page("gap_analysis:heatmap")),
    Request("assess", MANAGERS, page("gap_analysis:assess")),
    Request("assessment", MANAGERS, page("gap_analysis:assessment-detail", lambda d: d.assessment.pk)),
    Request("assessment edit", MANAGERS, page("gap_analysis:assessment-edit", lambda d: d.assessment.pk)),
    Request("gap heatmap as CSV", MANAGERS, page("gap_analysis:heatmap", format="csv")),
    Request("actions", MANAGERS, page("gap_analysis:action-list")),
    Request("actions as CSV", MANAGERS, page("gap_analysis:action-list", format="csv")),
    Request("action start", MANAGERS, page("gap_analysis:action-create")),
    Request("action from a gap", MANAGERS, page("gap_analysis:action-create", rating=lambda d: d.rating.pk)),
    Request(
        "action from a comment",
        MANAGERS,
        page("gap_analysis:action-create", feedback=lambda d: d.feedback.pk),
    ),
    Request("action", MANAGERS, page("gap_analysis:action-detail", lambda d: d.action.pk)),
    # Consequences.
    Request("consequence inbox", MANAGERS, page("consequences:inbox")),
    Request("consequence inbox as CSV", MANAGERS, page("consequences:inbox", format="csv")),
    Request("consequence", MANAGERS, page("consequences:detail", lambda d: d.consequence.pk)),
    # Customer cases: the queue, the feedback inbox, one case with its timeline, the complaint form.
    Request("cases queue", EVERYONE, page("cases:queue")),
    Request("cases queue of my locations", ("manager",), page("cases:queue", tab="locations")),
    Request("cases queue, every status", MANAGERS, page("cases:queue", tab="all", status="any")),
    Request("feedback inbox", MANAGERS, page("cases:feedback")),
    Request("feedback inbox of detractors", MANAGERS, page("cases:feedback", band="detractors")),
    Request("case", MANAGERS, page("cases:detail", lambda d: d.case.pk)),
    Request("complaint form", EVERYONE, page("cases:new")),
    # Case measures: the last 12 months, one month of one store, and the CSV.
    Request("case measures", MANAGERS, page("cases:measures")),
    Request(
        "case measures of a store and month",
        MANAGERS,
        page("cases:measures", location=lambda d: d.store.code, month=UNTIL.strftime("%Y-%m")),
    ),
    Request("case measures as CSV", MANAGERS, page("cases:measures", format="csv")),
    # QR codes of a store, and the public pages.
    Request("QR sheet", MANAGERS, page("feedback-qr-sheet", lambda d: d.store.code)),
    Request(
        "feedback form",
        ("anonymous",),
        page("feedback-form", lambda d: d.store.code, lambda d: d.touchpoint.slug),
    ),
    Request("improvements", ("anonymous",), page("improvements")),
    # Audits: the small demo has too few audits to fill every list of the programme page (an empty
    # one skips its reads, so the two sizes would differ); its budget is proved with 32 locations in
    # tests/test_audit_programme.py, and the form's and result's in tests/test_audit_form.py.
    Request("my audits", (*EVERYONE, "shopper"), page("audits:mine")),
]
CASES = [
    pytest.param(request, role, id=f"{request.id}-{role}") for request in REQUESTS for role in request.roles
]
# Queries per (page, role) on each data set, for the comparison at the end.
COUNTS: dict[str, dict[tuple[str, str], int]] = {"small": {}, "large": {}}


def _open(client, demo: Demo, request: Request, role: str, django_assert_max_num_queries, size: str) -> None:
    if role != "anonymous":
        client.force_login(get_user_model().objects.get(username=role))
    url = request.url(demo)
    with django_assert_max_num_queries(BUDGET) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    COUNTS[size][(request.id, role)] = len(queries)


# --------------------------------------------------------------------------- the tests


@pytest.mark.django_db
class TestSmallDataSet:
    def test_the_demo_is_small(self, small_demo):
        assert Scorecard.objects.filter(grain="location", period_kind="month").count() < 20

    @pytest.mark.parametrize("request_, role", CASES)
    def test_page_stays_within_its_budget(
        self, client, small_demo, request_, role, django_assert_max_num_queries
    ):
        _open(client, small_demo, request_, role, django_assert_max_num_queries, "small")


@pytest.mark.django_db
class TestLargeDataSet:
    def test_the_demo_is_large(self, large_demo):
        from measurement.models import Observation

        assert Observation.objects.count() >= 6 * 60 * 40

    @pytest.mark.parametrize("request_, role", CASES)
    def test_page_stays_within_its_budget(
        self, client, large_demo, request_, role, django_assert_max_num_queries
    ):
        _open(client, large_demo, request_, role, django_assert_max_num_queries, "large")


def test_the_large_data_set_costs_no_more_queries_than_the_small_one():
    compared = COUNTS["small"].keys() & COUNTS["large"].keys()
    if not compared:
        pytest.skip("the budget tests of both data sets did not run in this session")
    grew = {
        key: (COUNTS["small"][key], COUNTS["large"][key])
        for key in sorted(compared)
        if COUNTS["large"][key] > COUNTS["small"][key]
    }
    assert not grew, f"queries grew with the data (small, large): {grew}"
