"""The built-in synthetic areas: files, layouts, determinism, geometry, atomic writing.

The county and unitary areas are generated once per module (a few seconds each); the
national variant is never generated in tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from needs_assessment.synthetic import EXTRACT_DATE, PLANTED, generate_area
from needs_assessment.synthetic import areas as synthetic

SEED = 20240521
OTHER_SEED = 7

GEOGRAPHY_COLUMNS = [
    "small_area_code", "small_area_name", "ward_code", "ward_name", "district_code",
    "district_name", "upper_tier_code", "upper_tier_name", "region_code", "region_name",
    "imd_score", "imd_rank", "imd_decile",
]
EPISODE_COLUMNS = [
    "episode_id", "client_id", "referral_date", "triage_date", "discharge_date",
    "discharge_reason", "substance_group", "referral_source", "age", "sex",
    "gender_identity_same_as_sex", "ethnicity", "religion", "sexual_orientation", "disability",
    "pregnant", "marital_status", "small_area_code", "housing_problem", "employment_status",
    "injecting_status", "parental_status", "young_person", "prison_release_date",
]
CRIME_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                 "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                 "Context"]
FINGERTIPS_COLUMNS = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to percentiles",
    "Time period Sortable", "New data", "Compared to goal", "Time period range",
]
LIST_COLUMNS = ["client_id", "event_date", "age", "sex", "small_area_code", "opiate_or_crack",
                "ethnicity"]
EXPECTED_FILES = [
    "README.md", "geography.csv", "boundaries.geojson", "population.csv", "characteristics.csv",
    "treatment_episodes.csv", "prison_releases.csv", "deaths.csv", "admissions.csv",
    "comparators.csv", "services.csv", "lists/probation.csv", "lists/police_custody.csv",
    "lists/hospital.csv",
]
CODES = {  # the contract's code lists (data/README.md)
    "discharge_reason": {"completed_drug_free", "completed_alcohol_free",
                         "completed_occasional_user", "transferred_not_in_custody",
                         "transferred_in_custody", "dropped_out", "declined",
                         "withdrawn_by_provider", "prison", "died", "moved_away", "other"},
    "substance_group": {"opiate_and_crack", "opiate_only", "crack_only", "non_opiate_only",
                        "non_opiate_and_alcohol", "alcohol_only"},
    "referral_source": {"self", "gp", "hospital", "a_and_e", "probation", "prison",
                        "police_custody_liaison_diversion", "social_care", "education", "other"},
    "sex": {"male", "female", "not_stated"},
    "gender_identity_same_as_sex": {"yes", "no", "not_stated"},
    "ethnicity": {"asian", "black", "mixed", "white", "other", "not_stated"},
    "religion": {"no_religion", "christian", "buddhist", "hindu", "jewish", "muslim", "sikh",
                 "other", "not_stated"},
    "sexual_orientation": {"heterosexual", "gay_or_lesbian", "bisexual", "other", "not_stated"},
    "disability": {"yes", "no", "not_stated"},
    "pregnant": {"yes", "no", "not_applicable", "not_stated"},
    "marital_status": {"never_married", "married_or_civil_partnership", "separated",
                       "divorced_or_dissolved", "widowed", "not_stated"},
    "housing_problem": {"no_problem", "housing_problem", "urgent_housing_problem", "not_stated"},
    "employment_status": {"employed", "unemployed", "economically_inactive",
                          "long_term_sick_or_disabled", "student", "retired", "not_stated"},
    "injecting_status": {"never", "previously", "currently", "not_stated"},
    "parental_status": {"living_with_children", "children_not_living_with", "no_children",
                        "not_stated"},
}
POLICE_UK_TYPES = {
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
}
HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
CODE = re.compile(r"^X\d{8}$")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def areas(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synthetic")
    return {
        "county": generate_area("county", SEED, root / "anyshire"),
        "unitary": generate_area("unitary", SEED, root / "anytown"),
    }


@pytest.fixture(scope="module")
def county(areas) -> Path:
    return areas["county"]


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("variant", ["county", "unitary"])
def test_same_seed_gives_byte_identical_files(areas, variant, tmp_path):
    again = generate_area(variant, SEED, tmp_path / "again")
    assert _digests(areas[variant]) == _digests(again)


def test_another_seed_gives_different_data(county, tmp_path):
    other = generate_area("county", OTHER_SEED, tmp_path / "other")
    a, b = _digests(county), _digests(other)
    assert set(a) == set(b)
    for name in ("population.csv", "treatment_episodes.csv", "boundaries.geojson",
                 "geography.csv", "deaths.csv", "lists/probation.csv"):
        assert a[name] != b[name], name


# --------------------------------------------------------------------------- layouts
@pytest.mark.parametrize("variant", ["county", "unitary"])
def test_every_file_exists_and_parses(areas, variant):
    root = areas[variant]
    for name in EXPECTED_FILES:
        assert (root / name).is_file(), name
    crime = sorted((root / "crime").rglob("*-street.csv"))
    assert len(crime) == 36  # 2022-01 .. 2024-12
    for path in root.rglob("*.csv"):
        frame = _read(path)
        assert len(frame) > 0, path
    readme = (root / "README.md").read_text()
    assert "synthetic" in readme.lower() and str(SEED) in readme and variant in readme
    assert not [p for p in root.parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("variant", ["county", "unitary"])
def test_geography_and_population(areas, variant):
    root = areas[variant]
    geo = _read(root / "geography.csv")
    assert list(geo.columns) == GEOGRAPHY_COLUMNS
    assert geo["small_area_code"].is_unique
    for col in ("small_area_code", "ward_code", "district_code", "upper_tier_code", "region_code"):
        assert geo[col].str.match(CODE).all(), col
    dec = geo["imd_decile"].astype(int)
    assert dec.between(1, 10).all() and (geo["imd_score"].astype(float) >= 0).all()
    assert geo["imd_rank"].astype(int).between(1, 33_755).all()
    pop = pd.read_csv(root / "population.csv")
    cols = ["Year", "LAD 2021 Code", "LAD 2021 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total"]
    assert list(pop.columns) == cols + [f"F{a}" for a in range(91)] + [f"M{a}" for a in range(91)]
    assert sorted(pop["Year"].unique()) == list(range(2013, 2025))
    per_year = pop.groupby("Year")["LSOA 2021 Code"].apply(set)
    assert all(s == set(geo["small_area_code"]) for s in per_year)
    ages = pop.loc[:, "F0":"M90"].to_numpy()
    assert (ages >= 0).all() and (ages.sum(axis=1) == pop["Total"].to_numpy()).all()
    assert (pop["Total"] > 500).all()
    total_2022 = pop.loc[pop["Year"] == 2022, "Total"].sum()
    expected = {"county": 600_000, "unitary": 310_000}[variant]
    assert abs(total_2022 - expected) / expected < 0.01
    if variant == "county":
        assert geo["district_name"].nunique() == 6
        counts = geo.groupby("district_name").size()
        assert counts.between(60, 70).all() and 370 <= len(geo) <= 395
        assert 95 <= geo["ward_code"].nunique() <= 120
        wards = geo.groupby("ward_code").size()
        assert wards.between(3, 7).all()
        # deprivation: Southbridge/Eastwick deprived, Westfield/Midvale affluent
        by = geo.assign(d=dec).groupby("district_name")["d"]
        assert (by.apply(lambda d: (d <= 2).sum())[["Southbridge", "Eastwick"]] >= 10).all()
        assert (by.apply(lambda d: (d >= 7).mean())[["Westfield", "Midvale"]] > 0.7).all()
    else:
        assert geo["district_code"].eq("X06000001").all()
        assert geo["ward_code"].nunique() == 20 and 160 <= len(geo) <= 180
        assert "Dockside" in set(geo["ward_name"])
        assert (dec <= 5).mean() > 0.7


@pytest.mark.parametrize("variant", ["county", "unitary"])
def test_treatment_episodes_follow_the_contract(areas, variant):
    root = areas[variant]
    ep = _read(root / "treatment_episodes.csv")
    geo = set(_read(root / "geography.csv")["small_area_code"])
    assert list(ep.columns) == EPISODE_COLUMNS
    assert ep["episode_id"].is_unique
    assert ep["client_id"].str.match(HEX16).all()
    for col, allowed in CODES.items():
        values = set(ep[col]) - {""}
        assert values <= allowed, (col, values - allowed)
    ref = pd.to_datetime(ep["referral_date"], format="%Y-%m-%d")
    tri = pd.to_datetime(ep["triage_date"].replace("", None), format="%Y-%m-%d")
    dis = pd.to_datetime(ep["discharge_date"].replace("", None), format="%Y-%m-%d")
    rel = pd.to_datetime(ep["prison_release_date"].replace("", None), format="%Y-%m-%d")
    extract = pd.Timestamp(EXTRACT_DATE)
    assert ref.min() >= pd.Timestamp("2019-01-01") and ref.max() <= extract
    assert (tri.dropna() >= ref[tri.notna()]).all() and (tri.dropna() <= extract).all()
    assert (dis.dropna() >= ref[dis.notna()]).all() and (dis.dropna() <= extract).all()
    assert (rel.dropna() <= ref[rel.notna()]).all()
    assert ((ep["discharge_date"] != "") == (ep["discharge_reason"] != "")).all()
    assert (ep["discharge_date"] == "").mean() > 0.05  # some still open at the extract date
    assert set(ep["small_area_code"]) - {""} <= geo
    ages = ep["age"].astype(int)
    young = ep["young_person"] == "True"
    assert ages[young].between(10, 17).all() and ages[~young].between(18, 110).all()
    assert set(ep["young_person"]) == {"True", "False"}
    men = ep["sex"] == "male"
    assert (ep.loc[men, "pregnant"] == "not_applicable").all()


@pytest.mark.parametrize("variant", ["county", "unitary"])
def test_other_record_files_follow_the_contract(areas, variant):
    root = areas[variant]
    geo = set(_read(root / "geography.csv")["small_area_code"])
    ids = set(_read(root / "treatment_episodes.csv")["client_id"])
    prison = _read(root / "prison_releases.csv")
    assert list(prison.columns) == ["client_id", "release_date", "substance_group",
                                    "small_area_code"]
    assert set(prison["substance_group"]) <= CODES["substance_group"]
    assert set(prison["small_area_code"]) - {""} <= geo
    for name in ("probation", "police_custody", "hospital"):
        lst = _read(root / "lists" / f"{name}.csv")
        assert list(lst.columns) == LIST_COLUMNS
        assert lst["client_id"].str.match(HEX16).all()
        assert set(lst["opiate_or_crack"]) == {"True", "False"}
        assert set(lst["sex"]) <= {"male", "female"}
        assert set(lst["ethnicity"]) <= CODES["ethnicity"]
        assert lst["event_date"].between("2024-01-01", "2024-12-31").all()
        assert set(lst["small_area_code"]) - {""} <= geo
        assert lst["client_id"].duplicated().any()  # several rows per person
        # the same person keeps the same id in treatment and on the lists
        ocu = set(lst.loc[lst["opiate_or_crack"] == "True", "client_id"])
        assert len(ocu & ids) > 0.3 * len(ocu)
    for name, label in (("deaths", "cause"), ("admissions", "condition")):
        frame = pd.read_csv(root / f"{name}.csv", keep_default_na=False)
        assert list(frame.columns) == ["year", "small_area_code", "sex", "age_band", label,
                                       "count"]
        assert (frame["count"] > 0).all() and set(frame["small_area_code"]) <= geo
        assert sorted(frame["year"].unique()) == list(range(2013, 2025))
        assert not frame.duplicated(["year", "small_area_code", "sex", "age_band", label]).any()
    chars = _read(root / "characteristics.csv")
    assert list(chars.columns) == ["area_code", "characteristic", "category", "population"]
    assert set(chars["characteristic"]) == {
        "ethnicity", "religion", "sexual_orientation", "disability",
        "gender_identity_same_as_sex", "marital_status", "pregnant"}
    units = _read(root / "geography.csv")[
        "district_code" if variant == "county" else "ward_code"]
    assert set(units) <= set(chars["area_code"])
    services = _read(root / "services.csv")
    assert list(services.columns) == ["site_id", "site_name", "easting", "northing",
                                      "opening_days", "service_type"]
    assert len(services) == (8 if variant == "county" else 3)
    days = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    assert all(set(d.split(";")) <= days for d in services["opening_days"])
    assert set(services["service_type"]) <= {"adult", "young_people", "both"}
    comp = _read(root / "comparators.csv")
    assert list(comp.columns) == FINGERTIPS_COLUMNS
    assert {92432, 91380, 92906, 90244, 90245} <= set(comp["Indicator ID"].astype(int))
    assert set(comp["Area Code"]) == {"E92000001", "X12000001" if variant == "county"
                                      else "X12000002"}
    assert comp["Value note"].str.contains("Synthetic area").all()


def test_crime_files_follow_police_uk(county):
    geo = _read(county / "geography.csv")
    codes = set(geo["small_area_code"])
    for path in sorted((county / "crime").rglob("*-street.csv")):
        month = path.parent.name
        assert path.name == f"{month}-anyshire-street.csv"
        frame = _read(path)
        assert list(frame.columns) == CRIME_COLUMNS
        assert (frame["Month"] == month).all()
        asb = frame["Crime type"] == "Anti-social behaviour"
        assert (frame.loc[asb, "Crime ID"] == "").all()
        assert (frame.loc[asb, "Last outcome category"] == "").all()
        assert frame.loc[~asb, "Crime ID"].str.match(HEX64).all()
        assert (frame.loc[~asb, "Last outcome category"] != "").all()
        assert set(frame["Crime type"]) <= POLICE_UK_TYPES
        assert set(frame["LSOA code"]) <= codes
        assert frame["Location"].str.startswith("On or near ").all()
        assert frame["Longitude"].str.match(r"^-?\d+\.\d{6}$").all()
    # coordinates fall inside (or within a metre of) their small area's polygon
    import geopandas as gpd

    bnd = gpd.read_file(county / "boundaries.geojson").set_index("small_area_code")
    sample = _read(county / "crime" / "2024-06" / "2024-06-anyshire-street.csv").iloc[::25]
    pts = gpd.GeoSeries(gpd.points_from_xy(sample["Longitude"].astype(float),
                                           sample["Latitude"].astype(float)), crs=4326)
    polys = bnd.loc[sample["LSOA code"], "geometry"].to_crs(27700).buffer(1.0).to_numpy()
    assert shapely.contains(polys, pts.to_crs(27700).to_numpy()).all()


# --------------------------------------------------------------------------- geometry
@pytest.mark.parametrize("variant", ["county", "unitary"])
def test_boundaries_are_valid_and_tile_each_district(areas, variant):
    import geopandas as gpd

    root = areas[variant]
    raw = json.loads((root / "boundaries.geojson").read_text())
    pairs = re.findall(r"\[(-?\d+\.\d+),(-?\d+\.\d+)\]", (root / "boundaries.geojson").read_text())
    assert pairs and all(len(c.split(".")[1]) == 6 for pair in pairs for c in pair)
    assert raw["features"][0]["properties"] == {"small_area_code": "X01000001" if variant ==
                                                "county" else "X01100001"}
    bnd = gpd.read_file(root / "boundaries.geojson")
    assert bnd.crs.to_epsg() == 4326
    geo = _read(root / "geography.csv")
    assert sorted(bnd["small_area_code"]) == sorted(geo["small_area_code"])
    bng = bnd.to_crs(27700).merge(geo, on="small_area_code")
    geoms = bng.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]]))
    assert overlap.max() < 1.0  # square metres: shared edges only
    # each district (and the whole area) is tiled without gaps: union area == sum of areas
    for _, part in bng.groupby("district_code"):
        union = shapely.union_all(part.geometry.to_numpy())
        assert abs(union.area - part.area.sum()) < 1e-6 * union.area + 10
    whole = shapely.union_all(geoms)
    assert whole.geom_type == "Polygon" and len(whole.interiors) == 0
    expected_km2 = {"county": 2650, "unitary": 20}[variant]
    assert abs(whole.area / 1e6 - expected_km2) / expected_km2 < 0.1
    services = _read(root / "services.csv")
    inside = shapely.contains_xy(whole.buffer(1.0), services["easting"].astype(float),
                                 services["northing"].astype(float))
    assert inside.all()


# --------------------------------------------------------------------------- API
def test_planted_is_frozen_and_documents_each_variant():
    assert set(PLANTED) == {"county", "unitary", "national"}
    county = PLANTED["county"]
    assert county.low_penetration_area == "Southbridge"
    assert PLANTED["unitary"].low_penetration_area == "Dockside"
    assert county.female_multiplier == pytest.approx(0.6)
    assert county.ethnicity_multiplier == pytest.approx(0.5)
    assert county.under_represented_ethnicity == "asian"
    assert county.prison_continuity < county.england_prison_continuity
    assert any("religion" in n for n in county.nulls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        county.female_multiplier = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        PLANTED["county"] = county  # type: ignore[index]


def test_refuses_to_overwrite_a_non_empty_folder(tmp_path):
    target = tmp_path / "area"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate_area("county", SEED, target)
    assert (target / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="variant"):
        generate_area("metropolitan", SEED, tmp_path / "x")  # type: ignore[arg-type]


def test_writes_atomically_and_replaces_only_when_asked(tmp_path, monkeypatch):
    calls = []

    def fake_build(variant, seed, emit, *, keep_truth):
        emit("geography.csv", pd.DataFrame({"small_area_code": ["X01000001"]}))
        calls.append(seed)
        if seed == 666:
            raise RuntimeError("boom")
        emit("README.md", f"seed {seed}\n")
        return {}

    monkeypatch.setattr(synthetic, "_build", fake_build)
    target = tmp_path / "area"
    with pytest.raises(RuntimeError, match="boom"):
        generate_area("county", 666, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no half-written area left behind
    generate_area("county", 1, target)
    assert (target / "README.md").read_text() == "seed 1\n"
    generate_area("county", 2, target, overwrite=True)
    assert (target / "README.md").read_text() == "seed 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["area"]
    # an empty existing folder is fine without overwrite
    empty = tmp_path / "empty"
    empty.mkdir()
    generate_area("county", 3, empty)
    assert (empty / "README.md").is_file()


def test_generated_county_loads_through_the_data_contract(county, tmp_path):
    data = pytest.importorskip("needs_assessment.data")
    if not hasattr(data, "load_area"):
        pytest.skip("needs_assessment.data.load_area is not available")
    import yaml

    from needs_assessment.params import load_params

    files = {
        "geography": "geography.csv", "boundaries": "boundaries.geojson",
        "population": "population.csv", "treatment_episodes": "treatment_episodes.csv",
        "prison_releases": "prison_releases.csv", "deaths": "deaths.csv",
        "admissions": "admissions.csv", "crime": "crime", "comparators": "comparators.csv",
        "services": "services.csv",
        "linkable_lists": {"probation": "lists/probation.csv",
                           "police_custody": "lists/police_custody.csv",
                           "hospital": "lists/hospital.csv"},
    }
    raw = {
        "area": {"name": "Anyshire", "slug": "anyshire", "code": "X10000001",
                 "structure": "two_tier", "reporting_geography": "district"},
        "period": {"start_year": 2022, "end_year": 2024},
        "data": {"directory": str(county), "files": files},
        "notebooks": ["01_area_profile.ipynb"],
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    area = data.load_area(load_params(path), today=dt.date(2025, 4, 1))
    assert len(area.geography) == len(_read(county / "geography.csv"))
    assert len(area.treatment_episodes) == len(_read(county / "treatment_episodes.csv"))
    assert np.isin(["probation", "police_custody", "hospital"],
                   list(area.linkable_lists)).all()
