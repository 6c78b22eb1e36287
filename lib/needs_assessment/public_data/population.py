"""Residents by small area, sex and single year of age, built from published parts.

ONS has not published (in the files a partnership usually holds, and in ``shared/reference``)
a Census-2021-based table of LSOA 2021 x sex x single year of age. The workbook builds one
from published pieces, in memory, at every run:

1. **Local authority x single year of age** (persons): Census 2021 TS007, exactly as
   published (0 to 89, 90 and over).
2. **Sex within each age**, per local authority: for ages 16 and over, the male share of
   the Census 2021 RM122 age band (sex x 8 age bands, residents 16+) the age falls in;
   for ages 0 to 15, one male share, the males under 16 implied by TS009 (total males)
   minus RM122 (males 16+), over all residents under 16. Counts are rounded so that
   men + women = TS007 at every age.
3. **Small-area age shape**: the ONS mid-2020 small-area estimates by single year of age
   (SAPE, LSOA 2011), mapped to LSOA 2021 with the ONS lookup (an unchanged LSOA keeps its
   counts; a split LSOA passes its age profile to each part; merged LSOAs are summed).
4. **Fitting**: iterative proportional fitting of the small-area x age matrix (persons) to
   two published margins: each LSOA's Census 2021 usual residents (the TS021 table total,
   scaled so the LSOAs add up to the TS007 authority total, since Census small-area
   tables are perturbed independently) and the authority's TS007 single-year counts. The
   sex split of step 2 is applied at each age, and the result is rounded to whole people
   column by column (largest remainder), so each authority's total, its age counts and its
   sex-by-age counts equal the published figures exactly.

Only Census 2021 exists at this detail, so every year of the assessment period holds the
Census 2021 figures (carried forward); :func:`build_population` returns a note saying so
for the chapters and ``AreaData.warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from needs_assessment.data import codes as C

__all__ = ["PopulationBuild", "build_population", "ipf", "round_columns", "sex_shares", "small_area_seed"]

AGES = np.arange(91)


@dataclass
class PopulationBuild:
    """The built population and how it was made."""

    population: pd.DataFrame  # canonical long frame
    notes: list[str] = field(default_factory=list)
    #: per district: published TS007 total and the built total (they are equal)
    checks: pd.DataFrame | None = None
    #: the largest difference between a built LSOA total and its Census table total
    max_small_area_difference: int = 0


def ipf(seed: np.ndarray, row_totals: np.ndarray, col_totals: np.ndarray, *, iterations: int = 1000,
        tol: float = 1e-9) -> np.ndarray:
    """Iterative proportional fitting of a non-negative matrix to row and column totals.

    The totals must have the same sum. Cells that are 0 in ``seed`` stay 0; a row or
    column whose seed is all 0 but whose total is positive gets a small uniform seed.
    """
    x = np.asarray(seed, dtype=float).copy()
    rows = np.asarray(row_totals, dtype=float)
    cols = np.asarray(col_totals, dtype=float)
    if not np.isclose(rows.sum(), cols.sum(), rtol=1e-9, atol=1e-6):
        raise ValueError(f"ipf: row totals ({rows.sum():.1f}) and column totals ({cols.sum():.1f}) differ")
    x[(x.sum(axis=1) == 0) & (rows > 0), :] = 1e-6
    x[:, (x.sum(axis=0) == 0) & (cols > 0)] += 1e-6
    for _ in range(iterations):
        r = x.sum(axis=1)
        x *= np.divide(rows, r, out=np.zeros_like(rows), where=r > 0)[:, None]
        c = x.sum(axis=0)
        x *= np.divide(cols, c, out=np.zeros_like(cols), where=c > 0)[None, :]
        if np.abs(x.sum(axis=1) - rows).max() <= tol * max(rows.max(), 1.0):
            break
    return x


def round_columns(x: np.ndarray, col_totals: np.ndarray, *, balance_rows: bool = True) -> np.ndarray:
    """Round each column of ``x`` to whole numbers adding up exactly to the integer column
    total (largest-remainder method). With ``balance_rows`` the choice of which cells to
    round up also carries each row's running rounding error from column to column, so row
    totals stay within about one of the unrounded row sums (ties go to the earlier row)."""
    x = np.asarray(x, dtype=float)
    totals = np.asarray(col_totals, dtype=np.int64)
    out = np.floor(x).astype(np.int64)
    short = totals - out.sum(axis=0)
    if (short < 0).any():
        raise ValueError("round_columns: column totals below the sum of the floors")
    residual = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        remainder = x[:, j] - out[:, j]
        priority = remainder + (residual if balance_rows else 0.0)
        if short[j] > 0:
            order = np.argsort(-priority, kind="stable")
            out[order[: short[j]], j] += 1
        residual += x[:, j] - out[:, j]
    return out


def sex_shares(*, persons_by_age: np.ndarray, total_male: int, total_female: int,
               band_counts: pd.DataFrame | None) -> np.ndarray:
    """Male share at each single year of age 0..90 of one authority (step 2 above).

    ``band_counts``: rows ``sex, age_lower, age_upper, count`` for residents 16+ (RM122);
    ``None`` gives one share for every age (the authority's TS009 male share).
    """
    persons = np.asarray(persons_by_age, dtype=float)
    overall = total_male / (total_male + total_female)
    share = np.full(91, overall)
    if band_counts is None or band_counts.empty:
        return share
    males_16 = 0.0
    for (lo, hi), band in band_counts.groupby(["age_lower", "age_upper"]):
        if lo < 16:
            continue
        male = float(band.loc[band["sex"] == "male", "count"].sum())
        female = float(band.loc[band["sex"] == "female", "count"].sum())
        if male + female > 0:
            share[int(lo): int(hi) + 1] = male / (male + female)
        males_16 += male
    under16 = persons[:16].sum()
    if under16 > 0:
        share[:16] = np.clip((total_male - males_16) / under16, 0.3, 0.7)
    return share


def small_area_seed(codes: list[str], sape: pd.DataFrame | None, lsoa_lookup: pd.DataFrame | None) -> np.ndarray | None:
    """Age profile (persons, ages 0..90) of each LSOA 2021 in ``codes`` from small-area
    estimates: either already on LSOA 2021 codes, or on LSOA 2011 codes mapped with the
    ONS lookup (split: the parent's counts shared equally between its parts, so the shape
    passes on; merged: summed). ``None`` when no estimates are given."""
    if sape is None:
        return None
    persons = (sape.loc[sape["sex"].isin(["persons", "male", "female"])]
               .groupby(["small_area_code", "age"], observed=True)["population"].sum())
    matrix = persons.unstack("age").reindex(columns=AGES).fillna(0.0)
    matrix.index = matrix.index.astype(str)
    seed = pd.DataFrame(0.0, index=codes, columns=AGES)
    direct = [c for c in codes if c in matrix.index]
    if len(direct) == len(codes) or lsoa_lookup is None:
        seed.loc[direct] = matrix.loc[direct].to_numpy()
        return seed.to_numpy()
    look = lsoa_lookup.loc[lsoa_lookup["lsoa11_code"].isin(matrix.index)].copy()
    look["parts"] = look.groupby("lsoa11_code")["lsoa21_code"].transform("count")
    contrib = matrix.loc[look["lsoa11_code"]].to_numpy() / look["parts"].to_numpy()[:, None]
    summed = pd.DataFrame(contrib, index=look["lsoa21_code"].to_numpy(), columns=AGES).groupby(level=0).sum()
    found = summed.index.intersection(codes)
    seed.loc[found] = summed.loc[found].to_numpy()
    return seed.to_numpy()


def build_population(
    geography: pd.DataFrame,
    *,
    census_age: pd.DataFrame,
    years: list[int],
    census_sex: pd.DataFrame | None = None,
    sex_age_16plus: pd.DataFrame | None = None,
    small_area_totals: pd.Series | None = None,
    sape: pd.DataFrame | None = None,
    lsoa_lookup: pd.DataFrame | None = None,
) -> PopulationBuild:
    """Canonical population (small area x year x sex x age) for ``geography``'s LSOAs.

    ``census_age``: :func:`readers.read_census_age` output (must hold every district of the
    geography); ``census_sex``: TS009 totals; ``sex_age_16plus``: RM122 sex x age bands;
    ``small_area_totals``: Census 2021 usual residents per LSOA 2021 (indexed by code);
    ``sape``: small-area estimates (canonical long, LSOA 2011 or 2021); ``lsoa_lookup``:
    LSOA 2011 -> 2021. Each year in ``years`` holds the Census 2021 figures.
    """
    notes: list[str] = []
    frames, checks = [], []
    max_diff = 0
    districts = geography[["district_code", "district_name"]].drop_duplicates()
    by_area = census_age.set_index(["area_code", "age"])["population"]
    missing = [c for c in districts["district_code"] if c not in by_area.index.get_level_values(0)]
    if missing:
        raise ValueError(f"Census 2021 age table has no rows for district(s) {', '.join(missing)}")
    if sape is None:
        notes.append("No small-area age estimates were supplied (public_data.small_area_age), so every "
                     "small area has its authority's age profile.")
    if small_area_totals is None:
        notes.append("No Census 2021 small-area totals were supplied (public_data.ethnicity), so small "
                     "areas are sized by the small-area estimates alone.")
    if census_sex is None:
        notes.append("No Census 2021 sex totals were supplied (public_data.census_sex): men and women "
                     "are split half and half at every age.")
    for code, name in districts.itertuples(index=False):
        geo = geography.loc[geography["district_code"] == code]
        sa_codes = geo["small_area_code"].astype(str).tolist()
        persons = by_area.loc[code].reindex(AGES).fillna(0).to_numpy(dtype=np.int64)
        total = int(persons.sum())
        seed = small_area_seed(sa_codes, sape, lsoa_lookup)
        if seed is None or not (seed.sum(axis=1) > 0).all():
            base = np.tile(persons / max(total, 1), (len(sa_codes), 1))
            seed = base if seed is None else np.where(seed.sum(axis=1, keepdims=True) > 0, seed, base)
        if small_area_totals is not None:
            rows = small_area_totals.reindex(sa_codes).to_numpy(dtype=float)
            if np.isnan(rows).any():
                rows = np.where(np.isnan(rows), seed.sum(axis=1) / max(seed.sum(), 1) * total, rows)
        else:
            rows = seed.sum(axis=1)
        rows = rows / rows.sum() * total
        fitted = ipf(seed, rows, persons.astype(float))
        if census_sex is not None and code in set(census_sex["area_code"]):
            sx = census_sex.set_index("area_code").loc[code]
            bands = None
            if sex_age_16plus is not None:
                bands = sex_age_16plus.loc[sex_age_16plus["area_code"] == code]
            share = sex_shares(persons_by_age=persons, total_male=int(sx["male"]),
                               total_female=int(sx["female"]), band_counts=bands)
            # men in all: the TS009 male share of the TS007 total (the two tables are perturbed apart)
            target_male = int(round(int(sx["male"]) * total / (int(sx["male"]) + int(sx["female"]))))
        else:
            share = np.full(91, 0.5)
            target_male = int(round(total / 2))
        male_real = persons * share
        if male_real.sum() > 0:
            male_real = np.minimum(male_real * target_male / male_real.sum(), persons)
        male_cols = round_columns(male_real[None, :].T, np.array([min(target_male, total)])).ravel()
        share = np.divide(male_cols, persons, out=np.full(91, 0.5), where=persons > 0)
        female_cols = persons - male_cols
        male = round_columns(fitted * share[None, :], male_cols)
        female = round_columns(fitted * (1 - share)[None, :], female_cols)
        built = male.sum(axis=1) + female.sum(axis=1)
        if small_area_totals is not None:
            census = small_area_totals.reindex(sa_codes).to_numpy(dtype=float)
            ok = ~np.isnan(census)
            if ok.any():
                max_diff = max(max_diff, int(np.abs(built[ok] - census[ok]).max()))
        checks.append({"district_code": code, "district_name": name, "published_total": total,
                       "built_total": int(built.sum()), "small_areas": len(sa_codes)})
        n = len(sa_codes)
        mat = np.hstack([female, male])  # female 0..90 then male 0..90, as SAPE
        frames.append((sa_codes, mat))
    codes = [c for sa, _ in frames for c in sa]
    matrix = np.vstack([m for _, m in frames]).astype(np.int32)
    n = len(codes)
    sexes = np.repeat(np.array([1, 0], dtype=np.int8), 91)  # female, male -> category codes
    ages = np.tile(AGES, 2).astype(np.int16)
    bands = np.minimum(ages // 5, len(C.AGE_BANDS) - 1).astype(np.int8)
    cat = pd.Categorical(codes, categories=sorted(set(codes)))
    parts = []
    for year in years:
        parts.append(pd.DataFrame({
            "small_area_code": pd.Categorical.from_codes(np.repeat(cat.codes, 182), cat.categories),
            "year": np.full(n * 182, year, dtype=np.int16),
            "sex": pd.Categorical.from_codes(np.tile(np.where(sexes == 1, 1, 0), n), ["male", "female", "persons"]),
            "age": pd.array(np.tile(ages, n), dtype="Int16"),
            "age_band": pd.Categorical.from_codes(np.tile(bands, n), list(C.AGE_BANDS)),
            "population": matrix.ravel(),
        }))
    population = pd.concat(parts, ignore_index=True)
    return PopulationBuild(population=population, notes=notes, checks=pd.DataFrame(checks),
                           max_small_area_difference=max_diff)
