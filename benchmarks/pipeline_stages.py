"""Wall time per pipeline stage for one run (installation excluded).

    .venv/bin/python benchmarks/pipeline_stages.py [--params params/default.yaml]

Runs the assessment into a temporary outputs folder (data are generated there too if
the params describe a synthetic area and it is absent) and prints the stage and
notebook timings recorded in the run's manifest. Nothing under outputs/ is touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

from needs_assessment.runner import run_assessment

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=str(ROOT / "params" / "default.yaml"))
    parser.add_argument("--fresh-data", action="store_true",
                        help="generate a synthetic area into the temp folder (times generation)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="na-bench-") as tmp:
        tmp_path = Path(tmp)
        raw = yaml.safe_load(Path(args.params).read_text())
        base = Path(args.params).resolve().parent
        raw["outputs_dir"] = str(tmp_path / "outputs")
        directory = Path(raw["data"]["directory"])
        if args.fresh_data:
            raw["data"]["directory"] = str(tmp_path / "data")
        elif not directory.is_absolute():
            raw["data"]["directory"] = str((base / directory).resolve())
        for key in ("public_data_dir", "recommendations", "previous_run"):
            if raw.get(key) and not Path(raw[key]).is_absolute():
                raw[key] = str((base / raw[key]).resolve())
        params_path = tmp_path / "params.yaml"
        params_path.write_text(yaml.safe_dump(raw, sort_keys=False))

        start = time.perf_counter()
        outcome = run_assessment(params_path, run_id="benchmark", quiet=True)
        wall = time.perf_counter() - start
        manifest = json.loads(outcome.manifest.read_text())

    print(f"params: {args.params}")
    print(f"{'stage':<32}{'seconds':>10}")
    for stage, seconds in manifest["stage_seconds"].items():
        print(f"{stage:<32}{seconds:>10.2f}")
    print(f"{'':<4}per notebook:")
    for name, seconds in manifest["notebook_seconds"].items():
        print(f"{'    ' + name:<32}{seconds:>10.2f}")
    print(f"{'total wall time':<32}{wall:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
