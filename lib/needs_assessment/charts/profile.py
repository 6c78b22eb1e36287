"""Charts for the area profile chapter (see the package docstring for conventions)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.display import OKABE_ITO

__all__ = ["deprivation_deciles_chart", "population_pyramid_chart"]


def population_pyramid_chart(pyramid: pd.DataFrame, *, area: str, year: int):
    """Horizontal population pyramid from :func:`analysis.profile.population_pyramid`."""
    fig, ax = plt.subplots(figsize=(7.0, 5.0))
    y = np.arange(len(pyramid))
    ax.barh(y, -pyramid["male_percent"], color=OKABE_ITO[0], label="Men", edgecolor="white")
    ax.barh(y, pyramid["female_percent"], color=OKABE_ITO[1], label="Women", hatch="//",
            edgecolor="white")
    ax.set_yticks(y, pyramid["age_band"])
    limit = float(max(pyramid["male_percent"].max(), pyramid["female_percent"].max())) * 1.15
    ax.set_xlim(-limit, limit)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(t):.0f}%" for t in ticks])
    ax.set_xlabel("Share of all residents")
    ax.set_ylabel("Age band (years)")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.text(0.02, 0.98, "Men", transform=ax.transAxes, va="top", fontweight="bold")
    ax.text(0.98, 0.98, "Women", transform=ax.transAxes, va="top", ha="right", fontweight="bold")
    ax.set_title(f"Population by age and sex, {area}, {year}")
    fig.tight_layout()

    totals = pyramid[["male", "female"]].sum()
    share_male = totals["male"] / totals.sum() * 100
    combined = pyramid["male"] + pyramid["female"]
    largest = pyramid.loc[combined.idxmax(), "age_band"]
    over65 = combined[pyramid["age_band"].isin(["65-69", "70-74", "75-79", "80-84", "85-89", "90+"])].sum()
    under18ish = combined[pyramid["age_band"].isin(["0-4", "5-9", "10-14"])].sum()
    alt = (
        f"Population pyramid for {area} in {year}: men on the left, women on the right, in "
        f"5-year age bands. {share_male:.1f}% of residents are men and {100 - share_male:.1f}% "
        f"women. The largest band is {largest}. {over65 / combined.sum() * 100:.1f}% are aged "
        f"65 or over and {under18ish / combined.sum() * 100:.1f}% are under 15."
    )
    return fig, alt


def deprivation_deciles_chart(profile: pd.DataFrame, *, area: str):
    """Bar chart of the share of small areas in each national IMD decile, against the
    England share of 10% per decile."""
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    ax.bar(profile["imd_decile"], profile["percent"], color=OKABE_ITO[0], label=area)
    ax.axhline(10, color="black", linestyle="--", linewidth=1, label="England (10% per decile)")
    for x, pct in zip(profile["imd_decile"], profile["percent"], strict=True):
        ax.text(x, pct + 0.4, f"{pct:.0f}%", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(1, 11), ["1\nmost\ndeprived"] + [str(i) for i in range(2, 10)] + ["10\nleast\ndeprived"])
    ax.set_xlabel("National deprivation decile (Index of Multiple Deprivation)")
    ax.set_ylabel("Share of small areas")
    ax.set_title(f"Small areas by national deprivation decile, {area}")
    ax.set_ylim(0, max(float(profile["percent"].max()) * 1.35, 14))
    ax.legend(loc="upper right", ncols=2)
    fig.tight_layout()
    most = profile.loc[profile["imd_decile"].isin([1, 2]), "percent"].sum()
    least = profile.loc[profile["imd_decile"].isin([9, 10]), "percent"].sum()
    alt = (
        f"Bar chart of the share of {area}'s small areas in each national deprivation decile, "
        f"with a dashed line at 10%, England's share per decile. {most:.0f}% of small areas are "
        f"in the two most deprived deciles (England: 20%) and {least:.0f}% in the two least "
        f"deprived (England: 20%)."
    )
    return fig, alt
