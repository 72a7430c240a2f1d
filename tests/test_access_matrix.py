"""Who may open which page: every page of the app × every role, in one table.

Roles (tests/conftest.py): anonymous, staff (works at location A), manager (manages A),
other_manager (manages B), admin. Every object a page is about exists once at A and once at B.

- public pages answer everyone;
- every other page sends anonymous visitors to the login page;
- a signed-in user whose role may not open a page gets 403;
- an object outside the user's scope answers 404, exactly as a missing one would;
- a POST that is refused changes nothing.

`test_every_page_is_in_the_table` fails when a URL pattern appears that the table does not cover,
so a new page cannot ship without saying who may open it. The REST API (/api/) has its own access
tests in test_api.py; Django admin guards itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audits.models import Answer, Audit, Occurrence, Photo
from cases.models import Case, CaseEvent, CaseOrigin
from cases.services.core import case_open
from consequences.models import Consequence
from gap_analysis.models import ActionItem, Assessment, Rating
from measurement.models import Feedback, Observation
from organization.models import Role, Team
from standards.models import Acknowledgement
from tests import factories
from training.models import Completion

ROLES = ("anonymous", "staff", "manager", "other_manager", "admin")
A, B = "a", "b"
LOGIN = "login"  # a redirect to the login page
REDIRECT = "redirect"  # a redirect somewhere else
DONE = "done"  # a POST that was allowed: the page again (200) or a redirect, never a refusal
# URL prefixes the table does not cover (their own tests do).
NOT_PAGES = ("admin/", "api/")


# --------------------------------------------------------------------------- who gets what


def public() -> dict[str, str | int]:
    return dict.fromkeys(ROLES, 200)


def signed_in() -> dict[str, str | int]:
    """Any signed-in user with an employee profile (pages about 'me')."""
    return {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 200)}


def managers() -> dict[str, str | int]:
    return {"anonymous": LOGIN, "staff": 403, "manager": 200, "other_manager": 200, "admin": 200}


def managers_of(side: str, *, ok: str | int = 200, staff: int = 403) -> dict[str, str | int]:
    """A manager's page about an object at `side`: its location's manager and admins get `ok`,
    the other location's manager 404."""
    return {
        "anonymous": LOGIN,
        "staff": staff,
        "manager": ok if side == A else 404,
        "other_manager": ok if side == B else 404,
        "admin": ok,
    }


def applies_at(side: str, *, ok: str | int = 200) -> dict[str, str | int]:
    """A standard for the teams at `side`: it exists only for the people it applies to (staff,
    manager and admin work at A, other_manager at B)."""
    at_a = ok if side == A else 404
    at_b = ok if side == B else 404
    return {"anonymous": LOGIN, "staff": at_a, "manager": at_a, "other_manager": at_b, "admin": at_a}


# --------------------------------------------------------------------------- the objects pages are about


@dataclass
class Side:
    location: object
    touchpoint: object
    standard: object
    employee: object
    team: object
    completion: object
    evaluation: object
    assessment: object
    rating: object
    action: object
    feedback: object
    consequence: object


@dataclass
class World:
    sides: dict[str, Side] = field(default_factory=dict)

    def __getitem__(self, side: str) -> Side:
        return self.sides[side]


def build_side(location, employee, owner, code: str) -> Side:
    touchpoint = factories.TouchpointFactory(slug=f"counter-{code.lower()}", name=f"Counter {code}")
    touchpoint.locations.add(location)
    standard = factories.StandardFactory(code=f"STD-{code}", title=f"Standard at {code}")
    standard.touchpoints.add(touchpoint)
    # The standard applies to everyone who works at this side's location (through their teams).
    standard.teams.set(Team.objects.filter(location=location))
    evaluation = factories.EvaluationFactory(
        location=location, employee=employee, team=employee.team, comment=f"Mystery shop at {code}"
    )
    factories.ObservationFactory(
        location=location, employee=employee, team=employee.team, standard=standard, evaluation=evaluation
    )
    assessment = factories.AssessmentFactory(
        touchpoint=touchpoint, location=location, summary=f"Queue assessment at {code}"
    )
    rating = factories.RatingFactory(assessment=assessment)
    feedback = factories.FeedbackFactory(
        location=location, touchpoint=touchpoint, comment=f"Slow queue at {code}"
    )
    return Side(
        location=location,
        touchpoint=touchpoint,
        standard=standard,
        employee=employee,
        team=employee.team,
        completion=factories.CompletionFactory(employee=employee),
        evaluation=evaluation,
        assessment=assessment,
        rating=rating,
        action=factories.ActionItemFactory(
            rating=rating, location=location, owner=owner, title=f"Open a second till at {code}"
        ),
        feedback=feedback,
        consequence=factories.ConsequenceFactory(location=location, summary=f"Coach the team at {code}"),
    )


@pytest.fixture
def world(staff, manager, other_manager, admin, location_a, location_b) -> World:
    staff_b = factories.EmployeeFactory(
        role=Role.STAFF, location=location_b, user__first_name="Bianca", user__last_name="Bside"
    )
    return World(
        sides={
            A: build_side(location_a, staff.employee, manager, "A"),
            B: build_side(location_b, staff_b, other_manager, "B"),
        }
    )


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Page:
    name: str  # URL name, with its namespace
    expect: dict[str, str | int]  # role → status, LOGIN, REDIRECT or DONE
    url: Callable[[World], str] | None = None  # default: reverse(name)
    method: str = "get"
    data: dict | Callable[[World], dict] = field(default_factory=dict)  # a callable gets the world
    side: str = ""  # A or B: where the object the page is about sits
    via: str = ""  # the query parameter naming that object, if not the path

    @property
    def id(self) -> str:
        via = f" ?{self.via}=" if self.via else ""
        side = f" at {self.side.upper()}" if self.side else ""
        return f"{self.method.upper()} {self.name}{via}{side}"

    def path(self, world: World) -> str:
        return self.url(world) if self.url else reverse(self.name)

    def body(self, world: World) -> dict:
        return self.data(world) if callable(self.data) else self.data


def url(name: str, *args: Callable[[World], object], query: Callable[[World], dict] | None = None):
    def build(world: World) -> str:
        path = reverse(name, args=[arg(world) for arg in args])
        return f"{path}?{urlencode(query(world))}" if query else path

    return build


def on(side: str, attribute: str, column: str = "pk") -> Callable[[World], object]:
    return lambda world: getattr(getattr(world[side], attribute), column)


def sided(name: str, expect: Callable[[str], dict], *args: tuple[str, str], **options) -> list[Page]:
    """The page `name` about the object at A and the one at B; `args` are (attribute, column)."""
    return [
        Page(
            name,
            expect(side),
            url=url(name, *(on(side, attribute, column) for attribute, column in args)),
            side=side,
            **options,
        )
        for side in (A, B)
    ]


def sided_query(name: str, expect: Callable[[str], dict], param: str, attribute: str) -> list[Page]:
    """The page `name` asked about an object at A and at B through the query parameter `param`."""
    return [
        Page(
            name,
            expect(side),
            url=url(name, query=lambda world, side=side: {param: getattr(world[side], attribute).pk}),
            side=side,
            via=param,
        )
        for side in (A, B)
    ]


PAGES: list[Page] = [
    # The landing page and accounts.
    Page("home", signed_in()),
    Page("attention", managers()),
    Page("login", public()),
    Page("password_change", signed_in()),
    Page("password_change_done", signed_in()),
    Page("password_reset", public()),
    Page("password_reset_done", public()),
    Page(
        "password_reset_confirm", public(), url=url("password_reset_confirm", lambda w: "MQ", lambda w: "x-y")
    ),
    Page("password_reset_complete", public()),
    # Customers: the feedback form and its QR codes.
    *sided("feedback-form", lambda side: public(), ("location", "code"), ("touchpoint", "slug")),
    *sided("feedback-thanks", lambda side: public(), ("location", "code"), ("touchpoint", "slug")),
    # QR codes are for the managers of the location; to anyone else the location does not exist.
    *sided("feedback-qr-sheet", lambda side: managers_of(side, staff=404), ("location", "code")),
    *sided(
        "feedback-qr-svg",
        lambda side: managers_of(side, staff=404),
        ("location", "code"),
        ("touchpoint", "slug"),
    ),
    Page("improvements", public()),
    # Staff portal: about the signed-in employee only.
    Page("standards:mine", signed_in()),
    *sided("standards:detail", applies_at, ("standard", "code")),
    Page("training:mine", signed_in()),
    Page("me:scorecard", signed_in()),
    Page("consequences:mine", signed_in()),
    Page("consequences:recognition-wall", signed_in()),
    # Manager dashboard.
    Page("measurement:dashboard", dict.fromkeys(ROLES, REDIRECT)),
    Page("measurement:scorecards", managers()),
    Page("measurement:consistency", managers()),
    Page("measurement:observations", managers()),
    *sided_query("measurement:observations", managers_of, "location", "location"),
    *sided_query("measurement:observations", managers_of, "team", "team"),
    *sided_query("measurement:observations", managers_of, "employee", "employee"),
    # The dashboard address of an evaluation leads to its one page (evaluations:detail).
    *sided(
        "measurement:evaluation-detail", lambda side: managers_of(side, ok=REDIRECT), ("evaluation", "pk")
    ),
    # Recording evaluations (managers, and staff given the evaluator permission).
    Page("evaluations:new", managers()),
    Page("evaluations:items", managers()),
    Page("evaluations:location-fields", managers()),
    *sided("evaluations:detail", managers_of, ("evaluation", "pk")),
    # Training for managers.
    Page("training:verification", managers()),
    Page("training:matrix", managers()),
    # Gap analysis.
    Page("gap_analysis:heatmap", managers()),
    Page("gap_analysis:assess", managers()),
    *sided("gap_analysis:assessment-detail", managers_of, ("assessment", "pk")),
    *sided("gap_analysis:assessment-edit", managers_of, ("assessment", "pk")),
    Page("gap_analysis:action-list", managers()),
    Page("gap_analysis:action-create", managers()),
    *sided_query("gap_analysis:action-create", managers_of, "rating", "rating"),
    *sided_query("gap_analysis:action-create", managers_of, "feedback", "feedback"),
    *sided("gap_analysis:action-detail", managers_of, ("action", "pk")),
    # Consequences.
    Page("consequences:inbox", managers()),
    *sided("consequences:detail", managers_of, ("consequence", "pk")),
    # Case measures: the managers' own locations (another location, by its code, does not exist).
    Page("cases:measures", managers()),
    *(
        Page(
            "cases:measures",
            managers_of(side),
            url=url("cases:measures", query=lambda world, side=side: {"location": world[side].location.code}),
            side=side,
            via="location",
        )
        for side in (A, B)
    ),
]

# Endpoints that change something: POST only (or POST as well as GET).
POSTS: list[Page] = [
    # Signs out and goes to the login page, whoever asks.
    Page("logout", dict.fromkeys(ROLES, LOGIN), method="post"),
    *sided(
        "standards:acknowledge", lambda side: applies_at(side, ok=DONE), ("standard", "code"), method="post"
    ),
    *sided(
        "training:review",
        lambda side: managers_of(side, ok=DONE),
        ("completion", "pk"),
        method="post",
        data={"decision": "verify"},
    ),
    *sided(
        "gap_analysis:assessment-edit",
        lambda side: managers_of(side, ok=DONE),
        ("assessment", "pk"),
        method="post",
        data={"summary": "Changed by a POST"},
    ),
    *sided(
        "gap_analysis:action-status",
        lambda side: managers_of(side, ok=DONE),
        ("action", "pk"),
        method="post",
        data={"status": "in_progress"},
    ),
    *sided(
        "gap_analysis:action-publish",
        lambda side: managers_of(side, ok=DONE),
        ("action", "pk"),
        method="post",
        data={"customer_summary": "You said the queue was slow; we opened a second till."},
    ),
    *sided(
        "gap_analysis:action-unpublish",
        lambda side: managers_of(side, ok=DONE),
        ("action", "pk"),
        method="post",
    ),
    *sided(
        "consequences:approve", lambda side: managers_of(side, ok=DONE), ("consequence", "pk"), method="post"
    ),
    *sided(
        "consequences:deliver", lambda side: managers_of(side, ok=DONE), ("consequence", "pk"), method="post"
    ),
    *sided(
        "consequences:close",
        lambda side: managers_of(side, ok=DONE),
        ("consequence", "pk"),
        method="post",
        data={"closure_note": "Coached on the greeting."},
    ),
    # Without "confirm" it shows what would happen; the ids it may act on are each manager's own
    # (outside scope: 404, see tests/test_consequence_bulk.py).
    Page("consequences:bulk", managers(), method="post", data={"step": "approve", "which": "matching"}),
]
# POST-only endpoints answer GET with 405, whoever asks: nothing to read there.
POST_ONLY = {
    "logout",
    "standards:acknowledge",
    "training:review",
    "gap_analysis:action-status",
    "gap_analysis:action-publish",
    "gap_analysis:action-unpublish",
    "consequences:approve",
    "consequences:deliver",
    "consequences:close",
    "consequences:bulk",
}


# The case pages (cases/views.py): a case at each side, logged (and so owned) by the side's staff
# member; staff see the cases they own or logged, managers their location's, admins every one.
def _page_case(side: str) -> Callable[[World], object]:
    def case_at(world: World):
        here = world[side]
        title = f"Case page at {side}"
        return Case.objects.filter(title=title).first() or case_open(
            location=here.location, title=title, origin=CaseOrigin.PHONE, logged_by=here.employee
        )

    return lambda world: case_at(world).pk


def case_seen_at(side: str, *, ok: str | int = 200) -> dict[str, str | int]:
    at_a, at_b = (ok if side == A else 404), (ok if side == B else 404)
    return {"anonymous": LOGIN, "staff": at_a, "manager": at_a, "other_manager": at_b, "admin": ok}


PAGES += [
    Page("cases:queue", signed_in()),
    Page("cases:feedback", managers()),
    Page("cases:new", signed_in()),
    *(
        Page("cases:detail", case_seen_at(side), url=url("cases:detail", _page_case(side)), side=side)
        for side in (A, B)
    ),
]
POSTS += [
    # Sent back with its errors (no location chosen): the form is open to everyone with a profile.
    Page(
        "cases:new",
        {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], DONE)},
        method="post",
        data={"origin": "phone"},
    ),
    *sided(
        "cases:feedback-open",
        lambda side: managers_of(side, ok=DONE),
        ("feedback", "pk"),
        method="post",
        data={"severity": "high"},
    ),
    *(
        Page(
            name,
            case_seen_at(side, ok=DONE),
            url=url(name, _page_case(side)),
            method="post",
            data=data,
            side=side,
        )
        for name, data in (
            ("cases:transition", {"step": "acknowledge"}),
            ("cases:assign", {"owner": "", "note": "Nobody chosen: sent back with the error."}),
            ("cases:note", {"text": "Called the customer back."}),
        )
        for side in (A, B)
    ),
]
POST_ONLY |= {"cases:feedback-open", "cases:transition", "cases:assign", "cases:note"}


# Closing the loop on a case (cases/loop_views.py, cases/public_views.py): a case with a customer who
# may be written to, at each side; the follow-up survey's case sits at a third location, since
# anyone holding its link may open it.
def _loop_case(location, title: str):
    from cases.models import Case, CaseOrigin
    from cases.services.core import case_open

    return Case.objects.filter(title=title).first() or case_open(
        location=location,
        title=title,
        origin=CaseOrigin.PHONE,
        contact_name="Casey Customer",
        contact_email="casey@example.org",
        contact_consent=True,
    )


def _loop_case_url(name: str, side: str) -> Callable[[World], str]:
    return lambda world: reverse(name, args=[_loop_case(world[side].location, f"Loop case at {side}").pk])


def _follow_up_url(world: World) -> str:
    from cases.services.loop import case_resolve
    from organization.models import Employee

    gamma = factories.LocationFactory(code="CCC-01", name="Gamma Lane")
    case = _loop_case(gamma, "Follow-up case")
    if not case.follow_up_token:
        admin = Employee.objects.get(role=Role.ADMIN).user
        case = case_resolve(case=case, user=admin, summary="Refunded.")
    return reverse("case-follow-up", args=[case.follow_up_token])


PAGES += [Page("case-follow-up", public(), url=_follow_up_url)]
POSTS += [
    Page("case-follow-up", dict.fromkeys(ROLES, DONE), url=_follow_up_url, method="post", data={"csat": "4"}),
    *(
        Page(
            name,
            managers_of(side, ok=DONE, staff=404),
            url=_loop_case_url(name, side),
            method="post",
            data=data,
            side=side,
        )
        for name, data in (
            ("cases:reply", {"message": "We refunded you.", "key": "matrix-key"}),
            ("cases:resolve", {"summary": "Refunded.", "action_choice": "none"}),
        )
        for side in (A, B)
    ),
]
POST_ONLY |= {"cases:reply", "cases:resolve"}


# The audit programme (audits/): at each side, planned audits assigned to the side's staff member,
# who started one (a draft with a photo) and submitted another. Staff see what is assigned to them
# and what they did, managers their locations' audits, admins every one; only the auditor changes
# a draft (anyone else in scope is refused with 403, outside scope 404).
@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _audits_at(world: World, side: str) -> dict:
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from audits.services.photos import photo_attach
    from audits.services.submission import answer_save, audit_start, audit_submit
    from tests.audit_factories import OccurrenceFactory, ScheduleFactory, template_from

    here = world[side]
    if getattr(here, "audits", None):
        return here.audits
    template = template_from(
        [
            {
                "title": "Floor",
                "questions": [
                    {"key": "clean", "kind": "yes_no"},
                    {"key": "shelf", "kind": "photo", "required": False},
                ],
            }
        ],
        title=f"Store visit at {side}",
    )
    schedule = ScheduleFactory(template=template, location=here.location)
    todo, started, done = (
        OccurrenceFactory(
            schedule=schedule, assigned_employee=here.employee, assignee_key=f"e{here.employee.pk}-{n}"
        )
        for n in range(3)
    )
    user = here.employee.user
    draft = audit_start(started, user)
    answer_save(draft, template.q["clean"].pk, value="yes")
    image = BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(image, "PNG")
    photo = photo_attach(draft, template.q["shelf"], SimpleUploadedFile("shelf.png", image.getvalue()), user)
    submitted = audit_start(done, user)
    answer_save(submitted, template.q["clean"].pk, value="yes")
    assert audit_submit(submitted, user=user).ok
    here.audits = {
        "occurrence": todo,
        "draft": draft,
        "photo": photo,
        "submitted": submitted,
        "template": template,
    }
    return here.audits


def _audit_of(side: str, key: str) -> Callable[[World], object]:
    return lambda world: _audits_at(world, side)[key].pk


def auditor_at(side: str, *, ok: str | int = DONE, others: str | int = 403) -> dict[str, str | int]:
    """A change to the draft at `side`: its auditor (the side's staff member) gets `ok`; everyone
    else who may see it gets `others`; outside scope 404."""
    return {
        "anonymous": LOGIN,
        "staff": ok if side == A else 404,
        "manager": others if side == A else 404,
        "other_manager": others if side == B else 404,
        "admin": others,
    }


PAGES += [
    Page("audits:mine", signed_in()),
    Page("audit_programme:overview", managers()),
    *(
        Page(name, case_seen_at(side), url=url(name, _audit_of(side, key)), side=side)
        for name, key in (
            ("audits:audit", "draft"),
            ("audits:detail", "submitted"),
            ("audit_photos:file", "photo"),
        )
        for side in (A, B)
    ),
]
POSTS += [
    *(
        Page(
            "audits:start",
            case_seen_at(side, ok=DONE),
            url=url("audits:start", _audit_of(side, "occurrence")),
            method="post",
            side=side,
        )
        for side in (A, B)
    ),
    *(
        Page(
            "audits:answer",
            auditor_at(side),
            url=url("audits:answer", _audit_of(side, "draft")),
            method="post",
            data=lambda world, side=side: {
                "question": _audits_at(world, side)["template"].q["clean"].pk,
                "value": "no",
            },
            side=side,
        )
        for side in (A, B)
    ),
    # Anyone but the auditor is sent back to the form with a message; nothing is submitted.
    *(
        Page(
            "audits:submit",
            auditor_at(side, others=REDIRECT),
            url=url("audits:submit", _audit_of(side, "draft")),
            method="post",
            side=side,
        )
        for side in (A, B)
    ),
    # No file sent: the auditor gets the upload's 400 naming the field, which only they reach.
    *(
        Page(
            "audit_photos:upload",
            auditor_at(side, ok=400),
            url=lambda world, side=side: reverse(
                "audit_photos:upload",
                args=[_audits_at(world, side)["draft"].pk, _audits_at(world, side)["template"].q["shelf"].pk],
            ),
            method="post",
            side=side,
        )
        for side in (A, B)
    ),
    *(
        Page(
            "audit_photos:delete",
            auditor_at(side),
            url=url("audit_photos:delete", _audit_of(side, "photo")),
            method="post",
            side=side,
        )
        for side in (A, B)
    ),
]
POST_ONLY |= {"audits:start", "audits:answer", "audits:submit", "audit_photos:upload", "audit_photos:delete"}


# --------------------------------------------------------------------------- helpers


def _sign_in(client, request, role: str):
    user = request.getfixturevalue(role)
    if role != "anonymous":
        client.force_login(user)
    return user


def _check(response, expected, path: str) -> None:
    login = reverse("login")
    status = response.status_code
    where = f"{response.request['REQUEST_METHOD']} {path}"
    if expected == LOGIN:
        assert status == 302 and response.url.startswith(login), f"{where}: {status}, expected the login page"
    elif expected == REDIRECT:
        assert status == 302 and not response.url.startswith(login), f"{where}: {status}, expected a redirect"
    elif expected == DONE:
        refused = status in (403, 404, 405) or (status == 302 and response.url.startswith(login))
        assert status in (200, 302) and not refused, f"{where}: {status}, expected the change to be allowed"
    else:
        assert status == expected, f"{where}: {status}, expected {expected}"


# Everything a refused POST might have changed.
WRITABLE = (
    Acknowledgement,
    Completion,
    Assessment,
    Rating,
    ActionItem,
    Consequence,
    Observation,
    Feedback,
    Case,
    CaseEvent,
    Occurrence,
    Audit,
    Answer,
    Photo,
)


def _state() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in WRITABLE}


def _url_names(patterns=None, prefix: str = "", namespace: str = "") -> set[str]:
    """The names of every URL pattern of the project, except those under `NOT_PAGES`."""
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(NOT_PAGES):
            continue
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"the URL pattern {route!r} has no name, so no test can reach it"
            names.add(namespace + pattern.name)
    return names


# --------------------------------------------------------------------------- the tests


def test_every_page_is_in_the_table():
    covered = {page.name for page in PAGES + POSTS}
    missing = _url_names() - covered
    assert not missing, (
        f"URL patterns without an access row: {sorted(missing)}. Add them to PAGES (or POSTS) in "
        "tests/test_access_matrix.py with who may open them."
    )
    assert not covered - _url_names(), (
        f"rows for URL names that no longer exist: {sorted(covered - _url_names())}"
    )


def test_every_page_with_an_object_is_asked_about_both_locations():
    sides: dict[tuple, set[str]] = {}
    for page in PAGES + POSTS:
        if page.side:
            sides.setdefault((page.method, page.name, page.via), set()).add(page.side)
    lopsided = {key: found for key, found in sides.items() if found != {A, B}}
    assert not lopsided, f"rows asked about one location only: {lopsided}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", PAGES, ids=lambda row: row.id)
def test_page_access(client, request, world, row, role):
    _sign_in(client, request, role)
    path = row.path(world)
    response = client.get(path)
    _check(response, row.expect[role], path)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", POSTS, ids=lambda row: row.id)
def test_post_access_and_refusals_change_nothing(client, request, world, row, role):
    _sign_in(client, request, role)
    path = row.path(world)
    before = _state()
    response = client.post(path, row.body(world))
    expected = row.expect[role]
    _check(response, expected, path)
    if expected in (LOGIN, 403, 404):
        assert _state() == before, f"POST {path} was refused with {response.status_code} but changed data"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(POST_ONLY))
def test_post_only_endpoints_answer_get_with_405(client, request, world, name, role):
    _sign_in(client, request, role)
    row = next(row for row in POSTS if row.name == name)
    assert client.get(row.path(world)).status_code == 405


def test_staff_given_the_evaluator_permission_may_record_evaluations(client, staff, world):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="record_evaluation"))
    client.force_login(staff)
    assert client.get(reverse("evaluations:new")).status_code == 200
    # …at their own location only: another location's evaluation still does not exist for them.
    assert client.get(reverse("evaluations:detail", args=[world[B].evaluation.pk])).status_code == 404


def _markers(world: World, side: str) -> list[str]:
    """Words that only a page showing the objects at `side` would contain."""
    here = world[side]
    return [
        here.location.name,
        here.location.code,
        here.employee.user.get_full_name(),
        here.consequence.summary,
        here.action.title,
        here.feedback.comment,
        here.evaluation.comment,
        here.assessment.summary,
    ]


# Filters that name an object by id: an id outside the user's scope is ignored or answers 404,
# and never shows what it names.
FILTER_PROBES = [
    ("measurement:scorecards", {"location": "location", "team": "team"}),
    ("measurement:consistency", {"location": "location"}),
    ("consequences:inbox", {"location": "location"}),
    ("gap_analysis:heatmap", {"location": "location"}),
    ("gap_analysis:assess", {"location": "location", "touchpoint": "touchpoint"}),
    ("evaluations:new", {"location": "location", "touchpoint": "touchpoint"}),
    ("evaluations:location-fields", {"location": "location", "team": "team", "employee": "employee"}),
    ("evaluations:items", {"location": "location", "touchpoint": "touchpoint"}),
]


@pytest.mark.parametrize("role, other_side", [("staff", B), ("manager", B), ("other_manager", A)])
def test_no_page_shows_another_locations_records(client, request, world, role, other_side):
    """Pages that answer 200 may still leak: none may name the other location or its records,
    even when asked to through a filter."""
    _sign_in(client, request, role)
    own_side = A if other_side == B else B
    markers, own = _markers(world, other_side), _markers(world, own_side)
    paths = [row.path(world) for row in PAGES if row.expect[role] == 200 and row.side != other_side]
    if role != "staff":
        for name, params in FILTER_PROBES:
            query = {param: getattr(world[other_side], attribute).pk for param, attribute in params.items()}
            paths.append(f"{reverse(name)}?{urlencode(query)}")
    leaks, seen = [], set()
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            assert response.status_code == 404, f"{path}: {response.status_code}"
            continue
        content = b"".join(response.streaming_content) if response.streaming else response.content
        body = content.decode(errors="replace")  # a photo is bytes: it names nothing
        leaks += [f"{path} shows {marker!r}" for marker in markers if marker in body]
        seen |= {marker for marker in own if marker in body}
    assert not leaks
    # The markers work: the user's own location and records do show on their pages.
    expected_own = own[:3] if role == "staff" else own
    assert set(expected_own) <= seen, set(expected_own) - seen


# `createsuperuser` makes an account with no employee profile: an administrator everywhere, but with
# no standards, training or scorecard of its own. Pages about "me" must say so, not crash.
NO_PROFILE_CRASHES: set[str] = set()  # none left: employee_required refuses them with 403


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            row,
            id=row.id,
            marks=[
                pytest.mark.xfail(
                    row.id in NO_PROFILE_CRASHES,
                    reason="employee_required lets a superuser without a profile in; the view reads "
                    "request.user.employee and fails with 500",
                    strict=True,
                )
            ],
        )
        for row in PAGES + POSTS
    ],
)
def test_a_superuser_without_an_employee_profile_never_gets_a_server_error(client, world, row):
    client.raise_request_exception = False
    client.force_login(factories.UserFactory(username="root", is_superuser=True, is_staff=True))
    response = getattr(client, row.method)(row.path(world), row.body(world))
    assert response.status_code < 500, f"{row.id}: {response.status_code}"


# --------------------------------------------------------------------------- the external evaluator

# An external evaluator (a mystery shopper from another firm) has no employee profile: they see
# the public pages, their own account and the audits assigned to them, and nothing else. Every
# other page refuses them (403, or 404 for an object), and the home page sends them to their audits.
EVALUATOR_ALLOWED = {
    "home": REDIRECT,
    "audits:mine": 200,
    "password_change": 200,
    "password_change_done": 200,
}
REFUSED = "refused"  # 403 or 404


def evaluator_expects(row: Page) -> str | int:
    if row.name in EVALUATOR_ALLOWED and row.method == "get":
        return EVALUATOR_ALLOWED[row.name]
    everyone = set(row.expect.values())
    if row.expect["anonymous"] != LOGIN or len(everyone) == 1:  # public, or the same for all
        return row.expect["anonymous"]
    return REFUSED


@pytest.fixture
def evaluator(db):
    """A shopper with one mystery shop of their own, at a third location (so any page showing
    A's or B's records to them would be a leak)."""
    from tests.audit_factories import (
        ExternalEvaluatorFactory,
        OccurrenceFactory,
        ScheduleFactory,
        template_from,
    )

    profile = ExternalEvaluatorFactory(user__username="shopper", user__first_name="Morgan")
    template = template_from(
        [{"title": "Visit", "questions": [{"key": "greet", "kind": "yes_no"}]}], title="Shopper's visit"
    )
    location = factories.LocationFactory(code="CCC-01", name="Gamma Lane")
    schedule = ScheduleFactory(template=template, location=location)
    schedule.assigned_evaluators.add(profile)
    profile.own = {"occurrence": OccurrenceFactory(schedule=schedule), "template": template}
    return profile


@pytest.mark.parametrize("row", PAGES + POSTS, ids=lambda row: row.id)
def test_an_external_evaluator_reaches_only_their_own_audits(client, world, evaluator, row):
    client.force_login(evaluator.user)
    path = row.path(world)
    before = _state()
    response = getattr(client, row.method)(path, row.body(world))
    expected = evaluator_expects(row)
    if expected == REFUSED:
        assert response.status_code in (403, 404), f"{row.id}: {response.status_code}, expected a refusal"
        assert _state() == before, f"{row.id} was refused but changed data"
    else:
        _check(response, expected, path)
    if row.name == "home":
        assert response.url == reverse("audits:mine")


def test_an_external_evaluator_does_their_audit_and_sees_nothing_of_the_locations(client, world, evaluator):
    occurrence, template = evaluator.own["occurrence"], evaluator.own["template"]
    client.force_login(evaluator.user)
    mine = client.get(reverse("audits:mine")).content.decode()
    assert "Shopper&#x27;s visit" in mine or "Shopper's visit" in mine
    started = client.post(reverse("audits:start", args=[occurrence.pk]))
    audit = Audit.objects.get(occurrence=occurrence)
    assert started.status_code == 302 and audit.auditor == evaluator.user
    form = client.get(reverse("audits:audit", args=[audit.pk]))
    assert form.status_code == 200
    answered = client.post(
        reverse("audits:answer", args=[audit.pk]), {"question": template.q["greet"].pk, "value": "yes"}
    )
    assert answered.status_code == 200
    assert client.post(reverse("audits:submit", args=[audit.pk])).status_code == 302
    detail = client.get(reverse("audits:detail", args=[audit.pk]))
    assert detail.status_code == 200
    pages = [mine, form.content.decode(), detail.content.decode()]
    leaks = [
        marker for side in (A, B) for marker in _markers(world, side) for body in pages if marker in body
    ]
    assert not leaks
    # Someone else's audit of the same kind at A stays out of reach.
    others = _audits_at(world, A)
    for name, key in (
        ("audits:audit", "draft"),
        ("audits:detail", "submitted"),
        ("audit_photos:file", "photo"),
    ):
        assert client.get(reverse(name, args=[others[key].pk])).status_code == 404
