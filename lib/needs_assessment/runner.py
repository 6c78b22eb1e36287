"""Run one assessment: params -> validated inputs -> executed notebooks -> published report.

Stages (each timed in the manifest):

1. read and validate the params file (pydantic; unknown keys, missing files and
   impossible years are rejected naming the key);
2. take the area's lock (one run per ``outputs/<area>/`` at a time) and remove what a
   crashed earlier run left behind, saying so in one line;
3. generate the built-in synthetic area if the params ask for it and it is not there;
4. load and validate every input against its contract, before any analysis, and keep the
   validated record-level data in a private folder outside ``outputs/`` (Parquet, 0700);
5. execute the notebooks with papermill into a hidden build folder, side by side on the
   available cores, in the order their declared dependencies allow
   (:mod:`needs_assessment.execution`); each records its results explicitly
   (``needs_assessment.results``). Reviewer pages are rendered as each notebook finishes;
6. check the inputs did not change during the run, then publish tables (xlsx + csv), the
   report HTML, and the tagged PDF (in a worker process, beside the tables);
7. write ``manifest.json`` and move the build folder into place in one rename.

On failure, Ctrl-C or SIGTERM the run stops with a short message naming the notebook and
the cell's error, kills its kernels, deletes the private data, and keeps what was made as
``outputs/<area>/failed-<run-id>/``. Earlier runs and ``latest`` are never touched and a
run folder is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
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
from needs_assessment.params import ParamsError, RunParams, load_params

__all__ = ["EXIT_AREA_BUSY", "NOTEBOOKS_DIR", "RunFailed", "RunInterrupted", "RunOutcome", "run_assessment"]

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

#: Exit code when another run of the same area holds the area's lock.
EXIT_AREA_BUSY = 5


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


#: The kernel the workbook registers for itself (params ``kernel_name`` default).
WORKBOOK_KERNEL = "needs-assessment"


def ensure_kernel(name: str) -> None:
    """Make sure kernel ``name`` exists; the workbook's own kernel is (re)registered with
    the lean launcher of :mod:`needs_assessment.kernel` when missing or out of date.

    ``make`` registers it when it builds the venv; this covers conda users, anyone who
    installed the package by hand, and venvs registered with plain ``ipykernel install``.
    A kernel of another name (an analyst's own environment) is used as it is.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from needs_assessment.kernel import install_kernel_spec, is_current_spec

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        spec = None
    if name == WORKBOOK_KERNEL and (spec is None or not is_current_spec(spec.argv)):
        install_kernel_spec(name)
    elif spec is None:
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


def _prepare_inputs(params: RunParams, clock: _StageClock, quiet: bool, cache_dir: Path) -> dict[str, Any]:
    """Generate the synthetic area if asked and absent, load and validate every input, and
    write the validated area to ``cache_dir`` (Parquet, private).

    Returns the inputs' SHA-256 (taken before loading; a file changed while it was being
    read fails the run), the stages' seconds, warnings and rows per dataset."""
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
    hashes = clock.run("hash_inputs", lambda: hash_inputs(params.input_paths()))
    area = clock.run("validate_inputs", validate)
    changed = _inputs_changed(hashes, hash_inputs(params.input_paths()))
    if changed:
        raise RunFailed(
            "Input files changed while they were being validated; nothing was analysed or "
            "published. Changed: " + "; ".join(changed) + ". Run again once the inputs are final.",
            exit_code=3,
        )
    from needs_assessment.workspace import save_area

    clock.run("cache_validated_inputs", functools.partial(save_area, area, cache_dir))
    return {"hashes": hashes, "seconds": clock.seconds, **_input_summary(area)}


def _input_summary(area) -> dict[str, Any]:
    """What the input checks noticed (warnings) and how much data each dataset held."""
    from needs_assessment.data.area_data import DATASETS

    rows = {}
    for name in DATASETS:
        if name in ("boundaries", "linkable_lists"):  # features are not rows; lists below
            continue
        frame = getattr(area, name, None)
        if frame is not None:
            rows[name] = int(len(frame))
    for name, frame in getattr(area, "linkable_lists", {}).items():
        rows[f"linkable_lists.{name}"] = int(len(frame))
    return {"warnings": list(getattr(area, "warnings", ())), "rows": rows}


def _prepare_inputs_child(params: RunParams, cache_dir: Path, quiet: bool) -> dict[str, Any]:
    """:func:`_prepare_inputs` in a process of its own, so the memory that generating and
    validating a large area takes is given back when it ends, before any kernel starts.
    Errors come back as data (an exception's extra attributes do not survive pickling)."""
    clock = _StageClock()
    try:
        return _prepare_inputs(params, clock, quiet, cache_dir)
    except RunFailed as exc:
        return {"error": exc.message, "exit_code": exc.exit_code, "seconds": clock.seconds}
    except ParamsError as exc:
        return {"error": str(exc), "params_error": True, "seconds": clock.seconds}


def _spawn_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes of this run: spawned (no fork of a threaded parent) and ending by
    themselves if the run is killed (:func:`_exit_with_parent`)."""
    import multiprocessing

    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent, initargs=(os.getpid(),),
    )


def _prepare_inputs_isolated(params: RunParams, cache_dir: Path, clock: _StageClock, quiet: bool):
    from needs_assessment.execution import can_start_children

    if not can_start_children():
        summary = _prepare_inputs_child(params, cache_dir, quiet)
    else:
        with _spawn_pool(1) as pool:
            summary = pool.submit(_prepare_inputs_child, params, cache_dir, quiet).result()
    clock.seconds.update(summary.get("seconds", {}))
    if summary.get("params_error"):
        raise ParamsError(summary["error"])
    if "error" in summary:
        raise RunFailed(summary["error"], exit_code=summary["exit_code"])
    return summary


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


def _timed(func: Callable[..., Any], *args: Any) -> float:
    """Run ``func(*args)`` (in a publishing worker) and return its own seconds."""
    start = time.perf_counter()
    func(*args)
    return round(time.perf_counter() - start, 3)


#: Fault-injection for the crash-safety tests: when set to a stage name (``report_pdf``,
#: ``final_move``), the run writes ``<stage>.reached`` into the folder named
#: by NEEDS_ASSESSMENT_FAULT_DIR and pauses there, so a test can kill it at that point.
FAULT_PAUSE_ENV = "NEEDS_ASSESSMENT_FAULT_PAUSE"
FAULT_DIR_ENV = "NEEDS_ASSESSMENT_FAULT_DIR"


def _checkpoint(stage: str) -> None:
    if os.environ.get(FAULT_PAUSE_ENV) != stage:
        return
    marker = Path(os.environ.get(FAULT_DIR_ENV, tempfile.gettempdir())) / f"{stage}.reached"
    marker.write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get("NEEDS_ASSESSMENT_FAULT_SECONDS", "60")))


def _write_pdf_from_file(html_path: Path, pdf_path: Path) -> None:
    from needs_assessment import report as report_mod

    _checkpoint("report_pdf")
    report_mod.write_pdf(html_path.read_text(encoding="utf-8"), pdf_path, base_url=html_path.parent)


def _render_reviewer_page(notebook_path: Path) -> None:
    from needs_assessment import report as report_mod

    report_mod.render_reviewer_html(notebook_path, notebook_path.with_suffix(".html"))


def _exit_with_parent(parent: int) -> None:
    """Worker initialiser: end this worker when the process that made it (``parent``, the
    run's pid, passed in) is gone.

    A run killed with SIGKILL cannot clean up; its kernels notice by themselves
    (ipykernel polls its parent) and so do these workers, so nothing is left running. The
    parent is named by the run rather than read here: a worker still starting when the run
    was killed would otherwise take its new parent (init) for the run, and wait forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_publisher() -> None:
    """Import the publishing libraries in a worker while the notebooks run."""
    import weasyprint  # noqa: F401

    import needs_assessment.report  # noqa: F401


class _Publisher:
    """CPU-bound publishing (PDF layout, reviewer pages) in worker processes, so it runs
    beside the tables and side by side instead of one after another.

    One worker starts at once and imports the publishing libraries while the notebooks
    run; it makes each chapter's HTML as its notebook ends, and then the PDF. The pool
    starts the others only when a task finds no worker free, which is usually when the
    reviewer pages queue behind the PDF: during the notebooks they would hold memory (some
    250 MiB for two at national scale) and their imports would take CPU from the kernels.

    A ``ProcessPoolExecutor`` (spawn: no fork of a threaded parent, and workers are the
    run's own children, so they can notice when it dies); inside a daemonic
    process, which may not start children (e.g. a Dask worker), a thread pool instead.
    """

    def __init__(self, workers: int):
        from needs_assessment.execution import can_start_children

        if not can_start_children():
            self.pool: Any = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="publish")
        else:
            self.pool = _spawn_pool(workers)
        self.futures: dict[str, Future] = {}
        self.workers = workers
        self.pool.submit(_warm_publisher)

    def submit(self, stage: str, func: Callable[..., Any], *args: Any) -> None:
        self.futures[stage] = self.pool.submit(_timed, func, *args)

    def make(self, func: Callable[..., Any], *args: Any) -> Future:
        """``func(*args)`` in a worker; its value, not its seconds, in the future."""
        return self.pool.submit(func, *args)

    def wait(self, prefix: str | None = None) -> dict[str, float]:
        """Seconds of each finished stage (all, or those whose name starts with ``prefix``);
        the first error propagates."""
        seconds = {}
        for stage, future in self.futures.items():
            if prefix is None or stage.startswith(prefix):
                seconds[stage] = future.result()
        return seconds

    def close(self, *, abort: bool = False) -> None:
        if abort:
            # Killed and reaped through multiprocessing's own process objects: had anything
            # else reaped them (psutil did), multiprocessing could never see them exit and
            # the pool's manager thread would wait for them forever at interpreter exit.
            processes = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.kill()
            for process in processes:
                process.join(timeout=5)
        else:
            self.pool.shutdown(wait=True)


def _publish(
    params: RunParams,
    build_dir: Path,
    run_id: str,
    started: dt.datetime,
    clock: _StageClock,
    publisher: _Publisher,
    chapters: dict[Path, Future] | None = None,
) -> None:
    """Results, report HTML, then the PDF and the reviewer pages in workers while the
    tables are written. ``chapters``: each notebook's chapter HTML, being made in a
    worker since that notebook finished."""
    from needs_assessment import report as report_mod
    from needs_assessment import sections

    ctx = _report_context(params, run_id, started)
    notebooks = [build_dir / "notebooks" / name for name in params.notebooks]
    clock.run("merge_results", lambda: sections.write_merged_results(build_dir))
    html_text = clock.run(
        "report_html",
        lambda: report_mod.build_report_html(
            ctx,
            notebooks,
            run_dir=build_dir,
            front_sections=sections.front_sections(params),
            back_sections=sections.back_sections(params),
            chapters={path: future.result() for path, future in (chapters or {}).items()},
        ),
    )
    html_path = build_dir / "report.html"
    html_path.write_text(html_text, encoding="utf-8")
    publisher.submit("report_pdf", _write_pdf_from_file, html_path, build_dir / "report.pdf")
    # The reviewer pages queue behind the PDF, so they take the other worker while it is
    # laid out (the PDF is the longest stage and uses one core; during the notebooks both
    # cores are the kernels').
    for notebook in notebooks:
        publisher.submit(f"reviewer_html:{notebook.name}", _render_reviewer_page, notebook)
    # With a worker to spare, the tables are written once the reviewer pages are made, not
    # beside them: the PDF takes one core until the end, and the two would otherwise share
    # the other core with it. With one worker the pages queue behind the PDF, so the
    # tables are written while it is laid out.
    if publisher.workers > 1:
        publisher.wait(prefix="reviewer_html")
    clock.run("publish_tables", lambda: sections.publish_tables(params, build_dir, ctx))
    waiting = time.perf_counter()
    seconds = publisher.wait()
    clock.seconds["report_pdf"] = seconds.pop("report_pdf")
    clock.seconds["reviewer_html"] = round(sum(seconds.values()), 3)
    clock.seconds["publish_wait"] = round(time.perf_counter() - waiting, 3)

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
    inputs: dict[str, Any],
    jobs: int,
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
        "inputs": inputs,
        "public_data_dir": str(params.public_data_dir) if params.public_data_dir else None,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "stage_seconds": clock.seconds,
        "notebook_seconds": notebook_seconds,
        "parallel_notebooks": jobs,
        "git": git_info(),
        "environment": environment_info(),
        "packages": package_versions(),
        "outputs_sha256": outputs,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


class RunInterrupted(RunFailed):
    """Ctrl-C (exit code 130) or SIGTERM (143) stopped the run."""


def _raise_on_sigterm(signum, frame):  # pragma: no cover - exercised in a subprocess test
    raise RunInterrupted("Stopped by SIGTERM.", exit_code=143)


class _Signals:
    """SIGTERM raises in the main thread as Ctrl-C does, so both unwind through the same
    clean-up; during the clean-up itself both are held back so it cannot be cut short."""

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if self.active:
            self._saved[signal.SIGTERM] = signal.signal(signal.SIGTERM, _raise_on_sigterm)
        return self

    def hold(self) -> None:
        if self.active:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._saved.setdefault(signum, signal.getsignal(signum))
                signal.signal(signum, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)


def _check_area_folder(area_dir: Path) -> None:
    """Fail early, before any work, when the outputs folder cannot be written."""
    try:
        area_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=area_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise RunFailed(
            f"Cannot write to the outputs folder {area_dir}: {exc.strerror or exc}. Nothing was run; "
            "check outputs_dir in the params and the folder's permissions and free space."
        ) from None


def _inputs_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changed.append(f"{key} ({(after.get(key) or before.get(key) or {}).get('path', '?')})")
    return changed


def _estimates(area_dir: Path) -> dict[str, float]:
    """Seconds per notebook in the area's newest successful run, for scheduling."""
    try:
        manifest = json.loads((area_dir / "latest" / "manifest.json").read_text(encoding="utf-8"))
        return {k: float(v) for k, v in (manifest.get("notebook_seconds") or {}).items()}
    except (OSError, ValueError, TypeError):
        return {}


def _warm_matplotlib_cache() -> None:
    """Build matplotlib's font cache once, before kernels start side by side, so a fresh
    machine does not build it once per kernel at the same time (the kernel server, when
    there is one, builds it as it imports matplotlib, before it forks any kernel)."""
    import matplotlib.font_manager  # noqa: F401


def _import_for_notebooks(kernel_server: Any) -> None:
    """What the runner needs to execute notebooks, imported in a thread while it waits for
    the inputs to be validated in another process (otherwise 0.5-1 s between the
    validation and the first notebook)."""
    from needs_assessment import execution, results  # noqa: F401

    execution.papermill_engine()  # imports papermill, nbclient, jupyter_client
    if kernel_server is None:
        _warm_matplotlib_cache()


def run_assessment(
    params_path: str | os.PathLike,
    *,
    run_id: str | None = None,
    outputs_dir: str | os.PathLike | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    quiet: bool = False,
    jobs: int | None = None,
    wait_seconds: float = 0.0,
) -> RunOutcome:
    """Execute the assessment described by a params file and publish it.

    ``outputs_dir`` overrides the params' ``outputs_dir`` (tests use a temporary folder);
    ``notebooks_dir`` overrides where notebooks are read from (tests use a failing one);
    ``jobs`` is how many notebooks run at once (default: the cores available);
    ``wait_seconds`` how long to queue behind another run of the same area before refusing.
    Raises :class:`ParamsError` for bad params and :class:`RunFailed` for anything else
    (:class:`RunInterrupted` for Ctrl-C or SIGTERM).
    """
    from needs_assessment.execution import available_cores
    from needs_assessment.workspace import AreaBusy, AreaLock

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
    jobs = max(1, int(jobs or available_cores()))
    area_dir = Path(outputs_dir or params.outputs_dir) / params.area.slug
    _check_area_folder(area_dir)
    lock = AreaLock(area_dir, label=f"{params.area.slug} {started:%Y%m%d-%H%M%S}")
    try:
        lock.acquire(wait_seconds)
    except AreaBusy as exc:
        raise RunFailed(str(exc), exit_code=EXIT_AREA_BUSY) from None
    except OSError as exc:
        raise RunFailed(f"Cannot lock the outputs folder {area_dir}: {exc}") from None
    try:
        with _Signals() as signals:
            return _run_locked(
                params, area_dir, notebooks_dir, clock, started,
                run_id=run_id, quiet=quiet, jobs=jobs, signals=signals,
            )
    except KeyboardInterrupt:
        raise RunInterrupted("Stopped by Ctrl-C.", exit_code=130) from None
    finally:
        lock.release()


def _run_locked(
    params: RunParams,
    area_dir: Path,
    notebooks_dir: Path,
    clock: _StageClock,
    started: dt.datetime,
    *,
    run_id: str | None,
    quiet: bool,
    jobs: int,
    signals: _Signals,
) -> RunOutcome:
    from needs_assessment.execution import (
        KernelRegistry,
        KernelServer,
        NotebookFailed,
        NotebookRun,
        Progress,
        kernel_environment,
        notebook_dependencies,
        run_notebooks,
    )
    from needs_assessment.workspace import (
        PrivateWorkspace,
        remove_stale_builds,
        remove_stale_workspaces,
    )

    # Started first, so it imports the chapters' libraries while the run gets ready and the
    # inputs are validated (see execution.KernelServer); a later run in this process
    # reuses it.
    kernel_server = KernelServer.start()
    leftovers = remove_stale_builds(area_dir) + remove_stale_workspaces()
    if leftovers:
        _say(
            f"Removed what {len(leftovers)} interrupted earlier run(s) left behind: "
            + ", ".join(str(p) for p in leftovers),
            quiet=False,  # shown even with --quiet: the analyst should know a run crashed
        )
    try:
        deps = notebook_dependencies(params.notebooks, notebooks_dir)
    except ValueError as exc:
        raise ParamsError(f"Invalid params in {params.source_file}:\n  {exc}") from None

    ensure_kernel(params.kernel_name)
    workspace = PrivateWorkspace.create(f"{params.area.slug}-{started:%Y%m%d-%H%M%S}")
    area_cache = workspace.path / "area"
    publisher: _Publisher | None = None
    importing = threading.Thread(target=_import_for_notebooks, args=(kernel_server,), daemon=True)
    importing.start()
    try:
        inputs = _prepare_inputs_isolated(params, area_cache, clock, quiet)
        # Started once the inputs are ready, so that its workers' start-up does not compete
        # with the validation and the kernel server's imports; they have the notebooks'
        # time to get ready.
        publisher = _Publisher(jobs)
    except BaseException:
        signals.hold()
        if publisher is not None:
            publisher.close(abort=True)
        if kernel_server is not None:
            kernel_server.stop()
        workspace.remove()
        raise
    input_hashes = inputs["hashes"]
    run_id = run_id or new_run_id(area_dir, started)
    final_dir = area_dir / run_id
    build_dir = area_dir / f".building-{run_id}"
    registry = KernelRegistry()
    notebook_seconds: dict[str, float] = {}
    try:
        if final_dir.exists() or (area_dir / f"failed-{run_id}").exists():
            raise RunFailed(f"Run folder {final_dir} already exists; runs are never overwritten.")
        build_dir.mkdir(parents=True)
        # The params as run, for the notebooks (relative paths already resolved) and readers.
        settings = params.model_dump(mode="json")
        (build_dir / "params.yaml").write_text(
            "# Params as run (paths resolved). Source: "
            f"{params.source_file}\n" + yaml.safe_dump(settings, sort_keys=False),
            encoding="utf-8",
        )
        importing.join()
        _record_inputs(build_dir, inputs)

        out_dir = build_dir / "notebooks"
        out_dir.mkdir()
        parameters = {"params_file": "params.yaml", "run_dir": ".", "settings": settings}
        runs = [
            NotebookRun(name, notebooks_dir / name, out_dir / name, parameters, params.kernel_name, build_dir)
            for name in params.notebooks
        ]
        progress = Progress(params.notebooks, enabled=not quiet)
        # Each chapter's report HTML is made in a publishing worker as its notebook
        # finishes, not all at the end where the PDF waits for them.
        from needs_assessment.report import render_chapter

        chapters: dict[Path, Future] = {}
        numbers = {name: number for number, name in enumerate(params.notebooks, start=1)}

        def chapter_done(job: NotebookRun) -> None:
            chapters[job.output] = publisher.make(render_chapter, job.output, numbers[job.name])

        start = time.perf_counter()
        try:
            notebook_seconds = run_notebooks(
                runs, deps, max_parallel=jobs, registry=registry,
                kernel_env=kernel_environment(area_cache), progress=progress,
                estimates=_estimates(area_dir), kernel_server=kernel_server,
                on_done=chapter_done,
            )
        except NotebookFailed as exc:
            raise RunFailed(exc.message, exit_code=1) from None
        finally:
            progress.close()
            clock.seconds["notebooks"] = round(time.perf_counter() - start, 3)
        workspace.remove()  # nothing after this point reads record-level data
        changed = _inputs_changed(input_hashes, hash_inputs(params.input_paths()))
        if changed:
            raise RunFailed(
                "Input files changed while the run was in progress, so the published manifest "
                "could not say what was analysed; nothing was published. Changed: "
                + "; ".join(changed) + ". Run again once the inputs are final.",
                exit_code=3,
            )
        _say("Publishing report ...", quiet)
        _publish(params, build_dir, run_id, started, clock, publisher, chapters)
        publisher.close()
        _write_manifest(
            build_dir / "manifest.json",
            params=params,
            run_id=run_id,
            started=started,
            status="succeeded",
            clock=clock,
            notebook_seconds=notebook_seconds,
            build_dir=build_dir,
            inputs=input_hashes,
            jobs=jobs,
        )
        _checkpoint("final_move")
        os.replace(build_dir, final_dir)
    except BaseException as exc:
        signals.hold()  # a second Ctrl-C must not cut the clean-up short
        registry.kill_all()
        if kernel_server is not None:
            kernel_server.stop()
        if publisher is not None:
            publisher.close(abort=True)
        workspace.remove()
        if isinstance(exc, KeyboardInterrupt):
            exc = RunInterrupted("Stopped by Ctrl-C.", exit_code=130)
        failed_dir = _keep_failed(area_dir, build_dir, run_id, exc, params, started, clock,
                                  notebook_seconds, input_hashes, jobs)
        if isinstance(exc, RunFailed):
            exc.failed_dir = failed_dir
            if failed_dir is not None:
                exc.message = f"{exc.message}\nWhat was made is kept in {failed_dir}"
            raise exc from None
        message = f"{type(exc).__name__}: {exc}"
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


def _keep_failed(area_dir, build_dir, run_id, exc, params, started, clock, notebook_seconds,
                 input_hashes, jobs) -> Path | None:
    """Move what a failed run made to ``failed-<run-id>/`` with ERROR.txt and a manifest."""
    if not build_dir.exists():
        return None
    failed_dir = area_dir / f"failed-{run_id}"
    message = exc.message if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}"
    try:
        _write_manifest(
            build_dir / "manifest.json",
            params=params,
            run_id=run_id,
            started=started,
            status="interrupted" if isinstance(exc, RunInterrupted) else "failed",
            clock=clock,
            notebook_seconds=notebook_seconds,
            build_dir=build_dir,
            inputs=input_hashes,
            jobs=jobs,
            error=message,
        )
        (build_dir / "ERROR.txt").write_text(message + "\n", encoding="utf-8")
    except OSError:
        pass  # a full disk must not stop the folder being set aside
    try:
        os.replace(build_dir, failed_dir)
    except OSError:
        return build_dir
    return failed_dir

def _record_inputs(build_dir: Path, inputs: dict[str, Any]) -> None:
    """What the input checks noticed (warnings) and how much data each dataset held, for
    the report's data quality section."""
    from needs_assessment.results import ResultsRecorder

    recorder = ResultsRecorder(build_dir, "inputs", title="Inputs")
    recorder.value("warnings", inputs["warnings"])
    recorder.value("rows", inputs["rows"])


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
