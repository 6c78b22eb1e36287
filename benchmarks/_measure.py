"""Measuring helpers shared by the benchmarks (they print; they never assert)."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import psutil

__all__ = ["PeakRSS", "fmt_mib", "load_note", "reference_seconds"]


class PeakRSS:
    """Peak of the summed resident memory of this process and all its descendants
    (kernels, workers, ...), sampled every ``interval`` seconds in a background thread.
    Also kept: the peak of each process (``peak_per_process``) and of each direct child
    summed with everything below it (``peak_per_child``: a batch worker with its kernels).

    RSS counts shared pages once per process, so the sum is an upper bound on what the
    run really needed: the honest side to err on for a memory budget. Kernels forked from
    the kernel server share its imported modules, which the sum counts in every kernel;
    ``peak_pss`` is the peak of the summed proportional set size (each shared page divided
    among the processes sharing it), which is what the run occupied. ``at_peak`` lists
    (process, RSS) at the moment of the RSS peak, largest first.
    """

    def __init__(self, interval: float = 0.05, root: int | None = None):
        self.interval = interval
        self.root = psutil.Process(root or os.getpid())
        self.peak = 0
        self.peak_pss = 0
        self.peak_per_process: dict[int, int] = {}
        self.peak_per_child: dict[int, int] = {}
        self.at_peak: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="peak-rss")

    @staticmethod
    def _rss(proc: psutil.Process) -> int | None:
        try:
            return proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    @staticmethod
    def _pss(proc: psutil.Process, rss: int) -> int:
        try:
            return proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, AttributeError):
            return rss  # no PSS here (not Linux, or gone): count it whole

    def _sample(self) -> None:
        try:
            children = self.root.children()
        except psutil.NoSuchProcess:
            return
        total = self._rss(self.root) or 0
        total_pss = self._pss(self.root, total)
        sizes = [(_label(self.root), total)]
        for child in children:
            try:
                tree = [child, *child.children(recursive=True)]
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            subtotal = 0
            for proc in tree:
                rss = self._rss(proc)
                if rss is None:
                    continue
                subtotal += rss
                sizes.append((_label(proc), rss))
                total_pss += self._pss(proc, rss)
                self.peak_per_process[proc.pid] = max(self.peak_per_process.get(proc.pid, 0), rss)
            self.peak_per_child[child.pid] = max(self.peak_per_child.get(child.pid, 0), subtotal)
            total += subtotal
        if total > self.peak:
            self.peak = total
            self.at_peak = sorted(sizes, key=lambda item: -item[1])
        self.peak_pss = max(self.peak_pss, total_pss)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):  # a process ended mid-sample: next one
                self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def _label(proc: psutil.Process) -> str:
    """``pid name``, with the module or script a Python process runs where it says."""
    try:
        cmd = proc.cmdline()
        name = proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        cmd, name = [], "(ended)"
    what = next((part for part in cmd[1:] if not part.startswith("-")), "")
    if "-c" in cmd:  # multiprocessing children: say which machinery started them
        what = "spawned worker" if "spawn_main" in " ".join(cmd) else (
            "forkserver (kernel server)" if "forkserver" in " ".join(cmd) else "python -c")
    return f"{proc.pid} {what[-48:] or name}"


def fmt_mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def load_note() -> str:
    """The machine's load and speed when measured: timings on a busy machine, or on a
    shared host slowed by its neighbours, are not comparable."""
    one, five, _ = os.getloadavg()
    return (f"{psutil.cpu_count()} cores, load average {one:.2f} (1 min) {five:.2f} (5 min), "
            f"reference loop {reference_seconds():.2f} s")


def reference_seconds(repeats: int = 3) -> float:
    """Best of ``repeats`` CPU seconds of a fixed pure-Python loop (3 million additions).
    These machines share their hosts: on a quiet 2026-12-03 this read 0.09 to 0.14 s from
    one minute to the next, and the same run's timings move with it."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best


def wall(func, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result
