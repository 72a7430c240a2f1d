"""Invariants of gap analyses: assessments, ratings of the four Ps, and the actions that close gaps."""

from datetime import date, timedelta

import pytest

from gap_analysis.models import ActionItem, ActionStatus, CustomerExpectation, Dimension, Rating
from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid

pytestmark = pytest.mark.django_db


# --- Assessment and expectations ------------------------------------------------------


def test_customer_expectations_are_seeded():
    assert {
        "Respect",
        "Fairness",
        "Timely response",
        "Quality",
        "Knowledgeable staff",
        "On-time delivery",
        "Accurate billing",
        "Courtesy",
        "Timely correction of errors",
    } <= set(CustomerExpectation.objects.values_list("name", flat=True))


def test_assessment_status_is_draft_or_completed():
    assessment = factories.AssessmentFactory.build(
        touchpoint=factories.TouchpointFactory(), location=None, status="abandoned"
    )

    assert_invalid(assessment, "status", "is not a valid choice")
    assert_db_rejects(assessment, "assessment_status_valid")


def test_assessment_across_the_organisation_has_no_location():
    factories.AssessmentFactory.build(touchpoint=factories.TouchpointFactory(), location=None).full_clean()


# --- Rating ---------------------------------------------------------------------------


@pytest.fixture
def assessment(location_a):
    return factories.AssessmentFactory(location=location_a)


def test_rating_built_by_the_factory_is_valid(assessment):
    factories.RatingFactory.build(assessment=assessment).full_clean()


@pytest.mark.parametrize("field", ["current", "target"])
@pytest.mark.parametrize(
    ("value", "phrase"), [(0, "greater than or equal to 1"), (6, "less than or equal to 5")]
)
def test_rating_lies_on_the_1_to_5_scale(field, value, phrase, assessment):
    rating = factories.RatingFactory.build(assessment=assessment, **{field: value})

    assert_invalid(rating, field, phrase)
    assert_db_rejects(rating, f"rating_{field}_1_5")


def test_each_p_is_rated_once_per_assessment(assessment):
    factories.RatingFactory(assessment=assessment, dimension=Dimension.PEOPLE)
    again = factories.RatingFactory.build(assessment=assessment, dimension=Dimension.PEOPLE)

    assert_invalid(again, "__all__", "Rating of a P with this Assessment and Dimension already exists.")
    assert_db_rejects(again, "rating_once_per_dimension", "gap_analysis_rating.assessment_id")


def test_all_four_ps_can_be_rated_in_one_assessment(assessment):
    for dimension in Dimension.values:
        factories.RatingFactory(assessment=assessment, dimension=dimension)

    assert assessment.ratings.count() == 4


def test_dimensions_are_the_four_ps(assessment):
    rating = factories.RatingFactory.build(assessment=assessment, dimension="profits")

    assert Dimension.values == ["policies", "processes", "people", "practices"]
    assert_invalid(rating, "dimension", "is not a valid choice")
    assert_db_rejects(rating, "rating_dimension_valid")


@pytest.mark.parametrize(("current", "target", "gap"), [(2, 4, 2), (3, 3, 0), (5, 2, -3), (1, 5, 4)])
def test_rating_gap_is_target_minus_current(current, target, gap):
    assert Rating(current=current, target=target).gap == gap


def test_rating_gap_is_unknown_until_both_are_rated():
    assert Rating(current=3).gap is None
    assert Rating(target=3).gap is None


# --- ActionItem -----------------------------------------------------------------------


@pytest.fixture
def rating(assessment):
    return factories.RatingFactory(assessment=assessment)


def action(rating, **overrides) -> ActionItem:
    values = {
        "title": "Open a second till at lunchtime",
        "rating": rating,
        "location": rating.assessment.location,
        "owner": factories.UserFactory(),
        "due_on": date.today() + timedelta(days=30),
    }
    return ActionItem(**{**values, **overrides})


def done(rating, **overrides) -> ActionItem:
    values = {
        "status": ActionStatus.DONE,
        "closure_note": "Second till staffed 12:00–14:00 from 3 March.",
        "closed_on": date.today(),
    }
    return action(rating, **{**values, **overrides})


def published(rating, **overrides) -> ActionItem:
    values = {
        "customer_summary": "You said the lunchtime queue was too long; we opened a second till.",
        "published": True,
        "published_on": date.today(),
    }
    return done(rating, **{**values, **overrides})


def test_action_answering_a_rating_is_valid(rating):
    action(rating).full_clean()


def test_action_answering_customer_feedback_is_valid(location_a):
    comment = factories.FeedbackFactory(location=location_a, comment="The queue was far too long.")

    action_item = ActionItem(
        title="Open a second till", feedback=comment, owner=factories.UserFactory(), due_on=date.today()
    )

    action_item.full_clean()
    action_item.save()


def test_action_needs_a_source(location_a):
    orphan = ActionItem(
        title="Do something", owner=factories.UserFactory(), due_on=date.today(), location=location_a
    )

    assert_invalid(
        orphan, "__all__", "An action answers a gap rating, a customer's feedback or a complaint: choose one."
    )
    assert_db_rejects(orphan, "action_has_source")


def test_an_action_may_answer_a_customer_complaint_named_by_its_reference(location_a):
    from_complaint = ActionItem(
        title="Replace the card reader",
        owner=factories.UserFactory(),
        due_on=date.today(),
        location=location_a,
        complaint="C-000042",
    )
    from_complaint.full_clean()
    from_complaint.save()
    assert ActionItem.objects.get(complaint="C-000042") == from_complaint


@pytest.mark.parametrize("note", ["", "  "])
def test_done_action_needs_a_closure_note(note, rating):
    assert_invalid(done(rating, closure_note=note), "closure_note", "Say what was done")


def test_database_refuses_a_done_action_without_closure_note(rating):
    assert_db_rejects(done(rating, closure_note=""), "action_done_has_closure")


def test_done_action_needs_a_closing_date(rating):
    undated = done(rating, closed_on=None)

    assert_invalid(undated, "closed_on", "Give the date the action was done.")
    assert_db_rejects(undated, "action_done_has_closure")


def test_done_action_with_note_and_date_is_valid(rating):
    done(rating).full_clean()


def test_published_action_is_valid(rating):
    item = published(rating)

    item.full_clean()
    item.save()


@pytest.mark.parametrize("status", [ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.CANCELLED])
def test_only_a_done_action_can_be_published(status, rating):
    premature = published(rating, status=status)

    assert_invalid(premature, "published", "Only a done action can be published.")
    assert_db_rejects(premature, "action_published_when_done_with_summary")


def test_published_action_needs_a_customer_summary(rating):
    silent = published(rating, customer_summary="")

    assert_invalid(silent, "customer_summary", "Write the customer-facing summary before publishing.")
    assert_db_rejects(silent, "action_published_when_done_with_summary")


def test_published_action_needs_a_publication_date(rating):
    undated = published(rating, published_on=None)

    assert_invalid(undated, "published_on", "Give the publication date.")
    assert_db_rejects(undated, "action_published_when_done_with_summary")


def test_action_status_is_one_of_the_choices(rating):
    item = action(rating, status="forgotten")

    assert_invalid(item, "status", "is not a valid choice")
    assert_db_rejects(item, "action_status_valid")


# --- __str__ --------------------------------------------------------------------------


def test_gap_analysis_models_read_well_as_text(location_a):
    touchpoint = factories.TouchpointFactory(name="Checkout till")
    local = factories.AssessmentFactory(
        touchpoint=touchpoint, location=location_a, assessed_on=date(2025, 2, 3)
    )
    everywhere = factories.AssessmentFactory(
        touchpoint=touchpoint, location=None, assessed_on=date(2025, 2, 3)
    )
    rating = factories.RatingFactory(assessment=local, dimension=Dimension.PEOPLE, current=2, target=4)

    assert str(CustomerExpectation.objects.get(name="Courtesy")) == "Courtesy"
    assert str(local) == "Checkout till (AAA-01), 3 Feb 2025"
    assert str(everywhere) == "Checkout till (all locations), 3 Feb 2025"
    assert str(rating) == "Checkout till (AAA-01), 3 Feb 2025 · People: 2 → 4 (gap 2)"
    assert str(factories.ActionItemFactory(rating=rating, title="Open a second till")) == "Open a second till"
