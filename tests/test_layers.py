"""The package's import contracts (``[tool.importlinter]`` in pyproject.toml): layers, the
data contract's own order, loader families, chapters without generators, and no cycles.

The contracts are checked with import-linter on the package as it is, then on temporary
copies with one planted import each, so that every contract is shown to fail when broken.
The planted imports sit inside functions: lazy imports count like any other.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "needs_assessment"
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "A module imports only from the layers below it"
DATA_LAYERS = "The data contract: area checks, then loaders, then schemas and codes"
FAMILIES = "Each family of loaders stands alone on the shared core"
NO_GENERATORS = "Chapters never import the synthetic generators"
NO_CYCLES = "No import cycle between the modules or subpackages of any package"
ALL = (LAYERS, DATA_LAYERS, FAMILIES, NO_GENERATORS, NO_CYCLES)


def lint(source_root: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the ``needs_assessment`` found in ``source_root``. lint-imports puts
    its working folder first on ``sys.path``, so a copy there shadows the installed package."""
    if not LINT_IMPORTS.exists():
        pytest.skip(f"lint-imports not installed beside {sys.executable} (make setup installs it)")
    return subprocess.run(
        [str(LINT_IMPORTS), str(CONFIG), "--no-cache", "--no-logo"],
        cwd=source_root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "400"},  # one summary line per contract
    )


def verdicts(output: str) -> dict[str, str]:
    """Contract name -> 'KEPT' or 'BROKEN', from lint-imports' summary lines."""
    found = {}
    for line in output.splitlines():
        for name in ALL:
            match = re.fullmatch(rf"{re.escape(name)}.* (KEPT|BROKEN)", line.strip())
            if match:
                found[name] = match.group(1)
    return found


def test_the_package_keeps_every_contract():
    result = lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(ALL, "KEPT"), result.stdout


PLANTED = {
    # the circle this layout removed: the data contract reaching up for the public-data builder
    "data imports public_data": (
        "data/area.py",
        "from needs_assessment.public_data.build import build_public\n",
        {LAYERS, NO_CYCLES},
        "needs_assessment.data.area -> needs_assessment.public_data.build",
    ),
    "data imports synthetic": (
        "data/codes.py",
        "from needs_assessment.synthetic import areas\n",
        {LAYERS, NO_CYCLES, NO_GENERATORS},  # the chapters import data, so they would reach it too
        "needs_assessment.data.codes -> needs_assessment.synthetic.areas",
    ),
    "schemas import the loaders": (
        "data/schemas.py",
        "from needs_assessment.data.loaders import load_deaths\n",
        {DATA_LAYERS, NO_CYCLES, FAMILIES},  # every family imports schemas, so each reaches the others
        "needs_assessment.data.schemas -> needs_assessment.data.loaders",
    ),
    "one loader family uses another": (
        "data/loaders/records.py",
        "from needs_assessment.data.loaders.population import load_population\n",
        {FAMILIES},
        "needs_assessment.data.loaders.records -> needs_assessment.data.loaders.population",
    ),
    "a chart imports the planted truth": (
        "charts/places.py",
        "from needs_assessment.synthetic import PLANTED\n",
        {NO_GENERATORS},
        "needs_assessment.charts.places -> needs_assessment.synthetic",
    ),
    # a cycle no layers contract sees: two generator modules importing each other
    "a cycle inside synthetic": (
        "synthetic/sources.py",
        "from needs_assessment.synthetic import people\n",
        {NO_CYCLES},
        "No cycles are allowed in needs_assessment.synthetic.",
    ),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_planted_import_breaks_its_contract(tmp_path, case):
    relpath, statement, broken, named = PLANTED[case]
    copy = tmp_path / "needs_assessment"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / relpath
    # inside a function, as the lazy imports in runner.py and cli.py are
    target.write_text(target.read_text() + f"\n\ndef _planted():\n    {statement}", encoding="utf-8")

    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout
    expected = {name: ("BROKEN" if name in broken else "KEPT") for name in ALL}
    assert verdicts(result.stdout) == expected, result.stdout
    assert named in result.stdout, result.stdout
