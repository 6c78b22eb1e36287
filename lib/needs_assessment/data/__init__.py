"""Input data: the canonical contract, loaders for the layouts analysts have, and checks.

>>> from needs_assessment.data import load_area
>>> area = load_area(params)          # every configured dataset, validated together
>>> area.has("crime"), area.treatment_episodes.shape

* :mod:`.schemas`: the contract, every dataset's canonical columns, types and rules in
  one module; :mod:`.codes`: the allowed codes and their labels;
* :mod:`.loaders`: one module per dataset family reading the layouts analysts have
  (ONS, MHCLG, NDTMS-like, police.uk, Fingertips) into the contract;
* :mod:`.area`: :func:`load_area`, every configured file plus the cross-dataset checks;
* :mod:`.errors`: :class:`InputDataError`.

Every failure is an :class:`InputDataError` naming the file, column, spreadsheet rows and
what was expected. See ``data/README.md`` for the contract and accepted source layouts.
This package imports nothing from the rest of the workbook but ``params`` (for types): a
real area's public-data builder is passed in (:func:`needs_assessment.inputs.load_area`),
and the synthetic generators live in :mod:`needs_assessment.synthetic`.
"""

from .area import DATASETS, AreaData, load_area
from .codes import AGE_BANDS, CODES, age_band_for, label, labels, normalise_code
from .errors import InputDataError, Problem
from .loaders import (
    POLICE_UK_COLUMNS,
    check_frame,
    load_admissions,
    load_boundaries,
    load_comparators,
    load_crime,
    load_deaths,
    load_geography,
    load_linkable_list,
    load_population,
    load_prison_releases,
    load_services,
    load_treatment_episodes,
)
from .schemas import CANONICAL_COLUMNS, SCHEMAS

__all__ = [
    "AGE_BANDS",
    "CANONICAL_COLUMNS",
    "CODES",
    "DATASETS",
    "POLICE_UK_COLUMNS",
    "SCHEMAS",
    "AreaData",
    "InputDataError",
    "Problem",
    "age_band_for",
    "check_frame",
    "label",
    "labels",
    "load_admissions",
    "load_area",
    "load_boundaries",
    "load_comparators",
    "load_crime",
    "load_deaths",
    "load_geography",
    "load_linkable_list",
    "load_population",
    "load_prison_releases",
    "load_services",
    "load_treatment_episodes",
    "normalise_code",
]
