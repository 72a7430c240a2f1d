"""Invariants of touchpoints: validation names the field, the database agrees."""

import pytest

from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid
from touchpoints.models import Channel, CustomerKind, JourneyStage, Touchpoint

pytestmark = pytest.mark.django_db


def test_touchpoint_built_by_the_factory_is_valid():
    factories.TouchpointFactory.build().full_clean()


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("channel", "touchpoint_channel_valid"),
        ("journey_stage", "touchpoint_stage_valid"),
        ("customer_kind", "touchpoint_customer_kind_valid"),
    ],
)
def test_touchpoint_choice_fields_accept_only_their_choices(field, constraint):
    touchpoint = factories.TouchpointFactory.build(**{field: "pigeon"})

    assert_invalid(touchpoint, field, "Value 'pigeon' is not a valid choice.")
    assert_db_rejects(touchpoint, constraint)


@pytest.mark.parametrize("channel", Channel.values)
def test_every_channel_is_accepted(channel):
    factories.TouchpointFactory.build(channel=channel).full_clean()


@pytest.mark.parametrize("stage", JourneyStage.values)
def test_every_journey_stage_is_accepted(stage):
    factories.TouchpointFactory.build(journey_stage=stage).full_clean()


def test_customers_are_external_or_internal_and_external_by_default():
    assert CustomerKind.values == ["external", "internal"]
    assert Touchpoint().customer_kind == CustomerKind.EXTERNAL


def test_touchpoint_slug_is_unique():
    factories.TouchpointFactory(slug="checkout-till")
    duplicate = factories.TouchpointFactory.build(slug="checkout-till")

    assert_invalid(duplicate, "slug", "Touchpoint with this Slug already exists.")
    assert_db_rejects(duplicate, "slug")


def test_touchpoint_slug_must_be_a_slug():
    assert_invalid(factories.TouchpointFactory.build(slug="checkout till!"), "slug", "valid “slug”")


def test_touchpoint_reads_as_its_name():
    assert str(factories.TouchpointFactory(name="Checkout till")) == "Checkout till"
