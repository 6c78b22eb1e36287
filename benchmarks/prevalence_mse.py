"""Wall time of capture–recapture with model averaging (best of a few repeats).

    .venv/bin/python benchmarks/prevalence_mse.py [--repeats 3] [--notebook] [--params FILE]

Times, for the default synthetic county (generated into a temporary folder):

* ``mse_estimate`` on the whole-area capture histories (500 bootstrap replicates, which
  yield the selected-model and the model-averaged intervals from the same fits);
* ``ocu_prevalence`` (whole area, sex, age group, district) for each headline basis;
* with ``--notebook``, the prevalence chapter (02) executed alone by papermill;
* with ``--params FILE``, ``ocu_prevalence`` for that run's area too, once (e.g. the
  national-scale variant: 300 districts, each estimated with 64 models and a 500-replicate
  bootstrap), as wall and CPU seconds.

and ``mse_estimate`` on the published datasets in ``../shared/reference/mse`` when present.
Every machine differs: compare runs made on the same machine at the same load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "mse"


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--notebook", action="store_true", help="also run notebook 02 alone with papermill")
    parser.add_argument("--params", type=Path, help="also time ocu_prevalence for this run's area, once")
    args = parser.parse_args()

    from needs_assessment.analysis import prevalence as prev
    from needs_assessment.data import load_area
    from needs_assessment.params import load_params
    from needs_assessment.prevalence import capture_histories, mse_estimate
    from needs_assessment.synthetic import generate_area

    rows = []
    with tempfile.TemporaryDirectory(prefix="na-bench-mse-") as tmp:
        raw = yaml.safe_load((ROOT / "params" / "default.yaml").read_text())
        generate_area(raw["data"]["synthetic"]["variant"], raw["data"]["synthetic"]["seed"], Path(tmp) / "data")
        raw["data"]["directory"] = str(Path(tmp) / "data")
        raw["outputs_dir"] = str(Path(tmp) / "outputs")
        params_path = Path(tmp) / "params.yaml"
        params_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        params = load_params(params_path)
        area = load_area(params)
        year, level = params.period.end_year, params.area.reporting_geography

        records = prev.ocu_capture_records(area, year, level=level)
        table = capture_histories({name: g["client_id"] for name, g in records.groupby("list")})
        rows.append(("mse_estimate, Anyshire, 4 lists, B=500",
                     best_of(args.repeats, lambda: mse_estimate(table, n_boot=500))))
        for basis in ("averaged", "selected"):
            rows.append((f"ocu_prevalence, Anyshire, basis={basis}",
                         best_of(args.repeats, lambda b=basis: prev.ocu_prevalence(area, year, level=level, basis=b))))
        if args.notebook:
            notebook = ROOT / "notebooks" / "02_prevalence_and_need.ipynb"

            def run_notebook() -> None:
                with tempfile.TemporaryDirectory() as out:
                    subprocess.run([sys.executable, "-m", "papermill", str(notebook), f"{out}/02.ipynb",
                                    "-k", "needs-assessment", "-p", "params_file", str(params_path),
                                    "--cwd", out, "--no-progress-bar"], check=True, capture_output=True)

            rows.append(("notebook 02 alone (papermill, incl. kernel start)", best_of(args.repeats, run_notebook)))

    if args.params:
        from needs_assessment.inputs import load_area as load_validated

        params = load_params(args.params)
        area = load_validated(params)
        year, level = params.period.end_year, params.area.reporting_geography
        wall, cpu = time.perf_counter(), time.process_time()
        result = prev.ocu_prevalence(area, year, level=level)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        label = f"ocu_prevalence, {params.area.name}, {len(result.by_area)} {level}s"
        rows.append((f"{label} (wall)", wall))
        rows.append((f"{label} (CPU)", cpu))

    if REFERENCE.is_dir():
        for name, kwargs in (("kosovo_4list.csv", {"max_order": 3, "n_top": 113, "n_boot": 300}),
                             ("new_orleans_5list_v2024.csv", {"n_boot": 500}),
                             ("new_orleans_8list_v2024.csv", {"n_boot": 200})):
            data = pd.read_csv(REFERENCE / name)
            rows.append((f"mse_estimate, {name}, {kwargs}",
                         best_of(args.repeats, lambda d=data, k=kwargs: mse_estimate(d, seed=1, **k))))

    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
