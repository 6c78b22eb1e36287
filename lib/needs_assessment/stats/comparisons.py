"""Tests of the difference between two rates or two proportions.

For "change since the previous assessment" and sub-group comparisons (e.g. male vs
female, local vs England).

Decision: PHStatsMethods has no two-sample comparison, so these are **hand-written** on
scipy / statsmodels:

* :func:`compare_two_rates` -- rate ratio with the *exact conditional* (binomial) method:
  given N = O1 + O2 events, O1 ~ Binomial(N, pi) with pi = RR d1 / (RR d1 + d2), so the
  Clopper-Pearson limits of pi give exact limits for RR and the two-sided binomial test of
  pi = d1 / (d1 + d2) gives the p-value (Armitage P, Berry G, Matthews JNS, *Statistical
  methods in medical research*, 4th edn, 2002; Breslow & Day 1987). The rate difference
  has the MOVER ("square-and-add") limits built from each rate's Fingertips limits (exact
  below 10, Byars from 10): Newcombe RG, *Stat Med* 1998;17:873-890; Zou GY, Donner A,
  *Stat Methods Med Res* 2008;17:91-101. Tested against scipy's binomial test and
  Clopper-Pearson intervals and statsmodels' ``test_poisson_2indep(method='exact-cond')``.
* :func:`compare_two_proportions` -- difference with Newcombe's hybrid score interval
  (method 10, Wilson limits combined square-and-add; Newcombe 1998) via
  ``statsmodels.stats.proportion.confint_proportions_2indep(method='newcomb')``; p-value from
  the Pearson chi-square (pooled z) test via ``test_proportions_2indep(method='score',
  correction=False)``; ratio with the Katz log interval (Katz D, Baptista J, Azen SP, Pike
  MC, *Biometrics* 1978;34:469-474), hand-written because statsmodels' ``method='score'``
  ratio interval returns complex numbers and intervals excluding the estimate when a
  proportion is 1 (e.g. 0/1 vs 1/1 gives 0.5 to 3.84 for a ratio of 0). Tested against
  Newcombe's (1998) Table II, scipy's chi-square and statsmodels' ``method='log'``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import beta, binomtest, norm
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from ._validation import broadcast, check_confidence, check_multiplier, fail_where
from .intervals import _poisson, check_proportion_inputs

__all__ = ["compare_two_proportions", "compare_two_rates"]


def _mover(est1, lo1, hi1, est2, lo2, hi2):
    """MOVER limits for est1 - est2 from each estimate's own limits."""
    diff = est1 - est2
    lower = diff - np.sqrt((est1 - lo1) ** 2 + (hi2 - est2) ** 2)
    upper = diff + np.sqrt((hi1 - est1) ** 2 + (est2 - lo2) ** 2)
    return diff, lower, upper


def compare_two_rates(
    count1,
    denominator1,
    count2,
    denominator2,
    *,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare two crude rates (group 1 vs group 2): ratio, difference, limits and p-value.

    * ``rate_ratio`` = (O1/d1) / (O2/d2), exact conditional limits (Clopper-Pearson on the
      binomial split of O1 + O2 events; Armitage, Berry & Matthews 2002);
    * ``p_value``: two-sided exact conditional binomial test of equal rates;
    * ``rate_difference`` (per ``multiplier``) with MOVER limits built from each rate's
      Fingertips limits (Newcombe 1998; Zou & Donner 2008).

    All arguments broadcast together (scalars, arrays or Series). Events are assumed
    independent Poisson counts; for repeat events or age-standardised rates compare the
    published intervals instead.

    Returns a DataFrame with columns ``rate1``, ``rate2``, ``rate_ratio``, ``ratio_lower``,
    ``ratio_upper``, ``rate_difference``, ``difference_lower``, ``difference_upper``,
    ``p_value``.
    """
    confidence = check_confidence(confidence)
    multiplier = check_multiplier(multiplier)
    (o1, d1, o2, d2), index, _ = broadcast(
        {
            "count1": count1,
            "denominator1": denominator1,
            "count2": count2,
            "denominator2": denominator2,
        }
    )
    for o, name in ((o1, "count1"), (o2, "count2")):
        fail_where(o < 0, name, "must be >= 0", o, index)
        fail_where(
            np.isfinite(o) & (o != np.floor(o)), name, "must be a whole number of events", o, index
        )
    for d, name in ((d1, "denominator1"), (d2, "denominator2")):
        fail_where(d <= 0, name, "must be > 0", d, index)
    alpha = 1.0 - confidence
    n = len(o1)
    ratio = np.full(n, np.nan)
    r_lo = np.full(n, np.nan)
    r_hi = np.full(n, np.nan)
    p = np.full(n, np.nan)
    for i in range(n):
        if not np.all(np.isfinite([o1[i], d1[i], o2[i], d2[i]])):
            continue
        total = int(o1[i] + o2[i])
        k = int(o1[i])
        scale = d2[i] / d1[i]  # RR = pi / (1 - pi) * d2 / d1
        if total == 0:
            p[i] = 1.0
            continue
        p[i] = binomtest(k, total, d1[i] / (d1[i] + d2[i])).pvalue
        pi_lo = 0.0 if k == 0 else beta.ppf(alpha / 2, k, total - k + 1)
        pi_hi = 1.0 if k == total else beta.ppf(1 - alpha / 2, k + 1, total - k)
        with np.errstate(divide="ignore"):
            r_lo[i] = pi_lo / (1 - pi_lo) * scale
            r_hi[i] = np.inf if pi_hi == 1.0 else pi_hi / (1 - pi_hi) * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[i] = (
                (o1[i] / d1[i]) / (o2[i] / d2[i]) if o2[i] > 0 else np.inf if o1[i] > 0 else np.nan
            )
    rate1, rate2 = o1 / d1 * multiplier, o2 / d2 * multiplier
    lo1, hi1 = (v / d1 * multiplier for v in _poisson(o1, confidence))
    lo2, hi2 = (v / d2 * multiplier for v in _poisson(o2, confidence))
    diff, d_lo, d_hi = _mover(rate1, lo1, hi1, rate2, lo2, hi2)
    out = pd.DataFrame(
        {
            "rate1": rate1,
            "rate2": rate2,
            "rate_ratio": ratio,
            "ratio_lower": r_lo,
            "ratio_upper": r_hi,
            "rate_difference": diff,
            "difference_lower": d_lo,
            "difference_upper": d_hi,
            "p_value": p,
        }
    )
    if index is not None:
        out.index = index
    return out


def compare_two_proportions(
    numerator1,
    denominator1,
    numerator2,
    denominator2,
    *,
    multiplier: float = 100,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare two proportions (group 1 vs group 2): difference, ratio, limits and p-value.

    * ``difference`` = p1 - p2 (x ``multiplier``, default percentage points) with
      Newcombe's hybrid score interval (Newcombe RG, *Stat Med* 1998;17:873-890, method 10);
    * ``ratio`` = p1 / p2 with the Katz log interval (*Biometrics* 1978;34:469-474; limits
      NaN when either numerator is 0);
    * ``p_value``: Pearson chi-square test of equal proportions (no continuity correction).

    Computed with statsmodels (``confint_proportions_2indep``, ``test_proportions_2indep``).

    Returns a DataFrame with columns ``proportion1``, ``proportion2`` (x multiplier),
    ``difference``, ``difference_lower``, ``difference_upper``, ``ratio``, ``ratio_lower``,
    ``ratio_upper``, ``p_value``.
    """
    confidence = check_confidence(confidence)
    multiplier = check_multiplier(multiplier)
    (x1, n1, x2, n2), index, _ = broadcast(
        {
            "numerator1": numerator1,
            "denominator1": denominator1,
            "numerator2": numerator2,
            "denominator2": denominator2,
        }
    )
    check_proportion_inputs(x1, n1, index, "numerator1", "denominator1")
    check_proportion_inputs(x2, n2, index, "numerator2", "denominator2")
    alpha = 1.0 - confidence
    n = len(x1)
    cols = {k: np.full(n, np.nan) for k in ("d_lo", "d_hi", "p")}
    for i in range(n):
        if not np.all(np.isfinite([x1[i], n1[i], x2[i], n2[i]])):
            continue
        a, b, c, d = x1[i], n1[i], x2[i], n2[i]
        with np.errstate(divide="ignore", invalid="ignore"):  # statsmodels divides by p2 = 0
            cols["d_lo"][i], cols["d_hi"][i] = confint_proportions_2indep(
                a, b, c, d, method="newcomb", compare="diff", alpha=alpha
            )
        if (a + c) == 0 or (a + c) == (b + d):
            cols["p"][i] = 1.0  # no events (or all events): the proportions cannot differ
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                cols["p"][i] = test_proportions_2indep(
                    a, b, c, d, method="score", compare="diff", correction=False
                ).pvalue
    p1, p2 = x1 / n1, x2 / n2
    # Katz log interval for the ratio of proportions (needs both numerators > 0)
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = p1 / p2
        se_log = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
        usable = (x1 > 0) & (x2 > 0)
        cols["ratio"] = np.where(np.isnan(p1) | np.isnan(p2), np.nan, ratio)
        cols["r_lo"] = np.where(usable, ratio * np.exp(-z * se_log), np.nan)
        cols["r_hi"] = np.where(usable, ratio * np.exp(z * se_log), np.nan)
    out = pd.DataFrame(
        {
            "proportion1": p1 * multiplier,
            "proportion2": p2 * multiplier,
            "difference": (p1 - p2) * multiplier,
            "difference_lower": cols["d_lo"] * multiplier,
            "difference_upper": cols["d_hi"] * multiplier,
            "ratio": cols["ratio"],
            "ratio_lower": cols["r_lo"],
            "ratio_upper": cols["r_hi"],
            "p_value": cols["p"],
        }
    )
    if index is not None:
        out.index = index
    return out
