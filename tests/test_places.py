"""Places chapter analysis on small hand-made frames whose answers are worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from needs_assessment.analysis import places as pl
from needs_assessment.results import ResultsRecorder
from needs_assessment.sdc import DisclosureRules

ESP = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
       7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000]  # fmt: skip
BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]


def ctx(**kw) -> pl.Places:
    base = dict(level="district", area_code="X10000001", area_name="Testshire",
                years=(2023, 2024), confidence=0.95, min_count=1)
    base.update(kw)
    return pl.Places(**base)


@pytest.fixture()
def geography() -> pd.DataFrame:
    return pd.DataFrame({
        "small_area_code": ["X01000001", "X01000002"],
        "small_area_name": ["A 001", "B 001"],
        "ward_code": ["X05000001", "X05000002"], "ward_name": ["Wa", "Wb"],
        "district_code": ["X07000001", "X07000002"], "district_name": ["Alpha", "Beta"],
        "upper_tier_code": "X10000001", "upper_tier_name": "Testshire",
        "imd_score": [40.0, 5.0], "imd_rank": [100, 30000], "imd_decile": [1, 10],
    })


# ------------------------------------------------------------------ treatment rates
def _episode(eid, client, sa, triage, discharge=None, age=30, yp=False, group="opiate_only"):
    return {"episode_id": eid, "client_id": client, "small_area_code": sa,
            "referral_date": pd.Timestamp(triage) - pd.Timedelta(days=5),
            "triage_date": pd.Timestamp(triage),
            "discharge_date": pd.Timestamp(discharge) if discharge else pd.NaT,
            "age": age, "young_person": yp, "substance_group": group}


@pytest.fixture()
def episodes() -> pd.DataFrame:
    rows = [
        _episode("e1", "c1", "X01000001", "2024-03-01"),
        _episode("e2", "c2", "X01000001", "2023-06-01", "2024-02-01", group="alcohol_only"),
        _episode("e3", "c2", "X01000001", "2024-05-01", group="alcohol_only"),  # same person
        _episode("e4", "c3", "X01000002", "2022-01-01"),  # open since 2022
        _episode("e5", "c4", None, "2024-07-01"),  # no fixed abode
        _episode("e6", "c5", "X01000002", "2022-01-01", "2023-12-31"),  # left before 2024
        _episode("e7", "c6", "X01000002", "2024-01-10", age=16, yp=True),  # young person
        _episode("e8", "c7", "X01000002", "2025-01-02"),  # starts after 2024
    ]
    return pd.DataFrame(rows)


@pytest.fixture()
def adult_population() -> pd.DataFrame:
    # 1,000 adults in Alpha, 2,000 in Beta (plus children, who do not count)
    rows = [("X01000001", 2024, "male", 30, "30-34", 1000), ("X01000001", 2024, "male", 10, "10-14", 500),
            ("X01000002", 2024, "male", 40, "40-44", 2000), ("X01000002", 2024, "male", 17, "15-19", 300)]
    return pd.DataFrame(rows, columns=["small_area_code", "year", "sex", "age", "age_band", "population"]).astype(
        {"age": "Int16"})


def test_treatment_rates_by_hand(episodes, adult_population, geography):
    out = pl.treatment_rates(episodes, adult_population, geography, ctx(years=(2024,)))
    all_ = out[out["group"] == "all"].set_index("area_name")
    # Alpha: c1, c2 (once) = 2 of 1,000 adults; Beta: c3 = 1 of 2,000; NFA: c4; total 4 of 3,000
    assert all_.loc["Alpha", "count"] == 2
    assert all_.loc["Beta", "count"] == 1
    assert all_.loc[pl.NOT_KNOWN, "count"] == 1
    assert all_.loc["Testshire", "count"] == 4
    assert all_.loc["Alpha", "value"] == pytest.approx(200.0)
    assert all_.loc["Beta", "value"] == pytest.approx(50.0)
    assert all_.loc["Testshire", "value"] == pytest.approx(4 / 3000 * 1e5)
    # exact Poisson 95% limits of 2 events: 0.2422 and 7.2247 (standard tables)
    assert all_.loc["Alpha", "lower"] == pytest.approx(24.22, abs=0.01)
    assert all_.loc["Alpha", "upper"] == pytest.approx(722.47, abs=0.01)
    # sub-areas are compared with residents with a known address: 3 per 3,000 = 100
    assert all_.loc["Alpha", "benchmark"] == pytest.approx(100.0)
    assert all_.loc["Alpha", "comparison"] == "Similar"
    ocu = out[out["group"] == "ocu"].set_index("area_name")
    alcohol = out[out["group"] == "alcohol"].set_index("area_name")
    assert ocu.loc["Alpha", "count"] == 1 and alcohol.loc["Alpha", "count"] == 1
    assert ocu.loc["Testshire", "count"] == 3  # c1, c3, c4


def test_treatment_rates_not_calculated_below_min_count(episodes, adult_population, geography):
    out = pl.treatment_rates(episodes, adult_population, geography, ctx(years=(2024,), min_count=10))
    alpha = out[(out["group"] == "all") & (out["area_name"] == "Alpha")].iloc[0]
    assert np.isnan(alpha["value"])
    assert alpha["note"] == "Not calculated: fewer than 10 people"
    assert alpha["comparison"] == "Not compared"


def test_treatment_rates_absent():
    assert pl.treatment_rates(None, None, pd.DataFrame(), ctx()) is None


# --------------------------------------------------- pooled DSR and standardised ratio
@pytest.fixture()
def banded_population() -> pd.DataFrame:
    rows = [(sa, y, "persons", b, 1000) for sa in ("X01000001", "X01000002")
            for y in (2023, 2024) for b in BANDS]
    return pd.DataFrame(rows, columns=["small_area_code", "year", "sex", "age_band", "population"]).assign(
        age=pd.NA)


@pytest.fixture()
def deaths() -> pd.DataFrame:
    rows = [(2023, "X01000001", "persons", b, "drug_misuse", 1) for b in BANDS]  # 19 in Alpha
    rows += [(2024, "X01000002", "persons", b, "drug_misuse", 1) for b in BANDS[:5]]  # 5 in Beta
    rows += [(2021, "X01000002", "persons", "40-44", "drug_misuse", 7)]  # outside the period
    rows += [(2024, "X01000002", "persons", "40-44", "alcohol_specific", 3)]
    return pd.DataFrame(rows, columns=["year", "small_area_code", "sex", "age_band", "cause", "count"])


def test_pooled_dsr_and_ratio_by_hand(deaths, banded_population, geography):
    out = pl.standardised_rates(deaths, banded_population, geography, ctx(),
                                column="cause", codes={"drug_misuse": "Drug misuse"})
    by = out.set_index("area_name")
    # Alpha: 1 death per band over 2,000 person-years in every band -> 50 per 100,000
    assert by.loc["Alpha", "count"] == 19
    assert by.loc["Alpha", "value"] == pytest.approx(50.0)
    # Beta: 5 deaths -> not calculated (fewer than 10), as Fingertips
    assert by.loc["Beta", "count"] == 5
    assert np.isnan(by.loc["Beta", "value"])
    assert by.loc["Beta", "note"] == "Not calculated: fewer than 10 deaths"
    # Whole area: 2 deaths per 4,000 in the five youngest bands (ESP 27,500), 1 in the rest
    assert sum(ESP) == 100_000 and sum(ESP[:5]) == 27_500
    expected = (sum(ESP) + sum(ESP[:5])) / 4000 / sum(ESP) * 1e5
    assert by.loc["Testshire", "value"] == pytest.approx(expected)
    # Person-years: 19 bands x 1,000 x 2 years each
    assert by.loc["Alpha", "population"] == 38_000
    # Standardised ratio against the whole area's band rates:
    # expected Alpha = 5 x 2000 x 2/4000 + 14 x 2000 x 1/4000 = 12
    assert by.loc["Alpha", "expected"] == pytest.approx(12.0)
    assert by.loc["Alpha", "ratio"] == pytest.approx(19 / 12 * 100)
    assert by.loc["Beta", "ratio"] == pytest.approx(5 / 12 * 100)
    assert by.loc["Testshire", "ratio"] == 100


def test_pooled_dsr_comparison_uses_low_is_good(banded_population, geography):
    # Alpha 100 deaths per band-year cell pattern -> far above the area
    rows = [(2024, "X01000001", "persons", b, "drug_misuse", 20) for b in BANDS]
    rows += [(2024, "X01000002", "persons", b, "drug_misuse", 1) for b in BANDS]
    d = pd.DataFrame(rows, columns=["year", "small_area_code", "sex", "age_band", "cause", "count"])
    out = pl.standardised_rates(d, banded_population, geography, ctx(),
                                column="cause", codes={"drug_misuse": "Drug misuse"}).set_index("area_name")
    assert out.loc["Alpha", "comparison"] == "Worse"
    assert out.loc["Beta", "comparison"] == "Better"


# --------------------------------------------------------------------- drug offences
def test_drug_offence_rates_by_hand(geography):
    pop = pd.DataFrame({"small_area_code": ["X01000001", "X01000002"] * 2,
                        "year": [2023, 2023, 2024, 2024], "sex": "persons",
                        "age": pd.array([30, 30, 30, 30], dtype="Int16"), "age_band": "30-34",
                        "population": [1000, 2000, 1000, 2000]})
    crime = pd.DataFrame({
        "month": pd.to_datetime(["2023-01-01"] * 4 + ["2024-06-01"] * 3 + ["2022-12-01", "2024-01-01"]),
        "small_area_code": ["X01000001"] * 3 + ["X01000002"] + ["X01000002"] * 3 + ["X01000001", "E01000001"],
        "crime_type": ["Drugs", "Drugs", "Burglary", "Drugs", "Drugs", "Drugs", "Violence and sexual offences",
                       "Drugs", "Drugs"],
        "in_area": [True] * 8 + [False],
    })
    out = pl.drug_offence_rates(crime, pop, geography, ctx()).set_index("area_name")
    # Alpha: 2 drug offences / 2,000 person-years = 1.0 per 1,000 a year
    assert out.loc["Alpha", "count"] == 2
    assert out.loc["Alpha", "value"] == pytest.approx(1.0)
    # Beta: 3 / 4,000 = 0.75; the out-of-area row and the 2022 row are excluded
    assert out.loc["Beta", "count"] == 3
    assert out.loc["Beta", "value"] == pytest.approx(0.75)
    assert out.loc["Testshire", "count"] == 5
    assert out.loc["Testshire", "value"] == pytest.approx(5 / 6000 * 1000)


def test_drug_offences_absent_path(geography):
    assert pl.drug_offence_rates(None, pd.DataFrame(), geography, ctx()) is None

    class NoCrime:
        def has(self, name):
            return name != "crime"

    messages = pl.absent_messages(NoCrime())
    assert set(messages) == {"offences"}
    assert "police.uk" in messages["offences"]


# ------------------------------------------------------------------------ comparators
def test_comparator_matching():
    frame = pd.DataFrame({
        "indicator_id": [92432, 92432, 92432, 92432, 1],
        "indicator_name": ["Deaths from drug misuse"] * 4 + ["Something else"],
        "area_code": ["E92000001", "E92000001", "E92000001", "X12000001", "E92000001"],
        "area_name": ["England", "England", "England", "Region X", "England"],
        "area_type": ["England", "England", "England", "Region", "England"],
        "sex": "persons", "age": "All ages",
        "category_type": [None, None, "Deprivation", None, None],
        "category": [None, None, "Most deprived decile", None, None],
        "time_period": ["2018 - 20", "2021 - 23", "2021 - 23", "2021 - 23", "2021 - 23"],
        "value": [4.7, 5.5, 11.0, 6.6, 99.0],
        "lower_ci95": [4.6, 5.4, 10.0, 6.2, 98], "upper_ci95": [4.8, 5.6, 12.0, 7.0, 100],
    })
    m = pl.MEASURES["drug_misuse_deaths"]
    found = pl.comparator_for(frame, m, region_code="X12000001")
    assert found["England"]["value"] == 5.5  # latest period, whole population only
    assert found["England"]["time_period"] == "2021 - 23"
    assert found["region"]["value"] == 6.6
    # name fallback when the id differs
    renamed = frame.assign(indicator_id=[7, 7, 7, 7, 1])
    assert pl.comparator_for(renamed, m)["England"]["value"] == 5.5
    assert pl.comparator_for(frame, pl.MEASURES["drug_offences"]) == {}
    comps = pl.england_comparisons(frame, m, ctx(region_code="X12000001"), lower=6.0, upper=8.0,
                                   local_period="2022-2024")
    assert [c["result"] for c in comps] == ["Worse", "Similar"]


# ---------------------------------------------------------------- quantiles and funnels
def test_local_fifths_equal_population():
    geo = pd.DataFrame({"small_area_code": [f"S{i}" for i in range(10)],
                        "imd_score": np.arange(10, 0, -1, dtype=float), "imd_decile": [1] * 10})
    q = pl._quantiles(geo, pd.Series(100.0, index=geo["small_area_code"]), "local_quintile")
    # most deprived (highest score) first, two small areas per fifth
    assert q.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    national = pl._quantiles(geo.assign(imd_decile=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), None, "national_quintile")
    assert national.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_quantile_usable_rules():
    ok = pd.DataFrame({"count": [5] * 5, "population": [100] * 5})
    assert pl._usable(ok, 5) is None
    assert "fewer than 5 events" in pl._usable(ok.assign(count=[5, 5, 4, 5, 5]), 5)
    assert "only 4 quantiles" in pl._usable(ok.iloc[:4], 5)


def test_funnel_baseline_and_flags():
    rows = pd.DataFrame({"row": ["sub_area"] * 4 + ["total"], "area_code": list("abcde"),
                         "area_name": list("ABCDE"), "count": [30, 90, 40, 20, 180],
                         "population": [1e4, 1.2e4, 1.1e4, 0.9e4, 4.2e4]})
    points, limits = pl.funnel_data(rows, kind="rate", multiplier=1000)
    assert len(points) == 4  # the total row is not a point
    assert limits["baseline"].iloc[0] == pytest.approx(180 / 42_000 * 1000)
    # B (7.5 per 1,000 against 4.3) is far above; its point sits above the 99.8% limit
    b = points.set_index("area_name").loc["B"]
    assert b["significance"] == "High (0.001)"
    upper = np.interp(b["x"], limits["x"], limits["upper_998"])
    assert b["y"] > upper


# --------------------------------------------------- tables, disclosure and indicators
def test_suppressed_counts_never_reach_indicators(tmp_path):
    c = ctx()
    rows = pd.DataFrame({
        "row": ["sub_area", "sub_area", "sub_area", "total"],
        "area_code": ["X07000001", "X07000002", "X07000003", "X10000001"],
        "area_name": ["Alpha", "Beta", "Gamma", "Testshire"],
        "count": [3, 40, 50, 93], "population": [1e4, 1e4, 1e4, 3e4],
        "value": [30.0, 400.0, 500.0, 310.0], "lower": [6.2, 285.0, 371.0, 250.0],
        "upper": [87.7, 545.0, 659.0, 380.0], "note": [None] * 4,
        "benchmark": [310.0, 310.0, 310.0, np.nan],
        "comparison": ["Lower", "Similar", "Higher", ""],
    })
    frame, spec = pl.rate_table(rows, c, unit="per 100,000")
    rec = ResultsRecorder(tmp_path, "places")
    published = rec.table(frame, table_id="t", title="t", spec=spec, rules=DisclosureRules(),
                          units="u", source="s")
    assert published.loc[0, "Number"] == "[c]"
    assert published.loc[0, "Rate per 100,000"] == "[c]"
    # Beta is the smallest visible count: hidden too, so Alpha cannot be found by subtraction
    assert published.loc[1, "Number"] == "[c]"
    pl.record_rate_indicators(rec, rows, published, c, measure=pl.MEASURES["drug_misuse_deaths"],
                              key="drug_misuse_deaths_dsr", label="x", period="p",
                              source_kind="synthetic", source="s")
    saved = json.loads((tmp_path / "results" / "places.json").read_text())
    ind = {i["key"]: i for i in saved["indicators"]}
    assert ind["places.drug_misuse_deaths_dsr.X07000001"]["value"] is None
    assert ind["places.drug_misuse_deaths_dsr.X07000001"]["count"] is None
    assert ind["places.drug_misuse_deaths_dsr.X07000002"]["value"] is None
    assert ind["places.drug_misuse_deaths_dsr.X07000003"]["value"] == 500.0
    assert ind["places.drug_misuse_deaths_dsr"]["value"] == 310.0
    assert ind["places.drug_misuse_deaths_dsr"]["outcome"] == "Reduce drug-related deaths and harm"
    assert ind["places.drug_misuse_deaths_dsr.X07000003"]["comparisons"][0]["result"] == "Higher"


def test_standout_and_treatment_gaps():
    def rows(comparisons):
        return pd.DataFrame({"row": "sub_area", "area_code": ["a", "b"], "area_name": ["A", "B"],
                             "comparison": comparisons})

    results = {"drug_poisoning_admissions": rows(["Worse", "Similar"]),
               "drug_offences": rows(["Worse", "Better"]),
               "alcohol_admissions": rows(["Similar", "Worse"])}
    treatment = pd.concat([
        rows(["Similar", "Similar"]).assign(group="all"),
        rows(["Similar", "Higher"]).assign(group="ocu"),
        rows(["Lower", "Similar"]).assign(group="alcohol"),
    ])
    out = pl.standout_places(results, treatment)
    a = out.set_index("area_name").loc["A"]
    assert (a["worse"], a["drug_worse"], a["alcohol_worse"]) == (2, 2, 0)
    gaps = pl.treatment_gaps(out)
    assert gaps == [{"area_name": "A", "area_code": "a", "family": "drug", "harms": 2,
                     "treatment": "Similar"}]


def test_wide_view_keeps_suppression_markers():
    published = pd.DataFrame({
        "Cause": ["A", "A", "B", "B"], "District": ["Alpha", "Whole", "Alpha", "Whole"],
        "Deaths (number)": ["[c]", 20, 12, 30],
        "Rate": ["[c]", 5.0, np.nan, 3.0], "Rate (95% CI lower)": ["[c]", 4.0, np.nan, 2.0],
        "Rate (95% CI upper)": ["[c]", 6.0, np.nan, 4.0],
        "Compared": ["[c]", "", "Not compared", ""],
    })
    view = pl.wide_view(published, key="District", group_column="Cause",
                        groups={"A": "Drug", "B": "Alcohol"}, count_column="Deaths (number)",
                        rate_column="Rate", lower_column="Rate (95% CI lower)",
                        upper_column="Rate (95% CI upper)", compare_column="Compared",
                        count_label="deaths")
    alpha = view.set_index("District").loc["Alpha"]
    assert alpha["Drug: deaths"] == "[c]" and alpha["Drug: rate (95% CI)"] == "[c]"
    assert alpha["Alcohol: deaths"] == "12" and alpha["Alcohol: rate (95% CI)"] == "[x]"
    assert alpha["Alcohol: vs area"] == ""
    whole = view.set_index("District").loc["Whole"]
    assert whole["Drug: rate (95% CI)"] == "5.0 (4.0\u00a0to\u00a06.0)"
    assert list(view["District"]) == ["Alpha", "Whole"]


def test_report_view_rows_keeps_every_group_of_the_extreme_places():
    c = ctx(area_code="X10000001", area_name="Testshire")
    codes = [f"E{i:02d}" for i in range(45)]
    rates = {code: float(i) for i, code in enumerate(codes)}
    rates["E44"] = "[c]"  # suppressed: never ranked
    frame = []
    for group in ("All", "OCU"):
        for code in codes:
            frame.append({"Group": group, "Code": code, "District": f"Place {code}",
                          "Rate": rates[code] if group == "All" else 1.0})
        frame.append({"Group": group, "Code": "unknown", "District": "No fixed abode", "Rate": None})
        frame.append({"Group": group, "Code": "X10000001", "District": "Testshire (whole area)",
                      "Rate": 22.0})
    published = pd.DataFrame(frame)
    rows, note = pl.report_view_rows(published, c, rank_column="Rate", what="rates",
                                     table_id="places_x", group_column="Group", group="All")
    top = [f"E{i:02d}" for i in range(43, 33, -1)]  # E43 highest ... E34
    bottom = [f"E{i:02d}" for i in range(9, -1, -1)]  # E09 ... E00 lowest
    expected = top + bottom + ["unknown", "X10000001"]
    assert rows.loc[rows["Group"] == "All", "Code"].tolist() == expected
    assert rows.loc[rows["Group"] == "OCU", "Code"].tolist() == expected
    assert "(of 45)" in note and "places_x" in note  # the suppressed one is a place too
    small = published[published["Code"].isin(codes[:5] + ["unknown", "X10000001"])]
    same, none = pl.report_view_rows(small, c, rank_column="Rate", what="rates",
                                     table_id="places_x", group_column="Group", group="All")
    assert none == "" and same is small
