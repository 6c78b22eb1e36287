"""Funnel-plot limits and significance against the PHEindicatormethods funnel tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needs_assessment.stats import assert_agrees_with_published, funnel_limits, funnel_significance

pytestmark = pytest.mark.reference


def _read(reference_dir, name: str, *, text: bool = False) -> pd.DataFrame:
    path = reference_dir / "stats" / "PHEindicatormethods" / name
    kw = {"dtype": str, "keep_default_na": False} if text else {}
    frame = pd.read_csv(path, encoding="utf-8-sig", **kw)
    return frame.rename(
        columns=lambda c: c.strip()
    )  # "Observed_events\n" header in the ratio table


@pytest.fixture(scope="module")
def prop_inputs(reference_dir):
    return _read(reference_dir, "testdata_funnel_prop_inputs.csv")


PROP_COLS = {
    "Population": "Population",
    "lower_2s_limit": "Lower2s0025limit",
    "upper_2s_limit": "Upper2s0025limit",
    "lower_3s_limit": "Lower3s0001limit",
    "upper_3s_limit": "Upper3s0001limit",
    "baseline": "Baseline",
}


@pytest.mark.parametrize(
    "outputs,subset",
    [
        ("testdata_funnel_prop_outputs.csv", False),
        ("testdata_funnel_prop_outputs_with_axis_variation.csv", True),
    ],
    ids=["default", "axis-variation"],
)
def test_proportion_limits(reference_dir, prop_inputs, outputs, subset):
    data = prop_inputs[prop_inputs["denominator"] < 31000] if subset else prop_inputs
    expected = _read(reference_dir, outputs, text=True)
    table = funnel_limits(
        data["numerator"], data["denominator"], statistic="proportion", multiplier=100
    )
    assert len(table) == len(expected) == 100
    for ours, theirs in PROP_COLS.items():
        assert_agrees_with_published(table[ours], expected[theirs], label=ours)


def test_proportion_significance(prop_inputs):
    labels = funnel_significance(
        prop_inputs["numerator"], prop_inputs["denominator"], statistic="proportion"
    )
    assert labels.tolist() == prop_inputs["significance"].tolist()
    assert labels.index.equals(prop_inputs.index)


@pytest.fixture(scope="module")
def ratio_inputs(reference_dir):
    return _read(reference_dir, "testdata_funnel_ratio_inputs.csv")


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_limits(reference_dir, ratio_inputs, ratio_type):
    expected = _read(reference_dir, "testdata_funnel_ratio_outputs.csv", text=True)
    table = funnel_limits(
        ratio_inputs["obs"], ratio_inputs["expected"], statistic="ratio", ratio_type=ratio_type
    )
    assert_agrees_with_published(table["Observed_events"], expected["Observed_events"])
    for side in ("lower_2s", "upper_2s", "lower_3s", "upper_3s"):
        assert_agrees_with_published(
            table[f"{side}_exp_events"], expected[f"{side}_exp_events"], label=side
        )
        assert_agrees_with_published(
            table[f"{side}_limit"], expected[f"{side}_{ratio_type}"], label=side
        )


def test_ratio_significance(ratio_inputs):
    labels = funnel_significance(ratio_inputs["obs"], ratio_inputs["expected"], statistic="ratio")
    assert labels.tolist() == ratio_inputs["significance"].tolist()


@pytest.fixture(scope="module")
def rate_funnel_inputs(reference_dir):
    return _read(reference_dir, "testdata_funnel_rate_input_funnels.csv")


RATE_COLS = [
    "Events",
    "lower_2s_population_1_year",
    "lower_2s_limit",
    "upper_2s_population_1_year",
    "upper_2s_limit",
    "lower_3s_population_1_year",
    "lower_3s_limit",
    "upper_3s_population_1_year",
    "upper_3s_limit",
    "baseline",
]


def _compare_rate_table(table, expected):
    assert len(table) == len(expected)
    for col in RATE_COLS:
        assert_agrees_with_published(table[col], expected[col], label=col)


def test_rate_limits_dsr(reference_dir, rate_funnel_inputs):
    d = rate_funnel_inputs
    table = funnel_limits(
        d["ev"], statistic="rate", rate=d["rate"], rate_type="dsr", multiplier=1e5, years_of_data=3
    )
    _compare_rate_table(table, _read(reference_dir, "testdata_funnel_rate_outputs.csv", text=True))


def test_rate_limits_crude_with_fewer_than_10_events(reference_dir, rate_funnel_inputs):
    ev = rate_funnel_inputs["ev"].where(
        rate_funnel_inputs["ev"] != rate_funnel_inputs["ev"].max(), 5
    )
    table = funnel_limits(
        ev,
        statistic="rate",
        rate=rate_funnel_inputs["rate"],
        rate_type="crude",
        multiplier=1e5,
        years_of_data=3,
    )
    _compare_rate_table(
        table, _read(reference_dir, "testdata_funnel_rate_outputs_2.csv", text=True)
    )


def test_rate_limits_crude_with_zero_events_and_denominator(reference_dir, rate_funnel_inputs):
    d = rate_funnel_inputs[["ev", "rate"]].copy()
    d["pop"] = 1e5 * d["ev"] / d["rate"]
    biggest = d["ev"] == d["ev"].max()
    d.loc[biggest, ["ev", "rate"]] = 0
    d = d[d["pop"] > d["pop"].max() / 2]
    table = funnel_limits(
        d["ev"],
        d["pop"],
        statistic="rate",
        rate=d["rate"],
        rate_type="crude",
        multiplier=1e5,
        years_of_data=3,
    )
    _compare_rate_table(
        table, _read(reference_dir, "testdata_funnel_rate_outputs_3.csv", text=True)
    )


SCENARIOS = [
    ("rate_dsr", "dsr", 1e5, "dsr_per_100000_with_0", False),
    ("rate_dsr", "dsr", 1e5, "dsr_per_100000_without_0", True),
    ("rate_dsr", "dsr", 100, "dsr_per_100_without_0", True),
    ("rate_crude_per_100000", "crude", 1e5, "crude_per_100000_with_0", False),
    ("rate_crude_per_100000", "crude", 1e5, "crude_per_100000_without_0", True),
    ("rate_crude_per_100", "crude", 100, "crude_per_100_with_0", False),
    ("rate_crude_per_100", "crude", 100, "crude_per_100_without_0", True),
]


@pytest.mark.parametrize(
    "rate,rate_type,multiplier,expected,drop_zero", SCENARIOS, ids=[s[3] for s in SCENARIOS]
)
def test_rate_significance(reference_dir, rate, rate_type, multiplier, expected, drop_zero):
    d = _read(reference_dir, "testdata_funnel_rate_dsr_inputs.csv")
    if drop_zero:
        d = d[d["count"] != 0]
    labels = funnel_significance(
        d["count"],
        d["pop"],
        statistic="rate",
        rate=d[rate],
        rate_type=rate_type,
        multiplier=multiplier,
    )
    assert labels.tolist() == d[expected].tolist()
    if rate_type == "dsr":
        assert (labels[d["count"] < 10] == "Not applicable for events less than 10 for dsrs").all()


def test_significance_consistent_with_limits_for_proportions(prop_inputs):
    """An area labelled 'Not significant' lies inside the 95% funnel at its own denominator."""
    d = prop_inputs
    labels = funnel_significance(d["numerator"], d["denominator"], statistic="proportion")
    table = funnel_limits(d["numerator"], d["denominator"], statistic="proportion")
    pct = 100 * d["numerator"] / d["denominator"]
    lo95 = np.interp(d["denominator"], table["Population"], table["lower_2s_limit"])
    hi95 = np.interp(d["denominator"], table["Population"], table["upper_2s_limit"])
    inside = (pct > lo95 + 0.05) & (pct < hi95 - 0.05)  # clear of interpolation error
    assert (labels[inside] == "Not significant").all()
