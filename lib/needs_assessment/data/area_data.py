"""The validated inputs of one area, as every chapter receives them.

Kept apart from :mod:`.area` (which loads and checks them) so that a chapter reading an
area its run has already validated imports only pandas, not the loaders and their
contract library (pandera).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["AreaData", "DATASETS", "POPULATION_COLUMNS", "sum_population"]

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

#: The population's columns besides the count of residents (``population``): a chapter
#: keeps those it reads and sums over the others (:meth:`AreaData.population_by`).
POPULATION_COLUMNS = ("small_area_code", "year", "sex", "age", "age_band")


def _view_columns(population_columns: Iterable[str], columns: Sequence[str], years) -> list[str]:
    columns = list(columns)
    unknown = [c for c in columns if c not in POPULATION_COLUMNS]
    if not columns or unknown or len(set(columns)) != len(columns):
        raise ValueError(
            f"population_by: columns must be distinct names from {', '.join(POPULATION_COLUMNS)}; "
            f"got {columns}"
        )
    present = set(population_columns)
    missing = [c for c in [*columns, *(["year"] if years is not None else [])] if c not in present]
    if missing:
        raise ValueError(f"population_by: the population has no column {', '.join(missing)}")
    return columns


def _kept_columns(name: str, present: Iterable[str], columns: Sequence[str]) -> list[str]:
    """``columns`` in the dataset's own order, refusing any it does not have."""
    present = list(present)
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"with_columns: {name} has no column {', '.join(missing)}")
    wanted = set(columns)
    return [c for c in present if c in wanted]


def sum_population(
    population: pd.DataFrame, columns: Sequence[str], *, years: Iterable[int] | None = None
) -> pd.DataFrame:
    """Residents of ``years`` (every year when ``None``) summed over each population column
    not in ``columns``: ``[*columns, "population"]``, one row per combination present (a
    missing age is a group of its own), sorted by ``columns``, each column keeping its
    dtype, exactly as a pandas group-by gives it. Raises ``ValueError`` when no row is of
    ``years``.

    A chapter that reads, say, residents by year and age never needs the 18 million rows
    of a national-scale population by small area, sex, age and year: functions given this
    frame in place of the whole population return the same results, because whole-number
    sums do not depend on the order of adding.
    """
    columns = _view_columns(population.columns, columns, years)
    rows = slice(None)
    if years is not None:
        rows = population["year"].isin(list(years))
        if not rows.any():
            raise ValueError(f"population: no rows for years {sorted(set(years))}")
    frame = population.loc[rows, [*columns, "population"]]
    return frame.groupby(columns, observed=True, sort=True, dropna=False, as_index=False)[
        "population"].sum()


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

    def population_by(
        self, columns: Sequence[str], *, years: Iterable[int] | None = None
    ) -> pd.DataFrame | None:
        """The population summed over every column not in ``columns``, for ``years``
        (:func:`sum_population`); ``None`` when the area has no population."""
        if self.population is None:
            return None
        return sum_population(self.population, columns, years=years)

    def with_columns(self, **datasets: Sequence[str]) -> AreaData:
        """This area with only the named columns of each dataset given, e.g.
        ``area.with_columns(treatment_episodes=EPISODE_COLUMNS)``.

        A chapter that reads a few of a large extract's columns then holds only those, and
        so does every copy it makes of the records (a national-scale extract has 300,000
        episodes). Columns keep the dataset's order; asking for a column the dataset does
        not have is an error. Datasets not supplied stay ``None``."""
        changes = {}
        for name, columns in datasets.items():
            if name not in DATASETS or name == "linkable_lists":
                raise KeyError(f"with_columns: {name!r} is not a table dataset")
            if self.has(name):
                changes[name] = self._only_columns(name, list(columns))
        return self._replaced(changes)

    def unload(self, *names: str) -> None:
        """Let go of datasets a chapter has finished with. An area read from the run's
        private cache drops them (and reads them again if they are used after); an area
        loaded in memory (a notebook run by hand) keeps them."""

    def _only_columns(self, name: str, columns: list[str]) -> Any:
        frame = getattr(self, name)
        return frame[_kept_columns(name, frame.columns, columns)]

    def _replaced(self, changes: dict[str, Any]) -> AreaData:
        return replace(self, **changes)

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
