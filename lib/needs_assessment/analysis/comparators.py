"""Finding England and region comparator values in a Fingertips-layout comparators file."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["find_comparator"]

ENGLAND_CODE = "E92000001"


def find_comparator(
    comparators: pd.DataFrame | None,
    *,
    ids: Iterable[int] = (),
    name_contains: Iterable[str] = (),
    area_code: str = ENGLAND_CODE,
    sex: str = "Persons",
) -> dict | None:
    """The latest comparator value for one area (England by default) of an indicator found
    by Fingertips ID or, failing that, by words all contained in its name (case-insensitive).

    Returns ``{label, value, lower, upper, period, indicator_id, indicator_name}`` or None
    when the file is absent or holds no such indicator for that area.
    """
    if comparators is None or comparators.empty:
        return None
    rows = comparators
    ids = [int(i) for i in ids]
    words = [w.lower() for w in name_contains]
    by_id = rows[rows["indicator_id"].isin(ids)] if ids else rows.iloc[0:0]
    if by_id.empty and words:
        names = rows["indicator_name"].astype(str).str.lower()
        mask = pd.Series(True, index=rows.index)
        for word in words:
            mask &= names.str.contains(word, regex=False)
        by_id = rows[mask]
    rows = by_id[by_id["area_code"].astype(str) == area_code]
    if "sex" in rows and (rows["sex"].astype(str) == sex).any():
        rows = rows[rows["sex"].astype(str) == sex]
    if "category_type" in rows:
        plain = rows["category_type"].isna() | (rows["category_type"].astype(str).isin(["", "<NA>", "nan"]))
        if plain.any():
            rows = rows[plain]
    if rows.empty:
        return None
    latest = rows.sort_values("time_period", kind="stable").iloc[-1]

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
