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
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import PHStatsMethods as phs

from ._validation import broadcast, check_choice, check_multiplier, fail_where

__all__ = ["SIGNIFICANCE_LABELS", "funnel_limits", "funnel_significance"]

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
