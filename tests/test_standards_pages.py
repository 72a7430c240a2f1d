from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from standards.models import Acknowledgement, Standard, Status
from standards.services import standard_acknowledge
from tests import factories


@pytest.fixture
def standard(db):
    return factories.StandardFactory(code="GREET", title="Greet every customer", how="Smile and say hello.")


def test_anonymous_visitors_are_sent_to_login(client, standard):
    for url in (reverse("standards:mine"), reverse("standards:detail", args=["GREET"])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_staff_sees_what_to_acknowledge_and_acknowledges_it(client, staff, standard):
    client.force_login(staff)
    assert "1 standard to acknowledge" in client.get(reverse("standards:mine")).content.decode()

    detail = client.get(reverse("standards:detail", args=["GREET"])).content.decode()
    assert "Smile and say hello." in detail and "I understand and will uphold this standard" in detail

    response = client.post(reverse("standards:acknowledge", args=["GREET"]), follow=True)
    assert "you have acknowledged GREET version 1" in response.content.decode()
    acknowledgement = Acknowledgement.objects.get(employee=staff.employee)
    assert acknowledgement.version == 1 and "Smile and say hello." in acknowledgement.behaviour_accepted


def test_acknowledging_twice_keeps_one_record(client, staff, standard):
    client.force_login(staff)
    client.post(reverse("standards:acknowledge", args=["GREET"]))
    client.post(reverse("standards:acknowledge", args=["GREET"]))
    assert Acknowledgement.objects.count() == 1


def test_a_standard_for_another_team_answers_404(client, staff):
    other = factories.StandardFactory(code="OTHER")
    other.teams.add(factories.TeamFactory())
    client.force_login(staff)
    assert client.get(reverse("standards:detail", args=["OTHER"])).status_code == 404
    assert client.post(reverse("standards:acknowledge", args=["OTHER"])).status_code == 404


def test_a_draft_standard_is_not_shown(client, staff):
    factories.StandardFactory(code="DRAFTY", status=Status.DRAFT)
    client.force_login(staff)
    assert client.get(reverse("standards:detail", args=["DRAFTY"])).status_code == 404


def test_acknowledging_needs_post(client, staff, standard):
    client.force_login(staff)
    assert client.get(reverse("standards:acknowledge", args=["GREET"])).status_code == 405


def test_my_standards_query_count_is_fixed(client, staff, django_assert_max_num_queries):
    factories.StandardFactory.create_batch(30)
    client.force_login(staff)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("standards:mine")).status_code == 200


def test_the_standard_reads_its_target_and_dates_the_way_every_page_does(client, staff):
    factories.StandardFactory(
        code="QUICK", title="Answer quickly", target_rate=Decimal("92.50"), effective_from=date(2026, 8, 4)
    )
    client.force_login(staff)

    assert "target 93%" in client.get(reverse("standards:mine")).content.decode()
    detail = client.get(reverse("standards:detail", args=["QUICK"])).content.decode()
    assert "target 93% of observations" in detail and "4 Aug 2026" in detail
    standard_acknowledge(standard=Standard.objects.get(code="QUICK"), employee=staff.employee)
    detail = client.get(reverse("standards:detail", args=["QUICK"])).content.decode()
    today = date.today()
    assert f"on {today.day} {today:%b %Y}." in detail
