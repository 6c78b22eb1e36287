"""The validated inputs of one area, as every chapter receives them.

Kept apart from :mod:`.area` (which loads and checks them) so that a chapter reading an
area its run has already validated imports only pandas, not the loaders and their
contract library (pandera).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["AreaData", "DATASETS"]

#: Dataset attributes of :class:`AreaData` (``linkable_lists`` is a dict of frames).
DATASETS = (
    "geography",
    "boundaries",
    "population",
    "treatment_episodes",
    "prison_releases",
    "deaths",
    "admissions",
    "crime",
    "comparators",
    "services",
    "characteristics",
    "linkable_lists",
)


@dataclass(frozen=True, eq=False)
class AreaData:
    """Every validated input of one area. Datasets the area does not supply are ``None``."""

    geography: pd.DataFrame
    boundaries: Any | None = None  # geopandas.GeoDataFrame in EPSG:27700
    population: pd.DataFrame | None = None
    treatment_episodes: pd.DataFrame | None = None
    prison_releases: pd.DataFrame | None = None
    deaths: pd.DataFrame | None = None
    admissions: pd.DataFrame | None = None
    crime: pd.DataFrame | None = None
    comparators: pd.DataFrame | None = None
    services: pd.DataFrame | None = None
    characteristics: pd.DataFrame | None = None
    linkable_lists: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Published statistics read from ``public_data_dir`` (real areas): e.g.
    #: ``drug_poisoning_deaths`` (area_code, area_name, level, year, deaths) for every
    #: authority, region and England; ``drug_admissions`` (NHS Digital, merged areas,
    #: regions, England); ``census_population`` / ``census_age`` (Census 2021 for every area
    #: in the file); ``characteristics_profile`` (Census profiles of the area, its region
    #: and England); ``area_codes`` (role -> code). Empty for areas without public data.
    published: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: params key (e.g. ``deaths``, ``linkable_lists.probation``) -> absolute path read.
    sources: dict[str, Path] = field(default_factory=dict)
    #: Things worth telling the analyst that do not stop the run.
    warnings: tuple[str, ...] = ()
    #: Seconds spent loading and checking.
    load_seconds: float = 0.0

    def has(self, name: str) -> bool:
        """True when dataset ``name`` was supplied (``linkable_lists`` or ``linkable_lists.<list>`` too)."""
        if name.startswith("linkable_lists."):
            return name.split(".", 1)[1] in self.linkable_lists
        if name == "linkable_lists":
            return bool(self.linkable_lists)
        if name not in DATASETS:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
        return getattr(self, name) is not None

    @property
    def small_area_codes(self) -> pd.Index:
        return pd.Index(self.geography["small_area_code"])

    def __repr__(self) -> str:
        parts = []
        for name in DATASETS:
            value = getattr(self, name)
            if name == "linkable_lists":
                parts.append(f"linkable_lists={sorted(value)}")
            elif value is not None:
                parts.append(f"{name}={len(value):,} rows")
        return f"AreaData({', '.join(parts)})"
