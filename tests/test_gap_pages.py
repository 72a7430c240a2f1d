"""The gap-analysis pages: heatmap, assessment form, actions — who may see what, and what they do."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from gap_analysis.models import ActionItem, ActionStatus, Assessment, AssessmentStatus, CustomerExpectation
from gap_analysis.services import (
    RatingInput,
    action_create,
    action_publish,
    action_unpublish,
    action_update_status,
    assessment_save,
)
from tests import factories
from touchpoints.models import JourneyStage

TODAY = date.today()
# current → target for policies, processes, people, practices: gaps 3, 2, 1 and −1.
SCORES = {"policies": (1, 4), "processes": (2, 4), "people": (3, 4), "practices": (5, 4)}


def assessed(touchpoint, location, *, scores=SCORES, status=AssessmentStatus.COMPLETED, **extra):
    assessment = factories.AssessmentFactory(touchpoint=touchpoint, location=location, status=status, **extra)
    for dimension, (current, target) in scores.items():
        factories.RatingFactory(assessment=assessment, dimension=dimension, current=current, target=target)
    return assessment


@pytest.fixture
def touchpoint(db):
    return factories.TouchpointFactory(name="Checkout till", journey_stage=JourneyStage.PAY)


@pytest.fixture
def assessment_a(touchpoint, location_a):
    return assessed(touchpoint, location_a)


@pytest.fixture
def assessment_b(touchpoint, location_b):
    return assessed(touchpoint, location_b, summary="Beta summary")


@pytest.fixture
def org_assessment(touchpoint, admin):
    return assessed(touchpoint, None, assessed_on=TODAY - timedelta(days=40), summary="Organisation baseline")


@pytest.fixture
def action_a(assessment_a, manager):
    rating = assessment_a.ratings.get(dimension="policies")
    return factories.ActionItemFactory(rating=rating, owner=manager, title="Rewrite the refund policy")


@pytest.fixture
def action_b(assessment_b, other_manager):
    rating = assessment_b.ratings.get(dimension="policies")
    return factories.ActionItemFactory(rating=rating, owner=other_manager, title="Beta-only action")


@pytest.fixture
def feedback_a(touchpoint, location_a):
    return factories.FeedbackFactory(
        touchpoint=touchpoint, location=location_a, csat=1, comment="Queued for twenty minutes."
    )


def get(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


# --- Access: every page × role ------------------------------------------------------------

LIST_PAGES = [
    "gap_analysis:heatmap",
    "gap_analysis:assess",
    "gap_analysis:action-list",
    "gap_analysis:action-create",
]


@pytest.mark.parametrize("url_name", LIST_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("url_name", LIST_PAGES)
def test_staff_are_refused(client, staff, url_name):
    assert get(client, staff, reverse(url_name)).status_code == 403


@pytest.mark.parametrize("url_name", LIST_PAGES)
@pytest.mark.parametrize("role", ["manager", "other_manager", "admin"])
def test_managers_and_admins_open_the_pages(client, request, role, url_name, assessment_a, action_a):
    assert get(client, request.getfixturevalue(role), reverse(url_name)).status_code == 200


def object_urls(assessment, action, feedback):
    rating = assessment.ratings.get(dimension="policies")
    return [
        reverse("gap_analysis:assessment-detail", args=[assessment.pk]),
        reverse("gap_analysis:assessment-edit", args=[assessment.pk]),
        reverse("gap_analysis:action-detail", args=[action.pk]),
        reverse("gap_analysis:action-create") + f"?rating={rating.pk}",
        reverse("gap_analysis:action-create") + f"?feedback={feedback.pk}",
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 302), ("staff", 403), ("manager", 200), ("other_manager", 404), ("admin", 200)],
)
def test_object_pages_by_role(client, request, role, expected, assessment_a, action_a, feedback_a):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    for url in object_urls(assessment_a, action_a, feedback_a):
        assert get(client, user, url).status_code == expected, url


@pytest.mark.parametrize("url_name", ["action-status", "action-publish", "action-unpublish"])
def test_another_locations_manager_cannot_change_an_action(client, other_manager, action_a, url_name):
    client.force_login(other_manager)
    response = client.post(
        reverse(f"gap_analysis:{url_name}", args=[action_a.pk]),
        {"status": "cancelled", "customer_summary": "x"},
    )
    assert response.status_code == 404
    action_a.refresh_from_db()
    assert action_a.status == ActionStatus.OPEN and not action_a.published


def test_another_locations_manager_cannot_post_an_assessment_edit(client, other_manager, assessment_a):
    client.force_login(other_manager)
    response = client.post(reverse("gap_analysis:assessment-edit", args=[assessment_a.pk]), {})
    assert response.status_code == 404


def test_other_locations_records_are_not_listed(client, other_manager, assessment_a, action_a):
    client.force_login(other_manager)
    heatmap = client.get(reverse("gap_analysis:heatmap")).content.decode()
    assert reverse("gap_analysis:assessment-detail", args=[assessment_a.pk]) not in heatmap
    assert "Never assessed" in heatmap  # the touchpoint is there, but not location A's assessment
    actions = client.get(reverse("gap_analysis:action-list")).content.decode()
    assert "Rewrite the refund policy" not in actions


def test_a_manager_cannot_filter_the_heatmap_by_another_location(
    client, other_manager, assessment_a, location_a
):
    client.force_login(other_manager)
    body = client.get(reverse("gap_analysis:heatmap"), {"location": location_a.pk}).content.decode()
    assert "Select a valid choice" in body
    assert reverse("gap_analysis:assessment-detail", args=[assessment_a.pk]) not in body


# --- Organisation-wide assessments: every manager sees them, only admins change them ---------


def test_managers_see_an_organisation_wide_assessment_but_cannot_change_it(client, manager, org_assessment):
    client.force_login(manager)
    detail = client.get(reverse("gap_analysis:assessment-detail", args=[org_assessment.pk]))
    assert detail.status_code == 200 and "Organisation baseline" in detail.content.decode()
    assert "Add action" not in detail.content.decode()
    assert client.get(reverse("gap_analysis:assessment-edit", args=[org_assessment.pk])).status_code == 403
    rating = org_assessment.ratings.get(dimension="policies")
    url = reverse("gap_analysis:action-create") + f"?rating={rating.pk}"
    assert client.get(url).status_code == 403


def test_organisation_wide_actions_are_visible_to_managers_and_changed_by_admins(
    client, manager, admin, org_assessment
):
    action = factories.ActionItemFactory(
        rating=org_assessment.ratings.get(dimension="policies"),
        location=None,
        owner=admin,
        title="Org-wide fix",
    )
    client.force_login(manager)
    assert "Org-wide fix" in client.get(reverse("gap_analysis:action-list")).content.decode()
    assert client.get(reverse("gap_analysis:action-detail", args=[action.pk])).status_code == 200
    status_url = reverse("gap_analysis:action-status", args=[action.pk])
    assert client.post(status_url, {"status": "in_progress"}).status_code == 403
    client.force_login(admin)
    client.post(status_url, {"status": "in_progress"})
    action.refresh_from_db()
    assert action.status == ActionStatus.IN_PROGRESS


def test_an_organisation_wide_assessment_shows_on_every_managers_heatmap(client, manager, location_b):
    elsewhere = factories.TouchpointFactory(name="Warehouse hotline")
    elsewhere.locations.add(location_b)  # exists only at a location the manager does not manage
    org_wide = assessed(elsewhere, None)
    client.force_login(manager)
    body = client.get(reverse("gap_analysis:heatmap")).content.decode()
    assert "Warehouse hotline" in body
    assert reverse("gap_analysis:assessment-detail", args=[org_wide.pk]) in body


# --- The heatmap ---------------------------------------------------------------------------


def test_the_heatmap_shows_the_gaps_of_the_latest_completed_assessment(
    client, manager, touchpoint, location_a
):
    assessed(touchpoint, location_a, assessed_on=TODAY - timedelta(days=100), scores={"policies": (4, 4)})
    latest = assessed(touchpoint, location_a, assessed_on=TODAY - timedelta(days=5))
    assessed(touchpoint, location_a, status=AssessmentStatus.DRAFT, scores={"policies": (1, 5)})
    client.force_login(manager)
    body = client.get(reverse("gap_analysis:heatmap")).content.decode()
    assert reverse("gap_analysis:assessment-detail", args=[latest.pk]) in body
    for figure, label in [("+3", "large gap"), ("+2", "medium gap"), ("+1", "small gap"), ("-1", "exceeds")]:
        assert f'<span class="gap-value">{figure}</span>\n    <span class="gap-label">{label}' in body
    assert "+4" not in body  # the draft's 1 → 5 is not shown


def test_the_heatmap_flags_touchpoints_never_or_long_ago_assessed(client, manager, location_a):
    never = factories.TouchpointFactory(name="Returns desk")
    stale = factories.TouchpointFactory(name="Delivery van")
    assessed(stale, location_a, assessed_on=TODAY - timedelta(days=400))
    client.force_login(manager)
    body = client.get(reverse("gap_analysis:heatmap")).content.decode()
    returns_row = body[body.index("Returns desk") :]
    delivery_row = body[body.index("Delivery van") :]
    assert returns_row.index("Never assessed") < returns_row.index("</tr>")
    assert delivery_row.index("Over 12 months old") < delivery_row.index("</tr>")
    assert never.name in body


def test_the_heatmap_filters_by_journey_stage_and_location(client, admin, touchpoint, location_a, location_b):
    factories.TouchpointFactory(name="Front door greeting", journey_stage=JourneyStage.DISCOVER)
    in_b = assessed(touchpoint, location_b)
    client.force_login(admin)
    by_stage = client.get(
        reverse("gap_analysis:heatmap"), {"journey_stage": JourneyStage.PAY}
    ).content.decode()
    assert "Checkout till" in by_stage and "Front door greeting" not in by_stage
    at_a = client.get(reverse("gap_analysis:heatmap"), {"location": location_a.pk}).content.decode()
    assert "Never assessed" in at_a and reverse("gap_analysis:assessment-detail", args=[in_b.pk]) not in at_a
    at_b = client.get(reverse("gap_analysis:heatmap"), {"location": location_b.pk}).content.decode()
    assert reverse("gap_analysis:assessment-detail", args=[in_b.pk]) in at_b


@pytest.mark.parametrize("size", [5, 40])
def test_heatmap_query_count_does_not_grow(client, manager, location_a, size, django_assert_max_num_queries):
    for touchpoint in factories.TouchpointFactory.create_batch(size):
        assessed(touchpoint, location_a, assessed_on=TODAY - timedelta(days=30))
        assessed(touchpoint, location_a)
    client.force_login(manager)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("gap_analysis:heatmap"))
    assert response.content.decode().count('class="gap-value"') == 4 * size


# --- The assessment form -------------------------------------------------------------------


def assessment_post(touchpoint, location, **overrides):
    data = {
        "touchpoint": touchpoint.pk,
        "location": location.pk if location else "",
        "assessed_on": TODAY.isoformat(),
        "expectations": [CustomerExpectation.objects.get(name="Courtesy").pk],
        "summary": "Long queues at lunchtime.",
        "completed": "on",
    }
    for dimension, (current, target) in SCORES.items():
        data |= {
            f"{dimension}-current": current,
            f"{dimension}-target": target,
            f"{dimension}-evidence": f"{dimension} seen",
        }
    return data | overrides


def test_a_manager_records_an_assessment_of_the_four_ps(client, manager, touchpoint, location_a):
    client.force_login(manager)
    response = client.post(
        reverse("gap_analysis:assess"), assessment_post(touchpoint, location_a), follow=True
    )
    assessment = Assessment.objects.get()
    assert response.redirect_chain[-1][0] == reverse("gap_analysis:assessment-detail", args=[assessment.pk])
    assert assessment.status == AssessmentStatus.COMPLETED and assessment.assessor == manager
    assert assessment.location == location_a
    assert list(assessment.expectations.values_list("name", flat=True)) == ["Courtesy"]
    assert {r.dimension: (r.current, r.target, r.evidence) for r in assessment.ratings.all()} == {
        d: (c, t, f"{d} seen") for d, (c, t) in SCORES.items()
    }
    assert "completed" in response.content.decode()


def test_the_edit_form_shows_and_saves_changes(client, manager, assessment_a):
    client.force_login(manager)
    url = reverse("gap_analysis:assessment-edit", args=[assessment_a.pk])
    form_page = client.get(url).content.decode()
    assert 'name="people-current" value="3"' in form_page
    assert f'<option value="{assessment_a.touchpoint.pk}" selected>' in form_page
    assert f'value="{TODAY.isoformat()}"' in form_page
    data = assessment_post(assessment_a.touchpoint, assessment_a.location, **{"people-current": "4"})
    client.post(url, data)
    assert assessment_a.ratings.get(dimension="people").current == 4
    assert assessment_a.ratings.count() == 4


def test_a_target_out_of_range_keeps_the_input_and_saves_nothing(client, manager, touchpoint, location_a):
    client.force_login(manager)
    data = assessment_post(touchpoint, location_a, **{"people-target": "7", "summary": "Kept summary"})
    response = client.post(reverse("gap_analysis:assess"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["rating_forms"][2].errors == {
        "target": ["Ensure this value is less than or equal to 5."]
    }
    assert 'name="people-target" value="7"' in body and "Kept summary" in body
    assert not Assessment.objects.exists()


def test_a_completed_assessment_needs_all_four_ps(client, manager, touchpoint, location_a):
    client.force_login(manager)
    data = assessment_post(touchpoint, location_a, **{"practices-current": "", "practices-target": ""})
    response = client.post(reverse("gap_analysis:assess"), data)
    assert "Rate practices before marking the assessment completed" in response.content.decode()
    assert not Assessment.objects.exists()
    data.pop("completed")
    client.post(reverse("gap_analysis:assess"), data)
    assert Assessment.objects.get().status == AssessmentStatus.DRAFT


def test_a_manager_cannot_assess_another_location(client, manager, touchpoint, location_b):
    client.force_login(manager)
    response = client.post(reverse("gap_analysis:assess"), assessment_post(touchpoint, location_b))
    assert "Select a valid choice" in response.content.decode()
    assert not Assessment.objects.exists()


def test_only_admins_assess_the_whole_organisation(manager, admin, touchpoint):
    arguments = {
        "touchpoint": touchpoint,
        "location": None,
        "assessed_on": TODAY,
        "completed": True,
        "ratings": {d: RatingInput(c, t) for d, (c, t) in SCORES.items()},
    }
    with pytest.raises(ValidationError) as excinfo:
        assessment_save(user=manager, **arguments)
    assert "location" in excinfo.value.message_dict
    assert assessment_save(user=admin, **arguments).location is None


def test_the_service_rejects_a_rating_off_the_scale_and_writes_nothing(manager, touchpoint, location_a):
    ratings = {d: RatingInput(c, t) for d, (c, t) in SCORES.items()} | {"people": RatingInput(3, 7)}
    with pytest.raises(ValidationError) as excinfo:
        assessment_save(
            user=manager,
            touchpoint=touchpoint,
            location=location_a,
            assessed_on=TODAY,
            completed=True,
            ratings=ratings,
        )
    assert excinfo.value.message_dict == {"people-target": ["Ensure this value is less than or equal to 5."]}
    assert not Assessment.objects.exists()


# --- Actions -------------------------------------------------------------------------------


def test_a_manager_opens_an_action_on_a_gap(client, manager, assessment_a):
    rating = assessment_a.ratings.get(dimension="processes")
    client.force_login(manager)
    detail = client.get(reverse("gap_analysis:assessment-detail", args=[assessment_a.pk])).content.decode()
    assert f"?rating={rating.pk}" in detail
    no_gap = assessment_a.ratings.get(dimension="practices")
    assert f"?rating={no_gap.pk}" not in detail  # practices exceed expectations: nothing to close
    url = reverse("gap_analysis:action-create") + f"?rating={rating.pk}"
    due = (TODAY + timedelta(days=14)).isoformat()
    response = client.post(url, {"title": "Shorter queue", "owner": manager.pk, "due_on": due}, follow=True)
    action = ActionItem.objects.get()
    assert response.redirect_chain[-1][0] == reverse("gap_analysis:action-detail", args=[action.pk])
    assert (action.rating, action.location, action.owner, action.status) == (
        rating,
        assessment_a.location,
        manager,
        ActionStatus.OPEN,
    )


def test_the_owner_must_manage_the_actions_location(client, manager, other_manager, admin, assessment_a):
    rating = assessment_a.ratings.get(dimension="processes")
    client.force_login(manager)
    url = reverse("gap_analysis:action-create") + f"?rating={rating.pk}"
    owners = client.get(url).context["form"].fields["owner"].queryset
    assert set(owners) == {manager, admin}
    due = (TODAY + timedelta(days=14)).isoformat()
    response = client.post(url, {"title": "Shorter queue", "owner": other_manager.pk, "due_on": due})
    assert "Select a valid choice" in response.content.decode()
    assert not ActionItem.objects.exists()


def test_an_action_answers_a_customer_comment_in_scope(client, manager, feedback_a):
    client.force_login(manager)
    start = client.get(reverse("gap_analysis:action-create")).content.decode()
    assert "Queued for twenty minutes." in start and f"?feedback={feedback_a.pk}" in start
    url = reverse("gap_analysis:action-create") + f"?feedback={feedback_a.pk}"
    due = (TODAY + timedelta(days=7)).isoformat()
    client.post(url, {"title": "Open a second till", "owner": manager.pk, "due_on": due})
    action = ActionItem.objects.get()
    assert action.feedback == feedback_a and action.location == feedback_a.location


def test_feedback_of_another_location_cannot_start_an_action(client, other_manager, feedback_a):
    client.force_login(other_manager)
    url = reverse("gap_analysis:action-create") + f"?feedback={feedback_a.pk}"
    assert client.post(url, {"title": "x", "owner": other_manager.pk, "due_on": TODAY}).status_code == 404
    assert (
        "Queued for twenty minutes." not in client.get(reverse("gap_analysis:action-create")).content.decode()
    )
    assert not ActionItem.objects.exists()


def test_a_rating_without_a_gap_cannot_start_an_action(manager, assessment_a):
    with pytest.raises(ValidationError) as excinfo:
        action_create(
            user=manager,
            title="Nothing to do",
            owner=manager,
            due_on=TODAY,
            rating=assessment_a.ratings.get(dimension="practices"),
        )
    assert "rating" in excinfo.value.message_dict


def test_the_action_lifecycle_through_the_pages(client, manager, action_a):
    client.force_login(manager)
    status_url = reverse("gap_analysis:action-status", args=[action_a.pk])
    client.post(status_url, {"status": "in_progress"})
    action_a.refresh_from_db()
    assert action_a.status == ActionStatus.IN_PROGRESS

    refused = client.post(status_url, {"status": "done", "done-closure_note": " ", "done-closed_on": TODAY})
    assert refused.status_code == 200
    assert "Say what was done before marking the action done." in refused.content.decode()
    action_a.refresh_from_db()
    assert action_a.status == ActionStatus.IN_PROGRESS

    client.post(
        status_url,
        {"status": "done", "done-closure_note": "New policy on the wall.", "done-closed_on": TODAY},
    )
    action_a.refresh_from_db()
    assert (action_a.status, action_a.closure_note, action_a.closed_on) == (
        ActionStatus.DONE,
        "New policy on the wall.",
        TODAY,
    )

    publish_url = reverse("gap_analysis:action-publish", args=[action_a.pk])
    empty = client.post(publish_url, {"customer_summary": ""})
    assert "Write the summary customers will read." in empty.content.decode()
    client.post(publish_url, {"customer_summary": "You said refunds were slow; we now refund at the till."})
    action_a.refresh_from_db()
    assert action_a.published and action_a.published_on == TODAY

    client.post(reverse("gap_analysis:action-unpublish", args=[action_a.pk]))
    action_a.refresh_from_db()
    assert not action_a.published and action_a.published_on is None
    assert action_a.customer_summary.startswith("You said refunds")


def test_done_without_a_closure_note_is_refused(manager, action_a):
    with pytest.raises(ValidationError) as excinfo:
        action_update_status(action=action_a, status=ActionStatus.DONE, user=manager)
    assert excinfo.value.message_dict == {
        "closure_note": ["Say what was done before marking the action done."]
    }
    action_a.refresh_from_db()
    assert action_a.status == ActionStatus.OPEN


def test_only_a_done_action_can_be_published(manager, action_a):
    with pytest.raises(ValidationError) as excinfo:
        action_publish(action=action_a, summary="We fixed it.", user=manager)
    assert "published" in excinfo.value.message_dict
    action_a.refresh_from_db()
    assert not action_a.published


def test_done_and_cancelled_are_final(manager, action_a):
    action_update_status(
        action=action_a, status=ActionStatus.CANCELLED, user=manager, closure_note="Duplicate"
    )
    assert action_a.closed_on == TODAY
    with pytest.raises(ValidationError) as excinfo:
        action_update_status(action=action_a, status=ActionStatus.IN_PROGRESS, user=manager)
    assert "cannot become in progress" in excinfo.value.message_dict["status"][0]


def test_services_refuse_a_manager_of_another_location(other_manager, action_a):
    with pytest.raises(PermissionDenied):
        action_update_status(action=action_a, status=ActionStatus.IN_PROGRESS, user=other_manager)
    with pytest.raises(PermissionDenied):
        action_unpublish(action=action_a, user=other_manager)


def test_the_action_list_filters_by_status_overdue_and_owner(client, manager, admin, assessment_a):
    rating = assessment_a.ratings.get(dimension="policies")
    factories.ActionItemFactory(
        rating=rating, owner=manager, title="Mine and late", due_on=TODAY - timedelta(days=3)
    )
    factories.ActionItemFactory(rating=rating, owner=admin, title="Admin's, on time")
    factories.ActionItemFactory(
        rating=rating,
        owner=manager,
        title="Finished",
        status=ActionStatus.DONE,
        closure_note="Done",
        closed_on=TODAY,
        due_on=TODAY - timedelta(days=10),
    )
    client.force_login(manager)
    url = reverse("gap_analysis:action-list")

    def titles(**params):
        return {action.title for action in client.get(url, params).context["page"]}

    assert titles() == {"Mine and late", "Admin's, on time", "Finished"}
    assert titles(overdue="on") == {"Mine and late"}
    assert titles(owner="me") == {"Mine and late", "Finished"}
    assert titles(status="done") == {"Finished"}


def actions_from_gaps_and_comments(size, owner, assessment, feedback):
    """`size` actions at the assessment's location, every other one opened from a customer comment."""
    rating = assessment.ratings.get(dimension="policies")
    for number in range(size):
        source = {"rating": rating} if number % 2 else {"feedback": feedback, "rating": None}
        factories.ActionItemFactory(owner=owner, location=assessment.location, **source)


@pytest.mark.parametrize("size", [5, 40])
def test_action_list_query_count_does_not_grow(
    client, manager, assessment_a, feedback_a, size, django_assert_max_num_queries
):
    actions_from_gaps_and_comments(size, manager, assessment_a, feedback_a)
    client.force_login(manager)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("gap_analysis:action-list"))
    assert len(response.context["rows"]) == min(size, 25)


def test_assessment_page_query_count_does_not_grow(
    client, manager, assessment_a, django_assert_max_num_queries
):
    rating = assessment_a.ratings.get(dimension="policies")
    factories.ActionItemFactory.create_batch(15, rating=rating, owner=manager)
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert (
            client.get(reverse("gap_analysis:assessment-detail", args=[assessment_a.pk])).status_code == 200
        )


# --- CSV downloads -------------------------------------------------------------------------

CSV_PAGES = ["gap_analysis:heatmap", "gap_analysis:action-list"]


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="gap-')
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("url_name", CSV_PAGES)
def test_anonymous_visitors_cannot_download_csv(client, db, url_name):
    response = client.get(reverse(url_name), {"format": "csv"})
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("url_name", CSV_PAGES)
def test_staff_cannot_download_csv(client, staff, url_name):
    client.force_login(staff)
    assert client.get(reverse(url_name), {"format": "csv"}).status_code == 403


def test_a_manager_downloads_the_heatmap_of_their_scope(
    client, manager, location_b, assessment_a, assessment_b
):
    beta_only = factories.TouchpointFactory(name="Beta-only desk")
    beta_only.locations.add(location_b)
    assessed(beta_only, location_b)
    risky = factories.TouchpointFactory(name='=HYPERLINK("http://evil.example","x")')
    assessed(risky, None, assessed_on=TODAY - timedelta(days=400), scores={"people": (2, 3)})
    factories.TouchpointFactory(name="Returns desk", journey_stage=JourneyStage.PAY)
    client.force_login(manager)

    rows = csv_rows(client.get(reverse("gap_analysis:heatmap"), {"format": "csv"}))

    by_name = {row["touchpoint"]: row for row in rows}
    assert set(by_name) == {"Checkout till", "Returns desk", '\'=HYPERLINK("http://evil.example","x")'}
    till = by_name["Checkout till"]
    assert till["touchpoint_id"] == str(assessment_a.touchpoint.pk)
    assert (till["journey_stage"], till["channel"]) == (JourneyStage.PAY.label, "In person")
    assert [till[f"{d}_{c}"] for d in SCORES for c in ("current", "target", "gap")] == [
        "1", "4", "3", "2", "4", "2", "3", "4", "1", "5", "4", "-1",
    ]  # fmt: skip
    assert till["assessment_id"] == str(assessment_a.pk)
    assert (till["assessed_on"], till["assessment_location"], till["assessment_state"]) == (
        TODAY.isoformat(),
        "Alpha Street",
        "current",
    )
    stale = by_name['\'=HYPERLINK("http://evil.example","x")']
    assert (stale["assessment_location"], stale["assessment_state"]) == (
        "All locations",
        "over 12 months old",
    )
    assert (stale["people_gap"], stale["policies_current"], stale["policies_gap"]) == ("1", "", "")
    never = by_name["Returns desk"]
    assert (never["assessment_id"], never["assessed_on"], never["assessment_state"]) == (
        "",
        "",
        "never assessed",
    )
    assert str(assessment_b.pk) not in {row["assessment_id"] for row in rows}


def test_the_heatmap_csv_follows_the_filters(client, admin, touchpoint, location_a, location_b):
    factories.TouchpointFactory(name="Front door greeting", journey_stage=JourneyStage.DISCOVER)
    in_a = assessed(touchpoint, location_a, assessed_on=TODAY - timedelta(days=3))
    in_b = assessed(touchpoint, location_b)
    client.force_login(admin)
    url = reverse("gap_analysis:heatmap")

    everywhere = csv_rows(client.get(url, {"format": "csv"}))
    assert {row["touchpoint"] for row in everywhere} == {"Checkout till", "Front door greeting"}
    by_stage = csv_rows(client.get(url, {"format": "csv", "journey_stage": JourneyStage.PAY}))
    assert [(row["touchpoint"], row["assessment_id"]) for row in by_stage] == [
        ("Checkout till", str(in_b.pk))
    ]
    at_a = csv_rows(client.get(url, {"format": "csv", "location": location_a.pk}))
    assert {row["assessment_id"] for row in at_a} == {str(in_a.pk), ""}


def test_a_manager_downloads_the_actions_of_their_scope(
    client, manager, admin, assessment_a, action_a, action_b, feedback_a
):
    from_comment = factories.ActionItemFactory(
        rating=None,
        feedback=feedback_a,
        location=feedback_a.location,
        owner=manager,
        title="=cmd|' /C calc'!A0",
        status=ActionStatus.DONE,
        closure_note="Second till opened at lunchtime.",
        closed_on=TODAY - timedelta(days=1),
        customer_summary="=You said the queue was long; we opened a second till.",
        published=True,
        published_on=TODAY,
        due_on=TODAY - timedelta(days=2),
    )
    late = factories.ActionItemFactory(
        rating=assessment_a.ratings.get(dimension="processes"),
        owner=admin,
        title="Late one",
        due_on=TODAY - timedelta(days=5),
    )
    client.force_login(manager)

    rows = csv_rows(client.get(reverse("gap_analysis:action-list"), {"format": "csv"}))

    assert [row["id"] for row in rows] == [str(late.pk), str(action_a.pk), str(from_comment.pk)]
    by_id = {row["id"]: row for row in rows}
    gap = by_id[str(action_a.pk)]
    assert (gap["title"], gap["touchpoint"], gap["location"], gap["source"], gap["dimension"]) == (
        "Rewrite the refund policy",
        "Checkout till",
        "Alpha Street",
        "gap",
        "Policies",
    )
    assert (gap["owner"], gap["due_on"], gap["status"], gap["overdue"], gap["published"]) == (
        manager.get_full_name() or manager.get_username(),
        action_a.due_on.isoformat(),
        "Open",
        "no",
        "no",
    )
    assert (by_id[str(late.pk)]["overdue"], by_id[str(late.pk)]["dimension"]) == ("yes", "Processes")
    comment = by_id[str(from_comment.pk)]
    assert comment["title"] == "'=cmd|' /C calc'!A0"
    assert comment["customer_summary"] == "'=You said the queue was long; we opened a second till."
    assert (comment["source"], comment["dimension"], comment["touchpoint"]) == (
        "customer feedback",
        "",
        "Checkout till",
    )
    assert (comment["status"], comment["overdue"], comment["published"], comment["published_on"]) == (
        "Done",
        "no",
        "yes",
        TODAY.isoformat(),
    )
    assert (comment["closed_on"], comment["closure_note"]) == (
        (TODAY - timedelta(days=1)).isoformat(),
        "Second till opened at lunchtime.",
    )
    assert "Beta-only action" not in {row["title"] for row in rows}


def test_the_actions_csv_follows_the_filters_across_every_page(client, manager, admin, assessment_a):
    rating = assessment_a.ratings.get(dimension="policies")
    factories.ActionItemFactory.create_batch(30, rating=rating, owner=manager)
    factories.ActionItemFactory(
        rating=rating, owner=admin, title="Admin's, late", due_on=TODAY - timedelta(days=1)
    )
    factories.ActionItemFactory(
        rating=rating,
        owner=admin,
        title="Finished",
        status=ActionStatus.DONE,
        closure_note="Done",
        closed_on=TODAY,
    )
    client.force_login(manager)
    url = reverse("gap_analysis:action-list")

    def titles(**params):
        return [row["title"] for row in csv_rows(client.get(url, {"format": "csv", **params}))]

    assert len(titles()) == 32  # the whole list, not its first page of 25
    assert titles(overdue="on") == ["Admin's, late"]
    assert titles(status="done") == ["Finished"]
    assert len(titles(owner="me")) == 30 and "Admin's, late" not in titles(owner="me")


def test_the_download_button_appears_only_with_rows_and_keeps_the_filters(client, manager, touchpoint):
    client.force_login(manager)
    heatmap = client.get(reverse("gap_analysis:heatmap"), {"journey_stage": JourneyStage.PAY, "page": "1"})
    assert (
        f'href="?journey_stage={JourneyStage.PAY}&amp;format=csv">Download CSV</a>'
        in heatmap.content.decode()
    )
    empty_heatmap = client.get(reverse("gap_analysis:heatmap"), {"journey_stage": JourneyStage.DISCOVER})
    assert "Download CSV" not in empty_heatmap.content.decode()
    assert "Download CSV" not in client.get(reverse("gap_analysis:action-list")).content.decode()


def test_the_action_list_offers_the_download_when_it_has_rows(client, manager, action_a):
    client.force_login(manager)
    body = client.get(reverse("gap_analysis:action-list"), {"status": "open"}).content.decode()
    assert 'href="?status=open&amp;format=csv">Download CSV</a>' in body


@pytest.mark.parametrize("size", [3, 30])
def test_heatmap_csv_query_count_does_not_grow(
    client, manager, location_a, size, django_assert_max_num_queries
):
    for touchpoint in factories.TouchpointFactory.create_batch(size):
        assessed(touchpoint, location_a, assessed_on=TODAY - timedelta(days=30))
        assessed(touchpoint, location_a)
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        rows = csv_rows(client.get(reverse("gap_analysis:heatmap"), {"format": "csv"}))
    assert len(rows) == size and all(row["policies_gap"] == "3" for row in rows)


@pytest.mark.parametrize("size", [3, 30])
def test_actions_csv_query_count_does_not_grow(
    client, manager, assessment_a, feedback_a, size, django_assert_max_num_queries
):
    actions_from_gaps_and_comments(size, manager, assessment_a, feedback_a)
    client.force_login(manager)
    with django_assert_max_num_queries(6):
        rows = csv_rows(client.get(reverse("gap_analysis:action-list"), {"format": "csv"}))
    assert len(rows) == size and {row["touchpoint"] for row in rows} == {"Checkout till"}


def test_a_manager_of_one_location_finds_it_chosen_on_a_new_assessment(client, manager, location_a, admin):
    client.force_login(manager)
    form = client.get(reverse("gap_analysis:assess")).context["form"]
    assert form["location"].value() == location_a.pk
    assert form.fields["touchpoint"].empty_label == "Choose a touchpoint"

    client.force_login(admin)
    form = client.get(reverse("gap_analysis:assess")).context["form"]
    assert form["location"].value() is None
