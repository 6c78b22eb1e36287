"""Building blocks shared by the chapters: who was in treatment when, where people live,
and the matching population denominators.

Definitions follow NDTMS practice (OHID, "Adult substance misuse treatment statistics"
user guide):

* a person is **in treatment** in a year if any of their episodes had started
  (``triage_date``, the first intervention) on or before 31 December and had not been
  discharged before 1 January; each person counts once per year;
* a **new presentation** is an episode whose triage date falls in the period;
* **adults** are people aged 18 or over at referral who are not in a young people's service;
* OCU (opiate and/or crack cocaine users) are clients whose substance group is
  ``opiate_and_crack``, ``opiate_only`` or ``crack_only``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from needs_assessment.analysis.profile import LEVEL_COLUMNS

__all__ = [
    "ALCOHOL_GROUPS",
    "EPISODE_COLUMNS",
    "OCU_GROUPS",
    "PLACES_SHOWN",
    "PLACE_ROW_LIMIT",
    "SUBSTANCE_LABELS",
    "age_group",
    "attach_area",
    "in_treatment",
    "new_presentations",
    "population_in_ages",
    "report_place_rows",
    "sum_by_area",
    "year_bounds",
]

#: The treatment-episode columns the chapters read, except People (which also reads the
#: protected characteristics and circumstances): a chapter holding only these
#: (``AreaData.with_columns``) holds less than half of a national-scale extract.
EPISODE_COLUMNS = (
    "episode_id", "client_id", "referral_date", "triage_date", "discharge_date",
    "discharge_reason", "substance_group", "referral_source", "age", "sex", "small_area_code",
    "young_person", "prison_release_date",
)

OCU_GROUPS = ("opiate_and_crack", "opiate_only", "crack_only")
NON_OPIATE_GROUPS = ("non_opiate_only", "non_opiate_and_alcohol")
ALCOHOL_GROUPS = ("alcohol_only", "non_opiate_and_alcohol")

SUBSTANCE_LABELS = {
    "opiate_and_crack": "Opiate and crack",
    "opiate_only": "Opiate only",
    "crack_only": "Crack only",
    "non_opiate_only": "Non-opiate only",
    "non_opiate_and_alcohol": "Non-opiate and alcohol",
    "alcohol_only": "Alcohol only",
}

#: NDTMS-style broad substance groups used in the Fingertips treatment indicators.
BROAD_SUBSTANCE = {
    "opiate_and_crack": "opiate",
    "opiate_only": "opiate",
    "crack_only": "non_opiate",
    "non_opiate_only": "non_opiate",
    "non_opiate_and_alcohol": "non_opiate",
    "alcohol_only": "alcohol",
}


def year_bounds(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)


def in_treatment(
    episodes: pd.DataFrame,
    year: int,
    *,
    adults: bool | None = True,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per person in treatment during ``year`` (their latest episode that year).

    ``adults=True`` keeps adults, ``False`` young people, ``None`` everyone; ``groups``
    restricts to substance groups.
    """
    start, end = year_bounds(year)
    started = episodes["triage_date"].notna() & (episodes["triage_date"] <= end)
    open_in_year = episodes["discharge_date"].isna() | (episodes["discharge_date"] >= start)
    mask = started & open_in_year
    if adults is True:
        mask &= ~episodes["young_person"].astype(bool) & (episodes["age"] >= 18)
    elif adults is False:
        mask &= episodes["young_person"].astype(bool) | (episodes["age"] < 18)
    if groups is not None:
        mask &= episodes["substance_group"].isin(list(groups))
    # The order is worked out on the three sort columns alone and the rows taken once: the
    # selection, its sort and the de-duplication each copied every column before.
    positions = np.flatnonzero(mask.to_numpy(dtype=bool))
    keys = episodes[["client_id", "triage_date", "episode_id"]].take(positions)
    keys.index = positions
    ordered = keys.sort_values(["client_id", "triage_date", "episode_id"])
    latest = ordered.index[~ordered["client_id"].duplicated(keep="last").to_numpy()]
    return episodes.take(latest).reset_index(drop=True)


def new_presentations(
    episodes: pd.DataFrame, years: Iterable[int], *, adults: bool | None = True
) -> pd.DataFrame:
    """Episodes whose treatment started (triage) within ``years``."""
    years = list(years)
    start, _ = year_bounds(min(years))
    _, end = year_bounds(max(years))
    mask = episodes["triage_date"].between(start, end)
    if adults is True:
        mask &= ~episodes["young_person"].astype(bool) & (episodes["age"] >= 18)
    elif adults is False:
        mask &= episodes["young_person"].astype(bool) | (episodes["age"] < 18)
    return episodes.loc[mask].reset_index(drop=True)


def attach_area(
    frame: pd.DataFrame, geography: pd.DataFrame, *, level: str, unknown_label: str = "Not known"
) -> pd.DataFrame:
    """Add ``area_code`` and ``area_name`` (district or ward of residence) to records.

    Records without a small area (no fixed abode, out of area) get ``unknown_label``.
    """
    code, name = LEVEL_COLUMNS[level]
    lookup = geography[["small_area_code", code, name]].rename(
        columns={code: "area_code", name: "area_name"}
    )
    out = frame.merge(lookup, on="small_area_code", how="left")
    out["area_code"] = out["area_code"].fillna("unknown")
    out["area_name"] = out["area_name"].fillna(unknown_label)
    return out


def population_in_ages(
    population: pd.DataFrame,
    *,
    years: Iterable[int],
    min_age: int = 0,
    max_age: int | None = None,
    by: Sequence[str] = (),
    geography: pd.DataFrame | None = None,
    level: str | None = None,
) -> pd.DataFrame:
    """Residents aged ``min_age``..``max_age`` summed over ``years`` (person-years when
    several years are given), optionally by area (``level``) and other columns.

    Uses single years of age when the population has them, else whole 5-year bands (and
    then requires the age limits to fall on band edges, raising otherwise). Every age
    (``min_age`` 0, no ``max_age``) reads no age column, so the population may then be
    one already summed over ages (:meth:`~needs_assessment.data.AreaData.population_by`).
    """
    in_years = population["year"].isin(list(years))
    if not in_years.any():
        raise ValueError(f"population: no rows for years {sorted(set(years))}")
    needed = list(dict.fromkeys([*(["small_area_code"] if level is not None else []), *by, "population"]))
    every_age = min_age <= 0 and max_age is None
    age = None if every_age else population["age"]
    if every_age:  # every row of the years, whether ages are single years or bands
        pop = population.loc[in_years, needed]
    elif not age[in_years].isna().any():
        # One selection of the rows and columns needed: at national scale the population
        # has 18 million rows, and copying all of them to filter twice doubled the memory.
        keep = in_years & (age >= min_age)
        if max_age is not None:
            keep &= age <= max_age
        pop = population.loc[keep.fillna(False).astype(bool), needed]
    else:
        pop = population.loc[in_years]
        lower = pop["age_band"].str.extract(r"^(\d+)")[0].astype(int)
        upper = lower + 4
        if min_age % 5 or (max_age is not None and (max_age + 1) % 5):
            raise ValueError(
                f"population has only 5-year bands; ages {min_age}-{max_age} do not fall on band edges"
            )
        keep = lower >= min_age
        if max_age is not None:
            keep &= upper <= max_age
        pop = pop.loc[keep]
    keys = list(by)
    if level is not None:
        if geography is None:
            raise ValueError("population_in_ages: level needs geography")
        return sum_by_area(pop, geography, level=level, by=keys)
    if not keys:
        return pd.DataFrame({"population": [int(pop["population"].sum())]})
    return pop.groupby(keys, as_index=False, observed=True)["population"].sum()


def sum_by_area(frame: pd.DataFrame, geography: pd.DataFrame, *, level: str,
                by: Sequence[str] = (), value: str = "population") -> pd.DataFrame:
    """``value`` summed by district or ward (``area_code, area_name``, then ``by``),
    sorted by those keys: what :func:`attach_area` then a group-by sum give, with rows
    outside the geography under ``unknown``.

    Whole numbers (counts of people) are first summed by small area, so only one row per
    small area (not one per person-year-age-sex, 18 million at national scale) is matched
    to its district or ward; integer sums do not depend on the order of adding, so the
    result is the same. Other values keep the one-step sum, whose floating-point result
    depends on that order.
    """
    keys = ["area_code", "area_name", *by]
    if not pd.api.types.is_integer_dtype(frame[value].dtype):
        return attach_area(frame, geography, level=level).groupby(
            keys, as_index=False, observed=True)[value].sum()
    first = frame.groupby(["small_area_code", *by], as_index=False, observed=True)[value].sum()
    return attach_area(first, geography, level=level).groupby(
        keys, as_index=False, observed=True)[value].sum()


AGE_GROUPS_ADULT = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, None))


def age_group(age: pd.Series, groups: Sequence[tuple[int, int | None]] = AGE_GROUPS_ADULT) -> pd.Series:
    """Label ages with groups such as '18-24' … '65+'; ages outside every group get NA."""
    labels = [f"{lo}-{hi}" if hi is not None else f"{lo}+" for lo, hi in groups]
    bins = [lo for lo, _ in groups] + [np.inf if groups[-1][1] is None else groups[-1][1] + 1]
    return pd.cut(age, bins=bins, right=False, labels=labels).astype("string")


def crime_coverage_problem(
    crime: pd.DataFrame | None, *, years: Iterable[int], crime_types: Sequence[str]
) -> str | None:
    """Why a police.uk extract cannot support rates of ``crime_types`` over ``years``, or
    None when it can.

    An extract may hold only some crime types (a burglary-only download reports no drug
    offences, which must not be read as zero) or only some months (a rate per year from
    four months would be a third of the truth), so both are checked before any rate is
    published.
    """
    if crime is None:
        return "No police.uk crime data were supplied."
    years = sorted(set(years))
    present = sorted(set(crime["crime_type"].astype(str)))
    missing_types = [t for t in crime_types if t not in present]
    if missing_types:
        return (
            f"The police.uk extract holds no rows of crime type {', '.join(repr(t) for t in missing_types)} "
            f"(it holds only: {', '.join(present) or 'nothing'}), so this cannot be shown; it is not zero."
        )
    in_area = crime
    if "in_area" in crime.columns:
        in_area = crime.loc[crime["in_area"].fillna(False).astype(bool)]
    months = pd.PeriodIndex(in_area["month"].dropna(), freq="M").unique()
    needed = pd.period_range(f"{years[0]}-01", f"{years[-1]}-12", freq="M")
    lacking = needed.difference(months)
    if len(lacking):
        span = f"{months.min()} to {months.max()}" if len(months) else "no months"
        return (
            f"The police.uk files cover {span}; {len(lacking)} of the {len(needed)} months of "
            f"{years[0]} to {years[-1]} are missing, so rates for the period cannot be calculated."
        )
    return None


#: A report table or chart lists every district or ward up to this many; a national-scale
#: run has 300, which no reader can take in (and which made the report 16 MB), so beyond
#: it the report shows the :data:`PLACES_SHOWN` highest and lowest, and the spreadsheet
#: (``tables.xlsx`` and the CSVs, never trimmed) keeps every place.
PLACE_ROW_LIMIT = 40
PLACES_SHOWN = 10


def report_place_rows(frame: pd.DataFrame, rank_by: str | pd.Series, *, level: str, what: str,
                      table_id: str, places: pd.Series | None = None, shown: int = PLACES_SHOWN,
                      limit: int = PLACE_ROW_LIMIT) -> tuple[pd.DataFrame, str]:
    """The rows of a published table that a report table or chart shows, and a sentence
    saying what was left out ("" when nothing was).

    ``places`` marks the rows that are districts or wards (default: every row); the other
    rows (the whole area, other breakdowns, unknown residence) are always shown. With at
    most ``limit`` places the frame is returned unchanged. Otherwise the places are cut to
    the ``shown`` with the highest and the ``shown`` with the lowest ``rank_by`` (a column
    or a Series aligned with ``frame``; suppressed ``[c]`` and missing values are not
    ranked), highest first, where the block of places stood; the sentence names ``what``
    was ranked and the spreadsheet table (``table_id``) that lists every place. Display
    only: recorded tables keep every row.
    """
    is_place = (pd.Series(True, index=frame.index) if places is None
                else pd.Series(places, index=frame.index).astype(bool))
    n_places = int(is_place.sum())
    if n_places <= limit:
        return frame, ""
    values = frame[rank_by] if isinstance(rank_by, str) else pd.Series(rank_by, index=frame.index)
    ranked = pd.to_numeric(values.where(is_place), errors="coerce").dropna()
    ranked = ranked.sort_values(ascending=False, kind="stable")
    keep = ranked.index[:shown].append(ranked.index[-shown:]).unique()
    first = frame.index.get_loc(is_place[is_place].index[0])
    before = frame.iloc[:first].loc[~is_place.iloc[:first]]
    after = frame.iloc[first:].loc[~is_place.iloc[first:]]
    note = (f"Only the {shown} {level}s with the highest and the {shown} with the lowest {what} "
            f"(of {n_places}) are shown here; the spreadsheet ({table_id}) lists every {level}.")
    return pd.concat([before, frame.loc[keep], after]), note
