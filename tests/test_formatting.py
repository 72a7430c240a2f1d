"""Numbers and dates read one way on every page: 1,234; 82%; 4 Aug 2026; and no value breaks a filter."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from hypothesis import given
from hypothesis import strategies as st

from measurement.templatetags import servicedesk_format as fmt

# Anything a template may hand a number filter: a number of any kind, None, or what a missing
# variable renders as.
ANY_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
)
ONE_ARGUMENT = ["count", "percent", "percentage", "points", "signed"]
TWO_ARGUMENTS = ["share", "percent_n", "percentage_n", "interval"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1234, "1,234"),
        (1_400_000, "1,400,000"),
        (None, "0"),
        ("", "0"),
        (-2500, "-2,500"),
    ],
)
def test_counts_have_thousands_separators(value, expected):
    assert fmt.count(value) == expected


@pytest.mark.parametrize(
    ("filter_name", "value", "expected"),
    [
        ("percent", 0.823, "82%"),
        ("percent", 0.825, "83%"),  # half up, not half to even
        ("percent", Decimal("0.5"), "50%"),
        ("percent", 12.345, "1,235%"),
        ("percentage", 82.5, "83%"),
        ("percentage", Decimal("100.00"), "100%"),
        ("signed", 32, "+32"),
        ("signed", -5.4, "\u22125"),
        ("signed", 1500, "+1,500"),
        ("points", 0.01, "1 point"),
        ("points", 0.32, "32 points"),
    ],
)
def test_percentages_are_whole_numbers_with_the_sign_glued_on(filter_name, value, expected):
    assert getattr(fmt, filter_name)(value) == expected


def test_sample_sizes_and_intervals_have_separators_too():
    assert fmt.percent_n(0.9, 1400) == "90% (n = 1,400)"
    assert fmt.percentage_n(91.2, 64) == "91% (n = 64)"
    assert fmt.percent_n(None, 0) == "no data (n = 0)"
    assert fmt.interval(0.74, 0.88) == "74–88%"
    assert fmt.share(9, 10) == "90%" and fmt.share(Decimal("1"), 3.0) == "33%"


@pytest.mark.parametrize("filter_name", ONE_ARGUMENT)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), "abc"])
def test_what_is_no_number_reads_as_a_dash(filter_name, value):
    assert getattr(fmt, filter_name)(value) == fmt.DASH


@pytest.mark.parametrize("filter_name", ONE_ARGUMENT)
@given(value=ANY_VALUE)
def test_one_argument_filters_format_any_value_without_error(filter_name, value):
    text = getattr(fmt, filter_name)(value)
    assert isinstance(text, str) and text


@pytest.mark.parametrize("filter_name", TWO_ARGUMENTS)
@given(value=ANY_VALUE, other=ANY_VALUE)
def test_two_argument_filters_format_any_pair_without_error(filter_name, value, other):
    text = getattr(fmt, filter_name)(value, other)
    assert isinstance(text, str) and text


@given(value=st.integers(min_value=-(10**30), max_value=10**30))
def test_a_count_reads_back_as_the_same_whole_number(value):
    text = fmt.count(value)
    assert int(text.replace(",", "")) == value
    # Groups of three digits after the first.
    assert all(len(group) == 3 for group in text.lstrip("-").split(",")[1:])


@given(proportion=st.floats(min_value=0, max_value=1))
def test_a_proportion_reads_as_a_whole_percentage_between_0_and_100(proportion):
    text = fmt.percent(proportion)
    assert text.endswith("%") and 0 <= int(text[:-1]) <= 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 8, 4), "4 Aug 2026"),
        (date(2026, 12, 25), "25 Dec 2026"),
        (date(1, 1, 1), "1 Jan 0001"),
        (datetime(2026, 8, 4, 23, 30, tzinfo=UTC), "5 Aug 2026"),  # 00:30 in London, summer time
        (None, fmt.DASH),
        ("2026-08-04", fmt.DASH),
    ],
)
def test_dates_read_in_words(value, expected):
    assert fmt.day(value) == expected


@given(value=st.one_of(st.dates(), st.datetimes(), st.none(), st.integers(), st.text(max_size=5)))
def test_any_date_formats_without_error(value):
    assert fmt.day(value)


def test_the_filters_work_in_a_template():
    template = Template("{% load servicedesk_format %}{{ n|count }} · {{ p|percent }} · {{ d|day }}")
    text = template.render(Context({"n": 12345, "p": 0.5, "d": date(2026, 8, 4)}))
    assert text == "12,345 · 50% · 4 Aug 2026"
