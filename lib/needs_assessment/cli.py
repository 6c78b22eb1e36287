"""Command line: ``needs-assessment`` (or ``python -m needs_assessment``).

Commands
--------
run                 execute the assessment described by a params file and publish it
batch               run many areas on Dask (a local cluster, or --scheduler) and compare them
install-kernel      register the workbook's Jupyter kernel in this environment
validate            check a params file and every input it names, without running anything
generate-data       write a built-in synthetic area (deterministic from its seed)
generate-areas      write params for N synthetic areas (counties and boroughs, own seeds)
fetch-public-data   download the published datasets a real area reads (public_data_dir)

Exit codes: 0 success; 1 a notebook or the publishing step failed; 2 the params file is
invalid; 3 an input file broke its contract (or changed during the run); 4 public data
could not be fetched (no network); 5 another run of the same area is in progress;
130 stopped by Ctrl-C; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from needs_assessment.params import ParamsError, load_params


def _cmd_run(args: argparse.Namespace) -> int:
    from needs_assessment.runner import RunFailed, run_assessment

    try:
        outcome = run_assessment(
            args.params, run_id=args.run_id, outputs_dir=args.outputs_dir, quiet=args.quiet,
            jobs=args.jobs, wait_seconds=args.wait, notebooks_dir=args.notebooks_dir,
        )
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(f"Report:    {outcome.report_html}")
    print(f"PDF:       {outcome.report_pdf}")
    print(f"Notebooks: {outcome.run_dir / 'notebooks'}")
    print(f"Manifest:  {outcome.manifest}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from needs_assessment.batch import expand_params, run_batch

    try:
        files = expand_params(args.params)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outcome = run_batch(
        files, workers=args.workers, scheduler=args.scheduler, outputs_dir=args.outputs_dir,
        jobs_per_area=args.jobs_per_area, quiet=args.quiet,
    )
    print(f"Batch:   {outcome.batch_dir}")
    print(f"Summary: {outcome.summary_html}")
    ok = len(outcome.areas) - len(outcome.failures)
    print(f"Areas:   {ok} published, {len(outcome.failures)} failed, {outcome.seconds:,.0f} s")
    for failure in outcome.failures:
        first = (failure.error or "").strip().splitlines()
        print(f"error: {failure.area_slug or failure.params_file}: {first[0] if first else 'failed'}",
              file=sys.stderr)
    return 0 if outcome.ok else 1


def _cmd_generate_areas(args: argparse.Namespace) -> int:
    from needs_assessment.synthetic.batch import write_batch_params

    notebooks = [n.strip() for n in args.notebooks.split(",")] if args.notebooks else None
    try:
        paths = write_batch_params(
            args.count, args.out, data_dir=args.data_dir, outputs_dir=args.outputs_dir,
            seed=args.seed, notebooks=notebooks,
        )
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(paths)} params files written to {args.out}; run them with:\n"
          f"  needs-assessment batch --params '{Path(args.out) / '*.yaml'}'")
    return 0


def _cmd_install_kernel(args: argparse.Namespace) -> int:
    from needs_assessment.kernel import install_kernel_spec

    path = install_kernel_spec(args.name)
    print(f"Kernel {args.name!r} installed in {path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from needs_assessment.data import InputDataError
    from needs_assessment.inputs import load_area

    try:
        params = load_params(args.params, check_files=False)
        params.check_inputs_exist()
        load_area(params)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except InputDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"{args.params}: params and every input are valid.")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from needs_assessment.synthetic import generate_area

    path = generate_area(args.variant, args.seed, Path(args.out), overwrite=args.overwrite)
    print(f"Synthetic {args.variant} area (seed {args.seed}) written to {path}")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from needs_assessment.public_data import FetchError, fetch_public_data

    try:
        params = load_params(args.params, check_files=False)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keys = [k.strip() for k in args.only.split(",")] if args.only else None
    try:
        report = fetch_public_data(
            params, args.to, keys=keys, timeout=args.timeout, force=args.force,
            log=lambda message: print(message, file=sys.stderr),
        )
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    print(report.summary())
    return 0 if not report.failed else 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="needs-assessment",
        description="Joint needs assessment workbook for Combating Drugs Partnerships.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the assessment for one area and publish the report")
    run.add_argument("--params", required=True, help="params YAML file, e.g. params/default.yaml")
    run.add_argument("--run-id", help="name of the run folder (default: UTC date-time)")
    run.add_argument("--outputs-dir", help="override the params' outputs_dir")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--notebooks-dir", default=None,
                     help="folder holding the chapter notebooks the params list (default: the "
                          "workbook's notebooks/)")
    run.add_argument("--jobs", type=int, default=None,
                     help="notebooks to run at once (default: the cores available)")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="if another run of the same area is in progress, wait up to this long "
                          "for it instead of refusing at once")
    run.set_defaults(func=_cmd_run)

    batch = sub.add_parser("batch", help="run many areas on Dask and compare them")
    batch.add_argument("--params", required=True, nargs="+", metavar="FILE",
                       help="params files or glob patterns, e.g. 'params/*.yaml'")
    batch.add_argument("--workers", type=int, default=None,
                       help="worker processes of the local cluster (default: the cores available)")
    batch.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="use an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    batch.add_argument("--outputs-dir", help="override every area's outputs_dir (and the batch's)")
    batch.add_argument("--jobs-per-area", type=int, default=1,
                       help="notebooks each area runs at once (default 1: the areas fill the cores)")
    batch.add_argument("--quiet", action="store_true", help="no progress display")
    batch.set_defaults(func=_cmd_batch)

    areas = sub.add_parser("generate-areas", help="write params for N synthetic areas")
    areas.add_argument("--count", type=int, required=True)
    areas.add_argument("--out", required=True, help="folder for the params files")
    areas.add_argument("--data-dir", help="folder for the areas' generated data (default <out>/data)")
    areas.add_argument("--outputs-dir", help="outputs_dir of the areas (default the shipped params')")
    areas.add_argument("--seed", type=int, default=20240521, help="area i gets seed + i")
    areas.add_argument("--notebooks", help="comma-separated chapters to run (default all)")
    areas.set_defaults(func=_cmd_generate_areas)

    kernel = sub.add_parser("install-kernel", help="register the workbook's Jupyter kernel")
    kernel.add_argument("--name", default="needs-assessment")
    kernel.set_defaults(func=_cmd_install_kernel)

    validate = sub.add_parser("validate", help="check params and inputs without running")
    validate.add_argument("--params", required=True)
    validate.set_defaults(func=_cmd_validate)

    gen = sub.add_parser("generate-data", help="write a built-in synthetic area")
    gen.add_argument("--variant", choices=["county", "unitary", "national"], default="county")
    gen.add_argument("--seed", type=int, default=20240521)
    gen.add_argument("--out", required=True, help="folder to create")
    gen.add_argument("--overwrite", action="store_true")
    gen.set_defaults(func=_cmd_generate)

    fetch = sub.add_parser(
        "fetch-public-data",
        help="download the published datasets of a real area (ONS, MHCLG, NHS Digital) with provenance",
    )
    fetch.add_argument("--params", required=True, help="params YAML of the area, e.g. params/gloucestershire.yaml")
    fetch.add_argument("--to", help="folder to write (default: the params' public_data_dir)")
    fetch.add_argument("--only", help="comma-separated public_data keys, e.g. imd,census_age")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per download (default 60)")
    fetch.add_argument("--force", action="store_true",
                       help="write into a folder holding files not fetched by this command")
    fetch.set_defaults(func=_cmd_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
