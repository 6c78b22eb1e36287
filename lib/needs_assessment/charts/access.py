"""Charts for the access chapter (see :mod:`needs_assessment.charts` for conventions).

Every function takes *published* (disclosure-protected) frames, in which a suppressed
cell holds the marker ``[c]``: such values are treated as missing and not drawn. Each
returns ``(figure, alt_text)``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from needs_assessment.display import LABEL_BOX, MARKERS, OKABE_ITO, SEQUENTIAL_CMAP

__all__ = [
    "continuity_chart",
    "distance_map",
    "group_dot_chart",
    "odds_ratio_chart",
    "rate_by_distance_chart",
    "referral_sources_chart",
]

HATCHES = ("", "//", "..", "xx", "\\\\", "++")


def _num(series) -> pd.Series:
    return pd.to_numeric(pd.Series(series), errors="coerce").astype(float)


def _err(values: pd.Series, lower: pd.Series, upper: pd.Series) -> np.ndarray:
    lo = (values - lower).clip(lower=0).fillna(0)
    hi = (upper - values).clip(lower=0).fillna(0)
    return np.vstack([lo.to_numpy(), hi.to_numpy()])


def _section_ticks(ax, ys, labels, sections, *, fontsize=9) -> None:
    """Y tick labels for the rows plus bold labels for the section headings."""
    ticks = list(ys) + [p for p, _ in sections]
    texts = list(labels) + [str(s) for _, s in sections]
    ax.set_yticks(ticks, texts, fontsize=fontsize)
    n = len(labels)
    for i, tick in enumerate(ax.get_yticklabels()):
        if i >= n:
            tick.set_fontweight("bold")
    for i, tick in enumerate(ax.yaxis.get_major_ticks()):
        if i >= n:
            tick.tick1line.set_visible(False)


def referral_sources_chart(
    table: pd.DataFrame, *, area: str, period: str, label: str = "Referral source",
    route: str = "Route", value: str = "Share (%)", lower: str = "Lower", upper: str = "Upper",
):
    """Horizontal bars of the share of new presentations by referral source, grouped and
    hatched by route, with confidence intervals."""
    t = table.copy()
    t["_v"], t["_lo"], t["_hi"] = _num(t[value]), _num(t[lower]), _num(t[upper])
    routes = list(dict.fromkeys(t[route]))
    fig, ax = plt.subplots(figsize=(7.5, 0.36 * len(t) + 2.4))
    y = np.arange(len(t))[::-1]
    for i, r in enumerate(routes):
        m = (t[route] == r).to_numpy()
        ax.barh(y[m], t.loc[m, "_v"].fillna(0), color=OKABE_ITO[i % 6], hatch=HATCHES[i % 6],
                edgecolor="white", label=r)
    ax.errorbar(t["_v"], y, xerr=_err(t["_v"], t["_lo"], t["_hi"]), fmt="none", ecolor="black",
                elinewidth=0.9, capsize=2)
    for yi, v, hi in zip(y, t["_v"], t["_hi"], strict=True):
        ax.text((hi if pd.notna(hi) else (v if pd.notna(v) else 0)) + 0.6, yi,
                "[c]" if pd.isna(v) else f"{v:.1f}%", va="center", fontsize=8)
    ax.set_yticks(y, t[label])
    ax.set_xlabel("Share of new presentations (%)")
    ax.set_xlim(0, float(np.nanmax(t["_hi"].to_numpy())) * 1.18 + 1)
    ax.set_title(f"Where new presentations were referred from, {area}, {period}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, title="Route",
              fontsize=8)
    fig.tight_layout()
    shares = t.groupby(route, sort=False)["_v"].sum()
    top = t.sort_values("_v", ascending=False).iloc[0]
    alt = (
        f"Horizontal bar chart of the share of adult new presentations to treatment in {area}, "
        f"{period}, by referral source, grouped by route. The largest single source is "
        f"{top[label]} ({top['_v']:.1f}%). By route: "
        + "; ".join(f"{k} {v:.1f}%" for k, v in shares.items()) + "."
    )
    return fig, alt


def group_dot_chart(
    table: pd.DataFrame,
    *,
    group: str,
    value: str,
    lower: str,
    upper: str,
    title: str,
    xlabel: str,
    section: str | None = None,
    reference: float | None = None,
    reference_label: str | None = None,
    extra_reference: tuple[float, str] | None = None,
    unit: str = "%",
    what: str = "value",
    decimals: int = 1,
):
    """Dot-and-whisker chart of a value with its interval for each group; a vertical
    line marks the whole area (and optionally England). With ``section`` the groups are
    stacked in labelled blocks (e.g. age group, sex, district)."""
    t = table.copy().reset_index(drop=True)
    t["_v"], t["_lo"], t["_hi"] = _num(t[value]), _num(t[lower]), _num(t[upper])
    labels, ys, sec_pos = [], [], []
    pos = 0.0
    sections = list(dict.fromkeys(t[section])) if section else [None]
    for s in sections:
        rows = t.index[t[section] == s] if section else t.index
        if section:
            sec_pos.append((pos, s))
            pos += 1
        for i in rows:
            ys.append(pos)
            labels.append(str(t.loc[i, group]))
            pos += 1
        pos += 0.4
    ys = np.array(ys)
    height = min(0.3 * pos + 1.5, 8.0)
    fontsize = 9 if pos <= 25 else 7.5
    fig, ax = plt.subplots(figsize=(7.5, max(2.8, height)))
    ax.errorbar(t["_v"], ys, xerr=_err(t["_v"], t["_lo"], t["_hi"]), fmt="o", color=OKABE_ITO[0],
                ecolor=OKABE_ITO[0], markersize=5, capsize=2, label=f"{what} ({unit}) with interval")
    if reference is not None:
        ax.axvline(reference, color="black", linestyle="--", linewidth=1,
                   label=reference_label or "Whole area")
    if extra_reference is not None and extra_reference[0] is not None:
        ax.axvline(extra_reference[0], color=OKABE_ITO[5], linestyle=":", linewidth=1.6,
                   label=extra_reference[1])
    _section_ticks(ax, ys, labels, sec_pos, fontsize=fontsize)
    ax.set_ylim(pos, -1)
    for yi, v in zip(ys, t["_v"], strict=True):
        if pd.isna(v):
            ax.text(0.01, yi, "[c]", transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.set_xlim(left=0)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0 + 0.9 / max(height, 3)), ncols=3,
              fontsize=8)
    fig.tight_layout()
    shown = t.loc[t["_v"].notna()]
    if shown.empty:
        return fig, f"{title}: every value is suppressed."
    hi_row = shown.loc[shown["_v"].idxmax()]
    lo_row = shown.loc[shown["_v"].idxmin()]
    ref = f" The whole-area value is {reference:.{decimals}f}{unit}." if reference is not None else ""
    ext = (f" {extra_reference[1]}: {extra_reference[0]:.{decimals}f}{unit}."
           if extra_reference is not None and extra_reference[0] is not None else "")
    alt = (
        f"Dot chart with confidence intervals: {title}. Highest: {hi_row[group]} "
        f"{hi_row['_v']:.{decimals}f}{unit} ({hi_row['_lo']:.{decimals}f} to {hi_row['_hi']:.{decimals}f}); "
        f"lowest: {lo_row[group]} {lo_row['_v']:.{decimals}f}{unit} "
        f"({lo_row['_lo']:.{decimals}f} to {lo_row['_hi']:.{decimals}f}).{ref}{ext}"
    )
    n_hidden = int(t["_v"].isna().sum())
    if n_hidden:
        alt += f" {n_hidden} value(s) suppressed to protect small numbers."
    return fig, alt


def continuity_chart(
    table: pd.DataFrame,
    *,
    area: str,
    label: str = "Year of release",
    value: str = "Engaged within 3 weeks (%)",
    lower: str = "Lower",
    upper: str = "Upper",
    england: float | None = None,
    england_period: str | None = None,
    region: float | None = None,
    region_name: str | None = None,
):
    """Bars of the share of prison releases followed by a community triage within three
    weeks, by year of release and for the whole period, against England (and region)."""
    t = table.copy()
    t["_v"], t["_lo"], t["_hi"] = _num(t[value]), _num(t[lower]), _num(t[upper])
    fig, ax = plt.subplots(figsize=(7.0, 3.9))
    x = np.arange(len(t))
    colours = [OKABE_ITO[0]] * (len(t) - 1) + [OKABE_ITO[2]]
    hatches = [""] * (len(t) - 1) + ["//"]
    for xi, v, c, h in zip(x, t["_v"].fillna(0), colours, hatches, strict=True):
        ax.bar(xi, v, color=c, hatch=h, edgecolor="white", width=0.6)
    ax.errorbar(x, t["_v"], yerr=_err(t["_v"], t["_lo"], t["_hi"]), fmt="none", ecolor="black",
                capsize=3)
    for xi, v, hi in zip(x, t["_v"], t["_hi"], strict=True):
        ax.text(xi, (hi if pd.notna(hi) else 0) + 1.2, "[c]" if pd.isna(v) else f"{v:.0f}%",
                ha="center", fontsize=9)
    ymax = max(float(np.nanmax(t["_hi"].to_numpy())), england or 0, region or 0) * 1.25
    if england is not None:
        ax.axhline(england, color="black", linestyle="--", linewidth=1.2,
                   label=f"England {england:.1f}%" + (f" ({england_period})" if england_period else ""))
    if region is not None:
        ax.axhline(region, color=OKABE_ITO[5], linestyle=":", linewidth=1.6,
                   label=f"{region_name or 'Region'} {region:.1f}%")
    ax.set_xticks(x, t[label].astype(str))
    ax.set_ylim(0, ymax)
    ax.set_ylabel("Releases engaged within 3 weeks (%)")
    ax.set_title(f"Continuity of care after prison release, {area}")
    if england is not None or region is not None:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    last = t.iloc[-1]
    parts = "; ".join(f"{r[label]}: {r['_v']:.1f}%" for _, r in t.iterrows() if pd.notna(r["_v"]))
    alt = (
        f"Bar chart of the share of prison releases in {area} followed by a community treatment "
        f"triage within three weeks: {parts}."
        + (f" England: {england:.1f}%." if england is not None else "")
        + (f" {region_name or 'Region'}: {region:.1f}%." if region is not None else "")
    )
    if england is not None and pd.notna(last["_hi"]) and last["_hi"] < england:
        alt += f" The whole-period value ({last['_v']:.1f}%) is well below England's."
    return fig, alt


def distance_map(
    boundaries,
    distances: pd.DataFrame,
    geography: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    level: str,
    area: str,
    summary: pd.DataFrame,
):
    """Small areas shaded by straight-line distance to the nearest adult treatment site,
    with district/ward outlines and names, and the sites marked. ``summary`` has one row
    per reporting area with ``area_name`` and ``mean_km`` (population-weighted) for the
    alt text."""
    from needs_assessment.analysis.profile import LEVEL_COLUMNS
    from needs_assessment.charts._maps import (
        map_figure,
        name_places,
        outline_width,
        small_area_edges,
    )

    code, name = LEVEL_COLUMNS[level]
    g = boundaries.merge(distances[["small_area_code", "distance_km"]], on="small_area_code")
    outlines = boundaries.merge(geography[["small_area_code", code, name]], on="small_area_code")
    outlines = outlines.dissolve(by=name).reset_index()
    fig, ax = map_figure(figsize=(7.5, 6.4))
    g.plot(column="distance_km", cmap=SEQUENTIAL_CMAP, ax=ax, **small_area_edges(len(g), linewidth=0.1),
           legend=True, legend_kwds={"label": "Straight-line distance to nearest site (km)",
                                     "shrink": 0.6})
    outlines.boundary.plot(ax=ax, color="black", linewidth=outline_width(len(outlines), 0.8))
    for _, row in outlines.iterrows() if name_places(len(outlines)) else ():
        pt = row.geometry.representative_point()
        ax.annotate(row[name], (pt.x, pt.y), ha="center", fontsize=7 if len(outlines) > 8 else 9,
                    bbox=LABEL_BOX)
    ax.scatter(sites["easting"], sites["northing"], marker="^", s=70 if len(sites) <= 50 else 24,
               color=OKABE_ITO[1],
               edgecolor="black", zorder=5, label="Adult treatment site")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_axis_off()
    ax.set_title(f"Distance from each small area to the nearest treatment site, {area}")
    fig.tight_layout()
    s = summary.sort_values("mean_km", ascending=False)
    far = "; ".join(f"{r.area_name} {r.mean_km:.1f} km" for r in s.head(3).itertuples())
    near = "; ".join(f"{r.area_name} {r.mean_km:.1f} km" for r in s.tail(3).iloc[::-1].itertuples())
    alt = (
        f"Map of {area}'s small areas shaded from dark (near) to light (far) by straight-line "
        f"distance to the nearest of {len(sites)} adult treatment sites, which are marked with "
        f"triangles; {level} boundaries are outlined"
        f"{' and named' if name_places(len(outlines)) else ''}. Distances range from "
        f"{distances['distance_km'].min():.1f} to {distances['distance_km'].max():.1f} km. "
        f"Farthest on average (adults weighted): {far}. Nearest: {near}."
    )
    return fig, alt


def rate_by_distance_chart(
    table: pd.DataFrame, *, area: str, year: int, area_rate: float | None = None,
    band: str = "Distance band", value: str = "Rate per 100,000 adults",
    lower: str = "Lower", upper: str = "Upper", share: str = "Share of adults (%)",
):
    """Treatment rate per 100,000 adults by distance band (bars with intervals), with the
    share of adults living in each band written on the bars."""
    t = table.copy()
    t["_v"], t["_lo"], t["_hi"] = _num(t[value]), _num(t[lower]), _num(t[upper])
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    x = np.arange(len(t))
    ax.bar(x, t["_v"].fillna(0), color=OKABE_ITO[0], edgecolor="white", width=0.6,
           label="Rate per 100,000 adults")
    ax.errorbar(x, t["_v"], yerr=_err(t["_v"], t["_lo"], t["_hi"]), fmt="none", ecolor="black",
                capsize=3)
    for xi, sh, v in zip(x, _num(t[share]), t["_v"], strict=True):
        ax.text(xi, (v if pd.notna(v) else 0) * 0.05 + 1, f"{sh:.0f}% of\nadults", ha="center",
                va="bottom", fontsize=8, color="white" if pd.notna(v) and v > 0 else "black")
    if area_rate is not None:
        ax.axhline(area_rate, color="black", linestyle="--", linewidth=1,
                   label=f"Whole area {area_rate:,.0f}")
    ax.set_xticks(x, t[band].astype(str), rotation=0, fontsize=8)
    ax.set_xlabel("Straight-line distance from home small area to nearest site")
    ax.set_ylabel("Adults in treatment per 100,000")
    ax.set_ylim(0, float(np.nanmax(t["_hi"].to_numpy())) * 1.2)
    ax.set_title(f"Treatment rate by distance to the nearest site, {area}, {year}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    parts = "; ".join(
        f"{r[band]}: {r['_v']:,.0f} ({_num([r[share]])[0]:.0f}% of adults)"
        for _, r in t.iterrows() if pd.notna(r["_v"])
    )
    alt = (f"Bar chart of adults in treatment per 100,000 adult residents in {area}, {year}, by "
           f"straight-line distance band to the nearest site: {parts}.")
    if area_rate is not None:
        alt += f" Whole area: {area_rate:,.0f} per 100,000."
    return fig, alt


def odds_ratio_chart(
    table: pd.DataFrame, *, title: str, characteristic: str = "Characteristic",
    level: str = "Group", value: str = "Odds ratio", lower: str = "Lower",
    upper: str = "Upper", reference: str = "Reference group",
):
    """Forest plot of odds ratios (log scale) with intervals, one block per
    characteristic; reference groups are drawn as open squares at 1."""
    t = table.copy().reset_index(drop=True)
    t["_v"], t["_lo"], t["_hi"] = _num(t[value]), _num(t[lower]), _num(t[upper])
    is_ref = t[reference].astype(str).str.lower().isin(["yes", "true"])
    labels, ys, secs = [], [], []
    pos = 0.0
    for s in dict.fromkeys(t[characteristic]):
        secs.append((pos, s))
        pos += 1
        for i in t.index[t[characteristic] == s]:
            ys.append(pos)
            labels.append(str(t.loc[i, level]) + (" (reference)" if is_ref[i] else ""))
            pos += 1
        pos += 0.4
    ys = np.array(ys)
    fig, ax = plt.subplots(figsize=(7.5, min(max(3.0, 0.28 * pos + 1.4), 8.0)))
    m = ~is_ref.to_numpy() & t["_v"].notna().to_numpy()
    ax.errorbar(t.loc[m, "_v"], ys[m], xerr=_err(t.loc[m, "_v"], t.loc[m, "_lo"], t.loc[m, "_hi"]),
                fmt=MARKERS[0], color=OKABE_ITO[0], capsize=2, markersize=5, label="Odds ratio with interval")
    ax.plot(np.ones(int(is_ref.sum())), ys[is_ref.to_numpy()], MARKERS[1], mfc="white",
            color="black", label="Reference group")
    ax.axvline(1, color="black", linewidth=0.9)
    ax.set_xscale("log")
    _section_ticks(ax, ys, labels, secs, fontsize=8 if pos <= 25 else 7)
    ax.set_ylim(pos, -1)
    from matplotlib.ticker import NullLocator

    lo_x, hi_x = ax.get_xlim()
    nice = [t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50)
            if lo_x <= t <= hi_x]
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(nice, [f"{t:g}" for t in nice])
    ax.set_xlabel("Odds ratio (log scale; above 1 = more likely to drop out)")
    ax.set_title(title, pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=8,
              borderaxespad=0.2)
    fig.tight_layout()
    nonref = t.loc[m]
    sig_hi = nonref.loc[nonref["_lo"] > 1]
    sig_lo = nonref.loc[nonref["_hi"] < 1]
    alt = f"Forest plot: {title}. "
    if not sig_hi.empty:
        alt += "Significantly more likely to drop out than the reference group: " + "; ".join(
            f"{r[characteristic]} {r[level]} (odds ratio {r['_v']:.2f}, {r['_lo']:.2f} to {r['_hi']:.2f})"
            for _, r in sig_hi.iterrows()) + ". "
    if not sig_lo.empty:
        alt += "Significantly less likely: " + "; ".join(
            f"{r[characteristic]} {r[level]} ({r['_v']:.2f}, {r['_lo']:.2f} to {r['_hi']:.2f})"
            for _, r in sig_lo.iterrows()) + ". "
    if sig_hi.empty and sig_lo.empty:
        alt += "No group differs significantly from its reference group."
    return fig, alt.strip()
