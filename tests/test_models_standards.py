"""Invariants of standards and acknowledgements: validation names the field, the database agrees."""

from decimal import Decimal

import pytest

from standards.models import Comparator, MeasureKind, Standard, Status
from tests import factories
from tests.assertions import assert_db_rejects, assert_invalid

pytestmark = pytest.mark.django_db


def numeric(**overrides) -> Standard:
    """An unsaved numeric standard: answer the phone within 3 rings."""
    values = {
        "measure_kind": MeasureKind.NUMERIC,
        "comparator": Comparator.LTE,
        "threshold": Decimal("3"),
        "unit": "rings",
    }
    return factories.StandardFactory.build(**{**values, **overrides})


def rating(**overrides) -> Standard:
    """An unsaved rating standard: friendliness rated at least 4 of 5."""
    values = {"measure_kind": MeasureKind.RATING, "comparator": Comparator.GTE, "threshold": Decimal("4")}
    return factories.StandardFactory.build(**{**values, **overrides})


# --- valid shapes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [factories.StandardFactory.build, numeric, rating],
    ids=["pass-fail", "numeric", "rating"],
)
def test_complete_standards_of_each_measure_kind_are_valid(build):
    standard = build()

    standard.full_clean()
    standard.save()


# --- non-negotiable, target, weight ---------------------------------------------------


def test_non_negotiable_standard_must_target_100():
    standard = factories.StandardFactory.build(non_negotiable=True, target_rate=Decimal("99.5"))

    assert_invalid(standard, "target_rate", "its target must be 100%")
    assert_db_rejects(standard, "standard_non_negotiable_targets_100")


def test_non_negotiable_standard_targeting_100_is_valid():
    factories.StandardFactory.build(non_negotiable=True, target_rate=Decimal("100")).full_clean()


@pytest.mark.parametrize(
    ("target", "phrase"),
    [
        (Decimal("-0.01"), "greater than or equal to 0"),
        (Decimal("100.01"), "less than or equal to 100"),
        (Decimal("250"), "less than or equal to 100"),
    ],
)
def test_standard_target_rate_lies_between_0_and_100(target, phrase):
    standard = factories.StandardFactory.build(target_rate=target)

    assert_invalid(standard, "target_rate", phrase)
    assert_db_rejects(standard, "standard_target_rate_0_100")


@pytest.mark.parametrize("target", [Decimal("0"), Decimal("100")])
def test_standard_target_rate_bounds_are_allowed(target):
    factories.StandardFactory.build(target_rate=target).full_clean()


@pytest.mark.parametrize("weight", [Decimal("0"), Decimal("-1")])
def test_standard_weight_must_be_positive(weight):
    standard = factories.StandardFactory.build(weight=weight)

    assert_invalid(standard, "weight", "greater than or equal to 0.01")
    assert_db_rejects(standard, "standard_weight_positive")


# --- measure: pass/fail, rating, numeric ----------------------------------------------


def test_pass_fail_standard_has_no_threshold():
    standard = factories.StandardFactory.build(measure_kind=MeasureKind.PASS_FAIL, threshold=Decimal("3"))

    assert_invalid(standard, "threshold", "A pass/fail standard has no threshold")
    assert_db_rejects(standard, "standard_measure_complete")


def test_pass_fail_standard_has_no_comparator():
    standard = factories.StandardFactory.build(measure_kind=MeasureKind.PASS_FAIL, comparator=Comparator.GTE)

    assert_invalid(standard, "comparator", "A pass/fail standard has no comparator")
    assert_db_rejects(standard, "standard_measure_complete")


@pytest.mark.parametrize("build", [numeric, rating], ids=["numeric", "rating"])
def test_rating_and_numeric_standards_need_a_threshold(build):
    standard = build(threshold=None)

    assert_invalid(standard, "threshold", "measure needs a threshold")
    assert_db_rejects(standard, "standard_measure_complete")


@pytest.mark.parametrize("build", [numeric, rating], ids=["numeric", "rating"])
def test_rating_and_numeric_standards_need_a_comparator(build):
    standard = build(comparator="")

    assert_invalid(standard, "comparator", "at least or at most the threshold")
    assert_db_rejects(standard, "standard_measure_complete")


def test_comparator_is_at_least_or_at_most():
    assert_invalid(numeric(comparator="eq"), "comparator", "is not a valid choice")


@pytest.mark.parametrize("threshold", [Decimal("0"), Decimal("0.5"), Decimal("5.5"), Decimal("6")])
def test_rating_threshold_lies_on_the_1_to_5_scale(threshold):
    standard = rating(threshold=threshold)

    assert_invalid(standard, "threshold", "on the 1–5 scale")
    assert_db_rejects(standard, "standard_rating_threshold_on_scale")


@pytest.mark.parametrize("threshold", [Decimal("1"), Decimal("5")])
def test_rating_threshold_scale_ends_are_allowed(threshold):
    rating(threshold=threshold).full_clean()


def test_numeric_threshold_is_not_limited_to_the_rating_scale():
    numeric(threshold=Decimal("120"), comparator=Comparator.LTE, unit="seconds").full_clean()


def test_standard_version_starts_at_1():
    standard = factories.StandardFactory.build(version=0)

    assert_invalid(standard, "version", "Versions start at 1")
    assert_db_rejects(standard, "standard_version_positive")


def test_standard_status_is_draft_active_or_retired():
    standard = factories.StandardFactory.build(status="excused")

    assert Status.values == ["draft", "active", "retired"]
    assert_invalid(standard, "status", "is not a valid choice")
    assert_db_rejects(standard, "standard_status_valid")


def test_standard_code_follows_the_code_format_and_is_unique():
    factories.StandardFactory(code="GREET-01")

    assert_invalid(factories.StandardFactory.build(code="greet 1"), "code", "capital letters")
    duplicate = factories.StandardFactory.build(code="GREET-01")
    assert_invalid(duplicate, "code", "Standard with this Code already exists.")
    assert_db_rejects(duplicate, "standards_standard.code", "standards_standard_code")


# --- passes() and measure_summary -----------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "threshold", "value", "expected"),
    [
        (Comparator.GTE, "4", "5", True),
        (Comparator.GTE, "4", "4", True),
        (Comparator.GTE, "4", "3.999", False),
        (Comparator.LTE, "3", "2", True),
        (Comparator.LTE, "3", "3", True),
        (Comparator.LTE, "3", "3.001", False),
        (Comparator.LTE, "0", "-1", True),
    ],
)
def test_passes_compares_the_value_with_the_threshold(comparator, threshold, value, expected):
    standard = numeric(comparator=comparator, threshold=Decimal(threshold))

    assert standard.passes(Decimal(value)) is expected


def test_passes_refuses_a_pass_fail_standard():
    standard = factories.StandardFactory.build(code="GREET-01")

    with pytest.raises(ValueError, match="GREET-01 is pass/fail"):
        standard.passes(Decimal("1"))


def test_passes_refuses_a_missing_value():
    standard = numeric(code="PHONE-01")

    with pytest.raises(ValueError, match="PHONE-01 needs a value to compare with ≤ 3 rings"):
        standard.passes(None)


@pytest.mark.parametrize(
    ("standard", "summary"),
    [
        (lambda: factories.StandardFactory.build(), "pass / fail"),
        (lambda: numeric(), "≤ 3 rings"),
        (lambda: numeric(threshold=Decimal("2.500"), unit="minutes"), "≤ 2.5 minutes"),
        (lambda: numeric(comparator=Comparator.GTE, threshold=Decimal("120"), unit="s"), "≥ 120 s"),
        (lambda: rating(unit=""), "≥ 4"),
    ],
    ids=["pass-fail", "rings", "decimal", "hundreds-not-exponent", "no-unit"],
)
def test_measure_summary_reads_like_the_rule(standard, summary):
    assert standard().measure_summary == summary


# --- Acknowledgement ------------------------------------------------------------------


def test_acknowledgement_built_by_the_factory_is_valid():
    factories.AcknowledgementFactory().full_clean()


def test_acknowledgement_is_recorded_once_per_version():
    first = factories.AcknowledgementFactory()
    again = factories.AcknowledgementFactory.build(
        employee=first.employee, standard=first.standard, version=first.version
    )

    assert_invalid(
        again, "__all__", "Acknowledgement with this Employee, Standard and Version already exists."
    )
    assert_db_rejects(again, "acknowledgement_once_per_version", "standards_acknowledgement.employee_id")


def test_a_new_version_of_the_standard_is_acknowledged_again():
    first = factories.AcknowledgementFactory()
    standard = first.standard
    Standard.objects.filter(pk=standard.pk).update(version=2)
    standard.refresh_from_db()
    second = factories.AcknowledgementFactory.build(employee=first.employee, standard=standard, version=2)

    second.full_clean()
    second.save()


def test_acknowledgement_version_cannot_be_beyond_the_standards():
    standard = factories.StandardFactory(code="GREET-01")
    acknowledgement = factories.AcknowledgementFactory.build(
        employee=factories.EmployeeFactory(), standard=standard, version=2
    )

    # Cross-table: validation checks it, the database cannot.
    assert_invalid(acknowledgement, "version", "GREET-01 has no version 2 yet (latest is 1)")


def test_acknowledgement_version_starts_at_1():
    acknowledgement = factories.AcknowledgementFactory.build(
        employee=factories.EmployeeFactory(), standard=factories.StandardFactory(), version=0
    )

    assert_invalid(acknowledgement, "version", "Versions start at 1")
    assert_db_rejects(acknowledgement, "acknowledgement_version_positive")


# --- history and __str__ ----------------------------------------------------------------


def test_standard_changes_are_kept_in_history():
    standard = factories.StandardFactory(title="Greet customers")
    standard.title = "Greet every customer"
    standard.save()

    assert list(standard.history.values_list("title", flat=True)) == [
        "Greet every customer",
        "Greet customers",
    ]


def test_standards_read_well_as_text():
    user = factories.UserFactory(first_name="Ada", last_name="Lovelace")
    employee = factories.EmployeeFactory(user=user, employee_number="E-42")
    standard = factories.StandardFactory(code="GREET-01", title="Greet every customer")
    acknowledgement = factories.AcknowledgementFactory(employee=employee, standard=standard)

    assert str(standard) == "GREET-01 · Greet every customer"
    assert str(acknowledgement) == "Ada Lovelace (E-42) acknowledged GREET-01 v1"
