"""Published harms: ONS deaths related to drug poisoning and NHS Digital drug-related
hospital admissions, for a real area, its districts, its region and England.

Inputs are the published local-authority series that :func:`needs_assessment.inputs.load_area`
puts in ``AreaData.published`` (see :mod:`needs_assessment.public_data.build`):

* ``drug_poisoning_deaths``: annual registrations by authority (``area_code, area_name,
  level, year, deaths``), England and Wales, 1993 onwards;
* ``drug_admissions``: NHS Digital admissions by financial year (start year) for merged
  local areas, regions and England;
* ``census_population``: Census 2021 usual residents of every area in the TS007 file;
* ``la_population_series`` (optional): mid-year populations by authority and year.

Rates are **crude** rates per 100,000 over three pooled years, with exact Poisson limits
for counts below 10 and Byar's above (:func:`needs_assessment.stats.pooled_rate`).
Denominators are the mid-year populations of each year when ``la_population_series``
holds them; otherwise the Census 2021 population stands in for each year of the period
(``population_basis`` says which) -- an approximation that the chapter states. ONS and
OHID publish age-standardised rates; these crude rates are not those figures.

Funnel plots compare each authority's count with what the England rate would give at its
population: control limits are the exact Poisson limits around the expected count (the
chi-square form of Spiegelhalter 2005), at 95% and 99.8%.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from needs_assessment import stats

__all__ = [
    "ENGLAND",
    "LOWER_TIER_LEVELS",
    "UPPER_TIER_LEVELS",
    "admissions_series",
    "area_roles",
    "census_basis",
    "funnel_control_limits",
    "funnel_position",
    "funnel_points",
    "indexed_trend",
    "latest_complete_period",
    "person_years",
    "pooled_rates",
    "reconcile_three_year_counts",
    "rolling_counts",
]

ENGLAND = "E92000001"
LOWER_TIER_LEVELS = ("unitary", "district", "metropolitan_district", "london_borough")
UPPER_TIER_LEVELS = ("county", "unitary", "metropolitan_district", "london_borough")
_NOT_ENGLISH_AUTHORITY = ("E06000053",)  # Isles of Scilly: counts are combined with Cornwall

#: Where a population came from.
POPULATION_SERIES = "mid-year estimates (la_population_series)"
CENSUS_STAND_IN = "Census 2021 usual residents, standing in for each year"


def area_roles(published: dict[str, pd.DataFrame]) -> dict[str, object]:
    """``{'area': code, 'region': code, 'england': code, 'districts': [codes]}`` from
    ``published['area_codes']``."""
    codes = published["area_codes"]
    roles: dict[str, object] = {"districts": list(codes.loc[codes["role"] == "district", "area_code"])}
    for role in ("area", "region", "england"):
        hit = codes.loc[codes["role"] == role, "area_code"]
        roles[role] = hit.iloc[0] if len(hit) else None
    return roles


def latest_complete_period(years: Iterable[int], length: int = 3) -> tuple[int, int]:
    """(first, last) year of the latest ``length``-year run of consecutive years present."""
    years = sorted(set(int(y) for y in years))
    for end in reversed(years):
        if all(y in years for y in range(end - length + 1, end + 1)):
            return end - length + 1, end
    raise ValueError(f"no run of {length} consecutive years in {years}")


def census_basis(published: dict[str, pd.DataFrame]) -> pd.Series:
    """Census 2021 usual residents by area code (every area in the TS007 file)."""
    census = published.get("census_population")
    if census is None:
        return pd.Series(dtype=float)
    return census.drop_duplicates("area_code").set_index("area_code")["population"].astype(float)


def person_years(codes: Sequence[str], years: Sequence[int], published: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Person-years of each area over ``years``: ``area_code, population, basis``.

    Mid-year estimates from ``la_population_series`` when it has every year for the area;
    else the Census 2021 population x number of years (basis says so); else missing.
    """
    series = published.get("la_population_series")
    census = census_basis(published)
    rows = []
    for code in codes:
        value, basis = np.nan, None
        if series is not None:
            part = series.loc[(series["area_code"] == code) & series["year"].isin(list(years))]
            if part["year"].nunique() == len(set(years)):
                value, basis = float(part["population"].sum()), POPULATION_SERIES
        if basis is None and code in census.index:
            value, basis = float(census[code]) * len(set(years)), CENSUS_STAND_IN
        rows.append({"area_code": code, "population": value, "basis": basis})
    return pd.DataFrame(rows)


def pooled_rates(
    events: pd.DataFrame,
    codes: Sequence[str],
    years: Sequence[int],
    published: dict[str, pd.DataFrame],
    *,
    count: str = "deaths",
    confidence: float = 0.95,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Three-year (or any) pooled crude rate per 100,000 for each area in ``codes``.

    ``events``: ``area_code, year`` and the ``count`` column (annual counts). An area
    missing a year's count gets no rate (never a silently shortened numerator).
    Returns ``area_code, area_name, period, count, population, basis, rate, lower,
    upper, method``.
    """
    years = sorted(set(int(y) for y in years))
    part = events.loc[events["area_code"].isin(list(codes)) & events["year"].isin(years)]
    counts = part.groupby("area_code")[count].agg(["sum", "count"])
    complete = counts["count"] == len(years)
    complete &= ~part.groupby("area_code")[count].apply(lambda s: s.isna().any())
    denominators = person_years(list(codes), years, published).set_index("area_code")
    rows = []
    for code in codes:
        n = float(counts.loc[code, "sum"]) if code in counts.index and complete.get(code, False) else np.nan
        pop = denominators.loc[code, "population"]
        rows.append({"area_code": code, "count": n, "population": pop, "basis": denominators.loc[code, "basis"]})
    out = pd.DataFrame(rows)
    ok = out["count"].notna() & out["population"].notna() & (out["population"] > 0)
    rates = pd.DataFrame({"value": np.nan, "lower": np.nan, "upper": np.nan, "method": None}, index=out.index)
    if ok.any():
        computed = stats.crude_rate(out.loc[ok, "count"].to_numpy(), out.loc[ok, "population"].to_numpy(),
                                    confidence=confidence)
        computed.index = out.index[ok]
        rates.loc[ok, ["value", "lower", "upper"]] = computed[["value", "lower", "upper"]].to_numpy()
        rates.loc[ok, "method"] = computed["method"].to_numpy()
    out["rate"], out["lower"], out["upper"], out["method"] = (
        rates["value"].astype(float), rates["lower"].astype(float), rates["upper"].astype(float), rates["method"])
    label = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    out.insert(1, "period", label)
    lookup = names or {}
    if "area_name" in events.columns:
        lookup = {**events.drop_duplicates("area_code").set_index("area_code")["area_name"].to_dict(), **lookup}
    out.insert(1, "area_name", out["area_code"].map(lookup).fillna(out["area_code"]))
    return out


def rolling_counts(events: pd.DataFrame, codes: Sequence[str], *, count: str = "deaths", length: int = 3) -> pd.DataFrame:
    """Rolling ``length``-year counts per area: ``area_code, start_year, end_year, count``."""
    rows = []
    for code in codes:
        part = events.loc[events["area_code"] == code].set_index("year")[count].sort_index()
        for end in part.index:
            window = part.reindex(range(end - length + 1, end + 1))
            if window.notna().all():
                rows.append({"area_code": code, "start_year": end - length + 1, "end_year": end,
                             "count": float(window.sum())})
    return pd.DataFrame(rows, columns=["area_code", "start_year", "end_year", "count"])


def indexed_trend(events: pd.DataFrame, codes: Sequence[str], published: dict[str, pd.DataFrame], *,
                  count: str = "deaths", length: int = 3, confidence: float = 0.95) -> tuple[pd.DataFrame, str]:
    """Trend of rolling ``length``-year figures per area, as rates where every year has a
    mid-year population (``la_population_series``), else as counts indexed to the first
    period (= 100), which lets areas of any size share one chart.

    Returns (frame with ``area_code, start_year, end_year, count, value, lower, upper``,
    kind: ``'rate'`` or ``'index'``).
    """
    rolling = rolling_counts(events, codes, count=count, length=length)
    series = published.get("la_population_series")
    if series is not None and not rolling.empty:
        pops = series.set_index(["area_code", "year"])["population"]
        values = []
        for row in rolling.itertuples(index=False):
            keys = [(row.area_code, y) for y in range(row.start_year, row.end_year + 1)]
            values.append(float(pops.reindex(keys).sum()) if all(k in pops.index for k in keys) else np.nan)
        rolling["population"] = values
        if rolling["population"].notna().all():
            rates = stats.crude_rate(rolling["count"], rolling["population"], confidence=confidence)
            rolling[["value", "lower", "upper"]] = rates[["value", "lower", "upper"]].to_numpy()
            return rolling, "rate"
        rolling = rolling.drop(columns="population")
    if rolling.empty:
        return rolling.assign(value=[], lower=[], upper=[]), "index"
    rolling = rolling.sort_values(["area_code", "start_year"]).reset_index(drop=True)
    first = rolling.groupby("area_code")["count"].transform("first")
    rolling["value"] = rolling["count"] / first * 100
    lower, upper = stats.poisson_ci(rolling["count"].to_numpy(), confidence)
    rolling["lower"] = np.asarray(lower) / first.to_numpy() * 100
    rolling["upper"] = np.asarray(upper) / first.to_numpy() * 100
    return rolling, "index"


def funnel_control_limits(person_years_grid, benchmark_rate: float, *, confidence: float,
                          multiplier: float = 100_000) -> pd.DataFrame:
    """Funnel-plot control limits for a crude rate against a benchmark rate.

    For a population of ``n`` person-years the expected count is ``E = benchmark_rate /
    multiplier x n``; the limits are the exact Poisson limits around ``E`` in their
    chi-square form, ``chi2(a/2, 2E)/2`` and ``chi2(1 - a/2, 2E + 2)/2`` (Spiegelhalter
    2005), divided by ``n`` and multiplied. Returns ``population, lower, upper`` (rates).
    """
    n = np.asarray(person_years_grid, dtype=float)
    expected = benchmark_rate / multiplier * n
    alpha = 1 - confidence
    lower = np.where(expected > 0, sps.chi2.ppf(alpha / 2, 2 * expected) / 2, 0.0)
    upper = sps.chi2.ppf(1 - alpha / 2, 2 * expected + 2) / 2
    return pd.DataFrame({"population": n, "lower": lower / n * multiplier, "upper": upper / n * multiplier})


def funnel_position(count, population, benchmark_rate: float, *, multiplier: float = 100_000) -> np.ndarray:
    """Where each area's count falls against the funnel around ``benchmark_rate``:
    "Above 99.8% limit", "Above 95% limit", "Within limits", "Below 95% limit",
    "Below 99.8% limit" (a count exactly on a limit is within it)."""
    count = np.asarray(count, dtype=float)
    population = np.asarray(population, dtype=float)
    rate = count / population * multiplier
    out = np.full(len(count), "Within limits", dtype=object)
    for confidence, above, below in ((0.95, "Above 95% limit", "Below 95% limit"),
                                     (0.998, "Above 99.8% limit", "Below 99.8% limit")):
        limits = funnel_control_limits(population, benchmark_rate, confidence=confidence, multiplier=multiplier)
        out = np.where(rate > limits["upper"].to_numpy() + 1e-12, above, out)
        out = np.where(rate < limits["lower"].to_numpy() - 1e-12, below, out)
    out[np.isnan(rate)] = "Not placed"
    return out


def funnel_points(events: pd.DataFrame, years: Sequence[int], published: dict[str, pd.DataFrame], *,
                  levels: Sequence[str], count: str = "deaths", highlight: Sequence[str] = (),
                  confidence: float = 0.95) -> tuple[pd.DataFrame, str]:
    """Every English authority at ``levels`` with a count for ``years`` and a population
    in ``published`` (mid-year series, else Census 2021), plus the ``highlight`` codes.

    Returns (frame ``area_code, area_name, count, population, basis, rate, lower, upper,
    highlighted``, a sentence on coverage).
    """
    level_of = events.drop_duplicates("area_code").set_index("area_code")["level"] if "level" in events else None
    candidates = sorted(events["area_code"].unique())
    if level_of is not None:
        candidates = [c for c in candidates if level_of.get(c) in levels and c.startswith("E")
                      and c not in _NOT_ENGLISH_AUTHORITY]
    candidates = sorted(set(candidates) | set(highlight))
    rates = pooled_rates(events, candidates, years, published, count=count, confidence=confidence)
    rates = rates.loc[rates["rate"].notna()].reset_index(drop=True)
    rates["highlighted"] = rates["area_code"].isin(list(highlight))
    total = len([c for c in candidates if c not in highlight]) + len(highlight)
    others = int((~rates["highlighted"]).sum())
    coverage = (f"{len(rates)} of {total} English authorities have a population in public_data_dir"
                + ("" if others else "; no other authority could be placed, so the funnel shows only this "
                   "area's authorities against the England rate"))
    return rates, coverage


def reconcile_three_year_counts(deaths: pd.DataFrame, three_year: pd.DataFrame, area_code: str,
                                parts: Sequence[str], *, measure: str = "drug_poisoning") -> pd.DataFrame:
    """Recompute published three-year counts of ``area_code`` from the annual counts of
    its ``parts`` (e.g. a county's districts): ``period, published, recomputed,
    difference``, one row per period the published file holds."""
    pub = three_year.loc[(three_year["area_code"] == area_code) & (three_year["measure"] == measure)]
    annual = deaths.loc[deaths["area_code"].isin(list(parts))].groupby("year")["deaths"].sum(min_count=len(parts))
    rows = []
    for row in pub.sort_values("end_year").itertuples(index=False):
        window = annual.reindex(range(row.start_year, row.end_year + 1))
        recomputed = float(window.sum()) if window.notna().all() else np.nan
        rows.append({"period": f"{row.start_year}–{row.end_year}", "published": float(row.deaths),
                     "recomputed": recomputed, "difference": recomputed - float(row.deaths)})
    return pd.DataFrame(rows)


def admissions_series(admissions: pd.DataFrame, *, measure: str, area_code: str, region_code: str | None,
                      names: dict[str, str] | None = None) -> pd.DataFrame:
    """Annual admissions (financial year start) for the area (a merged local area), its
    region and England, from NHS Digital: ``area_code, area_name, level, year, admissions``.

    Region and England come from the regional file (so England is the sum of regions,
    like the local figures, which exclude admissions with no known residence)."""
    part = admissions.loc[admissions["measure"] == measure]
    local = part.loc[(part["location_type"] == "merged local area") & part["area_code"].notna()]
    regional = part.loc[part["location_type"] == "England/region"]
    frames = [local.assign(level="authority")]
    frames.append(regional.assign(level=np.where(regional["area_code"] == ENGLAND, "country", "region")))
    out = pd.concat(frames, ignore_index=True)
    out = out.rename(columns={"location": "area_name"})[["area_code", "area_name", "level", "year", "admissions"]]
    if names:
        out["area_name"] = out["area_code"].map(names).fillna(out["area_name"])
    return out.dropna(subset=["area_code"]).reset_index(drop=True)
