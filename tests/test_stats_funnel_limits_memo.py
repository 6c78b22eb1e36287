"""The funnel limits keep PHStatsMethods' exact Poisson limits for the life of the process
(``stats.funnels._remembering_poisson_limits``): the tables must be bit for bit those the
package makes by itself, cold or warm, and the package must be left as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import PHStatsMethods as phs
import PHStatsMethods.funnels as phs_funnels
import pytest
from PHStatsMethods import utils_funnel

from needs_assessment.stats import funnels

# Observed events and expected events (ratios) or populations (rates) of eight areas.
EVENTS = np.array([3, 0, 17, 42, 8, 120, 55, 9])
EXPECTED = np.array([4.2, 1.5, 15.0, 30.1, 10.4, 101.7, 60.3, 7.7])
POPULATION = np.array([5_100, 2_300, 14_800, 40_200, 9_900, 98_000, 61_500, 8_050])

CASES = [
    ("ratio isr", dict(statistic="ratio", ratio_type="isr"), EXPECTED,
     dict(statistic="ratio", multiplier=1, ratio_type="isr")),
    ("ratio count", dict(statistic="ratio", ratio_type="count"), EXPECTED,
     dict(statistic="ratio", multiplier=1, ratio_type="count")),
    ("crude rate", dict(statistic="rate", rate_type="crude", years_of_data=3), POPULATION,
     dict(statistic="rate", multiplier=100_000, rate_type="crude", years_of_data=3)),
]


def _package_table(denominator, phs_args):
    """What PHStatsMethods makes by itself, with its own uncached Poisson limits."""
    frame = pd.DataFrame({"numerator": EVENTS, "denominator": denominator})
    if phs_args["statistic"] == "rate":
        frame["rate"] = np.where(EVENTS > 0, EVENTS / denominator * 100_000, 0.0)
    table = phs.calculate_funnel_limits(
        frame, "numerator", phs_args["statistic"], phs_args["multiplier"],
        denom_col="denominator", metadata=True,
        rate="rate" if phs_args["statistic"] == "rate" else None,
        rate_type=phs_args.get("rate_type"), ratio_type=phs_args.get("ratio_type"),
        years_of_data=phs_args.get("years_of_data"),
    )
    return table.rename(columns={"Statistic": "statistic", "Method": "method"})


def _ours(denominator, args):
    rate = None
    if args["statistic"] == "rate":
        rate = np.where(EVENTS > 0, EVENTS / denominator * 100_000, 0.0)
    return funnels.funnel_limits(EVENTS, denominator, rate=rate, **args)


@pytest.mark.parametrize("label,args,denominator,phs_args", CASES, ids=[c[0] for c in CASES])
def test_limits_are_the_packages_own_cold_and_warm(label, args, denominator, phs_args, monkeypatch):
    monkeypatch.setattr(funnels, "_POISSON_LIMITS", {})
    expected = _package_table(denominator, phs_args)
    assert phs_funnels.poisson_funnel is utils_funnel.poisson_funnel  # the package ran unaided
    cold = _ours(denominator, args)
    warm = _ours(denominator, args)
    pd.testing.assert_frame_equal(cold, expected, check_exact=True)
    pd.testing.assert_frame_equal(warm, expected, check_exact=True)


def test_each_limit_is_computed_once_per_process(monkeypatch):
    monkeypatch.setattr(funnels, "_POISSON_LIMITS", {})
    computed = []

    def counting(obs, p, side):
        computed.append((obs, p, side))
        return utils_funnel.poisson_funnel(obs, p, side)

    monkeypatch.setattr(funnels, "_POISSON_FUNNEL", counting)
    _ours(EXPECTED, CASES[0][1])
    first = len(computed)
    # 100 event counts on the axis, 4 limits each, and no count computed twice.
    assert first == len(set(computed)) == 400
    _ours(EXPECTED, CASES[0][1])  # the same funnel again: nothing new to compute
    _ours(EXPECTED, CASES[1][1])  # a count-ratio funnel needs the same limits
    assert len(computed) == first


def test_the_package_is_left_as_it_was_also_after_an_error(monkeypatch):
    def broken(*args, **kwargs):
        assert phs_funnels.poisson_funnel is funnels._remembered_poisson_funnel
        raise RuntimeError("inside the package")

    monkeypatch.setattr(phs, "calculate_funnel_limits", broken)
    with pytest.raises(RuntimeError, match="inside the package"):
        _ours(EXPECTED, CASES[0][1])
    assert phs_funnels.poisson_funnel is utils_funnel.poisson_funnel
