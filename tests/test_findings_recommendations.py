"""Findings sentences, the recommendations engine and analysts' edits, change since a
previous run — on hand-made indicators whose expected sentences are written out by hand."""

from __future__ import annotations

import pytest
from scipy import stats as sps

from needs_assessment.change import compare_runs
from needs_assessment.findings import build_findings
from needs_assessment.framework import COMMITMENTS, OUTCOMES
from needs_assessment.recommendations import (
    RecommendationsError,
    apply_edits,
    build_recommendations,
    load_edits,
    load_rules,
)
from needs_assessment.results import Comparison, Indicator


def indicator(key, value, *, unit="%", lower=None, upper=None, comparisons=(), polarity="low_is_good", **kw):
    defaults = dict(chapter="prevalence", label="Unmet need for opiate and crack treatment", period="2024",
                    area="District C", source_kind="synthetic")
    defaults.update(kw)
    return Indicator(key=key, value=value, unit=unit, lower=lower, upper=upper,
                     comparisons=tuple(comparisons), polarity=polarity, **defaults)


UNMET_C = indicator(
    "prevalence.ocu_unmet_need.X07000003", 71.2, lower=66.3, upper=74.9,
    comparisons=[Comparison(label="the county", value=58.0, result="Worse")],
)
UNMET_A = indicator(
    "prevalence.ocu_unmet_need.X07000001", 62.0, lower=59.0, upper=65.0, area="District A",
    comparisons=[Comparison(label="the county", value=58.0, result="Worse")],
)
SIMILAR = indicator(
    "prevalence.ocu_unmet_need.X07000002", 57.0, lower=50.0, upper=64.0, area="District B",
    comparisons=[Comparison(label="the county", value=58.0, result="Similar")],
)
CONTEXT = indicator(
    "people.treatment_rate.age.65_plus", 68.0, unit="per 100,000", lower=53.0, upper=85.0, polarity="no_judgement",
    comparisons=[Comparison(label="All adults", value=774.0, result="Lower")], tags={"role": "context"},
)


def test_finding_sentence_carries_number_interval_and_comparison():
    (finding,) = build_findings([UNMET_C])
    assert finding.sentence == (
        "Unmet need for opiate and crack treatment in District C (2024): 71% (66% to 75%), "
        "significantly higher than the county (58%)."
    )
    assert finding.concern and finding.result == "Worse"
    assert finding.gap == pytest.approx((71.2 - 58.0) / 58.0)


def test_findings_are_ordered_by_gap_and_skip_similar_and_context():
    findings = build_findings([UNMET_A, SIMILAR, CONTEXT, UNMET_C])
    assert [f.key for f in findings] == [UNMET_C.key, UNMET_A.key]


def test_small_counts_are_never_quoted_in_a_sentence():
    rep = indicator(
        "people.representation.religion.sikh", 0.2, unit="ratio", lower=0.05, upper=0.6, count=3, denominator=15.0,
        polarity="no_judgement", comparisons=[Comparison(label="population", value=1.0, result="Lower")],
        tags={"theme": "equality", "field": "religion", "group": "Sikh", "breakdown": "Religion or belief"},
    )
    (finding,) = build_findings([rep], disclosure_threshold=5)
    assert "fewer than 5 adults" in finding.sentence
    assert " 3 adults" not in finding.sentence


def test_shipped_rules_are_valid_and_name_real_commitments():
    rules = load_rules()
    assert rules.rules
    for rule in [*rules.rules, *rules.threshold_rules]:
        assert rule.commitment in COMMITMENTS[rule.priority_strategy]
        assert rule.outcome in OUTCOMES


CONTINUITY = indicator(
    "access.continuity_of_care", 22.0, lower=19.0, upper=24.0, polarity="high_is_good", area="Anyshire",
    label="Continuity of care after prison", comparisons=[Comparison(label="England", value=40.7, result="Worse")],
)


def test_a_rule_makes_one_recommendation_naming_every_place_with_the_largest_gap_as_evidence():
    indicators = {i.key: i for i in (UNMET_A, SIMILAR, UNMET_C)}
    recs = build_recommendations(indicators, build_findings(indicators.values()))
    assert [r.id for r in recs] == ["ocu-unmet-need-place"]
    (rec,) = recs
    assert "District C and District A" in rec.text  # largest gap first; District B is similar
    assert rec.indicator_key == UNMET_C.key
    assert (rec.value, rec.lower, rec.upper, rec.comparator_value) == (71.2, 66.3, 74.9, 58.0)
    assert "District A (2024): 62%" in rec.further_evidence
    assert rec.commitment == "Treatment services" and rec.priority == "high" and rec.number == 1


def test_analysts_edit_suppress_and_add(tmp_path):
    indicators = {i.key: i for i in (UNMET_C, CONTINUITY)}
    recs = build_recommendations(indicators, build_findings(indicators.values()))
    assert {r.id for r in recs} == {"ocu-unmet-need-place", "continuity-of-care"}
    edits_file = tmp_path / "edits.yaml"
    edits_file.write_text(
        f"""
suppress: [continuity-of-care]
suppress_reasons: {{continuity-of-care: "already funded in 2025/26"}}
edit:
  ocu-unmet-need-place:
    text: Commission an outreach team for District C by April.
    lead_partner: Public health
add:
  - id: local-1
    text: Publish a quarterly treatment dashboard.
    evidence: {{indicator: "{UNMET_C.key}"}}
    priority_strategy: Deliver a world-class treatment and recovery system
    commitment: Workforce
    outcome: Increase engagement in drug and alcohol treatment
    lead_partner: Partnership analyst
    priority: low
    timescale: Within 3 months
"""
    )
    final, suppressed = apply_edits(recs, load_edits(edits_file), indicators)
    assert [r.id for r in final] == ["ocu-unmet-need-place", "local-1"]
    assert [r.number for r in final] == [1, 2]
    assert final[0].text == "Commission an outreach team for District C by April."
    assert final[0].lead_partner == "Public health" and final[0].origin.endswith("edited by analyst")
    assert final[1].value == 71.2 and final[1].origin == "analyst"
    continuity = next(r for r in recs if r.id == "continuity-of-care")
    assert suppressed == [{"id": "continuity-of-care", "text": continuity.text, "reason": "already funded in 2025/26"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("suppress: [nope]", "suppress: no recommendation with id 'nope'"),
        ("edit: {nope: {text: x}}", "edit: no recommendation with id 'nope'"),
        ("colour: blue", "colour: unknown key"),
        (
            "add: [{id: x, text: t, priority_strategy: Break drug supply chains, commitment: Housing, "
            "outcome: Reduce drug supply, lead_partner: p, priority: low, timescale: t}]",
            "commitment 'Housing' is not a Box 6 commitment",
        ),
        (
            "add: [{id: x, text: t, evidence: {indicator: missing.key}, priority_strategy: Break drug supply chains, "
            "commitment: Break drug supply chains, outcome: Reduce drug supply, lead_partner: p, priority: low, timescale: t}]",
            "add[x].evidence.indicator: 'missing.key' was not recorded",
        ),
    ],
)
def test_bad_edits_are_rejected_naming_the_key(tmp_path, text, expected):
    path = tmp_path / "edits.yaml"
    path.write_text(text)
    indicators = {UNMET_C.key: UNMET_C}
    recs = build_recommendations(indicators, build_findings(indicators.values()))
    with pytest.raises(RecommendationsError) as err:
        apply_edits(recs, load_edits(path), indicators, source=str(path))
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_change_between_runs_uses_the_right_test():
    then = {
        "p": indicator("p", 40.0, count=400, denominator=1000),
        "q": indicator("q", 40.0, count=40, denominator=100),
        "r": indicator("r", 12.0, unit="per 100,000"),
    }
    now = {
        "p": indicator("p", 50.0, count=500, denominator=1000),
        "q": indicator("q", 42.0, count=42, denominator=100),
        "r": indicator("r", 30.0, unit="per 100,000"),
    }
    table = compare_runs(now, then).set_index("key")
    # p: chi-square on 500/1000 vs 400/1000, computed independently with scipy
    chi2, p_value, _, _ = sps.chi2_contingency([[500, 500], [400, 600]], correction=False)
    assert table.loc["p", "p_value"] == pytest.approx(p_value, rel=1e-6)
    assert table.loc["p", "result"] == "Significant increase"
    assert table.loc["q", "result"] == "No significant change"
    assert table.loc["r", "result"] == "Not tested"
    assert table.loc["p", "change"] == pytest.approx(10.0)


def test_headline_findings_take_one_per_family_before_repeating():
    from needs_assessment.findings import headline_findings

    rii = [indicator(f"places.rii.m{i}", 4.0 + i, unit="ratio", lower=2.0, upper=9.0, polarity="no_judgement",
                     comparisons=[Comparison(label="No gradient", value=1.0, result="Higher")],
                     tags={"theme": "prevalence"}) for i in range(3)]
    findings = build_findings([*rii, UNMET_C, CONTINUITY])
    top = headline_findings(findings, 3)
    assert [f.key.split(".")[0] + "." + f.key.split(".")[1] for f in top] == [
        "places.rii", "access.continuity_of_care", "prevalence.ocu_unmet_need"]


def test_comparator_lookup_prefers_whole_population_latest_period():
    import pandas as pd

    from needs_assessment.analysis.comparators import find_comparator

    base = dict(indicator_id=92432, indicator_name="Deaths from drug misuse", area_code="E92000001",
                area_name="England", area_type="England", category=None, lower_ci95=None, upper_ci95=None)
    frame = pd.DataFrame([
        {**base, "sex": "male", "time_period": "2021 - 23", "value": 8.1},
        {**base, "sex": "persons", "time_period": "2020 - 22", "value": 5.2},
        {**base, "sex": "persons", "time_period": "2021 - 23", "value": 5.5},
        {**base, "sex": "persons", "time_period": "2021 - 23", "value": 9.9, "category": "Most deprived decile"},
    ])
    found = find_comparator(frame, ids=[92432])
    assert (found["value"], found["period"]) == (5.5, "2021 - 23")
