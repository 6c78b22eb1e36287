"""Shapes, types and conventions of the public API (no reference data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import needs_assessment.stats as stats
from needs_assessment.stats import (
    agrees_with_published,
    byars_ci,
    compare_with_benchmark,
    crude_rate,
    dsr,
    esp2013,
    funnel_significance,
    pooled_rate,
    proportion,
    wilson_ci,
)
from needs_assessment.stats.verification import published_tolerance


def test_public_api_is_exported():
    for name in stats.__all__:
        assert callable(getattr(stats, name)), name


def test_scalar_in_scalar_out_and_series_in_series_out():
    lo, hi = byars_ci(65)
    assert isinstance(lo, float) and isinstance(hi, float)
    s = pd.Series([65, 1045], index=["a", "b"])
    lo, hi = wilson_ci(s, 5000)
    assert isinstance(lo, pd.Series) and list(lo.index) == ["a", "b"]
    lo, hi = byars_ci(np.array([65, 1045]))
    assert isinstance(lo, np.ndarray) and lo.shape == (2,)


def test_rate_and_proportion_frames_keep_the_index():
    counts = pd.Series([3, 40, np.nan], index=pd.Index(["E1", "E2", "E3"], name="area"))
    out = crude_rate(counts, pd.Series([1000, 2000, 3000], index=counts.index))
    assert list(out.columns) == ["value", "lower", "upper", "method"]
    assert out.index.equals(counts.index)
    assert out["method"].tolist()[:2] == ["Exact", "Byars"] and pd.isna(out["method"].iloc[2])
    assert np.isnan(out.loc["E3", "value"])
    p = proportion(counts.fillna(0), 3000)
    assert list(p.columns) == ["value", "lower", "upper"] and p.index.equals(counts.index)


def test_nullable_integer_inputs_are_accepted():
    counts = pd.Series([1, None, 30], dtype="Int64")
    out = crude_rate(counts, 1000)
    assert np.isnan(out.loc[1, "value"]) and out.loc[2, "value"] == 3000


def test_inputs_are_not_modified():
    data = pd.DataFrame(
        {
            "area": ["A"] * 19,
            "age_band": esp2013().index,
            "count": np.arange(19.0),
            "population": 1000.0,
        }
    )
    before = data.copy()
    dsr(data, by="area")
    pooled_rate(data, count="count", population="population", by="area")
    pd.testing.assert_frame_equal(data, before)


def test_dsr_accepts_zero_padded_and_worded_band_labels():
    labels = [f"{a:02d}-{a + 4:02d}" for a in range(0, 90, 5)] + ["90 and over"]
    data = pd.DataFrame({"age_band": labels, "count": 10.0, "population": 1000.0})
    out = dsr(data)
    assert out.loc[0, "value"] == pytest.approx(1000.0)
    assert out.loc[0, "note"] is None or pd.isna(out.loc[0, "note"])


def test_dsr_small_total_is_suppressed_with_a_note():
    data = pd.DataFrame(
        {"age_band": esp2013().index, "count": [1.0] * 9 + [0.0] * 10, "population": 1000.0}
    )
    out = dsr(data)
    assert np.isnan(out.loc[0, ["value", "lower", "upper"]].astype(float)).all()
    assert out.loc[0, "note"] == "total count < 10: DSR not calculated"
    assert out.loc[0, "total_count"] == 9


def test_pooled_rate_without_grouping_and_missing_year():
    data = pd.DataFrame({"deaths": [4, 5, 6], "pop": [1e5, 1e5, 1e5]})
    out = pooled_rate(data, count="deaths", population="pop")
    assert out.loc[0, "count"] == 15 and out.loc[0, "value"] == pytest.approx(5.0)
    gap = pooled_rate(data.assign(deaths=[4, None, 6]), count="deaths", population="pop")
    assert np.isnan(gap.loc[0, "value"])


def test_benchmark_output_types():
    assert compare_with_benchmark(1, 2, 3, polarity="high_is_good") == "Worse"
    arr = compare_with_benchmark(
        np.array([1.0, 4.0]), np.array([2.0, 5.0]), 3, polarity="no_judgement"
    )
    assert list(arr) == ["Lower", "Higher"]
    ser = compare_with_benchmark(pd.Series([1.0], index=["x"]), 2.0, 1.5, polarity="low_is_good")
    assert ser.to_dict() == {"x": "Similar"}


def test_funnel_significance_index_follows_input():
    num = pd.Series([35078, 24803, 50050], index=["a", "b", "c"])
    den = pd.Series([41980, 31824, 61921], index=["a", "b", "c"])
    labels = funnel_significance(num, den, statistic="proportion")
    assert list(labels.index) == ["a", "b", "c"]
    assert set(labels) <= {
        "High (0.001)",
        "High (0.025)",
        "Not significant",
        "Low (0.025)",
        "Low (0.001)",
    }


def test_published_precision_helper():
    assert published_tolerance("80.642448") == pytest.approx(5e-7)
    assert published_tolerance("1200") == 0.5
    assert published_tolerance("1.5e-3") == pytest.approx(5e-5)
    ok = agrees_with_published(
        [80.6424484, 80.6424510, np.nan, 3.0], ["80.642448", "80.642448", "NA", ""]
    )
    assert ok.tolist() == [True, False, True, False]
    # full-precision published numbers fall back to the relative tolerance of R's expect_equal
    assert agrees_with_published([1.0 + 1e-9], ["1.0000000000000000"]).all()
    assert not agrees_with_published([1.0 + 1e-7], ["1.0000000000000000"]).any()
