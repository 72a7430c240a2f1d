"""A detractor's answer becomes a case and the loop closes, in a real browser (issue 10's acceptance).

A customer on a phone (360 px) answers the public feedback form with NPS 2, a comment and consent to
be contacted by email; the case rule opens a case at intake, so the location's manager sees it in
the cases queue at once, opens it, acknowledges it, replies to the customer (the email goes out,
once) and resolves it with a new published improvement, which an anonymous visitor then reads on
the "you said, we did" page. Screenshots of each step go to artifacts/screenshots/case-journey-*.png.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from cases.models import Case, CaseEvent, CaseOrigin, CaseRule, CaseStatus, EventKind, Severity, SlaPolicy
from gap_analysis.models import ActionStatus
from measurement.models import Feedback
from tests import factories

from .test_accessibility import sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
COMMENT = "Waited twenty minutes at the till and nobody said sorry."
CUSTOMER = ("Robin Ellis", "robin.ellis@example.org")
SUMMARY = "You said you waited too long at the till; a second till now opens when five people queue."


@pytest.fixture
def rules(location_a, manager, name_users):
    """What an administrator configured: the rule that opens a case for a detractor who asked to be
    contacted, and the SLA policy of its severity."""
    name_users(manager, "Maria", "Lopez")
    touchpoint = factories.TouchpointFactory(name="Till queue", slug="till-queue")
    for obj in (
        CaseRule(
            name="Detractor who asked to be contacted",
            nps_at_most=6,
            contact_requested=True,
            severity=Severity.NORMAL,
        ),
        SlaPolicy(
            name="Normal: acknowledge in 8 h, resolve in 5 days",
            severity=Severity.NORMAL,
            acknowledge_within_hours=8,
            resolve_within_days=5,
        ),
    ):
        obj.full_clean()
        obj.save()
    return touchpoint


def customer_answers_on_a_phone(page: Page, location, screenshot) -> None:
    page.goto(f"/feedback/{location.code}/till-queue/")
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    page.locator("label[for='id_csat_0']").click()  # 1, very dissatisfied
    page.locator("label[for='id_nps_2']").click()
    expect(page.get_by_role("radio", name="2", exact=True)).to_be_checked()
    page.get_by_label("Anything you would like to tell us?").fill(COMMENT)
    page.get_by_label("Your name").fill(CUSTOMER[0])
    page.get_by_label("Your email address").fill(CUSTOMER[1])
    page.get_by_label("You may contact me about this feedback.").check()
    assert not sideways_overflow(page, "feedback form at 360 px")
    screenshot(page, "case-journey-feedback-360")
    page.get_by_role("button", name="Send my feedback").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()


def test_a_detractor_on_a_phone_becomes_a_case_the_manager_resolves_with_a_published_improvement(
    open_browser, location_a, manager, rules, screenshot
):
    customer = open_browser(viewport=PHONE)
    customer_answers_on_a_phone(customer, location_a, screenshot)

    # The rule opened the case at intake, in the same transaction as the answer.
    answer = Feedback.objects.get()
    assert (answer.nps, answer.csat, answer.contact_email) == (2, 1, CUSTOMER[1])
    case = Case.objects.get(feedback=answer)
    assert (case.origin, case.status, case.owner.user) == (CaseOrigin.FEEDBACK_RULE, CaseStatus.NEW, manager)

    # The manager, at a desk, sees it in the queue straight away.
    page = open_browser(manager)
    page.goto("/cases/")
    link = page.get_by_role("link", name=re.compile(re.escape(case.reference)))
    expect(link).to_be_visible()
    expect(page.locator("main")).to_contain_text("NPS 2 at Alpha Street")
    screenshot(page, "case-journey-queue")
    link.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    main = page.locator("main")
    expect(main).to_contain_text(COMMENT)
    expect(main).to_contain_text(CUSTOMER[1])  # the owner sees the details the customer consented to give
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(main).to_contain_text("new → acknowledged")
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ACKNOWLEDGED

    reply = "Dear Robin, I am sorry about the wait. We are changing how the tills are staffed. Maria"
    page.get_by_label("Message").fill(reply)
    page.get_by_role("button", name="Send the reply").click()
    expect(page.locator(".alert").first).to_contain_text(f"Reply sent to {CUSTOMER[1]}")
    assert [email.to for email in mail.outbox] == [[CUSTOMER[1]]]
    assert "I am sorry about the wait" in mail.outbox[0].body
    assert CaseEvent.objects.filter(case=case, kind=EventKind.MESSAGE).count() == 1
    screenshot(page, "case-journey-replied")

    page.get_by_label("What was done for the customer").fill(
        "Apologised by email; a second cashier now covers the lunchtime queue."
    )
    page.get_by_label(re.compile("Open a new action at Alpha Street")).check()
    page.get_by_label("Title").fill("Open a second till when five people queue")
    page.get_by_label("You said, we did (for the public page)").fill(SUMMARY)
    page.get_by_label("Done already: publish it today").check()
    screenshot(page, "case-journey-resolve")
    page.get_by_role("button", name="Resolve the case").click()
    expect(main).to_contain_text(f"Case {case.reference} resolved.")
    screenshot(page, "case-journey-resolved")

    resolved = Case.objects.select_related("action").get(pk=case.pk)
    assert resolved.status == CaseStatus.RESOLVED
    assert resolved.action.published and resolved.action.status == ActionStatus.DONE
    assert resolved.action.customer_summary == SUMMARY
    # The reply went out once; the follow-up survey is the only other email.
    assert [email.to for email in mail.outbox] == [[CUSTOMER[1]], [CUSTOMER[1]]]

    visitor = open_browser(viewport=PHONE)
    visitor.goto("/improvements/")
    expect(visitor.locator("main")).to_contain_text(SUMMARY)
    expect(visitor.locator("main")).to_contain_text("Alpha Street")
    screenshot(visitor, "case-journey-improvements-360")
