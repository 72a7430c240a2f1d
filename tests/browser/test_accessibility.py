"""Accessible markup, checked in a real browser: labels, headings, contrast, keyboard, a phone's width.

Every page of the program is opened with data that makes it show its real content (not its empty
state), as the role that uses it, and checked three ways:

- axe-core (vendored in tests/browser/vendor/axe-core, never a CDN) runs the WCAG 2.0 and 2.1 A and
  AA rules, and its best-practice rules on headings and landmarks, on the whole document, at desktop
  width and again at phone width with the navigation open (the phone layouts differ: the inbox turns
  into cards, tables scroll in their boxes); forms are also checked as sent back with errors;
- at 360 × 740 the document does not scroll sideways (wide tables scroll inside their own
  `.table-responsive` box) and the navigation collapses behind its toggler, which the keyboard
  reaches and opens;
- on the desktop, the keyboard alone gets round the navigation: the skip link comes first and
  lands in <main>, the dropdowns open with Enter and their items are reached with the arrow keys.

One test per page (its own test id), and each reads clearly when it fails: it lists every axe
violation with its rule, impact, help text and the first elements it concerns. Each test seeds its
own data: the live server needs a transactional database, which is emptied after every test, and
seeding costs a fraction of a second (signing in by cookie, not through the form, another tenth),
so a page costs about two and a half seconds, both widths included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from cases.models import CaseOrigin, CaseStatus
from cases.services.core import case_note_add, case_open, case_transition
from cases.services.intake import case_open_from_feedback
from consequences.models import Action, Condition, Consequence, Polarity, SubjectKind
from gap_analysis.models import ActionStatus, AssessmentStatus, Dimension
from gap_analysis.services import action_publish, action_update_status
from measurement.services.intake import evaluation_record
from measurement.services.rollup import scorecards_rollup
from standards.services import standard_acknowledge
from tests import factories
from training.models import Audience, CompletionStatus

from .conftest import DESKTOP, tab_to, thank_and_tone_standards

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_VERSION = "4.14.1"
AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 360, "height": 740}
# How many elements of each violation the failure message names.
TARGETS_SHOWN = 3


# --- The data every page is opened with -------------------------------------------------------


def observe(standard, location, *, employee=None, touchpoint=None, days_ago: int, passed: bool, n: int = 1):
    """`n` observations of `standard`, `days_ago` days before now, by a mystery shopper."""
    at = timezone.now() - timedelta(days=days_ago, hours=1)
    for _ in range(n):
        factories.ObservationFactory(
            standard=standard,
            location=location,
            team=employee.team if employee else None,
            employee=employee,
            touchpoint=touchpoint,
            observed_at=at,
            passed=passed,
            value=None,
        )


@pytest.fixture
def seeded(location_a, location_b, staff, manager, admin, other_manager, name_users) -> dict:
    """A small program in full swing at two locations: standards, observations over three months
    rolled up into scorecards, an evaluation with a deviation, customer feedback, training to do and
    to verify, a gap analysis with an open and a published action, and consequences of both kinds.
    Returns what the pages' addresses need."""
    name_users(staff, "Sam", "Rivers")
    name_users(manager, "Maria", "Lopez")
    name_users(admin, "Alex", "Morgan")
    name_users(other_manager, "Ben", "Okafor")
    me = staff.employee
    colleague = factories.EmployeeFactory(
        location=location_b, user__first_name="Cleo", user__last_name="Banks", user__username="cleo"
    )
    counter = factories.TouchpointFactory(name="Front counter", slug="front-counter")
    returns = factories.TouchpointFactory(name="Returns desk", slug="returns-desk")

    greet = factories.StandardFactory(
        code="GRT-01",
        title="Greet every customer",
        non_negotiable=True,
        target_rate=Decimal("100"),
        how="Look up, smile and say hello before the customer speaks.",
    )
    thank, tone = thank_and_tone_standards()
    for standard in (greet, thank, tone):
        standard.touchpoints.add(counter)
    standard_acknowledge(standard=thank, employee=me)  # GRT-01 and TON-01 remain to acknowledge

    # Three months of mystery shops at both locations, the staff member's own among them.
    for month, days_ago in enumerate((64, 34, 4)):
        for standard, location, employee, passed, n in (
            (thank, location_a, me, True, 8 + month),
            (thank, location_a, me, False, 2),
            (greet, location_a, me, True, 5),
            (thank, location_b, colleague, True, 6),
            (thank, location_b, colleague, False, 4),
            (greet, location_b, colleague, True, 4),
        ):
            observe(
                standard,
                location,
                employee=employee,
                touchpoint=counter,
                days_ago=days_ago,
                passed=passed,
                n=n,
            )
    # Customer feedback at the manager's location, over the same three months.
    for days_ago, csat, nps, comment in (
        (65, 4, 8, ""),
        (64, 3, 6, "Long queue at lunchtime."),
        (35, 5, 9, ""),
        (34, 4, 10, "Lovely staff."),
        (3, 5, 10, "Quick and friendly."),
        (3, 4, 9, ""),
        (2, 2, 3, "Nobody said hello; I waited ten minutes."),
        (1, 5, 8, "Sam sorted my refund at once."),
    ):
        factories.FeedbackFactory(
            touchpoint=counter,
            location=location_a,
            submitted_at=timezone.now() - timedelta(days=days_ago),
            csat=csat,
            nps=nps,
            comment=comment,
        )

    # The deviation rule answers the evaluation's failed non-negotiable with a corrective action.
    factories.RuleFactory(
        name="Corrective action for every deviation",
        subject_kind=SubjectKind.LOCATION,
        condition=Condition.DEVIATION,
        action=Action.CORRECTIVE_ACTION,
    )
    outcome = evaluation_record(
        location=location_a.code,
        method="mystery_shop",
        evaluated_at=timezone.now() - timedelta(days=2),
        touchpoint=counter.slug,
        employee=me.employee_number,
        comment="Lunchtime visit, two advisors on the counter.",
        evaluator=manager,
        items=[
            {"standard": "GRT-01", "passed": "false", "critical": "true", "comment": "No greeting for 40 s."},
            {"standard": "THX-01", "passed": "true"},
            {"standard": "TON-01", "value": "5"},
        ],
    )
    assert outcome.evaluation is not None, outcome.errors
    scorecards_rollup(full=True)  # its signal makes the consequences app propose the corrective action
    corrective = Consequence.objects.get(action=Action.CORRECTIVE_ACTION)
    factories.ConsequenceFactory(
        subject_kind=SubjectKind.EMPLOYEE,
        employee=me,
        location=location_a,
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
        status="delivered",
        approved_at=timezone.now(),
        delivered_at=timezone.now(),
        summary="Recognition: every customer thanked by name, three months running",
    )
    factories.ConsequenceFactory(
        subject_kind=SubjectKind.EMPLOYEE,
        employee=me,
        location=location_a,
        owner=manager,
        due_on=timezone.localdate() + timedelta(days=7),
        summary="Coaching on greeting customers at the counter",
    )

    # Training: one course assigned to everyone, one logged by the staff member and awaiting a manager.
    greeting = factories.CourseFactory(code="CRS-GREET", title="Greeting customers", pass_mark=80)
    refunds = factories.CourseFactory(code="CRS-REFUND", title="Refunds without fuss", pass_mark=70)
    factories.RequirementFactory(course=greeting, audience=Audience.EVERYONE)
    for employee in (me, colleague, manager.employee):
        factories.AssignmentFactory(employee=employee, course=greeting)
    factories.AssignmentFactory(employee=me, course=refunds)
    factories.CompletionFactory(
        employee=me,
        course=refunds,
        completed_on=timezone.localdate() - timedelta(days=2),
        score=92,
        evidence="Certificate RF-2026-114, trainer J. Patel",
        status=CompletionStatus.LOGGED,
    )
    factories.CompletionFactory(
        employee=colleague, course=greeting, status=CompletionStatus.VERIFIED, reviewed_by=other_manager
    )

    # A gap analysis of the returns desk: one action open, one done and published to customers.
    assessment = factories.AssessmentFactory(
        touchpoint=returns, location=location_a, status=AssessmentStatus.COMPLETED, assessor=manager
    )
    ratings = {
        dimension: factories.RatingFactory(
            assessment=assessment, dimension=dimension, current=current, target=target, evidence=evidence
        )
        for dimension, current, target, evidence in (
            (Dimension.POLICIES, 4, 4, ""),
            (Dimension.PROCESSES, 2, 4, "Refunds over £50 need a manager's signature."),
            (Dimension.PEOPLE, 3, 4, "Only one advisor can authorise a refund."),
            (Dimension.PRACTICES, 4, 3, ""),
        )
    }
    open_action = factories.ActionItemFactory(
        title="Let advisors refund up to £100",
        description="Change the refund policy and the till permissions.",
        rating=ratings[Dimension.PROCESSES],
        owner=manager,
    )
    done = factories.ActionItemFactory(
        title="Close the people gap at Returns desk", rating=ratings[Dimension.PEOPLE], owner=manager
    )
    action_update_status(
        action=done, status=ActionStatus.DONE, user=manager, closure_note="All four advisors trained."
    )
    action_publish(
        action=done,
        user=manager,
        summary="You said refunds took too long. We trained every returns advisor to refund you on the spot.",
    )
    # Customer cases: one opened from an unhappy answer with contact details, acknowledged and noted;
    # one complaint the staff member took at the counter.
    unhappy = factories.FeedbackFactory(
        touchpoint=counter,
        location=location_a,
        submitted_at=timezone.now() - timedelta(hours=5),
        csat=1,
        nps=1,
        comment="The card reader charged me twice and nobody helped.",
        contact_consent=True,
        contact_name="Robin Hill",
        contact_email="robin@example.com",
    )
    case = case_open_from_feedback(feedback=unhappy, user=manager, severity="high")
    case_transition(case=case, to=CaseStatus.ACKNOWLEDGED, user=manager, note="Called Robin back.")
    case_note_add(case=case, user=manager, text="The reader at till 2 double-charges: refund both.")
    case_open(
        location=location_a,
        title="Left my bag at the till",
        origin=CaseOrigin.IN_PERSON,
        user=staff,
        logged_by=me,
        touchpoint=counter,
    )
    return {
        "case": case.pk,
        "evaluation": outcome.evaluation.pk,
        "standard": greet.code,
        "action": open_action.pk,
        "consequence": corrective.pk,
        "location": location_a.code,
        "touchpoint": counter.slug,
    }


# --- The pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A page, who opens it, and a text that only its real content (not an empty state) shows."""

    name: str
    role: str | None
    path: Callable[[dict], str]
    shows: str
    # Brings the page to the state worth checking, e.g. fills in the first step of a form.
    prepare: Callable[[Page], None] | None = field(default=None, compare=False)


def url(name: str, *keys: str) -> Callable[[dict], str]:
    """The address of view `name`, its arguments read from the seeded data under `keys`."""
    return lambda data: reverse(name, args=[data[key] for key in keys])


def choose_touchpoint(page: Page) -> None:
    """The evaluation form shows its items once a touchpoint is chosen."""
    page.get_by_label("Touchpoint").select_option(label="Front counter")
    expect(page.locator("#evaluation-items")).to_contain_text("3 standards cover this touchpoint")


def record_unjudged_evaluation(page: Page) -> None:
    """The evaluation form sent back with its errors: no item judged."""
    choose_touchpoint(page)
    page.get_by_role("button", name="Record evaluation").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded")


def send_feedback_without_consent(page: Page) -> None:
    """The feedback form sent back with an error: an email address but no consent to use it."""
    page.get_by_label("Your email address").fill("sam@example.com")
    page.get_by_role("button", name="Send my feedback").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check your answer")


def log_a_complaint_without_consent(page: Page) -> None:
    """The complaint form sent back with an error: the customer's email address but no consent."""
    page.get_by_label("Customer's email address").fill("robin@example.com")
    page.get_by_role("button", name="Log the complaint").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")


def sign_in_with_a_wrong_password(page: Page) -> None:
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main")).to_contain_text("Please enter a correct username and password")


VISITS = [
    Visit("login", None, url("login"), "Sign in"),
    Visit("login-error", None, url("login"), "Please enter a correct", prepare=sign_in_with_a_wrong_password),
    Visit("improvements", None, url("improvements"), "We trained every returns advisor"),
    Visit(
        "feedback-form", None, url("feedback-form", "location", "touchpoint"), "Front counter at Alpha Street"
    ),
    Visit(
        "feedback-form-error",
        None,
        url("feedback-form", "location", "touchpoint"),
        "Please check your answer",
        prepare=send_feedback_without_consent,
    ),
    Visit("home-staff", "staff", url("home"), "GRT-01"),
    Visit("home-manager", "manager", url("home"), "Your scope: Alpha Street"),
    Visit("home-admin", "admin", url("home"), "The whole organisation."),
    # The heatmap's key shows only above a heatmap with rows; "Spread between locations" only
    # above a league with locations in it.
    Visit("scorecards", "manager", url("measurement:scorecards"), "below target, within the margin of error"),
    Visit(
        "scorecards-admin", "admin", url("measurement:scorecards"), "below target, within the margin of error"
    ),
    Visit("consistency", "manager", url("measurement:consistency"), "Spread between locations"),
    Visit("consistency-admin", "admin", url("measurement:consistency"), "Points on the funnel plot"),
    Visit("observations", "manager", url("measurement:observations"), "GRT-01"),
    Visit("dashboard-evaluation", "manager", url("measurement:evaluation-detail", "evaluation"), "GRT-01"),
    Visit("evaluation-detail", "manager", url("evaluations:detail", "evaluation"), "GRT-01"),
    Visit("evaluation-new", "manager", url("evaluations:new"), "GRT-01", prepare=choose_touchpoint),
    Visit(
        "evaluation-new-error",
        "manager",
        url("evaluations:new"),
        "Nothing was recorded",
        prepare=record_unjudged_evaluation,
    ),
    Visit("training-matrix", "manager", url("training:matrix"), "Greeting customers"),
    Visit("training-verification", "manager", url("training:verification"), "Certificate RF-2026-114"),
    Visit("training-mine", "staff", url("training:mine"), "Refunds without fuss"),
    Visit("standards-mine", "staff", url("standards:mine"), "GRT-01"),
    Visit("standard-detail", "staff", url("standards:detail", "standard"), "Look up, smile and say hello"),
    Visit("gaps-heatmap", "manager", url("gap_analysis:heatmap"), "Returns desk"),
    Visit("gaps-assess", "manager", url("gap_analysis:assess"), "Front counter"),
    Visit("gaps-actions", "manager", url("gap_analysis:action-list"), "Let advisors refund up to £100"),
    Visit(
        "gaps-action-detail", "manager", url("gap_analysis:action-detail", "action"), "Let advisors refund"
    ),
    Visit("consequences-inbox", "manager", url("consequences:inbox"), "GRT-01 not met by Alpha Street"),
    Visit("consequence-detail", "manager", url("consequences:detail", "consequence"), "GRT-01"),
    Visit(
        "recognition-wall", "staff", url("consequences:recognition-wall"), "every customer thanked by name"
    ),
    Visit("consequences-mine", "staff", url("consequences:mine"), "every customer thanked by name"),
    Visit("my-scorecard", "staff", url("me:scorecard"), "THX-01"),
    Visit("cases-queue", "manager", url("cases:queue"), "The card reader charged me twice"),
    Visit("cases-mine", "staff", url("cases:queue"), "Left my bag at the till"),
    Visit("feedback-inbox", "manager", url("cases:feedback"), "Nobody said hello"),
    Visit("case-detail", "manager", url("cases:detail", "case"), "The reader at till 2 double-charges"),
    Visit("complaint-new", "staff", url("cases:new"), "How did it reach you?"),
    Visit(
        "complaint-new-error",
        "staff",
        url("cases:new"),
        "Nothing was saved",
        prepare=log_a_complaint_without_consent,
    ),
]


# --- axe-core -----------------------------------------------------------------------------------

# Beyond the WCAG rules, the best-practice rules about headings and landmarks, which the issue names
# ("labels, headings, ..."): axe files heading order and landmarks under best practice, not WCAG.
HEADING_AND_LANDMARK_RULES = [
    "heading-order",
    "empty-heading",
    "page-has-heading-one",
    "landmark-one-main",
    "landmark-no-duplicate-main",
    "landmark-main-is-top-level",
    "landmark-unique",
    "region",
]


def axe_violations(page: Page) -> list[dict]:
    """What axe-core finds in the page as it is now: violations of the WCAG 2.0 and 2.1 A and AA
    rules and of the heading and landmark rules. Collapsed <details> (the numbers behind each chart)
    are opened first, so that their content is checked too."""
    page.evaluate("document.querySelectorAll('details').forEach(details => { details.open = true; })")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    version = page.evaluate("window.axe.version")
    assert version == AXE_VERSION, f"expected axe-core {AXE_VERSION}, the page has {version}"
    return page.evaluate(
        """async ([tags, extra]) => {
            const results = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                rules: Object.fromEntries(extra.map(id => [id, {enabled: true}])),
            });
            return results.violations.map(v => ({
                id: v.id,
                impact: v.impact,
                tags: v.tags.filter(tag => /^wcag\\d|^best-practice$/.test(tag)),
                help: v.help,
                targets: v.nodes.map(node => node.target.join(' ')),
                summary: v.nodes.length ? v.nodes[0].failureSummary : '',
            }));
        }""",
        [WCAG_TAGS, HEADING_AND_LANDMARK_RULES],
    )


def axe_failures(page: Page, where: str) -> list[str]:
    """One readable paragraph per violation: rule, impact, tags, help, the first elements, and what
    axe says is wrong with the first of them."""
    lines = []
    for v in axe_violations(page):
        shown = v["targets"][:TARGETS_SHOWN]
        more = f" (and {len(v['targets']) - len(shown)} more)" if len(v["targets"]) > len(shown) else ""
        lines.append(
            f"[{where}] {v['id']} ({v['impact']}; {' '.join(v['tags'])}): {v['help']}\n"
            f"    on: {' | '.join(shown)}{more}\n"
            f"    first: {' '.join(v['summary'].split())}"
        )
    return lines


# --- A phone's width ------------------------------------------------------------------------------


def sideways_overflow(page: Page, where: str) -> list[str]:
    """Why the document scrolls sideways, naming the elements that reach past the window's right
    edge outside a scrolling box (or escape one); [] when it does not scroll sideways."""
    scroll_width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width <= viewport:
        return []
    culprits = page.evaluate(
        """() => {
            const scrolls = el => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
            const contained = el => {
                for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
                    if (scrolls(box)) return getComputedStyle(el).position !== 'absolute'
                        || getComputedStyle(box).position !== 'static';
                }
                return false;
            };
            const out = [];
            for (const el of document.querySelectorAll('body *')) {
                const right = el.getBoundingClientRect().right;
                if (right > window.innerWidth + 1 && !contained(el)) {
                    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                        + [...el.classList].map(c => '.' + c).join('');
                    out.push(`${name} (to ${Math.round(right)}px)`);
                }
            }
            return out.slice(0, 5);
        }"""
    )
    return [
        f"[{where}] the page scrolls sideways: {scroll_width}px wide in a {viewport}px window; "
        f"reaching past the edge: {', '.join(culprits) or '(nothing found outside a scrolling box)'}"
    ]


def opens_navigation_with_the_keyboard(page: Page) -> None:
    """From the top of a freshly loaded page: the links are hidden behind the toggler, which Tab
    reaches and Enter opens."""
    nav = page.get_by_role("navigation", name="Main navigation")
    toggler = nav.get_by_role("button", name="Toggle navigation")
    expect(toggler).to_be_visible()
    expect(nav.get_by_role("link", name="Home", exact=True)).to_be_hidden()
    tab_to(page, "the navigation toggler", "el.classList.contains('navbar-toggler')")
    page.keyboard.press("Enter")
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(nav.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))
    links = nav.locator("#nav .navbar-nav > .nav-item > .nav-link")
    hidden = links.evaluate_all(
        "links => links.filter(link => !link.checkVisibility() || !link.getBoundingClientRect().width)"
        ".map(link => link.textContent.trim())"
    )
    assert links.count() >= 2 and not hidden, f"links still hidden in the open navigation: {hidden}"
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()


# --- Every page -----------------------------------------------------------------------------------


@pytest.fixture
def open_page(open_browser, live_server) -> Callable:
    """`open_page(user)`: a desktop page of its own, signed in as `user` (anonymous for None), with
    animations off (prefers-reduced-motion, which Bootstrap honours) so that nothing waits for them.

    The user is signed in with a session cookie rather than through the login form: it saves a
    second per page, and the form itself is checked here (the "login" page) and signed in with in
    test_program_journey.py."""

    def open_(user=None) -> Page:
        page = open_browser()
        page.emulate_media(reduced_motion="reduce")
        if user is not None:
            client = Client()
            client.force_login(user)
            page.context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url,
                    }
                ]
            )
        return page

    return open_


@pytest.mark.parametrize("visit", VISITS, ids=lambda visit: visit.name)
def test_page_is_accessible(visit: Visit, seeded, open_page, staff, manager, admin):
    """axe finds nothing on the page at desktop width nor at a phone's, where the page does not
    scroll sideways and its navigation opens from the keyboard."""
    user = {"staff": staff, "manager": manager, "admin": admin, None: None}[visit.role]
    page = open_page(user)
    page.goto(visit.path(seeded))
    if visit.prepare:
        visit.prepare(page)
    expect(page.locator("main")).to_contain_text(visit.shows)
    failures = axe_failures(page, f"{DESKTOP['width']}px")

    page.set_viewport_size(PHONE)
    page.goto(visit.path(seeded))  # laid out afresh at this width (and never a form sent again)
    phone = f"{PHONE['width']}px"
    failures += sideways_overflow(page, phone)
    if user is not None:
        opens_navigation_with_the_keyboard(page)
    else:
        expect(page.get_by_role("button", name="Toggle navigation")).to_have_count(0)
    if visit.prepare:
        visit.prepare(page)
    expect(page.locator("main")).to_contain_text(visit.shows)
    failures += sideways_overflow(page, f"{phone}, navigation open")
    failures += axe_failures(page, f"{phone}, navigation open")

    if failures:
        pytest.fail(f"{visit.name} ({page.url}):\n" + "\n".join(failures), pytrace=False)


# --- The keyboard on the desktop ------------------------------------------------------------------


# Not on the login page, whose username box takes the focus as it loads (autofocus).
@pytest.mark.parametrize("role", ["manager", None], ids=["manager-home", "customer-feedback-form"])
def test_skip_link_is_the_first_tab_stop_and_lands_in_main(role, open_page, manager, location_a):
    page = open_page(manager if role else None)
    if role:
        page.goto(reverse("home"))
    else:
        factories.TouchpointFactory(name="Front counter", slug="front-counter")
        page.goto(reverse("feedback-form", args=[location_a.code, "front-counter"]))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # visible once focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # The next Tab continues inside <main>, past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)"), (
        "after the skip link, Tab left <main>"
    )


def arrow_through(page: Page, menu) -> list[str]:
    """Press the down arrow until focus stays on the last item; the items visited on the way."""
    visited: list[str] = []
    for _ in range(12):
        page.keyboard.press("ArrowDown")
        name = page.evaluate("document.activeElement.textContent.trim()")
        in_menu = menu.evaluate("(menu) => menu.contains(document.activeElement)")
        assert in_menu, f"ArrowDown left the menu: focus is on {name!r}"
        if visited and name == visited[-1]:
            break
        visited.append(name)
    return visited


def open_dropdown(page: Page, name: str):
    """Tab to the navigation's dropdown toggle called `name` and open it with Enter; the toggle
    and its menu."""
    page.goto("/")
    tab_to(
        page, f"the {name!r} menu", f"el.matches('.dropdown-toggle') && el.textContent.trim() === {name!r}"
    )
    toggle = page.get_by_role("navigation", name="Main navigation").get_by_role(
        "button", name=name, exact=True
    )
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    menu = toggle.locator("xpath=following-sibling::ul[contains(@class, 'dropdown-menu')]")
    expect(menu).to_be_visible()
    return toggle, menu


def close_with_escape(page: Page, toggle, menu) -> None:
    """Escape closes the menu and gives the focus back to its toggle."""
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_navigation_dropdowns_work_with_the_keyboard(role, open_page, manager, admin, name_users):
    """The Training menu and the menu under the user's name (their own pages and, for admins,
    the administration) open with Enter; the arrow keys go through their items; Escape closes them."""
    user = name_users({"manager": manager, "admin": admin}[role], "Maria", "Lopez")
    page = open_page(user)

    toggle, menu = open_dropdown(page, "Training")
    assert arrow_through(page, menu) == ["Training matrix", "Verify training"]
    close_with_escape(page, toggle, menu)

    toggle, menu = open_dropdown(page, f"Maria · {role.title()}")
    expect(menu.locator(".dropdown-header")).to_have_text("My pages")
    own_pages = ["My standards", "My training", "My scorecard", "My recognitions", "Recognition wall"]
    assert arrow_through(page, menu) == own_pages + (["Administration"] if role == "admin" else [])
    close_with_escape(page, toggle, menu)
