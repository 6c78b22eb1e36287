"""Published open data for real areas: readers, builders and the fetch command.

* :mod:`.readers` read the published layouts (ONS lookup, IoD 2025 File 7, Census 2021
  tables, ONS deaths related to drug poisoning by authority, NHS Digital admissions) into
  tidy validated frames;
* :mod:`.population` builds residents by small area, sex and single year of age from
  published Census 2021 parts;
* :mod:`.build` makes an area's canonical datasets and ``AreaData.published`` from them
  (called by :func:`needs_assessment.data.load_area` when the params have ``public_data``);
* :mod:`.fetch` downloads the publications listed in ``registry.yaml`` into
  ``public_data_dir`` and records their provenance.

Third-party data is never copied into the repository: it is read from ``public_data_dir``
at every run and transformed in memory.
"""

from .fetch import OFFLINE_HELP, FetchError, FetchReport, describe, fetch_public_data, load_registry

__all__ = ["OFFLINE_HELP", "FetchError", "FetchReport", "describe", "fetch_public_data", "load_registry"]
