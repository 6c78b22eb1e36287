"""Batches of areas on a Dask LocalCluster: failures stay with their area, a lost worker
is retried once, and the summary shows exactly what each area's report published."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from needs_assessment import cli
from needs_assessment.batch import AreaStatus, expand_params, run_batch
from needs_assessment.batch_summary import HEADLINE_INDICATORS
from needs_assessment.synthetic import generate_area
from needs_assessment.synthetic.batch import write_batch_params

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("batch")]


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    """Three small synthetic areas (two counties, one borough) running the outcomes
    chapter; the third has a treatment episode with an age that is not a number."""
    root = tmp_path_factory.mktemp("batch")
    paths = write_batch_params(3, root / "params", outputs_dir=root / "outputs",
                               notebooks=["06_outcomes.ipynb"])
    broken = yaml.safe_load(paths[2].read_text())
    data = Path(broken["data"]["directory"])
    generate_area(broken["data"]["synthetic"]["variant"], broken["data"]["synthetic"]["seed"], data)
    episodes = (data / "treatment_episodes.csv").read_text(encoding="utf-8").splitlines()
    header = episodes[0].split(",")
    cells = episodes[5].split(",")
    cells[header.index("age")] = "forty"
    episodes[5] = ",".join(cells)
    (data / "treatment_episodes.csv").write_text("\n".join(episodes) + "\n", encoding="utf-8")
    code = cli.main(["batch", "--params", str(root / "params" / "*.yaml"), "--workers", "2", "--quiet"])
    [batch_dir] = (root / "outputs" / "batch").iterdir()
    return code, root, paths, batch_dir


def test_broken_area_fails_alone_with_a_clear_error(batch_run):
    code, root, paths, batch_dir = batch_run
    assert code == 1  # some area failed
    report = json.loads((batch_dir / "batch.json").read_text())
    by_slug = {a["area_slug"]: a for a in report["areas"]}
    assert [by_slug[s]["status"] for s in ("synthetic-01", "synthetic-02", "synthetic-03")] == [
        "succeeded", "succeeded", "failed"]
    failed = by_slug["synthetic-03"]
    assert failed["exit_code"] == 3
    assert "treatment_episodes.csv" in failed["error"] and "age" in failed["error"]
    assert "row 6: not a number: 'forty'" in failed["error"]  # line 6 of the file, header first
    for slug in ("synthetic-01", "synthetic-02"):
        run_dir = Path(by_slug[slug]["run_dir"])
        assert (run_dir / "report.html").is_file() and (run_dir / "report.pdf").is_file()
        assert (root / "outputs" / slug / "latest").resolve() == run_dir.resolve()
        assert by_slug[slug]["report_link"].endswith("report.html")
        assert (batch_dir / by_slug[slug]["report_link"]).resolve() == (run_dir / "report.html").resolve()
    assert not list((root / "outputs" / "synthetic-03").glob("2*"))  # nothing published for it


def test_summary_numbers_are_the_areas_own(batch_run):
    _, _, _, batch_dir = batch_run
    report = json.loads((batch_dir / "batch.json").read_text())
    compared = 0
    for area in report["areas"]:
        if area["status"] != "succeeded":
            continue
        results = json.loads((Path(area["run_dir"]) / "results.json").read_text())
        indicators = {i["key"]: i for i in results["indicators"]}
        for key in HEADLINE_INDICATORS:
            csv = batch_dir / "tables" / f"{key}.csv"
            if key not in indicators:
                continue
            table = pd.read_csv(csv, dtype=str).set_index("Area")
            row = table.loc[area["area_name"]]
            item = indicators[key]
            for column, field in (("Value", "value"), ("Lower limit", "lower"),
                                  ("Upper limit", "upper"), ("Count", "count")):
                if item.get(field) is None:
                    assert pd.isna(row[column]) or row[column] == "[x]"
                elif row[column] == "[c]":
                    assert item["count"] is not None and 0 < item["count"] < 5
                else:
                    assert float(row[column]) == item[field], (key, column)
                    compared += 1
            england = [c for c in item.get("comparisons", []) if c["label"].startswith("England")]
            if england:
                assert float(row["England value"]) == england[0]["value"]
                assert row["Compared with England"] == england[0]["result"]
    assert compared >= 20


def test_summary_html_and_workbook(batch_run):
    _, _, _, batch_dir = batch_run
    text = (batch_dir / "summary.html").read_text()
    assert '<html lang="en-GB">' in text or "<html lang='en-GB'>" in text
    assert "FAILED" in text and "treatment_episodes.csv" in text
    assert "<script" not in text
    # Two published areas are too few for a funnel plot, and the page says so.
    assert "No funnel plot: it needs at least three areas" in text
    from openpyxl import load_workbook

    book = load_workbook(batch_dir / "summary.xlsx")
    assert book.sheetnames[:3] == ["Cover", "Contents", "Areas"]


def test_expand_params_globs_in_order(tmp_path):
    for name in ("b.yaml", "a.yaml"):
        (tmp_path / name).write_text("x: 1\n")
    files = expand_params([str(tmp_path / "*.yaml"), str(tmp_path / "a.yaml")])
    assert [f.name for f in files] == ["a.yaml", "b.yaml"]
    with pytest.raises(FileNotFoundError, match="no file matches"):
        expand_params([str(tmp_path / "*.yml")])


def test_two_params_files_for_one_area_both_fail_before_running(tmp_path, project_root):
    raw = yaml.safe_load((project_root / "params" / "default.yaml").read_text())
    raw["outputs_dir"] = str(tmp_path / "outputs")
    raw["data"]["directory"] = str(tmp_path / "data")
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(raw))
    outcome = run_batch([tmp_path / "one.yaml", tmp_path / "two.yaml"], workers=1, quiet=True)
    assert len(outcome.failures) == 2
    assert all("named by 2 params files" in f.error for f in outcome.failures)


# ------------------------------------------------------------------------- lost workers
def _dies_first_time(params_file: str, **kwargs) -> dict:
    """Kill the worker on the first attempt at an area marked ``die-once``, succeed after."""
    marker = Path(params_file).with_suffix(".attempted")
    if "die" in Path(params_file).stem and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    if "always" in Path(params_file).stem:
        os._exit(1)
    return AreaStatus(params_file=params_file, status="succeeded", area_slug=Path(params_file).stem,
                      seconds=0.0).to_dict()


def test_lost_worker_is_retried_once(tmp_path, project_root):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    files = []
    for stem in ("die-once", "always-dies", "fine"):
        raw = yaml.safe_load((project_root / "params" / "default.yaml").read_text())
        raw["area"]["slug"] = stem
        raw["outputs_dir"] = str(tmp_path / "outputs")
        raw["data"]["directory"] = str(tmp_path / "data")
        path = tmp_path / f"{stem}.yaml"
        path.write_text(yaml.safe_dump(raw))
        files.append(path)
    outcome = run_batch(files, workers=2, quiet=True, task=_dies_first_time)
    status = {a.params_file: a for a in outcome.areas}
    assert status[str(files[0])].status == "succeeded"  # lost once, retried, done
    assert status[str(files[2])].status == "succeeded"
    lost = status[str(files[1])]
    assert lost.status == "failed" and "lost twice" in lost.error
    assert [f.params_file for f in outcome.failures] == [str(files[1])]


# ------------------------------------------------------------- summary from recorded results
def _fake_run(root: Path, slug: str, count: int, denominator: int) -> AreaStatus:
    """A run folder holding only results.json, as a published run has it."""
    run_dir = root / slug / "run"
    run_dir.mkdir(parents=True)
    value = count / denominator * 100
    indicator = {
        "key": "outcomes.continuity_of_care", "chapter": "outcomes",
        "label": "Continuity of care after prison", "value": value, "lower": value - 1,
        "upper": value + 1, "unit": "%", "count": count, "denominator": denominator,
        "period": "2024", "area": slug, "outcome": "Increase engagement in drug and alcohol treatment",
        "comparisons": [{"label": "England", "value": 40.7, "result": "Worse"}],
    }
    (run_dir / "results.json").write_text(json.dumps({"indicators": [indicator]}))
    (run_dir / "report.html").write_text("<html></html>")
    return AreaStatus(params_file=f"{slug}.yaml", status="succeeded", area_name=slug.title(),
                      area_slug=slug, run_id="run", run_dir=str(run_dir),
                      report_html=str(run_dir / "report.html"), seconds=1.0, disclosure_threshold=5)


def test_summary_funnel_and_disclosure_control(tmp_path):
    import datetime as dt

    from needs_assessment.batch_summary import publish_batch_summary

    sizes = [(3, 40), (90, 300), (120, 310), (60, 250), (200, 420), (75, 180)]
    areas = [_fake_run(tmp_path, f"area-{i}", c, d) for i, (c, d) in enumerate(sizes)]
    outcome = publish_batch_summary(
        areas, root=tmp_path / "batch", started=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        seconds=5.0, scheduler="test", workers=1, batch_id="b1")
    text = outcome.summary_html.read_text()
    table = pd.read_csv(outcome.batch_dir / "tables" / "outcomes.continuity_of_care.csv", dtype=str)
    small = table.set_index("Area").loc["Area-0"]
    # A count of 3 is suppressed with the value and interval worked out from it.
    assert (small[["Count", "Value", "Lower limit", "Upper limit"]] == "[c]").all()
    assert float(table.set_index("Area").loc["Area-1", "Count"]) == 90
    assert "funnel plot" in text and 'alt="' in text
    assert "No description has been provided" not in text
    assert "over-dispersion" in text  # the chart states which limits it draws
    batch = json.loads((outcome.batch_dir / "batch.json").read_text())
    assert batch["succeeded"] == 6 and batch["failed"] == 0
    # A second publication of the same id never overwrites the first.
    again = publish_batch_summary(
        areas, root=tmp_path / "batch", started=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        seconds=5.0, scheduler="test", workers=1, batch_id="b1")
    assert again.batch_dir.name == "b1-2"
