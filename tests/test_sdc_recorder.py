"""Disclosure control as used by the results recorder: what lands in the CSV is safe."""

from __future__ import annotations

import json

import pandas as pd

from needs_assessment import sdc
from needs_assessment.results import ResultsRecorder
from needs_assessment.sdc import DisclosureRules, TableSpec


def test_recorded_table_is_protected_checked_and_marked(tmp_path):
    frame = pd.DataFrame(
        {
            "characteristic": ["Sex"] * 3 + ["Age"] * 4,
            "category": ["Male", "Female", "Total", "18-29", "30-49", "50+", "Total"],
            "count": [30, 4, 34, 2, 20, 12, 34],
        }
    )
    frame["rate"] = frame["count"] / 2_000 * 100_000
    frame["lower"] = frame["rate"] * 0.8
    frame["upper"] = frame["rate"] * 1.25
    spec = TableSpec(
        count_columns=["count"],
        derived_columns={c: ["count"] for c in ("rate", "lower", "upper")},
        group_columns=["characteristic"],
        total_row=("category", "Total"),
    )
    rules = DisclosureRules()
    recorder = ResultsRecorder(tmp_path, "treatment", title="Treatment")
    published = recorder.table(
        frame,
        table_id="t_demographics",
        title="People in treatment by characteristic",
        spec=spec,
        rules=rules,
        units="people",
        source="synthetic",
        source_kind="synthetic",
    )
    assert published["count"].tolist() == ["[c]", "[c]", 34, "[c]", 20, "[c]", 34]

    written = pd.read_csv(tmp_path / "tables" / "t_demographics.csv", dtype=str)
    assert written["count"].tolist() == ["[c]", "[c]", "34", "[c]", "20", "[c]", "34"]
    assert written["rate"].tolist()[:2] == ["[c]", "[c]"]
    assert sdc.find_disclosive_cells(written, ["count"], rules) == []
    sdc.check_publishable(written, spec, rules, table_name="t_demographics")

    results = json.loads((tmp_path / "results" / "treatment.json").read_text())
    (table,) = results["tables"]
    assert table["suppressed_cells"] == 16  # 4 counts and their 3 derived values each
