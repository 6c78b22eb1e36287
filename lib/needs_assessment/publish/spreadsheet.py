"""Spreadsheets (and CSVs) to the government standard for releasing statistics.

Standard followed
-----------------
Government Analysis Function, *Releasing statistics in spreadsheets* (2021, updated
since), with its *Symbols in tables* shorthand. What the workbook looks like:

* sheet order **Cover** -> **Contents** -> **Notes** (only when there are notes) -> one
  sheet per table, named briefly without spaces (``Table_1``);
* **Cover**: the workbook title in A1 (the only title-style cell at the top), then short
  paragraphs in column A: what the workbook contains, source, period covered, date
  published, what the shorthand means (``[c]``, ``[x]``, ``[z]``), where the notes are,
  and contact details;
* **Contents**: a marked-up table of every sheet after it, each sheet name an internal
  hyperlink, with its title;
* **Notes**: a marked-up table ``Note number`` (``[note 1]``) / ``Note text``;
* every **table sheet**: title in A1, single-cell lines of context in column A ("This
  worksheet contains one table.", description, units, related notes, shorthand used,
  source), then the data as one Excel table (ListObject) with a header row, a unique
  meaningful name and no blank rows or columns; no merged cells, no colour-only meaning,
  no frozen panes; headers are text (units belong in them, e.g. "Rate per 100,000
  population") and wrap; numbers are stored as numbers with thousands separators and a
  fixed number of decimal places per column; a cell that cannot show a number holds
  shorthand text (``[c]`` suppressed, ``[x]`` not available) and is never blank.

Library decision
----------------
The writing is done by **gptables** (ONS / Analysis Function, "Good Practice Tables",
MIT licence, maintained: 2.0.2), which implements that guidance: cover, contents with
internal links, notes table, one marked-up table per sheet, Arial 12/16, no merged cells,
numeric columns right-aligned. It writes with **XlsxWriter** only (not openpyxl), which
is fine here: the workbook is written once and read back with openpyxl in the tests.
XlsxWriter stamps every part of the zip with a fixed 1980 date and takes the document's
created/modified date from ``created``, so the same inputs give a **byte-identical**
file. This module is the thin layer around it that gptables leaves to its caller:
validation with clear ``ValueError``\\ s, disclosure markers from a suppression mask,
NA -> ``[x]``, numeric text -> numbers, number formats, column widths, our own
notes numbering (gptables renumbers ``$$ref$$`` placeholders by first use, which would
break references elsewhere in the report), and an atomic write.

Limits of gptables worked around here (so text given to this module must not use them):
``$$...$$`` is its note-placeholder syntax and ``[text](url)`` its link syntax, so both
are rejected; a cell made only of punctuation (``-``, ``*``) is refused (the standard
asks for shorthand instead); cover sub-headings are gptables' own ("Introductory
information", "About these data", "Contact").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import numbers
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "DEFAULT_SHORTHAND",
    "CoverSheet",
    "SpreadsheetTable",
    "published_frame",
    "write_statistics_workbook",
    "write_table_csvs",
]

#: Shorthand from the Analysis Function's *Symbols in tables* guidance.
DEFAULT_SHORTHAND: Mapping[str, str] = {
    "[c]": (
        "confidential: withheld to protect confidentiality, because the number is small "
        "or could be used to work out a small number"
    ),
    "[x]": "not available: the data are missing or were not collected",
    "[z]": "not applicable",
}

COVER_SHEET = "Cover"
CONTENTS_SHEET = "Contents"
NOTES_SHEET = "Notes"
_RESERVED_SHEETS = {COVER_SHEET.lower(), CONTENTS_SHEET.lower(), NOTES_SHEET.lower(), "history"}
_RESERVED_TABLE_NAMES = {"contents_table", "notes_table"}

_SHEET_NAME = re.compile(r"^[\w-]+$")
_MARKER = re.compile(r"^\[[a-z]{1,10}\]$")
_NOTE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
_TABLE_NAME = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.]*$")
_CELL_REFERENCE = re.compile(r"^([A-Za-z]{1,3}\d+|[RrCc]\d*|[Rr]\d*[Cc]\d*)$")
_PLAIN_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")
_GPTABLES_LINK = re.compile(r"\[.+\]\(.+\)")
_ONLY_SYMBOLS = re.compile(r"^[^a-zA-Z0-9]*$")
_YEAR_LABEL = re.compile(r"(^|[^a-z])years?([^a-z]|$)", re.IGNORECASE)

_MAX_CELL_TEXT = 32_767
_MAX_ROWS = 1_048_576
_MAX_COLUMNS = 16_384
_MAX_DECIMALS = 6
_MIN_WIDTH, _MAX_WIDTH, _HEADER_SOFT_WIDTH = 8, 60, 24


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True, eq=False)
class SpreadsheetTable:
    """One table: written to its own sheet of the workbook and to its own CSV.

    ``frame`` is already disclosure-controlled. Its column labels become the header row
    (they should state units, e.g. "Rate per 100,000 population"); a *named* index is
    written as leading columns, an unnamed one is dropped. Cells where ``suppressed`` is
    True show ``suppressed_marker`` whatever the frame holds; other NA or blank cells
    show ``missing_marker``; text cells that already hold shorthand (``"[c]"``) are kept.
    A column whose values are all numbers, or all ISO dates, written as text (as pandas
    reads back a published CSV with markers in it) is written as numbers or dates; codes
    with leading zeros ("007") stay text.

    ``notes`` are ids of entries in the workbook's ``notes`` mapping (``"note 1"``),
    shown on the sheet as ``[note 1]``. ``number_formats`` overrides the Excel number
    format of a column by label (default: ``#,##0`` with as many decimals as the column
    needs, up to 6; ``0`` for a year column; ``yyyy-mm-dd`` for dates). ``table_name``
    is the Excel table's name (default: derived from the sheet name and title).
    """

    sheet_name: str
    title: str
    frame: pd.DataFrame
    units: str | None = None
    source: str | None = None
    notes: tuple[str, ...] = ()
    suppressed: pd.DataFrame | None = None
    description: str | None = None
    table_name: str | None = None
    number_formats: Mapping[str, str] = field(default_factory=dict)
    suppressed_marker: str = "[c]"
    missing_marker: str = "[x]"


@dataclass(frozen=True, eq=False)
class CoverSheet:
    """What the cover sheet says. ``shorthand`` maps marker -> meaning (default
    :data:`DEFAULT_SHORTHAND`); every marker used in a table must be listed in it."""

    title: str
    summary: str | Sequence[str] = ()
    source: str | None = None
    period: str | None = None
    published: dt.date | None = None
    contact: str | Sequence[str] | None = None
    shorthand: Mapping[str, str] | None = None
    organisation: str | None = None
    next_update: str | None = None


# --------------------------------------------------------------------------- prepared cells
@dataclass(frozen=True)
class _Column:
    label: str
    values: list[Any]  # int | float | bool | str | datetime | date; never NA
    kind: str  # "number" | "date" | "text"
    number_format: str | None


@dataclass(frozen=True)
class _Prepared:
    table: SpreadsheetTable
    columns: list[_Column]
    markers: tuple[str, ...]  # shorthand used, in order of first use
    notes: tuple[str, ...]  # normalised note ids
    table_name: str

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {c.label: pd.Series(c.values, dtype=object) for c in self.columns}, dtype=object
        )


def _text(value: Any, what: str, *, required: bool = False) -> str | None:
    """Validated single-cell text, or None for None / blank."""
    if value is None:
        if required:
            raise ValueError(f"{what} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise ValueError(f"{what} must not be blank")
        return None
    _check_text(value, what)
    return value


def _check_text(value: str, what: str) -> None:
    if len(value) > _MAX_CELL_TEXT:
        raise ValueError(f"{what} is longer than Excel's {_MAX_CELL_TEXT} characters per cell")
    if "$$" in value:
        raise ValueError(
            f"{what} contains '$$', which gptables reads as a note placeholder: {value!r}"
        )
    if _GPTABLES_LINK.search(value):
        raise ValueError(
            f"{what} contains '[...](...)', which gptables turns into a hyperlink: {value!r}"
        )


def _paragraphs(value: str | Sequence[str] | None, what: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for i, item in enumerate(items, start=1):
        text = _text(item, f"{what} (item {i})")
        if text is not None:
            out.append(text)
    return out


def _check_sheet_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"sheet name must be non-empty text, got {name!r}")
    if len(name) > 31:
        raise ValueError(f"sheet name {name!r} is longer than Excel's 31 characters")
    if not _SHEET_NAME.match(name):
        raise ValueError(
            f"sheet name {name!r} may only use letters, digits, '_' and '-' "
            "(no spaces, and none of Excel's forbidden : \\ / ? * [ ])"
        )
    if name.lower() in _RESERVED_SHEETS:
        raise ValueError(f"sheet name {name!r} is reserved for the workbook's own sheets")
    return name


def _check_marker(marker: Any, what: str) -> str:
    if not isinstance(marker, str) or not _MARKER.match(marker):
        raise ValueError(
            f"{what} must be shorthand like '[c]' (lower-case letters in brackets), got {marker!r}"
        )
    return marker


def _note_id(note: Any, what: str) -> str:
    if not isinstance(note, str):
        raise ValueError(f"{what}: note id must be text like 'note 1', got {note!r}")
    text = note.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    if not _NOTE_ID.match(text):
        raise ValueError(f"{what}: note id {note!r} is not like 'note 1'")
    return text


def _ascii_slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _derive_table_name(sheet_name: str, title: str) -> str:
    topic = re.sub(r"^\s*table\s+[\w.]+\s*[:.-]\s*", "", title, flags=re.IGNORECASE)
    prefix = _ascii_slug(sheet_name) or "table"
    if not re.match(r"^[a-z_]", prefix):
        prefix = f"table_{prefix}"
    words = [w for w in _ascii_slug(topic).split("_") if w]
    name = prefix
    for word in words:
        if len(name) + 1 + len(word) > 60:
            break
        name = f"{name}_{word}"
    if name == prefix:
        name = f"{prefix}_data"
    return name


def _check_table_name(name: str, sheet: str) -> str:
    if not _TABLE_NAME.match(name) or len(name) > 255:
        raise ValueError(
            f"{sheet}: table name {name!r} must start with a letter or '_' and use only "
            "letters, digits, '_' and '.' (at most 255 characters)"
        )
    if _CELL_REFERENCE.match(name):
        raise ValueError(f"{sheet}: table name {name!r} looks like a cell reference")
    if name.lower() in _RESERVED_TABLE_NAMES:
        raise ValueError(f"{sheet}: table name {name!r} is reserved")
    return name


def _is_na(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | Decimal):
        return value != value  # NaN
    try:
        return bool(pd.isna(value)) if not isinstance(value, str | bytes) else False
    except (TypeError, ValueError):
        return False


def _plain(value: Any, where: str) -> Any:
    """A cell value as a plain Python scalar XlsxWriter writes natively."""
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)
        return value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real | Decimal):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{where}: {value!r} is not a finite number; suppress it or mark it")
        return number
    if isinstance(value, str):
        return value
    return str(value)


def _decimals(values: Iterable[float | int]) -> int | None:
    """Fewest decimal places (<= 6) that show every value exactly, or None."""
    need = 0
    for value in values:
        if isinstance(value, int):
            continue
        for d in range(need, _MAX_DECIMALS + 1):
            if abs(round(value, d) - value) <= 1e-9 * max(1.0, abs(value)):
                need = d
                break
        else:
            return None
    return need


def _prepare_column(
    label: str,
    raw: list[Any],
    hidden: list[bool],
    table: SpreadsheetTable,
    shorthand: Mapping[str, str],
    used: dict[str, None],
) -> _Column:
    where = f"{table.sheet_name}, column {label!r}"
    cells: list[Any] = []
    for row, (value, hide) in enumerate(zip(raw, hidden, strict=True), start=1):
        here = f"{where}, row {row}"
        if hide:
            cell: Any = table.suppressed_marker
        elif _is_na(value):
            cell = table.missing_marker
        else:
            cell = _plain(value, here)
            if isinstance(cell, str):
                cell = cell.strip()
                if not cell:
                    cell = table.missing_marker
                elif _MARKER.match(cell):
                    pass
                else:
                    _check_text(cell, here)
                    if _ONLY_SYMBOLS.match(cell):
                        raise ValueError(
                            f"{here}: {cell!r} has no letters or digits; use shorthand such "
                            "as '[x]' for a value that is not available"
                        )
        if isinstance(cell, str) and _MARKER.match(cell):
            if cell not in shorthand:
                raise ValueError(
                    f"{here}: shorthand {cell!r} is not explained on the cover "
                    f"(known: {', '.join(shorthand)})"
                )
            used.setdefault(cell)
        cells.append(cell)

    def is_marker(v: Any) -> bool:
        return isinstance(v, str) and bool(_MARKER.match(v))

    content = [v for v in cells if not is_marker(v)]
    # numbers and ISO dates that arrived as text (e.g. read back from a published CSV)
    if content and all(isinstance(v, str) and _PLAIN_NUMBER.match(v) for v in content):
        cells = [v if is_marker(v) else (float(v) if "." in v else int(v)) for v in cells]
        content = [v for v in cells if not is_marker(v)]
    elif content and all(isinstance(v, str) and _ISO_DATE.match(v) for v in content):
        with contextlib.suppress(ValueError):  # e.g. 2024-02-30: leave the column as text
            cells = [v if is_marker(v) else dt.datetime.fromisoformat(v) for v in cells]
        content = [v for v in cells if not is_marker(v)]

    kind = "text"
    fmt: str | None = None
    if content and all(isinstance(v, int | float) and not isinstance(v, bool) for v in content):
        kind = "number"
        decimals = _decimals(content)
        if decimals == 0:  # whole numbers: write them as integers (CSV shows 12, not 12.0)
            cells = [int(v) if isinstance(v, float) else v for v in cells]
        if decimals is None:
            fmt = "General"
        elif (
            decimals == 0 and _YEAR_LABEL.search(label) and all(1800 <= v <= 2200 for v in content)
        ):
            fmt = "0"  # a year, not a count: no thousands separator
        else:
            fmt = "#,##0" + ("." + "0" * decimals if decimals else "")
    elif content and all(isinstance(v, dt.date) for v in content):
        kind = "date"
        with_time = any(isinstance(v, dt.datetime) and v.time() != dt.time(0) for v in content)
        fmt = "yyyy-mm-dd hh:mm" if with_time else "yyyy-mm-dd"
    if label in table.number_formats:
        fmt = table.number_formats[label]
    return _Column(label=label, values=cells, kind=kind, number_format=fmt)


def _prepare(table: SpreadsheetTable, shorthand: Mapping[str, str]) -> _Prepared:
    if not isinstance(table, SpreadsheetTable):
        raise ValueError(f"tables must be SpreadsheetTable, got {type(table).__name__}")
    sheet = _check_sheet_name(table.sheet_name)
    _text(table.title, f"{sheet}: title", required=True)
    for attr in ("units", "source", "description"):
        _text(getattr(table, attr), f"{sheet}: {attr}")
    _check_marker(table.suppressed_marker, f"{sheet}: suppressed_marker")
    _check_marker(table.missing_marker, f"{sheet}: missing_marker")
    if isinstance(table.notes, str):
        raise ValueError(f"{sheet}: notes must be a tuple of note ids, not a single string")
    notes = tuple(dict.fromkeys(_note_id(n, sheet) for n in table.notes))

    frame = table.frame
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{sheet}: frame must be a pandas DataFrame")
    if isinstance(frame.columns, pd.MultiIndex):
        raise ValueError(f"{sheet}: flatten the MultiIndex columns to one header row first")
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise ValueError(
            f"{sheet}: the table has no {'columns' if frame.shape[1] == 0 else 'rows'}"
        )

    mask = table.suppressed
    if mask is not None:
        if not isinstance(mask, pd.DataFrame):
            raise ValueError(f"{sheet}: suppressed must be a boolean DataFrame")
        if mask.shape != frame.shape:
            raise ValueError(
                f"{sheet}: suppressed mask has shape {mask.shape} but the frame has {frame.shape}"
            )
        if not mask.columns.equals(frame.columns) or not mask.index.equals(frame.index):
            raise ValueError(
                f"{sheet}: suppressed mask must have the frame's row and column labels"
            )
        if mask.isna().to_numpy().any():
            raise ValueError(f"{sheet}: suppressed mask holds NA; it must be True or False")
        non_bool = [str(c) for c in mask.columns if not pd.api.types.is_bool_dtype(mask[c])]
        if non_bool:
            raise ValueError(f"{sheet}: suppressed mask columns are not boolean: {non_bool}")

    labels: list[tuple[Any, list[Any], list[bool]]] = []
    if any(name is not None for name in frame.index.names):
        index = frame.index.to_frame(index=False)
        for i, name in enumerate(frame.index.names):
            if name is None:
                raise ValueError(f"{sheet}: name every level of the index, or reset it")
            labels.append((name, index.iloc[:, i].tolist(), [False] * len(frame)))
    for i, col in enumerate(frame.columns):
        hidden = (
            [False] * len(frame) if mask is None else [bool(v) for v in mask.iloc[:, i].tolist()]
        )
        labels.append((col, frame.iloc[:, i].tolist(), hidden))
    if len(frame) + 10 > _MAX_ROWS or len(labels) > _MAX_COLUMNS:
        raise ValueError(f"{sheet}: the table is too big for one Excel sheet")

    columns: list[_Column] = []
    seen: set[str] = set()
    used: dict[str, None] = {}
    for label, raw, hidden in labels:
        text = "" if _is_na(label) else str(label).strip()
        if not text:
            raise ValueError(f"{sheet}: every column needs a header; found {label!r}")
        _check_text(text, f"{sheet}: header {text!r}")
        if len(text) > 255:
            raise ValueError(
                f"{sheet}: header {text[:40]!r}... is longer than Excel's 255 characters"
            )
        if text.lower() in seen:  # Excel table headers are case-insensitive
            raise ValueError(f"{sheet}: duplicate column header {text!r} (case-insensitive)")
        seen.add(text.lower())
        columns.append(_prepare_column(text, raw, hidden, table, shorthand, used))
    unknown = set(table.number_formats) - {c.label for c in columns}
    if unknown:
        raise ValueError(f"{sheet}: number_formats names unknown columns {sorted(unknown)}")

    name = (
        table.table_name if table.table_name is not None else _derive_table_name(sheet, table.title)
    )
    return _Prepared(table, columns, tuple(used), notes, _check_table_name(name, sheet))


def published_frame(
    table: SpreadsheetTable, shorthand: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The table exactly as published: object columns of numbers, dates, text and
    shorthand markers (no NA). The same cells go to the workbook and the CSV."""
    return _prepare(table, DEFAULT_SHORTHAND if shorthand is None else shorthand).frame()


# --------------------------------------------------------------------------- layout helpers
def _display_length(value: Any, column: _Column) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float) and column.kind == "number":
        fmt = column.number_format or "General"
        if fmt.startswith("#,##0"):
            decimals = len(fmt.split(".")[1]) if "." in fmt else 0
            return len(f"{value:,.{decimals}f}")
        return len(str(value))
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


def _column_width(header: str, lengths: Iterable[int]) -> float:
    data = max(lengths, default=0)
    longest_word = max((len(w) for w in header.split()), default=0)
    width = max(data, min(len(header), _HEADER_SOFT_WIDTH), longest_word) + 2
    return float(min(max(width, _MIN_WIDTH), _MAX_WIDTH))


def _with_prefix(text: str, prefix: str) -> str:
    return text if text.lower().startswith(prefix.lower()) else f"{prefix}: {text}"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _default_created(cover: CoverSheet) -> dt.datetime:
    if cover.published is not None:
        day = (
            cover.published.date() if isinstance(cover.published, dt.datetime) else cover.published
        )
        return dt.datetime.combine(day, dt.time(0))
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).replace(tzinfo=None)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write via a temporary file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- workbook
def _cover_lines(
    cover: CoverSheet,
    shorthand: Mapping[str, str],
    sheet_names: Sequence[str],
    has_notes: bool,
    published: dt.date,
) -> tuple[list[str], list[str], list[str]]:
    intro = _paragraphs(cover.summary, "cover summary")
    sheets = (
        f"{sheet_names[0]}" if len(sheet_names) == 1 else f"{sheet_names[0]} to {sheet_names[-1]}"
    )
    count = (
        "one table"
        if len(sheet_names) == 1
        else f"{len(sheet_names)} tables, each on its own sheet"
    )
    intro.append(
        f"This workbook contains {count} ({sheets}). The Contents sheet lists every sheet "
        "with a link to it."
    )

    about: list[str] = []
    source = _text(cover.source, "cover source")
    if source:
        about.append(_with_prefix(source, "Source"))
    period = _text(cover.period, "cover period")
    if period:
        about.append(_with_prefix(period, "Period covered"))
    about.append(f"Date published: {published.day} {published:%B %Y}")
    next_update = _text(cover.next_update, "cover next_update")
    if next_update:
        about.append(_with_prefix(next_update, "Next update"))
    if has_notes:
        about.append(
            "Notes: some tables refer to notes, shown in square brackets such as [note 1]. "
            "The note text is on the Notes worksheet."
        )
    about.append(
        "Shorthand: a cell that cannot show a number holds shorthand in square brackets "
        "instead of being left blank."
    )
    about.extend(f"{marker} = {meaning}" for marker, meaning in shorthand.items())

    contact = _paragraphs(cover.contact, "cover contact")
    organisation = _text(cover.organisation, "cover organisation")
    if organisation and organisation not in contact:
        contact.insert(0, organisation)
    return intro, about, contact


def _validate_shorthand(cover: CoverSheet) -> dict[str, str]:
    shorthand = DEFAULT_SHORTHAND if cover.shorthand is None else cover.shorthand
    if not isinstance(shorthand, Mapping) or not shorthand:
        raise ValueError("cover shorthand must be a non-empty mapping like {'[c]': 'confidential'}")
    out = {}
    for marker, meaning in shorthand.items():
        _check_marker(marker, "cover shorthand key")
        out[marker] = _text(meaning, f"meaning of shorthand {marker}", required=True)
    return out


def write_statistics_workbook(
    path: str | os.PathLike[str],
    *,
    cover: CoverSheet,
    tables: Sequence[SpreadsheetTable],
    notes: Mapping[str, str] | None = None,
    created: dt.datetime | None = None,
) -> Path:
    """Write ``tables`` to one ``.xlsx`` workbook to the spreadsheet standard.

    Sheets: Cover, Contents, Notes (when ``notes`` is not empty), then one sheet per table
    in the given order. ``notes`` maps a note id (``"note 1"``) to its text; every id a
    table refers to must be in it. ``created`` is the document's created/modified date
    (default: midnight of ``cover.published``, else ``$SOURCE_DATE_EPOCH``, else now):
    with the same inputs and ``created`` the file is byte-identical. The workbook is
    written to a temporary file beside ``path`` and renamed into place.
    Raises ``ValueError`` for input that would break the standard or Excel's rules.
    """
    import gptables as gpt

    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"workbook path must end in .xlsx, got {target.name!r}")
    if not isinstance(cover, CoverSheet):
        raise ValueError("cover must be a CoverSheet")
    title = _text(cover.title, "cover title", required=True)
    shorthand = _validate_shorthand(cover)
    tables = list(tables)
    if not tables:
        raise ValueError("a workbook needs at least one table")

    prepared = [_prepare(t, shorthand) for t in tables]
    sheet_names: set[str] = set()
    table_names: set[str] = set()
    for p in prepared:
        key = p.table.sheet_name.lower()
        if key in sheet_names:
            raise ValueError(
                f"duplicate sheet name {p.table.sheet_name!r} (names are case-insensitive)"
            )
        sheet_names.add(key)
        if p.table_name.lower() in table_names:
            raise ValueError(
                f"duplicate table name {p.table_name!r}; set table_name to tell them apart"
            )
        table_names.add(p.table_name.lower())

    note_text: dict[str, str] = {}
    for key, text in (notes or {}).items():
        note = _note_id(key, "notes")
        if note in note_text:
            raise ValueError(f"note {note!r} is given twice")
        note_text[note] = _text(text, f"text of [{note}]", required=True)
    for p in prepared:
        missing = [n for n in p.notes if n not in note_text]
        if missing:
            raise ValueError(
                f"{p.table.sheet_name} refers to {', '.join(f'[{n}]' for n in missing)} "
                "but the notes mapping has no text for it"
            )

    if created is None:
        created = _default_created(cover)
    elif created.tzinfo is not None:
        created = created.astimezone(dt.UTC).replace(tzinfo=None)
    published = cover.published or created.date()
    if isinstance(published, dt.datetime):
        published = published.date()

    intro, about, contact = _cover_lines(
        cover, shorthand, [p.table.sheet_name for p in prepared], bool(note_text), published
    )
    gp_cover = gpt.Cover(
        title=title,
        intro=intro,
        about=about,
        contact=contact or None,
        cover_label=COVER_SHEET,
        width=90,
    )

    sheets: dict[str, Any] = {}
    widths: dict[str, list[float]] = {}
    if note_text:
        note_rows = pd.DataFrame(
            {
                "Note number": pd.Series([f"[{n}]" for n in note_text], dtype=object),
                "Note text": pd.Series(list(note_text.values()), dtype=object),
            }
        )
        sheets[NOTES_SHEET] = gpt.GPTable(
            table=note_rows,
            table_name="notes_table",
            title="Notes",
            instructions="This worksheet contains one table.",
            index_columns={},
        )
        widths[NOTES_SHEET] = [
            _column_width("Note number", (len(v) for v in note_rows["Note number"])),
            float(min(max(len(t) for t in note_text.values()) + 2, 100)),
        ]

    for p in prepared:
        t = p.table
        context: list[str] = []
        description = _text(t.description, "description")
        if description:
            context.append(description)
        units = _text(t.units, "units")
        if units:
            context.append(_with_prefix(units, "Units"))
        if p.notes:
            refs = _join([f"[{n}]" for n in p.notes])
            context.append(f"This table refers to {refs}. The note text is on the Notes worksheet.")
        if p.markers:
            context.append(
                "Some cells contain shorthand: "
                + "; ".join(f"{m} = {shorthand[m]}" for m in p.markers)
                + "."
            )
        source = _text(t.source, "source")
        formats = [
            {
                "column": {
                    "columns": [i],
                    "format": {"num_format": c.number_format},
                    "include_names": False,
                }
            }
            for i, c in enumerate(p.columns)
            if c.number_format
        ]
        sheets[t.sheet_name] = gpt.GPTable(
            table=p.frame(),
            table_name=p.table_name,
            title=_text(t.title, "title", required=True),
            instructions="This worksheet contains one table.",
            legend=context,
            source=_with_prefix(source, "Source") if source else None,
            index_columns={},
            additional_formatting=formats,
        )
        widths[t.sheet_name] = [
            _column_width(c.label, (_display_length(v, c) for v in c.values)) for c in p.columns
        ]

    link_width = max(len(name) for name in [*sheets, "Sheet name"]) + 4
    title_width = min(max(len(g.title) for g in sheets.values()) + 2, 100)
    widths = {CONTENTS_SHEET: [float(link_width), float(title_width)], **widths}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            # gptables warns when no notes table is given; our notes are our own sheet.
            warnings.filterwarnings("ignore", message="No note text provided", category=UserWarning)
            # gptables 2.0.2 still uses pandas idioms that pandas 3 deprecates for pandas 4
            # (its own code, not our data); keep the run's output free of that noise.
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"gptables\.")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"gptables\.")
            workbook = gpt.produce_workbook(
                filename=str(tmp),
                sheets=sheets,
                cover=gp_cover,
                contentsheet_label=CONTENTS_SHEET,
                contentsheet_options={
                    "title": "Contents",
                    "column_names": ["Sheet name", "Table title"],
                    "instructions": "This worksheet contains one table. Each sheet name links to its sheet.",
                },
                notes_table=None,
                auto_width=False,
                workbook_options={
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                    "strings_to_numbers": False,
                },
            )
        properties = {"title": title, "created": created}
        if cover.organisation:
            properties["author"] = cover.organisation
            properties["company"] = cover.organisation
        if cover.summary:
            properties["comments"] = " ".join(_paragraphs(cover.summary, "cover summary"))[:1000]
        workbook.set_properties(properties)
        for name, column_widths in widths.items():
            worksheet = workbook.get_worksheet_by_name(name)
            for i, width in enumerate(column_widths):
                worksheet.set_column(i, i, width)
        workbook.close()

    return _atomic_write(target, write)


# --------------------------------------------------------------------------- CSV
def _csv_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_table_csvs(
    directory: str | os.PathLike[str],
    tables: Sequence[SpreadsheetTable],
    *,
    shorthand: Mapping[str, str] | None = None,
) -> list[Path]:
    """One tidy CSV per table, ``<sheet name in lower case>.csv``: a header row and the
    same cells as the workbook (shorthand markers, never blanks), UTF-8, no index,
    ``\\n`` line ends, each file written atomically. Returns the paths in table order."""
    folder = Path(directory)
    shorthand = DEFAULT_SHORTHAND if shorthand is None else shorthand
    prepared = [_prepare(t, shorthand) for t in tables]
    names = [f"{p.table.sheet_name.lower()}.csv" for p in prepared]
    if len(set(names)) != len(names):
        raise ValueError("duplicate sheet names (names are case-insensitive)")
    paths = []
    for p, name in zip(prepared, names, strict=True):
        frame = p.frame().map(_csv_cell)

        def write(tmp: Path, frame: pd.DataFrame = frame) -> None:
            frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")

        paths.append(_atomic_write(folder / name, write))
    return paths
