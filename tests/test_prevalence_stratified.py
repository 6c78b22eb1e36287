"""Stratified multiple-systems estimation from long linked records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needs_assessment.prevalence import mse_estimate, stratified_mse


def simulate_records(seed: int = 1) -> tuple[pd.DataFrame, dict[str, int]]:
    """Two districts of known size; capture is likelier in 'north'. 'tiny' is too small."""
    rng = np.random.default_rng(seed)
    sizes = {"north": 1200, "south": 900, "tiny": 30}
    probs = {"north": (0.35, 0.2, 0.15), "south": (0.25, 0.15, 0.1), "tiny": (0.2, 0.1, 0.1)}
    frames = []
    for district, size in sizes.items():
        ids = np.array([f"{district}{i}" for i in range(size)])
        sex = rng.choice(["male", "female"], size)
        for name, p in zip(("treatment", "probation", "custody"), probs[district],
                           strict=True):
            on = rng.random(size) < p
            frames.append(pd.DataFrame({"client_id": ids[on], "list": name,
                                        "district": district, "sex": sex[on]}))
    return pd.concat(frames, ignore_index=True), sizes


@pytest.fixture(scope="module")
def result():
    records, _ = simulate_records()
    return stratified_mse(records, by="district", ci="none")


def test_strata_estimates_and_reasons(result):
    strata = result.strata.set_index("district")
    assert list(strata.index) == ["north", "south", "tiny"]
    assert (strata.loc[["north", "south"], "status"] == "estimated").all()
    assert strata.loc["tiny", "status"] == "not_estimated"
    assert np.isnan(strata.loc["tiny", "estimate"])
    assert "observed" in strata.loc["tiny", "reason"]
    # known sizes 1200 and 900: estimates within 20%
    assert strata.loc["north", "estimate"] == pytest.approx(1200, rel=0.2)
    assert strata.loc["south", "estimate"] == pytest.approx(900, rel=0.2)
    assert (strata["observed"] >= strata["overlap"]).all()


def test_overall_is_the_pooled_estimate_and_strata_need_not_sum(result):
    records, _ = simulate_records()
    hist_overall = result.overall
    assert hist_overall is not None and hist_overall.observed == result.strata["observed"].sum()
    assert result.sum_of_strata is None  # 'tiny' was not estimated
    table = result.table()
    assert table.iloc[-1]["district"] == "overall"
    assert table.iloc[-1]["estimate"] == pytest.approx(hist_overall.estimate)
    # with only estimable strata the sum is reported, and differs from the pooled figure
    two = stratified_mse(records[records["district"] != "tiny"], by="district", ci="none")
    assert two.sum_of_strata is not None
    assert two.sum_of_strata != pytest.approx(two.overall.estimate, rel=1e-9)


def test_thresholds_are_configurable():
    records, _ = simulate_records()
    res = stratified_mse(records, by="district", ci="none", min_observed=1, min_overlap=1000)
    assert (res.strata["status"] == "not_estimated").all()
    assert res.strata["reason"].str.contains("more than one list").all()
    assert res.overall is None and "more than one list" in res.overall_reason


def test_mse_options_are_passed_through():
    records, _ = simulate_records()
    res = stratified_mse(records[records["district"] == "north"], by="sex", ci="bca",
                         n_boot=50, seed=3)
    for key, sub in res.results.items():
        assert sub.ci_method == "bca" and sub.n_boot == 50 and sub.seed == 3
        assert sub.lower <= sub.estimate <= sub.upper
        assert key[0] in ("male", "female")


def test_person_in_one_stratum_and_empty_lists_dropped():
    rows = []
    # 60 people on treatment and probation in 'a'; custody only in 'b'
    for i in range(60):
        rows.append((f"p{i}", "treatment", "a"))
        if i % 3 == 0:
            rows.append((f"p{i}", "probation", "a"))
    for i in range(60, 100):
        rows.append((f"p{i}", "probation", "b"))
        rows.append((f"p{i}", "custody", "b"))
    rows.append(("p0", "custody", "b"))  # p0 recorded once in 'b' but twice in 'a' -> 'a'
    rows.append(("q1", "custody", None))  # never has a stratum value
    records = pd.DataFrame(rows, columns=["client_id", "list", "area"])
    res = stratified_mse(records, by="area", ci="none", min_observed=10, min_overlap=1)
    strata = res.strata.set_index("area")
    assert res.n_conflicting_ids == 1 and res.n_unassigned == 1
    assert strata.loc["a", "lists_used"] == "treatment, probation, custody"  # p0's custody
    assert strata.loc["a", "observed"] == 60 and strata.loc["b", "observed"] == 40
    assert strata.loc["b", "lists_used"] == "probation, custody"
    assert res.overall.observed == 101


def test_same_result_as_direct_estimate_for_one_stratum():
    records, _ = simulate_records()
    north = records[records["district"] == "north"]
    res = stratified_mse(north, by="district", ci="none")
    lists = {name: north.loc[north["list"] == name, "client_id"] for name in
             ("treatment", "probation", "custody")}
    from needs_assessment.prevalence import capture_histories
    direct = mse_estimate(capture_histories(lists), ci="none")
    assert res.strata.iloc[0]["estimate"] == pytest.approx(direct.estimate)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "region"}, "region"),
        ({"by": []}, "at least one"),
        ({"by": "district", "lists": ["treatment"]}, "not in lists"),
        ({"by": "district", "min_lists": 1}, "min_lists"),
        ({"by": "district", "min_observed": -1}, "min_observed"),
    ],
)
def test_bad_arguments(kwargs, match):
    records, _ = simulate_records()
    with pytest.raises(ValueError, match=match):
        stratified_mse(records, ci="none", **kwargs)
