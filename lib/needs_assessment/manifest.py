"""The run manifest: what went in, what ran, with which software, and how long it took.

Following the Reproducible Analytical Pipelines guidance, every run writes
``manifest.json`` beside its outputs: the params as run, the SHA-256 of every input
file, the versions of every installed package, the git commit of the workbook, and the
start, end and duration of each stage and notebook. Two runs with the same manifest
inputs and versions should give the same numbers.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "git_info", "hash_inputs", "package_versions", "PROJECT_ROOT"]

#: The workbook's own folder (holding notebooks/, params/, lib/).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_inputs(paths: Mapping[str, Path]) -> dict[str, Any]:
    """SHA-256 and size of every input; a folder (e.g. police.uk months) lists each file."""
    hashed: dict[str, Any] = {}
    for key, path in paths.items():
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            hashed[key] = {
                "path": str(path),
                "files": {
                    str(p.relative_to(path)): {"sha256": file_sha256(p), "bytes": p.stat().st_size}
                    for p in files
                },
            }
        elif path.is_file():
            hashed[key] = {
                "path": str(path),
                "sha256": file_sha256(path),
                "bytes": path.stat().st_size,
            }
        else:
            hashed[key] = {"path": str(path), "missing": True}
    return hashed


def package_versions() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name."""
    versions = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            versions[name] = dist.version
    return dict(sorted(versions.items(), key=lambda item: item[0].lower()))


def git_info(root: Path = PROJECT_ROOT) -> dict[str, Any] | None:
    """Commit, branch and whether the working tree had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=20
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        branch, dirty = None, None
    return {"commit": commit, "branch": branch, "uncommitted_changes": dirty}


def environment_info() -> dict[str, str]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
    }
