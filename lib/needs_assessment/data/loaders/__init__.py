"""Loaders: read the layouts analysts already have, map them to the canonical contract, validate.

One module per dataset family; the contract they all load into is :mod:`..schemas`:

=====================  ===========================================================
:mod:`.geography`      geography (small areas, wards, districts, IMD), boundaries
:mod:`.population`     population (small area x sex x age), characteristics
:mod:`.records`        treatment episodes, prison releases, linkable lists
:mod:`.harms`          deaths, hospital admissions, police.uk crime
:mod:`.context`        comparators (Fingertips export), service sites
:mod:`._core`          what they share: provenance, reading, column mapping, parsing,
                       validation, :func:`check_frame`
=====================  ===========================================================

Every loader

* opens its input read-only and never writes to it;
* reads CSV (UTF-8, with or without a byte-order mark) and, for tables, Excel ``.xlsx``
  (the first sheet whose header row it recognises; the header may sit below title rows);
* maps source column names to canonical ones (case, spaces and punctuation ignored; the
  ONS/MHCLG/NDTMS/police.uk/Fingertips names listed in ``data/README.md`` are recognised);
* normalises codes (labels and common aliases accepted, see :mod:`..codes`);
* validates against the pandera schema of :mod:`..schemas`; and
* raises one :class:`~..errors.InputDataError` listing every problem in the file, each naming
  the file, the column, the spreadsheet row numbers (header = row 1) and what was expected.

Source columns the contract does not use are dropped. The returned frames have a fresh
``RangeIndex`` and exactly the canonical columns.
"""

from ._core import check_frame
from .context import load_comparators, load_services
from .geography import load_boundaries, load_geography
from .harms import POLICE_UK_COLUMNS, load_admissions, load_crime, load_deaths
from .population import load_characteristics, load_population
from .records import load_linkable_list, load_prison_releases, load_treatment_episodes

__all__ = [
    "POLICE_UK_COLUMNS",
    "check_frame",
    "load_admissions",
    "load_characteristics",
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
]
