"""Parameters of one assessment run, validated with pydantic.

A params file (YAML, in ``params/``) says which area is assessed, for which period,
from which input files, which notebooks run in which order, and how results are
published. Every model forbids unknown keys, so a typo such as ``treatmnet_episodes``
is rejected with the key's full path rather than silently ignored.

Relative paths are resolved against the directory that holds the params file, after
expanding ``~`` and environment variables (``$NAME`` / ``${NAME}``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "AreaParams",
    "DataFiles",
    "DataParams",
    "DisclosureParams",
    "ParamsError",
    "PeriodParams",
    "PrevalenceParams",
    "PublicDataFiles",
    "ReportParams",
    "RunParams",
    "StatisticsParams",
    "SyntheticSource",
    "load_params",
]

#: Earliest year the workbook accepts: ONS drug poisoning series start in 1993.
EARLIEST_YEAR = 1993

#: Names of the datasets an area may supply; the keys of ``data.files``.
DATASET_KEYS = (
    "geography",
    "boundaries",
    "population",
    "characteristics",
    "treatment_episodes",
    "prison_releases",
    "deaths",
    "admissions",
    "crime",
    "comparators",
    "services",
)


class ParamsError(ValueError):
    """A params file is malformed; the message names the file and the offending keys."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=60)]


class AreaParams(_Strict):
    """The partnership area being assessed."""

    name: str = Field(min_length=1, description="Name shown on the report, e.g. 'Gloucestershire'.")
    slug: Slug = Field(description="Folder name for outputs, e.g. 'gloucestershire'.")
    code: str | None = Field(default=None, description="ONS code of the area, e.g. E10000013.")
    structure: Literal["two_tier", "unitary"] = Field(
        description="two_tier: a county of districts; unitary: one authority reported by ward."
    )
    reporting_geography: Literal["district", "ward"] = Field(
        description="Sub-areas the chapters compare: districts (county) or wards (borough)."
    )
    region_name: str | None = None
    region_code: str | None = None
    illustrative_records: bool = Field(
        default=True,
        description=(
            "True while record-level inputs (treatment episodes, linkable lists, services) are "
            "generated illustrations rather than a partner's real extract; the report says so."
        ),
    )

    @model_validator(mode="after")
    def _geography_fits_structure(self) -> AreaParams:
        if self.structure == "unitary" and self.reporting_geography == "district":
            raise ValueError(
                "area.reporting_geography: a unitary area has no districts; use 'ward'"
            )
        return self


class PeriodParams(_Strict):
    """The assessment period: whole calendar years, inclusive."""

    start_year: int
    end_year: int

    @field_validator("start_year", "end_year")
    @classmethod
    def _plausible_year(cls, value: int, info) -> int:
        this_year = dt.date.today().year
        if not EARLIEST_YEAR <= value <= this_year:
            raise ValueError(
                f"period.{info.field_name} = {value} is impossible: expected a year from "
                f"{EARLIEST_YEAR} to {this_year}"
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> PeriodParams:
        if self.start_year > self.end_year:
            raise ValueError(
                f"period.start_year ({self.start_year}) is after period.end_year ({self.end_year})"
            )
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))

    @property
    def label(self) -> str:
        if self.start_year == self.end_year:
            return str(self.start_year)
        return f"{self.start_year} to {self.end_year}"


class SyntheticSource(_Strict):
    """A deterministic generated dataset, written into ``data.directory`` if absent.

    ``county``/``unitary``/``national`` (in ``data.synthetic``): a whole synthetic area.
    ``onto_public`` (in ``data.illustrative``): illustrative record-level inputs (treatment
    episodes, prison releases, linkable lists, service sites) generated onto the real small
    areas of a real area, scaled to their published population, age and deprivation.
    """

    variant: Literal["county", "unitary", "national", "onto_public"]
    seed: int = Field(ge=0)


class DataFiles(_Strict):
    """Input files, relative to ``data.directory``. ``null`` means the area has no such data:
    the chapter that needs it says so plainly instead of failing or inventing numbers."""

    geography: str | None = Field(
        default=None,
        description="Required unless built from public data (public_data.lookup + public_data.imd).",
    )
    boundaries: str | None = None
    population: str | None = Field(
        default=None,
        description="Required unless built from public data (public_data.census_age ...).",
    )
    characteristics: str | None = Field(
        default=None,
        description=(
            "Residents by protected characteristic (Census 2021 style) per small area, ward "
            "or district: the denominators for the people chapter."
        ),
    )
    treatment_episodes: str | None = None
    prison_releases: str | None = None
    deaths: str | None = None
    admissions: str | None = None
    crime: str | None = Field(default=None, description="A folder of police.uk monthly CSV files.")
    comparators: str | None = None
    services: str | None = None
    linkable_lists: dict[str, str] = Field(
        default_factory=dict,
        description="Lists for capture-recapture, e.g. {probation: lists/probation.csv}.",
    )

    @field_validator("linkable_lists")
    @classmethod
    def _list_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(
                    f"data.files.linkable_lists: list name {name!r} must be snake_case"
                )
            if name == "treatment":
                raise ValueError(
                    "data.files.linkable_lists: 'treatment' is derived from treatment_episodes; "
                    "do not list it here"
                )
        return value


class DataParams(_Strict):
    directory: Path = Field(description="Folder holding the area's input files.")
    synthetic: SyntheticSource | None = None
    illustrative: SyntheticSource | None = Field(
        default=None,
        description=(
            "Generate illustrative record-level inputs onto a real area's public data "
            "(variant onto_public) into data.directory when they are absent."
        ),
    )
    files: DataFiles

    @model_validator(mode="after")
    def _generated_variants(self) -> DataParams:
        if self.synthetic is not None and self.synthetic.variant == "onto_public":
            raise ValueError(
                "data.synthetic.variant: 'onto_public' generates records onto a real area; "
                "put it under data.illustrative"
            )
        if self.illustrative is not None and self.illustrative.variant != "onto_public":
            raise ValueError(
                "data.illustrative.variant: must be 'onto_public' (whole synthetic areas go "
                "under data.synthetic)"
            )
        if self.synthetic is not None and self.illustrative is not None:
            raise ValueError("data: give data.synthetic or data.illustrative, not both")
        return self


#: Default paths of the published datasets, relative to ``public_data_dir`` (the layout of
#: ``shared/reference``; ``needs-assessment fetch-public-data`` writes the same layout).
class PublicDataFiles(_Strict):
    """Published open datasets (ONS, MHCLG, NHS Digital, police.uk) read from
    ``public_data_dir`` at every run and transformed in memory; never copied into the
    repository. Paths are relative to ``public_data_dir``; ``null`` leaves a dataset out
    (the chapter that needs it says so). A dataset also named in ``data.files`` is read
    from there instead (an analyst's own extract wins)."""

    lookup: str | None = Field(
        default="geography/lsoa21_ward24_lad24_utla_lookup.csv",
        description="ONS LSOA (2021) to electoral ward to LAD (to UTLA, region) best-fit lookup.",
    )
    imd: str | None = Field(
        default="geography/imd2025_england_lsoa21.csv",
        description="MHCLG English Indices of Deprivation 2025, File 7 (or its IMD columns).",
    )
    boundaries: str | None = Field(
        default="geography/lsoa21_boundaries_bgc.geojson",
        description="ONS LSOA (December 2021) boundaries, BGC, any OGR format (e.g. GeoJSON in EPSG:4326).",
    )
    census_age: str | None = Field(
        default="population/census2021_ts007_age_single_year.csv",
        description="Census 2021 TS007 usual residents by single year of age (LA, region, England).",
    )
    census_sex: str | None = Field(
        default="population/census2021_ts009_sex_totals.csv",
        description="Census 2021 TS009 usual residents by sex (LA totals).",
    )
    census_sex_age_16plus: str | None = Field(
        default="population/census2021_sexual_orientation_by_age_sex.csv",
        description="Census 2021 RM122 (sexual orientation by age and sex, 16+): sex by age band.",
    )
    small_area_age: str | None = Field(
        default="population/mye2020_persons_single_year_lsoa11.csv",
        description="ONS small-area population estimates by single year of age (SAPE; LSOA 2011 or 2021).",
    )
    lsoa11_to_lsoa21: str | None = Field(
        default="geography/lsoa11_to_lsoa21_lookup.csv",
        description="ONS LSOA (2011) to LSOA (2021) lookup, to map 2011-based small-area estimates.",
    )
    ethnicity: str | None = Field(
        default="population/census2021_ethnic_group_5cat_lsoa21.csv",
        description="Census 2021 TS021 ethnic group (5 broad groups) by LSOA 2021.",
    )
    religion: str | None = Field(
        default="population/census2021_religion_lsoa21.csv",
        description="Census 2021 TS030 religion by LSOA 2021.",
    )
    disability: str | None = Field(
        default="population/census2021_disability_lsoa21.csv",
        description="Census 2021 TS038 disability (Equality Act) by LSOA 2021.",
    )
    characteristics_comparators: str | None = Field(
        default="population/census2021_religion_disability_ethnicity_la_from_lsoa_sums.csv",
        description="Religion, disability and ethnicity for England and regions (sums of LSOA values).",
    )
    sexual_orientation: str | None = Field(
        default="population/census2021_sexual_orientation_9cat.csv",
        description="Census 2021 sexual orientation (detailed), residents 16+, LA/region/England.",
    )
    gender_identity: str | None = Field(
        default="population/census2021_gender_identity_by_age_sex.csv",
        description="Census 2021 RM163 gender identity by age and sex, residents 16+.",
    )
    legal_partnership: str | None = Field(
        default="population/census2021_legal_partnership_by_sexual_orientation.csv",
        description="Census 2021 RM127 legal partnership status (by sexual orientation), residents 16+.",
    )
    drug_poisoning_deaths: str | None = Field(
        default="indicators/ons_drug_poisoning_deaths_by_la_1993_2020.csv",
        description="ONS deaths related to drug poisoning by local authority and registration year.",
    )
    drug_poisoning_deaths_region: str | None = Field(
        default="indicators/ons_drug_poisoning_deaths_by_region_1993_2020.csv",
        description="ONS deaths related to drug poisoning by region and substance (cross-check).",
    )
    drug_deaths_3yr: str | None = Field(
        default="indicators/ons_drug_deaths_3yr_by_merged_area_2007_2018.csv",
        description="ONS three-year registration totals by merged local area (cross-check).",
    )
    drug_deaths_national: str | None = Field(
        default="indicators/ons_drug_deaths_england_wales_1993_2021.csv",
        description="ONS England and Wales annual totals (cross-check).",
    )
    drug_admissions: str | None = Field(
        default="indicators/nhs_digital_drug_related_admissions_2008_09_to_2019_20.csv",
        description="NHS Digital Statistics on Drug Misuse: drug-related admissions by area.",
    )
    crime: str | None = Field(
        default=None,
        description="police.uk street-level CSV file, or a folder of monthly files.",
    )
    la_population_series: str | None = Field(
        default=None,
        description=(
            "Optional ONS mid-year population by local authority and year (long: area_code, "
            "year, population; or wide: Code, Name, Mid-2020, Mid-2019 ...): annual rates "
            "over time and funnel plots against every English authority."
        ),
    )

    def paths(self, root: Path) -> dict[str, Path]:
        """Absolute path of every configured dataset, keyed by name."""
        return {
            name: root / rel
            for name, rel in self.model_dump().items()
            if rel is not None
        }


class StatisticsParams(_Strict):
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1.0)
    min_count_for_rate: int = Field(
        default=10, ge=0, description="Below this count a rate is shown as not calculated."
    )


class PrevalenceParams(_Strict):
    """How the prevalence chapter reports the capture-recapture estimate."""

    mse_estimate: Literal["averaged", "selected"] = Field(
        default="averaged",
        description=(
            "Headline OCU estimate: 'averaged' weights the best-supported log-linear models "
            "by BIC (Burnham & Anderson 2002), with a bootstrap interval that repeats the "
            "averaging; 'selected' reports the single model with the lowest BIC."
        ),
    )


class DisclosureParams(_Strict):
    threshold: int = Field(default=5, ge=1, description="Counts from 1 to threshold-1 are suppressed.")
    publish_zeros: bool = True
    rounding_base: int | None = Field(default=None, ge=2)


class ReportParams(_Strict):
    title: str = "Joint needs assessment: drugs and alcohol"
    organisation: str = "Combating Drugs Partnership"
    contact: str | None = None
    published: dt.date | None = Field(
        default=None, description="Publication date on the title page; defaults to the run date."
    )


class RunParams(_Strict):
    """Everything one run needs. Build with :func:`load_params`."""

    area: AreaParams
    period: PeriodParams
    data: DataParams
    notebooks: list[str] = Field(min_length=1, description="Notebooks to execute, in order.")
    public_data_dir: Path | None = Field(
        default=None,
        description="Folder of published open data (ONS, MHCLG, NHS Digital); never committed.",
    )
    public_data: PublicDataFiles | None = Field(
        default=None,
        description=(
            "Build geography, boundaries, population, characteristics (and crime) from the "
            "published datasets in public_data_dir, and load the published indicators."
        ),
    )
    statistics: StatisticsParams = StatisticsParams()
    prevalence: PrevalenceParams = PrevalenceParams()
    disclosure: DisclosureParams = DisclosureParams()
    report: ReportParams = ReportParams()
    recommendations: Path | None = Field(
        default=None, description="YAML of analyst edits: add, change or suppress recommendations."
    )
    previous_run: Path | None = Field(
        default=None, description="Folder of an earlier run to compare with (change since then)."
    )
    outputs_dir: Path = Path("../outputs")
    kernel_name: str = "needs-assessment"

    # Where the params came from; set by load_params, not by the YAML.
    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _public_data_needs_dir(self) -> RunParams:
        if self.public_data is not None and self.public_data_dir is None:
            raise ValueError("public_data: needs public_data_dir (the folder holding the published files)")
        files, public = self.data.files, self.public_data
        if files.geography is None and (public is None or public.lookup is None or public.imd is None):
            raise ValueError(
                "data.files.geography: required unless public_data builds it (public_data.lookup and public_data.imd)"
            )
        if files.population is None and (public is None or public.census_age is None):
            raise ValueError(
                "data.files.population: required unless public_data builds it (public_data.census_age)"
            )
        return self

    @field_validator("notebooks")
    @classmethod
    def _notebook_names(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if not name.endswith(".ipynb"):
                raise ValueError(f"notebooks: {name!r} is not a .ipynb file")
            if name in seen:
                raise ValueError(f"notebooks: {name!r} is listed twice")
            seen.add(name)
        return value

    # ----------------------------------------------------------------- paths
    def data_path(self, key: str) -> Path | None:
        """Absolute path of an input dataset, or None when the area has none."""
        if key.startswith("linkable_lists."):
            rel = self.data.files.linkable_lists.get(key.split(".", 1)[1])
        else:
            rel = getattr(self.data.files, key)
        return None if rel is None else self.data.directory / rel

    def public_data_paths(self) -> dict[str, Path]:
        """Absolute path of every configured published dataset, keyed by name."""
        if self.public_data is None or self.public_data_dir is None:
            return {}
        return self.public_data.paths(self.public_data_dir)

    def illustrative_pending(self) -> bool:
        """True while illustrative records are configured but not yet generated."""
        return self.data.illustrative is not None and not self.data.directory.is_dir()

    def input_paths(self) -> dict[str, Path]:
        """Every configured input, keyed by its params key (e.g. 'data.files.deaths')."""
        paths: dict[str, Path] = {}
        for key in DATASET_KEYS:
            path = self.data_path(key)
            if path is not None:
                paths[f"data.files.{key}"] = path
        for name in self.data.files.linkable_lists:
            paths[f"data.files.linkable_lists.{name}"] = self.data_path(f"linkable_lists.{name}")
        for name, path in self.public_data_paths().items():
            paths[f"public_data.{name}"] = path
        if self.recommendations is not None:
            paths["recommendations"] = self.recommendations
        return paths

    def missing_inputs(self) -> list[str]:
        """Messages for configured inputs that do not exist, each naming its key."""
        problems = []
        pending = self.illustrative_pending()
        public_ok = self.public_data_dir is not None and self.public_data_dir.is_dir()
        for key, path in self.input_paths().items():
            if pending and key.startswith("data.files."):
                continue  # generated by the runner before loading
            if key.startswith("public_data.") and not public_ok:
                continue  # the missing folder itself is reported below
            if not path.exists():
                problems.append(f"{key}: file not found: {path}")
        if self.public_data_dir is not None and not self.public_data_dir.is_dir():
            problems.append(
                f"public_data_dir: folder not found: {self.public_data_dir} (download the published "
                "files with 'needs-assessment fetch-public-data --params <this file>', or point "
                "public_data_dir at a local copy such as ../shared/reference)"
            )
        if self.previous_run is not None and not (self.previous_run / "results.json").is_file():
            problems.append(
                f"previous_run: {self.previous_run} is not a completed run (no results.json)"
            )
        return problems

    def check_inputs_exist(self) -> None:
        problems = self.missing_inputs()
        if problems:
            where = f" in {self.source_file}" if self.source_file else ""
            raise ParamsError(f"Invalid params{where}:\n  " + "\n  ".join(problems))


def _expand(value: str) -> str:
    return os.path.expanduser(os.path.expandvars(value))


def _resolve_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the path-valued keys absolute, relative to the params file's folder."""

    def resolve(value):
        if value is None or not isinstance(value, str | os.PathLike):
            return value
        path = Path(_expand(str(value)))
        return path if path.is_absolute() else (base / path).resolve()

    raw = dict(raw)
    for key in ("public_data_dir", "recommendations", "previous_run", "outputs_dir"):
        if key in raw:
            raw[key] = resolve(raw[key])
    raw.setdefault("outputs_dir", resolve("../outputs"))
    if isinstance(raw.get("data"), dict) and "directory" in raw["data"]:
        raw["data"] = dict(raw["data"])
        raw["data"]["directory"] = resolve(raw["data"]["directory"])
    return raw


def _format_validation_error(path: Path, error: ValidationError) -> str:
    return format_validation_error(f"params in {path}", error, reference="params/README.md")


def format_validation_error(where: str, error: ValidationError, *, reference: str) -> str:
    """One line per problem of a pydantic validation error, each naming its key path;
    ``reference`` is the document listing the valid keys."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key (check the spelling; see {reference})")
        elif item["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            if not item["loc"]:
                lines.append(message)  # a whole-params check: its message names the keys
            elif isinstance(item.get("input"), dict):
                lines.append(f"{key}: {message}")
            else:
                lines.append(f"{key}: {message} (got {item.get('input')!r})")
    return f"Invalid {where}:\n  " + "\n  ".join(lines)


def load_params(path: str | os.PathLike, *, check_files: bool = True) -> RunParams:
    """Read and validate a params YAML file.

    ``check_files`` also requires every configured input to exist, except for a synthetic
    area whose files the runner generates on first use.

    Raises :class:`ParamsError` with one line per problem, each naming its key.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ParamsError(f"Params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"Params file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ParamsError(f"Params file {path} must hold a mapping of keys, not {type(raw).__name__}")
    try:
        params = RunParams.model_validate(_resolve_paths(raw, path.parent) | {"source_file": path})
    except ValidationError as exc:
        raise ParamsError(_format_validation_error(path, exc)) from None
    if check_files and params.data.synthetic is None:
        params.check_inputs_exist()
    return params


def params_from_dict(raw: dict[str, Any], *, source_file: str | os.PathLike | None = None) -> RunParams:
    """Rebuild validated params from their JSON form (as injected into a notebook)."""
    data = dict(raw)
    if source_file is not None:
        data["source_file"] = Path(source_file)
    return RunParams.model_validate(data)
