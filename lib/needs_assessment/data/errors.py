"""Input-data errors that name the file, the column, the row(s) and what was expected.

Rows are spreadsheet row numbers: the header is row 1, so the first data row is row 2 (for
an Excel sheet whose header sits lower down, the sheet's own row numbers). Boundary files
count features from 1. At most :data:`MAX_ROWS_SHOWN` rows are listed, then "and N more".

One :class:`InputDataError` can hold problems from several files: loaders collect every
problem in a file before raising, and :func:`needs_assessment.data.load_area` collects the
problems of every file (plus cross-file checks) into one error before any analysis runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "MAX_ROWS_SHOWN",
    "InputDataError",
    "Problem",
    "format_rows",
    "problems_from_schema_errors",
]

#: How many row numbers a message lists before "and N more".
MAX_ROWS_SHOWN = 10


def format_rows(rows: Sequence[int], unit: str = "row", limit: int = MAX_ROWS_SHOWN) -> str:
    """``'rows 2, 5, 9 and 3 more'`` (sorted, de-duplicated)."""
    unique = sorted({int(r) for r in rows})
    if not unique:
        return ""
    shown = ", ".join(str(r) for r in unique[:limit])
    more = len(unique) - limit
    plural = unit + "s" if len(unique) > 1 else unit
    text = f"{plural} {shown}"
    if more > 0:
        text += f" and {more} more"
    return text


@dataclass(frozen=True)
class Problem:
    """One problem in one file: where (file, column, rows) and what was expected."""

    file: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    unit: str = "row"
    #: The dataset (params key) the file belongs to, e.g. ``treatment_episodes``.
    dataset: str | None = None

    def render(self) -> str:
        where = [self.file]
        if self.column:
            where.append(f"column {self.column}" if self.column.startswith("'") else f"column '{self.column}'")
        if self.rows:
            where.append(format_rows(self.rows, self.unit))
        return f"{', '.join(where)}: {self.message}"

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.render()


@dataclass
class _Collected:
    problems: list[Problem] = field(default_factory=list)


class InputDataError(ValueError):
    """Input files break the data contract.

    The message lists every problem, one per line, each naming the file, the column, the
    spreadsheet row numbers and what was expected. ``problems`` holds them as
    :class:`Problem` objects; ``files`` the distinct file names involved.
    """

    def __init__(self, problems: Problem | str | Iterable[Problem], *, file: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(file=file or "input data", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = _dedupe(list(problems))
        super().__init__(self._compose())

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(p.file for p in self.problems))

    def _compose(self) -> str:
        n = len(self.problems)
        if n == 0:
            return "Input data problem (no details)"
        files = self.files
        if n == 1:
            head = "Input data problem, so the run stopped before any analysis:"
        else:
            in_files = f"in {len(files)} files" if len(files) > 1 else f"in {files[0]}"
            head = f"{n} input data problems {in_files}, so the run stopped before any analysis:"
        lines = [head]
        lines += [f"  - {p.render()}" for p in self.problems]
        lines.append("Input files were not changed; correct them and run again.")
        return "\n".join(lines)

    @classmethod
    def combine(cls, errors: Iterable[InputDataError | Problem]) -> InputDataError:
        """One error holding the problems of several (e.g. one per file)."""
        problems: list[Problem] = []
        for item in errors:
            problems.extend(item.problems if isinstance(item, InputDataError) else [item])
        return cls(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen = set()
    out = []
    for p in problems:
        key = (p.file, p.column, p.rows, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# --------------------------------------------------------------------------------------------
# pandera -> Problems
# --------------------------------------------------------------------------------------------
def _plain_check(check: str, column: str | None) -> str:
    """Turn a pandera check identifier into plain English (custom checks carry their own)."""
    if check == "not_nullable":
        return "missing value (a value is required)"
    if check == "field_uniqueness" or check.startswith("unique"):
        return "duplicate value (each value must be unique)"
    if check == "column_in_dataframe":
        return "required column is missing"
    if check.startswith("column_in_schema"):
        return "unexpected column"
    if check.startswith("dtype("):
        return f"wrong type: expected {check[6:-1].strip(chr(39))}"
    if check.startswith("greater_than_or_equal_to("):
        return f"must be {check[25:-1]} or more"
    if check.startswith("greater_than("):
        return f"must be more than {check[13:-1]}"
    if check.startswith("less_than_or_equal_to("):
        return f"must be {check[22:-1]} or less"
    if check.startswith("in_range("):
        lo, _, hi = check[9:-1].partition(",")
        return f"must be between {lo.strip()} and {hi.strip()}"
    if check.startswith("isin("):
        return "unknown code (expected one of: " + check[6:-2].replace("'", "") + ")"
    if check.startswith("str_matches("):
        return f"does not match the expected pattern {check[12:-1]}"
    if check.startswith("str_length("):
        return f"wrong length {check[11:-1]}"
    return check


def _sample(values: Iterable, limit: int = 3) -> str:
    shown = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            continue
        text = v.date().isoformat() if isinstance(v, pd.Timestamp) and v == v.normalize() else str(v)
        if text not in shown:
            shown.append(text)
        if len(shown) >= limit:
            break
    return ", ".join(repr(s) for s in shown)


def problems_from_schema_errors(
    failure_cases: pd.DataFrame,
    *,
    locate: Callable[[np.ndarray], list[tuple[str, tuple[int, ...]]]],
    file: str,
    display_column: Callable[[str], str] = lambda c: c,
    cross_checks: dict[str, str] | None = None,
    unique_columns: Sequence[str] | None = None,
    skip: set[tuple[str, int]] | None = None,
    skip_rows: set[int] | None = None,
    cross_inputs: dict[str, Sequence[str]] | None = None,
    dataset: str | None = None,
    unit: str = "row",
) -> list[Problem]:
    """Convert pandera's lazy ``SchemaErrors.failure_cases`` into :class:`Problem` objects.

    ``locate`` turns positional row indices into ``[(file name, spreadsheet rows), ...]`` (one
    entry per source file); ``cross_checks`` maps a DataFrame-level check's message to the
    column it is reported against (pandera reports such checks once per column);
    ``unique_columns`` are the columns of a combined-uniqueness rule; ``skip`` holds
    ``(column, position)`` pairs and ``skip_rows`` positions already reported by the loader's
    own parsing, so one bad cell is reported once; ``cross_inputs`` names the columns each
    cross-field check reads, so a row already wrong in one of them is not reported twice.
    """
    cross_checks = cross_checks or {}
    skip = skip or set()
    skip_rows = skip_rows or set()
    problems: list[Problem] = []
    fc = failure_cases.copy()
    fc["check"] = fc["check"].astype(str)
    fc["column"] = fc["column"].astype(object)
    unique_columns = list(unique_columns or [])
    # Rows already wrong in a single column are not reported again by cross-field checks
    # (a referral date in the future need not also be "after the discharge date").
    is_column_check = (fc["schema_context"] == "Column") & ~fc["check"].isin(["not_nullable"])
    column_rows: dict[str, set[int]] = {}
    for col, idx in zip(fc.loc[is_column_check, "column"], fc.loc[is_column_check, "index"], strict=True):
        if idx is not None and not (isinstance(idx, float) and np.isnan(idx)):
            column_rows.setdefault(str(col), set()).add(int(idx))
    cross_inputs = cross_inputs or {}
    for (context, column, check), group in fc.groupby(
        ["schema_context", "column", "check"], dropna=False, sort=False
    ):
        if column is None or (isinstance(column, float) and np.isnan(column)):
            column = None
        else:
            column = str(column)
        is_cross = context == "DataFrameSchema" and check in cross_checks
        if is_cross and column != cross_checks[check]:
            continue
        if check == "multiple_fields_uniqueness":
            if unique_columns and column != unique_columns[0]:
                continue
            cols = ", ".join(display_column(c).split(" (")[0] for c in unique_columns) or "key columns"
            message = f"duplicate rows: the same combination of {cols} appears more than once"
        elif check == "column_in_dataframe":
            missing = ", ".join(str(v) for v in group["failure_case"])
            problems.append(
                Problem(file, "required column is missing", column=missing, rows=(1,), dataset=dataset)
            )
            continue
        elif is_cross:
            message = check
        else:
            message = _plain_check(check, column)
            found = _sample(group["failure_case"])
            if found and check == "field_uniqueness":
                message = f"duplicate value {found} (expected each value once)"
            elif found and check != "not_nullable":
                message += f" (found {found})"
        positions = pd.to_numeric(group["index"], errors="coerce").dropna().astype(np.int64).to_numpy()
        had_rows = len(positions) > 0
        if had_rows and (skip or skip_rows or (is_cross and cross_inputs)):
            if is_cross or check == "multiple_fields_uniqueness":
                also = set().union(*(column_rows.get(c, set()) for c in cross_inputs.get(check, ())))
                keep = [p for p in positions if p not in skip_rows and p not in also]
            else:
                keep = [p for p in positions if (column, p) not in skip]
            positions = np.asarray(keep, dtype=np.int64)
            if len(positions) == 0:
                continue
        col_text = display_column(column) if column else None
        if not had_rows:
            problems.append(Problem(file, message, column=col_text, dataset=dataset))
            continue
        for fname, rows in locate(np.unique(positions)):
            problems.append(Problem(fname, message, column=col_text, rows=rows, dataset=dataset, unit=unit))
    return problems
