"""The prevalence chapter's analysis: capture records, unmet need, and the planted
disparities of the synthetic areas (found when planted, not flagged when not)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pandas as pd
import pytest

from needs_assessment.analysis import prevalence as prev
from needs_assessment.synthetic import PLANTED

GEOGRAPHY = pd.DataFrame(
    {
        "small_area_code": ["X01000001", "X01000002"],
        "small_area_name": ["A 1", "B 1"],
        "ward_code": ["X05000001", "X05000002"],
        "ward_name": ["Ward A", "Ward B"],
        "district_code": ["X07000001", "X07000002"],
        "district_name": ["District A", "District B"],
    }
)


def _episode(eid, client, *, triage, discharge=None, group="opiate_only", age=30, sex="male", sa="X01000001"):
    return {
        "episode_id": eid, "client_id": client, "referral_date": pd.Timestamp(triage),
        "triage_date": pd.Timestamp(triage), "discharge_date": pd.Timestamp(discharge) if discharge else pd.NaT,
        "substance_group": group, "age": age, "sex": sex, "small_area_code": sa, "ethnicity": "white",
        "young_person": False,
    }


def test_capture_records_take_each_person_once_per_list_within_the_year_and_ages():
    episodes = pd.DataFrame(
        [
            _episode("e1", "c1", triage="2023-06-01"),                       # in treatment through 2024
            _episode("e2", "c1", triage="2024-02-01"),                       # same person, second episode
            _episode("e3", "c2", triage="2024-03-01", group="alcohol_only"),  # not OCU
            _episode("e4", "c3", triage="2022-01-01", discharge="2023-05-01"),  # discharged before 2024
            _episode("e5", "c4", triage="2024-05-01", age=70),                # outside 15-64
            _episode("e6", "c5", triage="2024-05-01", sa="X01000002", sex="female"),
        ]
    )
    probation = pd.DataFrame(
        {
            "client_id": ["c1", "c1", "c9", "c8", "c7"],
            "event_date": pd.to_datetime(["2024-01-10", "2024-08-10", "2024-03-03", "2023-12-31", "2024-04-04"]),
            "age": [30, 30, 40, 40, 40],
            "sex": ["male", "male", "female", "male", "male"],
            "small_area_code": ["X01000001", "X01000001", "X01000002", "X01000001", None],
            "opiate_or_crack": [True, True, True, True, False],
        }
    )
    area = SimpleNamespace(treatment_episodes=episodes, linkable_lists={"probation": probation}, geography=GEOGRAPHY)
    records = prev.ocu_capture_records(area, 2024, level="district")
    by_list = records.groupby("list")["client_id"].apply(sorted).to_dict()
    assert by_list == {"treatment": ["c1", "c5"], "probation": ["c1", "c9"]}
    c5 = records.loc[records["client_id"] == "c5"].iloc[0]
    assert (c5["area_name"], c5["sex"], c5["age_group"]) == ("District B", "female", "25-34")


def test_unmet_need_table_compares_each_area_interval_with_the_area_value():
    estimates = pd.DataFrame(
        {
            "area_code": ["a", "b"],
            "area_name": ["A", "B"],
            "estimate": [1000.0, 400.0],
            "lower": [900.0, 380.0],
            "upper": [1100.0, 420.0],
        }
    )
    treated = pd.DataFrame({"area_code": ["a", "b"], "area_name": ["A", "B"], "in_treatment": [200, 300]})
    table = prev.unmet_need_table(
        treated, estimates, area_total={"in_treatment": 500, "estimate": 1400.0, "lower": 1300.0, "upper": 1500.0}
    )
    rows = table.set_index("area_code")
    # A: 1 - 200/1000 = 80%, interval 1-200/900 = 77.8% to 1-200/1100 = 81.8%; area 1-500/1400 = 64.3%
    assert rows.loc["a", "unmet_need"] == pytest.approx(0.8)
    assert rows.loc["a", "lower"] == pytest.approx(1 - 200 / 900)
    assert rows.loc["a", "comparison"] == "Worse"
    # B: 1 - 300/400 = 25%, interval 21.1% to 28.6%: below the area, so better
    assert rows.loc["b", "comparison"] == "Better"
    assert rows.loc["total", "unmet_need"] == pytest.approx(1 - 500 / 1400)


@pytest.fixture(scope="module")
def county(synthetic_params):
    from needs_assessment.data import load_area
    from needs_assessment.params import load_params

    params = load_params(synthetic_params("default"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area = load_area(params)
    result = prev.ocu_prevalence(area, params.period.end_year, level="district", n_boot=200)
    return params, area, result


def test_capture_recapture_interval_covers_the_true_hidden_total(county):
    from needs_assessment.synthetic import simulate_area

    params, _, result = county
    truth = simulate_area(params.data.synthetic.variant, params.data.synthetic.seed).truth
    true_total = truth["ocu_alive_2024"]
    assert result.overall.lower <= true_total <= result.overall.upper


def test_planted_high_unmet_need_district_is_found_and_no_other_is_flagged_worse(county):
    params, area, result = county
    year = params.period.end_year
    planted = PLANTED["county"]
    treated = prev.ocu_in_treatment_by_area(area, year, level="district")
    overall = result.overall
    table = prev.unmet_need_table(
        treated, result.by_area.loc[result.by_area["status"] == "estimated"],
        area_total={"in_treatment": int(treated["in_treatment"].sum()), "estimate": overall.estimate,
                    "lower": overall.lower, "upper": overall.upper},
    )
    worse = set(table.loc[table["comparison"] == "Worse", "area_name"])
    assert worse == {planted.low_penetration_area}


def test_women_have_significantly_higher_unmet_need(county):
    params, area, result = county
    groups = prev.unmet_need_by_group(area, result, params.period.end_year).set_index("group_code")
    assert groups.loc["female", "comparison"] == "Worse"
    assert groups.loc["male", "comparison"] in ("Better", "Similar")
