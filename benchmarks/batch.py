"""A batch of synthetic areas: one worker versus two, in one invocation.

    .venv/bin/python benchmarks/batch.py [--areas 8] [--notebooks 01_area_profile.ipynb,...]

Writes params for N synthetic areas (counties and boroughs, each its own seed) into a
temporary folder, generates their data once (timed apart), then runs the same batch twice
with ``needs-assessment batch``'s machinery: on a LocalCluster of one worker (the areas
one after another) and of two workers. Prints both wall times, the speed-up, and the peak
memory of each worker (the worker process with the kernels and processes it started,
summed, sampled every 50 ms) and of the whole batch. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _measure import PeakRSS, fmt_mib, load_note

from needs_assessment.batch import run_batch
from needs_assessment.synthetic import generate_area
from needs_assessment.synthetic.batch import write_batch_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=8)
    parser.add_argument("--notebooks", default=None, help="comma-separated chapters (default all)")
    args = parser.parse_args()
    notebooks = [n.strip() for n in args.notebooks.split(",")] if args.notebooks else None

    print(f"machine: {load_note()}")
    with tempfile.TemporaryDirectory(prefix="na-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        files = write_batch_params(args.areas, tmp / "params", outputs_dir=tmp / "outputs",
                                   notebooks=notebooks)
        start = time.perf_counter()
        for path in files:
            raw = yaml.safe_load(path.read_text())
            source = raw["data"]["synthetic"]
            generate_area(source["variant"], source["seed"], Path(raw["data"]["directory"]))
        print(f"{args.areas} areas' data generated in {time.perf_counter() - start:.1f} s (not in the times below)")
        results = {}
        for workers in (1, 2):
            with PeakRSS() as memory:
                start = time.perf_counter()
                outcome = run_batch(files, workers=workers, quiet=True, outputs_dir=tmp / f"outputs-{workers}")
                wall = time.perf_counter() - start
            results[workers] = wall
            failed = len(outcome.failures)
            print(f"\n== {workers} worker(s): {wall:.1f} s wall, {len(files) - failed} published, {failed} failed")
            area_seconds = sorted(a.seconds or 0 for a in outcome.areas)
            print(f"   seconds per area: min {area_seconds[0]:.1f}, max {area_seconds[-1]:.1f}")
            for i, peak in enumerate(sorted(memory.peak_per_child.values(), reverse=True)[:workers], start=1):
                print(f"   peak memory of worker {i} (with its kernels): {fmt_mib(peak)}")
            print(f"   peak memory of the whole batch: {fmt_mib(memory.peak)}")
        print(f"\nspeed-up with 2 workers: {results[1] / results[2]:.2f}x")
    print(f"machine after: {load_note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
