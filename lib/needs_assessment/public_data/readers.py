"""Readers for the published layouts of the public datasets (ONS, MHCLG, NHS Digital).

Each reader opens one published file read-only, recognises its columns (the layout of the
re-publication in ``shared/reference`` and, where noted, the publisher's own download),
returns a tidy frame, and validates it with a pandera schema. A file that breaks its
layout raises :class:`~needs_assessment.data.errors.InputDataError` naming the file, the
column, the spreadsheet rows and what was expected, like every other loader.

Readers return plain tidy frames with GSS ``area_code`` columns; :mod:`.build` turns them
into the canonical datasets of an area.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from needs_assessment.data.errors import InputDataError, Problem

__all__ = [
    "AREA_LEVELS",
    "ADMISSION_MEASURES",
    "area_level",
    "clean_area_name",
    "read_admissions",
    "read_census_age",
    "read_census_sex",
    "read_characteristic_comparators",
    "read_deaths_3yr",
    "read_deaths_by_la",
    "read_deaths_by_region",
    "read_deaths_national",
    "read_gender_identity",
    "read_la_population_series",
    "read_legal_partnership",
    "read_lsoa11_to_lsoa21",
    "read_sex_age_16plus",
    "read_sexual_orientation",
    "read_small_area_table",
]

#: GSS codes; ONS tables also carry the pseudo-code J99000001 (England and Wales, with no
#: usual residence stated separately in some vintages).
_GSS = r"^[EWKSNJ]\d{8}$"

#: GSS prefix -> level of geography.
AREA_LEVELS = {
    "K04": "england_and_wales",
    "E92": "country",
    "W92": "country",
    "E12": "region",
    "E13": "inner_outer_london",
    "E11": "metropolitan_county",
    "E10": "county",
    "E06": "unitary",
    "E07": "district",
    "E08": "metropolitan_district",
    "E09": "london_borough",
    "W06": "welsh_unitary",
}

#: Lower-tier (district-level) English authorities: every English area is in exactly one.
LOWER_TIER = ("unitary", "district", "metropolitan_district", "london_borough")
#: Upper-tier English authorities (county or unitary), as used for merged local areas.
UPPER_TIER = ("county", "unitary", "metropolitan_district", "london_borough")

#: NHS Digital measure wording -> short code.
ADMISSION_MEASURES = {
    "Admissions with a primary diagnosis of poisoning by drug misuse": "drug_poisoning",
    "Admissions with a primary diagnosis of drug-related mental and behavioural disorders":
        "drug_mental_behavioural_primary",
    "Admissions with a primary or secondary diagnosis of drug-related mental and behavioural disorders":
        "drug_mental_behavioural_any",
}

REGION_CODES = {
    "north east": "E12000001",
    "north west": "E12000002",
    "yorkshire and the humber": "E12000003",
    "east midlands": "E12000004",
    "west midlands": "E12000005",
    "east of england": "E12000006",
    "east": "E12000006",
    "london": "E12000007",
    "south east": "E12000008",
    "south west": "E12000009",
    "england": "E92000001",
}


def area_level(code: str) -> str:
    """Level of a GSS code from its prefix (``district``, ``region`` …; ``other`` if unknown)."""
    return AREA_LEVELS.get(str(code)[:3], "other")


def clean_area_name(name: str) -> str:
    """ONS prints countries and regions in capitals ('SOUTH WEST'): title-case those, and
    strip stray spaces; other names are kept as published."""
    text = re.sub(r"\s+", " ", str(name)).strip()
    if text.isupper() and len(text) > 3:
        small = {"And", "The", "Of"}
        words = [w.capitalize() for w in text.lower().split(" ")]
        text = " ".join(w.lower() if i and w in small else w for i, w in enumerate(words))
    return text


# ============================================================================================
# Helpers
# ============================================================================================
def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _display(path: Path, root: Path | None) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve())) if root else Path(path).name
    except ValueError:
        return Path(path).name


def _read(path: Path, dataset: str, root: Path | None, **kwargs) -> tuple[pd.DataFrame, str]:
    name = _display(path, root)
    path = Path(path)
    if not path.is_file():
        raise InputDataError(Problem(name, f"file not found: {path}", dataset=dataset))
    data = path.read_bytes()  # decoded here, not by pandas, whose error offsets are per chunk
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise InputDataError(Problem(
            name, f"not UTF-8 text: byte 0x{body[exc.start]:02X} at byte offset {exc.start + len(data) - len(body)} "
            f"(line {line}) cannot be read as UTF-8; save it as CSV UTF-8", rows=(line,), unit="line",
            dataset=dataset)) from None
    if not body.strip():
        raise InputDataError(Problem(name, "the file is empty (expected a header row naming the columns, then "
                                     "one row per record)", rows=(1,), dataset=dataset))
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, encoding="utf-8", **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        line = int(match.group(2)) if match else 1
        raise InputDataError(Problem(name, f"cannot be read as CSV ({exc})", rows=(line,), dataset=dataset)) from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the extra leading fields of a first row longer than the header as
        # row labels and shifts every column
        raise InputDataError(Problem(name, f"row 2 has {len(frame.columns) + frame.index.nlevels} fields but the "
                                     f"header has {len(frame.columns)} (expected one value per column)", rows=(2,),
                                     dataset=dataset))
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, name


def _columns(frame: pd.DataFrame, name: str, dataset: str, wanted: Mapping[str, Sequence[str]],
             layout: str) -> dict[str, str]:
    """canonical -> source column, matching normalised names; raise naming what is missing."""
    by_norm = {_norm(c): c for c in frame.columns}
    found, missing = {}, []
    for canonical, aliases in wanted.items():
        for alias in (canonical, *aliases):
            if _norm(alias) in by_norm:
                found[canonical] = by_norm[_norm(alias)]
                break
        else:
            missing.append(canonical)
    if missing:
        cols = ", ".join(repr(c) for c in frame.columns[:15])
        raise InputDataError(Problem(
            name, f"required column(s) {', '.join(repr(m) for m in missing)} missing (expected the "
            f"{layout} layout; columns found: {cols})", column=missing[0], rows=(1,), dataset=dataset))
    return found


def _numbers(frame: pd.DataFrame, column: str, name: str, dataset: str, *, display: str | None = None,
             allow_blank: bool = False, whole: bool = True, rows: np.ndarray | None = None) -> pd.Series:
    """Parse a text column as numbers (thousands separators allowed); raise naming rows.

    ``rows`` are the spreadsheet rows of the frame's rows when it is not the file as read
    (melted, filtered); by default row i of the frame is spreadsheet row i + 2."""
    text = frame[column].astype(str).str.replace(",", "", regex=False).str.strip()
    blank = text.isin(["", ":", "..", "[x]", "[c]", "z", "x", "c"])
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if not allow_blank:
        bad |= blank
    # infinities, and whole numbers beyond 2**53 (not exact in float64, nor int64 beyond 2**63)
    bad |= values.notna() & ~np.isfinite(values)
    if whole:
        bad |= values.notna() & ((values != np.floor(values)) | (values.abs() >= 2**53))
    if bad.any():
        where = np.flatnonzero(bad.to_numpy())[:50]
        rows = tuple(int(r) for r in (rows[where] if rows is not None else where + 2))
        sample = ", ".join(repr(v) for v in pd.unique(frame.loc[bad, column])[:5])
        raise InputDataError(Problem(
            name, f"not a {'whole ' if whole else ''}number: {sample} (expected "
            f"{'a count' if whole else 'a number'}{' or an empty cell' if allow_blank else ''})",
            column=display or column, rows=rows, dataset=dataset))
    return values


def _validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, name: str, dataset: str,
              rows: np.ndarray | None = None) -> pd.DataFrame:
    """Validate with pandera; turn failures into problems naming the spreadsheet rows."""
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems = []
        cases = exc.failure_cases
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            index = group["index"].dropna()
            positions = index.astype(int).to_numpy() if len(index) else np.array([], int)
            spreadsheet = (rows[positions] if rows is not None else positions + 2) if len(positions) else ()
            values = ", ".join(repr(v) for v in pd.unique(group["failure_case"].astype(str))[:5])
            problems.append(Problem(
                name, f"{check}: {values}", column=None if pd.isna(column) else str(column),
                rows=tuple(int(r) for r in spreadsheet[:50]), dataset=dataset))
        raise InputDataError(problems) from None


def _code_column(**kw) -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(_GSS, error="expected a GSS area code such as E06000001"), **kw)


def _count_column(nullable: bool = False) -> pa.Column:
    return pa.Column(float if nullable else "int64", pa.Check.ge(0, error="expected a count of 0 or more"),
                     nullable=nullable)


# ============================================================================================
# Census 2021
# ============================================================================================
_AGE_LABEL = re.compile(r"^(?:age:\s*)?aged\s+(\d+)\s+years?(?:\s+and\s+over)?$|^(?:age:\s*)?aged\s+under\s+1\s+year$",
                        re.IGNORECASE)


def _age_from_label(label: str) -> int | None:
    text = str(label).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d+\+", text):
        return int(text[:-1])
    match = _AGE_LABEL.match(text)
    if match:
        return int(match.group(1)) if match.group(1) else 0
    return None


def _drop_repeats(frame: pd.DataFrame, key: list[str], value: str, name: str, dataset: str,
                  column: str) -> pd.DataFrame:
    """One row per key. An authority that is both upper and lower tier (a London borough)
    appears twice with the same counts: kept once. The same key with different counts is
    an error naming the rows (``frame['_row']``), not a silent choice of one."""
    repeated = frame.duplicated(key, keep=False)
    if repeated.any():
        counts = frame.loc[repeated, value].astype(str).str.replace(",", "", regex=False).str.strip()
        differ = counts.groupby([frame.loc[repeated, k] for k in key]).transform("nunique") > 1
        if differ.any():
            rows = frame.loc[differ[differ].index, "_row"]
            first = frame.loc[differ[differ].index[0], key]
            raise InputDataError(Problem(
                name, f"{' '.join(str(v) for v in first)} appears more than once with different counts (expected "
                "one count per area and age)", column=column, rows=tuple(int(r) for r in rows[:50]), dataset=dataset))
    return frame.drop_duplicates(key).reset_index(drop=True)


def read_census_age(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Census 2021 TS007 usual residents by single year of age.

    Layouts: the long re-publication (``area_code, area_name, geography_level, age,
    usual_residents``; ``age`` = 0..99, ``100+`` or ``Total``) or the Nomis bulk download
    (``census2021-ts007-ltla.csv``: ``geography``, ``geography code``, ``Age: Total``,
    ``Age: Aged under 1 year``, ``Age: Aged 1 year`` …).

    Returns ``area_code, area_name, level, age`` (0..90, 90 = 90 and over) and
    ``population``, plus a ``total`` frame in ``attrs['totals']`` (the published totals).
    """
    dataset = "public_data.census_age"
    frame, name = _read(path, dataset, root)
    norm = {_norm(c) for c in frame.columns}
    if "geography_code" in norm and any(c.lower().startswith("age:") for c in frame.columns):
        cols = _columns(frame, name, dataset, {"area_code": ("geography code",), "area_name": ("geography",)},
                        "Nomis TS007 bulk")
        ages = {c: _age_from_label(c) for c in frame.columns if c.lower().startswith("age:")}
        total_col = next((c for c in ages if "total" in c.lower()), None)
        single = {c: a for c, a in ages.items() if a is not None and not re.search(r"\bto\b", c)}
        frame["_row"] = np.arange(len(frame)) + 2  # spreadsheet rows, for messages
        long = frame.melt(id_vars=[cols["area_code"], cols["area_name"], "_row"], value_vars=list(single),
                          var_name="label", value_name="value")
        long["age"] = long["label"].map(single)
        long = long.rename(columns={cols["area_code"]: "area_code", cols["area_name"]: "area_name"})
        long["area_code"] = long["area_code"].str.strip()  # before grouping: ' E92000001' is E92000001
        long = _drop_repeats(long, ["area_code", "label"], "value", name, dataset, "Age: …")
        long["population"] = _numbers(long, "value", name, dataset, display="Age: …", rows=long["_row"].to_numpy())
        totals = frame[[cols["area_code"], "_row"]].rename(columns={cols["area_code"]: "area_code"})
        totals["area_code"] = totals["area_code"].str.strip()
        totals["total"] = _numbers(frame, total_col, name, dataset) if total_col else np.nan
        total_label = total_col
    else:
        cols = _columns(frame, name, dataset, {
            "area_code": ("geography_code", "code"), "area_name": ("geography", "name"),
            "age": ("single_year_of_age",), "population": ("usual_residents", "observation", "count")},
            "TS007 long (area_code, age, usual_residents)")
        long = frame.rename(columns={v: k for k, v in cols.items()})
        long["_row"] = np.arange(len(long)) + 2  # spreadsheet rows, for messages
        long["area_code"] = long["area_code"].str.strip()  # before grouping: ' E92000001' is E92000001
        long = _drop_repeats(long, ["area_code", "age"], "population", name, dataset, cols["population"])
        is_total = long["age"].str.strip().str.lower().isin(["total", "all ages", "all"])
        totals = long.loc[is_total, ["area_code", "_row"]].copy()
        totals["total"] = _numbers(long.loc[is_total].reset_index(drop=True), "population", name, dataset,
                                   display=cols["population"], rows=totals["_row"].to_numpy()).to_numpy()
        total_label = cols["population"]
        long = long.loc[~is_total].reset_index(drop=True)
        long["age"] = long["age"].map(_age_from_label)
        bad = long["age"].isna()
        if bad.any():
            rows = tuple(int(r) for r in long.loc[bad, "_row"].to_numpy()[:20])
            raise InputDataError(Problem(name, f"unreadable age {pd.unique(long.loc[bad, 'age'])[:5]!r} "
                                         "(expected 0..99, '100+' or 'Total')", column=cols["age"], rows=rows,
                                         dataset=dataset))
        long["population"] = _numbers(long, "population", name, dataset, display=cols["population"],
                                      rows=long["_row"].to_numpy())
    long["age"] = np.minimum(long["age"].astype(int), 90)
    out = (long.groupby(["area_code", "area_name", "age"], as_index=False, sort=False)
           .agg(population=("population", "sum"), _row=("_row", "first")))
    out["area_code"] = out["area_code"].str.strip()
    out["area_name"] = out["area_name"].map(clean_area_name)
    out["level"] = out["area_code"].map(area_level)
    out["population"] = out["population"].astype("int64")
    out = out.drop_duplicates(["area_code", "age"]).reset_index(drop=True)
    schema = pa.DataFrameSchema({
        "area_code": _code_column(), "area_name": pa.Column(str), "level": pa.Column(str),
        "age": pa.Column(int, pa.Check.in_range(0, 90)), "population": _count_column()}, strict=True)
    out = _validate(out[["area_code", "area_name", "level", "age", "population"]], schema, name, dataset,
                    rows=out["_row"].to_numpy())
    totals = totals.drop_duplicates("area_code")
    sums = out.groupby("area_code")["population"].sum()
    check = totals.dropna().set_index("area_code")["total"]
    differ = check[(check - sums.reindex(check.index)).abs() > 0.5]
    if len(differ):
        rows = totals.set_index("area_code").loc[differ.index, "_row"]
        raise InputDataError(Problem(name, f"single years of age do not add up to the published total for "
                                     f"{', '.join(differ.index[:5])} (expected them to be equal)",
                                     column=total_label, rows=tuple(int(r) for r in rows[:50]), dataset=dataset))
    out.attrs["totals"] = {k: int(v) for k, v in check.items()}
    return out


def read_census_sex(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Census 2021 TS009 usual residents by sex (totals): ``area_code, area_name, level,
    total, female, male, basis`` (``basis``: published, or derived sum)."""
    dataset = "public_data.census_sex"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {
        "area_code": ("geography_code",), "area_name": ("geography",),
        "total": ("total_population", "sex_all_persons_age_total"),
        "female": ("total_females", "sex_female_age_total"), "male": ("total_males", "sex_male_age_total")},
        "TS009 sex totals")
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    for col in ("total", "female", "male"):
        out[col] = _numbers(out, col, name, dataset, display=cols[col]).astype("int64")
    out["area_name"] = out["area_name"].map(clean_area_name)
    out["level"] = out["area_code"].map(area_level)
    basis = next((c for c in frame.columns if _norm(c) == "figure_basis"), None)
    out["basis"] = frame[basis] if basis else "published"
    schema = pa.DataFrameSchema({
        "area_code": _code_column(unique=True), "area_name": pa.Column(str), "total": _count_column(),
        "female": _count_column(), "male": _count_column(), "level": pa.Column(str), "basis": pa.Column(str)},
        checks=[pa.Check(lambda d: (d["female"] + d["male"]) == d["total"],
                         error="female + male does not equal the total")])
    return _validate(out, schema, name, dataset)


def _cross_tab(path: Path, dataset: str, root, dims: Mapping[str, Sequence[str]], layout: str) -> tuple[pd.DataFrame, str]:
    frame, name = _read(path, dataset, root)
    wanted = {"area_code": ("geography_code",), "area_name": ("geography",), **dims,
              "count": ("observation", "observations", "value")}
    cols = _columns(frame, name, dataset, wanted, layout)
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    out["count"] = _numbers(out, "count", name, dataset, display=cols["count"]).astype("int64")
    out["area_name"] = out["area_name"].map(clean_area_name)
    out["level"] = out["area_code"].map(area_level)
    basis = next((c for c in frame.columns if _norm(c) == "figure_basis"), None)
    out["basis"] = frame[basis].to_numpy() if basis else "published"
    schema = pa.DataFrameSchema({"area_code": _code_column(), "count": _count_column()})
    return _validate(out, schema, name, dataset), name


def read_sex_age_16plus(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Residents aged 16+ by sex and 8 age bands per area, from Census 2021 RM122 (summed
    over sexual orientation): ``area_code, sex, age_lower, age_upper, count``."""
    frame, name = _cross_tab(path, "public_data.census_sex_age_16plus", root, {
        "sex": (), "age_band": ("age_band_8cat", "age_8_categories", "age")}, "RM122 (sex x age band)")
    frame["sex"] = frame["sex"].str.lower()
    bounds = frame["age_band"].str.extract(r"(?i)aged (\d+) (?:to (\d+) )?years(?: and (over|under))?")
    lower = pd.to_numeric(bounds[0], errors="coerce")
    upper = pd.to_numeric(bounds[1], errors="coerce")
    under = bounds[2].str.lower() == "under"
    over = bounds[2].str.lower() == "over"
    frame["age_lower"] = np.where(under, 0, lower)
    frame["age_upper"] = np.where(under, lower, np.where(over, 90, upper))
    frame = frame.loc[frame["sex"].isin(["male", "female"]) & frame["age_lower"].notna()]
    out = (frame.groupby(["area_code", "sex", "age_lower", "age_upper"], as_index=False)["count"].sum())
    out[["age_lower", "age_upper"]] = out[["age_lower", "age_upper"]].astype(int)
    return out


#: Census category wording -> canonical code, per characteristic.
CENSUS_CATEGORIES: dict[str, dict[str, str | None]] = {
    "ethnicity": {
        "asian, asian british or asian welsh": "asian",
        "black, black british, black welsh, caribbean or african": "black",
        "mixed or multiple ethnic groups": "mixed",
        "white": "white",
        "other ethnic group": "other",
    },
    "religion": {
        "no religion": "no_religion", "christian": "christian", "buddhist": "buddhist",
        "hindu": "hindu", "jewish": "jewish", "muslim": "muslim", "sikh": "sikh",
        "other religion": "other", "not answered": "not_stated",
    },
    "disability": {
        "disabled under the equality act": "yes",
        "not disabled under the equality act": "no",
    },
    "sexual_orientation": {
        "straight or heterosexual": "heterosexual", "gay or lesbian": "gay_or_lesbian",
        "bisexual": "bisexual", "pansexual": "other", "asexual": "other", "queer": "other",
        "all other sexual orientations": "other", "not answered": "not_stated",
        "does not apply": None,
    },
    "gender_identity_same_as_sex": {
        "gender identity the same as sex registered at birth": "yes",
        "gender identity different from sex registered at birth": "no",
        "gender identity different from sex registered at birth but no specific identity given": "no",
        "trans woman": "no", "trans man": "no", "non-binary": "no", "all other gender identities": "no",
        "not answered": "not_stated", "does not apply": None,
    },
    "marital_status": {
        "never married and never registered a civil partnership": "never_married",
        "married": "married_or_civil_partnership",
        "in a registered civil partnership": "married_or_civil_partnership",
        "married or in a registered civil partnership": "married_or_civil_partnership",
        "separated, but still legally married or still legally in a civil partnership": "separated",
        "divorced or formerly in a civil partnership which is now legally dissolved": "divorced_or_dissolved",
        "widowed or surviving partner from a civil partnership": "widowed",
        "does not apply": None,
    },
}


def _map_categories(frame: pd.DataFrame, column: str, characteristic: str, name: str, dataset: str,
                    rows: np.ndarray | None = None) -> pd.Series:
    """Census wording -> codes; ``rows`` as for :func:`_numbers`."""
    mapping = CENSUS_CATEGORIES[characteristic]
    key = frame[column].astype(str).str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    unknown = ~key.isin(list(mapping))
    if unknown.any():
        where = np.flatnonzero(unknown.to_numpy())[:20]
        rows = tuple(int(r) for r in (rows[where] if rows is not None else where + 2))
        raise InputDataError(Problem(
            name, f"unknown {characteristic} category {pd.unique(frame.loc[unknown, column])[:5].tolist()!r} "
            f"(expected Census 2021 wording, e.g. {next(iter(mapping))!r})", column=column, rows=rows,
            dataset=dataset))
    return key.map(mapping)


def read_small_area_table(path: Path, characteristic: str, *, root: Path | None = None,
                          dataset: str | None = None) -> pd.DataFrame:
    """A Census 2021 topic by LSOA 2021 (TS021 ethnic group, TS030 religion, TS038
    disability): ``small_area_code, district_code, category`` (canonical code),
    ``count``, ``total_residents`` (the published table total of the LSOA)."""
    dataset = dataset or f"public_data.{characteristic}"
    frame, name = _read(path, dataset, root)
    if "geography_code" in {_norm(c) for c in frame.columns} and "category" not in {_norm(c) for c in frame.columns}:
        frame = _nomis_wide_topic(frame, name, dataset)
    cols = _columns(frame, name, dataset, {
        "small_area_code": ("lsoa21_code", "lsoa21cd", "geography_code", "lsoa_code"),
        "district_code": ("ltla24_code", "lad24cd", "ltla_code", "lad_code"),
        "total_residents": ("total",), "category": (), "count": ("observation",)},
        "LSOA topic (lsoa21_code, category, count)")
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    out["count"] = _numbers(out, "count", name, dataset, display=cols["count"]).astype("int64")
    out["total_residents"] = _numbers(out, "total_residents", name, dataset,
                                      display=cols["total_residents"]).astype("int64")
    out["category"] = _map_categories(out, "category", characteristic, name, dataset)
    out = out.dropna(subset=["category"])
    schema = pa.DataFrameSchema({"small_area_code": _code_column(), "district_code": _code_column(),
                                 "count": _count_column(), "total_residents": _count_column()})
    out = _validate(out.reset_index(drop=True), schema, name, dataset)
    out = out.groupby(["small_area_code", "district_code", "category"], as_index=False, sort=False).agg(
        count=("count", "sum"), total_residents=("total_residents", "first"))
    return out


def _nomis_wide_topic(frame: pd.DataFrame, name: str, dataset: str) -> pd.DataFrame:
    """Nomis bulk layout (``geography code``, ``<Topic>: Total: All usual residents``,
    ``<Topic>: <category>``, ``<Topic>: <category>: <sub-category>`` …) -> long rows of the
    top-level categories with the table total."""
    code_col = next(c for c in frame.columns if _norm(c) == "geography_code")
    topic_cols = [c for c in frame.columns if ": " in c]
    total = next((c for c in topic_cols if c.split(": ", 1)[1].lower().startswith("total")), None)
    if total is None:
        raise InputDataError(Problem(name, "no '…: Total: All usual residents' column (expected the Nomis "
                                     "bulk layout of a Census 2021 table)", rows=(1,), dataset=dataset))
    top = [c for c in topic_cols if c != total and ": " not in c.split(": ", 1)[1]]
    long = frame.melt(id_vars=[code_col, total], value_vars=top, var_name="column", value_name="count")
    return pd.DataFrame({
        "small_area_code": long[code_col], "district_code": "E00000000",
        "total_residents": long[total], "category": long["column"].str.split(": ", n=1).str[1],
        "count": long["count"]})


def read_characteristic_comparators(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Religion, disability and ethnic group totals for LAs, regions and England:
    ``area_code, area_name, level, characteristic, category, count, basis``."""
    dataset = "public_data.characteristics_comparators"
    frame, name = _cross_tab(path, dataset, root, {"topic": (), "category": ()},
                             "LA topic totals (area_code, topic, category, count)")
    topic = frame["topic"].str.lower()
    frame["characteristic"] = np.select(
        [topic.str.startswith("religion"), topic.str.startswith("disability"), topic.str.startswith("ethnic")],
        ["religion", "disability", "ethnicity"], default="")
    parts = []
    for characteristic, part in frame.groupby("characteristic"):
        if not characteristic:
            continue
        part = part.copy()
        # the frame's index is the file's row order: spreadsheet row = index + 2
        part["category"] = _map_categories(part.reset_index(drop=True), "category", characteristic, name,
                                           dataset, rows=part.index.to_numpy() + 2).to_numpy()
        parts.append(part)
    if not parts:
        raise InputDataError(Problem(name, "no religion, disability or ethnic group rows (expected topics starting "
                                     "'religion', 'disability' or 'ethnic')", column="topic", rows=(2,), dataset=dataset))
    out = pd.concat(parts, ignore_index=True).dropna(subset=["category"])
    return out.groupby(["area_code", "area_name", "level", "characteristic", "category", "basis"],
                       as_index=False)["count"].sum()


def read_sexual_orientation(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Sexual orientation (residents 16+), LA / region / England, mapped to the treatment
    codes (pansexual, asexual, queer and all other orientations -> ``other``)."""
    dataset = "public_data.sexual_orientation"
    frame, name = _cross_tab(path, dataset, root, {"category": ("sexual_orientation",)},
                             "sexual orientation (area_code, sexual_orientation, count)")
    frame["category"] = _map_categories(frame, "category", "sexual_orientation", name, dataset)
    frame["characteristic"] = "sexual_orientation"
    frame = frame.dropna(subset=["category"])
    return frame.groupby(["area_code", "area_name", "level", "characteristic", "category", "basis"],
                         as_index=False)["count"].sum()


def read_gender_identity(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Gender identity the same as sex registered at birth (yes / no / not_stated),
    residents 16+, from Census 2021 RM163 (summed over age and sex)."""
    dataset = "public_data.gender_identity"
    frame, name = _cross_tab(path, dataset, root, {"category": ("gender_identity_4cat", "gender_identity")},
                             "RM163 gender identity")
    frame["category"] = _map_categories(frame, "category", "gender_identity_same_as_sex", name, dataset)
    frame["characteristic"] = "gender_identity_same_as_sex"
    frame = frame.dropna(subset=["category"])
    return frame.groupby(["area_code", "area_name", "level", "characteristic", "category", "basis"],
                         as_index=False)["count"].sum()


def read_legal_partnership(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Legal partnership status (marriage and civil partnership), residents 16+, from
    Census 2021 RM127 (summed over sexual orientation)."""
    dataset = "public_data.legal_partnership"
    frame, name = _cross_tab(path, dataset, root, {
        "category": ("legal_partnership_status_7cat", "legal_partnership_status", "marital_status")},
        "RM127 legal partnership status")
    frame["category"] = _map_categories(frame, "category", "marital_status", name, dataset)
    frame["characteristic"] = "marital_status"
    frame = frame.dropna(subset=["category"])
    return frame.groupby(["area_code", "area_name", "level", "characteristic", "category", "basis"],
                         as_index=False)["count"].sum()


def read_lsoa11_to_lsoa21(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """ONS LSOA (2011) to LSOA (2021) lookup: ``lsoa11_code, lsoa21_code, change``."""
    dataset = "public_data.lsoa11_to_lsoa21"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {"lsoa11_code": ("LSOA11CD",), "lsoa21_code": ("LSOA21CD",),
                                           "change": ("CHGIND", "change_indicator")}, "ONS LSOA11 to LSOA21 lookup")
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    schema = pa.DataFrameSchema({"lsoa11_code": _code_column(), "lsoa21_code": _code_column(),
                                 "change": pa.Column(str, pa.Check.isin(["U", "S", "M", "X"]))})
    return _validate(out, schema, name, dataset)


# ============================================================================================
# Deaths (ONS) and admissions (NHS Digital)
# ============================================================================================
def read_deaths_by_la(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """ONS deaths related to drug poisoning by local authority, one column per registration
    year (``code, name, 2020, 2019, …, 1993``; the layout of ONS's local authority table).

    Returns long ``area_code, area_name, level, year, deaths`` for every area in the file
    (England and Wales, regions, counties, districts, unitary authorities, boroughs).
    """
    dataset = "public_data.drug_poisoning_deaths"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {"area_code": ("code", "area_codes", "area_code"),
                                           "area_name": ("name", "area_names", "area_name")},
                    "ONS deaths by local authority (code, name, one column per year)")
    years = [c for c in frame.columns if re.fullmatch(r"(19|20)\d{2}", c.strip())]
    if not years:
        raise InputDataError(Problem(name, "no registration-year columns (expected columns named 1993 … 2020)",
                                     rows=(1,), dataset=dataset))
    wide = frame[[cols["area_code"], cols["area_name"], *years]].rename(
        columns={cols["area_code"]: "area_code", cols["area_name"]: "area_name"})
    wide["area_code"] = wide["area_code"].str.strip()
    rows = np.arange(len(wide)) + 2
    long = wide.melt(id_vars=["area_code", "area_name"], var_name="year", value_name="value")
    long["row"] = np.tile(rows, len(years))
    long["deaths"] = _numbers(long, "value", name, dataset, display="year columns", allow_blank=True,
                              rows=long["row"].to_numpy()).astype(float)
    long["year"] = long["year"].astype(int)
    long["area_name"] = long["area_name"].map(clean_area_name)
    long["level"] = long["area_code"].map(area_level)
    out = long[["area_code", "area_name", "level", "year", "deaths"]]
    schema = pa.DataFrameSchema({"area_code": _code_column(), "year": pa.Column(int),
                                 "deaths": _count_column(nullable=True)},
                                unique=["area_code", "year"])
    out = _validate(out, schema, name, dataset, rows=long["row"].to_numpy())
    return out.sort_values(["area_code", "year"]).reset_index(drop=True)


def read_deaths_by_region(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """ONS deaths related to drug poisoning by region and substance: ``year, area_code,
    area_name, substance`` (``all_drug_poisonings`` / ``any_opiate``), ``deaths``."""
    dataset = "public_data.drug_poisoning_deaths_region"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {
        "year": ("Year of death registration", "year_of_registration"),
        "area_code": ("Usual residence code",), "area_name": ("Usual residence name",),
        "substance": (), "deaths": ()}, "ONS deaths by region and substance")
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    out["year"] = _numbers(out, "year", name, dataset, display=cols["year"]).astype(int)
    out["deaths"] = _numbers(out, "deaths", name, dataset, display=cols["deaths"]).astype("int64")
    out["substance"] = np.where(out["substance"].str.contains("all drug", case=False), "all_drug_poisonings",
                                np.where(out["substance"].str.contains("opiate", case=False), "any_opiate",
                                         out["substance"]))
    out["area_name"] = out["area_name"].map(clean_area_name)
    schema = pa.DataFrameSchema({"area_code": _code_column(), "deaths": _count_column()})
    return _validate(out, schema, name, dataset)


def read_deaths_3yr(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """ONS three-year registration totals by merged local area: ``period, start_year,
    end_year, location, area_code, measure`` (``drug_poisoning`` / ``drug_misuse``),
    ``deaths``."""
    dataset = "public_data.drug_deaths_3yr"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {
        "period": ("registration_period",), "end_year": ("period_end_year",),
        "location": ("merged_location",), "area_code": (), "measure": (), "deaths": ()},
        "three-year totals by merged area")
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    out["end_year"] = _numbers(out, "end_year", name, dataset).astype(int)
    out["start_year"] = out["end_year"] - 2
    out["deaths"] = _numbers(out, "deaths", name, dataset).astype("int64")
    measure = out["measure"].str.lower()
    out["measure"] = np.where(measure.str.contains("misuse"), "drug_misuse",
                              np.where(measure.str.contains("poisoning"), "drug_poisoning", measure))
    out["area_code"] = out["area_code"].replace("", np.nan)
    schema = pa.DataFrameSchema({"area_code": _code_column(nullable=True), "deaths": _count_column()})
    return _validate(out, schema, name, dataset)


def read_deaths_national(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """ONS England and Wales annual totals: ``year, drug_poisoning, drug_misuse, …``."""
    dataset = "public_data.drug_deaths_national"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {"year": (), "drug_poisoning": ()}, "England and Wales totals")
    out = frame.copy()
    for col in out.columns:
        out[col] = _numbers(out, col, name, dataset).astype("int64")
    out = _validate(out, pa.DataFrameSchema({c: _count_column() for c in out.columns}), name, dataset)
    return out.rename(columns={cols["year"]: "year", cols["drug_poisoning"]: "drug_poisoning"})


def read_admissions(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """NHS Digital drug-related hospital admissions: ``year`` (financial year start:
    2018 = 2018/19), ``financial_year, location_type, location, area_code, measure`` (code,
    see :data:`ADMISSION_MEASURES`), ``admissions`` (blank = suppressed or missing)."""
    dataset = "public_data.drug_admissions"
    frame, name = _read(path, dataset, root)
    cols = _columns(frame, name, dataset, {
        "financial_year": ("year",), "location_type": (), "location": ("area_name",), "area_code": (),
        "measure": (), "admissions": ("count", "value")}, "NHS Digital admissions (long)")
    out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
    start = out["financial_year"].str.extract(r"^((?:19|20)\d{2})")[0]
    if start.isna().any():
        rows = tuple(int(i) + 2 for i in np.flatnonzero(start.isna().to_numpy())[:20])
        raise InputDataError(Problem(name, "unreadable financial year (expected e.g. 2018/19)",
                                     column=cols["financial_year"], rows=rows, dataset=dataset))
    out["year"] = start.astype(int)
    out["admissions"] = _numbers(out, "admissions", name, dataset, display=cols["admissions"], allow_blank=True).astype(float)
    unknown = ~out["measure"].isin(list(ADMISSION_MEASURES))
    if unknown.any():
        rows = tuple(int(i) + 2 for i in np.flatnonzero(unknown.to_numpy())[:20])
        raise InputDataError(Problem(name, f"unknown measure {pd.unique(out.loc[unknown, 'measure'])[:3].tolist()!r} "
                                     f"(expected one of: {'; '.join(ADMISSION_MEASURES)})",
                                     column=cols["measure"], rows=rows, dataset=dataset))
    out["measure"] = out["measure"].map(ADMISSION_MEASURES)
    regional = out["area_code"].eq("") & out["location"].str.lower().isin(list(REGION_CODES))
    out.loc[regional, "area_code"] = out.loc[regional, "location"].str.lower().map(REGION_CODES)
    out["area_code"] = out["area_code"].replace("", np.nan)
    schema = pa.DataFrameSchema({"area_code": _code_column(nullable=True), "admissions": _count_column(nullable=True)})
    out = _validate(out, schema, name, dataset)
    return out[["year", "financial_year", "location_type", "location", "area_code", "measure", "admissions"]]


def read_la_population_series(path: Path, *, root: Path | None = None) -> pd.DataFrame:
    """Mid-year population by area and year: long (``area_code, year, population``) or
    wide (``Code, Name[, Geography], Mid-2020, Mid-2019, …`` as in ONS MYE4; or year
    columns ``2020, 2019 …``). Returns ``area_code, year, population``."""
    dataset = "public_data.la_population_series"
    frame, name = _read(path, dataset, root)
    norm = {_norm(c): c for c in frame.columns}
    if "year" in norm:
        cols = _columns(frame, name, dataset, {"area_code": ("code", "geography_code"),
                                               "year": (), "population": ("value", "count")},
                        "long population series")
        out = pd.DataFrame({k: frame[v].str.strip() for k, v in cols.items()})
        out["year"] = _numbers(out, "year", name, dataset).astype(int)
        out["population"] = _numbers(out, "population", name, dataset).astype("int64")
    else:
        cols = _columns(frame, name, dataset, {"area_code": ("code", "geography_code")}, "wide population series")
        years = {c: int(re.search(r"((?:19|20)\d{2})", c).group(1)) for c in frame.columns
                 if re.fullmatch(r"(?:mid[-_ ]?)?(?:19|20)\d{2}", c.strip(), flags=re.IGNORECASE)}
        if not years:
            raise InputDataError(Problem(name, "no year columns (expected Mid-2020, Mid-2019 … or 2020, 2019 …)",
                                         rows=(1,), dataset=dataset))
        long = frame[[cols["area_code"], *years]].melt(id_vars=cols["area_code"], var_name="col", value_name="value")
        long["area_code"] = long[cols["area_code"]].str.strip()
        long["year"] = long["col"].map(years)
        long["population"] = _numbers(long, "value", name, dataset, display="year columns", allow_blank=True)
        out = long.dropna(subset=["population"])[["area_code", "year", "population"]]
        out["population"] = out["population"].astype("int64")
    schema = pa.DataFrameSchema({"area_code": _code_column(), "year": pa.Column(int),
                                 "population": pa.Column("int64", pa.Check.gt(0, error="expected a population above 0"))},
                                unique=["area_code", "year"])
    return _validate(out.reset_index(drop=True), schema, name, dataset)
