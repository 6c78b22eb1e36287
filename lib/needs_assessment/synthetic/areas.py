"""Built-in deterministic synthetic areas.

:func:`generate_area` writes a complete synthetic area (every dataset of the data contract,
in the layouts analysts actually receive) into a folder; :func:`simulate_area` returns the
same data in memory together with the hidden truth (the people in need, including those
never seen by any service) so tests can check what the analysis finds against it.

Three variants:

``county``
    "Anyshire" (X10000001), a two-tier county of six districts - Northmoor, Eastwick,
    Southbridge, Westfield, Midvale, Riverton - with 384 small areas, ~100 wards and ~600,000
    residents (similar to Gloucestershire). Southbridge and central Eastwick are urban and
    deprived; Westfield and Midvale rural and affluent.
``unitary``
    "Anytown" (X06000001), a young, ethnically diverse inner-London-like borough of 170 small
    areas in 20 wards and ~310,000 residents; its district is itself. The planted low
    treatment penetration is in the ward "Dockside".
``national``
    33,755 small areas in 300 districts for benchmarks only: population, deaths and
    admissions for 2022-2024, treatment referrals from 2024 (~300,000 episodes; episodes
    referred before 2024 are not in its extract, so its in-treatment counts are understated),
    prison releases and lists; no crime.

The same variant and seed always give byte-identical files (numpy ``default_rng`` streams
derived from the seed, a fixed extract date of 2025-03-31, sorted rows, fixed number
formats, no timestamps); another seed gives different data. No network access is needed.

:data:`PLANTED` holds, per variant, the true generating parameters of the disparities the
analysis is expected to find (and of those it must not find). Every published magnitude the
generator is scaled to is cited in ``data/README.md`` (synthetic areas).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from needs_assessment.synthetic import geo, harms
from needs_assessment.synthetic import people as ppl
from needs_assessment.synthetic import sources as src

__all__ = [
    "EXTRACT_DATE",
    "PLANTED",
    "Planted",
    "SyntheticArea",
    "VARIANTS",
    "generate_area",
    "simulate_area",
]

Variant = Literal["county", "unitary", "national"]
VARIANTS: tuple[str, ...] = ("county", "unitary", "national")
#: The fixed "today" of every synthetic extract.
EXTRACT_DATE = "2025-03-31"


# ============================================================================================
# The planted truth
# ============================================================================================
@dataclass(frozen=True)
class Planted:
    """True generating parameters of one synthetic variant.

    Penetration means: the share of the hidden people in need (alive in 2024) who have a
    treatment episode in the extract that is open at some time during 2024. Each person in
    need gets a *propensity* = group base x ``female_multiplier`` (women) x
    ``ethnicity_multiplier`` (the under-represented group) and is in treatment in a year
    with about that probability; nothing else (religion, sexual orientation, disability,
    gender identity, marital status, pregnancy, age) changes it.
    """

    variant: str
    area_name: str
    reporting_geography: Literal["district", "ward"]

    # 1. high unmet need for OCU treatment in one district (county) / ward (unitary)
    low_penetration_area: str | None
    low_penetration_area_code: str | None
    #: expected share of OCU in treatment in 2024, all OCU in the low area / elsewhere
    ocu_penetration_low_area: float
    ocu_penetration_elsewhere: float
    #: propensity of a man not in the under-represented group, low area / elsewhere
    ocu_base_low_area: float
    ocu_base_elsewhere: float
    alcohol_base: float
    non_opiate_base: float
    young_people_base: float

    # 2. women in need enter treatment less often than men
    female_multiplier: float
    # 3. one ethnic group (need proportional to population) is under-represented
    under_represented_ethnicity: str
    ethnicity_multiplier: float
    # 4. weak continuity of care after prison: P(triage within 21 days of release)
    prison_continuity: float
    england_prison_continuity: float
    # 5. early drop-out (discharged 'dropped_out' within early_dropout_days of triage)
    early_dropout_age_min: int
    early_dropout_age_max: int
    early_dropout_young: float
    early_dropout_other: float
    early_dropout_days: int
    # 6. deprivation gradient: decile 1 / decile 10 for OCU prevalence, deaths, admissions
    deprivation_ratio: float

    #: capture-recapture lists for 2024: list -> parameters (see synthetic.people.linkable_lists)
    lists: Mapping[str, Mapping[str, float]]
    #: characteristics with NO effect on treatment given need (must stay null) and other nulls
    nulls: tuple[str, ...]
    notes: str = ""


_LISTS = MappingProxyType({
    "probation": MappingProxyType({
        "capture": 0.14, "female_multiplier": 1.0, "heterogeneity_sd": 0.5,
        "extra_events": 1.0, "area_missing": 0.05, "non_ocu_per_ocu": 1.5,
        "non_ocu_known_share": 0.4, "new_male_share": 0.88, "new_age_mean": 33.0}),
    "police_custody": MappingProxyType({
        "capture": 0.11, "female_multiplier": 1.0, "heterogeneity_sd": 0.5,
        "extra_events": 0.4, "area_missing": 0.15, "non_ocu_per_ocu": 1.0,
        "non_ocu_known_share": 0.3, "new_male_share": 0.85, "new_age_mean": 30.0}),
    "hospital": MappingProxyType({
        "capture": 0.09, "female_multiplier": 1.0, "heterogeneity_sd": 0.5,
        "extra_events": 0.5, "area_missing": 0.03, "non_ocu_per_ocu": 2.0,
        "non_ocu_known_share": 0.5, "new_male_share": 0.60, "new_age_mean": 45.0}),
})

_NULLS = (
    "religion: no effect on treatment given need",
    "sexual_orientation: no effect on treatment given need",
    "disability: no effect on treatment given need",
    "gender_identity_same_as_sex: no effect on treatment given need",
    "marital_status: no effect on treatment given need",
    "pregnant: no effect on treatment given need",
    "successful completion: no difference between districts/wards within a substance group",
    "waiting times (referral to triage): no difference between men and women",
)

_NOTES = (
    "Religion, sexual orientation, disability and gender identity are drawn independently "
    "of area, ethnicity and group (from area-wide Census shares) so that their nulls are "
    "exact; in reality religion is strongly associated with ethnicity. Marital status "
    "depends on age only. Each OCU person is on each 2024 list independently of treatment "
    "and of the other lists (individual, list-specific heterogeneity only), so independence "
    "multiple-systems estimation recovers the hidden total; OCU prevalence, deaths and "
    "admissions have a geometric deprivation gradient."
)
_NOTES_NATIONAL = _NOTES + (
    " National variant: for benchmarks only; its treatment extract holds referrals from "
    "2024-01-01, so in-treatment counts and penetration in 2024 are understated."
)

PLANTED: Mapping[str, Planted] = MappingProxyType({
    "county": Planted(
        variant="county", area_name="Anyshire", reporting_geography="district",
        low_penetration_area="Southbridge", low_penetration_area_code="X07000003",
        ocu_penetration_low_area=0.30, ocu_penetration_elsewhere=0.55,
        ocu_base_low_area=0.30, ocu_base_elsewhere=0.635,
        alcohol_base=0.235, non_opiate_base=0.30, young_people_base=0.40,
        female_multiplier=0.6, under_represented_ethnicity="asian", ethnicity_multiplier=0.5,
        prison_continuity=0.22, england_prison_continuity=0.407,
        early_dropout_age_min=18, early_dropout_age_max=24, early_dropout_young=0.30,
        early_dropout_other=0.12, early_dropout_days=84, deprivation_ratio=3.0,
        lists=_LISTS, nulls=_NULLS, notes=_NOTES),
    "unitary": Planted(
        variant="unitary", area_name="Anytown", reporting_geography="ward",
        low_penetration_area="Dockside", low_penetration_area_code="X05100020",
        ocu_penetration_low_area=0.30, ocu_penetration_elsewhere=0.55,
        ocu_base_low_area=0.39, ocu_base_elsewhere=0.80,
        alcohol_base=0.25, non_opiate_base=0.32, young_people_base=0.42,
        female_multiplier=0.6, under_represented_ethnicity="asian", ethnicity_multiplier=0.5,
        prison_continuity=0.22, england_prison_continuity=0.407,
        early_dropout_age_min=18, early_dropout_age_max=24, early_dropout_young=0.30,
        early_dropout_other=0.12, early_dropout_days=84, deprivation_ratio=3.0,
        lists=_LISTS, nulls=_NULLS, notes=_NOTES),
    "national": Planted(
        variant="national", area_name="Synthetic England", reporting_geography="district",
        low_penetration_area=None, low_penetration_area_code=None,
        ocu_penetration_low_area=0.55, ocu_penetration_elsewhere=0.55,
        ocu_base_low_area=0.64, ocu_base_elsewhere=0.64,
        alcohol_base=0.24, non_opiate_base=0.30, young_people_base=0.40,
        female_multiplier=0.6, under_represented_ethnicity="asian", ethnicity_multiplier=0.5,
        prison_continuity=0.407, england_prison_continuity=0.407,
        early_dropout_age_min=18, early_dropout_age_max=24, early_dropout_young=0.30,
        early_dropout_other=0.12, early_dropout_days=84, deprivation_ratio=3.0,
        lists=_LISTS, nulls=_NULLS, notes=_NOTES_NATIONAL),
})


# ============================================================================================
# Variant specifications
# ============================================================================================
@dataclass(frozen=True)
class _Spec:
    variant: str
    area_name: str
    area_code: str
    structure: str
    region_code: str
    region_name: str
    centre: tuple[float, float]
    radii: tuple[float, float]
    districts: tuple[geo.DistrictSpec, ...]
    district_codes: tuple[str, ...]
    upper_tier_is_district: bool
    ward_divisor: float
    fixed_wards: int | None
    min_ward_size: int
    min_dist: float
    noise_sd: float
    population_2022: float
    growth: float
    years: tuple[int, ...]
    window_start: str
    base_age: np.ndarray = field(repr=False)
    nonwhite: tuple[float, float, float]  # base, x urbanity, x deprivation
    nonwhite_mix: Mapping[str, float]
    characteristics: str  # 'england' or 'inner_london'
    crime_factor: float | None
    force: str
    force_slug: str
    n_services: int
    sa_prefix: str
    ward_prefix: str


_COUNTY_DISTRICTS = (
    geo.DistrictSpec("Northmoor", 64, (0.0, 0.62), 0.25, 0.7, 0.45, 3.0),
    geo.DistrictSpec("Eastwick", 66, (0.62, 0.12), 0.0, 1.6, 0.55, 3.0),
    geo.DistrictSpec("Southbridge", 70, (0.12, -0.6), -0.75, 1.0, 0.65, 3.5),
    geo.DistrictSpec("Westfield", 61, (-0.62, -0.1), 1.0, 0.3, 0.30, 2.5),
    geo.DistrictSpec("Midvale", 60, (0.0, 0.0), 1.1, 0.3, 0.30, 2.5),
    geo.DistrictSpec("Riverton", 63, (-0.45, 0.58), 0.35, 0.7, 0.45, 3.0),
)


def _spec(variant: str, rng: np.random.Generator | None = None) -> _Spec:
    if variant == "county":
        return _Spec(
            variant="county", area_name="Anyshire", area_code="X10000001",
            structure="two_tier", region_code="X12000001", region_name="Synthetic South West",
            centre=(385000.0, 215000.0), radii=(33000.0, 25600.0),
            districts=_COUNTY_DISTRICTS,
            district_codes=tuple(f"X0700000{i + 1}" for i in range(6)),
            upper_tier_is_district=False, ward_divisor=2.6, fixed_wards=None, min_ward_size=3,
            min_dist=300.0, noise_sd=0.5, population_2022=600_000, growth=0.006,
            years=tuple(range(2013, 2025)), window_start="2019-01-01",
            base_age=src.AGE_ENGLAND_2021, nonwhite=(0.03, 0.22, 0.08),
            nonwhite_mix=src.NON_WHITE_MIX_ENGLAND, characteristics="england",
            crime_factor=0.85, force="Anyshire Constabulary", force_slug="anyshire",
            n_services=8, sa_prefix="X01000", ward_prefix="X05000")
    if variant == "unitary":
        return _Spec(
            variant="unitary", area_name="Anytown", area_code="X06000001",
            structure="unitary", region_code="X12000002", region_name="Synthetic London",
            centre=(536000.0, 181500.0), radii=(3000.0, 2100.0),
            districts=(geo.DistrictSpec("Anytown", 170, (0.1, 0.05), -0.65, 0.5, 0.30, 1.5),),
            district_codes=("X06000001",), upper_tier_is_district=True, ward_divisor=8.5,
            fixed_wards=20, min_ward_size=1, min_dist=60.0, noise_sd=0.5,
            population_2022=310_000, growth=0.012, years=tuple(range(2013, 2025)),
            window_start="2019-01-01", base_age=src.AGE_INNER_LONDON_2021,
            nonwhite=(0.42, 0.25, 0.10), nonwhite_mix=src.NON_WHITE_MIX_INNER_LONDON,
            characteristics="inner_london", crime_factor=1.4, force="Anytown Police Service",
            force_slug="anytown", n_services=3, sa_prefix="X01100", ward_prefix="X05100")
    if variant == "national":
        assert rng is not None
        n_d = 300
        weights = rng.lognormal(0.0, 0.55, n_d)
        counts = 30 + rng.multinomial(src.ENGLAND_SMALL_AREAS - 30 * n_d, weights / weights.sum())
        names = geo.place_names(rng, n_d)
        districts = []
        for i in range(n_d):
            urban = rng.random() < 0.4
            districts.append(geo.DistrictSpec(
                names[i], int(counts[i]), (0.0, 0.0), float(rng.normal(0.0, 0.6)),
                float(rng.uniform(0.8, 1.6) if urban else rng.uniform(0.2, 0.6)),
                0.6 if urban else 0.35, float(rng.uniform(2.0, 4.0)) if urban else 3.0))
        return _Spec(
            variant="national", area_name="Synthetic England", area_code="X92000001",
            structure="unitary", region_code="", region_name="",
            centre=(420000.0, 330000.0), radii=(165000.0, 250000.0), districts=tuple(districts),
            district_codes=tuple(f"X06{100001 + i}" for i in range(n_d)),
            upper_tier_is_district=True, ward_divisor=4.5, fixed_wards=None, min_ward_size=3,
            min_dist=0.0, noise_sd=0.8, population_2022=src.ENGLAND_POPULATION_2022,
            growth=0.006, years=(2022, 2023, 2024), window_start="2024-01-01",
            base_age=src.AGE_ENGLAND_2021, nonwhite=(0.07, 0.30, 0.06),
            nonwhite_mix=src.NON_WHITE_MIX_ENGLAND, characteristics="england",
            crime_factor=None, force="", force_slug="", n_services=300, sa_prefix="X01200",
            ward_prefix="X05200")
    raise ValueError(f"unknown synthetic variant {variant!r}: expected one of {VARIANTS}")


_NATIONAL_REGIONS = ("Synthetic South West", "Synthetic London", "Synthetic North East",
                     "Synthetic North West", "Synthetic Yorkshire", "Synthetic East Midlands",
                     "Synthetic West Midlands", "Synthetic East", "Synthetic South East")


def _rng(seed: int, name: str) -> np.random.Generator:
    """An independent, named random stream derived from the seed."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("ascii"))])


def _char_shares(kind: str) -> dict[str, tuple[float, ...]]:
    if kind == "inner_london":
        return {"religion": src.RELIGION_INNER_LONDON,
                "sexual_orientation": src.SEXUAL_ORIENTATION_INNER_LONDON,
                "gender_identity": src.GENDER_IDENTITY_INNER_LONDON,
                "disability": src.DISABILITY_INNER_LONDON}
    return {"religion": src.RELIGION_ENGLAND,
            "sexual_orientation": src.SEXUAL_ORIENTATION_ENGLAND,
            "gender_identity": src.GENDER_IDENTITY_ENGLAND,
            "disability": src.DISABILITY_ENGLAND}


def _dates(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    text = np.datetime_as_string(np.where(days < 0, 0, days).astype("datetime64[D]"))
    return np.where(days < 0, "", text)


def _cat(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(categories))


# ============================================================================================
# The in-memory result
# ============================================================================================
@dataclass
class SyntheticArea:
    """A generated area: ``files`` maps each relative file path to its content (DataFrame,
    or str for text files); the rest is the hidden truth behind the files."""

    variant: str
    seed: int
    planted: Planted
    files: dict[str, Any]
    geography: pd.DataFrame
    people: pd.DataFrame  # the hidden population in need, one row per person
    episodes: pd.DataFrame  # treatment episodes with the hidden person index
    truth: dict[str, Any]


# ============================================================================================
# Building
# ============================================================================================
def _build(variant: str, seed: int, emit: Callable[[str, Any], None], *,
           keep_truth: bool) -> dict[str, Any]:
    planted = PLANTED.get(variant)
    if planted is None:
        raise ValueError(f"unknown synthetic variant {variant!r}: expected one of {VARIANTS}")
    spec = _spec(variant, _rng(seed, "districts"))

    # ---------------------------------------------------------------- geography
    rng = _rng(seed, "geography")
    n_dist = len(spec.districts)
    if spec.fixed_wards is not None:
        wards_per = [spec.fixed_wards]
    else:
        wards_per = [max(1, round(d.n_small_areas / spec.ward_divisor)) for d in spec.districts]
    g = geo.build(rng, centre=spec.centre, radii=spec.radii, districts=list(spec.districts),
                  random_district_seeds=variant == "national", wards_per_district=wards_per,
                  min_ward_size=spec.min_ward_size, min_dist=spec.min_dist,
                  noise_sd=spec.noise_sd)
    n = len(g.cells)
    # order small areas: district, ward, north to south, west to east
    order = np.lexsort((g.points[:, 0], -g.points[:, 1], g.ward, g.district))
    cells, points = g.cells[order], g.points[order]
    district, ward = g.district[order], g.ward[order]
    urbanity, latent = g.urbanity[order], g.latent[order]
    ward_names = []
    name_rng = _rng(seed, "names")
    n_wards = int(ward.max()) + 1
    for d_i in range(n_dist):
        k = int((g.ward_district == d_i).sum())
        ward_names.extend(geo.place_names(name_rng, k, exclude={"Dockside"}))
    low_area = np.zeros(n, bool)
    if variant == "unitary":
        # Dockside: the largest ward in the southern (riverside) half, made more deprived;
        # it is numbered last (X05100020), the others keep their north-to-south order
        ward_y = np.array([points[ward == w, 1].mean() for w in range(n_wards)])
        sizes = np.bincount(ward, minlength=n_wards)
        south = np.flatnonzero(ward_y <= np.median(ward_y))
        dock = int(south[np.argmax(sizes[south])])
        new_order = [w for w in range(n_wards) if w != dock] + [dock]
        perm = np.empty(n_wards, dtype=int)
        perm[new_order] = np.arange(n_wards)
        ward = perm[ward]
        ward_names = [ward_names[w] for w in new_order]
        ward_names[n_wards - 1] = "Dockside"
        order2 = np.lexsort((points[:, 0], -points[:, 1], ward))
        cells, points, district, ward = cells[order2], points[order2], district[order2], ward[order2]
        urbanity, latent = urbanity[order2], latent[order2]
        low_area = ward == n_wards - 1
        latent = latent - 0.7 * low_area
    elif variant == "county":
        low_area = district == 2  # Southbridge
    pct = geo.percentile_from_latent(latent, national=variant == "national")
    imd_score, imd_rank, imd_decile = geo.imd_from_percentile(pct)

    sa_codes = [f"X01{int(spec.sa_prefix[3:]) * 1000 + i + 1:06d}" for i in range(n)]
    ward_codes = [f"X05{int(spec.ward_prefix[3:]) * 1000 + w + 1:06d}" for w in range(n_wards)]
    ward_of_district = np.zeros(n_wards, int)
    for w in range(n_wards):
        ward_of_district[w] = district[ward == w][0]
    # small-area names, ONS style: "<district> 004B" (MSOA-like number = ward within district)
    sa_names = []
    ward_rank = np.zeros(n_wards, int)
    for d_i in range(n_dist):
        ws = np.flatnonzero(ward_of_district == d_i)
        ward_rank[ws] = np.arange(1, len(ws) + 1)
    letter_count: dict[int, int] = {}
    for i in range(n):
        w = int(ward[i])
        k = letter_count.get(w, 0)
        letter_count[w] = k + 1
        letters = chr(65 + k) if k < 26 else chr(64 + k // 26) + chr(65 + k % 26)
        sa_names.append(f"{spec.districts[district[i]].name} {ward_rank[w]:03d}{letters}")
    dist_codes = np.array(spec.district_codes)
    dist_names = np.array([d.name for d in spec.districts])
    if variant == "national":
        # nine regions: districts grouped by angle around the centre, regions X12000001..9
        dc = np.array([points[district == d].mean(axis=0) for d in range(n_dist)])
        ang = np.arctan2(dc[:, 1] - spec.centre[1], dc[:, 0] - spec.centre[0])
        region_of_d = np.minimum(((ang + np.pi) / (2 * np.pi) * 9).astype(int), 8)
        region_code = np.array([f"X1200000{r + 1}" for r in region_of_d])[district]
        region_name = np.array(_NATIONAL_REGIONS)[region_of_d][district]
        upper_code, upper_name = dist_codes[district], dist_names[district]
    else:
        region_code = np.full(n, spec.region_code)
        region_name = np.full(n, spec.region_name)
        upper_code = np.full(n, spec.area_code)
        upper_name = np.full(n, spec.area_name)
    geography = pd.DataFrame({
        "small_area_code": sa_codes,
        "small_area_name": sa_names,
        "ward_code": np.array(ward_codes)[ward],
        "ward_name": np.array(ward_names)[ward],
        "district_code": dist_codes[district],
        "district_name": dist_names[district],
        "upper_tier_code": upper_code,
        "upper_tier_name": upper_name,
        "region_code": region_code,
        "region_name": region_name,
        "imd_score": np.char.mod("%.3f", imd_score),
        "imd_rank": imd_rank,
        "imd_decile": imd_decile,
    })
    emit("geography.csv", geography)
    emit("boundaries.geojson", (sa_codes, cells))

    # ---------------------------------------------------------------- population
    rng = _rng(seed, "population")
    shares = ppl.age_sex_shares(spec.base_age, urbanity, latent)
    size = rng.lognormal(0.0, 0.13, n)
    size *= spec.population_2022 / size.sum()
    growth = spec.growth + rng.normal(0.0, 0.004, n)
    pop_by_year: dict[int, np.ndarray] = {}
    for y in spec.years:
        totals = np.round(size * (1.0 + growth) ** (y - 2022)).astype(np.int64)
        pop_by_year[y] = ppl.residents(rng, shares, totals)
    pop_cols = [f"F{a}" for a in range(91)] + [f"M{a}" for a in range(91)]
    pop_frames = []
    for y in spec.years:
        mat = pop_by_year[y]
        frame = pd.DataFrame(mat, columns=pop_cols)
        frame.insert(0, "Total", mat.sum(axis=1))
        frame.insert(0, "LSOA 2021 Name", sa_names)
        frame.insert(0, "LSOA 2021 Code", sa_codes)
        frame.insert(0, "LAD 2021 Name", dist_names[district])
        frame.insert(0, "LAD 2021 Code", dist_codes[district])
        frame.insert(0, "Year", y)
        pop_frames.append(frame)
    emit("population.csv", pd.concat(pop_frames, ignore_index=True))
    del pop_frames

    # ethnicity by small area: more diverse in town centres and deprived areas
    base_nw, urb_nw, dep_nw = spec.nonwhite
    nonwhite = np.clip(base_nw + urb_nw * urbanity + dep_nw * np.clip(-latent, 0, 3)
                       + rng.normal(0, 0.03, n), 0.01, 0.92)
    mix = np.array([spec.nonwhite_mix[e] for e in ("asian", "black", "mixed")] +
                   [0.0, spec.nonwhite_mix["other"]])
    eth_share = nonwhite[:, None] * mix[None, :]
    eth_share[:, 3] = 1.0 - nonwhite
    eth_cum = np.cumsum(eth_share, axis=1)
    eth_cum[:, -1] = 1.0 + 1e-9
    char = _char_shares(spec.characteristics)

    # characteristics denominators (reporting geography + whole area)
    char_year = 2021 if 2021 in pop_by_year else spec.years[0]
    emit("characteristics.csv", _characteristics(
        pop_by_year[char_year], eth_share, char,
        unit_codes=(np.array(ward_codes)[ward] if variant == "unitary" else dist_codes[district]),
        area_code=spec.area_code if variant != "national" else None))

    # ---------------------------------------------------------------- people in need
    last_year = spec.years[-1]
    rng = _rng(seed, "people")
    people = ppl.hidden_population(rng, pop_by_area_age_sex=pop_by_year[last_year],
                                   decile=imd_decile, eth_cum=eth_cum, char=char,
                                   planted=planted, low_area=low_area)
    window_start = ppl.day(spec.window_start)
    ep = ppl.treatment_histories(_rng(seed, "treatment"), people, planted,
                                 window_start=window_start)
    england_ocu = src.OCU_PER_1000_15_64 / 1000 * 36_500_000
    n_ocu = int((people.group == 0).sum())
    per_year = src.PRISON_RELEASES_WITH_NEED_ENGLAND * n_ocu / england_ocu
    releases, ep = ppl.prison_releases(_rng(seed, "prison"), people, ep, planted,
                                       window_start=window_start, per_year=per_year)
    ep = ppl.close_at_extract(ep)
    episodes = _episodes_frame(_rng(seed, "episode-fields"), people, ep, sa_codes)
    emit("treatment_episodes.csv", episodes.drop(columns=["_person"]))
    rel_sub = np.array(ppl.SUBSTANCE_GROUPS)[people.substance[releases["person"]]]
    rel_area = np.where(releases["nfa"], "", np.array(sa_codes)[people.area[releases["person"]]])
    prison = pd.DataFrame({
        "client_id": people.client_id[releases["person"]],
        "release_date": _dates(releases["release_day"]),
        "substance_group": rel_sub,
        "small_area_code": rel_area,
    }).sort_values(["release_date", "client_id"], kind="stable")
    emit("prison_releases.csv", prison)

    lists = ppl.linkable_lists(_rng(seed, "lists"), people, planted,
                               area_weights=pop_by_year[last_year].sum(axis=1).astype(float),
                               eth_cum=eth_cum)
    eth_codes = list(src.ETHNICITY) + ["not_stated"]
    for name, rec in lists.items():
        frame = pd.DataFrame({
            "client_id": rec["client_id"],
            "event_date": _dates(rec["event_day"]),
            "age": rec["age"].astype(int),
            "sex": _cat(rec["sex"], ("male", "female")),
            "small_area_code": np.where(rec["area"] < 0, "",
                                        np.array(sa_codes)[np.maximum(rec["area"], 0)]),
            "opiate_or_crack": np.where(rec["opiate_or_crack"], "True", "False"),
            "ethnicity": _cat(rec["ethnicity"], eth_codes),
        }).sort_values(["event_date", "client_id"], kind="stable")
        emit(f"lists/{name}.csv", frame)

    # ---------------------------------------------------------------- deaths and admissions
    years = np.array(spec.years)
    band_pop = np.stack([harms.band_population(pop_by_year[y]) for y in spec.years])
    rng = _rng(seed, "deaths")
    misuse = harms.event_counts(rng, "drug_misuse", band_pop, years, imd_decile,
                                planted.deprivation_ratio)
    other = harms.event_counts(rng, "drug_poisoning_other", band_pop, years, imd_decile,
                               planted.deprivation_ratio)
    alcohol = harms.event_counts(rng, "alcohol_specific_death", band_pop, years, imd_decile,
                                 planted.deprivation_ratio)
    deaths = pd.concat([
        harms.long_counts(misuse, years, sa_codes, "cause", "drug_misuse"),
        harms.long_counts(misuse + other, years, sa_codes, "cause", "drug_poisoning"),
        harms.long_counts(alcohol, years, sa_codes, "cause", "alcohol_specific"),
    ], ignore_index=True)
    del misuse, other, alcohol
    deaths = deaths.sort_values(["year", "small_area_code", "sex", "age_band", "cause"],
                                kind="stable")
    emit("deaths.csv", deaths)
    truth_deaths = deaths.groupby("cause", observed=True)["count"].sum().to_dict()
    del deaths
    rng = _rng(seed, "admissions")
    adm_parts = []
    for measure, condition in (("drug_poisoning_admission", "drug_poisoning"),
                               ("drug_mental_behavioural_admission", "drug_mental_behavioural"),
                               ("alcohol_specific_admission", "alcohol_specific")):
        counts = harms.event_counts(rng, measure, band_pop, years, imd_decile,
                                    planted.deprivation_ratio)
        adm_parts.append(harms.long_counts(counts, years, sa_codes, "condition", condition))
        del counts
    admissions = pd.concat(adm_parts, ignore_index=True).sort_values(
        ["year", "small_area_code", "sex", "age_band", "condition"], kind="stable")
    del adm_parts, band_pop
    emit("admissions.csv", admissions)
    truth_adm = admissions.groupby("condition", observed=True)["count"].sum().to_dict()
    del admissions

    # ---------------------------------------------------------------- crime
    if spec.crime_factor is not None:
        crime_years = {y: pop_by_year[y].sum(axis=1) for y in (2022, 2023, 2024)}
        for month, frame in harms.crime_months(
                _rng(seed, "crime"), cells=cells, codes=sa_codes, names=sa_names,
                population_by_year=crime_years, decile=imd_decile,
                area_factor=spec.crime_factor, force=spec.force):
            emit(f"crime/{month}/{month}-{spec.force_slug}-street.csv", frame)

    # ---------------------------------------------------------------- services, comparators
    emit("services.csv", _services(_rng(seed, "services"), spec, cells, points, urbanity,
                                   district, low_area))
    if variant == "national":
        shares_r = [(f"X1200000{r + 1}", _NATIONAL_REGIONS[r], 1 / 9) for r in range(9)]
    else:
        shares_r = [(spec.region_code, spec.region_name,
                     (9.0 if variant == "unitary" else 5.7) / 56.5)]
    emit("comparators.csv", harms.comparators(_rng(seed, "comparators"), regions=shares_r,
                                              area_note=f"{spec.area_name}, seed {seed}"))
    emit("README.md", _readme(spec, seed, planted))

    truth: dict[str, Any] = {
        "ocu_alive_2024": int(((people.group == 0) & ((people.death_day < 0) | (
            people.death_day >= ppl.YEAR_2024[0]))).sum()),
        "people_in_need": {g_: int((people.group == i).sum()) for i, g_ in enumerate(ppl.GROUPS)},
        "deaths": truth_deaths,
        "admissions": truth_adm,
        "prison_releases": int(len(releases["person"])),
        "n_small_areas": n,
        "n_wards": n_wards,
    }
    if keep_truth:
        truth["people"] = _people_frame(people, sa_codes)
        truth["episodes"] = episodes
        truth["geography"] = geography
        truth["low_area"] = low_area
    return truth


def _characteristics(pop: np.ndarray, eth_share, char, *, unit_codes, area_code) -> pd.DataFrame:
    """Residents by protected characteristic and category, per reporting unit (+ area)."""
    total = pop.sum(axis=1).astype(float)
    both = pop[:, :91] + pop[:, 91:]
    p16 = both[:, 16:].sum(1).astype(float)
    women_15_44 = pop[:, 15:45].sum(1).astype(float)
    parts: list[tuple[str, str, np.ndarray]] = []
    for j, e in enumerate(src.ETHNICITY):
        parts.append(("ethnicity", e, total * eth_share[:, j]))
    for name, cats, base in (("religion", src.RELIGION, total),
                             ("sexual_orientation", src.SEXUAL_ORIENTATION, p16),
                             ("gender_identity_same_as_sex", src.GENDER_IDENTITY, p16),
                             ("disability", src.DISABILITY, total)):
        key = {"gender_identity_same_as_sex": "gender_identity"}.get(name, name)
        for c, share in zip(cats, char[key], strict=True):
            parts.append((name, c, base * share))
    marital = np.zeros((len(total), len(src.MARITAL_STATUS)))
    for lo, hi, p in src.MARITAL_BY_AGE:
        marital += both[:, lo : hi + 1].sum(1)[:, None] * np.asarray(p)[None, :]
    for j, c in enumerate(src.MARITAL_STATUS):
        parts.append(("marital_status", c, marital[:, j]))
    parts.append(("pregnant", "yes", women_15_44 * src.PREGNANT_SHARE_WOMEN_15_44))
    parts.append(("pregnant", "no", women_15_44 * (1 - src.PREGNANT_SHARE_WOMEN_15_44)))
    units = pd.Index(sorted(set(unit_codes)))
    codes = pd.Categorical(unit_codes, categories=units).codes
    rows = []
    for name, cat, values in parts:
        sums = np.bincount(codes, weights=values, minlength=len(units))
        for u, v in zip(units, sums, strict=True):
            rows.append((u, name, cat, int(round(v))))
        if area_code is not None:
            rows.append((area_code, name, cat, int(round(values.sum()))))
    out = pd.DataFrame(rows, columns=["area_code", "characteristic", "category", "population"])
    return out.sort_values(["area_code", "characteristic"], kind="stable")


def _people_frame(people: ppl.People, sa_codes) -> pd.DataFrame:
    eth = list(src.ETHNICITY) + ["not_stated"]
    return pd.DataFrame({
        "client_id": people.client_id,
        "group": np.array(ppl.GROUPS)[people.group],
        "small_area_code": np.array(sa_codes)[people.area],
        "sex": np.where(people.sex == 0, "male", "female"),
        "age_2024": people.age2024.astype(int),
        "ethnicity": np.array(eth)[people.ethnicity],
        "religion": np.array(src.RELIGION)[people.religion],
        "sexual_orientation": np.array(src.SEXUAL_ORIENTATION)[people.sexual_orientation],
        "gender_identity_same_as_sex": np.array(src.GENDER_IDENTITY)[people.gender_identity],
        "disability": np.array(("yes", "no", "not_stated"))[people.disability],
        "marital_status": np.array(list(src.MARITAL_STATUS) + ["not_stated"])[people.marital],
        "substance_group": np.array(ppl.SUBSTANCE_GROUPS)[people.substance],
        "propensity": people.propensity,
        "death_date": _dates(people.death_day),
    })


_HOUSING = ("no_problem", "housing_problem", "urgent_housing_problem", "not_stated")
_EMPLOYMENT = ("employed", "unemployed", "economically_inactive", "long_term_sick_or_disabled",
               "student", "retired", "not_stated")
_INJECTING = ("never", "previously", "currently", "not_stated")
_PARENTAL = ("living_with_children", "children_not_living_with", "no_children", "not_stated")
#: Illustrative per-episode distributions by category (approximate NDTMS profiles). [S21]
_EPISODE_FIELDS = {
    "opiate": {"housing": (0.70, 0.18, 0.09, 0.03),
               "employment": (0.12, 0.38, 0.15, 0.25, 0.01, 0.02, 0.07),
               "injecting": (0.40, 0.33, 0.22, 0.05),
               "parental": (0.18, 0.32, 0.45, 0.05)},
    "non_opiate": {"housing": (0.78, 0.13, 0.06, 0.03),
                   "employment": (0.35, 0.30, 0.10, 0.10, 0.05, 0.01, 0.09),
                   "injecting": (0.90, 0.05, 0.02, 0.03),
                   "parental": (0.22, 0.26, 0.47, 0.05)},
    "alcohol": {"housing": (0.85, 0.09, 0.04, 0.02),
                "employment": (0.35, 0.20, 0.10, 0.15, 0.01, 0.12, 0.07),
                "injecting": (0.95, 0.02, 0.005, 0.025),
                "parental": (0.25, 0.22, 0.48, 0.05)},
    "young_people": {"housing": (0.93, 0.04, 0.01, 0.02),
                     "employment": (0.08, 0.07, 0.05, 0.0, 0.75, 0.0, 0.05),
                     "injecting": (0.97, 0.005, 0.005, 0.02),
                     "parental": (0.0, 0.0, 0.97, 0.03)},
}


def _episodes_frame(rng, people: ppl.People, ep: ppl.Episodes, sa_codes) -> pd.DataFrame:
    person = ep.person
    k = len(person)
    order = np.lexsort((ep.triage, people.client_id[person], ep.referral))
    person = person[order]
    referral, triage, discharge = ep.referral[order], ep.triage[order], ep.discharge[order]
    reason, source = ep.reason[order], ep.referral_source[order]
    release = ep.prison_release[order]
    age = ppl.age_at_day(people, person, referral)
    sex = people.sex[person]
    female_fertile = (sex == 1) & (age >= 15) & (age <= 44)
    preg_u = rng.random(k)
    pregnant = np.where(female_fertile,
                        np.where(preg_u < src.PREGNANT_SHARE_WOMEN_15_44, 0,
                                 np.where(preg_u < 0.95, 1, 3)), 2)
    cat = ppl._category_of(people)[person]
    fields = {}
    for fname, cats in (("housing", _HOUSING), ("employment", _EMPLOYMENT),
                        ("injecting", _INJECTING), ("parental", _PARENTAL)):
        u = rng.random(k)
        codes = np.empty(k, np.int64)
        for ci, cname in enumerate(ppl.CATEGORIES):
            m = cat == ci
            p = np.asarray(_EPISODE_FIELDS[cname][fname], float)
            cum = np.cumsum(p / p.sum())
            codes[m] = np.minimum(np.searchsorted(cum, u[m], side="right"), len(cats) - 1)
        fields[fname] = _cat(codes, cats)
    nfa = rng.random(k) < 0.04
    area_code = np.where(nfa, "", np.array(sa_codes)[people.area[person]])
    sources = list(src.REFERRAL_SOURCES) + ["prison"]
    eth = list(src.ETHNICITY) + ["not_stated"]
    return pd.DataFrame({
        "episode_id": [f"EP{i + 1:07d}" for i in range(k)],
        "client_id": people.client_id[person],
        "referral_date": _dates(referral),
        "triage_date": _dates(triage),
        "discharge_date": _dates(discharge),
        "discharge_reason": np.where(reason < 0, "",
                                     np.array(ppl.DISCHARGE_REASONS)[np.maximum(reason, 0)]),
        "substance_group": _cat(people.substance[person], ppl.SUBSTANCE_GROUPS),
        "referral_source": _cat(source, sources),
        "age": age,
        "sex": _cat(sex, ("male", "female")),
        "gender_identity_same_as_sex": _cat(people.gender_identity[person], src.GENDER_IDENTITY),
        "ethnicity": _cat(people.ethnicity[person], eth),
        "religion": _cat(people.religion[person], src.RELIGION),
        "sexual_orientation": _cat(people.sexual_orientation[person], src.SEXUAL_ORIENTATION),
        "disability": _cat(people.disability[person], ("yes", "no", "not_stated")),
        "pregnant": _cat(pregnant, ("yes", "no", "not_applicable", "not_stated")),
        "marital_status": _cat(people.marital[person], list(src.MARITAL_STATUS) + ["not_stated"]),
        "small_area_code": area_code,
        "housing_problem": fields["housing"],
        "employment_status": fields["employment"],
        "injecting_status": fields["injecting"],
        "parental_status": fields["parental"],
        "young_person": np.where(people.group[person] == 3, "True", "False"),
        "prison_release_date": _dates(release),
        "_person": person,
    })


def _services(rng, spec: _Spec, cells, points, urbanity, district, low_area) -> pd.DataFrame:
    """Treatment sites at town centres (one hub per district, satellites elsewhere)."""
    import shapely

    n_d = len(spec.districts)
    chosen: list[int] = []
    for d in range(n_d):
        members = np.flatnonzero(district == d)
        chosen.append(int(members[np.argmax(urbanity[members])]))
    extra = spec.n_services - len(chosen)
    pool = np.setdiff1d(np.arange(len(points)), chosen)
    weights = urbanity[pool] + 0.05
    if extra > 0:
        chosen += rng.choice(pool, size=extra, replace=False, p=weights / weights.sum()).tolist()
    chosen = chosen[: spec.n_services]
    rows = []
    day_patterns = ("Mon;Tue;Wed;Thu;Fri", "Mon;Tue;Wed;Thu;Fri;Sat", "Tue;Thu",
                    "Mon;Wed;Fri", "Mon;Tue;Wed;Thu")
    for i, c in enumerate(chosen):
        pt = shapely.point_on_surface(cells[c])
        hub = i < n_d
        place = spec.districts[district[c]].name
        if hub:
            days = day_patterns[1] if spec.variant == "unitary" and i == 0 else day_patterns[0]
            kind = "both" if i % 3 == 0 else "adult"
            name = f"{place} Recovery Hub"
        else:
            days = day_patterns[int(rng.integers(2, len(day_patterns)))]
            kind = ("young_people", "adult", "adult")[int(rng.integers(3))]
            name = f"{place} Outreach Point {i - n_d + 1}"
        rows.append({"site_id": f"S{i + 1:03d}", "site_name": name,
                     "easting": int(round(pt.x)), "northing": int(round(pt.y)),
                     "opening_days": days, "service_type": kind})
    if spec.variant == "unitary":
        rows[0]["site_name"] = "Anytown Recovery Hub"
        rows[1]["site_name"] = "Anytown Young People's Service"
        rows[1]["service_type"] = "young_people"
        rows[2]["site_name"] = "Anytown North Satellite"
    return pd.DataFrame(rows)


def _readme(spec: _Spec, seed: int, planted: Planted) -> str:
    files = [
        "geography.csv", "boundaries.geojson", "population.csv", "characteristics.csv",
        "treatment_episodes.csv", "prison_releases.csv", "deaths.csv", "admissions.csv",
        *(["crime/"] if spec.crime_factor is not None else []), "comparators.csv",
        "services.csv", "lists/probation.csv", "lists/police_custody.csv", "lists/hospital.csv",
    ]
    crime_line = "  crime: crime\n" if spec.crime_factor is not None else ""
    return (
        f"# {spec.area_name} (synthetic)\n\n"
        f"Everything in this folder is **synthetic**: no real person, place or record. It was\n"
        f"generated by `needs_assessment.synthetic.generate_area(\"{spec.variant}\", {seed}, ...)`\n"
        f"(variant `{spec.variant}`, seed {seed}, extract date {EXTRACT_DATE}). The same variant\n"
        "and seed always give byte-identical files. Magnitudes follow published English\n"
        "figures (see the synthetic areas section of `data/README.md` in the project); the disparities planted\n"
        f"in it are listed in `needs_assessment.synthetic.PLANTED[\"{spec.variant}\"]`.\n\n"
        "Files:\n\n" + "".join(f"- `{f}`\n" for f in files) +
        "\n`characteristics.csv` (area_code, characteristic, category, population) gives\n"
        "residents by protected characteristic for each "
        f"{planted.reporting_geography} and for the whole area.\n\n"
        "Params block for this folder:\n\n```yaml\nfiles:\n"
        "  geography: geography.csv\n  boundaries: boundaries.geojson\n"
        "  population: population.csv\n  treatment_episodes: treatment_episodes.csv\n"
        "  prison_releases: prison_releases.csv\n  deaths: deaths.csv\n"
        f"  admissions: admissions.csv\n{crime_line}  comparators: comparators.csv\n"
        "  services: services.csv\n  linkable_lists:\n    probation: lists/probation.csv\n"
        "    police_custody: lists/police_custody.csv\n    hospital: lists/hospital.csv\n```\n"
    )


# ============================================================================================
# Public API
# ============================================================================================
def simulate_area(variant: Variant, seed: int) -> SyntheticArea:
    """Generate a synthetic area in memory, with the hidden truth behind it."""
    files: dict[str, Any] = {}
    truth = _build(variant, seed, files.__setitem__, keep_truth=True)
    return SyntheticArea(
        variant=variant, seed=seed, planted=PLANTED[variant], files=files,
        geography=truth.pop("geography"), people=truth.pop("people"),
        episodes=truth.pop("episodes"), truth=truth,
    )


def _writer(root: Path) -> Callable[[str, Any], None]:
    def emit(rel: str, obj: Any) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".geojson"):
            codes, cells = obj
            geo.write_geojson(path, codes, cells)
        elif isinstance(obj, str):
            path.write_text(obj, encoding="utf-8", newline="\n")
        else:
            harms.write_csv(obj, path)

    return emit


def move_into_place(built: Path, directory: Path) -> None:
    """Replace ``directory`` with the fully written folder ``built`` (same parent) by
    renames, so readers see either the old area or the new one, never a half-written one."""
    if directory.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
        os.replace(directory, old / "area")
        os.replace(built, directory)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(built, directory)


def generate_area(variant: Variant, seed: int, directory: str | os.PathLike, *,
                  overwrite: bool = False) -> Path:
    """Write a complete synthetic area into ``directory`` and return its path.

    The files are written into a temporary sibling folder that is renamed into place at the
    end, so a crash never leaves a half-written area. An existing non-empty ``directory`` is
    refused unless ``overwrite=True``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown synthetic variant {variant!r}: expected one of {VARIANTS}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    directory = Path(directory).expanduser().resolve()
    if directory.exists():
        if not directory.is_dir():
            raise FileExistsError(f"{directory} exists and is not a folder")
        if any(directory.iterdir()) and not overwrite:
            raise FileExistsError(
                f"{directory} already exists and is not empty; pass overwrite=True to replace it"
            )
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.partial-", dir=directory.parent))
    try:
        _build(variant, int(seed), _writer(tmp), keep_truth=False)
        move_into_place(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
