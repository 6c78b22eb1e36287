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
  columnar format any tool can read, and, unlike pickle, safe to load.
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


def _read_frame(path: Path, kind: str) -> Any:
    if kind == "geo":
        import geopandas

        return geopandas.read_parquet(path.with_suffix(".geoparquet"))
    import pandas as pd

    return pd.read_parquet(path.with_suffix(".parquet"))


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

    __slots__ = ("read",)

    def __init__(self, read):
        self.read = read


@functools.cache
def _lazy_area_class():
    from needs_assessment.data.area_data import AreaData

    class CachedAreaData(AreaData):
        """An :class:`AreaData` whose datasets are read from the private cache when a
        chapter first uses them: a chapter that draws no map never reads (or imports the
        libraries for) the boundaries, and a national-scale area is not held whole in
        every kernel."""

        def __getattribute__(self, name):
            value = object.__getattribute__(self, name)
            if type(value) is _Deferred:
                value = value.read()
                object.__setattr__(self, name, value)
            return value

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
        kwargs[name] = _Deferred(functools.partial(_read_frame, folder / name, kind))
    for name, members in meta["groups"].items():
        kwargs[name] = _Deferred(functools.partial(_read_group, folder / name, members))
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
        return _lazy_area_class()(**kwargs)
    for name, value in kwargs.items():
        if type(value) is _Deferred:
            kwargs[name] = value.read()
    return AreaData(**kwargs)


def _read_group(folder: Path, members: dict[str, str]) -> dict[str, Any]:
    return {key: _read_frame(folder / f"{index:03d}", kind) for index, (key, kind) in enumerate(members.items())}
