"""Statistical disclosure control (SDC) for every published table and figure label.

Tables in this workbook are counted from record-level drug and alcohol treatment data, so
no published number may let a reader single out a person. Every table goes through

1. :func:`protect_table` — *primary suppression* of counts from 1 to ``threshold - 1``
   (and of zeros where the policy says zeros are disclosive), *secondary (complementary)
   suppression* so that no hidden count can be worked out by subtraction from a row,
   column or group total, suppression of every rate, interval or percentage computed from
   a hidden count, and optional rounding of what is left;
2. :func:`check_publishable` — the last gate before anything is written: it raises
   :class:`DisclosureError`, naming the table, row and column, if the table breaks a
   rule;
3. :func:`to_published` — hidden cells rendered as the marker ``[c]`` for CSV, Excel and
   HTML.

:func:`find_disclosive_cells` scans an already-written table (numbers or text) for
visible small counts, and :func:`count_label` / :func:`safe_plot_values` protect chart
annotations and bar heights.

Guidance followed
-----------------
* GSS / ONS *Statistical disclosure control* guidance, including the GSS *Disclosure
  control guidance for tables produced from administrative sources*: a threshold rule on
  counts (primary suppression) must be accompanied by secondary suppression so that
  suppressed cells cannot be derived from totals or by differencing. Requiring the hidden
  cells of a line to add up to at least the threshold as well (so a reader cannot learn
  that a small group sits among them) is common practice and is applied here.
* NHS Digital (now NHS England), *Hospital Episode Statistics analysis guide*: counts
  from 1 to 7 are replaced by ``*`` and other counts may be rounded to the nearest 5 —
  the threshold here is configurable (``threshold=8`` reproduces the HES rule,
  ``rounding_base=5`` its rounding).
* OHID / NDTMS practice for treatment statistics: counts below 5 are suppressed, with
  secondary suppression where a suppressed value could be recovered from totals, and
  rates and percentages from suppressed counts are not shown.
* Government Analysis Function, *Releasing statistics in spreadsheets*: use the
  shorthand ``[c]`` ("confidential information") for a suppressed value, ``[x]`` for
  not available, ``[z]`` for not applicable; never leave a suppressed cell blank.

What "protected" means here
---------------------------
A table is described by a :class:`TableSpec`. Its *additive lines* are: each row across
the part columns and their total column (``column_totals``); each count column down the
member rows of a group and the group's total row (``total_row``); and, when a group has
no total row but ``assume_totals_published`` is true (the conservative default), each
count column down the group's rows with an *implicit* total assumed to be published
elsewhere. Total rows of different groups with the same value (a long table stacking
several breakdowns of one population) are linked as one quantity. After
:func:`protect_table`:

* no visible count is disclosive (1..threshold-1, or 0 when ``publish_zeros`` is false);
* every additive line has either no hidden cell or at least two, and where its total is
  visible the hidden cells add up to at least the threshold (so the line does not reveal
  a small group either);
* no hidden cell can be recovered *exactly* by any linear combination of the lines
  (checked against the row space of the system of lines, so patterns that pass the
  "two per line" rule but can still be solved, such as a bridge between two cycles, are
  caught and given a further complement);
* derived columns (rates, intervals, percentages) are hidden wherever any of their
  source counts is hidden;
* counts listed in ``complements`` (e.g. ``successful completions`` of ``in
  treatment``) are hidden when the difference ``whole - part`` is itself disclosive.

Complements are chosen greedily: the smallest visible non-zero cell in the line (the
smallest one that lifts the hidden total to the threshold, if any), then the line's
total, and a zero only as a last resort, repeated to a fixed point. This is the usual
hand-method heuristic, not an optimal (least information loss) solution; tau-Argus style
optimisation is out of scope for tables of this size.

What it does not do (the caller's job)
--------------------------------------
* **Linked tables** are not protected jointly: two tables (or a table and a figure, or a
  number in the text) that share cells or margins can be differenced against each other.
  Publish each count in one table only, publish other breakdowns of the same population
  with the same totals (and protect them in one :func:`protect_table` call by stacking
  them in one long table with ``group_columns``), or make sure shared totals are not
  suppressed in one place and shown in another.
* **Implicit totals** (``assume_totals_published``) are known only by assumption: if that
  total is itself small, or a group has a single row, the total published elsewhere must
  be suppressed there.
* **Interval (linear programming) attacks** using non-negativity are only partly covered
  (by the "hidden cells add up to at least the threshold" rule and the preference for
  non-zero complements); exact recovery is fully covered.
* **Rounding is not protection on its own**: rounded counts can often be un-rounded from
  totals, and a rate with a published denominator gives the count back. Rounding is
  applied *after* suppression, totals are rounded independently (so they may not equal
  the sum of rounded parts), and a rounded non-zero count is never shown as 0 or as a
  value below the threshold.
* Derived values that depend on a cell in *another* row (e.g. a percentage of the group
  total) follow only their own row's counts; list every same-row count they use.
* Hierarchies of subtotals within one group are not modelled: give each level its own
  group (``group_columns``).
* Missing counts (NA, shown as ``[x]``) are treated as if the reader knew them, which is
  conservative: they never count as a second hidden cell.

Why hand-written
----------------
No maintained Python package does threshold plus secondary suppression for small
aggregate tables without external software: ``sdcTable`` and ``GaussSuppression`` (the
reference implementations) are R packages; ``piargus`` is a wrapper that needs the
tau-Argus executable, which cannot be installed from a package registry; ``acro`` (AI-SDC,
PyPI) checks research outputs built from microdata with its own ``crosstab``/
``pivot_table`` and handles margins by recomputing totals from unsuppressed cells rather
than by complementary suppression, so published totals would no longer be the true
totals. The rules needed here are small and well defined, and are tested with worked examples
and hypothesis property tests (``tests/test_sdc*.py``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MARKER",
    "DisclosiveCell",
    "DisclosureError",
    "DisclosureProblem",
    "DisclosureRules",
    "ProtectedTable",
    "TableSpec",
    "check_publishable",
    "count_label",
    "find_disclosive_cells",
    "protect_table",
    "safe_plot_values",
    "to_published",
]

#: The Analysis Function spreadsheet shorthand for "confidential information".
DEFAULT_MARKER = "[c]"

#: Other shorthand that means "no value shown, but not suppressed": not available / not
#: applicable. Treated like NA when a published table is read back.
UNAVAILABLE_MARKERS = frozenset({"[x]", "[z]", ""})

_MAX_PROBLEMS_IN_MESSAGE = 10


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class DisclosureRules:
    """The disclosure policy for a run.

    ``threshold``: counts from 1 to ``threshold - 1`` are suppressed (5 → 1-4 hidden).
    ``publish_zeros``: if false, zero counts are suppressed too (e.g. where "nobody in
    this group" is itself sensitive). ``rounding_base``: if set, visible counts are
    rounded to the nearest multiple after suppression; rounding alone is not protection.
    ``marker``: text shown for a suppressed cell.
    """

    threshold: int = 5
    publish_zeros: bool = True
    rounding_base: int | None = None
    marker: str = DEFAULT_MARKER

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | np.integer):
            raise TypeError(f"threshold must be an integer, not {self.threshold!r}")
        if self.threshold < 1:
            raise ValueError(f"threshold must be at least 1, not {self.threshold}")
        object.__setattr__(self, "threshold", int(self.threshold))
        if self.rounding_base is not None:
            if isinstance(self.rounding_base, bool) or not isinstance(
                self.rounding_base, int | np.integer
            ):
                raise TypeError(
                    f"rounding_base must be an integer or None, not {self.rounding_base!r}"
                )
            if self.rounding_base < 2:
                raise ValueError(f"rounding_base must be at least 2, not {self.rounding_base}")
            object.__setattr__(self, "rounding_base", int(self.rounding_base))
        if not isinstance(self.marker, str) or not self.marker.strip():
            raise ValueError("marker must be a non-empty string")
        if self.marker in UNAVAILABLE_MARKERS:
            raise ValueError(
                f"marker {self.marker!r} is reserved for values that are not available"
            )

    @classmethod
    def from_params(cls, params: Any) -> DisclosureRules:
        """Rules from ``RunParams.disclosure`` (or any object/mapping with the same fields)."""
        if isinstance(params, DisclosureRules):
            return params
        if isinstance(params, Mapping):
            data = dict(params)
        else:
            data = {
                name: getattr(params, name)
                for name in ("threshold", "publish_zeros", "rounding_base", "marker")
                if hasattr(params, name)
            }
        return cls(**data)

    def is_disclosive(self, value: Any) -> bool:
        """Whether a single visible count would break the threshold rule."""
        try:
            if value is None or pd.isna(value):
                return False
        except (TypeError, ValueError):
            return False
        v = float(value)
        return (0 < v < self.threshold) or (v == 0 and not self.publish_zeros)

    def _disclosive_array(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            small = (values > 0) & (values < self.threshold)
            if not self.publish_zeros:
                small |= values == 0
        return small & ~np.isnan(values)

    def round_count(self, value: float) -> float:
        """Round a visible count to ``rounding_base`` (half up); never to 0 or below the
        threshold for a non-zero count, which is raised to the smallest multiple of the base
        at or above the threshold."""
        base = self.rounding_base
        if base is None or math.isnan(value):
            return value
        rounded = math.floor(value / base + 0.5) * base
        if value > 0 and rounded < self.threshold:
            rounded = max(base, math.ceil(self.threshold / base) * base)
        return float(rounded)


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class TableSpec:
    """The structure of a table, as far as disclosure control needs it.

    ``count_columns``
        columns holding counts of people or events (every one is checked against the
        threshold, totals included).
    ``derived_columns``
        ``{column: [source count columns]}`` for rates, interval bounds, percentages:
        hidden wherever any source count in the same row is hidden.
    ``group_columns``
        rows sharing these values form one additive set (e.g. ``["characteristic"]`` in a
        long table stacking several breakdowns). Without it the whole table is one set.
    ``total_row``
        ``(column, label)`` identifying each group's total row, e.g.
        ``("category", "Total")``; at most one per group.
    ``column_totals``
        ``{total column: [part columns]}`` where parts add up to the total within a row.
    ``assume_totals_published``
        conservative default: a group without a total row is still treated as adding up to
        a total published elsewhere, so one hidden cell needs a complement.
    ``complements``
        ``{part column: whole column}`` where ``whole - part`` is a count of people too
        (e.g. completed of in treatment); the part is hidden when that difference is
        disclosive.
    ``label_columns``
        columns naming a row in error messages; default: every column that is neither a
        count nor derived.
    """

    count_columns: Sequence[str]
    derived_columns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    group_columns: Sequence[str] = ()
    total_row: tuple[str, Any] | None = None
    column_totals: Mapping[str, Sequence[str]] = field(default_factory=dict)
    assume_totals_published: bool = True
    complements: Mapping[str, str] = field(default_factory=dict)
    label_columns: Sequence[str] | None = None

    def __post_init__(self) -> None:
        def names(value: Any, what: str) -> tuple[str, ...]:
            if isinstance(value, str):
                return (value,)
            try:
                return tuple(value)
            except TypeError:
                raise TypeError(f"{what} must be a column name or a sequence of names") from None

        object.__setattr__(self, "count_columns", names(self.count_columns, "count_columns"))
        object.__setattr__(self, "group_columns", names(self.group_columns, "group_columns"))
        object.__setattr__(
            self,
            "derived_columns",
            {k: names(v, f"derived_columns[{k!r}]") for k, v in dict(self.derived_columns).items()},
        )
        object.__setattr__(
            self,
            "column_totals",
            {k: names(v, f"column_totals[{k!r}]") for k, v in dict(self.column_totals).items()},
        )
        object.__setattr__(self, "complements", dict(self.complements))
        if self.label_columns is not None:
            object.__setattr__(self, "label_columns", names(self.label_columns, "label_columns"))
        if self.total_row is not None:
            if not isinstance(self.total_row, tuple | list) or len(self.total_row) != 2:
                raise TypeError("total_row must be a (column, label) pair")
            object.__setattr__(self, "total_row", tuple(self.total_row))

        counts = set(self.count_columns)
        if not self.count_columns:
            raise ValueError("count_columns must name at least one column")
        if len(counts) != len(self.count_columns):
            raise ValueError(f"count_columns has duplicates: {list(self.count_columns)}")
        for col, sources in self.derived_columns.items():
            if col in counts:
                raise ValueError(f"derived column {col!r} is also a count column")
            missing = [s for s in sources if s not in counts]
            if not sources or missing:
                raise ValueError(
                    f"derived column {col!r} must come from count columns; not counts: {missing}"
                )
        for total, parts in self.column_totals.items():
            bad = [c for c in (total, *parts) if c not in counts]
            if bad:
                raise ValueError(f"column_totals {total!r}: {bad} are not count columns")
            if not parts or total in parts:
                raise ValueError(f"column_totals {total!r} needs parts other than itself")
        for part, whole in self.complements.items():
            if part not in counts or whole not in counts or part == whole:
                raise ValueError(f"complements {part!r} -> {whole!r} must name two count columns")
        if self.total_row is not None and self.total_row[0] in counts | set(self.derived_columns):
            raise ValueError("total_row must be identified by a label column, not a count")
        if self.total_row is not None and self.total_row[0] in self.group_columns:
            raise ValueError(
                "total_row's column is a group column, so each total row would be a group of "
                "its own; identify total rows by the category column instead"
            )

    @property
    def protected_columns(self) -> tuple[str, ...]:
        return (*self.count_columns, *self.derived_columns)

    def _labels(self, frame: pd.DataFrame) -> list[str]:
        if self.label_columns is not None:
            return [c for c in self.label_columns if c in frame.columns]
        skip = set(self.protected_columns)
        return [c for c in frame.columns if c not in skip]

    def _check_columns(self, frame: pd.DataFrame) -> None:
        needed = [*self.protected_columns, *self.group_columns]
        if self.total_row is not None:
            needed.append(self.total_row[0])
        missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
        if missing:
            raise KeyError(f"table has no column(s) {missing}; it has {list(frame.columns)}")
        if frame.columns.has_duplicates:
            raise ValueError("table has duplicate column names")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ProtectedTable:
    """Result of :func:`protect_table`.

    ``frame``: same rows, columns and index as the input; count and derived columns are
    numeric (nullable) with NA where hidden, and counts are rounded if the rules say so.
    ``mask``: boolean frame of the same shape, True where a cell is suppressed.
    ``primary``: True where a count broke the threshold rule itself (a subset of ``mask``).
    """

    frame: pd.DataFrame
    mask: pd.DataFrame
    primary: pd.DataFrame
    spec: TableSpec
    rules: DisclosureRules

    @property
    def n_suppressed(self) -> int:
        """Hidden count cells (derived cells not included)."""
        return int(self.mask[list(self.spec.count_columns)].to_numpy().sum())

    @property
    def n_primary(self) -> int:
        return int(self.primary.to_numpy().sum())

    @property
    def n_secondary(self) -> int:
        return self.n_suppressed - self.n_primary

    def published(self) -> pd.DataFrame:
        """The table as written: hidden cells show the marker."""
        return to_published(self.frame, self.mask, self.rules)


class DisclosureProblem(NamedTuple):
    row: Hashable  # index label of the row
    row_labels: str  # e.g. "characteristic='Sex', category='Male'"
    column: str
    reason: str

    def describe(self) -> str:
        return f"row {self.row_labels}, column {self.column!r}: {self.reason}"


class DisclosureError(ValueError):
    """A table about to be published breaks the disclosure rules."""

    def __init__(self, table_name: str, problems: Sequence[DisclosureProblem]):
        self.table_name = table_name
        self.problems = list(problems)
        shown = "\n".join(f"  - {p.describe()}" for p in self.problems[:_MAX_PROBLEMS_IN_MESSAGE])
        more = len(self.problems) - _MAX_PROBLEMS_IN_MESSAGE
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"table {table_name!r} is not safe to publish ({len(self.problems)} problem(s)):\n"
            f"{shown}{tail}"
        )


class DisclosiveCell(NamedTuple):
    row: Hashable
    column: str
    value: Any


# --------------------------------------------------------------------------- structure
@dataclass(frozen=True)
class _Line:
    """cells of ``parts`` add up to ``total`` (``None``: a total published elsewhere);
    kind "equal": the single part equals the total (linked group totals)."""

    parts: tuple[int, ...]
    total: int | None
    kind: str
    what: str


@dataclass
class _Layout:
    n_rows: int
    columns: tuple[str, ...]
    lines: list[_Line]
    cell_lines: dict[int, list[int]]

    def cell(self, row: int, col: str) -> int:
        return row * len(self.columns) + self.columns.index(col)

    def position(self, cell: int) -> tuple[int, str]:
        row, col = divmod(cell, len(self.columns))
        return row, self.columns[col]


def _build_layout(
    frame: pd.DataFrame, spec: TableSpec, *, link_values: np.ndarray | None
) -> _Layout:
    columns = tuple(spec.count_columns)
    k = len(columns)
    n = len(frame)
    col_idx = {c: i for i, c in enumerate(columns)}
    lines: list[_Line] = []

    for r in range(n):
        for total, parts in spec.column_totals.items():
            lines.append(
                _Line(
                    parts=tuple(r * k + col_idx[p] for p in parts),
                    total=r * k + col_idx[total],
                    kind="sum",
                    what=f"row total {total!r} = {' + '.join(map(repr, parts))}",
                )
            )

    codes = np.zeros(n, dtype=np.int64)
    for col in spec.group_columns:  # combined codes of the group columns, NA a value too
        col_codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)
        codes, _ = pd.factorize(codes * (len(uniques) + 1) + col_codes)
    if spec.total_row is not None:
        col, label = spec.total_row
        is_total = np.asarray((frame[col] == label).to_numpy(dtype=bool, na_value=False))
    else:
        is_total = np.zeros(n, dtype=bool)

    group_totals: list[int] = []  # row position of each group's total row
    for g in pd.unique(codes):
        rows = np.flatnonzero(codes == g)
        totals = [int(r) for r in rows if is_total[r]]
        members = [int(r) for r in rows if not is_total[r]]
        if len(totals) > 1:
            raise ValueError(
                f"a group has {len(totals)} total rows (positions {totals}); "
                "use group_columns so each group has at most one"
            )
        if totals:
            group_totals.append(totals[0])
        for c in columns:
            j = col_idx[c]
            if totals and members:
                lines.append(
                    _Line(
                        parts=tuple(r * k + j for r in members),
                        total=totals[0] * k + j,
                        kind="sum",
                        what=f"column {c!r} against its total row",
                    )
                )
            elif not totals and spec.assume_totals_published and len(members) >= 2:
                lines.append(
                    _Line(
                        parts=tuple(r * k + j for r in members),
                        total=None,
                        kind="sum",
                        what=f"column {c!r} against a group total assumed published elsewhere",
                    )
                )

    if link_values is not None and len(group_totals) > 1:
        for c in columns:
            j = col_idx[c]
            by_value: dict[float, list[int]] = {}
            for r in group_totals:
                v = link_values[r, j]
                if not np.isnan(v):
                    by_value.setdefault(float(v), []).append(r)
            for rows in by_value.values():
                for a, b in zip(rows, rows[1:], strict=False):
                    lines.append(
                        _Line(
                            parts=(a * k + j,),
                            total=b * k + j,
                            kind="equal",
                            what=f"column {c!r}: total rows of equal value in different groups",
                        )
                    )

    cell_lines: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        for cell in (*line.parts, *(() if line.total is None else (line.total,))):
            cell_lines.setdefault(cell, []).append(i)
    return _Layout(n_rows=n, columns=columns, lines=lines, cell_lines=cell_lines)


def _line_state(
    line: _Line, avail: np.ndarray, hidden: np.ndarray
) -> tuple[list[int], list[int], bool] | None:
    """(available parts, hidden parts, total hidden) or None if the line tells nothing."""
    if line.total is not None and not avail[line.total]:
        return None
    parts = [c for c in line.parts if avail[c]]
    if line.total is None and len(parts) < 2:
        return None
    hidden_parts = [c for c in parts if hidden[c]]
    total_hidden = line.total is not None and bool(hidden[line.total])
    return parts, hidden_parts, total_hidden


def _complement_needed(
    line: _Line, values: np.ndarray, avail: np.ndarray, hidden: np.ndarray, threshold: int
) -> int | None:
    """The cell to hide next so that ``line`` protects its hidden cells, or None."""
    state = _line_state(line, avail, hidden)
    if state is None:
        return None
    parts, hidden_parts, total_hidden = state
    n_hidden = len(hidden_parts) + total_hidden
    if n_hidden == 0:
        return None
    if line.kind == "equal":
        if n_hidden == 1:
            return line.parts[0] if total_hidden else line.total
        return None
    deficit = 0.0
    if not total_hidden:
        deficit = threshold - float(values[hidden_parts].sum())
        if n_hidden >= 2 and deficit <= 0:
            return None
    elif n_hidden >= 2:
        return None
    candidates = [c for c in parts if not hidden[c]]
    nonzero = [c for c in candidates if values[c] > 0]
    if nonzero:
        if deficit > 0:
            enough = [c for c in nonzero if values[c] >= deficit]
            if enough:
                return min(enough, key=lambda c: values[c])
            return max(nonzero, key=lambda c: values[c])
        return min(nonzero, key=lambda c: values[c])
    if line.total is not None and not total_hidden:
        return line.total
    if candidates and n_hidden == 1:
        return candidates[0]
    return None


def _equations(
    layout: _Layout, avail: np.ndarray, hidden: np.ndarray
) -> tuple[np.ndarray, list[list[tuple[int, int]]]]:
    """Hidden cells and, per line, its (cell, coefficient) terms over hidden cells."""
    cells = np.flatnonzero(hidden & avail)
    rows: list[list[tuple[int, int]]] = []
    for line in layout.lines:
        state = _line_state(line, avail, hidden)
        if state is None:
            continue
        _, hidden_parts, total_hidden = state
        terms = [(c, 1) for c in hidden_parts]
        if total_hidden:
            terms.append((line.total, -1))  # type: ignore[arg-type]
        if terms:
            rows.append(terms)
    return cells, rows


def _determined_cells(layout: _Layout, avail: np.ndarray, hidden: np.ndarray) -> list[int]:
    """Hidden cells whose value follows exactly from the visible cells and the lines.

    A hidden cell is determined iff its unit vector lies in the row space of the system
    of lines restricted to hidden cells (equivalently, every null-space vector is zero
    there). The system is split into connected components so big tables stay cheap.
    """
    cells, rows = _equations(layout, avail, hidden)
    if not len(cells) or not rows:
        return []
    # union-find over hidden cells sharing an equation
    parent = {int(c): int(c) for c in cells}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for terms in rows:
        first = find(terms[0][0])
        for c, _ in terms[1:]:
            root = find(c)
            if root != first:
                parent[root] = first
    components: dict[int, list[int]] = {}
    for c in cells:
        components.setdefault(find(int(c)), []).append(int(c))
    rows_by_component: dict[int, list[list[tuple[int, int]]]] = {}
    for terms in rows:
        rows_by_component.setdefault(find(terms[0][0]), []).append(terms)

    determined: list[int] = []
    for root, members in components.items():
        eqs = rows_by_component.get(root)
        if not eqs:
            continue
        index = {c: i for i, c in enumerate(members)}
        a = np.zeros((len(eqs), len(members)))
        for i, terms in enumerate(eqs):
            for c, coef in terms:
                a[i, index[c]] += coef
        # e_j is in the row space iff its projection onto it has length 1: the sum of
        # squares of row j of an orthonormal basis of the row space (rank-revealing QR of
        # the transposed system, i.e. with column pivoting).
        import scipy.linalg  # here, not at module level: every chapter imports sdc at start-up

        q, r, _ = scipy.linalg.qr(a.T, mode="economic", pivoting=True)
        diagonal = np.abs(np.diag(r))
        tol = max(a.shape) * np.finfo(float).eps * (diagonal[0] if diagonal.size else 0.0)
        rank = int((diagonal > tol).sum())
        leverage = (q[:, :rank] ** 2).sum(axis=1)
        determined.extend(c for c, h in zip(members, leverage, strict=True) if h > 1 - 1e-8)
    return sorted(determined)


def _break_candidate(
    cell: int, layout: _Layout, values: np.ndarray, avail: np.ndarray, hidden: np.ndarray
) -> int | None:
    best: tuple[int, float, int] | None = None
    for i in layout.cell_lines.get(cell, []):
        line = layout.lines[i]
        if _line_state(line, avail, hidden) is None:
            continue
        options = [(c, False) for c in line.parts] + (
            [] if line.total is None else [(line.total, True)]
        )
        for c, is_total in options:
            if not avail[c] or hidden[c]:
                continue
            rank = 2 if values[c] == 0 else (1 if is_total else 0)
            key = (rank, float(values[c]), c)
            if best is None or key < best:
                best = key
    return None if best is None else best[2]


def _secondary_suppression(
    layout: _Layout, values: np.ndarray, avail: np.ndarray, hidden: np.ndarray, threshold: int
) -> None:
    """Add complements to ``hidden`` (flat, modified in place) until the table is safe."""
    while True:
        changed = True
        while changed:
            changed = False
            for line in layout.lines:
                cell = _complement_needed(line, values, avail, hidden, threshold)
                while cell is not None:
                    hidden[cell] = True
                    changed = True
                    cell = _complement_needed(line, values, avail, hidden, threshold)
        determined = _determined_cells(layout, avail, hidden)
        if not determined:
            return
        for cell in determined:
            extra = _break_candidate(cell, layout, values, avail, hidden)
            if extra is not None:
                hidden[extra] = True
                break
        else:
            return  # nothing left to hide; check_publishable will report it


# --------------------------------------------------------------------------- protect
def _counts_array(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    out = np.empty((len(frame), len(columns)), dtype=float)
    for j, col in enumerate(columns):
        try:
            numeric = pd.to_numeric(frame[col], errors="raise")
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"count column {col!r} must be numeric (is it already published with markers?)"
            ) from exc
        out[:, j] = np.asarray(numeric.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        if (out[:, j] < 0).any():
            raise ValueError(f"count column {col!r} has negative values")
        if np.isinf(out[:, j]).any():
            raise ValueError(f"count column {col!r} has infinite values")
    return out


def _primary_mask(
    frame: pd.DataFrame, spec: TableSpec, rules: DisclosureRules, values: np.ndarray
) -> np.ndarray:
    primary = rules._disclosive_array(values)
    idx = {c: i for i, c in enumerate(spec.count_columns)}
    for part, whole in spec.complements.items():
        with np.errstate(invalid="ignore"):
            difference = values[:, idx[whole]] - values[:, idx[part]]
        primary[:, idx[part]] |= rules._disclosive_array(difference)
    return primary


def _nullable(series: pd.Series, hide: np.ndarray, *, integral_hint: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        out = series.astype(object).copy()
        out[hide] = pd.NA
        return out
    as_float = series.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(as_float) | hide
    filled = np.where(missing, 0.0, as_float)
    if integral_hint and np.all(filled == np.round(filled)):
        array = pd.arrays.IntegerArray(np.round(filled).astype(np.int64), missing)
    else:
        array = pd.arrays.FloatingArray(filled, missing)
    return pd.Series(array, index=series.index, name=series.name)


def protect_table(
    frame: pd.DataFrame, spec: TableSpec, rules: DisclosureRules | None = None
) -> ProtectedTable:
    """Primary and secondary suppression (then optional rounding) of ``frame``.

    The input is not modified. See the module docstring for the guarantees.
    """
    rules = DisclosureRules() if rules is None else DisclosureRules.from_params(rules)
    spec._check_columns(frame)
    values = _counts_array(frame, spec.count_columns)
    avail = ~np.isnan(values)
    primary = _primary_mask(frame, spec, rules, values)
    layout = _build_layout(frame, spec, link_values=values)
    hidden = primary.copy().ravel()
    _secondary_suppression(layout, values.ravel(), avail.ravel(), hidden, rules.threshold)
    hidden = hidden.reshape(values.shape)

    out = frame.copy()
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for j, col in enumerate(spec.count_columns):
        shown = values[:, j].copy()
        if rules.rounding_base is not None:
            shown = np.array([rules.round_count(v) for v in shown], dtype=float)
        column = pd.Series(shown, index=frame.index, name=col)
        out[col] = _nullable(column, hidden[:, j], integral_hint=True)
        mask[col] = hidden[:, j]
    col_idx = {c: i for i, c in enumerate(spec.count_columns)}
    for col, sources in spec.derived_columns.items():
        hide = np.zeros(len(frame), dtype=bool)
        for s in sources:
            hide |= hidden[:, col_idx[s]]
        out[col] = _nullable(frame[col], hide, integral_hint=False)
        mask[col] = hide
    primary_frame = pd.DataFrame(primary, index=frame.index, columns=list(spec.count_columns))
    return ProtectedTable(frame=out, mask=mask, primary=primary_frame, spec=spec, rules=rules)


# --------------------------------------------------------------------------- publish
def to_published(
    frame: pd.DataFrame,
    mask: pd.DataFrame,
    rules: DisclosureRules | None = None,
    *,
    na_rep: str | None = None,
) -> pd.DataFrame:
    """Copy of ``frame`` with every masked cell replaced by the marker.

    Columns with a marker become ``object`` holding Python numbers and the marker string,
    so spreadsheets still get numbers; whole-number values stay integers. Cells that are NA
    but not masked stay NA (or become ``na_rep``, e.g. ``"[x]"``).
    """
    rules = DisclosureRules() if rules is None else DisclosureRules.from_params(rules)
    if mask.shape != frame.shape or list(mask.columns) != list(frame.columns):
        raise ValueError("mask must have the same shape and columns as the frame")
    out = frame.copy()
    for col in frame.columns:
        hide = mask[col].to_numpy(dtype=bool)
        series = frame[col]
        isna = series.isna().to_numpy()
        if not hide.any() and not (na_rep is not None and isna.any()):
            continue
        cells: list[Any] = []
        for value, h, missing in zip(series.tolist(), hide, isna, strict=True):
            if h:
                cells.append(rules.marker)
            elif missing:
                cells.append(pd.NA if na_rep is None else na_rep)
            else:
                if (
                    isinstance(value, float)
                    and value.is_integer()
                    and pd.api.types.is_integer_dtype(series.dtype)
                ):
                    value = int(value)
                cells.append(value)
        out[col] = pd.Series(cells, index=frame.index, dtype=object, name=col)
    return out


# --------------------------------------------------------------------------- check
def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return float(text)
        except ValueError:
            return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in UNAVAILABLE_MARKERS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _read_cells(series: pd.Series, marker: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden by marker, numeric value or NaN, unreadable text) for one column."""
    n = len(series)
    hidden = np.zeros(n, dtype=bool)
    values = np.full(n, np.nan)
    unreadable = np.zeros(n, dtype=bool)
    for i, value in enumerate(series.tolist()):
        if isinstance(value, str) and value.strip() == marker:
            hidden[i] = True
        elif _is_missing(value):
            continue
        else:
            number = _parse_number(value)
            if number is None or math.isnan(number):
                unreadable[i] = True
            else:
                values[i] = number
    return hidden, values, unreadable


def _row_describer(frame: pd.DataFrame, spec: TableSpec):
    labels = spec._labels(frame)[:4]
    index = frame.index

    def describe(row: int) -> tuple[Hashable, str]:
        if labels:
            parts = ", ".join(f"{c}={frame[c].iloc[row]!r}" for c in labels)
        else:
            parts = f"index={index[row]!r}"
        return index[row], parts

    return describe


def check_publishable(
    frame: pd.DataFrame,
    spec: TableSpec,
    rules: DisclosureRules | None = None,
    *,
    table_name: str,
    mask: pd.DataFrame | None = None,
) -> None:
    """Raise :class:`DisclosureError` if ``frame`` is not safe to publish.

    ``frame`` may be the numeric output of :func:`protect_table` (pass its ``mask``) or
    an already-rendered table in which hidden cells hold the marker. Checked, from what a
    reader of the table could see:

    * no visible count is disclosive, and counts are rounded if rounding is on;
    * no cell marked in ``mask`` shows a value;
    * no derived value is shown while a source count in its row is hidden;
    * no ``complements`` pair shows a disclosive difference;
    * no additive line has exactly one hidden cell while its total is known (visible, or
      assumed published elsewhere), and where the total is visible the hidden cells do
      not add up to less than the threshold;
    * no hidden cell can be recovered exactly by combining the lines.
    """
    rules = DisclosureRules() if rules is None else DisclosureRules.from_params(rules)
    spec._check_columns(frame)
    if mask is not None and (len(mask) != len(frame) or not mask.index.equals(frame.index)):
        raise ValueError("mask must have the same rows (index) as the frame")
    describe = _row_describer(frame, spec)
    problems: list[DisclosureProblem] = []

    def report(row: int, column: str, reason: str) -> None:
        label, text = describe(row)
        problems.append(DisclosureProblem(label, text, column, reason))

    def read(col: str, *, numeric: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hidden, numeric value or NaN, shown) for a column; text in a count is an error,
        in a derived column (e.g. a formatted interval) it is simply a shown value."""
        hidden, values, unreadable = _read_cells(frame[col], rules.marker)
        if mask is not None and col in mask.columns:
            masked = mask[col].to_numpy(dtype=bool)
            for r in np.flatnonzero(masked & (~np.isnan(values) | unreadable)):
                report(int(r), col, "cell is marked as suppressed but shows a value")
            hidden |= masked
            values[masked] = np.nan
            unreadable &= ~masked
        if numeric:
            for r in np.flatnonzero(unreadable):
                report(int(r), col, f"unrecognised value {frame[col].iloc[r]!r}")
        shown = ~hidden & (~np.isnan(values) | unreadable)
        return hidden, values, shown

    n, k = len(frame), len(spec.count_columns)
    hidden = np.zeros((n, k), dtype=bool)
    values = np.full((n, k), np.nan)
    for j, col in enumerate(spec.count_columns):
        hidden[:, j], values[:, j], _ = read(col, numeric=True)
        small = rules._disclosive_array(values[:, j])
        for r in np.flatnonzero(small):
            report(
                int(r),
                col,
                f"visible count {_fmt(values[r, j])} is disclosive "
                f"(threshold {rules.threshold}, zeros {'allowed' if rules.publish_zeros else 'not allowed'})",
            )
        if rules.rounding_base is not None:
            shown = values[:, j]
            with np.errstate(invalid="ignore"):
                unrounded = ~np.isnan(shown) & (np.mod(shown, rules.rounding_base) != 0)
            for r in np.flatnonzero(unrounded):
                report(
                    int(r), col, f"count {_fmt(shown[r])} is not rounded to {rules.rounding_base}"
                )

    col_idx = {c: i for i, c in enumerate(spec.count_columns)}
    for col, sources in spec.derived_columns.items():
        _, _, visible = read(col, numeric=False)
        for r in np.flatnonzero(visible):
            hidden_sources = [s for s in sources if hidden[r, col_idx[s]]]
            if hidden_sources:
                report(int(r), col, f"value shown while its count {hidden_sources} is suppressed")

    for part, whole in spec.complements.items():
        p, w = values[:, col_idx[part]], values[:, col_idx[whole]]
        with np.errstate(invalid="ignore"):
            diff = w - p
        for r in np.flatnonzero(rules._disclosive_array(diff)):
            report(
                int(r),
                part,
                f"{whole!r} - {part!r} = {_fmt(diff[r])} is a disclosive count; suppress {part!r}",
            )

    layout = _build_layout(frame, spec, link_values=None)
    flat_values = values.ravel()
    flat_hidden = hidden.ravel()
    avail = flat_hidden | ~np.isnan(flat_values)
    reported_cells: set[int] = set()
    for line in layout.lines:
        state = _line_state(line, avail, flat_hidden)
        if state is None:
            continue
        parts, hidden_parts, total_hidden = state
        n_hidden = len(hidden_parts) + total_hidden
        if n_hidden == 1:
            cell = line.total if total_hidden else hidden_parts[0]
            assert cell is not None
            row, col = layout.position(cell)
            report(
                row,
                col,
                f"the only suppressed cell in its line ({line.what}); "
                "it can be recovered by subtraction",
            )
            reported_cells.add(cell)
        elif hidden_parts and line.total is not None and not total_hidden:
            visible_parts = [c for c in parts if not flat_hidden[c]]
            recovered = flat_values[line.total] - flat_values[visible_parts].sum()
            slack = (rules.rounding_base or 0) * (len(visible_parts) + 1)
            if recovered + slack < rules.threshold:
                row, col = layout.position(hidden_parts[0])
                report(
                    row,
                    col,
                    f"suppressed cells in its line ({line.what}) add up to "
                    f"{_fmt(recovered)}, below the threshold {rules.threshold}",
                )
    for cell in _determined_cells(layout, avail, flat_hidden):
        if cell in reported_cells:
            continue
        row, col = layout.position(cell)
        report(
            row, col, "suppressed value can be recovered exactly by combining row and column totals"
        )

    if problems:
        raise DisclosureError(table_name, problems)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --------------------------------------------------------------------------- scanning
def find_disclosive_cells(
    frame: pd.DataFrame, count_columns: Iterable[str], rules: DisclosureRules | None = None
) -> list[DisclosiveCell]:
    """Visible disclosive counts in an already-published table.

    Values may be numbers or text (``"12"``, ``"1,234"``, ``"3.0"``); the marker, NA and
    other shorthand such as ``[x]`` are skipped. Returns ``(row index label, column,
    value as found)`` for each offending cell, in row order then column order.
    """
    rules = DisclosureRules() if rules is None else DisclosureRules.from_params(rules)
    columns = [c for c in count_columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"table has no column(s) {missing}")
    found: list[DisclosiveCell] = []
    for pos in range(len(frame)):
        for col in columns:
            value = frame[col].iloc[pos]
            if isinstance(value, str) and value.strip() == rules.marker:
                continue
            if _is_missing(value):
                continue
            number = _parse_number(value)
            if number is not None and not math.isnan(number) and rules.is_disclosive(number):
                found.append(DisclosiveCell(frame.index[pos], col, value))
    return found


# --------------------------------------------------------------------------- figures
def count_label(
    value: Any,
    rules: DisclosureRules | None = None,
    *,
    suppressed: bool = False,
    less_than: bool = False,
) -> str:
    """Text for a count on a chart or in a sentence.

    A disclosive (or ``suppressed``) count becomes the marker, or ``"<5"`` style text with
    ``less_than=True`` (only for primary suppressions: a complement is not small). NA
    becomes ``"[x]"``. Other counts are rounded if the rules say so and get thousands
    separators.
    """
    rules = DisclosureRules() if rules is None else DisclosureRules.from_params(rules)
    if isinstance(value, str) and value.strip() == rules.marker:
        return rules.marker
    if _is_missing(value):
        return "[x]"
    number = _parse_number(value)
    if number is None:
        raise ValueError(f"not a count: {value!r}")
    if rules.is_disclosive(number):
        return f"<{rules.threshold}" if less_than else rules.marker
    if suppressed:
        return rules.marker
    number = rules.round_count(number)
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,}"


def safe_plot_values(values: Any, rules: DisclosureRules | None = None) -> pd.Series:
    """Counts for bar heights or map colours: disclosive values become NA, others rounded.

    Only primary suppression: where a chart shows the same figures as a published table,
    plot the protected table's column instead, so complements are hidden in both.
    """
    rules = DisclosureRules() if rules is None else DisclosureRules.from_params(rules)
    series = pd.Series(values)
    numeric = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    small = rules._disclosive_array(numeric)
    shown = np.array([rules.round_count(v) for v in numeric], dtype=float)
    shown[small] = np.nan
    return pd.Series(shown, index=series.index, name=series.name).astype("Float64")
