"""Places: geographical disparities in treatment, deaths, admissions and drug offences.

Everything the "Places" chapter shows is computed here from the validated inputs, by the
area's reporting geography (districts of a two-tier county, wards of a unitary area):

* **Adults in treatment per 100,000 adults** (18+) in the final year of the period, crude
  rate with exact (count < 10) / Byars limits, by sub-area and broad substance group,
  compared with the rate for the area's residents whose address is known (people with no
  fixed abode cannot be placed in a sub-area, so comparing sub-areas with a rate that
  includes them would make every sub-area look low).
* **Deaths** (drug misuse; alcohol-specific) and **hospital admissions** (drug poisoning;
  drug-related mental and behavioural disorders; alcohol-specific conditions): rates pooled
  over the period years and directly age-standardised to the 2013 European Standard
  Population (Fingertips method, :func:`needs_assessment.stats.pooled_dsr`), not calculated
  when fewer than 10 events as Fingertips; plus each sub-area's indirectly standardised
  ratio (observed / expected from the whole area's age-specific rates, x 100) for funnel
  plots, which places every sub-area however few its events.
* **Drug offences** (police.uk crime type "Drugs", rows flagged inside the area only) per
  1,000 residents per year, pooled over the period.
* **Deprivation gradient**: rates by national IMD decile of small area and the slope and
  relative indices of inequality (SII, RII; PHE method,
  :func:`needs_assessment.stats.slope_index_of_inequality`), with quantiles ordered so
  that the SII is the modelled gap *most deprived minus least deprived* and the RII their
  ratio (> 1: higher in deprived places).

Rules shared by every measure: a rate from fewer than ``min_count`` events
(``params.statistics.min_count_for_rate``, default 10) is "not calculated"; a sub-area is
compared with the whole area by whether its confidence interval excludes the whole-area
value (Fingertips "compared with benchmark"); the confidence level is the run's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from needs_assessment import stats
from needs_assessment.analysis.common import (
    EPISODE_COLUMNS,
    OCU_GROUPS,
    attach_area,
    crime_coverage_problem,
    in_treatment,
    population_in_ages,
    report_place_rows,
    sum_by_area,
)
from needs_assessment.analysis.comparators import latest_period, whole_population
from needs_assessment.analysis.profile import LEVEL_COLUMNS
from needs_assessment.sdc import TableSpec

__all__ = [
    "EPISODE_COLUMNS",  # the treatment-episode columns this chapter reads
    "ADMISSION_CONDITIONS",
    "ADULT_POPULATION",
    "BANDED_POPULATION",
    "DEATH_CAUSES",
    "MEASURES",
    "NOT_KNOWN",
    "QUANTILE_SYSTEMS",
    "RATIO_COLUMN",
    "RESIDENT_POPULATION",
    "TREATMENT_GROUPS",
    "TREATMENT_GROUP_LABELS",
    "Gradient",
    "Measure",
    "Places",
    "absent_messages",
    "comparator_for",
    "deprivation_gradient",
    "drug_offence_rates",
    "england_comparisons",
    "funnel_data",
    "gradient_display",
    "gradient_table",
    "hidden_codes",
    "indices_table",
    "indices_view",
    "join_names",
    "places_context",
    "protected_values",
    "published_series",
    "rate_summary",
    "rate_table",
    "ratio_funnel_panels",
    "ratio_map_panels",
    "record_gradient_indicators",
    "record_rate_indicators",
    "report_view_rows",
    "small_area_deciles",
    "standardised_rates",
    "standout_places",
    "sub_area_boundaries",
    "treatment_gaps",
    "treatment_rates",
    "wide_view",
]

OUTCOME_HARM = "Reduce drug-related deaths and harm"
OUTCOME_CRIME = "Reduce drug-related crime"
OUTCOME_TREATMENT = "Increase engagement in drug and alcohol treatment"

#: Substance groups for treatment rates: name -> NDTMS substance groups (None = all).
#: Non-opiate drug clients are deliberately not a group of their own: with all three
#: parts and the total published, a suppressed part could be worked out by subtraction.
TREATMENT_GROUPS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "ocu": OCU_GROUPS,
    "alcohol": ("alcohol_only",),
}
TREATMENT_GROUP_LABELS = {
    "all": "All substances",
    "ocu": "Opiates and/or crack (OCU)",
    "alcohol": "Alcohol only",
}

DEATH_CAUSES = {"drug_misuse": "Deaths from drug misuse", "alcohol_specific": "Alcohol-specific deaths"}
ADMISSION_CONDITIONS = {
    "drug_poisoning": "Admissions for drug poisoning",
    "drug_mental_behavioural": "Admissions for drug-related mental and behavioural disorders",
    "alcohol_specific": "Admissions for alcohol-specific conditions",
}


@dataclass(frozen=True)
class Measure:
    """One indicator of the chapter."""

    key: str  # measure name used in SII/RII keys
    label: str
    dataset: str  # AreaData attribute
    code: str | None  # cause / condition / crime type / substance group
    unit: str
    multiplier: float
    polarity: str
    outcome: str
    indicator: str  # metric name of the sub-area indicators (places.<indicator>.<code>)
    standardised: bool  # deaths/admissions: age-standardised
    event_noun: str
    comparator_ids: tuple[int, ...] = ()
    comparator_names: tuple[str, ...] = ()
    family: str = "drug"  # 'drug' | 'alcohol' | 'treatment': which treatment rate answers it
    short: str = ""  # column heading in compact tables


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("treatment_rate", "Adults in treatment", "treatment_episodes", "all",
                "per 100,000", 100_000, "no_judgement", OUTCOME_TREATMENT, "treatment_rate",
                False, "people", family="treatment",
                short="Adults in treatment per 100,000 adults"),
        Measure("drug_misuse_deaths", "Deaths from drug misuse", "deaths", "drug_misuse",
                "per 100,000", 100_000, "low_is_good", OUTCOME_HARM, "drug_misuse_deaths_dsr",
                True, "deaths", (92432,), ("Deaths from drug misuse",), family="drug",
                short="Drug misuse deaths per 100,000"),
        Measure("alcohol_specific_deaths", "Alcohol-specific deaths", "deaths",
                "alcohol_specific", "per 100,000", 100_000, "low_is_good", OUTCOME_HARM,
                "alcohol_specific_deaths_dsr", True, "deaths", (91380,),
                ("Alcohol-specific mortality",), family="alcohol",
                short="Alcohol-specific deaths per 100,000"),
        Measure("drug_poisoning_admissions", "Admissions for drug poisoning", "admissions",
                "drug_poisoning", "per 100,000", 100_000, "low_is_good", OUTCOME_HARM,
                "drug_poisoning_admissions_dsr", True, "admissions", family="drug",
                short="Drug poisoning admissions per 100,000"),
        Measure("drug_mental_behavioural_admissions",
                "Admissions for drug-related mental and behavioural disorders", "admissions",
                "drug_mental_behavioural", "per 100,000", 100_000, "low_is_good", OUTCOME_HARM,
                "drug_mental_behavioural_admissions_dsr", True, "admissions", family="drug",
                short="Drug-related mental health admissions per 100,000"),
        Measure("alcohol_admissions", "Admissions for alcohol-specific conditions",
                "admissions", "alcohol_specific", "per 100,000", 100_000, "low_is_good",
                OUTCOME_HARM, "alcohol_admissions_dsr", True, "admissions", (92906,),
                ("Admission episodes for alcohol-specific conditions",), family="alcohol",
                short="Alcohol-specific admissions per 100,000"),
        Measure("drug_offences", "Drug offences", "crime", "Drugs", "per 1,000", 1_000,
                "low_is_good", OUTCOME_CRIME, "drug_offences_rate", False, "offences",
                family="drug", short="Drug offences per 1,000 a year"),
    )
}

#: Indicator theme tag by dataset.
THEMES = {"treatment_episodes": "treatment", "deaths": "deaths", "admissions": "admissions",
          "crime": "crime"}

ENGLAND_CODE = "E92000001"
NOT_KNOWN = "No fixed abode or address not known"


# ------------------------------------------------------------------------------ context
@dataclass(frozen=True)
class Places:
    """What every function here needs to know about the run."""

    level: str  # 'district' | 'ward'
    area_code: str
    area_name: str
    years: tuple[int, ...]
    confidence: float = 0.95
    min_count: int = 10
    region_code: str | None = None
    region_name: str | None = None

    @property
    def level_label(self) -> str:
        return self.level.title()

    @property
    def final_year(self) -> int:
        return max(self.years)

    @property
    def period_label(self) -> str:
        return f"{min(self.years)}-{max(self.years)}" if len(self.years) > 1 else str(self.years[0])

    @property
    def financial_period_label(self) -> str:
        lo, hi = min(self.years), max(self.years)
        first = f"{lo}/{str(lo + 1)[-2:]}"
        last = f"{hi}/{str(hi + 1)[-2:]}"
        return first if lo == hi else f"{first} to {last}"

    @property
    def ci_label(self) -> str:
        pct = self.confidence * 100
        return f"{pct:.1f}".rstrip("0").rstrip(".") + "%"


def places_context(params: Any, *, confidence: float | None = None) -> Places:
    """A :class:`Places` from run params (``ch.params``)."""
    years = tuple(range(params.period.start_year, params.period.end_year + 1))
    return Places(
        level=params.area.reporting_geography,
        area_code=params.area.code or params.area.slug,
        area_name=params.area.name,
        years=years,
        confidence=params.statistics.confidence_level if confidence is None else confidence,
        min_count=params.statistics.min_count_for_rate,
        region_code=params.area.region_code,
        region_name=params.area.region_name,
    )


def absent_messages(area: Any, years: Sequence[int] | None = None) -> dict[str, str]:
    """Plain sentences for each section whose input is missing (section -> text). With
    ``years``, a crime extract lacking drug offences or months of the period counts as
    missing too."""
    out = {}
    if not area.has("population"):
        out["all"] = (
            "No population file was supplied, so no rate in this chapter can be calculated; "
            "with it, the chapter would show treatment, death, admission and drug offence rates "
            "for each sub-area and by deprivation."
        )
    checks = {
        "treatment": ("treatment_episodes", "No treatment episode extract was supplied, so adults "
                      "in treatment per 100,000 residents cannot be shown by place."),
        "deaths": ("deaths", "No small-area deaths file was supplied, so drug misuse and "
                   "alcohol-specific death rates by place cannot be shown."),
        "admissions": ("admissions", "No small-area hospital admissions file was supplied, so "
                       "admission rates by place cannot be shown."),
        "offences": ("crime", "No police.uk crime data were supplied, so drug offence rates by "
                     "place cannot be shown."),
        "maps": ("boundaries", "No boundary file was supplied, so the maps cannot be drawn; the "
                 "tables still show every place."),
        "comparators": ("comparators", "No Fingertips comparator file was supplied, so the "
                        "area cannot be compared with England or the region."),
    }
    for section, (dataset, text) in checks.items():
        if not area.has(dataset):
            out[section] = text
    if "offences" not in out and years is not None:
        problem = crime_coverage_problem(area.crime, years=years, crime_types=("Drugs",))
        if problem:
            out["offences"] = f"{problem} Drug offence rates by place are therefore not shown."
    return out


# --------------------------------------------------------------------------- utilities
#: The population columns each rate reads; pass ``area.population_by(<these>, years=...)``
#: (summed over the other columns) rather than the whole population: treatment rates
#: (adults, by age), standardised rates (by ESP age band) and drug offence rates (every age).
ADULT_POPULATION = ("year", "small_area_code", "age", "age_band")
BANDED_POPULATION = ("year", "small_area_code", "age_band")
RESIDENT_POPULATION = ("year", "small_area_code")


def _sub_areas(geography: pd.DataFrame, level: str) -> pd.DataFrame:
    code, name = LEVEL_COLUMNS[level]
    return (
        geography[[code, name]]
        .drop_duplicates()
        .rename(columns={code: "area_code", name: "area_name"})
        .sort_values("area_name", kind="stable")
        .reset_index(drop=True)
    )


def _adult_population(population: pd.DataFrame, geography: pd.DataFrame, *, level: str | None,
                      years: Sequence[int]) -> pd.DataFrame:
    """Residents aged 18+ (person-years over ``years``) by sub-area (or small area when
    ``level`` is None). Where the population has only 5-year bands, 18-19 year-olds are
    taken as 2/5 of the 15-19 band."""
    in_years = population["year"].isin(list(years))
    if not population.loc[in_years, "age"].isna().any():
        # one selection of the rows and columns needed (18 million rows at national scale)
        adults = population.loc[(in_years & (population["age"] >= 18)).fillna(False).astype(bool),
                                ["small_area_code", "population"]]
    else:
        pop = population.loc[in_years]
        lower = pop["age_band"].astype(str).str.extract(r"^(\d+)")[0].astype(int)
        adults = pop.loc[lower >= 15].copy()
        adults["population"] = np.where(lower.loc[adults.index] == 15,
                                        adults["population"] * 0.4, adults["population"])
    if level is None:
        return adults.groupby("small_area_code", observed=True, as_index=False)["population"].sum()
    return sum_by_area(adults, geography, level=level)


def _compare(lower, upper, benchmark, polarity: str) -> pd.Series:
    return pd.Series(
        stats.compare_with_benchmark(
            np.asarray(lower, float), np.asarray(upper, float),
            np.full(len(np.atleast_1d(lower)), float(benchmark)), polarity=polarity,
        ),
        dtype="str",
    )


def _rates(count, denominator, *, multiplier: float, confidence: float, min_count: int,
           noun: str) -> pd.DataFrame:
    """Crude rates with limits; NaN (and a note) where the count is below ``min_count``."""
    count = np.asarray(count, float)
    denominator = np.asarray(denominator, float)
    ok = denominator > 0
    out = pd.DataFrame({"value": np.nan, "lower": np.nan, "upper": np.nan}, index=range(len(count)))
    if ok.any():
        r = stats.crude_rate(count[ok], denominator[ok], multiplier=multiplier, confidence=confidence)
        out.loc[ok, ["value", "lower", "upper"]] = r[["value", "lower", "upper"]].to_numpy()
    small = count < min_count
    out.loc[small, ["value", "lower", "upper"]] = np.nan
    note = np.where(small, f"Not calculated: fewer than {min_count} {noun}", None)
    out["note"] = pd.Series(note, dtype="str")
    return out


def protected_values(published: pd.DataFrame, column: str, marker: str = "[c]") -> pd.Series:
    """Numbers of a published column with suppressed cells (``[c]``) and text as NaN."""
    return pd.to_numeric(published[column].where(published[column] != marker), errors="coerce")


# ------------------------------------------------------------------------- treatment
def treatment_rates(episodes: pd.DataFrame | None, population: pd.DataFrame | None,
                    geography: pd.DataFrame, ctx: Places) -> pd.DataFrame | None:
    """Adults (18+) in treatment in the final year per 100,000 adults, by sub-area and group.

    Returns one row per group x (sub-area, the no-fixed-abode row, the whole area) with
    ``group, group_label, row, area_code, area_name, count, population, value, lower,
    upper, note, benchmark, comparison``; ``row`` is 'sub_area', 'not_known' or 'total'.
    The benchmark of a sub-area is the rate among residents with a known address.
    ``population`` needs only the columns :data:`ADULT_POPULATION` of the final year.
    """
    if episodes is None or population is None:
        return None
    year = ctx.final_year
    subs = _sub_areas(geography, ctx.level)
    pop = subs.merge(
        _adult_population(population, geography, level=ctx.level, years=[year]),
        on=["area_code", "area_name"], how="left",
    ).fillna({"population": 0})
    total_pop = float(pop["population"].sum())
    frames = []
    for group, groups in TREATMENT_GROUPS.items():
        people = in_treatment(episodes, year, adults=True, groups=groups)
        people = attach_area(people, geography, level=ctx.level)
        counts = people.groupby("area_code").size()
        rows = pop.copy()
        rows["count"] = rows["area_code"].map(counts).fillna(0).astype("int64")
        rows["row"] = "sub_area"
        unknown = int(counts.get("unknown", 0))
        known_total = int(rows["count"].sum())
        extra = pd.DataFrame({
            "area_code": ["unknown", ctx.area_code],
            "area_name": [NOT_KNOWN, ctx.area_name],
            "population": [np.nan, total_pop],
            "count": [unknown, known_total + unknown],
            "row": ["not_known", "total"],
        })
        rows = pd.concat([rows, extra], ignore_index=True)
        r = _rates(rows["count"], rows["population"].fillna(0), multiplier=100_000,
                   confidence=ctx.confidence, min_count=ctx.min_count, noun="people")
        rows = pd.concat([rows.reset_index(drop=True), r], axis=1)
        rows.loc[rows["row"] == "not_known", "note"] = "No rate: no population denominator"
        known_rate = known_total / total_pop * 100_000 if total_pop > 0 else np.nan
        rows["benchmark"] = np.where(rows["row"] == "sub_area", known_rate, np.nan)
        rows["comparison"] = _compare(rows["lower"], rows["upper"], known_rate, "no_judgement")
        rows.loc[rows["row"] != "sub_area", "comparison"] = ""
        rows.loc[(rows["row"] == "sub_area") & rows["value"].isna(), "comparison"] = "Not compared"
        rows.insert(0, "group", group)
        rows.insert(1, "group_label", TREATMENT_GROUP_LABELS[group])
        frames.append(rows)
    out = pd.concat(frames, ignore_index=True)
    out["count"] = out["count"].astype("int64")
    return out


# ----------------------------------------------------------- deaths and admissions
def _sum_by_small_area_and_band(pop: pd.DataFrame) -> pd.DataFrame:
    """Whole-number ``population`` summed by ``small_area_code`` and ``age_band`` (the
    combinations present), as a group-by would give it. With both keys categorical, as the
    loaders make them, the sums are counted with :func:`numpy.bincount` on the category
    codes: pandas' group-by of 18 million rows (national scale) held over 500 MB of index
    arrays at once. Float64 sums of whole numbers are exact below 2**53."""
    sa, band = pop["small_area_code"], pop["age_band"]
    if not (isinstance(sa.dtype, pd.CategoricalDtype) and isinstance(band.dtype, pd.CategoricalDtype)):
        return pop.groupby(["small_area_code", "age_band"], as_index=False, observed=True)[
            "population"].sum()
    n_bands = len(band.cat.categories)
    sa_codes = sa.cat.codes.to_numpy()
    band_codes = band.cat.codes.to_numpy()
    ok = (sa_codes >= 0) & (band_codes >= 0)  # a missing key is left out, as by a group-by
    key = sa_codes[ok].astype(np.int64) * n_bands + band_codes[ok]
    size = len(sa.cat.categories) * n_bands
    present = np.flatnonzero(np.bincount(key, minlength=size))
    sums = np.bincount(key, weights=pop["population"].to_numpy()[ok], minlength=size)[present]
    return pd.DataFrame({
        "small_area_code": pd.Categorical.from_codes(present // n_bands, dtype=sa.dtype),
        "age_band": pd.Categorical.from_codes(present % n_bands, dtype=band.dtype),
        "population": pd.Series(sums.astype(np.int64)).astype(pop["population"].dtype),  # as a group-by keeps it
    })


def _banded_population(population: pd.DataFrame, geography: pd.DataFrame, *, level: str | None,
                       years: Sequence[int]) -> pd.DataFrame:
    """Person-years by (area_code or small_area_code) and ESP age band, over ``years``."""
    pop = population.loc[population["year"].isin(list(years)),
                         ["small_area_code", "age_band", "population"]]
    if pd.api.types.is_integer_dtype(pop["population"].dtype) and not pop["population"].isna().any():
        # Sum by small area and band on the file's own (often categorical) codes before
        # turning them into text: text conversion and matching to districts or wards of
        # every person-year row dominated the time at national scale. Whole-number sums
        # are the same in any order.
        pop = _sum_by_small_area_and_band(pop)
    pop = pop.assign(age_band=pop["age_band"].astype(str),
                     small_area_code=pop["small_area_code"].astype(str))
    key = "small_area_code"
    if level is not None:
        pop = attach_area(pop, geography, level=level)
        key = "area_code"
    return pop.groupby([key, "age_band"], as_index=False)["population"].sum()


def _banded_events(events: pd.DataFrame, column: str, code: str, geography: pd.DataFrame, *,
                   level: str | None, years: Sequence[int]) -> pd.DataFrame:
    ev = events.loc[(events[column] == code) & events["year"].isin(list(years)),
                    ["small_area_code", "age_band", "count"]]
    ev = ev.assign(age_band=ev["age_band"].astype(str),
                   small_area_code=ev["small_area_code"].astype(str))
    key = "small_area_code"
    if level is not None:
        ev = attach_area(ev, geography, level=level)
        key = "area_code"
    return ev.groupby([key, "age_band"], as_index=False)["count"].sum()


def _fill_bands(pop: pd.DataFrame, ev: pd.DataFrame, key: str) -> pd.DataFrame:
    """Every key x band with its person-years and events (0 where none). A band with no
    residents and no events gets a population of 1 so it contributes a rate of 0 (the
    DSR needs every band); events in a band with no residents are a data error."""
    frame = pop.merge(ev, on=[key, "age_band"], how="outer")
    frame["count"] = frame["count"].fillna(0)
    frame["population"] = frame["population"].fillna(0)
    bad = (frame["population"] <= 0) & (frame["count"] > 0)
    if bad.any():
        first = frame.loc[bad].iloc[0]
        raise ValueError(
            f"{int(first['count'])} events in {key} {first[key]!r}, age band {first['age_band']!r}, "
            "where the population file has no residents"
        )
    frame.loc[frame["population"] <= 0, "population"] = 1.0
    return frame


def standardised_rates(events: pd.DataFrame | None, population: pd.DataFrame | None,
                       geography: pd.DataFrame, ctx: Places, *, column: str,
                       codes: Mapping[str, str], noun: str = "deaths") -> pd.DataFrame | None:
    """Pooled directly standardised rates (ESP2013) per 100,000 by sub-area and the whole
    area, for each code of ``column`` (a cause of death or an admission condition).

    Also the indirectly standardised ratio of each sub-area (observed / expected x 100,
    expected from the whole area's age-specific rates over the period) and its place on
    the funnel plot. Returns one row per code x (sub-areas, whole area): ``measure,
    measure_label, row, area_code, area_name, count, population, value, lower, upper,
    note, benchmark, comparison, expected, ratio, ratio_lower, ratio_upper, funnel``.
    ``population`` needs only the columns :data:`BANDED_POPULATION` of ``ctx.years``.
    """
    if events is None or population is None:
        return None
    subs = _sub_areas(geography, ctx.level)
    pop_area = _banded_population(population, geography, level=ctx.level, years=ctx.years)
    person_years = pop_area.groupby("area_code")["population"].sum()
    frames = []
    for code, label in codes.items():
        ev = _banded_events(events, column, code, geography, level=ctx.level, years=ctx.years)
        banded = _fill_bands(pop_area, ev, "area_code")
        by_area = stats.pooled_dsr(banded, by="area_code", confidence=ctx.confidence)
        whole = banded.groupby("age_band", as_index=False)[["count", "population"]].sum()
        total = stats.pooled_dsr(whole, confidence=ctx.confidence)
        rows = subs.merge(by_area, on="area_code", how="left")
        rows["row"] = "sub_area"
        total_row = pd.DataFrame({"area_code": [ctx.area_code], "area_name": [ctx.area_name],
                                  "row": ["total"]})
        for col in ("total_count", "value", "lower", "upper", "note"):
            total_row[col] = total[col].to_numpy()
        rows = pd.concat([rows, total_row], ignore_index=True)
        rows = rows.rename(columns={"total_count": "count"})
        rows["count"] = rows["count"].fillna(0).astype("int64")
        rows["population"] = rows["area_code"].map(person_years)
        rows.loc[rows["row"] == "total", "population"] = float(person_years.sum())
        small = rows["count"] < max(ctx.min_count, 10)
        rows.loc[small, ["value", "lower", "upper"]] = np.nan
        rows["note"] = pd.Series(
            np.where(small, f"Not calculated: fewer than {max(ctx.min_count, 10)} {noun}", None),
            dtype="str")
        bench = float(rows.loc[rows["row"] == "total", "value"].iloc[0])
        rows["benchmark"] = np.where(rows["row"] == "sub_area", bench, np.nan)
        rows["comparison"] = _compare(rows["lower"], rows["upper"], bench, "low_is_good")
        rows.loc[rows["row"] == "total", "comparison"] = ""
        # indirectly standardised ratio (x 100) against the whole area, for funnel plots
        ref = whole.rename(columns={"count": "reference_count", "population": "reference_population"})
        isr_in = banded.merge(ref, on="age_band")
        isr = stats.isratio(isr_in, by="area_code", refvalue=100, confidence=ctx.confidence)
        isr = isr.set_index("area_code")
        rows["expected"] = rows["area_code"].map(isr["expected"])
        rows["ratio"] = rows["area_code"].map(isr["value"])
        rows["ratio_lower"] = rows["area_code"].map(isr["lower"])
        rows["ratio_upper"] = rows["area_code"].map(isr["upper"])
        is_total = rows["row"] == "total"
        rows.loc[is_total, ["expected", "ratio"]] = [float(rows.loc[is_total, "count"].iloc[0]), 100.0]
        sub = rows["row"] == "sub_area"
        rows["funnel"] = ""
        if sub.sum() > 0 and rows.loc[sub, "expected"].gt(0).all():
            rows.loc[sub, "funnel"] = stats.funnel_significance(
                rows.loc[sub, "count"].to_numpy(float), rows.loc[sub, "expected"].to_numpy(float),
                statistic="ratio").to_numpy()
        rows.insert(0, "measure", code)
        rows.insert(1, "measure_label", label)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------- drug offences
def _crime_in_period(crime: pd.DataFrame, years: Sequence[int], crime_type: str) -> pd.DataFrame:
    mask = crime["crime_type"].astype(str) == crime_type
    if "in_area" in crime.columns:
        mask &= crime["in_area"].fillna(False).astype(bool)
    mask &= crime["month"].dt.year.isin(list(years))
    mask &= crime["small_area_code"].notna()
    return crime.loc[mask, ["small_area_code"]].assign(
        small_area_code=lambda f: f["small_area_code"].astype(str))


def drug_offence_rates(crime: pd.DataFrame | None, population: pd.DataFrame | None,
                       geography: pd.DataFrame, ctx: Places,
                       crime_type: str = "Drugs") -> pd.DataFrame | None:
    """Drug offences per 1,000 residents per year (offences over the period / person-years),
    by sub-area and the whole area. Rows flagged ``in_area = False`` are left out.

    Returns ``row, area_code, area_name, count, population, value, lower, upper, note,
    benchmark, comparison, funnel`` (None when crime or population is absent).
    ``population`` needs only the columns :data:`RESIDENT_POPULATION` of ``ctx.years``."""
    if crime is None or population is None:
        return None
    subs = _sub_areas(geography, ctx.level)
    person_years = population_in_ages(population, years=ctx.years, geography=geography,
                                      level=ctx.level)
    rows = subs.merge(person_years[["area_code", "population"]], on="area_code", how="left")
    offences = attach_area(_crime_in_period(crime, ctx.years, crime_type), geography, level=ctx.level)
    counts = offences.groupby("area_code").size()
    rows["count"] = rows["area_code"].map(counts).fillna(0).astype("int64")
    rows["row"] = "sub_area"
    total = pd.DataFrame({"area_code": [ctx.area_code], "area_name": [ctx.area_name],
                          "population": [float(rows["population"].sum())],
                          "count": [int(rows["count"].sum())], "row": ["total"]})
    rows = pd.concat([rows, total], ignore_index=True)
    r = _rates(rows["count"], rows["population"], multiplier=1_000, confidence=ctx.confidence,
               min_count=ctx.min_count, noun="offences")
    rows = pd.concat([rows, r], axis=1)
    bench = float(rows.loc[rows["row"] == "total", "value"].iloc[0])
    rows["benchmark"] = np.where(rows["row"] == "sub_area", bench, np.nan)
    rows["comparison"] = _compare(rows["lower"], rows["upper"], bench, "low_is_good")
    rows.loc[rows["row"] == "total", "comparison"] = ""
    rows["funnel"] = ""
    sub = rows["row"] == "sub_area"
    rows.loc[sub, "funnel"] = _crude_funnel_significance(rows.loc[sub], 1_000)
    return rows


def _crude_funnel_significance(rows: pd.DataFrame, multiplier: float) -> np.ndarray:
    num = rows["count"].to_numpy(float)
    den = rows["population"].to_numpy(float)
    if len(rows) == 0 or not (den > 0).all():
        return np.array([""] * len(rows), dtype=object)
    return stats.funnel_significance(num, den, statistic="rate", rate=num / den * multiplier,
                                     rate_type="crude", multiplier=multiplier).to_numpy()


# ------------------------------------------------------------------------- funnels
def _range_anchors(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two extra points at the pooled average, at 1/3 of the smallest and 1.5 x the largest
    size, so the control limits are drawn across a wider range than the areas span (the
    limits table covers only the range of the points supplied). Their events / size equal
    the pooled average exactly, so the baseline and the limits are unchanged; they are
    never plotted or labelled."""
    av = num.sum() / den.sum()
    sizes = np.array([den.min() / 3.0, den.max() * 1.5])
    return av * sizes, sizes


def funnel_data(rows: pd.DataFrame, *, kind: str, multiplier: float = 100_000,
                years_of_data: int = 1) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Points and 95% / 99.8% control limits for a funnel plot of the sub-area rows.

    ``kind='ratio'``: indirectly standardised ratios (x 100) against expected events
    (rows need ``count``, ``expected``); ``kind='rate'``: crude rates against the
    population per year (rows need ``count``, ``population``). Returns ``(points,
    limits)``: points ``area_code, area_name, x, y, count, significance``; limits
    ``x, lower_95, upper_95, lower_998, upper_998, baseline``, sorted by x; or None when
    there are fewer than 3 sub-areas with events.
    """
    sub = rows.loc[rows["row"] == "sub_area"].copy()
    if kind == "ratio":
        sub = sub.loc[sub["expected"] > 0]
        if len(sub) < 3 or sub["count"].sum() == 0:
            return None
        num = sub["count"].to_numpy(float)
        den = sub["expected"].to_numpy(float)
        a_num, a_den = _range_anchors(num, den)
        lim = stats.funnel_limits(np.r_[num, a_num], np.r_[den, a_den], statistic="ratio",
                                  ratio_type="isr")
        sig = stats.funnel_significance(num, den, statistic="ratio").to_numpy()
        points = pd.DataFrame({"area_code": sub["area_code"].to_numpy(),
                               "area_name": sub["area_name"].to_numpy(), "x": den,
                               "y": num / den * 100, "count": num, "significance": sig})
        curves = {}
        for side in ("lower", "upper"):
            for s, name in (("2s", "95"), ("3s", "998")):
                curves[f"{side}_{name}"] = (lim[f"{side}_{s}_exp_events"].to_numpy(float),
                                            lim[f"{side}_{s}_limit"].to_numpy(float))
        baseline = 100.0
    elif kind == "rate":
        sub = sub.loc[sub["population"] > 0]
        if len(sub) < 3 or sub["count"].sum() == 0:
            return None
        num = sub["count"].to_numpy(float)
        den = sub["population"].to_numpy(float)
        rate = num / den * multiplier
        a_num, a_den = _range_anchors(num, den)
        lim = stats.funnel_limits(np.r_[num, a_num], np.r_[den, a_den], statistic="rate",
                                  rate=np.r_[rate, a_num / a_den * multiplier], rate_type="crude",
                                  multiplier=multiplier, years_of_data=years_of_data)
        sig = _crude_funnel_significance(sub, multiplier)
        points = pd.DataFrame({"area_code": sub["area_code"].to_numpy(),
                               "area_name": sub["area_name"].to_numpy(),
                               "x": den / years_of_data, "y": rate, "count": num,
                               "significance": sig})
        curves = {}
        for side in ("lower", "upper"):
            for s, name in (("2s", "95"), ("3s", "998")):
                curves[f"{side}_{name}"] = (lim[f"{side}_{s}_population_1_year"].to_numpy(float),
                                            lim[f"{side}_{s}_limit"].to_numpy(float))
        baseline = float(lim["baseline"].iloc[0])
    else:
        raise ValueError(f"kind must be 'ratio' or 'rate', not {kind!r}")
    # Put every curve on one common x grid (each limit is given at its own x).
    scale = 1.0 if kind == "ratio" else float(years_of_data)
    grid = np.geomspace(a_den.min() / scale, a_den.max() / scale, 200)
    limits = pd.DataFrame({"x": grid})
    for name, (x, y) in curves.items():
        order = np.argsort(x)
        x, y = x[order], y[order]
        ok = np.isfinite(x) & np.isfinite(y)
        limits[name] = np.interp(np.log(grid), np.log(x[ok]), y[ok], left=np.nan, right=np.nan)
    limits["baseline"] = baseline
    return points, limits


# ------------------------------------------------------------------------- comparators
def _norm(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def comparator_for(comparators: pd.DataFrame | None, measure: Measure, *, region_code: str | None = None,
                   region_name: str | None = None) -> dict[str, dict[str, Any]]:
    """England and region values of ``measure`` from a Fingertips export: {'England': {...},
    'region': {...}} with ``label, value, lower, upper, time_period, indicator_id,
    indicator_name``; empty where the file does not hold the indicator (matched on
    Indicator ID, else on the exact indicator name). Whole-population rows only (persons,
    no category); the latest time period is taken."""
    if comparators is None or (not measure.comparator_ids and not measure.comparator_names):
        return {}
    c = comparators
    match = c["indicator_id"].isin(list(measure.comparator_ids))
    if not match.any() and measure.comparator_names:
        names = {_norm(n) for n in measure.comparator_names}
        match = c["indicator_name"].map(_norm).isin(names)
    rows = whole_population(c.loc[match], persons_only=True)
    out: dict[str, dict[str, Any]] = {}
    targets = {
        "England": (rows["area_code"] == ENGLAND_CODE)
        | (rows["area_type"].astype(str).str.lower() == "england"),
    }
    if region_code or region_name:
        targets["region"] = (rows["area_code"] == (region_code or "")) | (
            rows["area_name"].map(_norm) == _norm(region_name or ""))
    for key, mask in targets.items():
        r = latest_period(rows.loc[mask])
        if r is None:
            continue
        out[key] = {
            "label": "England" if key == "England" else str(r["area_name"]),
            "value": float(r["value"]),
            "lower": None if pd.isna(r.get("lower_ci95")) else float(r["lower_ci95"]),
            "upper": None if pd.isna(r.get("upper_ci95")) else float(r["upper_ci95"]),
            "time_period": str(r["time_period"]),
            "indicator_id": int(r["indicator_id"]),
            "indicator_name": str(r["indicator_name"]),
        }
    return out


def england_comparisons(comparators: pd.DataFrame | None, measure: Measure, ctx: Places, *,
                        lower: float, upper: float, local_period: str) -> list[dict[str, Any]]:
    """Comparison dicts (England, region) for the whole area's value of ``measure``."""
    found = comparator_for(comparators, measure, region_code=ctx.region_code,
                           region_name=ctx.region_name)
    out = []
    for ref in found.values():
        result = stats.compare_with_benchmark(
            float("nan") if lower is None else lower, float("nan") if upper is None else upper,
            ref["value"], polarity=measure.polarity)
        out.append({
            "label": f"{ref['label']} ({ref['time_period']})",
            "value": ref["value"], "lower": ref["lower"], "upper": ref["upper"],
            "result": result,
            "method": (f"{ctx.ci_label} CI of {ctx.area_name} {local_period} pooled value vs "
                       f"{ref['label']} {ref['time_period']} (Fingertips {ref['indicator_id']})"),
        })
    return out


# ------------------------------------------------------------------ deprivation gradient
QUANTILE_SYSTEMS = {
    "national_decile": "National IMD decile",
    "national_quintile": "National IMD quintile",
    "local_quintile": "Local deprivation fifth",
}
QUANTILE_PLURALS = {
    "national_decile": "national IMD deciles",
    "national_quintile": "national IMD quintiles",
    "local_quintile": "local deprivation fifths",
}


def _quantiles(geography: pd.DataFrame, weights: pd.Series, system: str) -> pd.Series:
    """Quantile of each small area, 1 = most deprived. ``weights`` (population by small
    area) are used for local fifths: small areas ranked by IMD score, most deprived first,
    each assigned to the fifth where the midpoint of its population falls."""
    geo = geography.set_index("small_area_code")
    if system == "national_decile":
        return geo["imd_decile"].astype(int)
    if system == "national_quintile":
        return ((geo["imd_decile"].astype(int) + 1) // 2).astype(int)
    if system == "local_quintile":
        order = geo.sort_values(["imd_score", "imd_decile"], ascending=[False, True], kind="stable")
        w = weights.reindex(order.index).fillna(0).to_numpy(float)
        mid = (np.cumsum(w) - w / 2) / w.sum()
        q = np.minimum(np.floor(mid * 5).astype(int) + 1, 5)
        return pd.Series(q, index=order.index).reindex(geo.index)
    raise ValueError(f"unknown quantile system {system!r}")


@dataclass
class _MeasureInput:
    measure: Measure
    events: pd.DataFrame  # small_area_code[, age_band], count
    population: pd.DataFrame  # small_area_code[, age_band], population
    period: str


def _gradient_inputs(area: Any, ctx: Places) -> list[_MeasureInput]:
    out = []
    geo = area.geography
    if not area.has("population"):
        return out
    # Each denominator reads only the population columns it needs (summed over the rest,
    # AreaData.population_by), not the 18 million rows of a national-scale population.
    if area.treatment_episodes is not None:
        people = in_treatment(area.treatment_episodes, ctx.final_year, adults=True)
        ev = (people.loc[people["small_area_code"].notna(), "small_area_code"].astype(str)
              .value_counts().rename("count").rename_axis("small_area_code").reset_index())
        del people
        pop = area.population_by(ADULT_POPULATION, years=[ctx.final_year])
        den = _adult_population(pop, geo, level=None, years=[ctx.final_year])
        del pop
        den = den.assign(small_area_code=den["small_area_code"].astype(str))
        out.append(_MeasureInput(MEASURES["treatment_rate"], ev, den, str(ctx.final_year)))
    banded_pop = None
    for dataset, column in (("deaths", "cause"), ("admissions", "condition")):
        frame = getattr(area, dataset)
        if frame is None:
            continue
        if banded_pop is None:
            banded_pop = _banded_population(area.population_by(BANDED_POPULATION, years=ctx.years),
                                            geo, level=None, years=ctx.years)
        for m in MEASURES.values():
            if m.dataset != dataset:
                continue
            ev = _banded_events(frame, column, m.code, geo, level=None, years=ctx.years)
            period = ctx.period_label if dataset == "deaths" else ctx.financial_period_label
            out.append(_MeasureInput(m, ev, banded_pop, period))
    if area.crime is not None and crime_coverage_problem(area.crime, years=ctx.years, crime_types=("Drugs",)) is None:
        offences = _crime_in_period(area.crime, ctx.years, "Drugs")
        ev = offences["small_area_code"].value_counts().rename("count").rename_axis(
            "small_area_code").reset_index()
        den = population_in_ages(area.population_by(RESIDENT_POPULATION, years=ctx.years),
                                 years=ctx.years, by=["small_area_code"])
        den = den.assign(small_area_code=den["small_area_code"].astype(str))
        out.append(_MeasureInput(MEASURES["drug_offences"], ev, den, ctx.period_label))
    return out


def _quantile_rates(inp: _MeasureInput, quantile: pd.Series, *, confidence: float,
                    min_count: int) -> pd.DataFrame:
    """Rates by quantile: crude (treatment, offences) or indirectly age-standardised to
    the whole area (deaths, admissions). Columns ``quantile, count, population, value,
    lower, upper, lower95, upper95, note``."""
    m = inp.measure
    q = quantile.rename("quantile")
    ev = inp.events.merge(q, left_on="small_area_code", right_index=True, how="inner")
    den = inp.population.merge(q, left_on="small_area_code", right_index=True, how="inner")
    if m.standardised:
        banded = _fill_bands(
            den.groupby(["quantile", "age_band"], as_index=False)["population"].sum(),
            ev.groupby(["quantile", "age_band"], as_index=False)["count"].sum(), "quantile")
        ref = banded.groupby("age_band", as_index=False)[["count", "population"]].sum().rename(
            columns={"count": "reference_count", "population": "reference_population"})
        data = banded.merge(ref, on="age_band")
        r = stats.israte(data, by="quantile", multiplier=m.multiplier, confidence=confidence)
        r95 = stats.israte(data, by="quantile", multiplier=m.multiplier, confidence=0.95)
        out = pd.DataFrame({"quantile": r["quantile"].astype(int), "count": r["observed"],
                            "value": r["value"], "lower": r["lower"], "upper": r["upper"],
                            "lower95": r95["lower"], "upper95": r95["upper"]})
        popq = den.groupby("quantile")["population"].sum()
        out["population"] = out["quantile"].map(popq)
    else:
        counts = ev.groupby("quantile")["count"].sum()
        popq = den.groupby("quantile")["population"].sum()
        out = pd.DataFrame({"quantile": popq.index.astype(int), "population": popq.to_numpy(float)})
        out["count"] = out["quantile"].map(counts).fillna(0).to_numpy(float)
        r = stats.crude_rate(out["count"], out["population"], multiplier=m.multiplier,
                             confidence=confidence)
        r95 = stats.crude_rate(out["count"], out["population"], multiplier=m.multiplier,
                               confidence=0.95)
        out["value"], out["lower"], out["upper"] = r["value"], r["lower"], r["upper"]
        out["lower95"], out["upper95"] = r95["lower"], r95["upper"]
    out["count"] = out["count"].astype("int64")
    out["note"] = pd.Series([None] * len(out), dtype="str")
    return out.sort_values("quantile").reset_index(drop=True)


@dataclass
class Gradient:
    """Deprivation gradient of one measure."""

    measure: Measure
    period: str
    deciles: pd.DataFrame  # rates by national decile 1..10 (absent deciles noted)
    system: str | None  # quantiles the SII was fitted on; None when not calculated
    quantile_rates: pd.DataFrame | None  # rates by those quantiles (+ rank b)
    index: dict[str, Any] = field(default_factory=dict)  # sii, rii, limits, intercept
    reason: str | None = None  # why the SII was not calculated

    @property
    def quantile_label(self) -> str:
        return QUANTILE_SYSTEMS.get(self.system or "", "")

    @property
    def quantile_plural(self) -> str:
        return QUANTILE_PLURALS.get(self.system or "", "")


def _usable(rates: pd.DataFrame, min_events: int) -> str | None:
    if len(rates) < 5:
        return f"only {len(rates)} quantiles hold small areas (at least 5 are needed)"
    if (rates["population"] <= 0).any():
        return "a quantile has no residents"
    if (rates["count"] < max(min_events, 1)).any():
        return f"a quantile has fewer than {max(min_events, 1)} events"
    return None


def deprivation_gradient(area: Any, ctx: Places, *, seed: int = 20240521,
                         repetitions: int = 100_000, min_events: int = 5) -> list[Gradient]:
    """Rates by national IMD decile of small area and the SII/RII of every measure the
    area's data allow.

    The SII is fitted on national IMD deciles when at least five deciles hold small areas
    and each has at least ``min_events`` events (default 5, the usual disclosure
    threshold, so every point of the chart can be shown); otherwise on national quintiles
    (deciles 1-2, 3-4, ...); otherwise on local fifths (the area's small areas ranked by
    IMD score in five groups of about equal population, as PHE's local SII); otherwise it
    is not calculated. Quantiles are ordered least deprived first, so SII = fitted rate in
    the most deprived minus the least deprived, RII = their ratio; limits by simulation at
    the run's confidence level, seeded. The regression is fitted on the log scale
    (``transform=True``; fitted rate = intercept x RII ** relative rank), which keeps the RII
    and its limits positive when the least deprived rate is small. Deaths and admissions are indirectly
    age-standardised to the whole area within each quantile, so quantiles with few events
    still get a rate with exact limits; crude rates otherwise.

    In the national-decile table (``Gradient.deciles``) a rate from fewer than
    ``ctx.min_count`` events is not calculated, as everywhere in the chapter.
    """
    geo = area.geography
    out = []
    decile_all = pd.DataFrame({"quantile": range(1, 11)})
    present = geo.groupby("imd_decile").size()
    for i, inp in enumerate(_gradient_inputs(area, ctx)):
        weights = inp.population.groupby("small_area_code")["population"].sum()
        dec = _quantile_rates(inp, _quantiles(geo, weights, "national_decile"),
                              confidence=ctx.confidence, min_count=ctx.min_count)
        deciles = decile_all.merge(dec, on="quantile", how="left")
        deciles["small_areas"] = deciles["quantile"].map(present).fillna(0).astype("int64")
        no_sa = deciles["small_areas"] == 0
        few = ~no_sa & (deciles["count"] < ctx.min_count)
        deciles.loc[few, ["value", "lower", "upper"]] = np.nan
        deciles["note"] = deciles["note"].astype("str")
        deciles.loc[few, "note"] = (
            f"Not calculated: fewer than {ctx.min_count} {inp.measure.event_noun}")
        deciles.loc[no_sa, "note"] = "No small areas in this decile"
        chosen, rates, reason = None, None, None
        for system in QUANTILE_SYSTEMS:
            r = dec if system == "national_decile" else _quantile_rates(
                inp, _quantiles(geo, weights, system), confidence=ctx.confidence,
                min_count=ctx.min_count)
            reason = _usable(r, min_events)
            if reason is None:
                chosen, rates = system, r
                break
        index: dict[str, Any] = {}
        if chosen is not None:
            rates = rates.copy()
            n_q = int(rates["quantile"].max()) + 1
            rates["rank"] = n_q - rates["quantile"]  # least deprived first
            sii = stats.slope_index_of_inequality(
                rates, quantile="rank", population="population", value="value",
                value_type="rate", lower_cl="lower95", upper_cl="upper95",
                confidence=ctx.confidence, repetitions=repetitions, seed=seed + i,
                transform=True,
            ).iloc[0]
            if pd.isna(sii["sii"]):
                chosen, reason = None, str(sii["note"])
            else:
                index = {k: float(sii[k]) for k in
                         ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper", "intercept")}
                ordered = rates.sort_values("rank")
                a = ordered["population"].to_numpy(float) / ordered["population"].sum()
                b = np.cumsum(a) - a / 2
                rates["relative_rank"] = pd.Series(b, index=ordered.index).reindex(rates.index)
                index["quantiles"] = len(rates)
                index["total_count"] = int(rates["count"].sum())
        if chosen is None and reason is None:
            reason = "no usable quantiles"
        out.append(Gradient(inp.measure, inp.period, deciles, chosen,
                            rates if chosen else None, index, None if chosen else reason))
    return out


# ------------------------------------------------------------------------------ tables
def _fmt_label(ctx: Places) -> str:
    return f"({ctx.ci_label} CI"


def rate_table(rows: pd.DataFrame, ctx: Places, *, unit: str, group: str | None = None,
               group_header: str = "Measure", count_header: str = "Number",
               population_header: str | None = None, rate_header: str = "Rate",
               ratio: bool = False) -> tuple[pd.DataFrame, TableSpec]:
    """A long, publishable table (human headers) and its :class:`TableSpec` from the
    rows of :func:`treatment_rates` / :func:`standardised_rates` /
    :func:`drug_offence_rates`. Sub-areas then the whole-area total row, per group."""
    rate_col = f"{rate_header} {unit}"
    lo_col = f"{rate_col} {_fmt_label(ctx)} lower)"
    hi_col = f"{rate_col} {_fmt_label(ctx)} upper)"
    cmp_col = f"Compared with {ctx.area_name}"
    cols = {}
    if group is not None:
        cols[group] = group_header
    cols.update({"area_code": "Code", "area_name": ctx.level_label})
    frame = rows.copy()
    frame["area_name"] = np.where(frame["row"] == "total",
                                  frame["area_name"].astype(str) + " (whole area)",
                                  frame["area_name"].astype(str))
    out = frame[list(cols)].rename(columns=cols)
    out[count_header] = frame["count"].astype("int64").to_numpy()
    if population_header:
        out[population_header] = frame["population"].round().astype("Int64").to_numpy()
    out[rate_col] = frame["value"].to_numpy()
    out[lo_col] = frame["lower"].to_numpy()
    out[hi_col] = frame["upper"].to_numpy()
    out[cmp_col] = frame["comparison"].fillna("").astype(str).to_numpy()
    derived = {rate_col: (count_header,), lo_col: (count_header,), hi_col: (count_header,),
               cmp_col: (count_header,)}
    if ratio:
        ratio_col = "Standardised ratio (whole area = 100)"
        out[ratio_col] = frame["ratio"].to_numpy()
        derived[ratio_col] = (count_header,)
        fcol = "Funnel plot (95% / 99.8% limits)"
        out[fcol] = frame["funnel"].fillna("").astype(str).to_numpy()
        derived[fcol] = (count_header,)
    elif "funnel" in frame.columns:
        fcol = "Funnel plot (95% / 99.8% limits)"
        out[fcol] = frame["funnel"].fillna("").astype(str).to_numpy()
        derived[fcol] = (count_header,)
    out["Note"] = frame["note"].fillna("").astype(str).to_numpy()
    spec = TableSpec(
        count_columns=(count_header,),
        derived_columns=derived,
        group_columns=(group_header,) if group is not None else (),
        total_row=(ctx.level_label, f"{ctx.area_name} (whole area)"),
    )
    return out.reset_index(drop=True), spec


def gradient_table(gradients: Sequence[Gradient], ctx: Places) -> tuple[pd.DataFrame, TableSpec] | None:
    """Rates by national IMD decile for every measure, one long table (group: measure)."""
    frames = []
    for g in gradients:
        d = g.deciles.copy()
        label = f"{g.measure.label} ({g.measure.unit}, {g.period})"
        method = ("indirectly age-standardised" if g.measure.standardised else "crude")
        t = pd.DataFrame({
            "Measure": label,
            "National IMD decile": d["quantile"].map(
                lambda q: f"{q} (most deprived)" if q == 1 else (f"{q} (least deprived)" if q == 10 else str(q))),
            "Small areas (number)": d["small_areas"],
            "Events (number)": d["count"].astype("Int64"),
            "Rate": d["value"], "Lower": d["lower"], "Upper": d["upper"],
            "Rate type": np.where(d["small_areas"] > 0, method, ""),
            "Note": d["note"].fillna("").astype(str),
        })
        total_count = int(d["count"].fillna(0).sum())
        total_pop = float(d["population"].fillna(0).sum())
        # Whole area: crude rate (an indirectly standardised rate equals it by construction)
        whole = stats.crude_rate(total_count, total_pop, multiplier=g.measure.multiplier,
                                 confidence=ctx.confidence).iloc[0]
        total = {
            "Measure": label, "National IMD decile": "All deciles", "Small areas (number)":
            int(d["small_areas"].sum()), "Events (number)": total_count,
            "Rate": whole["value"], "Lower": whole["lower"], "Upper": whole["upper"],
            "Rate type": "crude", "Note": "Small areas with a known location only",
        }
        frames.append(pd.concat([t, pd.DataFrame([total])], ignore_index=True))
    if not frames:
        return None
    out = pd.concat(frames, ignore_index=True)
    lo = f"Rate {_fmt_label(ctx)} lower)"
    hi = f"Rate {_fmt_label(ctx)} upper)"
    out = out.rename(columns={"Lower": lo, "Upper": hi})
    out["Events (number)"] = out["Events (number)"].astype("Int64")
    spec = TableSpec(count_columns=("Events (number)",),
                     derived_columns={"Rate": ("Events (number)",), lo: ("Events (number)",),
                                      hi: ("Events (number)",)},
                     group_columns=("Measure",), total_row=("National IMD decile", "All deciles"))
    return out, spec


def indices_table(gradients: Sequence[Gradient], ctx: Places) -> tuple[pd.DataFrame, TableSpec] | None:
    """SII and RII of every measure (one row per measure)."""
    rows = []
    for g in gradients:
        ix = g.index
        rows.append({
            "Measure": g.measure.label, "Unit": g.measure.unit, "Period": g.period,
            "Quantiles": g.quantile_label if g.system else "Not calculated",
            "Events (number)": ix.get("total_count", int(g.deciles["count"].fillna(0).sum())),
            "SII": ix.get("sii", np.nan), "SII lower": ix.get("sii_lower", np.nan),
            "SII upper": ix.get("sii_upper", np.nan),
            "RII": ix.get("rii", np.nan), "RII lower": ix.get("rii_lower", np.nan),
            "RII upper": ix.get("rii_upper", np.nan),
            "Note": g.reason or "",
        })
    if not rows:
        return None
    out = pd.DataFrame(rows)
    ci = _fmt_label(ctx)
    out = out.rename(columns={
        "SII": "SII (gap, most minus least deprived)", "SII lower": f"SII {ci} lower)",
        "SII upper": f"SII {ci} upper)", "RII": "RII (ratio, most to least deprived)",
        "RII lower": f"RII {ci} lower)", "RII upper": f"RII {ci} upper)"})
    spec = TableSpec(count_columns=("Events (number)",), assume_totals_published=False)
    return out, spec


# ------------------------------------------------------------------------ recording
def _suppressed(published: pd.DataFrame, column: str, marker: str) -> pd.Series:
    return published[column].astype(str) == marker


def _num(v) -> float | None:
    try:
        if v is None or pd.isna(v):
            return None
    except (TypeError, ValueError):
        return None
    return float(v)


def record_rate_indicators(rec: Any, rows: pd.DataFrame, published: pd.DataFrame, ctx: Places, *,
                           measure: Measure, key: str, label: str, period: str,
                           source_kind: str, source: str, count_header: str = "Number",
                           area_comparisons: Sequence[Mapping[str, Any]] = (),
                           substance: str | None = None, marker: str = "[c]",
                           benchmark_label: str | None = None) -> None:
    """Record ``places.<key>`` (whole area) and ``places.<key>.<code>`` (each sub-area)
    from the rows of one measure and the published (disclosure-controlled) table rows in
    the same order: a suppressed count or rate is recorded as missing, never leaked."""
    rows = rows.reset_index(drop=True)
    published = published.reset_index(drop=True)
    if len(rows) != len(published):
        raise ValueError("rows and published table rows differ in number")
    hidden = _suppressed(published, count_header, marker)
    bench_label = benchmark_label or ctx.area_name
    # one write of the chapter's results for all the sub-areas, not one per sub-area
    with rec.batch():
        for i, r in rows.iterrows():
            if r["row"] == "not_known":
                continue
            is_total = r["row"] == "total"
            secret = bool(hidden.iloc[i])
            value = None if secret else _num(r["value"])
            tags = {"level": "area" if is_total else ctx.level, "area_code": str(r["area_code"]),
                    "theme": THEMES.get(measure.dataset, measure.dataset)}
            if substance:
                tags["substance"] = substance
            comparisons = list(area_comparisons) if is_total else []
            if not is_total and value is not None:
                comparisons = [{
                    "label": bench_label, "value": _num(r["benchmark"]), "result": str(r["comparison"]),
                    "method": f"{ctx.ci_label} CI of {ctx.level} value vs {bench_label} value",
                }]
            note = None if value is not None else (
                "suppressed to protect confidentiality" if secret else (r["note"] or None))
            rec.indicator(
                f"places.{key}" if is_total else f"places.{key}.{r['area_code']}",
                label=f"{label}, {r['area_name']}",
                value=value,
                lower=None if value is None else _num(r["lower"]),
                upper=None if value is None else _num(r["upper"]),
                confidence=ctx.confidence,
                count=None if secret else _num(r["count"]),
                denominator=_num(r.get("population")),
                unit=measure.unit, period=period, area=str(r["area_name"]),
                comparisons=comparisons, polarity=measure.polarity, source_kind=source_kind,
                source=source, outcome=measure.outcome, tags=tags, note=note,
            )


def record_gradient_indicators(rec: Any, gradients: Sequence[Gradient], ctx: Places, *,
                               source_kind: str | Mapping[str, str]) -> None:
    """``places.sii.<measure>`` and ``places.rii.<measure>`` with limits; the RII is
    compared with 1 (no gradient). ``source_kind`` may map dataset name -> kind."""
    # one write of the chapter's results for every measure
    with rec.batch():
        for g in gradients:
            m = g.measure
            kind = source_kind if isinstance(source_kind, str) else source_kind[m.dataset]
            ix = g.index
            tags = {"level": "area", "area_code": ctx.area_code, "theme": "deprivation",
                    "measure": m.key, "quantiles": g.quantile_label or "none"}
            note = None if g.system else f"not calculated: {g.reason}"
            polarity = "no_judgement" if m.polarity == "no_judgement" else "low_is_good"
            rii_cmp = []
            if g.system:
                rii_cmp = [{
                    "label": "No gradient (RII = 1)", "value": 1.0,
                    "result": stats.compare_with_benchmark(ix["rii_lower"], ix["rii_upper"], 1.0,
                                                           polarity=polarity),
                    "method": f"{ctx.ci_label} simulated CI of the RII vs 1",
                }]
            common = dict(period=g.period, area=ctx.area_name, confidence=ctx.confidence,
                          polarity=polarity, source_kind=kind, outcome=m.outcome, tags=tags,
                          note=note, count=ix.get("total_count"),
                          source=f"{m.label} by {g.quantile_label or 'deprivation quantile'}; "
                                 "PHE slope index of inequality method")
            rec.indicator(f"places.sii.{m.key}",
                          label=f"Slope index of inequality: {m.label} (most minus least deprived)",
                          value=ix.get("sii"), lower=ix.get("sii_lower"), upper=ix.get("sii_upper"),
                          unit=m.unit, comparisons=[], **common)
            rec.indicator(f"places.rii.{m.key}",
                          label=f"Relative index of inequality: {m.label} (most to least deprived)",
                          value=ix.get("rii"), lower=ix.get("rii_lower"), upper=ix.get("rii_upper"),
                          unit="ratio", comparisons=rii_cmp, **common)


# -------------------------------------------------------------------------- geometry
def sub_area_boundaries(boundaries: Any, geography: pd.DataFrame, level: str):
    """Sub-area polygons (dissolved from small areas) with ``area_code, area_name``."""
    code, name = LEVEL_COLUMNS[level]
    gdf = boundaries.merge(geography[["small_area_code", code, name]], on="small_area_code")
    out = gdf.dissolve(by=code, as_index=False)[[code, name, "geometry"]]
    return out.rename(columns={code: "area_code", name: "area_name"})


def small_area_deciles(boundaries: Any, geography: pd.DataFrame):
    """Small-area polygons with their national IMD decile."""
    return boundaries.merge(geography[["small_area_code", "imd_decile"]], on="small_area_code")


def rate_summary(rows: pd.DataFrame, published: pd.DataFrame, *, rate_column: str,
                 count_column: str, higher: str, lower: str, marker: str = "[c]") -> dict[str, Any]:
    """What the text says about one measure's sub-areas, from published values only.

    ``rows`` and ``published`` hold the same measure's rows in the same order. Returns
    ``total`` (whole-area row as a dict), ``highest``/``lowest`` (dicts with name, value,
    lower, upper; None when fewer than two sub-area rates are shown), ``ratio`` (highest /
    lowest), ``higher``/``lower`` (names significantly above / below the whole area),
    ``not_calculated`` and ``suppressed`` (names), ``n`` (sub-areas)."""
    rows = rows.reset_index(drop=True)
    published = published.reset_index(drop=True)
    value = protected_values(published, rate_column, marker)
    hidden = published[count_column].astype(str) == marker
    sub = (rows["row"] == "sub_area").to_numpy()
    shown = sub & value.notna().to_numpy()
    info: dict[str, Any] = {
        "n": int(sub.sum()),
        "total": rows.loc[rows["row"] == "total"].iloc[0].to_dict(),
        "higher": rows.loc[shown & (rows["comparison"] == higher).to_numpy(), "area_name"].astype(str).tolist(),
        "lower": rows.loc[shown & (rows["comparison"] == lower).to_numpy(), "area_name"].astype(str).tolist(),
        "suppressed": rows.loc[sub & hidden.to_numpy(), "area_name"].astype(str).tolist(),
        "not_calculated": rows.loc[sub & ~hidden.to_numpy() & rows["value"].isna().to_numpy(),
                                   "area_name"].astype(str).tolist(),
        "highest": None, "lowest": None, "ratio": None,
    }
    if shown.sum() >= 2:
        vals = rows.loc[shown].assign(value=value[shown])
        hi = vals.loc[vals["value"].idxmax()]
        lo = vals.loc[vals["value"].idxmin()]
        info["highest"] = {k: hi[k] for k in ("area_name", "value", "lower", "upper")}
        info["lowest"] = {k: lo[k] for k in ("area_name", "value", "lower", "upper")}
        info["ratio"] = float(hi["value"] / lo["value"]) if lo["value"] > 0 else None
    return info


def published_series(published: pd.DataFrame, column: str, *, code_column: str = "Code",
                     marker: str = "[c]") -> pd.Series:
    """A published column as numbers indexed by sub-area code ([c] and text -> NaN)."""
    return pd.Series(protected_values(published, column, marker).to_numpy(),
                     index=published[code_column].astype(str).to_numpy())


def hidden_codes(published: pd.DataFrame, count_column: str, *, code_column: str = "Code",
                 marker: str = "[c]") -> set[str]:
    """Codes of rows whose count is suppressed in the published table."""
    mask = published[count_column].astype(str) == marker
    return set(published.loc[mask, code_column].astype(str))


def join_names(names: Sequence[str], *, conj: str = "and") -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = list(names)
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" {conj} " + names[-1]


def standout_places(results: Mapping[str, pd.DataFrame],
                    treatment: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per sub-area: which harm measures (deaths, admissions, drug offences) are
    significantly worse / better than the whole area, split into drug and alcohol harms,
    and how the matching adult treatment rates compare (OCU treatment for drug harms,
    alcohol-only treatment for alcohol harms).

    ``results``: measure key -> rows of that one measure (``row, area_code, area_name,
    comparison``); ``treatment``: rows of :func:`treatment_rates` (all groups) or None.
    Returns ``area_code, area_name, worse, better, worse_on, drug_worse, alcohol_worse,
    treatment, treatment_ocu, treatment_alcohol`` sorted by most measures worse.
    """
    cols = ["area_code", "area_name", "worse", "better", "worse_on", "drug_worse",
            "alcohol_worse", "treatment", "treatment_ocu", "treatment_alcohol"]
    frames = []
    for key, rows in results.items():
        m = MEASURES[key]
        sub = rows.loc[rows["row"] == "sub_area", ["area_code", "area_name", "comparison"]]
        frames.append(sub.assign(measure=m.label, family=m.family))
    if not frames:
        return pd.DataFrame(columns=cols)
    long = pd.concat(frames, ignore_index=True)
    records = []
    for (code, name), g in long.groupby(["area_code", "area_name"], sort=False):
        worse = g.loc[g["comparison"] == "Worse"]
        records.append({
            "area_code": code, "area_name": name, "worse": len(worse),
            "better": int((g["comparison"] == "Better").sum()),
            "worse_on": "; ".join(worse["measure"]),
            "drug_worse": int((worse["family"] == "drug").sum()),
            "alcohol_worse": int((worse["family"] == "alcohol").sum()),
        })
    out = pd.DataFrame.from_records(records)
    for group, col in (("all", "treatment"), ("ocu", "treatment_ocu"), ("alcohol", "treatment_alcohol")):
        if treatment is not None and "group" in treatment.columns:
            t = treatment.loc[(treatment["group"] == group) & (treatment["row"] == "sub_area")]
            out[col] = out["area_code"].map(t.set_index("area_code")["comparison"]).fillna("")
        else:
            out[col] = ""
    out = out.sort_values(["worse", "better"], ascending=[False, True], kind="stable")
    return out[cols].reset_index(drop=True)


def treatment_gaps(standout: pd.DataFrame, *, min_worse: int = 2) -> list[dict[str, Any]]:
    """Sub-areas significantly worse on at least ``min_worse`` drug (alcohol) harm measures
    whose OCU (alcohol) treatment rate is not significantly higher than the area's: harm
    is high there but treatment does not rise to match, a flag for possible unmet need."""
    gaps = []
    for r in standout.itertuples():
        if r.drug_worse >= min_worse and r.treatment_ocu not in ("Higher", ""):
            gaps.append({"area_name": r.area_name, "area_code": r.area_code, "family": "drug",
                         "harms": int(r.drug_worse), "treatment": r.treatment_ocu})
        if r.alcohol_worse >= min_worse and r.treatment_alcohol not in ("Higher", ""):
            gaps.append({"area_name": r.area_name, "area_code": r.area_code, "family": "alcohol",
                         "harms": int(r.alcohol_worse), "treatment": r.treatment_alcohol})
    return gaps


def gradient_display(published: pd.DataFrame, gradients: Sequence[Gradient]) -> pd.DataFrame:
    """The published decile table pivoted for reading: one row per decile, one rate column
    per measure (limits stay in the recorded table). Values come only from ``published``."""
    labels = {f"{g.measure.label} ({g.measure.unit}, {g.period})": g.measure.short or g.measure.label
              for g in gradients}
    first = next(iter(labels))
    base = published.loc[published["Measure"] == first, ["National IMD decile", "Small areas (number)"]]
    out = base.reset_index(drop=True)
    for long_label, short in labels.items():
        part = published.loc[published["Measure"] == long_label, "Rate"].reset_index(drop=True)
        out[short] = part
    return out


RATIO_COLUMN = "Standardised ratio (whole area = 100)"


def ratio_map_panels(published: pd.DataFrame, *, group_column: str, labels: Sequence[str],
                     marker: str = "[c]") -> list[dict[str, Any]]:
    """Choropleth panels (for :func:`charts.places.choropleth_panels`) of the published
    standardised ratios of each group label; suppressed ratios are left unshaded."""
    panels = []
    for label in labels:
        rows = published[published[group_column] == label]
        panels.append({"values": published_series(rows, RATIO_COLUMN, marker=marker),
                       "title": label, "unit": "standardised ratio (area average = 100)",
                       "decimals": 0, "missing": "Not shown (small numbers)",
                       "reference": (100.0, "area average")})
    return panels


def ratio_funnel_panels(rows: pd.DataFrame, published: pd.DataFrame, *, group_column: str,
                        count_column: str, codes: Mapping[str, str], what: str,
                        marker: str = "[c]") -> list[dict[str, Any]]:
    """Funnel panels (for :func:`charts.places.funnel_panels`) of standardised ratios, one
    per code, leaving off sub-areas whose count is suppressed in the published table."""
    panels = []
    for code, label in codes.items():
        part = rows[rows["measure"] == code]
        hidden = hidden_codes(published[published[group_column] == label], count_column,
                              marker=marker)
        fd = funnel_data(part[~part["area_code"].isin(hidden)], kind="ratio")
        if fd is None:
            continue
        panels.append({"points": fd[0], "limits": fd[1], "title": label,
                       "xlabel": f"Expected {what} (log scale)",
                       "ylabel": "Standardised ratio (area = 100)", "hidden": len(hidden)})
    return panels


def wide_view(published: pd.DataFrame, *, key: str, count_column: str, rate_column: str,
              lower_column: str, upper_column: str, compare_column: str,
              group_column: str | None = None, groups: Mapping[str, str] | None = None,
              extra: Mapping[str, str] | None = None, decimals: int = 1,
              count_label: str = "number", count_groups: Sequence[str] | None = None,
              marker: str = "[c]") -> pd.DataFrame:
    """A compact reading view of a published long table: one row per place, and for each
    group its count (only for ``count_groups`` when given), "rate (lower to upper)" and
    comparison side by side. Built only from
    the published (protected) cells: a suppressed cell stays ``[c]``, a missing one
    ``[x]``. The full table, with notes, is the recorded one."""
    def cell(v) -> str:
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return "[x]"
        return f"{float(v):,.{decimals}f}"

    def count_cell(v) -> str:
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return "[x]"
        return f"{int(v):,}"

    def rate_cell(r) -> str:
        value, lo, hi = r[rate_column], r[lower_column], r[upper_column]
        if isinstance(value, str) and value == marker:
            return marker
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return "[x]"
        # non-breaking spaces keep the interval on one line when a narrow column wraps
        return f"{cell(value)} ({cell(lo)}\u00a0to\u00a0{cell(hi)})"

    parts = [(None, None)] if group_column is None else list((groups or {}).items())
    out = None
    for label, short in parts:
        rows = published if label is None else published[published[group_column] == label]
        prefix = "" if short is None else f"{short}: "
        frame = pd.DataFrame({key: rows[key].to_numpy()})
        if count_groups is None or label in count_groups:
            frame[f"{prefix}{count_label}"] = [count_cell(v) for v in rows[count_column]]
        frame[f"{prefix}rate ({_ci_text(lower_column)})"] = [rate_cell(r) for _, r in rows.iterrows()]
        for col, name in (extra or {}).items():
            frame[f"{prefix}{name}"] = [cell(v) for v in rows[col]]
        frame[f"{prefix}vs area"] = [v if isinstance(v, str) and v != "Not compared" else ""
                                     for v in rows[compare_column]]
        out = frame if out is None else out.merge(frame, on=key, how="left", sort=False)
    return out


def report_view_rows(published: pd.DataFrame, ctx: Places, *, rank_column: str, what: str,
                     table_id: str, group_column: str | None = None, group: str | None = None,
                     code_column: str = "Code") -> tuple[pd.DataFrame, str]:
    """The rows of a published long table (:func:`rate_table`) that the report's reading
    view shows, and a sentence saying what was left out ("" when nothing was).

    Every row when the area has at most :data:`~needs_assessment.analysis.common.PLACE_ROW_LIMIT`
    sub-areas; otherwise the whole-area and no-fixed-abode rows and the sub-areas with the
    highest and lowest ``rank_column`` in the rows of ``group`` (all rows when None), kept
    for every group in that order (highest first). Display only: the recorded table keeps
    every sub-area."""
    ranked = published if group is None else published[published[group_column] == group]
    codes = ranked[code_column].astype(str)
    is_place = ~codes.isin([ctx.area_code, "unknown"])
    rows, note = report_place_rows(ranked, rank_column, level=ctx.level, what=what,
                                   table_id=table_id, places=is_place)
    if not note:
        return published, ""
    # every group's rows in the order of the ranked group: highest first, then the rest
    position = {code: i for i, code in enumerate(rows[code_column].astype(str))}
    out = published[published[code_column].astype(str).isin(position)]
    key = pd.DataFrame({
        "group": 0 if group_column is None else pd.factorize(out[group_column])[0],
        "position": out[code_column].astype(str).map(position).to_numpy(),
    }, index=out.index)
    return out.loc[key.sort_values(["group", "position"], kind="stable").index], note


def _ci_text(lower_column: str) -> str:
    m = re.search(r"\(([\d.]+% CI)", lower_column)
    return m.group(1) if m else "CI"


def indices_view(published: pd.DataFrame, *, ci_label: str = "95%", marker: str = "[c]") -> pd.DataFrame:
    """Compact reading view of the published SII/RII table: one row per measure with the
    SII and RII as "value (lower to upper)" text."""
    sii = [c for c in published.columns if c.startswith("SII")]
    rii = [c for c in published.columns if c.startswith("RII")]

    def text(row, cols, decimals, unit=""):
        v, lo, hi = (row[c] for c in cols)
        if any(isinstance(x, str) for x in (v, lo, hi)) or pd.isna(v):
            return marker if marker in (v, lo, hi) else "[x]"
        return f"{v:,.{decimals}f}{unit} ({lo:,.{decimals}f}\u00a0to\u00a0{hi:,.{decimals}f})"

    out = pd.DataFrame({
        "Measure": published["Measure"],
        "Period": published["Period"],
        "Quantiles": published["Quantiles"],
        "Events (number)": published["Events (number)"],
    })
    out[f"Gap, most minus least deprived (SII, {ci_label} CI)"] = [
        text(r, sii, 2 if r["Unit"] == "per 1,000" else 1, f" {r['Unit']}") for _, r in published.iterrows()]
    out[f"Ratio, most to least deprived (RII, {ci_label} CI)"] = [
        text(r, rii, 2) for _, r in published.iterrows()]
    out["Note"] = published["Note"]
    return out
