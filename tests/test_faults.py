"""Fault injection: a killed, interrupted, clashing or starved run leaves nothing private
behind and nothing half-done.

Each test runs the real command line in a subprocess on the default synthetic area with
two tiny chapters (``tests/tiny_chapters.py``), so a run takes seconds. After every fault:

* earlier runs and ``latest`` are byte-for-byte unchanged;
* nothing under ``outputs/`` holds record-level data (no Parquet/pickle cache, no client
  or episode identifier in any file);
* no process of the run is left running;
* the next run removes what the fault left (``.building-*``, the private workspace) and
  says so in one line.

Stage pauses for SIGKILL use the runner's fault-injection hook (``FAULT_PAUSE_ENV``).
Read-only and full disks are real mounts (``unshare -m`` + tmpfs) where this machine allows
it, and injected ``OSError``s otherwise (and always, for the publishing step).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml
from tiny_chapters import write_tiny_chapters

from needs_assessment.runner import FAULT_DIR_ENV, FAULT_PAUSE_ENV, RunFailed, run_assessment
from needs_assessment.workspace import WORK_DIR_ENV

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

PRIVATE_SUFFIXES = {".parquet", ".geoparquet", ".pickle", ".pkl", ".feather", ".arrow"}


# ------------------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _sigint_as_for_a_foreground_job() -> Iterator[None]:
    """Start a child whose Ctrl-C is not ignored, as a terminal's foreground job's is.

    A shell starts a background job (``make test &``, ``nohup``) with SIGINT ignored, and
    the tests and the runs they start inherit that. Python then installs no Ctrl-C
    handler, and the run rightly ignores the interrupt, as a background job should. This
    made the Ctrl-C test fail whenever the suite ran in the background. Only an ignored
    disposition passes through exec, so it is lifted while the child starts.
    """
    if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class Scene:
    """One test's area: params, tiny notebooks, outputs and private work folders."""

    def __init__(self, root: Path, data_dir: Path, project_root: Path):
        self.root = root
        self.outputs = root / "outputs"
        self.work = root / "work"
        self.markers = root / "markers"
        self.markers.mkdir()
        # The runs' temporary folder, where kernels put their socket files. Short, not
        # under ``root``: a socket's path may hold no more than 107 bytes.
        self.tmp = Path(tempfile.mkdtemp(prefix="na-faults-"))
        self.notebooks = root / "notebooks"
        names = write_tiny_chapters(self.notebooks)
        raw = yaml.safe_load((project_root / "params" / "default.yaml").read_text())
        raw["data"]["directory"] = str(data_dir)
        raw["outputs_dir"] = str(self.outputs)
        raw["notebooks"] = names
        self.params = root / "params.yaml"
        self.params.write_text(yaml.safe_dump(raw, sort_keys=False))
        self.area_dir = self.outputs / raw["area"]["slug"]
        self.tag = uuid.uuid4().hex
        episodes = pd.read_csv(data_dir / "treatment_episodes.csv", dtype=str)
        # Identifiers that must never appear in anything published.
        self.identifiers = set(episodes["client_id"].head(200)) | set(episodes["episode_id"].head(200))

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({WORK_DIR_ENV: str(self.work), "TMPDIR": str(self.tmp), "TINY_MARKER_DIR": str(self.markers),
                    FAULT_DIR_ENV: str(self.markers), "TINY_RUN_TAG": self.tag})
        env.update(extra)
        return env

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "needs_assessment", "run", "--params", str(self.params),
                "--notebooks-dir", str(self.notebooks), "--quiet", *extra]

    def run(self, *extra: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*extra), env=self.env(**env), capture_output=True,
                              text=True, timeout=timeout)

    def start(self, *extra: str, **env: str) -> subprocess.Popen:
        for marker in self.markers.iterdir():  # markers of earlier runs must not count
            marker.unlink()
        with _sigint_as_for_a_foreground_job():
            return subprocess.Popen(self.command(*extra), env=self.env(**env), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)

    def wait_for(self, name: str, timeout: float = 120) -> int:
        marker = self.markers / name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text())
            time.sleep(0.1)
        raise AssertionError(f"{name} never appeared in {self.markers}")

    def processes(self) -> list[psutil.Process]:
        """Every live process started for this scene (kernels, workers, the runner)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("TINY_RUN_TAG") == self.tag:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def assert_no_processes_within(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [(p.pid, " ".join(p.cmdline()[:4])) for p in self.processes()]
        assert not left, f"processes of the run still alive: {left}"

    def published_runs(self) -> dict[str, dict[str, str]]:
        return {
            p.name: _digest(p) for p in sorted(self.area_dir.iterdir())
            if p.is_dir() and not p.is_symlink() and p.name[:1].isdigit()
        }

    def latest(self) -> str | None:
        link = self.area_dir / "latest"
        return os.readlink(link) if link.is_symlink() else None

    def assert_nothing_private_in_outputs(self) -> None:
        for path in self.outputs.rglob("*"):
            assert path.suffix not in PRIVATE_SUFFIXES, f"record-level cache under outputs/: {path}"
            assert path.name != ".cache", f"private cache folder under outputs/: {path}"
            if path.is_file() and path.suffix in {".json", ".csv", ".html", ".ipynb", ".txt", ".yaml"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                leaked = [i for i in self.identifiers if i in text]
                assert not leaked, f"{path} holds record identifiers, e.g. {leaked[:3]}"

    def builds(self) -> list[Path]:
        return sorted(self.area_dir.glob(".building-*"))

    def workspaces(self) -> list[Path]:
        return sorted(p for p in self.work.iterdir() if p.is_dir()) if self.work.is_dir() else []

    def kernel_sockets(self) -> list[Path]:
        """Socket files of the runs' kernels left in the temporary folder."""
        return sorted(self.tmp.glob("na-kernel-*"))

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a container's init to reap it has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def area_data(synthetic_params) -> Path:
    raw = yaml.safe_load(synthetic_params("default").read_text())
    return Path(raw["data"]["directory"])


@pytest.fixture
def scene(tmp_path, area_data, project_root) -> Iterator[Scene]:
    made = Scene(tmp_path, area_data, project_root)
    yield made
    made.close()


@pytest.fixture(scope="module")
def previous_outputs(tmp_path_factory, area_data, project_root) -> Path:
    """One successful run, made once and copied into each test's outputs folder."""
    template = Scene(tmp_path_factory.mktemp("previous-run"), area_data, project_root)
    done = template.run()
    assert done.returncode == 0, done.stderr
    assert not template.kernel_sockets()  # each kernel's manager removed them as it stopped
    template.close()
    # Every kernel ran in the run's build folder and wrote its results there, never in the
    # folder the command was started from (notebooks run side by side in threads).
    [run] = [p for p in template.area_dir.iterdir() if p.name[:1].isdigit()]
    for key in ("tiny_one", "tiny_two"):
        values = json.loads((run / "results" / f"{key}.json").read_text())["values"]
        assert values["kernel_folder"].startswith(".building-"), values
    return template.outputs


@pytest.fixture
def scene_with_previous_run(scene, previous_outputs) -> tuple[Scene, dict, str]:
    shutil.copytree(previous_outputs, scene.outputs, symlinks=True)
    (scene.area_dir / ".run-owner.json").unlink(missing_ok=True)
    return scene, scene.published_runs(), scene.latest()


def _assert_recovered(scene: Scene, before: dict, latest: str) -> subprocess.CompletedProcess:
    """The checks every fault ends with, then a clean run that tidies up after it."""
    assert scene.published_runs() == before
    assert scene.latest() == latest
    scene.assert_nothing_private_in_outputs()
    after = scene.run()
    assert after.returncode == 0, after.stderr
    assert not scene.builds(), "a .building-* folder survived the next run"
    assert not scene.workspaces(), "a private workspace survived the next run"
    scene.assert_nothing_private_in_outputs()
    assert scene.latest() not in (None, latest)
    return after


# ------------------------------------------------------------------------------- SIGKILL
def test_sigkill_during_a_notebook(scene_with_previous_run):
    scene, before, latest = scene_with_previous_run
    proc = scene.start(TINY_SLEEP="120")
    kernel_pids = [scene.wait_for("tiny_one.pid"), scene.wait_for("tiny_two.pid")]
    proc.kill()
    proc.wait(timeout=30)
    # The crash left its build folder and private workspace, the latter outside outputs/.
    assert scene.builds()
    [workspace] = scene.workspaces()
    assert workspace.stat().st_mode & 0o777 == 0o700
    assert any(p.suffix == ".parquet" for p in workspace.rglob("*"))
    assert not workspace.is_relative_to(scene.outputs)
    # Kernels notice their parent died and stop by themselves, removing their socket files.
    scene.assert_no_processes_within(20)
    assert not any(_alive(pid) for pid in kernel_pids)
    assert not scene.kernel_sockets()
    after = _assert_recovered(scene, before, latest)
    removed = [line for line in after.stderr.splitlines() if "interrupted earlier run" in line]
    assert len(removed) == 1 and ".building-" in removed[0] and str(workspace) in removed[0]


@pytest.mark.parametrize("stage", ["report_pdf", "final_move"])
def test_sigkill_at_a_publishing_stage(scene_with_previous_run, stage):
    scene, before, latest = scene_with_previous_run
    proc = scene.start(**{FAULT_PAUSE_ENV: stage})
    scene.wait_for(f"{stage}.reached")
    os.killpg(proc.pid, signal.SIGKILL) if stage == "report_pdf" else proc.kill()
    proc.wait(timeout=30)
    assert scene.builds()
    scene.assert_no_processes_within(20)
    _assert_recovered(scene, before, latest)


# ----------------------------------------------------------------------- SIGTERM / Ctrl-C
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupt_cleans_up_and_keeps_what_was_made(scene_with_previous_run, signum, code):
    scene, before, latest = scene_with_previous_run
    proc = scene.start(TINY_SLEEP="120")
    scene.wait_for("tiny_one.pid")
    scene.wait_for("tiny_two.pid")
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # as a terminal's Ctrl-C does: the whole foreground group
    else:
        proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Stopped by" in stderr and "failed-" in stderr
    # Clean-up happened before the exit: no kernel, worker, socket or private data left.
    assert not scene.processes()
    assert not scene.kernel_sockets()
    assert not scene.workspaces()
    assert not scene.builds()
    [failed] = scene.area_dir.glob("failed-*")
    assert "Stopped by" in (failed / "ERROR.txt").read_text()
    scene.assert_nothing_private_in_outputs()
    assert scene.published_runs() == before and scene.latest() == latest


# ------------------------------------------------------------------------- clashing runs
def test_second_run_of_the_same_area_refuses_then_waits(scene):
    first = scene.start(TINY_SLEEP="8")
    scene.wait_for("tiny_one.pid")
    refused = scene.run()
    assert refused.returncode == 5
    assert "Another run of this area is in progress" in refused.stderr
    assert "--wait" in refused.stderr
    queued = scene.run("--wait", "120")
    assert first.wait(timeout=120) == 0
    assert queued.returncode == 0, queued.stderr
    runs = scene.published_runs()
    assert len(runs) == 2
    for digest in runs.values():  # both complete, neither touched by the other
        assert "report.pdf" in digest and "manifest.json" in digest


# ---------------------------------------------------------------------- notebook raising
def test_failing_notebook_stops_the_others(scene_with_previous_run):
    scene, before, latest = scene_with_previous_run
    done = scene.run(TINY_FAIL="tiny_two", TINY_SLEEP="0")
    assert done.returncode == 1
    assert "Notebook 02_tiny_two.ipynb failed in cell In [3]: RuntimeError: planted failure" in done.stderr
    assert not scene.processes() and not scene.workspaces() and not scene.kernel_sockets()
    assert len(list(scene.area_dir.glob("failed-*"))) == 1
    _assert_recovered(scene, before, latest)


def test_failing_notebook_kills_a_sibling_still_running(scene):
    proc = scene.start(TINY_FAIL="tiny_two", TINY_SLEEP="0")
    # tiny_one has no failure planted but sleeps; its kernel must not outlive the run.
    proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert not scene.processes()
    assert not scene.kernel_sockets()


# --------------------------------------------------------------------- input changes
def test_input_corrupted_mid_run(scene_with_previous_run, tmp_path, area_data):
    scene, before, latest = scene_with_previous_run
    copy = tmp_path / "data-copy"
    shutil.copytree(area_data, copy)
    raw = yaml.safe_load(scene.params.read_text())
    raw["data"]["directory"] = str(copy)
    scene.params.write_text(yaml.safe_dump(raw, sort_keys=False))
    original = (copy / "treatment_episodes.csv").read_bytes()
    done = scene.run(TINY_CORRUPT=str(copy / "treatment_episodes.csv"))
    assert done.returncode == 3, done.stderr
    assert "changed while the run was in progress" in done.stderr
    assert "data.files.treatment_episodes" in done.stderr
    assert scene.published_runs() == before and scene.latest() == latest
    scene.assert_nothing_private_in_outputs()
    (copy / "treatment_episodes.csv").write_bytes(original)
    _assert_recovered(scene, before, latest)


# ------------------------------------------------------------------ read-only, full disk
def _can_unshare_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True)
    return probe.returncode == 0


def _run_in_mount_namespace(scene: Scene, setup: str, **env: str) -> subprocess.CompletedProcess:
    """Run the command line inside a private mount namespace after ``setup`` (shell), so
    the mounts vanish with the process whatever happens."""
    command = " ".join(f"'{part}'" for part in scene.command())
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec",
                           f"{setup}\nexec {command}"], env=scene.env(**env), capture_output=True,
                          text=True, timeout=240)


@pytest.mark.skipif(not _can_unshare_mount(), reason="needs unshare -m and mount (root)")
def test_read_only_outputs_folder(scene_with_previous_run):
    scene, before, latest = scene_with_previous_run
    area = scene.area_dir
    done = _run_in_mount_namespace(
        scene, f"mount --bind '{area}' '{area}'\nmount -o remount,bind,ro '{area}'")
    assert done.returncode == 1
    assert "Cannot write to the outputs folder" in done.stderr
    assert "Read-only file system" in done.stderr
    assert "Nothing was run" in done.stderr
    assert not scene.workspaces()
    _assert_recovered(scene, before, latest)


@pytest.mark.skipif(not _can_unshare_mount(), reason="needs unshare -m and mount (root)")
def test_disk_full_while_publishing(scene_with_previous_run):
    scene, before, latest = scene_with_previous_run
    area = scene.area_dir
    # A tmpfs over the area folder holding a copy of it, with room for the lock and the
    # first files but not for a whole run.
    holding = scene.root / "holding"
    shutil.copytree(area, holding, symlinks=True)
    setup = (f"mount -t tmpfs -o size=1200k tmpfs '{area}'\n"
             f"cp -a '{holding}/.' '{area}/'\n"
             f"dd if=/dev/zero of='{area}/.filler' bs=1k count=100000 2>/dev/null || true\n"
             f"rm -f '{area}/.filler'\n"
             f"dd if=/dev/zero of='{area}/.filler' bs=1k count=$(( $(df -k --output=avail '{area}' | tail -1) - 150 )) 2>/dev/null")
    done = _run_in_mount_namespace(scene, setup)
    assert done.returncode != 0
    assert "No space left on device" in done.stderr
    assert not scene.workspaces()
    # The tmpfs is gone with the namespace: the real folder was never touched.
    assert scene.published_runs() == before and scene.latest() == latest
    assert not scene.builds()


def test_disk_full_injected_during_tables(scene_with_previous_run, monkeypatch):
    """The same fault without a mount: the spreadsheet writer's OSError is reported, the
    build is set aside, and the private data are gone."""
    scene, before, latest = scene_with_previous_run
    monkeypatch.setenv(WORK_DIR_ENV, str(scene.work))
    from needs_assessment import sections

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "tables.xlsx")

    monkeypatch.setattr(sections, "publish_tables", full)
    with pytest.raises(RunFailed) as caught:
        run_assessment(scene.params, notebooks_dir=scene.notebooks, quiet=True)
    assert "No space left on device" in caught.value.message
    assert caught.value.failed_dir is not None and caught.value.failed_dir.name.startswith("failed-")
    assert not scene.workspaces() and not scene.builds()
    scene.assert_nothing_private_in_outputs()
    assert scene.published_runs() == before and scene.latest() == latest
