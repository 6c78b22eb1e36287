"""Property tests: capture–recapture on data simulated from a known population.

Three lists catch each of ``N`` people independently (the independence model is then
correct, so selection should mostly keep it). Kept cheap: few examples, 100 replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from needs_assessment.prevalence import (
    capture_histories,
    mse_estimate,
    profile_likelihood_interval,
)


def simulate(seed: int, n_people: int, probs: tuple[float, ...]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    caught = rng.random((n_people, len(probs))) < np.asarray(probs)
    lists = {f"list{i}": [f"id{j}" for j in np.flatnonzero(caught[:, i])]
             for i in range(len(probs))}
    return capture_histories(lists)


probabilities = st.tuples(*[st.floats(0.2, 0.5)] * 3)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(n_people=st.integers(300, 1000), probs=probabilities, seed=st.integers(0, 2**16))
def test_estimate_at_least_observed_and_interval_contains_it(n_people, probs, seed):
    table = simulate(seed, n_people, probs)
    res = mse_estimate(table, n_boot=100, seed=seed)
    assert res.estimate >= res.observed
    assert res.observed <= res.lower <= res.estimate <= res.upper
    lo, hi = profile_likelihood_interval(table, res.terms)
    assert res.observed <= lo <= res.estimate <= hi


@settings(max_examples=12, deadline=None, derandomize=True)
@given(lists=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]),
                             st.sets(st.integers(0, 30), min_size=1), min_size=2))
def test_capture_histories_margins(lists):
    ids = {k: [str(v) for v in vals] for k, vals in lists.items()}
    table = capture_histories(ids)
    assert table["count"].sum() == len(set().union(*lists.values()))
    for name, vals in lists.items():
        assert (table[name] * table["count"]).sum() == len(vals)
    assert (table[list(lists)].sum(axis=1) >= 1).all()


def test_intervals_cover_the_truth_most_of_the_time():
    # 40 simulated populations of 400 (fixed seeds, so the test is deterministic). Nominal
    # 95% intervals should cover 400 in at least 34 of 40 (for true coverage 0.95,
    # P(X <= 33) is about 0.005). The bootstrap repeats model selection, so it tends to be
    # conservative; the profile interval is for the (true) independence model.
    truth = 400
    cover_boot = cover_profile = 0
    for seed in range(40):
        table = simulate(seed, truth, (0.3, 0.25, 0.2))
        res = mse_estimate(table, n_boot=100, seed=seed)
        cover_boot += res.lower <= truth <= res.upper
        lo, hi = profile_likelihood_interval(table)
        cover_profile += lo <= truth <= hi
    assert cover_boot >= 34
    assert cover_profile >= 34
