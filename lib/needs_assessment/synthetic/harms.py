"""Synthetic harms and context: deaths, hospital admissions, police.uk crime, services and
Fingertips-style comparators."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from needs_assessment.synthetic import sources as src
from needs_assessment.synthetic.geo import lonlat, place_names
from needs_assessment.synthetic.people import deprivation_multiplier

SEXES = ("female", "male")  # order of the population columns (F0..F90, M0..M90)
BAND_OF_AGE = np.minimum(np.arange(91) // 5, 18)


def band_population(pop: np.ndarray) -> np.ndarray:
    """(..., 182) single-year residents -> (..., 2, 19) by sex and ESP age band."""
    shape = pop.shape[:-1]
    out = np.zeros(shape + (2, 19), dtype=np.float64)
    for s in range(2):
        block = pop[..., s * 91 : (s + 1) * 91]
        for b in range(19):
            out[..., s, b] = block[..., b == BAND_OF_AGE].sum(-1)
    return out


def _scale_for(target_dsr: float, shape: np.ndarray, male_to_female: float) -> float:
    """Female-unit multiplier k so that the persons ESP-standardised rate is ``target_dsr``."""
    persons = shape * (1.0 + male_to_female) / 2.0
    return target_dsr * src.ESP2013.sum() / float((src.ESP2013 * persons).sum())


def _trend(measure: str, years: np.ndarray) -> np.ndarray:
    y = np.asarray(years, float)
    if measure == "drug_misuse":
        return 1.045 ** (y - 2022)
    if measure == "drug_poisoning_other":
        return 1.02 ** (y - 2022)
    if measure == "alcohol_specific_death":
        table = {2020: 0.88, 2021: 0.97}
        return np.array([0.75 if t <= 2019 else table.get(int(t), 1.0) for t in y])
    if measure == "alcohol_specific_admission":
        return 1.004 ** (y - 2022)
    if measure in ("drug_poisoning_admission", "drug_mental_behavioural_admission"):
        return 0.985 ** (y - 2019)
    raise KeyError(measure)


#: measure -> (England rate per 100,000, age shape, reference for the rate)
MEASURES = {
    "drug_misuse": (src.DRUG_MISUSE_DEATHS_PER_100K, src.DRUG_MISUSE_AGE_SHAPE),
    "drug_poisoning_other": (
        src.DRUG_MISUSE_DEATHS_PER_100K * (src.DRUG_POISONING_TO_MISUSE - 1.0),
        src.DRUG_POISONING_OTHER_AGE_SHAPE,
    ),
    "alcohol_specific_death": (src.ALCOHOL_SPECIFIC_DEATHS_PER_100K, src.ALCOHOL_DEATH_AGE_SHAPE),
    "alcohol_specific_admission": (src.ALCOHOL_SPECIFIC_ADMISSIONS_PER_100K,
                                   src.ALCOHOL_ADMISSION_AGE_SHAPE),
    "drug_poisoning_admission": (src.DRUG_POISONING_ADMISSIONS_PER_100K,
                                 src.DRUG_POISONING_ADMISSION_AGE_SHAPE),
    "drug_mental_behavioural_admission": (src.DRUG_MENTAL_BEHAVIOURAL_ADMISSIONS_PER_100K,
                                          src.DRUG_MBD_ADMISSION_AGE_SHAPE),
}


def expected_rates(measure: str) -> np.ndarray:
    """(2, 19) rate per person-year for female and male by ESP band, England level."""
    target, shape = MEASURES[measure]
    ratio = src.MALE_TO_FEMALE[measure]
    k = _scale_for(target, shape, ratio)
    return np.vstack([k * shape, k * ratio * shape]) / 1e5


def event_counts(rng, measure, band_pop, years, decile, ratio) -> np.ndarray:
    """Poisson counts (years, areas, 2, 19) for one measure."""
    rates = expected_rates(measure)[None, None, :, :]
    dep = deprivation_multiplier(decile, ratio)[None, :, None, None]
    trend = _trend(measure, years)[:, None, None, None]
    return rng.poisson(band_pop * rates * dep * trend).astype(np.int32)


def long_counts(counts: np.ndarray, years, codes, label_col: str, label: str) -> pd.DataFrame:
    """Non-zero cells of (years, areas, 2, 19) counts as a canonical long table."""
    y, a, s, b = np.nonzero(counts)
    return pd.DataFrame({
        "year": np.asarray(years)[y],
        "small_area_code": pd.Categorical.from_codes(a, categories=list(codes)),
        "sex": pd.Categorical.from_codes(s, categories=list(SEXES)),
        "age_band": pd.Categorical.from_codes(b, categories=list(src.AGE_BANDS)),
        label_col: label,
        "count": counts[y, a, s, b],
    })


# --------------------------------------------------------------------------------------------
# Crime (police.uk street-level layout)
# --------------------------------------------------------------------------------------------
_OUTCOMES_THEFT = {
    "Investigation complete; no suspect identified": 0.64, "Unable to prosecute suspect": 0.12,
    "Under investigation": 0.06, "Court result unavailable": 0.03, "Awaiting court outcome": 0.03,
    "Local resolution": 0.03, "Status update unavailable": 0.04, "Offender given a caution": 0.01,
    "Further investigation is not in the public interest": 0.02,
    "Action to be taken by another organisation": 0.01, "Offender sent to prison": 0.01,
}
_OUTCOMES_VIOLENCE = {
    "Unable to prosecute suspect": 0.44, "Investigation complete; no suspect identified": 0.14,
    "Under investigation": 0.08, "Awaiting court outcome": 0.05, "Court result unavailable": 0.06,
    "Local resolution": 0.05, "Offender given a caution": 0.02,
    "Further investigation is not in the public interest": 0.03,
    "Action to be taken by another organisation": 0.04, "Status update unavailable": 0.03,
    "Formal action is not in the public interest": 0.02, "Offender sent to prison": 0.01,
    "Offender given community sentence": 0.01, "Suspect charged as part of another case": 0.01,
    "Offender given suspended prison sentence": 0.01,
}
_OUTCOMES_SHOPLIFTING = {
    "Investigation complete; no suspect identified": 0.40, "Unable to prosecute suspect": 0.14,
    "Court result unavailable": 0.10, "Awaiting court outcome": 0.08, "Local resolution": 0.08,
    "Under investigation": 0.06, "Offender fined": 0.03, "Offender given a caution": 0.03,
    "Status update unavailable": 0.05, "Offender given conditional discharge": 0.02,
    "Offender sent to prison": 0.01,
}
_OUTCOMES_DRUGS = {
    "Local resolution": 0.24, "Offender given a drugs possession warning": 0.15,
    "Court result unavailable": 0.12, "Awaiting court outcome": 0.08,
    "Offender given a caution": 0.08, "Unable to prosecute suspect": 0.10,
    "Formal action is not in the public interest": 0.05, "Under investigation": 0.06,
    "Status update unavailable": 0.05, "Offender fined": 0.02,
    "Offender given community sentence": 0.02, "Offender sent to prison": 0.03,
}
_OUTCOMES_ORDER = {
    "Unable to prosecute suspect": 0.35, "Investigation complete; no suspect identified": 0.20,
    "Court result unavailable": 0.08, "Awaiting court outcome": 0.08, "Local resolution": 0.07,
    "Under investigation": 0.07, "Offender given a caution": 0.04, "Status update unavailable": 0.04,
    "Further investigation is not in the public interest": 0.03, "Offender fined": 0.02,
    "Offender sent to prison": 0.02,
}
OUTCOMES_BY_TYPE = {
    "Bicycle theft": _OUTCOMES_THEFT, "Burglary": _OUTCOMES_THEFT,
    "Criminal damage and arson": _OUTCOMES_THEFT, "Drugs": _OUTCOMES_DRUGS,
    "Other crime": _OUTCOMES_ORDER, "Other theft": _OUTCOMES_THEFT,
    "Possession of weapons": _OUTCOMES_ORDER, "Public order": _OUTCOMES_ORDER,
    "Robbery": _OUTCOMES_THEFT, "Shoplifting": _OUTCOMES_SHOPLIFTING,
    "Theft from the person": _OUTCOMES_THEFT, "Vehicle crime": _OUTCOMES_THEFT,
    "Violence and sexual offences": _OUTCOMES_VIOLENCE,
}
#: deprivation ratio (decile 1 / decile 10) by crime type
CRIME_DEPRIVATION_RATIO = {"Anti-social behaviour": 3.0, "Bicycle theft": 1.5, "Burglary": 2.5,
                           "Criminal damage and arson": 3.0, "Drugs": 3.5, "Other crime": 2.5,
                           "Other theft": 2.0, "Possession of weapons": 3.5, "Public order": 3.0,
                           "Robbery": 3.5, "Shoplifting": 2.0, "Theft from the person": 2.5,
                           "Vehicle crime": 2.0, "Violence and sexual offences": 3.0}
_STREET_SUFFIXES = ("Road", "Street", "Lane", "Close", "Avenue", "Way", "Drive", "Crescent",
                    "Gardens", "Place", "Grove", "Terrace", "Walk", "Court", "Hill", "Row")
_SPECIAL_PLACES = ("Parking Area", "Supermarket", "Petrol Station", "Shopping Area",
                   "Sports/recreation Area", "Further/higher Educational Building",
                   "Nightclub", "Pedestrian Subway", "Hospital", "Police Station", "Park/open Space")
CRIME_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                 "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                 "Context"]


def _snap_points(rng, cells, population):
    """police.uk-like anonymous map points: a handful per small area, each with a street."""
    xs, ys, area, names = [], [], [], []
    for i, cell in enumerate(cells):
        k = int(6 + population[i] // 300)
        minx, miny, maxx, maxy = cell.bounds
        got = np.empty((0, 2))
        while len(got) < k:
            cand = np.column_stack([rng.uniform(minx, maxx, 4 * k), rng.uniform(miny, maxy, 4 * k)])
            cand = cand[shapely.contains_xy(cell, cand[:, 0], cand[:, 1])]
            got = np.vstack([got, cand])
        got = got[:k]
        streets = place_names(rng, k)
        for j in range(k):
            if rng.random() < 0.15:
                names.append("On or near " + _SPECIAL_PLACES[int(rng.integers(len(_SPECIAL_PLACES)))])
            else:
                suffix = _STREET_SUFFIXES[int(rng.integers(len(_STREET_SUFFIXES)))]
                names.append(f"On or near {streets[j]} {suffix}")
        xs.append(got[:, 0])
        ys.append(got[:, 1])
        area.append(np.full(k, i))
    x, y = np.concatenate(xs), np.concatenate(ys)
    lon, lat = lonlat(x, y)
    return np.concatenate(area), lon, lat, np.array(names)


def crime_months(rng, *, cells, codes, names, population_by_year: dict[int, np.ndarray],
                 decile, area_factor: float, force: str):
    """Yield (month 'YYYY-MM', DataFrame in police.uk columns) for every month of the years."""
    years = sorted(population_by_year)
    pop_ref = population_by_year[years[-1]]
    snap_area, lon, lat, snap_name = _snap_points(rng, cells, pop_ref)
    starts = np.searchsorted(snap_area, np.arange(len(codes)))
    sizes = np.bincount(snap_area, minlength=len(codes))
    # hotspots: each snap point gets a Dirichlet weight within its area
    w = rng.gamma(0.7, 1.0, len(snap_area))
    types = list(src.CRIME_RATES_PER_1000)
    lon_txt = np.char.mod("%.6f", lon)
    lat_txt = np.char.mod("%.6f", lat)
    last_month = f"{years[-1]}-12"
    for year in years:
        pop = population_by_year[year]
        for month in range(1, 13):
            label = f"{year}-{month:02d}"
            season = 1.0 + 0.08 * math.cos(2 * math.pi * (month - 7) / 12.0)
            rows_area, rows_type = [], []
            for t_i, t in enumerate(types):
                mu = (pop / 1000.0 * src.CRIME_RATES_PER_1000[t] / 12.0 * area_factor * season
                      * deprivation_multiplier(decile, CRIME_DEPRIVATION_RATIO[t]))
                c = rng.poisson(mu)
                rows_area.append(np.repeat(np.arange(len(codes)), c))
                rows_type.append(np.full(int(c.sum()), t_i))
            a = np.concatenate(rows_area)
            ti = np.concatenate(rows_type)
            n = len(a)
            # choose a snap point within the area, weighted by its hotspot weight
            u = rng.random(n)
            pick = np.empty(n, dtype=np.int64)
            for i in np.unique(a):
                m = a == i
                ww = w[starts[i] : starts[i] + sizes[i]]
                cum = np.cumsum(ww / ww.sum())
                pick[m] = starts[i] + np.minimum(np.searchsorted(cum, u[m]), sizes[i] - 1)
            ids = np.frombuffer(rng.bytes(32 * n).hex().encode("ascii"), dtype="S64").astype(str)
            is_asb = ti == 0
            ids[is_asb] = ""
            outcome = np.empty(n, dtype=object)
            outcome[is_asb] = ""
            months_to_end = (int(last_month[:4]) - year) * 12 + (12 - month)
            for t_i, t in enumerate(types):
                if t_i == 0:
                    continue
                m = ti == t_i
                if not m.any():
                    continue
                dist = dict(OUTCOMES_BY_TYPE[t])
                if months_to_end < 3:  # recent crimes are mostly still open
                    dist["Under investigation"] = dist.get("Under investigation", 0) + 0.45
                    dist["Awaiting court outcome"] = dist.get("Awaiting court outcome", 0) + 0.05
                labels = list(dist)
                p = np.array(list(dist.values()))
                outcome[m] = np.array(labels, dtype=object)[
                    rng.choice(len(labels), size=int(m.sum()), p=p / p.sum())]
            frame = pd.DataFrame({
                "Crime ID": ids,
                "Month": label,
                "Reported by": force,
                "Falls within": force,
                "Longitude": lon_txt[pick],
                "Latitude": lat_txt[pick],
                "Location": snap_name[pick],
                "LSOA code": np.asarray(codes)[a],
                "LSOA name": np.asarray(names)[a],
                "Crime type": np.asarray(types, dtype=object)[ti],
                "Last outcome category": outcome,
                "Context": "",
            })
            frame = frame.sort_values(["LSOA code", "Crime type", "Crime ID"], kind="stable")
            yield label, frame[CRIME_COLUMNS]


# --------------------------------------------------------------------------------------------
# Comparators (Fingertips CSV export layout)
# --------------------------------------------------------------------------------------------
FINGERTIPS_COLUMNS = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend", "Compared to England value or percentiles",
    "Compared to percentiles", "Time period Sortable", "New data", "Compared to goal",
    "Time period range",
]

#: (id, name, sex, age, period, sortable, range, kind, England value, England denominator,
#:  source key). kind: "dsr" (per 100,000) or "pct". IDs >= 9,000,000 are placeholders: no
#: verified Fingertips ID was found (see data/README.md (synthetic areas)).
COMPARATOR_INDICATORS = (
    (92432, "Deaths from drug misuse", "Persons", "All ages", "2021 - 23", 20210000, "3y",
     "dsr", src.DRUG_MISUSE_DEATHS_PER_100K, 3 * 56_800_000, "S15"),
    (91380, "Alcohol-specific mortality", "Persons", "All ages", "2023", 20230000, "1y",
     "dsr", src.ALCOHOL_SPECIFIC_DEATHS_PER_100K, 57_690_000, "S16"),
    (92906, "Admission episodes for alcohol-specific conditions", "Persons", "All ages",
     "2023/24", 20230000, "1y", "dsr", src.ALCOHOL_SPECIFIC_ADMISSIONS_PER_100K, 57_690_000,
     "S17"),
    (90244, "Successful completion of drug treatment: opiate users", "Persons", "18+ yrs",
     "2023", 20230000, "1y", "pct", src.ENGLAND_COMPARATORS["opiate_completion_pct"], 124_000,
     "S22"),
    (90245, "Successful completion of drug treatment: non-opiate users", "Persons", "18+ yrs",
     "2023", 20230000, "1y", "pct", src.ENGLAND_COMPARATORS["non_opiate_completion_pct"], 42_000,
     "S22"),
    (90246, "Successful completion of alcohol treatment", "Persons", "18+ yrs", "2023",
     20230000, "1y", "pct", src.ENGLAND_COMPARATORS["alcohol_completion_pct"], 90_000, "S22"),
    (9000001, "Adults with substance misuse treatment need who successfully engage in "
     "community-based structured treatment following release from prison", "Persons",
     "18+ yrs", "2022/23", 20220000, "1y", "pct",
     src.ENGLAND_COMPARATORS["prison_continuity_pct"], 33_000, "S23"),
    (9000002, "Unmet need for treatment: opiate and/or crack cocaine users", "Persons",
     "15-64 yrs", "2023/24", 20230000, "1y", "pct",
     src.ENGLAND_COMPARATORS["ocu_unmet_need_pct"], 341_032, "S24"),
    (9000003, "Unmet need for treatment: alcohol dependent adults", "Persons", "18+ yrs",
     "2023/24", 20230000, "1y", "pct", src.ENGLAND_COMPARATORS["alcohol_unmet_need_pct"],
     595_131, "S24"),
    (9000004, "Unmet need for treatment: non-opiate drug users (illustrative)", "Persons",
     "18+ yrs", "2023/24", 20230000, "1y", "pct",
     src.ENGLAND_COMPARATORS["non_opiate_unmet_need_pct"], 200_000, "S24"),
)


def _ci_dsr(value, denominator, z):
    count = value * denominator / 1e5
    lo = (count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3) / denominator * 1e5
    hi = ((count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
          / denominator * 1e5)
    return lo, hi, count


def _ci_pct(value, denominator, z):
    p = value / 100.0
    n = denominator
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half), p * n


def comparators(rng, *, regions: list[tuple[str, str, float]], area_note: str) -> pd.DataFrame:
    """England plus synthetic region rows for each indicator.

    ``regions`` = [(code, name, population share of England)].
    """
    rows = []
    for (iid, name, sex, age, period, sortable, rng_label, kind, eng_value, eng_den,
         key) in COMPARATOR_INDICATORS:
        areas = [("E92000001", "England", "England", "", "", eng_value, eng_den)]
        for code, rname, share in regions:
            value = eng_value * float(np.exp(rng.normal(0.0, 0.08)))
            if kind == "pct":
                value = min(value, 95.0)
            areas.append((code, rname, "Region", "E92000001", "England", value,
                          max(int(eng_den * share), 50)))
        for code, aname, atype, pcode, pname, value, den in areas:
            ci = _ci_dsr if kind == "dsr" else _ci_pct
            lo95, hi95, count = ci(value, den, 1.959964)
            lo998, hi998, _ = ci(value, den, 3.090232)
            if code == "E92000001":
                compared = "Not compared"
            elif hi95 < eng_value:
                compared = "Lower"
            elif lo95 > eng_value:
                compared = "Higher"
            else:
                compared = "Similar"
            rows.append({
                "Indicator ID": iid, "Indicator Name": name, "Parent Code": pcode,
                "Parent Name": pname, "Area Code": code, "Area Name": aname, "Area Type": atype,
                "Sex": sex, "Age": age, "Category Type": "", "Category": "",
                "Time period": period, "Value": f"{value:.1f}",
                "Lower CI 95.0 limit": f"{lo95:.1f}", "Upper CI 95.0 limit": f"{hi95:.1f}",
                "Lower CI 99.8 limit": f"{lo998:.1f}", "Upper CI 99.8 limit": f"{hi998:.1f}",
                "Count": f"{round(count)}", "Denominator": f"{den}",
                "Value note": f"Synthetic area ({area_note}): approximate value, source {key} "
                              "in data/README.md (synthetic areas)",
                "Recent Trend": "Cannot be calculated",
                "Compared to England value or percentiles": compared,
                "Compared to percentiles": "Not compared", "Time period Sortable": sortable,
                "New data": "", "Compared to goal": "Not compared", "Time period range": rng_label,
            })
    return pd.DataFrame(rows, columns=FINGERTIPS_COLUMNS)


# --------------------------------------------------------------------------------------------
def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
