"""Byars / exact / Wilson limits, crude rates, proportions and ESP2013 against the
published PHEindicatormethods test tables (../shared/reference/stats)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import PHStatsMethods as phs
import pytest

from needs_assessment.stats import (
    assert_agrees_with_published,
    byars_ci,
    crude_rate,
    esp2013,
    pooled_rate,
    proportion,
    wilson_ci,
)

pytestmark = pytest.mark.reference


def _read(reference_dir, name: str) -> pd.DataFrame:
    """A reference table as text, so the published precision of every number is known."""
    return pd.read_csv(
        reference_dir / "stats" / name, dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )


def _num(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col.replace({"": None, "NA": None}), errors="coerce").to_numpy(dtype=float)


@pytest.fixture(scope="module")
def bw(reference_dir):
    return _read(reference_dir, "PHEindicatormethods/testdata_Byars_Wilson__testdata_B_W.csv")


def test_byars_rows_1_to_6(bw):
    for rows, conf in ((slice(0, 3), 0.95), (slice(3, 6), 0.998)):
        t = bw.iloc[rows]
        assert set(t["confidence"]) == {f"{conf * 100:g}%"}
        lower, upper = byars_ci(_num(t["x"]), conf)
        assert_agrees_with_published(lower, t["lowercl"], label=f"byars lower {conf}")
        assert_agrees_with_published(upper, t["uppercl"], label=f"byars upper {conf}")


def test_byars_is_the_bare_approximation_even_below_10(bw):
    # row 3: byars_lower(1) is Byars' 0.0130..., not the exact limit PHStatsMethods returns
    lower, _ = byars_ci(1.0)
    assert_agrees_with_published(lower, bw.loc[2, "lowercl"])
    assert not np.isclose(phs.byars_lower(1), lower)


def test_wilson_rows_7_to_12(bw):
    for rows, conf in ((slice(6, 9), 0.95), (slice(9, 12), 0.998)):
        t = bw.iloc[rows]
        lower, upper = wilson_ci(_num(t["x"]), _num(t["n"]), conf)
        assert_agrees_with_published(lower, t["lowercl"], label=f"wilson lower {conf}")
        assert_agrees_with_published(upper, t["uppercl"], label=f"wilson upper {conf}")


@pytest.fixture(scope="module")
def rate_table(reference_dir):
    return _read(reference_dir, "PHEindicatormethods/testdata_Rate__testdata_Rate.csv")


@pytest.mark.parametrize(
    "rows",
    [slice(0, 8), slice(8, 16), slice(16, 20)],
    ids=["per100", "per100000", "missing+num>den"],
)
def test_crude_rate(rate_table, rows):
    t = rate_table.iloc[rows]
    mult = float(t["multiplier"].iloc[0])
    for conf, lo, hi in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        out = crude_rate(
            _num(t["Numerator"]), _num(t["Denominator"]), multiplier=mult, confidence=conf
        )
        assert_agrees_with_published(out["value"], t["value"], label="value")
        assert_agrees_with_published(out["lower"], t[lo], label=lo)
        assert_agrees_with_published(out["upper"], t[hi], label=hi)
        known = t["method"] != ""
        assert list(out["method"][known.to_numpy()]) == list(t["method"][known])


def test_pooled_rate_matches_grouped_rate_table(reference_dir, rate_table):
    expected = _read(reference_dir, "PHEindicatormethods/testdata_Rate__testdata_Rate_g.csv")
    data = rate_table.iloc[8:].assign(
        Numerator=lambda d: _num(d["Numerator"]), Denominator=lambda d: _num(d["Denominator"])
    )
    # the R test stacks the per-100000 rows twice and groups by Area (Area12 appears once)
    stacked = pd.concat([data.iloc[:8], data])
    out = pooled_rate(stacked, count="Numerator", population="Denominator", by="Area").set_index(
        "Area"
    )
    out = out.loc[expected["Area"]]
    assert_agrees_with_published(out["count"], expected["Numerator"], label="count")
    assert_agrees_with_published(out["population"], expected["Denominator"], label="population")
    assert_agrees_with_published(out["value"], expected["value"], label="value")
    assert_agrees_with_published(out["lower"], expected["lowercl"], label="lower")
    assert_agrees_with_published(out["upper"], expected["uppercl"], label="upper")


def test_crude_rate_agrees_with_phstatsmethods_where_it_runs(rate_table):
    t = rate_table.iloc[8:16]
    df = pd.DataFrame({"n": _num(t["Numerator"]), "d": _num(t["Denominator"])})
    theirs = phs.ph_rate(df, "n", "d", confidence=[0.95, 0.998], multiplier=100000)
    for conf, col in ((0.95, "95"), (0.998, "99_8")):
        ours = crude_rate(df["n"], df["d"], confidence=conf)
        np.testing.assert_allclose(ours["lower"], theirs[f"lower_{col}_ci"], rtol=1e-12)
        np.testing.assert_allclose(ours["upper"], theirs[f"upper_{col}_ci"], rtol=1e-12)


def test_zero_count_rate_where_phstatsmethods_fails():
    with pytest.raises(ValueError):
        phs.ph_rate(pd.DataFrame({"n": [0.0], "d": [1000.0]}), "n", "d")
    out = crude_rate(0, 1000)
    assert out.loc[0, "lower"] == 0.0
    assert out.loc[0, "method"] == "Exact"
    # exact upper limit of a zero count is chi2(0.975, 2)/2 = -ln(0.025)
    assert out.loc[0, "upper"] == pytest.approx(-np.log(0.025) / 1000 * 100_000, rel=1e-12)


@pytest.fixture(scope="module")
def prop_table(reference_dir):
    return _read(reference_dir, "PHEindicatormethods/testdata_Proportion__testdata_Prop.csv")


@pytest.mark.parametrize(
    "rows", [slice(0, 8), slice(8, 16), slice(16, 19)], ids=["of1", "percent", "missing"]
)
def test_proportion(prop_table, rows):
    t = prop_table.iloc[rows]
    mult = float(t["multiplier"].iloc[0])
    for conf, lo, hi in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        out = proportion(
            _num(t["Numerator"]), _num(t["Denominator"]), multiplier=mult, confidence=conf
        )
        assert_agrees_with_published(out["value"], t["value"], label="value")
        assert_agrees_with_published(out["lower"], t[lo], label=lo)
        assert_agrees_with_published(out["upper"], t[hi], label=hi)


def test_grouped_proportion(reference_dir, prop_table):
    expected = _read(reference_dir, "PHEindicatormethods/testdata_Proportion__testdata_Prop_g.csv")
    data = prop_table.iloc[:8].assign(
        Numerator=lambda d: _num(d["Numerator"]), Denominator=lambda d: _num(d["Denominator"])
    )
    data = pd.concat(
        [
            data,
            data,
            prop_table.iloc[16:19].assign(
                Numerator=lambda d: _num(d["Numerator"]),
                Denominator=lambda d: _num(d["Denominator"]),
            ),
        ]
    )
    sums = data.groupby("Area")[["Numerator", "Denominator"]].sum(min_count=1).loc[expected["Area"]]
    out = proportion(sums["Numerator"], sums["Denominator"], multiplier=1)
    assert_agrees_with_published(out["value"], expected["value"])
    assert_agrees_with_published(out["lower"], expected["lowercl"])
    assert_agrees_with_published(out["upper"], expected["uppercl"])


def test_proportion_agrees_with_phstatsmethods(prop_table):
    t = prop_table.iloc[:8]
    df = pd.DataFrame({"n": _num(t["Numerator"]), "d": _num(t["Denominator"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = phs.ph_proportion(df, "n", "d", confidence=0.998, multiplier=100)
    ours = proportion(df["n"], df["d"], confidence=0.998)
    np.testing.assert_allclose(ours["lower"], theirs["lower_99_8_ci"], rtol=1e-12)
    np.testing.assert_allclose(ours["upper"], theirs["upper_99_8_ci"], rtol=1e-12)


def test_esp2013_matches_reference_and_phstatsmethods(reference_dir):
    ref = _read(reference_dir, "esp2013.csv")
    esp = esp2013()
    assert list(esp.index) == list(ref["ageband"])
    assert list(esp.to_numpy()) == [int(v) for v in ref["esp2013"]]
    assert esp.sum() == 100_000
    theirs = phs.euro_standard_pop()
    assert list(theirs["esp_age_bands"]) == list(esp.index)
    assert list(theirs["euro_standard_pops"]) == list(esp.to_numpy())
