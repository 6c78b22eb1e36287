"""Fingertips' "Compared with benchmark" significance labels.

Method (PHE Public Health Technical Guidance; Fingertips "Compared with benchmark"
colouring): a local value is significantly higher than the benchmark (e.g. England) when
the lower limit of its confidence interval is above the benchmark value, significantly
lower when its upper limit is below it, and similar otherwise (the benchmark itself is
treated as fixed). The indicator's polarity turns higher/lower into better/worse.

Decision: **hand-written** -- PHStatsMethods has no benchmark comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import broadcast, fail_where

__all__ = ["POLARITIES", "compare_with_benchmark"]

POLARITIES = ("low_is_good", "high_is_good", "no_judgement")

# Fingertips metadata spells polarity like this; accept it directly.
_ALIASES = {
    "rag - low is good": "low_is_good",
    "low is good": "low_is_good",
    "rag - high is good": "high_is_good",
    "high is good": "high_is_good",
    "bob - blue orange blue": "no_judgement",
    "not applicable": "no_judgement",
    "no judgement": "no_judgement",
}

NOT_COMPARED = "Not compared"


def _polarity(polarity: str) -> str:
    if isinstance(polarity, str):
        key = polarity.strip().lower()
        if key in POLARITIES:
            return key
        if key in _ALIASES:
            return _ALIASES[key]
    raise ValueError(
        f"polarity must be one of {', '.join(repr(p) for p in POLARITIES)} (or a Fingertips "
        f"polarity such as 'RAG - Low is good'); got {polarity!r}"
    )


def compare_with_benchmark(lower, upper, benchmark, *, polarity: str):
    """Label each interval against a benchmark value, as Fingertips' "Compared with England".

    * lower limit > benchmark  -> higher ("Worse" if ``polarity='low_is_good'``,
      "Better" if ``'high_is_good'``, "Higher" if ``'no_judgement'``);
    * upper limit < benchmark  -> lower ("Better" / "Worse" / "Lower");
    * otherwise (the interval contains or touches the benchmark) -> "Similar";
    * any missing input -> "Not compared".

    Pass the 95% limits for Fingertips' standard comparison or the 99.8% limits for its
    stricter one. Source: PHE Public Health Technical Guidance (Fingertips).

    Returns a str for scalar input, a Series (indexed like the first Series input) or an
    object array otherwise.
    """
    polarity = _polarity(polarity)
    (lo, hi, bench), index, scalar = broadcast(
        {"lower": lower, "upper": upper, "benchmark": benchmark}
    )
    fail_where(lo > hi, "lower", "must not exceed upper", lo, index)
    higher = lo > bench
    lower_ = hi < bench
    words = {
        "low_is_good": ("Worse", "Better"),
        "high_is_good": ("Better", "Worse"),
        "no_judgement": ("Higher", "Lower"),
    }[polarity]
    labels = np.where(higher, words[0], np.where(lower_, words[1], "Similar")).astype(object)
    labels[np.isnan(lo) | np.isnan(hi) | np.isnan(bench)] = NOT_COMPARED
    if scalar:
        return str(labels[0])
    if index is not None:
        return pd.Series(labels, index=index, name="compared_with_benchmark", dtype="str")
    return labels
