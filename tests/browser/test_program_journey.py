"""The customer service program in a real browser, from configuration to the customer.

One journey follows the acceptance of issue 4 with the data flowing through the pages: an admin
creates a standard in Django admin; a staff member acknowledges it and logs a training completion;
the manager verifies it and sees the training matrix change, records an evaluation that fails the
standard, the rollup runs, the dashboard shows the new figures and the consequences inbox the
corrective action, which the manager approves. Two shorter tests follow a gap to a published
improvement that an anonymous visitor reads, and a customer answering the feedback form on a phone
with the keyboard alone.

Every step is checked on what a person sees. Screenshots of the main pages are saved under
artifacts/screenshots/ (see conftest.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from consequences.models import Action, Condition, Polarity, SubjectKind
from gap_analysis.models import AssessmentStatus, Dimension
from measurement.models import Feedback
from measurement.tasks import rollup_scorecards
from tests import factories

from .conftest import tab_to, thank_and_tone_standards

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main navigation")


def status_message(page: Page):
    return page.locator("main .alert[role=status]")


def table_cell(page: Page, table: str, row_text: str, column: str):
    """The cell of `table` (a CSS selector) in the body row containing `row_text`, under the header
    whose text starts with `column`."""
    headers = [text.strip() for text in page.locator(f"{table} thead th").all_inner_texts()]
    index = next(i for i, text in enumerate(headers) if text.startswith(column))
    row = page.locator(f"{table} tbody tr").filter(has_text=row_text)
    expect(row).to_have_count(1)
    return row.locator("th, td").nth(index)


@pytest.fixture
def program(location_a, staff, manager, admin, name_users):
    """What an administrator has configured before the journey: a touchpoint, a course the staff
    member must complete, and the rule that answers every deviation with a corrective action."""
    name_users(staff, "Sam", "Rivers")
    name_users(manager, "Maria", "Lopez")
    name_users(admin, "Alex", "Morgan")
    touchpoint = factories.TouchpointFactory(name="Front counter", slug="front-counter")
    course = factories.CourseFactory(code="CRS-GREET", title="Greeting customers", pass_mark=80)
    factories.AssignmentFactory(employee=staff.employee, course=course)
    factories.RuleFactory(
        name="Corrective action for every deviation",
        subject_kind=SubjectKind.LOCATION,
        condition=Condition.DEVIATION,
        action=Action.CORRECTIVE_ACTION,
    )
    return {"touchpoint": touchpoint, "course": course, "location": location_a}


# --- 1. An admin creates a standard in Django admin -------------------------------------------


def admin_creates_standard(page: Page, screenshot) -> None:
    expect(page.get_by_role("heading", name="Program health")).to_be_visible()
    expect(page.locator("main")).to_contain_text("The whole organisation.")
    screenshot(page, "home-admin")

    page.goto("/admin/standards/standard/add/")
    page.locator("#id_code").fill("GRT-01")
    page.locator("#id_title").fill("Greet every customer")
    page.locator("#id_status").select_option(label="Active")
    page.locator("#id_effective_from").fill(timezone.localdate().isoformat())
    page.locator("#id_behaviour").fill(
        "Greet every customer within 10 seconds of them reaching the counter, with eye contact and a smile."
    )
    page.locator("#id_measure_kind").select_option(label="Pass / fail")
    page.locator("#id_target_rate").fill("100")
    page.locator("#id_non_negotiable").check()
    # The inline: one touchpoint covered, chosen in the autocomplete box.
    page.get_by_role("button", name=re.compile("Add another touchpoint covered", re.I)).click()
    page.locator("#Standard_touchpoints-0").get_by_role("combobox").click()
    page.locator(".select2-container--open .select2-search__field").fill("Front")
    page.locator(".select2-results__option", has_text="Front counter").click()
    screenshot(page, "admin-standard-add")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    row = page.locator("#result_list tbody tr").filter(has_text="GRT-01")
    expect(row).to_contain_text("Greet every customer")
    expect(row.locator(".field-status")).to_have_text("Active")
    expect(row.locator(".field-touchpoint_count")).to_have_text("1")
    screenshot(page, "admin-standard-changelist")


# --- 2. A staff member acknowledges it and logs a training completion -------------------------


def staff_acknowledges_and_logs_training(page: Page, screenshot) -> None:
    expect(page.get_by_role("heading", name="Standards to acknowledge")).to_be_visible()
    expect(page.locator("main")).to_contain_text("GRT-01 Greet every customer")
    screenshot(page, "home-staff")

    main_nav(page).get_by_role("link", name="My standards").click()
    expect(page.locator("main")).to_contain_text("1 standard to acknowledge.")
    page.get_by_role("link", name="GRT-01 · Greet every customer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Greet every customer")
    expect(page.locator("main")).to_contain_text("within 10 seconds of them reaching the counter")
    expect(page.locator("main")).to_contain_text("Front counter")
    screenshot(page, "standard-detail")
    page.get_by_role("button", name="I understand and will uphold this standard").click()

    expect(status_message(page)).to_have_text("Thank you: you have acknowledged GRT-01 version 1.")
    expect(page.locator("main")).to_contain_text("You have acknowledged every standard that applies to you.")
    row = page.locator(".list-group-item").filter(has_text="GRT-01")
    expect(row.locator(".badge", has_text="Acknowledged")).to_be_visible()
    screenshot(page, "my-standards")

    main_nav(page).get_by_role("link", name="My training").click()
    required = page.locator("table").filter(has_text="Greeting customers")
    expect(required.locator("tbody tr")).to_contain_text("Not started")
    form = page.locator("form").filter(has=page.get_by_role("button", name="Log completion"))
    form.get_by_label("Course").select_option(label="CRS-GREET · Greeting customers")
    form.get_by_label("Completed on").fill((timezone.localdate() - timedelta(days=2)).isoformat())
    form.get_by_label("Method").select_option(label="Classroom")
    form.get_by_label("Score").fill("92")
    form.get_by_label("Evidence").fill("Certificate GC-2026-114, trainer J. Patel")
    form.get_by_role("button", name="Log completion").click()

    expect(status_message(page)).to_contain_text("Logged Greeting customers.")
    expect(required.locator("tbody tr")).to_contain_text("awaiting verification")
    expect(page.locator("main")).to_contain_text("Logged (awaiting verification)")
    screenshot(page, "my-training")


# --- 3. The manager verifies it and sees the training matrix change ----------------------------


def open_training_page(page: Page, name: str) -> None:
    main_nav(page).get_by_role("button", name="Training").or_(
        main_nav(page).get_by_role("link", name="Training", exact=True)
    ).click()
    main_nav(page).get_by_role("link", name=name).click()


def manager_verifies_training(page: Page, screenshot, staff_name: str) -> None:
    expect(page.get_by_role("heading", name="Program health")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Your scope: Alpha Street")
    screenshot(page, "home-manager")

    open_training_page(page, "Training matrix")
    cell = table_cell(page, "table.matrix", staff_name, "Greeting customers")
    expect(cell).to_contain_text("Not started")
    expect(cell).to_contain_text("to verify")

    open_training_page(page, "Verify training")
    row = page.locator("tbody tr").filter(has_text=staff_name)
    expect(row).to_contain_text("Greeting customers")
    expect(row).to_contain_text("92%")
    expect(row).to_contain_text("Certificate GC-2026-114, trainer J. Patel")
    screenshot(page, "training-verification")
    row.get_by_role("button", name="Verify").click()
    expect(status_message(page)).to_contain_text(f"Verified Greeting customers for {staff_name}")
    expect(page.locator("main")).to_contain_text("Nothing to verify")

    open_training_page(page, "Training matrix")
    cell = table_cell(page, "table.matrix", staff_name, "Greeting customers")
    expect(cell.locator(".badge")).to_have_text("Current")
    screenshot(page, "training-matrix")


# --- 4. The manager records an evaluation; the rollup runs; dashboard and consequences ---------


def evaluation_item(page: Page, code: str):
    return page.locator("fieldset.evaluation-item").filter(has_text=code)


def manager_records_evaluation(page: Page, screenshot) -> None:
    main_nav(page).get_by_role("button", name="Audits").click()
    main_nav(page).get_by_role("link", name="Record evaluation").click()
    expect(page.get_by_label("Location")).to_have_value(re.compile(r"\d+"))  # the only one in scope
    page.get_by_label("Touchpoint").select_option(label="Front counter")
    expect(page.locator("#evaluation-items")).to_contain_text("3 standards cover this touchpoint")
    page.get_by_role("radio", name="Mystery shop").check()

    greet = evaluation_item(page, "GRT-01")
    expect(greet).to_contain_text("Non-negotiable")
    expect(greet.get_by_role("checkbox", name=re.compile("^Critical"))).to_be_checked()
    greet.locator("label", has_text=re.compile("^Failed$")).click()
    greet.get_by_label("Comment").fill("No greeting for 40 seconds; the advisor was on the phone.")
    thank = evaluation_item(page, "THX-01")
    expect(thank.get_by_label("Weight")).to_have_value("3")
    thank.locator("label", has_text=re.compile("^Passed$")).click()
    tone = evaluation_item(page, "TON-01")
    tone.locator("label", has_text=re.compile("^5$")).click()
    page.get_by_label("Overall comment").fill("Lunchtime visit, two advisors on the counter.")
    screenshot(page, "record-evaluation")
    page.get_by_role("button", name="Record evaluation").click()

    # Weighted score: THX-01 (3) and TON-01 (1) passed, GRT-01 (1) failed: 4 of 5 points = 80%,
    # the pass mark, yet GRT-01 is critical, so the evaluation fails.
    expect(page.get_by_role("heading", level=1)).to_have_text("Mystery shop at Alpha Street")
    result = page.locator(".evaluation-result")
    expect(result.locator(".evaluation-score")).to_contain_text("80% weighted score")
    expect(result).to_contain_text("4 of 5 weight points passed, over 3 items.")
    expect(result.locator(".badge")).to_have_text("Failed")
    expect(result).to_contain_text("A critical item failed, so the evaluation fails whatever the score.")
    deviations = page.locator("section").filter(has=page.get_by_role("heading", name="Deviations"))
    expect(deviations).to_contain_text("1 failed non-negotiable standard became a deviation.")
    expect(deviations.locator(".list-group-item")).to_contain_text("Greet every customer (GRT-01)")
    screenshot(page, "evaluation-result")


def manager_reads_dashboard(page: Page, screenshot) -> None:
    main_nav(page).get_by_role("link", name="Scorecards").click()
    # Three items, two passed: 67%, n = 3. Wilson 95% interval for 2 of 3: 20.8% to 93.9%.
    pass_card = page.locator("section.figure-card").filter(has=page.get_by_role("heading", name="Pass rate"))
    expect(pass_card.locator(".figure-value")).to_have_text("67%")
    expect(pass_card).to_contain_text("n = 3 observations · Wilson 95% interval 21–94%")
    deviations_card = page.locator("section.figure-card").filter(
        has=page.get_by_role("heading", name="Deviations")
    )
    expect(deviations_card.locator(".figure-value")).to_have_text("1")
    expect(table_cell(page, "table.scorecard-table", "Alpha Street", "Pass rate")).to_have_text("67% (n = 3)")
    expect(table_cell(page, "table.scorecard-table", "Alpha Street", "Deviations")).to_have_text("1")
    heatmap = page.locator("table.heatmap")
    # Columns are named by the standard's title; its code is in the tooltip.
    expect(heatmap.locator("thead")).to_contain_text("Greet")
    expect(table_cell(page, "table.heatmap", "Alpha Street", "Greet")).to_contain_text("0%n = 1")
    screenshot(page, "scorecards")

    main_nav(page).get_by_role("link", name="Consistency").click()
    expect(page.locator("main")).to_contain_text("Alpha Street")
    screenshot(page, "consistency")


def manager_approves_corrective_action(page: Page, screenshot) -> None:
    main_nav(page).get_by_role("link", name="Consequences").click()
    expect(page.locator("main")).to_contain_text("1 item matches.")
    row = page.locator("tr.consequence-row").filter(has_text="GRT-01 not met by Alpha Street")
    expect(row).to_contain_text("Corrective action plan")
    expect(row.locator("td[data-label=Status]")).to_have_text("Proposed")
    screenshot(page, "consequences-inbox")
    row.get_by_role("button", name="Approve").click()

    expect(status_message(page)).to_have_text("Corrective action plan for Alpha Street (AAA-01) approved.")
    row = page.locator("tr.consequence-row").filter(has_text="GRT-01 not met by Alpha Street")
    expect(row.locator("td[data-label=Status]")).to_have_text("Approved")
    expect(row.get_by_role("button", name="Mark delivered")).to_be_visible()
    screenshot(page, "consequences-inbox-approved")


def test_program_journey(open_browser, program, staff, manager, admin, screenshot):
    touchpoint = program["touchpoint"]

    admin_page = open_browser(admin)
    admin_creates_standard(admin_page, screenshot)

    staff_page = open_browser(staff)
    staff_acknowledges_and_logs_training(staff_page, screenshot)

    manager_page = open_browser(manager)
    manager_verifies_training(manager_page, screenshot, str(staff.employee))

    # Two more standards cover the touchpoint, so that the evaluation has a weighted score.
    thank, tone = thank_and_tone_standards()
    for standard in (thank, tone):
        standard.touchpoints.add(touchpoint)
    manager_records_evaluation(manager_page, screenshot)

    # The periodic rollup, as the worker runs it (tasks are eager in tests); its signal makes the
    # consequences app evaluate the rules, which propose the corrective action.
    rollup_scorecards.delay(full=True).get()
    manager_reads_dashboard(manager_page, screenshot)
    manager_approves_corrective_action(manager_page, screenshot)

    # A recognition given earlier, so that the wall has something to celebrate.
    factories.ConsequenceFactory(
        subject_kind=SubjectKind.EMPLOYEE,
        employee=staff.employee,
        location=program["location"],
        action=Action.RECOGNITION,
        polarity=Polarity.POSITIVE,
        status="delivered",
        approved_at=timezone.now(),
        delivered_at=timezone.now(),
        summary="Recognition: every customer thanked by name, three months running",
    )
    staff_page.goto("/")
    main_nav(staff_page).get_by_role("link", name="Recognition wall").click()
    expect(staff_page.locator("main")).to_contain_text("every customer thanked by name")
    expect(staff_page.locator("main")).to_contain_text("Sam Rivers")
    screenshot(staff_page, "recognition-wall")


# --- 5. The manager publishes an improvement; an anonymous visitor reads it -------------------


def test_published_improvement_reaches_anonymous_visitor(
    open_browser, location_a, manager, name_users, screenshot
):
    name_users(manager, "Maria", "Lopez")
    touchpoint = factories.TouchpointFactory(name="Returns desk", slug="returns-desk")
    assessment = factories.AssessmentFactory(
        touchpoint=touchpoint, location=location_a, status=AssessmentStatus.COMPLETED, assessor=manager
    )
    for dimension, current, target in (
        (Dimension.POLICIES, 4, 4),
        (Dimension.PROCESSES, 3, 4),
        (Dimension.PEOPLE, 2, 4),
        (Dimension.PRACTICES, 3, 3),
    ):
        factories.RatingFactory(
            assessment=assessment,
            dimension=dimension,
            current=current,
            target=target,
            evidence="Customers wait 15 minutes for a refund; only one advisor can authorise it."
            if dimension == Dimension.PEOPLE
            else "",
        )
    page = open_browser(manager)

    main_nav(page).get_by_role("link", name="Gap analysis").click()
    row = page.locator("table tbody tr").filter(has_text="Returns desk")
    expect(row).to_contain_text("Alpha Street")
    screenshot(page, "gaps-heatmap")
    row.get_by_role("link", name=re.compile(r"\d+ \w+ \d{4}")).click()

    people = page.locator("table.gap-ratings tbody tr").filter(
        has=page.get_by_role("rowheader", name="People")
    )
    expect(people).to_contain_text("Customers wait 15 minutes for a refund")
    people.get_by_role("link", name="Add action on People").click()
    expect(page.locator("main")).to_contain_text("People rated 2, customers expect 4 (gap 2).")
    expect(page.get_by_label("Title")).to_have_value("Close the people gap at Returns desk")
    page.get_by_label("Description").fill("Train and authorise every returns advisor to issue refunds.")
    page.get_by_label("Owner").select_option(label="Maria Lopez")
    page.get_by_role("button", name="Open the action").click()

    expect(status_message(page)).to_have_text(
        "Action “Close the people gap at Returns desk” opened; Maria Lopez owns it."
    )
    page.get_by_label("What was done").first.fill(
        "All four returns advisors trained and authorised to refund."
    )
    page.get_by_role("button", name="Mark done").click()
    expect(status_message(page)).to_have_text("“Close the people gap at Returns desk” is now done.")
    summary = "You said refunds took too long. We trained every returns advisor to refund you on the spot."
    page.get_by_label("What customers will read").fill(summary)
    page.get_by_role("button", name="Publish").click()
    expect(status_message(page)).to_contain_text("Published: customers can read it")
    expect(page.locator("main")).to_contain_text(f"Customers read: “{summary}”")
    screenshot(page, "improvement-action")

    visitor = open_browser()
    visitor.goto("/improvements/")
    expect(visitor.get_by_role("button", name="Sign out")).to_have_count(0)
    latest = visitor.locator("section").filter(has=visitor.get_by_role("heading", name="Latest improvements"))
    expect(latest.locator(".improvement-summary")).to_have_text(summary)
    expect(latest).to_contain_text("Alpha Street · Returns desk")
    screenshot(visitor, "improvements")


# --- A customer on a phone, with the keyboard alone -------------------------------------------


def test_feedback_form_on_a_phone_with_the_keyboard_only(open_browser, location_a, screenshot):
    factories.TouchpointFactory(name="Front counter", slug="front-counter")
    page = open_browser(viewport=PHONE)
    page.goto(f"/feedback/{location_a.code}/front-counter/")
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Front counter at Alpha Street")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        "the page scrolls sideways"
    )

    tab_to(page, "the satisfaction scale", "el.name === 'csat'")
    for _ in range(3):  # from 1 to 4 = satisfied
        page.keyboard.press("ArrowRight")
    tab_to(page, "the recommendation scale", "el.name === 'nps'")
    for _ in range(9):  # from 0 to 9
        page.keyboard.press("ArrowRight")
    tab_to(page, "the comment box", "el.name === 'comment'")
    page.keyboard.type("Quick and friendly, thank you.")
    expect(page.get_by_role("radio", name="4 – Satisfied", exact=True)).to_be_checked()
    expect(page.get_by_role("radio", name="9", exact=True)).to_be_checked()
    screenshot(page, "feedback-form-360")
    tab_to(page, "the send button", "el.type === 'submit' && el.textContent.includes('Send my feedback')")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "Your feedback about Front counter has reached the team at Alpha Street."
    )
    screenshot(page, "feedback-thanks-360")
    feedback = Feedback.objects.get()
    assert (feedback.csat, feedback.nps, feedback.comment) == (4, 9, "Quick and friendly, thank you.")
