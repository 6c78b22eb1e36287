"""Change since the previous assessment: the same indicators, then and now.

When the params name an earlier run (``previous_run``), every indicator recorded in both
runs under the same key is compared. The test depends on what was recorded:

* a percentage with its numerator and denominator: difference of two proportions
  (Newcombe's interval, chi-square p-value) — :func:`stats.compare_two_proportions`;
* a rate with its count and denominator: ratio of two Poisson rates (exact conditional
  test) — :func:`stats.compare_two_rates`;
* otherwise, when both values have an interval: a z-test on the difference with standard
  errors recovered from the intervals (Altman & Bland, BMJ 2011;343:d2090), on the log
  scale for rates and ratios;
* otherwise the change is shown but not tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from scipy import stats as sps

from needs_assessment import stats
from needs_assessment.results import Indicator

__all__ = ["compare_runs"]


def _z_from_intervals(a: Indicator, b: Indicator, confidence: float) -> float | None:
    if None in (a.value, a.lower, a.upper, b.value, b.lower, b.upper):
        return None
    z_level = sps.norm.ppf(0.5 + (a.confidence or confidence) / 2)
    log_scale = a.unit.startswith("per ") or a.unit in ("ratio", "people")
    try:
        if log_scale:
            if min(a.value, a.lower, b.value, b.lower) <= 0:
                return None
            se_a = (math.log(a.upper) - math.log(a.lower)) / (2 * z_level)
            se_b = (math.log(b.upper) - math.log(b.lower)) / (2 * z_level)
            diff = math.log(b.value) - math.log(a.value)
        else:
            se_a = (a.upper - a.lower) / (2 * z_level)
            se_b = (b.upper - b.lower) / (2 * z_level)
            diff = b.value - a.value
    except (TypeError, ValueError):
        return None
    se = math.hypot(se_a, se_b)
    return None if se == 0 else diff / se


def compare_runs(
    current: Mapping[str, Indicator], previous: Mapping[str, Indicator], *, confidence: float = 0.95
) -> pd.DataFrame:
    """One row per indicator recorded in both runs: then, now, change and its significance."""
    rows = []
    for key in sorted(set(current) & set(previous)):
        now, then = current[key], previous[key]
        if now.value is None or then.value is None or now.unit != then.unit:
            continue
        method, p_value = "not tested (no interval or counts)", None
        counts = None not in (now.count, now.denominator, then.count, then.denominator)
        if counts and now.unit == "%" and then.denominator > 0 and now.denominator > 0 and then.count <= then.denominator and now.count <= now.denominator:
            test = stats.compare_two_proportions(now.count, now.denominator, then.count, then.denominator, confidence=confidence).iloc[0]
            method, p_value = "difference of two proportions (chi-square)", float(test["p_value"])
        elif counts and now.unit.startswith("per ") and then.denominator > 0 and now.denominator > 0:
            test = stats.compare_two_rates(now.count, now.denominator, then.count, then.denominator, confidence=confidence).iloc[0]
            method, p_value = "ratio of two rates (exact Poisson)", float(test["p_value"])
        else:
            z = _z_from_intervals(then, now, confidence)
            if z is not None:
                method, p_value = "z-test from the two intervals", float(2 * sps.norm.sf(abs(z)))
        if p_value is None:
            result = "Not tested"
        elif p_value < 1 - confidence:
            result = "Significant increase" if now.value > then.value else "Significant decrease"
        else:
            result = "No significant change"
        rows.append(
            {
                "key": key,
                "label": now.label,
                "area": now.area,
                "unit": now.unit,
                "period_then": then.period,
                "value_then": then.value,
                "period_now": now.period,
                "value_now": now.value,
                "change": now.value - then.value,
                "method": method,
                "p_value": p_value,
                "result": result,
                "polarity": now.polarity,
            }
        )
    return pd.DataFrame(rows)
