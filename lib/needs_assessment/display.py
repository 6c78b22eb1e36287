"""Accessible charts, tables and text blocks for the notebooks and the published report.

Everything a notebook shows goes through here so the report meets WCAG 2.2 AA:

* charts are emitted as an HTML ``<figure>`` holding a PNG with real ``alt`` text and a
  ``<figcaption>``; nbconvert would otherwise write "No description has been provided
  for this image";
* colours come from the Okabe–Ito palette (distinguishable with the common forms of
  colour-vision deficiency) and never carry meaning alone: lines and bars also differ
  by marker, hatch or label;
* tables are real ``<table>`` elements with a ``<caption>``, ``<th scope="col">`` column
  headers and ``<th scope="row">`` row headers.

The table renderer is written here rather than with ``pandas.Styler`` or
``great_tables`` because neither emits ``scope`` attributes or row headers for a plain
data column, which screen readers need to announce cells in context.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers or in CI; figures are embedded as PNG
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = [
    "OKABE_ITO",
    "callout",
    "figure",
    "format_interval",
    "format_number",
    "html_block",
    "markdown",
    "setup_plotting",
    "table",
]

#: Okabe & Ito (2008) "Color Universal Design" palette, black omitted.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow (use on dark backgrounds or with outlines only)
    "#000000",
)

#: Sequential colour map for choropleths: perceptually uniform and colour-blind safe.
SEQUENTIAL_CMAP = "cividis"

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def setup_plotting() -> None:
    """Apply the report's chart style: seaborn theme, Okabe–Ito palette, legible fonts."""
    import seaborn as sns

    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=list(OKABE_ITO),
        font_scale=1.0,
        rc={
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.frameon": False,
            "figure.figsize": (7.5, 4.2),
        },
    )


def _png_data_uri(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    # Fixed metadata keeps the bytes identical between runs of the same data.
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class html_block:
    """A display object whose only representation is HTML (no image/png fallback)."""

    def __init__(self, content: str):
        self.content = content

    def _repr_html_(self) -> str:
        return self.content

    def __str__(self) -> str:
        return self.content


def figure(fig: plt.Figure, *, alt: str, caption: str, figure_id: str | None = None) -> html_block:
    """Render a matplotlib figure as an accessible ``<figure>`` and close it.

    ``alt`` describes what the chart shows and its main message in words (the numbers a
    sighted reader would take from it); ``caption`` is the visible title under the chart.
    """
    if not alt or not alt.strip():
        raise ValueError("figure(): alt text is required for every chart (WCAG 1.1.1)")
    uri = _png_data_uri(fig)
    plt.close(fig)
    ident = f' id="{html.escape(figure_id)}"' if figure_id else ""
    return html_block(
        f'<figure class="chart"{ident}>'
        f'<img src="{uri}" alt="{html.escape(alt.strip(), quote=True)}"/>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def format_number(value: Any, *, decimals: int = 0, percent: bool = False) -> str:
    """Format a number for text: thousands separators, fixed decimals, '[c]' passes through."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "[x]"
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return "[x]"
    except (TypeError, ValueError):
        pass
    if percent:
        return f"{float(value) * 100:,.{decimals}f}%"
    return f"{float(value):,.{decimals}f}"


def format_interval(lower: Any, upper: Any, *, decimals: int = 0, percent: bool = False) -> str:
    """'(66 to 75)' style interval; an en dash is avoided so screen readers say 'to'."""
    lo = format_number(lower, decimals=decimals, percent=percent)
    hi = format_number(upper, decimals=decimals, percent=percent)
    return f"({lo} to {hi})"


def table(
    frame: pd.DataFrame,
    *,
    caption: str,
    row_header: str | None = None,
    formats: Mapping[str, Callable[[Any], str] | str] | None = None,
    note: str | None = None,
    table_id: str | None = None,
) -> html_block:
    """Render a DataFrame as an accessible HTML table.

    ``row_header`` names the column whose cells label each row (rendered as
    ``<th scope="row">``). ``formats`` maps a column to a format string such as
    ``"{:,.1f}"`` or a callable; strings (e.g. the ``[c]`` suppression marker) are shown
    as they are.
    """
    formats = dict(formats or {})
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    parts = [f'<table class="data-table"{ident}>', f"<caption>{html.escape(caption)}</caption>"]
    parts.append("<thead><tr>")
    for column in frame.columns:
        parts.append(f'<th scope="col">{html.escape(str(column))}</th>')
    parts.append("</tr></thead><tbody>")
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
    for row in frame.itertuples(index=False, name=None):
        parts.append("<tr>")
        for column, value in zip(frame.columns, row, strict=True):
            text = _format_cell(value, formats.get(column))
            is_num = numeric[column] or _looks_numeric(text)
            cls = ' class="num"' if is_num else ""
            if column == row_header:
                parts.append(f'<th scope="row"{cls}>{html.escape(text)}</th>')
            else:
                parts.append(f"<td{cls}>{html.escape(text)}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if note:
        parts.append(f'<p class="table-note">{html.escape(note)}</p>')
    return html_block("".join(parts))


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace("[c]", "").strip()
    if not stripped:
        return text.strip() == "[c]"
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def _format_cell(value: Any, fmt: Callable[[Any], str] | str | None) -> str:
    if isinstance(value, str):
        return value
    try:
        if value is None or pd.isna(value):
            return "[x]"
    except (TypeError, ValueError):
        pass
    if fmt is None:
        if isinstance(value, float):
            return f"{value:,.1f}"
        if isinstance(value, int) or hasattr(value, "item"):
            return f"{value:,}"
        return str(value)
    if callable(fmt):
        return fmt(value)
    return fmt.format(value)


def callout(text: str, *, kind: str = "info", title: str | None = None) -> html_block:
    """A boxed message, e.g. kind='illustrative' for figures from generated records,
    'absent' where an area has no data for a section, 'finding' for a key message."""
    heading = f"<strong>{html.escape(title)}</strong> " if title else ""
    return html_block(
        f'<div class="callout callout-{html.escape(kind)}" role="note">'
        f"<p>{heading}{html.escape(text)}</p></div>"
    )


def markdown(text: str):
    """Narrative text with computed numbers, rendered as Markdown."""
    from IPython.display import Markdown

    return Markdown(text)


def bullet_list(items: Sequence[str]) -> html_block:
    body = "".join(f"<li>{html.escape(i)}</li>" for i in items)
    return html_block(f"<ul>{body}</ul>")
