"""Real areas end to end: Gloucestershire and Tower Hamlets run through the documented
command on the published data in ``shared/reference`` (skipped when it is absent), with
illustrative record-level inputs generated onto their real small areas.

Published figures in the report are checked against the source files, read here with plain
pandas, independently of the workbook.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from needs_assessment.params import load_params
from needs_assessment.runner import run_assessment

AREAS = ("gloucestershire", "tower-hamlets")


def _params_copy(project_root: Path, reference_dir: Path, tmp: Path, name: str) -> Path:
    raw = yaml.safe_load((project_root / "params" / f"{name}.yaml").read_text())
    raw["public_data_dir"] = str(reference_dir)
    raw["data"]["directory"] = str(tmp / "illustrative" / name)
    raw["outputs_dir"] = str(tmp / "outputs")
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# ------------------------------------------------------------------------------ illustrative records
@pytest.fixture(scope="module")
def tower_hamlets(project_root, reference_dir, tmp_path_factory):
    from needs_assessment.inputs import load_area

    tmp = tmp_path_factory.mktemp("th")
    params = load_params(_params_copy(project_root, reference_dir, tmp, "tower-hamlets"), check_files=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area = load_area(params, only=["geography", "boundaries", "population", "characteristics", "published"])
    return params, area


def test_illustrative_records_are_deterministic_and_on_real_small_areas(tower_hamlets):
    from needs_assessment.synthetic.real import simulate_onto_public

    params, area = tower_hamlets
    one = simulate_onto_public(area, seed=7, year=2024)
    two = simulate_onto_public(area, seed=7, year=2024)
    other = simulate_onto_public(area, seed=8, year=2024)
    pd.testing.assert_frame_equal(one["treatment_episodes"], two["treatment_episodes"])
    assert not one["treatment_episodes"]["client_id"].equals(other["treatment_episodes"]["client_id"])
    codes = set(area.geography["small_area_code"])
    used = set(one["treatment_episodes"]["small_area_code"].replace("", np.nan).dropna())
    assert used <= codes and len(used) > 150
    assert set(one["services"]["site_name"].str.split().str[0]) == {"Illustrative"}


def test_illustrative_need_follows_population_and_deprivation_only(tower_hamlets):
    from needs_assessment.synthetic.real import ONTO_PUBLIC, simulate_onto_public

    params, area = tower_hamlets
    people = simulate_onto_public(area, seed=11, year=2024)["people"]
    assert ONTO_PUBLIC.female_multiplier == 1.0 and ONTO_PUBLIC.ethnicity_multiplier == 1.0
    assert ONTO_PUBLIC.low_penetration_area is None  # no place is planted as under-served
    ocu = people.loc[people["group"] == "ocu"]
    by_sex = ocu.groupby("sex")["propensity"].mean()
    assert by_sex["male"] == pytest.approx(by_sex["female"])
    by_eth = ocu.loc[ocu["ethnicity"] != "not_stated"].groupby("ethnicity")["propensity"].mean()
    assert by_eth.max() == pytest.approx(by_eth.min())
    # the most deprived decile has more need per resident than the least deprived (ratio 3 by design)
    pop = area.population.loc[area.population["year"] == 2024].groupby("small_area_code", observed=True)["population"].sum()
    geo = area.geography.set_index("small_area_code")
    per_1000 = ocu.groupby("small_area_code").size().reindex(pop.index, fill_value=0) / pop * 1000
    top = per_1000[geo.loc[pop.index, "imd_decile"] <= 2].mean()
    bottom = per_1000[geo.loc[pop.index, "imd_decile"] >= 5].mean()
    assert top > bottom


# ------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def real_runs(project_root, reference_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real-runs")
    runs = {}
    for name in AREAS:
        path = _params_copy(project_root, reference_dir, tmp, name)
        runs[name] = run_assessment(path, run_id="test-run", quiet=True)
    return runs


def _results(outcome) -> dict:
    data = json.loads((outcome.run_dir / "results.json").read_text())
    return {item["key"]: item for item in data["indicators"]}


@pytest.mark.slow
@pytest.mark.xdist_group("real_areas")
@pytest.mark.parametrize("name", AREAS)
def test_real_area_publishes_report_and_tables(real_runs, name):
    outcome = real_runs[name]
    for file in ("report.html", "report.pdf", "tables.xlsx", "manifest.json"):
        assert (outcome.run_dir / file).stat().st_size > 0, file
    for table in ("population_by_district" if name == "gloucestershire" else "population_by_ward",
                  "residents_by_characteristic", "drug_poisoning_deaths_rates",
                  "drug_related_admissions_drug_poisoning"):
        assert (outcome.run_dir / "tables" / f"{table}.csv").is_file(), table
    html = outcome.report_html.read_text(encoding="utf-8")
    title = html[html.index('class="title-page"'): html.index("</header>")]
    assert "illustrative" in title and "published statistics" in title
    assert "No published statistics for this area" not in html
    manifest = json.loads(outcome.manifest.read_text())
    assert manifest["status"] == "succeeded"
    assert any(key.startswith("public_data.") for key in manifest["inputs"])


@pytest.mark.slow
@pytest.mark.xdist_group("real_areas")
def test_published_figures_in_the_reports_equal_the_source(real_runs, reference_dir):
    ts007 = pd.read_csv(reference_dir / "population/census2021_ts007_age_single_year.csv")
    totals = ts007.loc[ts007["age"] == "Total"].drop_duplicates("area_code").set_index("area_code")["usual_residents"]
    deaths = pd.read_csv(reference_dir / "indicators/ons_drug_poisoning_deaths_by_la_1993_2020.csv").set_index("code")
    imd = pd.read_csv(reference_dir / "geography/imd2025_lsoa21_study_areas.csv")
    for name, code in (("gloucestershire", "E10000013"), ("tower-hamlets", "E09000030")):
        results = _results(real_runs[name])
        html = real_runs[name].report_html.read_text(encoding="utf-8")
        assert results["population.total"]["value"] == totals[code]
        assert f"{totals[code]:,}" in html
        count = int(deaths.loc[code, ["2018", "2019", "2020"]].sum())
        got = results["published_harms.drug_poisoning_deaths_count"]
        assert got["value"] == count and got["period"] == "2018–2020" and got["source_kind"] == "published"
        rate = results["published_harms.drug_poisoning_deaths_rate"]
        assert rate["value"] == pytest.approx(count / (3 * totals[code]) * 1e5)
        assert {c["label"] for c in rate["comparisons"]} >= {"England"}
        mine = imd.loc[imd["study_area"] == ("Gloucestershire" if code.startswith("E10") else "Tower Hamlets")]
        share_d1 = (mine["IMD25_decile"] == 1).mean() * 100
        assert results["deprivation.share_decile_1"]["value"] == pytest.approx(share_d1)
    tables = real_runs["gloucestershire"].run_dir / "tables"
    rates = pd.read_csv(tables / "drug_poisoning_deaths_rates.csv").set_index("Area")
    assert rates.loc["Gloucester", "Deaths (3-year count)"] == deaths.loc["E07000081", ["2018", "2019", "2020"]].sum()
