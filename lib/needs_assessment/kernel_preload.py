"""What the kernel server imports once, before it forks a kernel for each notebook.

The runner's kernels are forked from one process (:class:`execution.KernelServer`, the
standard library's multiprocessing *forkserver*) that has already imported what the
chapters use: ipykernel, pandas, numpy, scipy, statsmodels, matplotlib, geopandas and the
workbook's own analysis and chart modules. A kernel started the usual way pays for those
imports itself: 1.5-2.5 s of CPU per notebook on these machines (``python -X importtime``),
seven times a run. Forked, a kernel starts with them in memory, shared copy-on-write.

The list is found, not kept by hand: every module of the chapter packages
(:data:`CHAPTER_PACKAGES`) and the modules the notebooks import directly
(:data:`MODULES`). A module that fails to import here is skipped; the kernel that needs
it imports it itself and reports the error in the notebook, as it always did.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import sys

__all__ = ["MODULES", "CHAPTER_PACKAGES", "preload_modules"]

#: Imported first: the kernel machinery and the libraries every chapter uses.
MODULES = (
    "ipykernel.kernelapp",
    "IPython.display",
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "matplotlib.pyplot",
    "needs_assessment.notebook",
    "needs_assessment.display",
    "needs_assessment.sdc",
    "needs_assessment.results",
    "needs_assessment.findings",
    "needs_assessment.recommendations",
    "needs_assessment.framework",
    "needs_assessment.change",
)

#: Packages whose every module a chapter may import.
CHAPTER_PACKAGES = ("needs_assessment.analysis", "needs_assessment.charts")


def preload_modules() -> list[str]:
    names = list(MODULES)
    for package_name in CHAPTER_PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        names.extend(m.name for m in pkgutil.iter_modules(package.__path__, package_name + "."))
    return names


def _preload() -> None:
    # As needs_assessment.kernel.main does: ipykernel then starts without the debugger.
    sys.modules.setdefault("debugpy", None)  # type: ignore[arg-type]
    # Set before numpy loads OpenBLAS (see execution.kernel_environment); the server is
    # started with them already, these only guard a server started some other way.
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in preload_modules():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the kernel will import it and show the error
            continue
    # Everything imported so far lives as long as the kernels do: moved out of the garbage
    # collector's sight, a kernel's collections neither walk it nor write to its pages
    # (which would copy them into the kernel, undoing the sharing).
    gc.collect()
    gc.freeze()


if os.environ.get("NEEDS_ASSESSMENT_KERNEL_SERVER") == "1":
    _preload()
