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

import importlib
from typing import TYPE_CHECKING

# Names are imported from their modules on first use (PEP 562), so that importing one
# light module of this package (``area_data``, ``codes``) does not import the loaders and
# pandera with it: every chapter's kernel starts faster.
_EXPORTS = {
    "AGE_BANDS": ".codes",
    "AreaData": ".area_data",
    "CANONICAL_COLUMNS": ".schemas",
    "CODES": ".codes",
    "DATASETS": ".area_data",
    "InputDataError": ".errors",
    "POLICE_UK_COLUMNS": ".loaders",
    "Problem": ".errors",
    "SCHEMAS": ".schemas",
    "age_band_for": ".codes",
    "check_frame": ".loaders",
    "label": ".codes",
    "labels": ".codes",
    "load_admissions": ".loaders",
    "load_area": ".area",
    "load_boundaries": ".loaders",
    "load_comparators": ".loaders",
    "load_crime": ".loaders",
    "load_deaths": ".loaders",
    "load_geography": ".loaders",
    "load_linkable_list": ".loaders",
    "load_population": ".loaders",
    "load_prison_releases": ".loaders",
    "load_services": ".loaders",
    "load_treatment_episodes": ".loaders",
    "normalise_code": ".codes",
}

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


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
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
