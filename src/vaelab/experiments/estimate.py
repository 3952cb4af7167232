"""How long will a grid take? Time one cell of every kind, then extrapolate to the whole grid.

A cell's *kind* is what makes its cost (for the augmentation study: the baseline, the studied
model, each classical augmentation; for the ablation: each model). The first cell of every kind
(seed 0, fold 0) is run and timed as a real cell — with an output folder its result is stored, so
``--resume`` later reuses it — and every cell of the grid is assumed to cost what its kind's cell
cost. With ``jobs`` parallel workers the wall time is about the cell seconds over ``jobs`` (a lower
bound when cells are few or uneven: the last cells run alone).

Both clocks are reported: wall seconds (what the grid will take on this machine at its present
load) and the process's CPU seconds (what it takes on idle cores: cells run single-threaded, so on
an unloaded machine wall ≈ CPU; on a shared one wall is larger by about the load per core).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from vaelab.experiments.grid import CellStore
from vaelab.experiments.runner import CellFn, is_failure, run_cells


def estimate_cells(fn: CellFn, cells: list[dict[str, Any]], shared: Any, kind: Callable[[dict[str, Any]], str], *,
                   jobs: int = 1, store: CellStore | None = None) -> dict[str, Any]:
    """Run the first cell of every kind (in this process) and extrapolate; returns a JSON-able dict.

    ``kinds``: per kind its cell's seconds, how many cells it has and their total;
    ``cell_seconds``: the sum over the grid; ``estimated_wall_seconds``: that over
    ``min(jobs, cells)``. The timed cells are always computed (and stored in ``store``).
    """
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    for i, c in enumerate(cells):
        k = kind(c)
        first.setdefault(k, i)
        counts[k] = counts.get(k, 0) + 1
    kinds = []
    total = total_cpu = 0.0
    for k, i in first.items():
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_cells(fn, [cells[i]], shared, store=store)[0]
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        kinds.append({"kind": k, "seconds": dt, "cpu_seconds": cpu, "n_cells": counts[k],
                      "total_seconds": dt * counts[k], "error": res.get("error") if is_failure(res) else None})
        total += dt * counts[k]
        total_cpu += cpu * counts[k]
    workers = max(1, min(int(jobs), len(cells)))
    return {"n_cells": len(cells), "kinds": kinds, "cell_seconds": total, "cell_cpu_seconds": total_cpu,
            "jobs": int(jobs), "estimated_wall_seconds": total / workers,
            "estimated_idle_seconds": total_cpu / workers}


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def format_estimate(est: dict[str, Any], what: str = "grid") -> str:
    lines = [f"estimate of the {what}: one cell of each kind timed (seed 0, fold 0), {est['n_cells']} cells in all"]
    for k in est["kinds"]:
        err = f"  FAILED: {k['error']}" if k["error"] else ""
        lines.append(f"  {k['kind']:<28} {k['seconds']:8.1f} s (cpu {k['cpu_seconds']:7.1f} s) × {k['n_cells']:>3} "
                     f"cells = {_hms(k['total_seconds'])}{err}")
    lines.append(f"with {est['jobs']} job(s): about {_hms(est['estimated_wall_seconds'])} at this machine's present "
                 f"load, {_hms(est['estimated_idle_seconds'])} on idle cores (cell time {_hms(est['cell_seconds'])}, "
                 f"cpu {_hms(est['cell_cpu_seconds'])})")
    return "\n".join(lines)


__all__ = ["estimate_cells", "format_estimate"]
