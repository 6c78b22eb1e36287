"""A catalogue of bad inputs: each builds a tiny bad file, runs the loader, and checks that the
error names the file, the column, the spreadsheet row(s) and what was expected — and that the
input files are byte-for-byte unchanged (and not even touched) afterwards.

Spreadsheet rows: the header is row 1, so data row i (0-based in the frame) is row i + 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
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
    InputDataError,
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
)
from needs_assessment.params import load_params

CODES4 = [f"X0100000{i}" for i in range(1, 5)]


@dataclass
class Case:
    run: Callable[[], object]
    file: str
    column: str | None
    rows: tuple[str, ...]  # e.g. ("row 3",) or ("rows 2, 3",); () where rows do not apply
    expected: tuple[str, ...]  # phrases of what was expected / found


def _treatment(tmp: Path, change: Callable[[pd.DataFrame], object], name="treatment_episodes.csv") -> Path:
    frame = treatment_frame()
    change(frame)
    return write_csv(frame, tmp / name)


def _load_t(path: Path) -> Callable[[], object]:
    return lambda: load_treatment_episodes(path, today=TODAY)


def _area(tmp: Path, **kwargs) -> Path:
    return write_area(tmp, **kwargs)


def _run_area(params_path: Path) -> Callable[[], object]:
    return lambda: load_area(load_params(params_path), today=TODAY)


# ----------------------------------------------------------------------------------- the cases
def missing_column(tmp):
    path = write_csv(treatment_frame().drop(columns="substance_group"), tmp / "treatment_episodes.csv")
    return Case(_load_t(path), "treatment_episodes.csv", "substance_group", ("row 1",),
                ("required column 'substance_group' is missing",))


def wrong_type_age(tmp):
    path = _treatment(tmp, lambda f: f.__setitem__("age", ["34", "forty", "19", "35"]))
    return Case(_load_t(path), "treatment_episodes.csv", "age", ("row 3",),
                ("'forty'", "expected a whole number"))


def unknown_code(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((2, "substance_group"), "opiat"))
    return Case(_load_t(path), "treatment_episodes.csv", "substance_group", ("row 4",),
                ("unknown code 'opiat'", "expected one of: opiate_and_crack"))


def negative_count(tmp):
    frame = counts_frame("deaths")
    frame.loc[1, "count"] = -2
    path = write_csv(frame, tmp / "deaths.csv")
    return Case(lambda: load_deaths(path), "deaths.csv", "count", ("row 3",), ("must be 0 or more", "-2"))


def future_date(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((0, "referral_date"), "2030-01-10"))
    return Case(_load_t(path), "treatment_episodes.csv", "referral_date", ("row 2",),
                ("date in the future", "2025-06-30"))


def impossible_date(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((1, "referral_date"), "2023-02-30"))
    return Case(_load_t(path), "treatment_episodes.csv", "referral_date", ("row 3",),
                ("'2023-02-30'", "expected a real date written YYYY-MM-DD"))


def discharge_before_referral(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((0, "discharge_date"), "2022-12-01"))
    return Case(_load_t(path), "treatment_episodes.csv", "discharge_date", ("row 2",),
                ("discharge_date before referral_date", "expected discharge on or after referral"))


def triage_before_referral(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((1, "triage_date"), "2023-03-01"))
    return Case(_load_t(path), "treatment_episodes.csv", "triage_date", ("row 3",),
                ("triage_date before referral_date",))


def discharge_without_reason(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((0, "discharge_reason"), ""))
    return Case(_load_t(path), "treatment_episodes.csv", "discharge_reason", ("row 2",),
                ("discharge_reason missing although discharge_date is set",))


def reason_without_discharge(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((1, "discharge_reason"), "dropped_out"))
    return Case(_load_t(path), "treatment_episodes.csv", "discharge_reason", ("row 3",),
                ("discharge_reason set although discharge_date is empty",))


def duplicate_episode_ids(tmp):
    path = _treatment(tmp, lambda f: f.__setitem__("episode_id", ["E1", "E2", "E1", "E4"]))
    return Case(_load_t(path), "treatment_episodes.csv", "episode_id", ("rows 2, 4",),
                ("duplicate value", "'E1'"))


def small_area_missing_from_lookup(tmp):
    params = _area(tmp)
    _treatment(tmp / "data", lambda f: f.loc.__setitem__((3, "small_area_code"), "X01000099"))
    return Case(_run_area(params), "treatment_episodes.csv", "small_area_code", ("row 5",),
                ("not in the geography", "'X01000099'", "expected codes listed in geography.csv"))


def boundary_without_crs(tmp):
    path = tmp / "boundaries.shp"
    boundaries_gdf(CODES4, crs=27700).rename(columns={"small_area_code": "LSOA21CD"}).to_file(path)
    path.with_suffix(".prj").unlink()
    return Case(lambda: load_boundaries(path), "boundaries.shp", "geometry", (),
                ("no coordinate reference system", "expected British National Grid EPSG:27700 or WGS84"))


def boundary_unsupported_crs(tmp):
    path = tmp / "boundaries.gpkg"
    boundaries_gdf(CODES4, crs=3857).to_file(path, driver="GPKG")
    return Case(lambda: load_boundaries(path), "boundaries.gpkg", "geometry", (),
                ("unsupported coordinate reference system", "EPSG:3857", "expected British National Grid"))


def small_area_without_boundary(tmp):
    params = _area(tmp)
    boundaries_gdf(CODES4[:3], crs=4326).to_file(tmp / "data" / "boundaries.geojson", driver="GeoJSON")
    return Case(_run_area(params), "geography.csv", "small_area_code", ("row 5",),
                ("no boundary polygon in boundaries.geojson", "'X01000004'", "expected a polygon for every small area"))


def empty_file(tmp):
    path = tmp / "deaths.csv"
    path.write_bytes(b"")
    return Case(lambda: load_deaths(path), "deaths.csv", None, ("row 1",),
                ("the file is empty", "expected a header row"))


def header_only_file(tmp):
    path = write_csv(prison_frame().iloc[:0], tmp / "prison_releases.csv")
    return Case(lambda: load_prison_releases(path, today=TODAY), "prison_releases.csv", None, ("row 2",),
                ("no data rows below the header", "expected at least one record"))


def wrong_encoding_cp1252(tmp):
    frame = geography_frame()
    frame.loc[2, "small_area_name"] = "Café Quarter – 003"
    path = tmp / "geography.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    return Case(lambda: load_geography(path), "geography.csv", None, ("line 4",),
                ("not UTF-8", "byte 0xE9", "Windows-1252", "save the file as UTF-8"))


def population_lacks_period_years(tmp):
    params = _area(tmp, period=(2022, 2024))
    write_csv(population_wide(CODES4, years=(2022, 2023)), tmp / "data" / "population.csv")
    return Case(_run_area(params), "population.csv", "Year", (),
                ("no rows for 2024", "years found: 2022, 2023", "needs 2022, 2023, 2024"))


def malformed_police_uk_file(tmp):
    folder = tmp / "crime"
    write_csv(crime_frame("2023-01"), folder / "2023-01" / "2023-01-anyshire-street.csv")
    write_csv(crime_frame("2023-02").drop(columns="Crime type"), folder / "2023-02" / "2023-02-anyshire-street.csv")
    return Case(lambda: load_crime(folder), "2023-02-anyshire-street.csv", "Crime type", ("row 1",),
                ("not a police.uk street-level file", "expected exactly: Crime ID, Month"))


def fingertips_missing_value_column(tmp):
    path = write_csv(comparators_frame().drop(columns="Value"), tmp / "comparators.csv")
    return Case(lambda: load_comparators(path), "comparators.csv", "value", ("row 1",),
                ("required column 'value' is missing",))


def non_numeric_count(tmp):
    frame = counts_frame("admissions").astype({"count": str})
    frame.loc[0, "count"] = "five"
    path = write_csv(frame, tmp / "admissions.csv")
    from needs_assessment.data import load_admissions

    return Case(lambda: load_admissions(path), "admissions.csv", "count", ("row 2",),
                ("not a number: 'five'", "expected a whole number"))


def age_out_of_range(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((3, "age"), "130"))
    return Case(_load_t(path), "treatment_episodes.csv", "age", ("row 5",), ("must be between 0 and 110", "130"))


def imd_decile_11(tmp):
    frame = geography_frame()
    frame.loc[1, "imd_decile"] = 11
    path = write_csv(frame, tmp / "geography.csv")
    return Case(lambda: load_geography(path), "geography.csv", "imd_decile", ("row 3",),
                ("must be between 1 and 10", "11"))


def duplicate_small_area_in_geography(tmp):
    frame = geography_frame()
    frame.loc[3, "small_area_code"] = "X01000001"
    path = write_csv(frame, tmp / "geography.csv")
    return Case(lambda: load_geography(path), "geography.csv", "small_area_code", ("rows 2, 5",),
                ("duplicate value", "'X01000001'"))


def prison_release_after_referral(tmp):
    path = _treatment(tmp, lambda f: f.loc.__setitem__((0, "prison_release_date"), "2023-02-01"))
    return Case(_load_t(path), "treatment_episodes.csv", "prison_release_date", ("row 2",),
                ("prison_release_date after referral_date", "expected release on or before referral"))


def list_with_unknown_sex_code(tmp):
    frame = list_frame()
    frame.loc[2, "sex"] = "q"
    path = write_csv(frame, tmp / "probation.csv")
    return Case(lambda: load_linkable_list(path, today=TODAY), "probation.csv", "sex", ("row 4",),
                ("unknown code 'q'", "expected one of: male, female, not_stated"))


def population_negative_count_wide(tmp):
    wide = population_wide(CODES4, years=(2022,))
    wide.loc[2, "F34"] = -4
    path = write_csv(wide, tmp / "population.csv")
    return Case(lambda: load_population(path), "population.csv", "F34", ("row 4",),
                ("negative count", "expected 0 or more"))


def population_total_mismatch(tmp):
    wide = population_wide(CODES4, years=(2022,))
    wide.loc[0, "Total"] += 7
    path = write_csv(wide, tmp / "population.csv")
    return Case(lambda: load_population(path), "population.csv", "Total", ("row 2",),
                ("total does not equal the sum of the age columns",))


def population_text_in_count(tmp):
    wide = population_wide(CODES4, years=(2022,)).astype({"M90": object})
    wide.loc[3, "M90"] = "c"  # a suppression marker
    path = write_csv(wide, tmp / "population.csv")
    return Case(lambda: load_population(path), "population.csv", "M90", ("row 5",),
                ("not a number: 'c'", "expected a whole number"))


def population_without_year(tmp):
    path = write_csv(population_wide(CODES4, years=(2022,)).drop(columns="Year"), tmp / "population.csv")
    return Case(lambda: load_population(path), "population.csv", "Year", ("row 1",),
                ("no 'Year' column and no year in the file name",))


def ragged_csv_row(tmp):
    path = write_csv(prison_frame(), tmp / "prison_releases.csv")
    path.write_text(path.read_text() + "C010,2023-10-01,opiate_only,X01000002,extra\n")
    return Case(lambda: load_prison_releases(path, today=TODAY), "prison_releases.csv", None, ("row 4",),
                ("has 5 fields but the header has 4",))


def geography_folder_missing_imd(tmp):
    folder = tmp / "geography"
    geo = geography_frame()
    write_csv(geo.drop(columns=["imd_score", "imd_rank", "imd_decile"]), folder / "lookup.csv")
    write_csv(geo[["small_area_code", "imd_score", "imd_decile"]].iloc[:3], folder / "imd.csv")
    return Case(lambda: load_geography(folder), "lookup.csv", "small_area_code", ("row 5",),
                ("no deprivation (IMD) row in imd.csv", "'X01000004'"))


def implausible_client_ids(tmp):
    params = _area(tmp)
    frame = list_frame()
    frame["client_id"] = ["C001", "1.23457E+11", "nan"]
    write_csv(frame, tmp / "data" / "lists" / "probation.csv")
    return Case(_run_area(params), "lists/probation.csv", "client_id", ("rows 3, 4",),
                ("implausible client_id", "'1.23457E+11'", "expected a pseudonymised identifier"))


def unreadable_opening_days(tmp):
    frame = services_frame()
    frame.loc[1, "opening_days"] = "Mon;Funday"
    path = write_csv(frame, tmp / "services.csv")
    return Case(lambda: load_services(path), "services.csv", "opening_days", ("row 3",),
                ("unreadable opening days 'Mon;Funday'", "Mon Tue Wed Thu Fri Sat Sun"))


def crime_bad_month(tmp):
    frame = crime_frame("2023-01")
    frame.loc[1, "Month"] = "2023-13"
    path = write_csv(frame, tmp / "2023-01-anyshire-street.csv")
    return Case(lambda: load_crime(path), "2023-01-anyshire-street.csv", "Month", ("row 3",),
                ("impossible or unreadable date '2023-13'", "expected a month written YYYY-MM"))


def deaths_duplicate_rows(tmp):
    frame = counts_frame("deaths")
    frame.loc[2] = frame.loc[0]
    path = write_csv(frame, tmp / "deaths.csv")
    return Case(lambda: load_deaths(path), "deaths.csv", "year", ("rows 2, 4",),
                ("duplicate rows", "appears more than once"))


def duplicate_boundary_features(tmp):
    path = tmp / "boundaries.geojson"
    boundaries_gdf(["X01000001", "X01000002", "X01000002"], crs=4326).to_file(path, driver="GeoJSON")
    return Case(lambda: load_boundaries(path), "boundaries.geojson", "small_area_code", ("features 2, 3",),
                ("duplicate value", "'X01000002'"))


def utf16_file(tmp):
    path = tmp / "services.csv"
    path.write_bytes(services_frame().to_csv(index=False).encode("utf-16"))
    return Case(lambda: load_services(path), "services.csv", None, ("line 1",), ("UTF-16", "expected UTF-8"))


def configured_file_missing(tmp):
    params = _area(tmp)
    (tmp / "data" / "admissions.csv").unlink()
    run = lambda: load_area(load_params(params, check_files=False), today=TODAY)  # noqa: E731
    return Case(run, "admissions.csv", None, (), ("file not found", "data.files.admissions"))


def bad_area_code_format(tmp):
    frame = counts_frame("deaths")
    frame.loc[0, "small_area_code"] = "LSOA-1"
    path = write_csv(frame, tmp / "deaths.csv")
    return Case(lambda: load_deaths(path), "deaths.csv", "small_area_code", ("row 2",),
                ("not an area code", "'LSOA-1'", "expected a letter E, W or X then 8 digits"))


def fingertips_ci_inverted(tmp):
    frame = comparators_frame()
    frame.loc[0, ["Lower CI 95.0 limit", "Upper CI 95.0 limit"]] = ["6.0", "4.0"]
    path = write_csv(frame, tmp / "comparators.csv")
    return Case(lambda: load_comparators(path), "comparators.csv", "Lower CI 95.0 limit", ("row 2",),
                ("lower_ci95 above upper_ci95",))


CASES = [
    missing_column, wrong_type_age, unknown_code, negative_count, future_date, impossible_date,
    discharge_before_referral, triage_before_referral, discharge_without_reason,
    reason_without_discharge, duplicate_episode_ids, small_area_missing_from_lookup,
    boundary_without_crs, boundary_unsupported_crs, small_area_without_boundary, empty_file,
    header_only_file, wrong_encoding_cp1252, population_lacks_period_years,
    malformed_police_uk_file, fingertips_missing_value_column, non_numeric_count,
    age_out_of_range, imd_decile_11, duplicate_small_area_in_geography,
    prison_release_after_referral, list_with_unknown_sex_code, population_negative_count_wide,
    population_total_mismatch, population_text_in_count, population_without_year,
    ragged_csv_row, geography_folder_missing_imd, implausible_client_ids,
    unreadable_opening_days, crime_bad_month, deaths_duplicate_rows,
    duplicate_boundary_features, utf16_file, configured_file_missing, bad_area_code_format,
    fingertips_ci_inverted,
]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_is_reported_precisely_and_files_are_untouched(tmp_path, make):
    case = make(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(InputDataError) as info:
        case.run()
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert case.file in message, message
    if case.column is not None:
        assert f"column '{case.column}'" in message, message
    for rows in case.rows:
        assert rows in message, message
    for phrase in case.expected:
        assert phrase in message, message
    # the offending problem is on a line that names the file, column and rows together
    lines = [line for line in message.splitlines() if case.file in line]
    assert any(
        (case.column is None or f"column '{case.column}'" in line) and all(r in line for r in case.rows)
        for line in lines
    ), message
    assert snapshot(tmp_path) == before


def test_catalogue_is_large_enough():
    assert len(CASES) >= 25
