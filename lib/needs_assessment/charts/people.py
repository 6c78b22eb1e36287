"""Charts for the people chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.charts.prevalence import interval_dot_chart
from needs_assessment.display import OKABE_ITO

__all__ = ["engagement_chart", "rates_by_group_chart", "representation_chart"]


def rates_by_group_chart(table: pd.DataFrame, *, area: str, year: int):
    """Adults in treatment per 100,000 by age group and sex, with intervals."""
    data = table.loc[table["breakdown"] != "All adults"]
    overall = float(table.loc[table["breakdown"] == "All adults", "rate"].iloc[0])
    labels = [f"{b}: {g}" for b, g in zip(data["breakdown"], data["group"], strict=True)]
    fig, _ = interval_dot_chart(
        labels, data["rate"], data["lower"], data["upper"],
        xlabel="Adults in treatment per 100,000 residents", title=f"Adults in treatment by age and sex, {year}",
        reference=[(f"All adults: {overall:,.0f}", overall)],
    )
    top = data.loc[data["rate"].idxmax()]
    men = data.loc[data["group"] == "Men", "rate"]
    women = data.loc[data["group"] == "Women", "rate"]
    alt = (
        f"Dot chart of adults in treatment per 100,000 residents in {area} in {year} by age group and sex, with "
        f"intervals. All adults: {overall:,.0f}. Highest age group: {top['group']} at {top['rate']:,.0f}. "
        + (f"Men {float(men.iloc[0]):,.0f}, women {float(women.iloc[0]):,.0f}." if len(men) and len(women) else "")
    )
    return fig, alt


def engagement_chart(engagement: pd.DataFrame, *, year: int):
    """Share of people with opiate/crack use known to other services who were in treatment,
    by group; groups significantly lower than everyone else are marked."""
    data = engagement.reset_index(drop=True)
    # Short labels ("Asian", not the full Census wording) keep the plot area wide.
    labels = [f"{b}: {str(g).split(',')[0]}" for b, g in zip(data["breakdown"], data["group"], strict=True)]
    flags = ["significantly lower" if c == "Lower" else "" for c in data["comparison"]]
    overall = float(data["in_treatment"].sum() / data["known"].sum() * 100) if len(data) else np.nan
    # Each breakdown counts everyone once; the overall share is the same for each, so use sex.
    by_sex = data.loc[data["breakdown"] == "Sex"]
    if len(by_sex):
        overall = float(by_sex["in_treatment"].sum() / by_sex["known"].sum() * 100)
    fig, ax = interval_dot_chart(
        labels, data["percent"], data["lower"], data["upper"],
        xlabel="Known to other services and in treatment (%)",
        title=f"Engagement in treatment relative to need, {year}",
        reference=[(f"Everyone: {overall:.0f}%", overall)], flags=flags,
    )
    ax.set_xlim(0, 100)
    lower = data.loc[data["comparison"] == "Lower"]
    alt = (
        f"Dot chart of the share of people with opiate or crack use known to probation, police custody or "
        f"hospitals in {year} who were also in treatment, by sex, age group and ethnic group, with intervals. "
        f"Everyone: {overall:.0f}%. "
        + ("Significantly lower than everyone else: " + "; ".join(
            f"{r.group} {r.percent:.0f}%" for r in lower.itertuples()) + "." if len(lower) else "No group is significantly lower than everyone else.")
    )
    return fig, alt


def representation_chart(rep: pd.DataFrame, *, year: int):
    """Forest plot of observed ÷ expected people in treatment for every category of the
    protected characteristics (log scale, line at 1 = in line with the population)."""
    data = rep.loc[np.isfinite(rep["ratio"]) & (rep["observed"] > 0)].reset_index(drop=True)
    n = len(data)
    fig, ax = plt.subplots(figsize=(7.4, max(3.0, 0.3 * n + 1.4)))
    y = np.arange(n)[::-1]
    err = np.vstack([data["ratio"] - data["lower"], data["upper"] - data["ratio"]])
    ax.errorbar(data["ratio"], y, xerr=err, fmt="o", color=OKABE_ITO[0], capsize=2, markersize=4)
    ax.axvline(1, color="black", linestyle="--", linewidth=1, label="In line with the population (1)")
    for yi, (_, row) in zip(y, data.iterrows(), strict=True):
        if row["flag"] in ("Under-represented", "Over-represented"):
            ax.plot([row["upper"]], [yi], marker="D", markerfacecolor="white", markeredgecolor=OKABE_ITO[5], markersize=6)
            ax.annotate(row["flag"].lower(), (row["upper"], yi), xytext=(5, -3), textcoords="offset points", fontsize=7)
    ax.set_xscale("log")
    ticks = [t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8)
             if data["lower"].min() / 1.5 <= t <= data["upper"].max() * 1.5] or [1]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_yticks(y, [f"{c}: {str(lbl).split(',')[0][:34]}" for c, lbl in zip(data["characteristic"], data["label"], strict=True)], fontsize=7)
    ax.set_xlabel("People in treatment ÷ expected from the population of their areas (log scale)")
    ax.set_title(f"Representation in treatment by protected characteristic, {year}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False, fontsize=8)
    fig.tight_layout()
    flagged = data.loc[data["flag"].isin(["Under-represented", "Over-represented"])]
    alt = (
        "Forest plot of the ratio of people in treatment to the number expected from the make-up of the population "
        "of the places they live, for each category of each protected characteristic, with intervals, on a log scale "
        "with a dashed line at 1. "
        + ("Flagged: " + "; ".join(f"{r.label} ({r.characteristic}) {r.flag.lower()}, ratio {r.ratio:.2f} "
                                   f"({r.lower:.2f} to {r.upper:.2f})" for r in flagged.itertuples()) + "."
           if len(flagged) else "No category is flagged as over- or under-represented.")
    )
    return fig, alt
