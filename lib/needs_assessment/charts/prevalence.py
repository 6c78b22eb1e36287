"""Charts for the prevalence and need chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.analysis.common import PLACES_SHOWN, report_place_rows
from needs_assessment.display import OKABE_ITO

__all__ = ["area_rates_chart", "interval_dot_chart", "unmet_need_chart"]


def interval_dot_chart(
    labels, values, lower, upper, *, xlabel: str, title: str, reference=(), flags=None,
):
    """Horizontal dot-and-interval chart, one row per label, with labelled vertical
    reference lines (e.g. the area value and England). ``flags`` marks rows with a hollow
    diamond and a text label so significance is not shown by colour alone."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(7.2, max(2.4, 0.42 * n + 1.3)))
    y = np.arange(n)[::-1]
    values = np.asarray(values, dtype=float)
    err = np.vstack([values - np.asarray(lower, dtype=float), np.asarray(upper, dtype=float) - values])
    ax.errorbar(values, y, xerr=err, fmt="o", color=OKABE_ITO[0], ecolor=OKABE_ITO[0], capsize=3,
                markersize=6, label="Estimate with interval")
    styles = ["--", ":"]
    colours = ["black", OKABE_ITO[5]]
    for i, (label, value) in enumerate(reference):
        if value is None or not np.isfinite(value):
            continue
        ax.axvline(value, linestyle=styles[i % 2], color=colours[i % 2], linewidth=1.2, label=label)
    if flags is not None:
        for yi, flag, hi in zip(y, flags, np.asarray(upper, dtype=float), strict=True):
            if flag:
                ax.plot([hi], [yi], marker="D", markerfacecolor="white", markeredgecolor=OKABE_ITO[5],
                        markersize=7, linestyle="none")
                ax.annotate(flag, (hi, yi), xytext=(6, -3), textcoords="offset points", fontsize=8)
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    # Legend below the axes so it never hides a point.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, fontsize=8, frameon=False)
    xmax = np.nanmax(np.asarray(upper, dtype=float))
    ax.set_xlim(left=0, right=xmax * 1.25 if np.isfinite(xmax) else None)
    fig.tight_layout()
    return fig, ax


def _of_many(level: str, n: int, left_out: str) -> str:
    """Title suffix when only the highest and lowest places are drawn."""
    return f" ({PLACES_SHOWN} highest and {PLACES_SHOWN} lowest of {n} {level}s)" if left_out else ""


def area_rates_chart(by_area: pd.DataFrame, *, area_label: str, level: str, overall: float,
                     england: float | None, year: int):
    """Estimated OCU per 1,000 aged 15–64 by sub-area with intervals; None when no
    sub-area could be estimated. With more than ``PLACE_ROW_LIMIT`` sub-areas only the
    highest and lowest are drawn (:func:`~needs_assessment.analysis.common.report_place_rows`);
    the title and alt text say so."""
    data = by_area.loc[by_area["status"] == "estimated"].sort_values("rate_estimate", ascending=False)
    if data.empty:
        return None, ""
    drawn, left_out = report_place_rows(data, "rate_estimate", level=level, what="estimated rates",
                                        table_id="ocu_prevalence_by_group")
    fig, _ = interval_dot_chart(
        drawn["area_name"].astype(str).tolist(), drawn["rate_estimate"], drawn["rate_lower"], drawn["rate_upper"],
        xlabel="Estimated users per 1,000 residents aged 15 to 64",
        title=f"Opiate and/or crack cocaine use by {level}, {year}" + _of_many(level, len(data), left_out),
        reference=[(f"{area_label}: {overall:.1f}", overall), (f"England: {england:.1f}" if england else "England", england)],
    )
    top, bottom = data.iloc[0], data.iloc[-1]
    missing = by_area.loc[by_area["status"] != "estimated", "area_name"].astype(str).tolist()
    alt = (
        f"Dot chart of estimated opiate and/or crack cocaine users per 1,000 residents aged 15 to 64 in each "
        f"{level} in {year}, with intervals. Highest: {top['area_name']} at {top['rate_estimate']:.1f} "
        f"({top['rate_lower']:.1f} to {top['rate_upper']:.1f}); lowest: {bottom['area_name']} at "
        f"{bottom['rate_estimate']:.1f} ({bottom['rate_lower']:.1f} to {bottom['rate_upper']:.1f}). "
        f"Dashed line: {area_label} {overall:.1f}"
        + (f"; dotted line: England {england:.1f}." if england else ".")
        + (f" Not estimated (too few people on more than one list): {', '.join(missing)}." if missing else "")
        + (f" {left_out}" if left_out else "")
    )
    return fig, alt


def unmet_need_chart(unmet: pd.DataFrame, *, area_label: str, level: str, year: int,
                     england: float | None):
    """Unmet need (%) by sub-area with intervals, the area value and England; sub-areas
    significantly worse than the area are marked with a diamond and the word 'higher'.
    With more than ``PLACE_ROW_LIMIT`` sub-areas only the highest and lowest are drawn
    (the alt text still names every sub-area significantly higher than the area)."""
    whole = unmet.loc[unmet["area_code"] == "total"].iloc[0]
    data = unmet.loc[unmet["area_code"] != "total"].sort_values("unmet_need", ascending=False)
    drawn, left_out = report_place_rows(data, "unmet_need", level=level, what="unmet need",
                                        table_id="ocu_unmet_need_by_area")
    flags = ["significantly higher" if c == "Worse" else "" for c in drawn["comparison"]]
    fig, ax = interval_dot_chart(
        drawn["area_name"].astype(str).tolist(), drawn["unmet_need"] * 100, drawn["lower"] * 100, drawn["upper"] * 100,
        xlabel="Estimated users not in treatment (%)",
        title=f"Unmet need for opiate and crack treatment by {level}, {year}" + _of_many(level, len(data), left_out),
        reference=[(f"{area_label}: {whole['unmet_need'] * 100:.0f}%", whole["unmet_need"] * 100),
                   (f"England: {england:.0f}%" if england else "England", england)],
        flags=flags,
    )
    ax.set_xlim(0, 100)
    worse = data.loc[data["comparison"] == "Worse", "area_name"].astype(str).tolist()
    top = data.iloc[0]
    alt = (
        f"Dot chart of unmet need for opiate and crack treatment in each {level} in {year}, with intervals. "
        f"{area_label} as a whole: {whole['unmet_need'] * 100:.0f}%"
        + (f"; England {england:.0f}%" if england else "")
        + f". Highest: {top['area_name']} at {top['unmet_need'] * 100:.0f}% ({top['lower'] * 100:.0f}% to {top['upper'] * 100:.0f}%). "
        + (f"Significantly higher than the area: {', '.join(worse)}." if worse else f"No {level} is significantly higher than the area.")
        + (f" {left_out}" if left_out else "")
    )
    return fig, alt
