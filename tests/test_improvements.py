"""The public "you said, we did" page: published improvements by quarter, for anyone, nothing private."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from gap_analysis.models import ActionStatus
from gap_analysis.selectors import improvements_page, parse_quarter_key, quarter_key
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/improvements/"


def improvement(summary, published_on, *, location=None, touchpoint=None, **extra):
    """A done, published action at `location` (None: organisation-wide) about `touchpoint`."""
    rating = factories.RatingFactory(
        assessment=factories.AssessmentFactory(
            location=location, touchpoint=touchpoint or factories.TouchpointFactory()
        )
    )
    defaults = {
        "status": ActionStatus.DONE,
        "closure_note": "Internal: trained the evening shift.",
        "closed_on": published_on,
        "customer_summary": summary,
        "published": True,
        "published_on": published_on,
    }
    return factories.ActionItemFactory(rating=rating, location=location, **(defaults | extra))


def test_the_page_is_public_and_named_by_its_route():
    assert reverse("improvements") == URL


def test_anyone_sees_published_improvements_without_logging_in(client, location_a):
    touchpoint = factories.TouchpointFactory(name="Returns desk")
    improvement(
        "You said returns took too long; we now refund on the spot.",
        date(2025, 5, 2),
        location=location_a,
        touchpoint=touchpoint,
    )
    response = client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "You said returns took too long; we now refund on the spot." in body
    assert "Alpha Street" in body and "Returns desk" in body and "2 May 2025" in body


def test_an_organisation_wide_improvement_says_all_locations(client):
    improvement("Clearer receipts everywhere.", date(2025, 5, 2))
    assert "All locations" in client.get(URL).content.decode()


def test_only_published_improvements_are_shown(client, location_a):
    improvement("Published one.", date(2025, 5, 2), location=location_a)
    unpublished = improvement("Taken down.", date(2025, 5, 3), location=location_a)
    unpublished.published, unpublished.published_on = False, None
    unpublished.save()
    factories.ActionItemFactory(title="Still open", customer_summary="Not done yet.", location=location_a)
    body = client.get(URL).content.decode()
    assert "Published one." in body
    assert "Taken down." not in body and "Not done yet." not in body


def test_nothing_private_reaches_the_public_page(client, location_a, manager):
    feedback = factories.FeedbackFactory(
        location=location_a,
        comment="My name is Jo Bloggs and the till was rude",
        contact_name="Jo Bloggs",
        contact_email="jo@example.org",
        contact_consent=True,
    )
    manager.first_name, manager.last_name = "Morgan", "Privately"
    manager.save()
    factories.ActionItemFactory(
        rating=None,
        feedback=feedback,
        location=location_a,
        owner=manager,
        title="Internal title: coach Sam",
        description="Internal description",
        status=ActionStatus.DONE,
        closure_note="Internal closure note",
        closed_on=date(2025, 5, 1),
        customer_summary="You said our till staff were short with you; we retrained the team.",
        published=True,
        published_on=date(2025, 5, 2),
    )
    body = client.get(URL).content.decode()
    assert "we retrained the team" in body
    for private in [
        "Jo Bloggs",
        "jo@example.org",
        "the till was rude",
        "Morgan",
        "Privately",
        "coach Sam",
        "Internal description",
        "Internal closure note",
        reverse("gap_analysis:action-list"),
    ]:
        assert private not in body, private


def test_the_three_most_recent_are_highlighted_and_the_rest_grouped_by_quarter(client):
    for day, summary in [
        (date(2025, 8, 20), "August fix"),
        (date(2025, 7, 10), "July fix"),
        (date(2025, 5, 2), "May fix"),
        (date(2025, 4, 1), "April fix"),
        (date(2025, 2, 14), "February fix"),
    ]:
        improvement(summary, day)
    page = improvements_page()
    assert [item.summary for item in page.highlights] == ["August fix", "July fix", "May fix"]
    assert [(quarter.label, [item.summary for item in quarter.items]) for quarter in page.quarters] == [
        ("April to June 2025", ["April fix"]),
        ("January to March 2025", ["February fix"]),
    ]
    body = client.get(URL).content.decode()
    assert body.index("Latest improvements") < body.index("August fix") < body.index("April to June 2025")
    assert body.index("April to June 2025") < body.index("April fix") < body.index("January to March 2025")
    assert body.count("August fix") == 1  # a highlight is not repeated in its quarter


def test_empty_state_when_nothing_is_published(client):
    body = client.get(URL).content.decode()
    assert "Nothing published yet" in body


def test_older_quarters_continue_on_the_next_page(client):
    start = date(2023, 1, 15)
    for quarter in range(10):  # ten quarters, 2023-Q1 to 2025-Q2
        improvement(f"Improvement {quarter}", date(start.year + (quarter // 4), 3 * (quarter % 4) + 1, 15))
    first = client.get(URL)
    page = first.context["page"]
    assert len(page.highlights) == 3
    shown = [quarter.key for quarter in page.quarters]
    # The 8 newest quarters are 2025-Q2 to 2023-Q3; the 3 newest improvements are the highlights.
    assert shown == ["2024-Q3", "2024-Q2", "2024-Q1", "2023-Q4", "2023-Q3"]
    assert page.older == "2023-Q3"
    assert "?before=2023-Q3" in first.content.decode()

    older = client.get(URL, {"before": "2023-Q3"})
    older_page = older.context["page"]
    assert older_page.highlights == [] and older_page.older is None
    assert [quarter.key for quarter in older_page.quarters] == ["2023-Q2", "2023-Q1"]
    assert "Latest improvements" in older.content.decode()


def test_a_nonsense_before_shows_the_latest_page(client):
    improvement("Latest fix", date(2025, 5, 2))
    assert "Latest fix" in client.get(URL, {"before": "not-a-quarter"}).content.decode()


def test_quarter_keys_round_trip():
    assert quarter_key(date(2025, 7, 1)) == "2025-Q3"
    assert parse_quarter_key("2025-Q3") == date(2025, 7, 1)
    assert parse_quarter_key("2025-Q5") is None and parse_quarter_key("") is None


@pytest.mark.parametrize("size", [5, 40])
def test_query_count_does_not_grow(client, location_a, size, django_assert_max_num_queries):
    today = date.today()
    for number in range(size):
        improvement(f"Improvement {number}", today - timedelta(days=20 * number), location=location_a)
    with django_assert_max_num_queries(3):
        response = client.get(URL)
    page = response.context["page"]
    assert len(page.highlights) + sum(len(quarter.items) for quarter in page.quarters) > 0
