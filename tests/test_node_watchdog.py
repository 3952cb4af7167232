"""``node_watchdog.py``: the Ray cluster test's nodes die with the test process, even after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WATCHDOG = str(Path(__file__).with_name("node_watchdog.py"))


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process of process group ``pgid`` exists (Linux /proc)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                state, _ppid, pgrp = (d / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):
                continue
            if int(pgrp) == pgid and state != "Z":
                return True
    return False


def _wait(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_group_is_killed_when_the_starting_process_is_sigkilled():
    starter = ("import os, subprocess, sys, time\n"
               f"p = subprocess.Popen([sys.executable, {WATCHDOG!r}, '--watch', str(os.getpid()), 'sleep', '120'],"
               " start_new_session=True)\n"
               "print(p.pid, flush=True)\n"
               "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True)
    pgid = None
    try:
        pgid = int(proc.stdout.readline())
        assert _wait(lambda: _group_alive(pgid), 10)
        time.sleep(0.5)  # the watchdog has started its command
        proc.kill()  # no teardown can run
        proc.wait(timeout=10)
        assert _wait(lambda: not _group_alive(pgid), 20), "the watchdog did not kill its process group"
    finally:
        proc.kill()
        proc.stdout.close()
        if pgid is not None:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_command_status_is_passed_through_and_the_starter_left_alone():
    r = subprocess.run([sys.executable, WATCHDOG, "--watch", str(os.getpid()), sys.executable, "-c",
                        "import sys; sys.exit(3)"], timeout=60)
    assert r.returncode == 3
    assert subprocess.run([sys.executable, WATCHDOG], capture_output=True, timeout=60).returncode == 2
