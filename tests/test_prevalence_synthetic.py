"""Synthetic prevalence (national rates × local population) and the national rates table."""

from __future__ import annotations

import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needs_assessment.prevalence import (
    national_prevalence_rates,
    parse_age_band,
    synthetic_prevalence,
)


def _pop(rows):
    return pd.DataFrame(rows, columns=["district", "sex", "age_band", "population"])


SEX_RATES = pd.DataFrame({
    "sex": ["male", "male", "female", "female"],
    "age_lower": [15, 35, 15, 35],
    "age_upper": [34, 64, 34, 64],
    "rate_per_1000": [10.0, 20.0, 4.0, 6.0],
    "lower": [8.0, 15.0, 3.0, 5.0],
    "upper": [12.0, 25.0, 5.0, 7.0],
})


# ------------------------------------------------------------------ the rates table
def test_rates_table_columns_and_sources():
    rates = national_prevalence_rates()
    for col in ("measure", "period", "sex", "age_group", "age_lower", "age_upper",
                "rate_per_1000", "lower", "upper", "population_base", "status", "source_id"):
        assert col in rates.columns
    assert set(rates["status"]) <= {"published", "derived"}
    with_ci = rates.dropna(subset=["lower", "upper"])
    assert ((with_ci["lower"] <= with_ci["rate_per_1000"])
            & (with_ci["rate_per_1000"] <= with_ci["upper"])).all()
    doc = resources.files("needs_assessment").joinpath(
        "resources/prevalence_rates.md").read_text(encoding="utf-8")
    for source in rates["source_id"].unique():
        assert re.search(rf"###\s+`{source}`", doc), f"{source} not documented"
    assert not (rates["status"] == "derived").any() or "derived" in doc


def test_rates_table_holds_the_published_headlines():
    alc = national_prevalence_rates("alcohol_dependence").iloc[0]
    assert alc["rate_per_1000"] == pytest.approx(13.93) and alc["count"] == 595131
    assert alc["age_lower"] == 18 and np.isinf(alc["age_upper"])
    ocu = national_prevalence_rates("ocu", "2018/19").iloc[0]
    assert (ocu["rate_per_1000"], ocu["lower"], ocu["upper"]) == (9.44, 8.75, 10.12)
    assert ocu["count"] == 336531
    with pytest.raises(ValueError, match="measure='heroin'"):
        national_prevalence_rates("heroin")


# ------------------------------------------------------------------ the estimator
def test_arithmetic_and_limits_method():
    pop = _pop([("a", "male", "15-19", 1000), ("a", "female", "40-44", 2000),
                ("a", "male", "0-4", 500)])
    out = synthetic_prevalence(pop, SEX_RATES).iloc[0]
    assert out["estimate"] == pytest.approx(1000 * 0.010 + 2000 * 0.006)
    assert out["lower"] == pytest.approx(1000 * 0.008 + 2000 * 0.005)
    assert out["upper"] == pytest.approx(1000 * 0.012 + 2000 * 0.007)
    assert out["population"] == 3000 and out["population_outside"] == 500
    assert out["rate_per_1000"] == pytest.approx(out["estimate"] / 3)
    assert out["interval_available"] and out["interval_method"] == "limits"


def test_by_sub_area_adds_up():
    pop = _pop([("a", "male", "15-19", 1000), ("a", "female", "40-44", 2000),
                ("b", "male", "35-39", 700), ("b", "female", "20-24", 900)])
    by = synthetic_prevalence(pop, SEX_RATES, by="district")
    total = synthetic_prevalence(pop, SEX_RATES).iloc[0]
    assert list(by["district"]) == ["a", "b"]
    for col in ("estimate", "lower", "upper", "population"):
        assert by[col].sum() == pytest.approx(total[col])


def test_persons_rates_apply_to_both_sexes_and_national_table_works():
    pop = _pop([("a", "male", "15-19", 1000), ("a", "female", "60-64", 1000),
                ("a", "persons", "65-69", 400)])
    out = synthetic_prevalence(pop, national_prevalence_rates(), measure="ocu",
                               period="2018/19").iloc[0]
    assert out["estimate"] == pytest.approx(2000 * 9.44 / 1000)
    assert out["population_outside"] == 400


def test_missing_rate_limits_give_missing_interval():
    pop = _pop([("a", "male", "20-24", 1000), ("a", "female", "90+", 100)])
    out = synthetic_prevalence(pop, national_prevalence_rates(), measure="alcohol_dependence"
                               ).iloc[0]
    assert out["estimate"] == pytest.approx(1100 * 0.01393)
    assert np.isnan(out["lower"]) and np.isnan(out["upper"])
    assert not out["interval_available"]


def test_simulate_interval_is_reproducible_and_narrower_than_limits():
    pop = _pop([("a", "male", "15-19", 1000), ("a", "female", "40-44", 2000),
                ("a", "male", "40-44", 1500), ("a", "female", "20-24", 1200)])
    lim = synthetic_prevalence(pop, SEX_RATES).iloc[0]
    sim1 = synthetic_prevalence(pop, SEX_RATES, interval="simulate", seed=3).iloc[0]
    sim2 = synthetic_prevalence(pop, SEX_RATES, interval="simulate", seed=3).iloc[0]
    assert (sim1["lower"], sim1["upper"]) == (sim2["lower"], sim2["upper"])
    assert sim1["lower"] < sim1["estimate"] < sim1["upper"]
    assert lim["lower"] < sim1["lower"] and sim1["upper"] < lim["upper"]  # independence


@pytest.mark.parametrize(
    ("pop_rows", "kwargs", "match"),
    [
        ([("a", "male", "30-39", 100)], {}, "straddles"),
        ([("a", "persons", "20-24", 100)], {}, "persons"),
        ([("a", "male", "70-74", 100)], {"outside": "error"}, "outside"),
        ([("a", "male", "0-4", 100)], {}, "no age band"),
        ([("a", "male", "adults", 100)], {}, "not understood"),
        ([("a", "unknown", "20-24", 100)], {}, "sex value"),
        ([("a", "male", "20-24", -5)], {}, "non-negative"),
        ([("a", "male", "20-24", 100)], {"interval": "delta"}, "interval"),
    ],
)
def test_join_failures_are_clear(pop_rows, kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_prevalence(_pop(pop_rows), SEX_RATES, **kwargs)


def test_rates_problems_are_named():
    pop = _pop([("a", "male", "20-24", 100)])
    with pytest.raises(ValueError, match="several measures"):
        synthetic_prevalence(pop, national_prevalence_rates())
    with pytest.raises(ValueError, match="overlapping"):
        synthetic_prevalence(pop, pd.concat([SEX_RATES, SEX_RATES.iloc[:1]]))
    with pytest.raises(ValueError, match="missing"):
        synthetic_prevalence(pop, SEX_RATES.drop(columns="upper"))
    with pytest.raises(ValueError, match="district2"):
        synthetic_prevalence(pop, SEX_RATES, by="district2")


def test_parse_age_band():
    assert parse_age_band("15-19") == (15, 19)
    assert parse_age_band("15 to 19") == (15, 19)
    assert parse_age_band("90+") == (90, np.inf)
    assert parse_age_band("65 and over") == (65, np.inf)
    assert parse_age_band(37) == (37, 37)
    with pytest.raises(ValueError):
        parse_age_band("19-15")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(pops=st.lists(st.integers(0, 10**6), min_size=4, max_size=4), k=st.integers(1, 5))
def test_estimate_scales_with_population_and_is_bounded_by_rates(pops, k):
    pop = _pop([("a", "male", "15-19", pops[0]), ("a", "male", "50-54", pops[1]),
                ("a", "female", "25-29", pops[2]), ("a", "female", "60-64", pops[3])])
    pop_k = pop.assign(population=pop["population"] * k)
    one = synthetic_prevalence(pop, SEX_RATES).iloc[0]
    many = synthetic_prevalence(pop_k, SEX_RATES).iloc[0]
    assert many["estimate"] == pytest.approx(k * one["estimate"])
    total = sum(pops)
    assert 0.004 * total - 1e-9 <= one["estimate"] <= 0.020 * total + 1e-9
    assert one["lower"] <= one["estimate"] <= one["upper"]
