"""Run one assessment: params -> validated inputs -> executed notebooks -> published report.

Stages (each timed in the manifest):

1. read and validate the params file (pydantic; unknown keys, missing files and
   impossible years are rejected naming the key);
2. generate the built-in synthetic area if the params ask for it and it is not there;
3. load and validate every input against its contract, before any analysis;
4. execute the notebooks listed in the params, in order, with papermill, into a
   temporary build folder; each gets the params file and the run folder as parameters
   and records its results explicitly (``needs_assessment.results``);
5. publish tables (xlsx + csv), the report (HTML + tagged PDF) and reviewer HTML;
6. write ``manifest.json`` and move the build folder into place in one rename.

On failure the run stops with a short message naming the notebook and the cell's error,
and the build folder is kept as ``outputs/<area>/failed-<run-id>/``. Earlier runs are
never touched and a run folder is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from needs_assessment import __version__
from needs_assessment.manifest import (
    PROJECT_ROOT,
    environment_info,
    file_sha256,
    git_info,
    hash_inputs,
    package_versions,
)
from needs_assessment.notebook import CACHE_DIRNAME, save_area_cache
from needs_assessment.params import ParamsError, RunParams, load_params

__all__ = ["RunFailed", "RunOutcome", "run_assessment", "NOTEBOOKS_DIR"]

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"


class RunFailed(RuntimeError):
    """The run stopped; ``message`` says where and why, ``failed_dir`` holds what was made."""

    def __init__(self, message: str, *, failed_dir: Path | None = None, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.failed_dir = failed_dir
        self.exit_code = exit_code


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    report_html: Path
    report_pdf: Path
    manifest: Path
    stage_seconds: dict[str, float] = field(default_factory=dict)
    notebook_seconds: dict[str, float] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(area_dir: Path, now: dt.datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS`` in UTC, with a suffix if that name is taken."""
    stamp = (now or _now()).strftime("%Y%m%d-%H%M%S")
    run_id, n = stamp, 2
    while any((area_dir / name).exists() for name in (run_id, f"failed-{run_id}", f".building-{run_id}")):
        run_id = f"{stamp}-{n}"
        n += 1
    return run_id


def ensure_kernel(name: str) -> None:
    """Register a Jupyter kernel for this interpreter under ``name`` if none exists.

    ``make`` registers it when it builds the venv; this covers conda users and anyone
    who installed the package by hand.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name=f"Python ({name})", prefix=sys.prefix)


class _StageClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, stage: str, func: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return func()
        finally:
            self.seconds[stage] = round(time.perf_counter() - start, 3)


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _prepare_inputs(params: RunParams, clock: _StageClock, quiet: bool):
    """Generate the synthetic area if asked and absent, then load and validate every input."""
    synthetic = params.data.synthetic
    if synthetic is not None and not (params.data.directory / (params.data.files.geography or "")).is_file():
        from needs_assessment.synthetic import generate_area

        _say(
            f"Generating the synthetic {synthetic.variant} area (seed {synthetic.seed}) "
            f"into {params.data.directory} ...",
            quiet,
        )
        clock.run(
            "generate_synthetic_data",
            lambda: generate_area(synthetic.variant, synthetic.seed, params.data.directory),
        )
    illustrative = params.data.illustrative
    if illustrative is not None and params.illustrative_pending():
        from needs_assessment.synthetic.real import generate_onto_public

        if params.public_data_dir is not None and not params.public_data_dir.is_dir():
            params.check_inputs_exist()  # says how to point public_data_dir at the data
        _say(
            f"Generating illustrative record-level inputs onto {params.area.name}'s published data "
            f"(seed {illustrative.seed}) into {params.data.directory} ...",
            quiet,
        )
        clock.run("generate_illustrative_data", lambda: generate_onto_public(params))
    params.check_inputs_exist()

    from needs_assessment.data import InputDataError
    from needs_assessment.inputs import load_area

    def validate():
        try:
            return load_area(params)
        except InputDataError as exc:
            raise RunFailed(
                f"Input data failed validation; nothing was analysed or published.\n{exc}",
                exit_code=3,
            ) from None

    _say("Validating inputs ...", quiet)
    return clock.run("validate_inputs", validate)


def _ipc_kernel_manager():
    """A kernel manager using local IPC sockets instead of TCP: record-level data never
    crosses a network port, parallel runs cannot collide on ports, and ipykernel does not
    warn about unencrypted TCP. The socket files live in the temp folder and are removed
    when the kernel stops."""
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class IPCKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        def _ip_default(self):
            return os.path.join(tempfile.gettempdir(), f"needs-assessment-kernel-{uuid.uuid4().hex}")

    return IPCKernelManager


def _execute_notebooks(
    params: RunParams,
    build_dir: Path,
    notebooks_dir: Path,
    quiet: bool,
) -> dict[str, float]:
    """Run each notebook with papermill; raise RunFailed naming the notebook and cell."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError
    from tqdm.auto import tqdm

    out_dir = build_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = params.model_dump(mode="json")
    durations: dict[str, float] = {}
    bar = tqdm(
        params.notebooks, desc="Notebooks", unit="notebook", disable=quiet, file=sys.stderr
    )
    for name in bar:
        source = notebooks_dir / name
        if not source.is_file():
            raise RunFailed(f"notebooks: {name} not found in {notebooks_dir}")
        bar.set_postfix_str(name)
        start = time.perf_counter()
        try:
            pm.execute_notebook(
                str(source),
                str(out_dir / name),
                parameters={"params_file": "params.yaml", "run_dir": ".", "settings": settings},
                kernel_name=params.kernel_name,
                cwd=str(build_dir),
                progress_bar=False if quiet else {"desc": f"  {name}", "leave": False},
                log_output=False,
                report_mode=False,
                start_timeout=120,
                kernel_manager_class=_ipc_kernel_manager(),
            )
        except PapermillExecutionError as exc:
            durations[name] = round(time.perf_counter() - start, 3)
            # "In [n]" is what a reviewer sees beside the cell in the executed notebook.
            where = (
                f"cell In [{exc.exec_count}]"
                if exc.exec_count is not None
                else f"cell {exc.cell_index + 1}"
            )
            detail = f"{exc.ename}: {exc.evalue}".strip()
            raise RunFailed(f"Notebook {name} failed in {where}: {detail}", exit_code=1) from None
        durations[name] = round(time.perf_counter() - start, 3)
    return durations


def _report_context(params: RunParams, run_id: str, started: dt.datetime):
    from needs_assessment.report import ReportContext

    if params.area.illustrative_records:
        status = (
            "Figures marked as published statistics come from official publications "
            "(ONS, MHCLG, NHS Digital, OHID) and are real. Figures drawn from record-level "
            "data (treatment episodes, linked lists for prevalence, service sites) are "
            "illustrative: they come from generated records, not from a partner's extract, "
            "and must not be quoted as facts about this area."
        )
        if params.data.synthetic is not None:
            status = (
                "Every figure in this report comes from a synthetic area generated by the "
                "workbook for demonstration and testing. None of it describes a real place."
            )
    else:
        status = (
            "Figures come from the partners' own extracts and from official publications, as "
            "labelled in each chapter."
        )
    return ReportContext(
        title=params.report.title,
        organisation=params.report.organisation,
        area_name=params.area.name,
        period_label=params.period.label,
        run_id=run_id,
        run_date=started.date(),
        published=params.report.published or started.date(),
        data_status=status,
        contact=params.report.contact,
    )


def _publish(params: RunParams, build_dir: Path, run_id: str, started: dt.datetime, clock: _StageClock) -> None:
    from needs_assessment import report as report_mod
    from needs_assessment import sections

    ctx = _report_context(params, run_id, started)
    notebooks = [build_dir / "notebooks" / name for name in params.notebooks]
    clock.run("merge_results", lambda: sections.write_merged_results(build_dir))
    clock.run("publish_tables", lambda: sections.publish_tables(params, build_dir, ctx))
    html_text = clock.run(
        "report_html",
        lambda: report_mod.build_report_html(
            ctx,
            notebooks,
            run_dir=build_dir,
            front_sections=sections.front_sections(params),
            back_sections=sections.back_sections(params),
        ),
    )
    (build_dir / "report.html").write_text(html_text, encoding="utf-8")
    clock.run(
        "report_pdf",
        lambda: report_mod.write_pdf(html_text, build_dir / "report.pdf", base_url=build_dir),
    )

    def reviewer_pages() -> None:
        for path in notebooks:
            report_mod.render_reviewer_html(path, path.with_suffix(".html"))

    clock.run("reviewer_html", reviewer_pages)


def _write_manifest(
    path: Path,
    *,
    params: RunParams,
    run_id: str,
    started: dt.datetime,
    status: str,
    clock: _StageClock,
    notebook_seconds: dict[str, float],
    build_dir: Path,
    error: str | None = None,
) -> None:
    finished = _now()
    outputs = {}
    for file in sorted(build_dir.rglob("*")):
        if file.is_file() and file.name != "manifest.json":
            outputs[str(file.relative_to(build_dir))] = file_sha256(file)
    manifest = {
        "workbook_version": __version__,
        "run_id": run_id,
        "status": status,
        "error": error,
        "area": {"name": params.area.name, "slug": params.area.slug, "code": params.area.code},
        "params_file": str(params.source_file) if params.source_file else None,
        "params_file_sha256": file_sha256(params.source_file) if params.source_file else None,
        "params": params.model_dump(mode="json"),
        "inputs": hash_inputs(params.input_paths()),
        "public_data_dir": str(params.public_data_dir) if params.public_data_dir else None,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "stage_seconds": clock.seconds,
        "notebook_seconds": notebook_seconds,
        "git": git_info(),
        "environment": environment_info(),
        "packages": package_versions(),
        "outputs_sha256": outputs,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def run_assessment(
    params_path: str | os.PathLike,
    *,
    run_id: str | None = None,
    outputs_dir: str | os.PathLike | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    quiet: bool = False,
) -> RunOutcome:
    """Execute the assessment described by a params file and publish it.

    ``outputs_dir`` overrides the params' ``outputs_dir`` (tests use a temporary folder);
    ``notebooks_dir`` overrides where notebooks are read from (tests use a failing one).
    Raises :class:`ParamsError` for bad params and :class:`RunFailed` for anything else.
    """
    started = _now()
    clock = _StageClock()
    params = clock.run("read_params", lambda: load_params(params_path, check_files=False))
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else NOTEBOOKS_DIR
    missing_nb = [n for n in params.notebooks if not (notebooks_dir / n).is_file()]
    if missing_nb:
        raise ParamsError(
            f"Invalid params in {params.source_file}:\n  "
            + "\n  ".join(f"notebooks: {n} not found in {notebooks_dir}" for n in missing_nb)
        )
    area = _prepare_inputs(params, clock, quiet)

    area_dir = Path(outputs_dir or params.outputs_dir) / params.area.slug
    area_dir.mkdir(parents=True, exist_ok=True)
    run_id = run_id or new_run_id(area_dir, started)
    final_dir = area_dir / run_id
    if final_dir.exists() or (area_dir / f"failed-{run_id}").exists():
        raise RunFailed(f"Run folder {final_dir} already exists; runs are never overwritten.")
    build_dir = area_dir / f".building-{run_id}"
    if build_dir.exists():
        shutil.rmtree(build_dir)  # a stale build of the same id, never a published run
    build_dir.mkdir(parents=True)

    # The params as run, for the notebooks (relative paths already resolved) and readers.
    settings = params.model_dump(mode="json")
    (build_dir / "params.yaml").write_text(
        "# Params as run (paths resolved). Source: "
        f"{params.source_file}\n" + yaml.safe_dump(settings, sort_keys=False),
        encoding="utf-8",
    )
    ensure_kernel(params.kernel_name)
    clock.run("cache_validated_inputs", functools.partial(save_area_cache, build_dir, area))
    _record_inputs(build_dir, area)
    del area  # the notebooks read the cached copy; free the memory before they run

    notebook_seconds: dict[str, float] = {}
    try:
        notebook_seconds = _execute_notebooks(params, build_dir, notebooks_dir, quiet)
        clock.seconds["notebooks"] = round(sum(notebook_seconds.values()), 3)
        _drop_private_cache(build_dir)
        _say("Publishing report ...", quiet)
        _publish(params, build_dir, run_id, started, clock)
        _write_manifest(
            build_dir / "manifest.json",
            params=params,
            run_id=run_id,
            started=started,
            status="succeeded",
            clock=clock,
            notebook_seconds=notebook_seconds,
            build_dir=build_dir,
        )
        os.replace(build_dir, final_dir)
    except BaseException as exc:
        failed_dir = area_dir / f"failed-{run_id}"
        _drop_private_cache(build_dir)
        message = exc.message if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}"
        if build_dir.exists():
            try:
                _write_manifest(
                    build_dir / "manifest.json",
                    params=params,
                    run_id=run_id,
                    started=started,
                    status="failed",
                    clock=clock,
                    notebook_seconds=notebook_seconds,
                    build_dir=build_dir,
                    error=message,
                )
                (build_dir / "ERROR.txt").write_text(message + "\n", encoding="utf-8")
            finally:
                os.replace(build_dir, failed_dir)
        if isinstance(exc, RunFailed):
            exc.failed_dir = failed_dir
            exc.message = f"{exc.message}\nWhat was made is kept in {failed_dir}"
            raise
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise RunFailed(f"{message}\nWhat was made is kept in {failed_dir}", failed_dir=failed_dir) from exc

    _point_latest(area_dir, run_id)
    return RunOutcome(
        run_id=run_id,
        run_dir=final_dir,
        report_html=final_dir / "report.html",
        report_pdf=final_dir / "report.pdf",
        manifest=final_dir / "manifest.json",
        stage_seconds=dict(clock.seconds),
        notebook_seconds=notebook_seconds,
    )


def _record_inputs(build_dir: Path, area) -> None:
    """What the input checks noticed (warnings) and how much data each dataset held, for
    the report's data quality section."""
    from needs_assessment.results import ResultsRecorder

    recorder = ResultsRecorder(build_dir, "inputs", title="Inputs")
    recorder.value("warnings", list(getattr(area, "warnings", ())))
    sizes = {}
    for name in ("geography", "population", "treatment_episodes", "prison_releases", "deaths",
                 "admissions", "crime", "comparators", "services", "characteristics"):
        frame = getattr(area, name, None)
        if frame is not None:
            sizes[name] = int(len(frame))
    for name, frame in getattr(area, "linkable_lists", {}).items():
        sizes[f"linkable_lists.{name}"] = int(len(frame))
    recorder.value("rows", sizes)


def _drop_private_cache(build_dir: Path) -> None:
    """Remove the validated record-level data before anything is kept or published."""
    shutil.rmtree(build_dir / CACHE_DIRNAME, ignore_errors=True)


def _point_latest(area_dir: Path, run_id: str) -> None:
    """``outputs/<area>/latest`` -> the newest successful run (replaced atomically)."""
    link = area_dir / "latest"
    tmp = area_dir / f".latest-{run_id}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run_id, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        pass  # symlinks unsupported (some Windows set-ups); the run itself is complete


def list_runs(area_dir: Path) -> Sequence[Path]:
    return sorted(p for p in area_dir.iterdir() if p.is_dir() and p.name[:1].isdigit())
