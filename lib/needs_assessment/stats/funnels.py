"""Funnel-plot control limits and funnel-plot significance.

Method: PHE / OHID Public Health Technical Guidance ("Funnel plots"), Spiegelhalter DJ.
Funnel plots for comparing institutional performance. *Stat Med* 2005;24:1185-1202;
PHEindicatormethods ``calculate_funnel_limits`` / ``assign_funnel_significance``.
Control limits at 2 and 3 standard deviations are the 95% (p = 0.025 each side) and
99.8% (p = 0.001 each side) limits around the overall (pooled) average: Wilson-type
limits for proportions, exact Poisson limits for ratios and rates.

Decision: **wraps** ``PHStatsMethods.calculate_funnel_limits`` and
``assign_funnel_significance``. Evidence (pandas 3.1): the limits match the
PHEindicatormethods reference tables ``testdata_funnel_prop_outputs`` (and
``_with_axis_variation``), ``testdata_funnel_ratio_outputs`` (count and ISR types) and
``testdata_funnel_rate_outputs`` / ``_2`` / ``_3`` (DSR and crude rates) at their published
precision, and the significance labels match every expected label in
``testdata_funnel_prop_inputs``, ``testdata_funnel_ratio_inputs`` and the eight scenarios
of ``testdata_funnel_rate_dsr_inputs`` (after mapping PHStatsMethods' "... DSRs" wording
to PHEindicatormethods' "... dsrs"). This module adds array inputs, argument checks that
name the offending position, and sensible defaults.

Over-dispersion (comparing many areas): :func:`overdispersed_limits` and the small functions
it is built from. Method: Spiegelhalter DJ. Funnel plots for comparing institutional
performance. *Stat Med* 2005;24:1185-1202 and Handling over-dispersion of performance
indicators. *Qual Saf Health Care* 2005;14:347-351, as implemented in R's FunnelPlotR
(Chris Mainey; ``transformed_zscore``, ``winsorisation``, ``phi_func``, ``tau_func``,
``calculate_limits``). Each area's indicator is put on a variance-stabilising scale
(square root or log for Poisson counts, arcsine-square-root for proportions) where its
standard error under the null is ``s_i``; z-scores are Winsorised at the 10th/90th
percentiles; phi = mean(z^2); the limits are widened either multiplicatively
(``target +/- z_alpha * sqrt(phi) * s_i``) or by an additive between-area variance tau^2
(DerSimonian-Laird moment estimator) and transformed back.

Decision: **hand-written**. No Python package implements Winsorised phi or funnel limits
with a random-effects adjustment around a fixed target (``statsmodels``'
``combine_effects`` estimates the DerSimonian-Laird tau^2 only around its own weighted
mean, without Winsorising, so cannot reproduce FunnelPlotR's estimate). Evidence: with no
Winsorising and the fixed-effect mean as target, phi and tau^2 reproduce the published
Q = 152.2330 and tau^2 = 0.3088 of the BCG vaccine meta-analysis (metafor's tests, checked
against Stata ``metan``). Seeded simulations of 150 areas (gamma-Poisson ratios and
rates, negative-binomial and beta-binomial areas; tests/test_stats_funnels_overdispersion.py)
show that without Winsorising (``trim=0``) phi and tau^2 are recovered to within 10-15% and
adjusted 95% limits hold 93-97% of areas, against under 75% for unadjusted limits. With
the default 10% Winsorising, tau^2 comes out at about 40% of its true value when every
area follows the random-effects model, so the 95% limits hold about 85% of areas: the
price of the published method's protection against a few outlying areas inflating phi.
"""

from __future__ import annotations

import contextlib
import numbers
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import PHStatsMethods as phs
import PHStatsMethods.funnels as _phs_funnels
from scipy.stats import chi2, norm

from ._validation import (
    as_float_array,
    broadcast,
    check_choice,
    check_confidence,
    check_multiplier,
    fail_where,
)

__all__ = [
    "FUNNEL_TRANSFORMS",
    "OVERDISPERSION_METHODS",
    "SIGNIFICANCE_LABELS",
    "OverdispersedFunnel",
    "back_transform",
    "between_unit_variance",
    "control_limits",
    "dispersion_ratio",
    "funnel_limits",
    "funnel_significance",
    "funnel_z_scores",
    "overdispersed_limits",
    "overdispersion_test",
    "transform_indicator",
    "winsorise",
]

#: Labels returned by :func:`funnel_significance`, from most significantly high to low.
SIGNIFICANCE_LABELS = (
    "High (0.001)",  # above the upper 99.8% (3 SD) limit
    "High (0.025)",  # above the upper 95% (2 SD) limit, inside 99.8%
    "Not significant",  # inside the 95% limits
    "Low (0.025)",  # below the lower 95% limit, inside 99.8%
    "Low (0.001)",  # below the lower 99.8% limit
)
DSR_NOT_APPLICABLE = "Not applicable for events less than 10 for dsrs"

_STATISTICS = ("proportion", "rate", "ratio")


def _inputs(numerator, denominator, rate, statistic, rate_type):
    named = {"numerator": numerator}
    if denominator is not None:
        named["denominator"] = denominator
    if rate is not None:
        named["rate"] = rate
    arrays, index, _ = broadcast(named)
    values = dict(zip(named, arrays, strict=True))
    num = values["numerator"]
    fail_where(np.isnan(num), "numerator", "must not be missing (use 0 for no events)", num, index)
    fail_where(num < 0, "numerator", "must be >= 0", num, index)
    den = values.get("denominator")
    if den is not None:
        fail_where(np.isnan(den), "denominator", "must not be missing", den, index)
        fail_where(den <= 0, "denominator", "must be > 0", den, index)
    if statistic in ("proportion", "ratio") and den is None:
        raise ValueError(f"denominator is required for statistic={statistic!r}")
    if statistic == "proportion":
        fail_where(
            num > den, "numerator", "must not exceed denominator for a proportion", num, index
        )
    r = values.get("rate")
    if statistic == "rate":
        if r is None:
            raise ValueError(
                "rate is required for statistic='rate' (the published rate of each area)"
            )
        check_choice(rate_type, "rate_type", ("dsr", "crude"))
        if den is None:
            fail_where(
                np.isnan(r), "rate", "must not be missing when no denominator is given", r, index
            )
            fail_where(
                num == 0,
                "numerator",
                "is 0, so a denominator is needed to place the area",
                num,
                index,
            )
        fail_where(r < 0, "rate", "must be >= 0", r, index)
        if rate_type == "dsr":
            fail_where((num > 0) & ~(r > 0), "rate", "must be > 0 where there are events", r, index)
    frame = pd.DataFrame({"numerator": num})
    if den is not None:
        frame["denominator"] = den
    if r is not None:
        frame["rate"] = r
    return frame, index, den is not None, r is not None


def _positive_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and np.isfinite(x) and x > 0


# PHStatsMethods finds each exact Poisson limit of a ratio or rate funnel by bisection
# over a pure-Python Poisson series (``utils_funnel.poisson_funnel``), for 100 event
# counts x 4 limits per funnel. The limit is a function of the event count, the tail
# probability and the side only, and funnels drawn in one chapter share most of their
# event counts (every axis starts 1, 2, 3, ...), so the values are kept for the life of
# the process: the places chapter's seven funnels made 2,800 calls for 1,024 distinct
# limits (2.3 of its CPU seconds). The package's own function computes every value, so
# the limits are bit for bit the package's.
_POISSON_LIMITS: dict[tuple[float, float, str], float] = {}
_POISSON_LOCK = threading.Lock()
_POISSON_FUNNEL = _phs_funnels.poisson_funnel


def _remembered_poisson_funnel(obs, p, side):
    key = (obs, p, side)  # 12 and 12.0 are one key, and give the same limit
    value = _POISSON_LIMITS.get(key)
    if value is None:
        value = _POISSON_FUNNEL(obs, p, side)
        _POISSON_LIMITS[key] = value
    return value


@contextlib.contextmanager
def _remembering_poisson_limits() -> Iterator[None]:
    """While the block runs, PHStatsMethods' funnel code looks its Poisson limits up in
    ``_POISSON_LIMITS`` (computing and keeping any it lacks) instead of recomputing them.
    The package's module is restored when the block ends; the lock keeps two threads
    from restoring it under each other."""
    with _POISSON_LOCK:
        _phs_funnels.poisson_funnel = _remembered_poisson_funnel
        try:
            yield
        finally:
            _phs_funnels.poisson_funnel = _POISSON_FUNNEL


def funnel_limits(
    numerator,
    denominator=None,
    *,
    statistic: str,
    multiplier: float | None = None,
    rate=None,
    rate_type: str | None = None,
    ratio_type: str | None = None,
    years_of_data: int | None = None,
) -> pd.DataFrame:
    """Funnel-plot control limits (95% = 2 SD and 99.8% = 3 SD) over a range of sizes.

    Returns the 100-row table Fingertips / PHEindicatormethods use to draw the funnel,
    computed from the areas supplied (their pooled average is the baseline).

    Parameters
    ----------
    numerator
        Events per area (all areas on the plot; zeros allowed, missing values not).
    denominator
        Population per area (``statistic='proportion'``), expected events per area
        (``'ratio'``), or population for rates (optional; needed for areas with 0 events).
    statistic
        ``'proportion'``, ``'ratio'`` (indirectly standardised ratio or observed/expected
        count) or ``'rate'`` (crude rate or DSR).
    multiplier
        Scale of the plotted values: default 100 (percentages) for proportions, 100 000
        for rates; ignored for ratios (``ratio_type`` sets the scale).
    rate, rate_type
        For rates: each area's published rate (per ``multiplier``) and ``'dsr'`` or
        ``'crude'``; the denominator is derived as numerator / rate for DSRs.
    ratio_type
        For ratios: ``'isr'`` (limits x 100, as Fingertips ISRs) or ``'count'`` (limits as
        ratio - 1).
    years_of_data
        For rates: number of years pooled (the x axis is per year of population).

    Returns
    -------
    DataFrame with the x-axis column (``Population`` for proportions, ``Observed_events``
    for ratios, ``Events`` for rates), ``lower_2s_limit``, ``upper_2s_limit``,
    ``lower_3s_limit``, ``upper_3s_limit``, for proportions and rates a ``baseline``, for
    ratios the expected events at each limit (``*_exp_events``), for rates the population
    per year at each limit (``*_population_1_year``), then ``statistic`` and ``method``.
    """
    check_choice(statistic, "statistic", _STATISTICS)
    if statistic == "ratio":
        check_choice(ratio_type, "ratio_type", ("isr", "count"))
        mult = 1.0
    else:
        default = 100 if statistic == "proportion" else 100_000
        mult = check_multiplier(default if multiplier is None else multiplier)
    if statistic == "rate" and not _positive_number(years_of_data):
        raise ValueError(
            f"years_of_data must be a positive number for rates; got {years_of_data!r}"
        )
    frame, _, has_den, _ = _inputs(numerator, denominator, rate, statistic, rate_type)
    if len(frame) == 0:
        raise ValueError("funnel_limits needs at least one area")
    mult_arg = int(mult) if float(mult).is_integer() else mult
    with _remembering_poisson_limits():
        table = phs.calculate_funnel_limits(
            frame,
            "numerator",
            statistic,
            mult_arg,
            denom_col="denominator" if has_den else None,
            metadata=True,
            rate="rate" if statistic == "rate" else None,
            rate_type=rate_type,
            ratio_type=ratio_type,
            years_of_data=years_of_data,
        )
    return table.rename(columns={"Statistic": "statistic", "Method": "method"})


def funnel_significance(
    numerator,
    denominator=None,
    *,
    statistic: str,
    rate=None,
    rate_type: str | None = None,
    multiplier: float | None = None,
):
    """Where each area falls against the funnel-plot control limits.

    Labels (see :data:`SIGNIFICANCE_LABELS`): "High (0.001)" above the 99.8% limit, "High
    (0.025)" above the 95% limit only, "Not significant" inside the 95% limits, "Low
    (0.025)" and "Low (0.001)" below. DSR funnels label areas with fewer than 10 events
    "Not applicable for events less than 10 for dsrs" (as PHEindicatormethods).

    Arguments as :func:`funnel_limits` (``multiplier`` is needed only for rates; default
    100 000). Returns a Series indexed like the first Series input (else 0..n-1).
    """
    check_choice(statistic, "statistic", _STATISTICS)
    frame, index, has_den, _ = _inputs(numerator, denominator, rate, statistic, rate_type)
    mult = None
    if statistic == "rate":
        mult = check_multiplier(100_000 if multiplier is None else multiplier)
        mult = int(mult) if float(mult).is_integer() else mult
    out = phs.assign_funnel_significance(
        frame,
        "numerator",
        statistic,
        denom_col="denominator" if has_den else None,
        rate="rate" if statistic == "rate" else None,
        rate_type=rate_type,
        multiplier=mult,
    )
    labels = out["significance"].replace(
        {"Not applicable for events less than 10 for DSRs": DSR_NOT_APPLICABLE}
    )
    result = pd.Series(
        labels.to_numpy(),
        index=index if index is not None else None,
        name="significance",
        dtype="str",
    )
    return result


# ----------------------------------------------------------------- over-dispersion
#: Variance-stabilising scales allowed for each statistic; the first is the default.
FUNNEL_TRANSFORMS = {
    "ratio": ("sqrt", "log"),
    "rate": ("sqrt", "log"),
    "proportion": ("arcsine",),
}
OVERDISPERSION_METHODS = ("auto", "none", "multiplicative", "additive")
_SCALE_NAMES = {"sqrt": "square-root scale", "log": "log scale",
                "arcsine": "arcsine-square-root scale"}


def _check_transform(statistic: str, transform: str | None) -> str:
    check_choice(statistic, "statistic", _STATISTICS)
    allowed = FUNNEL_TRANSFORMS[statistic]
    if transform is None:
        return allowed[0]
    return check_choice(transform, f"transform (for statistic={statistic!r})", allowed)


def _check_scale(transform: str) -> str:
    return check_choice(transform, "transform", ("sqrt", "log", "arcsine"))


def transform_indicator(value, *, transform: str) -> np.ndarray:
    """Put indicator values on the variance-stabilising scale of the funnel plot.

    ``'sqrt'``: sqrt(value) and ``'log'``: log(value), for a Poisson count relative to its
    expected value (observed / expected, or a rate divided by the target rate);
    ``'arcsine'``: arcsin(sqrt(value)) for a proportion in [0, 1]. Source: Spiegelhalter,
    *Stat Med* 2005;24:1185-1202 (variance-stabilising transformations of proportions and
    Poisson counts); FunnelPlotR ``transformed_zscore`` (``"CQC"`` square root and ``"SHMI"`` log
    for standardised ratios, arcsine for proportions).
    """
    transform = _check_scale(transform)
    v = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore"):
        if transform == "sqrt":
            return np.sqrt(v)
        if transform == "log":
            return np.log(v)
        return np.arcsin(np.sqrt(v))


def back_transform(y, *, transform: str) -> np.ndarray:
    """Inverse of :func:`transform_indicator`, used to draw limits on the indicator's scale.

    Limits that cross the edge of the transformed scale are held at the edge (0 for a
    square root, 0 and 1 for an arcsine), so a lower limit never turns back upwards:
    (1 - z s)^2 would otherwise rise again once z s > 1. (FunnelPlotR
    ``calculate_limits`` squares without this floor.)
    """
    transform = _check_scale(transform)
    y = np.asarray(y, dtype=float)
    if transform == "sqrt":
        return np.square(np.clip(y, 0.0, None))
    if transform == "log":
        return np.exp(y)
    return np.square(np.sin(np.clip(y, 0.0, np.pi / 2)))


def null_standard_error(size, *, transform: str) -> np.ndarray:
    """Standard error s_i of an area's transformed indicator if it were on target.

    ``size`` is the expected count under the target for Poisson indicators (expected
    events x target ratio, or population x target rate) and the denominator for
    proportions.

    * square root of a Poisson count relative to its expected value E:
      s = 1 / (2 sqrt(E)), since var(sqrt(O)) ~ 1/4;
    * log of the same: s = 1 / sqrt(E), since var(log O) ~ 1 / E;
    * arcsine-square-root of a proportion of n: s = 1 / (2 sqrt(n)).

    Source: Spiegelhalter, *Stat Med* 2005;24:1185-1202; FunnelPlotR
    ``transformed_zscore``.
    """
    transform = _check_scale(transform)
    size = np.asarray(size, dtype=float)
    with np.errstate(divide="ignore"):
        if transform == "log":
            return 1.0 / np.sqrt(size)
        return 1.0 / (2.0 * np.sqrt(size))


def _relative(statistic: str, num, den, target: float):
    """(value on the transformed scale's natural input, size for the standard error,
    target on that input scale). Poisson indicators are taken relative to the target:
    O / (target x denominator), whose target is 1; proportions are used as they are."""
    if statistic == "proportion":
        return num / den, den, target
    expected = target * den
    return num / expected, expected, 1.0


def funnel_z_scores(
    numerator,
    denominator,
    *,
    statistic: str,
    target: float | None = None,
    transform: str | None = None,
) -> pd.DataFrame:
    """Each area's z-score on the funnel plot's transformed scale, with its standard error.

    z_i = (g(y_i) - g(target)) / s_i, where g is :func:`transform_indicator` and s_i is
    :func:`null_standard_error`. For ratios and rates y_i = O_i / E_i with E_i = target x
    denominator (so g(target) = g(1)): on the square-root scale z_i = 2 (sqrt(O_i) -
    sqrt(E_i)), on the log scale z_i = sqrt(E_i) log(O_i / E_i). For proportions
    y_i = numerator / denominator and s_i = 1 / (2 sqrt(denominator)). Source:
    Spiegelhalter, *Stat Med* 2005;24:1185-1202 and *Qual Saf Health Care*
    2005;14:347-351; FunnelPlotR ``transformed_zscore``.

    ``target`` is on the natural scale (a proportion of 1, a rate per person): default 1
    for ratios (observed / expected), the pooled value sum(numerator) /
    sum(denominator) for rates and proportions.

    Returns a DataFrame indexed like the first Series input (else 0..n-1) with ``value``
    (numerator / denominator), ``y`` (transformed), ``target_transformed``, ``se`` and
    ``z``.
    """
    transform = _check_transform(statistic, transform)
    num, den, index = _od_inputs(numerator, denominator, statistic, transform)
    t = _od_target(num, den, statistic, transform, target, multiplier=1.0)
    return _z_frame(num, den, statistic, transform, t, index)


def _z_frame(num, den, statistic, transform, t, index) -> pd.DataFrame:
    rel, size, rel_target = _relative(statistic, num, den, t)
    y = transform_indicator(rel, transform=transform)
    yt = float(transform_indicator(rel_target, transform=transform))
    se = null_standard_error(size, transform=transform)
    frame = pd.DataFrame(
        {"value": num / den, "y": y, "target_transformed": yt, "se": se, "z": (y - yt) / se}
    )
    if index is not None:
        frame.index = index
    return frame


def winsorise(z, trim: float = 0.1) -> np.ndarray:
    """Winsorise z-scores: values below the ``trim`` quantile are set to it, values above
    the ``1 - trim`` quantile to that (default 10th and 90th percentiles).

    Quantiles by linear interpolation (numpy's default, R's ``quantile`` type 7), as
    FunnelPlotR ``winsorisation`` (``trim_by = 0.1``); Spiegelhalter, *Qual Saf Health
    Care* 2005;14:347-351 and its online appendix ("set the lowest 100q% of z-scores to
    Z_q, and the highest 100q% to Z_1-q"). ``trim = 0`` returns z unchanged.
    """
    trim = _check_trim(trim)
    z = np.asarray(z, dtype=float)
    if trim == 0 or z.size == 0:
        return z.copy()
    lo, hi = np.quantile(z, [trim, 1.0 - trim])
    return np.clip(z, lo, hi)


def dispersion_ratio(z, trim: float = 0.1) -> float:
    """Over-dispersion factor phi = (1 / I) sum(z_i^2) of the (Winsorised) z-scores.

    phi is near 1 when the areas vary only by chance. Source: Spiegelhalter, *Stat Med*
    2005;24:1185-1202 and *Qual Saf Health Care* 2005;14:347-351; FunnelPlotR ``phi_func``
    after ``winsorisation``.

    Winsorising the 10% at each end pulls phi below 1 when there is no over-dispersion
    (to about 0.68 for normal z-scores) and below its true value when there is some; it
    is the published method, chosen to stop a few outliers inflating phi.
    """
    zw = winsorise(z, trim)
    if zw.size == 0:
        raise ValueError("dispersion_ratio needs at least one z-score")
    return float(np.mean(np.square(zw)))


def overdispersion_test(phi: float, n_units: int) -> tuple[float, int, float]:
    """Test for over-dispersion: compare I x phi with a chi-squared distribution on I - 1
    degrees of freedom (I = number of areas).

    Returns ``(statistic, df, p_value)``; the p-value is NaN for fewer than 2 areas.
    With no over-dispersion, I x phi = sum(z_i^2) is approximately chi-squared (Pearson's
    dispersion test; Spiegelhalter, *Stat Med* 2005;24:1185-1202 and *Qual Saf Health
    Care* 2005;14:347-351). I - 1 degrees of freedom, the expectation I - 1 that
    :func:`between_unit_variance` subtracts. Given a Winsorised phi (about 0.68 with no
    over-dispersion) the test is conservative: it rarely finds over-dispersion by chance
    and needs more of it to find it.
    """
    stat = float(n_units * phi)
    df = int(n_units) - 1
    if df < 1:
        return stat, df, float("nan")
    return stat, df, float(chi2.sf(stat, df))


def between_unit_variance(phi: float, se) -> float:
    """Additive random-effects variance between areas, on the transformed scale.

    tau^2 = max(0, (I phi - (I - 1)) / (sum(w) - sum(w^2) / sum(w))), w_i = 1 / s_i^2:
    the DerSimonian-Laird (1986) moment estimator with I phi in place of Cochran's Q.
    Source: Spiegelhalter, *Qual Saf Health Care* 2005;14:347-351 and *Stat Med*
    2005;24:1185-1202; DerSimonian & Laird, *Control Clin Trials* 1986;7:177-188;
    FunnelPlotR ``tau_func``. 0 for fewer than 2 areas
    (the between-area variance cannot be estimated from one area).
    """
    s = np.asarray(se, dtype=float)
    n = s.size
    if n < 2:
        return 0.0
    w = 1.0 / np.square(s)
    denominator = w.sum() - np.square(w).sum() / w.sum()
    if not denominator > 0:  # all weights equal and n >= 2 still gives (n - 1) w > 0
        return 0.0
    return float(max(0.0, (n * phi - (n - 1)) / denominator))


def control_limits(
    denominator,
    *,
    statistic: str,
    target: float,
    confidence: float,
    transform: str | None = None,
    phi: float = 1.0,
    tau2: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper funnel limits on the natural scale for areas of the given size(s).

    On the transformed scale: g(target) +/- z_alpha sqrt(phi s_i^2 + tau^2), where
    z_alpha is the standard normal quantile for the two-sided ``confidence`` (1.959964 for
    0.95, 3.090232 for 0.998) and s_i is :func:`null_standard_error`. ``phi``
    (multiplicative: sqrt(phi) s_i) and ``tau2`` (additive random effects:
    sqrt(s_i^2 + tau^2)) are used one at a time; phi = 1, tau2 = 0 gives unadjusted
    limits. For ratios and rates the limits are target x g^-1(g(1) +/- ...), e.g.
    target x exp(+/- z_alpha sqrt(1 / E + tau^2)) on the log scale. Back-transformed with
    :func:`back_transform`. Source: Spiegelhalter, *Qual Saf Health Care* 2005;14:347-351
    (multiplicative and additive limits) and *Stat Med* 2005;24:1185-1202; FunnelPlotR
    ``calculate_limits``. ``target`` is on the natural scale.
    """
    transform = _check_transform(statistic, transform)
    confidence = check_confidence(confidence)
    den = np.asarray(denominator, dtype=float)
    z_alpha = float(norm.ppf(0.5 + confidence / 2.0))
    if statistic == "proportion":
        size, centre, scale = den, target, 1.0
    else:
        size, centre, scale = target * den, 1.0, target
    s = null_standard_error(size, transform=transform)
    sd = np.sqrt(phi * np.square(s) + tau2)
    yt = float(transform_indicator(centre, transform=transform))
    lower = scale * back_transform(yt - z_alpha * sd, transform=transform)
    upper = scale * back_transform(yt + z_alpha * sd, transform=transform)
    return lower, upper


def _check_trim(trim) -> float:
    if isinstance(trim, bool) or not isinstance(trim, numbers.Real) or not 0 <= trim < 0.5:
        raise ValueError(
            f"trim must be a number in [0, 0.5), e.g. 0.1 to Winsorise 10% at each end; "
            f"got {trim!r}"
        )
    return float(trim)


def _od_inputs(numerator, denominator, statistic, transform):
    (num, den), index, _ = broadcast({"numerator": numerator, "denominator": denominator})
    fail_where(np.isnan(num), "numerator", "must not be missing (use 0 for no events)", num, index)
    fail_where(np.isinf(num), "numerator", "must be finite", num, index)
    fail_where(num < 0, "numerator", "must be >= 0", num, index)
    fail_where(np.isnan(den), "denominator", "must not be missing", den, index)
    fail_where(np.isinf(den), "denominator", "must be finite", den, index)
    fail_where(den <= 0, "denominator", "must be > 0", den, index)
    if statistic == "proportion":
        fail_where(
            num > den, "numerator", "must not exceed denominator for a proportion", num, index
        )
    if transform == "log":
        fail_where(
            num == 0,
            "numerator",
            "is 0, which cannot be placed on the log scale (use transform='sqrt')",
            num,
            index,
        )
    if len(num) == 0:
        raise ValueError("overdispersed funnel limits need at least one area")
    return num, den, index


def _od_target(num, den, statistic, transform, target, multiplier: float) -> float:
    """The target on the natural scale (``target`` is given on the plotted scale)."""
    if target is None:
        if statistic == "ratio":
            return 1.0
        if statistic == "rate" and num.sum() == 0:
            raise ValueError(
                "numerator is 0 in every area, so the pooled rate is 0 and no funnel can be "
                "drawn around it (give a target)"
            )
        return float(num.sum() / den.sum())
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not np.isfinite(target):
        raise ValueError(f"target must be a finite number; got {target!r}")
    t = float(target) / multiplier
    if statistic != "proportion" and not t > 0:
        raise ValueError(f"target must be > 0 for a {statistic}; got {target!r}")
    if t < 0:
        raise ValueError(f"target must be >= 0; got {target!r}")
    if statistic == "proportion" and t > 1:
        raise ValueError(
            f"target must not exceed {multiplier:g} (a proportion of 1 x multiplier); "
            f"got {target!r}"
        )
    return t


def _level_label(level: float) -> str:
    """Column suffix for a confidence level: 0.95 -> '95', 0.998 -> '998'."""
    return f"{level * 100:g}".replace(".", "")


def _check_levels(limits) -> tuple[float, ...]:
    levels = (limits,) if isinstance(limits, numbers.Real) else tuple(limits)
    if not levels:
        raise ValueError("limits must name at least one confidence level, e.g. (0.95, 0.998)")
    levels = tuple(check_confidence(c) for c in levels)
    if len(set(levels)) != len(levels):
        raise ValueError(f"limits must not repeat a level; got {limits!r}")
    return tuple(sorted(levels))


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), e.g. 0.05; got {alpha!r}")
    return float(alpha)


@dataclass(frozen=True)
class OverdispersedFunnel:
    """Result of :func:`overdispersed_limits`.

    ``units``: one row per area, indexed like the input, with ``numerator``,
    ``denominator``, ``value`` (numerator / denominator x multiplier), ``z`` (unadjusted
    z-score), ``z_adjusted`` (z-score against the limits drawn), ``se``, then for each
    level L (``95``, ``998`` ...) ``lower_L``, ``upper_L`` and ``position_L`` ("above",
    "within", "below"), and ``classification`` ("above 99.8%", "above 95%", "within",
    "below 95%", "below 99.8%": the widest limit crossed). ``grid``: the limits along a
    smooth range of denominators for drawing (``x``, ``lower_L``, ``upper_L``,
    ``target``). ``method`` is the adjustment applied ("none", "multiplicative",
    "additive"); ``requested`` the one asked for.
    """

    statistic: str
    transform: str
    requested: str
    method: str
    target: float
    multiplier: float
    levels: tuple[float, ...]
    n_units: int
    trim: float
    phi: float
    tau2: float
    test_statistic: float
    df: int
    p_value: float
    alpha: float
    overdispersed: bool
    units: pd.DataFrame
    grid: pd.DataFrame
    method_note: str


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _fmt_tau2(tau2: float) -> str:
    return "0" if tau2 == 0 else f"{tau2:.2g}"


def _method_note(requested, method, statistic, transform, n, phi, tau2, p, alpha) -> str:
    plain = "binomial limits" if statistic == "proportion" else "Poisson limits"
    scale = _SCALE_NAMES[transform] + (" of rate ÷ target" if statistic == "rate" else "")
    if method == "additive":
        return (
            f"Limits adjusted for over-dispersion (additive random effects, phi = {phi:.2f}, "
            f"tau² = {_fmt_tau2(tau2)} on the {scale}; Spiegelhalter 2005)"
        )
    if method == "multiplicative":
        return (
            f"Limits adjusted for over-dispersion (multiplicative, phi = {phi:.2f}; "
            f"Spiegelhalter 2005)"
        )
    if n < 2:
        return f"Too few areas ({n}) to test for over-dispersion; {plain}"
    if requested == "auto":
        return f"No over-dispersion detected (phi = {phi:.2f}, {_fmt_p(p)}); {plain}"
    if requested == "multiplicative":
        return (
            f"Multiplicative adjustment not applied: phi = {phi:.2f} is not above 1; {plain}"
        )
    if requested == "additive":
        return (
            f"Additive random-effects adjustment not applied: tau² = 0 "
            f"(phi = {phi:.2f}); {plain}"
        )
    verdict = "over-dispersed" if p < alpha else "no over-dispersion detected"
    return (
        f"{plain[0].upper()}{plain[1:]}, not adjusted for over-dispersion "
        f"(phi = {phi:.2f}, {_fmt_p(p)}: {verdict})"
    )


def overdispersed_limits(
    numerator,
    denominator,
    *,
    statistic: str,
    target: float | None = None,
    limits=(0.95, 0.998),
    method: str = "auto",
    transform: str | None = None,
    trim: float = 0.1,
    alpha: float = 0.05,
    multiplier: float | None = None,
    grid=None,
    grid_points: int = 200,
) -> OverdispersedFunnel:
    """Funnel-plot limits for many areas, adjusted for over-dispersion when it is present.

    Steps (Spiegelhalter, *Stat Med* 2005;24:1185-1202 and *Qual Saf Health Care*
    2005;14:347-351; FunnelPlotR): z-scores on the transformed scale
    (:func:`funnel_z_scores`); 10% Winsorised phi (:func:`dispersion_ratio`); the test
    I phi ~ chi-squared(I - 1) (:func:`overdispersion_test`); tau^2
    (:func:`between_unit_variance`); limits (:func:`control_limits`).

    ``method``:

    * ``"auto"`` (default): additive random-effects limits when the test finds
      over-dispersion (p < ``alpha``, default 0.05), otherwise unadjusted limits.
      FunnelPlotR draws additive limits whenever tau^2 > 0 (I phi > I - 1); requiring the
      test to be significant as well keeps plain limits when the excess could be chance.
      Additive rather than multiplicative because Spiegelhalter (2005, QSHC) found it has
      "a stronger conceptual foundation" and it is FunnelPlotR's default.
    * ``"none"``: unadjusted limits (phi and the test are still reported).
    * ``"multiplicative"``: limits widened by sqrt(phi) when phi > 1.
    * ``"additive"``: limits widened by tau^2 (unchanged when tau^2 = 0).

    Unadjusted limits use the same normal approximation on the transformed scale, so the
    methods differ only in the adjustment. With the default ``trim=0.1`` the adjusted
    limits are narrower than a pure random-effects model would give (see the module
    docstring: about 85% of such areas inside 95% limits); ``trim=0`` estimates tau^2
    without that bias but lets a few extreme areas inflate it. (For the Fingertips exact
    limits of the places chapter use :func:`funnel_limits`.)

    Parameters
    ----------
    numerator, denominator
        Per area: events and expected events (``statistic='ratio'``), events and
        population or person-years (``'rate'``), or numerator and denominator
        (``'proportion'``). Series keep their index (e.g. area codes) in ``units``.
    target
        On the plotted scale (x ``multiplier``). Default: 1 x multiplier for ratios, the
        pooled value for rates and proportions.
    limits
        Two-sided confidence levels of the limits, default (0.95, 0.998).
    transform
        ``'sqrt'`` (default) or ``'log'`` for ratios and rates, ``'arcsine'`` for
        proportions. The square root is the default because it places areas with no
        events (the log cannot) and is the scale FunnelPlotR Winsorises on (its ``"CQC"``
        method; its log ``"SHMI"`` method truncates instead).
    trim
        Proportion Winsorised at each end before estimating phi (default 0.1).
    multiplier
        Scale of the plotted values: default 1 for ratios, 100 for proportions, 100 000
        for rates.
    grid, grid_points
        Denominators at which to draw the limits; default ``grid_points`` values evenly
        spaced on a log scale from 2/3 of the smallest to 1.5 x the largest denominator.

    Returns
    -------
    :class:`OverdispersedFunnel`, with ``method_note`` stating in words which limits were
    drawn and why, for a chart subtitle and its alt text.
    """
    transform = _check_transform(statistic, transform)
    method = check_choice(method, "method", OVERDISPERSION_METHODS)
    levels = _check_levels(limits)
    trim = _check_trim(trim)
    alpha = _check_alpha(alpha)
    default_mult = {"ratio": 1.0, "proportion": 100.0, "rate": 100_000.0}[statistic]
    mult = check_multiplier(default_mult if multiplier is None else multiplier)
    num, den, index = _od_inputs(numerator, denominator, statistic, transform)
    t = _od_target(num, den, statistic, transform, target, multiplier=mult)
    n = len(num)
    if n < 2 and method in ("multiplicative", "additive"):
        raise ValueError(
            f"method={method!r} needs at least 2 areas to estimate over-dispersion; got {n}"
        )

    zf = _z_frame(num, den, statistic, transform, t, index)
    se = zf["se"].to_numpy()
    phi = dispersion_ratio(zf["z"].to_numpy(), trim)
    stat, df, p = overdispersion_test(phi, n)
    tau2 = between_unit_variance(phi, se)
    overdispersed = bool(p < alpha)  # NaN (one area) compares False

    if method == "auto":
        applied = "additive" if overdispersed and tau2 > 0 else "none"
    elif method == "multiplicative":
        applied = "multiplicative" if phi > 1 else "none"
    elif method == "additive":
        applied = "additive" if tau2 > 0 else "none"
    else:
        applied = "none"
    inflate = phi if applied == "multiplicative" else 1.0
    extra = tau2 if applied == "additive" else 0.0

    sd = np.sqrt(inflate * np.square(se) + extra)
    z_adj = (zf["y"].to_numpy() - zf["target_transformed"].to_numpy()) / sd
    units = pd.DataFrame(
        {
            "numerator": num,
            "denominator": den,
            "value": num / den * mult,
            "z": zf["z"].to_numpy(),
            "z_adjusted": z_adj,
            "se": se,
        }
    )
    if index is not None:
        units.index = index
    if grid is None:
        x = np.geomspace(den.min() / 1.5, den.max() * 1.5, int(grid_points))
    else:
        x = as_float_array(grid, "grid").ravel()
        fail_where(~(x > 0) | np.isinf(x), "grid", "must be finite and > 0", x, None)
        x = np.sort(x)
    grid_frame = pd.DataFrame({"x": x})
    classification = np.full(n, "within", dtype=object)
    for level in levels:
        label = _level_label(level)
        kw = {"statistic": statistic, "target": t, "confidence": level, "transform": transform,
              "phi": inflate, "tau2": extra}
        lo, hi = control_limits(den, **kw)
        units[f"lower_{label}"] = lo * mult
        units[f"upper_{label}"] = hi * mult
        z_alpha = float(norm.ppf(0.5 + level / 2.0))
        pos = np.where(z_adj > z_alpha, "above", np.where(z_adj < -z_alpha, "below", "within"))
        units[f"position_{label}"] = pos
        # levels ascend, so a wider limit crossed overwrites a narrower one
        classification = np.where(pos != "within", [f"{p_} {level * 100:g}%" for p_ in pos],
                                  classification)
        glo, ghi = control_limits(x, **kw)
        grid_frame[f"lower_{label}"] = glo * mult
        grid_frame[f"upper_{label}"] = ghi * mult
    units["classification"] = classification
    grid_frame["target"] = t * mult

    note = _method_note(method, applied, statistic, transform, n, phi, tau2, p, alpha)
    return OverdispersedFunnel(
        statistic=statistic,
        transform=transform,
        requested=method,
        method=applied,
        target=t * mult,
        multiplier=mult,
        levels=levels,
        n_units=n,
        trim=trim,
        phi=phi,
        tau2=tau2,
        test_statistic=stat,
        df=df,
        p_value=p,
        alpha=alpha,
        overdispersed=overdispersed,
        units=units,
        grid=grid_frame,
        method_note=note,
    )
