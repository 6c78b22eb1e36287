"""Slope index of inequality (SII) and relative index of inequality (RII).

Method (PHE / OHID Public Health Technical Guidance, "Slope index of inequality";
PHEindicatormethods ``phe_sii``; Low A, Low A. Measuring the gap: quantifying and
comparing local health inequalities. *J Public Health* 2004;26:388-395):

1. Order the quantiles (e.g. deprivation deciles, most deprived first) and give each the
   relative rank b = midpoint of its share of the cumulative population; a = its share.
2. Fit sqrt(a) * Y = alpha sqrt(a) + beta b sqrt(a) by least squares (the sqrt(a) weights
   deal with unequal quantile populations). SII = beta (fitted value at b = 1 minus b = 0),
   RII = (alpha + beta) / alpha, intercept = alpha.
3. Confidence limits by simulation: each quantile value is redrawn from a normal
   distribution with its standard error (on the log scale for rates and logit scale for
   proportions, back-transformed), the regression is refitted for every draw and the
   limits are the order statistics at positions round(R (1 - c)) and round(R c), with
   c = confidence + (1 - confidence) / 2, of the R simulated SIIs (RIIs).
4. With ``transform=True`` (rates / proportions) the regression is fitted on the log /
   logit scale and SII = g^-1(alpha + beta) - g^-1(alpha), RII = g^-1(alpha + beta) /
   g^-1(alpha), intercept = g^-1(alpha).

A negative ``multiplier`` flips the polarity: SII x multiplier with the limits swapped
and RII inverted, as ``phe_sii``.

Decision: **hand-written** -- PHStatsMethods 0.1.16 has no SII. Evidence: the SII, RII and
intercept match every scenario of ``PHEindicatormethods/testdata_SII__testdata_SII.csv``
(normal, rate, proportion, multipliers, 99%/98% confidence, quintiles, intercept, log and
logit transforms) to 1e-14 relative, and the simulated limits agree within the R tests'
tolerance (0.05 relative; in practice within 1.5%, mostly within 0.5%, with 100 000
repetitions). With ``transform=True`` the SII limits come out ~0.3% narrower than R's
on both sides (the RII limits agree closely), so the R implementation may differ in a
detail of the transformed simulation that its documentation does not describe.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._validation import (
    as_column_list,
    check_confidence,
    check_multiplier,
    column_array,
    fail_where,
    require_columns,
)

__all__ = ["slope_index_of_inequality"]

_VALUE_TYPES = {
    0: "other",
    1: "rate",
    2: "proportion",
    "other": "other",
    "rate": "rate",
    "proportion": "proportion",
}


def _transform(kind: str):
    if kind == "rate":
        return np.log, np.exp
    if kind == "proportion":
        return (lambda p: np.log(p / (1 - p))), (lambda x: 1 / (1 + np.exp(-x)))
    return (lambda v: v), (lambda v: v)


def _relative_rank(pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = pop / pop.sum()
    return a, np.cumsum(a) - a / 2


def _fit(sqrt_a: np.ndarray, b_sqrt_a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (alpha, beta) for every column of y (quantiles x draws)."""
    x = np.column_stack([sqrt_a, b_sqrt_a])
    return np.linalg.solve(x.T @ x, x.T @ (y * sqrt_a[:, None]))


def slope_index_of_inequality(
    data: pd.DataFrame,
    *,
    quantile: str = "quantile",
    population: str = "population",
    value: str | None = None,
    numerator: str | None = None,
    value_type="other",
    lower_cl: str | None = None,
    upper_cl: str | None = None,
    se: str | None = None,
    by=None,
    multiplier: float = 1,
    confidence: float = 0.95,
    repetitions: int = 100_000,
    transform: bool = False,
    seed=None,
) -> pd.DataFrame:
    """SII and RII across deprivation quantiles with simulation confidence limits.

    Parameters
    ----------
    data
        One row per group x quantile (e.g. 10 deprivation deciles per area).
    quantile
        Column of quantile numbers, ordered from most to least deprived (or the reverse,
        consistently). Between 5 and 100 distinct quantiles.
    population
        Column of quantile populations (must be > 0; a group with a missing population,
        value or standard error gets NaN results and a ``note``).
    value
        Column of indicator values. For proportions it may be omitted when ``numerator``
        is given (value = numerator / population).
    value_type
        ``'other'`` (e.g. life expectancy; normal errors), ``'rate'`` (errors on the log
        scale) or ``'proportion'`` (values in (0, 1); errors on the logit scale). The R codes
        0 / 1 / 2 are accepted too.
    lower_cl, upper_cl
        Columns of each value's 95% confidence limits, used to derive its standard error as
        (g(upper) - g(lower)) / (2 x 1.96) on the transformed scale g.
    se
        Alternatively, a column of standard errors (on the transformed scale for rates and
        proportions). Used in preference to the limits.
    by
        Column name(s) identifying the groups (e.g. area code, sex).
    multiplier
        Scale of the SII (e.g. 100 for percentage points, 100 000 for a rate per 100 000
        when values are proportions of 1). Negative values flip the polarity.
    confidence
        Level of the simulated limits, in (0, 1).
    repetitions
        Number of simulations (at least 1000; default 100 000 as PHEindicatormethods).
    transform
        Fit the regression on the log (rate) / logit (proportion) scale.
    seed
        Seed (or ``numpy.random.Generator``) for reproducible limits.

    Returns
    -------
    DataFrame with the ``by`` columns, ``n_quantiles``, ``sii``, ``sii_lower``,
    ``sii_upper``, ``rii``, ``rii_lower``, ``rii_upper``, ``intercept`` and ``note`` (set,
    with NaN results, for a group missing some quantiles or with unusable data).
    """
    func = "slope_index_of_inequality"
    by = as_column_list(by)
    if not (
        isinstance(value_type, (str, numbers.Integral)) and value_type in _VALUE_TYPES
    ) or isinstance(value_type, bool):
        raise ValueError(
            f"value_type must be 'other', 'rate' or 'proportion' (or 0, 1, 2); got {value_type!r}"
        )
    kind = _VALUE_TYPES[value_type]
    if value is None and (numerator is None or kind != "proportion"):
        raise ValueError(
            f"{func} needs a value column, or a numerator column when value_type='proportion'"
        )
    if se is None and (lower_cl is None or upper_cl is None):
        raise ValueError(f"{func} needs either an se column or both lower_cl and upper_cl columns")
    require_columns(
        data,
        {
            "quantile": quantile,
            "population": population,
            "value": value,
            "numerator": numerator if value is None else None,
            "lower_cl": lower_cl if se is None else None,
            "upper_cl": upper_cl if se is None else None,
            "se": se,
            **{f"by[{i}]": b for i, b in enumerate(by)},
        },
        func,
    )
    confidence = check_confidence(confidence)
    multiplier = check_multiplier(multiplier, allow_negative=True)
    if (
        isinstance(repetitions, bool)
        or not isinstance(repetitions, numbers.Integral)
        or repetitions < 1000
    ):
        raise ValueError(f"repetitions must be a whole number >= 1000; got {repetitions!r}")
    if transform and kind == "other":
        raise ValueError("transform=True needs value_type 'rate' or 'proportion'")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    idx = data.index
    pop = column_array(data, population)
    fail_where(pop <= 0, f"column {population!r}", "must be > 0", pop, idx)
    if value is not None:
        val = column_array(data, value)
    else:
        num = column_array(data, numerator)
        fail_where(
            num <= 0,
            f"column {numerator!r}",
            "must be > 0 for a proportion SII (its logit is needed)",
            num,
            idx,
        )
        val = num / pop
    g, ginv = _transform(kind)
    if kind == "rate":
        fail_where(
            val <= 0, f"column {value!r}", "must be > 0 for a rate (its log is needed)", val, idx
        )
    elif kind == "proportion":
        vname = value if value is not None else f"{numerator}/{population}"
        fail_where(
            (val <= 0) | (val >= 1),
            f"column {vname!r}",
            "must be a proportion strictly between 0 and 1",
            val,
            idx,
        )
    if se is not None:
        s = column_array(data, se)
        fail_where(s < 0, f"column {se!r}", "must be >= 0", s, idx)
    else:
        lo = column_array(data, lower_cl)
        hi = column_array(data, upper_cl)
        if kind == "rate":
            fail_where(lo <= 0, f"column {lower_cl!r}", "must be > 0 for a rate", lo, idx)
        elif kind == "proportion":
            fail_where(
                (lo <= 0) | (lo >= 1),
                f"column {lower_cl!r}",
                "must be strictly between 0 and 1 for a proportion",
                lo,
                idx,
            )
            fail_where(
                (hi <= 0) | (hi >= 1),
                f"column {upper_cl!r}",
                "must be strictly between 0 and 1 for a proportion",
                hi,
                idx,
            )
        fail_where(lo > hi, f"column {lower_cl!r}", f"must not exceed column {upper_cl!r}", lo, idx)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (g(hi) - g(lo)) / norm.ppf(0.975) / 2
    q = data[quantile].to_numpy()
    quantiles = pd.unique(q[~pd.isna(q)])
    n_q = len(quantiles)
    if not 5 <= n_q <= 100:
        raise ValueError(
            f"column {quantile!r} must hold between 5 and 100 distinct quantiles; found {n_q}"
        )
    if n_q > 10:
        warnings.warn(
            f"{n_q} quantiles: small numbers in each quantile can make the SII unstable",
            UserWarning,
            stacklevel=2,
        )

    work = pd.DataFrame({"q": q, "pop": pop, "val": val, "se": s})
    keys = [pd.Series(data[b].to_numpy(), name=b) for b in by]
    groups = work.groupby(keys, sort=True, dropna=False) if by else [((), work)]
    rows = []
    cv = confidence + (1 - confidence) / 2
    pos_lo = int(round(repetitions * (1 - cv))) - 1
    pos_hi = int(round(repetitions * cv)) - 1
    for key, grp in groups:
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=False)) if by else {}
        grp = grp.sort_values("q")
        row["n_quantiles"] = int(grp["q"].nunique())
        complete = (
            len(grp) == n_q
            and grp["q"].nunique() == n_q
            and grp[["pop", "val", "se"]].notna().all().all()
        )
        if not complete:
            rows.append(
                {
                    **row,
                    **_empty(),
                    "note": "incomplete or missing data for some quantiles: SII not calculated",
                }
            )
            continue
        a, b = _relative_rank(grp["pop"].to_numpy(float))
        sqrt_a, b_sqrt_a = np.sqrt(a), b * np.sqrt(a)
        v = grp["val"].to_numpy(float)
        sd = grp["se"].to_numpy(float)
        y_point = g(v) if transform else v
        alpha, beta = _fit(sqrt_a, b_sqrt_a, y_point[:, None])[:, 0]
        sii, rii, icpt = _indices(alpha, beta, transform, ginv)
        draws = rng.normal(g(v)[:, None], sd[:, None], size=(len(v), repetitions))
        if not transform:
            draws = ginv(draws)
        al, be = _fit(sqrt_a, b_sqrt_a, draws)
        sim_sii, sim_rii, _ = _indices(al, be, transform, ginv)
        sim_sii = np.sort(multiplier * sim_sii)
        sim_rii = np.sort(1 / sim_rii if multiplier < 0 else sim_rii)
        rows.append(
            {
                **row,
                "sii": multiplier * sii,
                "sii_lower": sim_sii[pos_lo],
                "sii_upper": sim_sii[pos_hi],
                "rii": 1 / rii if multiplier < 0 else rii,
                "rii_lower": sim_rii[pos_lo],
                "rii_upper": sim_rii[pos_hi],
                "intercept": icpt,
                "note": None,
            }
        )
    cols = [
        *by,
        "n_quantiles",
        "sii",
        "sii_lower",
        "sii_upper",
        "rii",
        "rii_lower",
        "rii_upper",
        "intercept",
        "note",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["note"] = out["note"].astype("str")
    return out


def _indices(alpha, beta, transform, ginv):
    if transform:
        y0 = ginv(alpha)
        y1 = ginv(alpha + beta)
        return y1 - y0, y1 / y0, y0
    return beta, (alpha + beta) / alpha, alpha


def _empty() -> dict:
    return dict.fromkeys(
        ["sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper", "intercept"], np.nan
    )
