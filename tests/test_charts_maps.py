"""Maps with very many places (national scale): not named, thinly outlined, and the alt
text says so; up to the limit they are drawn and named as before."""

from __future__ import annotations

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd
from shapely.geometry import box

from needs_assessment.charts._maps import OUTLINE_LIMIT, small_area_edges
from needs_assessment.charts.places import choropleth_panels


def _grid(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "area_code": [f"D{i:03d}" for i in range(n)],
        "area_name": [f"District {i}" for i in range(n)],
        "geometry": [box(i % 10, i // 10, i % 10 + 1, i // 10 + 1) for i in range(n)],
    }, crs=27700)


def _map(n: int):
    areas = _grid(n)
    values = pd.Series(range(n), index=areas["area_code"], dtype=float)
    return choropleth_panels(areas, [{"values": values, "title": "Rate", "unit": "per 100,000"}],
                             level="district", area_name="Testshire")


def test_up_to_forty_places_are_named():
    fig, alt = _map(40)
    try:
        names = {t.get_text() for t in fig.axes[0].texts}
        assert {"District 0", "District 39"} <= names
        assert "too many to name" not in alt
    finally:
        plt.close(fig)


def test_more_than_forty_places_are_not_named_and_the_alt_text_says_so():
    fig, alt = _map(41)
    try:
        assert not [t for t in fig.axes[0].texts if t.get_text().startswith("District")]
        assert "The 41 districts are too many to name on the map." in alt
        assert "highest District 40 (40.0 per 100,000), lowest District 0 (0.0)" in alt
    finally:
        plt.close(fig)


def test_small_areas_lose_their_outlines_only_above_the_limit():
    assert small_area_edges(OUTLINE_LIMIT, linewidth=0.1) == {"edgecolor": "white", "linewidth": 0.1}
    assert small_area_edges(OUTLINE_LIMIT + 1, linewidth=0.1) == {"edgecolor": "face", "linewidth": 0}


def _drawn_map(make_figure, draws: list[int]) -> tuple[str, int]:
    from needs_assessment.display import svg_markup

    areas = _grid(12)
    areas["value"] = range(12)
    fig, ax = make_figure(figsize=(6, 4))
    areas.plot(column="value", ax=ax, legend=True, edgecolor="white", linewidth=0.5)
    areas.boundary.plot(ax=ax, color="black", linewidth=0.8)
    renders_while_plotting = draws[0]
    svg = svg_markup(fig)
    plt.close(fig)
    return svg, renders_while_plotting


def test_a_map_figure_is_not_rendered_after_each_layer_and_saves_the_same_chart(monkeypatch):
    """geopandas asks for a redraw after each layer; on the kernels' Agg canvas that is a
    whole render each time. map_figure ignores the request; the saved SVG is unchanged."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from needs_assessment.charts._maps import map_figure

    draws = [0]
    real_draw = FigureCanvasAgg.draw

    def counting_draw(self, *args, **kwargs):
        draws[0] += 1
        return real_draw(self, *args, **kwargs)

    monkeypatch.setattr(FigureCanvasAgg, "draw", counting_draw)
    plain_svg, plain_renders = _drawn_map(plt.subplots, draws)
    draws[0] = 0
    map_svg, map_renders = _drawn_map(map_figure, draws)
    assert plain_renders == 2  # one per geopandas layer, as geopandas does
    assert map_renders == 0
    assert map_svg == plain_svg
