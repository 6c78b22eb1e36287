"""Charts for the area profile chapter (see the package docstring for conventions)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.display import OKABE_ITO

__all__ = [
    "age_comparison_chart",
    "characteristics_chart",
    "deprivation_deciles_chart",
    "deprivation_map",
    "population_pyramid_chart",
]


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


def age_comparison_chart(ages: pd.DataFrame, *, area: str, year_label: str):
    """Grouped bars: share of residents in each broad age group, the area against its
    comparators (``<label> (%)`` columns from :func:`analysis.profile.age_comparison`)."""
    comps = [c for c in ages.columns if c.endswith(" (%)")]
    series = [(area, ages["percent"])] + [(c.removesuffix(" (%)"), ages[c]) for c in comps]
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    width = 0.8 / len(series)
    x = np.arange(len(ages))
    hatches = ("", "//", "..", "xx")
    for i, (label, values) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label,
               color=OKABE_ITO[i] if i < 3 else OKABE_ITO[i + 1], hatch=hatches[i % 4], edgecolor="white")
    ax.set_xticks(x, ages["age_group"])
    ax.set_xlabel("Age group (years)")
    ax.set_ylabel("Share of residents")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}%")
    ax.set_title(f"Residents by age, {area} compared, {year_label}")
    ax.legend(loc="upper right", ncols=len(series), fontsize=8)
    fig.tight_layout()
    parts = []
    for label, values in series:
        young = float(values.iloc[1:3].sum())
        old = float(values.iloc[-2:].sum())
        parts.append(f"{label}: {young:.1f}% aged 16 to 34 and {old:.1f}% aged 65 or over")
    alt = "Bar chart of the share of residents in each age group. " + "; ".join(parts) + "."
    return fig, alt


def characteristics_chart(profile: pd.DataFrame, *, area: str, comparator: str | None):
    """Dot chart, one row per category under a heading row per characteristic: the area's
    share (dot) and, when given, the comparator's share (open diamond). ``profile`` from
    :func:`analysis.profile.characteristics_profile`."""
    from needs_assessment.analysis.profile import PROTECTED_CHARACTERISTICS

    names = {field: label.split(" (")[0] for _, label, field, _ in PROTECTED_CHARACTERISTICS if field}
    frame = profile.reset_index(drop=True)
    comp_col = f"{comparator} (%)" if comparator and f"{comparator} (%)" in frame.columns else None
    rows: list[tuple[str, float, float, bool]] = []  # label, area %, comparator %, is heading
    for characteristic, part in frame.groupby("characteristic", sort=False):
        rows.append((names.get(characteristic, characteristic), np.nan, np.nan, True))
        for _, r in part.iterrows():
            rows.append((r["label"], r["percent"], r[comp_col] if comp_col else np.nan, False))
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.5, 0.24 * n + 1.4))
    y = np.arange(n)[::-1]
    values = np.array([r[1] for r in rows], dtype=float)
    comps = np.array([r[2] for r in rows], dtype=float)
    ax.scatter(values, y, color=OKABE_ITO[0], marker="o", s=28, label=area, zorder=3)
    if comp_col:
        ax.scatter(comps, y, facecolor="none", edgecolor="black", marker="D", s=30, label=comparator, zorder=4)
        for yi, a, b in zip(y, values, comps, strict=True):
            if np.isfinite(a) and np.isfinite(b):
                ax.plot([a, b], [yi, yi], color="#999999", linewidth=0.8, zorder=2)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=7.5)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row[3]:
            tick.set_fontweight("bold")
            tick.set_fontsize(8.5)
    for yi, row in zip(y, rows, strict=True):
        if row[3] and yi != y[0]:
            ax.axhline(yi + 0.5, color="#666666", linewidth=0.6)
    ax.set_xscale("symlog", linthresh=5)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 1, 2, 5, 10, 20, 50, 100], ["0", "1%", "2%", "5%", "10%", "20%", "50%", "100%"])
    ax.set_xlabel("Share of the characteristic's residents (scale stretched below 5%)")
    ax.set_title(f"Residents by protected characteristic, {area}" + (f" and {comparator}" if comp_col else ""))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    if comp_col:
        diffs = (frame["percent"] - frame[comp_col]).abs()
        parts = [f"{frame.loc[i, 'label']} {frame.loc[i, 'percent']:.1f}% against {comparator} {frame.loc[i, comp_col]:.1f}%"
                 for i in diffs.nlargest(4).index]
        alt = (f"Dot chart of the share of {area}'s residents in each category of the protected characteristics, "
               f"with {comparator} for comparison. The largest differences: " + "; ".join(parts) + ".")
    else:
        top = frame.sort_values("percent", ascending=False).groupby("characteristic").head(1)
        alt = (f"Dot chart of the share of {area}'s residents in each category of the protected characteristics "
               "(no comparator). Largest category of each: "
               + "; ".join(f"{r.label} {r.percent:.1f}%" for r in top.itertuples()) + ".")
    return fig, alt


def deprivation_map(geography: pd.DataFrame, boundaries, *, level: str, area: str):
    """Map of small areas shaded by national IMD decile (1 = most deprived 10% in England;
    cividis, darkest = most deprived), with the reporting areas outlined and labelled."""
    import matplotlib as mpl

    from needs_assessment.analysis.profile import LEVEL_COLUMNS
    from needs_assessment.charts._maps import (
        map_figure,
        name_places,
        outline_width,
        small_area_edges,
    )
    from needs_assessment.display import LABEL_BOX, SEQUENTIAL_CMAP

    code, name = LEVEL_COLUMNS[level]
    shapes = boundaries.merge(geography[["small_area_code", "imd_decile", code, name]], on="small_area_code")
    cmap = mpl.colormaps[SEQUENTIAL_CMAP].resampled(10)
    norm = mpl.colors.BoundaryNorm(np.arange(0.5, 11.5), cmap.N)
    fig, ax = map_figure(figsize=(7.5, 6.6))
    shapes.plot(ax=ax, column="imd_decile", cmap=cmap, norm=norm,
                **small_area_edges(len(shapes), linewidth=0.1))
    outlines = shapes.dissolve(by=[code, name], as_index=False)
    outlines.boundary.plot(ax=ax, color="black", linewidth=outline_width(len(outlines), 0.9))
    many = len(outlines) > 12
    for row in outlines.itertuples(index=False) if name_places(len(outlines)) else ():
        point = row.geometry.representative_point()
        ax.annotate(getattr(row, name), (point.x, point.y), ha="center", fontsize=6 if many else 8,
                    bbox=LABEL_BOX)
    sm = mpl.cm.ScalarMappable(cmap=cmap, norm=norm)
    bar = fig.colorbar(sm, ax=ax, ticks=range(1, 11), shrink=0.7, pad=0.02)
    bar.set_label("National IMD decile (1 = most deprived 10% in England)")
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(f"Small areas by national deprivation decile, {area}")
    fig.tight_layout()
    by = shapes.assign(d12=shapes["imd_decile"] <= 2).groupby(name)["d12"].mean().mul(100).sort_values()
    high = ", ".join(f"{k} {v:.0f}%" for k, v in by.iloc[::-1].head(3).items())
    low = ", ".join(f"{k} {v:.0f}%" for k, v in by.head(3).items())
    alt = (f"Map of {area}'s {len(shapes)} small areas shaded by national deprivation decile, darkest for the most "
           f"deprived, with {level} boundaries outlined. Share of small areas in England's most deprived 20%: "
           f"highest {high}; lowest {low}.")
    if not name_places(len(outlines)):
        alt += f" The {len(outlines)} {level}s are outlined but too many to name."
    return fig, alt
