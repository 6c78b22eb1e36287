"""Unit tests of capture–recapture (multiple-systems estimation) without reference data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from needs_assessment.prevalence import (
    MSEError,
    capture_histories,
    check_extended_mle,
    fit_mse_model,
    mse_estimate,
    profile_likelihood_interval,
)
from needs_assessment.prevalence import _loglinear as ll


def _table(rows: list[tuple[int, ...]], lists: str = "ABC") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*lists, "count"])


# ------------------------------------------------------------------ capture histories
def test_capture_histories_counts_distinct_ids():
    lists = {"treatment": ["a", "b", "c", "c", "d"], "probation": ["c", "d", "e"],
             "custody": ["d", "f"]}
    table = capture_histories(lists)
    assert list(table.columns) == ["treatment", "probation", "custody", "count"]
    assert table["count"].sum() == 6  # a b c d e f
    as_dict = {tuple(r[:3]): r[3] for r in table.itertuples(index=False)}
    assert as_dict == {(1, 0, 0): 2, (0, 1, 0): 1, (0, 0, 1): 1, (1, 1, 0): 1, (1, 1, 1): 1}
    # ordered by number of lists
    assert list(table.iloc[:, :3].sum(axis=1)) == sorted(table.iloc[:, :3].sum(axis=1))


@pytest.mark.parametrize(
    ("lists", "match"),
    [
        ({"a": ["1"]}, "at least 2"),
        ({"a": ["1"], "b": []}, "empty"),
        ({"a": ["1", None], "b": ["1"]}, "missing"),
        ({"a": "123", "b": ["1"]}, "not a string"),
        ({"count": ["1"], "b": ["1"]}, "count"),
    ],
)
def test_capture_histories_rejects_bad_input(lists, match):
    with pytest.raises(ValueError, match=match):
        capture_histories(lists)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (pd.DataFrame({"A": [1, 0], "B": [0, 1]}), "count column"),
        (pd.DataFrame({"A": [1, 2], "B": [0, 1], "count": [3, 4]}), "0/1"),
        (pd.DataFrame({"A": [1, 0], "B": [0, 1], "count": [3, -1]}), "non-negative whole"),
        (pd.DataFrame({"A": [1, 0], "B": [0, 1], "count": [3, 1.5]}), "non-negative whole"),
        (pd.DataFrame({"A": [1, 0, 0], "B": [0, 1, 0], "count": [3, 1, 2]}), "all-zero"),
        (pd.DataFrame({"A": [1, 0], "B": [0, 0], "C": [0, 1], "count": [3, 4]}), "nobody"),
        (pd.DataFrame({"A": [1], "count": [3]}), "at least 2"),
    ],
)
def test_mse_rejects_bad_tables(table, match):
    with pytest.raises(ValueError, match=match):
        mse_estimate(table, ci="none")


def test_bad_arguments_are_named():
    t = _table([(1, 0, 0, 30), (0, 1, 0, 20), (0, 0, 1, 25), (1, 1, 0, 6), (1, 0, 1, 7),
                (0, 1, 1, 5), (1, 1, 1, 2)])
    for kwargs, match in [({"criterion": "cp"}, "criterion"), ({"ci": "wald"}, "ci"),
                          ({"n_boot": 5}, "n_boot"), ({"confidence": 95}, "confidence"),
                          ({"search": "greedy"}, "search"), ({"max_order": 0}, "max_order"),
                          ({"terms": "A:Z"}, "unknown list"), ({"terms": "A"}, "interaction"),
                          ({"terms": "A:B:C"}, "hierarchical")]:
        with pytest.raises(ValueError, match=match):
            mse_estimate(t, **kwargs)


# ------------------------------------------------------------------ estimates
def test_two_lists_is_lincoln_petersen():
    # Independence log-linear model for two lists = Lincoln–Petersen n1 n2 / m.
    t = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [80, 60, 20]})
    res = mse_estimate(t, ci="profile")
    assert res.estimate == pytest.approx(100 * 80 / 20)
    assert len(res.models) == 1 and res.terms == ()
    assert res.lower < res.estimate < res.upper


def test_duplicate_and_missing_histories_are_handled():
    rows = [(1, 0, 0, 10), (1, 0, 0, 20), (0, 1, 0, 20), (0, 0, 1, 25), (1, 1, 0, 6),
            (1, 0, 1, 7), (0, 1, 1, 5), (1, 1, 1, 2), (0, 1, 1, 0)]
    merged = [(1, 0, 0, 30), (0, 1, 0, 20), (0, 0, 1, 25), (1, 1, 0, 6), (1, 0, 1, 7),
              (0, 1, 1, 5), (1, 1, 1, 2)]
    a = fit_mse_model(_table(rows))
    b = fit_mse_model(_table(merged))
    assert a.estimate == pytest.approx(b.estimate)
    assert a.observed == 95


def test_terms_spellings_agree():
    t = _table([(1, 0, 0, 30), (0, 1, 0, 20), (0, 0, 1, 25), (1, 1, 0, 6), (1, 0, 1, 7),
                (0, 1, 1, 5), (1, 1, 1, 2)])
    a = fit_mse_model(t, "A:B")
    b = fit_mse_model(t, [("B", "A")])
    c = fit_mse_model(t, ["A:B"])
    assert a.estimate == b.estimate == c.estimate
    assert a.terms == ("A:B",)
    assert a.coefficients.index.tolist() == ["(Intercept)", "A", "B", "C", "A:B"]


def test_aic_and_bic_definitions():
    t = _table([(1, 0, 0, 30), (0, 1, 0, 20), (0, 0, 1, 25), (1, 1, 0, 6), (1, 0, 1, 7),
                (0, 1, 1, 5), (1, 1, 1, 2)])
    fit = fit_mse_model(t, "A:B")
    assert fit.n_params == 5
    assert fit.aic == pytest.approx(fit.deviance + 10)
    assert fit.bic == pytest.approx(fit.deviance + math.log(95) * 5)
    assert fit.df == 7 - 5
    res_aic = mse_estimate(t, criterion="aic", ci="none")
    assert res_aic.models["aic"].is_monotonic_increasing


def test_sparse_structure_like_chan_et_al():
    # Same structure as the paper's artificial example (C overlaps neither A nor B), other
    # numbers: the statuses follow from the structure alone.
    t = _table([(1, 0, 0, 25), (0, 1, 0, 15), (0, 0, 1, 10), (1, 1, 0, 4)])
    assert check_extended_mle(t, "A:B, A:C, B:C").status == "not_identifiable"
    assert check_extended_mle(t, "A:B").status == "mle_does_not_exist"
    assert check_extended_mle(t, "A:C, B:C").status == "boundary"
    assert check_extended_mle(t, None).status == "ok"
    res = mse_estimate(t, ci="none")
    assert res.models["estimate"].notna().sum() == (res.models["status_code"] == 0).sum()


def test_no_usable_model_raises():
    # Two lists that never overlap: even independence has no finite MLE.
    t = pd.DataFrame({"A": [1, 0], "B": [0, 1], "count": [10, 12]})
    with pytest.raises(MSEError, match="no candidate model"):
        mse_estimate(t, ci="none")


def test_downhill_and_exhaustive_agree_on_small_table():
    t = _table([(1, 0, 0, 30), (0, 1, 0, 20), (0, 0, 1, 25), (1, 1, 0, 16), (1, 0, 1, 7),
                (0, 1, 1, 5), (1, 1, 1, 2)])
    ex = mse_estimate(t, ci="none", search="exhaustive")
    dh = mse_estimate(t, ci="none", search="downhill")
    assert ex.terms == dh.terms and ex.estimate == pytest.approx(dh.estimate)
    assert dh.search == "downhill"
    with pytest.raises(ValueError, match="max_models"):
        mse_estimate(t, ci="none", search="exhaustive", max_models=4)


def test_bootstrap_is_deterministic_and_seeded():
    t = _table([(1, 0, 0, 60), (0, 1, 0, 40), (0, 0, 1, 50), (1, 1, 0, 12), (1, 0, 1, 14),
                (0, 1, 1, 9), (1, 1, 1, 3)])
    a = mse_estimate(t, n_boot=100, seed=7)
    b = mse_estimate(t, n_boot=100, seed=7)
    c = mse_estimate(t, n_boot=100, seed=8)
    assert (a.lower, a.upper) == (b.lower, b.upper)
    assert (a.lower, a.upper) != (c.lower, c.upper)
    assert a.lower < a.estimate < a.upper
    assert a.to_dict()["n_boot"] == 100 and "BCa" in a.method
    pct = mse_estimate(t, n_boot=100, seed=7, ci="percentile")
    assert pct.lower < pct.upper and pct.ci_method == "percentile"


def test_profile_interval_contains_estimate_and_widens_with_confidence():
    t = _table([(1, 0, 0, 60), (0, 1, 0, 40), (0, 0, 1, 50), (1, 1, 0, 12), (1, 0, 1, 14),
                (0, 1, 1, 9), (1, 1, 1, 3)])
    est = fit_mse_model(t).estimate
    lo95, hi95 = profile_likelihood_interval(t)
    lo80, hi80 = profile_likelihood_interval(t, confidence=0.8)
    assert lo95 < lo80 < est < hi80 < hi95
    assert lo95 >= 188


# ------------------------------------------------------------------ model enumeration
@pytest.mark.parametrize(("t", "order", "n"), [(3, 2, 8), (4, 2, 64), (5, 2, 1024),
                                                (4, 3, 113), (3, 1, 1)])
def test_number_of_hierarchical_models(t, order, n):
    models = ll.enumerate_models(t, order)
    assert len(models) == n == len(set(models))
    assert all(ll.is_hierarchical(m) for m in models)


def test_neighbours_stay_hierarchical():
    model = ll.canonical_model([(0, 1), (0, 2), (1, 2), (0, 1, 2)])
    for nb in ll.neighbours(model, 4, 3):
        assert ll.is_hierarchical(nb)
    # (0,1) cannot be dropped while (0,1,2) is present
    assert ll.canonical_model([(0, 2), (1, 2), (0, 1, 2)]) not in ll.neighbours(model, 4, 3)


def test_irls_matches_closed_form_independence():
    # For two lists the fitted unseen count is n10 n01 / n11.
    hist = ll.all_histories(2)
    y = np.array([[80.0, 60.0, 20.0][i] for i in range(3)])
    order = {tuple(h): i for i, h in enumerate(hist)}
    counts = np.zeros(3)
    counts[order[(1, 0)]], counts[order[(0, 1)]], counts[order[(1, 1)]] = y
    x = ll.design(hist, ll.parameters(2, ()))
    beta, _, dev, ok = ll.irls(x, counts)
    assert ok and np.exp(beta[0]) == pytest.approx(80 * 60 / 20) and dev == pytest.approx(0,
                                                                                          abs=1e-8)


# ------------------------------------------------------------------ fast paths, same numbers
def _sparse_tables(seed: int = 7, n: int = 6) -> list[np.ndarray]:
    """Counts over the 15 histories of 4 lists, with empty cells (as in small strata and
    bootstrap replicates), from a fixed multinomial."""
    rng = np.random.default_rng(seed)
    p = np.array([40, 25, 20, 12, 6, 5, 4, 3, 3, 2, 1, 1, 0.5, 0.3, 0.2])
    return [rng.multinomial(size, p / p.sum()).astype(float)
            for size in rng.integers(60, 400, size=n)]


def test_glm_fit_is_statsmodels_glm_bit_for_bit():
    # _glm_fit repeats statsmodels' IRLS without building GLM objects; the coefficients and
    # the deviance must be the very same floating-point numbers, for every model and face.
    import warnings

    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    from needs_assessment.prevalence import capture_recapture as cr

    hist = ll.all_histories(4)
    checked = 0
    for y in _sparse_tables():
        for model in ll.enumerate_models(4, 2):
            code, face = ll.check_status(hist, y, model)
            if code:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = GLM(y[face.retained], face.x, family=families.Poisson()).fit()
            beta, deviance = cr._glm_fit(face.x, y[face.retained])
            assert np.array_equal(beta, np.asarray(ref.params))
            assert deviance == float(ref.deviance)
            checked += 1
    assert checked > 200


def test_status_checks_cached_by_support_pattern():
    # The cached check must equal a fresh one for other counts with the same empty cells.
    hist = ll.all_histories(4)
    for y in _sparse_tables(seed=11):
        other = np.where(y > 0, y * 3 + 1, 0.0)
        for model in ll.enumerate_models(4, 2)[::5]:
            code, face = ll.check_status(hist, y, model)
            code2, face2 = ll._check_status(hist, other, model)
            assert code == code2
            assert face.infinite == face2.infinite and face.estimated == face2.estimated
            assert np.array_equal(face.retained, face2.retained)
            assert np.array_equal(face.x, face2.x)
            assert ll.check_status(hist, other, model)[1] is face  # served from the cache


def test_bootstrap_walk_matches_replicate_by_replicate_walk():
    # evaluate() walks the models of all replicates with the same empty cells at once; the
    # plain walk, one replicate at a time (as Silverman, Chan & Vincent 2024 describe it),
    # must choose and average the same models.
    from needs_assessment.prevalence import capture_recapture as cr

    hist_table = pd.DataFrame(ll.all_histories(4), columns=list("ABCD"))
    hist_table["count"] = _sparse_tables(seed=3, n=1)[0]
    data = cr._prepare(hist_table)
    models, _ = cr._search(data, max_order=2, criterion="bic", search="auto",
                           max_models=5000, allow_boundary=True)
    pool = list(models.loc[models["bic"].notna(), "_model"])[:20]
    rng = np.random.default_rng(5)
    ys = rng.multinomial(data.observed, data.counts / data.counts.sum(), size=200).astype(float)
    selected, averaged = cr._Refitter(data, pool, "bic", True).evaluate(ys)

    plain = cr._Refitter(data, pool, "bic", True)
    crits = np.empty((len(ys), len(pool)))
    ests = np.empty_like(crits)
    for j in range(len(pool)):
        crits[:, j], ests[:, j] = plain._fit_model(j, ys)
    for i, y in enumerate(ys):
        used, first = [], None
        for j in np.argsort(crits[i], kind="stable"):
            if not np.isfinite(crits[i, j]):
                break
            if first is not None and crits[i, j] - crits[i, first] > cr._NEGLIGIBLE_DELTA:
                break
            code, face = ll.check_status(data.histories, y, pool[j])
            if code == 0:
                used.append(j)
                first = j if first is None else first
        if first is None:
            assert np.isnan(selected[i]) and np.isnan(averaged[i])
            continue
        assert selected[i] == ests[i, first]
        c = crits[i, used]
        w = np.exp(-(c - c.min()) / 2.0)
        assert averaged[i] == pytest.approx(np.sum(w * ests[i, used]) / w.sum(), rel=1e-12)
