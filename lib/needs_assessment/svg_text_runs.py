"""Chart labels drawn as whole words in the PDF, not letter by letter.

WeasyPrint (up to 70 at least) draws every SVG ``<text>`` one code point at a time: it
lays out each letter with Pango on its own and writes it with its own text operator,
because SVG lets ``x``, ``y``, ``dx``, ``dy`` and ``rotate`` place each glyph. The
maintainers call this a bug (Kozea/WeasyPrint#2249: it breaks ligatures, kerning and
combining characters) and suggest the workaround used here: lay the text out whole when
nothing places its glyphs one by one. A fix along those lines (#2754) was closed while
they plan to rewrite text handling, so the workaround lives here until a release has it.

For the report it matters for speed and size as well as looks: matplotlib writes each
tick label, title and annotation as one ``<text>`` with a single position, so the
default report's 37 charts made 14,286 letter layouts for 1,279 labels. Shaped whole,
the charts draw in about a fifth less time (3.6 to 2.9 CPU seconds, median of 5
alternating runs) and report.pdf is some 8% smaller; glyph positions within a label
follow the font's kerning, as a browser shows the same SVG.

How: WeasyPrint's own ``text`` function still does all the work (font, anchoring,
bounding box, drawing). For a simple label it is given the node's text as a string whose
iteration yields the whole text once, so its per-letter loop runs once with the whole
text. Labels that do place glyphs one by one (several ``x``/``y``/``dx``/``dy`` values, any
``rotate``, ``letter-spacing`` or ``textLength``) and ``textPath`` keep WeasyPrint's
letter-by-letter drawing. If a WeasyPrint release changes the internals this relies on,
:func:`whole_svg_text_runs` leaves WeasyPrint as it is (the report is still right, only
slower) and :func:`supported` says so; a test fails on such an upgrade so it is noticed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["whole_svg_text_runs", "supported"]

#: Attributes that place glyphs one by one when they hold more than one value.
_PER_GLYPH_LISTS = ("x", "y", "dx", "dy")
#: Attributes that act on each glyph whatever their value.
_PER_GLYPH_ALWAYS = ("rotate", "letter-spacing", "textLength")
#: Elements laid out as one run of text (``textPath`` follows a path glyph by glyph).
_RUN_TAGS = ("text", "tspan")

_LOCK = threading.Lock()
# "stock": WeasyPrint's own text function, kept from the first block on (also for a drawing
# under way in a thread outside any block when the last block ends); "users": open blocks.
_state = {"users": 0, "stock": None}


class _WholeText(str):
    """A label's text whose iteration yields the whole text once (see module docstring)."""

    __slots__ = ()

    def __iter__(self) -> Iterator[str]:
        yield str(self)


def _places_glyphs_one_by_one(node) -> bool:
    attrib = node.attrib
    if any(attrib.get(name) not in (None, "") for name in _PER_GLYPH_ALWAYS):
        return True
    # Commas and spaces both separate list values in SVG.
    return any(
        len(str(attrib.get(name, "")).replace(",", " ").split()) > 1 for name in _PER_GLYPH_LISTS
    )


def supported() -> bool:
    """Whether this WeasyPrint has the internals the workaround relies on: the module's
    ``text`` drawing function, the tag table that calls it, and ``Node.text`` read from
    the wrapped element's ``text``."""
    import weasyprint.svg as svg

    stock = _state["stock"] or getattr(svg, "text", None)
    node_class = getattr(svg, "Node", None)
    return (
        callable(stock)
        and isinstance(getattr(svg, "TAGS", None), dict)
        and all(svg.TAGS.get(tag) in (stock, _draw_text) for tag in _RUN_TAGS)
        and isinstance(getattr(node_class, "text", None), property)
    )


def _draw_text(svg, node, font_size):
    stock = _state["stock"]
    text = node.text
    if (
        not text
        or len(text) == 1
        or node.tag not in _RUN_TAGS
        or _places_glyphs_one_by_one(node)
    ):
        return stock(svg, node, font_size)
    element = node._etree_node
    element.text = _WholeText(text)
    try:
        return stock(svg, node, font_size)
    finally:
        element.text = text


@contextlib.contextmanager
def whole_svg_text_runs() -> Iterator[bool]:
    """While the block runs, WeasyPrint lays out simple SVG labels whole (see the module
    docstring). Yields whether it does (False if this WeasyPrint is not supported).
    Blocks may nest and run in several threads at once; WeasyPrint is restored when the
    last one ends."""
    import weasyprint.svg as svg

    with _LOCK:
        active = _state["users"] > 0 or supported()
        if active and _state["users"] == 0:
            _state["stock"] = stock = _state["stock"] or svg.text
            # draw_node compares TAGS entries with the module's ``text`` to find text
            # elements (anchoring, bounding boxes), so both must name the new function.
            svg.text = _draw_text
            for tag, function in list(svg.TAGS.items()):
                if function is stock:
                    svg.TAGS[tag] = _draw_text
        if active:
            _state["users"] += 1
    try:
        yield active
    finally:
        if active:
            with _LOCK:
                _state["users"] -= 1
                if _state["users"] == 0:
                    for tag, function in list(svg.TAGS.items()):
                        if function is _draw_text:
                            svg.TAGS[tag] = _state["stock"]
                    svg.text = _state["stock"]
