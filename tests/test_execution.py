"""How the runner starts kernels: forked from the kernel server, or as new processes.

A forked kernel must be indistinguishable, to the notebook it runs, from one started the
usual way: its own folder, environment, process group and hash seed, with the chapter
libraries already imported. What the runner does when it is killed is in test_faults.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from multiprocessing import forkserver
from pathlib import Path

import nbformat
import pytest

from needs_assessment.execution import (
    KernelRegistry,
    KernelServer,
    NotebookRun,
    Progress,
    kernel_environment,
    run_notebooks,
)
from needs_assessment.kernel import is_workbook_kernel, kernel_argv
from needs_assessment.runner import ensure_kernel

KERNEL = "needs-assessment"

# What a notebook can see of how its kernel was started, written to facts.json.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    facts = {
        "preloaded": "needs_assessment.analysis.places" in sys.modules,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "pgid": os.getpgid(0),
        "sid": os.getsid(0),
        "env": os.environ.get("PROBE_VALUE"),
        "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
        "hash": hash("needs assessment"),
    }
    with open("facts.json", "w", encoding="utf-8") as handle:
        json.dump(facts, handle)
    """
)


def _probe_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": KERNEL, "language": "python", "display_name": "Python"},
                   "language_info": {"name": "python"}}
    nb.cells = [
        nbformat.v4.new_code_cell("unused = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(PROBE),
    ]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    nbformat.write(nb, path)
    return path


def _run_probe(tmp_path: Path, server: KernelServer | None) -> dict:
    ensure_kernel(KERNEL)
    source = _probe_notebook(tmp_path / "probe.ipynb")
    folder = tmp_path / "run"
    folder.mkdir()
    job = NotebookRun("probe.ipynb", source, folder / "probe.ipynb", {}, KERNEL, folder)
    env = {**kernel_environment(None), "PROBE_VALUE": "given by the kernel manager"}
    run_notebooks([job], {"probe.ipynb": []}, max_parallel=1, registry=KernelRegistry(),
                  kernel_env=env, progress=Progress([], enabled=False), kernel_server=server)
    return json.loads((folder / "facts.json").read_text(encoding="utf-8"))


def _hash_with_seed_zero() -> int:
    """hash() of the probe's string in a new interpreter started with PYTHONHASHSEED=0."""
    out = subprocess.run([sys.executable, "-c", 'print(hash("needs assessment"))'],
                         env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_a_forked_kernel_starts_as_a_launched_one_would(tmp_path):
    server = KernelServer.start()
    if server is None:
        pytest.skip("this machine cannot fork kernels")
    facts = _run_probe(tmp_path, server)
    assert facts["preloaded"], "the chapter modules should come from the server, already imported"
    assert facts["ppid"] == forkserver._forkserver._forkserver_pid
    assert facts["cwd"] == str(tmp_path / "run")
    assert facts["env"] == "given by the kernel manager"
    assert facts["blas"] == "1"
    # Its own session and process group, as jupyter_client gives a kernel it launches.
    assert facts["pgid"] == facts["pid"] == facts["sid"]
    assert facts["hash"] == _hash_with_seed_zero()


def test_without_a_server_kernels_are_new_processes(tmp_path):
    facts = _run_probe(tmp_path, None)
    assert facts["ppid"] == os.getpid()
    assert not facts["preloaded"]
    assert facts["cwd"] == str(tmp_path / "run")
    assert facts["env"] == "given by the kernel manager"
    assert facts["hash"] == _hash_with_seed_zero()


def test_a_script_without_a_main_guard_can_fork_kernels(tmp_path, project_root):
    """multiprocessing children re-run the parent's script unless it is guarded; kernels
    must not (the script below would otherwise start a second server from the kernel)."""
    _probe_notebook(tmp_path / "probe.ipynb")
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from needs_assessment.execution import (KernelRegistry, KernelServer, NotebookRun,
                                                Progress, kernel_environment, run_notebooks)
        server = KernelServer.start()
        assert server is not None
        folder = Path({str(tmp_path)!r}) / "run"
        folder.mkdir()
        job = NotebookRun("probe.ipynb", folder.parent / "probe.ipynb", folder / "probe.ipynb", {{}},
                          {KERNEL!r}, folder)
        run_notebooks([job], {{"probe.ipynb": []}}, max_parallel=1, registry=KernelRegistry(),
                      kernel_env=kernel_environment(None), progress=Progress([], enabled=False),
                      kernel_server=server)
        print("ran")
    """), encoding="utf-8")
    ensure_kernel(KERNEL)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180,
                         cwd=project_root)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ran"
    facts = json.loads((tmp_path / "run" / "facts.json").read_text(encoding="utf-8"))
    assert facts["preloaded"]


def test_only_the_workbook_kernel_of_this_interpreter_is_forked():
    argv = kernel_argv()
    assert is_workbook_kernel(argv)
    assert not is_workbook_kernel(["/usr/bin/python3", *argv[1:]])
    assert not is_workbook_kernel([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    assert not is_workbook_kernel([sys.executable])


def _quick_notebook(path: Path, cells: int, *, fail_at: int | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": KERNEL, "language": "python", "display_name": "Python"},
                   "language_info": {"name": "python"}}
    nb.cells = [nbformat.v4.new_code_cell("unused = None", metadata={"tags": ["parameters"]})]
    for i in range(cells):
        code = f"print({i})" if i != fail_at else 'raise ValueError("planted")'
        nb.cells.append(nbformat.v4.new_code_cell(code))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    nbformat.write(nb, path)
    return path


def _run_counting_writes(tmp_path: Path, monkeypatch, **kwargs) -> tuple[list[dict], Path]:
    """Run a quick notebook, recording the code cells' statuses each time the output is written."""
    import papermill.engines

    from needs_assessment.execution import NotebookFailed

    ensure_kernel(KERNEL)
    writes: list[dict] = []
    real_write = papermill.engines.write_ipynb

    def counting_write(nb, path, *args, **kw):
        writes.append({"statuses": [c.metadata.papermill["status"] for c in nb.cells]})
        return real_write(nb, path, *args, **kw)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counting_write)
    source = _quick_notebook(tmp_path / "quick.ipynb", 8, **kwargs)
    folder = tmp_path / "run"
    folder.mkdir()
    job = NotebookRun("quick.ipynb", source, folder / "quick.ipynb", {}, KERNEL, folder)
    with contextlib.suppress(NotebookFailed):
        run_notebooks([job], {"quick.ipynb": []}, max_parallel=1, registry=KernelRegistry(),
                      kernel_env=kernel_environment(None), progress=Progress([], enabled=False),
                      kernel_server=KernelServer.start())
    return writes, folder / "quick.ipynb"


def test_the_output_notebook_is_written_sparingly_and_completely_at_the_end(tmp_path, monkeypatch):
    writes, output = _run_counting_writes(tmp_path, monkeypatch)
    # papermill alone writes before and after each of the 10 cells (parameters, injected
    # parameters, 8 quick ones) and at the start and end: 22 times. Quick cells come well
    # within SAVE_EVERY_SECONDS of each other.
    assert 2 <= len(writes) <= 6, len(writes)
    assert writes[-1]["statuses"] == ["completed"] * len(writes[-1]["statuses"])
    nb = nbformat.read(output, as_version=4)
    printed = [c.outputs[0]["text"].strip() for c in nb.cells if c.outputs]
    assert printed == [str(i) for i in range(8)]
    assert all(c.metadata.papermill["duration"] is not None for c in nb.cells if c.cell_type == "code")


def test_a_failed_cell_is_written_at_once(tmp_path, monkeypatch):
    writes, output = _run_counting_writes(tmp_path, monkeypatch, fail_at=3)
    failed_at = next(i for i, w in enumerate(writes) if "failed" in w["statuses"])
    # The failure is written when its cell completes, before (not only with) the write at
    # the notebook's end; the quick cells before it were not each written.
    assert failed_at == len(writes) - 2
    assert len(writes) <= 5
    nb = nbformat.read(output, as_version=4)
    assert any(o.get("ename") == "ValueError" for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "new process"])
def test_kernels_exit_by_themselves_when_shut_down(tmp_path, monkeypatch, forked):
    """ipykernel's exit could hang joining its control thread (the shutdown race of
    kernel.py), until the manager terminated the kernel: one kernel in four, 0.5 s each,
    its socket files left behind. Here the manager would wait 10 s before terminating
    any kernel, so a kernel that hangs is caught however busy the machine is."""
    from needs_assessment import execution

    ensure_kernel(KERNEL)
    escalations: list[str] = []
    make_class = execution.kernel_manager_class

    def patient_managers(*args, **kwargs):
        base = make_class(*args, **kwargs)

        class Patient(base):
            shutdown_wait_time = 20.0

            async def _async_send_kernel_sigterm(self, *a, **kw):
                escalations.append("SIGTERM")
                return await super()._async_send_kernel_sigterm(*a, **kw)

            async def _async_kill_kernel(self, *a, **kw):
                escalations.append("SIGKILL")
                return await super()._async_kill_kernel(*a, **kw)

        return Patient

    monkeypatch.setattr(execution, "kernel_manager_class", patient_managers)
    server = KernelServer.start() if forked else None
    if forked and server is None:
        pytest.skip("multiprocessing cannot start a kernel server here")
    source = _quick_notebook(tmp_path / "quick.ipynb", 1)
    folder = tmp_path / "run"
    folder.mkdir()
    count = 8 if forked else 3
    jobs = [NotebookRun(f"quick_{i}.ipynb", source, folder / f"quick_{i}.ipynb", {}, KERNEL, folder)
            for i in range(count)]
    run_notebooks(jobs, {job.name: [] for job in jobs}, max_parallel=2, registry=KernelRegistry(),
                  kernel_env=kernel_environment(None), progress=Progress([], enabled=False),
                  kernel_server=server)
    assert escalations == []
    assert all((folder / job.name).is_file() for job in jobs)


class _Channel:
    """A kernel channel holding the messages a fake kernel has sent."""

    def __init__(self):
        self.queue: list[dict] = []

    def get_msg(self, timeout=None):
        from queue import Empty

        if not self.queue:
            raise Empty
        return self.queue.pop(0)


def _fake_kernel_client(lose_first_idle: bool):
    """A ReadyClient wired to a fake kernel that answers every kernel_info request on
    the shell channel and publishes busy/idle on IOPub, except (if asked) the first
    request's, as when IOPub had not finished connecting."""
    from needs_assessment.execution import ready_client_class

    client = ready_client_class()()
    client._shell_channel, client._iopub_channel = _Channel(), _Channel()
    requests: list[str] = []

    def kernel_info():
        msg_id = f"request-{len(requests)}"
        requests.append(msg_id)
        parent = {"msg_id": msg_id}
        client.shell_channel.queue.append({"msg_type": "kernel_info_reply", "parent_header": parent,
                                           "content": {"protocol_version": "5.4"}})
        if not (lose_first_idle and len(requests) == 1):
            for state in ("busy", "idle"):
                client.iopub_channel.queue.append({"msg_type": "status", "parent_header": parent,
                                                   "content": {"execution_state": state}})
        return msg_id

    async def alive():
        return True

    client.kernel_info = kernel_info
    client._async_is_alive = alive
    return client, requests


@pytest.mark.parametrize("lose_first_idle", [False, True], ids=["connected", "idle lost"])
def test_a_kernel_is_ready_once_iopub_has_its_idle_after_kernel_info(lose_first_idle):
    import asyncio

    client, requests = _fake_kernel_client(lose_first_idle)
    asyncio.run(client.wait_for_ready(timeout=30))
    # One request when IOPub heard its idle; asked again when it did not.
    assert requests == (["request-0", "request-1"] if lose_first_idle else ["request-0"])
    assert client.iopub_channel.queue == []  # read up to the idle: nothing older is left


def test_kernel_socket_paths_fit_a_unix_socket_address_under_a_long_temp_folder(monkeypatch):
    from needs_assessment.execution import kernel_manager_class

    # The shape of a Mac's per-user temp folder ($TMPDIR); nothing is created there.
    mac_like = "/var/folders/7x/2k3l4m5n6p7q8r9s0t1u2v3w0000gn/T"
    monkeypatch.setattr(tempfile, "tempdir", mac_like)
    manager = kernel_manager_class(KernelRegistry(), {})()
    assert manager.transport == "ipc"
    paths = [f"{manager.ip}-{port}" for port in (1, 5, 65535)]
    assert all(p.startswith(mac_like + "/") for p in paths)
    # sockaddr_un holds 104 bytes on macOS (108 on Linux), the terminating NUL included.
    assert max(len(p.encode()) for p in paths) <= 103
    assert kernel_manager_class(KernelRegistry(), {})().ip != manager.ip  # each kernel its own


def test_kernel_managers_give_ready_clients():
    from needs_assessment.execution import kernel_manager_class, ready_client_class

    manager = kernel_manager_class(KernelRegistry(), {})()
    assert isinstance(manager.client(), ready_client_class())
    assert ready_client_class().wait_for_ready is ready_client_class()._async_wait_for_ready
