"""Tiny hand-made input files for the data-loader tests (imported by test_data_*.py).

Two shapes of area are built: a two-tier county (``X10000001`` Anyshire) whose small areas
sit in two districts, and a unitary borough (``X06000001`` Anyborough) whose sub-areas are
wards. Every builder returns a *valid* canonical/source frame; tests break one thing at a
time. The few tests here check that the valid files load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

TODAY = dt.date(2025, 6, 30)

FINGERTIPS_COLUMNS = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend", "Compared to England value or percentiles",
    "Compared to percentiles", "Time period Sortable", "New data", "Compared to goal",
    "Time period range",
]
POLICE_COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]


# ------------------------------------------------------------------------------------ frames
def geography_frame(unitary: bool = False) -> pd.DataFrame:
    """Four small areas: county with two districts, or a unitary borough with two wards."""
    codes = [f"X0100000{i}" for i in range(1, 5)]
    if unitary:
        district = ["X06000001"] * 4
        district_name = ["Anyborough"] * 4
        upper, upper_name = ["X06000001"] * 4, ["Anyborough"] * 4
    else:
        district = ["X07000001", "X07000001", "X07000002", "X07000002"]
        district_name = ["Northdale", "Northdale", "Southdale", "Southdale"]
        upper, upper_name = ["X10000001"] * 4, ["Anyshire"] * 4
    return pd.DataFrame(
        {
            "small_area_code": codes,
            "small_area_name": [f"Area 00{i}A" for i in range(1, 5)],
            "ward_code": ["X05000001", "X05000001", "X05000002", "X05000002"],
            "ward_name": ["North Ward", "North Ward", "South Ward", "South Ward"],
            "district_code": district,
            "district_name": district_name,
            "upper_tier_code": upper,
            "upper_tier_name": upper_name,
            "region_code": ["X12000001"] * 4,
            "region_name": ["Synthetic Region"] * 4,
            "imd_score": [12.5, 40.25, 8.0, 22.0],
            "imd_rank": [18000, 2000, 27000, 9000],
            "imd_decile": [6, 1, 8, 3],
        }
    )


def population_wide(codes, years=(2022, 2023)) -> pd.DataFrame:
    """ONS SAPE 'sapelsoasyoa' layout with a Year column."""
    rows = []
    for year in years:
        for i, code in enumerate(codes):
            row = {
                "Year": year,
                "LAD 2021 Code": "X07000001",
                "LAD 2021 Name": "Northdale",
                "LSOA 2021 Code": code,
                "LSOA 2021 Name": f"Area {i}",
            }
            females = {f"F{a}": 5 + (a + i) % 4 for a in range(91)}
            males = {f"M{a}": 4 + (a + i) % 3 for a in range(91)}
            row["Total"] = sum(females.values()) + sum(males.values())
            row.update(females)
            row.update(males)
            rows.append(row)
    return pd.DataFrame(rows)


def treatment_frame() -> pd.DataFrame:
    base = {
        "episode_id": ["E1", "E2", "E3", "E4"],
        "client_id": ["C001", "C002", "C003", "C001"],
        "referral_date": ["2023-01-10", "2023-03-05", "2023-06-01", "2024-02-01"],
        "triage_date": ["2023-01-12", "2023-03-20", "", "2024-02-01"],
        "discharge_date": ["2023-07-01", "", "", "2024-05-01"],
        "discharge_reason": ["completed_drug_free", "", "", "Dropped out"],
        "substance_group": ["opiate_and_crack", "Alcohol only", "non_opiate_only", "opiate_only"],
        "referral_source": ["self", "GP", "probation", "A&E"],
        "age": ["34", "51", "19", "35"],
        "sex": ["male", "F", "male", "Male"],
        "gender_identity_same_as_sex": ["yes", "Y", "not_stated", "yes"],
        "ethnicity": ["white", "Asian, Asian British or Asian Welsh", "black", "White"],
        "religion": ["no_religion", "christian", "muslim", "not_stated"],
        "sexual_orientation": ["heterosexual", "heterosexual", "bisexual", "not_stated"],
        "disability": ["no", "yes", "no", "no"],
        "pregnant": ["not_applicable", "no", "not_applicable", "not_applicable"],
        "marital_status": ["never_married", "married_or_civil_partnership", "never_married", "divorced_or_dissolved"],
        "small_area_code": ["X01000001", "X01000002", "", "X01000003"],
        "housing_problem": ["no_problem", "no_problem", "urgent_housing_problem", "housing_problem"],
        "employment_status": ["unemployed", "employed", "student", "unemployed"],
        "injecting_status": ["previously", "never", "never", "currently"],
        "parental_status": ["no_children", "living_with_children", "no_children", "children_not_living_with"],
        "young_person": ["false", "false", "false", "false"],
        "prison_release_date": ["2023-01-02", "", "", ""],
    }
    return pd.DataFrame(base)


def prison_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["C001", "C009"],
            "release_date": ["2023-01-02", "2023-09-14"],
            "substance_group": ["opiate_and_crack", "crack_only"],
            "small_area_code": ["X01000001", ""],
        }
    )


def counts_frame(kind: str) -> pd.DataFrame:
    col = "cause" if kind == "deaths" else "condition"
    value = "drug_misuse" if kind == "deaths" else "drug_poisoning"
    return pd.DataFrame(
        {
            "year": [2022, 2022, 2023],
            "small_area_code": ["X01000001", "X01000002", "X01000001"],
            "sex": ["male", "female", "male"],
            "age_band": ["35-39", "40-44", "35-39"],
            col: [value, value, value],
            "count": [1, 2, 1],
        }
    )


def list_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["C001", "C002", "C050"],
            "event_date": ["2023-02-01", "2023-05-01", "2023-08-08"],
            "age": [34, 51, 40],
            "sex": ["male", "female", "male"],
            "small_area_code": ["X01000001", "", "X01000004"],
            "opiate_or_crack": ["true", "false", "true"],
            "ethnicity": ["white", "asian", ""],
        }
    )


def services_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["S1", "S2"],
            "site_name": ["Central hub", "Young people's service"],
            "easting": [385000.0, 390100.0],
            "northing": [215000.0, 220050.0],
            "opening_days": ["Mon;Tue;Wed;Thu;Fri", "Tue;Thu"],
            "service_type": ["adult", "young_people"],
        }
    )


def comparators_frame() -> pd.DataFrame:
    rows = []
    for area_code, area_name, area_type, value in (
        ("E92000001", "England", "England", 5.2),
        ("X12000001", "Synthetic Region", "Region", 6.1),
    ):
        row = {c: "" for c in FINGERTIPS_COLUMNS}
        row.update(
            {
                "Indicator ID": "92432",
                "Indicator Name": "Deaths from drug misuse",
                "Parent Code": "" if area_code.startswith("E92") else "E92000001",
                "Area Code": area_code,
                "Area Name": area_name,
                "Area Type": area_type,
                "Sex": "Persons",
                "Age": "All ages",
                "Time period": "2021 - 23",
                "Value": str(value),
                "Lower CI 95.0 limit": str(value - 0.5),
                "Upper CI 95.0 limit": str(value + 0.5),
                "Count": "1000",
                "Denominator": "20000000",
                "Time period Sortable": "20210000",
            }
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=FINGERTIPS_COLUMNS)


def crime_frame(month: str, codes=("X01000001", "X01000002", "E01099999")) -> pd.DataFrame:
    n = len(codes)
    return pd.DataFrame(
        {
            "Crime ID": [hashlib.sha256(f"{month}{i}".encode()).hexdigest() for i in range(n - 1)] + [""],
            "Month": [month] * n,
            "Reported by": ["Anyshire Police"] * n,
            "Falls within": ["Anyshire Police"] * n,
            "Longitude": ["-2.1"] * n,
            "Latitude": ["51.9"] * n,
            "Location": ["On or near Main Street"] * n,
            "LSOA code": list(codes),
            "LSOA name": [f"Area {c}" for c in codes],
            "Crime type": ["Drugs", "Burglary", "Anti-social behaviour"][:n],
            "Last outcome category": ["Under investigation", "", ""][:n],
            "Context": [""] * n,
        }
    )


def boundaries_gdf(codes, crs: int | None = 27700):
    import geopandas as gpd
    from shapely.geometry import box

    geoms = [box(380000 + 1000 * i, 210000, 380900 + 1000 * i, 210900) for i in range(len(codes))]
    gdf = gpd.GeoDataFrame({"small_area_code": list(codes)}, geometry=geoms, crs=27700)
    if crs is None:
        return gdf.set_crs(None, allow_override=True)
    return gdf.to_crs(crs) if crs != 27700 else gdf


# ------------------------------------------------------------------------------------ files
def write_csv(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and modification time of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_area(folder: Path, *, unitary: bool = False, period=(2022, 2023)) -> Path:
    """A complete small area (every dataset) plus its params file; returns the params path."""
    data = folder / "data"
    geo = geography_frame(unitary=unitary)
    codes = geo["small_area_code"].tolist()
    write_csv(geo, data / "geography.csv")
    boundaries_gdf(codes, crs=4326).to_file(data / "boundaries.geojson", driver="GeoJSON")
    write_csv(population_wide(codes, years=range(period[0], period[1] + 1)), data / "population.csv")
    write_csv(treatment_frame(), data / "treatment_episodes.csv")
    write_csv(prison_frame(), data / "prison_releases.csv")
    write_csv(counts_frame("deaths"), data / "deaths.csv")
    write_csv(counts_frame("admissions"), data / "admissions.csv")
    write_csv(crime_frame("2023-01"), data / "crime" / "2023-01" / "2023-01-anyshire-street.csv")
    write_csv(crime_frame("2023-02"), data / "crime" / "2023-02" / "2023-02-anyshire-street.csv")
    write_csv(comparators_frame(), data / "comparators.csv")
    write_csv(services_frame(), data / "services.csv")
    write_csv(list_frame(), data / "lists" / "probation.csv")
    write_csv(list_frame().assign(client_id=["C003", "C070", "C071"]), data / "lists" / "hospital.csv")
    params = {
        "area": {
            "name": "Anyborough" if unitary else "Anyshire",
            "slug": "anyborough" if unitary else "anyshire",
            "code": "X06000001" if unitary else "X10000001",
            "structure": "unitary" if unitary else "two_tier",
            "reporting_geography": "ward" if unitary else "district",
        },
        "period": {"start_year": period[0], "end_year": period[1]},
        "data": {
            "directory": "data",
            "files": {
                "geography": "geography.csv",
                "boundaries": "boundaries.geojson",
                "population": "population.csv",
                "treatment_episodes": "treatment_episodes.csv",
                "prison_releases": "prison_releases.csv",
                "deaths": "deaths.csv",
                "admissions": "admissions.csv",
                "crime": "crime",
                "comparators": "comparators.csv",
                "services": "services.csv",
                "linkable_lists": {"probation": "lists/probation.csv", "hospital": "lists/hospital.csv"},
            },
        },
        "notebooks": ["01_overview.ipynb"],
    }
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ tests
def test_builders_make_a_loadable_area(tmp_path):
    from needs_assessment.data import load_area
    from needs_assessment.params import load_params

    params = load_params(write_area(tmp_path))
    area = load_area(params, today=TODAY)
    assert area.has("crime") and area.has("linkable_lists.probation")
    assert len(area.geography) == 4
    assert np.isclose(area.population.groupby("year")["population"].sum().iloc[0],
                      population_wide(geography_frame()["small_area_code"], (2022,))["Total"].sum())
