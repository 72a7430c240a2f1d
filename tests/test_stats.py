"""Tests for measurement.stats: pure functions, no database, no Django."""

from __future__ import annotations

import math
import time

import pytest

from measurement.stats import (
    Z95,
    csat,
    csat_from_counts,
    funnel_limits,
    funnel_points,
    nps,
    nps_from_scores,
    p_chart,
    servqual_gaps,
    spread,
    western_electric_flags,
    wilson_interval,
    xmr_limits,
)

# --------------------------------------------------------------------------- CSAT


def test_csat_worked_example_from_scores():
    # 10x5, 20x4, 10x3, 5x2, 5x1: 30 of 50 answers are 4-5 -> 60 %.
    scores = [5] * 10 + [4] * 20 + [3] * 10 + [2] * 5 + [1] * 5
    result = csat(scores)
    assert (result.n, result.satisfied) == (50, 30)
    assert result.score == pytest.approx(60.0)


def test_csat_accepts_score_counts_mapping():
    result = csat({5: 10, 4: 20, 3: 10, 2: 5, 1: 5})
    assert (result.n, result.satisfied, result.score) == (50, 30, pytest.approx(60.0))


def test_csat_empty_has_no_score():
    assert csat([]).score is None
    assert csat_from_counts(0, 0).score is None


def test_csat_from_counts():
    assert csat_from_counts(3, 4).score == pytest.approx(75.0)


@pytest.mark.parametrize("bad", [[0], [6], [4.5], [True], ["5"]])
def test_csat_rejects_scores_off_scale(bad):
    with pytest.raises(ValueError, match="score"):
        csat(bad)


def test_csat_rejects_negative_count_in_mapping():
    with pytest.raises(ValueError, match=">= 0"):
        csat({5: -1})


@pytest.mark.parametrize(
    ("satisfied", "n", "message"), [(5, 4, "cannot exceed"), (-1, 4, ">= 0"), (1, -1, ">= 0")]
)
def test_csat_from_counts_rejects_bad_counts(satisfied, n, message):
    with pytest.raises(ValueError, match=message):
        csat_from_counts(satisfied, n)


# --------------------------------------------------------------------------- NPS


def test_nps_worked_example_with_adjusted_wald_interval():
    result = nps(promoters=50, detractors=20, n=100)
    assert (result.n, result.promoters, result.passives, result.detractors) == (100, 50, 30, 20)
    assert result.score == pytest.approx(30.0)
    # By hand: n' = 103, p' = 50.75/103, d' = 20.75/103, nps' = 30/103,
    # var = (71.5/103 - (30/103)^2) / 103 = 0.0059159...
    nps_adj = 30 / 103
    var = (71.5 / 103 - nps_adj**2) / 103
    half = 1.959963984540054 * math.sqrt(var)
    assert result.low == pytest.approx(100 * (nps_adj - half))
    assert result.high == pytest.approx(100 * (nps_adj + half))
    # The same numbers written out, so a wrong formula in both places cannot pass silently.
    assert result.interval == (pytest.approx(14.0511, abs=1e-4), pytest.approx(44.2013, abs=1e-4))


def test_nps_interval_is_clipped_at_100():
    # All 10 promoters: n' = 13, p' = 10.75/13, d' = 0.75/13, nps' = 10/13,
    # var = (11.5/13 - (10/13)^2) / 13 = 0.0225307 -> upper 100 * (0.76923 + 0.29420) > 100.
    result = nps(10, 0, 10)
    assert result.score == 100.0
    assert result.high == 100.0
    assert result.low == pytest.approx(100 * (10 / 13 - Z95 * math.sqrt((11.5 / 13 - (10 / 13) ** 2) / 13)))
    assert result.low == pytest.approx(47.5036, abs=1e-4)


def test_nps_empty():
    result = nps(0, 0, 0)
    assert (result.score, result.low, result.high) == (None, None, None)


def test_nps_from_scores_classifies_0_to_10():
    # promoters: 9, 10, 10; passives: 7, 8; detractors: 0, 6
    result = nps_from_scores([9, 10, 10, 7, 8, 0, 6])
    assert (result.promoters, result.passives, result.detractors, result.n) == (3, 2, 2, 7)
    assert result.score == pytest.approx(100 * 1 / 7)
    assert result == nps(3, 2, 7)


@pytest.mark.parametrize(("p", "d", "n", "message"), [(60, 50, 100, "cannot exceed"), (-1, 0, 5, ">= 0")])
def test_nps_rejects_bad_counts(p, d, n, message):
    with pytest.raises(ValueError, match=message):
        nps(p, d, n)


def test_nps_from_scores_rejects_out_of_scale():
    with pytest.raises(ValueError, match="0 to 10"):
        nps_from_scores([11])


# --------------------------------------------------------------------------- Wilson


def test_wilson_newcombe_example():
    # Newcombe (1998), Statistics in Medicine 17:857, example 81/263: 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-5)
    assert high == pytest.approx(0.3662, abs=5e-5)


def test_wilson_boundaries():
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=5e-5))
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=5e-5), 1.0)
    assert wilson_interval(0, 0) == (None, None)


def test_wilson_rejects_bad_input():
    with pytest.raises(ValueError, match="cannot exceed"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="z must be"):
        wilson_interval(1, 10, z=0)


# --------------------------------------------------------------------------- funnel plots


def test_funnel_small_n_matches_binomial_table():
    # Binomial(20, 0.5) table: P(X<=5) = 21700/2^20 = 0.0206947, P(X<=6) = 60460/2^20 = 0.0576591,
    # and by symmetry P(X<=13) = 1 - P(X<=6), P(X<=14) = 1 - P(X<=5).
    cdf5, cdf6 = 21700 / 1048576, 60460 / 1048576
    cdf13, cdf14 = 1 - cdf6, 1 - cdf5
    # Lower (p = 0.025): r = 6, alpha = (0.0576591 - 0.025) / (0.0576591 - 0.0206947) = 0.88354
    alpha_low = (cdf6 - 0.025) / (cdf6 - cdf5)
    # Upper (p = 0.975): r = 14, alpha = (0.9793053 - 0.975) / (0.9793053 - 0.9423409) = 0.11646
    alpha_high = (cdf14 - 0.975) / (cdf14 - cdf13)
    low, high = funnel_limits(0.5, 20, 0.95)
    assert low == pytest.approx((6 - alpha_low) / 20)
    assert high == pytest.approx((14 - alpha_high) / 20)
    assert (low, high) == (pytest.approx(0.25582, abs=1e-5), pytest.approx(0.69418, abs=1e-5))


def _brute_force_limit(theta: float, n: int, p: float) -> float:
    """Independent check: full binomial CDF from math.comb, then the same interpolation."""
    cdf, running = [], 0.0
    for k in range(n + 1):
        running += math.comb(n, k) * theta**k * (1 - theta) ** (n - k)
        cdf.append(running)
    r = next(k for k, c in enumerate(cdf) if c >= p)
    below = cdf[r - 1] if r else 0.0
    return (r - (cdf[r] - p) / (cdf[r] - below)) / n


@pytest.mark.parametrize(("theta", "n"), [(0.3, 50), (0.9, 137), (0.02, 400)])
@pytest.mark.parametrize("coverage", [0.95, 0.998])
def test_funnel_matches_brute_force_binomial(theta, n, coverage):
    tail = (1 - coverage) / 2
    expected = (max(0.0, _brute_force_limit(theta, n, tail)), _brute_force_limit(theta, n, 1 - tail))
    assert funnel_limits(theta, n, coverage) == (pytest.approx(expected[0]), pytest.approx(expected[1]))


def test_funnel_limits_narrow_as_n_grows():
    widths = [(h - lo) for lo, h in (funnel_limits(0.7, n, 0.95) for n in (20, 100, 500, 2000, 10000))]
    assert widths == sorted(widths, reverse=True)
    low95, high95 = funnel_limits(0.7, 500, 0.95)
    low998, high998 = funnel_limits(0.7, 500, 0.998)
    assert low998 < low95 < 0.7 < high95 < high998


def test_funnel_large_n_agrees_with_normal_approximation():
    # theta = 0.8, n = 10,000: 0.8 +/- 1.96 * sqrt(0.16 / 10000) = 0.79216 .. 0.80784
    low, high = funnel_limits(0.8, 10_000, 0.95)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 10_000)
    assert abs(low - (0.8 - half)) < 0.001
    assert abs(high - (0.8 + half)) < 0.001


def test_funnel_very_large_n_is_fast_and_sane():
    start = time.perf_counter()
    low, high = funnel_limits(0.5, 100_000, 0.998)
    elapsed = time.perf_counter() - start
    half = 3.090232306167813 * math.sqrt(0.25 / 100_000)
    assert low == pytest.approx(0.5 - half, abs=1e-4)
    assert high == pytest.approx(0.5 + half, abs=1e-4)
    assert elapsed < 0.5  # generous bound; typically about 1 ms


def test_funnel_limits_stay_within_0_1_at_extremes():
    for theta in (0.0, 1e-6, 0.999999, 1.0):
        low, high = funnel_limits(theta, 1000, 0.998)
        assert 0.0 <= low <= high <= 1.0
    assert funnel_limits(0.5, 0, 0.95) == (None, None)


@pytest.mark.parametrize(
    ("theta", "n", "coverage", "message"),
    [(1.2, 10, 0.95, "target_rate"), (0.5, -1, 0.95, ">= 0"), (0.5, 10, 1.0, "coverage")],
)
def test_funnel_limits_reject_bad_input(theta, n, coverage, message):
    with pytest.raises(ValueError, match=message):
        funnel_limits(theta, n, coverage)


def test_funnel_points_against_pooled_rate():
    rows = [("North", 80, 100), ("South", 50, 100), ("East", 65, 100), ("Empty", 0, 0)]
    north, south, east, empty = funnel_points(rows)
    assert north.target_rate == pytest.approx(195 / 300)
    assert north.rate == pytest.approx(0.8)
    assert (north.above95, north.above998, north.below95) == (True, True, False)
    assert (south.below95, south.below998, south.above95) == (True, False, False)
    assert not any((east.above95, east.below95, east.above998, east.below998))
    assert (north.low95, north.high95) == funnel_limits(0.65, 100, 0.95)
    assert (empty.rate, empty.low95, empty.above95) == (None, None, False)


def test_funnel_points_with_given_target_and_bad_row():
    (point,) = funnel_points([("A", 90, 100)], target_rate=0.9)
    assert not (point.above95 or point.below95)
    with pytest.raises(ValueError, match="cannot exceed"):
        funnel_points([("A", 11, 10)])
    with pytest.raises(ValueError, match="target_rate"):
        funnel_points([("A", 0, 0)], target_rate=1.5)


# --------------------------------------------------------------------------- SPC: XmR and p-chart

NIST_FLOW_RATES = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]


def test_xmr_nist_handbook_example():
    # NIST/SEMATECH e-Handbook 6.3.2.2: mean 50.81, MR-bar 1.8778, UCL 55.8041, LCL 45.8159.
    chart = xmr_limits(NIST_FLOW_RATES)
    assert chart.centre == pytest.approx(50.81)
    assert chart.mr_bar == pytest.approx(16.9 / 9)
    assert chart.ucl == pytest.approx(55.8041, abs=1e-3)
    assert chart.lcl == pytest.approx(45.8159, abs=1e-3)
    assert chart.mr_ucl == pytest.approx(3.267 * 16.9 / 9)
    assert chart.flags == [[]] * 10  # an in-control process
    assert not any(chart.mr_above_ucl)


def test_xmr_flags_a_shift():
    chart = xmr_limits([10, 10.2, 9.8, 10.1, 9.9, 10, 10.1, 9.9, 15])
    assert 1 in chart.flags[-1]
    assert chart.mr_above_ucl[-1]


def test_xmr_needs_two_values():
    with pytest.raises(ValueError, match="at least 2"):
        xmr_limits([1.0])
    with pytest.raises(ValueError, match="finite"):
        xmr_limits([1.0, float("nan")])


def test_p_chart_varying_n():
    # p-bar = 55 / 550 = 0.1; n = 100 -> sigma 0.03, limits 0.01..0.19;
    # n = 50 -> sigma 0.042426, limits 0 (clipped from -0.0273)..0.227279.
    chart = p_chart([(9, 100), (11, 100), (22, 100), (3, 100), (5, 100), (5, 50)])
    assert chart.centre == pytest.approx(0.1)
    assert chart.lcls[0] == pytest.approx(0.01)
    assert chart.ucls[0] == pytest.approx(0.19)
    assert chart.lcls[-1] == 0.0
    assert chart.ucls[-1] == pytest.approx(0.1 + 3 * math.sqrt(0.09 / 50))
    # 0.22 is 4 sigma above; 0.03 (-2.3 sigma) alone does not break rule 2.
    assert chart.flags == [[], [], [1], [], [], []]


def test_p_chart_rejects_empty_period():
    with pytest.raises(ValueError, match="drop empty periods"):
        p_chart([(1, 10), (0, 0)])
    with pytest.raises(ValueError, match="at least one period"):
        p_chart([])


# --------------------------------------------------------------------------- Western Electric rules
# Centre 0 and sigma 1 throughout, so the values are z-scores.


def test_western_electric_stable_series_flags_nothing():
    values = [0.3, -0.4, 0.8, -1.1, 0.2, -0.6, 1.4, -0.2, 0.5, -0.9, 0.1, -1.5, 0.7, -0.3, 0.4, -0.8]
    assert western_electric_flags(values, 0.0, 1.0) == [[]] * len(values)


def test_rule_1_one_point_beyond_3_sigma():
    assert western_electric_flags([0.5, -0.5, 3.5, 0.2, -3.2], 0.0, 1.0) == [[], [], [1], [], [1]]


def test_rule_2_two_of_three_beyond_2_sigma_same_side():
    flags = western_electric_flags([0.5, -0.5, 2.5, 0.3, 2.2, -0.4], 0.0, 1.0)
    assert flags == [[], [], [], [], [2], []]
    # Opposite sides do not count.
    assert western_electric_flags([0.5, 2.5, -2.5, 0.1], 0.0, 1.0) == [[]] * 4


def test_rule_3_four_of_five_beyond_1_sigma_same_side():
    flags = western_electric_flags([-0.3, 0.3, 1.5, 1.2, 0.5, 1.8, 1.1], 0.0, 1.0)
    assert flags == [[], [], [], [], [], [], [3]]
    assert western_electric_flags([1.5, -1.2, 1.5, -1.8, 1.1], 0.0, 1.0) == [[]] * 5


def test_rule_4_eight_in_a_row_on_one_side():
    values = [-0.2, 0.5, 0.4, 0.3, 0.6, 0.2, 0.5, 0.4, 0.3, 0.1, -0.1]
    flags = western_electric_flags(values, 0.0, 1.0)
    assert flags == [[]] * 8 + [[4], [4], []]


def test_western_electric_per_point_sigma():
    # Same value, different sigma: beyond 3 sigma only where sigma is small.
    assert western_electric_flags([0.5, 0.5], 0.2, [0.05, 0.2]) == [[1], []]
    with pytest.raises(ValueError, match="2 entries"):
        western_electric_flags([1.0, 2.0, 3.0], 0.0, [1.0, 1.0])
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        western_electric_flags([1.0], 0.0, -1.0)


# --------------------------------------------------------------------------- SERVQUAL

PERCEPTIONS = {"tangibles": 5.5, "reliability": 5.0, "responsiveness": 4.8, "assurance": 5.6, "empathy": 5.2}
EXPECTATIONS = {"tangibles": 6.0, "reliability": 6.5, "responsiveness": 6.2, "assurance": 6.4, "empathy": 5.8}
WEIGHTS = {"tangibles": 10, "reliability": 32, "responsiveness": 22, "assurance": 19, "empathy": 17}


def test_servqual_worked_example():
    # Gaps: -0.5, -1.5, -1.4, -0.8, -0.6; mean = -4.8 / 5 = -0.96;
    # weighted = -(0.05 + 0.48 + 0.308 + 0.152 + 0.102) = -1.092.
    result = servqual_gaps(PERCEPTIONS, EXPECTATIONS, WEIGHTS)
    expected_gaps = {
        "tangibles": -0.5,
        "reliability": -1.5,
        "responsiveness": -1.4,
        "assurance": -0.8,
        "empathy": -0.6,
    }
    assert result.gaps == pytest.approx(expected_gaps)
    assert result.unweighted == pytest.approx(-0.96)
    assert result.weighted == pytest.approx(-1.092)


def test_servqual_without_weights():
    assert servqual_gaps(PERCEPTIONS, EXPECTATIONS).weighted is None


def test_servqual_validation():
    with pytest.raises(ValueError, match="missing \\['empathy'\\]"):
        servqual_gaps({k: v for k, v in PERCEPTIONS.items() if k != "empathy"}, EXPECTATIONS)
    with pytest.raises(ValueError, match="unexpected \\['price'\\]"):
        servqual_gaps({**PERCEPTIONS, "price": 4.0}, EXPECTATIONS)
    with pytest.raises(ValueError, match="within 1..7"):
        servqual_gaps({**PERCEPTIONS, "empathy": 8.0}, EXPECTATIONS)
    with pytest.raises(ValueError, match="sum to 100"):
        servqual_gaps(PERCEPTIONS, EXPECTATIONS, {**WEIGHTS, "empathy": 20})
    with pytest.raises(ValueError, match="weights must be >= 0"):
        servqual_gaps(PERCEPTIONS, EXPECTATIONS, {**WEIGHTS, "empathy": -17, "tangibles": 44})


# --------------------------------------------------------------------------- spread


def test_spread_ignores_none_and_uses_inclusive_quartiles():
    # Sorted 1, 2, 3, 4: Q1 = 1.75, Q3 = 3.25 (linear interpolation) -> IQR 1.5.
    result = spread([3.0, None, 1.0, 4.0, 2.0])
    assert (result.n, result.min, result.max, result.range) == (4, 1.0, 4.0, 3.0)
    assert result.iqr == pytest.approx(1.5)


def test_spread_small_inputs():
    assert spread([None]).range is None
    single = spread([0.7])
    assert (single.min, single.max, single.range, single.iqr) == (0.7, 0.7, 0.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        spread([0.5, float("inf")])
