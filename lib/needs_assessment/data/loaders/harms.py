"""Loaders of harms counted by small area: deaths and hospital admissions (counts by
year, sex and age) and police.uk street-level crime."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .. import codes as C
from ..errors import InputDataError, Problem
from ..schemas import (
    admissions_schema,
    crime_schema,
    deaths_schema,
)
from ._core import (
    _AGE_BAND,
    _F,
    _SEX,
    _SMALL_AREA,
    _YEAR,
    PathLike,
    _check_exists,
    _coded,
    _Collector,
    _display_name,
    _norm_header,
    _parse,
    _peek_header,
    _Prov,
    _quote,
    _read_table,
    _standard,
    _Table,
    _validate,
)


# ============================================================================================
# deaths and admissions
# ============================================================================================
def _counts_specs(kind: str, kind_aliases: tuple[str, ...], count_aliases: tuple[str, ...]):
    return (
        _F("year", "int", _YEAR),
        _F("small_area_code", "area", _SMALL_AREA),
        _F("sex", "code", _SEX, code="population_sex"),
        _F("age_band", "age_band", _AGE_BAND, optional=True),
        _F("age", "int", (r"age_years", r"age_at_death", r"age_at_admission"), optional=True, nullable=True),
        _coded(kind, kind, kind_aliases),
        _F("count", "int", count_aliases),
    )


_DEATHS_SPECS = _counts_specs("cause", (r"cause_of_death", r"cause_group", r"measure"), (r"deaths", r"number", r"n", r"value"))
_ADMISSIONS_SPECS = _counts_specs("condition", (r"condition_group", r"diagnosis_group", r"measure"),
                                  (r"admissions", r"episodes", r"number", r"n", r"value"))


def _counts_post(df, table, colmap, coll):
    if "age_band" not in colmap:
        if "age" not in colmap:
            coll.add(table.name, "required column 'age_band' (or 'age') is missing", column="age_band",
                     rows=(table.header_row,))
            coll.raise_if_any()
        df = df.copy()
        df["age_band"] = C.age_band_for(df["age"].clip(lower=0))
    return df


def _load_deaths(path, *, root=None):
    return _standard(path, "deaths", _DEATHS_SPECS, deaths_schema(), root=root, post=_counts_post)


def load_deaths(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """Death counts by registration year, small area, sex, age band and cause."""
    return _load_deaths(path, root=root)[0]


def _load_admissions(path, *, root=None):
    return _standard(path, "admissions", _ADMISSIONS_SPECS, admissions_schema(), root=root, post=_counts_post)


def load_admissions(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """Hospital admission counts by financial year (start), small area, sex, age band, condition."""
    return _load_admissions(path, root=root)[0]


# ============================================================================================
# crime (police.uk)
# ============================================================================================
#: Columns of a police.uk street-level crime file, in order.
POLICE_UK_COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)


_CRIME_KEEP = {
    "crime_id": "Crime ID",
    "month": "Month",
    "reported_by": "Reported by",
    "longitude": "Longitude",
    "latitude": "Latitude",
    "lsoa_code": "LSOA code",
    "crime_type": "Crime type",
    "last_outcome_category": "Last outcome category",
}


def _concat_columns(tables: list[_Table], columns: list[str]) -> pd.DataFrame:
    """Concatenate same-named columns of several tables, keeping text columns categorical."""
    from pandas.api.types import union_categoricals

    out = {}
    for col in columns:
        parts = [t.df[col] for t in tables]
        if all(p.dtype == "float64" for p in parts) or all(p.dtype == object for p in parts):
            out[col] = pd.concat(parts, ignore_index=True)
            continue
        cats = []
        for p in parts:
            if isinstance(p.dtype, pd.CategoricalDtype):
                cats.append(p.array)
            else:
                text = p.astype(object).where(p.notna(), "").map(lambda v: f"{v:g}" if isinstance(v, float) else str(v))
                cats.append(pd.Categorical(text))
        cats = [c.set_categories(c.categories.astype(object)) for c in cats]
        out[col] = pd.Series(union_categoricals(cats, ignore_order=True))
    return pd.DataFrame(out)


def _load_crime(path: PathLike, *, root=None, small_areas: Iterable[str] | None = None):
    dataset = "crime"
    path = Path(path)
    name = _display_name(path, root)
    _check_exists(path, name, dataset)
    if path.is_dir():
        files = sorted(path.rglob("*-street.csv"))
        if not files:
            raise InputDataError(Problem(name, "no police.uk street-level files found in the folder "
                                         "(expected files named YYYY-MM-<force>-street.csv, e.g. from data.police.uk)",
                                         dataset=dataset))
    else:
        files = [path]
    coll = _Collector(dataset)
    expected = {_norm_header(c): c for c in POLICE_UK_COLUMNS}
    tables: list[_Table] = []
    for file in files:
        fname = _display_name(file, root)
        if file.stat().st_size > 0:
            headers = _peek_header(file)
            found = {_norm_header(c) for c in headers}
            missing = [orig for key, orig in expected.items() if key not in found]
            if missing and headers:
                coll.add(fname, f"not a police.uk street-level file: column(s) {_quote(missing, 12)} missing "
                         f"(expected exactly: {', '.join(POLICE_UK_COLUMNS)})", column=missing[0], rows=(1,))
                continue
        try:
            table = _read_table(
                file, fname, dataset, allow_header_only=True,
                numeric=lambda c: _norm_header(c) in ("longitude", "latitude"),
                usecols=lambda c: _norm_header(c) in _CRIME_KEEP,
                plain=lambda c: _norm_header(c) == "crime_id",
            )
        except InputDataError as exc:
            coll.problems.extend(exc.problems)
            continue
        table.df.columns = [_CRIME_KEEP[_norm_header(c)] for c in table.df.columns]
        tables.append(table)
    coll.raise_if_any()
    if not any(len(t.df) for t in tables):
        raise InputDataError(Problem(name, "no crime rows in any police.uk file (expected at least one record)",
                                     rows=(2,), dataset=dataset))
    tables = [t for t in tables if len(t.df)]
    df = _concat_columns(tables, list(_CRIME_KEEP.values()))
    prov = _Prov.concat([t.prov for t in tables])
    del tables
    table = _Table(df, prov)
    specs = (
        _F("crime_id", "str", nullable=True, raw=True),
        _F("month", "month"),
        _F("reported_by", "str", category=True),
        _F("longitude", "float", nullable=True),
        _F("latitude", "float", nullable=True),
        _F("small_area_code", "area", nullable=True, category=True),
        _F("crime_type", "code", code="crime_type", category=True),
        _F("outcome", "str", nullable=True, category=True),
    )
    colmap = {"crime_id": "Crime ID", "month": "Month", "reported_by": "Reported by", "longitude": "Longitude",
              "latitude": "Latitude", "small_area_code": "LSOA code", "crime_type": "Crime type",
              "outcome": "Last outcome category"}
    out = _parse(table, specs, colmap, coll)
    del table, df
    if small_areas is not None:
        known = pd.Index(pd.unique(pd.Series(list(small_areas), dtype=object)))
        out["in_area"] = out["small_area_code"].isin(known).astype("boolean")
    else:
        out["in_area"] = pd.array([pd.NA] * len(out), dtype="boolean")
    _validate(out, crime_schema(), prov, colmap, coll)
    coll.raise_if_any()
    return out, prov, colmap


def load_crime(path: PathLike, *, root: PathLike | None = None,
               small_areas: Iterable[str] | None = None) -> pd.DataFrame:
    """police.uk street-level crime from a folder of monthly ``*-street.csv`` files (or one file).

    Every file must have the police.uk columns. ``in_area`` is True where ``LSOA code`` is
    one of ``small_areas`` (the geography), False otherwise, and missing when no
    ``small_areas`` were given; rows outside the area are kept. ``reported_by``,
    ``small_area_code``, ``crime_type`` and ``outcome`` are categorical (England has about
    six million crimes a year).
    """
    return _load_crime(path, root=root, small_areas=small_areas)[0]


