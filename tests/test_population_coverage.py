"""The cross-dataset check that the population covers every small area of the geography
in every year of the period, on a tiny area worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from needs_assessment.data.area import _Loaded, _population_coverage
from needs_assessment.data.loaders._core import _Prov


def _loaded(key: str, frame: pd.DataFrame, file: str) -> _Loaded:
    n = len(frame)
    return _Loaded(key, frame, _Prov([file], np.zeros(n, dtype=int), np.arange(n) + 2), {})


GEO = _loaded("geography", pd.DataFrame({"small_area_code": ["S1", "S2", "S3"]}), "geography.csv")


def _population(rows) -> _Loaded:
    frame = pd.DataFrame(rows, columns=["small_area_code", "year", "population"]).astype(
        {"small_area_code": "category", "year": "int16", "population": "int32"})
    return _loaded("population", frame, "population.csv")


def test_full_coverage_has_no_problem():
    rows = [(code, year, 10) for code in ("S1", "S2", "S3") for year in (2023, 2024)]
    assert _population_coverage(_population(rows), GEO, [2023, 2024], "2023 to 2024") == []


def test_small_areas_missing_in_a_year_are_named_with_the_year():
    rows = [("S1", 2023, 5), ("S1", 2024, 5), ("S2", 2024, 5), ("S3", 2023, 5), ("S9", 2023, 1)]
    problems = _population_coverage(_population(rows), GEO, [2023, 2024], "2023 to 2024")
    assert len(problems) == 1
    text = problems[0].message
    assert "no population rows for 2 small area(s)" in text
    assert "in 2023, 2024" in text and "S2" in text and "S3" in text and "S1" not in text.split(":")[1]


def test_a_year_with_no_rows_at_all_is_reported_once():
    rows = [(code, 2024, 10) for code in ("S1", "S2", "S3")]
    problems = _population_coverage(_population(rows), GEO, [2023, 2024], "2023 to 2024")
    assert len(problems) == 1
    assert "no rows for 2023 (years found: 2024" in problems[0].message
