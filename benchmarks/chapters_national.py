"""Time the chapters' analysis and charts (area profile, places, access) at national scale.

    .venv/bin/python benchmarks/chapters_national.py --params PARAMS.yaml

PARAMS names a national-scale area (33,755 small areas in 300 districts, ~300,000
treatment episodes), e.g. a copy of a params file pointing at
``needs-assessment generate-data --variant national --seed 20240521 --out DIR``. The area is
loaded and validated once; then each step the chapter notebooks take is timed as they call
it: the places rates and deprivation gradient, recording one indicator per district, the
drop-out model, and the maps (drawn and saved as the report embeds them). Prints seconds
(wall and CPU) per step and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", required=True)
    args = parser.parse_args()

    from needs_assessment.analysis import access, common, places, profile
    from needs_assessment.charts import access as access_charts
    from needs_assessment.charts import places as place_charts
    from needs_assessment.charts import profile as profile_charts
    from needs_assessment.inputs import load_area
    from needs_assessment.params import load_params
    from needs_assessment.results import ResultsRecorder

    timings: list[tuple[str, float, float]] = []

    def step(name, func):
        wall, cpu = time.perf_counter(), time.process_time()
        out = func()
        timings.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        return out

    def png(fig_alt) -> int:
        fig, _ = fig_alt
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
        plt.close(fig)
        return len(buffer.getvalue())

    params = load_params(args.params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area = step("load and validate", lambda: load_area(params))
    ctx = places.places_context(params)
    geo, pop, level = area.geography, area.population, ctx.level

    step("area profile: residents by district", lambda: profile.population_by_area(
        pop, geo, level=level, year=ctx.final_year))
    step("area profile: deprivation map (PNG)", lambda: png(profile_charts.deprivation_map(
        geo, area.boundaries, level=level, area=ctx.area_name)))
    treat = step("places: treatment rates", lambda: places.treatment_rates(
        area.treatment_episodes, pop, geo, ctx))
    step("places: deaths, standardised", lambda: places.standardised_rates(
        area.deaths, pop, geo, ctx, column="cause", codes=places.DEATH_CAUSES))
    step("places: admissions, standardised", lambda: places.standardised_rates(
        area.admissions, pop, geo, ctx, column="condition", codes=places.ADMISSION_CONDITIONS,
        noun="admissions"))
    step("places: deprivation gradient (SII)", lambda: places.deprivation_gradient(area, ctx))
    sub_geo = step("places: district boundaries", lambda: places.sub_area_boundaries(
        area.boundaries, geo, level))
    values = treat.loc[(treat["group"] == "all") & (treat["row"] == "sub_area")].set_index(
        "area_code")["value"]
    step("places: choropleth (PNG)", lambda: png(place_charts.choropleth_panels(
        sub_geo, [{"values": values, "title": "All substances", "unit": "per 100,000"}],
        level=level, area_name=ctx.area_name)))
    step("places: IMD decile map (PNG)", lambda: png(place_charts.imd_decile_map(
        places.small_area_deciles(area.boundaries, geo), sub_geo, level=level,
        area_name=ctx.area_name)))

    def record_indicators():
        rec = ResultsRecorder(tempfile.mkdtemp(prefix="bench-"), "places")
        rows = treat.loc[treat["group"] == "all"].reset_index(drop=True)
        published = rows.rename(columns={"count": "Number"})
        for group in ("a", "b", "c"):  # three measures' worth, as chapter 4 records
            places.record_rate_indicators(
                rec, rows, published, ctx, measure=places.MEASURES["treatment_rate"],
                key=f"treatment_rate_{group}", label="Adults in treatment", period="2024",
                source_kind="synthetic", source="benchmark")

    step("places: record 3 x 300 district indicators", record_indicators)

    episodes = area.treatment_episodes
    new = access.add_breakdowns(common.new_presentations(episodes, ctx.years), geo, level=level)
    drop = access.early_dropout(new, follow_up_end=access.extract_end(episodes))
    drop = drop.loc[drop["assessable"]]
    step("access: drop-out model", lambda: access.dropout_model(
        drop, "dropped_out_early", {"Age group": "age_group", "Sex": "sex_label",
                                    "Substance group": "substance_label",
                                    level.title(): "area_name"}))
    sites = access.site_points(area.services)
    nearest = access.nearest_site(access.small_area_points(area.boundaries), sites)
    summary = nearest.merge(geo[["small_area_code", "district_name"]], on="small_area_code").groupby(
        "district_name", as_index=False)["distance_km"].mean().rename(
        columns={"district_name": "area_name", "distance_km": "mean_km"})
    step("access: distance map (PNG)", lambda: png(access_charts.distance_map(
        area.boundaries, nearest, geo, sites, level=level, area=ctx.area_name, summary=summary)))

    print(f"{len(geo):,} small areas, {geo['district_code'].nunique()} districts, "
          f"{len(episodes):,} treatment episodes")
    print(f"{'step':<46}{'wall s':>9}{'CPU s':>9}")
    for name, wall, cpu in timings:
        print(f"{name:<46}{wall:>9.2f}{cpu:>9.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
