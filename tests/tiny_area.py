"""A three-small-area, two-district geography and a population frame built from rows
written out in a test, for tests that work sums out by hand (each test file keeps its own
rows, so its hand-worked sums stay beside them)."""

from __future__ import annotations

import pandas as pd

GEOGRAPHY = pd.DataFrame({
    "small_area_code": ["S1", "S2", "S3"],
    "district_code": ["D2", "D1", "D2"],
    "district_name": ["Beta", "Alpha", "Beta"],
})

POPULATION_ROW = ["small_area_code", "year", "sex", "age", "age_band", "population"]


def population_frame(rows, dtypes) -> pd.DataFrame:
    """``rows`` of (small area, year, sex, age, 5-year band, residents) as a frame with
    ``dtypes`` (the loaders' categorical codes, or the cache's)."""
    return pd.DataFrame(rows, columns=POPULATION_ROW).astype(dtypes)
