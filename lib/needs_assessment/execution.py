"""Execute a run's notebooks side by side, in the order their dependencies allow.

Chapters do not depend on each other unless a notebook says so in its metadata::

    "metadata": {"needs_assessment": {"depends_on": ["02_prevalence_and_need.ipynb"]}}

(``"*"`` means every other notebook of the run listed before it: the findings chapter reads
every chapter's results). Ready notebooks start in critical-path order, longest remaining
chain first, using the seconds each notebook took in the area's previous run when there is
one, so the chain 02 -> 06 -> 07 is not left until last.

Each notebook is one papermill execution in a worker thread of a
``concurrent.futures.ThreadPoolExecutor``: the work happens in the kernel processes, the
threads only relay messages. Kernels talk over local IPC sockets, with the run's private
data folder in their environment, and are registered so that a failure or an interrupt
kills every kernel of the run (and anything a kernel started) at once: no orphans.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import context as mp_context
from multiprocessing import forkserver, reduction, spawn, util
from pathlib import Path
from typing import Any

__all__ = [
    "KernelRegistry",
    "KernelServer",
    "NotebookFailed",
    "available_cores",
    "can_start_children",
    "critical_path_order",
    "notebook_dependencies",
    "run_notebooks",
]

METADATA_KEY = "needs_assessment"


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class NotebookFailed(RuntimeError):
    """A notebook raised; ``message`` names the notebook and the cell as a reviewer sees it."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


# ----------------------------------------------------------------------------- dependencies
def notebook_dependencies(names: Sequence[str], notebooks_dir: Path) -> dict[str, list[str]]:
    """``{notebook: [notebooks it must wait for]}`` from each notebook's metadata.

    A dependency that is not part of this run is ignored (the chapter copes with the
    missing results, as it does when run alone). A dependency listed after the notebook
    that needs it is an error, so the params order always remains a valid serial order.
    """
    import nbformat

    deps: dict[str, list[str]] = {}
    for position, name in enumerate(names):
        nb = nbformat.read(notebooks_dir / name, as_version=4)
        wanted = nb.metadata.get(METADATA_KEY, {}).get("depends_on", [])
        if isinstance(wanted, str):
            wanted = [wanted]
        resolved: list[str] = []
        for item in wanted:
            if item == "*":
                resolved.extend(names[:position])
            elif item in names:
                if names.index(item) > position:
                    raise ValueError(
                        f"notebooks: {name} depends on {item}, which is listed after it; "
                        "list it earlier in the params file"
                    )
                resolved.append(item)
        deps[name] = list(dict.fromkeys(resolved))
    return deps


def critical_path_order(
    deps: Mapping[str, Sequence[str]], estimates: Mapping[str, float] | None = None
) -> list[str]:
    """Notebooks by descending length of the longest chain that starts with them (their
    own estimated seconds plus the longest chain of what waits for them); ties keep the
    params order. Unknown estimates count as one second each."""
    estimates = estimates or {}
    names = list(deps)
    dependents: dict[str, list[str]] = {n: [] for n in names}
    for name, needs in deps.items():
        for need in needs:
            dependents[need].append(name)
    chain: dict[str, float] = {}
    for name in reversed(names):  # dependents always come later in the params order
        tail = max((chain[d] for d in dependents[name]), default=0.0)
        chain[name] = float(estimates.get(name, 1.0)) + tail
    return sorted(names, key=lambda n: (-chain[n], names.index(n)))


# ---------------------------------------------------------------------------------- kernels
class KernelRegistry:
    """Every kernel process started for one run, so they can all be stopped at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: list[Any] = []

    def add(self, manager: Any) -> None:
        with self._lock:
            self._managers.append(manager)

    def pids(self) -> list[int]:
        with self._lock:
            managers = list(self._managers)
        pids = []
        for manager in managers:
            provisioner = getattr(manager, "provisioner", None)
            pid = getattr(provisioner, "pid", None) if provisioner is not None else None
            if pid:
                pids.append(int(pid))
        return pids

    def kill_all(self) -> int:
        """Kill every registered kernel and its descendants; return how many processes."""
        return kill_process_trees(self.pids())


def kill_process_trees(pids: Sequence[int], *, grace_seconds: float = 2.0) -> int:
    """Terminate processes and everything they started; kill what is left after the grace."""
    import psutil

    victims: list[psutil.Process] = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            victims.extend(root.children(recursive=True))
            victims.append(root)
        except psutil.NoSuchProcess:
            continue
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(victims, timeout=grace_seconds)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_seconds)
    return len(victims)


def can_start_children() -> bool:
    """Whether this process may start worker processes with ``multiprocessing``: not inside
    a daemonic process (a Dask worker may not have children), and not when the main
    program is a script without a file (``python - < script``), which a child would try,
    and fail, to re-run."""
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return False
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


class ForkedKernel:
    """A kernel forked by the :class:`KernelServer`, seen through the part of
    ``subprocess.Popen`` that jupyter_client's ``LocalProvisioner`` uses."""

    stdin = stdout = stderr = None

    def __init__(self, process: Any):
        self._process = process
        self.pid: int = process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)


try:  # not on Windows, which cannot fork
    from multiprocessing.popen_forkserver import Popen as _ForkServerPopen
except ImportError:  # pragma: no cover
    _ForkServerPopen = object  # type: ignore[assignment,misc]


class _KernelPopen(_ForkServerPopen):
    """multiprocessing's forkserver ``Popen``, except that the child does not re-run the
    caller's main script.

    A multiprocessing child normally imports the parent's ``__main__`` (so that functions
    defined there can be unpickled), which re-runs any script that is not guarded by
    ``if __name__ == "__main__"``, and fails when that script starts processes. A kernel
    needs nothing from the caller's script (its target is
    :func:`needs_assessment.kernel.forked_main`), so a run started from any script,
    notebook or console command starts its kernels alike. ``_launch`` is the standard
    library's own (Python 3.11 ``multiprocessing.popen_forkserver``) with the two entries
    that name the main module left out of what is sent to the child; there is no public
    way to say this."""

    def _launch(self, process_obj):
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        mp_context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            mp_context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _KernelProcess(mp_context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _KernelPopen(process_obj)


_PRELOAD = ["needs_assessment.kernel_preload"]


class KernelServer:
    """Start each notebook's kernel by forking one process that has already imported what
    the chapters use, instead of starting a new Python that imports it all again.

    This is the standard library's multiprocessing *forkserver*, with
    :mod:`needs_assessment.kernel_preload` as its preload: the server imports ipykernel,
    pandas, scipy, statsmodels, matplotlib, geopandas and the workbook's chapter modules
    once (about 3.5 s of CPU, on the core left idle while the inputs are validated), then
    forks a kernel in milliseconds whenever a notebook starts; each kernel shares those
    modules' memory copy-on-write. Measured on the default area: an empty chapter costs
    what ``benchmarks/pipeline_stages.py`` prints as "fixed cost".

    The server is started with the kernels' fixed environment (single-threaded BLAS, the
    Agg backend, ``PYTHONHASHSEED=0``: what must be set before Python or numpy start) and
    each forked kernel then takes the environment and working folder its kernel manager
    gives it (:func:`needs_assessment.kernel.forked_main`). The server ends when the
    process that started it ends, even by SIGKILL (it sees its pipe close), and its
    kernels follow (ipykernel's parent poller). One server serves every run of a process.

    Only this workbook's kernel, run by this interpreter, is forked; any other kernel named
    in the params starts as jupyter_client starts it. Where ``multiprocessing`` may not
    start children (:func:`can_start_children`) or there is no ``fork`` (Windows),
    :meth:`start` returns None and every kernel starts the usual way.
    """

    _lock = threading.Lock()

    @classmethod
    def start(cls) -> KernelServer | None:
        import multiprocessing

        if _ForkServerPopen is object or "forkserver" not in multiprocessing.get_all_start_methods():
            return None
        if not can_start_children():
            return None
        with cls._lock:
            # Only the process-wide forkserver exists; set what it preloads and the
            # environment it starts with (os.environ is what the server process inherits),
            # then restore ours. An already running server is reused as it is.
            server = forkserver._forkserver
            running = getattr(server, "_forkserver_pid", None) is not None
            if running and getattr(server, "_preload_modules", None) != _PRELOAD:
                return None  # someone else's server: not started with the kernels' environment
            fixed = {**kernel_environment(None), "NEEDS_ASSESSMENT_KERNEL_SERVER": "1"}
            saved = {key: os.environ.get(key) for key in fixed}
            forkserver.set_forkserver_preload(_PRELOAD)
            os.environ.update(fixed)
            try:
                forkserver.ensure_running()
            except OSError:
                return None
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        return cls()

    def launch(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]) -> ForkedKernel:
        from needs_assessment.kernel import forked_main

        # Daemonic: should the run end without shutting a kernel down, multiprocessing
        # stops it at exit rather than waiting for it.
        process = _KernelProcess(
            target=forked_main, args=(list(argv), str(cwd), dict(env)), name="kernel", daemon=True
        )
        process.start()
        return ForkedKernel(process)

    @staticmethod
    def stop() -> None:
        """End the server now (after a failure or an interrupt), not when this process
        exits, so nothing of the run is left running when it reports."""
        with KernelServer._lock:
            server = forkserver._forkserver  # the stdlib keeps one per process
            pid = getattr(server, "_forkserver_pid", None)
            if pid is None:
                return
            with contextlib.suppress(OSError):
                server._stop()  # closes its pipe and waits for it: what multiprocessing's own tests use


@functools.cache
def ready_client_class():
    """jupyter_client's ``AsyncKernelClient``, with a readiness check that ends as soon as
    the kernel is ready.

    jupyter_client's own (``wait_for_ready``) asks for the kernel's info, and once it has
    the reply and an IOPub message, reads IOPub until nothing has come for 0.2 s: every
    notebook's kernel sat ready but idle for that long, its core with it. This client reads
    IOPub until the kernel says it is idle after such a request, which is the last message
    a request makes; if that does not come (IOPub was not yet connected when it was sent),
    it asks again, as jupyter_client does. Messages of earlier requests still on IOPub are
    for no cell, and nbclient reads only those of the cell it runs."""
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.utils import ensure_async

    class ReadyClient(AsyncKernelClient):
        async def _idle_after(self, requests: set[str], wait: float) -> bool:
            """True once IOPub says the kernel is idle after one of ``requests``."""
            end = time.monotonic() + wait
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = await ensure_async(self.iopub_channel.get_msg(timeout=left))
                except Empty:
                    return False
                if (
                    msg["msg_type"] == "status"
                    and msg["parent_header"].get("msg_id") in requests
                    and msg["content"].get("execution_state") == "idle"
                ):
                    return True
            return False

        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            requests: set[str] = set()
            # The idle status follows the reply within milliseconds; none means IOPub
            # missed it (it had not finished connecting), so ask again, waiting longer
            # each time so that a busy machine's late messages still arrive.
            wait = 0.05
            while True:
                requests.add(self.kernel_info())
                try:
                    msg = await ensure_async(self.shell_channel.get_msg(timeout=1))
                except Empty:
                    msg = None
                if (
                    msg is not None
                    and msg["msg_type"] == "kernel_info_reply"
                    and await self._idle_after(requests, wait)
                ):
                    self._handle_kernel_info_reply(msg)
                    return
                wait = min(wait * 2, 1.0)
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

        # AsyncKernelClient binds its public name to the base class's function.
        wait_for_ready = _async_wait_for_ready

    return ReadyClient


def kernel_manager_class(
    registry: KernelRegistry,
    env: Mapping[str, str],
    cwd: Path | None = None,
    server: KernelServer | None = None,
):
    """An async kernel manager over local IPC sockets (no TCP port: record-level data never
    cross a network port, parallel kernels cannot collide on ports, and ipykernel does not
    warn about unencrypted TCP), with ``env`` added to the kernel's environment, the kernel
    started in ``cwd``, and every kernel it starts recorded in ``registry``.

    The working folder is given to the kernel here, not to papermill: papermill's ``cwd``
    changes the working folder of the whole calling process for the length of the run,
    which notebooks executing side by side in threads would race on (a kernel could start
    in the folder another thread had just restored, and write its results there)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, Float, Type

    extra_env = dict(env)

    class RunKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
        client_factory = Type(ready_client_class(), config=True)
        # A notebook's outputs are saved and its results written before its kernel is shut
        # down, so nothing is lost by terminating a kernel that has not exited 0.5 s after
        # its shutdown reply (SIGTERM at half this time, SIGKILL at the end). The default
        # (5 s) cost 2.5 s whenever ipykernel's shutdown race hit (see kernel.py).
        shutdown_wait_time = Float(1.0, config=True)

        def _ip_default(self):
            # Socket files live in the temp folder and are removed when the kernel stops.
            # Short names: a socket's path may hold at most 103 bytes (macOS; 107 on
            # Linux), and a Mac's temp folder alone takes about 50. 48 random bits keep
            # the kernels of runs side by side apart.
            return os.path.join(tempfile.gettempdir(), f"na-kernel-{uuid.uuid4().hex[:12]}")

        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**kw.get("env", os.environ), **extra_env}
            if cwd is not None:
                kw["cwd"] = str(cwd)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_interrupt_kernel(self):
            # jupyter_client interrupts a kernel (SIGINT) before shutting it down, to stop
            # code still running. papermill shuts a kernel down only after the reply to its
            # last cell, so the signal could only land in the kernel's wind-down of that
            # reply, where ipykernel logs "KeyboardInterrupt caught in kernel." (one kernel
            # in three, forked). A run that fails kills its kernels outright (registry).
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

        async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
            # jupyter_client looks whether the kernel has exited every 0.1 s, and the
            # notebook's worker waits for it before the next notebook starts, so each
            # notebook kept its core idle for up to a look too long. A look costs one
            # waitpid.
            await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            from needs_assessment.kernel import is_workbook_kernel

            registry.add(self)
            if server is None or not is_workbook_kernel(kernel_cmd):
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            # What LocalProvisioner.launch_kernel records for a process it starts, for a
            # kernel forked by the server (its own process group, see kernel.forked_main).
            provisioner = self.provisioner
            process = server.launch(kernel_cmd, cwd=kw.get("cwd") or os.getcwd(), env=kw.get("env") or os.environ)
            provisioner.process = process
            provisioner.pid = process.pid
            provisioner.pgid = process.pid
            provisioner.cwd = kw.get("cwd") or os.getcwd()
            self._reconcile_connection_info(provisioner.connection_info)

    return RunKernelManager


def kernel_environment(area_cache: Path | None) -> dict[str, str]:
    """What every notebook kernel of a run gets in its environment."""
    from needs_assessment.workspace import AREA_CACHE_ENV

    env = {
        # Charts are rendered to files by display.figure(); no inline backend is needed.
        "MPLBACKEND": "Agg",
        # Kernels run side by side, one per core: a BLAS thread pool per kernel would
        # oversubscribe the cores, and single-threaded BLAS sums in one fixed order, so
        # results do not depend on how many cores the machine has.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
    }
    if area_cache is not None:
        env[AREA_CACHE_ENV] = str(area_cache)
    return env


# --------------------------------------------------------------------------------- progress
class Progress:
    """One status line for notebooks running side by side::

        Notebooks  3/7 |████▎     | 0:14  running 02 12/20 · 04 8/31

    and a line as each finishes. Thread-safe: cell counts arrive from worker threads."""

    def __init__(self, names: Sequence[str], *, enabled: bool, stream=None):
        self._lock = threading.Lock()
        self._cells: dict[str, tuple[int, int]] = {}
        self._stream = stream or sys.stderr
        self._enabled = enabled
        self._shown = ""
        self._bar = None
        # A live bar only on a terminal; in a log file (CI, batch) one line per notebook.
        if enabled and getattr(self._stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=len(names), desc="Notebooks", unit="notebook", file=self._stream,
                bar_format="{desc} {n_fmt}/{total_fmt} |{bar:20}| {elapsed}{postfix}",
            )

    def started(self, name: str, cells: int) -> None:
        with self._lock:
            self._cells[name] = (0, cells)
        self.refresh()

    def cell_done(self, name: str) -> None:
        with self._lock:
            done, total = self._cells.get(name, (0, 0))
            self._cells[name] = (done + 1, total)

    def finished(self, name: str, seconds: float, *, ok: bool = True) -> None:
        with self._lock:
            self._cells.pop(name, None)
        line = f"  {'done' if ok else 'FAILED'}  {name}  {seconds:.1f} s"
        if self._bar is not None:
            self._bar.write(line, file=self._stream)
            self._bar.update(1)
        elif self._enabled:
            print(line, file=self._stream, flush=True)
        self.refresh()

    def refresh(self) -> None:
        if self._bar is None:
            return
        with self._lock:
            running = " · ".join(
                f"{name.split('_', 1)[0]} {done}/{total}" for name, (done, total) in self._cells.items()
            )
        text = f"running {running}" if running else ""
        if text != self._shown:  # redraw only when something changed
            self._shown = text
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# -------------------------------------------------------------------------------- execution
@dataclass
class NotebookRun:
    name: str
    source: Path
    output: Path
    parameters: dict[str, Any]
    kernel_name: str
    cwd: Path
    seconds: float = 0.0
    error: BaseException | None = field(default=None, repr=False)


def _code_cells(path: Path) -> int:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code")


#: While cells run, the output notebook is written at most this often (and whenever a
#: cell fails); at the end it is always written. See :func:`papermill_engine`.
SAVE_EVERY_SECONDS = 5.0
ENGINE_NAME = "needs-assessment"


@functools.cache
def papermill_engine() -> str:
    """Register, once, papermill's nbclient engine writing the output notebook less often.

    papermill writes the whole output notebook, outputs and all, before and after every
    cell, so that a crashed run leaves a notebook showing how far it got. With charts in
    the outputs that is O(cells^2) JSON: 3.6 s of the runner's CPU on the default area
    (py-spy), competing with the kernels for the cores. Here a cell's start or end is
    written only if :data:`SAVE_EVERY_SECONDS` have passed since the last write, or if the
    cell failed; the start and the end of the notebook are always written, so a finished
    or failed notebook is exactly papermill's. ``Engine.execute_notebook`` below is
    papermill's own (2.7), with this manager in place of its ``NotebookExecutionManager``:
    papermill has no setting for it."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class SparingExecutionManager(NotebookExecutionManager):
        _sparing = False

        def save(self, **kwargs):
            if self._sparing:
                since = (self.now() - self.last_save_time).total_seconds()
                if since < SAVE_EVERY_SECONDS:
                    return
            super().save(**kwargs)

        def cell_start(self, cell, cell_index=None, **kwargs):
            self._sparing = True
            try:
                super().cell_start(cell, cell_index, **kwargs)
            finally:
                self._sparing = False

        def cell_complete(self, cell, cell_index=None, **kwargs):
            self._sparing = cell.metadata.papermill.get("status") != self.FAILED
            try:
                super().cell_complete(cell, cell_index, **kwargs)
            finally:
                self._sparing = False

    class SparingEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                             log_output=False, autosave_cell_every=30, **kwargs):
            nb_man = SparingExecutionManager(nb, output_path=output_path, progress_bar=progress_bar,
                                             log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(ENGINE_NAME, SparingEngine)
    return ENGINE_NAME


def _execute_one(job: NotebookRun, manager_class, progress: Progress) -> float:
    # No ``cwd=`` for papermill (see kernel_manager_class): the kernel manager class of the
    # run starts each kernel in ``job.cwd``.
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    progress.started(job.name, _code_cells(job.source) + 1)  # +1: papermill's injected cell
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(job.source),
            str(job.output),
            parameters=job.parameters,
            kernel_name=job.kernel_name,
            progress_bar=False,
            log_output=False,
            report_mode=False,
            start_timeout=120,
            kernel_manager_class=manager_class,
            engine_name=papermill_engine(),
            on_cell_executed=lambda **_: progress.cell_done(job.name),
        )
    except PapermillExecutionError as exc:
        # "In [n]" is what a reviewer sees beside the cell in the executed notebook.
        where = f"cell In [{exc.exec_count}]" if exc.exec_count is not None else f"cell {exc.cell_index + 1}"
        detail = f"{exc.ename}: {exc.evalue}".strip()
        raise NotebookFailed(job.name, f"Notebook {job.name} failed in {where}: {detail}") from None
    except Exception as exc:  # kernel died, could not start, output not writable ...
        raise NotebookFailed(job.name, f"Notebook {job.name} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        job.seconds = round(time.perf_counter() - start, 3)
    return job.seconds


def run_notebooks(
    jobs: Sequence[NotebookRun],
    deps: Mapping[str, Sequence[str]],
    *,
    max_parallel: int,
    registry: KernelRegistry,
    kernel_env: Mapping[str, str],
    progress: Progress,
    estimates: Mapping[str, float] | None = None,
    on_done: Callable[[NotebookRun], None] | None = None,
    kernel_server: KernelServer | None = None,
) -> dict[str, float]:
    """Run ``jobs`` respecting ``deps``, at most ``max_parallel`` at a time; return seconds
    per notebook in params order. Kernels are forked from ``kernel_server`` when one is
    given (:class:`KernelServer`), else started as new processes. On the first failure (or
    an interrupt in the calling thread) every kernel is killed, nothing more starts, and
    the exception propagates."""
    by_name = {job.name: job for job in jobs}
    order = critical_path_order(deps, estimates)
    folders = {job.cwd for job in jobs}
    if len(folders) > 1:
        raise ValueError(f"notebooks of one run must share a working folder, not {sorted(map(str, folders))}")
    manager_class = kernel_manager_class(registry, kernel_env, next(iter(folders), None), kernel_server)
    done: set[str] = set()
    running: dict[Future, NotebookRun] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="notebook")
    try:
        while len(done) < len(jobs):
            for name in order:
                if len(running) >= max_parallel:
                    break
                if name in done or any(job.name == name for job in running.values()):
                    continue
                if all(d in done for d in deps.get(name, ())):
                    job = by_name[name]
                    running[pool.submit(_execute_one, job, manager_class, progress)] = job
            order = [n for n in order if n not in done and all(j.name != n for j in running.values())]
            finished, _ = wait(list(running), timeout=0.25, return_when=FIRST_COMPLETED)
            progress.refresh()
            for future in finished:
                job = running.pop(future)
                error = future.exception()
                progress.finished(job.name, job.seconds, ok=error is None)
                if error is not None:
                    raise error
                done.add(job.name)
                if on_done is not None:
                    on_done(job)
    except BaseException:
        registry.kill_all()
        # The worker threads notice their kernel died within about a second and end.
        wait(list(running), timeout=15)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return {job.name: job.seconds for job in jobs}
