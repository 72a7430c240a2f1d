"""Pure statistics for service measurement: CSAT, NPS, intervals, funnel plots, SPC and SERVQUAL.

Standard library only and no Django imports, so everything here can be unit-tested without a
database and reused from views, management commands or notebooks. Inputs are plain numbers;
bad input raises ValueError with a message naming the offending argument.
"""

from __future__ import annotations

import functools
import math
import statistics
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Two-sided 95 % normal quantile, written out in full so results match published tables.
Z95 = 1.959963984540054

# SPC constants for moving ranges of two points (ASTM / NIST tables).
D2 = 1.128  # E[moving range] / sigma, so sigma_hat = MR-bar / d2
D4 = 3.267  # upper limit factor for the moving-range chart

SERVQUAL_DIMENSIONS = ("tangibles", "reliability", "responsiveness", "assurance", "empathy")


# --------------------------------------------------------------------------- validation helpers


def _count(name: str, value: object) -> int:
    """Return value if it is a non-negative int (bool is rejected: True is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer count, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _subset(name: str, part: int, n: int) -> None:
    if part > n:
        raise ValueError(f"{name} ({part}) cannot exceed n ({n})")


def _number(name: str, value: object) -> float:
    """Return value as float if it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _score(value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"score must be an integer from {low} to {high}, got {value!r}")
    return value


def _tally(counts_or_scores: Iterable[int] | Mapping[int, int], low: int, high: int) -> dict[int, int]:
    """Turn either {score: count} or an iterable of scores into {score: count}, validating both."""
    tally: dict[int, int] = {}
    if isinstance(counts_or_scores, Mapping):
        for score, count in counts_or_scores.items():
            tally[_score(score, low, high)] = _count(f"count for score {score}", count)
    else:
        for score in counts_or_scores:
            key = _score(score, low, high)
            tally[key] = tally.get(key, 0) + 1
    return tally


# --------------------------------------------------------------------------- CSAT


@dataclass(frozen=True)
class CsatResult:
    n: int
    satisfied: int
    score: float | None  # percentage 0..100, None when n == 0


def csat_from_counts(satisfied: int, n: int) -> CsatResult:
    """CSAT from pre-aggregated counts.

    Inputs: satisfied = answers of 4 or 5 on the 1-5 scale, n = all answers (0 <= satisfied <= n).
    Output: CsatResult with score = 100 * satisfied / n, or None when n == 0.
    Errors: ValueError for non-integer or negative counts, or satisfied > n.
    """
    _count("n", n)
    _count("satisfied", satisfied)
    _subset("satisfied", satisfied, n)
    return CsatResult(n=n, satisfied=satisfied, score=100.0 * satisfied / n if n else None)


def csat(counts_or_scores: Iterable[int] | Mapping[int, int]) -> CsatResult:
    """Customer satisfaction score: share of answers that are 4 or 5 on a 1-5 scale.

    Inputs: an iterable of integer scores 1..5, or a mapping {score: count} (for GROUP BY output).
    Output: CsatResult(n, satisfied, score) with score a 0..100 percentage, None when there are no answers.
    Errors: ValueError if a score is not an integer in 1..5 or a count is negative / not an integer.
    """
    tally = _tally(counts_or_scores, 1, 5)
    return csat_from_counts(tally.get(4, 0) + tally.get(5, 0), sum(tally.values()))


# --------------------------------------------------------------------------- NPS


@dataclass(frozen=True)
class NpsResult:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # -100..100, None when n == 0
    low: float | None  # 95 % interval, adjusted Wald, clipped to [-100, 100]
    high: float | None

    @property
    def interval(self) -> tuple[float | None, float | None]:
        return (self.low, self.high)


def nps(promoters: int, detractors: int, n: int, z: float = Z95) -> NpsResult:
    """Net Promoter Score with an adjusted-Wald confidence interval.

    Inputs: counts of promoters (9-10) and detractors (0-6) out of n answers; passives = the rest.
    Output: NpsResult with score = 100 * (promoters - detractors) / n and a (low, high) interval
    from the adjusted-Wald method for a difference of two proportions of one multinomial sample
    (add 3 answers: 0.75 promoters, 0.75 detractors, 1.5 passives), clipped to [-100, 100].
    Score and interval are None when n == 0.
    Errors: ValueError for negative / non-integer counts or promoters + detractors > n.
    """
    _count("n", n)
    _count("promoters", promoters)
    _count("detractors", detractors)
    _subset("promoters + detractors", promoters + detractors, n)
    passives = n - promoters - detractors
    if n == 0:
        return NpsResult(0, 0, 0, 0, None, None, None)
    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    diff = p_adj - d_adj
    half = z * math.sqrt((p_adj + d_adj - diff**2) / n_adj)
    low = max(-100.0, 100.0 * (diff - half))
    high = min(100.0, 100.0 * (diff + half))
    return NpsResult(n, promoters, passives, detractors, 100.0 * (promoters - detractors) / n, low, high)


def nps_from_scores(scores: Iterable[int] | Mapping[int, int], z: float = Z95) -> NpsResult:
    """NPS from raw 0-10 answers (or a {score: count} mapping): promoters 9-10, detractors 0-6.

    Errors: ValueError if a score is not an integer in 0..10 or a count is invalid.
    """
    tally = _tally(scores, 0, 10)
    promoters = sum(c for s, c in tally.items() if s >= 9)
    detractors = sum(c for s, c in tally.items() if s <= 6)
    return nps(promoters, detractors, sum(tally.values()), z)


# --------------------------------------------------------------------------- Wilson interval


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a binomial proportion.

    Inputs: successes out of n trials (0 <= successes <= n), z = normal quantile (default 95 %).
    Output: (low, high) as proportions in [0, 1]; (None, None) when n == 0.
    Errors: ValueError for negative / non-integer counts, successes > n, or z <= 0.
    """
    _count("n", n)
    _count("successes", successes)
    _subset("successes", successes, n)
    if not z > 0:
        raise ValueError(f"z must be > 0, got {z}")
    if n == 0:
        return (None, None)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n successes the bound is exactly 0 or 1; set it so rounding cannot give -1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


# --------------------------------------------------------------------------- funnel plots


def _binomial_cdf_window(n: int, theta: float) -> tuple[int, list[float]]:
    """Return (lo, cdf) with cdf[i] = P(X <= lo + i) for X ~ Binomial(n, theta).

    Only the part of the distribution with non-negligible mass is built: start at the mode with a
    relative pmf of 1, walk outwards with the pmf ratio until terms fall below 1e-20 of the mode,
    then normalise. This is O(sqrt(n)) work, needs no lgamma, and cannot underflow; the mass left
    out is far below double precision, so P(X <= lo - 1) is taken as 0.
    """
    if theta <= 0.0:
        return 0, [1.0]
    if theta >= 1.0:
        return n, [1.0]
    odds = theta / (1 - theta)
    mode = min(n, math.floor((n + 1) * theta))
    left: list[float] = []
    k, term = mode, 1.0
    while k > 0 and term > 1e-20:
        term *= k / (n - k + 1) / odds  # pmf(k-1) / pmf(k)
        k -= 1
        left.append(term)
    right: list[float] = []
    k, term = mode, 1.0
    while k < n and term > 1e-20:
        term *= (n - k) / (k + 1) * odds  # pmf(k+1) / pmf(k)
        k += 1
        right.append(term)
    pmf = left[::-1] + [1.0] + right
    total = math.fsum(pmf)
    cdf, running = [], 0.0
    for term in pmf:
        running += term
        cdf.append(running / total)
    return mode - len(left), cdf


def _interpolated_quantile(lo: int, cdf: list[float], p: float) -> float:
    """Spiegelhalter's interpolated binomial quantile r_p - alpha (as a count, not a rate)."""
    i = min(bisect_left(cdf, p), len(cdf) - 1)  # smallest r with CDF(r) >= p
    below = cdf[i - 1] if i > 0 else 0.0
    alpha = (cdf[i] - p) / (cdf[i] - below)
    return lo + i - alpha


# Memoised: a board or funnel plot asks for the limits of one centre at each subject's n, and
# 500 locations share far fewer distinct n (the same few hundred around the typical count).
@functools.lru_cache(maxsize=4096)
def funnel_limits(target_rate: float, n: int, coverage: float) -> tuple[float | None, float | None]:
    """Funnel-plot control limits for a proportion (Spiegelhalter 2005, exact binomial, interpolated).

    Inputs: target_rate theta in [0, 1], sample size n >= 0, coverage in (0, 1) such as 0.95 or 0.998.
    Output: (low, high) proportions in [0, 1]; (None, None) when n == 0. For the p-quantile,
    r_p is the smallest r with BinomCDF(r) >= p, alpha = (CDF(r_p) - p) / (CDF(r_p) - CDF(r_p - 1)),
    and the limit is (r_p - alpha) / n; lower uses p = (1 - coverage) / 2, upper 1 - (1 - coverage) / 2.
    Fast for n up to 100,000 and beyond (only the bulk of the distribution is evaluated).
    Errors: ValueError for target_rate outside [0, 1], coverage outside (0, 1), or invalid n.
    """
    theta = _number("target_rate", target_rate)
    if not 0.0 <= theta <= 1.0:
        raise ValueError(f"target_rate must be within [0, 1], got {target_rate}")
    if not 0.0 < _number("coverage", coverage) < 1.0:
        raise ValueError(f"coverage must be strictly between 0 and 1, got {coverage}")
    _count("n", n)
    if n == 0:
        return (None, None)
    lo, cdf = _binomial_cdf_window(n, theta)
    tail = (1.0 - coverage) / 2.0
    low = _interpolated_quantile(lo, cdf, tail) / n
    high = _interpolated_quantile(lo, cdf, 1.0 - tail) / n
    return (min(1.0, max(0.0, low)), min(1.0, max(0.0, high)))


@dataclass(frozen=True)
class FunnelPoint:
    label: str
    successes: int
    n: int
    rate: float | None  # None when n == 0
    target_rate: float | None  # the funnel's centre line (pooled rate unless given)
    low95: float | None
    high95: float | None
    low998: float | None
    high998: float | None
    above95: bool
    below95: bool
    above998: bool
    below998: bool


def funnel_points(
    rows: Sequence[tuple[str, int, int]], target_rate: float | None = None
) -> list[FunnelPoint]:
    """Place units (teams, sites) on a funnel plot.

    Inputs: rows of (label, successes, n); target_rate defaults to the pooled rate sum(successes) / sum(n).
    Output: one FunnelPoint per row, in order, with its rate, the 95 % and 99.8 % limits at its n, and
    whether the rate lies strictly above / below each pair of limits. Rows with n == 0, or all rows
    when no pooled rate exists, get None rate / limits and no flags.
    Errors: ValueError for invalid counts (successes > n, negatives) or a target outside [0, 1].
    """
    for label, successes, n in rows:
        _count(f"n for {label!r}", n)
        _count(f"successes for {label!r}", successes)
        _subset(f"successes for {label!r}", successes, n)
    if target_rate is None:
        total = sum(row[2] for row in rows)
        target_rate = sum(row[1] for row in rows) / total if total else None
    elif not 0.0 <= _number("target_rate", target_rate) <= 1.0:
        raise ValueError(f"target_rate must be within [0, 1], got {target_rate}")
    points = []
    for label, successes, n in rows:
        rate = successes / n if n else None
        if rate is None or target_rate is None:
            points.append(FunnelPoint(label, successes, n, rate, target_rate, *[None] * 4, *[False] * 4))
            continue
        low95, high95 = funnel_limits(target_rate, n, 0.95)
        low998, high998 = funnel_limits(target_rate, n, 0.998)
        points.append(
            FunnelPoint(
                label, successes, n, rate, target_rate, low95, high95, low998, high998,
                above95=rate > high95, below95=rate < low95, above998=rate > high998, below998=rate < low998,
            )
        )  # fmt: skip
    return points


# --------------------------------------------------------------------------- SPC


def _side(value: float, centre: float, sigma: float, k: float) -> int:
    """+1 / -1 if value lies strictly beyond centre +/- k*sigma, else 0."""
    if value - centre > k * sigma:
        return 1
    if value - centre < -k * sigma:
        return -1
    return 0


def western_electric_flags(
    values: Sequence[float], centre: float, sigma: float | Sequence[float]
) -> list[list[int]]:
    """Western Electric run rules, evaluated per point.

    Inputs: the plotted values, the centre line and sigma (one number, or one per point as on a
    p-chart whose limits vary with n; sigma >= 0).
    Output: for each point the sorted list of rules it completes, [] if none:
      1 - the point is beyond 3 sigma;
      2 - it is beyond 2 sigma and at least 2 of the last 3 points are beyond 2 sigma on that side;
      3 - it is beyond 1 sigma and at least 4 of the last 5 points are beyond 1 sigma on that side;
      4 - it and the 7 points before it are all strictly on the same side of the centre.
    A rule is flagged at the point that completes the pattern (and at later points that extend it),
    so one excursion is not reported again on unrelated neighbours. Windows at the start of the
    series may be shorter (two of the first two points beyond 2 sigma still counts for rule 2).
    Errors: ValueError for non-finite values, negative sigma, or a sigma list of the wrong length.
    """
    xs = [_number("value", v) for v in values]
    c = _number("centre", centre)
    if isinstance(sigma, (int, float)):
        sigmas = [_number("sigma", sigma)] * len(xs)
    else:
        sigmas = [_number("sigma", s) for s in sigma]
        if len(sigmas) != len(xs):
            raise ValueError(f"sigma has {len(sigmas)} entries but there are {len(xs)} values")
    if any(s < 0 for s in sigmas):
        raise ValueError("sigma must be >= 0")

    def sides(k: float) -> list[int]:
        return [_side(x, c, s, k) for x, s in zip(xs, sigmas, strict=True)]

    beyond1, beyond2, beyond3, centre_side = sides(1), sides(2), sides(3), sides(0)
    flags: list[list[int]] = []
    for i in range(len(xs)):
        rules = []
        if beyond3[i]:
            rules.append(1)
        if beyond2[i] and beyond2[max(0, i - 2) : i + 1].count(beyond2[i]) >= 2:
            rules.append(2)
        if beyond1[i] and beyond1[max(0, i - 4) : i + 1].count(beyond1[i]) >= 4:
            rules.append(3)
        if i >= 7 and centre_side[i] and centre_side[i - 7 : i + 1].count(centre_side[i]) == 8:
            rules.append(4)
        flags.append(rules)
    return flags


@dataclass(frozen=True)
class XmrResult:
    values: list[float]
    centre: float
    moving_ranges: list[float]  # |x[i] - x[i-1]|, one fewer than values
    mr_bar: float
    sigma: float  # MR-bar / d2
    ucl: float
    lcl: float
    mr_ucl: float  # upper limit of the moving-range chart (its lower limit is 0)
    flags: list[list[int]]  # Western Electric rules per individual value
    mr_above_ucl: list[bool]  # per moving range


def xmr_limits(values: Sequence[float]) -> XmrResult:
    """Individuals and moving-range (XmR) chart, as in NIST/SEMATECH e-Handbook section 6.3.2.2.

    Inputs: at least two finite values in time order.
    Output: XmrResult with centre = mean, MR-bar = mean absolute consecutive difference,
    UCL / LCL = mean +/- 3 * MR-bar / 1.128 (the "2.66 * MR-bar" rule, with d2 = 1.128 kept exact so
    the NIST example reproduces), moving-range UCL = 3.267 * MR-bar, and Western Electric flags.
    Errors: ValueError for fewer than two values or non-finite values.
    """
    xs = [_number("value", v) for v in values]
    if len(xs) < 2:
        raise ValueError(f"an XmR chart needs at least 2 values, got {len(xs)}")
    centre = math.fsum(xs) / len(xs)
    moving_ranges = [abs(b - a) for a, b in zip(xs[:-1], xs[1:], strict=True)]
    mr_bar = math.fsum(moving_ranges) / len(moving_ranges)
    sigma = mr_bar / D2
    mr_ucl = D4 * mr_bar
    return XmrResult(
        values=xs,
        centre=centre,
        moving_ranges=moving_ranges,
        mr_bar=mr_bar,
        sigma=sigma,
        ucl=centre + 3 * sigma,
        lcl=centre - 3 * sigma,
        mr_ucl=mr_ucl,
        flags=western_electric_flags(xs, centre, sigma),
        mr_above_ucl=[mr > mr_ucl for mr in moving_ranges],
    )


@dataclass(frozen=True)
class PChartResult:
    centre: float  # p-bar, pooled over all periods
    rates: list[float]
    sigmas: list[float]  # per period, sqrt(p-bar (1 - p-bar) / n_i)
    lcls: list[float]
    ucls: list[float]
    flags: list[list[int]]  # Western Electric rules per period, using that period's sigma


def p_chart(points: Sequence[tuple[int, int]]) -> PChartResult:
    """p-chart for a proportion per period with varying sample sizes.

    Inputs: (successes, n) per period in time order; every n must be >= 1 (drop empty periods first,
    a rate of 0/0 cannot be plotted).
    Output: PChartResult with p-bar = sum(successes) / sum(n), per-period limits
    p-bar +/- 3 * sqrt(p-bar (1 - p-bar) / n_i) clipped to [0, 1], and Western Electric flags.
    Errors: ValueError for no periods, n < 1, negative counts or successes > n.
    """
    if not points:
        raise ValueError("a p-chart needs at least one period")
    for i, (successes, n) in enumerate(points):
        _count(f"successes of period {i}", successes)
        if _count(f"n of period {i}", n) < 1:
            raise ValueError(f"n of period {i} must be >= 1 (drop empty periods)")
        _subset(f"successes of period {i}", successes, n)
    p_bar = sum(s for s, _ in points) / sum(n for _, n in points)
    rates = [s / n for s, n in points]
    sigmas = [math.sqrt(p_bar * (1 - p_bar) / n) for _, n in points]
    return PChartResult(
        centre=p_bar,
        rates=rates,
        sigmas=sigmas,
        lcls=[max(0.0, p_bar - 3 * s) for s in sigmas],
        ucls=[min(1.0, p_bar + 3 * s) for s in sigmas],
        flags=western_electric_flags(rates, p_bar, sigmas),
    )


# --------------------------------------------------------------------------- SERVQUAL


@dataclass(frozen=True)
class ServqualResult:
    gaps: dict[str, float]  # perception - expectation per dimension (negative = shortfall)
    unweighted: float  # mean of the five gaps
    weighted: float | None  # sum(gap * weight / 100); None when no weights were given


def _dimension_map(name: str, values: Mapping[str, float]) -> dict[str, float]:
    missing = set(SERVQUAL_DIMENSIONS) - set(values)
    extra = set(values) - set(SERVQUAL_DIMENSIONS)
    if missing or extra:
        raise ValueError(
            f"{name} must have exactly the dimensions {', '.join(SERVQUAL_DIMENSIONS)}; "
            f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return {d: _number(f"{name}[{d!r}]", values[d]) for d in SERVQUAL_DIMENSIONS}


def servqual_gaps(
    perceptions: Mapping[str, float],
    expectations: Mapping[str, float],
    weights: Mapping[str, float] | None = None,
) -> ServqualResult:
    """SERVQUAL gap scores (Parasuraman, Zeithaml & Berry).

    Inputs: perceptions and expectations map each of the five dimensions (tangibles, reliability,
    responsiveness, assurance, empathy) to a mean score on the 1-7 scale; optional weights map the
    same dimensions to non-negative points summing to 100.
    Output: ServqualResult with gap = P - E per dimension, unweighted = mean of the gaps, and
    weighted = sum(gap * weight / 100) (None without weights).
    Errors: ValueError for missing / unknown dimensions, scores outside 1..7, negative weights, or
    weights not summing to 100.
    """
    p = _dimension_map("perceptions", perceptions)
    e = _dimension_map("expectations", expectations)
    for name, scores in (("perceptions", p), ("expectations", e)):
        for d, v in scores.items():
            if not 1.0 <= v <= 7.0:
                raise ValueError(f"{name}[{d!r}] must be within 1..7, got {v}")
    gaps = {d: p[d] - e[d] for d in SERVQUAL_DIMENSIONS}
    unweighted = math.fsum(gaps.values()) / len(gaps)
    if weights is None:
        return ServqualResult(gaps, unweighted, None)
    w = _dimension_map("weights", weights)
    if any(v < 0 for v in w.values()):
        raise ValueError("weights must be >= 0")
    if not math.isclose(math.fsum(w.values()), 100.0, abs_tol=1e-6):
        raise ValueError(f"weights must sum to 100, got {math.fsum(w.values())}")
    weighted = math.fsum(gaps[d] * w[d] / 100.0 for d in SERVQUAL_DIMENSIONS)
    return ServqualResult(gaps, unweighted, weighted)


# --------------------------------------------------------------------------- consistency


@dataclass(frozen=True)
class SpreadResult:
    n: int  # rates used (None entries dropped)
    min: float | None
    max: float | None
    range: float | None  # max - min
    iqr: float | None  # Q3 - Q1, inclusive (linear) quartiles


def spread(rates: Iterable[float | None]) -> SpreadResult:
    """How consistent a measure is across locations.

    Inputs: one rate per location; None entries (no data) are ignored.
    Output: SpreadResult with min, max, range = max - min and interquartile range. Quartiles use
    statistics.quantiles(method="inclusive"), i.e. linear interpolation as in Excel QUARTILE.INC
    and numpy's default. With one rate range and IQR are 0; with none every field is None.
    Errors: ValueError for non-finite or non-numeric rates.
    """
    values = sorted(_number("rate", r) for r in rates if r is not None)
    if not values:
        return SpreadResult(0, None, None, None, None)
    if len(values) == 1:
        return SpreadResult(1, values[0], values[0], 0.0, 0.0)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return SpreadResult(len(values), values[0], values[-1], values[-1] - values[0], q3 - q1)
