"""Proportions (percentages) with Wilson score confidence limits.

Method (PHE Public Health Technical Guidance; PHEindicatormethods ``phe_proportion``):
value = numerator / denominator x multiplier; limits = Wilson score interval x multiplier.

Decision: the limits **wrap** ``PHStatsMethods.wilson_lower/wilson_upper`` (through
:func:`~needs_assessment.stats.intervals.wilson_ci`). ``PHStatsMethods.ph_proportion`` is
correct -- it matches ``testdata_Prop`` rows 1-16 to 1e-14 under pandas 3 -- but is not called
directly because it rejects confidence levels below 0.9 and non-integer multipliers and
needs a DataFrame; it computes exactly the same row-wise Wilson limits. This module
matches ``testdata_Prop`` rows 1-19 (max relative difference 1e-14) and ``testdata_Prop_g``
at published precision and agrees with
``ph_proportion`` (tested).
"""

from __future__ import annotations

import pandas as pd

from ._validation import broadcast, check_confidence, check_multiplier
from .intervals import _wilson, check_proportion_inputs

__all__ = ["proportion"]


def proportion(
    numerator, denominator, *, multiplier: float = 100, confidence: float = 0.95
) -> pd.DataFrame:
    """Proportion with Wilson score confidence limits, one row per input element.

    value = numerator / denominator x multiplier (default 100: a percentage).

    Sources: Wilson EB, *J Am Stat Assoc* 1927;22:209-212; Newcombe RG, Altman DG,
    *Statistics with confidence* (2nd edn) 2000, pp. 46-48; PHE Public Health Technical
    Guidance.

    Raises ``ValueError`` naming the position when a numerator is negative, a denominator
    is not positive, or a numerator exceeds its denominator. Missing values give NaN.

    Returns
    -------
    DataFrame with columns ``value``, ``lower``, ``upper``, indexed like the first Series
    input (else 0..n-1).
    """
    confidence = check_confidence(confidence)
    multiplier = check_multiplier(multiplier)
    (num, den), index, _ = broadcast({"numerator": numerator, "denominator": denominator})
    check_proportion_inputs(num, den, index, "numerator", "denominator")
    lower, upper = _wilson(num, den, confidence)
    out = pd.DataFrame(
        {"value": num / den * multiplier, "lower": lower * multiplier, "upper": upper * multiplier}
    )
    if index is not None:
        out.index = index
    return out
