"""Unit tests of the public-data machinery on small hand-made inputs (no reference data).

Expected values are worked out by hand (or from published tables, e.g. Garwood's exact
Poisson limits for a count of 10: 4.795 to 18.390), never taken from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from needs_assessment.analysis import profile
from needs_assessment.analysis import published as pub
from needs_assessment.data.errors import InputDataError
from needs_assessment.public_data import readers as R
from needs_assessment.public_data.population import build_population, ipf, round_columns, sex_shares


# ------------------------------------------------------------------------------ population
def test_ipf_matches_the_independence_solution():
    fitted = ipf(np.ones((2, 2)), np.array([3.0, 7.0]), np.array([4.0, 6.0]))
    assert fitted == pytest.approx(np.array([[1.2, 1.8], [2.8, 4.2]]))


def test_ipf_keeps_structural_zeros_and_refuses_unequal_totals():
    fitted = ipf(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([2.0, 4.0]), np.array([3.0, 3.0]))
    assert fitted[0, 1] == 0
    assert fitted.sum(axis=1) == pytest.approx([2, 4], rel=1e-6)
    assert fitted.sum(axis=0) == pytest.approx([3, 3])
    with pytest.raises(ValueError, match="differ"):
        ipf(np.ones((2, 2)), np.array([1.0, 1.0]), np.array([1.0, 2.0]))


def test_round_columns_uses_largest_remainders_and_hits_column_totals():
    x = np.array([[0.6, 1.5], [0.4, 0.5]])
    plain = round_columns(x, np.array([1, 2]), balance_rows=False)
    assert plain.tolist() == [[1, 2], [0, 0]]  # col 1: floors 1+0, one more to the first of the tied rows
    # balanced: after column 0 row 0 is 0.4 ahead and row 1 0.4 behind, so row 1 gets column 1's extra
    balanced = round_columns(x, np.array([1, 2]))
    assert balanced.tolist() == [[1, 1], [0, 1]]
    assert balanced.sum(axis=0).tolist() == [1, 2]


def test_sex_shares_from_bands_and_the_under_16_residual():
    persons = np.zeros(91)
    persons[:16] = 100.0  # 1,600 children
    bands = pd.DataFrame({
        "sex": ["male", "female", "male", "female"],
        "age_lower": [16, 16, 50, 50], "age_upper": [49, 49, 90, 90],
        "count": [300, 100, 200, 200],
    })
    # males under 16 = 1,500 total males - 500 males 16+ = 1,000 of 1,600 children
    share = sex_shares(persons_by_age=persons, total_male=1500, total_female=1400, band_counts=bands)
    assert share[0] == pytest.approx(1000 / 1600)
    assert share[30] == pytest.approx(0.75)
    assert share[70] == pytest.approx(0.5)


def test_build_population_reproduces_published_totals_exactly():
    geography = pd.DataFrame({"small_area_code": ["E01000001", "E01000002"], "district_code": ["E06000001"] * 2,
                              "district_name": ["Town"] * 2})
    ages = np.arange(91)
    census_age = pd.DataFrame({"area_code": "E06000001", "age": ages, "population": 10 + ages % 7})
    census_sex = pd.DataFrame({"area_code": ["E06000001"], "male": [700], "female": [int(census_age.population.sum()) - 700],
                               "total": [int(census_age.population.sum())]})
    totals = pd.Series({"E01000001": 300, "E01000002": 700})
    built = build_population(geography, census_age=census_age, years=[2021, 2022], census_sex=census_sex,
                             small_area_totals=totals)
    pop = built.population
    assert set(pop["year"]) == {2021, 2022}
    one = pop.loc[pop["year"] == 2022]
    by_age = one.groupby("age")["population"].sum()
    assert by_age.to_numpy().tolist() == census_age["population"].tolist()  # every age exactly
    assert int(one.loc[one["sex"] == "male", "population"].sum()) == 700
    shares = one.groupby("small_area_code", observed=True)["population"].sum()
    total = census_age["population"].sum()
    assert abs(shares["E01000001"] - 0.3 * total) <= 2


# ------------------------------------------------------------------------------ readers
def test_census_age_reader_reads_the_nomis_bulk_layout(tmp_path):
    path = tmp_path / "census2021-ts007-ltla.csv"
    ages = ["Age: Aged under 1 year"] + [f"Age: Aged {a} years" for a in range(1, 100)] + ["Age: Aged 100 years and over"]
    header = ["date", "geography", "geography code", "Age: Total", "Age: Aged 4 years and under"] + ages
    values = [1] * 101
    row = ["2021", "Town", "E06000001", str(sum(values)), "5"] + [str(v) for v in values]
    path.write_text(",".join(f'"{h}"' for h in header) + "\n" + ",".join(row) + "\n")
    out = R.read_census_age(path)
    assert len(out) == 91
    assert out.loc[out["age"] == 90, "population"].item() == 11  # 90..99 and 100+
    assert out["population"].sum() == 101


def test_census_age_reader_checks_the_published_total(tmp_path):
    path = tmp_path / "ts007.csv"
    rows = ["area_code,area_name,geography_level,age,usual_residents", "E06000001,Town,ltla,Total,99"]
    rows += [f"E06000001,Town,ltla,{a},1" for a in range(100)] + ["E06000001,Town,ltla,100+,1"]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputDataError, match="do not add up"):
        R.read_census_age(path)


def test_small_area_table_reads_the_nomis_wide_layout(tmp_path):
    path = tmp_path / "census2021-ts030-lsoa.csv"
    header = ["date", "geography", "geography code", "Religion: Total: All usual residents", "Religion: No religion",
              "Religion: Christian", "Religion: Not answered"]
    path.write_text(",".join(header) + "\n2021,Town 001A,E01000001,10,4,5,1\n")
    out = R.read_small_area_table(path, "religion")
    assert dict(zip(out["category"], out["count"], strict=True)) == {"no_religion": 4, "christian": 5, "not_stated": 1}
    assert set(out["total_residents"]) == {10}


def test_unknown_census_category_names_the_file_and_rows(tmp_path):
    path = tmp_path / "religion.csv"
    path.write_text("lsoa21_code,ltla24_code,total_residents,category,count\nE01000001,E06000001,5,Jedi,5\n")
    with pytest.raises(InputDataError, match=r"religion.csv.*row 2.*unknown religion category 'Jedi'|Jedi"):
        R.read_small_area_table(path, "religion")


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_population_series_reader(tmp_path, layout):
    path = tmp_path / "mye.csv"
    if layout == "long":
        path.write_text("area_code,year,population\nE06000001,2019,1000\nE06000001,2020,1010\n")
    else:
        path.write_text("Code,Name,Geography,Mid-2020,Mid-2019\nE06000001,Town,Unitary,1010,1000\n")
    out = R.read_la_population_series(path).sort_values("year")
    assert out["year"].tolist() == [2019, 2020]
    assert out["population"].tolist() == [1000, 1010]


def test_deaths_reader_rejects_text_in_a_count(tmp_path):
    path = tmp_path / "deaths.csv"
    path.write_text("code,name,2020,2019\nE06000001,Town,5,five\n")
    with pytest.raises(InputDataError, match="not a whole number"):
        R.read_deaths_by_la(path)


# ------------------------------------------------------------------------------ published harms
def _published(series: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    census = pd.DataFrame({"area_code": ["E06000001", "E92000001"], "population": [100_000, 10_000_000]})
    out = {"census_population": census}
    if series is not None:
        out["la_population_series"] = series
    return out


def _events() -> pd.DataFrame:
    return pd.DataFrame({
        "area_code": ["E06000001"] * 4 + ["E92000001"] * 4,
        "area_name": ["Town"] * 4 + ["England"] * 4,
        "level": ["unitary"] * 4 + ["country"] * 4,
        "year": [2017, 2018, 2019, 2020] * 2,
        "deaths": [5, 10, 20, 30, 700, 700, 700, 700],
    })


def test_pooled_rate_uses_census_as_a_stand_in_and_says_so():
    rates = pub.pooled_rates(_events(), ["E06000001"], [2018, 2019, 2020], _published())
    row = rates.iloc[0]
    assert row["count"] == 60
    assert row["population"] == 300_000
    assert row["rate"] == pytest.approx(20.0)  # 60 / 300,000 x 100,000
    assert row["basis"] == pub.CENSUS_STAND_IN
    assert row["period"] == "2018–2020"


def test_pooled_rate_prefers_mid_year_estimates():
    series = pd.DataFrame({"area_code": ["E06000001"] * 3, "year": [2018, 2019, 2020],
                           "population": [90_000, 100_000, 110_000]})
    row = pub.pooled_rates(_events(), ["E06000001"], [2018, 2019, 2020], _published(series)).iloc[0]
    assert row["population"] == 300_000
    assert row["basis"] == pub.POPULATION_SERIES


def test_pooled_rate_missing_year_gives_no_rate():
    events = _events().loc[lambda d: ~((d.area_code == "E06000001") & (d.year == 2019))]
    row = pub.pooled_rates(events, ["E06000001"], [2018, 2019, 2020], _published()).iloc[0]
    assert np.isnan(row["rate"])


def test_latest_complete_period():
    assert pub.latest_complete_period([1993, 1994, 1995, 1997, 1998]) == (1993, 1995)
    assert pub.latest_complete_period(range(1993, 2021)) == (2018, 2020)


def test_funnel_limits_are_garwood_limits_around_the_expected_count():
    limits = pub.funnel_control_limits([100_000], 10.0, confidence=0.95)  # expected count 10
    assert limits["lower"].item() == pytest.approx(4.795, abs=1e-3)
    assert limits["upper"].item() == pytest.approx(18.390, abs=1e-3)


def test_funnel_position():
    # expected 10 at 100,000 person-years; 95% upper 18.39, 99.8% upper chi2(0.999, 22)/2 = 24.13
    out = pub.funnel_position([10, 20, 30, 3, 0], [100_000] * 5, 10.0)
    assert out.tolist() == ["Within limits", "Above 95% limit", "Above 99.8% limit", "Below 95% limit",
                            "Below 99.8% limit"]


def test_indexed_trend_without_populations():
    trend, kind = pub.indexed_trend(_events(), ["E06000001"], _published())
    assert kind == "index"
    assert trend["value"].tolist() == pytest.approx([100.0, 60 / 35 * 100])  # (5+10+20)=35, (10+20+30)=60


def test_indexed_trend_with_populations_gives_rates():
    series = pd.DataFrame({"area_code": ["E06000001"] * 4, "year": [2017, 2018, 2019, 2020], "population": [100_000] * 4})
    trend, kind = pub.indexed_trend(_events(), ["E06000001"], _published(series))
    assert kind == "rate"
    assert trend["value"].tolist() == pytest.approx([35 / 3, 20.0])


def test_funnel_points_against_every_authority_with_a_population_file():
    events = pd.concat([_events(), pd.DataFrame({
        "area_code": ["E07000001"] * 4, "area_name": ["Village"] * 4, "level": ["district"] * 4,
        "year": [2017, 2018, 2019, 2020], "deaths": [1, 2, 3, 4]})], ignore_index=True)
    series = pd.DataFrame({"area_code": ["E06000001"] * 3 + ["E07000001"] * 3, "year": [2018, 2019, 2020] * 2,
                           "population": [100_000] * 3 + [50_000] * 3})
    points, coverage = pub.funnel_points(events, [2018, 2019, 2020], _published(series),
                                         levels=pub.LOWER_TIER_LEVELS, highlight=["E06000001"])
    assert sorted(points["area_code"]) == ["E06000001", "E07000001"]
    assert points.set_index("area_code").loc["E07000001", "rate"] == pytest.approx(9 / 150_000 * 100_000)
    assert coverage.startswith("2 of 2 English authorities")


def test_reconcile_three_year_counts():
    deaths = pd.DataFrame({"area_code": ["E07000001", "E07000002"] * 3, "year": [2016, 2016, 2017, 2017, 2018, 2018],
                           "deaths": [1, 2, 3, 4, 5, 6]})
    three = pd.DataFrame({"area_code": ["E10000001"], "measure": ["drug_poisoning"], "start_year": [2016],
                          "end_year": [2018], "deaths": [21]})
    out = pub.reconcile_three_year_counts(deaths, three, "E10000001", ["E07000001", "E07000002"])
    assert out.loc[0, "recomputed"] == 21
    assert out.loc[0, "difference"] == 0


# ------------------------------------------------------------------------------ profile
def test_characteristics_profile_shares_and_difference_from_england():
    chars = pd.DataFrame({"area_code": ["A"] * 3, "characteristic": ["disability", "disability", "religion"],
                          "category": ["yes", "no", "muslim"], "population": [20, 80, 10]})
    comps = pd.DataFrame({"area_code": ["E92000001"] * 2, "characteristic": ["disability"] * 2,
                          "category": ["yes", "no"], "count": [10, 90]})
    out = profile.characteristics_profile(chars, "A", comparators=comps, comparator_codes={"England": "E92000001"})
    yes = out.set_index(["characteristic", "category"]).loc[("disability", "yes")]
    assert yes["percent"] == pytest.approx(20.0)
    assert yes["England (%)"] == pytest.approx(10.0)
    assert yes["difference (pp)"] == pytest.approx(10.0)
    assert out.set_index(["characteristic", "category"]).loc[("religion", "muslim"), "percent"] == 100.0


def test_characteristic_coverage_names_the_gaps():
    chars = pd.DataFrame({"area_code": ["A", "W1"], "characteristic": ["religion", "religion"],
                          "category": ["christian"] * 2, "population": [5, 5]})
    cov = profile.characteristic_coverage(chars, area_code="A", units=["W1", "W2"]).set_index("field", drop=False)
    assert "not for each ward" in cov.loc["religion", "gap"]
    assert cov.loc["disability", "gap"] == "no figures for the area"
    pregnancy = cov.loc[cov["characteristic"] == "Pregnancy and maternity"].iloc[0]
    assert "Not asked in Census 2021" in pregnancy["gap"]
    assert len(cov) == 9


def test_age_comparison_against_a_census_comparator():
    pop = pd.DataFrame({"year": 2021, "age": [10, 20, 70], "population": [50, 30, 20]})
    census = pd.DataFrame({"area_code": "E92000001", "age": [10, 20, 70], "population": [25, 25, 50]})
    out = profile.age_comparison(pop, year=2021, comparators=census, comparator_codes={"England": "E92000001"})
    got = out.set_index("age_group")
    assert got.loc["0-15", "percent"] == 50.0
    assert got.loc["0-15", "England (%)"] == 25.0
    assert got.loc["65-74", "England (%)"] == 50.0


def test_deprivation_by_area():
    geo = pd.DataFrame({"small_area_code": list("abcd"), "district_code": ["D1", "D1", "D2", "D2"],
                        "district_name": ["One", "One", "Two", "Two"], "imd_decile": [1, 2, 5, 10]})
    out = profile.deprivation_by_area(geo, level="district").set_index("area_code")
    assert out.loc["D1", "percent_decile_1"] == 50.0
    assert out.loc["D1", "percent_deciles_1_2"] == 100.0
    assert out.loc["D2", "deciles_1_2"] == 0
