"""Charts for the chapters, one module per chapter.

Each function returns ``(figure, alt_text)``: the alt text is written from the same
numbers the chart draws, so it always says what the chart shows. Pass both to
:func:`needs_assessment.display.figure`. Colours come from the Okabe–Ito palette and
meaning is never carried by colour alone (labels, markers, hatching repeat it).
"""

from needs_assessment.charts.profile import deprivation_deciles_chart, population_pyramid_chart

__all__ = ["deprivation_deciles_chart", "population_pyramid_chart"]
