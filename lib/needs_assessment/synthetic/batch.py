"""Params for N synthetic areas, so a batch of any size runs without private data.

    needs-assessment generate-areas --count 8 --out params/synthetic-batch

writes ``synthetic-01.yaml`` ... ``synthetic-08.yaml``: counties (like ``default.yaml``,
six districts) and unitary boroughs (like ``anytown.yaml``, wards) in turn, each with its
own seed, so no two areas are alike. Each area's data are generated deterministically
from its variant and seed by the runner the first time the area runs (in the batch, on
the worker that runs it), into ``<data-dir>/<slug>/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

__all__ = ["write_batch_params"]

_PARAMS_DIR = Path(__file__).resolve().parents[3] / "params"
_TEMPLATES = {"county": "default.yaml", "unitary": "anytown.yaml"}


def write_batch_params(
    count: int,
    folder: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    outputs_dir: str | os.PathLike | None = None,
    seed: int = 20240521,
    notebooks: list[str] | None = None,
    templates_dir: str | os.PathLike | None = None,
) -> list[Path]:
    """Write ``count`` params files into ``folder`` and return their paths.

    Area *i* (from 1) is a county when *i* is odd and a unitary borough when even, with
    seed ``seed + i``. ``data_dir`` (default ``<folder>/data``) holds each area's generated
    data, ``outputs_dir`` (default the templates') its runs; ``notebooks`` overrides the
    chapters run. Existing files are never overwritten.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data_root = Path(data_dir) if data_dir is not None else folder / "data"
    templates = Path(templates_dir) if templates_dir is not None else _PARAMS_DIR
    width = max(2, len(str(count)))
    written = []
    for i in range(1, count + 1):
        variant = "county" if i % 2 else "unitary"
        raw = yaml.safe_load((templates / _TEMPLATES[variant]).read_text(encoding="utf-8"))
        slug = f"synthetic-{i:0{width}d}"
        kind = "county" if variant == "county" else "borough"
        raw["area"]["name"] = f"Synthetic {kind} {i:0{width}d} (synthetic)"
        raw["area"]["slug"] = slug
        raw["data"]["directory"] = str((data_root / slug).resolve())
        raw["data"]["synthetic"] = {"variant": variant, "seed": seed + i}
        raw["report"]["organisation"] = f"Synthetic {kind} {i:0{width}d} Combating Drugs Partnership (synthetic example)"
        if outputs_dir is not None:
            raw["outputs_dir"] = str(Path(outputs_dir).resolve())
        else:
            raw["outputs_dir"] = str((templates / raw.get("outputs_dir", "../outputs")).resolve())
        if notebooks is not None:
            raw["notebooks"] = list(notebooks)
        path = folder / f"{slug}.yaml"
        if path.exists():
            raise FileExistsError(f"{path} exists; params files are never overwritten")
        header = (f"# Synthetic {variant} area {i} of {count} for batch runs (seed {seed + i}); "
                  "written by needs-assessment generate-areas.\n")
        path.write_text(header + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
