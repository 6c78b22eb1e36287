"""People: who is in treatment, compared with the local population and with need.

Two comparisons, because they answer different questions:

* **Representation relative to the population** (every protected characteristic with a
  population denominator): the number of people in treatment in each group is compared
  with the number expected if treatment matched the make-up of the population *of the
  places clients live in* — the expected count is the sum over districts or wards of
  (clients with a recorded value living there × the group's share of that area's
  residents). Standardising by place stops a group looking over-represented only because
  treatment is concentrated in places where that group lives. The ratio observed ÷
  expected has an exact Poisson / Byar's interval on the observed count (the indirect
  standardisation method of PHE's Technical Guidance). It is not adjusted for age or sex,
  so differences can reflect who needs treatment rather than who gets it; the text says so.
* **Engagement relative to need** (sex, age group, ethnicity): among people with opiate or
  crack use known to other services in the year (probation, police custody, hospital) —
  services that see people whether or not they are in treatment — the share who were also
  in treatment, by group, with Wilson intervals, and each group compared with everyone
  else (Newcombe difference, Katz ratio, chi-square p-value).

Recording completeness ("not stated") is shown for every characteristic rather than hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from needs_assessment import stats
from needs_assessment.analysis.common import (
    OCU_GROUPS,
    age_group,
    attach_area,
    in_treatment,
    population_in_ages,
)
from needs_assessment.data.codes import label

__all__ = [
    "CHARACTERISTICS",
    "completeness",
    "engagement_relative_to_need",
    "representation",
    "representation_by_age",
]

#: The protected characteristics recorded in treatment data, in Equality Act order, with
#: the treatment-episode field and a plain name. Age and sex are handled separately.
CHARACTERISTICS = (
    ("gender_identity_same_as_sex", "Gender reassignment (gender identity differs from sex registered at birth)"),
    ("ethnicity", "Race (ethnic group)"),
    ("religion", "Religion or belief"),
    ("sexual_orientation", "Sexual orientation"),
    ("disability", "Disability"),
    ("marital_status", "Marriage and civil partnership"),
    ("pregnant", "Pregnancy and maternity"),
)

UNKNOWN = ("not_stated", "not_applicable")

#: Characteristics whose population make-up depends so strongly on age (most widowed
#: people are over 75) that a comparison not adjusted for age would flag differences
#: caused by the age of people in treatment. They are compared but not flagged unless the
#: characteristics data give age-specific shares.
AGE_CONFOUNDED = frozenset({"marital_status"})

ADULT_AGE_GROUPS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, None))


def completeness(people: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    """Share of people whose value is recorded, per field (not stated counts as missing;
    'not applicable', e.g. pregnancy for men, is left out of the base)."""
    rows = []
    for field in fields:
        values = people[field].astype(str)
        base = values != "not_applicable"
        stated = base & (values != "not_stated")
        n_base = int(base.sum())
        rows.append(
            {
                "field": field,
                "people": n_base,
                "recorded": int(stated.sum()),
                "not_stated": int((base & ~stated).sum()),
                "percent_recorded": stated.sum() / n_base * 100 if n_base else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _shares(characteristics: pd.DataFrame, field: str) -> pd.DataFrame:
    """Population share of each category by area code, among known categories."""
    rows = characteristics.loc[
        (characteristics["characteristic"].astype(str) == field)
        & ~characteristics["category"].astype(str).isin(UNKNOWN)
    ].copy()
    rows["category"] = rows["category"].astype(str)
    rows["area_code"] = rows["area_code"].astype(str)
    rows["share"] = rows["population"] / rows.groupby("area_code")["population"].transform("sum")
    return rows[["area_code", "category", "population", "share"]]


def representation(
    people: pd.DataFrame,
    field: str,
    characteristics: pd.DataFrame,
    geography: pd.DataFrame,
    *,
    level: str,
    whole_area_code: str | None,
    confidence: float = 0.95,
    flag_confidence: float = 0.998,
) -> pd.DataFrame:
    """Observed vs expected people in treatment per category of ``field``, standardised for
    the places they live (see the module docstring).

    ``characteristics`` gives residents by area code, characteristic and category; areas
    without rows (and clients without a recorded residence) use the whole area's shares
    (``whole_area_code`` rows, else the sum of all rows). Returns one row per category:
    ``observed``, ``expected``, ``ratio`` with ``lower``/``upper`` at ``confidence`` and a
    ``flag`` ("Over-represented" / "Under-represented" / "Similar") when the
    ``flag_confidence`` interval excludes 1. The stricter flag level allows for testing many
    categories at once (about 35 across the characteristics).
    """
    shares = _shares(characteristics, field)
    if shares.empty:
        return pd.DataFrame()
    known = people.loc[~people[field].astype(str).isin(UNKNOWN)].copy()
    known[field] = known[field].astype(str)
    known = attach_area(known, geography, level=level) if "area_code" not in known else known
    if whole_area_code is not None and (shares["area_code"] == whole_area_code).any():
        whole = shares.loc[shares["area_code"] == whole_area_code, ["category", "share"]]
    else:
        totals = shares.groupby("category", as_index=False)["population"].sum()
        totals["share"] = totals["population"] / totals["population"].sum()
        whole = totals[["category", "share"]]
    categories = sorted(set(whole["category"]) | set(known[field]))
    clients_by_area = known.groupby("area_code").size()
    expected = pd.Series(0.0, index=categories)
    area_shares = shares.pivot_table(index="area_code", columns="category", values="share", fill_value=0.0)
    whole_share = whole.set_index("category")["share"].reindex(categories, fill_value=0.0)
    for area_code, n in clients_by_area.items():
        if area_code in area_shares.index:
            row = area_shares.loc[area_code].reindex(categories, fill_value=0.0)
        else:
            row = whole_share
        expected += n * row
    observed = known[field].value_counts().reindex(categories, fill_value=0)
    low, high = stats.poisson_ci(observed.to_numpy(dtype=float), confidence)
    flag_low, flag_high = stats.poisson_ci(observed.to_numpy(dtype=float), flag_confidence)
    exp = expected.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = observed.to_numpy() / exp
        out = pd.DataFrame(
            {
                "category": categories,
                "label": [label(c, field) for c in categories],
                "observed": observed.to_numpy(dtype="int64"),
                "expected": exp,
                "population_share": whole_share.to_numpy() * 100,
                "treatment_share": observed.to_numpy() / observed.sum() * 100 if observed.sum() else np.nan,
                "ratio": ratio,
                "lower": low / exp,
                "upper": high / exp,
            }
        )
        flag_lower, flag_upper = flag_low / exp, flag_high / exp
    out["flag"] = np.where(
        exp <= 0, "Not compared",
        np.where(flag_lower > 1, "Over-represented", np.where(flag_upper < 1, "Under-represented", "Similar")),
    )
    if field in AGE_CONFOUNDED:
        out["flag"] = "Not flagged: not adjusted for age"
    return out


def representation_by_age(
    people: pd.DataFrame, population: pd.DataFrame, year: int, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Adults in treatment per 100,000 residents by age group and by sex, with intervals,
    each compared with the rate for all adults. ``population`` needs only ``year``,
    ``sex``, ``age`` and ``age_band``."""
    rows = []
    all_pop = int(population_in_ages(population, years=[year], min_age=18)["population"].iloc[0])
    overall = stats.crude_rate(len(people), all_pop, confidence=confidence).iloc[0]
    groups = age_group(people["age"], ADULT_AGE_GROUPS)
    for lo, hi in ADULT_AGE_GROUPS:
        name = f"{lo}-{hi}" if hi is not None else f"{lo}+"
        pop = int(population_in_ages(population, years=[year], min_age=lo, max_age=hi)["population"].iloc[0])
        rows.append({"breakdown": "Age group", "group": name, "people": int((groups == name).sum()), "population": pop})
    by_sex = population_in_ages(population, years=[year], min_age=18, by=["sex"])
    for sex in ("male", "female"):
        pop = int(by_sex.loc[by_sex["sex"].astype(str) == sex, "population"].sum())
        rows.append({"breakdown": "Sex", "group": "Men" if sex == "male" else "Women",
                     "people": int((people["sex"].astype(str) == sex).sum()), "population": pop})
    table = pd.DataFrame(rows)
    rates = stats.crude_rate(table["people"], table["population"], confidence=confidence)
    table[["rate", "lower", "upper"]] = rates[["value", "lower", "upper"]].to_numpy()
    table["comparison"] = stats.compare_with_benchmark(
        table["lower"], table["upper"], float(overall["value"]), polarity="no_judgement"
    )
    total = {"breakdown": "All adults", "group": "All adults", "people": len(people), "population": all_pop,
             "rate": overall["value"], "lower": overall["lower"], "upper": overall["upper"], "comparison": ""}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _known_to_other_services(area, year: int) -> pd.DataFrame:
    """Distinct people with opiate/crack use on any non-treatment list in ``year`` (aged
    15–64), with sex, age and ethnicity (their first record), and whether they were in
    OCU treatment during the year."""
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    frames = []
    for name, records in sorted(area.linkable_lists.items()):
        keep = records["event_date"].between(start, end) & records["opiate_or_crack"].astype(bool) & records["age"].between(15, 64)
        part = records.loc[keep, ["client_id", "sex", "age"]].copy()
        part["ethnicity"] = records.loc[keep, "ethnicity"] if "ethnicity" in records else pd.NA
        frames.append(part.assign(list=name))
    if not frames:
        return pd.DataFrame(columns=["client_id", "sex", "age", "ethnicity", "in_treatment"])
    known = pd.concat(frames, ignore_index=True)
    for column in ("client_id", "sex", "ethnicity"):
        known[column] = known[column].astype("string")
    known = known.sort_values(["client_id", "list"]).drop_duplicates("client_id")
    treated = in_treatment(area.treatment_episodes, year, adults=None, groups=OCU_GROUPS)
    known["in_treatment"] = known["client_id"].isin(treated["client_id"].astype("string"))
    return known.reset_index(drop=True)


def engagement_relative_to_need(area, year: int, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of people with opiate/crack use known to other services who were in treatment,
    by sex, age group and ethnic group, each group compared with everyone else.

    The lists see people whether or not they are in treatment, so a group's share in
    treatment estimates its engagement given need. Returns one row per group:
    ``known``, ``in_treatment``, ``percent`` with Wilson ``lower``/``upper``,
    ``difference`` (percentage points vs everyone else) with its interval, ``p_value``,
    ``p_adjusted`` (Holm, within the breakdown) and ``comparison`` ("Lower" / "Similar" /
    "Higher" when the adjusted p-value is below 1 - ``confidence``).
    """
    known = _known_to_other_services(area, year)
    if known.empty:
        return pd.DataFrame()
    known = known.assign(
        sex_group=known["sex"].map({"male": "Men", "female": "Women"}),
        age_group=age_group(known["age"], ((15, 24), (25, 34), (35, 64))),
        ethnic_group=known["ethnicity"].map(
            lambda v: label(v, "ethnicity") if isinstance(v, str) and v not in UNKNOWN else pd.NA
        ),
    )
    rows = []
    for breakdown, column in (("Sex", "sex_group"), ("Age group", "age_group"), ("Ethnic group", "ethnic_group")):
        valid = known.loc[known[column].notna()]
        for group, part in valid.groupby(column):
            rest = valid.loc[valid[column] != group]
            n, x = len(part), int(part["in_treatment"].sum())
            n_rest, x_rest = len(rest), int(rest["in_treatment"].sum())
            prop = stats.proportion(x, n, confidence=confidence).iloc[0]
            row = {"breakdown": breakdown, "group": str(group), "known": n, "in_treatment": x,
                   "percent": prop["value"], "lower": prop["lower"], "upper": prop["upper"],
                   "difference": np.nan, "difference_lower": np.nan, "difference_upper": np.nan,
                   "p_value": np.nan, "comparison": "Not compared"}
            if n_rest:
                cmp = stats.compare_two_proportions(x, n, x_rest, n_rest, confidence=confidence).iloc[0]
                row.update(difference=cmp["difference"], difference_lower=cmp["difference_lower"],
                           difference_upper=cmp["difference_upper"], p_value=cmp["p_value"])
            rows.append(row)
    table = pd.DataFrame(rows)
    # Each group is compared with everyone else, several groups per breakdown: Holm's
    # adjustment keeps the chance of any false flag within a breakdown at 1 - confidence.
    table["p_adjusted"] = np.nan
    for _, idx in table.groupby("breakdown").groups.items():
        tested = [i for i in idx if pd.notna(table.at[i, "p_value"])]
        if tested:
            table.loc[tested, "p_adjusted"] = multipletests(table.loc[tested, "p_value"], method="holm")[1]
    significant = table["p_adjusted"] < 1 - confidence
    table["comparison"] = np.where(
        table["p_adjusted"].isna(), "Not compared",
        np.where(significant & (table["difference"] < 0), "Lower",
                 np.where(significant & (table["difference"] > 0), "Higher", "Similar")),
    )
    return table


def other_needs(people: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Housing, employment, parental status and injecting among people in treatment: the
    share in each category (of those with a recorded value) with Wilson intervals."""
    rows = []
    for field, name in (
        ("housing_problem", "Housing"),
        ("employment_status", "Employment"),
        ("parental_status", "Parental status"),
        ("injecting_status", "Injecting"),
    ):
        values = people[field].astype(str)
        recorded = values[values != "not_stated"]
        n = len(recorded)
        for category, count in recorded.value_counts().sort_index().items():
            prop = stats.proportion(int(count), n, confidence=confidence).iloc[0] if n else None
            rows.append({"need": name, "category": label(category, field), "people": int(count), "recorded": n,
                         "percent": prop["value"] if prop is not None else np.nan,
                         "lower": prop["lower"] if prop is not None else np.nan,
                         "upper": prop["upper"] if prop is not None else np.nan})
    return pd.DataFrame(rows)
