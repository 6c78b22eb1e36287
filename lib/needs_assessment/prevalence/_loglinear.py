"""Poisson log-linear machinery for multiple-systems estimation (internal).

Everything here works on the *complete* table of the ``2**t - 1`` observable capture
histories of ``t`` lists (unlisted histories have count 0; the all-zero history is the
unobserved cell and is never part of the data).

Notation
--------
A *term* is a tuple of list indices, sorted: ``()`` is the intercept, ``(i,)`` the main
effect of list ``i`` and ``(i, j)`` the two-list interaction of lists ``i`` and ``j``.
A *model* is a sorted tuple of interaction terms (order >= 2); the intercept and all main
effects are always included, and models are hierarchical (every subset of size >= 2 of a
term is also a term). Its design column for term ``T`` is 1 on every cell that contains all
the lists of ``T``.

Extended MLE (Fienberg & Rinaldo 2012; Chan, Silverman & Vincent 2021)
----------------------------------------------------------------------
A term whose *margin* (the number of individuals on all of its lists) is zero has MLE
``-inf``: it is removed from the fit, and the cells containing all its lists (its
"descendants") get fitted value 0 and are dropped. On the remaining "face" two checks
decide whether the model may be used:

* *existence* of the MLE: the margins lie in the relative interior of the marginal cone,
  equivalently there is no direction ``d`` with ``X d <= 0`` on every retained cell,
  ``X d = 0`` on the positive cells and ``X d != 0`` (Gordan's alternative to the linear
  programme of Fienberg & Rinaldo 2012, p. 3, as used by Chan et al. 2021);
* *identifiability*: the retained design matrix has full column rank.

Status codes follow the R packages SparseMSE / MultipleSystemsEstimation
(``check_extended_MLE``): 0 both hold, 1 the MLE does not exist, 2 the parameters are not
identifiable, 3 both fail.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import linprog

Term = tuple[int, ...]
Model = tuple[Term, ...]

STATUS_LABELS = {
    0: "ok",
    1: "mle_does_not_exist",
    2: "not_identifiable",
    3: "mle_does_not_exist_and_not_identifiable",
}
_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# Cells, terms and designs
# --------------------------------------------------------------------------------------------
def all_histories(n_lists: int) -> np.ndarray:
    """The ``2**t - 1`` observable histories, ordered by number of lists then binary code."""
    codes = [c for c in range(1, 2**n_lists)]
    rows = np.array([[(c >> (n_lists - 1 - i)) & 1 for i in range(n_lists)] for c in codes])
    order = np.lexsort((-np.array(codes), rows.sum(axis=1)))
    return rows[order].astype(np.int8)


def canonical_model(terms: Iterable[Sequence[int]]) -> Model:
    """Sorted, de-duplicated tuple of interaction terms (each a sorted tuple, order >= 2)."""
    out = {tuple(sorted(int(i) for i in term)) for term in terms}
    return tuple(sorted((t for t in out if len(t) >= 2), key=lambda t: (len(t), t)))


def hierarchical_closure(terms: Iterable[Sequence[int]]) -> Model:
    """Add every subset of size >= 2 of each term (the hierarchical model it generates)."""
    out: set[Term] = set()
    for term in canonical_model(terms):
        for k in range(2, len(term) + 1):
            out.update(itertools.combinations(term, k))
    return canonical_model(out)


def is_hierarchical(model: Model) -> bool:
    present = set(model)
    return all(
        sub in present
        for term in model
        if len(term) > 2
        for sub in itertools.combinations(term, len(term) - 1)
    )


def parameters(n_lists: int, model: Model) -> list[Term]:
    """Intercept, main effects, then the model's interaction terms."""
    return [(), *[(i,) for i in range(n_lists)], *model]


def design(histories: np.ndarray, params: Sequence[Term]) -> np.ndarray:
    """0/1 design matrix: column ``T`` is 1 where the history contains every list of ``T``."""
    cols = [np.all(histories[:, list(term)] == 1, axis=1) if term else
            np.ones(len(histories), dtype=bool) for term in params]
    return np.column_stack(cols).astype(float)


def enumerate_models(n_lists: int, max_order: int = 2, limit: int | None = None) -> list[Model]:
    """All hierarchical models whose interactions have order ``2 .. max_order``.

    Terms are decided in order of increasing size, and a term may only be included when all
    its subsets one size smaller are included, so each hierarchical model is generated once.
    For ``max_order=2`` this gives the ``2**(t(t-1)/2)`` graphs (1024 for five lists); for four
    lists and ``max_order=3`` the 113 models of Silverman, Chan & Vincent (2024, Table 6).
    Raises ``OverflowError`` once more than ``limit`` models have been generated.
    """
    max_order = min(max_order, n_lists - 1)
    candidates = [t for k in range(2, max_order + 1)
                  for t in itertools.combinations(range(n_lists), k)]
    out: list[Model] = []

    def recurse(idx: int, chosen: list[Term], chosen_set: set[Term]) -> None:
        if idx == len(candidates):
            out.append(tuple(chosen))
            if limit is not None and len(out) > limit:
                raise OverflowError(f"more than {limit} models")
            return
        term = candidates[idx]
        recurse(idx + 1, chosen, chosen_set)
        if len(term) == 2 or all(
            sub in chosen_set for sub in itertools.combinations(term, len(term) - 1)
        ):
            chosen.append(term)
            chosen_set.add(term)
            recurse(idx + 1, chosen, chosen_set)
            chosen.pop()
            chosen_set.discard(term)

    recurse(0, [], set())
    return [canonical_model(m) for m in out]


def count_models(n_lists: int, max_order: int, limit: int) -> int | None:
    """Number of hierarchical models, or ``None`` when there are more than ``limit``."""
    if min(max_order, n_lists - 1) <= 2:
        n = 2 ** math.comb(n_lists, 2)
        return n if n <= limit else None
    try:
        return len(enumerate_models(n_lists, max_order, limit=limit))
    except OverflowError:
        return None


def neighbours(model: Model, n_lists: int, max_order: int) -> list[Model]:
    """Hierarchical models one term away: add an admissible term or drop a maximal one."""
    present = set(model)
    out: list[Model] = []
    for k in range(2, min(max_order, n_lists - 1) + 1):
        for term in itertools.combinations(range(n_lists), k):
            if term in present:
                continue
            if k == 2 or all(s in present for s in itertools.combinations(term, k - 1)):
                out.append(canonical_model([*model, term]))
    for term in model:
        if not any(len(o) > len(term) and set(term) <= set(o) for o in model):
            out.append(canonical_model([t for t in model if t != term]))
    return out


# --------------------------------------------------------------------------------------------
# Existence and identifiability of the extended MLE
# --------------------------------------------------------------------------------------------
def _null_space(matrix: np.ndarray) -> np.ndarray:
    if matrix.shape[0] == 0:
        return np.eye(matrix.shape[1])
    _, s, vt = np.linalg.svd(matrix, full_matrices=True)
    rank = int((s > _TOL * max(1.0, s.max(initial=0.0))).sum())
    return vt[rank:].T


def mle_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the Poisson log-linear MLE exists (is finite) for design ``x`` and counts ``y``.

    Gordan's alternative: the MLE fails to exist iff some ``d`` has ``x d = 0`` on the
    positive cells, ``x d <= 0`` on the zero cells, and ``x d != 0``. Writing ``d = Z u`` with
    ``Z`` a basis of the null space of the positive-cell rows, this is a feasibility problem
    in ``u`` of dimension ``k = dim Z``: trivial when ``k = 0`` (the positive cells determine
    every parameter) or ``k = 1``, a small linear programme otherwise. Equivalent to the
    linear programme of Fienberg & Rinaldo (2012) used by Chan et al. (2021).
    """
    pos = y > 0
    z = _null_space(x[pos])
    if z.shape[1] == 0:
        return True
    m = x[~pos] @ z
    if m.shape[0] == 0:
        return True
    m[np.abs(m) < _TOL] = 0.0
    if not m.any():
        return True
    if z.shape[1] == 1:
        col = m[:, 0]
        return not (np.all(col <= 0) or np.all(col >= 0))
    a_ub = np.vstack([m, m.sum(axis=0, keepdims=True)])
    b_ub = np.zeros(len(a_ub))
    b_ub[-1] = -1.0
    res = linprog(np.zeros(m.shape[1]), A_ub=a_ub, b_ub=b_ub,
                  bounds=[(None, None)] * m.shape[1], method="highs")
    return res.status != 0  # feasible => a direction of recession exists => no MLE


@dataclass(frozen=True)
class Face:
    """The face of the parameter space on which a model is fitted for given counts."""

    params: tuple[Term, ...]          # all parameters of the model
    infinite: tuple[Term, ...]        # parameters whose MLE is -inf (zero margin)
    estimated: tuple[Term, ...]       # parameters actually estimated
    retained: np.ndarray              # bool mask over cells kept in the fit
    x: np.ndarray                     # design, retained cells x estimated parameters

    @cached_property
    def rank_deficient(self) -> bool:
        return np.linalg.matrix_rank(self.x) < self.x.shape[1]


def face(histories: np.ndarray, y: np.ndarray, model: Model,
         full: np.ndarray | None = None) -> Face:
    """Drop zero-margin parameters and their descendant cells (Chan et al. 2021, Sec. 3).

    ``full`` is the model's design on all cells, when the caller already has it.
    """
    n_lists = histories.shape[1]
    params = parameters(n_lists, model)
    if full is None:
        full = design(histories, params)
    margins = full.T @ y
    infinite = tuple(p for p, m in zip(params, margins, strict=True) if p and m <= 0)
    if infinite:
        # a term's descendant cells are those where its design column is 1
        zero = [i for i, (p, m) in enumerate(zip(params, margins, strict=True)) if p and m <= 0]
        keep = ~full[:, zero].astype(bool).any(axis=1)
        est_idx = [i for i, p in enumerate(params) if p not in infinite]
    else:
        keep = np.ones(len(histories), dtype=bool)
        est_idx = list(range(len(params)))
    return Face(
        params=tuple(params),
        infinite=infinite,
        estimated=tuple(params[i] for i in est_idx),
        retained=keep,
        x=full[np.ix_(keep, est_idx)],
    )


def check_status(histories: np.ndarray, y: np.ndarray, model: Model,
                 full: np.ndarray | None = None) -> tuple[int, Face]:
    """Status code 0-3 (see module docstring) and the face used for fitting.

    Both depend on the counts only through which cells are positive (the zero margins,
    the positive cells of the existence check and the design of the face), so results are
    kept per support pattern: a national run checks the same few patterns for hundreds of
    strata and thousands of bootstrap replicates. The cached face's arrays are read-only.
    """
    y = np.asarray(y, dtype=float)
    if (y < 0).any():
        return _check_status(histories, y, model, full)
    key = (histories.shape, histories.tobytes(), np.packbits(y > 0).tobytes(), model)
    hit = _STATUS_CACHE.get(key)
    if hit is None:
        if len(_STATUS_CACHE) >= _STATUS_CACHE_SIZE:
            _STATUS_CACHE.clear()
        hit = _check_status(histories, y, model, full)
        hit[1].retained.setflags(write=False)
        hit[1].x.setflags(write=False)
        _STATUS_CACHE[key] = hit
    return hit


_STATUS_CACHE: dict[tuple, tuple[int, Face]] = {}
_STATUS_CACHE_SIZE = 20_000  # about 1-3 kB each; the 300 districts of a national run use about 7,000


def _check_status(histories: np.ndarray, y: np.ndarray, model: Model,
                  full: np.ndarray | None = None) -> tuple[int, Face]:
    f = face(histories, y, model, full)
    code = 0
    if not mle_exists(f.x, y[f.retained]):
        code += 1
    if f.rank_deficient:
        code += 2
    return code, f


# --------------------------------------------------------------------------------------------
# Vectorised Poisson IRLS (for bootstrap/jackknife refits and the profile likelihood)
# --------------------------------------------------------------------------------------------
def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson deviance along the last axis (0 * log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return 2.0 * np.sum(term - (y - mu), axis=-1)


def irls(x: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``log E[y] = x beta`` by iteratively reweighted least squares, many rows at once.

    ``x`` is (cells, p); ``y`` is (cells,) or (batch, cells). Returns ``beta`` (batch, p),
    fitted ``mu``, ``deviance`` and a ``converged`` flag per row. Same algorithm as
    ``statsmodels`` GLM (Fisher scoring = IRLS for the canonical log link; McCullagh &
    Nelder 1989, Sec. 2.5); tests check the two agree.
    """
    y2 = np.atleast_2d(np.asarray(y, dtype=float))
    mu = (y2 + y2.mean(axis=1, keepdims=True)) / 2.0 + 1e-3
    eta = np.log(mu)
    dev = poisson_deviance(y2, mu)
    converged = np.zeros(len(y2), dtype=bool)
    p = x.shape[1]
    ridge = 1e-12 * np.eye(p)
    beta = np.zeros((len(y2), p))
    for _ in range(max_iter):
        z = eta + (y2 - mu) / mu
        xtw = x.T[None, :, :] * mu[:, None, :]
        hess = xtw @ x + ridge
        rhs = (xtw @ z[:, :, None])[:, :, 0]
        try:
            beta = np.linalg.solve(hess, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            beta = np.stack([np.linalg.lstsq(h, r, rcond=None)[0] for h, r in zip(hess, rhs,
                                                                                   strict=True)])
        eta = np.clip(beta @ x.T, -700.0, 700.0)
        mu = np.exp(eta)
        new_dev = poisson_deviance(y2, mu)
        converged = np.abs(new_dev - dev) <= tol * (np.abs(new_dev) + 0.1)
        dev = new_dev
        if converged.all():
            break
    if np.ndim(y) == 1:
        return beta[0], mu[0], dev[0], converged[0]
    return beta, mu, dev, converged
