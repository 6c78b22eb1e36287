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
