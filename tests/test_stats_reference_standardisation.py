"""DSR (independent and non-independent events), ISR / ISRatio against the published
PHEindicatormethods (and PHStatsMethods) test tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import PHStatsMethods as phs
import pytest

from needs_assessment.stats import (
    assert_agrees_with_published,
    dsr,
    esp2013,
    israte,
    isratio,
    pooled_dsr,
)

pytestmark = pytest.mark.reference
PIM = "PHEindicatormethods/testdata_DSR_ISR__"


def _read(reference_dir, name: str, *, text: bool = True) -> pd.DataFrame:
    path = reference_dir / "stats" / name
    if text:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return pd.read_csv(path, encoding="utf-8-sig")


def _check(out: pd.DataFrame, expected: pd.DataFrame, columns: dict[str, str], label: str) -> None:
    for ours, theirs in columns.items():
        assert_agrees_with_published(out[ours], expected[theirs], label=f"{label} {ours}")


@pytest.fixture(scope="module")
def dsr_results(reference_dir):
    return _read(reference_dir, PIM + "testresults_DSR.csv")


@pytest.fixture(scope="module")
def multiarea(reference_dir):
    return _read(reference_dir, PIM + "testdata_multiarea.csv", text=False)


FULL = {
    "total_count": "total_count",
    "total_population": "total_pop",
    "value": "value",
}


@pytest.mark.parametrize(
    "rows,multiplier",
    [(slice(0, 3), 10_000), (slice(4, 7), 100_000)],
    ids=["per10000", "per100000"],
)
def test_dsr_esp2013(multiarea, dsr_results, rows, multiplier):
    expected = dsr_results.iloc[rows].reset_index(drop=True)
    for conf, lo, hi in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        out = dsr(
            multiarea,
            count="count",
            population="pop",
            age_band="ageband",
            by="area",
            multiplier=multiplier,
            confidence=conf,
        )
        assert list(out["area"]) == list(expected["area"])
        _check(out, expected, {**FULL, "lower": lo, "upper": hi}, f"dsr {conf}")
    suppressed = expected["statistic"] == "dsr NA for total count < 10"
    assert list(out["note"].notna()) == list(suppressed)


def test_dsr_user_standard_1976(reference_dir, dsr_results):
    data = _read(reference_dir, PIM + "testdata_1976.csv", text=False)
    # row 4: per 10 000, all columns; row 8: per 100 000, columns 2-6 only (its 99.8% cells are a slip)
    for row, multiplier, cols in (
        (3, 10_000, {**FULL, "lower": "lower95_0cl", "upper": "upper95_0cl"}),
        (7, 100_000, {**FULL, "lower": "lower95_0cl", "upper": "upper95_0cl"}),
    ):
        out = dsr(data, count="count", population="pop", standard="esp1976", multiplier=multiplier)
        _check(out, dsr_results.iloc[[row]].reset_index(drop=True), cols, f"1976 row {row + 1}")
    # The 99.8% cells of rows 4 and 8 are ten times the per-10 000 / per-100 000 values (a
    # spreadsheet slip; no R test reads them), so they are not compared.


def test_dsr_standard_as_series(multiarea, dsr_results):
    out = dsr(
        multiarea,
        count="count",
        population="pop",
        age_band="ageband",
        by="area",
        standard=pd.Series(esp2013().to_numpy(), index=multiarea["ageband"].iloc[:19].to_numpy()),
    )
    _check(
        out,
        dsr_results.iloc[4:7].reset_index(drop=True),
        {"value": "value", "lower": "lower95_0cl"},
        "series standard",
    )


def test_dsr_non_independent_events(reference_dir, dsr_results):
    wide = _read(reference_dir, PIM + "testdata_nonindepe.csv", text=False)
    long = wide.melt(
        id_vars=["area", "ageband", "pop"],
        value_vars=["f1", "f2", "f3", "f4"],
        var_name="freq",
        value_name="persons",
    )
    long["freq"] = long["freq"].str[1].astype(int)
    # as the R test: frequency 4 is dropped for the dummy, small and tiny areas
    long = long[~((long["freq"] == 4) & (long["area"] != "testdata_nonind_big"))]
    expected = dsr_results.iloc[8:12].reset_index(drop=True)
    for conf, lo, hi in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        out = dsr(
            long,
            count="persons",
            population="pop",
            age_band="ageband",
            by="area",
            event_frequency="freq",
            confidence=conf,
        )
        assert list(out["area"]) == list(expected["area"])
        _check(out, expected, {**FULL, "lower": lo, "upper": hi}, f"non-independent {conf}")
    assert set(out["method"]) == {"Dobson, with confidence adjusted for non-independent events"}
    # events by band (the count column) reproduce the totals
    assert out["total_count"].tolist() == wide.groupby("area")["count"].sum().tolist()


def test_dsr_agrees_with_phstatsmethods(multiarea):
    data = multiarea.assign(esp=np.tile(esp2013().to_numpy(), 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = phs.ph_dsr(
            data,
            "count",
            "pop",
            "esp",
            group_cols="area",
            euro_standard_pops=False,
            confidence=0.998,
        )
    ours = dsr(data, count="count", population="pop", standard="esp", by="area", confidence=0.998)
    np.testing.assert_allclose(ours["value"], theirs["Value"], rtol=1e-12)
    np.testing.assert_allclose(ours["lower"], theirs["lower_99_8_ci"], rtol=1e-12)
    np.testing.assert_allclose(ours["upper"], theirs["upper_99_8_ci"], rtol=1e-12)


def test_pooled_dsr_equals_dsr_of_summed_years(multiarea):
    # split each area's counts and populations into two "years"; pooling must give the same DSR
    one = multiarea.assign(
        year=1, count=multiarea["count"].fillna(0) // 2, pop=multiarea["pop"] // 2
    )
    two = multiarea.assign(
        year=2, count=multiarea["count"].fillna(0) - one["count"], pop=multiarea["pop"] - one["pop"]
    )
    pooled = pooled_dsr(
        pd.concat([one, two]), count="count", population="pop", age_band="ageband", by="area"
    )
    direct = dsr(multiarea, count="count", population="pop", age_band="ageband", by="area")
    pd.testing.assert_frame_equal(pooled, direct)


@pytest.mark.parametrize("name,column", [("err1", "count"), ("err3", "pop"), ("err4", "stdpop")])
def test_dsr_error_tables(reference_dir, name, column):
    data = _read(reference_dir, PIM + f"testdata_{name}.csv", text=False)
    with pytest.raises(ValueError, match=f"column '{column}'.*position"):
        dsr(data, count="count", population="pop", standard="stdpop")


def test_dsr_error_zero_population(reference_dir):
    data = _read(reference_dir, PIM + "testdata_err2.csv", text=False)
    with pytest.raises(
        ValueError, match=r"column 'pop' must be > 0; got 0\.0 at position 1 \(index label 1\)"
    ):
        dsr(
            data.assign(std=np.tile(esp2013().to_numpy(), 2)),
            count="count",
            population="pop",
            standard="std",
            by="area",
        )


@pytest.fixture(scope="module")
def isr_results(reference_dir):
    return _read(reference_dir, PIM + "testresults_ISR.csv")


@pytest.fixture(scope="module")
def isr_data(reference_dir):
    return _read(reference_dir, PIM + "testdata_multiarea_isr.csv", text=False)


ISR_COLS = {"observed": "observed", "expected": "expected", "value": "value"}


@pytest.mark.parametrize(
    "rows,multiplier", [(slice(0, 3), 100_000), (slice(3, 6), 1_000)], ids=["per100000", "per1000"]
)
def test_israte(isr_data, isr_results, rows, multiplier):
    expected = isr_results.iloc[rows].reset_index(drop=True)
    for conf, lo, hi in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        out = israte(
            isr_data,
            observed="count",
            population="pop",
            reference_count="refcount",
            reference_population="refpop",
            by="area",
            multiplier=multiplier,
            confidence=conf,
        )
        _check(
            out,
            expected,
            {**ISR_COLS, "reference_rate": "ref_rate", "lower": lo, "upper": hi},
            f"israte {conf}",
        )
    assert list(out["method"]) == list(expected["method"])


@pytest.mark.parametrize(
    "rows,refvalue", [(slice(6, 9), 1), (slice(9, 12), 100)], ids=["x1", "x100"]
)
def test_isratio(isr_data, isr_results, rows, refvalue):
    expected = isr_results.iloc[rows].reset_index(drop=True)
    for conf, lo, hi in (
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ):
        out = isratio(
            isr_data,
            observed="count",
            population="pop",
            reference_count="refcount",
            reference_population="refpop",
            by="area",
            refvalue=refvalue,
            confidence=conf,
        )
        _check(out, expected, {**ISR_COLS, "lower": lo, "upper": hi}, f"isratio {conf}")


def test_isratio_with_observed_totals(reference_dir, isr_data, isr_results):
    lookup = _read(reference_dir, PIM + "testdata_multiarea_lookup.csv", text=False)
    out = isratio(
        isr_data.drop(columns="count"),
        population="pop",
        reference_count="refcount",
        reference_population="refpop",
        by="area",
        observed_totals=lookup.rename(columns={"total_count": "count"}),
    )
    _check(
        out,
        isr_results.iloc[6:9].reset_index(drop=True),
        {**ISR_COLS, "lower": "lower95_0cl", "upper": "upper95_0cl"},
        "totals",
    )
    as_series = isratio(
        isr_data,
        population="pop",
        reference_count="refcount",
        reference_population="refpop",
        by="area",
        observed_totals=lookup.set_index("area")["total_count"],
    )
    pd.testing.assert_frame_equal(out, as_series)


def test_isr_with_a_zero_population_band(reference_dir, isr_results):
    err2 = _read(reference_dir, PIM + "testdata_err2.csv", text=False)
    ref = _read(reference_dir, PIM + "refdata.csv", text=False)
    data = err2.assign(
        refcount=np.tile(ref["refcount"].to_numpy(), 2), refpop=np.tile(ref["refpop"].to_numpy(), 2)
    )
    kw = {
        "population": "pop",
        "reference_count": "refcount",
        "reference_population": "refpop",
        "by": "area",
    }
    rate = israte(data, **kw)
    _check(
        rate,
        isr_results.iloc[12:14].reset_index(drop=True),
        {**ISR_COLS, "reference_rate": "ref_rate", "lower": "lower95_0cl", "upper": "upper95_0cl"},
        "err2 rate",
    )
    ratio = isratio(data, refvalue=100, **kw)
    _check(
        ratio,
        isr_results.iloc[14:16].reset_index(drop=True),
        {**ISR_COLS, "lower": "lower95_0cl", "upper": "upper95_0cl"},
        "err2 ratio",
    )


def test_isratio_phstatsmethods_observed_totals_workbook(reference_dir):
    base = "PHStatsMethods/testdata_ISR_obs__"
    df = _read(reference_dir, base + "df.csv", text=False)
    obs = _read(reference_dir, base + "obs.csv", text=False)
    expected = _read(reference_dir, base + "obs_results.csv")
    by = ["indicatorid", "year", "sex"]
    out = isratio(
        df,
        observed="observed",
        population="pop",
        reference_count="refcount",
        reference_population="refpop",
        by=by,
        observed_totals=obs,
    )
    key = expected[by].astype({"indicatorid": int, "year": int})
    out = out.set_index(by).loc[pd.MultiIndex.from_frame(key)].reset_index()
    _check(
        out,
        expected,
        {
            "observed": "observed",
            "expected": "expected",
            "value": "Value",
            "lower": "lower_95_ci",
            "upper": "upper_95_ci",
        },
        "ISR_obs",
    )


def test_isratio_handles_zero_observed_where_phstatsmethods_fails(isr_data):
    data = isr_data[isr_data["area"] == "testdata_big"].assign(count=0)
    with pytest.raises(ValueError):
        phs.ph_ISRatio(data, "count", "pop", "refcount", "refpop")
    out = isratio(data, population="pop", reference_count="refcount", reference_population="refpop")
    assert out.loc[0, "value"] == 0 and out.loc[0, "lower"] == 0
    assert out.loc[0, "upper"] == pytest.approx(-np.log(0.025) / out.loc[0, "expected"], rel=1e-12)
