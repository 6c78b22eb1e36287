"""Every loader on small hand-made files, in each accepted layout, plus load_area.

Real published layouts are mirrored with made-up values; tests marked ``reference`` also read
the real ONS / police.uk files in ``../shared/reference`` when they are present.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_data_builders import (
    TODAY,
    boundaries_gdf,
    comparators_frame,
    counts_frame,
    crime_frame,
    geography_frame,
    list_frame,
    population_wide,
    prison_frame,
    services_frame,
    snapshot,
    treatment_frame,
    write_area,
    write_csv,
)

from needs_assessment.data import (
    AGE_BANDS,
    CANONICAL_COLUMNS,
    AreaData,
    InputDataError,
    age_band_for,
    check_frame,
    label,
    load_admissions,
    load_area,
    load_boundaries,
    load_comparators,
    load_crime,
    load_deaths,
    load_geography,
    load_linkable_list,
    load_population,
    load_prison_releases,
    load_services,
    load_treatment_episodes,
    normalise_code,
)
from needs_assessment.data.codes import UnknownCodeError, normalise_series
from needs_assessment.params import load_params

CODES4 = [f"X0100000{i}" for i in range(1, 5)]


# ============================================================================================ codes
@pytest.mark.parametrize(
    ("value", "field", "code"),
    [
        ("opiate_and_crack", "substance_group", "opiate_and_crack"),
        ("Opiate and crack", "substance_group", "opiate_and_crack"),
        ("  OPIATE & CRACK ", "substance_group", "opiate_and_crack"),
        ("Non-opiate only", "substance_group", "non_opiate_only"),
        ("M", "sex", "male"),
        ("f", "sex", "female"),
        ("Prefer not to say", "sex", "not_stated"),
        ("Persons", "population_sex", "persons"),
        ("Y", "disability", "yes"),
        ("N", "gender_identity_same_as_sex", "no"),
        ("Asian, Asian British or Asian Welsh", "ethnicity", "asian"),
        ("Black, Black British, Black Welsh, Caribbean or African", "ethnicity", "black"),
        ("Mixed or Multiple ethnic groups", "ethnicity", "mixed"),
        ("White: English, Welsh, Scottish, Northern Irish or British", "ethnicity", "white"),
        ("Pakistani", "ethnicity", "asian"),
        ("Z", "ethnicity", "not_stated"),
        ("Treatment completed – drug free", "discharge_reason", "completed_drug_free"),
        ("Incomplete - dropped out", "discharge_reason", "dropped_out"),
        ("A&E", "referral_source", "a_and_e"),
        ("Liaison and diversion", "referral_source", "police_custody_liaison_diversion"),
        ("No fixed abode", "housing_problem", "urgent_housing_problem"),
        ("Straight or heterosexual", "sexual_orientation", "heterosexual"),
        ("Married or in a registered civil partnership", "marital_status", "married_or_civil_partnership"),
        ("anti-social behaviour", "crime_type", "Anti-social behaviour"),
        ("0 to 4", "age_band", "0-4"),
        ("Aged 85 to 89", "age_band", "85-89"),
        ("90 and over", "age_band", "90+"),
    ],
)
def test_normalise_code_accepts_codes_labels_and_aliases(value, field, code):
    assert normalise_code(value, field) == code


def test_normalise_code_rejects_unknown_values_listing_the_allowed_ones():
    with pytest.raises(UnknownCodeError) as info:
        normalise_code("opiat", "substance_group")
    message = str(info.value)
    assert "'opiat'" in message and "opiate_and_crack" in message and "alcohol_only" in message
    assert isinstance(info.value, ValueError)


def test_labels_and_age_bands():
    assert label("opiate_and_crack", "substance_group") == "Opiate and crack"
    assert label("asian", "ethnicity") == "Asian, Asian British or Asian Welsh"
    assert AGE_BANDS[0] == "0-4" and AGE_BANDS[-1] == "90+" and len(AGE_BANDS) == 19
    assert [age_band_for(a) for a in (0, 4, 5, 37, 89, 90, 104)] == [
        "0-4", "0-4", "5-9", "35-39", "85-89", "90+", "90+"]
    assert list(age_band_for(pd.Series([1, 50, None]))[:2]) == ["0-4", "50-54"]
    with pytest.raises(ValueError):
        age_band_for(-1)


def test_normalise_series_is_vectorised_over_distinct_values():
    codes, unknown = normalise_series(pd.Series(["Male", "m", "", "zz", "FEMALE"] * 1000), "sex")
    assert codes.iloc[:5].tolist()[:2] == ["male", "male"] and codes.iloc[4] == "female"
    assert unknown.sum() == 1000 and codes.isna().sum() == 2000


# ====================================================================================== geography
@pytest.mark.parametrize("unitary", [False, True], ids=["two_tier_county", "unitary_borough"])
def test_geography_canonical(tmp_path, unitary):
    path = write_csv(geography_frame(unitary=unitary), tmp_path / "geography.csv")
    geo = load_geography(path)
    assert list(geo.columns) == list(CANONICAL_COLUMNS["geography"])
    assert geo["small_area_code"].tolist() == CODES4
    assert geo["imd_decile"].dtype == "int64" and geo["imd_score"].dtype == "float64"
    if unitary:
        assert set(geo["district_code"]) == {"X06000001"} and geo["ward_code"].nunique() == 2
    else:
        assert geo["district_code"].nunique() == 2 and set(geo["upper_tier_code"]) == {"X10000001"}


def _ons_lookup(unitary: bool) -> pd.DataFrame:
    geo = geography_frame(unitary=unitary)
    return pd.DataFrame(
        {
            "LSOA21CD": geo["small_area_code"],
            "LSOA21NM": geo["small_area_name"],
            "WD24CD": geo["ward_code"],
            "WD24NM": geo["ward_name"],
            "LAD24CD": geo["district_code"],
            "LAD24NM": geo["district_name"],
        }
    )


def _file7(geo: pd.DataFrame) -> pd.DataFrame:
    """MHCLG English Indices of Deprivation 2025, File 7 column names."""
    return pd.DataFrame(
        {
            "LSOA code (2021)": geo["small_area_code"],
            "LSOA name (2021)": geo["small_area_name"],
            "Local Authority District code (2024)": geo["district_code"],
            "Local Authority District name (2024)": geo["district_name"],
            "Index of Multiple Deprivation (IMD) Score": geo["imd_score"],
            "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)": geo["imd_rank"],
            "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": geo["imd_decile"],
        }
    )


def test_geography_ons_lookup_with_imd_columns_unitary(tmp_path):
    geo = geography_frame(unitary=True)
    src = _ons_lookup(True).assign(IMD25_score=geo["imd_score"], IMD25_rank=geo["imd_rank"],
                                   IMD25_decile=geo["imd_decile"])
    out = load_geography(write_csv(src, tmp_path / "lookup.csv"))
    # no upper-tier columns: a unitary authority is its own upper tier
    assert (out["upper_tier_code"] == out["district_code"]).all()
    assert out["region_code"].isna().all()
    assert out["imd_rank"].tolist() == geo["imd_rank"].tolist()


def test_geography_folder_with_ons_lookup_and_iod_file7_county(tmp_path):
    geo = geography_frame(unitary=False)
    folder = tmp_path / "geography"
    write_csv(_ons_lookup(False), folder / "LSOA21_WD24_LAD24_EW_LU.csv")
    # File 7 is national: extra rows for other areas are ignored
    extra = _file7(geo).iloc[:1].assign(**{"LSOA code (2021)": "E01000001"})
    write_csv(pd.concat([_file7(geo), extra]), folder / "File_7_IoD2025.csv")
    out = load_geography(folder, upper_tier=("X10000001", "Anyshire"))
    assert out["small_area_code"].tolist() == CODES4
    assert set(out["upper_tier_code"]) == {"X10000001"}
    assert out["imd_decile"].tolist() == geo["imd_decile"].tolist()


def test_geography_xlsx_with_title_rows(tmp_path):
    path = tmp_path / "geography.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["Geography lookup for Anyshire"], [""]]).to_excel(writer, index=False, header=False)
        geography_frame().to_excel(writer, index=False, startrow=3)
    out = load_geography(path)
    assert out["small_area_code"].tolist() == CODES4
    assert out["imd_score"].tolist() == geography_frame()["imd_score"].tolist()


@pytest.mark.reference
def test_geography_real_ons_lookup_and_imd(reference_dir, tmp_path):
    geo_dir = reference_dir / "geography"
    folder = tmp_path / "geo"
    folder.mkdir()
    for name in ("lsoa21_ward24_lad24_utla_lookup.csv", "imd2025_lsoa21_study_areas.csv"):
        (folder / name).write_bytes((geo_dir / name).read_bytes())
    out = load_geography(folder)
    assert len(out) == 562
    glos = out[out["upper_tier_code"] == "E10000013"]
    assert len(glos) == 393 and glos["district_code"].nunique() == 6
    assert out["imd_decile"].between(1, 10).all()


# ===================================================================================== boundaries
@pytest.mark.filterwarnings("ignore:Column names longer than 10", "ignore:Normalized/laundered field name")
@pytest.mark.parametrize(
    ("suffix", "driver", "crs"),
    [("gpkg", "GPKG", 27700), ("geojson", "GeoJSON", 4326), ("shp", "ESRI Shapefile", 27700)],
)
def test_boundaries_round_trip(tmp_path, suffix, driver, crs):
    path = tmp_path / f"boundaries.{suffix}"
    boundaries_gdf(CODES4, crs=crs).to_file(path, driver=driver)
    before = snapshot(tmp_path)
    out = load_boundaries(path)
    assert snapshot(tmp_path) == before
    assert out.crs.to_epsg() == 27700
    assert out["small_area_code"].tolist() == CODES4
    np.testing.assert_allclose(out.area.to_numpy(), 900 * 900, rtol=1e-3)


def test_boundaries_ons_column_name(tmp_path):
    gdf = boundaries_gdf(CODES4, crs=4326).rename(columns={"small_area_code": "LSOA21CD"})
    gdf["LSOA21NM"] = "x"
    gdf.to_file(tmp_path / "lsoa.geojson", driver="GeoJSON")
    assert load_boundaries(tmp_path / "lsoa.geojson")["small_area_code"].tolist() == CODES4


@pytest.mark.reference
def test_boundaries_real_ons_bgc(reference_dir):
    out = load_boundaries(reference_dir / "geography" / "lsoa21_boundaries_bgc.geojson")
    assert len(out) == 562 and out.crs.to_epsg() == 27700
    assert 0.05e6 < out.area.median() < 5e6  # an LSOA is well under a few km2


# ===================================================================================== population
def _check_population(pop: pd.DataFrame, codes, years, wide: pd.DataFrame | None = None):
    assert list(pop.columns) == list(CANONICAL_COLUMNS["population"])
    assert sorted(pop["year"].unique()) == list(years)
    assert set(pop["small_area_code"].astype(str)) == set(codes)
    assert pop["age"].max() == 90 and pop["age_band"].astype(str).isin(AGE_BANDS).all()
    if wide is not None:
        assert pop["population"].sum() == wide["Total"].sum()


def test_population_sape_layout_with_year_column(tmp_path):
    wide = population_wide(CODES4, years=(2022, 2023))
    pop = load_population(write_csv(wide, tmp_path / "population.csv"))
    _check_population(pop, CODES4, (2022, 2023), wide)
    assert set(pop["sex"].astype(str)) == {"male", "female"}
    row = pop[(pop.small_area_code == "X01000002") & (pop.year == 2023) & (pop.sex == "female") & (pop.age == 37)]
    assert row["population"].item() == wide.loc[5, "F37"] and row["age_band"].item() == "35-39"


def test_population_folder_of_yearly_ons_files(tmp_path):
    folder = tmp_path / "population"
    for year in (2021, 2022):
        wide = population_wide(CODES4, years=(year,)).drop(columns="Year")
        if year == 2021:
            write_csv(wide, folder / f"sapelsoasyoa-mid-{year}.csv")
        else:
            wide.to_excel(folder.joinpath(f"sape_{year}.xlsx"), index=False, sheet_name=f"Mid-{year} LSOA 2021")
    pop = load_population(folder)
    _check_population(pop, CODES4, (2021, 2022))


def test_population_persons_only_wide_layout(tmp_path):
    rows = []
    for code in CODES4:
        row = {"lsoa11_code": code, "lsoa11_name": "n", "reference_date": "2020-06-30"}
        row.update({f"age_{a}": 3 for a in range(90)})
        row["age_90plus"] = 1
        row["total_population"] = 3 * 90 + 1
        rows.append(row)
    pop = load_population(write_csv(pd.DataFrame(rows), tmp_path / "mye2020.csv"))
    assert set(pop["sex"].astype(str)) == {"persons"} and set(pop["year"]) == {2020}
    assert pop["population"].sum() == 4 * 271


@pytest.mark.reference
def test_population_real_ons_mid_2020_persons(reference_dir):
    pop = load_population(reference_dir / "population" / "mye2020_persons_single_year_lsoa11.csv")
    assert pop["small_area_code"].nunique() == 517 and set(pop["year"]) == {2020}
    assert set(pop["sex"].astype(str)) == {"persons"} and pop["age"].max() == 90


@pytest.mark.parametrize("by", ["age", "age_band"])
def test_population_long_canonical_layout(tmp_path, by):
    if by == "age":
        long = pd.DataFrame([(c, 2023, s, a, 7) for c in CODES4 for s in ("male", "female") for a in range(91)],
                            columns=["small_area_code", "year", "sex", "age", "population"])
    else:
        long = pd.DataFrame([(c, 2023, s, b, 35) for c in CODES4 for s in ("M", "F") for b in AGE_BANDS],
                            columns=["small_area_code", "year", "sex", "age_band", "population"])
    pop = load_population(write_csv(long, tmp_path / "pop_long.csv"))
    assert list(pop.columns) == list(CANONICAL_COLUMNS["population"])
    assert pop["population"].sum() == long["population"].sum()
    if by == "age_band":
        assert pop["age"].isna().all()
    else:
        assert pop.loc[pop.age == 37, "age_band"].astype(str).unique().tolist() == ["35-39"]


# ============================================================================ treatment and lists
def test_treatment_episodes_canonical_with_labels(tmp_path):
    t = load_treatment_episodes(write_csv(treatment_frame(), tmp_path / "t.csv"), today=TODAY)
    assert list(t.columns) == list(CANONICAL_COLUMNS["treatment_episodes"])
    assert t["substance_group"].tolist() == ["opiate_and_crack", "alcohol_only", "non_opiate_only", "opiate_only"]
    assert t["sex"].tolist() == ["male", "female", "male", "male"]
    assert t["referral_source"].tolist()[-1] == "a_and_e"
    assert t["discharge_reason"].tolist()[-1] == "dropped_out" and pd.isna(t["discharge_reason"].iloc[1])
    assert t["referral_date"].iloc[0] == pd.Timestamp("2023-01-10")
    assert pd.isna(t["small_area_code"].iloc[2]) and t["young_person"].dtype == bool
    assert t["age"].dtype == "int64"


def test_treatment_uk_dates_bom_and_extra_columns(tmp_path):
    frame = treatment_frame()
    frame["referral_date"] = ["10/01/2023", "05/03/2023", "01/06/2023", "01/02/2024"]
    frame["provider_notes"] = "dropped after mapping"
    frame["ethnicity"] = ["", "Pakistani", "Caribbean", "White British"]  # empty -> not_stated
    path = tmp_path / "ndtms_extract.csv"
    path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode("utf-8"))
    t = load_treatment_episodes(path, today=TODAY)
    assert "provider_notes" not in t.columns
    assert t["referral_date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-01-10", "2023-03-05", "2023-06-01", "2024-02-01"]
    assert t["ethnicity"].tolist() == ["not_stated", "asian", "black", "white"]


def test_treatment_xlsx(tmp_path):
    frame = treatment_frame()
    frame["referral_date"] = pd.to_datetime(frame["referral_date"])  # real Excel date cells
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    t = load_treatment_episodes(tmp_path / "t.xlsx", today=TODAY)
    assert t["referral_date"].iloc[1] == pd.Timestamp("2023-03-05") and len(t) == 4


def test_prison_releases(tmp_path):
    p = load_prison_releases(write_csv(prison_frame(), tmp_path / "p.csv"), today=TODAY)
    assert list(p.columns) == list(CANONICAL_COLUMNS["prison_releases"])
    assert p["substance_group"].tolist() == ["opiate_and_crack", "crack_only"]


def test_linkable_list_with_and_without_ethnicity(tmp_path):
    full = load_linkable_list(write_csv(list_frame(), tmp_path / "probation.csv"), today=TODAY)
    assert full["opiate_or_crack"].tolist() == [True, False, True]
    assert full["ethnicity"].tolist()[:2] == ["white", "asian"] and pd.isna(full["ethnicity"].iloc[2])
    bare = load_linkable_list(write_csv(list_frame().drop(columns="ethnicity"), tmp_path / "h.csv"), today=TODAY)
    assert list(bare.columns) == list(CANONICAL_COLUMNS["linkable_list"]) and bare["ethnicity"].isna().all()


# ================================================================================ counts and more
@pytest.mark.parametrize("kind", ["deaths", "admissions"])
def test_counts(tmp_path, kind):
    loader = load_deaths if kind == "deaths" else load_admissions
    out = loader(write_csv(counts_frame(kind), tmp_path / f"{kind}.csv"))
    assert list(out.columns) == list(CANONICAL_COLUMNS[kind])
    assert out["count"].sum() == 4


def test_deaths_with_single_year_age_and_labels(tmp_path):
    frame = counts_frame("deaths").rename(columns={"age_band": "age", "count": "deaths"})
    frame["age"] = [37, 44, 90]
    frame["cause"] = ["Deaths from drug misuse", "drug poisoning", "Alcohol-specific deaths"]
    out = load_deaths(write_csv(frame, tmp_path / "deaths.csv"))
    assert out["age_band"].tolist() == ["35-39", "40-44", "90+"]
    assert out["cause"].tolist() == ["drug_misuse", "drug_poisoning", "alcohol_specific"]


def test_comparators_fingertips_export(tmp_path):
    out = load_comparators(write_csv(comparators_frame(), tmp_path / "fingertips.csv"))
    assert list(out.columns) == list(CANONICAL_COLUMNS["comparators"])
    assert out["indicator_id"].tolist() == [92432, 92432] and out["value"].tolist() == [5.2, 6.1]
    assert out["sex"].tolist() == ["persons", "persons"] and out["time_period"].iloc[0] == "2021 - 23"


def test_comparators_suppressed_value_is_allowed(tmp_path):
    frame = comparators_frame()
    frame.loc[1, ["Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit"]] = ""
    frame.loc[1, "Value note"] = "Value suppressed for disclosure control"
    out = load_comparators(write_csv(frame, tmp_path / "fingertips.csv"))
    assert np.isnan(out["value"].iloc[1]) and out["value_note"].iloc[1].startswith("Value suppressed")


def test_services_from_easting_northing_and_from_longitude_latitude(tmp_path):
    bng = load_services(write_csv(services_frame(), tmp_path / "s.csv"))
    assert bng["longitude"].between(-3, -1).all() and bng["latitude"].between(51, 53).all()
    wgs = services_frame().drop(columns=["easting", "northing"])
    wgs["longitude"], wgs["latitude"] = bng["longitude"], bng["latitude"]
    wgs["opening_days"] = ["Mon-Fri", "tuesday, Thursday"]
    back = load_services(write_csv(wgs, tmp_path / "s2.csv"))
    np.testing.assert_allclose(back["easting"], services_frame()["easting"], atol=0.01)
    assert back["opening_days"].tolist() == ["Mon;Tue;Wed;Thu;Fri", "Tue;Thu"]


def test_crime_folder_of_police_uk_months(tmp_path):
    folder = tmp_path / "crime"
    write_csv(crime_frame("2023-01"), folder / "2023-01" / "2023-01-anyshire-street.csv")
    write_csv(crime_frame("2023-02"), folder / "2023-02" / "2023-02-anyshire-street.csv")
    write_csv(crime_frame("2023-02"), folder / "2023-02" / "2023-02-anyshire-outcomes.csv")  # ignored
    before = snapshot(tmp_path)
    out = load_crime(folder, small_areas=CODES4)
    assert snapshot(tmp_path) == before
    assert list(out.columns) == list(CANONICAL_COLUMNS["crime"])
    assert len(out) == 6 and out["month"].min() == pd.Timestamp("2023-01-01")
    assert out["in_area"].tolist() == [True, True, False] * 2  # E01099999 kept, flagged
    assert out["crime_type"].astype(str).tolist()[:3] == ["Drugs", "Burglary", "Anti-social behaviour"]
    assert pd.isna(out["crime_id"].iloc[2])  # ASB has no Crime ID
    assert load_crime(folder)["in_area"].isna().all()


@pytest.mark.reference
def test_crime_real_police_uk_file(reference_dir):
    path = reference_dir / "crime" / "tower_hamlets_burglary_2024-09_to_2025-02_street.csv"
    out = load_crime(path)
    assert len(out) == 1290 and set(out["crime_type"].astype(str)) == {"Burglary"}
    assert out["month"].dt.strftime("%Y-%m").nunique() == 6


# ====================================================================================== load_area
@pytest.mark.parametrize("unitary", [False, True], ids=["two_tier_county", "unitary_borough"])
def test_load_area_both_shapes(tmp_path, unitary):
    params = load_params(write_area(tmp_path, unitary=unitary))
    before = snapshot(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        area = load_area(params, today=TODAY)
    assert snapshot(tmp_path) == before
    assert isinstance(area, AreaData)
    for name in ("geography", "boundaries", "population", "treatment_episodes", "prison_releases",
                 "deaths", "admissions", "crime", "comparators", "services", "linkable_lists"):
        assert area.has(name), name
    assert sorted(area.linkable_lists) == ["hospital", "probation"]
    assert area.crime["in_area"].sum() == 4
    if unitary:
        assert set(area.geography["upper_tier_code"]) == {"X06000001"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        area.geography = None  # type: ignore[misc]


def test_load_area_optional_datasets_absent(tmp_path):
    path = write_area(tmp_path)
    raw = yaml.safe_load(path.read_text())
    files = raw["data"]["files"]
    for key in ("boundaries", "treatment_episodes", "prison_releases", "crime", "services"):
        files[key] = None
    files["linkable_lists"] = {}
    path.write_text(yaml.safe_dump(raw))
    area = load_area(load_params(path), today=TODAY)
    assert not area.has("crime") and area.crime is None and not area.has("linkable_lists")
    assert area.has("deaths") and not area.has("linkable_lists.probation")


def test_load_area_keeps_only_the_area_when_geography_is_national(tmp_path):
    path = write_area(tmp_path)
    other = geography_frame().assign(
        small_area_code=[f"E0100000{i}" for i in range(1, 5)], upper_tier_code="E10000013",
        district_code="E07000078", ward_code="E05000001")
    geo = pd.concat([geography_frame(), other])
    write_csv(geo, tmp_path / "data" / "geography.csv")
    with pytest.warns(UserWarning, match="kept the 4 small areas"):
        area = load_area(load_params(path), today=TODAY)
    assert area.geography["small_area_code"].tolist() == CODES4


def test_load_area_collects_problems_from_every_file(tmp_path):
    path = write_area(tmp_path)
    data = tmp_path / "data"
    t = treatment_frame()
    t.loc[0, "substance_group"] = "opiat"
    write_csv(t, data / "treatment_episodes.csv")
    d = counts_frame("deaths")
    d.loc[2, "count"] = -3
    write_csv(d, data / "deaths.csv")
    lst = list_frame()
    lst.loc[1, "sex"] = "q"
    write_csv(lst, data / "lists" / "probation.csv")
    with pytest.raises(InputDataError) as info:
        load_area(load_params(path), today=TODAY)
    message = str(info.value)
    assert set(info.value.files) == {"treatment_episodes.csv", "deaths.csv", "lists/probation.csv"}
    assert "3 input data problems in 3 files" in message
    assert "treatment_episodes.csv, column 'substance_group', row 2" in message
    assert "deaths.csv, column 'count', row 4" in message
    assert "lists/probation.csv, column 'sex', row 3" in message


def test_row_lists_are_capped(tmp_path):
    t = pd.concat([treatment_frame()] * 10, ignore_index=True)
    t["episode_id"] = [f"E{i}" for i in range(len(t))]
    t["substance_group"] = "heroin-ish"
    with pytest.raises(InputDataError) as info:
        load_treatment_episodes(write_csv(t, tmp_path / "t.csv"), today=TODAY)
    assert "rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 30 more" in str(info.value)


# ============================================================================ generated synthetic

@pytest.mark.parametrize(
    ("folder", "area"),
    [
        ("anyshire", {"name": "Anyshire", "slug": "anyshire", "code": "X10000001",
                      "structure": "two_tier", "reporting_geography": "district"}),
        ("anytown", {"name": "Anytown", "slug": "anytown", "code": "X06000001",
                     "structure": "unitary", "reporting_geography": "ward"}),
    ],
)
def test_generated_synthetic_area_loads(tmp_path, folder, area, synthetic_params):
    generated = yaml.safe_load(synthetic_params("default" if folder == "anyshire" else "anytown").read_text())
    root = Path(generated["data"]["directory"])
    lists = {p.stem: f"lists/{p.name}" for p in sorted((root / "lists").glob("*.csv"))}
    optional = {
        key: name
        for key, name in (
            ("boundaries", "boundaries.geojson"), ("treatment_episodes", "treatment_episodes.csv"),
            ("prison_releases", "prison_releases.csv"), ("deaths", "deaths.csv"),
            ("admissions", "admissions.csv"), ("crime", "crime"), ("comparators", "comparators.csv"),
            ("services", "services.csv"),
        )
        if (root / name).exists()
    }
    params = {
        "area": area,
        "period": {"start_year": 2022, "end_year": 2024},
        "data": {"directory": str(root),
                 "files": {"geography": "geography.csv", "population": "population.csv",
                           **optional, "linkable_lists": lists}},
        "notebooks": ["01_overview.ipynb"],
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    loaded = load_area(load_params(path), today=dt.date(2025, 3, 31))
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before
    assert len(loaded.geography) == loaded.geography["small_area_code"].nunique() > 100
    assert set(range(2022, 2025)) <= set(loaded.population["year"].unique())
    for name in optional:
        assert loaded.has(name), name
    assert loaded.load_seconds < 60


def test_check_frame_validates_canonical_frames(tmp_path):
    deaths = load_deaths(write_csv(counts_frame("deaths"), tmp_path / "deaths.csv"))
    check_frame(deaths, "deaths")
    bad = deaths.assign(count=[1, -1, 2])
    with pytest.raises(InputDataError, match=r"generated, column 'count', row 3: must be 0 or more"):
        check_frame(bad, "deaths", file="generated")
