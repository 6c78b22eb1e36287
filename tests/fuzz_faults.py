"""Hypothesis strategies that corrupt a valid real-layout input file (for test_data_fuzz.py).

A :class:`Seed` is one valid file (or a folder of them) cut down from a real layout: the
synthetic county written by :func:`needs_assessment.synthetic.generate_area`, or a sample of
a published file in ``shared/reference``. :func:`table_faults` and :func:`geojson_faults`
draw one :class:`Fault`: the bytes of the corrupted file plus what an error about it must
name (the column and/or the spreadsheet row of the fault).

Faults mirror what analysts' files really do: a cell of the wrong type, a missing, extra,
renamed or repeated column, Windows-1252 / Latin-1 / UTF-16 text, byte-order marks,
semicolon, tab or pipe delimiters, duplicated key rows, empty and header-only files,
truncated or ragged rows, huge numbers and very long strings, NaN/inf text, dates written
other ways, stray whitespace and mixed line endings.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import string
from dataclasses import dataclass, field

from hypothesis import event
from hypothesis import strategies as st


# ------------------------------------------------------------------------------------ seeds
@dataclass
class Table:
    """A CSV as header + rows of text (what a spreadsheet holds)."""

    header: list[str]
    rows: list[list[str]]

    @classmethod
    def from_bytes(cls, data: bytes, *, keep: int | None = None) -> Table:
        """Parse CSV bytes; with ``keep``, take that many rows spread evenly over the file
        (so dates, codes and optional cells vary as in the whole file)."""
        records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        header, rows = records[0], [r for r in records[1:] if r]
        if keep is not None and len(rows) > keep:
            step = len(rows) / keep
            rows = [rows[int(i * step)] for i in range(keep)]
        return cls(header, rows)

    def to_text(self, *, delimiter: str = ",", lineterminator: str = "\n") -> str:
        return "".join(_row_text(r, delimiter) + lineterminator for r in [self.header, *self.rows])

    def to_bytes(self, **kw) -> bytes:
        return self.to_text(**kw).encode("utf-8")

    def copy(self) -> Table:
        return Table(list(self.header), [list(r) for r in self.rows])

    def to_xlsx(self, *, above: list[list] = (), notes_first: bool = False, typed: bool = True) -> bytes:
        """An Excel workbook of the table, cells typed as Excel holds them (numbers, dates,
        booleans), optionally with title rows above the header or a notes sheet first."""
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        if notes_first:
            sheet.title = "Notes"
            sheet.append(["About this table"])
            sheet.append(["Source: synthetic extract for testing"])
            sheet = book.create_sheet("Data")
        for line in above:
            sheet.append(list(line))
        sheet.append(self.header)
        for row in self.rows:
            sheet.append([_excel_value(v) if typed else v for v in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _excel_value(text: str):
    """The value a spreadsheet cell holds for this text: whole numbers and decimals as
    numbers, ISO dates as dates, True/False as booleans, anything else as text."""
    if re.fullmatch(r"-?[1-9]\d{0,14}|0", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.datetime.strptime(text, "%Y-%m-%d")
    if text in ("True", "False"):
        return text == "True"
    return text


@dataclass
class Seed:
    """Valid input for one loader: one file, or several files of a folder (``files`` maps a
    path relative to the folder to its table; ``folder`` is True when the loader is given
    the folder)."""

    files: dict[str, Table | bytes]
    folder: bool = False
    #: source columns whose values must be unique alone or together (their duplication is
    #: a fault in rows), used only to describe faults.
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fault:
    """One corrupted input: which file, what was done, what the error must name."""

    kind: str
    file: str  # path relative to the seed folder of the corrupted file
    detail: str
    column: str | None = None  # source column the fault is in (an error must name a column)
    row: int | None = None  # spreadsheet row of the fault (an error must name rows)
    locate_row: bool = False  # the error must name exactly this row among its rows
    benign: bool = False  # the file must load exactly as the valid seed does
    content: bytes = field(default=b"", repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.kind} in {self.file}: {self.detail}"


# ------------------------------------------------------------------------------- odd values
HUGE_TEXT = "x" * 100_000

#: Values analysts' files really hold where another type was expected.
ODD_VALUES = (
    "", " ", "NaN", "nan", "NA", "inf", "-inf", "Infinity", "NULL", "#N/A", "None", "N/A", "-",
    "1e309", "-1e309", "1e18", "9" * 40, "-9223372036854775809", "18446744073709551616",
    "4294967296", "2147483648", "0x1F", "1_000", "1,234", "1.5", "-1", "-0", "+3", "1e3",
    "\u0663", "\uff11\uff12",  # an Arabic-Indic digit, full-width digits
    "2023/01/10", "10-01-2023", "01/13/2023", "13/01/2023", "2023-1-1", "20230110",
    "10 Jan 2023", "2023-02-30", "2023-02-29", "0001-01-01", "9999-12-31", "1899-12-31",
    "2023-01-10T25:00", "2023-01-10 10:00:00", "2023-01", "2023-13", "45000", "44927.5",
    "TRUE", "FALSE", "yes", "Y", "0", "1", "2",
    HUGE_TEXT, "\u00e9" * 1000, "\u200b", "\x00", "\t", "a\nb", "a\r\nb", "a,b", '"', "'",
    "=1+1", "E01000001", "X0100000", "e01000001", "X01000001 ", "\u00a0X01000001",
)

odd_value = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(max_size=12),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)

NON_ASCII = ("Caf\u00e9", "Zo\u00eb", "\u00a3500", "na\u00efve", "Ni\u00f1o", "\u00c5se")


def _pick_cell(draw, table: Table) -> tuple[int, int]:
    """A cell under a header (rows may be ragged after an earlier fault of a combination)."""
    r = draw(st.integers(0, len(table.rows) - 1))
    c = draw(st.integers(0, max(0, min(len(table.header), len(table.rows[r])) - 1)))
    return r, c


def _fresh_name(draw) -> str:
    return "zz_extra_" + draw(st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8))


def _header_variant(draw, name: str) -> str:
    """The same header as people retype it: case and separators changed (normalised
    names are unchanged, so the file must load the same)."""
    style = draw(st.sampled_from(["upper", "lower", "title", "spaces", "underscores", "pad"]))
    event(f"header variant: {style}")
    if style == "upper":
        return name.upper()
    if style == "lower":
        return name.lower()
    if style == "title":
        return name.replace("_", " ").title()
    if style == "spaces":
        return name.replace("_", " ")
    if style == "underscores":
        return name.replace(" ", "_")
    return f"  {name} "


# ------------------------------------------------------------------------ table corruptions
@st.composite
def _table_fault(draw, rel: str, table: Table, keys: tuple[str, ...]) -> Fault:
    kinds = [
        "cell", "cell", "cell", "whitespace", "drop_column", "rename_header", "duplicate_header",
        "extra_column", "header_variant", "duplicate_row", "header_only", "empty", "blank",
        "short_row", "long_row", "raw_cell", "truncate", "encoding", "bom", "double_bom",
        "delimiter", "line_endings", "no_final_newline", "blank_lines", "lines_above", "combo",
    ]
    kind = draw(st.sampled_from(kinds))
    event(f"fault: {kind}")
    t = table.copy()
    text = None  # set when the fault works on the serialised text
    data = None  # set when the fault works on the bytes

    if kind in ("cell", "whitespace"):
        r, c = _pick_cell(draw, t)
        old = t.rows[r][c]
        new = draw(odd_value) if kind == "cell" else draw(st.sampled_from(
            [f" {old}", f"{old} ", f"\t{old}\t", f"\u00a0{old}", f"  {old}  "]))
        t.rows[r][c] = new
        return Fault(kind, rel, f"row {r + 2} column {t.header[c]!r}: {old!r} -> {new[:40]!r}",
                     column=t.header[c], row=r + 2, locate_row=True, content=t.to_bytes())
    if kind == "drop_column":
        c = draw(st.integers(0, len(t.header) - 1))
        name = t.header.pop(c)
        for row in t.rows:
            if c < len(row):  # (rows may be short after an earlier fault of a combination)
                del row[c]
        return Fault(kind, rel, f"column {name!r} removed", column=name, content=t.to_bytes())
    if kind == "rename_header":
        c = draw(st.integers(0, len(t.header) - 1))
        old, new = t.header[c], draw(st.one_of(st.text(max_size=10), st.sampled_from(["", " ", "Unnamed: 0"])))
        t.header[c] = new
        return Fault(kind, rel, f"header {old!r} -> {new!r}", column=old, content=t.to_bytes())
    if kind == "duplicate_header":
        a = draw(st.integers(0, len(t.header) - 1))
        b = draw(st.integers(0, len(t.header) - 1).filter(lambda i: i != a))
        old = t.header[b]
        t.header[b] = t.header[a]
        return Fault(kind, rel, f"header {old!r} -> {t.header[a]!r} (twice)", column=old, content=t.to_bytes())
    if kind == "extra_column":
        name = _fresh_name(draw)
        at = draw(st.integers(0, len(t.header)))
        values = draw(st.lists(odd_value, min_size=len(t.rows), max_size=len(t.rows)))
        t.header.insert(at, name)
        for row, v in zip(t.rows, values, strict=True):
            row.insert(at, v)
        return Fault(kind, rel, f"extra column {name!r} at {at}", benign=True, content=t.to_bytes())
    if kind == "header_variant":
        c = draw(st.integers(0, len(t.header) - 1))
        old = t.header[c]
        t.header[c] = _header_variant(draw, old)
        return Fault(kind, rel, f"header {old!r} -> {t.header[c]!r}", benign=True, content=t.to_bytes())
    if kind == "duplicate_row":
        r = draw(st.integers(0, len(t.rows) - 1))
        at = draw(st.integers(0, len(t.rows)))
        t.rows.insert(at, list(t.rows[r]))
        return Fault(kind, rel, f"row {r + 2} repeated as row {at + 2}", row=at + 2, content=t.to_bytes())
    if kind == "header_only":
        t.rows = []
        ending = draw(st.sampled_from(["\n", "\r\n", ""]))
        return Fault(kind, rel, f"no data rows (header ends {ending!r})", row=2,
                     content=t.to_bytes(lineterminator="\n").rstrip(b"\n") + ending.encode())
    if kind == "empty":
        return Fault(kind, rel, "zero bytes", row=1, content=b"")
    if kind == "blank":
        data = draw(st.sampled_from([b" ", b"\n", b"\r\n\r\n", b"\t \n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\n"]))
        return Fault(kind, rel, f"only {data!r}", row=1, content=data)
    if kind == "short_row":
        r = draw(st.integers(0, len(t.rows) - 1))
        k = draw(st.integers(1, len(t.header) - 1))
        t.rows[r] = t.rows[r][:k]
        return Fault(kind, rel, f"row {r + 2} cut to {k} fields", row=r + 2, content=t.to_bytes())
    if kind == "long_row":
        r = draw(st.integers(0, len(t.rows) - 1))
        extra = draw(st.lists(odd_value, min_size=1, max_size=3))
        t.rows[r] = t.rows[r] + extra
        return Fault(kind, rel, f"row {r + 2} has {len(extra)} extra field(s)", row=r + 2,
                     locate_row=True, content=t.to_bytes())
    if kind == "raw_cell":
        # a value written without CSV quoting: an unquoted comma, quote or line break
        r, c = _pick_cell(draw, t)
        token = draw(st.sampled_from([",", '"', '"x', 'x"y', "\n", "\r", '""', '"a,b', ",,"]))
        lines = t.to_text().split("\n")
        cells = [_quoted(v) for v in t.rows[r]]
        cells[c] += token
        lines[r + 1] = ",".join(cells)
        text = "\n".join(lines)
        return Fault(kind, rel, f"row {r + 2} column {t.header[c]!r} + unquoted {token!r}", row=r + 2,
                     content=text.encode("utf-8"))
    if kind == "truncate":
        whole = t.to_bytes()
        cut = draw(st.integers(1, len(whole) - 1))
        return Fault(kind, rel, f"file cut at byte {cut} of {len(whole)}", content=whole[:cut])
    if kind == "encoding":
        r, c = _pick_cell(draw, t)
        word = draw(st.sampled_from(NON_ASCII))
        t.rows[r][c] = t.rows[r][c] + " " + word
        codec = draw(st.sampled_from(["cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "mac_roman"]))
        event(f"encoding: {codec}")
        return Fault(kind, rel, f"{codec}, {word!r} in row {r + 2} column {t.header[c]!r}",
                     row=r + 2 if codec in ("cp1252", "latin-1", "mac_roman") else 1,
                     content=t.to_text().encode(codec, errors="replace"))
    if kind == "bom":
        return Fault(kind, rel, "UTF-8 byte-order mark", benign=True, content=codecs.BOM_UTF8 + t.to_bytes())
    if kind == "double_bom":
        return Fault(kind, rel, "two UTF-8 byte-order marks", content=codecs.BOM_UTF8 * 2 + t.to_bytes())
    if kind == "delimiter":
        sep = draw(st.sampled_from([";", "\t", "|"]))
        return Fault(kind, rel, f"delimiter {sep!r}", row=1, content=t.to_bytes(delimiter=sep))
    if kind == "line_endings":
        mode = draw(st.sampled_from(["crlf", "cr", "mixed"]))
        lines = t.to_text().split("\n")[:-1]
        if mode == "mixed":
            ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines)))
        else:
            ends = ["\r\n" if mode == "crlf" else "\r"] * len(lines)
        text = "".join(line + end for line, end in zip(lines, ends, strict=True))
        return Fault(kind, rel, f"{mode} line endings", benign=True, content=text.encode("utf-8"))
    if kind == "no_final_newline":
        return Fault(kind, rel, "no newline after the last row", benign=True, content=t.to_bytes().rstrip(b"\n"))
    if kind == "blank_lines":
        n = draw(st.integers(1, 3))
        return Fault(kind, rel, f"{n} blank line(s) at the end", benign=True, content=t.to_bytes() + b"\n" * n)
    if kind == "lines_above":
        # blank lines or a title above the header, as some exports write
        above = draw(st.sampled_from(["\n", "\r\n\n", "Table 1: Title\n", "Table 1: Title\n\n", ",,,\n"]))
        return Fault(kind, rel, f"{above!r} above the header", row=1, content=above.encode() + t.to_bytes())
    if kind == "combo":
        # two or three faults at once: only the general promise holds (a located problem)
        first = draw(_table_fault(rel, table, keys).filter(lambda f: f.kind not in ("combo", "empty", "blank")))
        inner = Table.from_bytes(first.content) if _parses(first.content) else None
        if inner is None or not inner.rows or len(inner.header) < 2:
            return Fault("combo", rel, str(first), content=first.content)
        second = draw(_table_fault(rel, inner, keys).filter(lambda f: f.kind != "combo"))
        return Fault("combo", rel, f"{first.detail}; then {second.detail}", content=second.content)
    raise AssertionError(kind)  # pragma: no cover


def _row_text(cells: list[str], delimiter: str = ",") -> str:
    """One row as a spreadsheet writes it: a cell is quoted when it holds the delimiter, a
    quote or a line break (``\r`` too, which the csv module leaves bare with ``\n`` endings)."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    return out.getvalue()[:-2]


def _quoted(value: str) -> str:
    """One cell as :func:`_row_text` writes it."""
    return _row_text([value]) if value else ""


def _parses(data: bytes) -> bool:
    try:
        Table.from_bytes(data)
    except (UnicodeDecodeError, IndexError, csv.Error):
        return False
    return True


@st.composite
def table_faults(draw, seed: Seed) -> Fault:
    """One fault in one of the seed's CSV files."""
    names = sorted(k for k, v in seed.files.items() if isinstance(v, Table))
    rel = draw(st.sampled_from(names))
    return draw(_table_fault(rel, seed.files[rel], seed.keys))


# ------------------------------------------------------------------------- GeoJSON corruptions
@st.composite
def geojson_faults(draw, seed: Seed, code_property: str = "small_area_code") -> Fault:
    """One fault in a GeoJSON FeatureCollection (features are counted from 1)."""
    (rel, raw), = seed.files.items()
    doc = json.loads(raw)
    features = doc["features"]
    kinds = ["code", "code", "drop_property", "rename_property", "duplicate_feature", "geometry",
             "geometry", "crs", "no_features", "truncate", "encoding", "bom", "empty", "not_json",
             "extra_property"]
    kind = draw(st.sampled_from(kinds))
    event(f"fault: {kind}")

    def dump(d) -> bytes:
        return json.dumps(d, allow_nan=True).encode("utf-8")

    if kind == "code":
        i = draw(st.integers(0, len(features) - 1))
        value = draw(st.one_of(odd_value, st.integers(-(10**20), 10**20), st.none(), st.booleans(),
                               st.floats(), st.just([1, 2]), st.just({"a": 1})))
        features[i]["properties"][code_property] = value
        return Fault(kind, rel, f"feature {i + 1} code -> {str(value)[:40]!r}", column=code_property, row=i + 1,
                     locate_row=True, content=dump(doc))
    if kind == "drop_property":
        for f in features:
            f["properties"].pop(code_property, None)
        return Fault(kind, rel, f"{code_property!r} removed", column=code_property, content=dump(doc))
    if kind == "rename_property":
        new = draw(st.text(max_size=10))
        for f in features:
            f["properties"][new] = f["properties"].pop(code_property)
        return Fault(kind, rel, f"{code_property!r} -> {new!r}", column=code_property, content=dump(doc))
    if kind == "extra_property":
        name = _fresh_name(draw)
        # (GDAL reads integers up to 64 bits only: larger ones are a 'code' fault, not this)
        values = draw(st.lists(st.one_of(odd_value, st.integers(-(2**63), 2**63 - 1), st.none()),
                               min_size=len(features), max_size=len(features)))
        for f, v in zip(features, values, strict=True):
            f["properties"][name] = v
        return Fault(kind, rel, f"extra property {name!r}", benign=True, content=dump(doc))
    if kind == "duplicate_feature":
        i = draw(st.integers(0, len(features) - 1))
        features.append(json.loads(json.dumps(features[i])))
        return Fault(kind, rel, f"feature {i + 1} repeated", row=len(features), content=dump(doc))
    if kind == "geometry":
        i = draw(st.integers(0, len(features) - 1))
        ring = features[i]["geometry"]["coordinates"][0] if features[i]["geometry"]["type"] == "Polygon" \
            else features[i]["geometry"]["coordinates"][0][0]
        x, y = ring[0]
        choices = {
            "null": None,
            "point": {"type": "Point", "coordinates": [x, y]},
            "line": {"type": "LineString", "coordinates": ring[:3]},
            "empty polygon": {"type": "Polygon", "coordinates": []},
            "bow-tie": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y + 0.01], [x + 0.01, y], [x, y + 0.01], [x, y]]]},
            "spike": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x + 0.01, y + 0.02],
                                                          [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]},
            "unclosed": {"type": "Polygon", "coordinates": [ring[:-1]]},
            "two points": {"type": "Polygon", "coordinates": [[[x, y], [x, y]]]},
            "huge": {"type": "Polygon", "coordinates": [[[x, y], [1e300, y], [x, 1e300], [x, y]]]},
            "text": {"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"], ["a", "b"]]]},
            "collection": {"type": "GeometryCollection", "geometries": [features[i]["geometry"]]},
            "no type": {"coordinates": [ring]},
        }
        name = draw(st.sampled_from(sorted(choices)))
        event(f"geometry: {name}")
        features[i]["geometry"] = choices[name]
        return Fault(kind, rel, f"feature {i + 1} geometry {name}", column="geometry", row=i + 1,
                     content=dump(doc))
    if kind == "crs":
        choice = draw(st.sampled_from(["none", "EPSG:3857", "EPSG:27700", "nonsense", "EPSG:999999"]))
        if choice == "none":
            doc.pop("crs", None)
        else:
            doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{choice.replace(':', '::')}"
                                                         if choice.startswith("EPSG") else choice}}
        # a declared 27700 with WGS84 numbers, or none (GeoJSON's default is WGS84), still loads
        return Fault(kind, rel, f"crs {choice}", column="geometry", content=dump(doc))
    if kind == "no_features":
        doc["features"] = []
        return Fault(kind, rel, "no features", row=1, content=dump(doc))
    if kind == "truncate":
        whole = dump(doc)
        cut = draw(st.integers(1, len(whole) - 1))
        return Fault(kind, rel, f"cut at byte {cut} of {len(whole)}", content=whole[:cut])
    if kind == "encoding":
        i = draw(st.integers(0, len(features) - 1))
        features[i]["properties"]["name"] = draw(st.sampled_from(NON_ASCII))
        codec = draw(st.sampled_from(["cp1252", "utf-16", "utf-32"]))
        event(f"encoding: {codec}")
        return Fault(kind, rel, f"{codec}", content=json.dumps(doc, ensure_ascii=False).encode(codec))
    if kind == "bom":
        return Fault(kind, rel, "UTF-8 byte-order mark", content=codecs.BOM_UTF8 + dump(doc))
    if kind == "empty":
        return Fault(kind, rel, "zero bytes", content=b"")
    if kind == "not_json":
        data = draw(st.sampled_from([b"small_area_code\nX01000001\n", b"{", b"[]", b"null", b"<html></html>"]))
        return Fault(kind, rel, f"{data!r}", content=data)
    raise AssertionError(kind)  # pragma: no cover


# --------------------------------------------------------------------------- Excel corruptions
def _legal_in_xml(value) -> bool:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return not (isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value))


excel_value = st.one_of(
    odd_value.filter(_legal_in_xml),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    st.times(),
    st.booleans(),
    st.none(),
    st.sampled_from(["=1/0", "=NA()", "=A1", "#N/A", "#VALUE!", "#REF!"]),
)


@st.composite
def xlsx_faults(draw, seed: Seed) -> Fault:
    """One fault in an Excel (.xlsx) table: typed cells of the wrong kind, title rows above
    the header, a notes sheet first, missing columns, duplicated rows, a header too far
    down, an empty or broken workbook."""
    (rel, table), = seed.files.items()
    kinds = ["cell", "cell", "cell", "title_rows", "notes_first", "text_cells", "drop_column", "duplicate_row",
             "header_only", "header_too_low", "empty_sheet", "truncate", "not_a_workbook"]
    kind = draw(st.sampled_from(kinds))
    event(f"fault: {kind}")
    t = table.copy()
    if kind == "cell":
        r, c = _pick_cell(draw, t)
        value = draw(excel_value)
        typed = [_excel_value(v) for v in t.rows[r]]
        typed[c] = value
        rows = [[_excel_value(v) for v in row] for row in t.rows]
        rows[r] = typed
        book = Table(t.header, rows).to_xlsx(typed=False)
        return Fault(kind, rel, f"row {r + 2} column {t.header[c]!r}: {t.rows[r][c]!r} -> {str(value)[:40]!r}",
                     column=t.header[c], row=r + 2, locate_row=True, content=book)
    if kind == "title_rows":
        n = draw(st.integers(1, 6))
        above = [["Table 1: an extract"]] + [[""]] * (n - 1)
        return Fault(kind, rel, f"{n} title row(s) above the header", benign=True, content=t.to_xlsx(above=above))
    if kind == "notes_first":
        return Fault(kind, rel, "a notes sheet before the data", benign=True, content=t.to_xlsx(notes_first=True))
    if kind == "text_cells":
        return Fault(kind, rel, "every cell stored as text", benign=True, content=t.to_xlsx(typed=False))
    if kind == "drop_column":
        c = draw(st.integers(0, len(t.header) - 1))
        name = t.header.pop(c)
        for row in t.rows:
            del row[c]
        return Fault(kind, rel, f"column {name!r} removed", column=name, content=t.to_xlsx())
    if kind == "duplicate_row":
        r = draw(st.integers(0, len(t.rows) - 1))
        t.rows.insert(r, list(t.rows[r]))
        return Fault(kind, rel, f"row {r + 2} repeated", row=r + 3, content=t.to_xlsx())
    if kind == "header_only":
        t.rows = []
        return Fault(kind, rel, "no data rows", row=2, content=t.to_xlsx())
    if kind == "header_too_low":
        return Fault(kind, rel, "header on row 32", row=1, content=t.to_xlsx(above=[[""]] * 31))
    if kind == "empty_sheet":
        return Fault(kind, rel, "an empty sheet", row=1, content=Table([], []).to_xlsx())
    if kind == "truncate":
        whole = t.to_xlsx()
        # a fraction, not a byte count: a workbook's size varies with its save time
        cut = max(1, int(len(whole) * draw(st.floats(0.0, 0.99))))
        return Fault(kind, rel, f"workbook cut at byte {cut} of {len(whole)}", content=whole[:cut])
    if kind == "not_a_workbook":
        return Fault(kind, rel, "CSV text saved as .xlsx", content=t.to_bytes())
    raise AssertionError(kind)  # pragma: no cover
