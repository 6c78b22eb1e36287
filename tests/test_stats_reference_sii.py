"""Slope and relative index of inequality against PHEindicatormethods testdata_SII.

As in the R tests: the SII, RII and intercept are compared at full precision; the
simulated confidence limits with relative tolerance 0.05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needs_assessment.stats import assert_agrees_with_published, slope_index_of_inequality

pytestmark = pytest.mark.reference
SIM_RTOL = 0.05


@pytest.fixture(scope="module")
def sii_data(reference_dir):
    path = reference_dir / "stats" / "PHEindicatormethods" / "testdata_SII__testdata_SII.csv"
    numeric = pd.read_csv(path, encoding="utf-8-sig")
    text = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return numeric, text


def _block(sii_data, first_record: int, n_rows: int = 20):
    numeric, text = sii_data
    rows = (numeric["RecordNo"] >= first_record) & (numeric["RecordNo"] < first_record + n_rows)
    block = numeric[rows]
    expected = text[rows.to_numpy()].groupby("Area", sort=True).head(1).reset_index(drop=True)
    return block, expected


def _assert_limits(computed, published, label):
    computed = np.asarray(computed, dtype=float)
    published = np.asarray(published, dtype=float)
    np.testing.assert_allclose(computed, published, rtol=SIM_RTOL, err_msg=label)


# (first RecordNo, value_type, confidence, multiplier, transform, use se?, expected limit set)
SCENARIOS = {
    "normal default (se)": (1, "other", 0.95, 1, False, True, 1),
    "normal default (CLs)": (1, "other", 0.95, 1, False, False, 1),
    "normal 99%": (21, "other", 0.99, 1, False, False, 1),
    "normal 10,000 reps block": (41, "other", 0.95, 1, False, True, 1),
    "normal multiple CIs, 95%": (226, "other", 0.95, 1, False, True, 1),
    "normal multiple CIs, 99%": (226, "other", 0.99, 1, False, True, 2),
    "normal intercept": (246, "other", 0.95, 1, False, False, 1),
    "rate default (se)": (71, "rate", 0.95, 1, False, True, 1),
    "rate default (CLs)": (71, "rate", 0.95, 1, False, False, 1),
    "rate intercept": (266, "rate", 0.95, 1, False, False, 1),
    "proportion default (se)": (91, "proportion", 0.95, 1, False, True, 1),
    "proportion default (CLs)": (91, "proportion", 0.95, 1, False, False, 1),
    "proportion x100": (111, "proportion", 0.95, 100, False, False, 1),
    "proportion x-100": (131, "proportion", 0.95, -100, False, False, 1),
    "proportion intercept": (286, "proportion", 0.95, 1, False, False, 1),
    "rate log transform": (306, "rate", 0.95, 1, True, False, 1),
    "proportion logit transform": (326, "proportion", 0.95, 1, True, False, 1),
    "proportion logit transform x-1": (346, "proportion", 0.95, -1, True, False, 1),
    "rate log transform, 95 and 98%: 95": (366, "rate", 0.95, 1, True, False, 1),
    "rate log transform, 95 and 98%: 98": (366, "rate", 0.98, 1, True, False, 2),
    "rate log transform x-1": (386, "rate", 0.95, -1, True, False, 1),
    "rate log transform 98%": (406, "rate", 0.98, 1, True, False, 1),
    "rate log transform no rii": (426, "rate", 0.95, 1, True, False, 1),
    "proportion logit transform no rii": (446, "proportion", 0.95, 1, True, False, 1),
    "proportion logit transform 98%": (466, "proportion", 0.98, 1, True, False, 1),
    "proportion logit transform, 95 and 98%: 98": (486, "proportion", 0.98, 1, True, False, 2),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sii_scenarios(sii_data, scenario):
    first, value_type, conf, mult, transform, use_se, limit_set = SCENARIOS[scenario]
    block, expected = _block(sii_data, first)
    limits = {"se": "StandardError"} if use_se else {"lower_cl": "LowerCL", "upper_cl": "UpperCL"}
    out = slope_index_of_inequality(
        block,
        quantile="Quantile",
        population="Population",
        value="Value",
        value_type=value_type,
        by="Area",
        multiplier=mult,
        confidence=conf,
        transform=transform,
        seed=20240613,
        **limits,
    )
    assert out["Area"].tolist() == expected["Area"].tolist()
    assert_agrees_with_published(out["sii"], expected["sii"], label="sii")
    if expected["rii"].ne("").all():
        assert_agrees_with_published(out["rii"], expected["rii"], label="rii")
    if expected["Intercept"].ne("").all():
        assert_agrees_with_published(out["intercept"], expected["Intercept"], label="intercept")
    _assert_limits(out["sii_lower"], expected[f"sii_lowercl_{limit_set}"], "sii lower")
    _assert_limits(out["sii_upper"], expected[f"sii_uppercl_{limit_set}"], "sii upper")
    if expected[f"rii_lowercl_{limit_set}"].ne("").all():
        _assert_limits(out["rii_lower"], expected[f"rii_lowercl_{limit_set}"], "rii lower")
        _assert_limits(out["rii_upper"], expected[f"rii_uppercl_{limit_set}"], "rii upper")


def test_sii_quintiles(sii_data):
    block, expected = _block(sii_data, 61, 10)
    out = slope_index_of_inequality(
        block,
        quantile="Quantile",
        population="Population",
        value="Value",
        se="StandardError",
        by="Area",
        seed=1,
        repetitions=1000,
    )
    assert (out["n_quantiles"] == 5).all()
    assert_agrees_with_published(out["sii"], expected["sii"])
    assert_agrees_with_published(out["rii"], expected["rii"])


def test_sii_proportion_from_counts(sii_data):
    block, expected = _block(sii_data, 91)
    out = slope_index_of_inequality(
        block,
        quantile="Quantile",
        population="Population",
        numerator="Count",
        value_type="proportion",
        lower_cl="LowerCL",
        upper_cl="UpperCL",
        by="Area",
        seed=3,
    )
    assert_agrees_with_published(out["sii"], expected["sii"])
    _assert_limits(out["sii_lower"], expected["sii_lowercl_1"], "sii lower")


def test_sii_ungrouped_equals_grouped_first_area(sii_data):
    block, expected = _block(sii_data, 1)
    area1 = block[block["Area"] == "area1"]
    out = slope_index_of_inequality(
        area1,
        quantile="Quantile",
        population="Population",
        value="Value",
        lower_cl="LowerCL",
        upper_cl="UpperCL",
        seed=5,
    )
    assert len(out) == 1
    assert_agrees_with_published(out["sii"], expected["sii"].iloc[:1])


def test_sii_seed_reproducible(sii_data):
    block, _ = _block(sii_data, 1)
    kw = {
        "quantile": "Quantile",
        "population": "Population",
        "value": "Value",
        "se": "StandardError",
        "by": "Area",
        "repetitions": 2000,
    }
    a = slope_index_of_inequality(block, seed=11, **kw)
    b = slope_index_of_inequality(block, seed=11, **kw)
    c = slope_index_of_inequality(block, seed=12, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["sii_lower"], c["sii_lower"])


@pytest.mark.parametrize(
    "first,kwargs,match",
    [
        (151, {}, "Population"),  # negative populations
        (161, {"se": "StandardError"}, "StandardError"),  # negative standard errors
    ],
    ids=["negative population", "negative se"],
)
def test_sii_error_scenarios(sii_data, first, kwargs, match):
    block, _ = _block(sii_data, first, 10)
    limits = kwargs or {"lower_cl": "LowerCL", "upper_cl": "UpperCL"}
    with pytest.raises(ValueError, match=match):
        slope_index_of_inequality(
            block, quantile="Quantile", population="Population", value="Value", seed=1, **limits
        )


def test_sii_invalid_proportion_limits(sii_data):
    block, _ = _block(sii_data, 171, 10)
    with pytest.raises(ValueError, match="strictly between 0 and 1.*position"):
        slope_index_of_inequality(
            block,
            quantile="Quantile",
            population="Population",
            value="Value",
            value_type="proportion",
            lower_cl="LowerCL",
            upper_cl="UpperCL",
            seed=1,
        )


def test_sii_needs_a_value_column(sii_data):
    block, _ = _block(sii_data, 181, 10)
    with pytest.raises(ValueError, match="needs a value column"):
        slope_index_of_inequality(
            block, quantile="Quantile", population="Population", se="StandardError"
        )


def test_sii_missing_limits_or_values_give_a_note(sii_data):
    for first, kwargs in (
        (191, {"lower_cl": "LowerCL", "upper_cl": "UpperCL"}),
        (201, {"lower_cl": "LowerCL", "upper_cl": "UpperCL"}),
    ):
        block, _ = _block(sii_data, first, 10)
        out = slope_index_of_inequality(
            block,
            quantile="Quantile",
            population="Population",
            value="Value",
            repetitions=1000,
            seed=1,
            **kwargs,
        )
        assert np.isnan(out.loc[0, "sii"])
        assert "incomplete" in out.loc[0, "note"]


def test_sii_warns_for_many_quantiles(sii_data):
    block, _ = _block(sii_data, 211, 15)
    with pytest.warns(UserWarning, match="15 quantiles"):
        out = slope_index_of_inequality(
            block,
            quantile="Quantile",
            population="Population",
            value="Value",
            se="StandardError",
            repetitions=1000,
            seed=1,
        )
    assert np.isfinite(out.loc[0, "sii"])
