"""Run a command and kill its whole process group when the process that started this one dies.

    python tests/node_watchdog.py [--watch PID]... CMD [ARGS...]

For the Ray nodes of ``test_ray_cluster.py``: the test starts this in a new session (its own
process group); the command (``ray start --block``) and everything it starts (raylet, GCS,
workers) stay in that group. A test run that ends normally kills the group in its fixture; one
killed from outside (SIGKILL, so no teardown runs) leaves this watchdog orphaned: within
``POLL_S`` it sees its parent change, or a ``--watch`` process (the pytest-xdist controller)
gone, and SIGKILLs the group, itself included. Nothing outside the group is touched (never
``ray stop``). Exits with the command's exit status when the command ends first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

POLL_S = 0.5


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def main(argv: list[str]) -> int:
    watch = []
    while len(argv) >= 2 and argv[0] == "--watch":
        watch.append(int(argv[1]))
        argv = argv[2:]
    if not argv:
        print("usage: node_watchdog.py [--watch PID]... CMD [ARGS...]", file=sys.stderr)
        return 2
    parent = os.getppid()
    child = subprocess.Popen(argv)  # in this watchdog's process group
    while child.poll() is None:
        if os.getppid() != parent or not all(alive(p) for p in watch):
            os.killpg(os.getpgid(0), signal.SIGKILL)
        time.sleep(POLL_S)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
