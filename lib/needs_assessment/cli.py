"""Command line: ``needs-assessment`` (or ``python -m needs_assessment``).

Commands
--------
run                 execute the assessment described by a params file and publish it
validate            check a params file and every input it names, without running anything
generate-data       write a built-in synthetic area (deterministic from its seed)
fetch-public-data   download the published datasets a real area reads (public_data_dir)

Exit codes: 0 success; 1 a notebook or the publishing step failed; 2 the params file is
invalid; 3 an input file broke its contract; 4 public data could not be fetched (no network).
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
            args.params, run_id=args.run_id, outputs_dir=args.outputs_dir, quiet=args.quiet
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
    run.set_defaults(func=_cmd_run)

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
