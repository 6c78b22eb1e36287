"""Prevalence charts: every place up to 40, else the 10 highest and 10 lowest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from needs_assessment.charts import prevalence as charts


def _by_area(n: int) -> pd.DataFrame:
    rate = np.arange(1, n + 1, dtype=float)  # place i has rate i
    return pd.DataFrame({"area_code": [f"E{i:03d}" for i in range(1, n + 1)],
                         "area_name": [f"Place {i}" for i in range(1, n + 1)],
                         "status": "estimated", "rate_estimate": rate,
                         "rate_lower": rate - 0.5, "rate_upper": rate + 0.5})


def _unmet(n: int) -> pd.DataFrame:
    share = np.linspace(0.2, 0.8, n)
    rows = pd.DataFrame({"area_code": [f"E{i:03d}" for i in range(1, n + 1)],
                         "area_name": [f"Place {i}" for i in range(1, n + 1)],
                         "unmet_need": share, "lower": share - 0.05, "upper": share + 0.05,
                         "comparison": ["Worse" if i == 25 else "Similar" for i in range(1, n + 1)]})
    total = pd.DataFrame({"area_code": ["total"], "area_name": ["Total"], "unmet_need": [0.5],
                          "lower": [0.45], "upper": [0.55], "comparison": [""]})
    return pd.concat([rows, total], ignore_index=True)


def _labels(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


@pytest.mark.parametrize("n", [6, 40])
def test_rates_chart_draws_every_place_up_to_40(n):
    fig, alt = charts.area_rates_chart(_by_area(n), area_label="Area", level="district",
                                       overall=5.0, england=8.0, year=2024)
    assert len(_labels(fig)) == n
    assert "highest and" not in fig.axes[0].get_title()
    assert "spreadsheet" not in alt
    plt.close(fig)


def test_rates_chart_draws_ten_highest_and_ten_lowest_of_many():
    fig, alt = charts.area_rates_chart(_by_area(300), area_label="Area", level="district",
                                       overall=5.0, england=8.0, year=2024)
    labels = _labels(fig)
    assert labels == [f"Place {i}" for i in [*range(300, 290, -1), *range(10, 0, -1)]]
    assert fig.axes[0].get_title().endswith("(10 highest and 10 lowest of 300 districts)")
    assert "Highest: Place 300" in alt and "lowest: Place 1 " in alt
    assert "ocu_prevalence_by_group" in alt
    plt.close(fig)


def test_unmet_need_chart_names_every_significantly_higher_place():
    fig, alt = charts.unmet_need_chart(_unmet(300), area_label="Area", level="district",
                                       year=2024, england=None)
    assert len(_labels(fig)) == 20
    assert "Place 25" not in _labels(fig)  # in the middle of the ranking: not drawn
    assert "Significantly higher than the area: Place 25." in alt  # but named
    assert "ocu_unmet_need_by_area" in alt
    plt.close(fig)
