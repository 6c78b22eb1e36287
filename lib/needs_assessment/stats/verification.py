"""Check computed statistics against published figures at the precision they were published.

Published tables round: Fingertips shows DSRs to 1 decimal place, the PHEindicatormethods
test tables hold some values to 6-10 significant figures. :func:`agrees_with_published`
accepts a computed number when it differs from the published one by no more than half a
unit in the last published decimal place (the rounding error), or by a relative
``rtol`` (default 1.5e-8, the tolerance of R's ``testthat::expect_equal``) when the
published number carries more digits than that.

Hand-written (a QA helper; nothing to wrap).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["agrees_with_published", "assert_agrees_with_published", "published_tolerance"]

_NUMBER = re.compile(r"^\s*[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?\s*$")
_MISSING = {"", "na", "nan", "none", "null", "n/a", "-"}


def published_tolerance(published: str) -> float:
    """Half a unit in the last decimal place of a number written as text.

    >>> published_tolerance("80.642448")
    5e-07
    >>> published_tolerance("1200")
    0.5
    """
    m = _NUMBER.match(str(published))
    if not m:
        raise ValueError(f"not a number: {published!r}")
    decimals = len(m.group(2) or "")
    exponent = int(m.group(3) or 0)
    return 0.5 * 10.0 ** (exponent - decimals)


def agrees_with_published(computed, published, *, rtol: float = 1.5e-8) -> np.ndarray:
    """Element-wise: does each computed value agree with its published counterpart?

    ``published`` should be text as published (e.g. read with ``dtype=str``) so that its
    number of decimals is known; numbers are accepted too (then only ``rtol`` applies).
    Missing published values ("", "NA", "None", NaN) agree only with NaN computed values.
    """
    comp = np.atleast_1d(np.asarray(computed, dtype=float))
    pub_raw = np.atleast_1d(
        np.asarray(
            published.to_numpy() if isinstance(published, pd.Series) else published, dtype=object
        )
    )
    if comp.shape != pub_raw.shape:
        raise ValueError(
            f"computed and published have different shapes: {comp.shape} vs {pub_raw.shape}"
        )
    out = np.zeros(comp.shape, dtype=bool)
    for i, (c, p) in enumerate(zip(comp, pub_raw, strict=True)):
        if (
            p is None
            or (isinstance(p, float) and np.isnan(p))
            or (isinstance(p, str) and p.strip().lower() in _MISSING)
        ):
            out[i] = bool(np.isnan(c))
            continue
        if isinstance(p, str):
            value = float(p)
            tol = max(published_tolerance(p), rtol * abs(value))
        else:
            value = float(p)
            tol = rtol * abs(value)
        out[i] = bool(np.isfinite(c) and abs(c - value) <= tol * (1 + 1e-9)) or (
            np.isinf(c) and c == value
        )
    return out


def assert_agrees_with_published(
    computed, published, *, rtol: float = 1.5e-8, label: str = ""
) -> None:
    """Raise ``AssertionError`` listing every value that disagrees with its published figure."""
    comp = np.atleast_1d(np.asarray(computed, dtype=float))
    pub = np.atleast_1d(
        np.asarray(
            published.to_numpy() if isinstance(published, pd.Series) else published, dtype=object
        )
    )
    ok = agrees_with_published(comp, pub, rtol=rtol)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        detail = "; ".join(f"[{i}] computed {comp[i]!r} vs published {pub[i]!r}" for i in bad[:10])
        raise AssertionError(
            f"{label + ': ' if label else ''}{len(bad)} value(s) disagree: {detail}"
        )
