"""What the chapters' maps leave out when an area has very many small areas or places.

A national-scale run has 33,755 small areas in 300 districts. Drawn like a county's, each
small area's white outline covers most of its few pixels, 300 names overprint one another
and each map took a megabyte of the report. Up to the limits below (every county and
unitary area) maps are drawn exactly as before.
"""

from __future__ import annotations

from typing import Any

from needs_assessment.analysis.common import PLACE_ROW_LIMIT

__all__ = ["OUTLINE_LIMIT", "name_places", "outline_width", "small_area_edges"]

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
