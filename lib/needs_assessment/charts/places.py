"""Charts for the Places chapter: choropleth maps, funnel plots and deprivation gradients.

Each function returns ``(figure, alt_text)``, the alt text written from the numbers drawn.
Only protected values are drawn: callers pass rates with suppressed or not-calculated
values as NaN (they are hatched on maps and left off other charts, and the alt text says
so). Colours are Okabe–Ito / cividis and never the only cue (markers, hatching, labels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from needs_assessment.charts._maps import map_figure, name_places, outline_width, small_area_edges
from needs_assessment.display import LABEL_BOX, OKABE_ITO, SEQUENTIAL_CMAP

__all__ = [
    "choropleth_panels",
    "funnel_panels",
    "gradient_panels",
    "imd_decile_map",
    "rii_chart",
]

def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _decimals(values: Sequence[float]) -> int:
    v = [abs(x) for x in values if x is not None and np.isfinite(x)]
    if not v:
        return 0
    top = max(v)
    return 0 if top >= 100 else (1 if top >= 10 else 2)


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ------------------------------------------------------------------------------- maps
def choropleth_panels(areas: Any, panels: Sequence[dict[str, Any]], *, level: str,
                      area_name: str, title: str | None = None, label_areas: bool = True):
    """Side-by-side choropleths of sub-area values.

    ``areas``: GeoDataFrame with ``area_code, area_name, geometry``. Each panel: ``values``
    (Series indexed by area_code; NaN = not shown), ``title``, ``unit`` (legend text, e.g.
    "per 100,000 adults"), ``missing`` (legend text for NaN areas) and optional
    ``decimals``.
    """
    n = len(panels)
    many = len(areas) > 10
    label_areas = label_areas and name_places(len(areas))
    edge = 0.8 if name_places(len(areas)) else 0.2
    if many:  # wards: one map per row so the labels stay legible
        fig, axes = map_figure(n, 1, figsize=(7.2, 4.4 * n + 0.2), squeeze=False)
        axes = axes[:, 0]
    else:
        fig, axes = map_figure(1, n, figsize=(5.0 * n if n > 1 else 7.0, 5.6), squeeze=False)
        axes = axes[0]
    alt_parts = []
    for ax, panel in zip(axes, panels, strict=True):
        values = pd.Series(panel["values"], dtype="float64")
        gdf = areas.copy()
        gdf["value"] = gdf["area_code"].map(values).astype("float64")
        dec = panel.get("decimals", _decimals(gdf["value"].tolist()))
        shown = gdf.loc[gdf["value"].notna()]
        missing = gdf.loc[gdf["value"].isna()]
        if len(shown):
            ref = panel.get("reference")  # (value, label): kept inside the colour range
            vmin, vmax = float(shown["value"].min()), float(shown["value"].max())
            if ref is not None and np.isfinite(ref[0]):
                vmin, vmax = min(vmin, ref[0]), max(vmax, ref[0])
            if vmin == vmax:
                vmin, vmax = vmin * 0.95, vmax * 1.05 + 1e-9
            vertical = many
            before = set(fig.axes)
            shown.plot(column="value", cmap=SEQUENTIAL_CMAP, ax=ax, edgecolor="white",
                       linewidth=edge, legend=True, vmin=vmin, vmax=vmax,
                       legend_kwds={"label": panel["unit"],
                                    "orientation": "vertical" if vertical else "horizontal",
                                    "shrink": 0.7, "pad": 0.02, "fraction": 0.04})
            cax = next(iter(set(fig.axes) - before), None)
            if ref is not None and cax is not None and np.isfinite(ref[0]):
                if vertical:
                    cax.axhline(ref[0], color="black", linewidth=2)
                    cax.annotate(ref[1], (0, ref[0]), xycoords=("axes fraction", "data"),
                                 xytext=(-4, 0), textcoords="offset points", ha="right",
                                 va="center", fontsize=8)
                else:
                    cax.axvline(ref[0], color="black", linewidth=2)
                    cax.annotate(ref[1], (ref[0], 1), xycoords=("data", "axes fraction"),
                                 xytext=(0, 3), textcoords="offset points", ha="center",
                                 va="bottom", fontsize=8)
        if len(missing):
            missing.plot(ax=ax, color="#e6e6e6", edgecolor="#666666", hatch="///",
                         linewidth=min(0.6, edge))
        gdf.boundary.plot(ax=ax, color="#333333", linewidth=outline_width(len(gdf), 0.5))
        if label_areas:
            for _, row in gdf.iterrows():
                pt = row.geometry.representative_point()
                text = _short(str(row["area_name"])) if many else str(row["area_name"])
                if not many and np.isfinite(row["value"]):
                    text += f"\n{_fmt(row['value'], dec)}"
                ax.annotate(text, (pt.x, pt.y), ha="center", va="center",
                            fontsize=7 if many else 9, bbox=LABEL_BOX)
        ax.set_axis_off()
        ax.set_title(panel["title"], fontsize=12)
        if len(missing):
            ax.legend(handles=[Patch(facecolor="#e6e6e6", edgecolor="#666666", hatch="///",
                                     label=panel.get("missing", "Not shown"))],
                      loc="lower left", fontsize=8, frameon=True)
        if len(shown):
            hi = shown.loc[shown["value"].idxmax()]
            lo = shown.loc[shown["value"].idxmin()]
            part = (f"{panel['title']}: highest {hi['area_name']} ({_fmt(hi['value'], dec)} "
                    f"{panel['unit']}), lowest {lo['area_name']} ({_fmt(lo['value'], dec)})")
        else:
            part = f"{panel['title']}: no {level} value can be shown"
        if len(missing):
            names = ", ".join(missing["area_name"].astype(str).tolist()[:8])
            more = "" if len(missing) <= 8 else f" and {len(missing) - 8} more"
            part += f"; not shown for {len(missing)} {level}s ({names}{more})"
        alt_parts.append(part + ".")
    if title:
        fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    refs = [p["reference"] for p in panels if p.get("reference") is not None]
    alt = (f"Map{'s' if n > 1 else ''} of {area_name} by {level}, shaded from dark blue (low) "
           f"to yellow (high)"
           + (f", with the {refs[0][1]} marked on the colour key" if refs else "") + ". "
           + ("" if name_places(len(areas)) else
              f"The {len(areas)} {level}s are too many to name on the map. ")
           + " ".join(alt_parts))
    return fig, alt


def imd_decile_map(small_areas: Any, areas: Any, *, level: str, area_name: str):
    """Small areas coloured by national IMD decile (1 = most deprived), sub-area outlines."""
    fig, ax = map_figure(figsize=(7.5, 6.5))
    cmap = plt.get_cmap(SEQUENTIAL_CMAP, 10)
    colours = {d: cmap(d - 1) for d in range(1, 11)}
    gdf = small_areas.copy()
    gdf["colour"] = gdf["imd_decile"].astype(int).map(colours)
    gdf.plot(color=gdf["colour"], ax=ax, **small_area_edges(len(gdf), linewidth=0.15))
    areas.boundary.plot(ax=ax, color="black", linewidth=outline_width(len(areas), 1.1))
    many = len(areas) > 10
    for _, row in areas.iterrows() if name_places(len(areas)) else ():
        pt = row.geometry.representative_point()
        ax.annotate(_short(str(row["area_name"])) if many else str(row["area_name"]),
                    (pt.x, pt.y), ha="center", va="center", fontsize=7 if many else 9,
                    bbox=LABEL_BOX)
    counts = gdf["imd_decile"].astype(int).value_counts()
    handles = [Patch(facecolor=colours[d], edgecolor="#444444",
                     label=f"{d}{' (most deprived)' if d == 1 else ' (least deprived)' if d == 10 else ''}"
                     f" – {int(counts.get(d, 0))} areas")
               for d in range(1, 11)]
    ax.legend(handles=handles, title="National IMD decile", loc="center left",
              bbox_to_anchor=(1.0, 0.5), fontsize=8, title_fontsize=9)
    ax.set_axis_off()
    ax.set_title(f"Small areas by national deprivation decile, {area_name}")
    fig.tight_layout()
    total = len(gdf)
    most = int(counts.get(1, 0) + counts.get(2, 0))
    least = int(counts.get(9, 0) + counts.get(10, 0))
    absent = [str(d) for d in range(1, 11) if counts.get(d, 0) == 0]
    alt = (f"Map of {area_name}'s {total} small areas shaded by national IMD decile, dark blue "
           f"the most deprived and yellow the least, with {level} boundaries outlined. {most} "
           f"small areas are in the two most deprived deciles and {least} in the two least "
           f"deprived.")
    if not name_places(len(areas)):
        alt += f" The {len(areas)} {level}s are outlined but too many to name."
    if absent:
        alt += f" No small areas are in decile{'s' if len(absent) > 1 else ''} {', '.join(absent)}."
    return fig, alt


# ---------------------------------------------------------------------------- funnels
def _number_axis(ax) -> None:
    """Plain numbers with thousands separators on a log x axis (minor ticks labelled too
    when the axis spans less than a decade)."""
    formatter = plt.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}")
    ax.xaxis.set_major_formatter(formatter)
    lo, hi = ax.get_xlim()
    if hi / lo < 30:
        def minor(v, _):
            mantissa = round(v / 10 ** math.floor(math.log10(v)), 6)
            return formatter(v, _) if mantissa in (2, 3, 5) else ""

        ax.xaxis.set_minor_formatter(plt.FuncFormatter(minor))
        ax.tick_params(axis="x", which="minor", labelsize=9)
    else:
        ax.xaxis.set_minor_formatter(plt.NullFormatter())


def _label_points(ax, items) -> None:
    """Label points, trying a few offsets so labels do not overlap each other."""
    fig = ax.figure
    fig.draw_without_rendering()  # lays the figure out (as a draw would) without rasterising it
    renderer = fig.canvas.get_renderer()
    placed = []
    offsets = ((6, 4, "left"), (6, -12, "left"), (-6, 4, "right"), (-6, -12, "right"),
               (6, 14, "left"), (6, -22, "left"))
    for x, y, text in sorted(items, key=lambda t: -t[1]):
        for dx, dy, ha in offsets:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                              fontsize=9, ha=ha, bbox=LABEL_BOX)
            box = ann.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            ann.remove()
        else:
            ann = ax.annotate(text, (x, y), xytext=(6, 4), textcoords="offset points",
                              fontsize=9, bbox=LABEL_BOX)
            placed.append(ann.get_window_extent(renderer))


#: Points outside the limits labelled on a funnel plot (and named in its alt text); beyond
#: it only the most extreme are, as a national-scale run has a hundred such places and
#: their names overprint one another.
FUNNEL_LABELS = 12


def _most_extreme(outside: list) -> list:
    """The points to label: all up to :data:`FUNNEL_LABELS`, else the highest and lowest
    half of that number each."""
    if len(outside) <= FUNNEL_LABELS:
        return outside
    half = FUNNEL_LABELS // 2
    high = sorted((r for r in outside if str(r.significance).startswith("High")), key=lambda r: -r.y)
    low = sorted((r for r in outside if str(r.significance).startswith("Low")), key=lambda r: r.y)
    return high[:half] + low[:half]


def _name_list(names: list[str], outside: list, side: str) -> str:
    """Names for the alt text: all up to :data:`FUNNEL_LABELS`, else the most extreme
    (those labelled on the chart) and how many more."""
    if len(names) <= FUNNEL_LABELS:
        return ", ".join(names)
    shown = {str(r.area_name) for r in _most_extreme(outside) if str(r.significance).startswith(side)}
    keep = [n for n, r in zip(names, [r for r in outside if str(r.significance).startswith(side)],
                              strict=True) if str(r.area_name) in shown]
    return f"{', '.join(keep)} and {len(names) - len(keep)} more (the most extreme are named)"


_SIG_STYLE = {
    "High (0.001)": ("^", OKABE_ITO[5], "Above 99.8% limit"),
    "High (0.025)": ("^", OKABE_ITO[1], "Above 95% limit"),
    "Not significant": ("o", OKABE_ITO[0], "Within 95% limits"),
    "Low (0.025)": ("v", OKABE_ITO[4], "Below 95% limit"),
    "Low (0.001)": ("v", OKABE_ITO[2], "Below 99.8% limit"),
}


def funnel_panels(panels: Sequence[dict[str, Any]], *, level: str, area_name: str,
                  title: str | None = None):
    """Funnel plots. Each panel: ``points`` and ``limits`` from
    :func:`needs_assessment.analysis.places.funnel_data`, ``title``, ``xlabel``,
    ``ylabel``, ``hidden`` (number of sub-areas left off to protect small counts),
    optional ``decimals`` and optional ``method_note`` (how the limits were made, e.g.
    :attr:`needs_assessment.stats.OverdispersedFunnel.method_note`: shown under the panel
    title and added to the alt text; panels without one look as before). Sub-areas
    outside the 95% limits are labelled."""
    n = len(panels)
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.2 if cols == 1 else 10.0, 4.6 * rows),
                             squeeze=False)
    alt_parts = []
    used = set()
    for k, panel in enumerate(panels):
        ax = axes[k // cols][k % cols]
        pts, lim = panel["points"], panel["limits"]
        ax.plot(lim["x"], lim["baseline"], color="black", linewidth=1, label="Whole area")
        ax.plot(lim["x"], lim["upper_95"], color="#555555", linestyle="--", linewidth=1,
                label="95% limits")
        ax.plot(lim["x"], lim["lower_95"], color="#555555", linestyle="--", linewidth=1)
        ax.plot(lim["x"], lim["upper_998"], color="#555555", linestyle=":", linewidth=1.4,
                label="99.8% limits")
        ax.plot(lim["x"], lim["lower_998"], color="#555555", linestyle=":", linewidth=1.4)
        outside = []
        for sig, (marker, colour, _label) in _SIG_STYLE.items():
            sel = pts.loc[pts["significance"] == sig]
            if sel.empty:
                continue
            used.add(sig)
            ax.scatter(sel["x"], sel["y"], marker=marker, s=48, color=colour,
                       edgecolor="black", linewidth=0.5, zorder=3)
            if sig != "Not significant":
                outside.extend(sel.itertuples())
        ax.set_xscale("log")
        xs = np.concatenate([pts["x"].to_numpy(float), lim["x"].to_numpy(float)])
        ax.set_xlim(np.nanmin(xs) * 0.97, np.nanmax(xs) * 1.03)
        ys = np.concatenate([pts["y"].to_numpy(float)] + [
            lim[c].to_numpy(float) for c in ("lower_998", "upper_998", "baseline")])
        ys = ys[np.isfinite(ys)]
        span = ys.max() - ys.min()
        ax.set_ylim(max(0.0, ys.min() - 0.08 * span), ys.max() + 0.12 * span)
        _number_axis(ax)
        _label_points(ax, [(r.x, r.y, str(r.area_name)) for r in _most_extreme(outside)])
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel(panel["ylabel"])
        note = panel.get("method_note")
        if note:
            wrapped = _wrap(note, 95 if cols == 1 else 62)
            ax.set_title(panel["title"], fontsize=11, pad=8 + 10 * (wrapped.count("\n") + 1))
            ax.annotate(wrapped, (0.5, 1.0), xycoords="axes fraction", xytext=(0, 4),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8,
                        fontstyle="italic", color="#333333")
        else:
            ax.set_title(panel["title"], fontsize=11)
        dec = panel.get("decimals", 0)
        high = [f"{r.area_name} ({_fmt(r.y, dec)})" for r in outside if str(r.significance).startswith("High")]
        low = [f"{r.area_name} ({_fmt(r.y, dec)})" for r in outside if str(r.significance).startswith("Low")]
        part = f"{panel['title']}: {len(pts)} {level}s plotted"
        if panel.get("hidden"):
            part += f" ({panel['hidden']} not shown to protect small numbers)"
        part += "; " + (f"above the 95% limit: {_name_list(high, outside, 'High')}" if high
                        else "none above the 95% limit")
        part += "; " + (f"below the 95% limit: {_name_list(low, outside, 'Low')}" if low
                        else "none below the 95% limit")
        if note:
            part += f". {note.rstrip('.')}"
        alt_parts.append(part + ".")
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    handles = [
        Line2D([], [], color="black", linewidth=1, label=f"{area_name} average"),
        Line2D([], [], color="#555555", linestyle="--", label="95% control limits"),
        Line2D([], [], color="#555555", linestyle=":", linewidth=1.4, label="99.8% control limits"),
    ] + [Line2D([], [], marker=_SIG_STYLE[s][0], color=_SIG_STYLE[s][1], markeredgecolor="black",
                linestyle="", label=_SIG_STYLE[s][2]) for s in _SIG_STYLE if s in used]
    fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), 4),
               fontsize=8 if cols == 1 else 9.5, bbox_to_anchor=(0.5, -0.01))
    if title:
        fig.suptitle(title, fontweight="bold")
    fig.tight_layout(rect=(0, 0.07 if rows == 1 else 0.04, 1, 1))
    alt = (f"Funnel plot{'s' if n > 1 else ''} of each {level} against its size, with the "
           f"{area_name} average and 95% and 99.8% control limits that narrow as size grows. "
           + " ".join(alt_parts))
    return fig, alt


# ---------------------------------------------------------------------- gradient
def gradient_panels(gradients: Sequence[Any], *, area_name: str, min_count: int = 10,
                    threshold: int = 5):
    """Rate by deprivation quantile (most deprived on the left) with the fitted SII line,
    one panel per measure with an SII. Quantiles with fewer than ``threshold`` events are
    left off; those with fewer than ``min_count`` are drawn hollow."""
    usable = [g for g in gradients if g.system and g.quantile_rates is not None]
    if not usable:
        return None, ""
    n = len(usable)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(9.5 if cols == 2 else 6.5, 3.3 * rows),
                             squeeze=False)
    parts = []
    for k, g in enumerate(usable):
        ax = axes[k // cols][k % cols]
        r = g.quantile_rates.sort_values("quantile")
        x = 1 - r["relative_rank"].to_numpy(float)  # 0 = most deprived on the left
        y = r["value"].to_numpy(float)
        shown = r["count"].to_numpy(float) >= threshold
        solid = shown & (r["count"].to_numpy(float) >= min_count)
        hollow = shown & ~solid
        err = np.vstack([y - r["lower"].to_numpy(float), r["upper"].to_numpy(float) - y])
        ax.errorbar(x[shown], y[shown], yerr=err[:, shown], fmt="none", ecolor="#555555",
                    elinewidth=1, capsize=2)
        ax.scatter(x[solid], y[solid], color=OKABE_ITO[0], edgecolor="black", zorder=3, s=30)
        ax.scatter(x[hollow], y[hollow], facecolor="white", edgecolor=OKABE_ITO[0], zorder=3,
                   s=30, linewidth=1.2)
        ix = g.index
        grid = np.linspace(0, 1, 50)
        fitted = ix["intercept"] * ix["rii"] ** (1 - grid)  # b = 1 - x
        ax.plot(grid, fitted, color=OKABE_ITO[5], linewidth=1.8, linestyle="-")
        ax.set_xticks(x, [str(int(q)) for q in r["quantile"]])
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(f"{g.quantile_label} (1 = most deprived)", fontsize=10)
        ax.set_ylabel(g.measure.unit, fontsize=10)
        ax.set_title(_wrap(g.measure.label, 48), fontsize=11)
        dec = _decimals([ix["sii"]])
        ax.text(0.98, 0.95, f"RII {ix['rii']:.1f} ({ix['rii_lower']:.1f} to {ix['rii_upper']:.1f})",
                transform=ax.transAxes, ha="right", va="top", fontsize=9, bbox=LABEL_BOX)
        parts.append(
            f"{g.measure.label} ({g.quantile_plural}): fitted rate "
            f"{_fmt(ix['intercept'] * ix['rii'], dec)} {g.measure.unit} in the most deprived "
            f"against {_fmt(ix['intercept'], dec)} in the least deprived, a gap (SII) of "
            f"{_fmt(ix['sii'], dec)} and a ratio (RII) of {ix['rii']:.1f} "
            f"({ix['rii_lower']:.1f} to {ix['rii_upper']:.1f}).")
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    handles = [
        Line2D([], [], marker="o", color=OKABE_ITO[0], markeredgecolor="black", linestyle="",
               label="Rate (with confidence interval)"),
        Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor=OKABE_ITO[0],
               linestyle="", label=f"Rate from fewer than {min_count} events"),
        Line2D([], [], color=OKABE_ITO[5], linewidth=1.8, label="Fitted gradient (SII line)"),
    ]
    fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=9.5, bbox_to_anchor=(0.5, 0))
    fig.tight_layout(rect=(0, 0.05 if rows > 1 else 0.09, 1, 1))
    alt = (f"Small charts of rates by deprivation quantile in {area_name}, most deprived on the "
           "left, each with the fitted slope index of inequality line. " + " ".join(parts))
    return fig, alt


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def rii_chart(gradients: Sequence[Any], *, area_name: str, ci_label: str = "95%"):
    """Forest plot of the RII (with limits, log scale) for every measure with an SII."""
    usable = [g for g in gradients if g.system]
    if not usable:
        return None, ""
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(usable) + 1.6))
    y = np.arange(len(usable))[::-1]
    for yi, g in zip(y, usable, strict=True):
        ix = g.index
        sig = ix["rii_lower"] > 1 or ix["rii_upper"] < 1
        marker = "D" if g.measure.polarity == "no_judgement" else "s"
        ax.plot([ix["rii_lower"], ix["rii_upper"]], [yi, yi], color="#444444", linewidth=1.4)
        ax.scatter([ix["rii"]], [yi], marker=marker, s=55, zorder=3,
                   color=OKABE_ITO[5] if sig else "white", edgecolor="black")
        ax.annotate(f"{ix['rii']:.1f}", (ix["rii_upper"], yi), xytext=(5, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    ticks = [0.5, 1, 2, 3, 5, 10]
    lo = min(g.index["rii_lower"] for g in usable)
    hi = max(g.index["rii_upper"] for g in usable)
    ax.set_xlim(min(0.8, lo * 0.8), max(2.5, hi * 1.4))
    ax.set_xticks([t for t in ticks if min(0.8, lo * 0.8) <= t <= max(2.5, hi * 1.4)])
    ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(y, [f"{_wrap(g.measure.label, 40)}\n({g.quantile_plural})" for g in usable],
                  fontsize=8)
    ax.set_xlabel("Relative index of inequality (most deprived ÷ least deprived; 1 = no gradient)")
    ax.set_title(f"How much higher rates are in the most deprived places, {area_name}")
    fig.legend(handles=[
        Line2D([], [], marker="s", color=OKABE_ITO[5], markeredgecolor="black", linestyle="",
               label=f"Gradient significant ({ci_label} CI excludes 1)"),
        Line2D([], [], marker="s", markerfacecolor="white", markeredgecolor="black", linestyle="",
               label="Not significant"),
        Line2D([], [], marker="D", markerfacecolor="white", markeredgecolor="black", linestyle="",
               label="Treatment (diamond)"),
    ], loc="lower center", ncols=3, fontsize=8, bbox_to_anchor=(0.5, 0))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    parts = []
    for g in usable:
        ix = g.index
        sig = "significant" if (ix["rii_lower"] > 1 or ix["rii_upper"] < 1) else "not significant"
        parts.append(f"{g.measure.label} {ix['rii']:.1f} ({ix['rii_lower']:.1f} to "
                     f"{ix['rii_upper']:.1f}, {sig})")
    alt = (f"Chart of the relative index of inequality with {ci_label} confidence intervals for "
           f"each measure in {area_name}, on a log scale with a line at 1 (no gradient): "
           + "; ".join(parts) + ".")
    return fig, alt
