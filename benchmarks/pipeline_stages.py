"""Where a run's time and memory go: the default area and the national-scale area.

    .venv/bin/python benchmarks/pipeline_stages.py [--areas default,national] [--no-serial] [--runs N]
    make benchmark

For each area it runs the whole assessment twice in this one invocation, each time as
``needs-assessment run`` in a process of its own, into temporary folders (nothing under
outputs/ is touched):

* with the notebooks side by side (``jobs`` = the cores available), printing wall seconds
  per stage and per notebook from the run's manifest, the run's duration, and the peak of
  the summed memory of every process of the run (runner, input preparation, kernel server
  and kernels, publishing workers), sampled every 50 ms: resident memory (RSS, which
  counts pages the kernels share with the kernel server once in each) and proportional
  set size (PSS, each shared page split among its sharers: what the run occupied);
* one notebook at a time (``jobs=1``), for the ratio serial / parallel.

First it measures the fixed cost of a notebook, the price every chapter pays before doing
any work: an *empty chapter* (the parameters cell and ``start_chapter``, reading the
area's validated inputs from the private cache) and a *bare kernel* (the parameters cell
only), each run five times one after another through the runner's own machinery; the
median is printed.

The national-scale synthetic area (33,755 small areas, ~290,000 episodes) is generated
once into ``--national-data`` (default /tmp/needs-assessment-national) and reused; its
generation time is printed apart from the run. Timings depend on what else the machine is
doing and on the host it shares, so the load average and a reference loop's seconds are
printed before and after; ``--runs N`` measures each area N times and shows the run of
median duration in full. Memory is in MiB. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml
from _measure import PeakRSS, fmt_mib, load_note

ROOT = Path(__file__).resolve().parents[1]


def _params_copy(source: Path, tmp: Path, *, data_dir: Path | None = None, **changes) -> Path:
    raw = yaml.safe_load(source.read_text())
    base = source.resolve().parent
    raw["outputs_dir"] = str(tmp / "outputs")
    directory = Path(data_dir) if data_dir else Path(raw["data"]["directory"])
    raw["data"]["directory"] = str(directory if directory.is_absolute() else (base / directory).resolve())
    for key in ("public_data_dir", "recommendations", "previous_run"):
        if raw.get(key) and not Path(raw[key]).is_absolute():
            raw[key] = str((base / raw[key]).resolve())
    raw.update(changes)
    path = tmp / f"params-{source.stem}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _national_params(tmp: Path, data_dir: Path) -> Path:
    """The national variant as an area: one 'district' per local authority."""
    raw = yaml.safe_load((ROOT / "params" / "default.yaml").read_text())
    raw["area"] = {"name": "Synthetic England (national scale)", "slug": "national", "code": "X92000001",
                   "structure": "two_tier", "reporting_geography": "district", "illustrative_records": True}
    raw["data"]["directory"] = str(data_dir)
    raw["data"]["synthetic"] = {"variant": "national", "seed": 20240521}
    raw["data"]["files"]["crime"] = None  # the national variant has no police.uk folder
    raw["report"]["organisation"] = "Synthetic England (benchmark)"
    raw["outputs_dir"] = str(tmp / "outputs")
    path = tmp / "params-national.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _ensure_national_data(data_dir: Path) -> float | None:
    if (data_dir / "geography.csv").is_file():
        return None
    from needs_assessment.synthetic import generate_area

    start = time.perf_counter()
    generate_area("national", 20240521, data_dir)
    return time.perf_counter() - start


def _empty_chapter(kind: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "needs-assessment", "language": "python", "display_name": "Python"},
                   "language_info": {"name": "python"}}
    cells = [nbformat.v4.new_markdown_cell("# Empty chapter"),
             nbformat.v4.new_code_cell('params_file = "../params/default.yaml"\nrun_dir = None\nsettings = None',
                                       metadata={"tags": ["parameters"]})]
    if kind == "chapter":
        cells.append(nbformat.v4.new_code_cell(
            "from needs_assessment.notebook import start_chapter\n"
            'ch = start_chapter("empty", "Empty chapter", params_file=params_file, settings=settings, run_dir=run_dir)'))
    nb.cells = cells
    return nb


def fixed_cost(params_path: Path, tmp: Path, repeats: int = 5) -> dict[str, float]:
    """Median seconds of a bare kernel and of an empty chapter, run one after another,
    with kernels forked from the kernel server (as the runner starts them) and started as
    new processes (as they are where the server cannot run); and the server's start-up,
    paid once per process, from its start until it has forked its first kernel."""
    from needs_assessment.execution import (
        KernelRegistry,
        KernelServer,
        NotebookRun,
        Progress,
        kernel_environment,
        run_notebooks,
    )
    from needs_assessment.inputs import load_area
    from needs_assessment.params import load_params
    from needs_assessment.runner import ensure_kernel
    from needs_assessment.workspace import save_area

    params = load_params(params_path)
    ensure_kernel(params.kernel_name)
    cache = save_area(load_area(params), tmp / "cache")
    run_dir = tmp / "fixed-cost-run"
    (run_dir / "notebooks").mkdir(parents=True)
    settings = params.model_dump(mode="json")
    out = {}
    KernelServer.stop()  # measure the server's start-up from nothing
    for started in ("fresh", "forked"):
        server, start_call = None, 0.0
        if started == "forked":
            begin = time.perf_counter()
            server = KernelServer.start()
            start_call = time.perf_counter() - begin
            if server is None:
                continue
        for kind in ("bare", "chapter"):
            source = tmp / f"{kind}.ipynb"
            nbformat.write(_empty_chapter(kind), source)
            jobs = [NotebookRun(f"{started}_{kind}_{i}.ipynb", source,
                                run_dir / "notebooks" / f"{started}_{kind}_{i}.ipynb",
                                {"params_file": "params.yaml", "run_dir": ".", "settings": settings},
                                params.kernel_name, run_dir) for i in range(repeats)]
            seconds = run_notebooks(jobs, {j.name: [] for j in jobs}, max_parallel=1, registry=KernelRegistry(),
                                    kernel_env=kernel_environment(cache), progress=Progress([], enabled=False),
                                    kernel_server=server)
            if server is not None and "server_start" not in out and len(seconds) > 1:
                # The first forked kernel waited for the server's imports; the others did not.
                first, *others = seconds.values()
                out["server_start"] = start_call + first - statistics.median(others)
            out[f"{started}_{kind}"] = statistics.median(seconds.values())
            out[f"{started}_{kind}_all"] = list(seconds.values())
    return out


def _run(params_path: Path, run_id: str, jobs: int | None) -> tuple[float, dict, PeakRSS]:
    """One ``needs-assessment run`` in a process of its own, as an analyst starts it, with
    the memory of that process and everything below it. (Run inside this process, the
    runner's figure carried what the fixed-cost measurement had left in this one.)"""
    import subprocess

    from needs_assessment.params import load_params

    params = load_params(params_path)
    command = [sys.executable, "-m", "needs_assessment", "run", "--params", str(params_path),
               "--run-id", run_id, "--quiet"]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with PeakRSS(root=process.pid) as rss:
        output, _ = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"the run failed (exit code {process.returncode}):\n{output}")
    run_dir = Path(params.outputs_dir) / params.area.slug / run_id
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["_sizes"] = {name: (run_dir / name).stat().st_size for name in ("report.html", "report.pdf")}
    return wall, manifest, rss


def _print_area(label: str, wall: float, manifest: dict, memory: PeakRSS, serial: float | None) -> None:
    print(f"\n== {label}")
    print(f"{'stage':<40}{'seconds':>10}")
    for stage, seconds in manifest["stage_seconds"].items():
        print(f"{stage:<40}{seconds:>10.2f}")
    print("  per notebook (side by side, so they overlap):")
    for name, seconds in manifest["notebook_seconds"].items():
        print(f"{'    ' + name:<40}{seconds:>10.2f}")
    print(f"{'duration_seconds (manifest)':<40}{manifest['duration_seconds']:>10.2f}")
    print(f"{'wall seconds (the run command)':<40}{wall:>10.2f}")
    print(f"{'notebooks at once':<40}{manifest.get('parallel_notebooks', '?'):>10}")
    print(f"{'peak RSS, all processes':<40}{fmt_mib(memory.peak):>10}")
    print(f"{'peak PSS, all processes':<40}{fmt_mib(memory.peak_pss):>10}")
    print("  at the RSS peak (largest processes):")
    for name, rss in memory.at_peak[:8]:
        print(f"{'    ' + name:<40}{fmt_mib(rss):>10}")
    for name, size in manifest["_sizes"].items():
        print(f"{name:<40}{fmt_mib(size):>10}")
    if serial is not None:
        print(f"{'serial run (one notebook at a time)':<40}{serial:>10.2f}")
        print(f"{'speed-up, serial / side by side':<40}{serial / wall:>10.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", default="default,national", help="comma-separated: default, national")
    parser.add_argument("--params", default=str(ROOT / "params" / "default.yaml"),
                        help="params of the 'default' area (another area's params file works too)")
    parser.add_argument("--national-data", default="/tmp/needs-assessment-national")
    parser.add_argument("--no-serial", action="store_true", help="skip the serial runs")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each empty notebook")
    parser.add_argument("--runs", type=int, default=1,
                        help="measured runs of each area; the run of median duration is shown in full")
    args = parser.parse_args()
    areas = [a.strip() for a in args.areas.split(",") if a.strip()]

    print(f"machine: {load_note()}")
    with tempfile.TemporaryDirectory(prefix="na-bench-") as tmp_name:
        tmp = Path(tmp_name)
        default_params = _params_copy(Path(args.params), tmp)
        raw = yaml.safe_load(default_params.read_text())
        if raw["data"].get("synthetic") and not (Path(raw["data"]["directory"]) / "geography.csv").is_file():
            from needs_assessment.synthetic import generate_area

            generate_area(raw["data"]["synthetic"]["variant"], raw["data"]["synthetic"]["seed"],
                          Path(raw["data"]["directory"]))
        cost = fixed_cost(default_params, tmp, args.repeats)
        print("\n== fixed cost per notebook (median of "
              f"{args.repeats}, one after another, kernel start to shutdown)")
        for started, note in (("forked", "forked from the kernel server, as runs start them"),
                              ("fresh", "each a new Python process")):
            if f"{started}_bare" not in cost:
                print(f"(no kernel server on this machine: kernels {note.split(',')[0]} not measured)")
                continue
            print(f"kernels {note}:")
            print(f"  {'bare kernel (parameters cell only)':<38}{cost[started + '_bare']:>10.2f}   "
                  f"{cost[started + '_bare_all']}")
            print(f"  {'empty chapter (+ start_chapter)':<38}{cost[started + '_chapter']:>10.2f}   "
                  f"{cost[started + '_chapter_all']}")
        if "server_start" in cost:
            print(f"{'kernel server start-up, once per run':<40}{cost['server_start']:>10.2f}")

        for area in areas:
            if area == "default":
                params, label = default_params, f"default area ({Path(args.params).name})"
            elif area == "national":
                generated = _ensure_national_data(Path(args.national_data))
                if generated is not None:
                    print(f"\n(national data generated in {generated:.1f} s into {args.national_data})")
                params, label = _national_params(tmp, Path(args.national_data)), "national-scale synthetic area"
            else:
                parser.error(f"unknown area {area!r}")
            runs = [_run(params, f"bench-{area}-{n}", None) for n in range(1, max(1, args.runs) + 1)]
            durations = [manifest["duration_seconds"] for _, manifest, _ in runs]
            wall, manifest, memory = sorted(runs, key=lambda run: run[1]["duration_seconds"])[len(runs) // 2]
            serial = None
            if not args.no_serial:
                serial, _, _ = _run(params, f"bench-{area}-serial", 1)
            _print_area(label, wall, manifest, memory, serial)
            if len(runs) > 1:
                print(f"{'duration_seconds of each run':<40}" + "  ".join(f"{d:.1f}" for d in durations))
                print(f"{'median (the run shown above)':<40}{statistics.median(durations):>10.2f}")
    print(f"\nmachine after: {load_note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
