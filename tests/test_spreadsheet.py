"""Workbooks and CSVs to the government standard for releasing statistics in spreadsheets.

Every test re-opens what was written with openpyxl (or pandas) and checks the rule
itself, not the writer's internals.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter, range_boundaries

from needs_assessment.publish import (
    DEFAULT_SHORTHAND,
    CoverSheet,
    SpreadsheetTable,
    published_frame,
    write_statistics_workbook,
    write_table_csvs,
)

CREATED = dt.datetime(2025, 3, 14, 9, 30)
PUBLISHED = dt.date(2025, 3, 14)


# --------------------------------------------------------------------------- fixtures
def treatment_table() -> SpreadsheetTable:
    frame = pd.DataFrame(
        {
            "Area": ["Anyshire", "Otherton", "Ynys Môn", "Elsewhere"],
            "Year": [2022, 2023, 2024, 2024],
            "Adults in treatment (number)": pd.array([1200, 3, None, 45], dtype="Int64"),
            "Rate per 100,000 population": [12.34, 0.5, np.nan, 101.25],
            "Proportion (%)": [50.0, 25.5, 10.0, 14.5],
            "Snapshot date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-31"]
            ),
            "Comment": ["Stable", "", "New service", None],
        }
    )
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    mask.loc[1, ["Adults in treatment (number)", "Rate per 100,000 population"]] = True
    return SpreadsheetTable(
        sheet_name="Table_1",
        title="Table 1: Adults in treatment by area, Anyshire, 2022 to 2024",
        frame=frame,
        units="Number of adults; rate per 100,000 population",
        source="National Drug Treatment Monitoring System (synthetic)",
        notes=("note 1", "note 2"),
        suppressed=mask,
        description="Adults in structured drug and alcohol treatment.",
    )


def substance_table() -> SpreadsheetTable:
    # As read back from a CSV that already holds markers: every cell is text.
    frame = pd.DataFrame(
        {
            "Substance group": ["Opiate", "Non-opiate", "Alcohol only"],
            "Adults (number)": ["310", "[c]", "1045"],
            "Share of adults (%)": ["22.5", "[c]", "77.5"],
            "Area code": ["E06000001", "E06000002", "007"],
        }
    ).set_index("Substance group")
    return SpreadsheetTable(
        sheet_name="Table_2",
        title="Table 2: Adults in treatment by substance group, Anyshire, 2024",
        frame=frame,
        notes=("note 1",),
    )


def cover() -> CoverSheet:
    return CoverSheet(
        title="Joint needs assessment of drug and alcohol harm: Anyshire, tables",
        summary=["Tables published with the joint needs assessment for Anyshire."],
        source="NDTMS, ONS mid-year population estimates",
        period="April 2022 to March 2024",
        published=PUBLISHED,
        contact=["Public health intelligence team", "Email: phi@example.org"],
        organisation="Anyshire County Council",
    )


NOTES = {
    "note 1": "Counts from 1 to 7, and any figure from which one could be worked out, are shown as [c].",
    "note 2": "Rates use ONS mid-year population estimates for adults aged 18 and over.",
}


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "tables.xlsx"
    out = write_statistics_workbook(
        path,
        cover=cover(),
        tables=[treatment_table(), substance_table()],
        notes=NOTES,
        created=CREATED,
    )
    assert out == path
    return path


@pytest.fixture(scope="module")
def wb(workbook_path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(workbook_path)


def table_of(ws):
    assert len(ws.tables) == 1, f"{ws.title} must hold exactly one table"
    return next(iter(ws.tables.values()))


def table_cells(ws):
    """(header row, data rows) of the sheet's one table, as cells."""
    min_col, min_row, max_col, max_row = range_boundaries(table_of(ws).ref)
    rows = list(ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col))
    return rows[0], rows[1:]


# --------------------------------------------------------------------------- structure
def test_sheet_order_cover_contents_notes_then_tables(wb):
    assert wb.sheetnames == ["Cover", "Contents", "Notes", "Table_1", "Table_2"]
    assert wb.active.title == "Cover"


def test_no_notes_sheet_without_notes(tmp_path):
    table = SpreadsheetTable(
        "Table_1", "Table 1: Counts", pd.DataFrame({"Count (number)": [10, 20]})
    )
    path = write_statistics_workbook(
        tmp_path / "t.xlsx", cover=cover(), tables=[table], created=CREATED
    )
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Cover", "Contents", "Table_1"]
    assert not any("Notes" in str(c.value) for c in book["Cover"]["A"] if c.value)


def test_no_merged_cells_and_no_frozen_panes_anywhere(wb):
    for ws in wb:
        assert not ws.merged_cells.ranges, ws.title
        assert ws.freeze_panes in (None, "A1"), ws.title


def test_table_sheets_title_in_a1_and_context_lines_in_column_a(wb):
    for name, title in [
        ("Table_1", "Table 1: Adults in treatment by area, Anyshire, 2022 to 2024"),
        ("Table_2", "Table 2: Adults in treatment by substance group, Anyshire, 2024"),
    ]:
        ws = wb[name]
        assert ws["A1"].value == title
        assert ws["A1"].font.b  # the title is the only bold line above the table
        _, header_row, _, _ = range_boundaries(table_of(ws).ref)
        assert ws["A2"].value == "This worksheet contains one table."
        for row in ws.iter_rows(min_row=1, max_row=header_row - 1):
            assert row[0].value, f"{name}: blank line above the table at row {row[0].row}"
            assert all(c.value is None for c in row[1:]), f"{name}: context beyond column A"
            if row[0].row > 1:
                assert not row[0].font.b
    lines = [ws_row[0].value for ws_row in wb["Table_1"].iter_rows(max_row=8)]
    assert "Units: Number of adults; rate per 100,000 population" in lines
    assert (
        "This table refers to [note 1] and [note 2]. The note text is on the Notes worksheet."
        in lines
    )
    assert "Source: National Drug Treatment Monitoring System (synthetic)" in lines
    assert any(
        str(v).startswith("Some cells contain shorthand: [c] = confidential")
        and "[x] = not available" in str(v)
        for v in lines
    )


def test_each_table_ref_covers_exactly_header_and_data(wb):
    expected = {"Table_1": treatment_table(), "Table_2": substance_table()}
    for name, table in expected.items():
        ws = wb[name]
        t = table_of(ws)
        min_col, min_row, max_col, max_row = range_boundaries(t.ref)
        n_cols = table.frame.shape[1] + (1 if table.frame.index.name else 0)
        assert (min_col, max_col) == (1, n_cols)
        assert max_row - min_row == len(table.frame)
        assert t.headerRowCount in (None, 1)
        assert ws.max_row == max_row and ws.max_column == max_col  # nothing below or beside
        header, rows = table_cells(ws)
        assert [c.value for c in header] == [col.name for col in t.tableColumns]
        for row in rows:  # no blank cells, rows or columns inside the table
            assert all(c.value is not None and c.value != "" for c in row)
    names = [table_of(wb[n]).displayName for n in wb.sheetnames[1:]]
    assert not wb["Cover"].tables
    assert len({n.lower() for n in names}) == len(names)
    assert table_of(wb["Table_1"]).displayName.startswith("table_1_adults_in_treatment")


def test_header_cells_are_wrapped_text(wb):
    for name in wb.sheetnames[1:]:
        header, _ = table_cells(wb[name])
        for cell in header:
            assert isinstance(cell.value, str) and cell.value.strip()
            assert cell.data_type == "s"
        if name.startswith("Table_"):
            assert all(c.alignment.wrap_text for c in header)
    header, _ = table_cells(wb["Table_2"])
    assert [c.value for c in header] == [
        "Substance group",
        "Adults (number)",
        "Share of adults (%)",
        "Area code",
    ]


def test_column_widths_are_set_and_sensible(wb):
    ws = wb["Table_1"]
    header, _ = table_cells(ws)
    for cell in header:
        letter = cell.column_letter
        dims = next(d for d in ws.column_dimensions.values() if d.min <= cell.column <= d.max)
        assert 8 <= dims.width <= 62, (letter, dims.width)


# --------------------------------------------------------------------------- cells
def test_numbers_are_numbers_with_number_formats(wb):
    header, rows = table_cells(wb["Table_1"])
    col = {c.value: i for i, c in enumerate(header)}
    first = rows[0]
    assert first[col["Year"]].value == 2022 and first[col["Year"]].number_format == "0"
    assert first[col["Adults in treatment (number)"]].value == 1200
    assert first[col["Adults in treatment (number)"]].number_format == "#,##0"
    assert first[col["Rate per 100,000 population"]].value == pytest.approx(12.34)
    assert first[col["Rate per 100,000 population"]].number_format == "#,##0.00"
    assert first[col["Proportion (%)"]].number_format == "#,##0.0"
    assert first[col["Snapshot date"]].value == dt.datetime(2024, 1, 1)
    assert first[col["Snapshot date"]].number_format == "yyyy-mm-dd"
    for row in rows:
        for name in (
            "Year",
            "Adults in treatment (number)",
            "Rate per 100,000 population",
            "Proportion (%)",
        ):
            cell = row[col[name]]
            assert cell.data_type == "n" or cell.value in ("[c]", "[x]"), (name, cell.value)
            if cell.data_type == "n":
                assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool)


def test_numeric_text_from_csv_becomes_numbers_but_codes_stay_text(wb):
    header, rows = table_cells(wb["Table_2"])
    values = [[c.value for c in row] for row in rows]
    assert values == [
        ["Opiate", 310, 22.5, "E06000001"],
        ["Non-opiate", "[c]", "[c]", "E06000002"],
        ["Alcohol only", 1045, 77.5, "007"],
    ]
    assert rows[0][1].data_type == "n" and rows[2][3].data_type == "s"


def test_suppressed_cells_hold_the_marker_and_missing_cells_hold_x(wb):
    header, rows = table_cells(wb["Table_1"])
    col = {c.value: i for i, c in enumerate(header)}
    otherton, ynys_mon, elsewhere = rows[1], rows[2], rows[3]
    assert otherton[col["Adults in treatment (number)"]].value == "[c]"  # suppressed value 3
    assert otherton[col["Rate per 100,000 population"]].value == "[c]"
    assert ynys_mon[col["Adults in treatment (number)"]].value == "[x]"  # NA, not suppressed
    assert ynys_mon[col["Rate per 100,000 population"]].value == "[x]"
    assert otherton[col["Comment"]].value == "[x]"  # blank text
    assert elsewhere[col["Comment"]].value == "[x]"
    assert ynys_mon[col["Area"]].value == "Ynys Môn"
    assert all(c.value != 3 for row in rows for c in row[2:3])  # the hidden count never leaks


def test_cover_sheet(wb):
    ws = wb["Cover"]
    assert ws["A1"].value == cover().title
    assert ws["A1"].font.b and ws["A1"].font.sz >= 14
    for row in ws.iter_rows(min_row=2):
        assert all(c.value is None for c in row[1:]), "cover text must stay in column A"
        if row[0].value is not None:
            assert row[0].font.sz <= ws["A1"].font.sz
    text = [c.value for c in ws["A"] if c.value]
    body = "\n".join(text)
    for marker, meaning in DEFAULT_SHORTHAND.items():
        assert f"{marker} = {meaning}" in text
    assert "This workbook contains 2 tables, each on its own sheet (Table_1 to Table_2)." in body
    assert "Source: NDTMS, ONS mid-year population estimates" in text
    assert "Period covered: April 2022 to March 2024" in text
    assert "Date published: 14 March 2025" in text
    assert "Notes worksheet" in body
    assert "Email: phi@example.org" in text
    assert "Anyshire County Council" in text


def test_contents_is_a_table_with_working_internal_links(wb):
    ws = wb["Contents"]
    assert ws["A1"].value == "Contents"
    header, rows = table_cells(ws)
    assert [c.value for c in header] == ["Sheet name", "Table title"]
    listed = [row[0].value for row in rows]
    assert listed == ["Notes", "Table_1", "Table_2"]
    for row in rows:
        link = row[0].hyperlink
        assert link is not None and link.location
        match = re.fullmatch(r"'?([^'!]+)'?!A1", link.location)
        assert match and match.group(1) == row[0].value
        assert match.group(1) in wb.sheetnames
    assert rows[1][1].value == "Table 1: Adults in treatment by area, Anyshire, 2022 to 2024"


def test_notes_sheet_is_a_table_of_number_and_text(wb):
    ws = wb["Notes"]
    assert ws["A1"].value == "Notes"
    header, rows = table_cells(ws)
    assert [c.value for c in header] == ["Note number", "Note text"]
    assert [[c.value for c in row] for row in rows] == [
        ["[note 1]", NOTES["note 1"]],
        ["[note 2]", NOTES["note 2"]],
    ]


def test_workbook_properties(wb):
    assert wb.properties.title == cover().title
    assert wb.properties.creator == "Anyshire County Council"
    assert wb.properties.created == CREATED


# --------------------------------------------------------------------------- round trips
def test_read_excel_round_trip(workbook_path, wb):
    _, header_row, _, _ = range_boundaries(table_of(wb["Table_1"]).ref)
    read = pd.read_excel(workbook_path, sheet_name="Table_1", skiprows=header_row - 1, dtype=object)
    expected = published_frame(treatment_table())
    assert list(read.columns) == list(expected.columns)
    assert len(read) == len(expected)
    for col in expected.columns:
        for got, want in zip(read[col].tolist(), expected[col].tolist(), strict=True):
            if isinstance(want, float):
                assert got == pytest.approx(want)
            else:
                assert got == want, (col, got, want)


def test_csvs_match_the_workbook(tmp_path, wb):
    paths = write_table_csvs(tmp_path / "csv", [treatment_table(), substance_table()])
    assert [p.name for p in paths] == ["table_1.csv", "table_2.csv"]
    raw = paths[0].read_bytes()
    assert raw.decode("utf-8").splitlines()[0].startswith("Area,Year,Adults in treatment (number),")
    assert b"\r\n" not in raw and "Ynys Môn".encode() in raw
    read = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert "Unnamed: 0" not in read.columns  # no index
    assert read.loc[1, "Adults in treatment (number)"] == "[c]"
    assert read.loc[2, "Adults in treatment (number)"] == "[x]"
    assert read.loc[0, "Adults in treatment (number)"] == "1200"
    assert read.loc[0, "Snapshot date"] == "2024-01-01"
    assert (read != "").all().all()
    # the same cells as the workbook
    header, rows = table_cells(wb["Table_2"])
    table2 = pd.read_csv(paths[1], dtype=str, keep_default_na=False)
    assert list(table2.columns) == [c.value for c in header]
    assert table2.to_numpy().tolist() == [[str(c.value) for c in row] for row in rows]


def test_republishing_a_published_csv_gives_the_same_cells(tmp_path):
    """The pipeline's path: a CSV with markers read back by pandas (numbers and dates as
    text in the marked columns) must give the same workbook cells as the original."""
    table = treatment_table()
    (csv,) = write_table_csvs(tmp_path, [table])
    again = published_frame(
        SpreadsheetTable(
            table.sheet_name, table.title, pd.read_csv(csv, keep_default_na=False, na_values=[""])
        )
    )
    original = published_frame(table)
    assert list(again.columns) == list(original.columns)
    for col in original.columns:
        for got, want in zip(again[col].tolist(), original[col].tolist(), strict=True):
            assert type(got) is type(want), (col, got, want)
            assert got == (pytest.approx(want) if isinstance(want, float) else want)


# --------------------------------------------------------------------------- determinism
def test_same_inputs_and_created_give_byte_identical_files(tmp_path):
    """Byte-identical, not just cell-identical: XlsxWriter stamps every zip member with a
    fixed 1980 date and takes the core properties' dates from ``created``."""
    a = write_statistics_workbook(
        tmp_path / "a.xlsx", cover=cover(), tables=[treatment_table()], notes=NOTES, created=CREATED
    )
    b = write_statistics_workbook(
        tmp_path / "b.xlsx", cover=cover(), tables=[treatment_table()], notes=NOTES, created=CREATED
    )
    assert a.read_bytes() == b.read_bytes()
    # without `created`, the date comes from cover.published, so it is still reproducible
    c = write_statistics_workbook(
        tmp_path / "c.xlsx", cover=cover(), tables=[treatment_table()], notes=NOTES
    )
    d = write_statistics_workbook(
        tmp_path / "d.xlsx", cover=cover(), tables=[treatment_table()], notes=NOTES
    )
    assert c.read_bytes() == d.read_bytes()
    assert openpyxl.load_workbook(c).properties.created == dt.datetime(2025, 3, 14)
    e = write_statistics_workbook(
        tmp_path / "e.xlsx",
        cover=cover(),
        tables=[treatment_table()],
        notes=NOTES,
        created=CREATED + dt.timedelta(days=1),
    )
    assert e.read_bytes() != a.read_bytes()


def test_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    import gptables

    path = write_statistics_workbook(
        tmp_path / "tables.xlsx",
        cover=cover(),
        tables=[treatment_table()],
        notes=NOTES,
        created=CREATED,
    )
    before = path.read_bytes()

    def boom(*args, **kwargs):
        Path(kwargs["filename"]).write_bytes(b"half a workbook")
        raise RuntimeError("disk full")

    monkeypatch.setattr(gptables, "produce_workbook", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_statistics_workbook(path, cover=cover(), tables=[simple()], created=CREATED)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables.xlsx"]


# --------------------------------------------------------------------------- bad input
def simple(sheet="Table_1", **kw) -> SpreadsheetTable:
    kw.setdefault("frame", pd.DataFrame({"Area": ["A", "B"], "Count (number)": [10, 20]}))
    return SpreadsheetTable(sheet, kw.pop("title", f"{sheet}: counts"), **kw)


def write(tmp_path, tables, **kw):
    kw.setdefault("cover", cover())
    return write_statistics_workbook(tmp_path / "bad.xlsx", tables=tables, created=CREATED, **kw)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ([simple("Table_1"), simple("table_1")], "duplicate sheet name"),
        ([simple("T" * 32)], "31 characters"),
        ([simple("Table 1")], "letters, digits"),
        ([simple("Table/1")], "letters, digits"),
        ([simple("Tab[1]")], "letters, digits"),
        ([simple("Tab:1")], "letters, digits"),
        ([simple("")], "non-empty"),
        ([simple("Notes")], "reserved"),
        ([simple("Contents")], "reserved"),
        ([], "at least one table"),
        ([simple(title="  ")], "title must not be blank"),
        ([simple(frame=pd.DataFrame({"A": []}))], "no rows"),
        ([simple(frame=pd.DataFrame(index=[0, 1]))], "no columns"),
        ([simple(frame=pd.DataFrame([[1, 2]], columns=["A", "A"]))], "duplicate column header"),
        (
            [simple(frame=pd.DataFrame([[1, 2]], columns=["Count", "count"]))],
            "duplicate column header",
        ),
        ([simple(frame=pd.DataFrame([[1, 2]], columns=["A", "B" * 256]))], "255 characters"),
        ([simple(frame=pd.DataFrame([[1, 2]], columns=["A", " "]))], "needs a header"),
        ([simple(frame=pd.DataFrame({"Rate": [1.0, np.inf]}))], "not a finite number"),
        ([simple(frame=pd.DataFrame({"Flag": ["ok", "-"]}))], "no letters or digits"),
        (
            [simple(frame=pd.DataFrame({"Count": [1, "[q]"]}))],
            "shorthand '\\[q\\]' is not explained",
        ),
        ([simple(frame=pd.DataFrame({"Cost $$": [1]}))], "placeholder"),
        ([simple(frame=pd.DataFrame({"Text": ["see [here](http://x)"]}))], "hyperlink"),
        ([simple(notes=("note 9",))], r"refers to \[note 9\]"),
        ([simple(notes="note 1")], "tuple of note ids"),
        ([simple(table_name="A1")], "cell reference"),
        ([simple(table_name="my table")], "must start with a letter"),
        ([simple(table_name="notes_table")], "reserved"),
        (
            [simple("Table_1", table_name="t_x"), simple("Table_2", table_name="T_X")],
            "duplicate table name",
        ),
        ([simple(number_formats={"Nope": "0"})], "unknown columns"),
        ([simple(suppressed_marker="c")], "shorthand like"),
    ],
)
def test_bad_input_raises_clear_value_error(tmp_path, tables, message):
    with pytest.raises(ValueError, match=message):
        write(tmp_path, tables)
    assert not (tmp_path / "bad.xlsx").exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_suppression_masks(tmp_path):
    frame = pd.DataFrame({"Area": ["A", "B"], "Count (number)": [10, 3]})
    wrong_shape = pd.DataFrame({"Count (number)": [False, True]})
    with pytest.raises(ValueError, match="shape"):
        write(tmp_path, [simple(frame=frame, suppressed=wrong_shape)])
    wrong_labels = pd.DataFrame({"Area": [False, False], "Counts": [False, True]})
    with pytest.raises(ValueError, match="row and column labels"):
        write(tmp_path, [simple(frame=frame, suppressed=wrong_labels)])
    wrong_index = pd.DataFrame(
        {"Area": [False, False], "Count (number)": [False, True]}, index=[5, 6]
    )
    with pytest.raises(ValueError, match="row and column labels"):
        write(tmp_path, [simple(frame=frame, suppressed=wrong_index)])
    not_bool = pd.DataFrame({"Area": [0, 0], "Count (number)": [0, 1]})
    with pytest.raises(ValueError, match="not boolean"):
        write(tmp_path, [simple(frame=frame, suppressed=not_bool)])
    with_na = pd.DataFrame(
        {"Area": [False, False], "Count (number)": pd.array([None, True], dtype="boolean")}
    )
    with pytest.raises(ValueError, match="NA"):
        write(tmp_path, [simple(frame=frame, suppressed=with_na)])


def test_bad_cover_notes_and_path(tmp_path):
    with pytest.raises(ValueError, match=r"\.xlsx"):
        write_statistics_workbook(tmp_path / "t.xls", cover=cover(), tables=[simple()])
    with pytest.raises(ValueError, match="cover title"):
        write(tmp_path, [simple()], cover=CoverSheet(title=""))
    with pytest.raises(ValueError, match="shorthand like"):
        write(tmp_path, [simple()], cover=CoverSheet(title="T", shorthand={"c": "confidential"}))
    with pytest.raises(ValueError, match="not explained"):
        write(
            tmp_path,
            [simple(frame=pd.DataFrame({"N": [1, None]}))],
            cover=CoverSheet(title="T", shorthand={"[c]": "confidential"}),
        )
    with pytest.raises(ValueError, match="given twice"):
        write(tmp_path, [simple()], notes={"note 1": "a", "[note 1]": "b"})
    with pytest.raises(ValueError, match="must not be blank"):
        write(tmp_path, [simple()], notes={"note 1": " "})


# --------------------------------------------------------------------------- details
def test_named_index_is_written_and_unnamed_index_dropped(tmp_path):
    named = pd.DataFrame(
        {"Count (number)": [1000, 2000]}, index=pd.Index(["North", "South"], name="District")
    )
    unnamed = pd.DataFrame({"Count (number)": [1000, 2000]}, index=[10, 11])
    assert list(published_frame(simple(frame=named)).columns) == ["District", "Count (number)"]
    assert list(published_frame(simple(frame=unnamed)).columns) == ["Count (number)"]


def test_number_formats_override_and_whole_floats_become_integers(tmp_path):
    frame = pd.DataFrame({"Count (number)": [10.0, 2000.0], "Share (proportion)": [0.1234, 0.5]})
    table = simple(frame=frame, number_formats={"Share (proportion)": "0.0%"})
    out = published_frame(table)
    assert out["Count (number)"].tolist() == [10, 2000] and isinstance(out.iloc[0, 0], int)
    book = openpyxl.load_workbook(write(tmp_path, [table]))
    _, rows = table_cells(book["Table_1"])
    assert rows[0][0].number_format == "#,##0" and rows[0][1].number_format == "0.0%"


def test_year_columns_have_no_thousands_separator_but_counts_of_years_do(tmp_path):
    frame = pd.DataFrame(
        {"Financial year ending": [2023, 2024], "Years of life lost (number)": [2023, 15000]}
    )
    _, rows = table_cells(openpyxl.load_workbook(write(tmp_path, [simple(frame=frame)]))["Table_1"])
    assert [c.number_format for c in rows[0]] == ["0", "#,##0"]


def test_timezone_aware_dates_are_written_in_utc(tmp_path):
    when = pd.to_datetime(["2024-06-01 12:30"]).tz_localize("Europe/London")
    table = simple(frame=pd.DataFrame({"Extracted at": when, "Count (number)": [5]}))
    _, rows = table_cells(openpyxl.load_workbook(write(tmp_path, [table]))["Table_1"])
    assert rows[0][0].value == dt.datetime(2024, 6, 1, 11, 30)
    assert rows[0][0].number_format == "yyyy-mm-dd hh:mm"


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    table = simple(
        frame=pd.DataFrame({"Recommendation": ["=SUM(A1:A2) is not a formula", "Fund outreach"]})
    )
    _, rows = table_cells(openpyxl.load_workbook(write(tmp_path, [table]))["Table_1"])
    assert rows[0][0].value == "=SUM(A1:A2) is not a formula" and rows[0][0].data_type == "s"


# --------------------------------------------------------------------------- property
cell_values = st.one_of(
    st.none(),
    st.integers(-(10**9), 10**9),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.lists(st.lists(cell_values, min_size=3, max_size=3), min_size=1, max_size=6),
    hide=st.lists(st.booleans(), min_size=18, max_size=18),
)
def test_every_cell_is_a_number_or_a_marker(tmp_path, data, hide):
    frame = pd.DataFrame(data, columns=["A (number)", "B (number)", "C (number)"], dtype=object)
    mask = pd.DataFrame(
        np.array(hide[: frame.size], dtype=bool).reshape(frame.shape),
        index=frame.index,
        columns=frame.columns,
    )
    path = write_statistics_workbook(
        tmp_path / "p.xlsx",
        cover=cover(),
        tables=[simple(frame=frame, suppressed=mask)],
        created=CREATED,
    )
    _, rows = table_cells(openpyxl.load_workbook(path)["Table_1"])
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            value = data[i][j]
            if mask.iat[i, j]:
                assert cell.value == "[c]"
            elif value is None:
                assert cell.value == "[x]"
            else:
                assert cell.data_type == "n" and cell.value == pytest.approx(value)
    assert get_column_letter(len(rows[0])) == "C"
