"""standards.services: versions move only on material change, and acknowledgements hold the
version an employee actually accepted."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from standards.models import Acknowledgement, Standard, Status
from standards.services import standard_acknowledge, standard_save
from tests import factories


def _new_standard(**fields) -> Standard:
    values = {
        "code": "GREET",
        "title": "Greet every customer",
        "behaviour": "Greet every customer within 10 seconds.",
        "status": Status.ACTIVE,
        "effective_from": date(2025, 1, 1),
    } | fields
    return Standard(**values)


# --- standard_save ------------------------------------------------------------------------


def test_a_new_standard_starts_at_version_1_even_when_called_material(db):
    standard = standard_save(standard=_new_standard(), material_change=True)
    assert Standard.objects.get(pk=standard.pk).version == 1


def test_a_material_change_makes_the_next_version(db):
    standard = standard_save(standard=_new_standard(), material_change=False)
    standard.behaviour = "Greet every customer within 5 seconds."

    standard_save(standard=standard, material_change=True)

    assert Standard.objects.get(pk=standard.pk).version == 2


def test_an_edit_that_is_not_material_keeps_the_version(db):
    standard = standard_save(standard=_new_standard(), material_change=False)
    standard.title = "Greet each customer"

    standard_save(standard=standard, material_change=False)

    saved = Standard.objects.get(pk=standard.pk)
    assert (saved.title, saved.version) == ("Greet each customer", 1)


def test_a_stale_copy_cannot_lower_the_version(db):
    standard = standard_save(standard=_new_standard(), material_change=False)
    stale = Standard.objects.get(pk=standard.pk)
    standard_save(standard=standard, material_change=True)
    standard_save(standard=standard, material_change=True)

    stale.title = "Edited from an old tab"
    standard_save(standard=stale, material_change=False)

    assert Standard.objects.get(pk=standard.pk).version == 3


def test_every_save_is_in_the_history_with_its_author_and_reason(db, admin):
    standard = standard_save(standard=_new_standard(), material_change=False, user=admin)
    standard.behaviour = "Greet every customer within 5 seconds."
    standard_save(standard=standard, material_change=True, user=admin)

    records = list(standard.history.order_by("history_date"))
    assert [(r.history_type, r.version, r.history_user) for r in records] == [
        ("+", 1, admin),
        ("~", 2, admin),
    ]
    assert records[0].behaviour == "Greet every customer within 10 seconds."
    assert records[1].history_change_reason == "Material change: version 2"


def test_an_invalid_standard_is_refused_and_nothing_is_saved(db):
    standard = _new_standard(non_negotiable=True, target_rate=Decimal("95"))

    with pytest.raises(ValidationError) as excinfo:
        standard_save(standard=standard, material_change=False)

    assert excinfo.value.message_dict["target_rate"] == [
        "A non-negotiable standard admits no exceptions: its target must be 100%."
    ]
    assert not Standard.objects.exists()


def test_an_invalid_material_change_does_not_bump_the_saved_version(db):
    standard = standard_save(standard=_new_standard(), material_change=False)
    standard.measure_kind = "numeric"  # without a threshold: invalid

    with pytest.raises(ValidationError):
        standard_save(standard=standard, material_change=True)

    assert standard.version == Standard.objects.get(pk=standard.pk).version == 1
    assert standard.history.count() == 1


# --- standard_acknowledge -----------------------------------------------------------------


def test_acknowledging_records_the_version_and_wording_in_force(db):
    standard = factories.StandardFactory(behaviour="Greet within 10 seconds.", how="Eye contact and a smile.")
    employee = factories.EmployeeFactory()
    at = timezone.now()

    acknowledgement = standard_acknowledge(standard=standard, employee=employee, at=at)

    assert (acknowledgement.version, acknowledgement.acknowledged_at) == (1, at)
    assert acknowledgement.behaviour_accepted == "Greet within 10 seconds.\n\nEye contact and a smile."


def test_acknowledging_twice_is_the_same_acknowledgement(db):
    standard = factories.StandardFactory()
    employee = factories.EmployeeFactory()

    first = standard_acknowledge(standard=standard, employee=employee)
    second = standard_acknowledge(standard=standard, employee=employee)

    assert first.pk == second.pk
    assert Acknowledgement.objects.count() == 1


def test_after_a_material_change_the_employee_acknowledges_again(db):
    standard = factories.StandardFactory(behaviour="Greet within 10 seconds.")
    employee = factories.EmployeeFactory()
    old = standard_acknowledge(standard=standard, employee=employee)
    standard.behaviour = "Greet within 5 seconds."
    standard_save(standard=standard, material_change=True)

    new = standard_acknowledge(standard=standard, employee=employee)

    assert new.pk != old.pk
    assert [(a.version, a.behaviour_accepted) for a in Acknowledgement.objects.order_by("version")] == [
        (1, "Greet within 10 seconds."),
        (2, "Greet within 5 seconds."),
    ]


def test_a_stale_copy_acknowledges_the_version_now_in_force(db):
    standard = factories.StandardFactory(behaviour="Greet within 10 seconds.")
    stale = Standard.objects.get(pk=standard.pk)
    standard.behaviour = "Greet within 5 seconds."
    standard_save(standard=standard, material_change=True)

    acknowledgement = standard_acknowledge(standard=stale, employee=factories.EmployeeFactory())

    assert (acknowledgement.version, acknowledgement.behaviour_accepted) == (2, "Greet within 5 seconds.")


@pytest.mark.parametrize("status", [Status.DRAFT, Status.RETIRED])
def test_draft_and_retired_standards_cannot_be_acknowledged(db, status):
    standard = factories.StandardFactory(code="OLD-1", status=status)

    with pytest.raises(ValidationError) as excinfo:
        standard_acknowledge(standard=standard, employee=factories.EmployeeFactory())

    assert excinfo.value.message_dict["standard"] == [
        f"OLD-1 is {status.label.lower()}: only an active standard can be acknowledged."
    ]
    assert not Acknowledgement.objects.exists()
