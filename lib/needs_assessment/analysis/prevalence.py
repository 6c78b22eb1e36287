"""Prevalence and need: how many people need treatment, and how many are not in it.

* **Opiate and/or crack cocaine use (OCU)** is estimated by capture–recapture
  (multiple-systems estimation) from the people aged 15–64 seen in the assessment year on
  the treatment list and the linkable lists (probation, police custody, hospital), as in
  the Home Office / OHID local OCU estimates (Hay et al.). Strata (sex, age group, district
  or ward) are estimated separately where counts allow. Where lists are absent the
  national rate is applied to the local population (synthetic estimation). The headline
  is the model-averaged estimate (default) or the selected model's
  (``prevalence.mse_estimate``); when well-supported models disagree, every figure that
  uses the estimate carries a caveat (:func:`model_caveat`).
* **Alcohol dependence** is a synthetic estimate: the national rate for adults (Pryce et
  al. 2017) applied to the local adult population.
* **Unmet need** is the share of the estimated population not in treatment
  (OHID's "unmet need" measure: 1 − people in treatment / estimated prevalence), with an
  interval from the prevalence interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from needs_assessment import stats
from needs_assessment.analysis.common import (
    ALCOHOL_GROUPS,
    OCU_GROUPS,
    SUBSTANCE_LABELS,
    attach_area,
    in_treatment,
    population_in_ages,
)
from needs_assessment.analysis.common import EPISODE_COLUMNS as COMMON_EPISODE_COLUMNS
from needs_assessment.prevalence import capture_recapture as cr
from needs_assessment.prevalence import (
    mse_estimate,
    national_prevalence_rates,
    stratified_mse,
    unmet_need,
)
from needs_assessment.prevalence.capture_recapture import MSEError, MSEEstimate, MSEResult

__all__ = [
    "EPISODE_COLUMNS",
    "OCU_AGE_GROUPS",
    "PrevalenceResult",
    "alcohol_dependence_estimate",
    "in_treatment_by_substance",
    "model_caveat",
    "model_comparison_table",
    "ocu_capture_records",
    "ocu_prevalence",
    "ocu_synthetic_estimate",
    "plain_model",
    "sensitive_groups_sentence",
    "sensitivity_sentence",
    "unmet_need_table",
]

#: The treatment-episode columns this chapter reads (``AreaData.with_columns``): the
#: shared ones and ethnicity, which the capture-recapture records carry.
EPISODE_COLUMNS = (*COMMON_EPISODE_COLUMNS, "ethnicity")

Basis = Literal["averaged", "selected"]

#: Age groups of the published OCU estimates (Hay et al.).
OCU_AGE_GROUPS = ((15, 24), (25, 34), (35, 64))

#: National rates used; the latest rows with a published interval.
OCU_NATIONAL_PERIOD = "2018/19"
ALCOHOL_NATIONAL_PERIOD = "2014/15"


def _ocu_age_group(age: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=age.index, dtype="string")
    for lo, hi in OCU_AGE_GROUPS:
        out[(age >= lo) & (age <= hi)] = f"{lo}-{hi}"
    return out


def ocu_capture_records(area, year: int, *, level: str) -> pd.DataFrame:
    """Long records of people aged 15–64 seen with opiate/crack use in ``year``: one row per
    person per list (``treatment`` plus each linkable list), with ``sex``, ``age_group``
    (15-24, 25-34, 35-64), ``area_code``/``area_name`` of residence and ``ethnicity``.

    The treatment list is everyone in treatment for opiates and/or crack during the year
    (any age 15–64 at referral); a linkable-list record counts if its event fell in the year
    and it indicates opiate or crack use.
    """
    frames = []
    if area.treatment_episodes is not None:
        treated = in_treatment(area.treatment_episodes, year, adults=None, groups=OCU_GROUPS)
        treated = treated.loc[treated["age"].between(15, 64)]
        frames.append(
            treated[["client_id", "sex", "age", "small_area_code", "ethnicity"]].assign(
                list="treatment"
            )
        )
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    for name, records in sorted(area.linkable_lists.items()):
        keep = (
            records["event_date"].between(start, end)
            & records["opiate_or_crack"].astype(bool)
            & records["age"].between(15, 64)
        )
        chosen = records.loc[keep]
        cols = ["client_id", "sex", "age", "small_area_code"]
        part = chosen[cols].copy()
        part["ethnicity"] = chosen.get("ethnicity", pd.NA)
        frames.append(part.assign(list=name))
    if not frames:
        return pd.DataFrame(
            columns=["client_id", "list", "sex", "age", "age_group", "small_area_code",
                     "area_code", "area_name", "ethnicity"]
        )
    records = pd.concat(frames, ignore_index=True)
    for column in ("client_id", "sex", "small_area_code", "ethnicity", "list"):
        records[column] = records[column].astype("string")
    records = records.drop_duplicates(["client_id", "list"])
    records["age_group"] = _ocu_age_group(records["age"])
    records = attach_area(records, area.geography, level=level)
    records.loc[records["sex"] == "not_stated", "sex"] = pd.NA
    return records


@dataclass
class PrevalenceResult:
    """OCU capture–recapture estimates for the area and its strata.

    ``basis`` says which estimate is reported (``"averaged"`` or ``"selected"``); the
    strata tables' ``estimate``/``lower``/``upper`` and :attr:`headline` follow it, while
    ``overall`` keeps both.
    """

    year: int
    lists: list[str]
    observed: int
    overall: MSEResult | None
    overall_reason: str | None
    population_15_64: int
    by_area: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_sex: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_age: pd.DataFrame = field(default_factory=pd.DataFrame)
    list_sizes: pd.DataFrame = field(default_factory=pd.DataFrame)
    basis: Basis = "averaged"

    @property
    def estimated(self) -> bool:
        return self.overall is not None

    @property
    def headline(self) -> MSEEstimate:
        """The reported whole-area estimate and interval."""
        if self.overall is None:
            raise ValueError(f"no capture–recapture estimate: {self.overall_reason}")
        return self.overall.headline(self.basis)


def _population(area, year: int, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Residents of ``year`` by ``by`` and age: all the estimates here read of the
    population, summed over the rest (AreaData.population_by) rather than the whole table
    of every small area, sex, age and year (18 million rows at national scale)."""
    return area.population_by(["year", *by, "age", "age_band"], years=[year])


def _with_rates(table: pd.DataFrame, population: pd.DataFrame, key: str) -> pd.DataFrame:
    out = table.merge(population, on=key, how="left")
    for col in ("estimate", "lower", "upper"):
        out[f"rate_{col}"] = out[col] / out["population"] * 1000
    return out


def ocu_prevalence(
    area,
    year: int,
    *,
    level: str,
    confidence: float = 0.95,
    n_boot: int = 500,
    seed: int = 20240521,
    min_observed: int = 30,
    min_overlap: int = 10,
    basis: Basis = "averaged",
) -> PrevalenceResult:
    """Capture–recapture estimate of OCU aged 15–64 in ``year``, overall and by stratum.

    Models: Poisson log-linear, independence up to all two-list interactions, chosen by
    BIC, with a bootstrap (BCa) interval that repeats the model choice (Silverman, Chan &
    Vincent 2024); alongside, the BIC-weighted average of the best models with a bootstrap
    interval that repeats the averaging (Burnham & Anderson 2002). ``basis`` chooses
    which one the strata tables and :attr:`PrevalenceResult.headline` report. Strata with
    fewer than ``min_observed`` people or ``min_overlap`` people on two or more lists are
    not estimated and say why.
    """
    if basis not in ("averaged", "selected"):
        raise ValueError(f"basis must be 'averaged' or 'selected', got {basis!r}")
    records = ocu_capture_records(area, year, level=level)
    lists = sorted(records["list"].unique()) if len(records) else []
    pop = population_in_ages(_population(area, year), years=[year], min_age=15, max_age=64)
    pop_total = int(pop["population"].iloc[0])
    sizes = (
        records.groupby("list", as_index=False)["client_id"].nunique().rename(
            columns={"client_id": "people"}
        )
        if len(records)
        else pd.DataFrame(columns=["list", "people"])
    )
    result = PrevalenceResult(
        year=year,
        lists=lists,
        observed=int(records["client_id"].nunique()) if len(records) else 0,
        overall=None,
        overall_reason=None,
        population_15_64=pop_total,
        list_sizes=sizes,
        basis=basis,
    )
    if len(lists) < 2 or "treatment" not in lists:
        result.overall_reason = (
            "capture-recapture needs the treatment list and at least one other linkable list "
            f"for {year}; found: {', '.join(lists) or 'none'}"
        )
        return result
    kwargs = dict(
        criterion="bic",
        max_order=2,
        ci="bca",
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
        headline=basis,
    )
    area_strata = stratified_mse(
        records, by="area_code", lists=lists, min_observed=min_observed,
        min_overlap=min_overlap, **kwargs
    )
    result.overall = area_strata.overall
    result.overall_reason = area_strata.overall_reason
    area_pop = population_in_ages(
        _population(area, year, by=["small_area_code"]), years=[year], min_age=15, max_age=64,
        geography=area.geography, level=level,
    )
    strata = area_strata.strata.merge(
        records[["area_code", "area_name"]].drop_duplicates("area_code"), on="area_code",
        how="left",
    )
    strata = strata.loc[strata["area_code"] != "unknown"]
    result.by_area = _with_rates(strata, area_pop[["area_code", "population"]], "area_code")

    # The pooled estimate is made once, above; the other breakdowns skip it.
    sex = stratified_mse(records.dropna(subset=["sex"]), by="sex", lists=lists,
                         min_observed=min_observed, min_overlap=min_overlap, overall=False,
                         **kwargs)
    sex_pop = population_in_ages(_population(area, year, by=["sex"]), years=[year], min_age=15,
                                 max_age=64, by=["sex"])
    sex_pop["sex"] = sex_pop["sex"].astype("string")
    by_sex = sex.strata.copy()
    by_sex["sex"] = by_sex["sex"].astype("string")
    result.by_sex = _with_rates(by_sex, sex_pop, "sex")

    age = stratified_mse(records.dropna(subset=["age_group"]), by="age_group", lists=lists,
                         min_observed=min_observed, min_overlap=min_overlap, overall=False,
                         **kwargs)
    age_rows = []
    by_age_pop = _population(area, year)
    for lo, hi in OCU_AGE_GROUPS:
        value = population_in_ages(by_age_pop, years=[year], min_age=lo, max_age=hi)
        age_rows.append({"age_group": f"{lo}-{hi}", "population": int(value["population"].iloc[0])})
    by_age = age.strata.copy()
    by_age["age_group"] = by_age["age_group"].astype("string")
    age_pop = pd.DataFrame(age_rows).astype({"age_group": "string"})
    result.by_age = _with_rates(by_age, age_pop, "age_group")
    return result


def ocu_synthetic_estimate(area, year: int, *, level: str | None = None) -> pd.DataFrame:
    """OCU aged 15–64 expected if the area had England's rate (synthetic estimation with
    the OHID/UKHSA 2018/19 national rate and its interval), overall or by sub-area."""
    rates = national_prevalence_rates("ocu", OCU_NATIONAL_PERIOD)
    return _synthetic(area, year, rates, min_age=15, max_age=64, level=level)


def alcohol_dependence_estimate(area, year: int, *, level: str | None = None) -> pd.DataFrame:
    """Adults (18+) with alcohol dependence expected at England's rate (Pryce et al. 2017,
    13.93 per 1,000 adults in 2014/15). The source publishes no interval for the national
    rate, so ``lower``/``upper`` are missing and ``interval_available`` is False."""
    rates = national_prevalence_rates("alcohol_dependence", ALCOHOL_NATIONAL_PERIOD)
    return _synthetic(area, year, rates, min_age=18, max_age=None, level=level)


def _synthetic(area, year, rates, *, min_age, max_age, level):
    rate = rates.iloc[0]
    pop = population_in_ages(
        _population(area, year, by=["small_area_code"] if level else []), years=[year],
        min_age=min_age, max_age=max_age, geography=area.geography if level else None, level=level,
    )
    out = pop.copy()
    per = float(rate["rate_per_1000"]) / 1000
    out["estimate"] = out["population"] * per
    has_interval = pd.notna(rate["lower"]) and pd.notna(rate["upper"])
    out["lower"] = out["population"] * float(rate["lower"]) / 1000 if has_interval else np.nan
    out["upper"] = out["population"] * float(rate["upper"]) / 1000 if has_interval else np.nan
    out["rate_per_1000"] = float(rate["rate_per_1000"])
    out["interval_available"] = bool(has_interval)
    out["source"] = f"{rate['source_id']} ({rate['period']})"
    return out


def in_treatment_by_substance(episodes: pd.DataFrame, year: int) -> pd.DataFrame:
    """Adults in treatment in ``year`` by substance group (people), with a Total row."""
    people = in_treatment(episodes, year, adults=True)
    counts = (
        people["substance_group"].astype(str).value_counts().reindex(list(SUBSTANCE_LABELS), fill_value=0)
    )
    table = pd.DataFrame(
        {
            "substance_group": [SUBSTANCE_LABELS[k] for k in counts.index],
            "people": counts.to_numpy(dtype="int64"),
        }
    )
    total = pd.DataFrame({"substance_group": ["Total"], "people": [int(counts.sum())]})
    table = pd.concat([table, total], ignore_index=True)
    table["percent"] = table["people"] / int(counts.sum()) * 100 if counts.sum() else np.nan
    return table


def ocu_in_treatment_by_area(area, year: int, *, level: str) -> pd.DataFrame:
    """OCU aged 15–64 in treatment in ``year`` by area of residence (the treatment list of
    the capture–recapture estimate, so numerator and estimate cover the same people)."""
    treated = in_treatment(area.treatment_episodes, year, adults=None, groups=OCU_GROUPS)
    treated = treated.loc[treated["age"].between(15, 64)]
    treated = attach_area(treated, area.geography, level=level)
    return treated.groupby(["area_code", "area_name"], as_index=False).size().rename(
        columns={"size": "in_treatment"}
    )


def alcohol_in_treatment_by_area(area, year: int, *, level: str | None) -> pd.DataFrame:
    """Adults in treatment for alcohol (alcohol only, or non-opiate and alcohol) in ``year``."""
    treated = in_treatment(area.treatment_episodes, year, adults=True, groups=ALCOHOL_GROUPS)
    if level is None:
        return pd.DataFrame({"in_treatment": [len(treated)]})
    treated = attach_area(treated, area.geography, level=level)
    return treated.groupby(["area_code", "area_name"], as_index=False).size().rename(
        columns={"size": "in_treatment"}
    )


def unmet_need_table(
    in_treatment_counts: pd.DataFrame,
    estimates: pd.DataFrame,
    *,
    area_total: dict,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Unmet need by sub-area with intervals, and each sub-area compared with the whole area.

    ``estimates`` has ``area_code, area_name, estimate, lower, upper``; ``area_total`` has
    ``in_treatment, estimate, lower, upper`` for the whole area. A sub-area is
    significantly higher (lower) than the area when its interval lies wholly above (below)
    the area's value — the Fingertips comparison of an interval with a benchmark.
    """
    merged = estimates.merge(
        in_treatment_counts[["area_code", "in_treatment"]], on="area_code", how="left"
    )
    merged["in_treatment"] = merged["in_treatment"].fillna(0).astype("int64")
    need = unmet_need(
        merged["in_treatment"], merged["estimate"], merged["lower"], merged["upper"],
        confidence=confidence,
    )
    out = pd.concat(
        [merged[["area_code", "area_name"]].reset_index(drop=True), need.reset_index(drop=True)],
        axis=1,
    )
    whole = unmet_need(
        area_total["in_treatment"], area_total["estimate"], area_total.get("lower"),
        area_total.get("upper"), confidence=confidence,
    ).iloc[0]
    benchmark = float(whole["unmet_need"])
    out["comparison"] = stats.compare_with_benchmark(
        out["lower"], out["upper"], benchmark, polarity="low_is_good"
    )
    total_row = {"area_code": "total", "area_name": "Total", **whole.to_dict(), "comparison": ""}
    return pd.concat([out, pd.DataFrame([total_row])], ignore_index=True)


def mse_total(records: pd.DataFrame, **kwargs):
    """Convenience: one MSE estimate from long records (client_id, list)."""
    from needs_assessment.prevalence import capture_histories

    lists = {name: grp["client_id"] for name, grp in records.groupby("list")}
    try:
        return mse_estimate(capture_histories(lists), **kwargs)
    except MSEError:
        return None


SEX_LABELS = {"male": "Men", "female": "Women"}


def plain_model(model: str) -> str:
    """A log-linear model as a reader can follow it: 'Lists independent' for the
    main-effects model, else the pairs of lists whose overlap it allows for.

    >>> plain_model("hospital:police_custody + probation:treatment")
    'Allows for hospital with police custody; probation with treatment'
    """
    if model == "main effects":
        return "Lists independent"
    pairs = [" with ".join(part.replace("_", " ") for part in term.split(":"))
             for term in model.split(" + ")]
    return "Allows for " + "; ".join(pairs)


def model_comparison_table(result: MSEResult, *, max_models: int = 6, min_weight: float = 0.01
                           ) -> pd.DataFrame:
    """The best capture–recapture models for publication: every model within
    ``SUPPORT_DELTA`` (2) BIC units of the best (the competing models), then further models
    of the average with weight of at least ``min_weight``, up to ``max_models`` rows (the
    competing models are always all shown). Columns: model in plain words, parameters,
    BIC, difference from the best, weight (%), whether it is competing, the model's
    estimated total and the people seen (the count every estimate rests on)."""
    m = result.models
    competing = m["delta"].notna() & (m["delta"] <= cr.SUPPORT_DELTA)
    strong = m["in_average"] & (m["weight"] >= min_weight)
    rows = m.loc[competing | strong]
    rows = rows.loc[competing.loc[rows.index] | (np.arange(len(rows)) < max_models)]
    criterion = result.criterion.upper()
    return pd.DataFrame(
        {
            "Model": rows["model"].map(plain_model).to_numpy(),
            "Parameters (number)": rows["n_params"].astype("int64").to_numpy(),
            criterion: rows[result.criterion].to_numpy(dtype=float),
            f"Difference from best ({criterion})": rows["delta"].to_numpy(dtype=float),
            "Weight (%)": rows["weight"].to_numpy(dtype=float) * 100,
            f"Within {cr.SUPPORT_DELTA:g} of best": np.where(competing.loc[rows.index], "Yes", "No"),
            "Estimated users": rows["estimate"].to_numpy(dtype=float),
            "Seen on any list (number)": np.full(len(rows), result.observed, dtype="int64"),
        }
    )


def sensitivity_sentence(result: MSEResult, *, area: str) -> str:
    """Plain words for a board: the estimate depends on the choice of model, by how much."""
    competing = result.competing
    low, high = competing["estimate"].min(), competing["estimate"].max()
    return (
        f"The estimate for {area} is sensitive to the choice of model. "
        f"{len(competing)} models fit the lists about equally well (within {cr.SUPPORT_DELTA:g} BIC "
        f"units of the best), and they put the total between {low:,.0f} and {high:,.0f} people: "
        f"{result.spread:.0%} apart, more than the {cr.SENSITIVITY_TOLERANCE:.0%} we accept. "
        "Treat the number as a range rather than a single figure, and plan services so that "
        "they still work at either end of it."
    )


def sensitive_groups_sentence(result: PrevalenceResult) -> str | None:
    """Which sexes, age groups and places have a model-sensitive estimate, in plain words
    (None when none has)."""
    groups = [
        label(value)
        for frame, column, label in (
            (result.by_sex, "sex", lambda v: SEX_LABELS.get(str(v), str(v))),
            (result.by_age, "age_group", lambda v: f"people aged {v}"),
            (result.by_area, "area_name", str),
        )
        if "sensitive" in frame
        for value in frame.loc[frame["sensitive"].astype(bool), column]
    ]
    if not groups:
        return None
    return (
        "The estimate is sensitive to the choice of model for: " + ", ".join(groups) + ". Models that fit "
        f"about equally well differ by more than {cr.SENSITIVITY_TOLERANCE:.0%} on the total; read these "
        "figures as rough."
    )


def model_caveat(*estimates) -> str | None:
    """The caveat carried by an indicator that uses these capture–recapture estimates
    (e.g. a district's estimate and the whole-area estimate it is compared with), or
    None when none of them is sensitive to the choice of model. Each is an
    :class:`MSEResult`, a strata-table row or a mapping with ``sensitive`` and ``spread``."""
    def get(e, name):
        return e.get(name) if isinstance(e, dict | pd.Series) else getattr(e, name, None)

    spreads = [float(get(e, "spread")) for e in estimates
               if e is not None and bool(get(e, "sensitive"))]
    if not spreads:
        return None
    return (
        "this rests on a capture–recapture estimate that is sensitive to the choice of "
        f"model (equally well-supported models differ by up to {max(spreads):.0%} on the total)"
    )


def strata_table(result: PrevalenceResult, *, level: str) -> pd.DataFrame:
    """One long table of the stratified estimates for publication: breakdown (sex, age
    group, district/ward), group, people seen, estimate with interval, rate per 1,000."""
    frames = []
    spec = (
        ("Sex", result.by_sex, "sex", lambda v: SEX_LABELS.get(str(v), str(v))),
        ("Age group", result.by_age, "age_group", str),
        (level.title(), result.by_area, "area_name", str),
    )
    for breakdown, frame, column, label in spec:
        if frame.empty:
            continue
        part = pd.DataFrame(
            {
                "Breakdown": breakdown,
                "Group": frame[column].map(label),
                "Seen on any list (number)": frame["observed"].astype("int64"),
                "Estimated users": frame["estimate"],
                "Estimated users (lower)": frame["lower"],
                "Estimated users (upper)": frame["upper"],
                "Rate per 1,000 aged 15 to 64": frame["rate_estimate"],
                "Rate (lower)": frame["rate_lower"],
                "Rate (upper)": frame["rate_upper"],
                "Note": frame["reason"].fillna("").astype(str),
            }
        )
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def unmet_need_published(unmet: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """The unmet-need table as published (percentages, whole numbers for estimates)."""
    return pd.DataFrame(
        {
            level.title(): unmet["area_name"].astype(str),
            "In treatment (number)": unmet["in_treatment"].astype("int64"),
            "Estimated users": unmet["estimate"].round(0),
            "Unmet need (%)": unmet["unmet_need"] * 100,
            "Unmet need lower (%)": unmet["lower"] * 100,
            "Unmet need upper (%)": unmet["upper"] * 100,
            "Compared with the area": unmet["comparison"].fillna("").astype(str),
        }
    )


def unmet_need_by_group(area, result: PrevalenceResult, year: int, *, confidence: float = 0.95) -> pd.DataFrame:
    """Unmet need for OCU treatment by sex and by age group, each compared with the area.

    The numerator is the treatment list of the capture–recapture estimate in that group
    (people in OCU treatment aged 15–64), so numerator and estimate cover the same people.
    """
    records = ocu_capture_records(area, year, level="district")
    treated = records.loc[records["list"] == "treatment"]
    overall = result.headline
    whole = unmet_need(
        len(treated), overall.estimate, overall.lower, overall.upper, confidence=confidence
    ).iloc[0]
    rows = []
    for breakdown, frame, column, label in (
        ("sex", result.by_sex, "sex", lambda v: SEX_LABELS.get(str(v), str(v))),
        ("age", result.by_age, "age_group", lambda v: f"aged {v}"),
    ):
        for _, row in frame.iterrows():
            n = int((treated[column].astype(str) == str(row[column])).sum())
            base = {"breakdown": breakdown, "group_code": str(row[column]), "group": label(row[column]),
                    "in_treatment": n, "estimate": row["estimate"],
                    "sensitive": bool(row.get("sensitive", False)),
                    "spread": float(row.get("spread", 0.0))}
            if row["status"] != "estimated":
                rows.append({**base, "unmet_need": np.nan, "lower": np.nan, "upper": np.nan,
                             "comparison": "Not compared", "reason": row["reason"]})
                continue
            need = unmet_need(n, row["estimate"], row["lower"], row["upper"], confidence=confidence).iloc[0]
            comparison = stats.compare_with_benchmark(
                need["lower"], need["upper"], float(whole["unmet_need"]), polarity="low_is_good"
            )
            rows.append({**base, "unmet_need": need["unmet_need"], "lower": need["lower"],
                         "upper": need["upper"], "comparison": comparison, "reason": ""})
    return pd.DataFrame(rows)


def unmet_need_groups_published(groups: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Breakdown": groups["breakdown"].map({"sex": "Sex", "age": "Age group"}),
            "Group": groups["group"].astype(str),
            "In treatment (number)": groups["in_treatment"].astype("int64"),
            "Estimated users": groups["estimate"].round(0),
            "Unmet need (%)": groups["unmet_need"] * 100,
            "Unmet need lower (%)": groups["lower"] * 100,
            "Unmet need upper (%)": groups["upper"] * 100,
            "Compared with the area": groups["comparison"].astype(str),
        }
    )


def alcohol_published(estimates: pd.DataFrame, treated: pd.DataFrame, *, level: str) -> pd.DataFrame:
    """Alcohol dependence estimate, adults in alcohol treatment and unmet need by sub-area,
    with a Total row (no intervals: the national rate has none)."""
    merged = estimates[["area_code", "area_name", "estimate"]].merge(
        treated[["area_code", "in_treatment"]], on="area_code", how="left"
    )
    merged["in_treatment"] = merged["in_treatment"].fillna(0).astype("int64")
    total = pd.DataFrame(
        {
            "area_code": ["total"],
            "area_name": ["Total"],
            "estimate": [merged["estimate"].sum()],
            "in_treatment": [int(treated["in_treatment"].sum())],
        }
    )
    merged = pd.concat([merged, total], ignore_index=True)
    return pd.DataFrame(
        {
            level.title(): merged["area_name"].astype(str),
            "Estimated dependent adults": merged["estimate"].round(0),
            "In alcohol treatment (number)": merged["in_treatment"],
            "Unmet need (%)": (1 - merged["in_treatment"] / merged["estimate"]) * 100,
        }
    )


def young_people_in_treatment(area, year: int) -> dict:
    """Young people (young people's services or under 18) in treatment in ``year`` and the
    population aged under 18."""
    people = in_treatment(area.treatment_episodes, year, adults=False)
    population = population_in_ages(_population(area, year), years=[year], min_age=0, max_age=17)
    return {"people": int(len(people)), "population": int(population["population"].iloc[0])}
