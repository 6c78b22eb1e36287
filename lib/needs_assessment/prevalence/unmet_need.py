"""Unmet need (treatment gap) and treatment penetration.

Unmet need is the proportion of the estimated population with a need (e.g. OCU or alcohol
dependence) who are *not* in structured treatment: ``1 - n / N``, with ``n`` the number in
treatment (NDTMS) and ``N`` the prevalence estimate. This is the measure OHID publishes as
"proportion of dependent drinkers / opiate and crack users not in treatment" (Public Health
Outcomes Framework C19 family; the OHID drug and alcohol JSNA support packs), computed
there from the prevalence point estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["unmet_need"]

FLAG_OK = ""
FLAG_EXCEEDS_LOWER = "in_treatment_exceeds_lower_estimate"
FLAG_EXCEEDS_ESTIMATE = "in_treatment_exceeds_estimate"
FLAG_EXCEEDS_UPPER = "in_treatment_exceeds_upper_estimate"


def _as_array(value: Any, name: str, n: int | None) -> np.ndarray:
    arr = np.asarray(value.to_numpy() if isinstance(value, pd.Series) else value, dtype=float)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or one-dimensional")
    if n is not None and arr.ndim == 1 and len(arr) != n:
        raise ValueError(f"{name} has length {len(arr)}, expected {n}")
    return arr


def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k/n (Wilson 1927; Newcombe 1998, method 3)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def unmet_need(
    in_treatment: Any,
    estimate: Any,
    lower: Any = None,
    upper: Any = None,
    *,
    binomial: bool = False,
    confidence: float = 0.95,
    index: Any = None,
) -> pd.DataFrame:
    """Proportion of the estimated population not in treatment, with an interval.

    ``in_treatment`` (``n``) and the prevalence ``estimate`` (``N``) with its ``lower`` /
    ``upper`` limits may be scalars or equal-length arrays/Series (one per sub-area and
    substance group); a Series' index is kept (or pass ``index``).

    Method: ``unmet = 1 - n / N``. The interval reflects the prevalence interval, the
    dominant uncertainty: ``1 - n / N_lower`` to ``1 - n / N_upper`` (a smaller population
    means less unmet need). With ``binomial=True`` the proportion in treatment is also given
    a Wilson score interval (Newcombe 1998) at each prevalence limit, treating ``n`` as a
    binomial count out of ``N`` (random variation in who is in treatment), and the wider
    limits are used: lower = ``1 - Wilson_upper(n, N_lower)``, upper =
    ``1 - Wilson_lower(n, N_upper)``. The two sources are combined by taking extremes, which
    is conservative.

    When ``n > N`` the estimate is inconsistent with the treatment count (prevalence too low
    or treatment counts including people outside the estimate's population): ``unmet_need``
    is set to 0 **and** ``flag`` says so (``in_treatment_exceeds_estimate``; also
    ``..._lower_estimate`` / ``..._upper_estimate`` for the limits), with the unclipped value
    kept in ``unmet_need_unclipped``. Check flagged rows before publishing.

    Returns a DataFrame: ``in_treatment``, ``estimate``, ``estimate_lower``,
    ``estimate_upper``, ``not_in_treatment`` (``N - n``, floored at 0), ``unmet_need``,
    ``lower``, ``upper``, ``unmet_need_unclipped``, ``treatment_penetration`` (``n / N``),
    ``flag``. All proportions are in [0, 1] except the unclipped column.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if index is None:
        for value in (in_treatment, estimate, lower, upper):
            if isinstance(value, pd.Series):
                index = value.index
                break
    lengths = {len(np.atleast_1d(np.asarray(v))) for v in (in_treatment, estimate, lower, upper)
               if v is not None and np.ndim(np.asarray(v)) == 1}
    if len(lengths) > 1:
        raise ValueError(f"in_treatment, estimate, lower and upper have different lengths "
                         f"{sorted(lengths)}")
    n_rows = lengths.pop() if lengths else None
    n = _as_array(in_treatment, "in_treatment", n_rows)
    big_n = _as_array(estimate, "estimate", n_rows)
    lo = _as_array(np.nan if lower is None else lower, "lower", n_rows)
    hi = _as_array(np.nan if upper is None else upper, "upper", n_rows)
    shape = (n_rows,) if n_rows is not None else ()
    n, big_n, lo, hi = (np.broadcast_to(a, shape).astype(float) for a in (n, big_n, lo, hi))
    n, big_n, lo, hi = (np.atleast_1d(a) for a in (n, big_n, lo, hi))

    if not np.isfinite(n).all() or (n < 0).any():
        raise ValueError("in_treatment must be finite and non-negative")
    if not np.isfinite(big_n).all() or (big_n <= 0).any():
        raise ValueError("estimate must be finite and positive")
    if (np.isfinite(lo) & (lo <= 0)).any():
        raise ValueError("lower must be positive where given")
    if (np.isfinite(lo) & (lo > big_n)).any():
        raise ValueError("lower must not exceed estimate")
    if (np.isfinite(hi) & (hi < big_n)).any():
        raise ValueError("upper must not be below estimate")

    raw = 1 - n / big_n
    raw_lo = 1 - n / lo
    raw_hi = 1 - n / hi
    if binomial:
        z = stats.norm.ppf(0.5 + confidence / 2)
        _, p_hi_at_lo = _wilson(np.minimum(n, lo), lo, z)
        p_lo_at_hi, _ = _wilson(np.minimum(n, hi), hi, z)
        raw_lo = np.where(np.isfinite(lo), np.minimum(raw_lo, 1 - p_hi_at_lo), np.nan)
        raw_hi = np.where(np.isfinite(hi), np.maximum(raw_hi, 1 - p_lo_at_hi), np.nan)

    flags = np.full(len(n), FLAG_OK, dtype=object)
    flags[np.isfinite(lo) & (n > lo)] = FLAG_EXCEEDS_LOWER
    flags[n > big_n] = FLAG_EXCEEDS_ESTIMATE
    flags[np.isfinite(hi) & (n > hi)] = FLAG_EXCEEDS_UPPER

    frame = pd.DataFrame({
        "in_treatment": n,
        "estimate": big_n,
        "estimate_lower": lo,
        "estimate_upper": hi,
        "not_in_treatment": np.maximum(big_n - n, 0.0),
        "unmet_need": np.clip(raw, 0, 1),
        "lower": np.clip(raw_lo, 0, 1),
        "upper": np.clip(raw_hi, 0, 1),
        "unmet_need_unclipped": raw,
        "treatment_penetration": n / big_n,
        "flag": flags,
    }, index=index if index is not None and len(index) == len(n) else None)
    return frame
