"""Invariants of touchpoints: validation names the field, the database agrees."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories
from touchpoints.models import Channel, CustomerKind, JourneyStage, Touchpoint

pytestmark = pytest.mark.django_db


def assert_invalid(obj, field: str, phrase: str) -> None:
    """full_clean() rejects `obj`, with a message on `field` that contains `phrase`."""
    with pytest.raises(ValidationError) as excinfo:
        obj.full_clean()
    errors = excinfo.value.message_dict
    assert field in errors, errors
    assert any(phrase in message for message in errors[field]), errors[field]


def assert_db_rejects(obj, *evidence: str) -> None:
    """Saving `obj` without validation fails in the database, naming the constraint (or its columns)."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        obj.save()
    assert any(text in str(excinfo.value) for text in evidence), str(excinfo.value)


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
