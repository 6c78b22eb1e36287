"""Loaders of context around the area: England and regional comparators (an OHID
Fingertips export) and treatment service sites."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import codes as C
from ..schemas import (
    comparators_schema,
    services_schema,
)
from ._core import (
    _F,
    PathLike,
    _coded,
    _Display,
    _quote,
    _standard,
)

# ============================================================================================
# comparators (Fingertips export)
# ============================================================================================
_COMPARATOR_SPECS = (
    _F("indicator_id", "int", (r"indicatorid",)),
    _F("indicator_name", "str", (r"indicator",)),
    _F("area_code", "str", (r"areacode",)),
    _F("area_name", "str", (r"areaname",)),
    _F("area_type", "str", (r"areatype",), nullable=True, optional=True),
    _F("sex", "code", (), nullable=True, optional=True, code="population_sex"),
    _F("age", "str", (), nullable=True, optional=True),
    _F("category_type", "str", (), nullable=True, optional=True),
    _F("category", "str", (), nullable=True, optional=True),
    _F("time_period", "str", (r"timeperiod", r"period")),
    _F("value", "float", (), nullable=True),
    _F("lower_ci95", "float", (r"lower_ci_?95(?:_0)?(?:_limit)?", r"lowerci95_0limit", r"lower_ci"), nullable=True, optional=True),
    _F("upper_ci95", "float", (r"upper_ci_?95(?:_0)?(?:_limit)?", r"upperci95_0limit", r"upper_ci"), nullable=True, optional=True),
    _F("count", "float", (), nullable=True, optional=True),
    _F("denominator", "float", (), nullable=True, optional=True),
    _F("value_note", "str", (), nullable=True, optional=True),
)


def _load_comparators(path, *, root=None):
    return _standard(path, "comparators", _COMPARATOR_SPECS, comparators_schema(), root=root)


def load_comparators(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """England / region comparator values from an OHID Fingertips CSV export.

    ``Value`` is required as a column but may be empty in a row (suppressed values).
    """
    return _load_comparators(path, root=root)[0]


# ============================================================================================
# services
# ============================================================================================
_SERVICE_SPECS = (
    _F("site_id", "str", (r"id", r"site_code", r"service_id")),
    _F("site_name", "str", (r"name", r"service_name", r"site")),
    _F("easting", "float", (r"x", r"bng_e", r"os_easting"), nullable=True, optional=True),
    _F("northing", "float", (r"y", r"bng_n", r"os_northing"), nullable=True, optional=True),
    _F("longitude", "float", (r"lon", r"long", r"lng"), nullable=True, optional=True),
    _F("latitude", "float", (r"lat",), nullable=True, optional=True),
    _F("opening_days", "str", (r"days_open", r"open_days", r"days"), nullable=True, optional=True),
    _coded("service_type", "service_type", (r"type", r"client_group", r"age_group")),
)

_DAY_ORDER = {d: i for i, d in enumerate(C.OPENING_DAYS)}


def _normalise_days(value: str) -> str:
    parts = [p for p in re.split(r"[;,/\s]+", value.strip()) if p]
    days: set[str] = set()
    for part in parts:
        if "-" in part or "–" in part:
            lo, hi = re.split(r"[-–]", part, maxsplit=1)
            a, b = _DAY_ORDER[C.normalise_code(lo, "opening_day")], _DAY_ORDER[C.normalise_code(hi, "opening_day")]
            days.update(C.OPENING_DAYS[a : b + 1])
        else:
            days.add(C.normalise_code(part, "opening_day"))
    return ";".join(sorted(days, key=_DAY_ORDER.get))


def _services_post(df, table, colmap, coll):
    from pyproj import Transformer

    df = df.copy()
    raw_days = df["opening_days"]
    mapping = {}
    for value in pd.unique(raw_days.dropna()):
        try:
            mapping[value] = _normalise_days(value)
        except (ValueError, KeyError):
            mapping[value] = None
    normal = raw_days.map(mapping)
    bad = raw_days.notna() & normal.isna()
    if bad.any():
        pos = np.flatnonzero(bad.to_numpy())
        coll.add_at(table.prov, pos, f"unreadable opening days {_quote(raw_days.iloc[pos])} (expected ';'-separated "
                    "days from Mon Tue Wed Thu Fri Sat Sun, e.g. Mon;Wed;Fri)", _Display(colmap)("opening_days"), "opening_days")
    df["opening_days"] = normal.astype("str")
    need_en = df["easting"].isna() & df["longitude"].notna() & df["latitude"].notna()
    if need_en.any():
        t = Transformer.from_crs(4326, 27700, always_xy=True)
        e, n = t.transform(df.loc[need_en, "longitude"].to_numpy(), df.loc[need_en, "latitude"].to_numpy())
        df.loc[need_en, "easting"], df.loc[need_en, "northing"] = e, n
    need_ll = df["longitude"].isna() & df["easting"].notna() & df["northing"].notna()
    if need_ll.any():
        t = Transformer.from_crs(27700, 4326, always_xy=True)
        lon, lat = t.transform(df.loc[need_ll, "easting"].to_numpy(), df.loc[need_ll, "northing"].to_numpy())
        df.loc[need_ll, "longitude"], df.loc[need_ll, "latitude"] = lon, lat
    return df


def _load_services(path, *, root=None):
    return _standard(path, "services", _SERVICE_SPECS, services_schema(), root=root, post=_services_post)



def load_services(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """Treatment sites with both British National Grid and WGS84 coordinates."""
    return _load_services(path, root=root)[0]
