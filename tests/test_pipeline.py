"""End to end: params -> executed notebooks -> report.html, report.pdf, tables, manifest.

The default synthetic county is generated into a temporary folder and run once per
session (xdist group 'pipeline' keeps these tests on one worker so the run is shared).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from needs_assessment.params import load_params
from needs_assessment.runner import RunFailed, run_assessment

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]


def _params_copy(project_root: Path, tmp: Path, *, source: str = "default.yaml", **changes) -> Path:
    """A copy of a shipped params file whose data and outputs live under ``tmp``."""
    raw = yaml.safe_load((project_root / "params" / source).read_text())
    raw["data"]["directory"] = str(tmp / "data" / raw["area"]["slug"])
    raw["outputs_dir"] = str(tmp / "outputs")
    raw.update(changes)
    path = tmp / f"params-{source}"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def default_run(tmp_path_factory, project_root):
    tmp = tmp_path_factory.mktemp("default-run")
    params_path = _params_copy(project_root, tmp)
    outcome = run_assessment(params_path, run_id="test-run", quiet=True)
    return outcome, params_path


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_published_numbers_match_the_stored_digest(default_run):
    """Regression guard: speed, layout and robustness work must not change a published
    number. When a change is meant to, regenerate tests/data/published_digests_default.json
    with tests/published_digests.py and say so in the commit."""
    from published_digests import published_digests

    outcome, _ = default_run
    stored = json.loads((Path(__file__).parent / "data" / "published_digests_default.json").read_text())
    made = published_digests(outcome.run_dir)
    differ = sorted(k for k in set(stored) | set(made) if stored.get(k) != made.get(k))
    assert not differ, f"published numbers changed in: {differ}"


def test_report_files_exist(default_run):
    outcome, params_path = default_run
    params = load_params(params_path, check_files=False)
    run_dir = outcome.run_dir
    assert run_dir == params.outputs_dir / params.area.slug / "test-run"
    for name in ("report.html", "report.pdf", "manifest.json", "params.yaml"):
        assert (run_dir / name).stat().st_size > 0, name
    for name in params.notebooks:
        executed = nbformat.read(run_dir / "notebooks" / name, as_version=4)
        code_cells = [c for c in executed.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code_cells), f"{name} not fully executed"
        assert (run_dir / "notebooks" / name).with_suffix(".html").is_file()
    # The private cache of validated record-level data never survives into a run folder.
    assert not (run_dir / ".cache").exists()
    assert not any(p.name.startswith(".building-") for p in run_dir.parent.iterdir())
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()


def test_report_html_is_self_contained_and_accessible(default_run):
    from bs4 import BeautifulSoup

    outcome, params_path = default_run
    params = load_params(params_path, check_files=False)
    soup = BeautifulSoup(outcome.report_html.read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "en-GB"
    assert params.area.name in soup.title.get_text()
    assert not soup.find_all("script"), "report must carry no JavaScript"
    title_page = soup.find(class_="title-page")
    text = title_page.get_text(" ", strip=True)
    assert params.area.name in text and params.period.label in text and "Run date" in text
    nav = soup.find("nav", class_="contents")
    links = [a["href"] for a in nav.find_all("a")]
    assert links and all(soup.find(id=href[1:]) is not None for href in links)
    images = soup.find_all("img")
    assert images, "the report should have charts"
    for img in images:
        assert img.get("alt") and "No description" not in img["alt"], img.get("alt")
        assert img["src"].startswith("data:image/"), "figures must be embedded"
    for tbl in soup.find_all("table"):
        assert tbl.find("caption") is not None
        assert tbl.find("th", attrs={"scope": "col"}) is not None
    # No code leaks into the published report.
    assert "start_chapter(" not in soup.get_text()


def test_pdf_has_pages_with_extractable_text_and_is_tagged(default_run):
    from pypdf import PdfReader

    outcome, params_path = default_run
    params = load_params(params_path, check_files=False)
    reader = PdfReader(outcome.report_pdf)
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert params.area.name.split(" (")[0] in text
    assert "Contents" in text
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root, "PDF is not tagged"
    assert root.get("/Lang") in ("en-GB", "en-gb")
    assert root["/MarkInfo"]["/Marked"]


def test_manifest_is_complete(default_run):
    outcome, params_path = default_run
    params = load_params(params_path, check_files=False)
    manifest = json.loads(outcome.manifest.read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["run_id"] == "test-run"
    assert manifest["params"]["area"]["slug"] == params.area.slug
    assert manifest["params_file_sha256"] == hashlib.sha256(params_path.read_bytes()).hexdigest()
    # Every configured input is hashed; folders (police.uk months) file by file.
    assert set(manifest["inputs"]) == set(params.input_paths())
    for key, entry in manifest["inputs"].items():
        if "files" in entry:
            assert entry["files"], key
            for meta in entry["files"].values():
                assert len(meta["sha256"]) == 64
        else:
            path = Path(entry["path"])
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), key
    for package in ("pandas", "papermill", "nbconvert", "weasyprint", "pydantic"):
        assert package in {k.lower() for k in manifest["packages"]}
    assert manifest["git"] is None or len(manifest["git"]["commit"]) == 40
    assert manifest["started"] <= manifest["finished"]
    assert set(manifest["notebook_seconds"]) == set(params.notebooks)
    assert all(v > 0 for v in manifest["notebook_seconds"].values())
    for stage in ("read_params", "validate_inputs", "notebooks", "report_html", "report_pdf"):
        assert stage in manifest["stage_seconds"]
    # Output hashes match the files as published.
    for rel, digest in manifest["outputs_sha256"].items():
        assert hashlib.sha256((outcome.run_dir / rel).read_bytes()).hexdigest() == digest


def test_failing_notebook_keeps_earlier_runs_and_names_the_cell(default_run, tmp_path, project_root):
    outcome, params_path = default_run
    earlier = outcome.run_dir
    before = _tree_digest(earlier)

    notebooks = tmp_path / "notebooks"
    shutil.copytree(project_root / "notebooks", notebooks)
    broken = nbformat.v4.new_notebook()
    broken.metadata["kernelspec"] = {"name": "needs-assessment", "display_name": "x", "language": "python"}
    broken.cells = [
        nbformat.v4.new_code_cell("params_file = None\nrun_dir = None\nsettings = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('planted failure for the test')"),
    ]
    nbformat.write(broken, notebooks / "99_broken.ipynb")

    raw = yaml.safe_load(params_path.read_text())
    raw["notebooks"] = [raw["notebooks"][0], "99_broken.ipynb"]
    failing = tmp_path / "failing.yaml"
    failing.write_text(yaml.safe_dump(raw))

    with pytest.raises(RunFailed) as err:
        run_assessment(failing, run_id="will-fail", notebooks_dir=notebooks, quiet=True)
    message = err.value.message
    assert "99_broken.ipynb" in message
    assert "ValueError: planted failure for the test" in message
    # parameters (In [1]), injected parameters (In [2]), x = 1 (In [3]), the raise (In [4])
    assert "cell In [4]" in message
    failed_dir = earlier.parent / "failed-will-fail"
    assert err.value.failed_dir == failed_dir
    assert (failed_dir / "notebooks" / "99_broken.ipynb").is_file()
    assert (failed_dir / "ERROR.txt").read_text().startswith("Notebook 99_broken.ipynb failed")
    assert json.loads((failed_dir / "manifest.json").read_text())["status"] == "failed"
    assert not (failed_dir / ".cache").exists()
    assert not (earlier.parent / "will-fail").exists()
    assert not (failed_dir / "report.html").exists()
    assert _tree_digest(earlier) == before, "an earlier run was modified"
    assert (earlier.parent / "latest").resolve() == earlier.resolve()


def test_run_ids_are_never_reused(default_run):
    outcome, params_path = default_run
    with pytest.raises(RunFailed, match="never overwritten"):
        run_assessment(params_path, run_id="test-run", quiet=True)


def test_cli_reports_bad_params_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("area: {name: x}\nbogus: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "needs_assessment", "run", "--params", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "bogus: unknown key" in result.stderr
    assert "period: required key is missing" in result.stderr


def _recorded(outcome):
    return json.loads((outcome.run_dir / "results.json").read_text())


def test_every_recommendation_traces_to_a_recorded_result(default_run):
    import pandas as pd

    outcome, _ = default_run
    recorded = {i["key"]: i for i in _recorded(outcome)["indicators"]}
    recs = pd.read_csv(outcome.run_dir / "recommendations.csv", keep_default_na=False, na_values=[""])
    assert len(recs) > 0, "the default area should produce recommendations"
    assert (outcome.run_dir / "recommendations.xlsx").is_file()
    for row in recs.to_dict("records"):
        rid, key = row["Recommendation id"], row["Indicator key"]
        if not key:  # added by an analyst without evidence
            continue
        assert key in recorded, f"{rid}: evidence indicator not recorded"
        item = recorded[key]
        assert row["Value"] == pytest.approx(item["value"], rel=1e-12), rid
        if item["lower"] is not None:
            assert row["Lower limit"] == pytest.approx(item["lower"], rel=1e-12), rid
            assert row["Upper limit"] == pytest.approx(item["upper"], rel=1e-12), rid
        assert row["Indicator"] == item["label"]


def test_report_has_the_published_structure(default_run):
    from bs4 import BeautifulSoup

    outcome, _ = default_run
    soup = BeautifulSoup(outcome.report_html.read_text(encoding="utf-8"), "html.parser")
    h2 = [h.get_text(" ", strip=True) for h in soup.find_all("h2")]
    for heading in ("Contents", "Executive summary", "Methods and data sources", "Data quality and completeness", "Glossary"):
        assert heading in h2, heading
    assert any(h.endswith("Findings and recommendations") for h in h2)
    assert h2.index("Executive summary") < h2.index("Methods and data sources")
    summary = soup.find(id="executive-summary")
    findings = json.loads((outcome.run_dir / "results" / "findings.json").read_text())["values"]["findings"]
    top = [f["sentence"] for f in findings if f["concern"]][0]
    assert top in summary.get_text(" ", strip=True)


def test_no_published_table_shows_a_small_count(default_run):
    """Scan tables.xlsx, every CSV and every table in report.html for visible counts from 1
    to 4 in count columns (the columns each chapter declared as counts)."""
    import openpyxl
    import pandas as pd
    from bs4 import BeautifulSoup

    from needs_assessment.sdc import DisclosureRules, find_disclosive_cells

    outcome, params_path = default_run
    rules = DisclosureRules(threshold=load_params(params_path, check_files=False).disclosure.threshold)
    tables = _recorded(outcome)["tables"]
    count_columns = {c for t in tables for c in t["count_columns"]}
    assert count_columns, "no table declared count columns"
    checked = 0
    for meta in tables:
        frame = pd.read_csv(outcome.run_dir / meta["csv"], dtype=str, keep_default_na=False)
        cells = find_disclosive_cells(frame, [c for c in meta["count_columns"] if c in frame], rules)
        assert not cells, f"{meta['csv']}: {cells[:3]}"
        checked += 1
    workbook = openpyxl.load_workbook(outcome.run_dir / "tables.xlsx", read_only=False)
    for sheet in workbook.worksheets:
        for table in sheet.tables.values():
            rows = list(sheet[table.ref])
            header = [str(c.value) for c in rows[0]]
            frame = pd.DataFrame([[c.value for c in r] for r in rows[1:]], columns=header)
            cols = [c for c in header if c in count_columns]
            assert not find_disclosive_cells(frame, cols, rules), f"tables.xlsx {sheet.title}"
            checked += 1
    soup = BeautifulSoup(outcome.report_html.read_text(encoding="utf-8"), "html.parser")
    for html_table in soup.find_all("table"):
        header = [th.get_text(strip=True) for th in html_table.find("thead").find_all("th")]
        body = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in html_table.find("tbody").find_all("tr")]
        frame = pd.DataFrame(body, columns=header)
        cols = [c for c in header if c in count_columns]
        assert not find_disclosive_cells(frame, cols, rules), html_table.find("caption").get_text()
        checked += 1
    assert checked > 10
