"""Capture–recapture (multiple-systems estimation, MSE) of a hidden population.

A local area links two or more lists of people who use opiates and/or crack cocaine (OCU) —
drug treatment, probation, police custody drug tests, hospital attendances — by a
pseudonymised client id, counts how many people have each *capture history* (the set of
lists they appear on) and estimates how many appear on none, with Poisson log-linear models
fitted to the ``2**t - 1`` observable histories (Fienberg 1972; Bishop, Fienberg & Holland
1975, ch. 6; International Working Group for Disease Monitoring and Forecasting 1995). This
is the method behind the Home Office / OHID local OCU prevalence estimates (Hay et al.,
e.g. *Estimates of the prevalence of opiate use and/or crack cocaine use, 2011/12*).

What this module does, and where each step comes from:

* models from independence (main effects) to all two-list interactions, or hierarchical
  models up to ``max_order``; exhaustive enumeration when feasible (e.g. 1024 two-way models
  for five lists), otherwise the downhill search of Silverman, Chan & Vincent (2024);
* sparse tables: a term whose lists never overlap has MLE ``-inf``; such terms are fixed at
  ``-inf`` (the *extended* MLE), and each model is checked for existence and identifiability
  of that fit before it may be used (Fienberg & Rinaldo 2012; Chan, Silverman & Vincent
  2021). Models failing a check are flagged in the candidate table and never produce a
  number;
* model choice by BIC (default; penalty ``ln(number observed) × parameters incl. the
  intercept``, the definition that reproduces the published choices) or AIC;
* confidence interval by bootstrap that repeats the model selection (multinomial resampling
  of the observed individuals, BCa or percentile; Silverman, Chan & Vincent 2024; Efron
  1987), or by profile likelihood for the chosen model (Cormack 1992);
* model uncertainty: criterion weights ``exp(-delta/2)`` of the best candidate models, their
  weighted (model-averaged) estimate with a bootstrap interval that repeats the fitting,
  the weighting and the averaging in every replicate (Buckland, Burnham & Augustin 1997),
  and a flag when the models within ``delta <= 2`` of the best disagree by more than 25%
  on the total (Burnham & Anderson 2002).

References
----------
Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for sparse
capture data: inferential challenges when there are nonoverlapping lists. *JASA* 116(535),
1297–1306. doi:10.1080/01621459.2019.1708748.

Silverman, B. W., Chan, L. and Vincent, K. (2024). Bootstrapping multiple systems estimates
to account for model selection. *Statistics and Computing* 34, 44.
doi:10.1007/s11222-023-10346-9.

Fienberg, S. E. and Rinaldo, A. (2012). Maximum likelihood estimation in log-linear models.
*Annals of Statistics* 40, 996–1023.

Cormack, R. M. (1992). Interval estimation for mark–recapture studies of closed
populations. *Biometrics* 48, 567–576.

Efron, B. (1987). Better bootstrap confidence intervals. *JASA* 82(397), 171–185.

Haberman, S. J. (1974). *The Analysis of Frequency Data*. University of Chicago Press
(Theorem 2.2: the MLE exists when every cell count is positive).

Buckland, S. T., Burnham, K. P. and Augustin, N. H. (1997). Model selection: an integral
part of inference. *Biometrics* 53, 603–618.

Burnham, K. P. and Anderson, D. R. (2002). *Model Selection and Multimodel Inference: A
Practical Information-Theoretic Approach*, 2nd edn. Springer. Sec. 2.6 (differences
``delta``; ``delta <= 2``: substantial support), 2.9 (weights), 4.2 (model averaging),
6.4 (BIC weights as posterior model probabilities).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import gammaln
from statsmodels.tools.tools import pinv_extended

from . import _loglinear as ll

__all__ = [
    "MLECheck",
    "MSEError",
    "MSEEstimate",
    "MSEModelFit",
    "MSEResult",
    "capture_histories",
    "check_extended_mle",
    "criterion_weights",
    "fit_mse_model",
    "model_averaged_estimate",
    "model_sensitivity",
    "mse_estimate",
    "profile_likelihood_interval",
]

Criterion = Literal["bic", "aic"]
Search = Literal["auto", "exhaustive", "downhill"]
CIMethod = Literal["bca", "percentile", "profile", "none"]

#: Default seed: bootstrap intervals are deterministic unless a seed is passed.
DEFAULT_SEED = 20240521
MAX_LISTS = 10

#: Models within this criterion difference of the best have "substantial support"
#: (Burnham & Anderson 2002, Sec. 2.6); they are the competing models of the sensitivity flag.
SUPPORT_DELTA = 2.0
#: The flag is raised when the supported models' totals differ by more than this share
#: (largest / smallest - 1); a practical threshold set for the board's purposes (issue 13),
#: not a published rule.
SENSITIVITY_TOLERANCE = 0.25
#: In a bootstrap replicate, models more than this far behind the best get weight
#: < exp(-20) ~ 2e-9 each and are left out of the average without checking their MLE.
_NEGLIGIBLE_DELTA = 40.0


class MSEError(ValueError):
    """No usable model / estimate for these data (with the reason)."""


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------
def capture_histories(lists: Mapping[str, Iterable[str]]) -> pd.DataFrame:
    """Capture-history table from the ids on each list.

    ``lists`` maps a list name (e.g. ``"treatment"``, ``"probation"``) to the pseudonymised
    ids on it; an id repeated within a list counts once. Returns one 0/1 column per list (in
    the mapping's order) and ``count`` = number of distinct ids with exactly that history,
    one row per observed history, sorted by number of lists then history. This is the
    standard input of multiple-systems estimation (Bishop, Fienberg & Holland 1975, ch. 6).

    >>> capture_histories({"a": ["1", "2"], "b": ["2", "3"]})
       a  b  count
    0  1  0      1
    1  0  1      1
    2  1  1      1
    """
    if not isinstance(lists, Mapping):
        raise ValueError("lists must be a mapping of list name -> ids")
    if len(lists) < 2:
        raise ValueError(f"lists: need at least 2 lists, got {len(lists)}")
    names = [str(k) for k in lists]
    if len(set(names)) != len(names):
        raise ValueError(f"lists: duplicate list names {names}")
    if "count" in names:
        raise ValueError("lists: a list may not be called 'count'")
    membership: dict[str, set[str]] = {}
    for name, ids in lists.items():
        if isinstance(ids, str | bytes):
            raise ValueError(f"lists[{name!r}] must be an iterable of ids, not a string")
        values = pd.Series(list(ids), dtype=object)
        if values.isna().any():
            raise ValueError(f"lists[{name!r}] contains missing ids")
        members = set(values.astype(str))
        if not members:
            raise ValueError(f"lists[{name!r}] is empty")
        membership[str(name)] = members
    everyone = sorted(set().union(*membership.values()))
    frame = pd.DataFrame(
        {name: [int(i in members) for i in everyone] for name, members in membership.items()}
    )
    table = frame.groupby(names, sort=False).size().rename("count").reset_index()
    order = np.lexsort([-table[n].to_numpy() for n in reversed(names)]
                       + [table[names].sum(axis=1).to_numpy()])
    return table.iloc[order].reset_index(drop=True)


@dataclass(frozen=True)
class _Data:
    lists: tuple[str, ...]
    histories: np.ndarray  # (cells, t), all 2**t - 1 observable histories
    counts: np.ndarray     # (cells,) float, integer-valued

    @property
    def observed(self) -> int:
        return int(round(self.counts.sum()))


def _prepare(table: pd.DataFrame, count: str = "count") -> _Data:
    if not isinstance(table, pd.DataFrame):
        raise ValueError("table must be a pandas DataFrame of 0/1 list columns and a count")
    if count not in table.columns:
        raise ValueError(f"table: count column {count!r} not found (columns: {list(table)})")
    lists = [str(c) for c in table.columns if c != count]
    if len(lists) < 2:
        raise ValueError(f"table: need at least 2 list columns, got {lists}")
    if len(lists) > MAX_LISTS:
        raise ValueError(f"table: at most {MAX_LISTS} lists are supported, got {len(lists)}")
    marks = table[[c for c in table.columns if c != count]]
    if marks.isna().any().any():
        raise ValueError("table: list columns contain missing values")
    try:
        marks = marks.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError("table: list columns must be 0/1") from exc
    bad = [c for c in marks.columns if not marks[c].isin([0.0, 1.0]).all()]
    if bad:
        raise ValueError(f"table: list columns must be 0/1; column(s) {bad} are not")
    counts = pd.to_numeric(table[count], errors="coerce")
    if counts.isna().any() or not np.isfinite(counts.to_numpy(dtype=float)).all():
        raise ValueError(f"table: column {count!r} must be numeric and not missing")
    counts = counts.to_numpy(dtype=float)
    if (counts < 0).any() or not np.allclose(counts, np.round(counts)):
        raise ValueError(f"table: column {count!r} must hold non-negative whole numbers")
    t = len(lists)
    hist = ll.all_histories(t)
    codes = (hist.astype(np.int64) * (1 << np.arange(t - 1, -1, -1))).sum(axis=1)
    row_codes = (marks.to_numpy(dtype=np.int64) * (1 << np.arange(t - 1, -1, -1))).sum(axis=1)
    if ((row_codes == 0) & (counts > 0)).any():
        raise ValueError("table: the all-zero capture history is unobservable and must not "
                         "have a count")
    y = np.zeros(len(hist))
    position = {int(c): i for i, c in enumerate(codes)}
    for code, n in zip(row_codes, counts, strict=True):
        if code:
            y[position[int(code)]] += n
    per_list = hist.T @ y
    empty = [name for name, n in zip(lists, per_list, strict=True) if n <= 0]
    if empty:
        raise ValueError(f"table: list(s) {empty} have nobody on them; drop them first")
    return _Data(tuple(lists), hist, np.round(y))


def _parse_terms(terms: Iterable[Any] | str | None, lists: Sequence[str]) -> ll.Model:
    """``"D:E"``, ``("D", "E")`` or ``["D:E", "A:B"]`` -> canonical model (list indices)."""
    if terms is None:
        return ()
    if isinstance(terms, str):
        terms = [t for t in terms.replace("+", ",").split(",") if t.strip()]
    index = {name: i for i, name in enumerate(lists)}
    out: list[tuple[int, ...]] = []
    for term in terms:
        parts = [p.strip() for p in term.split(":")] if isinstance(term, str) else list(term)
        if len(parts) < 2:
            raise ValueError(f"terms: {term!r} is not an interaction of two or more lists")
        unknown = [p for p in parts if p not in index]
        if unknown:
            raise ValueError(f"terms: unknown list(s) {unknown} in {term!r}; lists are "
                             f"{list(lists)}")
        out.append(tuple(sorted(index[p] for p in parts)))
    model = ll.canonical_model(out)
    closed = ll.hierarchical_closure(model)
    if closed != model:
        missing = [t for t in closed if t not in model]
        raise ValueError(
            "terms: model is not hierarchical; add the lower-order term(s) "
            f"{[_term_name(t, lists) for t in missing]}"
        )
    return model


def _term_name(term: Sequence[int], lists: Sequence[str]) -> str:
    return ":".join(lists[i] for i in term)


def _model_label(model: ll.Model, lists: Sequence[str]) -> str:
    return " + ".join(_term_name(t, lists) for t in model) if model else "main effects"


# --------------------------------------------------------------------------------------------
# Checking and fitting one model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MLECheck:
    """Existence / identifiability of the (extended) MLE of one model.

    ``code`` follows ``check_extended_MLE`` of the R package MultipleSystemsEstimation:
    0 both conditions hold, 1 the MLE does not exist, 2 the parameters are not identifiable,
    3 both fail. ``infinite_terms`` are terms whose lists never overlap (MLE ``-inf``); a
    model with such terms and code 0 is fitted on the boundary (extended MLE).
    """

    code: int
    status: str
    infinite_terms: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return self.code == 0


def check_extended_mle(table: pd.DataFrame, terms: Iterable[Any] | str | None = None, *,
                       count: str = "count") -> MLECheck:
    """Check that a model's (extended) MLE exists and is identifiable.

    Method: Chan, Silverman & Vincent (2021), Sec. 3 — parameters whose sufficient
    statistic (margin) is zero are set to ``-inf`` and the cells containing their lists are
    dropped; on what remains the Fienberg & Rinaldo (2012) existence condition (no direction
    of recession) and full column rank are checked. For the paper's artificial 3-list data
    ``[12,13,23]`` gives 2, ``[12,3]`` gives 1 and ``[13,23,1,2]`` gives 0.
    """
    data = _prepare(table, count)
    model = _parse_terms(terms, data.lists)
    code, face = ll.check_status(data.histories, data.counts, model)
    return MLECheck(code, _status_label(code, face), tuple(
        _term_name(t, data.lists) for t in face.infinite))


def _status_label(code: int, face: ll.Face) -> str:
    if code == 0:
        return "boundary" if face.infinite else "ok"
    return ll.STATUS_LABELS[code]


@dataclass(frozen=True)
class MSEModelFit:
    """One fitted Poisson log-linear model (see :func:`fit_mse_model`)."""

    terms: tuple[str, ...]
    label: str
    status: str
    status_code: int
    infinite_terms: tuple[str, ...]
    n_params: int
    deviance: float
    df: int
    aic: float
    bic: float
    estimate: float
    observed: int
    coefficients: pd.Series | None = field(repr=False)

    @property
    def unobserved(self) -> float:
        return self.estimate - self.observed


_EPS = np.finfo(float).eps


def _poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """statsmodels' ``Poisson().deviance(y, mu)``, operation for operation."""
    return float(np.sum(2 * (y * np.log(np.clip(y / mu, _EPS, np.inf)) - (y - mu))))


def _glm_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients and deviance of the Poisson log-linear fit, exactly as
    ``statsmodels`` ``GLM(y, x, family=Poisson()).fit()`` computes them.

    The IRLS of ``GLM._fit_irls`` (statsmodels 0.15) with the Poisson family and log link,
    operation for operation and in the same order: start at ``(y + mean y) / 2``; each step
    a weighted least-squares fit by ``lstsq`` with weights ``1 / (g'(mu)^2 V(mu))``; stop
    when the deviance changes by at most 1e-8 (``np.allclose`` with ``atol=1e-8``); final
    coefficients by the pseudo-inverse refit of the last step (``WLS.fit("pinv")``); the
    deviance at those coefficients. Building a ``GLM`` model and its results object took
    most of the time of fitting every model of every stratum at national scale (300
    districts x 64 models); the numbers are bit for bit the same (a test compares them).
    """
    with np.errstate(all="ignore"):  # as the GLM fit, which ran with warnings ignored
        mu = (y + y.mean()) / 2.0
        lin_pred = np.log(np.clip(mu, _EPS, np.inf))
        dev = [math.inf, _poisson_deviance(y, mu)]
        for _ in range(100):
            deriv = 1.0 / np.clip(mu, _EPS, np.inf)  # log link: g'(mu) = 1 / mu
            weights = 1.0 / (deriv ** 2 * np.power(np.fabs(mu), 1.0))  # variance mu
            wlsendog = lin_pred + deriv * (y - mu)
            w_half = np.sqrt(weights)
            if not (np.all(np.isfinite(w_half)) and np.all(np.isfinite(wlsendog))):
                raise ValueError("NaN, inf or invalid value in the IRLS weights or working "
                                 "response, estimation infeasible.")
            params = np.linalg.lstsq(w_half[:, None] * x, w_half * wlsendog, rcond=-1)[0]
            lin_pred = np.dot(x, params)
            mu = np.exp(lin_pred)
            dev.append(_poisson_deviance(y, mu))
            # np.allclose(dev[-2], dev[-1], atol=1e-8, rtol=0) on two numbers, written out
            if dev[-2] == dev[-1] or abs(dev[-1] - dev[-2]) <= 1e-8:
                break
        w_half = np.sqrt(weights)
        pinv, _ = pinv_extended(w_half[:, None] * x)
        params = np.dot(pinv, wlsendog * w_half)
        return params, _poisson_deviance(y, np.exp(np.dot(x, params)))


def _fit(data: _Data, model: ll.Model, *, allow_boundary: bool = True,
         coefficients: bool = True) -> MSEModelFit:
    """One model's fit; ``coefficients=False`` leaves the coefficient Series out (None),
    for the model search, which uses only the criterion and the estimate."""
    code, face = ll.check_status(data.histories, data.counts, model)
    n = data.observed
    n_params = len(face.params)
    status = _status_label(code, face)
    usable = code == 0 and (allow_boundary or not face.infinite)
    if code == 0 and not usable:
        status = "boundary_excluded"
    nan = float("nan")
    names = ["(Intercept)"] + [_term_name(p, data.lists) for p in face.params[1:]]
    if not usable:
        return MSEModelFit(
            tuple(_term_name(t, data.lists) for t in model), _model_label(model, data.lists),
            status, code, tuple(_term_name(t, data.lists) for t in face.infinite), n_params,
            nan, 0, nan, nan, nan, n,
            pd.Series(nan, index=names, dtype=float) if coefficients else None)
    beta, deviance = _glm_fit(face.x, data.counts[face.retained])
    coef = None
    if coefficients:
        values = np.full(len(names), -np.inf)
        for p, b in zip(face.estimated, beta, strict=True):
            values[face.params.index(p)] = b
        coef = pd.Series(values, index=names, dtype=float)
    return MSEModelFit(
        terms=tuple(_term_name(t, data.lists) for t in model),
        label=_model_label(model, data.lists),
        status=status,
        status_code=code,
        infinite_terms=tuple(_term_name(t, data.lists) for t in face.infinite),
        n_params=n_params,
        deviance=deviance,
        df=int(face.retained.sum() - len(face.estimated)),
        aic=deviance + 2.0 * n_params,
        bic=deviance + math.log(n) * n_params,
        estimate=n + float(np.exp(beta[0])),
        observed=n,
        coefficients=coef,
    )


def fit_mse_model(table: pd.DataFrame, terms: Iterable[Any] | str | None = None, *,
                  count: str = "count", allow_boundary: bool = True) -> MSEModelFit:
    """Fit one Poisson log-linear model and estimate the total population.

    ``terms`` are the interactions beyond the main effects, e.g. ``"D:E"`` or
    ``[("D", "E")]``; ``None`` fits the independence (main-effects) model. The model is fitted
    by the IRLS of ``statsmodels`` GLM (Poisson, log link; reproduced step for step by
    ``_glm_fit``, same numbers) to all ``2**t - 1`` observable histories,
    on the extended-MLE face of Chan, Silverman & Vincent (2021); the estimated total is
    ``observed + exp(intercept)``. Information criteria: ``AIC = deviance + 2p`` and
    ``BIC = deviance + ln(observed) p``, ``p`` counting every parameter of the model
    including the intercept and any fixed at ``-inf`` (the definition reproducing the choices
    of Silverman, Chan & Vincent 2024). If the check fails the numbers are NaN and
    ``status`` says why.
    """
    data = _prepare(table, count)
    return _fit(data, _parse_terms(terms, data.lists), allow_boundary=allow_boundary)


# --------------------------------------------------------------------------------------------
# Model search
# --------------------------------------------------------------------------------------------
def _row(fit: MSEModelFit, model: ll.Model) -> dict[str, Any]:
    return {
        "model": fit.label,
        "terms": fit.terms,
        "order": max((len(t) for t in model), default=1),
        "n_params": fit.n_params,
        "status": fit.status,
        "status_code": fit.status_code,
        "infinite_terms": fit.infinite_terms,
        "deviance": fit.deviance,
        "df": fit.df,
        "aic": fit.aic,
        "bic": fit.bic,
        "estimate": fit.estimate,
        "_model": model,
    }


def _search(data: _Data, *, max_order: int, criterion: Criterion, search: Search,
            max_models: int, allow_boundary: bool) -> tuple[pd.DataFrame, str]:
    t = len(data.lists)
    max_order = max(1, min(int(max_order), t - 1))
    if search not in ("auto", "exhaustive", "downhill"):
        raise ValueError(f"search must be 'auto', 'exhaustive' or 'downhill', got {search!r}")
    n_models = ll.count_models(t, max_order, max_models)
    if search == "exhaustive" and n_models is None:
        raise ValueError(f"search='exhaustive': more than max_models={max_models} "
                         f"hierarchical models for {t} lists and max_order={max_order}")
    how = "exhaustive" if (search == "exhaustive" or (search == "auto" and n_models)) \
        else "downhill"
    rows: list[dict[str, Any]] = []
    if how == "exhaustive":
        for model in ll.enumerate_models(t, max_order):
            rows.append(_row(_fit(data, model, allow_boundary=allow_boundary,
                                  coefficients=False), model))
    else:
        seen: dict[ll.Model, dict[str, Any]] = {}

        def value(model: ll.Model) -> float:
            if model not in seen:
                seen[model] = _row(_fit(data, model, allow_boundary=allow_boundary,
                                        coefficients=False), model)
            v = seen[model][criterion]
            return float(v) if np.isfinite(v) else math.inf

        current: ll.Model = ()
        best = value(current)
        while True:
            candidates = [m for m in ll.neighbours(current, t, max_order) if m not in seen]
            if not candidates:
                break
            scores = [value(m) for m in candidates]
            i = int(np.argmin(scores))
            if scores[i] >= best:
                break
            current, best = candidates[i], scores[i]
        # The downhill path finds one model; models about as well supported may lie off it
        # (Kosovo, max order 3: the path never expands the five-pair model, so a model 0.9
        # BIC units behind the best, with a total 78% higher, is never fitted). Expand the
        # neighbourhood of every model within SUPPORT_DELTA of the best until no new one
        # comes that close, so the average and the sensitivity flag see them all.
        expanded: set[ll.Model] = set()
        while True:
            best = min(value(m) for m in seen)
            todo = [m for m in list(seen) if m not in expanded
                    and value(m) - best <= SUPPORT_DELTA]
            if not todo:
                break
            for model in todo:
                expanded.add(model)
                for other in ll.neighbours(model, t, max_order):
                    value(other)
        rows = list(seen.values())
    frame = pd.DataFrame(rows)
    frame = frame.sort_values([criterion, "n_params"], na_position="last", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", np.where(frame[criterion].notna(),
                                     np.arange(1, len(frame) + 1), pd.NA))
    frame["rank"] = frame["rank"].astype("Int64")
    return frame, how


# --------------------------------------------------------------------------------------------
# Model uncertainty
# --------------------------------------------------------------------------------------------
def criterion_weights(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Weights ``w_i = exp(-delta_i / 2) / sum_r exp(-delta_r / 2)`` of candidate models.

    ``delta_i = c_i - min_r c_r`` is model ``i``'s information criterion minus the best
    one's. With AIC these are Akaike weights (Burnham & Anderson 2002, Sec. 2.9); with BIC
    the same formula gives the posterior model probabilities under equal prior
    probabilities (Sec. 6.4). Models without a finite criterion (no usable fit) get 0.

    >>> criterion_weights([10.0, 12.0, float("nan")]).round(4).tolist()
    [0.7311, 0.2689, 0.0]
    """
    c = np.asarray(values, dtype=float)
    ok = np.isfinite(c)
    if not ok.any():
        raise ValueError("criterion_weights: no model has a finite criterion value")
    w = np.zeros_like(c)
    w[ok] = np.exp(-(c[ok] - c[ok].min()) / 2.0)
    return w / w.sum()


def model_averaged_estimate(estimates: Sequence[float] | np.ndarray,
                            values: Sequence[float] | np.ndarray) -> float:
    """Model-averaged estimate ``sum_i w_i N_i`` with :func:`criterion_weights` ``w_i``.

    Burnham & Anderson (2002), Sec. 4.2: the average over the candidate models of each
    model's estimate of the same quantity (here the total population), weighted by the
    support for the model. It always lies between the smallest and largest averaged
    estimate. Models without a finite criterion are left out.

    >>> round(model_averaged_estimate([1000.0, 2000.0], [10.0, 12.0]), 1)
    1268.9
    """
    est = np.asarray(estimates, dtype=float)
    w = criterion_weights(values)
    used = w > 0
    if not np.isfinite(est[used]).all():
        raise ValueError("model_averaged_estimate: a model with a criterion value has no estimate")
    return float(np.sum(w[used] * est[used]))


def model_sensitivity(estimates: Sequence[float] | np.ndarray,
                      deltas: Sequence[float] | np.ndarray, *,
                      max_delta: float | None = None,
                      tolerance: float | None = None) -> tuple[bool, float]:
    """Whether the estimate depends on the choice among well-supported models.

    The competing models are those with ``delta <= max_delta`` (default
    :data:`SUPPORT_DELTA` = 2: "substantial support", Burnham & Anderson 2002, Sec. 2.6).
    Their spread is ``largest estimate / smallest - 1``; the result is sensitive when the
    spread exceeds ``tolerance`` (default :data:`SENSITIVITY_TOLERANCE` = 0.25, i.e. the
    supported models disagree on the total by more than 25%). Returns
    ``(sensitive, spread)``; the spread is 0 when only one model is supported.

    >>> model_sensitivity([1000.0, 1300.0, 5000.0], [0.0, 1.5, 9.0])
    (True, 0.3)
    """
    max_delta = SUPPORT_DELTA if max_delta is None else max_delta
    tolerance = SENSITIVITY_TOLERANCE if tolerance is None else tolerance
    est = np.asarray(estimates, dtype=float)
    d = np.asarray(deltas, dtype=float)
    keep = np.isfinite(d) & (d <= max_delta) & np.isfinite(est)
    if not keep.any():
        raise ValueError("model_sensitivity: no model with a finite delta and estimate")
    spread = float(est[keep].max() / est[keep].min() - 1.0)
    return spread > tolerance, round(spread, 12)


def _uncertainty_columns(models: pd.DataFrame, criterion: Criterion, n_average: int
                         ) -> pd.DataFrame:
    """Add ``delta``, ``weight`` and ``in_average`` to a candidate table sorted by criterion.

    The average (and the bootstrap) uses the ``n_average`` best usable models; the weights
    are normalised over them, so models outside the average have weight 0.
    """
    out = models.copy()
    values = out[criterion].to_numpy(dtype=float)
    usable = np.isfinite(values)
    out["delta"] = np.where(usable, values - np.nanmin(values) if usable.any() else np.nan,
                            np.nan)
    in_average = usable & (np.cumsum(usable) <= n_average)
    weight = np.where(usable, 0.0, np.nan)
    if in_average.any():
        weight[in_average] = criterion_weights(values[in_average])
    out["weight"] = weight
    out["in_average"] = in_average
    return out


# --------------------------------------------------------------------------------------------
# Refitting many count vectors (bootstrap / jackknife)
# --------------------------------------------------------------------------------------------
class _Refitter:
    """Fit a fixed set of models to many count vectors over the same histories.

    For each model the count vectors are grouped by their pattern of zero margins (the
    extended-MLE face) and fitted together by vectorised IRLS. The model chosen for a count
    vector is the first by criterion whose exact existence / identifiability check passes
    (checks are cached by support pattern), as in the bootstrap of Silverman, Chan &
    Vincent (2024), which screens every model/replicate pair with ``check_extended_MLE``.
    """

    def __init__(self, data: _Data, models: Sequence[ll.Model], criterion: Criterion,
                 allow_boundary: bool):
        self.data = data
        self.models = list(models)
        self.criterion = criterion
        self.allow_boundary = allow_boundary
        # support pattern -> per model: -1 not checked yet, 0 not usable, 1 usable
        self._status: dict[bytes, np.ndarray] = {}
        self._full = [ll.design(data.histories, ll.parameters(len(data.lists), m))
                      for m in self.models]

    def _flags(self, y: np.ndarray) -> np.ndarray:
        key = np.packbits(y > 0).tobytes()
        flags = self._status.get(key)
        if flags is None:
            # No empty cell: every model's MLE exists (Haberman 1974) and is identifiable
            # (the model with all terms of order < t is saturated and of full rank on the
            # 2**t - 1 cells, so every hierarchical sub-model is), so nothing to check.
            full = bool((y > 0).all())
            flags = np.full(len(self.models), 1 if full else -1, dtype=np.int8)
            self._status[key] = flags
        return flags

    def _usable(self, j: int, y: np.ndarray, flags: np.ndarray | None = None) -> bool:
        flags = self._flags(y) if flags is None else flags
        if flags[j] < 0:
            code, face = ll.check_status(self.data.histories, y, self.models[j], self._full[j])
            flags[j] = code == 0 and (self.allow_boundary or not face.infinite)
        return bool(flags[j])

    def _fit_model(self, j: int, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = self._full[j]
        n_params = full.shape[1]
        margins = ys @ full
        zero = margins <= 0
        zero[:, 0] = False
        crit = np.full(len(ys), np.inf)
        est = np.full(len(ys), np.nan)
        hist = self.data.histories
        params = ll.parameters(len(self.data.lists), self.models[j])
        if zero.any():
            patterns, inverse = np.unique(zero, axis=0, return_inverse=True)
        else:  # the usual case: no zero margin, one group (np.unique's sort is not free)
            patterns, inverse = zero[:1], np.zeros(len(ys), dtype=np.intp)
        for g, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse.ravel() == g)
            keep = np.ones(len(hist), dtype=bool)
            for p_idx in np.flatnonzero(pattern):
                keep &= ~np.all(hist[:, list(params[p_idx])] == 1, axis=1)
            x = full[np.ix_(keep, ~pattern)]
            beta, _, dev, _ = ll.irls(x, ys[np.ix_(rows, keep)])
            n = ys[rows].sum(axis=1)
            pen = 2.0 if self.criterion == "aic" else np.log(n)
            crit[rows] = np.where(np.isfinite(dev), dev + pen * n_params, np.inf)
            est[rows] = n + np.exp(np.clip(beta[:, 0], -700, 700))
        return crit, est

    def _exact(self, j: int, y: np.ndarray) -> float:
        """Estimate of model ``j`` by the GLM fit (:func:`_glm_fit`), when vectorised IRLS
        had trouble."""
        _, face = ll.check_status(self.data.histories, y, self.models[j])
        beta, _ = _glm_fit(face.x, y[face.retained])
        return y.sum() + float(np.exp(beta[0]))

    def evaluate(self, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Selected-model and model-averaged totals for each row of ``ys``.

        Both come from the same fits: each model is fitted once per row; the selected total
        is the best usable model's, the averaged one weights the usable models by
        :func:`criterion_weights` of that row's criterion values (Burnham & Anderson 2002),
        so the bootstrap repeats both the selection and the averaging (Buckland, Burnham &
        Augustin 1997).
        """
        ys = np.asarray(ys, dtype=float)
        crits = np.empty((len(ys), len(self.models)))
        ests = np.empty_like(crits)
        for j in range(len(self.models)):
            crits[:, j], ests[:, j] = self._fit_model(j, ys)
        order = np.argsort(crits, axis=1, kind="stable")
        first = np.full(len(ys), -1)
        used = np.zeros(crits.shape, dtype=bool)
        # Each row walks its models best first: stop at the first without a criterion
        # value, or once past the first usable model by more than _NEGLIGIBLE_DELTA; the
        # usable ones on the way are used. Rows with the same support pattern share the
        # usability checks, so the walk is made for all of them at once, rank by rank.
        patterns, inverse = np.unique(ys > 0, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for g in range(len(patterns)):
            rows = np.flatnonzero(inverse == g)
            flags = self._flags(ys[rows[0]])
            at = np.arange(len(rows))
            walking = np.ones(len(rows), dtype=bool)
            best = np.full(len(rows), np.nan)
            for k in range(len(self.models)):
                j = order[rows, k]
                c = crits[rows, j]
                walking &= np.isfinite(c)
                walking &= ~((first[rows] >= 0) & (c - best > _NEGLIGIBLE_DELTA))
                if not walking.any():
                    break
                reached = j[walking]
                for jj in set(reached[flags[reached] < 0].tolist()):  # check once, lazily
                    self._usable(jj, ys[rows[0]], flags)
                ok = walking & (flags[j] == 1)
                used[rows[ok], j[ok]] = True
                new = ok & (first[rows] < 0)
                first[rows[new]] = j[new]
                best[at[new]] = c[new]
        for i, j in np.argwhere(used & ~np.isfinite(ests)):  # IRLS trouble on a usable model
            ests[i, j] = self._exact(int(j), ys[i])
        rows = np.flatnonzero(first >= 0)
        selected = np.full(len(ys), np.nan)
        selected[rows] = ests[rows, first[rows]]
        # criterion_weights / model_averaged_estimate for every row at once
        c = np.where(used, crits, np.inf)[rows]
        w = np.where(used[rows], np.exp(-(c - c.min(axis=1, keepdims=True)) / 2.0), 0.0)
        averaged = np.full(len(ys), np.nan)
        averaged[rows] = np.sum(w * np.where(used[rows], ests[rows], 0.0), axis=1) / w.sum(axis=1)
        return selected, averaged

    def select(self, ys: np.ndarray) -> np.ndarray:
        """Estimated total for each row of ``ys`` under criterion-based model choice."""
        return self.evaluate(ys)[0]


def _bootstrap(refitter: _Refitter, data: _Data, n_boot: int, seed: int | None
               ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = data.counts / data.counts.sum()
    draws = rng.multinomial(data.observed, p, size=n_boot).astype(float)
    return refitter.evaluate(draws)


def _jackknife(refitter: _Refitter, data: _Data
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = np.flatnonzero(data.counts > 0)
    ys = np.repeat(data.counts[None, :], len(cells), axis=0)
    ys[np.arange(len(cells)), cells] -= 1
    selected, averaged = refitter.evaluate(ys)
    return selected, averaged, data.counts[cells]


def _bca_interval(boot: np.ndarray, estimate: float, jack: np.ndarray, weights: np.ndarray,
                  confidence: float) -> tuple[float, float, float, float]:
    """BCa limits (Efron 1987), acceleration from the delete-one-individual jackknife.

    As in ``bcaconfvalues`` of MultipleSystemsEstimation: ``z0 = Phi^-1(P(boot < est))``;
    ``a = sum w d^3 / (6 (sum w d^2)^1.5)`` with ``d`` the jackknife deviations weighted by
    the count ``w`` of each capture history; quantiles of type 8 (median-unbiased).
    """
    boot = boot[np.isfinite(boot)]
    b = len(boot)
    prop = np.clip(np.mean(boot < estimate), 0.5 / b, 1 - 0.5 / b)
    z0 = stats.norm.ppf(prop)
    ok = np.isfinite(jack)
    if ok.sum() >= 2:
        jbar = np.sum(weights[ok] * jack[ok]) / weights[ok].sum()
        d = jbar - jack[ok]
        denom = np.sum(weights[ok] * d**2)
        a = float(np.sum(weights[ok] * d**3) / (6 * denom**1.5)) if denom > 0 else 0.0
    else:
        a = 0.0
    alpha = (1 - confidence) / 2
    za = stats.norm.ppf([alpha, 1 - alpha])
    adj = stats.norm.cdf(z0 + (z0 + za) / (1 - a * (z0 + za)))
    lo, hi = np.quantile(boot, adj, method="median_unbiased")
    return float(lo), float(hi), float(z0), a


# --------------------------------------------------------------------------------------------
# Profile likelihood
# --------------------------------------------------------------------------------------------
def _profile_interval(data: _Data, model: ll.Model, confidence: float) -> tuple[float, float]:
    code, face = ll.check_status(data.histories, data.counts, model)
    if code != 0:
        raise MSEError(f"profile likelihood: model {_model_label(model, data.lists)!r} has "
                       f"status {ll.STATUS_LABELS[code]}")
    n = float(data.observed)
    y = data.counts[face.retained]
    unseen = np.zeros((1, face.x.shape[1]))
    unseen[0, 0] = 1.0
    x = np.vstack([face.x, unseen])

    def loglik(total: float) -> float:
        yy = np.append(y, total - n)
        _, mu, _, _ = ll.irls(x, yy)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(yy > 0, yy * np.log(mu / total), 0.0)
        return float(gammaln(total + 1) - gammaln(total - n + 1) + terms.sum())

    start = _fit(data, model).estimate
    hi_bound = max(start * 4, n + 10)
    opt = optimize.minimize_scalar(lambda v: -loglik(v), bounds=(n, hi_bound),
                                   method="bounded", options={"xatol": 1e-6 * n})
    n_hat, l_max = float(opt.x), -float(opt.fun)
    crit = stats.chi2.ppf(confidence, 1)

    def gap(total: float) -> float:
        return 2 * (l_max - loglik(total)) - crit

    lower = n if gap(n) <= 0 else optimize.brentq(gap, n, n_hat, xtol=1e-6)
    hi = max(n_hat * 1.5, n_hat + 10)
    for _ in range(60):
        if gap(hi) > 0:
            break
        hi *= 2
    else:
        return float(lower), math.inf
    upper = optimize.brentq(gap, n_hat, hi, xtol=1e-6)
    return float(lower), float(upper)


def profile_likelihood_interval(table: pd.DataFrame, terms: Iterable[Any] | str | None = None,
                                *, confidence: float = 0.95, count: str = "count"
                                ) -> tuple[float, float]:
    """Profile-likelihood interval for the total under one fixed model (Cormack 1992).

    The multinomial log-likelihood of the total ``N`` is profiled by fitting the model to the
    complete table with ``N - observed`` in the unobserved cell; the interval is
    ``{N >= observed : 2 (l_max - l(N)) <= chi2_1(confidence)}``. It is conditional on the
    model, so it ignores model-selection uncertainty (use the bootstrap for that).
    """
    _check_confidence(confidence)
    data = _prepare(table, count)
    return _profile_interval(data, _parse_terms(terms, data.lists), confidence)


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MSEEstimate:
    """One estimate of the total with its interval: the selected model's
    (``basis="selected"``) or the model average (``basis="averaged"``) over ``n_models``."""

    estimate: float
    lower: float
    upper: float
    basis: Literal["selected", "averaged"]
    n_models: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper,
                "basis": self.basis, "n_models": self.n_models}


@dataclass(frozen=True)
class MSEResult:
    """Result of :func:`mse_estimate`.

    ``estimate`` = observed + estimated unobserved under the selected (best-criterion)
    model, with ``lower``/``upper`` at ``confidence``. ``terms`` are the chosen model's
    interactions (empty = main effects); ``infinite_terms`` those fixed at ``-inf`` (lists
    that never overlap).

    ``models`` is the candidate table, best first by criterion: model, terms, order,
    ``n_params`` (parameters incl. the intercept), status, deviance, df, AIC, BIC,
    ``delta`` (criterion minus the best's), ``weight`` (``exp(-delta/2)`` normalised over
    the models in the average; 0 outside it), ``in_average`` and estimate. Models whose
    extended MLE does not exist or is not identifiable have status ``mle_does_not_exist`` /
    ``not_identifiable`` and no numbers.

    ``averaged`` is the model-averaged total with its bootstrap interval (the bootstrap
    repeats the averaging; :class:`MSEEstimate`); ``selected`` is the selected model's.
    ``sensitive`` is True when the models within ``delta <= 2`` (``competing``) disagree
    on the total by more than 25% (``spread`` = largest / smallest - 1).
    """

    estimate: float
    lower: float
    upper: float
    observed: int
    terms: tuple[str, ...]
    method: str
    models: pd.DataFrame = field(repr=False)
    lists: tuple[str, ...] = ()
    infinite_terms: tuple[str, ...] = ()
    criterion: str = "bic"
    search: str = "exhaustive"
    ci_method: str = "bca"
    confidence: float = 0.95
    n_boot: int = 0
    seed: int | None = None
    bootstrap_estimates: np.ndarray | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()
    averaged: MSEEstimate | None = None
    averaged_bootstrap_estimates: np.ndarray | None = field(default=None, repr=False)
    sensitive: bool = False
    spread: float = 0.0

    @property
    def unobserved(self) -> float:
        return self.estimate - self.observed

    @property
    def model(self) -> str:
        return " + ".join(self.terms) if self.terms else "main effects"

    @property
    def selected(self) -> MSEEstimate:
        """The selected model's estimate and interval."""
        return MSEEstimate(self.estimate, self.lower, self.upper, "selected", 1)

    def headline(self, basis: Literal["averaged", "selected"]) -> MSEEstimate:
        """The estimate to report: ``"averaged"`` or ``"selected"``."""
        if basis == "selected":
            return self.selected
        if basis == "averaged":
            if self.averaged is None:
                raise ValueError("this result has no model-averaged estimate")
            return self.averaged
        raise ValueError(f"basis must be 'averaged' or 'selected', got {basis!r}")

    @property
    def competing(self) -> pd.DataFrame:
        """The usable models within ``delta <= 2`` of the best (best first)."""
        m = self.models
        return m.loc[m["delta"].notna() & (m["delta"] <= SUPPORT_DELTA)]

    def to_dict(self) -> dict[str, Any]:
        """Plain summary (no tables/arrays) for recording results."""
        return {
            "estimate": self.estimate, "lower": self.lower, "upper": self.upper,
            "observed": self.observed, "unobserved": self.unobserved, "model": self.model,
            "terms": list(self.terms), "infinite_terms": list(self.infinite_terms),
            "lists": list(self.lists), "criterion": self.criterion, "search": self.search,
            "ci_method": self.ci_method, "confidence": self.confidence,
            "n_boot": self.n_boot, "seed": self.seed, "method": self.method,
            "warnings": list(self.warnings),
            "averaged": self.averaged.to_dict() if self.averaged else None,
            "sensitive": self.sensitive, "spread": self.spread,
            "competing_models": [
                {"model": r.model, "delta": r.delta, "weight": r.weight, "estimate": r.estimate}
                for r in self.competing.itertuples()
            ],
        }


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def _default_n_top(n_lists: int) -> int | None:
    # Silverman, Chan & Vincent (2024) / MultipleSystemsEstimation defaults.
    return None if n_lists <= 3 else (20 if n_lists == 4 else 100)


def mse_estimate(
    table: pd.DataFrame,
    *,
    terms: Iterable[Any] | str | None = None,
    criterion: Criterion = "bic",
    max_order: int = 2,
    search: Search = "auto",
    max_models: int = 5000,
    allow_boundary: bool = True,
    ci: CIMethod = "bca",
    n_boot: int = 1000,
    n_top: int | None = None,
    confidence: float = 0.95,
    seed: int | None = DEFAULT_SEED,
    count: str = "count",
) -> MSEResult:
    """Estimate a hidden population by multiple-systems estimation.

    Parameters
    ----------
    table
        Capture histories: one 0/1 column per list and ``count`` (see
        :func:`capture_histories`). Unlisted histories have count 0.
    terms
        Fit this model only (e.g. ``"D:E"``; ``[]`` = main effects) instead of selecting one.
    criterion
        ``"bic"`` (default; ``deviance + ln(observed) p``) or ``"aic"`` (``deviance + 2p``).
    max_order
        Highest interaction order considered (2 = two-list interactions; 3 adds hierarchical
        three-list terms, etc.).
    search
        ``"exhaustive"`` over all hierarchical models, ``"downhill"`` (start from main effects
        and move to the best neighbour — one term added or removed — while the criterion
        improves; Silverman, Chan & Vincent 2024), or ``"auto"``: exhaustive when there are
        at most ``max_models`` models.
    allow_boundary
        Use models with terms fixed at ``-inf`` (extended MLE, Chan et al. 2021) when they
        pass the existence/identifiability checks (default, as in the published analyses).
        ``False`` excludes every model with such a term.
    ci
        ``"bca"`` (default) or ``"percentile"`` bootstrap repeating the model selection
        (multinomial resampling of the observed individuals, restricted to the ``n_top``
        best models on the original data — default all for up to 3 lists, 20 for 4, 100
        for 5+, as in Silverman, Chan & Vincent 2024); ``"profile"`` likelihood for the
        chosen model (Cormack 1992; ignores model-selection uncertainty); or ``"none"``.
        For a downhill search the bootstrap re-selects among the models the search visited.
    n_top
        How many of the best usable models (by criterion on the original data) the
        bootstrap re-selects among and the model average covers; default as above.
    n_boot, seed
        Bootstrap replicates and the seed of ``numpy.random.default_rng`` (deterministic).

    Model uncertainty is always computed alongside the selected model: criterion weights
    ``exp(-delta/2)`` normalised over the ``n_top`` best models, their weighted average
    (Burnham & Anderson 2002, Sec. 4.2) as ``averaged``, with a bootstrap interval from the
    same replicates and the same fits as the selected model's, in which each replicate
    recomputes the weights and the average; and the flag ``sensitive`` (see
    :func:`model_sensitivity`).

    Returns an :class:`MSEResult`. Raises :class:`MSEError` when no candidate model has an
    existing, identifiable MLE.
    """
    _check_confidence(confidence)
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}")
    if ci not in ("bca", "percentile", "profile", "none"):
        raise ValueError(f"ci must be 'bca', 'percentile', 'profile' or 'none', got {ci!r}")
    if ci in ("bca", "percentile") and (not isinstance(n_boot, int | np.integer) or n_boot < 20):
        raise ValueError(f"n_boot must be an integer >= 20 for a bootstrap interval, "
                         f"got {n_boot!r}")
    if not isinstance(max_order, int | np.integer) or max_order < 1:
        raise ValueError(f"max_order must be a positive integer, got {max_order!r}")
    data = _prepare(table, count)
    notes: list[str] = []

    if terms is not None:
        model = _parse_terms(terms, data.lists)
        fit = _fit(data, model, allow_boundary=allow_boundary)
        models = pd.DataFrame([_row(fit, model)])
        models.insert(0, "rank", pd.array([1 if np.isfinite(fit.estimate) else pd.NA],
                                          dtype="Int64"))
        how = "fixed"
    else:
        models, how = _search(data, max_order=max_order, criterion=criterion, search=search,
                              max_models=max_models, allow_boundary=allow_boundary)
    eligible = models[models[criterion].notna()]
    if eligible.empty:
        statuses = models["status"].value_counts().to_dict()
        raise MSEError(f"no candidate model has an existing, identifiable MLE "
                       f"(statuses: {statuses})")
    best = eligible.iloc[0]
    chosen: ll.Model = best["_model"]
    estimate = float(best["estimate"])
    n_failed = int((models["status_code"] != 0).sum())
    if n_failed:
        notes.append(f"{n_failed} candidate model(s) excluded: extended MLE does not exist "
                     f"or is not identifiable")
    if best["infinite_terms"]:
        notes.append("chosen model has terms fixed at -inf (lists never overlap): "
                     + ", ".join(best["infinite_terms"]))

    # The average and the bootstrap use the same models: the n_top best (Silverman et al.
    # 2024 restrict the bootstrap's choice to them), so each replicate's fits serve both.
    top = n_top if n_top is not None else _default_n_top(len(data.lists))
    pool = list(eligible["_model"])[: top if top else None]
    models = _uncertainty_columns(models, criterion, len(pool))
    in_avg = models.loc[models["in_average"]]
    avg_estimate = model_averaged_estimate(in_avg["estimate"], in_avg[criterion])
    all_weights = criterion_weights(models[criterion].to_numpy(dtype=float))
    outside = float(all_weights[~models["in_average"].to_numpy()].sum())
    if outside > 0.01:
        notes.append(f"models outside the {len(pool)} averaged carry {outside:.1%} of the "
                     "criterion weight over all candidates; raise n_top to include them")
    sensitive, spread = model_sensitivity(models["estimate"], models["delta"])
    if sensitive:
        notes.append(f"the models within {SUPPORT_DELTA:g} {criterion.upper()} units of the "
                     f"best disagree on the total by {spread:.0%}: the estimate is sensitive "
                     "to the choice of model")

    lower = upper = avg_lower = avg_upper = float("nan")
    boot = avg_boot = None
    used_boot = 0
    if ci in ("bca", "percentile"):
        refitter = _Refitter(data, pool, criterion, allow_boundary)
        boot, avg_boot = _bootstrap(refitter, data, int(n_boot), seed)
        n_bad = int((~np.isfinite(boot)).sum())
        if n_bad:
            notes.append(f"{n_bad} of {n_boot} bootstrap replicates had no usable model and "
                         "were dropped")
        finite = boot[np.isfinite(boot)]
        avg_finite = avg_boot[np.isfinite(avg_boot)]
        used_boot = len(finite)
        if used_boot < 20:
            raise MSEError("bootstrap: fewer than 20 replicates had a usable model")
        if ci == "bca":
            jack, avg_jack, weights = _jackknife(refitter, data)
            lower, upper, _, _ = _bca_interval(finite, estimate, jack, weights, confidence)
            avg_lower, avg_upper, _, _ = _bca_interval(avg_finite, avg_estimate, avg_jack,
                                                       weights, confidence)
        else:
            alpha = (1 - confidence) / 2
            lower, upper = (float(v) for v in np.quantile(finite, [alpha, 1 - alpha],
                                                          method="median_unbiased"))
            avg_lower, avg_upper = (float(v) for v in np.quantile(
                avg_finite, [alpha, 1 - alpha], method="median_unbiased"))
        for what, value, lo, hi in (("", estimate, lower, upper),
                                    ("model-averaged ", avg_estimate, avg_lower, avg_upper)):
            if not lo <= value <= hi:
                notes.append(f"the {what}bootstrap interval [{lo:.1f}, {hi:.1f}] does not "
                             f"contain the {what}estimate {value:.1f}: the bootstrap "
                             "distribution is degenerate or very skewed; do not publish this "
                             "interval")
        ci_text = (f"{'BCa' if ci == 'bca' else 'percentile'} bootstrap, {n_boot} multinomial "
                   f"replicates (seed {seed}) repeating the selection among the "
                   f"{len(pool)} best models")
    elif ci == "profile":
        lower, upper = _profile_interval(data, chosen, confidence)
        ci_text = "profile likelihood for the chosen model (Cormack 1992)"
    else:
        ci_text = "no interval"
    method = (f"Poisson log-linear multiple-systems estimation, {len(data.lists)} lists; "
              + ("fixed model" if how == "fixed" else
                 f"{criterion.upper()} selection, {how} search over {len(models)} "
                 f"hierarchical models (max order {min(max_order, len(data.lists) - 1)})")
              + f"; extended MLE checks (Chan et al. 2021); {ci_text}")
    return MSEResult(
        estimate=estimate,
        lower=lower,
        upper=upper,
        observed=data.observed,
        terms=tuple(best["terms"]),
        method=method,
        models=models.drop(columns="_model"),
        lists=data.lists,
        infinite_terms=tuple(best["infinite_terms"]),
        criterion=criterion,
        search=how,
        ci_method=ci,
        confidence=confidence,
        n_boot=used_boot,
        seed=seed if ci in ("bca", "percentile") else None,
        bootstrap_estimates=boot,
        warnings=tuple(notes),
        averaged=MSEEstimate(avg_estimate, avg_lower, avg_upper, "averaged", len(pool)),
        averaged_bootstrap_estimates=avg_boot,
        sensitive=sensitive,
        spread=spread,
    )
