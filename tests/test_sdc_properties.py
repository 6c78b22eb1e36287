"""Property tests of disclosure control over random tables (hypothesis).

Tables are 1-3 groups of 1-6 member rows by 1-6 part columns, with or without a total row
per group, a total column, an assumed total published elsewhere, and groups that are
different breakdowns of one population (equal totals); counts are drawn with many small
values. The additive lines and the exact-recovery test are re-implemented here from the
table's construction, independently of the module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needs_assessment import sdc
from needs_assessment.sdc import DisclosureError, DisclosureRules, TableSpec

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

counts = st.one_of(st.integers(0, 6), st.integers(0, 30), st.integers(0, 400))


@dataclass
class Case:
    frame: pd.DataFrame
    spec: TableSpec
    parts: list[str]
    counts: list[str]
    groups: list[list[int]]  # member row positions per group
    totals: list[int | None]  # total row position per group


@st.composite
def cases(draw) -> Case:
    n_groups = draw(st.integers(1, 3))
    n_parts = draw(st.integers(1, 6))
    with_total_rows = draw(st.booleans())
    with_total_column = draw(st.booleans())
    same_population = draw(st.booleans())
    assume = draw(st.booleans())
    parts = [f"c{i}" for i in range(n_parts)]

    records: list[dict] = []
    groups: list[list[int]] = []
    totals: list[int | None] = []
    first_sums: list[int] | None = None
    for g in range(n_groups):
        n_members = draw(st.integers(1, 6))
        if same_population and first_sums is not None:
            # another breakdown of the same population: split each column total
            columns = []
            for total in first_sums:
                cuts = sorted(
                    draw(
                        st.lists(
                            st.integers(0, total), min_size=n_members - 1, max_size=n_members - 1
                        )
                    )
                )
                edges = [0, *cuts, total]
                columns.append([b - a for a, b in zip(edges, edges[1:], strict=False)])
            body = [list(row) for row in zip(*columns, strict=True)]
        else:
            body = draw(
                st.lists(
                    st.lists(counts, min_size=n_parts, max_size=n_parts),
                    min_size=n_members,
                    max_size=n_members,
                )
            )
        sums = [sum(row[j] for row in body) for j in range(n_parts)]
        if first_sums is None:
            first_sums = sums
        members = []
        for m, row in enumerate(body):
            members.append(len(records))
            records.append(
                {"group": f"g{g}", "category": f"k{m}", **dict(zip(parts, row, strict=True))}
            )
        groups.append(members)
        if with_total_rows:
            totals.append(len(records))
            records.append(
                {"group": f"g{g}", "category": "Total", **dict(zip(parts, sums, strict=True))}
            )
        else:
            totals.append(None)

    frame = pd.DataFrame(records)
    count_columns = list(parts)
    column_totals = {}
    if with_total_column:
        frame["all"] = frame[parts].sum(axis=1)
        count_columns.append("all")
        column_totals = {"all": parts}
    derived = {"rate": ["c0"]}
    frame["rate"] = frame["c0"] / 1_000 * 100_000
    if n_parts >= 2:
        denominator = (frame["c0"] + frame["c1"]).replace(0, np.nan)
        frame["share"] = frame["c0"] / denominator
        derived["share"] = ["c0", "c1"]
    spec = TableSpec(
        count_columns=count_columns,
        derived_columns=derived,
        group_columns=["group"],
        total_row=("category", "Total") if with_total_rows else None,
        column_totals=column_totals,
        assume_totals_published=assume,
    )
    return Case(frame, spec, parts, count_columns, groups, totals)


rules_strategy = st.builds(
    DisclosureRules,
    threshold=st.one_of(st.just(5), st.integers(1, 10)),
    publish_zeros=st.booleans(),
    rounding_base=st.sampled_from([None, None, 3, 5, 10]),
)


# ------------------------------------------------------------------ oracle
def lines_of(case: Case):
    """(parts, total) per additive line as (row, column) cells; total None = elsewhere."""
    lines = []
    if "all" in case.counts:
        for r in range(len(case.frame)):
            lines.append(([(r, p) for p in case.parts], (r, "all")))
    for members, total in zip(case.groups, case.totals, strict=True):
        for c in case.counts:
            if total is not None:
                lines.append(([(m, c) for m in members], (total, c)))
            elif case.spec.assume_totals_published and len(members) >= 2:
                lines.append(([(m, c) for m in members], None))
    return lines


def links_of(case: Case):
    """Pairs of total cells of equal value in different groups (same population)."""
    pairs = []
    rows = [t for t in case.totals if t is not None]
    for c in case.counts:
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if case.frame.at[a, c] == case.frame.at[b, c]:
                    pairs.append(((a, c), (b, c)))
    return pairs


def recoverable_cells(case: Case, hidden: pd.DataFrame) -> list[tuple[int, str]]:
    cells = [(r, c) for c in case.counts for r in range(len(case.frame)) if hidden.at[r, c]]
    if not cells:
        return []
    index = {cell: i for i, cell in enumerate(cells)}
    rows = []
    for parts, total in lines_of(case):
        row = np.zeros(len(cells))
        for cell in parts:
            if cell in index:
                row[index[cell]] += 1
        if total is not None and total in index:
            row[index[total]] -= 1
        rows.append(row)
    for a, b in links_of(case):
        row = np.zeros(len(cells))
        if a in index:
            row[index[a]] += 1
        if b in index:
            row[index[b]] -= 1
        rows.append(row)
    a = np.array(rows) if rows else np.zeros((0, len(cells)))
    rank = np.linalg.matrix_rank(a) if len(rows) else 0
    found = []
    for cell, i in index.items():
        unit = np.zeros(len(cells))
        unit[i] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            found.append(cell)
    return found


def original(case: Case, cell) -> float:
    return float(case.frame.at[cell[0], cell[1]])


# ------------------------------------------------------------------ properties
@SETTINGS
@given(case=cases(), rules=rules_strategy)
def test_no_visible_count_is_disclosive(case, rules):
    protected = sdc.protect_table(case.frame, case.spec, rules)
    for c in case.counts:
        visible = ~protected.mask[c].to_numpy()
        raw = case.frame[c].to_numpy(dtype=float)[visible]
        assert not ((raw > 0) & (raw < rules.threshold)).any()
        if not rules.publish_zeros:
            assert not (raw == 0).any()
        shown = protected.frame[c].to_numpy(dtype=float, na_value=np.nan)
        assert np.isnan(shown[~visible]).all()
        assert not ((shown[visible] > 0) & (shown[visible] < rules.threshold)).any()
        if rules.rounding_base:
            assert (np.mod(shown[visible], rules.rounding_base) == 0).all()
        else:
            np.testing.assert_array_equal(shown[visible], raw)
    assert sdc.find_disclosive_cells(protected.published(), case.counts, rules) == []


@SETTINGS
@given(case=cases(), rules=rules_strategy)
def test_derived_values_are_hidden_with_their_counts(case, rules):
    protected = sdc.protect_table(case.frame, case.spec, rules)
    for column, sources in case.spec.derived_columns.items():
        expected = np.zeros(len(case.frame), dtype=bool)
        for s in sources:
            expected |= protected.mask[s].to_numpy()
        np.testing.assert_array_equal(protected.mask[column].to_numpy(), expected)
        assert protected.frame[column].isna().to_numpy()[expected].all()


@SETTINGS
@given(case=cases(), rules=rules_strategy)
def test_no_suppressed_cell_is_recoverable_from_its_lines(case, rules):
    protected = sdc.protect_table(case.frame, case.spec, rules)
    hidden = protected.mask
    for parts, total in lines_of(case):
        hidden_parts = [cell for cell in parts if hidden.at[cell]]
        total_hidden = total is not None and bool(hidden.at[total])
        n_hidden = len(hidden_parts) + total_hidden
        # 0 or >= 2 hidden cells in every line: none can be had by subtraction
        assert n_hidden != 1, (parts, total)
        # where the total is known the hidden cells do not add up to a small number
        if hidden_parts and not total_hidden:
            hidden_sum = sum(original(case, cell) for cell in hidden_parts)
            if hidden_sum < rules.threshold:
                # only possible against a total published elsewhere with nothing left
                # to hide but zeros; that total is itself small and is the caller's
                assert total is None
                assert all(original(case, cell) == 0 for cell in parts if not hidden.at[cell])
    for a, b in links_of(case):
        assert hidden.at[a] == hidden.at[b]
    # nor by any combination of lines
    assert recoverable_cells(case, hidden) == []


@SETTINGS
@given(case=cases(), rules=rules_strategy)
def test_check_passes_on_protected_output_and_raises_when_broken(case, rules):
    protected = sdc.protect_table(case.frame, case.spec, rules)
    sdc.check_publishable(protected.frame, case.spec, rules, table_name="t", mask=protected.mask)
    published = sdc.to_published(protected.frame, protected.mask, rules)
    sdc.check_publishable(published, case.spec, rules, table_name="t")

    broken = protected.frame.copy()
    mask = protected.mask.copy()
    primary = np.argwhere(protected.primary.to_numpy())
    if len(primary):
        row, j = primary[0]
        column = case.counts[j]
        broken[column] = broken[column].astype("Float64")
        broken.iloc[row, broken.columns.get_loc(column)] = case.frame[column].iloc[row]
        mask.iloc[row, mask.columns.get_loc(column)] = False
    elif rules.threshold > 1:
        visible = np.argwhere(~protected.mask[case.counts].to_numpy())
        row, j = visible[0]
        column = case.counts[j]
        broken.iloc[row, broken.columns.get_loc(column)] = 1
    else:
        return  # threshold 1 with nothing to hide: no small count exists to leak
    with pytest.raises(DisclosureError) as info:
        sdc.check_publishable(broken, case.spec, rules, table_name="broken", mask=mask)
    assert info.value.table_name == "broken"
    assert any(p.column == column for p in info.value.problems)


@SETTINGS
@given(case=cases(), rules=rules_strategy)
def test_input_is_unchanged_and_shape_kept(case, rules):
    before = case.frame.copy(deep=True)
    protected = sdc.protect_table(case.frame, case.spec, rules)
    pd.testing.assert_frame_equal(case.frame, before)
    assert protected.frame.shape == case.frame.shape
    assert list(protected.frame.columns) == list(case.frame.columns)
    assert protected.mask.shape == case.frame.shape
    # primary cells are exactly the disclosive raw counts
    raw = case.frame[case.counts].to_numpy(dtype=float)
    disclosive = ((raw > 0) & (raw < rules.threshold)) | ((raw == 0) & (not rules.publish_zeros))
    np.testing.assert_array_equal(protected.primary.to_numpy(), disclosive)
    assert protected.mask[case.counts].to_numpy()[disclosive].all()
    # and the scanner finds exactly those in the unprotected table
    found = {
        (row, column)
        for row, column, _ in sdc.find_disclosive_cells(case.frame, case.counts, rules)
    }
    expected = {(int(r), case.counts[j]) for r, j in np.argwhere(disclosive)}
    assert found == expected


def _two_way_case(rng: np.random.Generator) -> Case:
    n_rows, n_parts = (int(x) for x in rng.integers(2, 7, size=2))
    parts = [f"c{i}" for i in range(n_parts)]
    small = rng.random((n_rows, n_parts)) < 0.35
    body = np.where(
        small, rng.integers(1, 5, (n_rows, n_parts)), rng.integers(5, 40, (n_rows, n_parts))
    )
    frame = pd.DataFrame(body, columns=parts)
    frame.insert(0, "category", [f"k{i}" for i in range(n_rows)])
    frame.insert(0, "group", "g0")
    frame["all"] = frame[parts].sum(axis=1)
    total = frame[[*parts, "all"]].sum().to_frame().T
    total.insert(0, "category", "Total")
    total.insert(0, "group", "g0")
    frame = pd.concat([frame, total], ignore_index=True)
    counts_ = [*parts, "all"]
    spec = TableSpec(
        count_columns=counts_,
        group_columns=["group"],
        total_row=("category", "Total"),
        column_totals={"all": parts},
    )
    return Case(frame, spec, parts, counts_, [list(range(n_rows))], [n_rows])


def test_seeded_sweep_of_two_way_tables():
    """Two-way tables with both margins where the line rule alone is not enough happen in
    roughly 1 table in 150, too rarely for the hypothesis runs above to meet reliably: sweep
    a fixed set of them so the exact-recovery step is always exercised."""
    rng = np.random.default_rng(20240501)
    for _ in range(400):
        case = _two_way_case(rng)
        protected = sdc.protect_table(case.frame, case.spec, DisclosureRules())
        assert recoverable_cells(case, protected.mask) == [], case.frame
        sdc.check_publishable(
            protected.frame, case.spec, DisclosureRules(), table_name="sweep", mask=protected.mask
        )
