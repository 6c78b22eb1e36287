"""Load every configured dataset of an area and check them against each other.

:func:`load_area` reads each file named in ``params.data.files`` with its loader, then runs
the cross-dataset checks of the contract:

* every ``small_area_code`` in population, treatment episodes, prison releases, deaths,
  admissions, linkable lists and boundaries is in the geography;
* every small area of the geography has a boundary polygon and population rows;
* the population covers every year of the assessment period;
* client ids (treatment, prison releases, lists) are plausible identifiers — not ``nan``,
  not numbers Excel has turned into ``1.23E+11`` or ``123.0``.

Problems from all files are collected and raised together as one
:class:`~.errors.InputDataError` before any analysis runs. All checks are vectorised: a
national-scale area (about 34,000 small areas, 300,000 episodes) loads in seconds.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from .area_data import DATASETS, AreaData
from .errors import InputDataError, Problem
from .loaders._core import _Display, _display_name, _Prov, _quote
from .loaders.context import _load_comparators, _load_services
from .loaders.geography import _load_boundaries, _load_geography, _load_public_geography
from .loaders.harms import _load_admissions, _load_crime, _load_deaths
from .loaders.population import _load_characteristics, _load_population
from .loaders.records import _load_linkable_list, _load_prison_releases, _load_treatment_episodes

if TYPE_CHECKING:  # pragma: no cover
    from ..params import RunParams

__all__ = ["AreaData", "DATASETS", "PublicBuild", "PublicBuilder", "load_area"]

@dataclass
class PublicBuild:
    """What a public-data builder hands back for one area: the datasets it built from
    published statistics (``None`` when not built), ``AreaData.published``, notes for the
    analyst, the files read and every problem found (raised with the others)."""

    population: pd.DataFrame | None = None
    characteristics: pd.DataFrame | None = None
    crime: pd.DataFrame | None = None
    published: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class PublicBuilder(Protocol):
    """Builds a real area's datasets from ``params.public_data``, given its (already filtered)
    geography; :func:`needs_assessment.public_data.build.build_public` is the one in use."""

    def __call__(self, params: RunParams, geography: pd.DataFrame, *,
                 want: set[str] | None = None) -> PublicBuild: ...


# --------------------------------------------------------------------------------------------
_IMPLAUSIBLE_ID = re.compile(
    r"^(?:nan|none|null|na|n/a|#n/a|#value!|#ref!|-+|\?+|0+|unknown|not known)$"
    r"|^\d+\.0+$"  # a number Excel turned into a float
    r"|^\d(?:\.\d+)?e[+-]\d+$"  # scientific notation as Excel shows it (1.23E+11)
    r"|\s"
    r"|^.{65,}$",
    re.IGNORECASE,
)


@dataclass
class _Loaded:
    key: str
    df: Any
    prov: _Prov
    colmap: dict[str, str]

    @property
    def name(self) -> str:
        return self.prov.sources[0] if len(self.prov.sources) == 1 else self.key


def _subset_prov(prov: _Prov, mask: np.ndarray) -> _Prov:
    return _Prov(prov.sources, prov.src[mask], prov.row[mask], unit=prov.unit)


def _codes_not_in(values: pd.Series, known: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(unknown distinct codes, positions of rows holding them), vectorised and categorical-aware."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        bad_cat = ~cats.isin(known)
        if not bad_cat.any():
            return np.array([], dtype=object), np.array([], dtype=np.int64)
        used = np.zeros(len(cats), dtype=bool)
        codes = values.cat.codes.to_numpy()
        used[np.unique(codes[codes >= 0])] = True
        bad_cat &= used
        positions = np.flatnonzero(bad_cat[codes] & (codes >= 0)) if bad_cat.any() else np.array([], np.int64)
        return np.asarray(cats[bad_cat], dtype=object), positions
    present = values.dropna()
    uniques = pd.Index(pd.unique(present))
    bad = uniques[~uniques.isin(known)]
    if len(bad) == 0:
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    positions = np.flatnonzero(values.isin(bad).to_numpy())
    return np.asarray(bad, dtype=object), positions


def _unknown_code_problems(item: _Loaded, known: pd.Index, geo_name: str) -> list[Problem]:
    df = item.df
    if df is None or "small_area_code" not in df.columns:
        return []
    bad, positions = _codes_not_in(df["small_area_code"], known)
    if len(bad) == 0:
        return []
    n_codes = df["small_area_code"].nunique()
    hint = ""
    if n_codes and len(bad) > n_codes / 2:
        hint = "; if this file covers a wider area than the geography, cut it to the area's small areas"
    column = _Display(item.colmap)("small_area_code")
    message = (
        f"{len(bad):,} small area code(s) not in the geography ({geo_name}): {_quote(sorted(bad))} "
        f"(expected codes listed in {geo_name}{hint})"
    )
    return [
        Problem(fname, message, column=column, rows=rows, unit=item.prov.unit, dataset=item.key)
        for fname, rows in item.prov.locate(positions)
    ]


def _client_id_problems(item: _Loaded) -> list[Problem]:
    df = item.df
    if df is None or "client_id" not in df.columns:
        return []
    ids = df["client_id"]
    uniques = pd.Series(pd.unique(ids.dropna()), dtype="str")
    bad = uniques[uniques.str.contains(_IMPLAUSIBLE_ID, na=False)]
    if bad.empty:
        return []
    positions = np.flatnonzero(ids.isin(bad).to_numpy())
    message = (
        f"implausible client_id {_quote(bad)} (expected a pseudonymised identifier stored as text, "
        "the same one used in every file; Excel turns long numbers into '1.23E+11' or '123.0', "
        "which breaks linkage: keep the column as text)"
    )
    column = _Display(item.colmap)("client_id")
    return [
        Problem(fname, message, column=column, rows=rows, dataset=item.key)
        for fname, rows in item.prov.locate(positions)
    ]


def _population_coverage(pop: _Loaded, geo: _Loaded, years: list[int], label: str) -> list[Problem]:
    df = pop.df
    problems = []
    year_col = _Display(pop.colmap)("year")
    found = sorted(int(y) for y in pd.unique(df["year"]))
    missing_years = [y for y in years if y not in found]
    if missing_years:
        problems.append(
            Problem(
                pop.name,
                f"population does not cover the assessment period: no rows for {', '.join(map(str, missing_years))} "
                f"(years found: {', '.join(map(str, found))}; the period {label} needs "
                f"{', '.join(map(str, years))})",
                column=year_col,
                dataset="population",
            )
        )
    codes = df["small_area_code"]
    cat = codes if isinstance(codes.dtype, pd.CategoricalDtype) else codes.astype("category")
    cats = cat.cat.categories
    year_values = df["year"].to_numpy()
    check_years = [y for y in years if y in found]
    if not check_years:
        return problems
    year_index = {y: i for i, y in enumerate(check_years)}
    # Which small areas have rows in each year, one year at a time: a national population
    # has 18 million rows, and mapping all of them to year positions at once held 400 MB.
    area_codes = cat.cat.codes.to_numpy()
    presence = np.zeros((len(check_years), len(cats)), dtype=bool)
    for y, i in year_index.items():
        present = area_codes[year_values == y]
        presence[i, present[present >= 0]] = True
        del present
    geo_codes = geo.df["small_area_code"]
    where = cats.get_indexer(geo_codes)
    gaps: dict[str, list[int]] = {}
    for y, i in year_index.items():
        has = np.zeros(len(geo_codes), dtype=bool)
        ok = where >= 0
        has[ok] = presence[i, where[ok]]
        for code in geo_codes[~has]:
            gaps.setdefault(code, []).append(y)
    if gaps:
        codes_missing = sorted(gaps)
        years_missing = sorted({y for ys in gaps.values() for y in ys})
        problems.append(
            Problem(
                pop.name,
                f"no population rows for {len(codes_missing):,} small area(s) of the geography "
                f"in {', '.join(map(str, years_missing))}: {_quote(codes_missing)} "
                f"(expected every small area of {geo.name} in every year of the period)",
                column=_Display(pop.colmap)("small_area_code"),
                dataset="population",
            )
        )
    return problems


def _boundary_coverage(bnd: _Loaded, geo: _Loaded) -> list[Problem]:
    missing = ~geo.df["small_area_code"].isin(bnd.df["small_area_code"]).to_numpy()
    if not missing.any():
        return []
    codes = geo.df["small_area_code"].to_numpy()[missing]
    message = (
        f"no boundary polygon in {bnd.name} for small area(s) {_quote(codes)} "
        "(expected a polygon for every small area of the geography)"
    )
    column = _Display(geo.colmap)("small_area_code")
    return [
        Problem(fname, message, column=column, rows=rows, dataset="boundaries")
        for fname, rows in geo.prov.locate(np.flatnonzero(missing))
    ]


def _characteristics_areas(item: _Loaded, geo: _Loaded) -> list[Problem]:
    """Characteristics rows must be for a small area, ward, district or the whole area."""
    g = geo.df
    known = set()
    for column in ("small_area_code", "ward_code", "district_code", "upper_tier_code"):
        if column in g.columns:
            known.update(g[column].astype(str).unique())
    codes = item.df["area_code"].astype(str)
    unknown = ~codes.isin(known).to_numpy()
    if not unknown.any():
        return []
    bad = pd.unique(codes[unknown])
    message = (
        f"area code(s) {_quote(bad)} are not a small area, ward, district or the upper-tier "
        f"area of {geo.name} (expected population denominators for areas of this geography)"
    )
    column = _Display(item.colmap)("area_code")
    return [
        Problem(fname, message, column=column, rows=rows, dataset="characteristics")
        for fname, rows in item.prov.locate(np.flatnonzero(unknown))
    ]


def _frame_prov(frame: pd.DataFrame, name: str) -> _Prov:
    return _Prov([name], np.zeros(len(frame), np.int32), np.arange(len(frame), dtype=np.int64) + 2)


def _public_geography(params, paths, upper_tier, problems, sources):
    """Geography from the ONS lookup + IoD File 7 in public_data_dir."""
    lookup, imd = paths.get("lookup"), paths.get("imd")
    for key, path in (("lookup", lookup), ("imd", imd)):
        if path is None or not path.exists():
            problems.append(Problem(f"public_data.{key}", f"file not found: {path} (configured as "
                                    f"public_data.{key} under public_data_dir {params.public_data_dir})",
                                    dataset="geography"))
    if problems:
        return None, None
    try:
        df, prov, colmap, national = _load_public_geography(
            lookup, imd, root=params.public_data_dir, upper_tier=upper_tier)
    except InputDataError as exc:
        problems.extend(exc.problems)
        return None, None
    if params.area.region_code and "region_code" not in colmap:
        df = df.assign(region_code=params.area.region_code, region_name=params.area.region_name)
    sources["public_data.lookup"] = lookup
    sources["public_data.imd"] = imd
    return _Loaded("geography", df, prov, colmap), national


def _public_boundaries(path, params, known, loaded, problems, sources):
    """Boundaries from public_data_dir, cut to the area's small areas (the published file
    may cover more)."""
    if not path.exists():
        problems.append(Problem("public_data.boundaries", f"file not found: {path}", dataset="boundaries"))
        return
    try:
        df, prov, colmap = _load_boundaries(path, root=params.public_data_dir)
    except InputDataError as exc:
        problems.extend(exc.problems)
        return
    if known is not None:
        keep = df["small_area_code"].isin(known).to_numpy()
        df = df.loc[keep].reset_index(drop=True)
        prov = _subset_prov(prov, keep)
    loaded["boundaries"] = _Loaded("boundaries", df, prov, colmap)
    sources["public_data.boundaries"] = path


def load_area(
    params: RunParams,
    *,
    today: dt.date | None = None,
    only: Iterable[str] | None = None,
    build_public: PublicBuilder | None = None,
) -> AreaData:
    """Load and validate every dataset configured in ``params.data.files``.

    ``only`` limits loading to some datasets (geography is always loaded: the checks need
    it). Raises :class:`InputDataError` listing every problem in every file.

    When the params have a ``public_data`` section, the geography and boundaries are read
    from ``public_data_dir`` here, and ``build_public`` builds the rest (population,
    characteristics, crime, ``AreaData.published``). It is passed in because the public-data
    builders sit above this package and use it; :func:`needs_assessment.inputs.load_area`
    passes :func:`needs_assessment.public_data.build.build_public`.
    """
    if params.public_data is not None and build_public is None:
        raise ValueError(
            "params have a public_data section, so load_area needs build_public (the public-data "
            "builder); load a real area with needs_assessment.inputs.load_area, which passes it"
        )
    started = time.perf_counter()
    today = today or dt.date.today()
    files = params.data.files
    root = params.data.directory
    wanted = set(only) if only is not None else None
    problems: list[Problem] = []
    notes: list[str] = []
    loaded: dict[str, _Loaded] = {}
    sources: dict[str, Path] = {}
    where = f" in {Path(params.source_file).name}" if params.source_file else ""

    def attempt(key: str, loader, *args, **kwargs) -> _Loaded | None:
        path = params.data_path(key)
        if path is None:
            return None
        sources[key] = path
        name = _display_name(path, root)
        if not path.exists():
            problems.append(Problem(name, f"file not found (configured as data.files.{key}{where}): {path}", dataset=key))
            return None
        try:
            df, prov, colmap = loader(path, *args, root=root, **kwargs)
        except InputDataError as exc:
            problems.extend(exc.problems)
            return None
        item = _Loaded(key, df, prov, colmap)
        loaded[key] = item
        return item

    def want(key: str) -> bool:
        return wanted is None or key in wanted or key.split(".")[0] in wanted

    # geography first: everything else is checked against it
    upper_tier = None
    if params.area.structure == "two_tier" and params.area.code:
        upper_tier = (params.area.code, params.area.name)
    public_paths = params.public_data_paths()
    national_imd = None
    if files.geography is None and params.public_data is not None:
        geo, national_imd = _public_geography(params, public_paths, upper_tier, problems, sources)
        if geo is not None:
            loaded["geography"] = geo
    else:
        geo = attempt("geography", _load_geography, upper_tier=upper_tier)
    if geo is not None and "upper_tier_code" not in geo.colmap and params.area.structure == "two_tier":
        notes.append(
            f"{geo.name} has no upper-tier (county) columns"
            + ("; the county is taken from area.code" if params.area.code else
               " and area.code is not set, so each district is its own upper tier: set area.code")
        )
    if geo is not None and params.area.code:
        code = params.area.code
        df = geo.df
        match = (df["upper_tier_code"] == code) | (df["district_code"] == code) | (df["region_code"] == code)
        match = match.fillna(False).to_numpy(dtype=bool)
        if match.any() and not match.all():
            notes.append(
                f"{geo.name}: kept the {int(match.sum()):,} small areas of {params.area.name} ({code}) "
                f"out of {len(df):,}"
            )
            geo.df = df.loc[match].reset_index(drop=True)
            geo.prov = _subset_prov(geo.prov, match)
        elif not match.any() and code[:3] not in ("E92", "W92", "X92", "K02", "K03", "K04"):
            notes.append(
                f"{geo.name}: area.code {code} matches no district, upper tier or region; "
                f"all {len(df):,} small areas are used"
            )
    known = pd.Index(geo.df["small_area_code"]) if geo is not None else None

    if files.boundaries is None and public_paths.get("boundaries") is not None and want("boundaries"):
        _public_boundaries(public_paths["boundaries"], params, known, loaded, problems, sources)
    public = None
    if params.public_data is not None and geo is not None and not problems:
        public = build_public(params, geo.df, want=wanted)
        problems.extend(public.problems)
        notes.extend(public.notes)
        sources.update(public.sources)
        if national_imd is not None:
            public.published["imd_national"] = (
                national_imd.groupby("imd_decile").size().rename("small_areas").reset_index())
        for key in ("population", "characteristics", "crime"):
            frame = getattr(public, key)
            if frame is not None:
                loaded[key] = _Loaded(key, frame, _frame_prov(frame, f"{key} (built from public data)"), {})

    for key, loader, kwargs in (
        ("boundaries", _load_boundaries, {}),
        ("population", _load_population, {}),
        ("treatment_episodes", _load_treatment_episodes, {"today": today}),
        ("prison_releases", _load_prison_releases, {"today": today}),
        ("deaths", _load_deaths, {}),
        ("admissions", _load_admissions, {}),
        ("crime", _load_crime, {"small_areas": known if known is not None else None}),
        ("comparators", _load_comparators, {}),
        ("services", _load_services, {}),
        ("characteristics", _load_characteristics, {}),
    ):
        if getattr(files, key) is not None and want(key):
            attempt(key, loader, **kwargs)
    for list_name in files.linkable_lists:
        key = f"linkable_lists.{list_name}"
        if want(key):
            attempt(key, _load_linkable_list, today=today, name=list_name)

    # ---------------------------------------------------------------- cross-dataset checks
    if geo is not None:
        for key, item in loaded.items():
            if key in ("geography", "crime", "comparators", "services", "characteristics"):
                continue
            problems.extend(_unknown_code_problems(item, known, geo.name))
        if "boundaries" in loaded:
            problems.extend(_boundary_coverage(loaded["boundaries"], geo))
        if "characteristics" in loaded:
            problems.extend(_characteristics_areas(loaded["characteristics"], geo))
        if "population" in loaded:
            problems.extend(
                _population_coverage(loaded["population"], geo, params.period.years, params.period.label)
            )
    for key, item in loaded.items():
        if key == "treatment_episodes" or key == "prison_releases" or key.startswith("linkable_lists."):
            problems.extend(_client_id_problems(item))
    if "treatment_episodes" in loaded:
        treated = pd.Index(pd.unique(loaded["treatment_episodes"].df["client_id"]))
        for key, item in loaded.items():
            if key.startswith("linkable_lists.") and not item.df["client_id"].isin(treated).any():
                notes.append(
                    f"{item.name}: no client_id matches a treatment episode; capture-recapture needs the "
                    "lists and the treatment extract to share one pseudonymisation"
                )

    if problems:
        raise InputDataError(problems)
    for note in notes:
        warnings.warn(note, stacklevel=2)

    def get(key: str):
        item = loaded.get(key)
        return None if item is None else item.df

    lists = {key.split(".", 1)[1]: item.df for key, item in loaded.items() if key.startswith("linkable_lists.")}
    return AreaData(
        published=dict(public.published) if public is not None else {},
        geography=geo.df,
        boundaries=get("boundaries"),
        population=get("population"),
        treatment_episodes=get("treatment_episodes"),
        prison_releases=get("prison_releases"),
        deaths=get("deaths"),
        admissions=get("admissions"),
        crime=get("crime"),
        comparators=get("comparators"),
        services=get("services"),
        characteristics=get("characteristics"),
        linkable_lists=lists,
        sources=sources,
        warnings=tuple(notes),
        load_seconds=time.perf_counter() - started,
    )
