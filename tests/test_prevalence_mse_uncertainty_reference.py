"""Model uncertainty on the published multi-list datasets (reference/mse, see its README).

Each dataset is fitted with the search its publication used and must still give the
published estimate as the selected model (Chan, Silverman & Vincent 2021; Silverman, Chan
& Vincent 2024). No publication reports a model-averaged estimate, so for the average the
tests check what follows from the published numbers: one clearly best model (Kosovo,
two-list terms) leaves the published estimate and interval unchanged, while for Kosovo
with three-list terms the publication itself shows that the choice of model drives the
interval (Table 2: [9100, 12000] when the bootstrap may use only the best model, [6900,
18000] with all 113), and the flag must say so.
"""

from __future__ import annotations

import pytest

from needs_assessment.prevalence import mse_estimate

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def load(mse_dir):
    import pandas as pd

    return lambda name: pd.read_csv(mse_dir / name)


def test_kosovo_two_way_one_clear_model_average_equals_published(load):
    # Silverman et al. (2024), Table 6 "Kosovo maxorder 2": exhaustive BIC over 64 models,
    # 14342, 95% CI [12451, 16273]. The next model is 8.3 BIC units behind (weight 1.5%),
    # so averaging must change nothing that matters: within 1% of the selected estimate,
    # and the averaged interval within 5% of the published one (the tolerance of the
    # selected-model interval test; seeds 0-5 gave 12437-12692 and 16224-16587).
    res = mse_estimate(load("kosovo_4list.csv"), max_order=2, n_boot=500, seed=1)
    assert res.search == "exhaustive" and round(res.estimate) == 14342
    assert res.models["weight"].iloc[0] > 0.98
    assert res.averaged.estimate == pytest.approx(res.estimate, rel=0.01)
    assert res.averaged.lower == pytest.approx(12451, rel=0.05)
    assert res.averaged.upper == pytest.approx(16273, rel=0.05)
    assert not res.sensitive and len(res.competing) == 1


@pytest.fixture(scope="module")
def kosovo3(load):
    return mse_estimate(load("kosovo_4list.csv"), max_order=3, n_top=113, n_boot=300, seed=1)


def test_kosovo_three_way_is_flagged_as_model_sensitive(kosovo3):
    # Table 6 "Kosovo all lists": exhaustive BIC over the 113 hierarchical models selects
    # the published 10357. Two more models are within 2 BIC units, with totals of about
    # 12741 and 18393 (78% above the selected one): the flag must be raised.
    res = kosovo3
    assert round(res.estimate) == 10357
    competing = res.competing
    assert len(competing) == 3 and round(competing["estimate"].iloc[0]) == 10357
    assert competing["estimate"].max() / competing["estimate"].min() > 1.25
    assert res.sensitive and res.spread == pytest.approx(0.776, abs=0.001)
    assert competing["estimate"].min() <= res.averaged.estimate <= competing["estimate"].max()


def test_kosovo_three_way_averaged_interval_carries_the_model_uncertainty(kosovo3):
    # The published interval from the best model alone is [9100, 12000] (Table 2, ntop 1);
    # with model uncertainty it widens to [6900, 18000]. The averaged interval (seeds 0-5:
    # 8547-9070 and 20438-20741) must also be far wider than the one-model interval and
    # cover every competing model's total.
    res = kosovo3
    lo, hi = res.averaged.lower, res.averaged.upper
    assert hi - lo > 2 * (12000 - 9100)
    assert lo < 10357 and hi > 18393
    assert lo < res.averaged.estimate < hi


@pytest.mark.parametrize(
    ("name", "kwargs", "published", "sensitive"),
    [
        # Silverman et al. (2024), Table 6: exhaustive and downhill both select 981. The
        # only competing model, C:H (lists that never overlap, extended MLE), gives 878:
        # 12% apart, not flagged.
        ("new_orleans_5list_v2024.csv", {"search": "exhaustive"}, 981, False),
        ("new_orleans_5list_v2024.csv", {"search": "downhill"}, 981, False),
        # Chan et al. (2021), Sec. 4.1: 1034 (main effects). BIC agrees; A:BEFG (1207) and
        # C:H (925) compete: 31% apart, flagged.
        ("new_orleans_5list_v2019.csv", {"search": "exhaustive"}, 1034, True),
        # Chan et al. (2021), Sec. 4.2: AE, 2483 (stepwise); BIC agrees. A:B + A:E (2175)
        # and A:E + D:E (2818) compete: 30% apart, flagged.
        ("western_us_5list.csv", {"search": "exhaustive"}, 2483, True),
        # Table 6 "NewOrl": downhill selects DE, 1110; main effects (949) and A:E + B:F + D:E
        # (1368) compete: flagged.
        ("new_orleans_8list_v2024.csv", {}, 1110, True),
    ],
)
def test_published_selections_and_their_sensitivity(load, name, kwargs, published, sensitive):
    res = mse_estimate(load(name), ci="none", **kwargs)
    assert round(res.estimate) == published
    assert res.sensitive is sensitive
    assert (res.competing["delta"] <= 2).all()
    assert res.models.loc[res.models["in_average"], "weight"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("kosovo_4list.csv", {"max_order": 3}),
    ("western_us_5list.csv", {}),
    ("new_orleans_5list_v2019.csv", {}),
])
def test_downhill_finds_the_same_competing_models_as_the_exhaustive_search(load, name, kwargs):
    # The downhill path alone misses competing models (Kosovo, order 3: it never expands the
    # five-pair model, so the 18393 model 0.93 BIC units behind is never fitted); the search
    # therefore also expands every model within 2 units of the best.
    table = load(name)
    exhaustive = mse_estimate(table, ci="none", search="exhaustive", **kwargs)
    downhill = mse_estimate(table, ci="none", search="downhill", **kwargs)
    assert downhill.search == "downhill" and len(downhill.models) < len(exhaustive.models)
    assert downhill.terms == exhaustive.terms
    assert set(downhill.competing["model"]) == set(exhaustive.competing["model"])
    assert downhill.sensitive == exhaustive.sensitive
