"""Published open data for real areas: readers, builders and the fetch command.

* :mod:`.readers` read the published layouts (Census 2021 tables, the ONS LSOA 2011 to
  2021 lookup, ONS deaths related to drug poisoning by authority, NHS Digital admissions)
  into tidy validated frames (the ONS LSOA lookup, IoD 2025 File 7 and boundaries are read
  by :mod:`needs_assessment.data.loaders.geography`);
* :mod:`.population` builds residents by small area, sex and single year of age from
  published Census 2021 parts;
* :mod:`.build` makes an area's population, characteristics, crime and
  ``AreaData.published`` from them (passed to :func:`needs_assessment.data.load_area` by
  :func:`needs_assessment.inputs.load_area` when the params have ``public_data``);
* :mod:`.fetch` downloads the publications listed in ``registry.yaml`` into
  ``public_data_dir`` and records their provenance.

Third-party data is never copied into the repository: it is read from ``public_data_dir``
at every run and transformed in memory.
"""

from .fetch import OFFLINE_HELP, FetchError, FetchReport, describe, fetch_public_data, load_registry

__all__ = ["OFFLINE_HELP", "FetchError", "FetchReport", "describe", "fetch_public_data", "load_registry"]
