"""The machinery every loader shares: provenance, reading files, mapping columns, parsing, validating.

* **provenance** (:class:`_Prov`): which file and spreadsheet row each loaded row came from,
  so every problem names them;
* **reading** (:func:`_read_table`): CSV in any common encoding or the first Excel sheet
  whose header row is recognised (the header may sit below title rows);
* **column mapping and parsing** (:class:`_F`, :func:`_map_columns`, :func:`_parse`):
  source names to canonical ones, typed values, codes normalised with :mod:`..codes`;
* **validation** (:func:`_validate`, :func:`check_frame`) against the pandera schemas of
  :mod:`..schemas`, and :func:`_standard`, the read-map-parse-validate path of most loaders.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import codes as C
from ..errors import InputDataError, Problem, problems_from_schema_errors
from ..schemas import (
    CROSS_CHECK_INPUTS,
    CROSS_CHECKS,
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


def _header_record(data: bytes, sep: str) -> list[str]:
    """The cells of the header, the file's first record (a quoted cell may span lines)."""
    import csv

    head = data[: 1 << 16].decode("utf-8", errors="replace")
    return next(csv.reader(io.StringIO(head, newline=""), delimiter=sep), [])


def _one_column_hint(header: Sequence[str]) -> str:
    """Why a header reads as one column: another delimiter, or a title line above it."""
    if len(header) != 1:
        return ""
    text = str(header[0]).strip()
    shown = repr(text if len(text) <= 60 else text[:57] + "...")
    for other, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if other in text:
            return (f"; the header row reads as one column {shown}: the file looks {label}-separated "
                    "(expected comma-separated values: in Excel, Save As 'CSV UTF-8 (Comma delimited)')")
    return (f"; the first line reads as one column {shown} (expected the header row naming the columns on "
            "line 1, with no title lines above it)")


def _check_header(data: bytes, sep: str, name: str, dataset: str) -> list[str]:
    """The header record; a blank first line is no header (pandas would fail on it)."""
    header = _header_record(data, sep)
    if not any(c.strip() for c in header):
        raise InputDataError(Problem(
            name, "the first line is blank (expected the header row naming the columns on line 1)",
            rows=(1,), dataset=dataset))
    return header


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
    header = _check_header(data, sep, name, dataset)
    dtype: object = "category"
    try:
        if numeric is not None or plain is not None:
            columns = pd.read_csv(io.BytesIO(data), nrows=0, sep=sep, encoding="utf-8").columns
            dtype = {
                c: ("float64" if numeric is not None and numeric(str(c)) else
                    object if plain is not None and plain(str(c)) else "category")
                for c in columns
            }
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
                "(expected one value per column: check for unquoted commas)" + _one_column_hint(header)
            )
            raise InputDataError(Problem(name, msg, rows=(line,), dataset=dataset)) from None
        match = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if match:  # pandas counts lines from 0 (the header)
            line = int(match.group(1)) + 1
            msg = (f"a quoted value that starts on row {line} is never closed (expected a closing "
                   "double quote \" before the end of the value)")
            raise InputDataError(Problem(name, msg, rows=(line,), dataset=dataset)) from None
        raise InputDataError(
            Problem(name, f"cannot be read as CSV: {exc}", rows=(1,), dataset=dataset)
        ) from None
    if not isinstance(df.index, pd.RangeIndex):
        # pandas takes the extra leading fields of a first data row longer than the header
        # as row labels and shifts every column; later long rows raise the ParserError above
        want = len(pd.read_csv(io.BytesIO(data), nrows=0, sep=sep).columns)
        msg = (
            f"row 2 has {want + df.index.nlevels} fields but the header has {want} "
            "(expected one value per column: check for unquoted commas or a delimiter after the last value)"
            + _one_column_hint(header)
        )
        raise InputDataError(Problem(name, msg, rows=(2,), dataset=dataset))
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


def _non_finite_cell(path: Path) -> tuple[str, int, str, float] | None:
    """(sheet, row, column letter, value) of the first numeric cell holding infinity or NaN,
    which pandas cannot convert (it fails for the whole workbook, naming no cell)."""
    import math

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - unreadable: reported as such by the caller
        return None
    try:
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, float) and not math.isfinite(cell.value):
                        return sheet.title, cell.row, cell.column_letter, cell.value
    finally:
        book.close()
    return None


def _read_excel(path: Path, name: str, dataset: str, is_header: Callable[[list[str]], bool]) -> _Table:
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a file problem
        bad = _non_finite_cell(path)
        if bad is not None:
            sheet, row, letter, value = bad
            raise InputDataError(Problem(
                f"{name} (sheet '{sheet}')", f"cell {letter}{row} holds {value} (expected a finite number)",
                column=letter, rows=(row,), dataset=dataset)) from None
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
    excel = table.path is not None and table.path.suffix.lower() in (".xlsx", ".xlsm")
    hint = "" if excel else _one_column_hint(list(table.df.columns))
    for i, name in enumerate(missing):
        cols = ", ".join(repr(c) for c in table.df.columns[:25])
        coll.add(
            table.name,
            f"required column '{name}' is missing (columns found: {cols}); see data/README.md for "
            "the accepted column names" + (hint if i == 0 else ""),
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
#: Whole numbers beyond 2**53 are not exact in float64 (and beyond 2**63 not int64 at all).
_MAX_WHOLE = 2**53
_TOO_LARGE = "number too large: {values} (expected a whole number below 9,007,199,254,740,992)"
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
                huge_u = finite_u & (np.abs(nums_u) >= _MAX_WHOLE)
                report(huge_u, _TOO_LARGE)
                finite_u &= ~huge_u
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
        huge = ~empty & ~frac & (raw.abs() >= _MAX_WHOLE).to_numpy()
        if huge.any():
            pos = np.flatnonzero(huge)
            coll.add_at(prov, pos, _TOO_LARGE.format(values=_quote(raw.iloc[pos])), label, spec.name)
            raw = raw.where(~huge)
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
    from ..schemas import SCHEMAS

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



def _coded(name, field_, aliases=(), **kw) -> _F:
    return _F(name, "code", aliases, code=field_, **kw)
