"""Synthetic (indirect) prevalence estimation: national rates × local population.

Where a local area has no capture–recapture estimate (or for alcohol dependence, where none
is made locally), the expected number of people affected is the sum, over age and sex
groups, of the local population times the national age/sex-specific prevalence rate — the
*synthetic estimation* method (Levy & French 1977, *Public Health Reports* 92, 1–13; used
for the PHE alcohol dependence and OCU local figures where no local data exist). It
assumes the local area has the national rates within each age/sex group: local differences
in deprivation or drug markets are not captured, which usually matters more than the
interval shown.

Uncertainty: the population counts are treated as exact; the national rates' confidence
intervals are propagated in one of two documented ways (see :func:`synthetic_prevalence`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["national_prevalence_rates", "parse_age_band", "synthetic_prevalence"]

_RATE_COLUMNS = ("sex", "age_lower", "age_upper", "rate_per_1000", "lower", "upper")
_SEXES = {"male", "female", "persons"}
_SEX_ALIASES = {"m": "male", "males": "male", "men": "male", "1": "male",
                "f": "female", "females": "female", "women": "female", "2": "female",
                "p": "persons", "all": "persons", "people": "persons", "total": "persons",
                "all persons": "persons"}


@cache
def _rates_table() -> pd.DataFrame:
    path = resources.files("needs_assessment").joinpath("resources/prevalence_rates.csv")
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype={"period": str, "age_group": str})
    table["age_upper"] = table["age_upper"].fillna(np.inf)
    return table


def national_prevalence_rates(measure: str | None = None, period: str | None = None
                              ) -> pd.DataFrame:
    """National (England) prevalence rates with their sources.

    Reads ``needs_assessment/resources/prevalence_rates.csv`` (documented, row by row, in
    ``prevalence_rates.md``): alcohol dependence (Pryce et al. 2017) and opiate and/or
    crack cocaine use (Hay et al. 2014; OHID/UKHSA 2023). Columns: ``measure``, ``period``,
    ``geography``, ``sex``, ``age_group``, ``age_lower``, ``age_upper`` (``inf`` = no upper
    limit), ``rate_per_1000``, ``lower``, ``upper`` (95% limits; NaN where not published in
    the material read), ``count``, ``count_lower``, ``count_upper``, ``population_base``,
    ``status``, ``source_id``. Optionally filtered by ``measure`` and ``period``.
    """
    table = _rates_table().copy()
    for name, value in (("measure", measure), ("period", period)):
        if value is not None:
            available = sorted(table[name].unique())
            table = table[table[name] == value]
            if table.empty:
                raise ValueError(f"{name}={value!r} not in the rates table (available: "
                                 f"{available})")
    return table.reset_index(drop=True)


_BAND = re.compile(
    r"^\s*(?:aged\s+)?(\d+)\s*(?:-|–|to)\s*(\d+)\s*$|^\s*(?:aged\s+)?(\d+)\s*(?:\+|plus|and\s+over|and\s+older|or\s+over)\s*$",
    re.IGNORECASE,
)


def parse_age_band(value: object) -> tuple[float, float]:
    """``'15-19'`` → (15, 19); ``'90+'`` / ``'65 and over'`` → (90, inf); an integer age
    ``37`` → (37, 37). Raises ``ValueError`` naming the value otherwise."""
    if isinstance(value, int | np.integer) or (isinstance(value, float) and value.is_integer()):
        if value < 0:
            raise ValueError(f"age band {value!r}: negative age")
        return float(value), float(value)
    match = _BAND.match(str(value))
    if not match:
        raise ValueError(f"age band {value!r} not understood (expected e.g. '15-19', '90+')")
    lo, hi, open_lo = match.groups()
    if open_lo is not None:
        return float(open_lo), np.inf
    if int(hi) < int(lo):
        raise ValueError(f"age band {value!r}: upper age below lower age")
    return float(lo), float(hi)


def _norm_sex(series: pd.Series, where: str) -> pd.Series:
    out = series.astype(str).str.strip().str.lower().map(lambda s: _SEX_ALIASES.get(s, s))
    bad = sorted(set(out) - _SEXES)
    if bad:
        raise ValueError(f"{where}: sex value(s) {bad} not one of {sorted(_SEXES)}")
    return out


def _prepare_rates(rates: pd.DataFrame, measure: str | None, period: str | None
                   ) -> pd.DataFrame:
    if not isinstance(rates, pd.DataFrame):
        raise ValueError("rates must be a DataFrame (e.g. national_prevalence_rates(...))")
    missing = [c for c in _RATE_COLUMNS if c not in rates.columns]
    if missing:
        raise ValueError(f"rates: column(s) {missing} missing (need {list(_RATE_COLUMNS)})")
    r = rates.copy()
    for name, value in (("measure", measure), ("period", period)):
        if value is not None:
            if name not in r.columns:
                raise ValueError(f"rates: no {name!r} column to select {name}={value!r}")
            r = r[r[name] == value]
            if r.empty:
                raise ValueError(f"rates: no rows with {name}={value!r}")
    for name in ("measure", "period"):
        if name in r.columns and r[name].nunique() > 1:
            raise ValueError(f"rates: several {name}s {sorted(r[name].unique())}; choose one "
                             f"with {name}=")
    r["sex"] = _norm_sex(r["sex"], "rates")
    r["age_upper"] = pd.to_numeric(r["age_upper"], errors="coerce").fillna(np.inf)
    r["age_lower"] = pd.to_numeric(r["age_lower"], errors="coerce")
    if r["age_lower"].isna().any():
        raise ValueError("rates: column 'age_lower' has missing or non-numeric values")
    if (r["age_upper"] < r["age_lower"]).any():
        raise ValueError("rates: a row has age_upper below age_lower")
    for col in ("rate_per_1000", "lower", "upper"):
        r[col] = pd.to_numeric(r[col], errors="coerce")
    if r["rate_per_1000"].isna().any() or (r["rate_per_1000"] < 0).any():
        raise ValueError("rates: column 'rate_per_1000' must be non-negative and not missing")
    both = r["lower"].notna() & r["upper"].notna()
    bad = both & ~((r["lower"] <= r["rate_per_1000"]) & (r["rate_per_1000"] <= r["upper"]))
    if bad.any():
        raise ValueError("rates: each row needs lower <= rate_per_1000 <= upper; rows "
                         f"{list(r.index[bad])} do not")
    for sex, grp in r.groupby("sex"):
        g = grp.sort_values("age_lower")
        overlap = g["age_lower"].to_numpy()[1:] <= g["age_upper"].to_numpy()[:-1]
        if overlap.any():
            raise ValueError(f"rates: overlapping age ranges for sex={sex!r}")
    return r.reset_index(drop=True)


def _band_text(lo: float, hi: float) -> str:
    return f"{lo:g}+" if np.isinf(hi) else f"{lo:g}-{hi:g}"


def _match(pop: pd.DataFrame, rates: pd.DataFrame, outside: str) -> np.ndarray:
    """Index of the rate row for each population row (-1 = outside the rates' ages)."""
    idx = np.full(len(pop), -1)
    sexes = set(rates["sex"])
    for i, (sex, lo, hi, band) in enumerate(zip(pop["_sex"], pop["_lo"], pop["_hi"],
                                                pop["_band"], strict=True)):
        if sex in sexes:
            cand = rates[rates["sex"] == sex]
        elif "persons" in sexes and sex in ("male", "female"):
            cand = rates[rates["sex"] == "persons"]
        else:
            raise ValueError(f"population: sex {sex!r} (age band {band!r}) has no matching "
                             f"rates (rates have sex {sorted(sexes)}); sex-specific rates "
                             "cannot be applied to 'persons'")
        inside = cand[(cand["age_lower"] <= lo) & (hi <= cand["age_upper"])]
        if len(inside) == 1:
            idx[i] = inside.index[0]
            continue
        partial = cand[(cand["age_lower"] <= hi) & (lo <= cand["age_upper"])]
        if len(partial):
            groups = ", ".join(_band_text(a, b) for a, b in zip(partial["age_lower"],
                                                                partial["age_upper"],
                                                                strict=True))
            raise ValueError(f"population: age band {band!r} straddles the rate age "
                             f"group(s) {groups}; use bands that nest inside them")
        if outside == "error":
            raise ValueError(f"population: age band {band!r} (sex {sex!r}) is outside the "
                             "ages the rates cover")
    return idx


def synthetic_prevalence(
    population: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    measure: str | None = None,
    period: str | None = None,
    interval: Literal["limits", "simulate"] = "limits",
    outside: Literal["drop", "error"] = "drop",
    n_sim: int = 10000,
    seed: int | None = 20240521,
    confidence: float = 0.95,
    rate_confidence: float = 0.95,
    population_col: str = "population",
    age_col: str = "age_band",
    sex_col: str = "sex",
) -> pd.DataFrame:
    """Expected number of people affected, by applying national rates to a population.

    Method: synthetic estimation (Levy & French 1977) — ``sum(population × rate / 1000)``
    over the population's age/sex rows.

    The join is explicit: each population row (``sex``; ``age_band`` such as ``'15-19'``,
    ``'90+'`` or a single year of age) takes the rate row of the same sex — or the
    ``persons`` rate when the rates are not split by sex — whose age range *contains* the
    band. A band straddling two rate age groups, a sex with no rates, or ``persons``
    population against sex-specific rates raise ``ValueError``. Bands wholly outside the
    rates' ages (e.g. under-15s for a 15–64 rate) are left out (``outside="drop"``, the
    default; their population is reported as ``population_outside``) or rejected
    (``outside="error"``). ``rates`` is a table like :func:`national_prevalence_rates`;
    select one measure and period with ``measure=``/``period=``.

    Interval (the national rate's uncertainty is treated as the dominant one; population
    counts are taken as exact):

    * ``"limits"`` (default): the lower (upper) limit applies every group's lower (upper)
      rate limit — the errors of the national rates are assumed perfectly correlated across
      groups, as when one national estimate is split by age and sex. Conservative (wide).
    * ``"simulate"``: ``n_sim`` draws of each rate row from a log-normal with median the
      rate and log-scale s.d. ``(ln upper - ln lower) / (2 z)``, ``z`` the normal quantile
      of ``rate_confidence``; rows are independent, a row shared by several population
      groups is shared in each draw; limits are percentiles of the summed draws.

    If any rate used lacks limits, ``lower``/``upper`` are NaN and ``interval_available``
    is False. Returns one row per ``by`` group (or a single row): ``population``
    (in scope), ``population_outside``, ``estimate``, ``lower``, ``upper``,
    ``rate_per_1000`` (= estimate / population × 1000), ``rate_lower``, ``rate_upper``,
    ``interval_available``, ``interval_method``.
    """
    if not isinstance(population, pd.DataFrame):
        raise ValueError("population must be a pandas DataFrame")
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    missing = [c for c in [population_col, age_col, sex_col, *by_cols]
               if c not in population.columns]
    if missing:
        raise ValueError(f"population: column(s) {missing} not found "
                         f"(columns: {list(population.columns)})")
    if interval not in ("limits", "simulate"):
        raise ValueError(f"interval must be 'limits' or 'simulate', got {interval!r}")
    if outside not in ("drop", "error"):
        raise ValueError(f"outside must be 'drop' or 'error', got {outside!r}")
    for name, value in (("confidence", confidence), ("rate_confidence", rate_confidence)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    if interval == "simulate" and (not isinstance(n_sim, int | np.integer) or n_sim < 100):
        raise ValueError(f"n_sim must be an integer >= 100, got {n_sim!r}")
    pop_values = pd.to_numeric(population[population_col], errors="coerce")
    if pop_values.isna().any() or (pop_values < 0).any():
        raise ValueError(f"population: column {population_col!r} must be non-negative numbers "
                         "with no missing values")
    if population[by_cols].isna().any().any():
        raise ValueError(f"population: the by column(s) {by_cols} have missing values")
    r = _prepare_rates(rates, measure, period)

    pop = population.reset_index(drop=True).copy()
    pop["_pop"] = pop_values.to_numpy(dtype=float)
    pop["_sex"] = _norm_sex(pop[sex_col], "population").to_numpy()
    pop["_band"] = pop[age_col]
    bounds = [parse_age_band(v) for v in pop[age_col]]
    pop["_lo"] = [b[0] for b in bounds]
    pop["_hi"] = [b[1] for b in bounds]
    pop["_rate_row"] = _match(pop, r, outside)
    inside = pop["_rate_row"] >= 0
    if not inside.any():
        raise ValueError("population: no age band falls inside the ages the rates cover")

    rate = r["rate_per_1000"].to_numpy() / 1000
    lo = r["lower"].to_numpy() / 1000
    hi = r["upper"].to_numpy() / 1000
    groups = pop.groupby(by_cols, sort=True) if by_cols else [((), pop)]
    z_rate = stats.norm.ppf(0.5 + rate_confidence / 2)
    rng = np.random.default_rng(seed)
    sims = None
    if interval == "simulate":
        ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
        sigma = np.where(ok, (np.log(np.where(ok, hi, 1)) - np.log(np.where(ok, lo, 1)))
                         / (2 * z_rate), np.nan)
        sims = np.exp(np.log(np.maximum(rate, 1e-300))[:, None]
                      + sigma[:, None] * rng.standard_normal((len(r), n_sim)))
        sims[rate == 0] = 0.0
    alpha = (1 - confidence) / 2
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        gi = g[g["_rate_row"] >= 0]
        rows_idx = gi["_rate_row"].to_numpy()
        p = gi["_pop"].to_numpy()
        total_pop = float(p.sum())
        est = float(np.sum(p * rate[rows_idx]))
        used = np.unique(rows_idx)
        available = bool(np.isfinite(lo[used]).all() and np.isfinite(hi[used]).all())
        if not available:
            lower = upper = np.nan
        elif interval == "limits":
            lower, upper = float(np.sum(p * lo[rows_idx])), float(np.sum(p * hi[rows_idx]))
        else:
            totals = (p[:, None] * sims[rows_idx]).sum(axis=0)
            lower, upper = (float(v) for v in np.quantile(totals, [alpha, 1 - alpha]))
        per = 1000 / total_pop if total_pop > 0 else np.nan
        rows.append({
            **dict(zip(by_cols, key, strict=True)),
            "population": total_pop,
            "population_outside": float(g.loc[g["_rate_row"] < 0, "_pop"].sum()),
            "estimate": est,
            "lower": lower,
            "upper": upper,
            "rate_per_1000": est * per,
            "rate_lower": lower * per,
            "rate_upper": upper * per,
            "interval_available": available,
            "interval_method": interval if available else "none (rate limits not published)",
        })
    return pd.DataFrame(rows)
