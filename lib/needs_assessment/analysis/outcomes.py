"""Outcomes framework dashboard: every headline metric of the National Combating Drugs
Outcomes Framework that the area's own data support, with trend and comparison.

The chapter is organised by the framework's outcomes (:mod:`needs_assessment.framework`).
Each metric is built as a **series** (one row per period: count, denominator, value and
confidence limits), summarised as a :class:`MetricResult` (latest value, England and region
values from the comparators file, the Fingertips-style comparison and a trend test), and
the results feed the dashboard table, the charts and the recorded indicators.

Definitions (each also stated in the chapter):

* **Deaths** (ONS definitions, registration year): directly age-standardised rates per
  100,000 (2013 European Standard Population, Dobson limits), annual and 3-year pooled
  (Fingertips 92432 "Deaths from drug misuse" is 3-year pooled; 91380 "Alcohol-specific
  mortality" annual). A DSR is not calculated when the count is below 10 (Fingertips rule).
* **Admissions** (financial year labelled by its start, mid-year population of that year):
  annual DSR per 100,000 for drug poisoning, drug-related mental and behavioural disorders and
  alcohol-specific conditions (Fingertips 92906 is admission *episodes*, so these are
  counted as events, not people).
* **Crime** (police.uk street-level, calendar years with all 12 months present): recorded
  crimes per 1,000 residents. *Neighbourhood crime* is the framework's basket (domestic
  burglary, personal robbery, theft from the person, vehicle offences) approximated by the
  police.uk categories Burglary + Robbery + Theft from the person + Vehicle crime, which
  also include non-domestic burglary and business robbery. *Drug offences share* is the
  percentage of recorded crimes (anti-social behaviour excluded) that are drug offences.
* **Treatment** (NDTMS practice, :mod:`analysis.common`): adults in treatment in a year,
  new presentations (people with a triage in the year), young people in treatment.
  In-treatment counts of the first years of an extract are understated because episodes
  that began before the extract's first referral are missing, so treatment series start
  :data:`TREATMENT_LEAD_IN_YEARS` whole years after it (:func:`complete_treatment_years`).
* **Successful completion** (PHOF C19a-c, Fingertips 90244 opiate, 90245 non-opiate,
  90246 alcohol): numerator = adults in treatment in the year who left treatment
  successfully in the year (discharge reason ``completed_drug_free``,
  ``completed_alcohol_free`` or ``completed_occasional_user``) and did **not** re-present
  within 6 months (no new referral on or after the discharge date and within 6 months, and
  no other episode still open at the discharge date); denominator = all adults in treatment
  in the year. Both are people, grouped by the broad substance of their latest episode in
  the year. A year is reported only when every discharge in it has 6 months of follow-up
  before the extract date (:func:`latest_follow_up_year`).
* **Continuity of care** (framework "engagement in community treatment after release from
  prison"): the percentage of adult releases from prison with a treatment need whose person
  had a community treatment triage within 21 days of release, by financial year of release;
  a year is reported only when its last release has 21 days of follow-up.
* **Deaths in treatment**: adults in treatment in the year whose episode ended with
  ``died`` in the year, as a percentage of adults in treatment.

Trends: :func:`needs_assessment.stats.trend_test` over every period available (Poisson
regression with a population offset for rates and counts of people, binomial regression
for proportions), with standard errors inflated by the Pearson dispersion when the series
varies more than chance alone would allow (quasi-likelihood), so a few noisy years do not
read as a trend.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from needs_assessment import stats
from needs_assessment.analysis.common import (
    BROAD_SUBSTANCE,
    EPISODE_COLUMNS,
    crime_coverage_problem,
    in_treatment,
    population_in_ages,
)
from needs_assessment.analysis.comparators import latest_period, period_key, whole_population
from needs_assessment.framework import OUTCOMES

__all__ = [
    "EPISODE_COLUMNS",  # the treatment-episode columns this chapter reads
    "COMPLETION_GROUPS",
    "CONTINUITY_DAYS",
    "DRUGS_CRIME_TYPE",
    "ENGLAND_CODE",
    "METRICS",
    "MetricResult",
    "MetricSpec",
    "NDTMS_GROUPS",
    "NEIGHBOURHOOD_CRIME_TYPES",
    "REPRESENTATION_MONTHS",
    "SERIES_COLUMNS",
    "SUCCESS_REASONS",
    "TREATMENT_LEAD_IN_YEARS",
    "WEAPONS_CRIME_TYPE",
    "ABSENT_TEXT",
    "Dashboard",
    "admissions_series",
    "build_dashboard",
    "at_a_glance",
    "complete_crime_years",
    "complete_treatment_years",
    "completion_flags",
    "continuity_flags",
    "continuity_series",
    "crime_monthly",
    "crime_series",
    "deaths_series",
    "describe_trend",
    "extract_date",
    "financial_year_label",
    "find_comparators",
    "indicator_fields",
    "key_messages",
    "latest_follow_up_year",
    "metric_result",
    "neighbourhood_crime",
    "panel_items",
    "period_x",
    "prevalence_reference",
    "protected_series",
    "record_indicators",
    "section_sentences",
    "sentence",
    "source_kind_for",
    "successful_completions",
    "summary_display",
    "summary_frame",
    "summary_spec",
    "treatment_by_group",
    "treatment_series",
    "trend_spec",
    "trend_table",
    "trend_phrase",
]

ENGLAND_CODE = "E92000001"
SUCCESS_REASONS = ("completed_drug_free", "completed_alcohol_free", "completed_occasional_user")
REPRESENTATION_MONTHS = 6
CONTINUITY_DAYS = 21
TREATMENT_LEAD_IN_YEARS = 3

NEIGHBOURHOOD_CRIME_TYPES = ("Burglary", "Robbery", "Theft from the person", "Vehicle crime")
DRUGS_CRIME_TYPE = "Drugs"
WEAPONS_CRIME_TYPE = "Possession of weapons"
ASB_CRIME_TYPE = "Anti-social behaviour"

#: The broad groups of the Fingertips successful-completion indicators (90244-90246).
COMPLETION_GROUPS = ("opiate", "non_opiate", "alcohol")
COMPLETION_GROUP_LABELS = {"opiate": "Opiate", "non_opiate": "Non-opiate", "alcohol": "Alcohol"}

#: NDTMS's four reporting groups for numbers in treatment (crack-only counts as non-opiate).
NDTMS_GROUPS = {
    "opiate_and_crack": "opiate",
    "opiate_only": "opiate",
    "crack_only": "non_opiate_only",
    "non_opiate_only": "non_opiate_only",
    "non_opiate_and_alcohol": "non_opiate_and_alcohol",
    "alcohol_only": "alcohol_only",
}
NDTMS_GROUP_LABELS = {
    "opiate": "Opiate",
    "non_opiate_only": "Non-opiate only",
    "non_opiate_and_alcohol": "Non-opiate and alcohol",
    "alcohol_only": "Alcohol only",
}

#: Short outcome names for narrow tables.
OUTCOME_SHORT = {
    "Reduce drug use": "Drug use",
    "Reduce drug-related crime": "Crime",
    "Reduce drug-related deaths and harm": "Deaths and harm",
    "Reduce drug supply": "Supply",
    "Increase engagement in drug and alcohol treatment": "Engagement in treatment",
    "Improve drug recovery outcomes": "Recovery",
}

#: Columns of every metric series.
SERIES_COLUMNS = ["metric", "period", "x", "count", "denominator", "value", "lower", "upper"]

DEATH_CAUSES = {
    "drug_misuse": "drug_misuse_deaths_dsr",
    "drug_poisoning": "drug_poisoning_deaths_dsr",
    "alcohol_specific": "alcohol_specific_deaths_dsr",
}
ADMISSION_CONDITIONS = {
    "drug_poisoning": "drug_poisoning_admissions",
    "drug_mental_behavioural": "drug_mbd_admissions",
    "alcohol_specific": "alcohol_specific_admissions",
}


# ============================================================================ metric specs
@dataclass(frozen=True)
class MetricSpec:
    """What a metric is, how it is judged and how to find its England/region comparator."""

    key: str  # metric name; the indicator key is f"outcomes.{key}"
    label: str
    outcome: str
    unit: str
    polarity: str  # low_is_good / high_is_good / no_judgement
    kind: str  # 'rate' (events / population), 'proportion', 'count' (people; trend vs population)
    substance: str  # 'drugs', 'alcohol', 'drugs and alcohol'
    source: str
    definition: str
    pooled_years: int = 1
    fingertips_ids: tuple[int, ...] = ()
    name_include: tuple[str, ...] = ()
    name_exclude: tuple[str, ...] = ()
    data: str = ""  # dataset the metric is built from
    record_level: bool = False  # built from record-level (never published) inputs

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"{self.key}: outcome {self.outcome!r} is not a framework outcome")


_CRIME = "Reduce drug-related crime"
_HARM = "Reduce drug-related deaths and harm"
_SUPPLY = "Reduce drug supply"
_ENGAGE = "Increase engagement in drug and alcohol treatment"
_RECOVERY = "Improve drug recovery outcomes"

_SPECS = (
    # ---- crime
    MetricSpec(
        "drug_offences_rate", "Recorded drug offences", _CRIME, "per 1,000", "no_judgement",
        "rate", "drugs", "police.uk street-level crime (crime folder)",
        "Crimes recorded by the police as 'Drugs' (possession and supply) per 1,000 residents",
        name_include=("drug offences",), data="crime"),
    MetricSpec(
        "neighbourhood_crime_rate", "Neighbourhood crime", _CRIME, "per 1,000", "low_is_good",
        "rate", "drugs", "police.uk street-level crime (crime folder)",
        "Burglary, robbery, theft from the person and vehicle crime recorded by the police "
        "per 1,000 residents (police.uk approximation of the framework's neighbourhood crime)",
        name_include=("neighbourhood crime",), data="crime"),
    # ---- deaths and harm
    MetricSpec(
        "drug_misuse_deaths_dsr", "Deaths from drug misuse", _HARM, "per 100,000", "low_is_good",
        "rate", "drugs", "ONS death registrations (deaths file)",
        "Deaths from drug misuse (ONS definition), 3-year pooled, directly age-standardised "
        "rate per 100,000, all ages (2013 European Standard Population)",
        pooled_years=3, fingertips_ids=(92432,), name_include=("deaths from drug misuse",),
        data="deaths"),
    MetricSpec(
        "drug_poisoning_deaths_dsr", "Deaths related to drug poisoning", _HARM, "per 100,000",
        "low_is_good", "rate", "drugs", "ONS death registrations (deaths file)",
        "Deaths related to drug poisoning (ONS definition; includes drug misuse deaths), "
        "3-year pooled, directly age-standardised rate per 100,000",
        pooled_years=3, name_include=("drug poisoning", "death"), data="deaths"),
    MetricSpec(
        "alcohol_specific_deaths_dsr", "Alcohol-specific deaths", _HARM, "per 100,000",
        "low_is_good", "rate", "alcohol", "ONS death registrations (deaths file)",
        "Alcohol-specific deaths (ONS definition), directly age-standardised rate per 100,000",
        fingertips_ids=(91380,), name_include=("alcohol-specific mortality",),
        name_exclude=("under 75", "male", "female"), data="deaths"),
    MetricSpec(
        "drug_poisoning_admissions", "Hospital admissions for drug poisoning", _HARM,
        "per 100,000", "low_is_good", "rate", "drugs", "Hospital Episode Statistics (admissions file)",
        "Admissions with a primary diagnosis of poisoning by drug misuse, directly "
        "age-standardised rate per 100,000",
        name_include=("admission", "poisoning by drug"), data="admissions"),
    MetricSpec(
        "drug_mbd_admissions", "Admissions for drug-related mental and behavioural disorders",
        _HARM, "per 100,000", "low_is_good", "rate", "drugs",
        "Hospital Episode Statistics (admissions file)",
        "Admissions with a primary diagnosis of drug-related mental and behavioural disorders, "
        "directly age-standardised rate per 100,000",
        name_include=("admission", "mental and behavioural", "drug"), data="admissions"),
    MetricSpec(
        "alcohol_specific_admissions", "Admission episodes for alcohol-specific conditions",
        _HARM, "per 100,000", "low_is_good", "rate", "alcohol",
        "Hospital Episode Statistics (admissions file)",
        "Admission episodes for alcohol-specific conditions, directly age-standardised rate "
        "per 100,000",
        fingertips_ids=(92906,), name_include=("admission episodes for alcohol-specific conditions",),
        name_exclude=("under 18", "narrow", "broad"), data="admissions"),
    # ---- supply
    MetricSpec(
        "drug_offences_share", "Drug offences as a share of recorded crime", _SUPPLY, "%",
        "no_judgement", "proportion", "drugs", "police.uk street-level crime (crime folder)",
        "Drug offences as a percentage of all crimes recorded on police.uk (anti-social "
        "behaviour excluded)", data="crime"),
    MetricSpec(
        "weapons_possession_rate", "Possession of weapons offences", _SUPPLY, "per 1,000",
        "no_judgement", "rate", "drugs", "police.uk street-level crime (crime folder)",
        "Possession of weapons offences recorded by the police per 1,000 residents (a proxy "
        "associated with county lines drug supply)",
        name_include=("possession of weapons",), data="crime"),
    # ---- engagement
    MetricSpec(
        "adults_in_treatment", "Adults in treatment", _ENGAGE, "people", "high_is_good", "count",
        "drugs and alcohol", "Treatment episodes (NDTMS-like extract)",
        "Adults (18+) in structured drug or alcohol treatment at any time in the year, each "
        "person once; the trend is tested on the rate per 1,000 adults", data="treatment_episodes",
        record_level=True),
    MetricSpec(
        "new_presentations", "Adults starting treatment (new presentations)", _ENGAGE, "people",
        "high_is_good", "count", "drugs and alcohol", "Treatment episodes (NDTMS-like extract)",
        "Adults with a treatment start (triage) in the year, each person once; the trend is "
        "tested on the rate per 1,000 adults", data="treatment_episodes", record_level=True),
    MetricSpec(
        "young_people_in_treatment", "Young people in treatment", _ENGAGE, "people",
        "high_is_good", "count", "drugs and alcohol", "Treatment episodes (NDTMS-like extract)",
        "Young people (under 18, or in a young people's service) in specialist substance "
        "misuse treatment at any time in the year; the trend is tested on the rate per "
        "10,000 residents aged under 18", data="treatment_episodes", record_level=True),
    MetricSpec(
        "continuity_of_care", "Continuity of care after prison", _ENGAGE, "%", "high_is_good",
        "proportion", "drugs and alcohol", "Prison releases and treatment episodes",
        "Adults released from prison with a treatment need who started community treatment "
        "(triage) within 21 days of release, % of releases, by financial year of release",
        name_include=("release from prison",), data="prison_releases", record_level=True),
    # ---- recovery
    MetricSpec(
        "successful_completion.opiate", "Successful completion: opiate", _RECOVERY, "%",
        "high_is_good", "proportion", "drugs", "Treatment episodes (NDTMS-like extract)",
        "Adults in treatment for opiates who completed treatment successfully in the year and "
        "did not re-present within 6 months, % of all adults in treatment for opiates",
        fingertips_ids=(90244,), name_include=("successful completion", "opiate users"),
        name_exclude=("non-opiate",), data="treatment_episodes", record_level=True),
    MetricSpec(
        "successful_completion.non_opiate", "Successful completion: non-opiate", _RECOVERY, "%",
        "high_is_good", "proportion", "drugs", "Treatment episodes (NDTMS-like extract)",
        "Adults in treatment for non-opiate drugs (including with alcohol) who completed "
        "successfully in the year and did not re-present within 6 months, % of all in "
        "treatment for non-opiates",
        fingertips_ids=(90245,), name_include=("successful completion", "non-opiate users"),
        data="treatment_episodes", record_level=True),
    MetricSpec(
        "successful_completion.alcohol", "Successful completion: alcohol", _RECOVERY, "%",
        "high_is_good", "proportion", "alcohol", "Treatment episodes (NDTMS-like extract)",
        "Adults in treatment for alcohol only who completed successfully in the year and did "
        "not re-present within 6 months, % of all in treatment for alcohol only",
        fingertips_ids=(90246,), name_include=("successful completion of alcohol treatment",),
        data="treatment_episodes", record_level=True),
    MetricSpec(
        "deaths_in_treatment", "Deaths in treatment", _RECOVERY, "%", "low_is_good",
        "proportion", "drugs and alcohol", "Treatment episodes (NDTMS-like extract)",
        "Adults in treatment whose episode ended because they died in the year, % of adults "
        "in treatment", data="treatment_episodes", record_level=True),
)

#: Every metric of the dashboard, in display order.
METRICS: Mapping[str, MetricSpec] = {s.key: s for s in _SPECS}


# ============================================================================ small helpers
def financial_year_label(year: int) -> str:
    """2023 -> '2023/24' (a financial year labelled by the calendar year it starts in)."""
    return f"{year}/{(year + 1) % 100:02d}"


def _pooled_label(end_year: int, n: int) -> str:
    return f"{end_year - n + 1}-{end_year % 100:02d}" if n > 1 else str(end_year)


def _empty_series() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in SERIES_COLUMNS}).astype(
        {"metric": "str", "period": "str"}
    )


def _rate_rows(
    metric: str,
    periods: Sequence[str],
    xs: Sequence[float],
    counts: Sequence[float],
    denominators: Sequence[float],
    *,
    multiplier: float,
    confidence: float,
    min_count: int = 0,
) -> pd.DataFrame:
    counts = np.asarray(counts, dtype=float)
    denominators = np.asarray(denominators, dtype=float)
    if len(counts) == 0:
        return _empty_series()
    rates = stats.crude_rate(counts, denominators, multiplier=multiplier, confidence=confidence)
    out = pd.DataFrame(
        {
            "metric": metric,
            "period": list(periods),
            "x": np.asarray(xs, dtype=float),
            "count": counts,
            "denominator": denominators,
            "value": rates["value"].to_numpy(),
            "lower": rates["lower"].to_numpy(),
            "upper": rates["upper"].to_numpy(),
        }
    )
    small = out["count"] < min_count
    out.loc[small, ["value", "lower", "upper"]] = np.nan
    return out


def _proportion_rows(
    metric: str,
    periods: Sequence[str],
    xs: Sequence[float],
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    confidence: float,
) -> pd.DataFrame:
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if len(num) == 0:
        return _empty_series()
    value = np.full(len(num), np.nan)
    lower = np.full(len(num), np.nan)
    upper = np.full(len(num), np.nan)
    ok = den > 0
    if ok.any():
        prop = stats.proportion(num[ok], den[ok], confidence=confidence)
        value[ok], lower[ok], upper[ok] = prop["value"], prop["lower"], prop["upper"]
    return pd.DataFrame(
        {
            "metric": metric,
            "period": list(periods),
            "x": np.asarray(xs, dtype=float),
            "count": num,
            "denominator": den,
            "value": value,
            "lower": lower,
            "upper": upper,
        }
    )


def source_kind_for(params: Any, spec: MetricSpec) -> str:
    """'synthetic' for the built-in areas; 'illustrative' for record-level figures while
    ``area.illustrative_records`` is set; otherwise 'derived' (computed here from counts)."""
    if getattr(params.data, "synthetic", None):
        return "synthetic"
    if spec.record_level and getattr(params.area, "illustrative_records", False):
        return "illustrative"
    return "derived"


# ============================================================================ population
#: The population columns the series read: :meth:`AreaData.population_by` sums over the rest.
POPULATION_COLUMNS = ("year", "age", "age_band")


def _population_by_year_band(population: pd.DataFrame) -> pd.DataFrame:
    pop = population.groupby(["year", "age_band"], observed=True, as_index=False)["population"].sum()
    pop["year"] = pop["year"].astype(int)
    pop["age_band"] = pop["age_band"].astype(str)
    return pop


def _population_by_year(population: pd.DataFrame, *, min_age: int = 0, max_age: int | None = None) -> pd.Series:
    years = sorted(int(y) for y in population["year"].unique())
    out = population_in_ages(population, years=years, min_age=min_age, max_age=max_age, by=["year"])
    return out.assign(year=out["year"].astype(int)).set_index("year")["population"].astype(float)


# ============================================================================ deaths, admissions
def _standardised_series(
    events: pd.DataFrame,
    population: pd.DataFrame,
    *,
    category_column: str,
    category: str,
    metric: str,
    pooled_years: int,
    confidence: float,
    period_label,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(annual DSR series, pooled DSR series) for one cause/condition."""
    pop = _population_by_year_band(population)
    sub = events.loc[events[category_column] == category]
    counts = sub.groupby(["year", "age_band"], as_index=False, observed=True)["count"].sum()
    counts["year"] = counts["year"].astype(int)
    counts["age_band"] = counts["age_band"].astype(str)
    event_years = set(int(y) for y in events["year"].unique())
    years = sorted(event_years & set(pop["year"].unique()))
    if not years:
        return _empty_series(), _empty_series()
    frame = pop.loc[pop["year"].isin(years)].merge(counts, on=["year", "age_band"], how="left")
    frame["count"] = frame["count"].fillna(0)
    annual = stats.dsr(frame, count="count", population="population", age_band="age_band",
                       by="year", confidence=confidence)
    annual_series = pd.DataFrame(
        {
            "metric": metric,
            "period": [period_label(int(y)) for y in annual["year"]],
            "x": annual["year"].astype(float).to_numpy(),
            "count": annual["total_count"].astype(float).to_numpy(),
            "denominator": annual["total_population"].astype(float).to_numpy(),
            "value": annual["value"].to_numpy(dtype=float),
            "lower": annual["lower"].to_numpy(dtype=float),
            "upper": annual["upper"].to_numpy(dtype=float),
        }
    )
    if pooled_years <= 1:
        return annual_series, annual_series
    rows = []
    for end in years:
        window = list(range(end - pooled_years + 1, end + 1))
        if not set(window) <= set(years):
            continue
        pooled = stats.pooled_dsr(frame.loc[frame["year"].isin(window)], count="count",
                                  population="population", age_band="age_band",
                                  confidence=confidence)
        r = pooled.iloc[0]
        rows.append({
            "metric": metric, "period": _pooled_label(end, pooled_years), "x": float(end),
            "count": float(r["total_count"]), "denominator": float(r["total_population"]),
            "value": float(r["value"]), "lower": float(r["lower"]), "upper": float(r["upper"]),
        })
    pooled_series = pd.DataFrame(rows, columns=SERIES_COLUMNS) if rows else _empty_series()
    return annual_series, pooled_series


def deaths_series(
    deaths: pd.DataFrame, population: pd.DataFrame, *, confidence: float = 0.95
) -> dict[str, dict[str, pd.DataFrame]]:
    """Per death metric: ``{"annual": series, "headline": series}`` (headline = 3-year
    pooled for drug deaths, annual for alcohol-specific deaths), by registration year."""
    out = {}
    for cause, metric in DEATH_CAUSES.items():
        spec = METRICS[metric]
        annual, headline = _standardised_series(
            deaths, population, category_column="cause", category=cause, metric=metric,
            pooled_years=spec.pooled_years, confidence=confidence, period_label=str)
        out[metric] = {"annual": annual, "headline": headline}
    return out


def admissions_series(
    admissions: pd.DataFrame, population: pd.DataFrame, *, confidence: float = 0.95
) -> dict[str, dict[str, pd.DataFrame]]:
    """Per admission metric: annual DSR by financial year (labelled '2023/24', population
    of mid-2023)."""
    out = {}
    for condition, metric in ADMISSION_CONDITIONS.items():
        annual, headline = _standardised_series(
            admissions, population, category_column="condition", category=condition,
            metric=metric, pooled_years=1, confidence=confidence,
            period_label=financial_year_label)
        out[metric] = {"annual": annual, "headline": headline}
    return out


# ============================================================================ crime
def complete_crime_years(crime: pd.DataFrame) -> list[int]:
    """Calendar years with all 12 months present in the police.uk rows."""
    months = pd.to_datetime(crime["month"]).dt.to_period("M").drop_duplicates()
    per_year = months.dt.year.value_counts()
    return sorted(int(y) for y, n in per_year.items() if n == 12)


def _in_area_crimes(crime: pd.DataFrame) -> pd.DataFrame:
    if "in_area" in crime.columns:
        crime = crime.loc[crime["in_area"].fillna(False).astype(bool)]
    return crime


def neighbourhood_crime(crime: pd.DataFrame, *, by: str = "year") -> pd.DataFrame:
    """Counts of the neighbourhood crime basket (police.uk Burglary + Robbery + Theft from
    the person + Vehicle crime) by ``year`` or ``month``, with a column per crime type and
    ``neighbourhood_crime`` their total."""
    crime = _in_area_crimes(crime)
    month = pd.to_datetime(crime["month"])
    key = month.dt.year.rename("year") if by == "year" else month.dt.to_period("M").dt.to_timestamp().rename("month")
    sub = crime["crime_type"].astype(str)
    mask = sub.isin(NEIGHBOURHOOD_CRIME_TYPES)
    table = pd.crosstab(key[mask], sub[mask]).reindex(columns=list(NEIGHBOURHOOD_CRIME_TYPES), fill_value=0)
    all_keys = sorted(key.unique())
    table = table.reindex(all_keys, fill_value=0)
    table["neighbourhood_crime"] = table[list(NEIGHBOURHOOD_CRIME_TYPES)].sum(axis=1)
    table.index.name = by
    return table.reset_index().rename_axis(columns=None)


def crime_monthly(crime: pd.DataFrame) -> pd.DataFrame:
    """Monthly counts of drug offences, neighbourhood crime and possession of weapons."""
    crime = _in_area_crimes(crime)
    month = pd.to_datetime(crime["month"]).dt.to_period("M").dt.to_timestamp()
    ctype = crime["crime_type"].astype(str)
    months = sorted(month.unique())
    out = pd.DataFrame({"month": months})
    out["drug_offences"] = out["month"].map(month[ctype == DRUGS_CRIME_TYPE].value_counts()).fillna(0).astype(int)
    out["neighbourhood_crime"] = out["month"].map(
        month[ctype.isin(NEIGHBOURHOOD_CRIME_TYPES)].value_counts()).fillna(0).astype(int)
    out["weapons_possession"] = out["month"].map(
        month[ctype == WEAPONS_CRIME_TYPE].value_counts()).fillna(0).astype(int)
    return out


def crime_series(
    crime: pd.DataFrame, population: pd.DataFrame, *, confidence: float = 0.95, min_count: int = 0
) -> dict[str, pd.DataFrame]:
    """Annual series for drug offences, neighbourhood crime and weapons possession (per
    1,000 residents of all ages) and the drug-offence share of recorded crime (%), over
    complete calendar years that the population covers."""
    crime = _in_area_crimes(crime)
    pop = _population_by_year(population)
    years = [y for y in complete_crime_years(crime) if y in pop.index]
    year = pd.to_datetime(crime["month"]).dt.year
    ctype = crime["crime_type"].astype(str)

    def counts(mask) -> np.ndarray:
        vc = year[mask].value_counts()
        return np.array([float(vc.get(y, 0)) for y in years])

    denom = pop.reindex(years).to_numpy(dtype=float)
    periods, xs = [str(y) for y in years], [float(y) for y in years]
    out = {
        "drug_offences_rate": _rate_rows("drug_offences_rate", periods, xs, counts(ctype == DRUGS_CRIME_TYPE),
                                         denom, multiplier=1000, confidence=confidence, min_count=min_count),
        "neighbourhood_crime_rate": _rate_rows(
            "neighbourhood_crime_rate", periods, xs, counts(ctype.isin(NEIGHBOURHOOD_CRIME_TYPES)), denom,
            multiplier=1000, confidence=confidence, min_count=min_count),
        "weapons_possession_rate": _rate_rows(
            "weapons_possession_rate", periods, xs, counts(ctype == WEAPONS_CRIME_TYPE), denom,
            multiplier=1000, confidence=confidence, min_count=min_count),
        "drug_offences_share": _proportion_rows(
            "drug_offences_share", periods, xs, counts(ctype == DRUGS_CRIME_TYPE),
            counts(ctype != ASB_CRIME_TYPE), confidence=confidence),
    }
    return out


# ============================================================================ treatment
def extract_date(episodes: pd.DataFrame) -> pd.Timestamp:
    """The latest date in the treatment extract (referral, triage or discharge), taken as
    the date the extract was made."""
    dates = [episodes[c].max() for c in ("referral_date", "triage_date", "discharge_date") if c in episodes]
    dates = [d for d in dates if pd.notna(d)]
    if not dates:
        raise ValueError("treatment_episodes: no dates to find the extract date from")
    return pd.Timestamp(max(dates)).normalize()


def latest_follow_up_year(extract: pd.Timestamp, *, months: int = REPRESENTATION_MONTHS) -> int:
    """The latest calendar year whose every discharge has ``months`` of follow-up by
    ``extract`` (31 December of the year + ``months`` on or before the extract date)."""
    extract = pd.Timestamp(extract)
    year = extract.year
    while pd.Timestamp(year, 12, 31) + pd.DateOffset(months=months) > extract:
        year -= 1
    return year


def complete_treatment_years(
    episodes: pd.DataFrame, *, last_year: int, lead_in_years: int = TREATMENT_LEAD_IN_YEARS
) -> list[int]:
    """Years whose in-treatment counts the extract can support: from ``lead_in_years`` whole
    years after the year of its first referral to ``last_year``.

    An extract of episodes referred from a start date misses people whose treatment began
    before it and carried on; opiate treatment often lasts years, so the first years of an
    extract under-count people in treatment.
    """
    first = pd.Timestamp(episodes["referral_date"].min())
    start = first.year + lead_in_years + (0 if (first.month, first.day) == (1, 1) else 1)
    return list(range(start, last_year + 1))


def _adult_mask(episodes: pd.DataFrame) -> pd.Series:
    return ~episodes["young_person"].astype(bool) & (episodes["age"] >= 18)


def completion_flags(
    episodes: pd.DataFrame, year: int, *, months: int = REPRESENTATION_MONTHS
) -> pd.DataFrame:
    """One row per adult in treatment in ``year`` with their broad substance group and
    whether they completed successfully without re-presenting.

    Columns: ``client_id``, ``substance_group`` (latest episode in the year),
    ``broad_group`` (opiate / non_opiate / alcohol), ``completed`` (an adult episode of the
    person ended in the year with a ``completed_*`` reason), ``successful`` (at least one
    such completion was not followed by a re-presentation: a new referral on or after the
    discharge date and within ``months`` months, or another episode still open at the
    discharge date).
    """
    people = in_treatment(episodes, year, adults=True)[["client_id", "substance_group"]].copy()
    people["broad_group"] = people["substance_group"].map(BROAD_SUBSTANCE)
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    done = episodes.loc[
        _adult_mask(episodes)
        & episodes["discharge_reason"].isin(SUCCESS_REASONS)
        & episodes["discharge_date"].between(start, end)
        & episodes["client_id"].isin(people["client_id"]),
        ["episode_id", "client_id", "discharge_date"],
    ]
    others = episodes.loc[
        episodes["client_id"].isin(done["client_id"]),
        ["episode_id", "client_id", "referral_date", "discharge_date"],
    ].rename(columns={"episode_id": "other_id", "referral_date": "other_referral",
                      "discharge_date": "other_discharge"})
    pairs = done.merge(others, on="client_id")
    pairs = pairs.loc[pairs["other_id"] != pairs["episode_id"]]
    d = pairs["discharge_date"]
    horizon = d + pd.DateOffset(months=months)
    came_back = (pairs["other_referral"] >= d) & (pairs["other_referral"] <= horizon)
    still_open = (pairs["other_referral"] < d) & (
        pairs["other_discharge"].isna() | (pairs["other_discharge"] > d)
    )
    represented_ids = set(pairs.loc[came_back | still_open, "episode_id"])
    done = done.assign(represented=done["episode_id"].isin(represented_ids))
    per_person = done.groupby("client_id")["represented"].agg(
        completed="size", any_clean=lambda s: bool((~s).any()))
    people["completed"] = people["client_id"].isin(per_person.index)
    clean = per_person.index[per_person["any_clean"].astype(bool)]
    people["successful"] = people["client_id"].isin(clean)
    return people.reset_index(drop=True)


def successful_completions(
    episodes: pd.DataFrame,
    years: Iterable[int],
    *,
    months: int = REPRESENTATION_MONTHS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Long table: ``year, broad_group, in_treatment, completed, successful, value, lower,
    upper`` (percent, Wilson limits) for each broad group in each year."""
    rows = []
    for year in years:
        flags = completion_flags(episodes, year, months=months)
        for group in COMPLETION_GROUPS:
            g = flags.loc[flags["broad_group"] == group]
            rows.append({"year": int(year), "broad_group": group, "in_treatment": len(g),
                         "completed": int(g["completed"].sum()),
                         "successful": int(g["successful"].sum())})
    out = pd.DataFrame(rows, columns=["year", "broad_group", "in_treatment", "completed", "successful"])
    prop = _proportion_rows("x", out["year"].astype(str), out["year"], out["successful"],
                            out["in_treatment"], confidence=confidence)
    out[["value", "lower", "upper"]] = prop[["value", "lower", "upper"]].to_numpy()
    return out


def treatment_by_group(episodes: pd.DataFrame, years: Iterable[int]) -> pd.DataFrame:
    """Adults in treatment by year and NDTMS reporting group (one column per group and
    ``all_adults``), each person once (group of their latest episode in the year)."""
    rows = []
    for year in years:
        people = in_treatment(episodes, year, adults=True)
        groups = people["substance_group"].map(NDTMS_GROUPS).value_counts()
        row = {"year": int(year)}
        row.update({g: int(groups.get(g, 0)) for g in NDTMS_GROUP_LABELS})
        row["all_adults"] = len(people)
        rows.append(row)
    return pd.DataFrame(rows, columns=["year", *NDTMS_GROUP_LABELS, "all_adults"])


def treatment_series(
    episodes: pd.DataFrame,
    population: pd.DataFrame,
    *,
    years: Sequence[int],
    completion_years: Sequence[int],
    confidence: float = 0.95,
    months: int = REPRESENTATION_MONTHS,
) -> dict[str, pd.DataFrame]:
    """Series for adults in treatment, new presentations, young people in treatment (value =
    number of people; denominator = residents 18+ or under 18, for the trend), successful
    completion by broad group and deaths in treatment (percent of adults in treatment)."""
    adults_pop = _population_by_year(population, min_age=18)
    young_pop = _population_by_year(population, min_age=0, max_age=17)
    years = [y for y in years if y in adults_pop.index]
    periods, xs = [str(y) for y in years], [float(y) for y in years]
    n_adults, n_new, n_young, n_died = [], [], [], []
    adult = _adult_mask(episodes)
    for y in years:
        people = in_treatment(episodes, y, adults=True)
        n_adults.append(len(people))
        start, end = pd.Timestamp(y, 1, 1), pd.Timestamp(y, 12, 31)
        new = episodes.loc[adult & episodes["triage_date"].between(start, end), "client_id"]
        n_new.append(new.nunique())
        n_young.append(len(in_treatment(episodes, y, adults=False)))
        died = episodes.loc[
            adult & (episodes["discharge_reason"] == "died")
            & episodes["discharge_date"].between(start, end)
            & episodes["client_id"].isin(people["client_id"]),
            "client_id"].nunique()
        n_died.append(died)

    def count_rows(metric, counts, denom):
        out = pd.DataFrame({
            "metric": metric, "period": periods, "x": xs,
            "count": np.asarray(counts, dtype=float),
            "denominator": denom.reindex(years).to_numpy(dtype=float),
        })
        out["value"] = out["count"]
        out["lower"] = np.nan
        out["upper"] = np.nan
        return out[SERIES_COLUMNS] if len(out) else _empty_series()

    series = {
        "adults_in_treatment": count_rows("adults_in_treatment", n_adults, adults_pop),
        "new_presentations": count_rows("new_presentations", n_new, adults_pop),
        "young_people_in_treatment": count_rows("young_people_in_treatment", n_young, young_pop),
        "deaths_in_treatment": _proportion_rows("deaths_in_treatment", periods, xs, n_died, n_adults,
                                                confidence=confidence),
    }
    comp = successful_completions(episodes, completion_years, months=months, confidence=confidence)
    for group in COMPLETION_GROUPS:
        g = comp.loc[comp["broad_group"] == group]
        key = f"successful_completion.{group}"
        series[key] = _proportion_rows(key, g["year"].astype(str).tolist(), g["year"].astype(float).tolist(),
                                       g["successful"], g["in_treatment"], confidence=confidence)
    return series


# ============================================================================ continuity of care
def continuity_flags(
    releases: pd.DataFrame, episodes: pd.DataFrame, *, days: int = CONTINUITY_DAYS
) -> pd.DataFrame:
    """One row per release with ``engaged``: the person has a treatment triage on or after
    the release date and within ``days`` days of it."""
    rel = releases[["client_id", "release_date"]].reset_index(drop=True)
    rel = rel.assign(release_row=np.arange(len(rel)))
    tri = episodes.loc[episodes["triage_date"].notna(), ["client_id", "triage_date"]]
    pairs = rel.merge(tri, on="client_id")
    gap = (pairs["triage_date"] - pairs["release_date"]).dt.days
    hit = set(pairs.loc[(gap >= 0) & (gap <= days), "release_row"])
    rel["engaged"] = rel["release_row"].isin(hit)
    rel["fy"] = np.where(rel["release_date"].dt.month >= 4, rel["release_date"].dt.year,
                         rel["release_date"].dt.year - 1).astype(int)
    return rel.drop(columns="release_row")


def continuity_series(
    releases: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    extract: pd.Timestamp | None = None,
    days: int = CONTINUITY_DAYS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Continuity of care by financial year of release (x = the year it starts), for years
    the data cover completely: from the first financial year starting on or after the
    first release's month to the last whose final release has ``days`` days of follow-up."""
    if len(releases) == 0:
        return _empty_series()
    extract = extract_date(episodes) if extract is None else pd.Timestamp(extract)
    flags = continuity_flags(releases, episodes, days=days)
    first_month = pd.Timestamp(flags["release_date"].min()).to_period("M").to_timestamp()
    keep = []
    for fy in sorted(flags["fy"].unique()):
        fy_start, fy_end = pd.Timestamp(fy, 4, 1), pd.Timestamp(fy + 1, 3, 31)
        if fy_start >= first_month and fy_end + pd.Timedelta(days=days) <= extract:
            keep.append(int(fy))
    g = flags.loc[flags["fy"].isin(keep)].groupby("fy")["engaged"].agg(["sum", "size"])
    return _proportion_rows("continuity_of_care", [financial_year_label(y) for y in g.index],
                            [float(y) for y in g.index], g["sum"], g["size"], confidence=confidence)


# ============================================================================ comparators
def period_x(period: str) -> float:
    """Where a comparator period sits on a chart's year axis: the end year of a pooled
    period ('2021 - 23' -> 2023), the start year of a financial year ('2023/24' -> 2023)."""
    text = str(period)
    if "/" in text:
        return float(re.findall(r"\d{4}", text)[0])
    return float(period_key(text)[0])


def _name_matches(name: str, spec: MetricSpec) -> bool:
    name = str(name).lower()
    if not spec.name_include:
        return False
    return all(s in name for s in spec.name_include) and not any(s in name for s in spec.name_exclude)


def find_comparators(
    comparators: pd.DataFrame | None, spec: MetricSpec, *, region_code: str | None = None
) -> dict[str, dict | None]:
    """England and region rows for a metric from a Fingertips-layout comparators frame,
    matched by Indicator ID or by indicator name, whole population (no category), persons,
    latest period. Returns ``{"England": {...} | None, "Region": {...} | None}`` with keys
    ``label, area_name, indicator_id, indicator_name, period, x, value, lower, upper``."""
    result: dict[str, dict | None] = {"England": None, "Region": None}
    if comparators is None or len(comparators) == 0:
        return result
    c = comparators
    match = c["indicator_id"].isin(spec.fingertips_ids) | c["indicator_name"].map(
        lambda n: _name_matches(n, spec)).astype(bool)
    c = whole_population(c.loc[match])
    if c.empty:
        return result
    england = c.loc[(c["area_code"] == ENGLAND_CODE) | (c["area_type"].str.lower() == "england")]
    if region_code:
        region = c.loc[c["area_code"] == region_code]
    else:
        region = c.loc[c["area_type"].str.lower().str.contains("region", na=False)]
        if region["area_code"].nunique() != 1:
            region = region.iloc[0:0]
    for label, rows in (("England", england), ("Region", region)):
        row = latest_period(rows)
        if row is None:
            continue
        result[label] = {
            "label": label if label == "England" else str(row["area_name"]),
            "area_name": str(row["area_name"]),
            "indicator_id": int(row["indicator_id"]),
            "indicator_name": str(row["indicator_name"]),
            "period": str(row["time_period"]),
            "x": period_x(row["time_period"]),
            "value": float(row["value"]),
            "lower": float(row["lower_ci95"]) if pd.notna(row.get("lower_ci95")) else None,
            "upper": float(row["upper_ci95"]) if pd.notna(row.get("upper_ci95")) else None,
        }
    return result


# ============================================================================ trend
def describe_trend(series: pd.DataFrame, *, kind: str, confidence: float = 0.95) -> dict:
    """Trend over the series (see module docstring). Returns the :func:`stats.trend_test`
    result plus ``text`` (e.g. "increasing (p=0.01)"), ``first``/``last`` period and
    ``assessed`` (False with a reason when fewer than 3 periods)."""
    s = series.dropna(subset=["count", "denominator"])
    s = s.loc[s["denominator"] > 0]
    base = {"assessed": False, "direction": "not assessed", "p_value": None,
            "first": s["period"].iloc[0] if len(s) else None,
            "last": s["period"].iloc[-1] if len(s) else None, "n_periods": len(s)}
    if s["x"].nunique() < 3:
        base["text"] = f"not assessed (needs 3 or more periods; {len(s)} available)"
        return base
    test_kind = "proportion" if kind == "proportion" else "rate"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns on perfectly flat series
        plain = stats.trend_test(s["x"], s["count"], s["denominator"], kind=test_kind,
                                 confidence=confidence)
    result = plain
    if plain["direction"] != "not calculable":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                over = stats.trend_test(s["x"], s["count"], s["denominator"], kind=test_kind,
                                        confidence=confidence, overdispersion=True)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            over = None  # e.g. a perfectly flat series: no residual variation to scale by
        if over is not None and np.isfinite(over["dispersion"]) and over["dispersion"] > 1:
            result = over
    out = {**base, **result, "assessed": result["direction"] != "not calculable"}
    if out["assessed"]:
        p = result["p_value"]
        ptxt = "p<0.001" if p < 0.001 else f"p={p:.2f}" if p >= 0.1 else f"p={p:.3f}"
        out["text"] = f"{result['direction']} ({ptxt})"
    else:
        out["text"] = "not calculable"
    return out


def trend_phrase(trend: Mapping[str, Any], polarity: str) -> str:
    """Board wording: 'Increasing: getting worse', 'No significant change', …"""
    direction = trend.get("direction", "not assessed")
    if direction in ("increasing", "decreasing"):
        word = direction.capitalize()
        if polarity == "no_judgement":
            return word
        better = (direction == "increasing") == (polarity == "high_is_good")
        return f"{word}: {'improving' if better else 'getting worse'}"
    if direction == "no significant change":
        return "No significant change"
    return "Not assessed"


# ============================================================================ results
@dataclass
class MetricResult:
    spec: MetricSpec
    series: pd.DataFrame  # headline series (what the value and comparison use)
    trend_series: pd.DataFrame  # what the trend test uses (annual)
    trend: dict
    latest: dict | None
    england: dict | None = None
    region: dict | None = None
    vs_england: str | None = None
    vs_region: str | None = None
    secondary: pd.DataFrame | None = None  # e.g. annual DSRs beside the 3-year pooled line
    notes: list[str] = field(default_factory=list)
    #: when England's latest period is not ours but our series has it: the like-for-like
    #: comparison ``{period, value, lower, upper, result}``
    england_same_period: dict | None = None

    @property
    def available(self) -> bool:
        return self.latest is not None


def metric_result(
    spec: MetricSpec,
    series: pd.DataFrame,
    *,
    comparators: pd.DataFrame | None = None,
    region_code: str | None = None,
    confidence: float = 0.95,
    trend_series: pd.DataFrame | None = None,
    secondary: pd.DataFrame | None = None,
) -> MetricResult:
    """Summarise a metric: latest period with a value (or count), comparators, comparison
    (the local interval against the comparator's value, Fingertips method) and trend."""
    trend_series = series if trend_series is None else trend_series
    trend = describe_trend(trend_series, kind=spec.kind, confidence=confidence)
    latest = None
    usable = series.dropna(subset=["count"])
    if len(usable):
        latest = usable.sort_values("x").iloc[-1].to_dict()
    comps = find_comparators(comparators, spec, region_code=region_code)
    result = MetricResult(spec=spec, series=series, trend_series=trend_series, trend=trend,
                          latest=latest, england=comps["England"], region=comps["Region"],
                          secondary=secondary)
    if latest is not None and spec.kind != "count":
        lo, hi = latest.get("lower"), latest.get("upper")
        for label in ("England", "Region"):
            comp = comps[label]
            if comp is None:
                continue
            verdict = stats.compare_with_benchmark(
                np.nan if lo is None else lo, np.nan if hi is None else hi, comp["value"],
                polarity=spec.polarity)
            if label == "England":
                result.vs_england = verdict
            else:
                result.vs_region = verdict
        e = comps["England"]
        if e is not None and _norm_period(latest["period"]) != _norm_period(e["period"]):
            same = series.loc[series["period"].map(_norm_period) == _norm_period(e["period"])]
            if len(same) and pd.notna(same["lower"].iloc[0]) and pd.notna(same["upper"].iloc[0]):
                row = same.iloc[0]
                result.england_same_period = {
                    "period": str(row["period"]), "value": float(row["value"]),
                    "lower": float(row["lower"]), "upper": float(row["upper"]),
                    "result": stats.compare_with_benchmark(row["lower"], row["upper"], e["value"],
                                                           polarity=spec.polarity),
                }
    return result


def _norm_period(period: Any) -> str:
    return re.sub(r"\s+", "", str(period))


def _comparison_method(result: MetricResult, comp: dict, confidence: float) -> str:
    level = f"{confidence * 100:g}%"
    same = result.latest is not None and str(result.latest["period"]).replace(" ", "") == comp[
        "period"].replace(" ", "")
    period_note = "same period" if same else (
        f"local {result.latest['period']} against {comp['label']} {comp['period']}, the latest "
        "in the comparators file")
    return (f"{level} confidence interval of the local value against the {comp['label']} value "
            f"(Fingertips method; {period_note})")


def indicator_fields(
    result: MetricResult, *, area_name: str, confidence: float, source_kind: str
) -> dict[str, Any]:
    """Keyword arguments for ``recorder.indicator`` for one metric's headline value."""
    spec, latest = result.spec, result.latest
    if latest is None:
        raise ValueError(f"{spec.key}: no value to record")
    comparisons = []
    for comp, verdict in ((result.england, result.vs_england), (result.region, result.vs_region)):
        if comp is None:
            continue
        comparisons.append({
            "label": comp["label"], "value": comp["value"], "lower": comp["lower"],
            "upper": comp["upper"], "result": verdict,
            "method": _comparison_method(result, comp, confidence),
        })
    value = latest["value"]
    tags = {"level": "area", "theme": "outcomes_framework", "substance": spec.substance,
            "trend": result.trend["text"]}
    if result.trend.get("first") is not None:
        tags["trend_period"] = f"{result.trend['first']} to {result.trend['last']}"
    if spec.kind == "count":
        tags["trend_measure"] = (
            "rate per 10,000 residents aged under 18" if spec.key == "young_people_in_treatment"
            else "rate per 1,000 residents aged 18 and over")
    if "." in spec.key:
        tags["group"] = spec.key.split(".", 1)[1]
    if result.england_same_period is not None:
        same = result.england_same_period
        tags["england_same_period"] = f"{same['result']} ({same['period']}: {same['value']:.1f})"
    note = "; ".join(result.notes) if result.notes else None
    is_rate = spec.kind != "count"
    return {
        "label": spec.label,
        "value": None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value),
        "unit": spec.unit,
        "period": str(latest["period"]),
        "area": area_name,
        "lower": latest.get("lower") if is_rate else None,
        "upper": latest.get("upper") if is_rate else None,
        "confidence": confidence if is_rate else None,
        "count": latest.get("count"),
        "denominator": latest.get("denominator"),
        "comparisons": comparisons,
        "polarity": spec.polarity,
        "source_kind": source_kind,
        "source": spec.source,
        "outcome": spec.outcome,
        "tags": tags,
        "note": note,
    }


# ============================================================================ tables
SUMMARY_COUNT = "Count (people or events)"
SUMMARY_DENOMINATOR = "Denominator (residents, person-years or people)"
SUMMARY_VALUE = "Value"


def summary_frame(results: Sequence[MetricResult], *, confidence: float = 0.95) -> pd.DataFrame:
    """One row per available metric: the dashboard table before disclosure control."""
    level = f"{confidence * 100:g}%"
    rows = []
    for r in results:
        if not r.available:
            continue
        s, latest = r.spec, r.latest
        rows.append({
            "Outcome": s.outcome,
            "Metric": s.label,
            "Substance": s.substance.capitalize(),
            "Unit": _unit_text(s.unit),
            "Period": str(latest["period"]),
            SUMMARY_COUNT: latest["count"],
            SUMMARY_DENOMINATOR: latest["denominator"],
            # a count metric's value is its count: shown once, in the count column, so
            # rounding or suppression of the count cannot be undone from the value
            SUMMARY_VALUE: latest["value"] if s.kind != "count" else np.nan,
            f"{level} CI lower": latest["lower"] if s.kind != "count" else np.nan,
            f"{level} CI upper": latest["upper"] if s.kind != "count" else np.nan,
            "England": r.england["value"] if r.england else np.nan,
            "England period": r.england["period"] if r.england else "[x]",
            "Region": r.region["value"] if r.region else np.nan,
            "Compared with England": r.vs_england or ("Not compared" if r.england else "No England value"),
            "Compared with region": r.vs_region or ("Not compared" if r.region else "No region value"),
            "Compared with England in England's period": (
                f"{r.england_same_period['result']} ({r.england_same_period['period']})"
                if r.england_same_period else "[z]"),
            "Trend": r.trend["text"],
            "Trend period": (f"{r.trend['first']} to {r.trend['last']}" if r.trend.get("first") else "[x]"),
        })
    columns = ["Outcome", "Metric", "Substance", "Unit", "Period", SUMMARY_COUNT, SUMMARY_DENOMINATOR,
               SUMMARY_VALUE, f"{level} CI lower", f"{level} CI upper", "England", "England period",
               "Region", "Compared with England", "Compared with region",
               "Compared with England in England's period", "Trend", "Trend period"]
    return pd.DataFrame(rows, columns=columns)


def _unit_text(unit: str) -> str:
    """Unit as written in a table cell ('%' alone is not a valid spreadsheet cell)."""
    return {"%": "percent", "people": "number of people"}.get(unit, f"rate {unit}")


def _fmt_value(value: Any, unit: str) -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "[x]"
    v = float(value)
    if unit == "%":
        return f"{v:.1f}%"
    if unit == "people":
        return f"{v:,.0f} people"
    decimals = 0 if abs(v) >= 100 else 1 if abs(v) >= 1 else 2
    return f"{v:,.{decimals}f} {unit}"


def at_a_glance(published: pd.DataFrame, results: Sequence[MetricResult]) -> pd.DataFrame:
    """Words-only view of the published (disclosure-controlled) dashboard table: outcome,
    measure, latest period, our value, England value, comparison in words, trend in words."""
    by_label = {r.spec.label: r for r in results}
    rows = []
    for _, row in published.iterrows():
        r = by_label[row["Metric"]]
        unit = r.spec.unit
        comp = row["Compared with England"]
        if comp in ("Better", "Worse", "Similar", "Higher", "Lower"):
            words = {"Better": "Better than England", "Worse": "Worse than England",
                     "Similar": "Similar to England", "Higher": "Higher than England",
                     "Lower": "Lower than England"}[comp]
        elif r.spec.kind == "count":
            words = "No comparison (a count)"
        else:
            words = "No England figure"
        value = row[SUMMARY_COUNT] if r.spec.kind == "count" else row[SUMMARY_VALUE]
        rows.append({
            "Outcome": OUTCOME_SHORT.get(r.spec.outcome, r.spec.outcome),
            "Measure": r.spec.label,
            "Latest period": row["Period"],
            "Our area": _fmt_value(value, unit),
            "England": _fmt_value(row["England"], unit) if not pd.isna(row["England"]) and row["England"] != "[x]" else "[x]",
            "Compared with England": words,
            "Trend": trend_phrase(r.trend, r.spec.polarity),
        })
    return pd.DataFrame(rows, columns=["Outcome", "Measure", "Latest period", "Our area", "England",
                                       "Compared with England", "Trend"])


# ============================================================================ other chapters
def prevalence_reference(run_dir: str | Path | None) -> dict | None:
    """The whole-area OCU prevalence indicator recorded by the prevalence chapter in this
    run, if it ran before this chapter (read, never recomputed)."""
    if run_dir is None:
        return None
    path = Path(run_dir) / "results" / "prevalence.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    candidates = [
        i for i in data.get("indicators", [])
        if "ocu" in i.get("key", "").lower() and i.get("key", "").count(".") == 1
        and i.get("value") is not None and "per" in str(i.get("unit", ""))
    ]
    if not candidates:
        return None
    candidates.sort(key=lambda i: (i["key"] != "prevalence.ocu_rate", "rate" not in i["key"]))
    return candidates[0]


# ============================================================================ trend table
TREND_COUNT = SUMMARY_COUNT
TREND_DENOMINATOR = SUMMARY_DENOMINATOR


def _measure(spec: MetricSpec, role: str) -> str:
    if spec.data in ("deaths", "admissions"):
        if role == "secondary" or spec.pooled_years <= 1:
            return "Annual DSR"
        return f"{spec.pooled_years}-year pooled DSR"
    return {"rate": "Crude rate", "proportion": "Percentage", "count": "Number of people"}[spec.kind]


def trend_table(results: Sequence[MetricResult], *, confidence: float = 0.95) -> pd.DataFrame:
    """Every period of every available metric (the numbers behind the charts), long format:
    ``Outcome, Metric, Measure, Unit, Period`` then count, denominator, value and limits."""
    level = f"{confidence * 100:g}%"
    frames = []
    for r in results:
        if not r.available:
            continue
        parts = [("headline", r.series)]
        if r.secondary is not None and r.secondary is not r.series:
            parts.append(("secondary", r.secondary))
        for role, s in parts:
            if s is None or s.empty:
                continue
            s = s.sort_values("x")
            frames.append(pd.DataFrame({
                "Outcome": r.spec.outcome,
                "Metric": r.spec.label,
                "Measure": _measure(r.spec, role),
                "Unit": _unit_text(r.spec.unit),
                "Period": s["period"].astype(str).to_numpy(),
                TREND_COUNT: s["count"].to_numpy(dtype=float),
                TREND_DENOMINATOR: s["denominator"].to_numpy(dtype=float),
                "Value": s["value"].to_numpy(dtype=float) if r.spec.kind != "count" else np.nan,
                f"{level} CI lower": s["lower"].to_numpy(dtype=float),
                f"{level} CI upper": s["upper"].to_numpy(dtype=float),
            }))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def protected_series(
    published: pd.DataFrame, results: Sequence[MetricResult], *, confidence: float = 0.95
) -> dict[str, dict[str, pd.DataFrame | None]]:
    """Back from the published (disclosure-controlled) trend table to plottable series:
    ``{metric key: {"headline": frame, "secondary": frame | None}}`` with ``x, period,
    value, lower, upper``; suppressed cells become NaN, so they are not drawn."""
    level = f"{confidence * 100:g}%"
    out: dict[str, dict[str, pd.DataFrame | None]] = {}
    for r in results:
        if not r.available:
            continue
        entry: dict[str, pd.DataFrame | None] = {"headline": None, "secondary": None}
        parts = [("headline", r.series)]
        if r.secondary is not None and r.secondary is not r.series:
            parts.append(("secondary", r.secondary))
        for role, s in parts:
            rows = published.loc[(published["Metric"] == r.spec.label)
                                 & (published["Measure"] == _measure(r.spec, role))]
            frame = pd.DataFrame({
                "period": rows["Period"].astype(str).to_numpy(),
                "value": pd.to_numeric(rows[TREND_COUNT if r.spec.kind == "count" else "Value"],
                                       errors="coerce").to_numpy(dtype=float),
                "lower": pd.to_numeric(rows[f"{level} CI lower"], errors="coerce").to_numpy(dtype=float),
                "upper": pd.to_numeric(rows[f"{level} CI upper"], errors="coerce").to_numpy(dtype=float),
            })
            xs = dict(zip(s["period"].astype(str), s["x"].astype(float), strict=False))
            frame["x"] = frame["period"].map(xs)
            entry[role] = frame
        out[r.spec.key] = entry
    return out


def panel_items(
    results: Sequence[MetricResult], series: Mapping[str, Mapping[str, pd.DataFrame | None]]
) -> list[dict]:
    """Inputs for :func:`charts.outcomes.outcome_panels` from metric results and their
    protected series."""
    items = []
    for r in results:
        if not r.available or r.spec.key not in series:
            continue
        s = series[r.spec.key]
        items.append({
            "label": r.spec.label,
            "unit": r.spec.unit,
            "series": s["headline"],
            "secondary": s.get("secondary"),
            "secondary_label": "Single years (hollow circles)",
            "england": r.england,
            "region": r.region,
            "trend_text": r.trend["text"],
            "comparison": r.vs_england,
        })
    return items


# ============================================================================ whole dashboard
#: What each dataset's absence removes from the dashboard, in plain words.
ABSENT_TEXT = {
    "deaths": "No deaths file was supplied, so deaths from drug misuse, drug poisoning and "
              "alcohol-specific deaths (rates, trends and comparison with England) cannot be shown.",
    "admissions": "No hospital admissions file was supplied, so admissions for drug poisoning, "
                  "drug-related mental and behavioural disorders and alcohol-specific conditions "
                  "cannot be shown.",
    "crime": "No police.uk crime data were supplied, so drug offences, neighbourhood crime and "
             "possession of weapons offences cannot be shown.",
    "treatment_episodes": "No treatment episode extract was supplied, so numbers in treatment, "
                          "successful completions and deaths in treatment cannot be shown.",
    "prison_releases": "No prison releases file was supplied, so continuity of care after "
                       "prison (the share of people released with a treatment need who start "
                       "community treatment within 21 days) cannot be shown.",
    "comparators": "No comparators file (Fingertips export) was supplied, so no measure is "
                   "compared with England or the region.",
}


@dataclass
class Dashboard:
    results: dict[str, MetricResult]
    absent: dict[str, str]  # dataset -> sentence
    extract: pd.Timestamp | None = None
    completion_year: int | None = None
    treatment_years: list[int] = field(default_factory=list)
    by_group: pd.DataFrame | None = None
    completions: pd.DataFrame | None = None
    crime_monthly: pd.DataFrame | None = None
    crime_basket: pd.DataFrame | None = None

    def for_outcome(self, outcome: str) -> list[MetricResult]:
        return [r for r in self.results.values() if r.spec.outcome == outcome and r.available]

    def get(self, key: str) -> MetricResult | None:
        r = self.results.get(key)
        return r if r is not None and r.available else None


def build_dashboard(
    area: Any,
    *,
    region_code: str | None = None,
    confidence: float = 0.95,
    min_count: int = 10,
) -> Dashboard:
    """Every metric the area's data support, as :class:`MetricResult` objects; datasets the
    area does not supply are listed in ``absent`` with a sentence saying what is missing."""
    absent: dict[str, str] = {}
    comparators = area.comparators
    if comparators is None:
        absent["comparators"] = ABSENT_TEXT["comparators"]
    series: dict[str, pd.DataFrame] = {}
    trend_src: dict[str, pd.DataFrame] = {}
    secondary: dict[str, pd.DataFrame] = {}
    dash = Dashboard(results={}, absent=absent)
    # Every series here is for the whole area: residents by year and age, summed over small
    # areas and sex, give the same sums as the whole population, which at national scale is
    # 18 million rows.
    population = area.population_by(POPULATION_COLUMNS)
    for name, builder in (("deaths", deaths_series), ("admissions", admissions_series)):
        frame = getattr(area, name)
        if frame is None:
            absent[name] = ABSENT_TEXT[name]
            continue
        for key, parts in builder(frame, population, confidence=confidence).items():
            series[key] = parts["headline"]
            trend_src[key] = parts["annual"]
            if parts["headline"] is not parts["annual"]:
                secondary[key] = parts["annual"]
    if area.crime is None:
        absent["crime"] = ABSENT_TEXT["crime"]
    elif not complete_crime_years(_in_area_crimes(area.crime)):
        absent["crime"] = (
            crime_coverage_problem(area.crime, years=[int(pd.to_datetime(area.crime["month"]).dt.year.max())],
                                   crime_types=())
            or "The police.uk files hold no complete calendar year, so annual crime rates cannot be calculated."
        ) + " The crime measures are not shown."
    else:
        # A download may hold only some crime types (e.g. burglary only): a measure whose
        # crime types are absent is not shown, rather than reported as zero.
        present = set(area.crime["crime_type"].astype(str))
        wanted = {
            "drug_offences_rate": {DRUGS_CRIME_TYPE},
            "drug_offences_share": {DRUGS_CRIME_TYPE},
            "neighbourhood_crime_rate": set(NEIGHBOURHOOD_CRIME_TYPES),
            "weapons_possession_rate": {WEAPONS_CRIME_TYPE},
        }
        built = crime_series(area.crime, population, confidence=confidence, min_count=min_count)
        series.update({k: v for k, v in built.items() if wanted.get(k, set()) <= present})
        lacking = sorted({t for k, types in wanted.items() for t in types if t not in present})
        if lacking:
            absent["crime"] = (
                f"The police.uk extract holds no rows of {', '.join(lacking)} (it holds only "
                f"{', '.join(sorted(present))}), so measures built on them are not shown; they are not zero."
            )
        if set(NEIGHBOURHOOD_CRIME_TYPES) <= present:
            dash.crime_monthly = crime_monthly(area.crime)
            basket = neighbourhood_crime(area.crime, by="year")
            dash.crime_basket = basket.loc[basket["year"].isin(complete_crime_years(area.crime))].reset_index(drop=True)
    episodes = area.treatment_episodes
    if episodes is None:
        absent["treatment_episodes"] = ABSENT_TEXT["treatment_episodes"]
    else:
        extract = extract_date(episodes)
        last_full = extract.year if (extract.month, extract.day) == (12, 31) else extract.year - 1
        years = complete_treatment_years(episodes, last_year=last_full)
        follow = latest_follow_up_year(extract)
        comp_years = [y for y in years if y <= follow]
        dash.extract, dash.completion_year, dash.treatment_years = extract, follow, years
        series.update(treatment_series(episodes, population, years=years,
                                       completion_years=comp_years, confidence=confidence))
        dash.by_group = treatment_by_group(episodes, years)
        dash.completions = successful_completions(episodes, comp_years, confidence=confidence)
        if area.prison_releases is None:
            absent["prison_releases"] = ABSENT_TEXT["prison_releases"]
        else:
            series["continuity_of_care"] = continuity_series(area.prison_releases, episodes,
                                                             extract=extract, confidence=confidence)
    if episodes is None and area.prison_releases is None:
        absent["prison_releases"] = ABSENT_TEXT["prison_releases"]
    for key, spec in METRICS.items():
        if key not in series:
            continue
        dash.results[key] = metric_result(
            spec, series[key], comparators=comparators, region_code=region_code,
            confidence=confidence, trend_series=trend_src.get(key), secondary=secondary.get(key))
    return dash


def _interval_text(lower: Any, upper: Any, unit: str, level: str) -> str:
    if lower is None or upper is None or pd.isna(lower) or pd.isna(upper):
        return ""
    return f" ({level} CI {_fmt_number(lower, unit)} to {_fmt_number(upper, unit)})"


def _fmt_number(value: Any, unit: str) -> str:
    v = float(value)
    if unit == "%":
        return f"{v:.1f}%"
    if unit == "people":
        return f"{v:,.0f}"
    decimals = 0 if abs(v) >= 100 else 1 if abs(v) >= 1 else 2
    return f"{v:,.{decimals}f}"


def sentence(result: MetricResult, *, confidence: float = 0.95, value: Any = "latest") -> str:
    """One plain-English line for a metric: latest value with interval, comparison with
    England and the region, and the trend. ``value`` may be a published (protected) value
    to print instead of the computed one (e.g. '[c]')."""
    level = f"{confidence * 100:g}%"
    s, latest = result.spec, result.latest
    if latest is None:
        return f"{s.label}: no data."
    v = latest["value"] if value == "latest" else value
    unit_word = "" if s.unit in ("%", "people") else f" {s.unit}"
    if isinstance(v, str):
        head = f"**{s.label}**: {v} in {latest['period']} (suppressed: small numbers)"
    elif v is None or pd.isna(v):
        head = (f"**{s.label}**: not calculated for {latest['period']} (fewer than the minimum "
                "count for a reliable rate)")
    else:
        people = " people" if s.unit == "people" else ""
        head = (f"**{s.label}**: {_fmt_number(v, s.unit)}{people}{unit_word} in {latest['period']}"
                f"{_interval_text(latest.get('lower'), latest.get('upper'), s.unit, level) if s.kind != 'count' else ''}")
    parts = [head]
    if result.england is not None:
        e = result.england
        verdict = (result.vs_england or "not compared").lower()
        word = {"similar": "similar to", "better": "better than", "worse": "worse than",
                "higher": "higher than", "lower": "lower than"}.get(verdict, "not compared with")
        parts.append(f"{word} England ({_fmt_number(e['value'], s.unit)}{unit_word}, {e['period']})")
        same = result.england_same_period
        if same is not None:
            same_word = {"Similar": "similar to England", "Better": "better than England",
                         "Worse": "worse than England", "Higher": "higher than England",
                         "Lower": "lower than England"}.get(same["result"], "not compared")
            parts.append(f"in England's period ({same['period']}) our value was "
                         f"{_fmt_number(same['value'], s.unit)}{unit_word}, {same_word}")
    if result.region is not None and result.vs_region:
        rg = result.region
        verdict = result.vs_region.lower()
        word = {"similar": "similar to", "better": "better than", "worse": "worse than",
                "higher": "higher than", "lower": "lower than"}.get(verdict, "not compared with")
        parts.append(f"{word} {rg['label']} ({_fmt_number(rg['value'], s.unit)}{unit_word})")
    t = result.trend
    if t.get("assessed"):
        trend = f"trend {t['first']} to {t['last']}: {t['text']}"
        if s.kind == "count":
            trend += " in the rate per head of population"
    else:
        trend = f"trend {t['text']}"
    parts.append(trend)
    return "; ".join(parts) + "."


def record_indicators(
    recorder: Any, results: Iterable[MetricResult], *, area_name: str, confidence: float, params: Any
) -> list[str]:
    """Record each available metric as ``outcomes.<metric>``; returns the keys recorded."""
    keys = []
    for r in results:
        if not r.available:
            continue
        key = f"outcomes.{r.spec.key}"
        recorder.indicator(key, **indicator_fields(
            r, area_name=area_name, confidence=confidence, source_kind=source_kind_for(params, r.spec)))
        keys.append(key)
    return keys


def section_sentences(
    results: Sequence[MetricResult], published: pd.DataFrame, *, confidence: float = 0.95
) -> list[str]:
    """:func:`sentence` for each result, printing the published (protected) value."""
    out = []
    for r in results:
        row = published.loc[published["Metric"] == r.spec.label]
        shown: Any = "latest"
        if len(row):
            cell = row.iloc[0][SUMMARY_COUNT if r.spec.kind == "count" else SUMMARY_VALUE]
            shown = cell if isinstance(cell, str) else ("latest" if r.spec.kind != "count" else cell)
        out.append(sentence(r, confidence=confidence, value=shown))
    return out


def key_messages(results: Sequence[MetricResult]) -> str:
    """The at-a-glance message in words: what is worse or better than England and what is
    getting worse over time."""
    results = [r for r in results if r.available]
    compared = [r for r in results if r.vs_england in ("Better", "Worse", "Similar", "Higher", "Lower")]
    worse = [r.spec.label for r in compared if r.vs_england == "Worse"]
    better = [r.spec.label for r in compared if r.vs_england == "Better"]
    getting_worse = [r.spec.label for r in results
                     if trend_phrase(r.trend, r.spec.polarity).endswith("getting worse")]
    improving = [r.spec.label for r in results
                 if trend_phrase(r.trend, r.spec.polarity).endswith("improving")]
    parts = [f"{len(compared)} of {len(results)} measures have a published England figure to compare with."]
    parts.append(f"Significantly worse than England: {'; '.join(worse)}." if worse
                 else "No measure is significantly worse than England.")
    if better:
        parts.append(f"Significantly better than England: {'; '.join(better)}.")
    parts.append(f"Getting worse over time: {'; '.join(getting_worse)}." if getting_worse
                 else "No measure shows a significant trend for the worse.")
    if improving:
        parts.append(f"Improving over time: {'; '.join(improving)}.")
    return " ".join(parts)


def summary_display(published: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """A narrow view of the published dashboard table for the report: value and interval in
    one cell (suppressed cells stay '[c]')."""
    level = f"{confidence * 100:g}%"

    def num(v: Any, unit: str) -> str:
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return "[x]"
        return _fmt_number(v, unit)

    rows = []
    for _, row in published.iterrows():
        unit = {"percent": "%", "number of people": "people"}.get(row["Unit"], row["Unit"].replace("rate ", ""))
        lo, hi = row[f"{level} CI lower"], row[f"{level} CI upper"]
        if unit == "people":
            value = num(row[SUMMARY_COUNT], unit)
        else:
            value = num(row[SUMMARY_VALUE], unit)
            if not (isinstance(lo, float) and pd.isna(lo)) and not (isinstance(hi, float) and pd.isna(hi)):
                value += f" ({num(lo, unit)} to {num(hi, unit)})"
        rows.append({
            "Measure": row["Metric"],
            "Unit": {"percent": "%", "number of people": "people"}.get(row["Unit"], row["Unit"].replace("rate ", "")),
            "Period": row["Period"],
            "Count": num(row[SUMMARY_COUNT], "people"),
            f"Value ({level} CI)": value,
            "England": num(row["England"], unit) if unit != "people" else "[x]",
            "Region": num(row["Region"], unit) if unit != "people" else "[x]",
            "vs England": row["Compared with England"],
            "vs region": row["Compared with region"],
            "Trend": row["Trend"],
        })
    return pd.DataFrame(rows)


# ============================================================================ disclosure specs
def summary_spec(confidence: float = 0.95):
    """Disclosure-control spec of the dashboard table: count and denominator are counts;
    value and interval are derived from them; each row is a different measure, so rows do
    not add up to anything (no implicit totals); ``count`` is a part of ``denominator`` for
    percentages, so it is hidden when the difference would be disclosive."""
    from needs_assessment.sdc import TableSpec

    level = f"{confidence * 100:g}%"
    derived = (SUMMARY_COUNT, SUMMARY_DENOMINATOR)
    return TableSpec(
        count_columns=derived,
        derived_columns={SUMMARY_VALUE: derived, f"{level} CI lower": derived,
                         f"{level} CI upper": derived},
        group_columns=("Metric",),
        assume_totals_published=False,
        complements={SUMMARY_COUNT: SUMMARY_DENOMINATOR},
    )


def trend_spec(confidence: float = 0.95):
    """Disclosure-control spec of the long trend table: as :func:`summary_spec`, with the
    periods of one measure treated as adding up to a total published elsewhere (the
    conservative default: a 3-year pooled count is the sum of three annual counts)."""
    from needs_assessment.sdc import TableSpec

    level = f"{confidence * 100:g}%"
    derived = (TREND_COUNT, TREND_DENOMINATOR)
    return TableSpec(
        count_columns=derived,
        derived_columns={"Value": derived, f"{level} CI lower": derived, f"{level} CI upper": derived},
        group_columns=("Metric", "Measure"),
        complements={TREND_COUNT: TREND_DENOMINATOR},
    )
