"""Real areas on published open data: what the loaders build from ``shared/reference`` is
checked against the published totals (read here with plain pandas, independently of the
code under test). Skips cleanly when the reference folder is absent.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from needs_assessment.analysis import published as pub
from needs_assessment.data import SCHEMAS, check_frame
from needs_assessment.inputs import load_area
from needs_assessment.params import load_params
from needs_assessment.public_data import readers as R

GLOS, TH = "E10000013", "E09000030"
GLOS_DISTRICTS = ["E07000078", "E07000079", "E07000080", "E07000081", "E07000082", "E07000083"]
PUBLIC_ONLY = ["geography", "boundaries", "population", "characteristics", "crime", "published"]


def _params(project_root: Path, reference_dir: Path, tmp: Path, name: str):
    raw = yaml.safe_load((project_root / "params" / f"{name}.yaml").read_text())
    raw["public_data_dir"] = str(reference_dir)
    raw["data"]["directory"] = str(tmp / "illustrative" / name)
    raw["outputs_dir"] = str(tmp / "outputs")
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_params(path, check_files=False)


@pytest.fixture(scope="module")
def areas(reference_dir, project_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("public")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("gloucestershire", "tower-hamlets"):
            params = _params(project_root, reference_dir, tmp, name)
            out[name] = (params, load_area(params, only=PUBLIC_ONLY))
    return out


def _csv(reference_dir: Path, rel: str) -> pd.DataFrame:
    return pd.read_csv(reference_dir / rel, dtype={"area_code": str, "code": str})


# ------------------------------------------------------------------------------ geography
def test_small_areas_districts_and_wards(areas):
    glos = areas["gloucestershire"][1].geography
    th = areas["tower-hamlets"][1].geography
    assert len(glos) == 393 and glos["small_area_code"].is_unique
    assert len(th) == 169
    assert sorted(glos["district_code"].unique()) == GLOS_DISTRICTS
    assert glos.groupby("district_code").size().to_dict() == {
        "E07000078": 77, "E07000079": 56, "E07000080": 50, "E07000081": 82, "E07000082": 72, "E07000083": 56}
    assert glos["ward_code"].nunique() == 137
    assert th["ward_code"].nunique() == 20
    assert set(glos["upper_tier_code"]) == {GLOS} and set(th["upper_tier_code"]) == {TH}
    assert set(glos["region_code"]) == {"E12000009"} and set(th["region_code"]) == {"E12000007"}
    check_frame(glos, "geography")  # the same contract as an analyst's own file


def test_imd_2025_national_deciles(areas, reference_dir):
    national = areas["gloucestershire"][1].published["imd_national"]
    assert int(national["small_areas"].sum()) == 33_755
    assert set(national["small_areas"]) <= {3375, 3376}
    raw = _csv(reference_dir, "geography/imd2025_england_lsoa21.csv")
    glos = areas["gloucestershire"][1].geography.set_index("small_area_code")
    joined = raw.set_index("LSOA21CD").loc[glos.index]
    assert (joined["IMD25_decile"] == glos["imd_decile"]).all()
    assert np.allclose(joined["IMD25_score"], glos["imd_score"])


def test_boundaries_are_reprojected_with_plausible_areas(areas):
    for name, (lo, hi) in (("gloucestershire", (2_500, 2_800)), ("tower-hamlets", (18, 23))):
        bnd = areas[name][1].boundaries
        assert bnd.crs.to_epsg() == 27700
        km2 = bnd.geometry.area.sum() / 1e6
        assert lo < km2 < hi, (name, km2)  # Gloucestershire about 2,650 km2; Tower Hamlets about 20 km2
        x, y = bnd.geometry.centroid.x.mean(), bnd.geometry.centroid.y.mean()
        assert 300_000 < x < 560_000 and 150_000 < y < 250_000  # British National Grid metres


# ------------------------------------------------------------------------------ population
def test_census_totals(areas, reference_dir):
    ts007 = _csv(reference_dir, "population/census2021_ts007_age_single_year.csv")
    total = ts007.loc[ts007["age"] == "Total"].drop_duplicates("area_code").set_index("area_code")["usual_residents"]
    assert total[TH] == 310_303
    assert total[GLOS] == 645_075
    census = areas["tower-hamlets"][1].published["census_population"].set_index("area_code")["population"]
    assert census[TH] == 310_303 and census[GLOS] == 645_075 and census["E92000001"] == 56_490_045


def test_built_population_adds_up_to_the_published_authority_totals(areas, reference_dir):
    ts007 = _csv(reference_dir, "population/census2021_ts007_age_single_year.csv")
    singles = ts007.loc[ts007["age"] != "Total"].drop_duplicates(["area_code", "age"])
    singles = singles.assign(age=singles["age"].str.rstrip("+").astype(int).clip(upper=90))
    for name in ("gloucestershire", "tower-hamlets"):
        params, area = areas[name]
        pop = area.population
        check_frame(pop, "population")
        assert set(pop["year"]) >= set(params.period.years)
        one = pop.loc[pop["year"] == params.period.end_year].merge(
            area.geography[["small_area_code", "district_code"]], on="small_area_code")
        for code, got in one.groupby("district_code")["population"].sum().items():
            published = singles.loc[singles["area_code"] == code, "usual_residents"].sum()
            assert got == published, code
        by_age = one.groupby(["district_code", "age"])["population"].sum()
        expected = singles.groupby(["area_code", "age"])["usual_residents"].sum()
        for (code, age), value in by_age.items():
            assert value == expected[(code, age)]
    # Gloucestershire: the six published district totals add to 645,073, two fewer than the
    # published county total (Census tables are perturbed independently)
    glos = areas["gloucestershire"][1].population
    assert int(glos.loc[glos["year"] == 2024, "population"].sum()) == 645_073


def test_built_population_matches_sex_totals_and_small_area_census_totals(areas, reference_dir):
    ts009 = _csv(reference_dir, "population/census2021_ts009_sex_totals.csv").set_index("area_code")
    eth = _csv(reference_dir, "population/census2021_ethnic_group_5cat_lsoa21.csv")
    lsoa_totals = eth.drop_duplicates("lsoa21_code").set_index("lsoa21_code")["total_residents"]
    _, area = areas["tower-hamlets"]
    pop = area.population.loc[area.population["year"] == 2024]
    males = int(pop.loc[pop["sex"] == "male", "population"].sum())
    expected_male = ts009.loc[TH, "total_males"] * 310_303 / ts009.loc[TH, "total_population"]
    assert abs(males - expected_male) <= 1
    built = pop.groupby("small_area_code", observed=True)["population"].sum()
    diff = (built - lsoa_totals.reindex(built.index)).abs()
    assert diff.max() <= 5  # rounding plus the Census small-area/authority perturbation gap


# ------------------------------------------------------------------------------ characteristics
def test_characteristics_from_small_area_sums(areas, reference_dir):
    la = _csv(reference_dir, "population/census2021_religion_disability_ethnicity_la_from_lsoa_sums.csv")
    _, area = areas["tower-hamlets"]
    chars = area.characteristics.set_index(["area_code", "characteristic", "category"])["population"]
    muslim = la.loc[(la.area_code == TH) & (la.topic.str.startswith("religion")) & (la.category == "Muslim"), "count"]
    assert chars[(TH, "religion", "muslim")] == int(muslim.iloc[0])
    wards = area.geography["ward_code"].unique()
    assert sum(chars[(w, "religion", "muslim")] for w in wards) == int(muslim.iloc[0])
    check_frame(area.characteristics.reset_index(drop=True), "characteristics")


def test_characteristic_comparators_include_england_and_region(areas):
    prof = areas["gloucestershire"][1].published["characteristics_profile"]
    for code in ("E92000001", "E12000009", GLOS, *GLOS_DISTRICTS):
        assert (prof["area_code"] == code).any(), code
    so = prof.loc[(prof.area_code == "E92000001") & (prof.characteristic == "sexual_orientation")]
    lgb = so.loc[so.category.isin(["gay_or_lesbian", "bisexual", "other"]), "count"].sum() / so["count"].sum()
    assert lgb == pytest.approx(0.0317, abs=0.0005)  # ONS headline: 3.2% (England and Wales)


# ------------------------------------------------------------------------------ crime
def test_crime_holds_burglary_only_and_says_so(areas):
    _, area = areas["tower-hamlets"]
    assert len(area.crime) == 1290
    assert set(area.crime["crime_type"].astype(str)) == {"Burglary"}
    assert area.crime["in_area"].all()
    assert any("only these crime types: Burglary" in w for w in area.warnings)
    coverage = area.published["crime_coverage"]
    assert coverage["crime_type"].tolist() == ["Burglary"]  # Drugs etc. were not supplied, not zero
    assert coverage["first_month"].iloc[0] == pd.Timestamp("2024-09-01")
    assert areas["gloucestershire"][1].crime is None


# ------------------------------------------------------------------------------ published indicators
def test_three_year_county_count_recomputed_from_district_counts(areas, reference_dir):
    raw = _csv(reference_dir, "indicators/ons_drug_poisoning_deaths_by_la_1993_2020.csv").set_index("code")
    three = _csv(reference_dir, "indicators/ons_drug_deaths_3yr_by_merged_area_2007_2018.csv")
    published_2016_18 = three.loc[(three.area_code == GLOS) & (three.registration_period == "2016-2018")
                                  & three.measure.str.contains("poisoning"), "deaths"].item()
    by_hand = int(raw.loc[GLOS_DISTRICTS, ["2016", "2017", "2018"]].to_numpy().sum())
    assert by_hand == published_2016_18 == 111
    # the workbook's reconciliation agrees for every period
    _, area = areas["gloucestershire"]
    check = pub.reconcile_three_year_counts(area.published["drug_poisoning_deaths"], area.published["drug_deaths_3yr"],
                                            GLOS, GLOS_DISTRICTS)
    assert len(check) == 10 and (check["difference"] == 0).all()
    assert check.set_index("period").loc["2016–2018", "recomputed"] == 111


def test_england_and_wales_totals(areas, reference_dir):
    deaths = areas["gloucestershire"][1].published["drug_poisoning_deaths"].set_index(["area_code", "year"])["deaths"]
    national = _csv(reference_dir, "indicators/ons_drug_deaths_england_wales_1993_2021.csv").set_index("year")
    regions = R.read_deaths_by_region(reference_dir / "indicators/ons_drug_poisoning_deaths_by_region_1993_2020.csv")
    all_drugs = regions.loc[regions.substance == "all_drug_poisonings"]
    non_residents = all_drugs.loc[all_drugs.area_name == "Non-residents"].set_index("year")["deaths"]
    for year in (1993, 2010, 2019, 2020):
        assert deaths[("K04000001", year)] == national.loc[year, "drug_poisoning"]
        # England + Wales + deaths of non-residents registered in England and Wales
        assert (deaths[("E92000001", year)] + deaths[("W92000004", year)] + non_residents[year]
                == deaths[("K04000001", year)])
    assert deaths[("K04000001", 2020)] == 4561 and deaths[("K04000001", 2019)] == 4393
    sw = regions.loc[(regions.area_code == "E12000009") & (regions.substance == "all_drug_poisonings")]
    assert sw.set_index("year")["deaths"][2020] == deaths[("E12000009", 2020)] == 455


def test_latest_rates_for_the_area(areas, reference_dir):
    raw = _csv(reference_dir, "indicators/ons_drug_poisoning_deaths_by_la_1993_2020.csv").set_index("code")
    params, area = areas["gloucestershire"]
    rates = pub.pooled_rates(area.published["drug_poisoning_deaths"], [GLOS, "E92000001"], [2018, 2019, 2020],
                             area.published).set_index("area_code")
    count = int(raw.loc[GLOS, ["2018", "2019", "2020"]].sum())
    assert rates.loc[GLOS, "count"] == count
    assert rates.loc[GLOS, "rate"] == pytest.approx(count / (3 * 645_075) * 1e5)
    assert rates.loc[GLOS, "basis"] == pub.CENSUS_STAND_IN


def test_admissions_for_merged_areas_regions_and_england(areas):
    adm = areas["tower-hamlets"][1].published["drug_admissions"]
    series = pub.admissions_series(adm, measure="drug_poisoning", area_code=TH, region_code="E12000007")
    th = series.loc[series.area_code == TH].set_index("year")["admissions"]
    assert th.index.min() == 2008 and th.index.max() == 2018  # poisoning 2019/20 dropped as shifted
    assert set(series.loc[series.level == "region", "area_code"]) >= {"E12000007", "E12000009"}
    eng = series.loc[series.area_code == "E92000001"]
    assert len(eng) == eng["year"].nunique()  # one England row a year (the sum of regions)


def test_published_schema_errors_name_file_and_rows(tmp_path):
    bad = tmp_path / "deaths.csv"
    bad.write_text("code,name,2020\nE06000001,Town,5\nnot-a-code,Nowhere,3\n")
    from needs_assessment.data import InputDataError

    with pytest.raises(InputDataError, match=r"deaths.csv.*row 3.*GSS"):
        R.read_deaths_by_la(bad)


def test_schemas_cover_every_built_dataset():
    assert {"geography", "population", "characteristics", "crime", "boundaries"} <= set(SCHEMAS)
