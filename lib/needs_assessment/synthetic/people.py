"""Synthetic people: residents by age and sex, hidden populations in need, treatment
histories, prison releases and the linkable lists used for capture-recapture.

All functions are vectorised over people (the national variant has ~1.2 million people in
need) and take an explicit :class:`numpy.random.Generator`, so the output is a pure function
of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from needs_assessment.synthetic import sources as src

DAY0 = np.datetime64("1970-01-01", "D")


def day(text: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return int((np.datetime64(text, "D") - DAY0).astype(int))


EXTRACT_DAY = day("2025-03-31")
MID_2024 = day("2024-07-01")
YEAR_2024 = (day("2024-01-01"), day("2024-12-31"))

GROUPS = ("ocu", "alcohol", "non_opiate", "young_people")
SUBSTANCE_GROUPS = ("opiate_and_crack", "opiate_only", "crack_only", "non_opiate_only",
                    "non_opiate_and_alcohol", "alcohol_only")
OCU_SUBSTANCE_GROUPS = ("opiate_and_crack", "opiate_only", "crack_only")
#: Treatment "category" of each substance group: how long episodes last and how they end.
CATEGORY_OF_SUBSTANCE = {"opiate_and_crack": "opiate", "opiate_only": "opiate",
                         "crack_only": "non_opiate", "non_opiate_only": "non_opiate",
                         "non_opiate_and_alcohol": "non_opiate", "alcohol_only": "alcohol"}
CATEGORIES = ("opiate", "non_opiate", "alcohol", "young_people")

DISCHARGE_REASONS = ("completed_drug_free", "completed_alcohol_free",
                     "completed_occasional_user", "transferred_not_in_custody",
                     "transferred_in_custody", "dropped_out", "declined",
                     "withdrawn_by_provider", "prison", "died", "moved_away", "other")
SUCCESS_REASONS = ("completed_drug_free", "completed_alcohol_free", "completed_occasional_user")

#: Share of successful completers who re-present within six months (approximate; OHID's
#: adult treatment statistics report that most completers do not return within six months).
REPRESENT_AFTER_SUCCESS = 0.08


@dataclass(frozen=True)
class CategoryParams:
    """How episodes of one treatment category run (see data/README.md (synthetic areas) [S22])."""

    duration_median_days: float
    duration_sigma: float
    success_share: float  # of exits that are not early drop-outs or deaths
    success_split: tuple[float, float, float]  # drug free, alcohol free, occasional user
    death_per_year: float
    #: other exit reasons (not success, early drop-out or death), relative weights
    other_exits: dict[str, float]


_OTHER_EXITS_DRUG = {"dropped_out": 0.45, "transferred_not_in_custody": 0.16,
                     "transferred_in_custody": 0.08, "prison": 0.05,
                     "withdrawn_by_provider": 0.06, "moved_away": 0.07, "declined": 0.04,
                     "other": 0.09}

CATEGORY_PARAMS = {
    "opiate": CategoryParams(480.0, 1.0, 0.15, (0.9, 0.0, 0.1), 0.010, _OTHER_EXITS_DRUG),
    "non_opiate": CategoryParams(150.0, 0.8, 0.48, (0.7, 0.0, 0.3), 0.003, _OTHER_EXITS_DRUG),
    "alcohol": CategoryParams(160.0, 0.8, 0.62, (0.0, 0.75, 0.25), 0.006, _OTHER_EXITS_DRUG),
    "young_people": CategoryParams(130.0, 0.7, 0.75, (0.6, 0.1, 0.3), 0.0005, _OTHER_EXITS_DRUG),
}


# --------------------------------------------------------------------------------------------
# Residents
# --------------------------------------------------------------------------------------------
def age_sex_shares(base_age: np.ndarray, urbanity: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """(n_areas, 182) shares of residents: female ages 0..90 then male ages 0..90.

    Town-centre areas have more young adults and fewer older people; deprived areas more
    children; the rest follows the base (Census 2021) age shape and sex ratio by age.
    """
    ages = np.arange(91)
    young = ((ages >= 18) & (ages <= 34)).astype(float)
    old = (ages >= 65).astype(float)
    child = (ages <= 15).astype(float)
    u = (urbanity - 0.3)[:, None]
    dep = np.clip(-latent, -2, 2)[:, None]
    tilt = np.exp(0.45 * u * young - 0.45 * u * old + 0.08 * dep * child - 0.05 * dep * old)
    base = base_age / base_age.sum()
    female = base * (1.0 - src.MALE_SHARE_BY_AGE)
    male = base * src.MALE_SHARE_BY_AGE
    shares = np.hstack([female[None, :] * tilt, male[None, :] * tilt])
    return shares / shares.sum(axis=1, keepdims=True)


def residents(rng, shares: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Integer residents (n_areas, 182) drawn multinomially around ``shares``."""
    return rng.multinomial(totals.astype(np.int64), shares).astype(np.int32)


# --------------------------------------------------------------------------------------------
# Hidden populations
# --------------------------------------------------------------------------------------------
def deprivation_multiplier(decile: np.ndarray, ratio: float) -> np.ndarray:
    """Relative rate by IMD decile: decile 1 is ``ratio`` times decile 10, geometric in
    between, normalised so that England (10% of areas in each decile) averages 1."""
    steps = (10 - np.arange(1, 11)) / 9.0
    norm = np.mean(ratio**steps)
    return ratio ** ((10 - np.asarray(decile)) / 9.0) / norm


def _truncated_normal_ages(rng, n, mean, sd, lo, hi):
    ages = np.arange(lo, hi + 1)
    w = np.exp(-0.5 * ((ages - mean) / sd) ** 2)
    return rng.choice(ages, size=n, p=w / w.sum())


def _choice_idx(rng, n, p):
    p = np.asarray(p, float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def client_keys(rng, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """``n`` distinct random 64-bit keys not in ``taken`` (a sorted uint64 array)."""
    out = np.frombuffer(rng.bytes(8 * n), dtype="<u8").copy()
    while True:
        _, first = np.unique(out, return_index=True)
        bad = np.ones(n, bool)
        bad[first] = False
        if taken is not None and len(taken):
            bad |= np.isin(out, taken)
        if not bad.any():
            return out
        out[bad] = np.frombuffer(rng.bytes(8 * int(bad.sum())), dtype="<u8")


def hex_ids(keys: np.ndarray) -> np.ndarray:
    """Pseudonymised client ids: 16 lower-case hex digits of each 64-bit key."""
    keys = np.asarray(keys, dtype=np.uint64)
    return np.frombuffer(keys.astype(">u8").tobytes().hex().encode("ascii"),
                         dtype="S16").astype(str)


@dataclass
class People:
    """The hidden population in need (one row per person, arrays aligned)."""

    group: np.ndarray  # index into GROUPS
    area: np.ndarray  # small-area index
    sex: np.ndarray  # 0 male, 1 female
    age2024: np.ndarray  # age on 1 July 2024
    ethnicity: np.ndarray  # index into ETHNICITY, 5 = not stated (recorded)
    religion: np.ndarray
    sexual_orientation: np.ndarray
    gender_identity: np.ndarray
    disability: np.ndarray  # 0 yes, 1 no, 2 not stated
    marital: np.ndarray  # index into MARITAL_STATUS, 5 = not stated
    substance: np.ndarray  # index into SUBSTANCE_GROUPS
    propensity: np.ndarray  # P(in treatment at some time in a year)
    client_id: np.ndarray  # 16-hex pseudonymised id
    client_key: np.ndarray  # the same id as a uint64
    death_day: np.ndarray  # -1 if alive at the extract date

    def __len__(self) -> int:
        return len(self.group)


def hidden_population(
    rng, *, pop_by_area_age_sex: np.ndarray, decile: np.ndarray, eth_cum: np.ndarray,
    char: dict, planted, low_area: np.ndarray,
) -> People:
    """Draw the people in need of treatment, area by area (``pop`` = 2024 residents)."""
    pop = pop_by_area_age_sex.astype(float)  # (n, 182): female 0..90, male 0..90
    both = pop[:, :91] + pop[:, 91:]
    p15_64 = both[:, 15:65].sum(1)
    p18 = both[:, 18:].sum(1)
    p18_64 = both[:, 18:65].sum(1)
    p12_17 = both[:, 12:18].sum(1)
    n_areas = len(decile)
    noise = rng.gamma(6.0, 1 / 6.0, size=(4, n_areas))
    lam = {
        "ocu": p15_64 / 1000 * src.OCU_PER_1000_15_64
        * deprivation_multiplier(decile, planted.deprivation_ratio) * noise[0],
        "alcohol": p18 * src.ALCOHOL_DEPENDENT_SHARE_18PLUS
        * deprivation_multiplier(decile, 2.0) * noise[1],
        "non_opiate": p18_64 / 1000 * src.NON_OPIATE_PER_1000_18_64
        * deprivation_multiplier(decile, 1.5) * noise[2],
        "young_people": p12_17 / 1000 * src.YOUNG_PEOPLE_PER_1000_12_17
        * deprivation_multiplier(decile, 1.5) * noise[3],
    }
    counts = {g: rng.poisson(lam[g]) for g in GROUPS}
    group = np.concatenate([np.full(counts[g].sum(), i, np.int8) for i, g in enumerate(GROUPS)])
    area = np.concatenate([np.repeat(np.arange(n_areas), counts[g]) for g in GROUPS])
    n = len(group)
    sex = np.empty(n, np.int8)
    age = np.empty(n, np.int16)
    substance = np.empty(n, np.int8)
    male_share = {"ocu": src.OCU_MALE_SHARE, "alcohol": src.ALCOHOL_MALE_SHARE,
                  "non_opiate": 0.72, "young_people": 0.62}
    age_law = {"ocu": (42, 9, 18, 64), "alcohol": (46, 12, 18, 85),
               "non_opiate": (32, 9, 18, 64), "young_people": None}
    sub_mix = {"ocu": {"opiate_and_crack": 0.47, "opiate_only": 0.38, "crack_only": 0.15},
               "alcohol": {"alcohol_only": 1.0},
               "non_opiate": {"non_opiate_only": 0.55, "non_opiate_and_alcohol": 0.45},
               "young_people": {"non_opiate_only": 0.72, "non_opiate_and_alcohol": 0.16,
                                "alcohol_only": 0.12}}
    for i, g in enumerate(GROUPS):
        m = group == i
        k = int(m.sum())
        sex[m] = (rng.random(k) >= male_share[g]).astype(np.int8)
        if age_law[g] is None:
            age[m] = rng.choice(np.arange(12, 18), size=k,
                                p=[0.03, 0.07, 0.15, 0.22, 0.27, 0.26])
        else:
            age[m] = _truncated_normal_ages(rng, k, *age_law[g])
        names = list(sub_mix[g])
        idx = _choice_idx(rng, k, list(sub_mix[g].values()))
        substance[m] = np.array([SUBSTANCE_GROUPS.index(s) for s in names], np.int8)[idx]

    # ethnicity follows the person's small area (need is proportional to population);
    # the other characteristics follow area-wide Census shares, independent of area,
    # ethnicity and group, so that the planted nulls are exact (see PLANTED.notes)
    u = rng.random(n)
    ethnicity = (u[:, None] > eth_cum[area]).sum(1).astype(np.int8)
    ethnicity[rng.random(n) < 0.01] = 5  # recorded as not stated
    religion = _choice_idx(rng, n, char["religion"])
    sexual_orientation = _choice_idx(rng, n, char["sexual_orientation"])
    gender_identity = _choice_idx(rng, n, char["gender_identity"])
    disability = _choice_idx(rng, n, (char["disability"][0] * 0.97, char["disability"][1] * 0.97,
                                      0.03))
    marital = np.empty(n, np.int8)
    for lo, hi, p in src.MARITAL_BY_AGE:
        m = (age >= lo) & (age <= hi)
        marital[m] = _choice_idx(rng, int(m.sum()), p)
    marital[age < 16] = 0
    marital[rng.random(n) < 0.03] = 5
    sexual_orientation[age < 16] = 4
    gender_identity[age < 16] = 2

    base = np.empty(n)
    base[group == 0] = np.where(low_area[area[group == 0]], planted.ocu_base_low_area,
                                planted.ocu_base_elsewhere)
    base[group == 1] = planted.alcohol_base
    base[group == 2] = planted.non_opiate_base
    base[group == 3] = planted.young_people_base
    propensity = base * np.where(sex == 1, planted.female_multiplier, 1.0)
    propensity *= np.where(ethnicity == ETH_INDEX[planted.under_represented_ethnicity],
                           planted.ethnicity_multiplier, 1.0)
    keys = client_keys(rng, n)
    return People(group=group, area=area, sex=sex, age2024=age, ethnicity=ethnicity,
                  religion=religion, sexual_orientation=sexual_orientation,
                  gender_identity=gender_identity, disability=disability, marital=marital,
                  substance=substance, propensity=propensity, client_id=hex_ids(keys),
                  client_key=keys,
                  death_day=np.full(n, -1, np.int64))


ETH_INDEX = {e: i for i, e in enumerate(src.ETHNICITY)}


# --------------------------------------------------------------------------------------------
# Treatment histories
# --------------------------------------------------------------------------------------------
@dataclass
class Episodes:
    person: np.ndarray
    referral: np.ndarray  # day numbers
    triage: np.ndarray  # -1 = not triaged
    discharge: np.ndarray  # -1 = open
    reason: np.ndarray  # index into DISCHARGE_REASONS, -1 = open
    referral_source: np.ndarray  # index into REFERRAL_SOURCES (+ 'prison' = len)
    prison_release: np.ndarray  # -1 = none


#: In-treatment calibration: multiplies the mean time out of treatment so that the share of
#: people in need with an episode open at some time in a year matches their propensity.
_OUT_CALIBRATION = {"opiate": 0.88, "non_opiate": 0.93, "alcohol": 0.93, "young_people": 0.95}


def age_at_day(people: People, idx: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Age of people ``idx`` on ``days``. Young people in need are a stationary pool (their
    age is the same whenever they are referred); adults age with time."""
    aged = people.age2024[idx] + np.floor((days - MID_2024) / 365.25).astype(int)
    return np.where(people.group[idx] == 3, people.age2024[idx], aged)


def _category_of(people: People) -> np.ndarray:
    cat_names = np.array([CATEGORIES.index(CATEGORY_OF_SUBSTANCE[s]) for s in SUBSTANCE_GROUPS])
    cat = cat_names[people.substance]
    cat[people.group == 3] = CATEGORIES.index("young_people")
    return cat


def _mean_duration(c: CategoryParams, early_share: float) -> float:
    body = c.duration_median_days * np.exp(c.duration_sigma**2 / 2)
    return (1 - early_share) * body + early_share * 45.0


def treatment_histories(rng, people: People, planted, *, window_start: int) -> Episodes:
    """Alternating out-of-treatment / in-treatment periods for every person in need.

    Time out of treatment is exponential with a mean chosen from the person's propensity, so
    that P(in treatment at some time during a year) ~= propensity; episode lengths are
    log-normal by category; an early drop-out (within 12 weeks) is more likely for ages 18-24
    (planted); deaths in treatment follow a small constant hazard. The process starts four
    years before ``window_start`` so it is stationary by then; only episodes referred from
    ``window_start`` to the extract date are kept.
    """
    n = len(people)
    cat = _category_of(people)
    mean_in = np.empty(n)
    for ci, cname in enumerate(CATEGORIES):
        m = cat == ci
        mean_in[m] = _mean_duration(CATEGORY_PARAMS[cname], planted.early_dropout_other)
    calib = np.array([_OUT_CALIBRATION[c] for c in CATEGORIES])[cat]
    mean_out = np.maximum(calib * (mean_in + 365.0) / people.propensity - mean_in, 60.0)
    start = window_start - 4 * 365
    t = start + rng.exponential(mean_out)
    active = np.ones(n, bool)
    out = {k: [] for k in ("person", "referral", "triage", "discharge", "reason", "source")}
    src_mix = np.array([src.REFERRAL_MIX[g] for g in GROUPS])
    while True:
        idx = np.flatnonzero(active & (t <= EXTRACT_DAY))
        if idx.size == 0:
            break
        k = idx.size
        r = np.floor(t[idx]).astype(np.int64)
        c = cat[idx]
        age_at = age_at_day(people, idx, r)
        never_triaged = rng.random(k) < 0.02
        wait = np.round(rng.lognormal(np.log(5.0), 0.7, k)).astype(np.int64)
        tri = r + wait
        young = (age_at >= planted.early_dropout_age_min) & (age_at <= planted.early_dropout_age_max)
        q_early = np.where(young, planted.early_dropout_young, planted.early_dropout_other)
        q_early[people.group[idx] == 3] = planted.early_dropout_other
        early = (rng.random(k) < q_early) & ~never_triaged
        med = np.array([CATEGORY_PARAMS[x].duration_median_days for x in CATEGORIES])[c]
        sig = np.array([CATEGORY_PARAMS[x].duration_sigma for x in CATEGORIES])[c]
        dur = np.maximum(np.round(rng.lognormal(np.log(med), sig)), 1).astype(np.int64)
        dur[early] = rng.integers(7, planted.early_dropout_days + 1, size=int(early.sum()))
        hazard = np.array([CATEGORY_PARAMS[x].death_per_year for x in CATEGORIES])[c]
        t_death = np.round(rng.exponential(365.0 / hazard)).astype(np.int64)
        died = (t_death < dur) & ~never_triaged
        dur = np.where(died, np.maximum(t_death, 1), dur)
        reason = _exit_reasons(rng, c)
        reason[early & ~died] = DISCHARGE_REASONS.index("dropped_out")
        reason[died] = DISCHARGE_REASONS.index("died")
        end = tri + dur
        reason[never_triaged] = DISCHARGE_REASONS.index("declined")
        end[never_triaged] = r[never_triaged] + rng.integers(3, 31, int(never_triaged.sum()))
        tri[never_triaged] = -1
        u = rng.random(k)
        cum = np.cumsum(src_mix / src_mix.sum(1, keepdims=True), axis=1)[people.group[idx]]
        source = np.minimum((u[:, None] > cum).sum(1), len(src.REFERRAL_SOURCES) - 1)
        adult = people.group[idx] != 3
        keep = (r >= window_start) & np.where(adult, age_at >= 18, age_at < 18)
        out["person"].append(idx[keep])
        out["referral"].append(r[keep])
        out["triage"].append(tri[keep])
        out["discharge"].append(end[keep])
        out["reason"].append(reason[keep])
        out["source"].append(source[keep])
        # the person dies, or spends time out of treatment before the next referral
        dead_now = died & (end <= EXTRACT_DAY)
        people.death_day[idx[dead_now]] = end[dead_now]
        active[idx[dead_now]] = False
        # People who complete treatment successfully seldom come back within six months
        # (most re-presentations follow unplanned exits); the published completion measure
        # counts only completers who do not re-present within six months [S22].
        gap = rng.exponential(mean_out[idx])
        success = np.isin(reason, [DISCHARGE_REASONS.index(x) for x in SUCCESS_REASONS])
        stays_out = success & (rng.random(k) > REPRESENT_AFTER_SUCCESS)
        gap = np.where(stays_out, np.maximum(gap, 183.0 + rng.exponential(90.0, k)), gap)
        t[idx] = end + gap
    ep = Episodes(
        person=np.concatenate(out["person"]),
        referral=np.concatenate(out["referral"]),
        triage=np.concatenate(out["triage"]),
        discharge=np.concatenate(out["discharge"]),
        reason=np.concatenate(out["reason"]).astype(np.int8),
        referral_source=np.concatenate(out["source"]).astype(np.int8),
        prison_release=None,  # type: ignore[arg-type]
    )
    ep.prison_release = np.full(len(ep.person), -1, np.int64)
    return ep


def _exit_reasons(rng, cat: np.ndarray) -> np.ndarray:
    """Exit reason for episodes that are neither early drop-outs nor deaths."""
    k = len(cat)
    reason = np.empty(k, np.int8)
    u = rng.random(k)
    for ci, cname in enumerate(CATEGORIES):
        m = cat == ci
        if not m.any():
            continue
        p = CATEGORY_PARAMS[cname]
        names = [SUCCESS_REASONS[j] for j in range(3)] + list(p.other_exits)
        other = np.array(list(p.other_exits.values()))
        probs = np.concatenate([p.success_share * np.array(p.success_split),
                                (1 - p.success_share) * other / other.sum()])
        cum = np.cumsum(probs / probs.sum())
        pick = np.minimum(np.searchsorted(cum, u[m], side="right"), len(names) - 1)
        reason[m] = np.array([DISCHARGE_REASONS.index(x) for x in names], np.int8)[pick]
    return reason


def close_at_extract(ep: Episodes) -> Episodes:
    """Drop referrals after the extract date; episodes still running at it have no
    discharge (and maybe no triage)."""
    keep = ep.referral <= EXTRACT_DAY
    ep = Episodes(*(getattr(ep, f)[keep] for f in (
        "person", "referral", "triage", "discharge", "reason", "referral_source",
        "prison_release")))
    open_ = ep.discharge > EXTRACT_DAY
    ep.discharge[open_] = -1
    ep.reason[open_] = -1
    not_yet = ep.triage > EXTRACT_DAY
    ep.triage[not_yet] = -1
    return ep


# --------------------------------------------------------------------------------------------
# Prison releases
# --------------------------------------------------------------------------------------------
def prison_releases(rng, people: People, ep: Episodes, planted, *, window_start: int,
                    per_year: float):
    """Releases of people with a treatment need, and the episodes that follow them.

    Returns (releases dict of arrays, updated Episodes). A release is followed by a
    community triage within 21 days with probability ``planted.prison_continuity``; other
    releasees have any triage in that window moved later, so the measured continuity of
    care is the planted one.
    """
    last = EXTRACT_DAY - 21
    years = (last - window_start) / 365.25
    n_rel = int(rng.poisson(per_year * years))
    weight = np.array([4.0, 1.0, 2.0, 0.0])[people.group] * np.where(people.sex == 0, 4.0, 1.0)
    weight = weight * (people.death_day < 0)
    who = rng.choice(len(people), size=n_rel, p=weight / weight.sum())
    when = rng.integers(window_start, last + 1, size=n_rel)
    order = np.lexsort((when, who))
    who, when = who[order], when[order]
    # one person is not released twice within 90 days
    keep = np.ones(n_rel, bool)
    keep[1:] = ~((who[1:] == who[:-1]) & (when[1:] - when[:-1] < 90))
    who, when = who[keep], when[keep]
    order = np.lexsort((who, when))
    who, when = who[order], when[order]
    adult = age_at_day(people, who, when) >= 18
    who, when = who[adult], when[adult]
    n_rel = len(who)
    engaged = rng.random(n_rel) < planted.prison_continuity
    late = ~engaged & (rng.random(n_rel) < 0.25)
    nfa = rng.random(n_rel) < 0.10

    # new episodes: engaged within 21 days, or late (22-120 days)
    new = np.flatnonzero(engaged | late)
    k = len(new)
    rel = when[new]
    gap = np.where(engaged[new], rng.integers(0, 11, k), rng.integers(22, 121, k))
    r = rel + gap
    room = np.maximum(21 - gap, 0)
    wait_eng = np.minimum(np.round(rng.lognormal(np.log(4.0), 0.6, k)).astype(np.int64), room)
    wait_late = np.round(rng.lognormal(np.log(5.0), 0.7, k)).astype(np.int64)
    tri = r + np.where(engaged[new], wait_eng, wait_late)
    cat = _category_of(people)[who[new]]
    med = np.array([CATEGORY_PARAMS[x].duration_median_days for x in CATEGORIES])[cat]
    sig = np.array([CATEGORY_PARAMS[x].duration_sigma for x in CATEGORIES])[cat]
    dur = np.maximum(np.round(rng.lognormal(np.log(med), sig)), 1).astype(np.int64)
    reason = _exit_reasons(rng, cat)
    keep = r <= EXTRACT_DAY
    ep2 = Episodes(
        person=np.concatenate([ep.person, who[new][keep]]),
        referral=np.concatenate([ep.referral, r[keep]]),
        triage=np.concatenate([ep.triage, tri[keep]]),
        discharge=np.concatenate([ep.discharge, (tri + dur)[keep]]),
        reason=np.concatenate([ep.reason, reason[keep]]).astype(np.int8),
        referral_source=np.concatenate(
            [ep.referral_source, np.full(int(keep.sum()), len(src.REFERRAL_SOURCES), np.int8)]),
        prison_release=np.concatenate([ep.prison_release, rel[keep]]),
    )
    # move any triage (other than a release's own engagement) that falls in a non-engaged
    # release's 21-day window to after it; repeat in case a move lands in another window
    by_person: dict[int, list[int]] = {}
    for i, p in enumerate(ep2.person.tolist()):
        by_person.setdefault(p, []).append(i)
    for _ in range(5):
        moved = 0
        for r_i in np.flatnonzero(~engaged):
            for e in by_person.get(int(who[r_i]), []):
                if when[r_i] < ep2.triage[e] <= when[r_i] + 21:
                    shift = int(when[r_i] + 22 - ep2.triage[e] + rng.integers(0, 15))
                    ep2.referral[e] += shift
                    ep2.triage[e] += shift
                    ep2.discharge[e] += shift
                    moved += 1
        if not moved:
            break
    # a person cannot be referred after their death
    dd = people.death_day[ep2.person]
    alive = (dd < 0) | (ep2.referral < dd)
    age = age_at_day(people, ep2.person, ep2.referral)
    alive &= np.where(people.group[ep2.person] == 3, age < 18, age >= 18)
    ep2 = Episodes(*(getattr(ep2, f)[alive] for f in (
        "person", "referral", "triage", "discharge", "reason", "referral_source",
        "prison_release")))
    releases = {"person": who, "release_day": when, "engaged": engaged, "nfa": nfa}
    return releases, ep2


# --------------------------------------------------------------------------------------------
# Linkable lists (capture-recapture) for the last period year
# --------------------------------------------------------------------------------------------
LISTS = ("probation", "police_custody", "hospital")


def linkable_lists(rng, people: People, planted, *, area_weights: np.ndarray,
                   eth_cum: np.ndarray):
    """Records of OCU people (and others) on each list during 2024.

    Each OCU person alive in 2024 is on list L independently of treatment and of the other
    lists, with probability ``q_L`` x a mild sex effect x an individual, list-specific
    log-normal heterogeneity (mean 1). Non-OCU records (``opiate_or_crack`` False) come from
    other people in need and from residents not otherwise in the data.
    """
    y0, y1 = YEAR_2024
    alive = (people.death_day < 0) | (people.death_day >= y0)
    ocu = np.flatnonzero((people.group == 0) & alive)
    others = np.flatnonzero(np.isin(people.group, (1, 2)) & alive)
    taken = np.sort(people.client_key)
    result = {}
    for name in LISTS:
        spec = planted.lists[name]
        sex = people.sex[ocu]
        h = rng.lognormal(-0.5 * spec["heterogeneity_sd"] ** 2, spec["heterogeneity_sd"], len(ocu))
        q = spec["capture"] * np.where(sex == 1, spec["female_multiplier"], 1.0) * h
        on = ocu[rng.random(len(ocu)) < np.minimum(q, 0.95)]
        n_other = int(round(spec["non_ocu_per_ocu"] * len(on)))
        n_known = min(int(round(spec["non_ocu_known_share"] * n_other)), len(others))
        known = rng.choice(others, size=n_known, replace=False) if n_known else np.array([], int)
        n_new = n_other - n_known
        # new people (not in need of treatment in this data): ids, sex, age, area, ethnicity
        new_keys = client_keys(rng, n_new, taken)
        taken = np.sort(np.concatenate([taken, new_keys]))
        new_ids = hex_ids(new_keys)
        new_area = rng.choice(len(area_weights), size=n_new, p=area_weights / area_weights.sum())
        new_sex = (rng.random(n_new) >= spec["new_male_share"]).astype(np.int8)
        new_age = np.clip(np.round(rng.normal(spec["new_age_mean"], 11, n_new)), 18, 85)
        new_eth = (rng.random(n_new)[:, None] > eth_cum[new_area]).sum(1)
        persons_ids = np.concatenate([people.client_id[on], people.client_id[known], new_ids])
        p_age = np.concatenate([people.age2024[on], people.age2024[known], new_age]).astype(int)
        p_sex = np.concatenate([people.sex[on], people.sex[known], new_sex])
        p_area = np.concatenate([people.area[on], people.area[known], new_area])
        p_eth = np.concatenate([people.ethnicity[on], people.ethnicity[known], new_eth])
        p_ocu = np.concatenate([np.ones(len(on), bool), np.zeros(n_other, bool)])
        n_ev = 1 + rng.poisson(spec["extra_events"], len(persons_ids))
        rep = np.repeat(np.arange(len(persons_ids)), n_ev)
        dates = rng.integers(y0, y1 + 1, size=len(rep))
        age_ev = p_age[rep] + (dates >= MID_2024).astype(int) * (rng.random(len(rep)) < 0.5)
        area_ev = np.where(rng.random(len(rep)) < spec["area_missing"], -1, p_area[rep])
        result[name] = {
            "client_id": persons_ids[rep], "event_day": dates, "age": age_ev,
            "sex": p_sex[rep], "area": area_ev, "opiate_or_crack": p_ocu[rep],
            "ethnicity": p_eth[rep], "ocu_people": people.client_id[on],
        }
    return result
