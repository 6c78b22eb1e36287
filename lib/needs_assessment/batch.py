"""Assessments for many areas at once, on Dask, then one summary comparing them.

    needs-assessment batch --params params/*.yaml [--workers N] [--scheduler tcp://host:8786]

Each area is one Dask task that runs :func:`needs_assessment.runner.run_assessment`
exactly as ``needs-assessment run`` does, so it publishes exactly what a single run
publishes, atomically, to its own ``outputs/<area>/<run-id>/``. By default the tasks run
on a ``distributed.LocalCluster`` on this machine (one single-threaded worker process per
core); ``--scheduler`` sends them to an existing Dask cluster instead, with no other change
(every worker needs the workbook installed and the areas' files at the same paths).

Failures stay with their area: a task never raises for a bad input or a failing notebook,
it returns a failed status with the run's own message; a worker lost mid-task (killed, out
of memory) is retried once on another worker (the scheduler's ``allowed-failures`` is set
to 1 for the local cluster) and the area is reported failed if it is lost again. The
batch finishes the rest, then publishes ``outputs/batch/<batch-id>/`` (see
:mod:`needs_assessment.batch_summary`) and exits non-zero if any area failed.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from needs_assessment.batch_summary import AreaStatus, BatchOutcome

__all__ = ["AreaStatus", "BatchOutcome", "expand_params", "run_area", "run_batch"]

#: How often a lost worker's task is tried again (once), as the issue asks.
ALLOWED_FAILURES = 1


def expand_params(patterns: Sequence[str]) -> list[Path]:
    """Params files from names and glob patterns, in the order given, without repeats."""
    files: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise FileNotFoundError(f"--params {pattern}: no file matches")
        for match in matches:
            path = Path(match).resolve()
            if path not in files:
                files.append(path)
    return files


def run_area(
    params_file: str,
    *,
    outputs_dir: str | None = None,
    jobs: int = 1,
    run_id: str | None = None,
) -> dict[str, Any]:
    """One area, run in a Dask worker (or anywhere): never raises for a failed run.

    Returns an :class:`AreaStatus` as a dict (plain data crosses process boundaries)."""
    from needs_assessment.params import ParamsError, load_params
    from needs_assessment.runner import RunFailed, run_assessment

    start = time.perf_counter()
    status = AreaStatus(params_file=str(params_file), status="failed", worker=_worker_name())
    try:
        params = load_params(params_file, check_files=False)
        status.area_name, status.area_slug = params.area.name, params.area.slug
        status.disclosure_threshold = params.disclosure.threshold
        outcome = run_assessment(params_file, outputs_dir=outputs_dir, quiet=True, jobs=jobs, run_id=run_id,
                                 wait_seconds=3600)
    except ParamsError as exc:
        status.exit_code, status.error = 2, str(exc)
    except RunFailed as exc:
        status.exit_code, status.error = exc.exit_code, exc.message
        status.failed_dir = str(exc.failed_dir) if exc.failed_dir else None
    except Exception as exc:  # an unexpected bug must not take the batch down
        status.exit_code = 1
        status.error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=5))
    else:
        status.status = "succeeded"
        status.run_id = outcome.run_id
        status.run_dir = str(outcome.run_dir)
        status.report_html = str(outcome.report_html)
    status.seconds = round(time.perf_counter() - start, 3)
    return status.to_dict()


def _worker_name() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


class _BatchProgress:
    """One status line for the whole batch: ``Areas 5/12 |███  | 1:23  3 running · 1 failed``;
    on a terminal a live bar, in a log one line per finished area."""

    def __init__(self, total: int, *, enabled: bool, stream=None):
        self.total = total
        self.done = 0
        self.failed = 0
        self.running = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.start = time.monotonic()
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="Areas", file=self.stream,
                            bar_format="{desc} {n_fmt}/{total_fmt} |{bar:20}| {elapsed}{postfix}")
        self._shown = ""

    def _postfix(self) -> str:
        parts = [f"{self.running} running", f"{self.total - self.done - self.running} queued"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        return " · ".join(parts)

    def update(self, running: int) -> None:
        self.running = running
        text = self._postfix()
        if self.bar is not None and text != self._shown:
            self._shown = text
            self.bar.set_postfix_str(text)

    def finished(self, status: AreaStatus) -> None:
        self.done += 1
        self.failed += status.status != "succeeded"
        word = "done" if status.status == "succeeded" else "FAILED"
        elapsed = dt.timedelta(seconds=int(time.monotonic() - self.start))
        line = (f"  {word}  {status.area_slug or status.params_file}  {status.seconds or 0:.0f} s"
                f"  [{self.done}/{self.total}, {self.failed} failed, {elapsed} so far]")
        if status.status != "succeeded" and status.error:
            line += "\n      " + status.error.strip().splitlines()[0]
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
            self.bar.update(1)
        elif self.enabled:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _client(scheduler: str | None, workers: int):
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    # One retry of a task whose worker died (the default allows 3). Set before the
    # scheduler is made: it reads the setting when it starts.
    # A worker holds only the area it is running (saturation 1.0 with one thread): areas
    # waiting stay with the scheduler, so a worker lost mid-area counts against that area
    # alone, not against others queued behind it.
    # Workers are not daemonic, so that a run inside one may start processes of its own: the
    # kernel server its notebooks' kernels are forked from, its publishing workers. Each of
    # those ends when the worker does (see runner and execution.KernelServer).
    dask.config.set({
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        "distributed.scheduler.worker-saturation": 1.0,
        "distributed.worker.daemon": False,
    })
    # The scheduler serves its HTTP routes even with no dashboard, on 8787 unless told: a
    # free port instead, so two batches on one machine do not clash (or warn about it).
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=40,  # ERROR: a lost worker is reported by the batch itself
    )
    return Client(cluster), cluster


def _check_distinct_areas(files: Sequence[Path]) -> dict[Path, AreaStatus]:
    """Params that cannot be read fail at once; two files naming one area fail both (their
    runs would queue on one lock and the summary could not tell them apart)."""
    from needs_assessment.params import ParamsError, load_params

    failed: dict[Path, AreaStatus] = {}
    slugs: dict[str, list[Path]] = {}
    for path in files:
        try:
            params = load_params(path, check_files=False)
        except ParamsError as exc:
            failed[path] = AreaStatus(params_file=str(path), status="failed", exit_code=2, error=str(exc))
            continue
        slugs.setdefault(params.area.slug, []).append(path)
    for slug, paths in slugs.items():
        if len(paths) > 1:
            for path in paths:
                failed[path] = AreaStatus(
                    params_file=str(path), status="failed", area_slug=slug, exit_code=2,
                    error=f"area.slug {slug!r} is named by {len(paths)} params files in this batch: "
                          + ", ".join(str(p) for p in paths),
                )
    return failed


def run_batch(
    params_files: Sequence[str | os.PathLike],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    outputs_dir: str | os.PathLike | None = None,
    jobs_per_area: int = 1,
    quiet: bool = False,
    batch_id: str | None = None,
    task: Any = None,
) -> BatchOutcome:
    """Run every area on Dask, then publish the batch summary.

    ``task`` replaces :func:`run_area` (same signature); the tests use it to kill workers."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    from needs_assessment.batch_summary import batch_root, publish_batch_summary
    from needs_assessment.execution import available_cores

    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    files = [Path(p).resolve() for p in params_files]
    workers = max(1, int(workers or available_cores()))
    statuses: dict[Path, AreaStatus] = _check_distinct_areas(files)
    runnable = [p for p in files if p not in statuses]
    progress = _BatchProgress(len(files), enabled=not quiet)
    for status in statuses.values():
        progress.finished(status)
    outputs = str(outputs_dir) if outputs_dir else None
    scheduler_label = scheduler or f"LocalCluster({workers} workers x 1 thread)"
    if runnable:
        client, cluster = _client(scheduler, workers)
        try:
            futures = {
                client.submit(task or run_area, str(path), outputs_dir=outputs, jobs=jobs_per_area,
                              key=f"area-{index}-{path.stem}", pure=False): path
                for index, path in enumerate(runnable)
            }
            pending = as_completed(list(futures), with_results=False)
            while not pending.is_empty():
                ready = pending.next_batch(block=False)
                for future in ready:
                    path = futures[future]
                    try:
                        status = AreaStatus(**future.result())
                    except KilledWorker:
                        status = AreaStatus(
                            params_file=str(path), status="failed", exit_code=1,
                            error="The worker running this area was lost twice (killed or out of "
                                  "memory); it was retried once. Run it alone to see why.",
                        )
                    except Exception as exc:  # the task itself never raises; this is Dask's
                        status = AreaStatus(params_file=str(path), status="failed", exit_code=1,
                                            error=f"{type(exc).__name__}: {exc}")
                    statuses[path] = status
                    progress.finished(status)
                if not ready:
                    processing = client.processing()
                    progress.update(sum(len(keys) for keys in processing.values()))
                    time.sleep(0.25)
        finally:
            progress.close()
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        progress.close()
    ordered = [statuses[p] for p in files]
    seconds = round(time.perf_counter() - clock, 3)
    root = batch_root(files, outputs_dir)
    outcome = publish_batch_summary(
        ordered, root=root, started=started, seconds=seconds, scheduler=scheduler_label,
        workers=workers, batch_id=batch_id,
    )
    outcome.failures = [s for s in ordered if s.status != "succeeded"]
    return outcome
