"""The Ray cluster path for real: a head and a worker node started with ``ray start`` on this machine,
a small study run with ``--address``, the worker node killed half-way; the study must complete with
the numbers of the local backend.

The nodes run in their own process groups (``ray start --block`` in a new session) on ports the
system hands out, with a private temporary folder; the test kills exactly those process groups
afterwards (never ``ray stop``, which would stop every Ray on a shared machine). Each node runs
under ``node_watchdog.py``, which kills its group when the test process dies without teardown
(SIGKILL). Every wait has a deadline, so the test cannot hang. Skipped without ray.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray

SRC = str(Path(__file__).resolve().parents[1] / "src")
RAY = Path(sys.executable).with_name("ray")
WATCHDOG = str(Path(__file__).with_name("node_watchdog.py"))  # kills a node's group if this process dies
DEADLINE_S = 150.0  # for the driver; ~30 s on an idle 2-core machine, generous for a loaded CI box


def _ports(k: int) -> list[int]:
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _env() -> dict[str, str]:
    path = os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return dict(os.environ, PYTHONPATH=path, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0",
                OMP_NUM_THREADS="1", VAELAB_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def _start_node(tmp: Path, name: str, head_port: int | None) -> subprocess.Popen:
    p = _ports(7)
    args = [str(RAY), "start", "--block", "--num-cpus", "1", "--object-store-memory", str(100 * 1024**2),
            "--node-manager-port", str(p[1]), "--object-manager-port", str(p[2]),
            "--dashboard-agent-listen-port", str(p[3]), "--dashboard-agent-grpc-port", str(p[4]),
            "--runtime-env-agent-port", str(p[5]), "--metrics-export-port", str(p[6]), "--disable-usage-stats"]
    if head_port is None:
        args += ["--head", "--port", str(p[0]), "--include-dashboard=false", "--temp-dir", str(tmp)]
    else:
        args += ["--address", f"127.0.0.1:{head_port}"]
    log = open(tmp / f"{name}.log", "w")  # noqa: SIM115 - closed with the process in the fixture
    # this process, and under pytest-xdist also the controller that started this worker
    watch = ["--watch", str(os.getpid())] + (["--watch", str(os.getppid())] if os.environ.get("PYTEST_XDIST_WORKER")
                                             else [])
    proc = subprocess.Popen([sys.executable, WATCHDOG, *watch, *args], env=_env(), start_new_session=True, stdout=log,
                            stderr=subprocess.STDOUT)
    proc.port = p[0]  # type: ignore[attr-defined]
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _kill_node(proc: subprocess.Popen) -> None:
    """SIGKILL the node's whole process group (raylet, GCS, its workers), then reap the ``ray start``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    proc.log.close()  # type: ignore[attr-defined]


def _wait_for_nodes(address: str, n: int, timeout: float, nodes: list[subprocess.Popen]) -> None:
    end = time.monotonic() + timeout
    for proc in nodes:  # `ray start --block` exits only if its node failed to start
        while time.monotonic() < end and proc.poll() is None and "--block" not in Path(proc.log.name).read_text():
            time.sleep(0.2)
        assert proc.poll() is None, f"a Ray node failed to start: {Path(proc.log.name).read_text()[-1500:]}"
    code = ("import sys, time, ray\n"
            f"ray.init(address={address!r}, log_to_driver=False, configure_logging=False)\n"
            f"end = time.time() + {timeout}\n"
            f"while sum(x['Alive'] for x in ray.nodes()) < {n} and time.time() < end:\n"
            "    time.sleep(0.3)\n"
            f"sys.exit(0 if sum(x['Alive'] for x in ray.nodes()) >= {n} else 1)\n")
    r = subprocess.run([sys.executable, "-c", code], env=_env(), timeout=max(5.0, end - time.monotonic()) + 20,
                       capture_output=True, text=True)
    assert r.returncode == 0, f"the Ray nodes did not come up: {r.stderr[-2000:]}"


@pytest.fixture
def cluster(tmp_path):
    if not RAY.exists():
        pytest.skip("the ray command is not installed beside this Python")
    started = []
    tmp = Path(tempfile.mkdtemp(prefix="vlray", dir="/tmp"))  # Ray's socket paths must stay under 108 bytes
    try:
        head = _start_node(tmp, "head", None)
        started.append(head)
        worker = _start_node(tmp, "worker", head.port)
        started.append(worker)
        address = f"127.0.0.1:{head.port}"
        _wait_for_nodes(address, 2, 40, started)
        yield {"address": address, "head": head, "worker": worker}
    finally:
        for proc in reversed(started):
            _kill_node(proc)
        shutil.rmtree(tmp, ignore_errors=True)


STUDY = ["--model", "noise", "--factors", "0,1,2", "--classifiers", "knn,plsda", "--folds", "2",
         "--seeds", "2", "--classical", "none", "--preprocess", "none", "--quiet"]


def test_study_survives_a_lost_worker_node(cluster, tmp_path, patient_npz):
    t_start = time.monotonic()
    data = patient_npz(seed=3, d=12, shift=1.5)
    out = tmp_path / "ray_out"
    cmd = [sys.executable, "-m", "vaelab", "augment", data, *STUDY, "--backend", "ray", "--jobs", "2",
           "--address", cluster["address"], "--out", str(out)]
    log = open(tmp_path / "driver.log", "w")  # noqa: SIM115
    driver = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    n_cells = 2 * 2 * 2  # seeds × folds × {baseline, noise}
    killed_at = None
    try:
        while driver.poll() is None and time.monotonic() - t_start < DEADLINE_S:
            done = len(list((out / "cells").glob("*.json"))) if (out / "cells").is_dir() else 0
            if killed_at is None and done >= 2:
                killed_at = done
                _kill_node(cluster["worker"])
            time.sleep(0.1)
        if driver.poll() is None:
            pytest.fail(f"the study did not finish within {DEADLINE_S:.0f} s")
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=10)
        log.close()
    text = (tmp_path / "driver.log").read_text()
    assert driver.returncode == 0, text[-3000:]
    assert killed_at is not None and killed_at < n_cells, "the worker node was not killed half-way"
    assert cluster["worker"].poll() is not None

    remote = json.loads((out / "augment.json").read_text())
    assert remote["n_cells"] == n_cells and remote["n_failed_cells"] == 0 and remote["failures"] == []

    from vaelab.data.io import load_data
    from vaelab.experiments.augment import run_augment

    local = run_augment(load_data(data), model="noise", factors="0,1,2", classifiers="knn,plsda", folds=2, seeds=2,
                        classical="none", preprocess="none")
    local = json.loads(json.dumps(local))
    for key in ("results", "tests", "recommended_factor", "verdict"):
        assert remote[key] == local[key], key
