"""Shared fixtures.

`reference_dir` points at the real published data beside the project
(`../shared/reference`, or `$NEEDS_ASSESSMENT_REFERENCE_DIR`); tests that need it skip
cleanly when it is absent, e.g. on a fresh clone away from the shared folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _reference_dir() -> Path:
    env = os.environ.get("NEEDS_ASSESSMENT_REFERENCE_DIR")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    path = _reference_dir()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set NEEDS_ASSESSMENT_REFERENCE_DIR)")
    return path


@pytest.fixture(scope="session")
def mse_dir(reference_dir) -> Path:
    """The published multi-list datasets (reference/mse, see its README)."""
    path = reference_dir / "mse"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def synthetic_params(tmp_path_factory):
    """``synthetic_params("default" | "anytown")`` -> path of a copy of that params file
    whose synthetic area is freshly generated (deterministically, from its seed) into a
    temporary folder, so tests never depend on what happens to be in data/synthetic/."""
    import yaml

    from needs_assessment.synthetic import generate_area

    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            raw = yaml.safe_load((PROJECT_ROOT / "params" / f"{name}.yaml").read_text())
            folder = tmp_path_factory.mktemp(f"synthetic-{name}")
            source = raw["data"]["synthetic"]
            generate_area(source["variant"], source["seed"], folder / "data")
            raw["data"]["directory"] = str(folder / "data")
            raw["outputs_dir"] = str(folder / "outputs")
            path = folder / f"{name}.yaml"
            path.write_text(yaml.safe_dump(raw, sort_keys=False))
            made[name] = path
        return made[name]

    return make


@pytest.fixture(scope="session", autouse=True)
def _private_work_dir(tmp_path_factory):
    """Runs made by the tests keep their private workspaces in a temporary folder, never in
    the user's cache directory."""
    from needs_assessment.workspace import WORK_DIR_ENV

    previous = os.environ.get(WORK_DIR_ENV)
    os.environ[WORK_DIR_ENV] = str(tmp_path_factory.mktemp("private-work"))
    yield
    if previous is None:
        os.environ.pop(WORK_DIR_ENV, None)
    else:
        os.environ[WORK_DIR_ENV] = previous
