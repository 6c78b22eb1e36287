"""The Jupyter kernel the workbook's notebooks run in: ipykernel, started lean.

``python -m needs_assessment.kernel -f CONNECTION_FILE`` is ipykernel's own launcher with
two things switched off that an unattended run never uses and every notebook paid for:

* the debugger: ipykernel imports ``debugpy`` at start-up when it is installed (0.2–0.3 s
  per kernel here, measured with ``python -X importtime``). Marking the module absent makes
  ipykernel start without debugging support, exactly as when debugpy is not installed;
* IPython's command history on disk: an SQLite file in the user's home that every kernel
  opens and that kernels started side by side contend for. The history is kept in memory
  instead (``--HistoryManager.hist_file=:memory:``, set in the kernel spec below). Not
  ``--HistoryManager.enabled=False``: with ipykernel 7.4 that made about half of all
  kernels miss their exit after the shutdown reply (the control thread waits on an IOPub
  flush while the main thread joins it; cf. posit-dev/positron#7142), and the kernel
  manager then waited 2.5 s before terminating each one (measured: 0.8 s -> 4.0 s per
  kernel; :memory: still hit it about one time in five). :func:`main` now leaves that
  join out of the kernel's exit, which ends the race.

A kernel whose run is killed outright also removes its socket files before it ends
itself (:func:`_parent_poller_class`).

Analysts who open the notebooks in JupyterLab can pick any kernel, including the standard
one with the debugger; the runner uses this one (:func:`install_kernel_spec`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["kernel_argv", "install_kernel_spec", "main", "forked_main", "is_workbook_kernel"]


def kernel_argv(python: str | None = None) -> list[str]:
    return [
        python or sys.executable,
        "-m",
        "needs_assessment.kernel",
        "-f",
        "{connection_file}",
        "--HistoryManager.hist_file=:memory:",
    ]


def install_kernel_spec(name: str, *, prefix: str | None = None, display_name: str | None = None) -> str:
    """Register (or refresh) kernel ``name`` for this interpreter under ``prefix``
    (default ``sys.prefix``, i.e. inside the venv). Returns the installed folder."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = {
        "argv": kernel_argv(),
        "display_name": display_name or f"Python ({name})",
        "language": "python",
        "metadata": {"debugger": False},
        "kernel_protocol_version": "5.5",
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        return KernelSpecManager().install_kernel_spec(
            str(folder), kernel_name=name, prefix=prefix if prefix is not None else sys.prefix
        )


def is_current_spec(argv: list[str]) -> bool:
    """True when a kernel spec's argv is this module's, for this interpreter."""
    return list(argv) == kernel_argv()


def is_workbook_kernel(argv: list[str]) -> bool:
    """True when ``argv`` starts this module's kernel with this interpreter, so a kernel
    forked from this interpreter (see :func:`forked_main`) is the same kernel."""
    return (
        len(argv) >= 3
        and os.path.abspath(argv[0]) == os.path.abspath(sys.executable)
        and list(argv[1:3]) == ["-m", __name__]
    )


def forked_main(argv: list[str], cwd: str, env: dict[str, str]) -> None:
    """Become the kernel ``argv`` would start, in a process forked from the kernel server
    (:class:`needs_assessment.execution.KernelServer`), with the folder and environment
    the kernel manager gave it.

    As jupyter_client does for a kernel it launches, the kernel gets a session (and process
    group) of its own, so a terminal's Ctrl-C reaches the runner, not the kernel, and
    signals for the kernel reach nothing else. Its parent is the server, which exits with
    the run: ``JPY_PARENT_PID`` names it, so ipykernel's parent poller stops the kernel if
    the run is killed outright."""
    from multiprocessing import forkserver

    # The forkserver gives each child the write end of the pipe by which it knows that its
    # clients are alive, so that a child may ask it for children of its own. A kernel
    # holding it would keep the server alive after the run is killed, and the server the
    # kernel (whose parent it is): let it go.
    alive = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if alive is not None:
        os.close(alive)
        forkserver._forkserver._forkserver_alive_fd = None
    os.setsid()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    # What ``python -m needs_assessment.kernel ...`` sees, and the parent to poll: ipykernel
    # reads JPY_PARENT_PID when it is imported, which in the server was before any run.
    sys.argv = [argv[0], *argv[3:], f"--IPKernelApp.parent_handle={os.getppid()}"]
    try:
        main()
    finally:
        # A forked child ends with os._exit, which skips atexit; ipykernel's clean-up of
        # its socket files and IPython's of its history are registered there.
        import atexit

        atexit._run_exitfuncs()


def _parent_poller_class() -> type:
    """ipykernel's watch on the kernel's parent, removing the kernel's socket files before
    it ends the kernel.

    When the run is killed outright (SIGKILL, the out-of-memory killer), each kernel sees
    its parent gone within a second and ends itself with ``os._exit``, which skips every
    clean-up: the socket files of its five channels stayed in the temporary folder, ten
    for every killed run. This is ipykernel's ``ParentPollerUnix.run`` with that removal
    added; there is no hook for it.
    """
    import time

    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.parentpoller import ParentPollerUnix

    class ParentPollerRemovingSockets(ParentPollerUnix):
        def run(self) -> None:
            # As ipykernel: an invalid parent pid means "watch for adoption by init".
            parent = self.parent_pid if os.getppid() == self.parent_pid else 0
            while True:
                ppid = os.getppid()
                if (parent and ppid != parent) or (not parent and ppid == 1):
                    try:
                        IPKernelApp.instance().cleanup_ipc_files()
                    finally:
                        os._exit(1)
                time.sleep(1.0)

    return ParentPollerRemovingSockets


def main() -> None:
    # An absent module (None in sys.modules) makes ``import debugpy`` raise ImportError,
    # which ipykernel treats as "debugger not available".
    sys.modules["debugpy"] = None  # type: ignore[assignment]
    import atexit

    from ipykernel import kernelapp

    # IPKernelApp.init_poller looks the class up in its module when the kernel starts.
    kernelapp.ParentPollerUnix = _parent_poller_class()  # type: ignore[misc]
    kernelapp.launch_new_instance()
    # The kernel has stopped (a shutdown request). At exit ipykernel would close its
    # ZeroMQ sockets in order and join its threads (IPKernelApp.close), which the
    # process's end does anyway; that join is where the shutdown race of the module
    # docstring hangs (the control thread waiting on an IOPub flush) until the kernel
    # manager terminates the kernel, 0.5 s later, leaving its socket files behind. The
    # client has every reply and output it asked for by the time it shuts a kernel down.
    atexit.unregister(kernelapp.IPKernelApp.instance().close)


if __name__ == "__main__":
    main()
