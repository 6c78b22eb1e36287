"""Accessible charts, tables and text blocks for the notebooks and the published report.

Everything a notebook shows goes through here so the report meets WCAG 2.2 AA:

* charts are emitted as an HTML ``<figure>`` holding an ``<img>`` with real ``alt`` text
  and a ``<figcaption>``; nbconvert would otherwise write "No description has been
  provided for this image";
* charts are vector (SVG, text kept as text), so they stay sharp at any zoom and print
  size, and the PDF made from the report stays small. Layers too dense to be worth
  drawing as vectors (a map of thousands of small areas) are drawn as pixels at
  ``RASTER_DPI`` inside the SVG; axes and text around them stay vector;
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

import html
import io
import itertools
import math
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers or in CI; figures are embedded as SVG
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = [
    "LABEL_BOX",
    "OKABE_ITO",
    "callout",
    "compact_svg",
    "figure",
    "format_interval",
    "format_number",
    "html_block",
    "markdown",
    "rasterise_dense_layers",
    "setup_plotting",
    "svg_data_uri",
    "svg_markup",
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
#: Behind a label drawn over a map or among points: a pale box keeps it legible and, unlike
#: an outline ("halo") path effect, keeps it text in the SVG and PDF (searchable, and a
#: few bytes instead of every glyph's outline drawn twice).
LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}

#: Resolution of the parts of a chart drawn as pixels (dense layers, images), in dots per
#: inch of the figure. Charts print at about their own size (figure widths of 7 to 11
#: inches are scaled to the 6.9-inch text width of A4), so this is 200 dpi or more on paper.
RASTER_DPI = 200

#: A layer (collection) of a chart with more points than this is drawn as pixels. Every
#: point costs WeasyPrint time when it draws the PDF, while the pixels cost about the same
#: whatever the detail. Measured on Gloucestershire's small-area map (30,000 points):
#: 450 KB as vectors and 410 KB as pixels in the HTML; in the PDF 0.54 s and 133 KB as
#: vectors, 0.11 s and 337 KB as pixels. The synthetic areas' maps (up to 10,000 points)
#: and Tower Hamlets' (4,600) stay vector.
MAX_VECTOR_POINTS = 20_000

# Text stays text (``svg.fonttype: none``): searchable, a tenth of the size of glyph
# outlines, and drawn with the report's own embedded font in the PDF. A fixed hash salt
# makes matplotlib's clip-path ids, and so the bytes, the same from run to run.
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "needs-assessment"}

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"

# Characters a URL may hold unencoded (WHATWG URL code points); everything else in the
# SVG text is percent-encoded. Percent-encoding the compacted SVG is about 15% smaller
# than base64 for matplotlib's output, which is mostly digits, letters and punctuation.
_URL_SAFE = "!$&'()*+,-./:;=?@_~"
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{3,}")
_GEOMETRY_ATTRIBUTES = frozenset({
    "d", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry",
    "width", "height", "viewBox", "points", "transform",
})
_PATH_COMMAND = re.compile(r"\s*([MLHVCSQTAZmlhvcsqtaz])\s*")
_IDENTITY_ROTATE = re.compile(r"rotate\(-?0(?:\.0*)?(?: [-\d.]+ [-\d.]+)?\)")
#: Properties that SVG also accepts as attributes ("presentation attributes", SVG 1.1
#: section 6.4) among those matplotlib writes in ``style``. ``font`` (a shorthand) is not
#: one of them, so it stays in ``style``.
_PRESENTATION_ATTRIBUTES = frozenset({
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset",
    "stroke-opacity", "opacity", "font-family", "font-size", "font-style", "font-weight",
    "font-variant", "font-stretch", "text-anchor", "clip-rule", "color", "visibility",
    "display", "dominant-baseline", "alignment-baseline", "letter-spacing", "word-spacing",
})
#: One declaration of a ``style`` attribute: a name, a colon and a value that may quote
#: its font names ('DejaVu Sans'). A style this does not read to the end is left alone.
_DECLARATION = re.compile(r"([a-z-]+):((?:'[^']*'|[^;'\"])*)(?:;|$)")
_STYLESHEET_PROPERTY = re.compile(r"([a-z-]+)\s*:")
#: Containers whose children are drawn where they stand (unlike <defs>, <clipPath>,
#: <pattern> or <marker>, whose children are templates drawn from elsewhere).
_DRAWN_CONTAINERS = frozenset({f"{{http://www.w3.org/2000/svg}}{tag}" for tag in ("svg", "g", "a")})


#: The report's chart style: seaborn's ``set_theme(context="notebook", style="whitegrid")``
#: with the Okabe–Ito palette and the report's sizes, written out as the matplotlib settings
#: it makes. Importing seaborn only to set these cost every notebook kernel over a second
#: (seaborn imports scipy.stats); ``tests/test_display_style.py`` checks this dict still
#: equals what seaborn sets, so the charts look exactly as before. The image colour map
#: is cividis (colour-blind safe) rather than seaborn's "rocket".
REPORT_RC: dict[str, Any] = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.labelsize": 11.0,
    "axes.linewidth": 1.25,
    "axes.titlesize": 12.0,
    "axes.titleweight": "bold",
    "figure.dpi": 110.0,
    "figure.figsize": [7.5, 4.2],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12.0,
    "grid.color": ".8",
    "grid.linewidth": 1.0,
    "image.cmap": SEQUENTIAL_CMAP,
    "legend.fontsize": 11.0,
    "legend.frameon": False,
    "legend.title_fontsize": 12.0,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "savefig.dpi": RASTER_DPI,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.labelsize": 11.0,
    "xtick.major.size": 6.0,
    "xtick.major.width": 1.25,
    "xtick.minor.size": 4.0,
    "xtick.minor.width": 1.0,
    "ytick.color": ".15",
    "ytick.labelsize": 11.0,
    "ytick.left": False,
    "ytick.major.size": 6.0,
    "ytick.major.width": 1.25,
    "ytick.minor.size": 4.0,
    "ytick.minor.width": 1.0,
}


def setup_plotting() -> None:
    """Apply the report's chart style (:data:`REPORT_RC`): seaborn's whitegrid theme,
    Okabe–Ito palette, legible fonts."""
    from cycler import cycler
    from matplotlib.colors import to_rgb

    plt.rcParams.update(REPORT_RC)
    plt.rcParams["axes.prop_cycle"] = cycler(color=[to_rgb(c) for c in OKABE_ITO])


def _point_count(artist: Any) -> int:
    paths = artist.get_paths() or []
    offsets = artist.get_offsets()
    return sum(len(p.vertices) for p in paths) + (len(offsets) if offsets is not None else 0)


def rasterise_dense_layers(fig: plt.Figure, *, max_points: int = MAX_VECTOR_POINTS) -> int:
    """Mark every collection (polygons of a map, points of a scatter) with more than
    ``max_points`` points to be drawn as pixels inside the vector chart; return how many.

    Uses matplotlib's mixed-mode rendering (``Artist.set_rasterized``): the layer becomes
    one image at the ``dpi`` of ``savefig`` while axes, labels and legends stay vector.
    """
    marked = 0
    for ax in fig.axes:
        for collection in ax.collections:
            if not collection.get_rasterized() and _point_count(collection) > max_points:
                collection.set_rasterized(True)
                marked += 1
    return marked


def _round_decimals(match: re.Match[str]) -> str:
    text = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def compact_svg(svg: str) -> str:
    """Shrink matplotlib's SVG without changing what it draws.

    * drops the XML prolog, doctype and ``<metadata>`` (creator and date);
    * unwraps the ``<g id="...">`` groups matplotlib puts round every artist when they
      carry nothing but an id nobody refers to (about half the elements of a chart);
    * rounds coordinates inside the chart to 0.01 pt (3.5 micrometres on paper);
    * writes path data and styles without optional spaces, and drops the identity
      ``rotate(-0 x y)`` matplotlib puts on every label.

    Fewer elements matter as much as fewer bytes: WeasyPrint draws an SVG element by
    element in Python, so the PDF is made faster. General optimisers (scour, svgo) do more
    but are slow or need Node; this handles the one generator we use, in one pass.
    """
    root = ET.fromstring(svg)
    for metadata in root.findall(f"{{{_SVG_NS}}}metadata"):
        root.remove(metadata)
    referenced = set(re.findall(r"#([^\s\"')]+)", svg))
    text_tags = {f"{{{_SVG_NS}}}text", f"{{{_SVG_NS}}}tspan"}
    group_tag = f"{{{_SVG_NS}}}g"

    def flatten(parent: ET.Element) -> None:
        children: list[ET.Element] = []
        for child in list(parent):
            flatten(child)
            bare_group = (
                child.tag == group_tag
                and set(child.attrib) <= {"id"}
                and child.get("id") not in referenced
                and not (child.text or "").strip()
                and not (child.tail or "").strip()
            )
            if bare_group:
                children.extend(child)
            else:
                children.append(child)
        parent[:] = children

    flatten(root)
    for element in root.iter():
        # Whitespace between elements is layout of the file, not content, except within
        # a label (<text>, <tspan>), where it may separate words.
        if element.tag not in text_tags:
            if element.text is not None and not element.text.strip():
                element.text = None
            for child in element:
                if child.tail is not None and not child.tail.strip():
                    child.tail = None
        for name, value in element.attrib.items():
            # The root's size and viewBox stay exact: they set the scale of everything,
            # and viewers draw hatch-pattern tiles with visible seams at some scales.
            if name in _GEOMETRY_ATTRIBUTES and element is not root:
                value = _LONG_DECIMAL.sub(_round_decimals, " ".join(value.split()))
                if name == "d":
                    value = _PATH_COMMAND.sub(r"\1", value).replace(" ", ",")
                element.set(name, value)
            elif name == "style":
                element.set(name, re.sub(r"\s*([:;,])\s*", r"\1", value.strip()))
        if _IDENTITY_ROTATE.fullmatch(element.get("transform", "")):
            del element.attrib["transform"]
    styles_as_attributes(root)
    group_shared_clips(root)
    # ElementTree's prefixes are one table for the whole process, and other libraries
    # change it (importing WeasyPrint's PDF metadata module maps the empty prefix to no
    # namespace, which made this write <ns0:svg>), so they are set as the SVG is written.
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    return ET.tostring(root, encoding="unicode")


def styles_as_attributes(root: ET.Element) -> None:
    """Write each element's ``style="fill:#fff;stroke:#000"`` as attributes
    (``fill="#fff" stroke="#000"``), in place.

    WeasyPrint parses a ``style`` attribute with a CSS tokenizer, element by element, as
    it draws the PDF; an attribute it reads as it is. Both draw the same: an element's
    style and its presentation attributes (SVG 1.1, section 6.4) differ only in how they
    rank against style sheets, so a property that a ``<style>`` element of the SVG sets
    (matplotlib's ``*{stroke-linejoin: round; stroke-linecap: butt}``) stays in ``style``
    wherever an element sets it, and keeps outranking the sheet.
    """
    sheet_properties = {
        name
        for sheet in root.iter(f"{{{_SVG_NS}}}style")
        for name in _STYLESHEET_PROPERTY.findall(sheet.text or "")
    }
    for element in root.iter():
        style = element.get("style")
        if not style:
            continue
        declarations = _DECLARATION.findall(style)
        if "".join(f"{name}:{value};" for name, value in declarations).rstrip(";") != style.rstrip(";"):
            continue  # not the simple list matplotlib writes: leave it as it is
        kept = []
        for name, value in declarations:
            if name in _PRESENTATION_ATTRIBUTES and name not in sheet_properties:
                element.set(name, value.strip())
            else:
                kept.append(f"{name}:{value}")
        if kept:
            element.set("style", ";".join(kept))
        else:
            del element.attrib["style"]


def group_shared_clips(root: ET.Element) -> None:
    """Put each run of neighbouring elements clipped by the same path into one
    ``<g clip-path="...">``, in place.

    matplotlib clips every line, bar and label inside the axes one by one, and WeasyPrint
    draws the clipping path again for each (2,700 times in the default report). Clipping
    a group clips each of its members to the same region, in the same order. Only
    elements drawn where they stand are grouped, and only those without a ``transform``
    (which would move their clipping path with them) or an ``id`` (which something could
    use elsewhere, without the group's clip).
    """
    def clip_of(element: ET.Element) -> str | None:
        if "transform" in element.attrib or "id" in element.attrib:
            return None
        return element.get("clip-path")

    def regroup(parent: ET.Element) -> None:
        children: list[ET.Element] = []
        for clip, run in itertools.groupby(list(parent), key=clip_of):
            members = list(run)
            for member in members:
                if member.tag in _DRAWN_CONTAINERS:
                    regroup(member)
            if clip and len(members) > 1:
                group = ET.Element(f"{{{_SVG_NS}}}g", {"clip-path": clip})
                for member in members:
                    del member.attrib["clip-path"]
                group.extend(members)
                children.append(group)
            else:
                children.extend(members)
        parent[:] = children

    regroup(root)


def svg_markup(fig: plt.Figure) -> str:
    """The figure as compact SVG (see ``compact_svg``), dense layers rasterised."""
    rasterise_dense_layers(fig)
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_RC):
        fig.savefig(buffer, format="svg", bbox_inches="tight", dpi=RASTER_DPI)
    return compact_svg(buffer.getvalue())


def svg_data_uri(svg: str) -> str:
    """``data:image/svg+xml,...`` URL of an SVG document (percent-encoded UTF-8)."""
    return "data:image/svg+xml," + urllib.parse.quote(svg, safe=_URL_SAFE)


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
    uri = svg_data_uri(svg_markup(fig))
    plt.close(fig)
    ident = f' id="{html.escape(figure_id)}"' if figure_id else ""
    # An <img> (not inline <svg>) keeps each chart's ids to itself, gives the alt text
    # to screen readers and to the PDF's /Figure tag, and keeps the SVG's elements out
    # of the page's CSS cascade, which WeasyPrint would otherwise style one by one.
    return html_block(
        f'<figure class="chart"{ident}>'
        f'<img src="{html.escape(uri, quote=True)}" alt="{html.escape(alt.strip(), quote=True)}"/>'
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
