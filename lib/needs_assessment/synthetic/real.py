"""Illustrative record-level inputs for a real area, generated onto its published data.

Record-level data (treatment episodes, prison releases, the lists used for
capture-recapture, treatment sites) are never published. So that a real area's
assessment runs end to end before the partnership supplies its own extracts, this module
generates **illustrative** records onto the area's real small areas (LSOA 2021), with the
synthetic generator's machinery (:mod:`.people`, :mod:`.areas`):

* the hidden people in need are drawn small area by small area from the area's real
  residents (the population built from Census 2021: size, age and sex) at the England
  prevalence of :mod:`.sources`, with need rising with the small area's real
  IoD 2025 decile (the deprivation gradient of the synthetic areas);
* ethnicity follows each small area's real Census 2021 ethnic mix; religion, sexual
  orientation, gender identity and disability follow the area's real Census 2021 shares;
* treatment histories, prison releases and list records follow the synthetic generator.

Unlike the synthetic areas, **no disparity between real places or groups is planted**:
no district or ward has lower treatment penetration, women and every ethnic group enter
treatment at the same rate given need, continuity of care after prison is the England
figure, early drop-out does not depend on age. Any difference a chapter finds in these
records is chance and describes nothing real; the report labels every such figure
illustrative (``params.area.illustrative_records``).

The output is deterministic from the seed and written into a git-ignored folder
(``data/illustrative/<slug>/``); the runner generates it when absent
(``data.illustrative: {variant: onto_public, seed: ...}``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from needs_assessment.synthetic import areas as syn
from needs_assessment.synthetic import harms
from needs_assessment.synthetic import people as ppl
from needs_assessment.synthetic import sources as src

if TYPE_CHECKING:  # pragma: no cover
    from needs_assessment.data.area import AreaData
    from needs_assessment.params import RunParams

__all__ = ["ONTO_PUBLIC", "generate_onto_public", "simulate_onto_public"]

#: Generating parameters of illustrative records on a real area: no planted disparity.
ONTO_PUBLIC = dataclasses.replace(
    syn.PLANTED["county"],
    variant="onto_public",
    area_name="(real area)",
    low_penetration_area=None,
    low_penetration_area_code=None,
    ocu_penetration_low_area=0.55,
    ocu_penetration_elsewhere=0.55,
    ocu_base_low_area=0.55,
    ocu_base_elsewhere=0.55,
    alcohol_base=0.20,
    non_opiate_base=0.27,
    young_people_base=0.34,
    female_multiplier=1.0,
    ethnicity_multiplier=1.0,
    prison_continuity=0.407,
    early_dropout_young=0.15,
    early_dropout_other=0.15,
    nulls=syn.PLANTED["county"].nulls + (
        "sex: no effect on treatment given need (illustrative records on a real area)",
        "ethnicity: no effect on treatment given need (illustrative records on a real area)",
        "place: no district or ward differs in treatment given need",
    ),
    notes=(
        "Illustrative records generated onto a real area's published small-area data. No "
        "disparity between places or groups is planted; need follows population, age and "
        "deprivation only."
    ),
)

_WINDOW_START = "2019-01-01"


def _pop_matrix(area: AreaData, year: int) -> np.ndarray:
    """(n small areas, 182) residents: female ages 0..90 then male ages 0..90."""
    pop = area.population
    pop = pop.loc[(pop["year"] == year) & pop["sex"].isin(["male", "female"])]
    codes = list(area.geography["small_area_code"])
    table = (pop.assign(col=np.where(pop["sex"] == "female", 0, 91) + pop["age"].astype(int).to_numpy())
             .pivot_table(index="small_area_code", columns="col", values="population", aggfunc="sum",
                          observed=True)
             .reindex(index=codes, columns=range(182)).fillna(0))
    return table.to_numpy(dtype=np.int64)


def _ethnic_cum(area: AreaData) -> np.ndarray:
    """Cumulative ethnic-group shares per small area (order of sources.ETHNICITY)."""
    codes = list(area.geography["small_area_code"])
    groups = list(src.ETHNICITY)
    table = area.published.get("ethnicity_small_area")
    if table is not None:
        shares = (table.pivot_table(index="small_area_code", columns="category", values="count", aggfunc="sum")
                  .reindex(index=codes, columns=groups).fillna(0).to_numpy(dtype=float))
    else:
        shares = np.tile(np.asarray(_area_shares(area, "ethnicity", groups)), (len(codes), 1))
    totals = shares.sum(axis=1, keepdims=True)
    shares = np.where(totals > 0, shares / np.where(totals > 0, totals, 1), 1 / len(groups))
    cum = np.cumsum(shares, axis=1)
    cum[:, -1] = 1.0 + 1e-9
    return cum


def _area_shares(area: AreaData, characteristic: str, categories, fallback=None) -> tuple[float, ...]:
    """Whole-area shares of a characteristic's categories, from the area's characteristics."""
    chars = area.characteristics
    if chars is not None:
        units = set(area.geography["upper_tier_code"]) | set(area.geography["district_code"])
        rows = chars.loc[(chars["characteristic"] == characteristic) & chars["area_code"].isin(units)]
        if not rows.empty:
            code = rows["area_code"].value_counts().index[0]
            counts = rows.loc[rows["area_code"] == code].set_index("category")["population"]
            values = np.array([float(counts.get(c, 0)) for c in categories])
            if values.sum() > 0:
                return tuple(values / values.sum())
    if fallback is None:
        return tuple(np.full(len(categories), 1 / len(categories)))
    return tuple(fallback)


def _services(rng, area: AreaData, pop_total: np.ndarray) -> pd.DataFrame:
    """Illustrative treatment sites at the most densely populated small areas: one hub per
    district (or three sites in a single-district area) and a few satellites."""
    import shapely

    geo = area.geography.reset_index(drop=True)
    bnd = area.boundaries.set_index("small_area_code").reindex(geo["small_area_code"])
    density = pop_total / np.maximum(bnd.geometry.area.to_numpy() / 1e6, 0.01)
    districts = list(dict.fromkeys(geo["district_name"]))
    chosen: list[int] = []
    for name in districts:
        members = np.flatnonzero(geo["district_name"].to_numpy() == name)
        chosen.append(int(members[np.argmax(density[members])]))
    n_total = len(districts) + 2 if len(districts) > 1 else 3
    pool = np.setdiff1d(np.arange(len(geo)), chosen)
    weights = density[pool] / density[pool].sum()
    chosen += rng.choice(pool, size=n_total - len(chosen), replace=False, p=weights).tolist()
    patterns = ("Mon;Tue;Wed;Thu;Fri", "Tue;Thu", "Mon;Wed;Fri", "Mon;Tue;Wed;Thu")
    rows = []
    for i, idx in enumerate(chosen):
        point = shapely.point_on_surface(bnd.geometry.iloc[idx])
        hub = i < len(districts) or (len(districts) == 1 and i == 0)
        place = geo.loc[idx, "district_name"] if len(districts) > 1 else geo.loc[idx, "ward_name"]
        rows.append({
            "site_id": f"IL{i + 1:03d}",
            "site_name": f"Illustrative {'hub' if hub else 'satellite'} site {i + 1} ({place})",
            "easting": int(round(point.x)), "northing": int(round(point.y)),
            "opening_days": patterns[0] if hub else patterns[1 + int(rng.integers(3))],
            "service_type": "both" if hub and i % 3 == 0 else ("young_people" if i == 1 else "adult"),
        })
    return pd.DataFrame(rows)


def simulate_onto_public(area: AreaData, *, seed: int, year: int, area_name: str = "") -> dict[str, Any]:
    """Illustrative record-level frames for ``area`` (loaded from public data):
    ``treatment_episodes``, ``prison_releases``, ``services``, ``lists/<name>`` (as the
    files are written) and ``people`` (the hidden population in need, for tests)."""
    rng = syn._rng
    planted = dataclasses.replace(ONTO_PUBLIC, area_name=area_name or ONTO_PUBLIC.area_name)
    geo = area.geography.reset_index(drop=True)
    sa_codes = list(geo["small_area_code"])
    pop = _pop_matrix(area, year)
    decile = geo["imd_decile"].to_numpy()
    eth_cum = _ethnic_cum(area)
    char = {
        "religion": _area_shares(area, "religion", src.RELIGION, src.RELIGION_ENGLAND),
        "sexual_orientation": _area_shares(area, "sexual_orientation", src.SEXUAL_ORIENTATION,
                                           src.SEXUAL_ORIENTATION_ENGLAND),
        "gender_identity": _area_shares(area, "gender_identity_same_as_sex", src.GENDER_IDENTITY,
                                        src.GENDER_IDENTITY_ENGLAND),
        "disability": _area_shares(area, "disability", ("yes", "no"), src.DISABILITY_ENGLAND),
    }
    people = ppl.hidden_population(rng(seed, "people"), pop_by_area_age_sex=pop, decile=decile,
                                   eth_cum=eth_cum, char=char, planted=planted,
                                   low_area=np.zeros(len(sa_codes), bool))
    window_start = ppl.day(_WINDOW_START)
    ep = ppl.treatment_histories(rng(seed, "treatment"), people, planted, window_start=window_start)
    england_ocu = src.OCU_PER_1000_15_64 / 1000 * 36_500_000
    per_year = src.PRISON_RELEASES_WITH_NEED_ENGLAND * int((people.group == 0).sum()) / england_ocu
    releases, ep = ppl.prison_releases(rng(seed, "prison"), people, ep, planted,
                                       window_start=window_start, per_year=per_year)
    ep = ppl.close_at_extract(ep)
    episodes = syn._episodes_frame(rng(seed, "episode-fields"), people, ep, sa_codes)
    out: dict[str, Any] = {"treatment_episodes": episodes.drop(columns=["_person"])}
    out["prison_releases"] = pd.DataFrame({
        "client_id": people.client_id[releases["person"]],
        "release_date": syn._dates(releases["release_day"]),
        "substance_group": np.array(ppl.SUBSTANCE_GROUPS)[people.substance[releases["person"]]],
        "small_area_code": np.where(releases["nfa"], "",
                                    np.array(sa_codes)[people.area[releases["person"]]]),
    }).sort_values(["release_date", "client_id"], kind="stable")
    lists = ppl.linkable_lists(rng(seed, "lists"), people, planted,
                               area_weights=pop.sum(axis=1).astype(float), eth_cum=eth_cum)
    eth_codes = list(src.ETHNICITY) + ["not_stated"]
    for name, rec in lists.items():
        out[f"lists/{name}"] = pd.DataFrame({
            "client_id": rec["client_id"],
            "event_date": syn._dates(rec["event_day"]),
            "age": rec["age"].astype(int),
            "sex": syn._cat(rec["sex"], ("male", "female")),
            "small_area_code": np.where(rec["area"] < 0, "", np.array(sa_codes)[np.maximum(rec["area"], 0)]),
            "opiate_or_crack": np.where(rec["opiate_or_crack"], "True", "False"),
            "ethnicity": syn._cat(rec["ethnicity"], eth_codes),
        }).sort_values(["event_date", "client_id"], kind="stable")
    if area.boundaries is not None:
        out["services"] = _services(rng(seed, "services"), area, pop.sum(axis=1).astype(float))
    out["people"] = syn._people_frame(people, sa_codes)
    return out


def _readme(params: RunParams, seed: int, files: list[str]) -> str:
    return (
        f"# {params.area.name}: illustrative record-level inputs\n\n"
        "**Illustrative, not real.** These records were generated by the workbook "
        f"(`needs_assessment.synthetic.real`, seed {seed}, extract date {syn.EXTRACT_DATE}) onto the "
        f"real small areas of {params.area.name}, scaled to their published Census 2021 population, "
        "age structure and IoD 2025 deprivation. No person, episode, list record or site here is real, "
        "and no disparity between places or groups was planted: figures computed from these files "
        "illustrate the method and must not be quoted as facts.\n\n"
        "Replace them with your own extracts (same columns; see data/README.md) by pointing "
        "`data.directory` and `data.files` at them, deleting `data.illustrative` and setting "
        "`area.illustrative_records: false`.\n\nFiles:\n\n" + "".join(f"- `{f}`\n" for f in files)
    )


def generate_onto_public(params: RunParams, directory: str | os.PathLike | None = None, *,
                         overwrite: bool = False) -> Path:
    """Write illustrative record-level files for the real area of ``params`` into
    ``directory`` (default ``params.data.directory``), atomically."""
    from needs_assessment.inputs import load_area

    source = params.data.illustrative
    if source is None:
        raise ValueError("params.data.illustrative is not set (expected {variant: onto_public, seed: ...})")
    directory = Path(directory or params.data.directory).expanduser().resolve()
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise FileExistsError(f"{directory} already exists and is not empty; pass overwrite=True to replace it")
    area = load_area(params, only=["geography", "boundaries", "population", "characteristics", "published"])
    frames = simulate_onto_public(area, seed=source.seed, year=params.period.end_year, area_name=params.area.name)
    frames.pop("people")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.partial-", dir=directory.parent))
    os.chmod(tmp, 0o755)
    try:
        names = []
        for rel, frame in frames.items():
            path = tmp / f"{rel}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            harms.write_csv(frame, path)
            names.append(f"{rel}.csv")
        (tmp / "README.md").write_text(_readme(params, source.seed, names), encoding="utf-8", newline="\n")
        syn.move_into_place(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
