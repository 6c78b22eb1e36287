"""Loaders of the area's residents: population by small area, sex and age, and residents
by protected characteristic (the denominators of every rate and comparison)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import codes as C
from .. import schemas as schemas_mod
from ..errors import InputDataError, Problem
from ..schemas import (
    population_schema,
    population_source_schema,
)
from ._core import (
    _AGE_BAND,
    _F,
    _SEX,
    _SMALL_AREA,
    _TABLE_SUFFIXES,
    _YEAR,
    PathLike,
    _check_exists,
    _Collector,
    _Display,
    _display_name,
    _map_columns,
    _match_columns,
    _norm_header,
    _parse,
    _peek_header,
    _Prov,
    _quote,
    _read_excel,
    _read_table,
    _standard,
    _Table,
    _validate,
)

# ============================================================================================
# population
# ============================================================================================
_SEXED_AGE = re.compile(r"^(f|m|females?|males?)_?(?:aged?_?)?(\d{1,2})(?:_?plus)?$")
_PERSONS_AGE = re.compile(r"^(?:age_?|aged_?|persons_?)?(\d{1,2})(?:_?plus)?$")
_TOTAL = re.compile(r"^(?:total|all_ages|total_population|all_persons|persons|total_persons)$")
_POP_LONG_SPECS = (
    _F("small_area_code", "area", _SMALL_AREA),
    _F("year", "int", _YEAR),
    _F("sex", "code", _SEX, code="population_sex"),
    _F("age", "int", (r"single_year_of_age", r"age_years"), nullable=True, optional=True),
    _F("age_band", "age_band", _AGE_BAND, optional=True),
    _F("population", "int", (r"count", r"value", r"population_estimate", r"obs_value", r"persons", r"residents")),
)
_POP_SEXES = ["male", "female", "persons"]
#: Counts are int32 (a national table has tens of millions of rows); no cell comes near.
_MAX_POPULATION = np.iinfo(np.int32).max
_TOO_MANY = f"expected at most {_MAX_POPULATION:,} people in one small area, sex and age"


@dataclass
class _SegProv:
    """Provenance of a concatenation: each segment keeps its own (possibly strided) _Prov."""

    offsets: np.ndarray
    parts: list[_Prov]
    unit: str = "row"

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(s for p in self.parts for s in p.sources))

    @property
    def file(self) -> str:
        sources = self.sources
        return sources[0] if len(sources) == 1 else ", ".join(sources[:3])

    def locate(self, positions) -> list[tuple[str, tuple[int, ...]]]:
        pos = np.asarray(positions, dtype=np.int64)
        merged: dict[str, set[int]] = {}
        bounds = list(self.offsets) + [np.iinfo(np.int64).max]
        for i, part in enumerate(self.parts):
            inside = pos[(pos >= bounds[i]) & (pos < bounds[i + 1])] - bounds[i]
            for fname, rows in part.locate(inside):
                merged.setdefault(fname, set()).update(rows)
        return [(f, tuple(sorted(r))) for f, r in merged.items()]


def _year_from_name(path: Path) -> int | None:
    stem = path.stem.lower()
    match = re.search(r"mid[-_ ]?((?:19|20)\d{2})(?!\d)", stem)
    if match:
        return int(match.group(1))
    tokens = re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", stem)
    return int(tokens[0]) if len(set(tokens)) == 1 else None


def _wide_columns(headers: Sequence[str]):
    """[(header, sex, age)] of a wide SAPE-style table, or [] when not wide."""
    sexed, persons = [], []
    for h in headers:
        n = _norm_header(h)
        m = _SEXED_AGE.match(n)
        if m:
            sexed.append((h, "female" if m.group(1).startswith("f") else "male", int(m.group(2))))
            continue
        m = _PERSONS_AGE.match(n)
        if m:
            persons.append((h, "persons", int(m.group(1))))
    if len(sexed) >= 10:
        return sexed
    if len(persons) >= 10:
        return persons
    return []


def _compact_population(df: pd.DataFrame) -> pd.DataFrame:
    """Population dtypes: categorical codes, int16 year, Int16 age, int32 counts."""
    out = {}
    code = df["small_area_code"]
    out["small_area_code"] = code if isinstance(code.dtype, pd.CategoricalDtype) else pd.Categorical(code)
    out["year"] = df["year"].astype("int16")
    out["sex"] = pd.Categorical(df["sex"], categories=_POP_SEXES)
    out["age"] = df["age"].astype("Int16")
    out["age_band"] = pd.Categorical(df["age_band"], categories=list(C.AGE_BANDS))
    out["population"] = df["population"].astype("int64").clip(upper=np.iinfo(np.int32).max).astype("int32")
    return pd.DataFrame(out)


def _read_population_file(path: Path, name: str, dataset: str, coll: _Collector):
    """One population file -> (long canonical frame, provenance, colmap, wide ids or None)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        def is_header(values):
            return bool(_wide_columns(values)) or len(_match_columns(values, _POP_LONG_SPECS)) >= 4
        table = _read_excel(path, name, dataset, is_header)
        if len(table.df) == 0:
            raise InputDataError(Problem(table.name, "no data rows below the header (expected at least one record)",
                                         rows=(table.header_row + 1,), dataset=dataset))
    else:
        _check_exists(path, name, dataset)
        headers = _peek_header(path)
        wide = {h for h, _, _ in _wide_columns(headers)}
        totals = {h for h in headers if _TOTAL.match(_norm_header(h))}
        numeric = (lambda c: c.strip() in wide or c.strip() in totals) if wide else None
        table = _read_table(path, name, dataset, numeric=numeric)
    wide_cols = _wide_columns(list(table.df.columns))
    if wide_cols:
        return _melt_population(table, path, wide_cols, coll)
    colmap = _map_columns(table, _POP_LONG_SPECS, coll)
    if "age" not in colmap and "age_band" not in colmap:
        coll.add(table.name, "required column 'age' or 'age_band' is missing", column="age", rows=(table.header_row,))
    if "year" not in colmap:
        year = _year_from_name(path)
        if year is not None:
            coll.problems = [p for p in coll.problems if p.column != "year"]
            table.set_column("year", pd.Categorical([str(year)] * len(table.df)))
            colmap["year"] = "year"
    coll.raise_if_any()
    df = _parse(table, _POP_LONG_SPECS, colmap, coll)
    if "age_band" not in colmap:
        df["age_band"] = C.age_band_for(df["age"])
    too_many = (df["population"] > _MAX_POPULATION).to_numpy()
    if too_many.any():
        pos = np.flatnonzero(too_many)
        coll.add_at(table.prov, pos, f"count too large {_quote(df['population'].iloc[pos])} ({_TOO_MANY})",
                    _Display(colmap)("population"), "population")
    coll.raise_if_any()
    return _compact_population(df), table.prov, colmap, None


def _melt_population(table: _Table, path: Path, wide_cols, coll: _Collector):
    df = table.df
    id_specs = (
        _F("small_area_code", "area", _SMALL_AREA),
        _F("year", "int", _YEAR + (r"reference_date", r"date"), optional=True),
    )
    colmap = _map_columns(table, id_specs, coll)
    by_sex: dict[str, dict[int, str]] = {}
    for header, sex, age in wide_cols:
        by_sex.setdefault(sex, {})[age] = header
    for sex, ages in by_sex.items():  # every sex present needs every single year 0..90
        missing = [a for a in range(91) if a not in ages]
        if missing:
            prefix = {"female": "F", "male": "M", "persons": ""}[sex]
            coll.add(table.name, f"age columns missing for {sex}: {', '.join(prefix + str(a) for a in missing[:10])}"
                     f"{' …' if len(missing) > 10 else ''} (expected single years 0 to 90, 90 meaning 90+)",
                     column=f"{prefix}{missing[0]}", rows=(table.header_row,))
    year_source = colmap.get("year")
    year = None
    if year_source is None:
        year = _year_from_name(path)
        if year is None:
            coll.add(table.name, "no 'Year' column and no year in the file name (expected a Year column, or "
                     "a file name such as 'sape-mid-2022.csv')", column="Year", rows=(table.header_row,))
    coll.raise_if_any()
    sexes = [s for s in _POP_SEXES if s in by_sex]
    ordered = [(by_sex[s][a], s, a) for s in sexes for a in range(91)]
    headers = [h for h, _, _ in ordered]
    k, n, prov = len(headers), len(df), table.prov
    ids = _parse(table, (id_specs[0],), colmap, coll)
    if year_source is not None:
        if _norm_header(year_source) in ("reference_date", "date"):
            codes, values = table.factor(year_source)
            # by position: code -1 (an empty cell) takes the trailing '' of ``values``
            table.set_column(year_source, np.array([v[:4] for v in values], dtype=object)[codes])
        ids["year"] = _parse(table, (id_specs[1],), colmap, coll)["year"].to_numpy()
    else:
        ids["year"] = np.full(n, year, dtype=np.int64)
    # counts, checked column by column on the wide table (names as the analyst sees them),
    # written straight into the int32 matrix that becomes the long `population` column
    counts = np.empty((n, k), dtype=np.int32)
    sums = np.zeros(n, dtype=np.float64)
    incomplete = np.zeros(n, dtype=bool)
    for j, header in enumerate(headers):
        label = f"'{header}'"
        if df[header].dtype == "float64":
            col = df[header].to_numpy()
        else:
            parsed = _parse(table, (_F(header, "int", nullable=True),), {header: header}, coll)[header]
            col = parsed.astype("float64").to_numpy(na_value=np.nan)
        missing = np.isnan(col)
        if missing.any():
            pos = [p for p in np.flatnonzero(missing) if (header, int(p)) not in coll.skip]
            coll.add_at(prov, pos, "missing value (expected a whole number of people)", label, header)
            incomplete |= missing
            col = np.where(missing, 0.0, col)
        if (col < 0).any():
            pos = np.flatnonzero(col < 0)
            coll.add_at(prov, pos, f"negative count {_quote(f'{v:.0f}' for v in col[pos])} (expected 0 or more)", label, header)
        if (col > _MAX_POPULATION).any():
            pos = [p for p in np.flatnonzero(col > _MAX_POPULATION) if (header, int(p)) not in coll.skip]
            coll.add_at(prov, pos, f"count too large {_quote(col[pos])} ({_TOO_MANY})", label, header)
            col = np.where(col > _MAX_POPULATION, 0.0, col)
        frac = col != np.floor(col)
        if frac.any():
            pos = [p for p in np.flatnonzero(frac) if (header, int(p)) not in coll.skip]
            coll.add_at(prov, pos, f"not a whole number {_quote(col[pos])} (expected a whole number of people)",
                        label, header)
        counts[:, j] = col
        sums += col
    total_header = next((h for h in df.columns if _TOTAL.match(_norm_header(h))), None)
    if total_header is not None:
        col = df[total_header]
        if col.dtype == "float64":
            total = col.to_numpy()
        else:
            total = _parse(table, (_F(total_header, "float", nullable=True),), {total_header: total_header}, coll)[total_header].to_numpy()
        mismatch = ~incomplete & ~np.isnan(total) & (np.abs(sums - np.nan_to_num(total)) > 0.5)
        if mismatch.any():
            pos = np.flatnonzero(mismatch)
            first = int(pos[0])
            coll.add_at(prov, pos, f"total does not equal the sum of the age columns (first: total {total[first]:.0f}, "
                        f"sum {sums[first]:.0f}; expected them to be equal)", f"'{total_header}'", None)
    coll.raise_if_any()
    table.df = df = None  # free the wide table before building the long one
    sex_codes = np.array([_POP_SEXES.index(s) for _, s, _ in ordered], dtype=np.int8)
    ages = np.array([a for _, _, a in ordered], dtype=np.int16)
    band_codes = np.minimum(ages // 5, len(C.AGE_BANDS) - 1).astype(np.int8)
    code_cat = pd.Categorical(ids["small_area_code"])
    long = pd.DataFrame(
        {
            "small_area_code": pd.Categorical.from_codes(np.repeat(code_cat.codes, k), code_cat.categories),
            "year": np.repeat(ids["year"].to_numpy().astype(np.int16), k),
            "sex": pd.Categorical.from_codes(np.tile(sex_codes, n), categories=_POP_SEXES),
            "age": pd.array(np.tile(ages, n), dtype="Int16"),
            "age_band": pd.Categorical.from_codes(np.tile(band_codes, n), categories=list(C.AGE_BANDS)),
            "population": counts.ravel(),
        }
    )
    del counts
    long_prov = _Prov(prov.sources, prov.src, prov.row, stride=k)
    colmap = dict(colmap)
    colmap["population"] = f"{headers[0]}…{headers[-1]}"
    return long, long_prov, colmap, (ids, prov)


def _load_population(path: PathLike, *, root=None):
    dataset = "population"
    path = Path(path)
    name = _display_name(path, root)
    _check_exists(path, name, dataset)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _TABLE_SUFFIXES)
        if not files:
            raise InputDataError(Problem(name, "the folder holds no CSV or Excel files (expected one ONS "
                                         "population file per year)", dataset=dataset))
    else:
        files = [path]
    frames, provs, wide_ids, long_parts = [], [], [], []
    colmap: dict[str, str] = {}
    errors: list[InputDataError] = []
    for file in files:
        coll = _Collector(dataset)
        try:
            df, prov, cmap, ids = _read_population_file(file, _display_name(file, root), dataset, coll)
        except InputDataError as exc:
            errors.append(exc)
            continue
        frames.append(df)
        provs.append(prov)
        colmap = cmap
        if ids is None:
            long_parts.append(len(frames) - 1)
        else:
            wide_ids.append(ids)
    if errors:
        raise InputDataError.combine(errors)
    coll = _Collector(dataset)
    # Wide layouts: one row per small area and year, checked before reshaping.
    if wide_ids:
        ids = pd.concat([i for i, _ in wide_ids], ignore_index=True)
        ids_prov = _Prov.concat([p for _, p in wide_ids])
        _validate(ids, population_source_schema(), ids_prov, colmap, coll)
    # Long layouts: the full canonical schema.
    for i in long_parts:
        _validate(frames[i], population_schema(), provs[i], colmap, coll)
    coll.raise_if_any()
    if len(frames) == 1:
        return frames[0], provs[0], colmap
    cats = pd.Index(sorted(set().union(*(set(f["small_area_code"].cat.categories) for f in frames))))
    for f in frames:
        f["small_area_code"] = f["small_area_code"].cat.set_categories(cats)
    df = pd.concat(frames, ignore_index=True)
    offsets = np.cumsum([0] + [len(f) for f in frames[:-1]])
    return df, _SegProv(offsets, provs), colmap


def load_population(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """Residents by small area, year, sex and single year of age (canonical long form).

    Accepts the ONS SAPE 'sapelsoasyoa' layout (``LSOA 2021 Code, …, Total, F0…F90, M0…M90``)
    with a ``Year`` column, or without one when the file name holds the year
    (``…mid-2022…``); a folder of such files (one per year, CSV or XLSX); a persons-only
    wide layout (``0…90`` / ``age_0…age_90plus``); or a long table with ``small_area_code,
    year, sex, age`` and/or ``age_band``, ``population``.

    The national table has tens of millions of rows, so the frame is compact:
    ``small_area_code``, ``sex`` and ``age_band`` are categorical, ``year`` is int16, ``age``
    Int16 and ``population`` int32.
    """
    return _load_population(path, root=root)[0]




_CHARACTERISTIC_SPECS = (
    _F("area_code", "area", (r"geography_code", r"lsoa\d{2}cd", r"wd\d{2}cd", r"lad\d{2}cd", r"code")),
    _F("characteristic", "str", (r"topic", r"variable", r"dimension")),
    _F("category", "str", (r"category_code", r"value_code", r"group")),
    _F("population", "int", (r"count", r"observation", r"residents", r"usual_residents", r"value")),
)


def _characteristics_post(df, table, colmap, coll):
    # Categories are codes of their characteristic's field: accept labels too.
    out = df.copy()
    chars = out["characteristic"].astype(str).str.strip().str.lower()
    out["characteristic"] = chars
    cats = out["category"].astype(str)
    for characteristic in schemas_mod.CHARACTERISTIC_FIELDS:
        rows = (chars == characteristic).to_numpy()
        if rows.any():
            normalised = []
            for value in cats[rows]:
                try:
                    normalised.append(C.normalise_code(value, characteristic))
                except ValueError:
                    normalised.append(value)  # reported by the schema check with its row
            cats = cats.copy()
            cats.loc[rows] = normalised
    out["category"] = cats
    return out


def _load_characteristics(path, *, root=None):
    return _standard(
        path,
        "characteristics",
        _CHARACTERISTIC_SPECS,
        schemas_mod.characteristics_schema(),
        root=root,
        post=_characteristics_post,
    )


def load_characteristics(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """Residents by protected characteristic per area (``area_code, characteristic,
    category, population``), categories normalised to the treatment-episode codes."""
    return _load_characteristics(path, root=root)[0]
