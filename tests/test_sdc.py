"""Disclosure control: worked examples with answers written by hand from the rules.

Rules used throughout (threshold 5 unless said): counts 1-4 are hidden (primary); a line
with a hidden cell needs a second hidden cell, and where its total is visible the hidden
cells must add up to at least 5; the complement is the smallest visible non-zero cell
that is big enough to lift the hidden sum to 5 (else the largest), then the total, and a
zero only as a last resort.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from needs_assessment import sdc
from needs_assessment.sdc import DisclosureError, DisclosureRules, TableSpec

RULES = DisclosureRules()


def one_way(counts, labels=None, total=True):
    labels = labels or [chr(ord("A") + i) for i in range(len(counts))]
    frame = pd.DataFrame({"category": labels, "count": counts})
    if total:
        frame = pd.concat(
            [frame, pd.DataFrame({"category": ["Total"], "count": [sum(counts)]})],
            ignore_index=True,
        )
    return frame


ONE_WAY = TableSpec(count_columns=["count"], total_row=("category", "Total"))


def hidden_labels(protected, column="count", label="category"):
    mask = protected.mask[column].to_numpy()
    return list(protected.frame.loc[mask, label])


# ------------------------------------------------------------------ one-way tables
def test_one_way_single_small_cell_gets_smallest_sufficient_complement():
    frame = one_way([3, 10, 20, 40])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    # 3 is primary; hidden sum 3 < 5 so the complement must be >= 2: the smallest is 10.
    assert hidden_labels(protected) == ["A", "B"]
    assert protected.n_primary == 1 and protected.n_secondary == 1
    assert protected.frame["count"].tolist()[2:] == [20, 40, 73]
    sdc.check_publishable(protected.frame, ONE_WAY, RULES, table_name="t", mask=protected.mask)


def test_one_way_two_small_cells_still_need_a_complement_because_their_sum_is_small():
    frame = one_way([1, 2, 50, 60])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    # 1 + 2 = 3 would be revealed by 113 - 50 - 60: hide the smallest cell >= 2, i.e. 50.
    assert hidden_labels(protected) == ["A", "B", "C"]


def test_one_way_nothing_small_nothing_hidden():
    frame = one_way([5, 10, 20])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    assert not protected.mask.to_numpy().any()
    assert protected.frame["count"].tolist() == [5, 10, 20, 35]


def test_small_total_is_hidden_with_all_its_parts():
    frame = one_way([1, 2, 0])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    # 1 and 2 primary, total 3 primary; the visible zero is fine (zeros allowed).
    assert hidden_labels(protected) == ["A", "B", "Total"]


def test_single_member_group_hides_its_total():
    frame = one_way([3])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    assert hidden_labels(protected) == ["A", "Total"]


def test_complement_prefers_non_zero_cells():
    frame = one_way([3, 0, 8, 20])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    assert hidden_labels(protected) == ["A", "C"]


def test_total_is_complement_when_only_zeros_are_left():
    # 3 is primary, the other members are zero: only the total can protect it.
    frame = one_way([3, 0, 0])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    assert hidden_labels(protected) == ["A", "Total"]


def test_threshold_is_configurable():
    frame = one_way([7, 9, 30, 40])
    hes_like = DisclosureRules(threshold=8)
    protected = sdc.protect_table(frame, ONE_WAY, hes_like)
    # 7 is primary under the 1-7 rule; 9 >= 1 lifts the hidden sum to 16.
    assert hidden_labels(protected) == ["A", "B"]
    assert not sdc.protect_table(frame, ONE_WAY, RULES).mask.to_numpy().any()


# ------------------------------------------------------------------ zeros
def test_zeros_published_by_default():
    frame = one_way([0, 10, 20])
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    assert not protected.mask.to_numpy().any()
    assert protected.frame["count"].tolist() == [0, 10, 20, 30]


def test_zeros_suppressed_when_policy_says_so():
    frame = one_way([0, 10, 20])
    rules = DisclosureRules(publish_zeros=False)
    protected = sdc.protect_table(frame, ONE_WAY, rules)
    # 0 is primary; hidden sum 0 needs a complement >= 5: 10.
    assert hidden_labels(protected) == ["A", "B"]
    sdc.check_publishable(protected.frame, ONE_WAY, rules, table_name="t", mask=protected.mask)
    with pytest.raises(DisclosureError, match="visible count 0"):
        sdc.check_publishable(frame, ONE_WAY, rules, table_name="zeros")


# ------------------------------------------------------------------ two-way tables
TWO_WAY = TableSpec(
    count_columns=["male", "female", "all"],
    column_totals={"all": ["male", "female"]},
    total_row=("area", "Total"),
)


def two_way_frame():
    return pd.DataFrame(
        {
            "area": ["r1", "r2", "r3", "Total"],
            "male": [3, 12, 20, 35],
            "female": [10, 15, 25, 50],
            "all": [13, 27, 45, 85],
        }
    )


def test_two_way_with_row_and_column_totals():
    protected = sdc.protect_table(two_way_frame(), TWO_WAY, RULES)
    expected = pd.DataFrame(
        {
            "area": [False] * 4,
            "male": [True, True, False, False],  # r1 primary; r2 complements the column
            "female": [True, True, False, False],  # r1 complements the row; r2 the column
            "all": [False] * 4,
        }
    )
    pd.testing.assert_frame_equal(protected.mask, expected)
    assert protected.frame["all"].tolist() == [13, 27, 45, 85]
    sdc.check_publishable(protected.frame, TWO_WAY, RULES, table_name="t", mask=protected.mask)
    sdc.check_publishable(protected.published(), TWO_WAY, RULES, table_name="t")


def test_two_way_small_column_total_is_protected_across_the_total_row():
    frame = pd.DataFrame(
        {
            "area": ["r1", "r2", "Total"],
            "male": [1, 2, 3],
            "female": [30, 40, 70],
            "all": [31, 42, 73],
        }
    )
    protected = sdc.protect_table(frame, TWO_WAY, RULES)
    mask = protected.mask
    # the whole male column is small; each row and the total row then needs a complement
    assert mask["male"].tolist() == [True, True, True]
    assert mask["female"].tolist() == [True, True, True]
    assert mask["all"].tolist() == [False, False, False]
    sdc.check_publishable(protected.frame, TWO_WAY, RULES, table_name="t", mask=mask)


# ------------------------------------------------------------------ long tables
LONG_SPEC = TableSpec(
    count_columns=["count"],
    derived_columns={"rate": ["count"], "lower": ["count"], "upper": ["count"]},
    group_columns=["characteristic"],
    total_row=("category", "Total"),
)


def long_frame():
    frame = pd.DataFrame(
        {
            "characteristic": ["Sex"] * 3 + ["Age"] * 4 + ["Route"] * 3,
            "category": ["Male", "Female", "Total", "18-29", "30-49", "50+", "Total"]
            + ["Injecting", "Not injecting", "Total"],
            "count": [30, 4, 34, 2, 20, 12, 34, 10, 24, 34],
        }
    )
    frame["rate"] = frame["count"] / 2_000 * 100_000
    frame["lower"] = frame["rate"] * 0.8
    frame["upper"] = frame["rate"] * 1.25
    return frame


def test_long_table_groups_are_protected_separately_and_derived_columns_follow():
    frame = long_frame()
    protected = sdc.protect_table(frame, LONG_SPEC, RULES)
    assert hidden_labels(protected) == ["Male", "Female", "18-29", "50+"]
    for column in ("rate", "lower", "upper"):
        assert protected.mask[column].equals(protected.mask["count"])
        assert protected.frame[column].isna().tolist() == protected.mask["count"].tolist()
    # the Route group has nothing small and is untouched
    route = protected.frame[protected.frame["characteristic"] == "Route"]
    assert route["count"].tolist() == [10, 24, 34]
    assert route["rate"].tolist() == pytest.approx([500.0, 1200.0, 1700.0])
    sdc.check_publishable(protected.frame, LONG_SPEC, RULES, table_name="t", mask=protected.mask)


def test_group_totals_of_equal_value_are_linked():
    # Two breakdowns of one population: the Total rows are the same number, so a total
    # hidden in one group must be hidden in the other (exercised on the internals: in a
    # real table a total is only hidden as a last resort).
    frame = pd.DataFrame(
        {
            "characteristic": ["Sex", "Sex", "Sex", "Age", "Age", "Age"],
            "category": ["Male", "Female", "Total", "Young", "Old", "Total"],
            "count": [20, 23, 43, 13, 30, 43],
        }
    )
    spec = TableSpec(
        count_columns=["count"], group_columns=["characteristic"], total_row=("category", "Total")
    )
    values = frame[["count"]].to_numpy(dtype=float)
    layout = sdc._build_layout(frame, spec, link_values=values)
    assert [line.kind for line in layout.lines] == ["sum", "sum", "equal"]
    hidden = np.zeros(6, dtype=bool)
    hidden[2] = True  # the Sex total
    sdc._secondary_suppression(layout, values.ravel(), np.ones(6, dtype=bool), hidden, 5)
    # Sex total -> Age total (linked) -> smallest member of each group
    assert hidden.tolist() == [True, False, True, True, False, True]
    # no link between totals of different value
    frame.loc[5, "count"] = 44
    layout = sdc._build_layout(frame, spec, link_values=frame[["count"]].to_numpy(dtype=float))
    assert [line.kind for line in layout.lines] == ["sum", "sum"]


# ------------------------------------------------------------------ no total row
def test_no_total_row_assumes_a_total_published_elsewhere():
    frame = pd.DataFrame({"category": ["A", "B", "C"], "count": [3, 10, 20]})
    spec = TableSpec(count_columns=["count"])
    protected = sdc.protect_table(frame, spec, RULES)
    assert hidden_labels(protected) == ["A", "B"]
    sdc.check_publishable(protected.frame, spec, RULES, table_name="t", mask=protected.mask)


def test_no_total_row_and_no_assumed_total_only_primary():
    frame = pd.DataFrame({"category": ["A", "B", "C"], "count": [3, 10, 20]})
    spec = TableSpec(count_columns=["count"], assume_totals_published=False)
    protected = sdc.protect_table(frame, spec, RULES)
    assert hidden_labels(protected) == ["A"]


def test_single_row_group_without_total_row_is_left_to_the_caller():
    frame = pd.DataFrame({"category": ["A"], "count": [3]})
    protected = sdc.protect_table(frame, TableSpec(count_columns=["count"]), RULES)
    assert hidden_labels(protected) == ["A"]


# ------------------------------------------------------------------ rounding
def test_rounding_after_suppression():
    frame = one_way([3, 12, 18, 40])
    rules = DisclosureRules(rounding_base=5)
    protected = sdc.protect_table(frame, ONE_WAY, rules)
    assert hidden_labels(protected) == ["A", "B"]
    assert protected.frame["count"].tolist()[2:] == [20, 40, 75]
    sdc.check_publishable(protected.frame, ONE_WAY, rules, table_name="t", mask=protected.mask)


def test_rounding_never_shows_a_non_zero_count_as_small():
    rules = DisclosureRules(threshold=5, rounding_base=4)
    assert rules.round_count(5) == 8  # 5 -> 4 would look like a small count
    assert rules.round_count(50) == 52
    assert rules.round_count(0) == 0
    assert DisclosureRules(threshold=1, rounding_base=5).round_count(2) == 5  # never 0
    frame = one_way([5, 50, 60])
    protected = sdc.protect_table(frame, ONE_WAY, rules)
    assert protected.frame["count"].tolist() == [8, 52, 60, 116]
    sdc.check_publishable(protected.frame, ONE_WAY, rules, table_name="t", mask=protected.mask)


def test_check_flags_unrounded_counts():
    rules = DisclosureRules(rounding_base=5)
    with pytest.raises(DisclosureError, match="not rounded"):
        sdc.check_publishable(one_way([10, 12]), ONE_WAY, rules, table_name="t")


# ------------------------------------------------------------------ complements
def test_complement_columns_hide_a_small_difference():
    frame = pd.DataFrame(
        {
            "area": ["r1", "r2", "Total"],
            "in_treatment": [20, 30, 50],
            "completed": [18, 10, 28],
        }
    )
    frame["pct"] = frame["completed"] / frame["in_treatment"] * 100
    spec = TableSpec(
        count_columns=["in_treatment", "completed"],
        derived_columns={"pct": ["completed", "in_treatment"]},
        total_row=("area", "Total"),
        complements={"completed": "in_treatment"},
    )
    protected = sdc.protect_table(frame, spec, RULES)
    # 20 - 18 = 2 people did not complete: 18 is hidden, and 10 complements its column.
    assert protected.mask["completed"].tolist() == [True, True, False]
    assert protected.mask["in_treatment"].tolist() == [False, False, False]
    assert protected.mask["pct"].tolist() == [True, True, False]
    sdc.check_publishable(protected.frame, spec, RULES, table_name="t", mask=protected.mask)
    with pytest.raises(DisclosureError, match="'in_treatment' - 'completed' = 2"):
        sdc.check_publishable(frame, spec, RULES, table_name="raw")


# ------------------------------------------------------------------ missing values
def test_missing_counts_are_not_treated_as_hiding_anything():
    frame = pd.DataFrame({"category": ["A", "B", "C", "Total"], "count": [3, None, 20, 40]})
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    # B is unknown but cannot be relied on as the second hidden cell: C is hidden too.
    assert protected.mask["count"].tolist() == [True, False, True, False]
    assert protected.frame["count"].isna().tolist() == [True, True, True, False]
    published = sdc.to_published(protected.frame, protected.mask, RULES)
    assert published["count"].tolist()[:3] == ["[c]", pd.NA, "[c]"]
    assert (
        sdc.to_published(protected.frame, protected.mask, RULES, na_rep="[x]")["count"][1] == "[x]"
    )


# ------------------------------------------------------------------ check_publishable
def test_check_names_table_row_and_column():
    frame = long_frame()
    with pytest.raises(DisclosureError) as info:
        sdc.check_publishable(frame, LONG_SPEC, RULES, table_name="table_3_1")
    error = info.value
    assert error.table_name == "table_3_1"
    message = str(error)
    assert "table 'table_3_1'" in message
    assert "characteristic='Sex', category='Female'" in message
    assert "column 'count'" in message
    assert {p.row for p in error.problems if "visible count" in p.reason} == {1, 3}


def test_check_derived_value_visible_with_hidden_count():
    protected = sdc.protect_table(long_frame(), LONG_SPEC, RULES)
    broken = protected.frame.copy()
    broken.loc[1, "rate"] = 200.0
    with pytest.raises(DisclosureError, match="marked as suppressed but shows a value"):
        sdc.check_publishable(broken, LONG_SPEC, RULES, table_name="t", mask=protected.mask)
    published = protected.published()
    published.loc[1, "rate"] = 200.0
    with pytest.raises(DisclosureError, match=r"value shown while its count \['count'\]"):
        sdc.check_publishable(published, LONG_SPEC, RULES, table_name="t")


def test_check_one_hidden_cell_in_a_line():
    published = one_way([30, 40, 50]).astype({"count": object})
    published.loc[0, "count"] = "[c]"
    with pytest.raises(DisclosureError, match="only suppressed cell"):
        sdc.check_publishable(published, ONE_WAY, RULES, table_name="t")


def test_check_hidden_cells_adding_up_to_a_small_number():
    published = one_way([2, 2, 50]).astype({"count": object})
    published.loc[[0, 1], "count"] = "[c]"
    with pytest.raises(DisclosureError, match="add up to 4"):
        sdc.check_publishable(published, ONE_WAY, RULES, table_name="t")


def test_check_masked_cell_showing_a_value():
    protected = sdc.protect_table(one_way([3, 10, 20, 40]), ONE_WAY, RULES)
    leaky = protected.frame.copy()
    leaky.loc[1, "count"] = 10
    with pytest.raises(DisclosureError, match="marked as suppressed but shows a value"):
        sdc.check_publishable(leaky, ONE_WAY, RULES, table_name="t", mask=protected.mask)


def test_check_catches_exact_recovery_that_passes_the_two_per_line_rule():
    # Hidden cells form two 2x2 cycles joined by a bridge (r2, c3): every row and column
    # has 0 or >= 2 hidden cells, yet the bridge equals a signed sum of margins.
    parts = ["c1", "c2", "c3", "c4"]
    spec = TableSpec(
        count_columns=[*parts, "all"],
        column_totals={"all": parts},
        total_row=("area", "Total"),
    )
    body = np.full((4, 4), 50)
    frame = pd.DataFrame(body, columns=parts)
    frame.insert(0, "area", ["r1", "r2", "r3", "r4"])
    frame["all"] = frame[parts].sum(axis=1)
    total = frame[[*parts, "all"]].sum().to_frame().T
    total.insert(0, "area", "Total")
    frame = pd.concat([frame, total], ignore_index=True).astype({c: object for c in parts})
    for row, col in [
        (0, "c1"),
        (0, "c2"),
        (1, "c1"),
        (1, "c2"),
        (1, "c3"),
        (2, "c3"),
        (2, "c4"),
        (3, "c3"),
        (3, "c4"),
    ]:
        frame.loc[row, col] = "[c]"
    with pytest.raises(DisclosureError) as info:
        sdc.check_publishable(frame, spec, RULES, table_name="bridge")
    recovered = [(p.row, p.column) for p in info.value.problems]
    assert recovered == [(1, "c3")]
    assert "recovered exactly" in info.value.problems[0].reason


def test_protect_adds_a_complement_when_the_line_rule_is_not_enough(monkeypatch):
    # Found by random search: after the line rule (every line 0 or >= 2 hidden, hidden sum
    # >= 5) one hidden cell of this table is still determined by the system of totals, so
    # protect_table must add a further complement.
    parts = ["c0", "c1", "c2", "c3"]
    spec = TableSpec(
        count_columns=[*parts, "all"], column_totals={"all": parts}, total_row=("area", "Total")
    )
    body = pd.DataFrame(
        [[4, 2, 23, 15], [6, 13, 28, 2], [6, 19, 4, 2], [33, 39, 20, 9]], columns=parts
    )
    body.insert(0, "area", ["r0", "r1", "r2", "r3"])
    body["all"] = body[parts].sum(axis=1)
    total = body[[*parts, "all"]].sum().to_frame().T
    total.insert(0, "area", "Total")
    frame = pd.concat([body, total], ignore_index=True)

    seen = []
    original = sdc._determined_cells

    def spy(*args):
        result = original(*args)
        seen.append(result)
        return result

    monkeypatch.setattr(sdc, "_determined_cells", spy)
    protected = sdc.protect_table(frame, spec, RULES)
    assert seen[0], "the line rule alone should leave a recoverable cell here"
    assert seen[-1] == []
    monkeypatch.undo()
    sdc.check_publishable(protected.frame, spec, RULES, table_name="t", mask=protected.mask)


def test_check_accepts_published_text_with_thousands_separators():
    published = pd.DataFrame(
        {"category": ["A", "B", "Total"], "count": ["1,200", "3,400", "4,600"]}
    )
    sdc.check_publishable(published, ONE_WAY, RULES, table_name="t")
    published.loc[0, "count"] = "three"
    with pytest.raises(DisclosureError, match="unrecognised value"):
        sdc.check_publishable(published, ONE_WAY, RULES, table_name="t")


# ------------------------------------------------------------------ publishing helpers
def test_to_published_keeps_numbers_and_marks_hidden_cells():
    protected = sdc.protect_table(long_frame(), LONG_SPEC, RULES)
    published = sdc.to_published(protected.frame, protected.mask, RULES)
    assert published["count"].tolist()[:3] == ["[c]", "[c]", 34]
    assert isinstance(published["count"].tolist()[2], int)
    assert published["rate"].tolist()[0] == "[c]"
    assert published["rate"].tolist()[2] == pytest.approx(1700.0)
    assert published["characteristic"].tolist() == protected.frame["characteristic"].tolist()
    custom = DisclosureRules(marker="*")
    assert sdc.to_published(protected.frame, protected.mask, custom)["count"][0] == "*"


def test_find_disclosive_cells_on_text_and_numbers():
    published = pd.DataFrame(
        {
            "count": ["[c]", "12", "3", "1,234", None, "0", "[x]", 2.0],
            "other": ["1"] * 8,
        },
        index=list("abcdefgh"),
    )
    found = sdc.find_disclosive_cells(published, ["count"], RULES)
    assert found == [("c", "count", "3"), ("h", "count", 2.0)]
    no_zeros = sdc.find_disclosive_cells(published, ["count"], DisclosureRules(publish_zeros=False))
    assert [cell.row for cell in no_zeros] == ["c", "f", "h"]


def test_count_label_for_figures():
    assert sdc.count_label(3) == "[c]"
    assert sdc.count_label(3, less_than=True) == "<5"
    assert sdc.count_label(1234) == "1,234"
    assert sdc.count_label(12, DisclosureRules(rounding_base=5)) == "10"
    assert sdc.count_label(40, suppressed=True) == "[c]"
    assert sdc.count_label(None) == "[x]"
    assert sdc.count_label("[c]") == "[c]"
    values = sdc.safe_plot_values(pd.Series([0, 3, 12, None]), DisclosureRules(rounding_base=5))
    assert values.isna().tolist() == [False, True, False, True]
    assert values.tolist()[::2] == [0, 10]


# ------------------------------------------------------------------ API details
def test_input_frame_is_not_modified():
    frame = long_frame()
    before = frame.copy(deep=True)
    sdc.protect_table(frame, LONG_SPEC, RULES)
    pd.testing.assert_frame_equal(frame, before)


def test_index_is_preserved():
    frame = one_way([3, 10, 20, 40])
    frame.index = ["w", "x", "y", "z", "t"]
    protected = sdc.protect_table(frame, ONE_WAY, RULES)
    assert list(protected.frame.index) == list(frame.index)
    assert list(protected.mask.index) == list(frame.index)
    assert protected.mask.loc["x", "count"]


def test_rules_from_params():
    from needs_assessment.params import DisclosureParams

    rules = DisclosureRules.from_params(
        DisclosureParams(threshold=8, publish_zeros=False, rounding_base=5)
    )
    assert rules == DisclosureRules(threshold=8, publish_zeros=False, rounding_base=5)
    assert DisclosureRules.from_params({"threshold": 3}).threshold == 3


@pytest.mark.parametrize(
    "kwargs",
    [{"threshold": 0}, {"threshold": 2.5}, {"rounding_base": 1}, {"marker": ""}, {"marker": "[x]"}],
)
def test_rules_validation(kwargs):
    with pytest.raises((TypeError, ValueError)):
        DisclosureRules(**kwargs)


def test_spec_validation():
    with pytest.raises(ValueError, match="derived column"):
        TableSpec(count_columns=["count"], derived_columns={"rate": ["population"]})
    with pytest.raises(ValueError, match="column_totals"):
        TableSpec(count_columns=["a", "b"], column_totals={"all": ["a", "b"]})
    with pytest.raises(KeyError, match="no column"):
        sdc.protect_table(pd.DataFrame({"n": [1]}), TableSpec(count_columns=["count"]), RULES)
    with pytest.raises(TypeError, match="numeric"):
        sdc.protect_table(pd.DataFrame({"count": ["[c]"]}), TableSpec(count_columns=["count"]))
    with pytest.raises(ValueError, match="negative"):
        sdc.protect_table(pd.DataFrame({"count": [-1]}), TableSpec(count_columns=["count"]))
    two_totals = pd.DataFrame({"category": ["Total", "Total"], "count": [10, 10]})
    with pytest.raises(ValueError, match="total rows"):
        sdc.protect_table(two_totals, ONE_WAY)


def test_nan_rates_stay_missing_not_suppressed():
    frame = one_way([10, 20, 30])
    frame["rate"] = [1.0, math.nan, 3.0, 6.0]
    spec = TableSpec(
        count_columns=["count"],
        derived_columns={"rate": ["count"]},
        total_row=("category", "Total"),
    )
    protected = sdc.protect_table(frame, spec, RULES)
    assert not protected.mask.to_numpy().any()
    published = protected.published()
    assert pd.isna(published["rate"][1])


def test_text_derived_columns_and_odd_frames():
    # a formatted interval is a derived value like any other
    frame = one_way([3, 10, 20])
    frame["interval"] = ["3 (1 to 9)", "10 (5 to 18)", "20 (12 to 31)", "33 (23 to 46)"]
    spec = TableSpec(
        count_columns=["count"],
        derived_columns={"interval": ["count"]},
        total_row=("category", "Total"),
    )
    protected = sdc.protect_table(frame, spec, RULES)
    published = protected.published()
    assert published["interval"].tolist() == ["[c]", "[c]", "20 (12 to 31)", "33 (23 to 46)"]
    sdc.check_publishable(published, spec, RULES, table_name="t")
    published.loc[0, "interval"] = "3 (1 to 9)"
    with pytest.raises(DisclosureError, match="value shown while its count"):
        sdc.check_publishable(published, spec, RULES, table_name="t")
    # an empty table, and a duplicated index with a categorical label column
    empty = sdc.protect_table(frame.iloc[:0], spec, RULES)
    assert empty.frame.empty and empty.mask.shape == (0, 3)
    odd = frame.assign(category=pd.Categorical(frame["category"]))
    odd.index = [0, 0, 1, 1]
    assert sdc.protect_table(odd, spec, RULES).mask["count"].tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="group column"):
        TableSpec(
            count_columns=["count"], group_columns=["category"], total_row=("category", "Total")
        )
