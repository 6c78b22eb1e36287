"""Publishing helpers: statistics spreadsheets and CSVs to the government standard."""

from needs_assessment.publish.spreadsheet import (
    DEFAULT_SHORTHAND,
    CoverSheet,
    SpreadsheetTable,
    published_frame,
    write_statistics_workbook,
    write_table_csvs,
)

__all__ = [
    "DEFAULT_SHORTHAND",
    "CoverSheet",
    "SpreadsheetTable",
    "published_frame",
    "write_statistics_workbook",
    "write_table_csvs",
]
