"""Build a real area's canonical datasets from the published files in ``public_data_dir``.

:func:`build_public` is passed to :func:`needs_assessment.data.load_area` by
:func:`needs_assessment.inputs.load_area` when the params have a ``public_data`` section
(the data contract never imports this package). Everything is read from
``public_data_dir`` at every run and transformed in memory; nothing is copied into the
repository or into ``data/``. The geography (ONS LSOA 2021 -> ward -> LAD lookup joined to
the MHCLG IoD 2025 File 7) and the LSOA boundaries are published layouts the data loaders
read themselves (:mod:`needs_assessment.data.loaders.geography`); this module builds:

* **population**: see :mod:`.population`;
* **characteristics**: Census 2021 residents by protected characteristic for each
  reporting area (ward or district) and the whole area, in the canonical codes;
* **crime**: police.uk street-level rows;
* **published**: the published local-authority indicators and comparators (deaths
  related to drug poisoning by authority and year, NHS Digital drug-related admissions,
  Census 2021 populations of every authority, region and England, Census profiles of
  England and the region) for the published-harms and profile chapters.

Every canonical frame is validated with the same pandera schema as an analyst's own file
(:func:`needs_assessment.data.check_frame`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from needs_assessment.data import check_frame, load_crime, load_population
from needs_assessment.data.area import PublicBuild
from needs_assessment.data.errors import InputDataError, Problem

from . import readers as R
from .population import build_population

if TYPE_CHECKING:  # pragma: no cover
    from needs_assessment.params import RunParams

__all__ = ["PublicBuild", "build_public", "population_years"]

CENSUS_YEAR = 2021


def population_years(params: RunParams) -> list[int]:
    """Years the built population covers: 2021 (Census) to the end of the period, and any
    earlier period years (all carry the Census 2021 figures)."""
    start = min(CENSUS_YEAR, params.period.start_year)
    return list(range(start, max(params.period.end_year, CENSUS_YEAR) + 1))


def _try(build: PublicBuild, key: str, func, *args, **kwargs) -> Any:
    try:
        return func(*args, **kwargs)
    except InputDataError as exc:
        build.problems.extend(exc.problems)
    except (ValueError, KeyError) as exc:
        build.problems.append(Problem(key, str(exc), dataset=key))
    return None


def _area_codes(geography: pd.DataFrame, params: RunParams) -> dict[str, Any]:
    upper = geography["upper_tier_code"].iloc[0]
    region = geography["region_code"].dropna()
    region_code = params.area.region_code or (region.iloc[0] if len(region) else None)
    return {
        "area": params.area.code or upper,
        "districts": sorted(geography["district_code"].unique()),
        "region": region_code,
        "england": "E92000001",
    }


def _characteristics(geography: pd.DataFrame, params: RunParams, paths: dict[str, Path], root: Path,
                     build: PublicBuild, codes: dict[str, Any]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(canonical characteristics for the area's reporting units and the whole area,
    comparator profile for the area, its region and England)."""
    level = params.area.reporting_geography
    unit_col = "ward_code" if level == "ward" else "district_code"
    rows: list[pd.DataFrame] = []
    comparators: list[pd.DataFrame] = []
    area_code = codes["area"]
    # --- LSOA tables: ethnicity, religion, disability, summed to units and the area
    for characteristic in ("ethnicity", "religion", "disability"):
        path = paths.get(characteristic)
        if path is None:
            continue
        table = _try(build, f"public_data.{characteristic}", R.read_small_area_table, path, characteristic, root=root)
        if table is None:
            continue
        table = table.loc[table["small_area_code"].isin(geography["small_area_code"])]
        merged = table.drop(columns="district_code").merge(
            geography[["small_area_code", unit_col]], on="small_area_code")
        units = merged.groupby([unit_col, "category"], as_index=False)["count"].sum().rename(
            columns={unit_col: "area_code"})
        whole = merged.groupby("category", as_index=False)["count"].sum()
        whole["area_code"] = area_code
        part = pd.concat([units, whole], ignore_index=True)
        part["characteristic"] = characteristic
        rows.append(part)
        if characteristic == "ethnicity":
            build.published["ethnicity_small_area"] = table[["small_area_code", "category", "count"]].reset_index(drop=True)
        build.published.setdefault("census_small_area_totals", table.drop_duplicates("small_area_code")
                                   .set_index("small_area_code")["total_residents"].rename("population")
                                   .reset_index())
    # --- LA tables: sexual orientation, gender identity, legal partnership (16+), sex
    la_readers = {
        "sexual_orientation": R.read_sexual_orientation,
        "gender_identity": R.read_gender_identity,
        "legal_partnership": R.read_legal_partnership,
        "characteristics_comparators": R.read_characteristic_comparators,
    }
    la_frames = []
    for key, reader in la_readers.items():
        path = paths.get(key)
        if path is None:
            continue
        frame = _try(build, f"public_data.{key}", reader, path, root=root)
        if frame is not None:
            frame["source_key"] = key
            la_frames.append(frame)
    sex_path = paths.get("census_sex")
    if sex_path is not None:
        sex = _try(build, "public_data.census_sex", R.read_census_sex, sex_path, root=root)
        if sex is not None:
            long = sex.melt(id_vars=["area_code", "area_name", "level", "basis"], value_vars=["male", "female"],
                            var_name="category", value_name="count")
            long["characteristic"] = "sex"
            long["source_key"] = "census_sex"
            la_frames.append(long)
    if la_frames:
        la = pd.concat(la_frames, ignore_index=True)
        la = la.loc[la["level"] != "other"]
        # one row per area: a UTLA that is also an LTLA (Tower Hamlets) appears twice
        la = la.drop_duplicates(["area_code", "characteristic", "category", "source_key"])
        wanted = {area_code, codes["region"], codes["england"], *codes["districts"]}
        comparators.append(la.loc[la["area_code"].isin(wanted)])
        # the LA-level characteristics the LSOA tables do not give
        units_here = set(geography[unit_col])
        for characteristic in ("sexual_orientation", "gender_identity_same_as_sex", "marital_status", "sex"):
            part = la.loc[la["characteristic"] == characteristic]
            keep = part["area_code"].isin(units_here | {area_code})
            if keep.any():
                rows.append(part.loc[keep, ["area_code", "category", "count", "characteristic"]]
                            .groupby(["area_code", "characteristic", "category"], as_index=False)["count"].sum())
    canonical = None
    if rows:
        canonical = (pd.concat(rows, ignore_index=True)
                     .groupby(["area_code", "characteristic", "category"], as_index=False)["count"].sum()
                     .rename(columns={"count": "population"}))
        canonical["population"] = canonical["population"].astype("int64")
        canonical = canonical[["area_code", "characteristic", "category", "population"]]
    comparator = pd.concat(comparators, ignore_index=True) if comparators else None
    return canonical, comparator


def build_public(params: RunParams, geography: pd.DataFrame, *, want: set[str] | None = None) -> PublicBuild:
    """Population, characteristics, crime and published indicators of the area whose
    (already filtered) ``geography`` is given, from ``params.public_data``."""
    build = PublicBuild()
    root = params.public_data_dir
    paths = params.public_data_paths()
    files = params.data.files
    codes = _area_codes(geography, params)

    def wanted(key: str) -> bool:
        return want is None or key in want

    # ------------------------------------------------------------------ population
    census_age = None
    if paths.get("census_age") is not None:
        census_age = _try(build, "public_data.census_age", R.read_census_age, paths["census_age"], root=root)
        if census_age is not None:
            build.sources["public_data.census_age"] = paths["census_age"]
            la_pop = census_age.groupby(["area_code", "area_name", "level"], as_index=False)["population"].sum()
            la_pop["year"] = CENSUS_YEAR
            la_pop["source"] = "Census 2021 TS007 (usual residents, 21 March 2021)"
            build.published["census_population"] = la_pop
            build.published["census_age"] = census_age
    if files.population is None and wanted("population") and census_age is not None:
        census_sex = sex_age = sape = lookup = None
        if paths.get("census_sex") is not None:
            census_sex = _try(build, "public_data.census_sex", R.read_census_sex, paths["census_sex"], root=root)
        if paths.get("census_sex_age_16plus") is not None:
            sex_age = _try(build, "public_data.census_sex_age_16plus", R.read_sex_age_16plus,
                           paths["census_sex_age_16plus"], root=root)
        if paths.get("small_area_age") is not None:
            sape = _try(build, "public_data.small_area_age", load_population, paths["small_area_age"], root=root)
        if paths.get("lsoa11_to_lsoa21") is not None:
            lookup = _try(build, "public_data.lsoa11_to_lsoa21", R.read_lsoa11_to_lsoa21,
                          paths["lsoa11_to_lsoa21"], root=root)
        totals = None
        if paths.get("ethnicity") is not None:
            table = _try(build, "public_data.ethnicity", R.read_small_area_table, paths["ethnicity"], "ethnicity",
                         root=root)
            if table is not None:
                totals = table.drop_duplicates("small_area_code").set_index("small_area_code")["total_residents"]
        if not build.problems:
            try:
                pop = build_population(geography, census_age=census_age, years=population_years(params),
                                       census_sex=census_sex, sex_age_16plus=sex_age, small_area_totals=totals,
                                       sape=sape, lsoa_lookup=lookup)
            except ValueError as exc:
                build.problems.append(Problem("population (built from public data)", str(exc), dataset="population"))
            else:
                try:
                    check_frame(pop.population, "population", file="population (built from public data)")
                except InputDataError as exc:
                    build.problems.extend(exc.problems)
                build.population = pop.population
                build.published["population_build_checks"] = pop.checks
                carried = [y for y in population_years(params) if y != CENSUS_YEAR]
                build.notes.append(
                    "Population: residents by small area, sex and single year of age are built from "
                    "Census 2021 (TS007 ages, TS009 and RM122 sex, TS021 small-area totals) with the ONS "
                    "mid-2020 small-area age profile; the small areas add up exactly to the published "
                    "Census 2021 totals of each authority. "
                    + (f"Years {carried[0]}–{carried[-1]} hold the Census 2021 figures carried forward "
                       "(mid-year estimates for later years are not in public_data_dir)." if carried else "")
                )
                build.notes.extend(pop.notes)
                for key in ("census_sex", "census_sex_age_16plus", "small_area_age", "lsoa11_to_lsoa21", "ethnicity"):
                    if paths.get(key) is not None:
                        build.sources[f"public_data.{key}"] = paths[key]

    # ------------------------------------------------------------------ characteristics
    if files.characteristics is None and wanted("characteristics"):
        canonical, comparator = _characteristics(geography, params, paths, root, build, codes)
        if canonical is not None:
            try:
                check_frame(canonical, "characteristics", file="characteristics (built from public data)")
            except InputDataError as exc:
                build.problems.extend(exc.problems)
            build.characteristics = canonical
        if comparator is not None:
            build.published["characteristics_profile"] = comparator.reset_index(drop=True)
        for key in ("ethnicity", "religion", "disability", "sexual_orientation", "gender_identity",
                    "legal_partnership", "characteristics_comparators", "census_sex"):
            if paths.get(key) is not None:
                build.sources[f"public_data.{key}"] = paths[key]

    # ------------------------------------------------------------------ crime
    if files.crime is None and paths.get("crime") is not None and wanted("crime"):
        crime = _try(build, "public_data.crime", load_crime, paths["crime"], root=root,
                     small_areas=pd.Index(geography["small_area_code"]))
        if crime is not None:
            build.crime = crime
            build.sources["public_data.crime"] = paths["crime"]
            types = sorted(build.crime["crime_type"].astype(str).unique())
            months = build.crime["month"]
            # which crime types (and months) the file holds: a type absent here was not supplied,
            # so chapters must not report it as zero
            build.published["crime_coverage"] = (
                build.crime.assign(crime_type=build.crime["crime_type"].astype(str))
                .groupby("crime_type", as_index=False)
                .agg(first_month=("month", "min"), last_month=("month", "max"), rows=("month", "size")))
            build.notes.append(
                f"Crime: police.uk street-level records from public_data_dir, {months.min():%B %Y} to "
                f"{months.max():%B %Y}, holding only these crime types: {', '.join(types)}. Crime types "
                "absent from the file are not recorded as zero: they were not supplied."
            )

    # ------------------------------------------------------------------ published indicators
    if wanted("published"):
        for key, reader in (("drug_poisoning_deaths", R.read_deaths_by_la),
                            ("drug_poisoning_deaths_region", R.read_deaths_by_region),
                            ("drug_deaths_3yr", R.read_deaths_3yr),
                            ("drug_deaths_national", R.read_deaths_national),
                            ("drug_admissions", R.read_admissions),
                            ("la_population_series", R.read_la_population_series)):
            if paths.get(key) is None:
                continue
            frame = _try(build, f"public_data.{key}", reader, paths[key], root=root)
            if frame is not None:
                build.published[key] = frame
                build.sources[f"public_data.{key}"] = paths[key]
        build.published["area_codes"] = pd.DataFrame(
            [{"role": "area", "area_code": codes["area"]}, {"role": "region", "area_code": codes["region"]},
             {"role": "england", "area_code": codes["england"]}]
            + [{"role": "district", "area_code": c} for c in codes["districts"]])
    return build
