"""Rolling periods are sums of day scorecards: over exactly a calendar week or month they equal the
stored scorecard of that period, field for field, and they cost one query whatever the evidence."""

from __future__ import annotations

from datetime import date

import pytest

from measurement.models import Grain, PeriodKind, Scorecard
from measurement.selectors.rolling import RollingPeriod, rolling_scorecards, rolling_sums
from measurement.services.rollup import scorecards_rollup
from tests.test_rollup import SCORECARD_COLUMNS, SPRING, _same, evidence, org  # noqa: F401

COMPARED = [column for column in SCORECARD_COLUMNS if column not in ("period_kind", "period_start")]


@pytest.fixture
def rolled_up(org):  # noqa: F811
    # 24 March – 8 May 2026: the whole of April, and the week of 30 March across summer time.
    evidence(org, start=SPRING, days=45, observations=400, answers=150)
    scorecards_rollup(full=True)
    return org


def assert_equal_to_stored(kind: str, start: date, period: RollingPeriod) -> None:
    stored = {
        row["grain_key"]: row
        for row in Scorecard.objects.filter(period_kind=kind, period_start=start).values(*SCORECARD_COLUMNS)
    }
    rolling = {card.grain_key: card for card in rolling_scorecards(Scorecard.objects.all(), period)}
    assert stored and set(rolling) == set(stored)
    for key, row in stored.items():
        differences = {
            column: (getattr(rolling[key], column), row[column])
            for column in COMPARED
            if not _same(getattr(rolling[key], column), row[column])
        }
        assert differences == {}, key


def test_thirty_days_of_april_equal_the_stored_april_scorecards(rolled_up):
    assert_equal_to_stored(PeriodKind.MONTH, date(2026, 4, 1), RollingPeriod.ending(date(2026, 4, 30), 30))


def test_seven_days_across_the_change_to_summer_time_equal_the_stored_week(rolled_up, settings):
    assert_equal_to_stored(PeriodKind.WEEK, date(2026, 3, 30), RollingPeriod.ending(date(2026, 4, 5), 7))


def test_a_rolling_period_costs_one_query_whatever_the_evidence(rolled_up, django_assert_num_queries):
    with django_assert_num_queries(1):
        cards = rolling_scorecards(
            Scorecard.objects.filter(grain="location"), RollingPeriod.ending(date(2026, 5, 1))
        )
    assert cards and all(card.observations > 0 or card.feedback_count > 0 for card in cards)


@pytest.mark.parametrize("grain", Grain.values)
def test_sums_of_one_grain_grouped_by_its_own_columns_equal_those_grouped_by_every_column(rolled_up, grain):
    period = RollingPeriod.ending(date(2026, 4, 30), 30)
    rows = Scorecard.objects.filter(grain=grain)
    expected = sorted(rolling_sums(rows, period), key=lambda row: row["key"])
    ours = sorted(rolling_sums(Scorecard.objects.all(), period, grain=grain), key=lambda row: row["key"])
    assert expected and ours == expected


def test_a_span_without_evidence_has_no_scorecards(rolled_up):
    assert rolling_scorecards(Scorecard.objects.all(), RollingPeriod.ending(date(2025, 1, 31))) == []


def test_the_label_says_the_span_in_words():
    assert RollingPeriod.ending(date(2026, 12, 2), 30).label == "last 30 days, 3 Nov – 2 Dec 2026"
    assert RollingPeriod.ending(date(2027, 1, 10), 30).label == "last 30 days, 12 Dec 2026 – 10 Jan 2027"
    assert RollingPeriod.ending(date(2026, 12, 2), 30).previous().last == date(2026, 11, 2)
