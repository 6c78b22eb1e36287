"""The synthetic areas against the truth behind them: published magnitudes, the planted
disparities (present in the generated records) and the nulls (absent within sampling error).

Uses :func:`simulate_area`, which returns the generated files in memory together with the
hidden population in need; each variant is simulated once per module.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from needs_assessment.synthetic import PLANTED, simulate_area

SEED = 20240521
OCU_GROUPS = ("opiate_and_crack", "opiate_only", "crack_only")
SUCCESS = ("completed_drug_free", "completed_alcohol_free", "completed_occasional_user")


@pytest.fixture(scope="module")
def county():
    return simulate_area("county", SEED)


@pytest.fixture(scope="module")
def unitary():
    return simulate_area("unitary", SEED)


@pytest.fixture(scope="module", params=["county", "unitary"])
def area(request, county, unitary):
    return {"county": county, "unitary": unitary}[request.param]


# --------------------------------------------------------------------------- helpers
def _alive_2024(people: pd.DataFrame) -> pd.DataFrame:
    return people[(people["death_date"] == "") | (people["death_date"] >= "2024-01-01")]


def _open_in_2024(ep: pd.DataFrame) -> pd.DataFrame:
    return ep[(ep["referral_date"] <= "2024-12-31")
              & ((ep["discharge_date"] == "") | (ep["discharge_date"] >= "2024-01-01"))]


def _in_treatment(area, groups=("ocu",)) -> pd.DataFrame:
    """People in need (alive in 2024) with a flag: any episode open during 2024."""
    people = _alive_2024(area.people)
    people = people[people["group"].isin(groups)].copy()
    ep = area.episodes
    if groups == ("ocu",):
        ep = ep[ep["substance_group"].isin(OCU_GROUPS)]
    people["tx"] = people["client_id"].isin(set(_open_in_2024(ep)["client_id"]))
    geo = area.geography.set_index("small_area_code")
    people["district"] = geo.loc[people["small_area_code"], "district_name"].to_numpy()
    people["ward"] = geo.loc[people["small_area_code"], "ward_name"].to_numpy()
    people["decile"] = geo.loc[people["small_area_code"], "imd_decile"].to_numpy()
    return people


def _two_proportion_p(x1, n1, x2, n2) -> float:
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    return stats.chi2_contingency(table, correction=False)[1]


def _population(area) -> pd.DataFrame:
    return area.files["population.csv"]


def _per_100k_per_year(area, frame: pd.DataFrame, label: str) -> dict:
    person_years = _population(area)["Total"].sum()
    return (frame.groupby(label)["count"].sum() / person_years * 1e5).to_dict()


# --------------------------------------------------------------------------- magnitudes
def test_hidden_populations_match_published_prevalence(area):
    pop = _population(area)
    last = pop[pop["Year"] == 2024]
    ages = lambda lo, hi: sum(last[f"{s}{a}"].sum() for s in "FM" for a in range(lo, hi + 1))  # noqa: E731
    need = area.people["group"].value_counts()
    ocu_rate = need["ocu"] / ages(15, 64) * 1000
    assert 6 <= ocu_rate <= (12 if area.variant == "county" else 16)
    assert 0.010 <= need["alcohol"] / ages(18, 90) <= 0.022
    ocu = area.people[area.people["group"] == "ocu"]
    assert abs((ocu["sex"] == "male").mean() - 0.73) < 0.04
    assert ocu["age_2024"].between(30, 55).mean() > 0.6


def test_treatment_magnitudes_are_england_like(area):
    ep = area.episodes
    tri = ep[ep["triage_date"] != ""]
    wait = (pd.to_datetime(tri["triage_date"]) - pd.to_datetime(tri["referral_date"])).dt.days
    assert 3 <= wait.median() <= 7 and (wait > 21).mean() < 0.05
    assert 0.30 <= (ep["referral_source"] == "self").mean() <= 0.50
    assert (ep["discharge_reason"] == "died").mean() < 0.01  # rare
    # Fingertips-style successful completion: completions in 2024 / in treatment in 2024
    year = _open_in_2024(ep[ep["young_person"] == "False"]).copy()
    cat = year["substance_group"].astype(str).map({
        "opiate_and_crack": "opiate", "opiate_only": "opiate", "crack_only": "non_opiate",
        "non_opiate_only": "non_opiate", "non_opiate_and_alcohol": "non_opiate",
        "alcohol_only": "alcohol"})
    year["cat"] = cat
    year["ok"] = year["discharge_reason"].isin(SUCCESS) & year["discharge_date"].between(
        "2024-01-01", "2024-12-31")
    rate = year.groupby("cat").apply(
        lambda d: d.loc[d["ok"], "client_id"].nunique() / d["client_id"].nunique(),
        include_groups=False)
    assert 0.02 <= rate["opiate"] <= 0.10
    assert 0.20 <= rate["non_opiate"] <= 0.45
    assert 0.25 <= rate["alcohol"] <= 0.45
    penetration = _in_treatment(area, ("alcohol",))["tx"].mean()
    assert 0.12 <= penetration <= 0.30


def test_deaths_admissions_and_crime_are_plausible(area):
    deaths = _per_100k_per_year(area, area.files["deaths.csv"], "cause")
    assert 2 <= deaths["drug_misuse"] <= 10
    assert 1.2 <= deaths["drug_poisoning"] / deaths["drug_misuse"] <= 1.8
    assert 6 <= deaths["alcohol_specific"] <= 25
    adm = _per_100k_per_year(area, area.files["admissions.csv"], "condition")
    assert 350 <= adm["alcohol_specific"] <= 900
    assert 15 <= adm["drug_poisoning"] <= 80
    assert 5 <= adm["drug_mental_behavioural"] <= 40
    crime = pd.concat(f for k, f in area.files.items() if k.startswith("crime/"))
    pop = _population(area)
    per_1000 = crime["Crime type"].value_counts() / (
        pop[pop["Year"] >= 2022]["Total"].sum() / 1000)
    assert 1.5 <= per_1000["Drugs"] <= 8
    assert 20 <= per_1000["Violence and sexual offences"] <= 80
    assert per_1000["Violence and sexual offences"] == per_1000.max()


# --------------------------------------------------------------------------- planted
def test_planted_low_ocu_penetration_in_the_named_area(area):
    planted = PLANTED[area.variant]
    people = _in_treatment(area)
    unit = "district" if planted.reporting_geography == "district" else "ward"
    low = people[unit] == planted.low_penetration_area
    assert low.sum() > 60
    p_low, p_else = people.loc[low, "tx"].mean(), people.loc[~low, "tx"].mean()
    se_low = np.sqrt(p_low * (1 - p_low) / low.sum())
    se_else = np.sqrt(p_else * (1 - p_else) / (~low).sum())
    assert abs(p_low - planted.ocu_penetration_low_area) < 3.5 * se_low + 0.02
    assert abs(p_else - planted.ocu_penetration_elsewhere) < 3.5 * se_else + 0.02
    p = _two_proportion_p(people.loc[low, "tx"].sum(), low.sum(),
                          people.loc[~low, "tx"].sum(), (~low).sum())
    assert p < 1e-4
    # every other reporting unit is clearly above the low one
    others = people[~low].groupby(unit)["tx"].mean()
    assert (others > p_low).all()
    assert area.geography.loc[area.geography[f"{unit}_name"] == planted.low_penetration_area,
                              f"{unit}_code"].eq(planted.low_penetration_area_code).all()


def test_planted_women_under_represented(area):
    people = _in_treatment(area, ("ocu", "alcohol", "non_opiate"))
    by = people.groupby("sex")["tx"].agg(["sum", "size", "mean"])
    ratio = by.loc["female", "mean"] / by.loc["male", "mean"]
    assert 0.45 <= ratio <= 0.8
    assert _two_proportion_p(by.loc["female", "sum"], by.loc["female", "size"],
                             by.loc["male", "sum"], by.loc["male", "size"]) < 1e-4


def test_planted_asian_under_represented_given_need(area):
    planted = PLANTED[area.variant]
    people = _in_treatment(area, ("ocu", "alcohol", "non_opiate"))
    # compare within areas of the same planted penetration, so the low area doesn't confound
    unit = "district" if planted.reporting_geography == "district" else "ward"
    people = people[people[unit] != planted.low_penetration_area]
    asian = people["ethnicity"] == planted.under_represented_ethnicity
    stated = people["ethnicity"] != "not_stated"
    p_a, p_o = people.loc[asian, "tx"].mean(), people.loc[~asian & stated, "tx"].mean()
    assert 0.35 <= p_a / p_o <= 0.7
    assert _two_proportion_p(people.loc[asian, "tx"].sum(), asian.sum(),
                             people.loc[~asian & stated, "tx"].sum(), (~asian & stated).sum()) < 1e-4


def test_need_is_proportional_to_population_by_ethnicity(area):
    """No ethnic difference in prevalence: the Asian share of people in need matches the
    need-weighted Asian share of residents of their reporting units."""
    unit = "district_code" if area.variant == "county" else "ward_code"
    chars = area.files["characteristics.csv"]
    eth = chars[chars["characteristic"] == "ethnicity"].pivot_table(
        index="area_code", columns="category", values="population", aggfunc="sum")
    share = eth["asian"] / eth.sum(axis=1)
    people = _alive_2024(area.people)
    people = people[people["ethnicity"] != "not_stated"]
    units = area.geography.set_index("small_area_code").loc[people["small_area_code"], unit]
    expected = share.loc[units.to_numpy()].mean()
    observed = (people["ethnicity"] == "asian").mean()
    se = np.sqrt(expected * (1 - expected) / len(people))
    # small areas vary within a unit, so allow for that on top of sampling error
    assert abs(observed - expected) < 4 * se + 0.02


def test_planted_weak_continuity_of_care_after_prison(area):
    planted = PLANTED[area.variant]
    rel = area.files["prison_releases.csv"]
    ep = area.episodes
    tri = ep.loc[ep["triage_date"] != "", ["client_id", "triage_date"]]
    merged = rel.merge(tri, on="client_id", how="left")
    release = pd.to_datetime(merged["release_date"])
    triage = pd.to_datetime(merged["triage_date"])
    merged["ok"] = (triage > release) & (triage <= release + pd.Timedelta(days=21))
    engaged = merged.groupby(["client_id", "release_date"])["ok"].any()
    assert len(engaged) > 1000
    se = np.sqrt(planted.prison_continuity * (1 - planted.prison_continuity) / len(engaged))
    assert abs(engaged.mean() - planted.prison_continuity) < 4 * se
    comp = area.files["comparators.csv"]
    england = comp[comp["Indicator Name"].str.contains("release from prison")
                   & (comp["Area Code"] == "E92000001")]
    assert float(england["Value"].iloc[0]) / 100 > engaged.mean() + 0.1
    # releasees are mostly men with opiate/crack problems, released 2019 to early 2025
    assert rel["release_date"].between("2019-01-01", "2025-03-31").all()
    per_year = len(rel) / 6.2
    assert {"county": (250, 600), "unitary": (150, 450)}[area.variant][0] <= per_year
    assert per_year <= {"county": (250, 600), "unitary": (150, 450)}[area.variant][1]


def test_planted_early_dropout_among_18_to_24(area):
    planted = PLANTED[area.variant]
    ep = area.episodes
    done = ep[(ep["young_person"] == "False") & (ep["triage_date"] != "")
              & (ep["discharge_date"] != "")].copy()
    days = (pd.to_datetime(done["discharge_date"]) - pd.to_datetime(done["triage_date"])).dt.days
    done["early"] = (done["discharge_reason"] == "dropped_out") & (days <= planted.early_dropout_days)
    young = done["age"].between(planted.early_dropout_age_min, planted.early_dropout_age_max)
    p_y, p_o = done.loc[young, "early"].mean(), done.loc[~young, "early"].mean()
    assert p_y > 1.5 * p_o
    assert _two_proportion_p(done.loc[young, "early"].sum(), young.sum(),
                             done.loc[~young, "early"].sum(), (~young).sum()) < 1e-4


def test_planted_deprivation_gradient(area):
    people = _in_treatment(area)
    pop = _population(area)
    geo = area.geography.set_index("small_area_code")
    last = pop[pop["Year"] == 2024].copy()
    last["p1564"] = last[[f"{s}{a}" for s in "FM" for a in range(15, 65)]].sum(axis=1)
    last["decile"] = geo.loc[last["LSOA 2021 Code"], "imd_decile"].to_numpy()
    # OCU per resident aged 15-64 falls geometrically with the decile: the planted ratio
    # decile 1 / decile 10 = 3 is a log-slope of -ln(3)/9 = -0.122 per decile
    import statsmodels.api as sm

    counts = people.groupby("small_area_code").size()
    sa = last.set_index("LSOA 2021 Code")
    y = counts.reindex(sa.index, fill_value=0)
    fit = sm.GLM(y.to_numpy(), sm.add_constant(sa["decile"].to_numpy(float)),
                 family=sm.families.Poisson(), offset=np.log(sa["p1564"].to_numpy(float))).fit()
    assert -0.22 <= fit.params[1] <= -0.05
    if area.variant == "county":  # the county spans every decile
        top = people["decile"] >= 9
        bottom = people["decile"] <= 2
        r1 = bottom.sum() / last.loc[last["decile"] <= 2, "p1564"].sum()
        r10 = top.sum() / last.loc[last["decile"] >= 9, "p1564"].sum()
        assert 2.0 <= r1 / r10 <= 4.5
        pop["decile"] = geo.loc[pop["LSOA 2021 Code"], "imd_decile"].to_numpy()
        py = pop.groupby(pop["decile"] <= 2)["Total"].sum()
        py10 = pop.loc[pop["decile"] >= 9, "Total"].sum()
        for name in ("deaths.csv", "admissions.csv"):
            frame = area.files[name].copy()
            frame["decile"] = geo.loc[frame["small_area_code"].astype(str), "imd_decile"].to_numpy()
            high = frame.loc[frame["decile"] <= 2, "count"].sum() / py[True]
            low = frame.loc[frame["decile"] >= 9, "count"].sum() / py10
            assert high / low > 1.8, name


def test_capture_recapture_recovers_the_hidden_ocu_total(area):
    import statsmodels.api as sm

    ep = area.episodes[area.episodes["substance_group"].isin(OCU_GROUPS)]
    lists = {"treatment": set(_open_in_2024(ep)["client_id"])}
    for name in ("probation", "police_custody", "hospital"):
        frame = area.files[f"lists/{name}.csv"]
        lists[name] = set(frame.loc[frame["opiate_or_crack"] == "True", "client_id"])
    names = list(lists)
    seen = set().union(*lists.values())
    counts: dict[tuple, int] = {}
    for cid in seen:
        key = tuple(int(cid in lists[n]) for n in names)
        counts[key] = counts.get(key, 0) + 1
    rows = [list(k) + [counts.get(k, 0)] for k in itertools.product((0, 1), repeat=4) if any(k)]
    table = pd.DataFrame(rows, columns=names + ["n"])
    fit = sm.GLM(table["n"], sm.add_constant(table[names]), family=sm.families.Poisson()).fit()
    unseen = np.exp(fit.params["const"])
    # the unseen count has a ~7% standard error at these list sizes (~3% of the total):
    # the truth must lie within the 99.9% interval and within 10% of the estimate
    z = 3.29
    lo = len(seen) + np.exp(fit.params["const"] - z * fit.bse["const"])
    hi = len(seen) + np.exp(fit.params["const"] + z * fit.bse["const"])
    truth = area.truth["ocu_alive_2024"]
    assert lo <= truth <= hi, (len(seen) + unseen, truth)
    assert abs(len(seen) + unseen - truth) / truth < 0.1


# --------------------------------------------------------------------------- nulls
@pytest.mark.parametrize("characteristic", ["religion", "sexual_orientation", "disability",
                                            "gender_identity_same_as_sex", "marital_status"])
def test_no_difference_in_treatment_given_need(area, characteristic):
    people = _in_treatment(area, ("ocu", "alcohol", "non_opiate"))
    # test within need group, pooling rare categories into "other" to keep cells large
    for _, grp in people.groupby("group"):
        cats = grp[characteristic].where(
            grp[characteristic].map(grp[characteristic].value_counts()) >= 40, "_rare")
        table = pd.crosstab(cats, grp["tx"])
        if len(table) > 1:
            assert stats.chi2_contingency(table)[1] > 0.001, (characteristic, table)


def test_no_pregnancy_difference_in_treatment_given_need(area):
    """Pregnancy is recorded per episode at random (4% of women 15-44), never used to select."""
    ep = area.episodes
    women = ep[(ep["sex"] == "female") & ep["age"].between(15, 44)]
    share = (women["pregnant"] == "yes").mean()
    assert 0.02 <= share <= 0.07


def test_no_district_difference_in_successful_completion(area):
    ep = area.episodes
    done = ep[(ep["discharge_date"] != "") & (ep["young_person"] == "False")
              & (ep["small_area_code"] != "")].copy()
    geo = area.geography.set_index("small_area_code")
    unit = "district_name" if area.variant == "county" else "ward_name"
    done["unit"] = geo.loc[done["small_area_code"], unit].to_numpy()
    done["ok"] = done["discharge_reason"].isin(SUCCESS)
    for _, grp in done.groupby("substance_group", observed=True):
        table = pd.crosstab(grp["unit"], grp["ok"])
        table = table[table.sum(axis=1) >= 20]
        if len(table) > 1 and table.shape[1] == 2:
            assert stats.chi2_contingency(table)[1] > 0.001


def test_no_sex_difference_in_waiting_times(area):
    ep = area.episodes[area.episodes["triage_date"] != ""]
    wait = (pd.to_datetime(ep["triage_date"]) - pd.to_datetime(ep["referral_date"])).dt.days
    men, women = wait[ep["sex"] == "male"], wait[ep["sex"] == "female"]
    assert stats.mannwhitneyu(men, women).pvalue > 0.001
    assert abs(men.median() - women.median()) <= 1
