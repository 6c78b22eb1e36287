"""Funnel charts: the many-area chart from overdispersed_limits, and the method note on the
places chapter's funnel panels (absent by default, so the chapter's charts are unchanged)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from needs_assessment.charts.funnel import overdispersed_funnel_chart
from needs_assessment.charts.places import funnel_panels
from needs_assessment.stats import overdispersed_limits

N = 150


@pytest.fixture(scope="module")
def many_areas():
    rng = np.random.default_rng(42)
    codes = [f"E{i:08d}" for i in range(N)]
    pop = pd.Series(np.exp(rng.uniform(np.log(1.5e5), np.log(1.5e6), N)), index=codes)
    deaths = pd.Series(rng.poisson(rng.gamma(20, 1 / 20, N) * 8e-5 * pop), index=codes)
    names = pd.Series([f"Authority {i}" for i in range(N)], index=codes)
    return deaths, pop, names


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [
        t.get_text() for t in fig.texts]


def test_many_area_chart_alt_text_is_built_from_the_numbers(many_areas):
    deaths, pop, names = many_areas
    res = overdispersed_limits(deaths, pop, statistic="rate")
    assert res.method == "additive"  # the simulated areas are over-dispersed
    mine = deaths.index[3]
    fig, alt = overdispersed_funnel_chart(
        res, title="Deaths from drug misuse", xlabel="Population", ylabel="Rate per 100,000",
        names=names, highlight=[mine])
    try:
        u = res.units
        assert alt.startswith("Deaths from drug misuse: funnel plot of Rate per 100,000 against "
                              f"Population for {N} areas, with the target of "
                              f"{res.target:,.1f} and 95% and 99.8% control limits")
        assert res.method_note in alt
        within = int((u["classification"] == "within").sum())
        assert f"{within} of {N} areas are within the 95% limits." in alt
        for cls, words in (("above 99.8%", "above the 99.8% limit:"),
                           ("above 95%", "above the 95% limit only:"),
                           ("below 95%", "below the 95% limit only:"),
                           ("below 99.8%", "below the 99.8% limit:")):
            count = int((u["classification"] == cls).sum())
            assert (f"{count} {words}" in alt) == (count > 0), cls
        worst = u["z_adjusted"].abs().idxmax()
        assert f"{names[worst]} ({u.at[worst, 'value']:,.1f})" in alt
        assert f"{names[mine]}: {u.at[mine, 'value']:,.1f}" in alt
        ax = fig.axes[0]
        assert ax.get_title() == "Deaths from drug misuse"
        assert any(res.method_note[:40] in t.replace("\n", " ") for t in _texts(fig))
        labelled = set(_texts(fig))
        assert names[worst] in labelled and names[mine] in labelled
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert legend[:3] == ["Average", "95% limits", "99.8% limits"]
        assert "Highlighted area" in legend and "Within 95% limits" in legend
    finally:
        plt.close(fig)


def test_many_area_chart_options(many_areas):
    deaths, pop, names = many_areas
    res = overdispersed_limits(deaths.iloc[:12], pop.iloc[:12], statistic="rate", method="none")
    fig, alt = overdispersed_funnel_chart(res, title="T", xlabel="x", ylabel="y",
                                          names=names.iloc[:12].tolist(), label="all",
                                          show_note=False)
    try:
        assert set(names.iloc[:12]) <= set(_texts(fig))  # every area named
        assert not any("over-dispersion" in t for t in _texts(fig))
        assert res.method_note in alt  # the alt text always says how the limits were made
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match=r"names must give one name per area \(12\); got 3"):
        overdispersed_funnel_chart(res, title="T", xlabel="x", ylabel="y", names=["a", "b", "c"])
    with pytest.raises(ValueError, match="highlight names areas not in the result"):
        overdispersed_funnel_chart(res, title="T", xlabel="x", ylabel="y", highlight=["nope"])


def _panel(**extra):
    x = np.array([800.0, 1500, 2600, 4000, 7000, 9000])
    pts = pd.DataFrame({
        "area_code": list("ABCDEF"),
        "area_name": ["Ashby", "Bury", "Carlton", "Dunmore", "Eaton", "Fenwick"],
        "x": x, "y": [120.0, 80, 101, 95, 140, 60], "count": x / 100,
        "significance": ["Not significant", "Low (0.025)", "Not significant",
                         "Not significant", "High (0.001)", "Low (0.001)"],
    })
    grid = np.geomspace(250, 14000, 50)
    lim = pd.DataFrame({"x": grid, "lower_95": 100 - 196 / np.sqrt(grid / 10),
                        "upper_95": 100 + 196 / np.sqrt(grid / 10),
                        "lower_998": 100 - 309 / np.sqrt(grid / 10),
                        "upper_998": 100 + 309 / np.sqrt(grid / 10), "baseline": 100.0})
    return {"points": pts, "limits": lim, "title": "Deaths", "xlabel": "Expected",
            "ylabel": "ISR", **extra}


def test_places_funnel_shows_the_method_note_only_when_given():
    note = "Limits adjusted for over-dispersion (additive random effects, phi = 2.31; test)"
    fig, alt = funnel_panels([_panel()], level="district", area_name="Anyshire")
    try:
        assert "over-dispersion" not in alt
        assert not any("over-dispersion" in t for t in _texts(fig))
    finally:
        plt.close(fig)
    fig, alt_note = funnel_panels([_panel(method_note=note)], level="district",
                                  area_name="Anyshire")
    try:
        assert alt_note == f"{alt} {note}."
        assert any(note[:30] in t for t in _texts(fig))
        assert fig.axes[0].get_title() == "Deaths"
    finally:
        plt.close(fig)


def _ratio_panel(n_high: int, n_low: int, n_within: int = 5) -> dict:
    ys = [150.0 + i for i in range(n_high)] + [50.0 - i for i in range(n_low)] + [100.0] * n_within
    sig = (["High (0.025)"] * n_high + ["Low (0.025)"] * n_low + ["Not significant"] * n_within)
    n = len(ys)
    points = pd.DataFrame({"area_code": [f"C{i}" for i in range(n)],
                           "area_name": [f"Place {i}" for i in range(n)],
                           "x": np.linspace(50, 500, n), "y": ys, "count": 10.0,
                           "significance": sig})
    grid = np.geomspace(20, 800, 50)
    limits = pd.DataFrame({"x": grid, "lower_95": 100 - 200 / np.sqrt(grid),
                           "upper_95": 100 + 200 / np.sqrt(grid),
                           "lower_998": 100 - 300 / np.sqrt(grid),
                           "upper_998": 100 + 300 / np.sqrt(grid), "baseline": 100.0})
    return {"points": points, "limits": limits, "title": "Deaths", "xlabel": "Expected",
            "ylabel": "Ratio", "hidden": 0}


def test_funnel_labels_every_place_outside_the_limits_when_few():
    fig, alt = funnel_panels([_ratio_panel(3, 2)], level="district", area_name="Testshire")
    try:
        labels = {t.get_text() for t in fig.axes[0].texts}
        assert labels == {"Place 0", "Place 1", "Place 2", "Place 3", "Place 4"}
        assert "above the 95% limit: Place 0 (150), Place 1 (151), Place 2 (152);" in alt
    finally:
        plt.close(fig)


def test_funnel_names_only_the_most_extreme_when_many_are_outside():
    # 20 above and 15 below the limits (a national-scale run has about a hundred)
    fig, alt = funnel_panels([_ratio_panel(20, 15)], level="district", area_name="England")
    try:
        labels = {t.get_text() for t in fig.axes[0].texts}
        highest = {f"Place {i}" for i in range(14, 20)}  # y 164 ... 169
        lowest = {f"Place {i}" for i in range(29, 35)}  # y 36 ... 41
        assert labels == highest | lowest
        assert "and 14 more (the most extreme are named)" in alt  # 20 above, 6 named
        assert "and 9 more (the most extreme are named)" in alt  # 15 below, 6 named
        assert "Place 0 (" not in alt
    finally:
        plt.close(fig)
