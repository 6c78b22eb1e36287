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
  kernel; :memory: still hits it about one time in seven, see execution.py).

Analysts who open the notebooks in JupyterLab can pick any kernel, including the standard
one with the debugger; the runner uses this one (:func:`install_kernel_spec`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

__all__ = ["kernel_argv", "install_kernel_spec", "main"]


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


def main() -> None:
    # An absent module (None in sys.modules) makes ``import debugpy`` raise ImportError,
    # which ipykernel treats as "debugger not available".
    sys.modules["debugpy"] = None  # type: ignore[assignment]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
