"""Two-group comparisons and trend tests, checked against published worked examples and
independent implementations (scipy, statsmodels, closed-form maximum likelihood)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, binomtest, chi2_contingency, norm
from statsmodels.stats import rates as sm_rates

from needs_assessment.stats import compare_two_proportions, compare_two_rates, trend_test

# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-890, Table II, method 10 (score,
# no continuity correction), published to 4 decimal places.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize("counts,published", NEWCOMBE_TABLE_II)
def test_proportion_difference_matches_newcombe_1998(counts, published):
    out = compare_two_proportions(*counts, multiplier=1)
    assert out.loc[0, "difference"] == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert out.loc[0, "difference_lower"] == pytest.approx(published[0], abs=5e-5)
    assert out.loc[0, "difference_upper"] == pytest.approx(published[1], abs=5e-5)


def test_proportion_p_value_is_pearson_chi_square():
    out = compare_two_proportions([56, 30], [70, 200], [48, 20], [80, 210])
    for i, (a, b, c, d) in enumerate([(56, 70, 48, 80), (30, 200, 20, 210)]):
        expected = chi2_contingency([[a, b - a], [c, d - c]], correction=False).pvalue
        assert out.loc[i, "p_value"] == pytest.approx(expected, rel=1e-9)
    assert out.loc[0, "proportion1"] == pytest.approx(80.0)
    assert out.loc[0, "difference"] == pytest.approx(20.0)


def test_proportion_ratio_interval_contains_ratio():
    out = compare_two_proportions(30, 200, 20, 210)
    assert out.loc[0, "ratio_lower"] < out.loc[0, "ratio"] < out.loc[0, "ratio_upper"]


def test_rate_ratio_exact_conditional_against_scipy_and_statsmodels():
    o1, d1, o2, d2 = 45, 120_000, 28, 130_000
    out = compare_two_rates(o1, d1, o2, d2)
    n = o1 + o2
    # independent reconstruction: Clopper-Pearson limits of the binomial share, mapped to RR
    lo_pi, hi_pi = beta.ppf(0.025, o1, n - o1 + 1), beta.ppf(0.975, o1 + 1, n - o1)
    assert out.loc[0, "ratio_lower"] == pytest.approx(lo_pi / (1 - lo_pi) * d2 / d1, rel=1e-10)
    assert out.loc[0, "ratio_upper"] == pytest.approx(hi_pi / (1 - hi_pi) * d2 / d1, rel=1e-10)
    ci = binomtest(o1, n).proportion_ci(confidence_level=0.95, method="exact")
    assert out.loc[0, "ratio_lower"] == pytest.approx(ci.low / (1 - ci.low) * d2 / d1, rel=1e-8)
    expected_p = sm_rates.test_poisson_2indep(o1, d1, o2, d2, method="exact-cond").pvalue
    assert out.loc[0, "p_value"] == pytest.approx(expected_p, rel=1e-9)
    assert out.loc[0, "rate_ratio"] == pytest.approx((o1 / d1) / (o2 / d2))


def test_rate_difference_mover_uses_fingertips_limits():
    from needs_assessment.stats import crude_rate

    out = compare_two_rates(45, 120_000, 28, 130_000)
    r = crude_rate([45, 28], [120_000, 130_000])
    diff = r.loc[0, "value"] - r.loc[1, "value"]
    assert out.loc[0, "rate_difference"] == pytest.approx(diff)
    low = diff - np.hypot(
        r.loc[0, "value"] - r.loc[0, "lower"], r.loc[1, "upper"] - r.loc[1, "value"]
    )
    assert out.loc[0, "difference_lower"] == pytest.approx(low)


def test_rate_comparison_with_zero_counts():
    out = compare_two_rates([0, 5, 0], [1000, 1000, 1000], [5, 0, 0], [1000, 1000, 1000])
    assert out.loc[0, "rate_ratio"] == 0 and out.loc[0, "ratio_lower"] == 0
    assert out.loc[1, "ratio_upper"] == np.inf
    assert out.loc[2, "p_value"] == 1.0 and np.isnan(out.loc[2, "rate_ratio"])


def test_rate_comparison_identical_groups_not_significant():
    out = compare_two_rates(50, 10_000, 50, 10_000)
    assert out.loc[0, "p_value"] == pytest.approx(1.0)
    assert out.loc[0, "ratio_lower"] < 1 < out.loc[0, "ratio_upper"]


YEARS = np.arange(2013, 2023)


@pytest.mark.filterwarnings("ignore:Perfect separation")  # exact-fit data: zero deviance
def test_poisson_trend_recovers_exact_log_linear_trend():
    # counts exactly on a log-linear curve: the ML slope is the true slope whatever the offset
    pop = np.linspace(90_000, 110_000, len(YEARS))
    counts = pop * np.exp(-7.0 + 0.05 * (YEARS - 2013))
    res = trend_test(YEARS, counts, pop, kind="rate")
    assert res["slope"] == pytest.approx(0.05, abs=1e-9)
    assert res["ratio_per_year"] == pytest.approx(np.exp(0.05), rel=1e-9)
    assert res["direction"] == "increasing"


def test_poisson_trend_standard_error_matches_fisher_information():
    pop = np.full(len(YEARS), 50_000.0)
    counts = np.array([30, 35, 33, 41, 38, 45, 50, 47, 55, 60], dtype=float)
    res = trend_test(YEARS, counts, pop, kind="rate")
    # closed form: at the MLE the Fisher information is X' W X with W = fitted counts
    x = np.column_stack([np.ones(len(YEARS)), YEARS - YEARS.mean()])
    b = np.array([np.log(counts.sum() / pop.sum()), res["slope"]])
    for _ in range(50):  # Newton-Raphson, independent of statsmodels
        mu = pop * np.exp(x @ b)
        b = b + np.linalg.solve(x.T @ (x * mu[:, None]), x.T @ (counts - mu))
    mu = pop * np.exp(x @ b)
    se = np.sqrt(np.linalg.inv(x.T @ (x * mu[:, None]))[1, 1])
    assert res["slope"] == pytest.approx(b[1], rel=1e-8)
    assert res["slope_se"] == pytest.approx(se, rel=1e-6)
    assert res["p_value"] == pytest.approx(2 * norm.sf(abs(b[1] / se)), rel=1e-6)
    assert res["ratio_lower"] == pytest.approx(np.exp(b[1] - norm.ppf(0.975) * se), rel=1e-6)


@pytest.mark.filterwarnings("ignore:Perfect separation")  # exact-fit data: zero deviance
def test_binomial_trend_recovers_exact_logistic_trend():
    denom = np.full(len(YEARS), 10_000.0)
    p = 1 / (1 + np.exp(-(-1.0 - 0.08 * (YEARS - 2013))))
    res = trend_test(YEARS, denom * p, denom, kind="proportion", confidence=0.998)
    assert res["slope"] == pytest.approx(-0.08, abs=1e-9)
    assert res["direction"] == "decreasing"
    assert res["kind"] == "proportion" and res["confidence"] == 0.998


@pytest.mark.filterwarnings("ignore:Perfect separation")  # exact-fit data: zero deviance
def test_flat_series_is_no_significant_change():
    res = trend_test(YEARS, np.full(len(YEARS), 40.0), np.full(len(YEARS), 80_000.0))
    assert res["direction"] == "no significant change"
    assert res["slope"] == pytest.approx(0.0, abs=1e-10)


def test_trend_with_no_events_is_not_calculable():
    res = trend_test(YEARS, np.zeros(len(YEARS)), np.full(len(YEARS), 1000.0))
    assert res["direction"] == "not calculable" and np.isnan(res["p_value"])


def test_overdispersion_widens_interval():
    counts = np.array([30, 60, 25, 70, 35, 80, 30, 90, 40, 85], dtype=float)
    pop = np.full(len(YEARS), 50_000.0)
    plain = trend_test(YEARS, counts, pop)
    quasi = trend_test(YEARS, counts, pop, overdispersion=True)
    assert quasi["dispersion"] > 1
    assert quasi["slope"] == pytest.approx(plain["slope"])
    assert quasi["slope_se"] > plain["slope_se"]


def test_trend_needs_three_time_points():
    with pytest.raises(ValueError, match="at least 3 distinct time points"):
        trend_test([2020, 2021], [5, 6], [1000, 1000])


def test_proportion_ratio_katz_matches_statsmodels_log_method():
    from statsmodels.stats.proportion import confint_proportions_2indep

    for a, b, c, d in [(30, 200, 20, 210), (5, 56, 3, 29), (9, 10, 3, 10)]:
        out = compare_two_proportions(a, b, c, d, confidence=0.9).iloc[0]
        lo, hi = confint_proportions_2indep(a, b, c, d, method="log", compare="ratio", alpha=0.1)
        assert out["ratio_lower"] == pytest.approx(lo, rel=1e-10)
        assert out["ratio_upper"] == pytest.approx(hi, rel=1e-10)


def test_proportion_ratio_with_a_zero_numerator():
    out = compare_two_proportions(0, 1, 1, 1).iloc[0]
    assert out["ratio"] == 0 and np.isnan(out["ratio_lower"])
