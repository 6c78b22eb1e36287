"""The population summed over the columns a chapter does not read
(``AreaData.population_by``), in memory and read in part from the private Parquet cache.

The sums are worked out by hand on a tiny area; the cache's reading, batch by batch, must
give what a pandas group-by of the whole frame gives, to the dtype and row order, whatever
order the file's rows are in, and without reading the population whole.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from tiny_area import GEOGRAPHY, population_frame

from needs_assessment import workspace
from needs_assessment.analysis.common import population_in_ages
from needs_assessment.data.area_data import POPULATION_COLUMNS, AreaData, sum_population


def _population() -> pd.DataFrame:
    rows = [  # small area, year, sex, age, band, residents
        ("S1", 2024, "male", 17, "15-19", 10), ("S1", 2024, "male", 18, "15-19", 20),
        ("S1", 2024, "female", 40, "40-44", 30), ("S2", 2024, "female", 18, "15-19", 5),
        ("S2", 2023, "female", 18, "15-19", 7), ("S3", 2024, "male", 70, "70-74", 100),
        ("S3", 2023, "male", None, "70-74", 40),  # a row with only a 5-year band
    ]
    return population_frame(rows, {"small_area_code": "category", "year": "int16", "sex": "category",
                                   "age": "Int16", "age_band": "category", "population": "int32"})


def test_sums_by_hand():
    out = sum_population(_population(), ["year", "small_area_code"])
    assert out.to_dict("list") == {
        "year": [2023, 2023, 2024, 2024, 2024],
        "small_area_code": ["S2", "S3", "S1", "S2", "S3"],
        "population": [7, 40, 60, 5, 100],
    }
    by_sex = sum_population(_population(), ["sex"], years=[2024])
    assert by_sex.to_dict("list") == {"sex": ["female", "male"], "population": [35, 130]}


def test_a_missing_age_is_a_group_and_sorts_last():
    out = sum_population(_population(), ["age"], years=[2023])
    assert out["age"].tolist()[0] == 18 and out["age"].isna().tolist() == [False, True]
    assert out["population"].tolist() == [7, 40]


def test_columns_keep_their_dtypes():
    pop = _population()
    out = sum_population(pop, ["small_area_code", "sex", "age", "age_band"])
    for name in ("small_area_code", "sex", "age", "age_band"):
        assert out[name].dtype == pop[name].dtype
    assert out["population"].dtype == np.int32


def test_bad_requests_are_refused():
    pop = _population()
    with pytest.raises(ValueError, match="columns must be distinct names"):
        sum_population(pop, ["district_code"])
    with pytest.raises(ValueError, match="columns must be distinct names"):
        sum_population(pop, [])
    with pytest.raises(ValueError, match="no rows for years"):
        sum_population(pop, ["sex"], years=[1999])
    with pytest.raises(ValueError, match="has no column year"):
        sum_population(pop.drop(columns="year"), ["sex"], years=[2024])


def test_area_population_by_without_a_population():
    assert AreaData(geography=GEOGRAPHY).population_by(["sex"]) is None


def test_every_age_reads_no_age_column():
    pop = _population()
    whole = population_in_ages(pop, years=[2023, 2024], geography=GEOGRAPHY, level="district")
    summed = population_in_ages(sum_population(pop, ["year", "small_area_code"]),
                                years=[2023, 2024], geography=GEOGRAPHY, level="district")
    pd.testing.assert_frame_equal(summed, whole, check_exact=True)
    assert whole.set_index("area_code")["population"].to_dict() == {"D1": 5 + 7,
                                                                     "D2": 10 + 20 + 30 + 100 + 40}
    with pytest.raises(KeyError):  # an age limit needs the ages
        population_in_ages(sum_population(pop, ["year"]), years=[2024], min_age=18)


# ------------------------------------------------------------------ read from the cache
def _requests():
    """Every set of columns, in the population's order and reversed (the order of the
    columns is the order of the rows)."""
    for size in range(1, len(POPULATION_COLUMNS) + 1):
        for columns in itertools.combinations(POPULATION_COLUMNS, size):
            yield list(columns)
            if size > 1:
                yield list(reversed(columns))


def _cached(tmp_path, population):
    workspace.save_area(AreaData(geography=GEOGRAPHY, population=population), tmp_path / "cache")
    return workspace.load_area_cache(tmp_path / "cache")


@pytest.mark.parametrize("order", ["as_loaded", "shuffled"])
def test_cache_reads_part_of_the_population_as_a_group_by_would(tmp_path, monkeypatch, order):
    pop = _population()
    # a larger area, so that groups span several batches; some rows with bands only
    rng = np.random.default_rng(7)
    codes = [f"E{i:03d}" for i in range(40)]
    big = pd.DataFrame({
        "small_area_code": np.repeat(codes, 2 * 3 * 12),
        "year": np.tile(np.repeat([2022, 2023, 2024], 2 * 12), 40),
        "sex": np.tile(np.repeat(["male", "female"], 12), 40 * 3),
        "age": np.tile(np.arange(0, 60, 5), 40 * 3 * 2),
        "population": rng.integers(0, 500, 40 * 3 * 2 * 12),
    })
    big["age_band"] = [f"{a}-{a + 4}" for a in big["age"]]
    big.loc[big.index % 11 == 0, "age"] = None
    pop = pd.concat([pop, big], ignore_index=True).astype(
        {"small_area_code": "category", "year": "int16", "sex": "category", "age": "Int16",
         "age_band": "category", "population": "int32"})
    if order == "shuffled":
        pop = pop.sample(frac=1, random_state=3).reset_index(drop=True)
    monkeypatch.setattr(workspace, "_BATCH_ROWS", 37)
    area = _cached(tmp_path, pop)
    for columns in _requests():
        for years in (None, [2024], [2022, 2023]):
            got = area.population_by(columns, years=years)
            pd.testing.assert_frame_equal(got, sum_population(pop, columns, years=years),
                                          check_exact=True)
    assert type(object.__getattribute__(area, "population")) is workspace._Deferred  # never read whole


def test_cache_falls_back_to_the_whole_frame_when_it_must(tmp_path):
    pop = _population()
    area = _cached(tmp_path, pop.astype({"population": "float64"}))  # not whole numbers
    got = area.population_by(["sex"])
    pd.testing.assert_frame_equal(got, sum_population(area.population, ["sex"]), check_exact=True)
    with pytest.raises(ValueError, match="no rows for years"):
        _cached(tmp_path / "again", pop).population_by(["sex"], years=[1999])


def test_default_area_views_match_the_whole_population(synthetic_params, tmp_path):
    from needs_assessment.inputs import load_area
    from needs_assessment.params import load_params

    area = load_area(load_params(synthetic_params("default")))
    cached = _cached(tmp_path, area.population)
    final = int(area.population["year"].max())
    for columns, years in [
        (["year", "age", "age_band"], None),
        (["year", "small_area_code", "age", "age_band"], [final]),
        (["year", "small_area_code", "age_band"], None),
        (["year", "sex", "age", "age_band"], [final]),
        (["year", "small_area_code"], [final]),
        (["year", "sex", "age_band"], [final]),
    ]:
        pd.testing.assert_frame_equal(cached.population_by(columns, years=years),
                                      area.population_by(columns, years=years), check_exact=True)
