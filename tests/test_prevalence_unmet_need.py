"""Unmet need (proportion of the estimated population not in treatment)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needs_assessment.prevalence import unmet_need


def test_point_and_interval_arithmetic():
    out = unmet_need(250, 1000, 800, 1250)
    row = out.iloc[0]
    assert row["unmet_need"] == pytest.approx(0.75)
    assert row["lower"] == pytest.approx(1 - 250 / 800)   # smaller population -> less unmet
    assert row["upper"] == pytest.approx(1 - 250 / 1250)
    assert row["not_in_treatment"] == 750
    assert row["treatment_penetration"] == pytest.approx(0.25)
    assert row["flag"] == ""


def test_vectorised_over_areas_keeps_index():
    areas = pd.Index(["north", "south", "east"], name="district")
    n = pd.Series([100, 300, 50], index=areas)
    out = unmet_need(n, [500, 400, 60], [400, 350, 40], [700, 500, 90])
    assert list(out.index) == list(areas)
    assert out.loc["south", "unmet_need"] == pytest.approx(0.25)


def test_missing_limits_give_missing_interval():
    out = unmet_need([10, 20], [100, 100])
    assert out["lower"].isna().all() and out["upper"].isna().all()
    assert out["unmet_need"].tolist() == pytest.approx([0.9, 0.8])


def test_more_in_treatment_than_estimated_is_flagged_not_silently_clipped():
    out = unmet_need([900, 750, 1300], [800, 800, 800], [700, 700, 700], [1000, 1000, 1000])
    assert out["unmet_need"].tolist() == [0.0, pytest.approx(1 - 750 / 800), 0.0]
    assert out["flag"].tolist() == ["in_treatment_exceeds_estimate",
                                    "in_treatment_exceeds_lower_estimate",
                                    "in_treatment_exceeds_upper_estimate"]
    assert out.loc[0, "unmet_need_unclipped"] == pytest.approx(1 - 900 / 800)
    assert out.loc[0, "not_in_treatment"] == 0


def test_binomial_option_widens_interval():
    plain = unmet_need(100, 400, 300, 600).iloc[0]
    wide = unmet_need(100, 400, 300, 600, binomial=True).iloc[0]
    assert wide["lower"] <= plain["lower"] and wide["upper"] >= plain["upper"]
    assert wide["unmet_need"] == plain["unmet_need"]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((-1, 100), {}, "in_treatment"),
        ((10, 0), {}, "estimate"),
        ((10, 100, 120, 150), {}, "lower"),
        ((10, 100, 80, 90), {}, "upper"),
        (([1, 2], [100, 100, 100]), {}, "different lengths"),
        ((10, 100), {"confidence": 1.5}, "confidence"),
    ],
)
def test_bad_input_names_the_argument(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        unmet_need(*args, **kwargs)


population = st.floats(50, 1e5)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n=st.floats(0, 2e5), big_n=population, f_lo=st.floats(0.3, 1), f_hi=st.floats(1, 3),
       binomial=st.booleans())
def test_interval_contains_point_and_stays_in_unit_interval(n, big_n, f_lo, f_hi, binomial):
    out = unmet_need(n, big_n, big_n * f_lo, big_n * f_hi, binomial=binomial).iloc[0]
    assert 0 <= out["lower"] <= out["unmet_need"] <= out["upper"] <= 1
    assert (out["flag"] != "") == (n > big_n * f_lo)
    if n > big_n:
        assert out["unmet_need"] == 0 and out["flag"].startswith("in_treatment_exceeds")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n1=st.floats(0, 1e4), extra=st.floats(0, 1e4), big_n=population,
       f_lo=st.floats(0.3, 1), f_hi=st.floats(1, 3))
def test_more_in_treatment_means_less_unmet_need(n1, extra, big_n, f_lo, f_hi):
    out = unmet_need([n1, n1 + extra], big_n, big_n * f_lo, big_n * f_hi)
    for col in ("unmet_need", "lower", "upper"):
        assert out[col].iloc[1] <= out[col].iloc[0] + 1e-12
    assert np.all(np.diff(out["treatment_penetration"]) >= 0)
