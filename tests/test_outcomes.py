"""Outcomes framework dashboard: definitions checked on small hand-made frames whose answers
are worked out by hand (successful completion and re-presentation, continuity of care,
neighbourhood crime basket, trend direction, comparator matching, absent data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from needs_assessment import stats
from needs_assessment.analysis import outcomes as oc
from needs_assessment.results import ResultsRecorder
from needs_assessment.sdc import DisclosureRules, protect_table

T = pd.Timestamp


# --------------------------------------------------------------------------- helpers
def episodes(rows):
    """rows: (episode_id, client_id, referral, triage, discharge, reason, group[, age, yp])"""
    out = []
    for r in rows:
        eid, cid, ref, tri, dis, reason, group, *rest = r
        age = rest[0] if rest else 35
        yp = rest[1] if len(rest) > 1 else False
        out.append({
            "episode_id": eid, "client_id": cid,
            "referral_date": T(ref), "triage_date": T(tri) if tri else pd.NaT,
            "discharge_date": T(dis) if dis else pd.NaT, "discharge_reason": reason,
            "substance_group": group, "age": age, "young_person": yp,
        })
    return pd.DataFrame(out)


def population(years, per_year=1000, age=30):
    return pd.DataFrame({
        "small_area_code": "X01000001", "year": list(years), "sex": "persons",
        "age": age, "age_band": "30-34", "population": per_year,
    })


# --------------------------------------------------------------------------- completions
def test_completed_and_represented_within_6_months_is_not_successful():
    # 3 adults in treatment for opiates in 2023; A completes on 1 March and is referred
    # again on 1 June (3 months later): 0 successful completions of 3.
    e = episodes([
        ("e1", "A", "2022-06-01", "2022-06-05", "2023-03-01", "completed_drug_free", "opiate_only"),
        ("e2", "A", "2023-06-01", "2023-06-03", None, None, "opiate_only"),
        ("e3", "B", "2022-01-10", "2022-01-12", None, None, "opiate_and_crack"),
        ("e4", "C", "2022-02-01", "2022-02-02", "2023-05-01", "dropped_out", "opiate_only"),
    ])
    flags = oc.completion_flags(e, 2023)
    assert len(flags) == 3
    assert flags["completed"].sum() == 1
    assert flags["successful"].sum() == 0
    table = oc.successful_completions(e, [2023])
    opiate = table.loc[table["broad_group"] == "opiate"].iloc[0]
    assert (opiate["in_treatment"], opiate["successful"], opiate["value"]) == (3, 0, 0.0)


def test_represented_after_6_months_counts_as_successful():
    # A returns on 15 October, more than 6 months after the 1 March discharge: 1 of 3.
    e = episodes([
        ("e1", "A", "2022-06-01", "2022-06-05", "2023-03-01", "completed_drug_free", "opiate_only"),
        ("e2", "A", "2023-10-15", "2023-10-20", None, None, "opiate_only"),
        ("e3", "B", "2022-01-10", "2022-01-12", None, None, "opiate_and_crack"),
        ("e4", "C", "2022-02-01", "2022-02-02", "2023-05-01", "dropped_out", "opiate_only"),
    ])
    table = oc.successful_completions(e, [2023])
    opiate = table.loc[table["broad_group"] == "opiate"].iloc[0]
    assert (opiate["in_treatment"], opiate["successful"]) == (3, 1)
    assert opiate["value"] == pytest.approx(100 / 3)
    expected = stats.proportion(1, 3)
    assert opiate["lower"] == pytest.approx(expected["lower"].iloc[0])


def test_representation_boundary_is_inclusive_at_6_months():
    # referral exactly 6 calendar months after discharge (1 March -> 1 September) re-presents
    e = episodes([
        ("e1", "A", "2022-06-01", "2022-06-05", "2023-03-01", "completed_alcohol_free", "alcohol_only"),
        ("e2", "A", "2023-09-01", "2023-09-03", None, None, "alcohol_only"),
    ])
    assert oc.completion_flags(e, 2023)["successful"].sum() == 0
    e.loc[1, ["referral_date", "triage_date"]] = [T("2023-09-02"), T("2023-09-04")]
    assert oc.completion_flags(e, 2023)["successful"].sum() == 1


def test_other_episode_still_open_at_discharge_is_not_a_successful_exit():
    e = episodes([
        ("e1", "A", "2022-06-01", "2022-06-05", "2023-03-01", "completed_drug_free", "non_opiate_only"),
        ("e2", "A", "2022-12-01", "2022-12-05", None, None, "non_opiate_only"),
    ])
    flags = oc.completion_flags(e, 2023)
    assert flags["completed"].sum() == 1 and flags["successful"].sum() == 0


def test_second_clean_completion_in_year_counts_once():
    # completes in Feb (re-presents in March), completes again in Aug and stays out: 1 person
    e = episodes([
        ("e1", "A", "2022-06-01", "2022-06-05", "2023-02-01", "completed_drug_free", "crack_only"),
        ("e2", "A", "2023-03-01", "2023-03-02", "2023-08-01", "completed_occasional_user", "crack_only"),
    ])
    flags = oc.completion_flags(e, 2023)
    assert len(flags) == 1 and flags["successful"].sum() == 1
    assert flags["broad_group"].iloc[0] == "non_opiate"  # crack only is non-opiate


def test_completion_definition_groups_year_and_people():
    e = episodes([
        # completed in 2022: in treatment in 2023? no (discharged before 2023) -> not counted
        ("e1", "A", "2021-06-01", "2021-06-05", "2022-11-01", "completed_drug_free", "opiate_only"),
        # alcohol and non-opiate: non-opiate group; completes in 2023
        ("e2", "B", "2023-01-10", "2023-01-12", "2023-04-01", "completed_drug_free", "non_opiate_and_alcohol"),
        # alcohol only, success reason other than completion -> not successful
        ("e3", "C", "2023-02-01", "2023-02-02", "2023-06-01", "transferred_not_in_custody", "alcohol_only"),
        # alcohol only, completed
        ("e4", "D", "2023-02-01", "2023-02-02", "2023-07-01", "completed_alcohol_free", "alcohol_only"),
        # young person's completion: not an adult, excluded everywhere
        ("e5", "E", "2023-02-01", "2023-02-02", "2023-07-01", "completed_drug_free", "non_opiate_only", 16, True),
        # referred but never triaged: not in treatment
        ("e6", "F", "2023-03-01", None, "2023-03-20", "declined", "alcohol_only"),
    ])
    t = oc.successful_completions(e, [2023]).set_index("broad_group")
    assert t.loc["opiate", "in_treatment"] == 0 and np.isnan(t.loc["opiate", "value"])
    assert (t.loc["non_opiate", "in_treatment"], t.loc["non_opiate", "successful"]) == (1, 1)
    assert (t.loc["alcohol", "in_treatment"], t.loc["alcohol", "successful"]) == (2, 1)
    assert t.loc["alcohol", "value"] == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("extract", "year"),
    [("2025-03-31", 2023), ("2025-06-30", 2024), ("2025-06-29", 2023), ("2024-12-31", 2023)],
)
def test_latest_year_with_6_months_follow_up(extract, year):
    assert oc.latest_follow_up_year(T(extract)) == year


def test_extract_date_and_complete_treatment_years():
    e = episodes([
        ("e1", "A", "2019-01-01", "2019-01-05", "2024-03-01", "dropped_out", "opiate_only"),
        ("e2", "B", "2024-12-20", None, None, None, "opiate_only"),
    ])
    assert oc.extract_date(e) == T("2024-12-20")
    assert oc.complete_treatment_years(e, last_year=2024) == [2022, 2023, 2024]
    e.loc[0, "referral_date"] = T("2019-03-05")  # extract starts part-way through 2019
    assert oc.complete_treatment_years(e, last_year=2024) == [2023, 2024]


# --------------------------------------------------------------------------- continuity of care
def test_continuity_of_care_21_day_window():
    releases = pd.DataFrame({
        "client_id": ["A", "B", "C", "D", "E"],
        "release_date": [T("2023-05-01")] * 4 + [T("2023-04-02")],  # data start with FY 2023/24
        "substance_group": "opiate_only",
    })
    e = episodes([
        ("e1", "A", "2023-05-15", "2023-05-20", None, None, "opiate_only"),   # 19 days: yes
        ("e2", "B", "2023-05-20", "2023-05-23", None, None, "opiate_only"),   # 22 days: no
        ("e3", "C", "2023-04-01", "2023-04-20", None, None, "opiate_only"),   # before release: no
        ("e4", "D", "2023-05-20", "2023-05-22", None, None, "opiate_only"),   # exactly 21: yes
        ("e5", "Z", "2023-05-02", "2023-05-03", None, None, "opiate_only"),   # someone else
        ("e6", "Z", "2024-06-01", "2024-06-01", None, None, "opiate_only"),   # extract runs to June 2024
    ])
    flags = oc.continuity_flags(releases, e)
    assert flags.set_index("client_id")["engaged"].to_dict() == {
        "A": True, "B": False, "C": False, "D": True, "E": False}
    series = oc.continuity_series(releases, e)
    assert series["period"].tolist() == ["2023/24"]
    assert (series["count"].iloc[0], series["denominator"].iloc[0]) == (2, 5)
    assert series["value"].iloc[0] == pytest.approx(40.0)


def test_continuity_needs_21_days_follow_up_after_the_financial_year():
    releases = pd.DataFrame({"client_id": ["A"], "release_date": [T("2023-04-03")],
                             "substance_group": "alcohol_only"})
    e = episodes([("e1", "A", "2023-04-05", "2023-04-06", None, None, "alcohol_only"),
                  ("e2", "Z", "2024-04-15", None, None, None, "alcohol_only")])
    # FY 2023/24 ends 31 March 2024; 21 days later is 21 April, after the extract (15 April)
    assert oc.continuity_series(releases, e).empty
    e.loc[1, "referral_date"] = T("2024-04-21")
    assert oc.continuity_series(releases, e)["period"].tolist() == ["2023/24"]


# --------------------------------------------------------------------------- crime
def _toy_crime():
    rows = []
    def add(month, ctype, n, in_area=True):
        rows.extend({"crime_id": "x", "month": T(month), "crime_type": ctype,
                     "small_area_code": "X01000001", "in_area": in_area} for _ in range(n))
    for year in (2022, 2023):
        for m in range(1, 13):
            add(f"{year}-{m:02d}-01", "Shoplifting", 1)  # every month present
    add("2022-01-01", "Burglary", 2)
    add("2022-01-01", "Robbery", 1)
    add("2022-01-01", "Theft from the person", 1)
    add("2022-02-01", "Vehicle crime", 3)
    add("2022-02-01", "Drugs", 2)
    add("2022-02-01", "Anti-social behaviour", 4)
    add("2022-02-01", "Bicycle theft", 1)
    add("2022-02-01", "Other theft", 1)
    add("2022-02-01", "Possession of weapons", 1)
    add("2022-02-01", "Burglary", 5, in_area=False)  # outside the area: ignored
    add("2023-03-01", "Vehicle crime", 1)
    add("2023-03-01", "Drugs", 1)
    frame = pd.DataFrame(rows)
    frame["in_area"] = frame["in_area"].astype("boolean")
    return frame


def test_neighbourhood_crime_basket_on_police_uk_rows():
    basket = oc.neighbourhood_crime(_toy_crime(), by="year").set_index("year")
    # 2022: burglary 2 + robbery 1 + theft from the person 1 + vehicle crime 3 = 7
    assert basket.loc[2022, "neighbourhood_crime"] == 7
    assert basket.loc[2022, "Burglary"] == 2  # the 5 out-of-area burglaries are not counted
    assert basket.loc[2023, "neighbourhood_crime"] == 1
    monthly = oc.neighbourhood_crime(_toy_crime(), by="month").set_index("month")
    assert monthly.loc[T("2022-01-01"), "neighbourhood_crime"] == 4
    assert monthly.loc[T("2022-02-01"), "neighbourhood_crime"] == 3


def test_crime_series_rates_and_share():
    s = oc.crime_series(_toy_crime(), population([2022, 2023], per_year=2000))
    nc = s["neighbourhood_crime_rate"].set_index("period")
    assert nc.loc["2022", "count"] == 7 and nc.loc["2022", "value"] == pytest.approx(7 / 2000 * 1000)
    drugs = s["drug_offences_rate"].set_index("period")
    assert drugs.loc["2023", "value"] == pytest.approx(0.5)
    share = s["drug_offences_share"].set_index("period")
    # 2022 crimes excluding ASB: 12 shoplifting + 7 basket + 2 drugs + bicycle + other theft + weapons = 24
    assert share.loc["2022", "denominator"] == 24
    assert share.loc["2022", "value"] == pytest.approx(2 / 24 * 100)
    weapons = s["weapons_possession_rate"].set_index("period")
    assert weapons.loc["2022", "count"] == 1 and weapons.loc["2023", "count"] == 0


def test_incomplete_crime_years_are_left_out():
    crime = _toy_crime()
    crime = crime.loc[crime["month"] != T("2023-12-01")]
    assert oc.complete_crime_years(crime) == [2022]


# --------------------------------------------------------------------------- trends
def _series(counts, denominators, kind_years=None):
    years = kind_years or list(range(2018, 2018 + len(counts)))
    return pd.DataFrame({"metric": "m", "period": [str(y) for y in years], "x": years,
                         "count": counts, "denominator": denominators})


@pytest.mark.parametrize(
    ("counts", "kind", "direction"),
    [
        ([100, 150, 200, 250, 300], "rate", "increasing"),
        ([300, 250, 200, 150, 100], "rate", "decreasing"),
        ([200, 200, 200, 200, 200], "rate", "no significant change"),
        ([10, 20, 30, 40, 50], "proportion", "increasing"),
    ],
)
def test_trend_direction_on_toy_series(counts, kind, direction):
    t = oc.describe_trend(_series(counts, [100_000] * 5 if kind == "rate" else [100] * 5), kind=kind)
    assert t["direction"] == direction
    assert t["text"].startswith(direction)


def test_trend_not_assessed_with_two_periods():
    t = oc.describe_trend(_series([10, 20], [100, 100]), kind="proportion")
    assert t["direction"] == "not assessed" and "3 or more" in t["text"]


def test_noisy_series_is_not_read_as_a_trend():
    # zig-zag far wider than Poisson noise, with a small drift: a plain Poisson test calls it
    # increasing, the dashboard (Pearson-scaled) does not
    s = _series([100, 300, 110, 310, 120, 320], [100_000] * 6)
    plain = stats.trend_test(s["x"], s["count"], s["denominator"], kind="rate")
    assert plain["direction"] == "increasing"
    assert oc.describe_trend(s, kind="rate")["direction"] == "no significant change"


def test_trend_words_use_polarity():
    assert oc.trend_phrase({"direction": "increasing"}, "low_is_good") == "Increasing: getting worse"
    assert oc.trend_phrase({"direction": "increasing"}, "high_is_good") == "Increasing: improving"
    assert oc.trend_phrase({"direction": "decreasing"}, "no_judgement") == "Decreasing"
    assert oc.trend_phrase({"direction": "not assessed"}, "low_is_good") == "Not assessed"


# --------------------------------------------------------------------------- comparators
def _fingertips(rows):
    cols = ["indicator_id", "indicator_name", "area_code", "area_name", "area_type", "sex",
            "age", "category_type", "category", "time_period", "value", "lower_ci95", "upper_ci95",
            "count", "denominator", "value_note"]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])


COMPARATORS = _fingertips([
    (92432, "Deaths from drug misuse", "E92000001", "England", "England", "persons", "All ages", None, None, "2020 - 22", 5.2, 5.1, 5.3, 1, 1, None),
    (92432, "Deaths from drug misuse", "E92000001", "England", "England", "persons", "All ages", None, None, "2021 - 23", 5.5, 5.4, 5.6, 1, 1, None),
    (92432, "Deaths from drug misuse", "E92000001", "England", "England", "male", "All ages", None, None, "2021 - 23", 8.0, 7.9, 8.1, 1, 1, None),
    (92432, "Deaths from drug misuse", "E92000001", "England", "England", "persons", "All ages", "Deprivation", "Most deprived", "2021 - 23", 11.0, 10.0, 12.0, 1, 1, None),
    (92432, "Deaths from drug misuse", "X12000001", "Somewhere", "Region", "persons", "All ages", None, None, "2021 - 23", 6.6, 6.2, 7.0, 1, 1, None),
    (9000001, "Adults with substance misuse treatment need who successfully engage in community-based structured treatment following release from prison", "E92000001", "England", "England", "persons", "18+", None, None, "2022/23", 40.7, 40.2, 41.2, 1, 1, None),
    (90245, "Successful completion of drug treatment: non-opiate users", "E92000001", "England", "England", "persons", "18+", None, None, "2023", 30.5, 30.1, 30.9, 1, 1, None),
])


def test_comparators_matched_by_id_latest_persons_whole_population():
    comps = oc.find_comparators(COMPARATORS, oc.METRICS["drug_misuse_deaths_dsr"], region_code="X12000001")
    assert comps["England"]["value"] == 5.5 and comps["England"]["period"] == "2021 - 23"
    assert comps["England"]["x"] == 2023
    assert comps["Region"]["value"] == 6.6 and comps["Region"]["label"] == "Somewhere"


def test_comparators_matched_by_name_and_not_confused():
    cc = oc.find_comparators(COMPARATORS, oc.METRICS["continuity_of_care"])
    assert cc["England"]["value"] == 40.7 and cc["England"]["x"] == 2022
    # "non-opiate users" contains "opiate users": the opiate measure must not take it
    opiate = oc.find_comparators(COMPARATORS, oc.METRICS["successful_completion.opiate"])
    assert opiate["England"] is None
    non_opiate = oc.find_comparators(COMPARATORS, oc.METRICS["successful_completion.non_opiate"])
    assert non_opiate["England"]["value"] == 30.5
    assert oc.find_comparators(None, oc.METRICS["drug_misuse_deaths_dsr"]) == {"England": None, "Region": None}


@pytest.mark.parametrize(("key", "expected"), [
    ("drug_misuse_deaths_dsr", "Worse"),  # low is good: interval 6.0-7.0 above 5.5
    ("continuity_of_care", "Worse"),  # high is good: interval 20-25 below 40.7
])
def test_comparison_uses_polarity(key, expected):
    values = {"drug_misuse_deaths_dsr": (6.5, 6.0, 7.0), "continuity_of_care": (22.0, 20.0, 25.0)}[key]
    series = pd.DataFrame({"metric": key, "period": ["2023"], "x": [2023.0], "count": [50.0],
                           "denominator": [100.0], "value": [values[0]], "lower": [values[1]],
                           "upper": [values[2]]})
    r = oc.metric_result(oc.METRICS[key], series, comparators=COMPARATORS, region_code="X12000001")
    assert r.vs_england == expected


# --------------------------------------------------------------------------- recording, SDC
def test_indicator_fields_and_recording(tmp_path):
    series = _series([10, 20, 30, 40, 50], [100, 100, 100, 100, 100])
    prop = stats.proportion(series["count"], series["denominator"])
    series[["value", "lower", "upper"]] = prop.to_numpy()
    series["metric"] = "continuity_of_care"
    r = oc.metric_result(oc.METRICS["continuity_of_care"], series, comparators=COMPARATORS)
    rec = ResultsRecorder(tmp_path, "outcomes")

    class P:  # minimal params
        class data:
            synthetic = None

        class area:
            illustrative_records = False

    keys = oc.record_indicators(rec, [r], area_name="Toy", confidence=0.95, params=P)
    assert keys == ["outcomes.continuity_of_care"]
    saved = json.loads((tmp_path / "results" / "outcomes.json").read_text())["indicators"][0]
    assert saved["value"] == pytest.approx(50.0) and saved["unit"] == "%"
    assert saved["polarity"] == "high_is_good"
    assert saved["outcome"] == "Increase engagement in drug and alcohol treatment"
    assert saved["tags"]["trend"].startswith("increasing (p")
    assert saved["comparisons"][0]["label"] == "England"
    # 50 of 100: Wilson 95% interval 40.4% to 59.6% contains England's 40.7%
    assert saved["comparisons"][0]["result"] == "Similar"
    assert saved["source_kind"] == "derived"


def test_small_counts_are_suppressed_in_the_dashboard_table():
    small = pd.DataFrame({"metric": "deaths_in_treatment", "period": ["2022", "2023", "2024"],
                          "x": [2022.0, 2023.0, 2024.0], "count": [6.0, 5.0, 3.0],
                          "denominator": [900.0, 950.0, 1000.0]})
    small[["value", "lower", "upper"]] = stats.proportion(small["count"], small["denominator"]).to_numpy()
    big = small.assign(metric="continuity_of_care", count=[80.0, 85.0, 90.0])
    big[["value", "lower", "upper"]] = stats.proportion(big["count"], big["denominator"]).to_numpy()
    results = [oc.metric_result(oc.METRICS["deaths_in_treatment"], small),
               oc.metric_result(oc.METRICS["continuity_of_care"], big)]
    frame = oc.summary_frame(results)
    protected = protect_table(frame, oc.summary_spec(0.95), DisclosureRules(threshold=5))
    mask = protected.mask.set_index(frame["Metric"])
    assert mask.loc["Deaths in treatment", oc.SUMMARY_COUNT]
    assert mask.loc["Deaths in treatment", oc.SUMMARY_VALUE]
    assert not mask.loc["Continuity of care after prison", oc.SUMMARY_VALUE]
    # the trend table hides the small year and a complement within the same measure
    trend = oc.trend_table(results)
    protected = protect_table(trend, oc.trend_spec(0.95), DisclosureRules(threshold=5))
    hidden = protected.mask[oc.TREND_COUNT].groupby(trend["Metric"]).sum()
    assert hidden["Deaths in treatment"] >= 2 and hidden["Continuity of care after prison"] == 0


def test_at_a_glance_uses_words_not_colour():
    series = pd.DataFrame({"metric": "continuity_of_care", "period": ["2023"], "x": [2023.0],
                           "count": [22.0], "denominator": [100.0], "value": [22.0],
                           "lower": [15.0], "upper": [31.0]})
    r = oc.metric_result(oc.METRICS["continuity_of_care"], series, comparators=COMPARATORS)
    glance = oc.at_a_glance(oc.summary_frame([r]), [r])
    row = glance.iloc[0]
    assert row["Compared with England"] == "Worse than England"
    assert row["Our area"] == "22.0%" and row["England"] == "40.7%"
    assert row["Trend"] == "Not assessed"
    assert "Significantly worse than England: Continuity of care after prison." in oc.key_messages([r])


def test_prevalence_reference_reads_only_what_was_recorded(tmp_path):
    assert oc.prevalence_reference(None) is None
    assert oc.prevalence_reference(tmp_path) is None
    rec = ResultsRecorder(tmp_path, "prevalence")
    rec.indicator("prevalence.ocu_rate", label="OCU prevalence", value=9.1, unit="per 1,000",
                  period="2024", area="Toy", lower=8.0, upper=10.5)
    rec.indicator("prevalence.ocu_rate.X07000001", label="OCU prevalence, district", value=12.0,
                  unit="per 1,000", period="2024", area="Toy")
    ref = oc.prevalence_reference(tmp_path)
    assert ref["key"] == "prevalence.ocu_rate" and ref["value"] == 9.1


def test_like_for_like_comparison_when_our_series_has_englands_period():
    # latest local period 2024 is "Similar"; in England's period (2023) the interval is above it
    series = pd.DataFrame({"metric": "alcohol_specific_deaths_dsr", "period": ["2023", "2024"],
                           "x": [2023.0, 2024.0], "count": [100.0, 90.0], "denominator": [1e5, 1e5],
                           "value": [19.0, 17.0], "lower": [16.0, 14.0], "upper": [22.0, 20.0]})
    comps = _fingertips([(91380, "Alcohol-specific mortality", "E92000001", "England", "England",
                          "persons", "All ages", None, None, "2023", 15.0, 14.7, 15.3, 1, 1, None)])
    r = oc.metric_result(oc.METRICS["alcohol_specific_deaths_dsr"], series, comparators=comps)
    assert r.vs_england == "Similar"
    assert r.england_same_period == {"period": "2023", "value": 19.0, "lower": 16.0, "upper": 22.0,
                                     "result": "Worse"}
    assert "in England's period (2023) our value was 19.0 per 100,000, worse than England" in oc.sentence(r)
