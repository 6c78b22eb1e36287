"""Confidence limits for a Poisson count and for a binomial proportion.

Methods follow the PHE / OHID *Public Health Technical Guidance* (Fingertips "Confidence
intervals" guide) and the R package PHEindicatormethods.

Decisions after evaluating PHStatsMethods 0.1.16 (DHSC's Python port) against the
reference tables ``PHEindicatormethods/testdata_Byars_Wilson__testdata_B_W.csv``:

* :func:`byars_ci` -- **hand-written**. ``PHStatsMethods.byars_lower/byars_upper`` are not
  Byars' formula for small counts: they silently switch to the exact method when the count
  is below 10 (so ``byars_lower(1)`` returns the exact 0.0253 instead of Byars' 0.01307
  expected by testdata_B_W row 3), ``byars_upper(0)`` raises, and both are scalar-only
  (``math.sqrt``). The vectorised formula here matches testdata_B_W rows 1-6 to 2e-15
  (relative).
* :func:`exact_poisson_ci` -- **wraps** ``PHStatsMethods.exact_lower/exact_upper`` (chi-square
  quantiles, already vectorised), with one fix: ``exact_lower(0)`` is NaN there (scipy's
  ``chi2.ppf(p, 0)``) whereas the exact lower limit of a zero count is 0 (R's
  ``qchisq(p, 0) = 0``). Checked through :func:`poisson_ci` / ``crude_rate`` against
  ``testdata_Rate`` rows 1-2 and 9-10 (exact branch) to 1e-14.
* :func:`poisson_ci` -- the Fingertips rule: exact for counts < 10, Byars otherwise.
* :func:`wilson_ci` -- **wraps** ``PHStatsMethods.wilson_lower/wilson_upper`` (scalar
  functions; vectorised here with ``numpy.vectorize``). Matches testdata_B_W rows 7-12
  (including the non-integer 0.445 of 1) to 4e-16. ``PHStatsMethods.ph_proportion`` itself is
  not used because it only accepts confidence levels in [0.9, 1) and integer multipliers.

All functions take scalars, sequences, numpy arrays or pandas Series (broadcast together)
and return a ``(lower, upper)`` pair of floats, arrays or Series accordingly. Missing inputs
give NaN limits.
"""

from __future__ import annotations

import numpy as np
import PHStatsMethods as phs
from scipy.stats import norm

from ._validation import broadcast, check_confidence, fail_where, wrap_like

__all__ = ["byars_ci", "exact_poisson_ci", "poisson_ci", "wilson_ci"]

#: Counts below this use the exact Poisson limits (Fingertips / PHEindicatormethods rule).
EXACT_BELOW = 10


def _z(confidence: float) -> float:
    return float(norm.ppf(confidence + (1.0 - confidence) / 2.0))


def _byars(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3
        upper = (x + 1.0) * (1.0 - 1.0 / (9.0 * (x + 1.0)) + z / (3.0 * np.sqrt(x + 1.0))) ** 3
    # As PHEindicatormethods::byars_lower: the approximation breaks down for tiny counts
    # (negative or undefined lower limit) -> NaN rather than a misleading number.
    lower = np.where(np.isfinite(lower) & (lower >= 0), lower, np.nan)
    return lower, upper


def _exact(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):
        lower = np.asarray(phs.exact_lower(x, confidence), dtype=float)
        upper = np.asarray(phs.exact_upper(x, confidence), dtype=float)
    lower = np.where(x == 0, 0.0, lower)  # chi2.ppf(p, 0) is NaN; the exact limit is 0
    return lower, upper


def _check_counts(x: np.ndarray, name: str, index) -> None:
    fail_where(x < 0, name, "must be >= 0", x, index)
    fail_where(np.isinf(x), name, "must be finite", x, index)


def byars_ci(count, confidence: float = 0.95):
    """Byars' approximation to the confidence limits of a Poisson count.

    Lower = O (1 - 1/(9O) - z/(3 sqrt O))^3 ; upper = (O+1) (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3,
    with z the two-sided standard normal quantile.

    Source: Breslow NE, Day NE. *Statistical methods in cancer research, volume II*. IARC,
    1987; PHE Public Health Technical Guidance (Fingertips), "Confidence intervals".

    This is the bare approximation (as PHEindicatormethods ``byars_lower/byars_upper``): it
    is inaccurate for small counts, where the lower limit may be undefined (returned as NaN).
    Use :func:`poisson_ci` for the Fingertips rule (exact below 10, Byars from 10).

    Returns ``(lower, upper)`` limits for the *count*; divide by a denominator for a rate.
    """
    confidence = check_confidence(confidence)
    (x,), index, scalar = broadcast({"count": count})
    _check_counts(x, "count", index)
    lower, upper = _byars(x, confidence)
    return wrap_like(lower, index, scalar, "lower"), wrap_like(upper, index, scalar, "upper")


def exact_poisson_ci(count, confidence: float = 0.95):
    """Exact (chi-square based) confidence limits of a Poisson count.

    Lower = chi2_{alpha/2}(2O) / 2 (0 when O = 0); upper = chi2_{1-alpha/2}(2O + 2) / 2.

    Source: Armitage P, Berry G, Matthews JNS. *Statistical methods in medical research*
    (4th edn). Blackwell, 2002; PHE Public Health Technical Guidance. Wraps
    ``PHStatsMethods.exact_lower`` / ``exact_upper``.
    """
    confidence = check_confidence(confidence)
    (x,), index, scalar = broadcast({"count": count})
    _check_counts(x, "count", index)
    lower, upper = _exact(x, confidence)
    return wrap_like(lower, index, scalar, "lower"), wrap_like(upper, index, scalar, "upper")


def _poisson(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    ex_lo, ex_hi = _exact(x, confidence)
    by_lo, by_hi = _byars(x, confidence)
    small = x < EXACT_BELOW
    return np.where(small, ex_lo, by_lo), np.where(small, ex_hi, by_hi)


def poisson_ci(count, confidence: float = 0.95):
    """Fingertips confidence limits of a Poisson count: exact below 10, Byars from 10.

    This is the rule used by ``phe_rate`` / ``calculate_ISRatio`` in PHEindicatormethods and
    described in the PHE Public Health Technical Guidance (exact method: Armitage & Berry
    2002; Byars: Breslow & Day 1987).
    """
    confidence = check_confidence(confidence)
    (x,), index, scalar = broadcast({"count": count})
    _check_counts(x, "count", index)
    lower, upper = _poisson(x, confidence)
    return wrap_like(lower, index, scalar, "lower"), wrap_like(upper, index, scalar, "upper")


_wilson_lower = np.vectorize(phs.wilson_lower, otypes=[float])
_wilson_upper = np.vectorize(phs.wilson_upper, otypes=[float])


def _wilson(num: np.ndarray, den: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(num) & np.isfinite(den)
    lower = np.full(num.shape, np.nan)
    upper = np.full(num.shape, np.nan)
    if ok.any():
        lower[ok] = _wilson_lower(num[ok], den[ok], confidence)
        upper[ok] = _wilson_upper(num[ok], den[ok], confidence)
    # Floating-point rounding can leave x = n at 1 +/- 2e-16 (and x = 0 at +/-1e-17): the exact
    # values there are 1 and 0, and the limits always lie in [0, 1].
    lower = np.where(num == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(num == den, 1.0, np.clip(upper, 0.0, 1.0))
    return lower, upper


def check_proportion_inputs(
    num: np.ndarray, den: np.ndarray, index, num_name: str, den_name: str
) -> None:
    fail_where(num < 0, num_name, "must be >= 0", num, index)
    fail_where(den <= 0, den_name, "must be > 0", den, index)
    fail_where(np.isinf(num), num_name, "must be finite", num, index)
    fail_where(np.isinf(den), den_name, "must be finite", den, index)
    fail_where(num > den, num_name, f"must not exceed {den_name} for a proportion", num, index)


def wilson_ci(numerator, denominator, confidence: float = 0.95):
    """Wilson score confidence limits for the proportion ``numerator / denominator``.

    Limits = (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)), always inside [0, 1].

    Sources: Wilson EB. Probable inference, the law of succession, and statistical
    inference. *J Am Stat Assoc* 1927;22:209-212; Newcombe RG, Altman DG. Proportions and
    their differences. In *Statistics with confidence* (2nd edn), BMJ Books 2000; PHE Public
    Health Technical Guidance. Wraps ``PHStatsMethods.wilson_lower`` / ``wilson_upper``.

    Returns limits as proportions of 1 (multiply by 100 for percentages).
    """
    confidence = check_confidence(confidence)
    (num, den), index, scalar = broadcast({"numerator": numerator, "denominator": denominator})
    check_proportion_inputs(num, den, index, "numerator", "denominator")
    lower, upper = _wilson(num, den, confidence)
    return wrap_like(lower, index, scalar, "lower"), wrap_like(upper, index, scalar, "upper")
