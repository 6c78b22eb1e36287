"""Committed notebooks follow the house rules: stripped of outputs, one parameters cell,
a markdown title first, the project kernel, and each is run by some params file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_house_rules(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "needs-assessment"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell must be the chapter title"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one parameters cell"
    for name in ("params_file", "run_dir", "settings"):
        assert f"{name} =" in params[0].source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"


def test_notebooks_pass_nbstripout_verify():
    result = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", *map(str, NOTEBOOKS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_notebook_is_run_by_some_params_file(project_root):
    listed = set()
    for path in (project_root / "params").glob("*.yaml"):
        listed.update(yaml.safe_load(path.read_text()).get("notebooks", []))
    assert {p.name for p in NOTEBOOKS} <= listed
