"""A funnel plot of many areas from :func:`needs_assessment.stats.overdispersed_limits`.

For comparisons across many areas (e.g. every upper-tier local authority in a batch
summary): x = denominator (expected events for ratios, population for rates and
proportions), y = the indicator, the target line and one pair of limit lines per level,
with the over-dispersion method note as a subtitle. Returns ``(figure, alt_text)``, the alt
text written from the numbers drawn. Okabe–Ito colours, and meaning never carried by colour
alone: markers point up above the limits and down below them, and the areas outside are
named.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from needs_assessment.charts.places import _label_points, _number_axis
from needs_assessment.display import OKABE_ITO

__all__ = ["overdispersed_funnel_chart"]

_LINESTYLES = ("--", ":", "-.", (0, (5, 1, 1, 1)))
_WITHIN = ("o", OKABE_ITO[0])
# (marker, colour) for crossing the narrowest and the wider limits, above and below
_ABOVE = (("^", OKABE_ITO[1]), ("^", OKABE_ITO[5]))
_BELOW = (("v", OKABE_ITO[4]), ("v", OKABE_ITO[2]))


def _style(classification: str, labels: Sequence[str]) -> tuple[str, str]:
    if classification == "within":
        return _WITHIN
    side, level = classification.split(" ", 1)
    rank = 0 if level == labels[0] else 1
    return (_ABOVE if side == "above" else _BELOW)[rank]


def _names(result, names) -> pd.Series:
    if names is None:
        return pd.Series(result.units.index.astype(str), index=result.units.index)
    if isinstance(names, pd.Series):
        if names.index.equals(result.units.index):
            return names.astype(str)
        values = names.to_numpy()
    else:
        values = np.asarray(list(names), dtype=object)
    if len(values) != len(result.units):
        raise ValueError(
            f"names must give one name per area ({len(result.units)}); got {len(values)}"
        )
    return pd.Series([str(v) for v in values], index=result.units.index)


def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _list(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def overdispersed_funnel_chart(
    result: Any,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    names=None,
    highlight: Sequence[Any] = (),
    label: str = "outside",
    max_labels: int = 12,
    decimals: int | None = None,
    target_label: str = "Average",
    show_note: bool = True,
):
    """Funnel plot of every area with its limits, from an
    :class:`~needs_assessment.stats.OverdispersedFunnel`.

    Parameters
    ----------
    result
        The output of :func:`needs_assessment.stats.overdispersed_limits`.
    names
        Area names for labels and alt text (a Series indexed like ``result.units`` or a
        sequence in its order); default the index of ``result.units``.
    highlight
        Index labels of areas to mark with a black-edged diamond and always name (e.g. the
        area the report is about).
    label
        ``"outside"`` (default): name the areas outside the narrowest limits, the most
        extreme first, at most ``max_labels``; ``"highlight"``: name only highlighted
        areas; ``"all"``: name every area (few areas only).
    decimals
        Decimals of the values in the alt text (default from their size).
    target_label
        Legend text of the target line, e.g. "England average".
    show_note
        Show ``result.method_note`` under the title (it is always in the alt text).
    """
    if label not in ("outside", "highlight", "all"):
        raise ValueError(f"label must be 'outside', 'highlight' or 'all'; got {label!r}")
    units, grid = result.units, result.grid
    labels = [f"{level * 100:g}%" for level in result.levels]
    cols = [c.replace("lower_", "") for c in grid.columns if c.startswith("lower_")]
    name = _names(result, names)
    missing = [h for h in highlight if h not in units.index]
    if missing:
        raise ValueError(f"highlight names areas not in the result: {missing!r}")
    x = units["denominator"].to_numpy(float)
    y = units["value"].to_numpy(float)
    if decimals is None:
        top = float(np.nanmax(np.abs(np.r_[y, result.target]))) if len(y) else 0.0
        decimals = 0 if top >= 100 else (1 if top >= 10 else 2)

    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    ax.plot(grid["x"], grid["target"], color="black", linewidth=1.1, zorder=2)
    for k, col in enumerate(cols):
        style = _LINESTYLES[k % len(_LINESTYLES)]
        for side in ("lower", "upper"):
            ax.plot(grid["x"], grid[f"{side}_{col}"], color="#555555", linestyle=style,
                    linewidth=1.2, zorder=2)
    used = []
    small = 22 if len(units) > 40 else 40
    for cls in pd.unique(units["classification"]):
        sel = (units["classification"] == cls).to_numpy()
        marker, colour = _style(cls, labels)
        ax.scatter(x[sel], y[sel], marker=marker, s=small, color=colour, edgecolor="black",
                   linewidth=0.4, zorder=3)
        used.append(cls)
    is_hi = units.index.isin(list(highlight))
    if is_hi.any():
        ax.scatter(x[is_hi], y[is_hi], marker="D", s=70, facecolor="none", edgecolor="black",
                   linewidth=1.6, zorder=4)

    if x.max() / x.min() > 10 or grid["x"].max() / grid["x"].min() > 10:
        ax.set_xscale("log")
    ax.set_xlim(grid["x"].min(), grid["x"].max())
    # y range: every area, the target and the widest limits at the smallest area's size;
    # the mouth of the funnel further left may be clipped
    inside = grid.loc[grid["x"] >= x.min()].iloc[0]
    ys = np.r_[y, result.target, inside[f"lower_{cols[-1]}"], inside[f"upper_{cols[-1]}"]]
    ys = ys[np.isfinite(ys)]
    pad = 0.08 * ((ys.max() - ys.min()) or abs(ys.max()) or 1.0)
    ax.set_ylim(max(0.0, ys.min() - pad) if ys.min() >= 0 else ys.min() - pad, ys.max() + pad)
    if ax.get_xscale() == "log":
        _number_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    note = result.method_note
    if show_note and note:
        wrapped = textwrap.fill(note, 100)
        ax.set_title(title, pad=8 + 11 * (wrapped.count("\n") + 1))
        ax.annotate(wrapped, (0.5, 1.0), xycoords="axes fraction", xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8.5,
                    fontstyle="italic", color="#333333")
    else:
        ax.set_title(title)

    outside = units.loc[units["classification"] != "within"]
    order = outside["z_adjusted"].abs().sort_values(ascending=False).index
    if label == "all":
        to_label = list(units.index)
    elif label == "outside":
        to_label = list(order[:max_labels]) + [h for h in highlight if h not in order[:max_labels]]
    else:
        to_label = list(highlight)
    _label_points(ax, [(units.at[i, "denominator"], units.at[i, "value"], name[i])
                       for i in to_label])

    handles = [Line2D([], [], color="black", linewidth=1.1, label=target_label)]
    handles += [Line2D([], [], color="#555555", linestyle=_LINESTYLES[k % len(_LINESTYLES)],
                       linewidth=1.2, label=f"{lab} limits") for k, lab in enumerate(labels)]
    order_cls = ([f"above {lab}" for lab in reversed(labels)] + ["within"]
                 + [f"below {lab}" for lab in labels])
    words = {"within": f"Within {labels[0]} limits"}
    for cls in order_cls:
        if cls in used:
            marker, colour = _style(cls, labels)
            if cls in words:
                text = words[cls]
            else:
                side, lab = cls.split(" ", 1)
                text = f"{side.capitalize()} {lab} limit"
            handles.append(Line2D([], [], marker=marker, color=colour, markeredgecolor="black",
                                  linestyle="", label=text))
    if is_hi.any():
        handles.append(Line2D([], [], marker="D", markerfacecolor="none", markeredgecolor="black",
                              linestyle="", markeredgewidth=1.6, label="Highlighted area"))
    fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), 4), fontsize=8.5,
               bbox_to_anchor=(0.5, 0.0))
    rows = -(-len(handles) // 4)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.01, 1, 1))

    alt = (f"{title}: funnel plot of {ylabel} against {xlabel} for {len(units)} areas, with the "
           f"target of {_fmt(result.target, decimals)} and {' and '.join(labels)} control "
           f"limits that narrow as size grows. {note.rstrip('.')}.")
    for cls in order_cls:
        if cls == "within":
            continue
        members = units.loc[units["classification"] == cls]
        if len(members):
            items = [f"{name[i]} ({_fmt(members.at[i, 'value'], decimals)})"
                     for i in members["z_adjusted"].abs().sort_values(ascending=False).index]
            side, lab = cls.split(" ", 1)
            only = " only" if lab != labels[-1] else ""
            alt += f" {len(members)} {side} the {lab} limit{only}: {_list(items)}."
    n_within = int((units["classification"] == "within").sum())
    alt += f" {n_within} of {len(units)} areas are within the {labels[0]} limits."
    for h in highlight:
        cls = units.at[h, "classification"]
        where = "within the limits" if cls == "within" else f"{cls.split(' ')[0]} the {cls.split(' ', 1)[1]} limit"
        alt += f" {name[h]}: {_fmt(units.at[h, 'value'], decimals)}, {where}."
    return fig, alt
