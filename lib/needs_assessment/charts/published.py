"""Charts for the published-harms chapter (deaths related to drug poisoning, drug-related
admissions): rates with intervals, trends, funnel plots. Each returns ``(fig, alt)``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.display import MARKERS, OKABE_ITO

__all__ = ["funnel_chart", "rates_chart", "trend_chart"]


def _fmt(value: float, decimals: int = 1) -> str:
    return "not calculated" if value is None or np.isnan(value) else f"{value:,.{decimals}f}"


def rates_chart(rates: pd.DataFrame, *, title: str, benchmark_code: str, unit: str = "per 100,000",
                confidence: float = 0.95):
    """Dot-and-whisker chart of rates with intervals (one row per area; the benchmark area
    drawn as a vertical line too). ``rates``: ``area_name, area_code, rate, lower, upper``."""
    frame = rates.dropna(subset=["rate"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * len(frame) + 1.6))
    y = np.arange(len(frame))[::-1]
    bench = frame.loc[frame["area_code"] == benchmark_code, "rate"]
    for i, row in frame.iterrows():
        is_bench = row["area_code"] == benchmark_code
        colour = "black" if is_bench else OKABE_ITO[0]
        ax.errorbar(row["rate"], y[i], xerr=[[row["rate"] - row["lower"]], [row["upper"] - row["rate"]]],
                    fmt="D" if is_bench else "o", color=colour, ecolor=colour, capsize=3, markersize=6)
    if len(bench):
        ax.axvline(float(bench.iloc[0]), color="black", linestyle="--", linewidth=1,
                   label=f"{frame.loc[frame['area_code'] == benchmark_code, 'area_name'].iloc[0]} rate")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, frame["area_name"])
    ax.set_xlabel(f"Rate {unit} ({confidence:.0%} confidence interval)")
    ax.set_xlim(left=0)
    ax.set_title(title)
    fig.tight_layout()
    top = frame.loc[frame["rate"].idxmax()]
    low = frame.loc[frame["rate"].idxmin()]
    alt = (f"{title}. Dots show rates {unit} with {confidence:.0%} confidence intervals as horizontal lines. "
           f"Highest: {top['area_name']} {_fmt(top['rate'])} ({_fmt(top['lower'])} to {_fmt(top['upper'])}); "
           f"lowest: {low['area_name']} {_fmt(low['rate'])} ({_fmt(low['lower'])} to {_fmt(low['upper'])}). "
           + (f"The dashed line marks the benchmark, {_fmt(float(bench.iloc[0]))}." if len(bench) else ""))
    return fig, alt


def trend_chart(trend: pd.DataFrame, *, kind: str, names: dict[str, str], title: str,
                unit: str = "per 100,000"):
    """Lines (with distinct markers) of rolling three-year figures per area; ``kind`` is
    ``'rate'`` or ``'index'`` (first period = 100)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    summary = []
    for i, (code, part) in enumerate(trend.groupby("area_code", sort=False)):
        part = part.sort_values("end_year")
        colour = "black" if code.startswith("E92") else OKABE_ITO[i % 6]
        label = names.get(code, code)
        x = part["end_year"].to_numpy()
        ax.plot(x, part["value"], marker=MARKERS[i % len(MARKERS)], markersize=3.5, color=colour, label=label,
                linestyle="--" if code.startswith("E92") else "-")
        if i == 0:
            ax.fill_between(x, part["lower"], part["upper"], color=colour, alpha=0.15, linewidth=0)
        first, last = part.iloc[0], part.iloc[-1]
        summary.append(f"{label} {_fmt(first['value'], 0)} in {int(first['start_year'])}–{int(first['end_year'])} "
                       f"and {_fmt(last['value'], 0)} in {int(last['start_year'])}–{int(last['end_year'])}")
    if kind == "index":
        ax.axhline(100, color="grey", linewidth=0.8)
        ax.set_ylabel("Three-year count, first period = 100")
    else:
        ax.set_ylabel(f"Three-year rate {unit}")
    ax.set_xlabel("Last year of the three-year period (year of registration)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    what = "indexed three-year counts (first period = 100)" if kind == "index" else f"three-year rates {unit}"
    alt = f"{title}: line chart of {what}. " + "; ".join(summary) + "."
    return fig, alt


def funnel_chart(points: pd.DataFrame, limits95: pd.DataFrame, limits998: pd.DataFrame, *,
                 benchmark_rate: float, benchmark_name: str, title: str, unit: str = "per 100,000"):
    """Funnel plot: rate against population (person-years per year), control limits at 95%
    (dashed) and 99.8% (dotted) around the benchmark; highlighted areas labelled."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    others = points.loc[~points["highlighted"]]
    mine = points.loc[points["highlighted"]]
    per_year = points["population"] / points["years"]
    if len(others):
        ax.scatter(others["population"] / others["years"], others["rate"], s=14, color="#999999",
                   marker="o", label="Other English authorities", zorder=2)
        if len(others) <= 12:  # few enough to name
            for row in others.itertuples(index=False):
                ax.annotate(row.area_name, (row.population / row.years, row.rate), textcoords="offset points",
                            xytext=(4, -9), fontsize=6.5, color="#555555")
    ax.scatter(mine["population"] / mine["years"], mine["rate"], s=40, color=OKABE_ITO[5], marker="D",
               edgecolor="black", linewidth=0.6, label="This area", zorder=3)
    for row in mine.itertuples(index=False):
        ax.annotate(row.area_name, (row.population / row.years, row.rate), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    grid = limits95["population"] / points["years"].iloc[0]
    ax.plot(grid, limits95["upper"], color="black", linestyle="--", linewidth=1, label="95% limits")
    ax.plot(grid, limits95["lower"], color="black", linestyle="--", linewidth=1)
    ax.plot(grid, limits998["upper"], color="black", linestyle=":", linewidth=1.2, label="99.8% limits")
    ax.plot(grid, limits998["lower"], color="black", linestyle=":", linewidth=1.2)
    ax.axhline(benchmark_rate, color=OKABE_ITO[0], linewidth=1.2, label=f"{benchmark_name} rate")
    ax.set_xscale("log")
    ax.set_xlim(grid.min(), grid.max())
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(0, max(float(points["rate"].max()) * 1.25, float(limits95["upper"].iloc[-1]) * 1.5))
    ax.set_xlabel("Population (residents, log scale)")
    ax.set_ylabel(f"Rate {unit}")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    placed = "; ".join(f"{r.area_name} {_fmt(r.rate)} ({r.position.lower()})" for r in mine.itertuples(index=False))
    alt = (f"{title}: funnel plot of rates {unit} against population, with 95% and 99.8% control limits "
           f"around the {benchmark_name} rate of {_fmt(benchmark_rate)}. {placed}. "
           f"{len(others)} other authorities are shown in grey." if len(others) else
           f"{title}: funnel plot of rates {unit} against population, with 95% and 99.8% control limits "
           f"around the {benchmark_name} rate of {_fmt(benchmark_rate)}. {placed}.")
    del per_year
    return fig, alt
