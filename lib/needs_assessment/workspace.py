"""Where a run keeps things that must never be published, and how runs stay out of each
other's way.

* :class:`PrivateWorkspace`: a folder **outside** ``outputs/`` (under the user's cache
  directory, or ``$NEEDS_ASSESSMENT_WORK_DIR``), mode 0700, that holds the validated
  record-level inputs the notebooks read. ``outputs/`` is the folder people copy to shared
  drives and publish from, so record-level data never sit there, not even after a crash.
  The workspace holds an OS file lock for as long as its run lives; the kernel drops the
  lock when the process dies (even on SIGKILL), which is how a later run tells a crashed
  run's leftovers from a live run's folder (:func:`remove_stale_workspaces`).
* :func:`save_area` / :func:`load_area_cache`: the validated :class:`AreaData` as
  Parquet files (GeoParquet for boundaries) plus a small JSON of metadata: an open
  columnar format any tool can read, and, unlike pickle, safe to load. A chapter reads a
  dataset when it first uses it, only the columns it asks for (``with_columns``), sums of
  the population batch by batch without holding its 18 million national-scale rows
  (``population_by``), and lets go of what it has finished with (``unload``); a kernel
  gives freed memory back to the system after each cell. Two kernels run side by side.
* :class:`AreaLock`: one run per area folder at a time (a second run refuses or waits).
* :func:`remove_stale_builds`: a crashed run's ``.building-*`` folder, removed by the next
  run of the same area once it holds the area lock.

File locks come from ``filelock`` (``fcntl.flock`` on POSIX, released by the kernel when the
holder dies); folders are made with ``tempfile.mkdtemp`` (mode 0700).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

__all__ = [
    "AREA_CACHE_ENV",
    "WORK_DIR_ENV",
    "AreaBusy",
    "AreaLock",
    "PrivateWorkspace",
    "load_area_cache",
    "remove_stale_builds",
    "remove_stale_workspaces",
    "save_area",
    "work_root",
]

#: Overrides where private workspaces are made (tests, or a site's encrypted scratch disk).
WORK_DIR_ENV = "NEEDS_ASSESSMENT_WORK_DIR"
#: Set in each notebook kernel's environment: the folder holding this run's validated inputs.
AREA_CACHE_ENV = "NEEDS_ASSESSMENT_AREA_CACHE"

_OWNER_LOCK = ".owner.lock"
_OWNER_INFO = "owner.json"
_CACHE_META = "area.json"


def work_root() -> Path:
    """The folder that holds every private workspace, created with mode 0700."""
    configured = os.environ.get(WORK_DIR_ENV)
    if configured:
        root = Path(configured).expanduser()
    else:
        from platformdirs import user_cache_dir

        root = Path(user_cache_dir("needs-assessment")) / "work"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkdir's mode is masked by the umask; record-level data need 0700. A shared root owned
    # by someone else stays as it is: each workspace below it is 0700 anyway.
    with contextlib.suppress(PermissionError):
        os.chmod(root, 0o700)
    return root


def _owner_record(label: str) -> dict[str, Any]:
    return {
        "label": label,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


@dataclass
class PrivateWorkspace:
    """A private folder for one run's record-level data; remove it with :meth:`remove`."""

    path: Path
    _lock: FileLock = field(repr=False)

    @classmethod
    def create(cls, label: str, root: Path | None = None) -> PrivateWorkspace:
        root = Path(root) if root is not None else work_root()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=root))  # mode 0700
        lock = FileLock(path / _OWNER_LOCK)
        lock.acquire(timeout=0)
        (path / _OWNER_INFO).write_text(json.dumps(_owner_record(label)) + "\n", encoding="utf-8")
        return cls(path=path, _lock=lock)

    def remove(self) -> None:
        """Delete the folder and everything in it, then drop the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock.is_locked:
            self._lock.release(force=True)

    def __enter__(self) -> PrivateWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _lock_is_free(lock_path: Path) -> bool:
    """True when nobody holds the lock at ``lock_path`` (its owner finished or died)."""
    probe = FileLock(lock_path)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return False
    probe.release(force=True)
    return True


def remove_stale_workspaces(root: Path | None = None, *, grace_seconds: float = 300) -> list[Path]:
    """Remove private workspaces whose run is no longer alive; return what was removed.

    A workspace is stale when its owner lock can be taken (the process that held it has
    ended, however it ended). A folder without a lock file is one whose run died between
    making the folder and taking the lock; it is removed once older than ``grace_seconds``.
    """
    root = Path(root) if root is not None else work_root()
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.is_symlink():
            continue
        lock_path = child / _OWNER_LOCK
        if lock_path.exists():
            if not _lock_is_free(lock_path):
                continue
        elif time.time() - child.stat().st_mtime < grace_seconds:
            continue
        shutil.rmtree(child, ignore_errors=True)
        if not child.exists():
            removed.append(child)
    return removed


def remove_stale_builds(area_dir: Path) -> list[Path]:
    """Remove ``.building-*`` folders and ``.latest-*`` links a crashed run left in an area
    folder. Call only while holding that area's :class:`AreaLock`: then no live run owns them."""
    removed: list[Path] = []
    if not area_dir.is_dir():
        return removed
    for child in sorted(area_dir.iterdir()):
        if child.name.startswith(".building-") and child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
        elif child.name.startswith(".latest-") and child.is_symlink():
            child.unlink(missing_ok=True)
    return removed


class AreaBusy(RuntimeError):
    """Another run of the same area holds the area lock."""

    def __init__(self, area_dir: Path, owner: dict[str, Any] | None):
        who = ""
        if owner:
            who = (
                f" (run {owner.get('label', '?')}, process {owner.get('pid', '?')} on "
                f"{owner.get('host', '?')}, started {owner.get('started', '?')})"
            )
        super().__init__(
            f"Another run of this area is in progress in {area_dir}{who}. Runs of one area never "
            "interleave: wait for it to finish, or pass --wait SECONDS to queue behind it."
        )
        self.area_dir = area_dir
        self.owner = owner


class AreaLock:
    """Exclusive lock on ``outputs/<area>/`` for the life of one run.

    The lock file (``.run.lock``) is kept after release, as ``filelock`` advises; who holds it
    is written beside it (``.run-owner.json``) so the refused run can say.
    """

    LOCK_NAME = ".run.lock"
    OWNER_NAME = ".run-owner.json"

    def __init__(self, area_dir: Path, label: str):
        self.area_dir = Path(area_dir)
        self.label = label
        self._lock = FileLock(self.area_dir / self.LOCK_NAME)

    def acquire(self, wait_seconds: float = 0.0) -> None:
        try:
            self._lock.acquire(timeout=max(0.0, wait_seconds), poll_interval=0.2)
        except Timeout:
            raise AreaBusy(self.area_dir, self._read_owner()) from None
        owner = self.area_dir / self.OWNER_NAME
        tmp = owner.with_name(f".{owner.name}.{os.getpid()}")
        tmp.write_text(json.dumps(_owner_record(self.label)) + "\n", encoding="utf-8")
        os.replace(tmp, owner)

    def release(self) -> None:
        if self._lock.is_locked:
            (self.area_dir / self.OWNER_NAME).unlink(missing_ok=True)
            self._lock.release(force=True)

    def _read_owner(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.area_dir / self.OWNER_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def __enter__(self) -> AreaLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# --------------------------------------------------------------------------- area cache
def _is_geo(frame: Any) -> bool:
    return type(frame).__name__ == "GeoDataFrame"


def _write_frame(frame: Any, path: Path) -> str:
    if _is_geo(frame):
        frame.to_parquet(path.with_suffix(".geoparquet"))
        return "geo"
    frame.to_parquet(path.with_suffix(".parquet"))
    return "frame"


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (macOS, musl)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _release_memory() -> None:
    """Give the memory a large read freed back to the system. Arrow's allocator and the C
    library's both keep freed memory for later use: after reading a national-scale
    population (18 million rows) a kernel held twice the frame's size until it ended, and
    after summing part of it three times the result."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _release_after_cell(result: Any = None) -> None:
    _release_memory()


def _release_memory_after_each_cell() -> None:
    """In a notebook kernel, give freed memory back after every cell. Two kernels run side
    by side and a run's memory is what all its processes hold: without this a kernel kept
    the high-water mark of every cell it had run (the allocators hold freed memory for
    later, and large arrays are fresh allocations that cannot reuse it)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the workbook
        return
    shell = get_ipython()
    if shell is not None and _release_after_cell not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _release_after_cell)


def _read_frame(path: Path, kind: str) -> Any:
    if kind == "geo":
        import geopandas

        frame = geopandas.read_parquet(path.with_suffix(".geoparquet"))
    else:
        import pandas as pd

        frame = pd.read_parquet(path.with_suffix(".parquet"))
    _release_memory()
    return frame


#: Rows of the cached population read at a time when summing part of it.
_BATCH_ROWS = 1 << 17


def _sum_sorted(key, counts):
    """Distinct ``key`` values in ascending order and the sum of ``counts`` for each."""
    import numpy as np

    if len(key) > 1 and not (key[1:] >= key[:-1]).all():
        order = np.argsort(key, kind="stable")  # mostly sorted already: the file's order
        key, counts = key[order], counts[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[starts], np.add.reduceat(counts, starts)


def _code_ranges(source, columns: list[str]) -> dict[str, tuple[int, int]] | None:
    """For each whole-number column, ``(radix, smallest value)`` from the file's statistics
    (its codes are the value less the smallest; the last code is a missing value);
    dictionary (categorical) columns use their category codes. ``None`` when a column is
    neither, or the statistics needed are not in the file."""
    import pyarrow as pa

    schema = source.schema_arrow
    groups = [source.metadata.row_group(i) for i in range(source.num_row_groups)]

    def statistics(name):
        position = schema.get_field_index(name)
        return [group.column(position).statistics for group in groups]

    counts = statistics("population")
    if not pa.types.is_integer(schema.field("population").type) or any(
        s is None or not s.has_null_count or s.null_count for s in counts
    ):
        return None  # sums of whole numbers without gaps only
    ranges = {}
    for name in columns:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            continue
        found = statistics(name)
        if not pa.types.is_integer(kind) or any(s is None for s in found):
            return None
        bounds = [(int(s.min), int(s.max)) for s in found if s.has_min_max]
        low = min((lo for lo, _ in bounds), default=0)
        high = max((hi for _, hi in bounds), default=0)
        ranges[name] = (high - low + 2, low)
    return ranges


def _read_columns(path: Path, columns: list[str]) -> Any:
    """``columns`` of a cached frame, the others left unread."""
    import pandas as pd

    frame = pd.read_parquet(path, columns=columns)
    _release_memory()
    return frame


def _population_view(path: Path, columns: list[str], years) -> Any:
    """:func:`~needs_assessment.data.area_data.sum_population` on the cached population,
    without reading it whole.

    A batch of rows at a time, only ``columns`` (and ``year``, ``population``) are read,
    the rows of ``years`` kept, and the residents summed by one integer made of the
    columns' codes (:func:`_code_ranges`) in the columns' order, so that the sums come
    out sorted as a pandas group-by sorts them (a missing value last). Batches follow the
    file's order, so the partial sums of consecutive batches meet only at their edges;
    they are whole numbers added in 64-bit integers, which do not depend on the order of
    adding. Hand-written rather than an Arrow or pandas group-by: both held several times
    the result in memory at national scale (18 million rows), and holding little is the
    point of reading part of the file.

    Returns ``None`` when the file does not allow it (counts that are not whole numbers or
    have gaps, columns of another type, batches whose categories differ) or no row is of
    ``years``: the caller then works on the frame read whole, and says what is wrong.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering kept every batch read
    ranges = _code_ranges(source, columns)
    if ranges is None:
        return None
    year_type = source.schema_arrow.field("year").type if years is not None else None
    wanted = None if years is None else pa.array(sorted({int(y) for y in years}), type=year_type)
    read = list(dict.fromkeys([*columns, *(["year"] if years is not None else []), "population"]))
    dictionaries: dict[str, Any] = {}
    radices: list[int] = []
    part_keys, part_sums, ordered = [], [], True
    for batch in source.iter_batches(batch_size=_BATCH_ROWS, columns=read, use_threads=False):
        for name in columns:
            if name not in ranges:
                known = dictionaries.setdefault(name, batch[name].dictionary)
                if not batch[name].dictionary.equals(known):
                    return None
        if not radices:
            radices = [ranges[n][0] if n in ranges else len(dictionaries[n]) + 1 for n in columns]
            if float(np.prod(radices, dtype=float)) >= 2.0**62:
                return None
        if wanted is not None:
            batch = batch.filter(pc.is_in(batch["year"], value_set=wanted))
        if not batch.num_rows:
            continue
        key = np.zeros(batch.num_rows, dtype=np.int64)
        for name, radix in zip(columns, radices, strict=True):
            codes = batch[name].cast(pa.int64()) if name in ranges else batch[name].indices.cast(pa.int64())
            if name in ranges:
                codes = pc.subtract(codes, ranges[name][1])
            key *= radix
            key += pc.fill_null(codes, radix - 1).to_numpy()
        keys, sums = _sum_sorted(key, batch["population"].to_numpy().astype(np.int64))
        del batch, key
        if ordered and part_keys and keys[0] <= part_keys[-1][-1]:
            # groups that span the edge between batches (a small area's rows split in two)
            # are summed again; a file not in these columns' order is sorted at the end
            last_keys, last_sums = part_keys[-1], part_sums[-1]
            i = int(np.searchsorted(last_keys, keys[0]))
            j = int(np.searchsorted(keys, last_keys[-1], side="right"))
            if len(last_keys) - i > _BATCH_ROWS // 4 or (
                i == 0 and len(part_keys) > 1 and keys[0] <= part_keys[-2][-1]
            ):
                ordered = False
            else:
                edge = _sum_sorted(np.concatenate([last_keys[i:], keys[:j]]),
                                   np.concatenate([last_sums[i:], sums[:j]]))
                keys, sums = np.concatenate([edge[0], keys[j:]]), np.concatenate([edge[1], sums[j:]])
                if i:
                    part_keys[-1], part_sums[-1] = last_keys[:i], last_sums[:i]
                else:  # the whole last part was merged: keep every part non-empty
                    part_keys.pop()
                    part_sums.pop()
        part_keys.append(keys)
        part_sums.append(sums)
    if not part_keys:
        return None
    if not ordered:  # a file not in these columns' order: one more sort of the partial sums
        keys, sums = np.concatenate(part_keys), np.concatenate(part_sums)
        part_keys.clear()
        part_sums.clear()
        keys, sums = _sum_sorted(keys, sums)
        part_keys, part_sums = [keys], [sums]
        del keys, sums
    result = _view_frame(source, columns, radices, ranges, dictionaries, part_keys, part_sums)
    _release_memory()
    return result


def _view_frame(source, columns, radices, ranges, dictionaries, part_keys, part_sums) -> Any:
    """The frame of :func:`_population_view` from its sorted keys and sums, part by part
    (each part freed once written), with pandas' dtypes for each column."""
    import numpy as np
    import pandas as pd

    schema = source.schema_arrow
    dtypes = schema.empty_table().to_pandas().dtypes  # as pd.read_parquet gives them
    total = sum(len(k) for k in part_keys)
    # each column's codes in the smallest integer type that holds them (-1: missing category)
    codes = {n: np.empty(total, dtype=np.min_scalar_type(r - 1 if n in ranges else -r))
             for n, r in zip(columns, radices, strict=True)}
    counts = np.empty(total, dtype=np.int64)
    start = 0
    while part_keys:
        key, sums = part_keys.pop(0), part_sums.pop(0)
        stop = start + len(key)
        for name, radix in reversed(list(zip(columns, radices, strict=True))):
            codes[name][start:stop] = key % radix
            key //= radix
        counts[start:stop] = sums
        start = stop
    out = {}
    for name, radix in zip(columns, radices, strict=True):
        missing = codes[name] == radix - 1
        if name not in ranges:
            codes[name][missing] = -1
            dtype = pd.CategoricalDtype(pd.Index(dictionaries[name].to_pandas()),
                                        ordered=schema.field(name).type.ordered)
            out[name] = pd.Categorical.from_codes(codes.pop(name), dtype=dtype)
            continue
        dtype = dtypes[name]
        numpy_dtype = dtype.numpy_dtype if isinstance(dtype, pd.api.extensions.ExtensionDtype) else dtype
        values = codes.pop(name).astype(numpy_dtype) + numpy_dtype.type(ranges[name][1])
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            out[name] = pd.array(values, dtype=dtype)
            out[name][missing] = pd.NA
        elif missing.any():
            return None  # gaps in a column pandas reads as whole numbers
        else:
            out[name] = values
    result = pd.DataFrame(out)
    target = np.iinfo(dtypes["population"])
    fits = counts.min() >= target.min and counts.max() <= target.max
    result["population"] = counts.astype(dtypes["population"] if fits else np.int64)
    return result


def save_area(area: Any, folder: Path) -> Path:
    """Write a validated :class:`~needs_assessment.data.AreaData` to ``folder`` as Parquet.

    Every dataset becomes one file (dict-valued fields a sub-folder); ``area.json`` lists
    them with the non-tabular fields (sources, warnings, load time). Returns ``folder``.
    """
    import dataclasses

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    meta: dict[str, Any] = {"frames": {}, "groups": {}, "values": {}}
    for item in dataclasses.fields(area):
        value = getattr(area, item.name)
        if value is None:
            meta["values"][item.name] = None
        elif hasattr(value, "to_parquet"):
            meta["frames"][item.name] = _write_frame(value, folder / item.name)
        elif isinstance(value, dict) and all(hasattr(v, "to_parquet") for v in value.values()) and value:
            sub = folder / item.name
            sub.mkdir(exist_ok=True, mode=0o700)
            meta["groups"][item.name] = {
                key: _write_frame(frame, sub / f"{index:03d}")
                for index, (key, frame) in enumerate(value.items())
            }
        elif item.name == "sources":
            meta["values"][item.name] = {"__paths__": {k: str(v) for k, v in value.items()}}
        elif isinstance(value, tuple):
            meta["values"][item.name] = {"__tuple__": list(value)}
        else:
            meta["values"][item.name] = value
    (folder / _CACHE_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return folder


class _Deferred:
    """A dataset not read yet: read from the cache on first use."""

    __slots__ = ("names", "path", "read")

    def __init__(self, read, path: Path | None = None, names: list[str] | None = None):
        self.read = read
        self.path = path  # the Parquet file, for reading part of it
        self.names = names  # the frames of a dict-valued dataset

    def describe(self) -> str:
        """What ``AreaData.__repr__`` says of the dataset, without reading its rows."""
        if self.names is not None:
            return str(sorted(self.names))
        import pyarrow.parquet as pq

        return f"{pq.ParquetFile(self.path).metadata.num_rows:,} rows"


@functools.cache
def _lazy_area_class():
    from needs_assessment.data.area_data import DATASETS, AreaData, _kept_columns, _view_columns

    class CachedAreaData(AreaData):
        """An :class:`AreaData` whose datasets are read from the private cache when a
        chapter first uses them: a chapter that draws no map never reads (or imports the
        libraries for) the boundaries, and a national-scale area is not held whole in
        every kernel."""

        def __getattribute__(self, name):
            value = object.__getattribute__(self, name)
            if type(value) is _Deferred:
                deferred, value = value, value.read()
                object.__setattr__(self, name, value)
                object.__getattribute__(self, "__dict__").setdefault("_read", {})[name] = deferred
            return value

        def unload(self, *names: str) -> None:
            """Let go of datasets read from the cache (read again if used after), and give
            the memory they and anything else let go of held back to the system."""
            import gc

            read = object.__getattribute__(self, "__dict__").get("_read", {})
            for name in names:
                if name in read:
                    object.__setattr__(self, name, read.pop(name))
            gc.collect()  # charts are cycles of objects: freed only by the collector
            _release_memory()

        def population_by(self, columns, *, years=None):
            """As :meth:`AreaData.population_by`, read from the cache without holding the
            whole population when it has not been read already."""
            population = object.__getattribute__(self, "population")
            if type(population) is _Deferred and population.path.suffix == ".parquet":
                columns = _view_columns(_parquet_columns(population.path), columns, years)
                view = _population_view(population.path, columns, years)
                if view is not None:
                    return view
            return super().population_by(columns, years=years)

        def _only_columns(self, name, columns):
            value = object.__getattribute__(self, name)
            if type(value) is not _Deferred or value.path.suffix != ".parquet":
                value = getattr(self, name)
                return value[_kept_columns(name, value.columns, columns)]
            columns = _kept_columns(name, _parquet_columns(value.path), columns)
            return _Deferred(functools.partial(_read_columns, value.path, columns), value.path)

        def _replaced(self, changes):
            fields = {f: object.__getattribute__(self, f) for f in self.__dataclass_fields__}
            return type(self)(**(fields | changes))  # datasets not read yet stay unread

        def __repr__(self) -> str:
            """As :class:`AreaData` says it, without reading a dataset not read yet."""
            parts = []
            for name in DATASETS:
                value = object.__getattribute__(self, name)
                if type(value) is _Deferred:
                    parts.append(f"{name}={value.describe()}")
                elif name == "linkable_lists":
                    parts.append(f"linkable_lists={sorted(value)}")
                elif value is not None:
                    parts.append(f"{name}={len(value):,} rows")
            return f"AreaData({', '.join(parts)})"

        def has(self, name: str) -> bool:
            if name.startswith("linkable_lists.") or name == "linkable_lists":
                return super().has(name)
            if name not in self.__dataclass_fields__:
                return super().has(name)
            return object.__getattribute__(self, name) is not None  # without reading it

    return CachedAreaData


def load_area_cache(folder: Path, *, lazy: bool = True) -> Any:
    """Read what :func:`save_area` wrote back into an ``AreaData``; with ``lazy`` (the
    default) each dataset is read when first used."""
    from needs_assessment.data.area_data import AreaData

    folder = Path(folder)
    meta = json.loads((folder / _CACHE_META).read_text(encoding="utf-8"))
    kwargs: dict[str, Any] = {}
    for name, kind in meta["frames"].items():
        path = (folder / name).with_suffix(".parquet" if kind == "frame" else ".geoparquet")
        kwargs[name] = _Deferred(functools.partial(_read_frame, folder / name, kind), path)
    for name, members in meta["groups"].items():
        kwargs[name] = _Deferred(functools.partial(_read_group, folder / name, members),
                                 names=list(members))
    for name, value in meta["values"].items():
        if isinstance(value, dict) and "__paths__" in value:
            value = {k: Path(v) for k, v in value["__paths__"].items()}
        elif isinstance(value, dict) and "__tuple__" in value:
            value = tuple(value["__tuple__"])
        kwargs[name] = value
    for name in ("linkable_lists", "published", "sources"):
        if kwargs.get(name) is None and name in kwargs:
            kwargs[name] = {}
    if lazy:
        _release_memory_after_each_cell()
        return _lazy_area_class()(**kwargs)
    for name, value in kwargs.items():
        if type(value) is _Deferred:
            kwargs[name] = value.read()
    return AreaData(**kwargs)


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).schema_arrow.names


def _read_group(folder: Path, members: dict[str, str]) -> dict[str, Any]:
    return {key: _read_frame(folder / f"{index:03d}", kind) for index, (key, kind) in enumerate(members.items())}
