"""How the chapters' maps are drawn: a figure that is not redrawn after every layer, and
what the maps leave out when an area has very many small areas or places.

A national-scale run has 33,755 small areas in 300 districts. Drawn like a county's, each
small area's white outline covers most of its few pixels, 300 names overprint one another
and each map took a megabyte of the report. Up to the limits below (every county and
unitary area) maps are drawn exactly as before.
"""

from __future__ import annotations

from typing import Any

from needs_assessment.analysis.common import PLACE_ROW_LIMIT

__all__ = ["OUTLINE_LIMIT", "map_figure", "name_places", "outline_width", "small_area_edges"]

def map_figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` for a chart drawn with geopandas.

    geopandas asks the canvas to redraw after every layer it plots (``draw_idle``), which
    on the Agg canvas the kernels use is a whole render of the figure each time, never
    seen: only the SVG that ``display.figure`` saves is shown. Here that request does
    nothing, which saves 0.1-0.3 s per layer (measured on the places chapter's maps) and
    leaves the saved chart unchanged, byte for byte (``tests/test_charts_maps.py``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*args, **kwargs)
    fig.canvas.draw_idle = lambda *a, **k: None  # type: ignore[method-assign]
    return fig, axes


#: Above this many small areas they are filled without outlines.
OUTLINE_LIMIT = 5_000


def small_area_edges(n_small_areas: int, *, linewidth: float, edgecolor: str = "white") -> dict[str, Any]:
    """Outline style of small-area polygons: as given, or none above :data:`OUTLINE_LIMIT`."""
    if n_small_areas <= OUTLINE_LIMIT:
        return {"edgecolor": edgecolor, "linewidth": linewidth}
    return {"edgecolor": "face", "linewidth": 0}


def name_places(n_places: int) -> bool:
    """Whether a map can name each district or ward (at most ``PLACE_ROW_LIMIT`` of them)."""
    return n_places <= PLACE_ROW_LIMIT


def outline_width(n_places: int, linewidth: float) -> float:
    """Line width of district or ward boundaries: thinner when there are too many to name."""
    return linewidth if name_places(n_places) else min(linewidth, 0.4)
