"""Loaders: read the layouts analysts already have, map them to the canonical contract, validate.

Every loader

* opens its input read-only and never writes to it;
* reads CSV (UTF-8, with or without a byte-order mark) and, for tables, Excel ``.xlsx``
  (the first sheet whose header row it recognises; the header may sit below title rows);
* maps source column names to canonical ones (case, spaces and punctuation ignored; the
  ONS/MHCLG/NDTMS/police.uk/Fingertips names listed in ``data/README.md`` are recognised);
* normalises codes (labels and common aliases accepted, see :mod:`.codes`);
* validates against the pandera schema of :mod:`.schemas`; and
* raises one :class:`~.errors.InputDataError` listing every problem in the file, each naming
  the file, the column, the spreadsheet row numbers (header = row 1) and what was expected.

Source columns the contract does not use are dropped. The returned frames have a fresh
``RangeIndex`` and exactly the canonical columns.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import functools
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import codes as C
from . import schemas as schemas_mod
from .errors import InputDataError, Problem, problems_from_schema_errors
from .schemas import (
    CROSS_CHECK_INPUTS,
    CROSS_CHECKS,
    admissions_schema,
    boundaries_schema,
    comparators_schema,
    crime_schema,
    deaths_schema,
    geography_schema,
    linkable_list_schema,
    population_schema,
    population_source_schema,
    prison_releases_schema,
    services_schema,
    treatment_episodes_schema,
)

__all__ = [
    "POLICE_UK_COLUMNS",
    "check_frame",
    "load_admissions",
    "load_characteristics",
    "load_boundaries",
    "load_comparators",
    "load_crime",
    "load_deaths",
    "load_geography",
    "load_linkable_list",
    "load_population",
    "load_prison_releases",
    "load_services",
    "load_treatment_episodes",
]

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

_TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}

PathLike = str | Path


# ============================================================================================
# Provenance: which file and spreadsheet row every loaded row came from
# ============================================================================================
@dataclass
class _Prov:
    """Maps a positional row index to (file, spreadsheet row).

    ``stride`` > 1 when one source row became ``stride`` canonical rows (wide -> long).
    """

    sources: list[str]
    src: np.ndarray
    row: np.ndarray
    stride: int = 1
    unit: str = "row"

    def locate(self, positions: Iterable[int]) -> list[tuple[str, tuple[int, ...]]]:
        pos = np.asarray(list(positions) if not isinstance(positions, np.ndarray) else positions, dtype=np.int64)
        if pos.size == 0:
            return []
        pos = pos // self.stride
        src = self.src[pos]
        rows = self.row[pos]
        out = []
        for s in np.unique(src):
            out.append((self.sources[int(s)], tuple(sorted(set(rows[src == s].tolist())))))
        return out

    @property
    def file(self) -> str:
        return self.sources[0] if len(self.sources) == 1 else ", ".join(self.sources[:3])

    @classmethod
    def concat(cls, provs: Sequence[_Prov]) -> _Prov:
        sources: list[str] = []
        srcs, rows = [], []
        for p in provs:
            offset = len(sources)
            sources.extend(p.sources)
            srcs.append(p.src + offset)
            rows.append(p.row)
        return cls(
            sources,
            np.concatenate(srcs) if srcs else np.zeros(0, np.int32),
            np.concatenate(rows) if rows else np.zeros(0, np.int64),
        )


@dataclass
class _Table:
    """A source table with provenance. Text columns are categorical (read that way to save
    memory and time); every check works on distinct values via :meth:`factor`."""

    df: pd.DataFrame
    prov: _Prov
    header_row: int = 1
    path: Path | None = None
    _factors: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.prov.sources[0]

    def factor(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)``: row codes into the stripped distinct values of ``col``.

        ``values`` has one extra trailing ``''`` so that code -1 (a missing cell) reads as empty.
        """
        hit = self._factors.get(col)
        if hit is None:
            series = self.df[col]
            if isinstance(series.dtype, pd.CategoricalDtype):
                codes = series.cat.codes.to_numpy()
                cats = series.cat.categories.to_numpy(dtype=object)
            else:
                codes, cats = pd.factorize(series, use_na_sentinel=True)
                cats = np.asarray(cats, dtype=object)
            values = np.empty(len(cats) + 1, dtype=object)
            values[:-1] = [v.strip() if isinstance(v, str) else str(v).strip() for v in cats]
            values[-1] = ""
            hit = (codes, values)
            self._factors[col] = hit
        return hit

    def set_column(self, col: str, values) -> None:
        self.df[col] = values
        self._factors.pop(col, None)

    def text(self, col: str) -> pd.Series:
        """The stripped text of a column as a plain object Series (for small tables)."""
        codes, values = self.factor(col)
        return pd.Series(values[codes], index=self.df.index, dtype=object)

    def keep_rows(self, mask: np.ndarray) -> None:
        self.df = self.df.loc[mask].reset_index(drop=True)
        self.prov = _Prov(self.prov.sources, self.prov.src[mask], self.prov.row[mask], unit=self.prov.unit)
        self._factors = {c: (codes[mask], values) for c, (codes, values) in self._factors.items()}


class _Collector:
    """Collects the problems of one dataset (possibly spanning several files)."""

    def __init__(self, dataset: str):
        self.dataset = dataset
        self.problems: list[Problem] = []
        self.skip: set[tuple[str, int]] = set()
        self.skip_rows: set[int] = set()

    def add(self, file: str, message: str, column: str | None = None, rows: Iterable[int] = (), unit: str = "row"):
        self.problems.append(
            Problem(file, message, column=column, rows=tuple(rows), unit=unit, dataset=self.dataset)
        )

    def add_at(self, prov: _Prov, positions, message: str, column: str | None, key: str | None = None):
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size == 0:
            return
        if key is not None:
            self.skip.update((key, int(p)) for p in positions)
        self.skip_rows.update(int(p) for p in positions)
        for fname, rows in prov.locate(positions):
            self.add(fname, message, column=column, rows=rows, unit=prov.unit)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputDataError(self.problems)


def _display_name(path: Path, root: PathLike | None) -> str:
    if root is not None:
        try:
            return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return Path(path).name


def _norm_header(name: object) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _quote(values: Iterable, limit: int = 5) -> str:
    values = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(v) for v in values[:limit])
    if len(values) > limit:
        shown += f" and {len(values) - limit} other values"
    return shown


# ============================================================================================
# Reading
# ============================================================================================
def _check_exists(path: Path, name: str, dataset: str) -> None:
    if not path.exists():
        raise InputDataError(Problem(name, f"file not found: {path}", dataset=dataset))


def _decode(path: Path, name: str, dataset: str) -> bytes:
    """The bytes of a UTF-8 text file (a BOM is allowed and dropped); clear errors otherwise."""
    with open(path, "rb") as handle:  # read-only
        data = handle.read()
    offset = 0
    if data.startswith(codecs.BOM_UTF8):
        data, offset = data[3:], 3
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputDataError(
            Problem(
                name,
                "the file is UTF-16 text (expected UTF-8): save it as 'CSV UTF-8 (Comma delimited)'",
                rows=(1,),
                unit="line",
                dataset=dataset,
            )
        )
    if not data.strip():
        raise InputDataError(
            Problem(
                name,
                "the file is empty (expected a header row naming the columns, then one row per record)",
                rows=(1,),
                dataset=dataset,
            )
        )
    try:
        data.decode("utf-8")  # validation only; the CSV parser reads the bytes
        return data
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
        guess = ""
        try:
            data[max(0, exc.start - 20) : exc.start + 20].decode("cp1252")
            guess = " (it looks like Windows-1252, Excel's default 'CSV' encoding)"
        except UnicodeDecodeError:
            pass
        raise InputDataError(
            Problem(
                name,
                f"not UTF-8 text: byte 0x{bad:02X} at byte offset {exc.start + offset} (line {line}) "
                f"cannot be read as UTF-8{guess}; expected UTF-8: save the file as UTF-8 "
                "(in Excel: Save As > 'CSV UTF-8 (Comma delimited)')",
                rows=(line,),
                unit="line",
                dataset=dataset,
            )
        ) from None


def _peek_header(path: Path) -> list[str]:
    """Column names of a CSV from its first line (no full read, no validation)."""
    import csv

    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    return [c.strip() for c in next(csv.reader([first]), [])]


def _read_csv(
    path: Path,
    name: str,
    dataset: str,
    *,
    numeric: Callable[[str], bool] | None = None,
    usecols: Callable[[str], bool] | None = None,
    plain: Callable[[str], bool] | None = None,
) -> _Table:
    """Read a CSV; text columns become categorical (``plain`` ones, e.g. unique ids, stay
    object), ``numeric`` ones float64 (falling back to text when a cell is not a number)."""
    data = _decode(path, name, dataset)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    dtype: object = "category"
    if numeric is not None or plain is not None:
        first = data[: data.find(b"\n") + 1 if b"\n" in data else len(data)]
        header = pd.read_csv(io.BytesIO(first), nrows=0, sep=sep, encoding="utf-8").columns
        dtype = {
            c: ("float64" if numeric is not None and numeric(str(c)) else
                object if plain is not None and plain(str(c)) else "category")
            for c in header
        }
    try:
        df = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            sep=sep,
            dtype=dtype,
            keep_default_na=False,
            na_values=[""] if numeric is not None else None,
            na_filter=numeric is not None,
            skip_blank_lines=False,
            usecols=usecols,
        )
    except ValueError as exc:
        if numeric is not None and not isinstance(exc, pd.errors.ParserError):
            # a non-number somewhere: read as text to find it
            return _read_csv(path, name, dataset, usecols=usecols, plain=plain)
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            want, line, saw = (int(g) for g in match.groups())
            msg = (
                f"row {line} has {saw} fields but the header has {want} "
                "(expected one value per column: check for unquoted commas)"
            )
            raise InputDataError(Problem(name, msg, rows=(line,), dataset=dataset)) from None
        raise InputDataError(
            Problem(name, f"cannot be read as CSV: {exc}", rows=(1,), dataset=dataset)
        ) from None
    del data
    return _finish_table(df, path, name, header_row=1)


def _finish_table(df: pd.DataFrame, path: Path, name: str, header_row: int) -> _Table:
    df.columns = [str(c).strip() for c in df.columns]
    rows = np.arange(len(df), dtype=np.int64) + header_row + 1
    prov = _Prov([name], np.zeros(len(df), np.int32), rows)
    table = _Table(df, prov, header_row=header_row, path=path)
    blank = np.ones(len(df), dtype=bool)
    # cheap (categorical, numeric) columns first: one with no blank cell ends the search
    order = sorted(df.columns, key=lambda c: df[c].dtype == object)
    for col in order:
        if df[col].dtype == "float64":
            blank &= df[col].isna().to_numpy()
        else:
            codes, values = table.factor(col)
            blank &= (values == "")[codes]
        if not blank.any():
            break
    if blank.any():
        table.keep_rows(~blank)
    return table


def _read_excel(path: Path, name: str, dataset: str, is_header: Callable[[list[str]], bool]) -> _Table:
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a file problem
        raise InputDataError(
            Problem(name, f"cannot be read as an Excel workbook: {exc}", rows=(1,), dataset=dataset)
        ) from None
    for sheet, raw in sheets.items():
        raw = raw.astype(object).where(raw.notna(), "")
        for i in range(min(len(raw), 30)):
            values = [str(v).strip() for v in raw.iloc[i].tolist()]
            if is_header(values):
                body = raw.iloc[i + 1 :].copy()
                body.columns = values
                body = body.loc[:, [c != "" for c in values]]
                label = f"{name} (sheet '{sheet}')" if len(sheets) > 1 else name
                return _finish_table(body.reset_index(drop=True), path, label, header_row=i + 1)
    raise InputDataError(
        Problem(
            name,
            "no sheet has a recognisable header row (expected the column names of this dataset "
            "within the first 30 rows of a sheet)",
            rows=(1,),
            dataset=dataset,
        )
    )


def _read_table(
    path: Path,
    name: str,
    dataset: str,
    specs: Sequence[_F] | None = None,
    *,
    numeric: Callable[[str], bool] | None = None,
    usecols: Callable[[str], bool] | None = None,
    plain: Callable[[str], bool] | None = None,
    allow_header_only: bool = False,
) -> _Table:
    _check_exists(path, name, dataset)
    if path.is_dir():
        raise InputDataError(
            Problem(name, "is a folder (expected a CSV or Excel file)", dataset=dataset)
        )
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        def is_header(values: list[str]) -> bool:
            if specs is None:
                return sum(bool(v) for v in values) >= 2
            found = _match_columns(values, specs)
            required = [s for s in specs if not s.optional]
            return sum(1 for s in required if s.name in found) >= max(1, len(required) // 2)

        table = _read_excel(path, name, dataset, is_header)
    elif suffix == ".xls":
        raise InputDataError(
            Problem(name, "old Excel .xls files are not read (expected .csv or .xlsx): save as .xlsx "
                    "or 'CSV UTF-8'", rows=(1,), dataset=dataset)
        )
    else:
        if plain is None and specs is not None:
            # free-text and id columns (mostly distinct values) are cheaper as plain text
            found = _match_columns(_peek_header(path), specs)
            text_cols = {found[s.name] for s in specs if s.kind == "str" and s.name in found}
            if text_cols:
                plain = lambda c: c.strip() in text_cols  # noqa: E731
        table = _read_csv(path, name, dataset, numeric=numeric, usecols=usecols, plain=plain)
    if len(table.df) == 0 and not allow_header_only:
        raise InputDataError(
            Problem(
                table.name,
                "no data rows below the header (expected at least one record)",
                rows=(table.header_row + 1,),
                dataset=dataset,
            )
        )
    return table


# ============================================================================================
# Column mapping and typed parsing
# ============================================================================================
@dataclass(frozen=True)
class _F:
    """How one canonical column is found in a source table and parsed."""

    name: str
    kind: str  # str | area | code | int | float | date | month | bool | age_band
    aliases: tuple[str, ...] = ()  # regexes over the normalised source header
    nullable: bool = False  # empty cells allowed
    optional: bool = False  # the column may be absent
    code: str | None = None  # codes field for kind == 'code'
    empty_as: str | None = None  # value for empty cells of a code column
    category: bool = False  # return a categorical column (large, repetitive data)
    raw: bool = False  # a nullable text id taken as is: no stripping, no per-value parsing


def _match_columns(headers: Sequence[str], specs: Sequence[_F]) -> dict[str, str]:
    normed = [(h, _norm_header(h)) for h in headers]
    used: set[str] = set()
    found: dict[str, str] = {}
    for spec in specs:
        for pattern in (re.escape(spec.name), *spec.aliases):
            hit = next(
                (h for h, n in normed if h not in used and n and re.fullmatch(pattern, n)), None
            )
            if hit is not None:
                found[spec.name] = hit
                used.add(hit)
                break
    return found


def _map_columns(table: _Table, specs: Sequence[_F], coll: _Collector) -> dict[str, str]:
    colmap = _match_columns(list(table.df.columns), specs)
    missing = [s.name for s in specs if not s.optional and s.name not in colmap]
    for name in missing:
        cols = ", ".join(repr(c) for c in table.df.columns[:25])
        coll.add(
            table.name,
            f"required column '{name}' is missing (columns found: {cols}); see data/README.md for "
            "the accepted column names",
            column=name,
            rows=(table.header_row,),
        )
    return colmap


class _Display:
    """Column label for messages: the source header, plus the canonical name if different."""

    def __init__(self, colmap: dict[str, str]):
        self.colmap = colmap

    def __call__(self, canonical: str) -> str:
        source = self.colmap.get(canonical)
        if source is None or source == canonical:
            return f"'{canonical}'"
        return f"'{source}' ({canonical})"


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
_DATE_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DATE_UK = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
_MONTH = re.compile(r"\d{4}-\d{2}")


def _report_values(coll: _Collector, prov: _Prov, label: str, key: str, codes: np.ndarray,
                   uniq: np.ndarray, bad_u: np.ndarray, template: str) -> None:
    """Report the rows holding any of the distinct values flagged in ``bad_u``."""
    if bad_u.any():
        pos = np.flatnonzero(bad_u[codes])
        if pos.size:
            coll.add_at(prov, pos, template.format(values=_quote(uniq[bad_u])), label, key)


def _object_series(values_u: np.ndarray, codes: np.ndarray, category: bool = False) -> pd.Series:
    """Broadcast per-distinct-value results to rows (as str, or categorical)."""
    if category:
        ucodes, cats = pd.factorize(values_u, use_na_sentinel=True)
        return pd.Series(pd.Categorical.from_codes(ucodes[codes], pd.Index(cats, dtype="str")))
    return pd.Series(values_u[codes], dtype="str")


def _parse(table: _Table, specs: Sequence[_F], colmap: dict[str, str], coll: _Collector,
           *, today: dt.date | None = None) -> pd.DataFrame:
    """Typed canonical frame; unparseable cells become missing and are reported.

    All parsing happens once per distinct value and is broadcast to rows, so a column of
    300,000 episodes with a few thousand distinct dates costs a few thousand parses.
    """
    prov = table.prov
    show = _Display(colmap)
    n = len(table.df)
    out: dict[str, pd.Series] = {}
    for spec in specs:
        source = colmap.get(spec.name)
        label = show(spec.name)
        if source is None:
            out[spec.name] = _absent(spec, n)
            continue
        if table.df[source].dtype == "float64":  # read numerically already
            out[spec.name] = _from_float(table.df[source], spec, label, prov, coll)
            continue
        if spec.raw:  # unique ids (e.g. police.uk Crime ID): taken as they are
            raw = table.df[source]
            values = raw.astype(object).where(raw.notna() & (raw != ""), None)
            out[spec.name] = pd.Series(values.to_numpy(), dtype="str")
            continue
        codes, uniq = table.factor(source)
        empty_u = uniq == ""

        report = functools.partial(_report_values, coll, prov, label, spec.name, codes, uniq)

        if spec.kind in ("str", "area"):
            values_u = uniq.copy()
            if spec.kind == "area":
                values_u = np.array([v.upper() for v in values_u], dtype=object)
            values_u[empty_u] = None
            out[spec.name] = _object_series(values_u, codes, spec.category)
        elif spec.kind in ("code", "age_band"):
            field_ = "age_band" if spec.kind == "age_band" else spec.code
            mapped_u = np.empty(len(uniq), dtype=object)
            for i, value in enumerate(uniq):
                if value:
                    try:
                        mapped_u[i] = C.normalise_code(value, field_)
                    except C.UnknownCodeError:
                        mapped_u[i] = None
            unknown_u = ~empty_u & np.array([m is None for m in mapped_u])
            report(unknown_u, "unknown code {values} (expected one of: " + C.expected_text(field_)
                   + "; labels such as those in data/README.md are also accepted)")
            if spec.empty_as is not None:
                mapped_u[empty_u] = spec.empty_as
                empty_u = np.zeros(len(uniq), dtype=bool)
            out[spec.name] = _object_series(mapped_u, codes, spec.category)
        elif spec.kind in ("int", "float"):
            cleaned = pd.Series([_THOUSANDS.sub("", v) for v in uniq], dtype=object)
            nums_u = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, copy=True)
            finite_u = np.isfinite(nums_u)
            kind = "a whole number" if spec.kind == "int" else "a number"
            report(~empty_u & ~finite_u, "not a number: {values} (expected " + kind + ")")
            if spec.kind == "int":
                with np.errstate(invalid="ignore"):
                    frac_u = finite_u & (nums_u != np.floor(nums_u))
                report(frac_u, "not a whole number: {values} (expected a whole number, e.g. 12)")
            nums_u[~finite_u] = np.nan
            out[spec.name] = _typed_number(pd.Series(nums_u[codes]), spec)
        elif spec.kind in ("date", "month"):
            out[spec.name] = _parse_dates(uniq, codes, empty_u, spec, report)
        elif spec.kind == "bool":
            mapped_u = np.full(len(uniq), None, dtype=object)
            for i, value in enumerate(uniq):
                if value:
                    with contextlib.suppress(ValueError):
                        mapped_u[i] = C.parse_bool(value)
            report(~empty_u & np.array([m is None for m in mapped_u]),
                   "not a yes/no value: {values} (expected yes/no, true/false, y/n or 1/0)")
            values = pd.Series(mapped_u[codes], dtype=object)
            out[spec.name] = values.astype("boolean") if spec.nullable else values.fillna(False).astype(bool)
        else:  # pragma: no cover
            raise AssertionError(spec.kind)
        if not spec.nullable and empty_u.any():
            expected = {
                "code": f"expected one of: {C.expected_text(spec.code)}" if spec.code else "",
                "age_band": f"expected one of: {C.expected_text('age_band')}",
                "date": "expected a date written YYYY-MM-DD",
                "month": "expected a month written YYYY-MM",
                "int": "expected a whole number",
                "float": "expected a number",
                "bool": "expected yes/no, true/false, y/n or 1/0",
            }.get(spec.kind, "a value is required")
            pos = np.flatnonzero(empty_u[codes])
            coll.add_at(prov, pos, f"missing value ({expected})", label, spec.name)
    frame = pd.DataFrame(out)
    frame.index = pd.RangeIndex(n)
    return frame


def _absent(spec: _F, n: int) -> pd.Series:
    if spec.kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    if spec.kind == "float":
        return pd.Series(np.full(n, np.nan))
    if spec.kind in ("date", "month"):
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"))
    if spec.kind == "bool":
        return pd.Series(pd.array([pd.NA] * n, dtype="boolean"))
    if spec.empty_as is not None:
        return pd.Series([spec.empty_as] * n, dtype="str")
    return pd.Series([pd.NA] * n, dtype="str")


def _typed_number(numbers: pd.Series, spec: _F) -> pd.Series:
    if spec.kind == "float":
        return numbers.astype("float64")
    if spec.nullable:
        return numbers.round().astype("Int64")
    return numbers.fillna(0).round().astype("int64")


def _from_float(raw: pd.Series, spec: _F, label: str, prov: _Prov, coll: _Collector) -> pd.Series:
    empty = raw.isna().to_numpy()
    if spec.kind == "int":
        frac = ~empty & (raw != np.floor(raw)).to_numpy()
        if frac.any():
            pos = np.flatnonzero(frac)
            coll.add_at(prov, pos, f"not a whole number: {_quote(raw.iloc[pos])} (expected a whole number)", label, spec.name)
    if empty.any() and not spec.nullable:
        coll.add_at(prov, np.flatnonzero(empty), "missing value (expected a number)", label, spec.name)
    return _typed_number(raw, spec)


def _parse_dates(uniq: np.ndarray, codes: np.ndarray, empty_u: np.ndarray, spec: _F, report) -> pd.Series:
    text = pd.Series(uniq, dtype=object)
    if spec.kind == "month":
        ok = np.array([bool(_MONTH.fullmatch(v)) for v in uniq])
        parsed = pd.to_datetime(text.where(ok) + "-01", format="%Y-%m-%d", errors="coerce")
        expected = "expected a month written YYYY-MM, e.g. 2023-04"
    else:
        iso = np.array([bool(_DATE_ISO.fullmatch(v)) for v in uniq])
        uk = np.array([bool(_DATE_UK.fullmatch(v)) for v in uniq])
        parsed = pd.to_datetime(text.where(iso).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        if uk.any():
            parsed = parsed.fillna(pd.to_datetime(text.where(uk), format="%d/%m/%Y", errors="coerce"))
        expected = "expected a real date written YYYY-MM-DD, e.g. 2023-02-28"
    parsed_u = parsed.to_numpy(dtype="datetime64[us]", copy=True)
    report(~empty_u & np.isnat(parsed_u), "impossible or unreadable date {values} (" + expected + ")")
    return pd.Series(parsed_u[codes])


def _validate(
    df: pd.DataFrame,
    schema: pa.DataFrameSchema,
    prov: _Prov,
    colmap: dict[str, str],
    coll: _Collector,
) -> None:
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        coll.problems.extend(
            problems_from_schema_errors(
                exc.failure_cases,
                locate=prov.locate,
                file=prov.file,
                display_column=_Display(colmap),
                cross_checks=CROSS_CHECKS,
                cross_inputs=CROSS_CHECK_INPUTS,
                unique_columns=schema.unique,
                skip=coll.skip,
                skip_rows=coll.skip_rows,
                dataset=coll.dataset,
                unit=prov.unit,
            )
        )


def check_frame(df: pd.DataFrame, dataset: str, *, file: str = "(in-memory frame)",
                today: dt.date | None = None) -> None:
    """Validate an already canonical frame against its schema; raise :class:`InputDataError`.

    For generated or derived frames (e.g. the synthetic generator's output before writing).
    Rows are numbered as if the frame were written to CSV: position + 2.
    """
    from .schemas import SCHEMAS

    factory = SCHEMAS[dataset]
    schema = factory(today) if dataset in ("treatment_episodes", "prison_releases", "linkable_list") else factory()
    frame = df.reset_index(drop=True)
    prov = _Prov([file], np.zeros(len(frame), np.int32), np.arange(len(frame), dtype=np.int64) + 2)
    coll = _Collector(dataset)
    missing = [c for c in schema.columns if c not in frame.columns]
    for col in missing:
        coll.add(file, f"required column '{col}' is missing", column=col, rows=(1,))
    coll.raise_if_any()
    _validate(frame[list(schema.columns)], schema, prov, {}, coll)
    coll.raise_if_any()


def _standard(
    path: PathLike,
    dataset: str,
    specs: Sequence[_F],
    schema: pa.DataFrameSchema,
    *,
    root: PathLike | None = None,
    today: dt.date | None = None,
    post: Callable[[pd.DataFrame, _Table, dict[str, str], _Collector], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, _Prov, dict[str, str]]:
    """Read, map, parse, (post-process), validate one table; raise on any problem."""
    path = Path(path)
    name = _display_name(path, root)
    table = _read_table(path, name, dataset, specs)
    coll = _Collector(dataset)
    colmap = _map_columns(table, specs, coll)
    coll.raise_if_any()
    df = _parse(table, specs, colmap, coll, today=today)
    if post is not None:
        df = post(df, table, colmap, coll)
    df = df[[c for c in schema.columns]]
    _validate(df, schema, table.prov, colmap, coll)
    coll.raise_if_any()
    return df, table.prov, colmap


# ============================================================================================
# Column aliases shared by several datasets
# ============================================================================================
_SMALL_AREA = (
    r"lsoa\d{2}cd",
    r"lsoa_?code(?:_\d{4})?",
    r"lsoa_\d{4}_code",
    r"lsoa\d{2}_code",
    r"lsoa",
    r"small_area",
    r"area_code",
)
_SMALL_AREA_NAME = (r"lsoa\d{2}nm", r"lsoa_?name(?:_\d{4})?", r"lsoa_\d{4}_name", r"lsoa\d{2}_name")
_YEAR = (r"year", r"calendar_year", r"mid_year", r"registration_year", r"year_of_registration",
         r"financial_year_start", r"reference_year")
_SEX = (r"gender", r"sex_code", r"sex_at_birth", r"sex_registered_at_birth")
_AGE_BAND = (r"age_?band", r"age_group", r"esp_age_band", r"quinary_age_band")


# ============================================================================================
# geography
# ============================================================================================
_GEO_LOOKUP_SPECS = (
    _F("small_area_code", "area", _SMALL_AREA),
    _F("small_area_name", "str", _SMALL_AREA_NAME),
    _F("ward_code", "area", (r"wd\d{2}cd", r"ward_?code(?:_\d{4})?", r"ward_\d{4}_code", r"electoral_ward_code")),
    _F("ward_name", "str", (r"wd\d{2}nm", r"ward_?name(?:_\d{4})?", r"ward_\d{4}_name", r"electoral_ward_name")),
    _F("district_code", "area", (r"lad\d{2}cd", r"ltla\d{2}cd", r"lad_?code(?:_\d{4})?", r"lad_\d{4}_code",
                                   r"ltla_?code", r"local_authority_district_code(?:_\d{4})?", r"la_code")),
    _F("district_name", "str", (r"lad\d{2}nm", r"ltla\d{2}nm", r"lad_?name(?:_\d{4})?", r"lad_\d{4}_name",
                                  r"ltla_?name", r"local_authority_district_name(?:_\d{4})?", r"la_name")),
    _F("upper_tier_code", "area", (r"utla\d{2}cd", r"utlacd", r"utla_code", r"cty\d{2}cd", r"county_code",
                                     r"upper_tier_local_authority_code(?:_\d{4})?"), optional=True),
    _F("upper_tier_name", "str", (r"utla\d{2}nm", r"utlanm", r"utla_name", r"cty\d{2}nm", r"county_name",
                                    r"upper_tier_local_authority_name(?:_\d{4})?"), optional=True),
    _F("region_code", "area", (r"rgn\d{2}cd", r"rgncd", r"region_code"), nullable=True, optional=True),
    _F("region_name", "str", (r"rgn\d{2}nm", r"rgnnm", r"region_name"), nullable=True, optional=True),
)
_GEO_IMD_SPECS = (
    _F("imd_score", "float", (r"imd\d{2}_score", r"imd_\d{4}_score", r"index_of_multiple_deprivation_imd_score")),
    _F("imd_rank", "int", (r"imd\d{2}_rank", r"imd_\d{4}_rank", r"index_of_multiple_deprivation_imd_rank.*"),
       nullable=True, optional=True),
    _F("imd_decile", "int", (r"imd\d{2}_decile", r"imd_\d{4}_decile", r"index_of_multiple_deprivation_imd_decile.*")),
)
_GEO_SPECS = _GEO_LOOKUP_SPECS + _GEO_IMD_SPECS


def _fill_upper_tier(df: pd.DataFrame, colmap: dict[str, str], upper_tier: tuple[str, str] | None) -> pd.DataFrame:
    if "upper_tier_code" in colmap and "upper_tier_name" in colmap:
        return df
    df = df.copy()
    if upper_tier is not None:
        df["upper_tier_code"], df["upper_tier_name"] = upper_tier
    else:  # a unitary authority is its own upper tier
        df["upper_tier_code"] = df["district_code"]
        df["upper_tier_name"] = df["district_name"]
    return df


def _load_geography(path: PathLike, *, root=None, upper_tier: tuple[str, str] | None = None):
    path = Path(path)
    dataset = "geography"
    if path.is_dir():
        return _load_geography_folder(path, root=root, upper_tier=upper_tier)

    def post(df, table, colmap, coll):
        return _fill_upper_tier(df, colmap, upper_tier)

    return _standard(path, dataset, _GEO_SPECS, geography_schema(), root=root, post=post)


def _load_geography_folder(folder: Path, *, root=None, upper_tier=None):
    """A folder holding an ONS LSOA->ward->LAD lookup and an MHCLG IoD 'File 7' CSV."""
    dataset = "geography"
    name = _display_name(folder, root)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _TABLE_SUFFIXES and p.is_file())
    candidates = []
    for file in files:
        table = _read_table(file, _display_name(file, root), dataset)
        candidates.append((table, _match_columns(list(table.df.columns), _GEO_SPECS)))
    # the lookup: the file with wards and the most lookup columns; the IMD: another with scores
    lookups = [(t, f) for t, f in candidates if "ward_code" in f]
    lookup = None
    if lookups:
        lookup = max(lookups, key=lambda tf: sum(s.name in tf[1] for s in _GEO_LOOKUP_SPECS))[0]
    imds = [t for t, f in candidates if "imd_score" in f and t is not lookup]
    imd = imds[0] if imds else None
    if lookup is None:
        raise InputDataError(
            Problem(name, "no lookup file with small area, ward and district columns found in the folder "
                    "(expected e.g. the ONS LSOA (2021) to Electoral Ward to LAD best-fit lookup)", dataset=dataset)
        )
    coll = _Collector(dataset)
    lookup_specs = _GEO_LOOKUP_SPECS + tuple(
        replace(s, optional=True) for s in _GEO_IMD_SPECS
    ) if imd is not None else _GEO_SPECS
    colmap = _map_columns(lookup, lookup_specs, coll)
    coll.raise_if_any()
    df = _parse(lookup, lookup_specs, colmap, coll)
    df = _fill_upper_tier(df, colmap, upper_tier)
    if imd is not None:
        imd_specs = (_GEO_LOOKUP_SPECS[0], *_GEO_IMD_SPECS)
        imd_map = _map_columns(imd, imd_specs, coll)
        coll.raise_if_any()
        imd_df = _parse(imd, imd_specs, imd_map, coll)
        imd_df = imd_df.drop_duplicates("small_area_code").set_index("small_area_code")
        missing = ~df["small_area_code"].isin(imd_df.index)
        if missing.any():
            pos = np.flatnonzero(missing.to_numpy())
            coll.skip.update((c, int(p)) for c in ("imd_score", "imd_rank", "imd_decile") for p in pos)
            coll.add_at(
                lookup.prov, pos,
                f"no deprivation (IMD) row in {imd.name} for small area(s) "
                f"{_quote(df['small_area_code'].iloc[pos])} (expected every small area of the lookup)",
                _Display(colmap)("small_area_code"), None,
            )
        df["imd_score"] = df["small_area_code"].map(imd_df["imd_score"]).astype("float64")
        df["imd_rank"] = df["small_area_code"].map(imd_df["imd_rank"]).astype("Int64")
        df["imd_decile"] = df["small_area_code"].map(imd_df["imd_decile"]).fillna(0).astype("int64")
    schema = geography_schema()
    df = df[list(schema.columns)]
    _validate(df, schema, lookup.prov, colmap, coll)
    coll.raise_if_any()
    return df, lookup.prov, colmap


def load_geography(path: PathLike, *, root: PathLike | None = None,
                   upper_tier: tuple[str, str] | None = None) -> pd.DataFrame:
    """Small-area lookup with deprivation: one row per small area (canonical geography).

    ``path`` is one CSV/XLSX holding the canonical columns (or the ONS lookup columns
    ``LSOA21CD, LSOA21NM, WD24CD, WD24NM, LAD24CD, LAD24NM[, UTLA23CD, UTLA23NM, RGNCD, RGNNM]``
    plus ``IMD25_score, IMD25_rank, IMD25_decile`` or the MHCLG File 7 names), or a folder
    holding the ONS lookup and the MHCLG IoD File 7 CSV separately. Without upper-tier
    columns the upper tier is ``upper_tier`` (code, name) if given, else the district itself
    (a unitary authority).
    """
    return _load_geography(path, root=root, upper_tier=upper_tier)[0]


# ============================================================================================
# boundaries
# ============================================================================================
def _crs_ok(crs) -> tuple[bool, str]:
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    if crs.to_authority() in (("OGC", "CRS84"), ("EPSG", "4326"), ("EPSG", "27700")):
        return True, crs.to_string()
    for epsg in (27700, 4326):
        try:
            if crs.equals(CRS.from_epsg(epsg), ignore_axis_order=True):
                return True, f"EPSG:{epsg}"
        except Exception:  # noqa: BLE001
            pass
    code = crs.to_epsg(min_confidence=70)
    if code in (27700, 4326):
        return True, f"EPSG:{code}"
    return False, crs.name + (f" (EPSG:{code})" if code else "")


def _load_boundaries(path: PathLike, *, root=None):
    import geopandas as gpd
    import pyogrio

    dataset = "boundaries"
    path = Path(path)
    name = _display_name(path, root)
    _check_exists(path, name, dataset)
    if path.is_file() and path.stat().st_size == 0:
        raise InputDataError(Problem(name, "the file is empty (expected small-area polygons)", rows=(1,), dataset=dataset))
    try:
        layers = pyogrio.list_layers(path)
        layer = None
        if len(layers) > 1:
            polys = [row[0] for row in layers if row[1] and "Polygon" in str(row[1])]
            layer = polys[0] if polys else layers[0][0]
        gdf = gpd.read_file(path, engine="pyogrio", layer=layer)
    except Exception as exc:  # noqa: BLE001 - every reader failure is a file problem
        raise InputDataError(
            Problem(name, f"cannot be read as a boundary file ({type(exc).__name__}: {exc}); expected a "
                    "GeoPackage, GeoJSON or Shapefile of small-area polygons", dataset=dataset)
        ) from None
    coll = _Collector(dataset)
    prov = _Prov([name], np.zeros(len(gdf), np.int32), np.arange(1, len(gdf) + 1), unit="feature")
    if gdf.crs is None:
        coll.add(name, "no coordinate reference system (CRS) is declared (expected British National "
                 "Grid EPSG:27700 or WGS84 EPSG:4326; a Shapefile needs its .prj file)", column="geometry")
    else:
        ok, described = _crs_ok(gdf.crs)
        if not ok:
            coll.add(name, f"unsupported coordinate reference system {described} (expected British "
                     "National Grid EPSG:27700 or WGS84 EPSG:4326 / OGC:CRS84)", column="geometry")
    if len(gdf) == 0:
        coll.add(name, "no features (expected one polygon per small area)", rows=(1,), unit="feature")
    specs = (_F("small_area_code", "area", _SMALL_AREA + (r"small_are",)),)
    colmap = _match_columns([c for c in gdf.columns if c != gdf.geometry.name], specs)
    if "small_area_code" not in colmap:
        cols = ", ".join(repr(c) for c in gdf.columns if c != gdf.geometry.name)
        coll.add(name, f"required column 'small_area_code' (or LSOA21CD/LSOA11CD) is missing (columns found: {cols})",
                 column="small_area_code")
    coll.raise_if_any()
    codes = gdf[colmap["small_area_code"]].astype("str").str.strip().str.upper()
    geom = gdf.geometry
    null = (geom.isna() | geom.is_empty).to_numpy()
    if null.any():
        coll.add_at(prov, np.flatnonzero(null), "empty or missing geometry (expected a polygon)", "geometry")
    types = geom.geom_type.fillna("")
    wrong = (~null) & ~types.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if wrong.any():
        pos = np.flatnonzero(wrong)
        coll.add_at(prov, pos, f"geometry is {_quote(types.iloc[pos])} (expected Polygon or MultiPolygon)", "geometry")
    attrs = pd.DataFrame({"small_area_code": codes.where(codes != "").astype("str")})
    _validate(attrs, boundaries_schema(), prov, colmap, coll)
    coll.raise_if_any()
    geom = geom.make_valid() if not geom.is_valid.all() else geom
    out = gpd.GeoDataFrame({"small_area_code": attrs["small_area_code"]}, geometry=geom.values, crs=gdf.crs)
    if out.crs.to_epsg() != 27700:
        out = out.to_crs(27700)
    return out, prov, colmap


def load_boundaries(path: PathLike, *, root: PathLike | None = None):
    """Small-area polygons as a GeoDataFrame in EPSG:27700 (``small_area_code``, ``geometry``).

    Any OGR format (GeoPackage, GeoJSON, Shapefile …). The code column is ``small_area_code``
    (``small_area`` in a Shapefile, whose field names are cut to 10 characters) or an ONS
    ``LSOA21CD``/``LSOA11CD``. The CRS must be declared and be EPSG:27700 or WGS84.
    """
    return _load_boundaries(path, root=root)[0]


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
            table.set_column(year_source, pd.Series([v[:4] for v in values])[codes].to_numpy())
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
            coll.add_at(prov, pos, f"negative count {_quote(col[pos].astype(int))} (expected 0 or more)", label, header)
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


# ============================================================================================
# treatment episodes, prison releases, linkable lists
# ============================================================================================
_CLIENT = (r"client_?id", r"pseudonym(?:ised)?_?id", r"person_id", r"nhs_pseudonym", r"client_ref", r"client")


def _coded(name, field_, aliases=(), **kw) -> _F:
    return _F(name, "code", aliases, code=field_, **kw)


_TREATMENT_SPECS = (
    _F("episode_id", "str", (r"episode_?id", r"episode_ref", r"episode")),
    _F("client_id", "str", _CLIENT),
    _F("referral_date", "date", (r"date_?of_?referral", r"referral_?dt", r"refdate")),
    _F("triage_date", "date", (r"date_?of_?triage", r"triage_?dt", r"triagedate", r"first_intervention_date"), nullable=True),
    _F("discharge_date", "date", (r"date_?of_?discharge", r"discharge_?dt", r"disdate", r"exit_date"), nullable=True),
    _coded("discharge_reason", "discharge_reason", (r"reason_for_discharge", r"discharge_reason_code", r"exit_reason"), nullable=True),
    _coded("substance_group", "substance_group", (r"drug_group", r"substance_category", r"primary_substance_group")),
    _coded("referral_source", "referral_source", (r"source_of_referral", r"referral_source_code", r"refsource")),
    _F("age", "int", (r"age_at_referral", r"age_at_start", r"age_years")),
    _coded("sex", "sex", _SEX),
    _coded("gender_identity_same_as_sex", "gender_identity_same_as_sex",
           (r"gender_identity", r"gender_reassignment", r"trans_status"), empty_as="not_stated"),
    _coded("ethnicity", "ethnicity", (r"ethnic_?group", r"ethnic_category", r"ethnicity_code"), empty_as="not_stated"),
    _coded("religion", "religion", (r"religion_or_belief", r"religion_code"), empty_as="not_stated"),
    _coded("sexual_orientation", "sexual_orientation", (r"sexuality",), empty_as="not_stated"),
    _coded("disability", "disability", (r"disabled", r"disability_status"), empty_as="not_stated"),
    _coded("pregnant", "pregnant", (r"pregnancy", r"pregnancy_status", r"pregnancy_and_maternity"), empty_as="not_stated"),
    _coded("marital_status", "marital_status", (r"marriage_and_civil_partnership", r"legal_partnership_status"), empty_as="not_stated"),
    _F("small_area_code", "area", _SMALL_AREA + (r"lsoa_of_residence",), nullable=True),
    _coded("housing_problem", "housing_problem", (r"housing", r"housing_situation", r"accommodation_need"), empty_as="not_stated"),
    _coded("employment_status", "employment_status", (r"employment", r"economic_status"), empty_as="not_stated"),
    _coded("injecting_status", "injecting_status", (r"injecting", r"injection_status"), empty_as="not_stated"),
    _coded("parental_status", "parental_status", (r"parental_responsibility", r"parent_status", r"children_status"), empty_as="not_stated"),
    _F("young_person", "bool", (r"yp", r"young_people", r"young_persons_service", r"yp_service")),
    _F("prison_release_date", "date", (r"date_of_release", r"release_date", r"prison_release"), nullable=True),
)


def _load_treatment_episodes(path, *, root=None, today=None):
    return _standard(path, "treatment_episodes", _TREATMENT_SPECS, treatment_episodes_schema(today),
                     root=root, today=today)


def load_treatment_episodes(path: PathLike, *, root: PathLike | None = None,
                            today: dt.date | None = None) -> pd.DataFrame:
    """Record-level treatment episodes (NDTMS-like extract), one row per episode.

    Dates may be ``YYYY-MM-DD`` (Excel date cells too) or ``DD/MM/YYYY``; coded columns
    accept codes, labels and NDTMS/Census wordings; an empty demographic cell is read as
    ``not_stated``. ``today`` (default: the real date) bounds "not in the future".
    """
    return _load_treatment_episodes(path, root=root, today=today)[0]


_PRISON_SPECS = (
    _F("client_id", "str", _CLIENT),
    _F("release_date", "date", (r"date_of_release", r"prison_release_date", r"release_dt")),
    _coded("substance_group", "substance_group", (r"drug_group", r"substance_category")),
    _F("small_area_code", "area", _SMALL_AREA, nullable=True, optional=True),
)


def _load_prison_releases(path, *, root=None, today=None):
    return _standard(path, "prison_releases", _PRISON_SPECS, prison_releases_schema(today), root=root, today=today)


def load_prison_releases(path: PathLike, *, root: PathLike | None = None,
                         today: dt.date | None = None) -> pd.DataFrame:
    """Releases from prison of people with a substance misuse treatment need."""
    return _load_prison_releases(path, root=root, today=today)[0]


_LIST_SPECS = (
    _F("client_id", "str", _CLIENT),
    _F("event_date", "date", (r"date", r"event_dt", r"contact_date", r"arrest_date", r"admission_date", r"start_date")),
    _F("age", "int", (r"age_at_event", r"age_years")),
    _coded("sex", "sex", _SEX),
    _F("small_area_code", "area", _SMALL_AREA, nullable=True, optional=True),
    _F("opiate_or_crack", "bool", (r"ocu", r"opiate_and_or_crack", r"opiate_crack", r"opiate_or_crack_use")),
    _coded("ethnicity", "ethnicity", (r"ethnic_?group", r"ethnic_category"), nullable=True, optional=True),
)


def _load_linkable_list(path, *, root=None, today=None, name=None):
    return _standard(path, f"linkable_lists.{name}" if name else "linkable_lists", _LIST_SPECS,
                     linkable_list_schema(today), root=root, today=today)


def load_linkable_list(path: PathLike, *, root: PathLike | None = None, today: dt.date | None = None,
                       name: str | None = None) -> pd.DataFrame:
    """One linkable list for capture-recapture (probation, police custody, hospital …)."""
    return _load_linkable_list(path, root=root, today=today, name=name)[0]


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


def load_services(path: PathLike, *, root: PathLike | None = None) -> pd.DataFrame:
    """Treatment sites with both British National Grid and WGS84 coordinates."""
    return _load_services(path, root=root)[0]
