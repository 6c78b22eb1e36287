"""Outcomes dashboard on the generated areas: it finds what was planted (PLANTED, and the
magnitudes in data/README.md (synthetic areas)) and survives absent datasets."""

from __future__ import annotations

import dataclasses

import pytest

from needs_assessment.analysis import outcomes as oc
from needs_assessment.data import load_area
from needs_assessment.params import load_params
from needs_assessment.synthetic import PLANTED

#: Successful completion rates the generator is calibrated to (completions in the year /
#: in treatment; data/README.md (synthetic areas) [S22]).
GENERATOR_COMPLETION_PCT = {"opiate": 5.0, "non_opiate": 30.5, "alcohol": 34.5}
CONFIDENCE = 0.95


@pytest.fixture(scope="module", params=[("default", "county"), ("anytown", "unitary")],
                ids=["anyshire", "anytown"])
def built(request, synthetic_params):
    name, variant = request.param
    params = load_params(synthetic_params(name))
    area = load_area(params)
    dash = oc.build_dashboard(area, region_code=params.area.region_code, confidence=CONFIDENCE,
                              min_count=params.statistics.min_count_for_rate)
    return params, area, dash, PLANTED[variant]


def test_every_metric_is_built_when_every_dataset_is_supplied(built):
    _, _, dash, _ = built
    assert dash.absent == {}
    assert set(dash.results) == set(oc.METRICS)
    assert all(r.available for r in dash.results.values())


def test_completion_rates_close_to_generator(built):
    """Completions in the year / in treatment (before the re-presentation rule) are within
    3 points of the generator's rates; the published definition, which also drops people who
    re-present within 6 months, can only be lower, and stays within 30% of them."""
    _, _, dash, _ = built
    comp = dash.completions
    assert comp["year"].max() == dash.completion_year == 2023  # extract 31 March 2025
    pooled = comp.groupby("broad_group")[["in_treatment", "completed", "successful"]].sum()
    for group, planted in GENERATOR_COMPLETION_PCT.items():
        row = pooled.loc[group]
        completed_pct = row["completed"] / row["in_treatment"] * 100
        successful_pct = row["successful"] / row["in_treatment"] * 100
        assert abs(completed_pct - planted) < 3.0, (group, completed_pct)
        assert successful_pct <= completed_pct
        assert 0.7 * planted < successful_pct <= planted * 1.1, (group, successful_pct)


def test_continuity_of_care_significantly_worse_than_england(built):
    _, _, dash, planted = built
    cc = dash.results["continuity_of_care"]
    assert cc.england is not None and cc.england["value"] == pytest.approx(planted.england_prison_continuity * 100)
    assert cc.vs_england == "Worse"
    assert cc.latest["upper"] < cc.england["value"]
    pooled = cc.series["count"].sum() / cc.series["denominator"].sum() * 100
    assert abs(pooled - planted.prison_continuity * 100) < 5


def test_drug_misuse_deaths_rising_trend_found(built):
    # planted: drug misuse deaths rise ~4.5% a year from 2013
    _, _, dash, _ = built
    r = dash.results["drug_misuse_deaths_dsr"]
    assert r.trend["direction"] == "increasing"
    assert r.trend["first"] == "2013"
    assert r.spec.pooled_years == 3 and r.latest["period"] == "2022-24"


def test_comparison_and_trend_recorded_for_each_metric(built, tmp_path):
    params, _, dash, _ = built
    from needs_assessment.results import ResultsRecorder

    rec = ResultsRecorder(tmp_path, "outcomes")
    keys = oc.record_indicators(rec, dash.results.values(), area_name=params.area.name,
                                confidence=CONFIDENCE, params=params)
    expected = {f"outcomes.{k}" for k in oc.METRICS}
    assert set(keys) == expected
    for key in ("outcomes.drug_misuse_deaths_dsr", "outcomes.alcohol_specific_admissions",
                "outcomes.continuity_of_care", "outcomes.successful_completion.alcohol"):
        item = rec.indicators[key]
        assert [c.label for c in item.comparisons][0] == "England"
        assert item.comparisons[0].result in ("Better", "Similar", "Worse")
        assert "trend" in item.tags and item.source_kind == "synthetic"
        assert item.outcome in oc.OUTCOMES


def test_absent_datasets_are_reported_not_fatal(built):
    params, area, _, _ = built
    stripped = dataclasses.replace(area, deaths=None, admissions=None, crime=None,
                                   comparators=None, prison_releases=None)
    dash = oc.build_dashboard(stripped, region_code=params.area.region_code)
    assert set(dash.absent) == {"deaths", "admissions", "crime", "comparators", "prison_releases"}
    assert all(isinstance(t, str) and len(t) > 40 for t in dash.absent.values())
    assert "continuity_of_care" not in dash.results and "drug_offences_rate" not in dash.results
    assert dash.results["adults_in_treatment"].available
    r = dash.results["successful_completion.opiate"]
    assert r.england is None and r.vs_england is None
    table = oc.summary_frame(list(dash.results.values()))
    assert set(table["Compared with England"]) == {"No England value"}

    nothing = dataclasses.replace(stripped, treatment_episodes=None)
    empty = oc.build_dashboard(nothing)
    assert empty.results == {}
    assert "treatment_episodes" in empty.absent and "prison_releases" in empty.absent
    assert oc.summary_frame([]).empty
