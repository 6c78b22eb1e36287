"""England and region comparator values from a Fingertips-layout comparators file.

Every chapter looks comparators up the same way: the whole-population rows (persons, no
deprivation or other category) of the indicator, for England or a region, in the latest
period. The pieces live here once; chapters choose how to match an indicator (by ID, by
words in its name, by a pattern) and what to return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

__all__ = ["ENGLAND_CODE", "find_comparator", "latest_period", "period_key", "whole_population"]

ENGLAND_CODE = "E92000001"


def period_key(period: object) -> tuple[int, int]:
    """Sort key of a Fingertips time period: (end year, start year). '2021 - 23' ->
    (2023, 2021); '2023/24' -> (2024, 2023); '2024' -> (2024, 2024)."""
    years = [int(y) for y in re.findall(r"\d{4}|\d{2}(?!\d)", str(period))]
    if not years:
        return (0, 0)
    first, last = years[0], years[-1]
    if last < 100:
        last += (first // 100) * 100
    return (last, first)


def whole_population(rows: pd.DataFrame, *, persons_only: bool = False) -> pd.DataFrame:
    """Rows with a value for the whole population: no category (e.g. no deprivation
    decile), and persons rather than men or women. With ``persons_only`` a file holding
    only sex-specific rows yields nothing; otherwise persons rows are preferred when there
    are any."""
    if "category" in rows.columns:
        rows = rows.loc[rows["category"].isna() | (rows["category"].astype(str).str.strip() == "")]
    if "sex" in rows.columns:
        sex = rows["sex"].astype(str).str.strip().str.lower()
        persons = sex.isin(["persons", "nan", "<na>", ""])
        if persons_only or persons.any():
            rows = rows.loc[persons]
    return rows.loc[rows["value"].notna()]


def latest_period(rows: pd.DataFrame) -> pd.Series | None:
    """The row of the latest time period (ties keep file order), or None."""
    if rows.empty:
        return None
    ordered = rows.assign(_key=rows["time_period"].map(period_key)).sort_values("_key", kind="stable")
    return ordered.iloc[-1].drop("_key")


def find_comparator(
    comparators: pd.DataFrame | None,
    *,
    ids: Iterable[int] = (),
    name_contains: Iterable[str] = (),
    area_code: str = ENGLAND_CODE,
) -> dict | None:
    """The latest comparator value for one area (England by default) of an indicator found
    by Fingertips ID or, failing that, by words all contained in its name (case-insensitive).

    Returns ``{label, value, lower, upper, period, indicator_id, indicator_name}`` or None
    when the file is absent or holds no such indicator for that area.
    """
    if comparators is None or comparators.empty:
        return None
    ids = [int(i) for i in ids]
    words = [w.lower() for w in name_contains]
    rows = comparators[comparators["indicator_id"].isin(ids)] if ids else comparators.iloc[0:0]
    if rows.empty and words:
        names = comparators["indicator_name"].astype(str).str.lower()
        mask = pd.Series(True, index=comparators.index)
        for word in words:
            mask &= names.str.contains(word, regex=False)
        rows = comparators[mask]
    latest = latest_period(whole_population(rows[rows["area_code"].astype(str) == area_code]))
    if latest is None:
        return None

    def num(value):
        return None if pd.isna(value) else float(value)

    return {
        "label": str(latest["area_name"]),
        "value": num(latest["value"]),
        "lower": num(latest.get("lower_ci95")),
        "upper": num(latest.get("upper_ci95")),
        "period": str(latest["time_period"]),
        "indicator_id": int(latest["indicator_id"]),
        "indicator_name": str(latest["indicator_name"]),
    }
