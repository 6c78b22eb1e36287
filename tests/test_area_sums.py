"""Sums of residents by district or ward, worked out by hand on a tiny area.

The population file arrives with categorical codes (as the loaders make it); the sums
are first taken by small area and only then matched to districts, so these tests check
that the totals, their order and the rows outside the geography come out as a direct
sum of every row would give them.
"""

from __future__ import annotations

import pandas as pd
from tiny_area import GEOGRAPHY, population_frame

from needs_assessment.analysis import places
from needs_assessment.analysis.common import population_in_ages, sum_by_area
from needs_assessment.analysis.profile import population_by_area


def _population() -> pd.DataFrame:
    rows = [  # small area, year, sex, age, band, residents
        ("S1", 2024, "male", 17, "15-19", 10), ("S1", 2024, "male", 18, "15-19", 20),
        ("S1", 2024, "female", 40, "40-44", 30), ("S2", 2024, "female", 18, "15-19", 5),
        ("S2", 2023, "female", 18, "15-19", 7), ("S3", 2024, "male", 70, "70-74", 100),
        ("S9", 2024, "male", 30, "30-34", 1),  # not in the geography
    ]
    return population_frame(rows, {"small_area_code": "category", "sex": "category",
                                   "age_band": "category", "population": "int32"})


def test_sum_by_area_by_hand():
    pop = _population()
    out = sum_by_area(pop.loc[pop["year"] == 2024], GEOGRAPHY, level="district")
    assert out["area_code"].tolist() == ["D1", "D2", "unknown"]
    assert out["area_name"].tolist() == ["Alpha", "Beta", "Not known"]
    assert out["population"].tolist() == [5, 10 + 20 + 30 + 100, 1]


def test_sum_by_area_with_a_breakdown_and_fractional_values():
    pop = _population().loc[lambda f: f["year"] == 2024]
    by_sex = sum_by_area(pop, GEOGRAPHY, level="district", by=["sex"])
    got = {(r.area_code, r.sex): r.population for r in by_sex.itertuples()}
    assert got == {("D1", "female"): 5, ("D2", "female"): 30, ("D2", "male"): 130,
                   ("unknown", "male"): 1}
    halves = pop.assign(population=pop["population"] * 0.5)  # not whole numbers
    out = sum_by_area(halves, GEOGRAPHY, level="district")
    assert out["population"].tolist() == [2.5, 80.0, 0.5]


def test_population_in_ages_by_district():
    out = population_in_ages(_population(), years=[2023, 2024], min_age=18,
                             geography=GEOGRAPHY, level="district")
    assert out.set_index("area_code")["population"].to_dict() == {
        "D1": 5 + 7, "D2": 20 + 30 + 100, "unknown": 1}


def test_adult_and_banded_population_by_district():
    pop = _population()
    adults = places._adult_population(pop, GEOGRAPHY, level="district", years=[2024])
    assert adults.set_index("area_code")["population"].to_dict() == {
        "D1": 5, "D2": 150, "unknown": 1}
    banded = places._banded_population(pop, GEOGRAPHY, level="district", years=[2024])
    got = {(r.area_code, r.age_band): r.population for r in banded.itertuples()}
    assert got == {("D1", "15-19"): 5, ("D2", "15-19"): 30, ("D2", "40-44"): 30,
                   ("D2", "70-74"): 100, ("unknown", "30-34"): 1}
    # rows come sorted by code, then band as text
    assert list(got) == sorted(got)


def test_banded_population_the_same_from_text_or_categorical_codes():
    categorical = _population()
    text = categorical.astype({"small_area_code": "str", "age_band": "str"})
    for level in ("district", None):
        a = places._banded_population(categorical, GEOGRAPHY, level=level, years=[2023, 2024])
        b = places._banded_population(text, GEOGRAPHY, level=level, years=[2023, 2024])
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.set_index(["small_area_code", "age_band"])["population"].to_dict() == {
        ("S1", "15-19"): 30, ("S1", "40-44"): 30, ("S2", "15-19"): 12, ("S3", "70-74"): 100,
        ("S9", "30-34"): 1}
    assert a["population"].dtype == "int32"  # the file's integer type, as a group-by keeps it


def test_population_by_area_leaves_out_small_areas_outside_the_geography():
    out = population_by_area(_population(), GEOGRAPHY, level="district", year=2024)
    assert out["area_name"].tolist() == ["Alpha", "Beta"]
    assert out["population"].tolist() == [5, 160]
    assert out["percent"].tolist() == [5 / 165 * 100, 160 / 165 * 100]


# ------------------------------------------------------------- rows a report shows
def test_report_place_rows_short_tables_unchanged():
    from needs_assessment.analysis.common import report_place_rows

    frame = pd.DataFrame({"Place": list("ABC"), "Rate": [3.0, 1.0, 2.0]})
    rows, note = report_place_rows(frame, "Rate", level="district", what="rates", table_id="t",
                                   limit=3)
    assert note == "" and rows is frame


def test_report_place_rows_highest_and_lowest_of_many():
    from needs_assessment.analysis.common import report_place_rows

    names = [f"P{i:02d}" for i in range(12)]
    rates = [5, "[c]", 9, 1, 7, 3, 11, None, 2, 8, 10, 4]
    frame = pd.DataFrame({
        "Breakdown": ["Whole area", "Sex"] + ["District"] * 12 + ["District"],
        "Group": ["All", "Male"] + names + ["Not known"],
        "Rate": [6, 6] + rates + [6],
    })
    places = (frame["Breakdown"] == "District") & (frame["Group"] != "Not known")
    rows, note = report_place_rows(frame, "Rate", level="district", what="rates",
                                   table_id="t_rates", places=places, shown=3, limit=10)
    assert note == ("Only the 3 districts with the highest and the 3 with the lowest rates (of 12) "
                    "are shown here; the spreadsheet (t_rates) lists every district.")
    # whole area and sex first, then the 3 highest and 3 lowest districts, highest first
    # ([c] and missing are not ranked), then the row of unknown residence
    assert rows["Group"].tolist() == ["All", "Male", "P06", "P10", "P02", "P05", "P08", "P03",
                                      "Not known"]
