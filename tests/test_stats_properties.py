"""Property-based tests (hypothesis) of the interval and comparison functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from needs_assessment.stats import (
    byars_ci,
    compare_two_proportions,
    compare_two_rates,
    compare_with_benchmark,
    crude_rate,
    dsr,
    esp2013,
    exact_poisson_ci,
    isratio,
    poisson_ci,
    proportion,
    wilson_ci,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
counts = st.integers(min_value=0, max_value=20_000)
positive_counts = st.integers(min_value=1, max_value=20_000)
populations = st.floats(min_value=1.0, max_value=1e7, allow_nan=False)
levels = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])


@SETTINGS
@given(count=counts, denominator=populations, confidence=levels)
def test_rate_interval_contains_estimate(count, denominator, confidence):
    out = crude_rate(count, denominator, confidence=confidence)
    lo, v, hi = out.loc[0, ["lower", "value", "upper"]]
    assert 0 <= lo <= v <= hi
    if count > 0:
        assert lo < v < hi


@SETTINGS
@given(
    count=positive_counts, factor=st.integers(min_value=2, max_value=50), rate=st.floats(1e-5, 0.5)
)
def test_interval_widens_as_counts_fall_at_a_fixed_rate(count, factor, rate):
    small, large = count, count * factor
    out = crude_rate([small, large], [small / rate, large / rate])
    rel_width = (out["upper"] - out["lower"]) / out["value"]
    assert rel_width[0] > rel_width[1]


@SETTINGS
@given(count=counts, denominator=populations)
def test_998_interval_contains_95_interval_for_rates(count, denominator):
    a = crude_rate(count, denominator, confidence=0.95)
    b = crude_rate(count, denominator, confidence=0.998)
    assert b.loc[0, "lower"] <= a.loc[0, "lower"] and a.loc[0, "upper"] <= b.loc[0, "upper"]


@SETTINGS
@given(data=st.data(), confidence=levels)
def test_wilson_limits_inside_unit_interval_and_contain_p(data, confidence):
    n = data.draw(st.integers(min_value=1, max_value=10**7))
    x = data.draw(st.integers(min_value=0, max_value=n))
    lo, hi = wilson_ci(x, n, confidence)
    assert 0.0 <= lo <= x / n <= hi <= 1.0
    wider = proportion(x, n, multiplier=1, confidence=0.998)
    narrower = proportion(x, n, multiplier=1, confidence=0.95)
    assert wider.loc[0, "lower"] <= narrower.loc[0, "lower"] + 1e-15
    assert narrower.loc[0, "upper"] <= wider.loc[0, "upper"] + 1e-15


@SETTINGS
@given(x=st.integers(min_value=0, max_value=5000), confidence=levels)
def test_exact_limits_solve_the_poisson_tail_equations(x, confidence):
    """Exact limits, checked against scipy's Poisson distribution (an independent route)."""
    lo, hi = exact_poisson_ci(x, confidence)
    tail = (1 - confidence) / 2
    assert poisson.cdf(x, hi) == pytest.approx(tail, rel=1e-6)
    if x == 0:
        assert lo == 0
    else:
        assert poisson.sf(x - 1, lo) == pytest.approx(tail, rel=1e-6)


@SETTINGS
@given(x=st.integers(min_value=100, max_value=10**6))
def test_byars_approximates_exact_for_large_counts(x):
    b_lo, b_hi = byars_ci(x)
    e_lo, e_hi = exact_poisson_ci(x)
    assert b_lo == pytest.approx(e_lo, rel=2e-3)
    assert b_hi == pytest.approx(e_hi, rel=2e-3)


def test_poisson_ci_switches_method_at_ten():
    lo, hi = poisson_ci(np.array([9.0, 10.0]))
    e_lo, e_hi = exact_poisson_ci(9.0)
    b_lo, b_hi = byars_ci(10.0)
    assert (lo[0], hi[0]) == (e_lo, e_hi) and (lo[1], hi[1]) == (b_lo, b_hi)


@SETTINGS
@given(
    lower=st.floats(-1e6, 1e6),
    width=st.floats(0, 1e6),
    benchmark=st.floats(-2e6, 2e6),
    polarity=st.sampled_from(["low_is_good", "high_is_good", "no_judgement"]),
)
def test_benchmark_label_consistent_with_interval_position(lower, width, benchmark, polarity):
    upper = lower + width
    label = compare_with_benchmark(lower, upper, benchmark, polarity=polarity)
    position = "above" if lower > benchmark else "below" if upper < benchmark else "overlaps"
    expected = {
        "low_is_good": {"above": "Worse", "below": "Better", "overlaps": "Similar"},
        "high_is_good": {"above": "Better", "below": "Worse", "overlaps": "Similar"},
        "no_judgement": {"above": "Higher", "below": "Lower", "overlaps": "Similar"},
    }[polarity][position]
    assert label == expected


def test_benchmark_missing_inputs_not_compared():
    labels = compare_with_benchmark(
        pd.Series([1.0, np.nan, 1.0]), pd.Series([2.0, 3.0, np.nan]), 0.5, polarity="high_is_good"
    )
    assert labels.tolist() == ["Better", "Not compared", "Not compared"]


band_rates = st.lists(st.floats(1e-4, 0.3), min_size=19, max_size=19)


@SETTINGS
@given(rate=st.floats(1e-3, 0.2), pops=st.lists(st.integers(500, 50_000), min_size=19, max_size=19))
def test_dsr_of_a_constant_age_specific_rate_is_that_rate(rate, pops):
    pops = np.array(pops, dtype=float)
    data = pd.DataFrame({"age_band": esp2013().index, "count": rate * pops, "population": pops})
    out = dsr(data)
    assume(out.loc[0, "total_count"] >= 10)
    assert out.loc[0, "value"] == pytest.approx(rate * 100_000, rel=1e-10)
    assert out.loc[0, "lower"] < out.loc[0, "value"] < out.loc[0, "upper"]


@SETTINGS
@given(rates=band_rates, pops=st.lists(st.integers(200, 20_000), min_size=19, max_size=19))
def test_dsr_998_contains_95(rates, pops):
    pops = np.array(pops, dtype=float)
    data = pd.DataFrame(
        {"age_band": esp2013().index, "count": np.round(np.array(rates) * pops), "population": pops}
    )
    a = dsr(data, confidence=0.95)
    b = dsr(data, confidence=0.998)
    assume(a.loc[0, "total_count"] >= 10)
    assert (
        b.loc[0, "lower"]
        <= a.loc[0, "lower"]
        <= a.loc[0, "value"]
        <= a.loc[0, "upper"]
        <= b.loc[0, "upper"]
    )


@SETTINGS
@given(
    rates=band_rates,
    pops=st.lists(st.integers(200, 20_000), min_size=19, max_size=19),
    scale=st.integers(1, 50),
)
def test_isratio_is_one_when_local_rates_equal_reference_rates(rates, pops, scale):
    pops = np.array(pops, dtype=float)
    rates = np.array(rates)
    data = pd.DataFrame(
        {
            "count": rates * pops,
            "population": pops,
            "reference_count": rates * pops * scale,
            "reference_population": pops * scale,
        }
    )
    out = isratio(data)
    assert out.loc[0, "value"] == pytest.approx(1.0, rel=1e-12)
    assert out.loc[0, "lower"] < 1 < out.loc[0, "upper"]


@SETTINGS
@given(o1=counts, o2=counts, d1=populations, d2=populations)
def test_rate_ratio_interval_contains_ratio_and_is_symmetric_under_swap(o1, o2, d1, d2):
    assume(o1 + o2 > 0)
    a = compare_two_rates(o1, d1, o2, d2).iloc[0]
    b = compare_two_rates(o2, d2, o1, d1).iloc[0]
    assert 0 <= a["p_value"] <= 1 and a["p_value"] == pytest.approx(b["p_value"], rel=1e-9)
    if o1 > 0 and o2 > 0:
        assert a["ratio_lower"] <= a["rate_ratio"] <= a["ratio_upper"]
        assert a["ratio_lower"] == pytest.approx(1 / b["ratio_upper"], rel=1e-6)
    assert a["difference_lower"] <= a["rate_difference"] <= a["difference_upper"]


@SETTINGS
@given(data=st.data())
def test_proportion_difference_interval_contains_difference(data):
    n1 = data.draw(st.integers(1, 5000))
    n2 = data.draw(st.integers(1, 5000))
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    out = compare_two_proportions(x1, n1, x2, n2, multiplier=1).iloc[0]
    assert -1 - 1e-12 <= out["difference_lower"] <= out["difference"] + 1e-12
    assert out["difference"] - 1e-12 <= out["difference_upper"] <= 1 + 1e-12
    assert 0 <= out["p_value"] <= 1
