"""Area profile: who lives in the area and how deprived its small areas are."""

from __future__ import annotations

import pandas as pd

__all__ = [
    "LEVEL_COLUMNS",
    "deprivation_profile",
    "population_by_area",
    "population_pyramid",
]

#: Reporting geography -> (code column, name column) in the geography table.
LEVEL_COLUMNS = {
    "district": ("district_code", "district_name"),
    "ward": ("ward_code", "ward_name"),
    "small_area": ("small_area_code", "small_area_name"),
}

ESP_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]


def population_by_area(
    population: pd.DataFrame, geography: pd.DataFrame, *, level: str, year: int
) -> pd.DataFrame:
    """Residents in ``year`` by reporting area (district or ward), with each area's share.

    Returns columns ``area_code, area_name, population, percent`` sorted by name.
    """
    code, name = LEVEL_COLUMNS[level]
    pop = population.loc[population["year"] == year]
    if pop.empty:
        raise ValueError(f"population: no rows for year {year}")
    merged = pop.merge(geography[["small_area_code", code, name]], on="small_area_code")
    out = (
        merged.groupby([code, name], as_index=False, observed=True)["population"]
        .sum()
        .rename(columns={code: "area_code", name: "area_name"})
        .sort_values("area_name", kind="stable")
        .reset_index(drop=True)
    )
    out["percent"] = out["population"] / out["population"].sum() * 100
    return out


def population_pyramid(population: pd.DataFrame, *, year: int) -> pd.DataFrame:
    """Residents by 5-year age band and sex in ``year`` (male/female only), in band order,
    with each cell's percentage of the whole population."""
    pop = population.loc[(population["year"] == year) & population["sex"].isin(["male", "female"])]
    if pop.empty:
        raise ValueError(f"population: no male/female rows for year {year}")
    table = (
        pop.pivot_table(index="age_band", columns="sex", values="population", aggfunc="sum")
        .reindex(ESP_BANDS)
        .fillna(0)
        .astype("int64")
    )
    total = table.to_numpy().sum()
    out = table.reset_index().rename_axis(columns=None)
    out["male_percent"] = out["male"] / total * 100
    out["female_percent"] = out["female"] / total * 100
    return out


def deprivation_profile(geography: pd.DataFrame, *, level: str | None = None) -> pd.DataFrame:
    """Number and share of small areas in each national IMD decile (1 = most deprived 10%
    in England), for the whole area or by reporting area.

    In England as a whole each decile holds a tenth of small areas, so a share above 10%
    in decile 1 means the area has more than its share of the most deprived places.
    """
    keys = ["imd_decile"]
    if level is not None:
        code, name = LEVEL_COLUMNS[level]
        keys = [code, name, "imd_decile"]
    counts = geography.groupby(keys, observed=True).size().rename("small_areas").reset_index()
    if level is None:
        counts = (
            counts.set_index("imd_decile").reindex(range(1, 11), fill_value=0).reset_index()
        )
        counts["percent"] = counts["small_areas"] / counts["small_areas"].sum() * 100
    else:
        counts["percent"] = counts["small_areas"] / counts.groupby(keys[0])[
            "small_areas"
        ].transform("sum") * 100
    return counts
