"""Time the publishing stages on an existing run: report HTML, PDF, reviewer pages.

    .venv/bin/python benchmarks/report_render.py [RUN_DIR] [--repeat N] [--skip-pdf]

RUN_DIR defaults to outputs/anyshire/latest (make one with `make report`). The run's own
files are only read: the report and reviewer pages are written to a temporary folder.
Prints wall and CPU seconds per stage (the best of --repeat runs, each in this process),
the machine's load average (the machine is shared; CPU seconds vary less than wall
seconds under load), and the sizes and page count of what was made. No assertions.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    value = func()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def _report_context(params, run_dir: Path):
    """As the runner builds it, from the params as run and the run's manifest."""
    import datetime as dt
    import json

    from needs_assessment.runner import _report_context

    manifest = json.loads((run_dir / "manifest.json").read_text())
    started = dt.datetime.fromisoformat(manifest["started"])
    return _report_context(params, manifest["run_id"], started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default=str(ROOT / "outputs" / "anyshire" / "latest"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-pdf", action="store_true")
    args = parser.parse_args()

    run_dir = Path(args.run_dir).resolve()
    if not (run_dir / "manifest.json").is_file():
        print(f"No run at {run_dir}: run `make report` first or name a run folder.")
        return 2

    start_import = time.perf_counter()
    from needs_assessment import report, sections
    from needs_assessment.params import load_params

    import_seconds = time.perf_counter() - start_import
    params = load_params(run_dir / "params.yaml", check_files=False)
    ctx = _report_context(params, run_dir)
    notebooks = [run_dir / "notebooks" / name for name in params.notebooks]

    best: dict[str, tuple[float, float]] = {}

    def keep(stage: str, wall: float, cpu: float) -> None:
        if stage not in best or cpu < best[stage][1]:
            best[stage] = (wall, cpu)

    with tempfile.TemporaryDirectory(prefix="na-report-bench-") as tmp:
        out = Path(tmp)
        for _ in range(args.repeat):
            html_text, wall, cpu = _timed(lambda: report.build_report_html(
                ctx, notebooks, run_dir=run_dir,
                front_sections=sections.front_sections(params),
                back_sections=sections.back_sections(params),
            ))
            keep("report_html", wall, cpu)
            (out / "report.html").write_text(html_text, encoding="utf-8")
            if not args.skip_pdf:
                _, wall, cpu = _timed(
                    lambda text=html_text: report.write_pdf(text, out / "report.pdf", base_url=run_dir)
                )
                keep("report_pdf", wall, cpu)
            for path in notebooks:
                _, wall, cpu = _timed(
                    lambda p=path: report.render_reviewer_html(p, out / p.with_suffix(".html").name)
                )
                keep(f"reviewer_html {path.stem}", wall, cpu)

        sizes = {"report.html": (out / "report.html").stat().st_size}
        pages = None
        if not args.skip_pdf:
            from pypdf import PdfReader

            sizes["report.pdf"] = (out / "report.pdf").stat().st_size
            pages = len(PdfReader(out / "report.pdf").pages)
        sizes["reviewer pages (all)"] = sum(p.stat().st_size for p in out.glob("*.html")) - sizes[
            "report.html"
        ]
        sizes["executed notebooks (all)"] = sum(p.stat().st_size for p in notebooks)

    print(f"run: {run_dir}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"python {sys.version.split()[0]}; import of report + sections: {import_seconds:.2f} s")
    print(f"{'stage':<44}{'wall s':>9}{'cpu s':>9}")
    reviewer = [0.0, 0.0]
    for stage, (wall, cpu) in best.items():
        print(f"{stage:<44}{wall:>9.2f}{cpu:>9.2f}")
        if stage.startswith("reviewer_html"):
            reviewer[0] += wall
            reviewer[1] += cpu
    print(f"{'reviewer_html (all, one after another)':<44}{reviewer[0]:>9.2f}{reviewer[1]:>9.2f}")
    for name, size in sizes.items():
        print(f"{name:<44}{size / 1e6:>9.2f} MB")
    if pages is not None:
        print(f"{'report.pdf pages':<44}{pages:>9d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
