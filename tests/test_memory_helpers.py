"""Helpers that give memory back without changing a number."""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm

from needs_assessment import workspace
from needs_assessment.analysis.access import _binomial


def test_collecting_binomial_fits_exactly_as_statsmodels_binomial():
    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(400), rng.integers(0, 2, (400, 6))]).astype(float)
    size = rng.integers(1, 30, 400).astype(float)
    events = rng.binomial(size.astype(int), 0.3).astype(float)
    endog = np.column_stack([events, size - events])
    plain = sm.GLM(endog, x, family=sm.families.Binomial()).fit()
    collecting = sm.GLM(endog, x, family=_binomial()).fit()
    for name in ("params", "bse", "pvalues"):
        assert np.array_equal(getattr(plain, name), getattr(collecting, name))
    assert np.array_equal(plain.conf_int(), collecting.conf_int())
    assert plain.fit_history["iteration"] == collecting.fit_history["iteration"]


def test_a_kernel_gives_memory_back_after_each_cell_once_registered():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        workspace._release_memory_after_each_cell()
        workspace._release_memory_after_each_cell()
        hooks = shell.events.callbacks["post_run_cell"]
        assert hooks.count(workspace._release_after_cell) == 1
        shell.run_cell("x = 1")  # runs the hook
    finally:
        InteractiveShell.clear_instance()
