"""Access chapter: hand-made cases whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from needs_assessment.analysis import access as acc
from needs_assessment.sdc import DisclosureRules

D = pd.Timestamp


def _episodes(rows):
    cols = ["episode_id", "client_id", "referral_date", "triage_date", "discharge_date",
            "discharge_reason"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("referral_date", "triage_date", "discharge_date"):
        df[c] = pd.to_datetime(df[c])
    return df


# ------------------------------------------------------------------ continuity of care
def test_continuity_window_is_day_0_to_21_inclusive():
    release = D("2023-03-01")
    releases = pd.DataFrame({
        "client_id": ["on_day_0", "on_day_21", "on_day_22", "before", "none", "other_person"],
        "release_date": [release] * 6,
    })
    eps = _episodes([
        ("e1", "on_day_0", "2023-02-20", "2023-03-01", None, None),
        ("e2", "on_day_21", "2023-03-10", "2023-03-22", None, None),  # 21 days after
        ("e3", "on_day_22", "2023-03-10", "2023-03-23", None, None),  # 22 days after
        ("e4", "before", "2023-02-01", "2023-02-28", None, None),  # day -1
        ("e5", "someone_else", "2023-03-02", "2023-03-05", None, None),
    ])
    out = acc.continuity_of_care(releases, eps, window_days=21)
    assert out["engaged"].tolist() == [True, True, False, False, False, False]
    assert out["days_to_triage"].tolist()[:2] == [0, 21]
    assert out["days_to_triage"].isna().tolist()[2:] == [True] * 4


def test_continuity_uses_first_qualifying_triage_and_repeat_releases():
    releases = pd.DataFrame({"client_id": ["a", "a"],
                             "release_date": [D("2023-01-01"), D("2023-06-01")]})
    eps = _episodes([
        ("e1", "a", "2023-01-03", "2023-01-15", "2023-02-01", "dropped_out"),
        ("e2", "a", "2023-01-02", "2023-01-05", "2023-01-10", "dropped_out"),
        ("e3", "a", "2023-07-01", "2023-07-10", None, None),  # 39 days after 2nd release
    ])
    out = acc.continuity_of_care(releases, eps)
    assert out["engaged"].tolist() == [True, False]
    assert int(out.loc[0, "days_to_triage"]) == 4


def test_continuity_follow_up_not_complete():
    releases = pd.DataFrame({"client_id": ["a", "b"],
                             "release_date": [D("2024-12-01"), D("2024-12-20")]})
    eps = _episodes([("e1", "z", "2024-01-01", "2024-01-02", None, None)])
    out = acc.continuity_of_care(releases, eps, follow_up_end=D("2024-12-31"))
    # 1 Dec + 21 days = 22 Dec (observed); 20 Dec + 21 days = 10 Jan (not yet)
    assert out["assessable"].tolist() == [True, False]


def test_prison_referral_engagement_weaker_measure():
    eps = _episodes([
        ("e1", "a", "2023-01-05", "2023-01-20", None, None),
        ("e2", "b", "2023-01-05", "2023-01-30", None, None),
        ("e3", "c", "2023-01-05", None, None, None),
    ])
    eps["prison_release_date"] = pd.to_datetime(["2023-01-01", "2023-01-01", "2023-01-01"])
    out = acc.prison_referral_engagement(eps, [2023])
    assert out["engaged"].tolist() == [True, False, False]  # 19, 29 days, no triage


# ------------------------------------------------------------------ early drop-out
def test_early_dropout_within_84_days():
    eps = _episodes([
        ("e1", "a", "2023-01-01", "2023-01-01", "2023-03-26", "dropped_out"),  # day 84
        ("e2", "b", "2023-01-01", "2023-01-01", "2023-03-27", "dropped_out"),  # day 85
        ("e3", "c", "2023-01-01", "2023-01-01", "2023-01-11", "completed_drug_free"),
        ("e4", "d", "2023-01-01", "2023-01-01", "2023-01-31", "withdrawn_by_provider"),
        ("e5", "e", "2023-01-01", "2023-01-01", None, None),
        ("e6", "f", "2023-01-01", None, "2023-01-20", "declined"),  # never triaged
    ])
    out = acc.early_dropout(eps, days=84, follow_up_end=D("2023-03-26"))
    assert len(out) == 5  # untriaged record is not a new presentation
    assert out["dropped_out_early"].tolist() == [True, False, False, False, False]
    assert out["unplanned_early"].tolist() == [True, False, False, True, False]
    assert out["assessable"].all()  # 1 Jan + 84 days = 26 Mar
    later = acc.early_dropout(eps, days=84, follow_up_end=D("2023-03-25"))
    assert not later["assessable"].any()


# ------------------------------------------------------------------ waiting times
def test_wait_of_21_days_is_not_over_3_weeks():
    eps = _episodes([
        ("e1", "a", "2023-01-01", "2023-01-22", None, None),  # 21 days
        ("e2", "b", "2023-01-01", "2023-01-23", None, None),  # 22 days
        ("e3", "c", "2023-01-01", None, None, None),
    ])
    out = acc.waiting_times(eps)
    assert out["wait_days"].tolist() == [21, 22]
    assert out["waited_over"].tolist() == [False, True]


def test_median_ci_order_statistics():
    # n = 10 at 95%: ranks 2 and 9 (Conover 1999, table A3; coverage 97.9%)
    med, lo, hi = acc.median_ci(range(1, 11), confidence=0.95)
    assert (med, lo, hi) == (5.5, 2.0, 9.0)
    # too few values for a 95% interval
    assert math.isnan(acc.median_ci([1, 2, 3], confidence=0.95)[1])


# ------------------------------------------------------------------ proportions and tests
def test_proportions_by_counts_and_wilson_limits():
    rec = pd.DataFrame({"flag": [True, True, False, False, True, False],
                        "sex_label": ["Male", "Male", "Male", "Male", "Female", "Female"]})
    out = acc.proportions_by(rec, "flag", [acc.Breakdown("Sex", "sex_label")], total_label="All")
    assert out["group"].tolist() == ["All", "Male", "Female"]
    assert out["denominator"].tolist() == [6, 4, 2]
    assert out["numerator"].tolist() == [3, 2, 1]
    male = out.iloc[1]
    # Wilson 95% for 2/4: (2 + 1.92 -/+ 1.96 sqrt(1 + 0.96)) / (4 + 3.84) = 15.0% to 85.0%
    assert male["percent"] == pytest.approx(50.0)
    assert male["lower"] == pytest.approx(15.003, abs=1e-3)
    assert male["upper"] == pytest.approx(84.997, abs=1e-3)


def test_difference_tests_two_groups_chi_square_by_hand():
    rec = pd.DataFrame({
        "g": ["A"] * 100 + ["B"] * 100,
        "flag": [True] * 10 + [False] * 90 + [True] * 30 + [False] * 70,
    })
    out = acc.difference_tests(rec, "flag", [acc.Breakdown("G", "g")])
    # expected 20 events / 80 non-events per group: 100/20*2 + 100/80*2 = 12.5
    assert out.loc[0, "statistic"] == pytest.approx(12.5, rel=1e-6)
    assert out.loc[0, "p_value"] < 0.001 and bool(out.loc[0, "significant"])


def test_difference_tests_no_difference_and_unknown_left_out():
    rec = pd.DataFrame({
        "g": ["A"] * 10 + ["B"] * 10 + ["Not stated"] * 10,
        "flag": ([True] * 3 + [False] * 7) * 2 + [True] * 10,
    })
    out = acc.difference_tests(rec, "flag", [acc.Breakdown("G", "g")])
    assert out.loc[0, "p_value"] == pytest.approx(1.0)
    assert not bool(out.loc[0, "significant"])


def test_holm_adjustment():
    adjusted = acc._holm(np.array([0.01, 0.04, 0.03]))
    # sorted 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> monotone 0.06
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06])


# ------------------------------------------------------------------ referral routes
def test_referral_routes():
    rec = pd.DataFrame({
        "referral_source": ["probation", "prison", "police_custody_liaison_diversion", "gp",
                            "a_and_e", "self", "self", "social_care", "education", "other"],
        "sex_label": ["Male"] * 5 + ["Female"] * 5,
    })
    src = acc.referral_sources(rec).set_index("source")
    assert src.loc["probation", "route"] == "criminal_justice"
    assert src.loc["hospital", "count"] == 0  # every source listed
    assert src.loc["self", "percent"] == pytest.approx(20.0)
    routes = acc.referral_routes_by(rec, [acc.Breakdown("Sex", "sex_label")]).set_index("group")
    assert routes.loc["All", ["criminal_justice", "health", "self", "other", "total"]].tolist() == [
        3, 2, 2, 3, 10]
    assert routes.loc["Male", "cj_percent"] == pytest.approx(60.0)
    assert routes.loc["Female", "cj_percent"] == pytest.approx(0.0)


# ------------------------------------------------------------------ distance
def test_nearest_site_on_a_grid():
    points = pd.DataFrame({"small_area_code": ["a", "b", "c"],
                           "easting": [0.0, 3000.0, 10000.0], "northing": [0.0, 4000.0, 0.0]})
    services = pd.DataFrame({
        "site_id": ["S1", "S2", "S3"], "site_name": ["West", "East", "Youth"],
        "easting": [0.0, 10000.0, 3000.0], "northing": [0.0, 0.0, 4000.0],
        "service_type": ["adult", "both", "young_people"],
    })
    sites = acc.site_points(services, adults=True)
    assert sites["site_name"].tolist() == ["West", "East"]  # young people's site left out
    out = acc.nearest_site(points, sites)
    assert out["site_name"].tolist() == ["West", "West", "East"]
    assert out["distance_km"].tolist() == pytest.approx([0.0, 5.0, 0.0])  # 3-4-5 triangle


def test_site_points_from_longitude_latitude():
    # The National Grid's true origin, 49N 2W, is at easting 400 km, northing -100 km
    # (OSGB36; WGS84 differs by about 100 m there).
    services = pd.DataFrame({"site_id": ["S1"], "site_name": ["Origin"], "easting": [np.nan],
                             "northing": [np.nan], "longitude": [-2.0], "latitude": [49.0]})
    sites = acc.site_points(services)
    assert sites.loc[0, "easting"] == pytest.approx(400_000, abs=200)
    assert sites.loc[0, "northing"] == pytest.approx(-100_000, abs=200)


def test_small_area_points_fall_inside_polygons():
    import geopandas as gpd
    from shapely.geometry import Polygon

    u_shape = Polygon([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
    gdf = gpd.GeoDataFrame({"small_area_code": ["u"]}, geometry=[u_shape], crs=27700)
    pts = acc.small_area_points(gdf)
    from shapely.geometry import Point

    assert u_shape.contains(Point(pts.loc[0, "easting"], pts.loc[0, "northing"]))


def test_distance_bands_and_edges():
    d = pd.Series([0.5, 1.9, 2.0, 4.9, 5.0, 12.0, 30.0])
    bands = acc.distance_band(d, [0, 2, 5, 10])
    assert bands.astype(str).tolist() == [
        "Under 2 km", "Under 2 km", "2 to under 5 km", "2 to under 5 km", "5 to under 10 km",
        "10 km or more", "10 km or more"]
    # 10 areas under 2 km, 2 in 2-5, 10 in 5-10: the small middle band is merged
    many = pd.Series([1.0] * 10 + [3.0] * 2 + [7.0] * 10)
    edges = acc.choose_distance_edges(many, min_areas=5, candidates=(0, 2, 5, 10))
    assert edges == [0, 5]


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_distance_rate_ratio_recovers_known_ratio():
    # rates halve every 5 km, independent of deprivation decile: RR per 5 km = 0.5
    rng = np.random.default_rng(1)
    d = rng.uniform(0, 20, 60)
    frame = pd.DataFrame({"distance_km": d, "adults": 1_000_000,
                          "imd_decile": np.tile([1, 5, 10], 20)})
    frame["in_treatment"] = 1_000_000 * 0.01 * 0.5 ** (frame["distance_km"] / 5)
    res = acc.distance_rate_ratio(frame, per_km=5)
    assert res["rate_ratio"] == pytest.approx(0.5, rel=1e-6)
    assert res["lower"] <= 0.5 <= res["upper"]
    assert acc.distance_rate_ratio(frame.head(5)) is None


# ------------------------------------------------------------------ regression
def test_dropout_model_odds_ratio_by_hand():
    rec = pd.DataFrame({
        "age_group": ["18-24"] * 100 + ["35-44"] * 200,
        "out": [True] * 30 + [False] * 70 + [True] * 20 + [False] * 180,
    })
    table, info = acc.dropout_model(rec, "out", {"Age group": "age_group"})
    row = table.set_index("level").loc["18-24"]
    assert info["references"]["Age group"] == "35-44"  # the larger group
    assert row["odds_ratio"] == pytest.approx((30 / 70) / (20 / 180), rel=1e-6)
    assert row["lower"] < row["odds_ratio"] < row["upper"]


# Two patterns and two parameters fit exactly (no residual degrees of freedom), which
# statsmodels reports with warnings that do not apply to a saturated binomial model.
@pytest.mark.filterwarnings("ignore:divide by zero", "ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_dropout_model_on_covariate_patterns_by_hand(monkeypatch):
    # Forced onto the pattern fit (the path of national-scale extracts), the worked
    # example gives the same odds ratio, and Woolf's limits for a 2 x 2 table.
    monkeypatch.setattr(acc, "PER_RECORD_DESIGN_LIMIT", 0)
    rec = pd.DataFrame({
        "age_group": ["18-24"] * 100 + ["35-44"] * 200,
        "out": [True] * 30 + [False] * 70 + [True] * 20 + [False] * 180,
    })
    table, info = acc.dropout_model(rec, "out", {"Age group": "age_group"})
    assert info["fitted_on"] == "2 covariate patterns"
    row = table.set_index("level").loc["18-24"]
    odds_ratio = (30 / 70) / (20 / 180)
    se = (1 / 30 + 1 / 70 + 1 / 20 + 1 / 180) ** 0.5
    assert row["odds_ratio"] == pytest.approx(odds_ratio, rel=1e-9)
    assert row["lower"] == pytest.approx(odds_ratio * np.exp(-1.959963984540054 * se), rel=1e-6)
    assert row["upper"] == pytest.approx(odds_ratio * np.exp(1.959963984540054 * se), rel=1e-6)
    assert (row["people"], row["events"]) == (100, 30)


def test_dropout_model_patterns_agree_with_records(monkeypatch):
    rng = np.random.default_rng(7)
    n = 3000
    rec = pd.DataFrame({
        "age_group": rng.choice(["18-24", "25-34", "35-44"], n),
        "sex_label": rng.choice(["Male", "Female", "Not stated"], n, p=[0.55, 0.43, 0.02]),
        "area_name": rng.choice([f"Place {i}" for i in range(12)], n),
    })
    logit = -1.5 + 0.8 * (rec["age_group"] == "18-24") - 0.3 * (rec["sex_label"] == "Female")
    rec["out"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    covariates = {"Age group": "age_group", "Sex": "sex_label", "District": "area_name"}
    by_record, info_r = acc.dropout_model(rec, "out", covariates)
    monkeypatch.setattr(acc, "PER_RECORD_DESIGN_LIMIT", 0)
    by_pattern, info_p = acc.dropout_model(rec, "out", covariates)
    assert info_r["fitted_on"] == "records" and info_p["fitted_on"].endswith("covariate patterns")
    assert {k: v for k, v in info_r.items() if k != "fitted_on"} == {
        k: v for k, v in info_p.items() if k != "fitted_on"}
    same = ["characteristic", "level", "reference", "people", "events"]
    pd.testing.assert_frame_equal(by_record[same], by_pattern[same])
    for col in ("odds_ratio", "lower", "upper", "p_value"):
        np.testing.assert_allclose(by_pattern[col], by_record[col], rtol=1e-6, atol=1e-7)


def test_dropout_model_drops_levels_without_variation():
    rec = pd.DataFrame({
        "g": ["A"] * 50 + ["B"] * 50 + ["C"] * 5,
        "out": [True] * 10 + [False] * 40 + [True] * 20 + [False] * 30 + [False] * 5,
    })
    table, info = acc.dropout_model(rec, "out", {"G": "g"})
    assert info["dropped_levels"] == ["G: C"]
    assert set(table["level"]) == {"A", "B"}


# ------------------------------------------------------------------ comparators
def test_find_comparator_matches_names_and_takes_latest():
    comp = pd.DataFrame({
        "indicator_id": [1, 1, 1, 2],
        "indicator_name": ["Adults who engage in community-based treatment following release "
                           "from prison"] * 3 + ["Deaths from drug misuse"],
        "area_code": ["E92000001", "E92000001", "X12000001", "E92000001"],
        "area_name": ["England", "England", "Region", "England"],
        "area_type": ["England", "England", "Region", "England"],
        "sex": ["persons"] * 4, "category": [np.nan] * 4,
        "time_period": ["2021/22", "2022/23", "2022/23", "2023"],
        "value": [38.0, 40.7, 44.0, 5.5], "lower_ci95": [37.5, 40.2, 43.0, 5.4],
        "upper_ci95": [38.5, 41.2, 45.0, 5.6], "count": [1.0] * 4, "denominator": [2.0] * 4,
    })
    eng = acc.find_comparator(comp, acc.CONTINUITY_PATTERNS)
    assert (eng["value"], eng["time_period"]) == (40.7, "2022/23")
    reg = acc.find_comparator(comp, acc.CONTINUITY_PATTERNS, area_code=None, area_type="Region")
    assert reg["value"] == 44.0
    assert acc.find_comparator(comp, acc.REFERRAL_PATTERNS) is None
    assert acc.find_comparator(None, acc.CONTINUITY_PATTERNS) is None


def test_benchmark_comparison_polarity():
    bench = {"value": 40.7, "area_name": "England", "time_period": "2022/23",
             "lower_ci95": 40.2, "upper_ci95": 41.2}
    res = acc.benchmark_comparison(19.6, 24.4, bench, polarity="high_is_good", confidence=0.95)
    assert res["result"] == "Worse"
    assert acc.benchmark_comparison(19.6, 24.4, None, polarity="high_is_good",
                                    confidence=0.95) is None


# ------------------------------------------------------------------ summary and display
def _group_table(rows):
    out = pd.DataFrame(rows, columns=["breakdown", "group", "group_code", "numerator",
                                      "denominator"])
    from needs_assessment.stats import proportion

    ci = proportion(out["numerator"], out["denominator"])
    out["percent"], out["lower"], out["upper"] = ci["value"], ci["lower"], ci["upper"]
    return out


def test_who_is_not_reached_names_only_significant_publishable_groups():
    drop = _group_table([
        ("All", "Area", "all", 200, 1000),
        ("Age group", "18-24", "18-24", 90, 200),   # 45% vs 20%: clearly worse
        ("Age group", "35-44", "35-44", 110, 800),
        ("Sex", "Female", "Female", 3, 4),          # 75%, but 3 of 4 is disclosive
        ("Sex", "Male", "Male", 197, 996),
    ])
    tests = pd.DataFrame({"breakdown": ["Age group", "Sex"], "significant": [True, True]})
    points = acc.who_is_not_reached(rules=DisclosureRules(threshold=5), level="district",
                                    dropout=drop, tests={"dropout": tests})
    assert len(points) == 1
    assert "18-24" in points[0] and "Female" not in points[0]
    # the same group is not named when its breakdown shows no overall difference
    tests_ns = pd.DataFrame({"breakdown": ["Age group", "Sex"], "significant": [False, False]})
    points = acc.who_is_not_reached(rules=DisclosureRules(threshold=5), level="district",
                                    dropout=drop, tests={"dropout": tests_ns})
    assert "18-24" not in points[0]


def test_interval_text_keeps_suppression_marker():
    pub = pd.DataFrame({"v": [18.62, "[c]", 5.0], "lo": [17.71, "[c]", np.nan],
                        "hi": [19.54, "[c]", np.nan]})
    assert acc.interval_text(pub, "v", "lo", "hi").tolist() == [
        "18.6 (17.7 to 19.5)", "[c]", "5.0"]


def test_publishable_share():
    rules = DisclosureRules(threshold=5)
    assert acc.publishable_share({"numerator": 10, "denominator": 100}, rules)
    assert not acc.publishable_share({"numerator": 3, "denominator": 100}, rules)
    assert not acc.publishable_share({"numerator": 98, "denominator": 100}, rules)  # remainder 2


def test_group_keys():
    assert acc.group_key("Age group", "18-24") == "age_18_24"
    assert acc.group_key("Age group", "65+") == "age_65_plus"
    assert acc.group_key("Sex", "Female") == "female"
    assert acc.group_key("Substance group", "Opiate and crack") == "opiate_and_crack"
    assert acc.group_key("Ward", "Dockside", "X05100020") == "X05100020"
