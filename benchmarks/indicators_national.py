"""Time to compute the full indicator set on the national-scale synthetic area.

    .venv/bin/python benchmarks/indicators_national.py [--data DIR] [--seed N]

Generates (once, into DIR, default /tmp/needs-assessment-national) the national variant
(33,755 small areas in ~300 districts, ~300,000 treatment episodes), loads and validates
it, then times each family of indicators the chapters compute, by district: crude rates
with Byar's intervals, directly standardised rates (ESP2013, Dobson), Wilson proportions,
indirectly standardised ratios, funnel limits, the slope index of inequality by
deprivation decile, capture–recapture prevalence with unmet need, and disclosure control of
the by-district tables. Prints seconds per step and peak memory (tracemalloc).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import pandas as pd

from needs_assessment import sdc, stats
from needs_assessment.analysis.common import (
    OCU_GROUPS,
    attach_area,
    in_treatment,
    population_in_ages,
)
from needs_assessment.params import RunParams


def _params(directory: Path) -> RunParams:
    files = {
        "geography": "geography.csv", "boundaries": None, "population": "population.csv",
        "treatment_episodes": "treatment_episodes.csv", "prison_releases": "prison_releases.csv",
        "deaths": "deaths.csv", "admissions": "admissions.csv",
        "linkable_lists": {n: f"lists/{n}.csv" for n in ("probation", "police_custody", "hospital")},
    }
    return RunParams.model_validate({
        "area": {"name": "England (synthetic national)", "slug": "national", "structure": "two_tier",
                 "reporting_geography": "district"},
        "period": {"start_year": 2024, "end_year": 2024},
        "data": {"directory": directory, "files": files},
        "notebooks": ["x.ipynb"],
    })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/needs-assessment-national")
    parser.add_argument("--seed", type=int, default=20240521)
    args = parser.parse_args()
    directory = Path(args.data)
    timings: list[tuple[str, float]] = []

    def step(name, func):
        start = time.perf_counter()
        out = func()
        timings.append((name, time.perf_counter() - start))
        return out

    if not (directory / "geography.csv").exists():
        from needs_assessment.synthetic import generate_area

        step("generate national area (once)", lambda: generate_area("national", args.seed, directory))
    tracemalloc.start()
    from needs_assessment.data import load_area

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area = step("load and validate", lambda: load_area(_params(directory)))
    year = 2024
    geo = area.geography
    indicator_start = time.perf_counter()

    # Crude rates: adults in treatment per 100,000 adults by district.
    def treatment_rates():
        people = attach_area(in_treatment(area.treatment_episodes, year, adults=True), geo, level="district")
        counts = people.groupby("area_code").size()
        pop = population_in_ages(area.population, years=[year], min_age=18, geography=geo, level="district").set_index("area_code")
        counts = counts.reindex(pop.index, fill_value=0)
        rates_counts[:] = [counts.to_numpy(), pop["population"].to_numpy()]
        return stats.crude_rate(counts.to_numpy(), pop["population"].to_numpy())

    rates_counts: list = [None, None]
    rates = step("crude rates + Byar's CIs (districts)", treatment_rates)

    def dsr_deaths():
        deaths = attach_area(area.deaths.loc[area.deaths["cause"] == "drug_misuse"], geo, level="district")
        d = deaths.groupby(["area_code", "age_band"], observed=True)["count"].sum()
        pop = population_in_ages(area.population, years=[year], geography=geo, level="district", by=["age_band"])
        merged = pop.merge(d.rename("count").reset_index(), on=["area_code", "age_band"], how="left").fillna({"count": 0})
        merged["age_band"] = merged["age_band"].astype(str)
        return stats.dsr(merged, count="count", population="population", by="area_code")

    step("directly standardised rates, ESP2013 (districts)", dsr_deaths)

    def completions():
        people = attach_area(in_treatment(area.treatment_episodes, year, adults=True), geo, level="district")
        done = people["discharge_reason"].astype(str).str.startswith("completed")
        grouped = people.assign(done=done).groupby("area_code")["done"].agg(["sum", "count"])
        return stats.proportion(grouped["sum"].to_numpy(), grouped["count"].to_numpy())

    step("Wilson proportions (districts)", completions)

    def isr():
        adm = attach_area(area.admissions.loc[area.admissions["condition"] == "alcohol_specific"], geo, level="district")
        pop = population_in_ages(area.population, years=[year], geography=geo, level="district", by=["age_band"])
        counts = adm.groupby(["area_code", "age_band"], observed=True)["count"].sum().rename("count").reset_index()
        merged = pop.merge(counts, on=["area_code", "age_band"], how="left").fillna({"count": 0})
        ref = merged.groupby("age_band", observed=True)[["count", "population"]].sum().rename(
            columns={"count": "refcount", "population": "refpop"})
        merged = merged.merge(ref, on="age_band")
        return stats.isratio(merged, observed="count", population="population", reference_count="refcount",
                             reference_population="refpop", by="area_code")

    step("indirectly standardised ratios (districts)", isr)
    step("funnel limits (crude rates, districts)", lambda: stats.funnel_limits(
        rates_counts[0], rates_counts[1], statistic="rate", rate=rates["value"].to_numpy(),
        rate_type="crude", multiplier=100_000, years_of_data=1))

    def sii():
        people = in_treatment(area.treatment_episodes, year, adults=True)
        people = people.merge(geo[["small_area_code", "imd_decile"]], on="small_area_code")
        counts = people.groupby("imd_decile").size()
        pop = area.population.loc[(area.population["year"] == year) & (area.population["age"] >= 18)]
        pop = pop.merge(geo[["small_area_code", "imd_decile"]], on="small_area_code").groupby("imd_decile")["population"].sum()
        n = counts.reindex(pop.index, fill_value=0).to_numpy()
        r = stats.crude_rate(n, pop.to_numpy())
        table = pd.DataFrame({"quantile": pop.index, "population": pop.to_numpy(), "value": r["value"].to_numpy(),
                              "lower": r["lower"].to_numpy(), "upper": r["upper"].to_numpy()})
        return stats.slope_index_of_inequality(table, quantile="quantile", population="population", value="value",
                                               lower_cl="lower", upper_cl="upper", value_type="rate",
                                               repetitions=10_000, seed=1)

    step("slope and relative index of inequality", sii)

    def prevalence():
        from needs_assessment.analysis.prevalence import ocu_capture_records
        from needs_assessment.prevalence import capture_histories, mse_estimate, unmet_need

        records = ocu_capture_records(area, year, level="district")
        lists = {n: g["client_id"] for n, g in records.groupby("list")}
        result = mse_estimate(capture_histories(lists), n_boot=200)
        treated = in_treatment(area.treatment_episodes, year, adults=None, groups=OCU_GROUPS)
        return unmet_need(len(treated), result.estimate, result.lower, result.upper)

    step("capture–recapture + unmet need (national)", prevalence)

    def disclosure():
        people = attach_area(in_treatment(area.treatment_episodes, year, adults=True), geo, level="district")
        table = people.groupby(["area_name", "substance_group"], observed=True).size().unstack(fill_value=0)
        table["Total"] = table.sum(axis=1)
        table = table.reset_index()
        parts = [c for c in table.columns if c not in ("area_name", "Total")]
        spec = sdc.TableSpec(count_columns=(*parts, "Total"), column_totals={"Total": parts})
        return sdc.protect_table(table, spec, sdc.DisclosureRules())

    step("disclosure control, districts x substance", disclosure)
    indicator_seconds = time.perf_counter() - indicator_start
    _, peak = tracemalloc.get_traced_memory()

    print(f"national synthetic area: {len(geo):,} small areas, {geo['district_code'].nunique()} districts, "
          f"{len(area.treatment_episodes):,} treatment episodes")
    print(f"{'step':<52}{'seconds':>9}")
    for name, seconds in timings:
        print(f"{name:<52}{seconds:>9.2f}")
    print(f"{'full indicator set (all steps after loading)':<52}{indicator_seconds:>9.2f}")
    print(f"peak traced memory: {peak / 2**20:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
