"""Area profile: who lives in the area and how deprived its small areas are."""

from __future__ import annotations

import pandas as pd

__all__ = [
    "AGE_GROUPS",
    "CATEGORY_LABELS",
    "LEVEL_COLUMNS",
    "PROTECTED_CHARACTERISTICS",
    "age_comparison",
    "age_groups",
    "characteristic_coverage",
    "characteristics_profile",
    "deprivation_by_area",
    "deprivation_profile",
    "population_by_area",
    "population_pyramid",
]

#: Reporting geography -> (code column, name column) in the geography table.
LEVEL_COLUMNS = {
    "district": ("district_code", "district_name"),
    "ward": ("ward_code", "ward_name"),
    "small_area": ("small_area_code", "small_area_name"),
}

ESP_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]


def population_by_area(
    population: pd.DataFrame, geography: pd.DataFrame, *, level: str, year: int
) -> pd.DataFrame:
    """Residents in ``year`` by reporting area (district or ward), with each area's share.

    Returns columns ``area_code, area_name, population, percent`` sorted by name.
    ``population`` needs only ``small_area_code`` and ``year`` (summed over the rest:
    :meth:`~needs_assessment.data.AreaData.population_by`).
    """
    code, name = LEVEL_COLUMNS[level]
    pop = population.loc[population["year"] == year]
    if pop.empty:
        raise ValueError(f"population: no rows for year {year}")
    # Residents by small area first: matching each of millions of person rows to its
    # district or ward was most of the time at national scale (whole numbers, so the
    # totals are the same).
    by_small_area = pop.groupby("small_area_code", as_index=False, observed=True)["population"].sum()
    merged = by_small_area.merge(geography[["small_area_code", code, name]], on="small_area_code")
    out = (
        merged.groupby([code, name], as_index=False, observed=True)["population"]
        .sum()
        .rename(columns={code: "area_code", name: "area_name"})
        .sort_values("area_name", kind="stable")
        .reset_index(drop=True)
    )
    out["percent"] = out["population"] / out["population"].sum() * 100
    return out


def population_pyramid(population: pd.DataFrame, *, year: int) -> pd.DataFrame:
    """Residents by 5-year age band and sex in ``year`` (male/female only), in band order,
    with each cell's percentage of the whole population. ``population`` needs only
    ``year``, ``sex`` and ``age_band``."""
    pop = population.loc[(population["year"] == year) & population["sex"].isin(["male", "female"])]
    if pop.empty:
        raise ValueError(f"population: no male/female rows for year {year}")
    table = (
        pop.pivot_table(index="age_band", columns="sex", values="population", aggfunc="sum")
        .reindex(ESP_BANDS)
        .fillna(0)
        .astype("int64")
    )
    total = table.to_numpy().sum()
    out = table.reset_index().rename_axis(columns=None)
    out["male_percent"] = out["male"] / total * 100
    out["female_percent"] = out["female"] / total * 100
    return out


def deprivation_profile(geography: pd.DataFrame, *, level: str | None = None) -> pd.DataFrame:
    """Number and share of small areas in each national IMD decile (1 = most deprived 10%
    in England), for the whole area or by reporting area.

    In England as a whole each decile holds a tenth of small areas, so a share above 10%
    in decile 1 means the area has more than its share of the most deprived places.
    """
    keys = ["imd_decile"]
    if level is not None:
        code, name = LEVEL_COLUMNS[level]
        keys = [code, name, "imd_decile"]
    counts = geography.groupby(keys, observed=True).size().rename("small_areas").reset_index()
    if level is None:
        counts = (
            counts.set_index("imd_decile").reindex(range(1, 11), fill_value=0).reset_index()
        )
        counts["percent"] = counts["small_areas"] / counts["small_areas"].sum() * 100
    else:
        counts["percent"] = counts["small_areas"] / counts.groupby(keys[0])[
            "small_areas"
        ].transform("sum") * 100
    return counts


# ============================================================================================
# Age and protected characteristics of residents, against England and the region
# ============================================================================================
#: The nine protected characteristics of the Equality Act 2010, the dataset field that
#: holds each (``None`` where Census 2021 has no question), and the population base.
PROTECTED_CHARACTERISTICS = (
    ("age", "Age", "age", "all usual residents"),
    ("sex", "Sex", "sex", "all usual residents"),
    ("gender_reassignment", "Gender reassignment (gender identity)", "gender_identity_same_as_sex",
     "usual residents aged 16 and over"),
    ("race", "Race (ethnic group)", "ethnicity", "all usual residents"),
    ("religion_or_belief", "Religion or belief", "religion", "all usual residents"),
    ("sexual_orientation", "Sexual orientation", "sexual_orientation", "usual residents aged 16 and over"),
    ("disability", "Disability (Equality Act)", "disability", "all usual residents"),
    ("marriage_and_civil_partnership", "Marriage and civil partnership (legal partnership status)",
     "marital_status", "usual residents aged 16 and over"),
    ("pregnancy_and_maternity", "Pregnancy and maternity", None, None),
)

#: Census 2021 table behind each characteristic field (for source notes).
CENSUS_TABLES = {
    "age": "TS007 age by single year",
    "sex": "TS009 sex",
    "gender_identity_same_as_sex": "RM163 gender identity (16+)",
    "ethnicity": "TS021 ethnic group",
    "religion": "TS030 religion",
    "sexual_orientation": "sexual orientation, detailed release (16+)",
    "disability": "TS038 disability",
    "marital_status": "RM127 legal partnership status (16+)",
}

CATEGORY_LABELS = {
    "ethnicity": {"asian": "Asian, Asian British or Asian Welsh", "black": "Black, Black British, Black Welsh, "
                  "Caribbean or African", "mixed": "Mixed or Multiple ethnic groups", "white": "White",
                  "other": "Other ethnic group"},
    "religion": {"no_religion": "No religion", "christian": "Christian", "buddhist": "Buddhist", "hindu": "Hindu",
                 "jewish": "Jewish", "muslim": "Muslim", "sikh": "Sikh", "other": "Other religion",
                 "not_stated": "Not answered"},
    "sexual_orientation": {"heterosexual": "Straight or heterosexual", "gay_or_lesbian": "Gay or lesbian",
                           "bisexual": "Bisexual", "other": "All other sexual orientations",
                           "not_stated": "Not answered"},
    "gender_identity_same_as_sex": {"yes": "Same as sex registered at birth",
                                    "no": "Different from sex registered at birth", "not_stated": "Not answered"},
    "disability": {"yes": "Disabled under the Equality Act", "no": "Not disabled"},
    "marital_status": {"never_married": "Never married or in a civil partnership",
                       "married_or_civil_partnership": "Married or in a civil partnership",
                       "separated": "Separated", "divorced_or_dissolved": "Divorced or dissolved",
                       "widowed": "Widowed or surviving partner"},
    "sex": {"female": "Female", "male": "Male"},
    "pregnant": {"yes": "Pregnant", "no": "Not pregnant"},
}

AGE_GROUPS = ((0, 15), (16, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74), (75, 90))


def _age_label(lo: int, hi: int) -> str:
    return f"{lo}+" if hi >= 90 else f"{lo}-{hi}"


def age_groups(ages: pd.Series, counts: pd.Series) -> pd.Series:
    """Counts by broad age group (0-15, 16-24, …, 75+) from single years of age."""
    labels = [_age_label(lo, hi) if hi < 90 else f"{lo}+" for lo, hi in AGE_GROUPS]
    bins = [lo for lo, _ in AGE_GROUPS] + [200]
    groups = pd.cut(ages.astype(int), bins=bins, right=False, labels=labels)
    return counts.groupby(groups, observed=False).sum()


def age_comparison(population: pd.DataFrame, *, year: int, comparators: pd.DataFrame | None = None,
                   comparator_codes: dict[str, str] | None = None) -> pd.DataFrame:
    """Share of residents in each broad age group: the area (from ``population`` in
    ``year``) and, when given, comparator areas from a Census TS007 frame (``area_code,
    age, population``): ``age_group, residents, percent`` plus ``<label> (%)`` columns.
    ``population`` needs only ``year`` and ``age``."""
    pop = population.loc[population["year"] == year]
    if pop.empty:
        raise ValueError(f"population: no rows for year {year}")
    if pop["age"].isna().any():
        raise ValueError("population has no single years of age")
    by_age = pop.groupby("age", observed=True)["population"].sum()  # one row per year of age
    area = age_groups(by_age.index.to_series(), by_age)
    out = pd.DataFrame({"age_group": area.index.astype(str), "residents": area.to_numpy(dtype="int64")})
    out["percent"] = out["residents"] / out["residents"].sum() * 100
    for label, code in (comparator_codes or {}).items():
        if comparators is None:
            continue
        rows = comparators.loc[comparators["area_code"] == code]
        if rows.empty:
            continue
        groups = age_groups(rows["age"], rows["population"])
        out[f"{label} (%)"] = (groups / groups.sum() * 100).to_numpy()
    return out


def characteristics_profile(characteristics: pd.DataFrame, area_code: str, *,
                            comparators: pd.DataFrame | None = None,
                            comparator_codes: dict[str, str] | None = None) -> pd.DataFrame:
    """Residents of ``area_code`` by protected characteristic and category, with each
    category's share of the characteristic's base and, when ``comparators`` (``area_code,
    characteristic, category, count``) are given, the comparators' shares and the
    difference from the first comparator in percentage points.

    Returns ``characteristic, category, label, residents, percent`` and, per comparator
    label, ``<label> (%)``; then ``difference (pp)``. Shares are of everyone in the
    characteristic's base, 'not answered' included.
    """
    rows = characteristics.loc[characteristics["area_code"] == area_code,
                               ["characteristic", "category", "population"]].copy()
    rows = rows.loc[rows["characteristic"] != "pregnant"]
    rows["percent"] = rows["population"] / rows.groupby("characteristic")["population"].transform("sum") * 100
    rows = rows.rename(columns={"population": "residents"})
    labels = []
    for comp_label, code in (comparator_codes or {}).items():
        if comparators is None:
            continue
        comp = comparators.loc[comparators["area_code"] == code, ["characteristic", "category", "count"]]
        comp = comp.groupby(["characteristic", "category"], as_index=False)["count"].sum()
        comp[f"{comp_label} (%)"] = comp["count"] / comp.groupby("characteristic")["count"].transform("sum") * 100
        rows = rows.merge(comp.drop(columns="count"), on=["characteristic", "category"], how="left")
        labels.append(comp_label)
    if labels:
        rows["difference (pp)"] = rows["percent"] - rows[f"{labels[0]} (%)"]
    rows.insert(2, "label", [CATEGORY_LABELS.get(c, {}).get(k, k.replace("_", " ").capitalize())
                             for c, k in zip(rows["characteristic"], rows["category"], strict=True)])
    order = {field: i for i, (_, _, field, _) in enumerate(PROTECTED_CHARACTERISTICS) if field}
    cat_order = {c: {k: i for i, k in enumerate(v)} for c, v in CATEGORY_LABELS.items()}
    rows["_o1"] = rows["characteristic"].map(order).fillna(99)
    rows["_o2"] = [cat_order.get(c, {}).get(k, 99) for c, k in zip(rows["characteristic"], rows["category"], strict=True)]
    rows["residents"] = rows["residents"].astype("int64")
    return rows.sort_values(["_o1", "_o2"]).drop(columns=["_o1", "_o2"]).reset_index(drop=True)


def characteristic_coverage(characteristics: pd.DataFrame | None, *, area_code: str, units: list[str],
                            comparators: pd.DataFrame | None = None, england: str | None = None,
                            has_age: bool = True) -> pd.DataFrame:
    """For each of the nine protected characteristics: whether residents' figures exist for
    the whole area, for every reporting area (ward or district), and for England.
    Returns ``characteristic, field, base, area, sub_areas, england`` (booleans) and
    ``gap`` (a sentence, empty when nothing is missing)."""
    out = []
    for _key, label, field, base in PROTECTED_CHARACTERISTICS:
        if field is None:
            out.append({"characteristic": label, "field": None, "base": None, "area": False, "sub_areas": False,
                        "england": False, "gap": "Not asked in Census 2021: no published count of residents who are "
                        "pregnant or on maternity leave; birth registrations would be the nearest published source."})
            continue
        if field == "age":
            out.append({"characteristic": label, "field": field, "base": base, "area": has_age, "sub_areas": has_age,
                        "england": bool(comparators is not None and england), "gap": ""})
            continue
        have = set()
        if characteristics is not None:
            have = set(characteristics.loc[characteristics["characteristic"] == field, "area_code"])
        area = area_code in have
        sub = bool(units) and all(u in have for u in units)
        eng = bool(comparators is not None and england is not None
                   and ((comparators["area_code"] == england) & (comparators["characteristic"] == field)).any())
        gaps = []
        if not area:
            gaps.append("no figures for the area")
        elif not sub:
            gaps.append("published for the whole area only, not for each ward or district")
        if comparators is not None and not eng:
            gaps.append("no England figure")
        out.append({"characteristic": label, "field": field, "base": base, "area": area, "sub_areas": sub,
                    "england": eng, "gap": "; ".join(gaps)})
    return pd.DataFrame(out)


def deprivation_by_area(geography: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """Per reporting area: small areas, how many (and what share) are in England's most
    deprived 10% and 20% (deciles 1 and 1-2), and the median IMD decile."""
    code, name = LEVEL_COLUMNS[level]
    g = geography.assign(d1=geography["imd_decile"] == 1, d12=geography["imd_decile"] <= 2)
    out = g.groupby([code, name], as_index=False, observed=True).agg(
        small_areas=("small_area_code", "size"), decile_1=("d1", "sum"), deciles_1_2=("d12", "sum"),
        median_decile=("imd_decile", "median"))
    out = out.rename(columns={code: "area_code", name: "area_name"})
    out["percent_decile_1"] = out["decile_1"] / out["small_areas"] * 100
    out["percent_deciles_1_2"] = out["deciles_1_2"] / out["small_areas"] * 100
    return out.sort_values("area_name").reset_index(drop=True)
