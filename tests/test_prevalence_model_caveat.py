"""The prevalence chapter's side of model uncertainty: which estimate is headlined
(``prevalence.mse_estimate``), the published table of models, and the caveat that findings
and recommendations resting on a model-sensitive estimate carry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from needs_assessment.analysis import prevalence as prev
from needs_assessment.findings import build_findings
from needs_assessment.params import ParamsError, load_params
from needs_assessment.prevalence import mse_estimate
from needs_assessment.recommendations import build_recommendations
from needs_assessment.results import Comparison, Indicator

# Three lists where "main effects" (best) and "A:B" (0.48 BIC units behind, N = 224 by
# hand: see test_prevalence_mse_uncertainty) disagree by 32%.
SENSITIVE = pd.DataFrame(
    [(1, 0, 0, 40), (0, 1, 0, 30), (0, 0, 1, 20), (1, 1, 0, 2), (1, 0, 1, 6), (0, 1, 1, 5), (1, 1, 1, 1)],
    columns=["A", "B", "C", "count"],
)


@pytest.fixture(scope="module")
def sensitive():
    return mse_estimate(SENSITIVE, ci="none")


# ------------------------------------------------------------------ params
def _write(tmp_path: Path, extra: dict) -> Path:
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params" / "default.yaml").read_text())
    raw["data"]["directory"] = str(tmp_path / "data")
    raw.update(extra)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_params_headline_defaults_to_averaged_and_accepts_selected(tmp_path):
    assert load_params(_write(tmp_path, {}), check_files=False).prevalence.mse_estimate == "averaged"
    chosen = load_params(_write(tmp_path, {"prevalence": {"mse_estimate": "selected"}}), check_files=False)
    assert chosen.prevalence.mse_estimate == "selected"


def test_params_reject_an_unknown_headline_naming_the_key(tmp_path):
    with pytest.raises(ParamsError, match=r"prevalence\.mse_estimate"):
        load_params(_write(tmp_path, {"prevalence": {"mse_estimate": "median"}}), check_files=False)


# ------------------------------------------------------------------ chapter helpers
def test_model_comparison_table_shows_every_competing_model(sensitive):
    table = prev.model_comparison_table(sensitive)
    assert list(table.columns) == ["Model", "Parameters (number)", "BIC", "Difference from best (BIC)", "Weight (%)",
                                   "Within 2 of best", "Estimated users", "Seen on any list (number)"]
    assert list(table["Model"][:2]) == ["Lists independent", "Allows for A with B"]
    assert list(table["Within 2 of best"]) == ["Yes", "Yes"] + ["No"] * (len(table) - 2)
    assert table["Estimated users"].iloc[1] == pytest.approx(224)
    assert (table["Seen on any list (number)"] == 104).all()
    assert table["Weight (%)"].sum() <= 100 + 1e-9
    assert len(prev.model_comparison_table(sensitive, max_models=1)) == 2  # competing models always shown


def test_model_caveat_names_the_largest_disagreement(sensitive):
    assert prev.model_caveat(None) is None
    assert prev.model_caveat({"sensitive": False, "spread": 0.1}) is None
    text = prev.model_caveat(sensitive, pd.Series({"sensitive": True, "spread": 0.5}))
    assert "sensitive to the choice of model" in text and "up to 50%" in text
    assert f"up to {sensitive.spread:.0%}" in prev.model_caveat(sensitive)


def test_sensitivity_sentence_gives_the_range(sensitive):
    text = prev.sensitivity_sentence(sensitive, area="Anyshire")
    assert "between 224 and 296 people" in text and "32% apart" in text and "more than the 25%" in text


def test_sensitive_groups_sentence_names_the_groups():
    frame = lambda col, values, flags: pd.DataFrame({col: values, "sensitive": flags})  # noqa: E731
    result = prev.PrevalenceResult(
        year=2024, lists=["a", "b"], observed=100, overall=None, overall_reason=None, population_15_64=1000,
        by_sex=frame("sex", ["female", "male"], [True, False]),
        by_age=frame("age_group", ["15-24", "25-34"], [False, True]),
        by_area=frame("area_name", ["Northmoor", "Eastwick"], [False, False]),
    )
    text = prev.sensitive_groups_sentence(result)
    assert text.startswith("The estimate is sensitive to the choice of model for: Women, people aged 25-34.")
    result.by_sex["sensitive"] = False
    result.by_age["sensitive"] = False
    assert prev.sensitive_groups_sentence(result) is None


# ------------------------------------------------------------------ findings and recommendations
def _unmet(caveat: str | None) -> Indicator:
    tags = {"level": "district", "area_code": "X07000003", "theme": "unmet need", "substance": "opiate and crack"}
    if caveat:
        tags["caveat"] = caveat
    return Indicator(key="prevalence.ocu_unmet_need.X07000003", chapter="prevalence",
                     label="Unmet need for opiate and crack treatment", value=63.0, unit="%", period="2024",
                     area="Southbridge", lower=56.0, upper=69.0, polarity="low_is_good",
                     comparisons=(Comparison(label="Anyshire", value=48.0, result="Worse"),), tags=tags,
                     source_kind="synthetic")


def test_findings_and_recommendations_carry_the_caveat(sensitive):
    caveat = prev.model_caveat(sensitive)
    plain, flagged = _unmet(None), _unmet(caveat)
    [without] = build_findings([plain])
    [with_] = build_findings([flagged])
    assert without.caveat is None and "Caveat" not in without.sentence
    assert with_.caveat == caveat
    assert with_.sentence == f"{without.sentence} Caveat: {caveat}."
    [rec] = build_recommendations({flagged.key: flagged}, [with_])
    assert rec.id == "ocu-unmet-need-place" and rec.caveat == caveat
    assert rec.text.endswith(f"Caveat: {caveat}.") and rec.finding == with_.sentence
    [rec_plain] = build_recommendations({plain.key: plain}, [without])
    assert rec_plain.caveat is None and "Caveat" not in rec_plain.text


# ------------------------------------------------------------------ the analysis
@pytest.fixture(scope="module")
def anyshire(synthetic_params):
    from needs_assessment.data import load_area

    params = load_params(synthetic_params("default"))
    return load_area(params), params.period.end_year


def test_ocu_prevalence_reports_the_chosen_basis_throughout(anyshire):
    area, year = anyshire
    selected = prev.ocu_prevalence(area, year, level="district", basis="selected", n_boot=100)
    averaged = prev.ocu_prevalence(area, year, level="district", basis="averaged", n_boot=100)
    assert selected.headline == selected.overall.selected
    assert averaged.headline == averaged.overall.averaged
    # both computed either way, from the same seed: the overall results are identical
    assert selected.overall.averaged == averaged.overall.averaged
    assert selected.overall.estimate == averaged.overall.estimate
    for frame in ("by_area", "by_sex", "by_age"):
        s, a = getattr(selected, frame), getattr(averaged, frame)
        assert (s["basis"] == "selected").all() and (a["basis"] == "averaged").all()
        done = s["status"] == "estimated"
        assert not s.loc[done, "estimate"].equals(a.loc[done, "estimate"])
    groups = prev.unmet_need_by_group(area, averaged, year)
    assert set(groups.columns) >= {"sensitive", "spread"}
    with pytest.raises(ValueError, match="basis"):
        prev.ocu_prevalence(area, year, level="district", basis="best")


# ------------------------------------------------------------------ the chapter
_PATCH = """
# Lower the thresholds so the synthetic county counts as model-sensitive (its models
# agree closely), to run the chapter's warning branch.
from needs_assessment.prevalence import capture_recapture as cr
cr.SUPPORT_DELTA = 8.0
cr.SENSITIVITY_TOLERANCE = 0.01
"""


@pytest.mark.slow
def test_chapter_warns_and_tags_when_the_estimate_is_model_sensitive(synthetic_params, tmp_path):
    # A wiring test of the notebook's sensitive branch: thresholds are lowered in the
    # kernel (an IPython start-up file) so the default area is flagged.
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-thresholds.py").write_text(_PATCH)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "02_prevalence_and_need.ipynb"
    env = dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"))
    result = subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), str(run_dir / "out.ipynb"), "-k", "needs-assessment",
         "-p", "params_file", str(synthetic_params("default")), "-p", "run_dir", str(run_dir), "--no-progress-bar"],
        env=env, capture_output=True, text=True, cwd=run_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    recorded = json.loads((run_dir / "results" / "prevalence.json").read_text())
    assert any(n["kind"] == "warning" and "sensitive to the choice of model" in n["text"] for n in recorded["notes"])
    indicators = {i["key"]: i for i in recorded["indicators"]}
    for key in ("prevalence.ocu_estimate", "prevalence.ocu_rate", "prevalence.ocu_unmet_need"):
        assert "sensitive to the choice of model" in indicators[key]["tags"]["caveat"], key
    assert all("caveat" in i["tags"] for k, i in indicators.items() if k.startswith("prevalence.ocu_unmet_need."))
    assert "BIC-weighted average of" in indicators["prevalence.ocu_estimate"]["source"]
    assert any(t["table_id"] == "ocu_model_comparison" for t in recorded["tables"])
    executed = (run_dir / "out.ipynb").read_text()
    assert "The estimate depends on the choice of model." in executed
    findings = build_findings(Indicator.from_dict(i) for i in recorded["indicators"])
    prevalence_findings = [f for f in findings if f.key.startswith("prevalence.ocu")]
    assert prevalence_findings and all("Caveat:" in f.sentence for f in prevalence_findings)
