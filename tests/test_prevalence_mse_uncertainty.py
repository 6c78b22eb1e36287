"""Model uncertainty in capture–recapture: criterion weights, the model-averaged estimate
and its bootstrap, and the sensitivity flag (Burnham & Anderson 2002).

Expected values are either arithmetic worked by hand in the comments, or properties that
must hold whatever the data (weights sum to 1, an average lies between what it averages).
The published datasets are in ``test_prevalence_mse_uncertainty_reference.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needs_assessment.prevalence import (
    capture_histories,
    criterion_weights,
    model_averaged_estimate,
    model_sensitivity,
    mse_estimate,
)
from needs_assessment.prevalence import capture_recapture as cr


# ------------------------------------------------------------------ the three formulas
def test_criterion_weights_worked_example():
    # deltas 0, 2, 4: exp(0), exp(-1), exp(-2) = 1, 0.367879, 0.135335; sum 1.503214
    w = criterion_weights([101.0, 103.0, 105.0])
    assert w == pytest.approx([0.665241, 0.244728, 0.090031], abs=1e-6)


def test_criterion_weights_ignore_models_without_a_fit():
    w = criterion_weights([np.nan, 50.0, np.inf, 52.0])
    assert w[0] == 0 and w[2] == 0
    assert w[1] == pytest.approx(1 / (1 + math.exp(-1)))
    with pytest.raises(ValueError, match="no model"):
        criterion_weights([np.nan, np.inf])


def test_model_averaged_estimate_worked_example():
    # weights 0.731059 and 0.268941 (delta 0 and 2): 0.731059 * 1000 + 0.268941 * 2000
    assert model_averaged_estimate([1000.0, 2000.0], [10.0, 12.0]) == pytest.approx(1268.941, abs=1e-3)


def test_model_sensitivity_threshold_and_support():
    # Only models with delta <= 2 compete: the 5000 at delta 9 does not count.
    assert model_sensitivity([1000.0, 1300.0, 5000.0], [0.0, 1.5, 9.0]) == (True, pytest.approx(0.3))
    # Exactly 25% apart is not "more than 25%"; delta exactly 2 is within support.
    assert model_sensitivity([1000.0, 1250.0], [0.0, 2.0]) == (False, pytest.approx(0.25))
    assert model_sensitivity([1000.0, 1251.0], [0.0, 2.0])[0] is True
    # One supported model: spread 0.
    assert model_sensitivity([1000.0, 3000.0], [0.0, 2.01]) == (False, 0.0)
    assert model_sensitivity([1000.0, 1100.0], [0.0, 1.0], tolerance=0.05)[0] is True


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.floats(0, 60), st.floats(100, 1e5)), min_size=1, max_size=30))
def test_weights_sum_to_one_and_the_average_lies_within_the_estimates(models):
    crit = np.array([c for c, _ in models])
    est = np.array([e for _, e in models])
    w = criterion_weights(crit)
    assert w.sum() == pytest.approx(1.0)
    assert (w >= 0).all()
    assert w[np.argmin(crit)] == w.max()
    # shifting every criterion by a constant changes nothing
    assert criterion_weights(crit + 1234.5) == pytest.approx(w)
    avg = model_averaged_estimate(est, crit)
    assert est.min() * (1 - 1e-12) <= avg <= est.max() * (1 + 1e-12)


# ------------------------------------------------------------------ on capture data
def simulate_lists(seed: int, n_people: int, probs: tuple[float, ...]) -> pd.DataFrame:
    """Lists catching each of ``n_people`` independently (the independence model holds)."""
    rng = np.random.default_rng(seed)
    caught = rng.random((n_people, len(probs))) < np.asarray(probs)
    return capture_histories({f"L{i}": [f"id{j}" for j in np.flatnonzero(caught[:, i])]
                              for i in range(len(probs))})


@settings(max_examples=15, deadline=None, derandomize=True)
@given(n_people=st.integers(200, 1500), n_lists=st.sampled_from([3, 4]),
       seed=st.integers(0, 2**16), prob=st.floats(0.15, 0.45))
def test_candidate_table_weights_and_average(n_people, n_lists, seed, prob):
    res = mse_estimate(simulate_lists(seed, n_people, (prob,) * n_lists), ci="none")
    m = res.models
    used = m[m["in_average"]]
    # weights of the averaged models sum to 1; models outside the average weigh nothing
    assert used["weight"].sum() == pytest.approx(1.0)
    assert (m.loc[~m["in_average"], "weight"].fillna(0) == 0).all()
    assert len(used) == res.averaged.n_models
    # deltas from the best; weights fall as delta grows
    assert m["delta"].iloc[0] == 0 and (m["delta"].dropna() >= 0).all()
    assert (np.diff(used["weight"].to_numpy()) <= 1e-12).all()
    assert used["weight"].to_numpy() == pytest.approx(np.exp(-used["delta"] / 2) / np.exp(-used["delta"] / 2).sum())
    # the average lies within the range of the averaged models' estimates
    assert used["estimate"].min() - 1e-9 <= res.averaged.estimate <= used["estimate"].max() + 1e-9
    # the selected model is the first row and stays available
    assert res.selected.estimate == res.estimate == m["estimate"].iloc[0]
    assert res.headline("selected") == res.selected and res.headline("averaged") == res.averaged


def _one_clear_model(seed: int, n: int, pa: float, pb1: float, pb0: float, pc: float) -> pd.DataFrame:
    """Counts of the 7 observable histories of 3 lists drawn from a model with a strong
    A-B dependence (P(B | A) = pb1, P(B | not A) = pb0) and C independent, at a size where
    the data single that model out."""
    probs = {}
    for a, b, c in itertools.product((0, 1), repeat=3):
        pb = pb1 if a else pb0
        probs[(a, b, c)] = (pa if a else 1 - pa) * (pb if b else 1 - pb) * (pc if c else 1 - pc)
    keys = list(probs)
    counts = np.random.default_rng(seed).multinomial(n, [probs[k] for k in keys])
    return pd.DataFrame([(*k, c) for k, c in zip(keys, counts, strict=True) if any(k)],
                        columns=["A", "B", "C", "count"])


@settings(max_examples=20, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), n=st.integers(200_000, 2_000_000), pa=st.floats(0.15, 0.4),
       pb1=st.floats(0.4, 0.8), pb0=st.floats(0.05, 0.2), pc=st.floats(0.15, 0.4))
def test_one_clearly_best_model_gives_averaged_equal_to_selected(seed, n, pa, pb1, pb0, pc):
    res = mse_estimate(_one_clear_model(seed, n, pa, pb1, pb0, pc), ci="none")
    assert res.terms == ("A:B",)  # the generating model is selected ...
    assert res.models["weight"].iloc[0] > 0.5  # ... and carries most of the weight
    assert res.averaged.estimate == pytest.approx(res.estimate, rel=0.01)
    assert not res.sensitive


def test_a_fixed_model_is_its_own_average():
    table = simulate_lists(3, 800, (0.3, 0.25, 0.2))
    res = mse_estimate(table, terms="L0:L1", n_boot=100, seed=5)
    assert res.averaged.n_models == 1
    assert res.averaged.estimate == pytest.approx(res.estimate)
    assert (res.averaged.lower, res.averaged.upper) == pytest.approx((res.lower, res.upper))


# ------------------------------------------------------------------ the bootstrap
@pytest.fixture(scope="module")
def four_lists():
    return simulate_lists(11, 900, (0.3, 0.25, 0.2, 0.2))


def test_bootstrap_repeats_the_averaging_and_is_seeded(four_lists):
    a = mse_estimate(four_lists, n_boot=200, seed=7)
    b = mse_estimate(four_lists, n_boot=200, seed=7)
    c = mse_estimate(four_lists, n_boot=200, seed=8)
    assert a.averaged == b.averaged and (a.lower, a.upper) == (b.lower, b.upper)
    assert (a.averaged.lower, a.averaged.upper) != (c.averaged.lower, c.averaged.upper)
    boot_sel, boot_avg = a.bootstrap_estimates, a.averaged_bootstrap_estimates
    assert len(boot_sel) == len(boot_avg) == 200 and np.isfinite(boot_avg).all()
    # the same replicates give both, and averaging changes them (it is not the selection)
    assert not np.array_equal(boot_sel, boot_avg)
    assert np.corrcoef(boot_sel, boot_avg)[0, 1] > 0.5
    assert a.averaged.lower <= a.averaged.estimate <= a.averaged.upper
    assert a.observed <= a.averaged.lower


def test_refits_reproduce_the_average_on_the_original_data(four_lists):
    # The bootstrap's vectorised refits, applied to the data themselves, must give the
    # selected and averaged estimates computed from the statsmodels fits.
    res = mse_estimate(four_lists, ci="none")
    data = cr._prepare(four_lists)
    pool = [cr._parse_terms(list(t), data.lists) for t in res.models.loc[res.models["in_average"], "terms"]]
    selected, averaged = cr._Refitter(data, pool, "bic", True).evaluate(data.counts[None, :])
    assert selected[0] == pytest.approx(res.estimate, rel=1e-6)
    assert averaged[0] == pytest.approx(res.averaged.estimate, rel=1e-6)


def test_sensitivity_flag_and_competing_models():
    # Three lists; A and B overlap little. Two models have closed forms to check by hand:
    # A:B (C independent of A and B): C catches 12 of the 84 seen on A or B, and 32 people
    # are on C, so N = 32 * 84 / 12 = 224; all two-list terms: unseen = n100 n010 n001 n111
    # / (n110 n101 n011) = 40*30*20*1 / (2*6*5) = 400, N = 104 + 400 = 504 (Bishop,
    # Fienberg & Holland 1975, ch. 6).
    table = pd.DataFrame(
        [(1, 0, 0, 40), (0, 1, 0, 30), (0, 0, 1, 20), (1, 1, 0, 2), (1, 0, 1, 6), (0, 1, 1, 5), (1, 1, 1, 1)],
        columns=["A", "B", "C", "count"],
    )
    res = mse_estimate(table, ci="none")
    models = res.models.set_index("model")
    assert models.loc["A:B", "estimate"] == pytest.approx(224)
    assert models.loc["A:B + A:C + B:C", "estimate"] == pytest.approx(504)
    # main effects is best and A:B is within 2 BIC units: they compete, and disagree by
    # more than 25%, so the estimate is flagged
    competing = res.competing
    assert list(competing["model"]) == ["main effects", "A:B"]
    assert res.spread == pytest.approx(models.loc["main effects", "estimate"] / 224 - 1)
    assert res.spread > 0.25 and res.sensitive
    assert any("sensitive to the choice of model" in w for w in res.warnings)
    summary = res.to_dict()
    assert summary["sensitive"] is True
    assert [m["model"] for m in summary["competing_models"]] == ["main effects", "A:B"]
    assert summary["averaged"]["estimate"] == res.averaged.estimate


def test_headline_rejects_an_unknown_basis(four_lists):
    res = mse_estimate(four_lists, ci="none")
    with pytest.raises(ValueError, match="averaged' or 'selected"):
        res.headline("median")


def test_averaged_interval_covers_the_truth_most_of_the_time():
    # As the coverage test of the selected-model interval (test_prevalence_mse_properties):
    # 40 simulated populations of 400 with three independent lists; nominal 95% intervals
    # should cover 400 in at least 34 of 40 (P(X <= 33) ~ 0.005 at true coverage 0.95).
    covered = sum(
        (lambda r: r.averaged.lower <= 400 <= r.averaged.upper)(
            mse_estimate(simulate_lists(seed, 400, (0.3, 0.25, 0.2)), n_boot=100, seed=seed))
        for seed in range(40)
    )
    assert covered >= 34
