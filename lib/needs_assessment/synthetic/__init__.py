"""Synthetic areas and illustrative records: the generators, kept out of the data contract.

* :mod:`.areas`: the built-in whole areas ``county`` (Anyshire), ``unitary`` (Anytown) and
  ``national`` (benchmarks), written in the layouts analysts receive, and the truth
  planted in them (:data:`PLANTED`);
* :mod:`.real`: illustrative record-level inputs generated onto a real area's published
  data (``data.illustrative: {variant: onto_public}``);
* :mod:`.sources`, :mod:`.geo`, :mod:`.people`, :mod:`.harms`: the published magnitudes
  and the geography, people and harms the generators are built from.

The generators sit above the data contract: :mod:`.real` loads the real area with
:mod:`needs_assessment.inputs`, and nothing in :mod:`needs_assessment.data` or the chapters
(analysis, charts, report) imports this package, so the analysis never sees the planted
truth.
"""

from .areas import (
    EXTRACT_DATE,
    PLANTED,
    VARIANTS,
    Planted,
    SyntheticArea,
    generate_area,
    simulate_area,
)

__all__ = [
    "EXTRACT_DATE",
    "PLANTED",
    "VARIANTS",
    "Planted",
    "SyntheticArea",
    "generate_area",
    "simulate_area",
]
