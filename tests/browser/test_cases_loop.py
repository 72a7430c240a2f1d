"""Closing the loop in a browser: a manager replies to the customer and resolves the case with a
published improvement; the customer reads it, then answers the follow-up survey on a phone."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from cases.models import Case, CaseOrigin, CaseStatus
from cases.services.core import case_open
from tests import factories

from .test_accessibility import axe_failures, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def test_reply_resolve_publish_and_the_customer_answers_the_follow_up(
    open_browser, manager, location_a, screenshot
):
    touchpoint = factories.TouchpointFactory(name="Checkout", slug="checkout")
    case = case_open(
        location=location_a,
        title="Charged twice at the till",
        origin=CaseOrigin.PHONE,
        touchpoint=touchpoint,
        contact_name="Dana Whitfield",
        contact_email="dana@example.org",
        contact_consent=True,
    )
    page = open_browser(manager)
    page.goto(f"/cases/{case.pk}/")

    page.get_by_label("Message").fill("We are sorry: the second charge is refunded today.")
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_role("alert").or_(page.locator(".alert")).first).to_contain_text(
        "Reply sent to dana@example.org"
    )
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ACKNOWLEDGED
    assert [email.to for email in mail.outbox] == [["dana@example.org"]]

    summary = "You said the till charged you twice; we replaced the card reader at the checkout."
    page.get_by_label("What was done for the customer").fill("Refunded the second charge.")
    page.get_by_label(re.compile("Open a new action at Alpha Street")).check()
    page.get_by_label("Title").fill("Replace the card reader")
    page.get_by_label("You said, we did (for the public page)").fill(summary)
    page.get_by_label("Done already: publish it today").check()
    screenshot(page, "case-resolve")
    page.get_by_role("button", name="Resolve the case").click()
    expect(page.locator("main")).to_contain_text(f"Case {case.reference} resolved.")

    visitor = open_browser(viewport=PHONE)
    visitor.goto("/improvements/")
    expect(visitor.locator("main")).to_contain_text(summary)
    expect(visitor.locator("main")).to_contain_text("Alpha Street · Checkout")

    # The follow-up link the customer was emailed, opened on a phone.
    follow_up = mail.outbox[-1]
    assert follow_up.to == ["dana@example.org"]
    link = re.search(r"https?://\S+/cases/follow-up/[A-Za-z0-9_-]+/", follow_up.body).group(0)
    visitor.goto(link)
    expect(visitor.get_by_role("heading", name="How did we handle it?")).to_be_visible()
    assert not sideways_overflow(visitor, "follow-up at 360 px")
    assert not axe_failures(visitor, "follow-up")
    screenshot(visitor, "case-follow-up-360")
    visitor.locator("label[for='id_csat_1']").click()  # the second button: 2, dissatisfied
    expect(visitor.get_by_role("radio", name="2 – Dissatisfied", exact=True)).to_be_checked()
    visitor.get_by_label("Anything you would like to add? (optional)").fill("It took three weeks.")
    visitor.get_by_role("button", name="Send my answer").click()
    expect(visitor.get_by_role("heading", name="Thank you")).to_be_visible()
    assert not axe_failures(visitor, "follow-up thanks")

    answered = Case.objects.get(pk=case.pk)
    assert (answered.follow_up_csat, answered.recovered) == (2, False)
    page.reload()
    expect(page.locator("main")).to_contain_text(
        "Satisfaction 2/5 with how the case was handled (not recovered"
    )
    visitor.goto(link)
    expect(visitor.locator("main")).to_contain_text("You have already answered")
