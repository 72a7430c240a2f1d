"""Doing a planned audit on a phone, in a real browser: the logic shows what an answer asks for,
answers given without a connection wait on the phone and are saved once it is back, a photo is
uploaded for a failed check, and the submitted audit's score, observations and deviation appear."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from audits.models import Answer, Audit, AuditStatus, Photo
from measurement.models import Deviation, Observation
from organization.scope import employee_of
from tests.audit_factories import OccurrenceFactory, ScheduleFactory, template_from

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
THUMB = 44  # the smallest target a thumb hits reliably (WCAG 2.5.5)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def planned(staff, location_a):
    """A store visit assigned to the staff member: a welcome (greeted? and the minutes waited, at
    most 5, a failed wait needing a note) and the shelves (tidy? a fail needs a photo)."""
    template = template_from(
        [
            {
                "title": "Welcome",
                "questions": [
                    {"key": "greet", "kind": "yes_no", "text": "Were you greeted?"},
                    {
                        "key": "why",
                        "kind": "text",
                        "parent": "greet",
                        "shown_when": ["no"],
                        "text": "What happened?",
                    },
                    {
                        "key": "wait",
                        "kind": "number",
                        "threshold": 5,
                        "text": "Minutes waited to be served",
                        "rules": [{"answers": ["failed"], "require_note": True}],
                    },
                ],
            },
            {
                "title": "Shelves",
                "questions": [
                    {
                        "key": "tidy",
                        "kind": "pass_fail",
                        "text": "Shelves tidy and stocked?",
                        "rules": [{"answers": ["fail"], "require_photo": True}],
                    }
                ],
            },
        ],
        title="Store visit",
        pass_mark=Decimal("80"),
    )
    wait = template.q["wait"].standard
    wait.non_negotiable, wait.target_rate = True, 100
    wait.save(update_fields=["non_negotiable", "target_rate"])
    schedule = ScheduleFactory(template=template, location=location_a)
    schedule.assigned_employees.add(employee_of(staff))
    return template, OccurrenceFactory(schedule=schedule)


def png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_an_audit_done_on_a_phone_survives_a_lost_connection(open_browser, staff, planned, screenshot):
    template, occurrence = planned
    page = open_browser(staff, viewport=DESKTOP)
    page.set_viewport_size(PHONE)
    page.goto(reverse("audits:mine"))
    expect(page.get_by_text("Store visit", exact=True)).to_be_visible()
    page.get_by_role("button", name="Start the audit").click()
    expect(page.get_by_role("heading", name="Store visit")).to_be_visible()
    status = page.locator("#audit-save-status")
    expect(status).to_have_text("All answers saved")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # A follow-up appears for "No" and goes again for "Yes"; the targets are thumb-sized.
    greet = page.get_by_role("radiogroup", name="Were you greeted?")
    no = greet.get_by_text("No", exact=True)
    assert no.bounding_box()["height"] >= THUMB
    no.click()
    expect(page.get_by_label("Your answer")).to_be_visible()
    greet.get_by_text("Yes", exact=True).click()
    expect(page.get_by_label("Your answer")).to_be_hidden()
    expect(status).to_have_text("All answers saved")

    # The connection goes: a wait of 8 minutes fails the standard and asks for a note.
    page.context.set_offline(True)
    page.get_by_label("Your measurement").fill("8")
    note = page.locator(f"#note-{template.q['wait'].pk}")
    expect(note).to_be_visible()
    note.fill("Six people in the queue, one till open")
    expect(status).to_have_text(re.compile(r"Offline: 1 answer waiting to be saved"))
    page.get_by_role("button", name="Submit the audit").click()
    expect(page.locator("#audit-submit-refused")).to_contain_text("not saved yet")
    assert not Answer.objects.filter(question=template.q["wait"]).exists()
    screenshot(page, "audit-phone-offline")

    # Back online: what waited is saved, and nothing was lost.
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(status).to_have_text("All answers saved")
    wait = Answer.objects.get(question=template.q["wait"])
    assert (wait.value, wait.note) == ("8", "Six people in the queue, one till open")

    # The shelves fail: a photo is asked for and uploaded.
    page.get_by_text("Shelves", exact=True).click()
    page.get_by_role("radiogroup", name="Shelves tidy and stocked?").get_by_text("Fail", exact=True).click()
    photo = page.locator(f"#photo-{template.q['tidy'].pk}")
    expect(photo).to_be_visible()
    photo.set_input_files({"name": "shelf.png", "mimeType": "image/png", "buffer": png()})
    expect(page.get_by_text("1 photo attached")).to_be_visible()
    expect(status).to_have_text("All answers saved")
    expect(page.locator("#audit-progress")).to_have_text("3 of 3 answered")
    screenshot(page, "audit-phone-answered")

    # Submitted: the score, the pass or fail and the deviation are on the result.
    page.get_by_role("button", name="Submit the audit").click()
    # Welcome: greet 1 + wait 0 = 50 %; Shelves: tidy 0 = 0 %; the audit: (50 + 0) ÷ 2 = 25 %.
    expect(page.get_by_role("heading", name="Score 25.00 % · Failed")).to_be_visible()
    expect(page.get_by_text("Score 25.00 % is under the pass mark of 80.00 %")).to_be_visible()
    expect(page.get_by_text(template.q["wait"].standard.code).first).to_be_visible()
    screenshot(page, "audit-phone-result")

    audit = Audit.objects.get(occurrence=occurrence)
    assert audit.status == AuditStatus.SUBMITTED and audit.evaluation.score == Decimal("25.00")
    assert Observation.objects.filter(evaluation=audit.evaluation).count() == 3
    assert (
        Deviation.objects.get(observation__evaluation=audit.evaluation).standard
        == template.q["wait"].standard
    )
    assert Photo.objects.filter(answer__audit=audit).count() == 1
