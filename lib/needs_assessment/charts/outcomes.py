"""Charts for the outcomes framework dashboard (see :mod:`needs_assessment.charts`).

Each function returns ``(figure, alt_text)``; the alt text is written from the numbers the
chart draws. Values plotted come from disclosure-controlled tables: a suppressed value is
simply not drawn.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.display import MARKERS, OKABE_ITO

__all__ = ["crime_monthly_chart", "outcome_panels", "treatment_groups_chart"]

AREA_COLOUR = OKABE_ITO[0]
REGION_COLOUR = OKABE_ITO[1]
ENGLAND_COLOUR = "#000000"
SECONDARY_COLOUR = "#6b6b6b"


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not shown"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "people":
        return f"{value:,.0f}"
    decimals = 0 if abs(value) >= 100 else 1 if abs(value) >= 1 else 2
    return f"{value:,.{decimals}f}"


def _unit_label(unit: str) -> str:
    return {"%": "Percent", "people": "Number of people"}.get(unit, f"Rate {unit}")


def _xticks(ax, series: pd.DataFrame, extent: pd.DataFrame | None = None) -> None:
    """Label the headline periods (every one when few, else about six, always the latest)
    and make room for every point drawn (``extent``)."""
    s = series.dropna(subset=["x"]).drop_duplicates("x").sort_values("x")
    if s.empty:
        return
    xs = s["x"].to_numpy()
    span = extent["x"].dropna().to_numpy(float) if extent is not None and len(extent) else xs
    labels = s["period"].astype(str).to_list()
    step = max(1, math.ceil(len(xs) / 6))
    keep = list(range(len(xs) - 1, -1, -step))[::-1]  # always label the latest period
    ax.set_xticks(xs[keep], [labels[i] for i in keep], rotation=0 if step == 1 and len(keep) <= 4 else 45,
                  ha="center" if step == 1 and len(keep) <= 4 else "right", fontsize=8)
    pad = 0.5
    ax.set_xlim(min(xs.min(), span.min()) - pad, max(xs.max(), span.max()) + pad)


def outcome_panels(
    items: Sequence[Mapping],
    *,
    outcome: str,
    area: str,
    confidence: float = 0.95,
    ncols: int = 3,
):
    """Small multiples of trend, one panel per metric of an outcome.

    ``items``: one mapping per metric with ``label``, ``unit``, ``series`` (protected
    values: ``x, period, value, lower, upper``), optional ``secondary`` (e.g. annual values
    drawn as hollow circles beside a 3-year pooled line), ``england``/``region`` (comparator
    dicts with ``x, value, period``), ``trend_text``, ``comparison`` (word) and
    ``secondary_label``.
    """
    n = len(items)
    if n == 4:
        ncols = 2  # a 2 x 2 grid reads better than 3 + 1
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols + 0.6, 3.1 * nrows + 0.9), squeeze=False)
    level = f"{confidence * 100:g}%"
    handles = {}
    sentences = []
    for ax, item in zip(axes.flat, items, strict=False):
        unit = item["unit"]
        s = item["series"].dropna(subset=["value"]).sort_values("x")
        if len(s):
            has_ci = s["lower"].notna().any()
            if has_ci:
                err = np.vstack([(s["value"] - s["lower"]).to_numpy(float),
                                 (s["upper"] - s["value"]).to_numpy(float)])
                ax.fill_between(s["x"], s["lower"], s["upper"], color=AREA_COLOUR, alpha=0.15, linewidth=0)
                ax.errorbar(s["x"], s["value"], yerr=err, fmt="none", ecolor=AREA_COLOUR, elinewidth=1,
                            capsize=2.5)
            (line,) = ax.plot(s["x"], s["value"], color=AREA_COLOUR, marker="o", markersize=4.5,
                              linewidth=1.8)
            handles.setdefault("area", (line, f"{area} ({level} confidence interval shaded)"))
        sec = item.get("secondary")
        if sec is not None and len(sec.dropna(subset=["value"])):
            ss = sec.dropna(subset=["value"]).sort_values("x")
            (h,) = ax.plot(ss["x"], ss["value"], linestyle="none", marker="o", markersize=4,
                           markerfacecolor="white", markeredgecolor=SECONDARY_COLOUR)
            handles.setdefault("secondary", (h, item.get("secondary_label", "Single years")))
        for which, colour, marker, style in (("england", ENGLAND_COLOUR, "D", "--"),
                                             ("region", REGION_COLOUR, "s", ":")):
            comp = item.get(which)
            if not comp:
                continue
            xs = comp.get("xs") or [comp["x"]]
            vs = comp.get("values") or [comp["value"]]
            (h,) = ax.plot(xs, vs, linestyle=style if len(xs) > 1 else "none", color=colour,
                           marker=marker, markersize=6, markerfacecolor=colour if which == "england" else "white",
                           markeredgecolor=colour, markeredgewidth=1.4)
            if len(xs) == 1:
                ax.axhline(vs[0], color=colour, linestyle=style, linewidth=0.9, alpha=0.7)
            name = "England" if which == "england" else "Region"
            handles.setdefault(which, (h, f"{name} (latest published; dashed/dotted line at its value)"))
        allseries = pd.concat([d for d in (item["series"], sec) if d is not None], ignore_index=True)
        _xticks(ax, item["series"], allseries)
        ymax = np.nanmax([
            np.nanmax(allseries["upper"].to_numpy(float)) if allseries["upper"].notna().any() else np.nan,
            np.nanmax(allseries["value"].to_numpy(float)) if allseries["value"].notna().any() else np.nan,
            (item.get("england") or {}).get("value", np.nan) or np.nan,
            (item.get("region") or {}).get("value", np.nan) or np.nan,
            0.0,
        ])
        ax.set_ylim(0, ymax * 1.15 if ymax > 0 else 1)
        ax.set_title("\n".join(textwrap.wrap(item["label"], 34)), fontsize=10)
        ax.set_ylabel(_unit_label(unit), fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        # sentence for alt text
        if len(s):
            first, last = s.iloc[0], s.iloc[-1]
            text = (f"{item['label']} ({unit}): {_fmt(first['value'], unit)} in {first['period']} and "
                    f"{_fmt(last['value'], unit)} in {last['period']}; trend {item.get('trend_text', 'not assessed')}")
        else:
            text = f"{item['label']}: no values can be shown"
        if item.get("england"):
            text += (f"; England {_fmt(item['england']['value'], unit)} ({item['england']['period']}), "
                     f"compared with England: {item.get('comparison') or 'not compared'}")
        sentences.append(text + ".")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    order = [k for k in ("area", "secondary", "england", "region") if k in handles]
    fig.legend([handles[k][0] for k in order], [handles[k][1] for k in order], loc="lower center",
               ncols=2, fontsize=8.5, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{outcome}: {area}", fontsize=12, fontweight="bold")
    legend_rows = math.ceil(len(order) / 2)
    fig.tight_layout(rect=(0, 0.035 * legend_rows + 0.02 + (0.03 if nrows == 1 else 0), 1, 0.97))
    alt = (f"Trend charts for the outcome '{outcome}' in {area}, one panel per measure, with "
           f"{level} confidence intervals and England's latest published value where there is one. "
           + " ".join(sentences))
    return fig, alt


def treatment_groups_chart(frame: pd.DataFrame, *, area: str, labels: Mapping[str, str]):
    """Adults in treatment by year and NDTMS substance group (protected counts)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    parts = []
    for i, (col, label) in enumerate(labels.items()):
        vals = pd.to_numeric(frame[col], errors="coerce")
        ax.plot(frame["year"], vals, marker=MARKERS[i], color=OKABE_ITO[i], linewidth=1.8,
                linestyle=("-", "--", "-.", ":")[i % 4], label=label)
        last = vals.iloc[-1]
        if pd.notna(last):
            ax.annotate(f"{last:,.0f}", (frame["year"].iloc[-1], last), textcoords="offset points",
                        xytext=(6, 0), va="center", fontsize=8)
        parts.append(f"{label} {_fmt(vals.iloc[0], 'people')} in {frame['year'].iloc[0]} and "
                     f"{_fmt(last, 'people')} in {frame['year'].iloc[-1]}")
    ax.set_xticks(frame["year"], [str(y) for y in frame["year"]])
    ax.set_ylim(0, None)
    ax.set_ylabel("Adults in treatment (people)")
    ax.set_xlabel("Calendar year")
    ax.set_title(f"Adults in treatment by substance group, {area}")
    ax.legend(loc="lower left", ncols=2, fontsize=8.5)
    fig.tight_layout()
    alt = (f"Line chart of adults in treatment each year in {area} by substance group: "
           + "; ".join(parts) + ".")
    return fig, alt


def crime_monthly_chart(monthly: pd.DataFrame, *, area: str, labels: Mapping[str, str]):
    """Recorded crimes a month (police.uk), one panel per measure, sharing the time axis."""
    n = len(labels)
    fig, axes = plt.subplots(n, 1, figsize=(7.5, 2.0 * n + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
    parts = []
    for i, (ax, (col, label)) in enumerate(zip(axes, labels.items(), strict=True)):
        vals = pd.to_numeric(monthly[col], errors="coerce")
        ax.plot(monthly["month"], vals, marker=MARKERS[i], markersize=3, color=OKABE_ITO[i], linewidth=1.4)
        ax.set_ylim(0, float(np.nanmax(vals)) * 1.2 if vals.notna().any() else 1)
        ax.set_title(label, fontsize=10, loc="left")
        ax.set_ylabel("Crimes a month", fontsize=9)
        if vals.notna().any():
            hi = monthly.loc[vals.idxmax()]
            lo = monthly.loc[vals.idxmin()]
            parts.append(f"{label}: between {vals.min():,.0f} ({lo['month']:%B %Y}) and {vals.max():,.0f} "
                         f"({hi['month']:%B %Y}) a month, average {vals.mean():,.0f}")
    import matplotlib.dates as mdates

    axes[-1].xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[-1].tick_params(axis="x", labelsize=8)
    axes[-1].set_xlabel("Month")
    fig.suptitle(f"Recorded crime each month, {area} (police.uk)", fontsize=12, fontweight="bold")
    fig.tight_layout()
    alt = (f"Three line charts of crimes recorded each month in {area} from "
           f"{monthly['month'].min():%B %Y} to {monthly['month'].max():%B %Y}. " + "; ".join(parts) + ".")
    return fig, alt
