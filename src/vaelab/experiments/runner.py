"""Run a grid of experiment cells: in-process, in local processes, or as Ray tasks.

A *cell* is a picklable dict of parameters (model name, seed, fold, ...). A *cell function*
is a module-level function ``fn(shared, cell) -> dict`` where ``shared`` holds the data every
cell reads (sent once per worker, not once per cell). Each cell seeds everything it uses from
its own parameters and runs torch with one thread, so a cell gives the same numbers whichever
backend or worker runs it, and in whatever order.

A cell that raises is not dropped: its result is ``{"error": "Type: message", "traceback": ...}``
and the experiment reports it (``n_failed`` beside every mean, and a list of failures).

Survival: with a :class:`~vaelab.experiments.grid.CellStore` every result is written (by this,
the driver process) the moment its cell returns, and ``resume=True`` skips the cells already
stored; a worker that dies costs only the cells it was running, which are run again (``retries``).
Progress (cells done / total, failures so far, time left) goes to stderr.

Backends:

``local``  ``jobs=1`` runs the cells in this process, one after the other; ``jobs>1`` uses a
           ``ProcessPoolExecutor`` with the ``spawn`` start method (safe with torch).
``ray``    one Ray task per cell, re-run by Ray when its worker or node dies. ``address=None``
           starts a private local Ray instance (``num_cpus=max(jobs, 2)``) and shuts it down
           afterwards; an already initialised Ray is used as it is; ``address="auto"``,
           ``"host:6379"`` or ``"ray://host:10001"`` joins a running cluster (``ray start``),
           whose workers must have vaelab installed. Ray is an optional dependency
           (``pip install vaelab[ray]``), imported only here.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any

from vaelab.core.errors import InputError
from vaelab.experiments.grid import CellStore, cell_id, fingerprint, normalise

CellFn = Callable[[Any, dict[str, Any]], dict[str, Any]]

BACKENDS = ("local", "ray")

_SHARED: Any = None  # the shared data in a process-pool worker


def is_failure(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result


def failure(exc: BaseException) -> dict[str, str]:
    """The record of a failed cell."""
    msg = " ".join(str(exc).split()) or exc.__class__.__name__
    return {"error": f"{exc.__class__.__name__}: {msg}",
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]}


def execute_cell(fn: CellFn, shared: Any, cell: dict[str, Any]) -> dict[str, Any]:
    """Run one cell with torch limited to one thread; an exception becomes a failure record."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = fn(shared, dict(cell))
        if not isinstance(out, dict):
            raise TypeError(f"cell function returned {type(out).__name__}, not a dict")
        return out
    except Exception as e:  # noqa: BLE001 - every failure is recorded and reported, never dropped
        return failure(e)
    finally:
        torch.set_num_threads(threads)


def _init_worker(shared: Any) -> None:
    global _SHARED
    _SHARED = shared


def _execute_in_worker(fn: CellFn, cell: dict[str, Any]) -> dict[str, Any]:
    return execute_cell(fn, _SHARED, cell)


class _Progress:
    """Cells done / total, failures so far and the time left (tqdm on stderr; off when quiet)."""

    def __init__(self, total: int, done: int, enabled: bool, desc: str):
        import sys

        from tqdm.auto import tqdm

        self.failed = 0
        self.bar = tqdm(total=total, initial=done, desc=desc, unit="cell", disable=not enabled, leave=False,
                        file=sys.stderr, mininterval=0.5, dynamic_ncols=True)

    def update(self, result: dict[str, Any]) -> None:
        if is_failure(result):
            self.failed += 1
            self.bar.set_postfix_str(f"failed {self.failed}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class GridInterrupted(RuntimeError):
    """Raised by the test hook ``VAELAB_GRID_STOP_AFTER=k`` after k cells of a run were stored."""


def _stop_after() -> int | None:
    import os

    v = os.environ.get("VAELAB_GRID_STOP_AFTER")
    return int(v) if v else None


def run_cells(fn: CellFn, cells: Sequence[dict[str, Any]], shared: Any = None, *, jobs: int = 1,
              backend: str = "local", address: str | None = None, progress: bool = False,
              desc: str = "cells", store: CellStore | None = None, resume: bool = False,
              retries: int = 3) -> list[dict[str, Any]]:
    """Run ``fn(shared, cell)`` for every cell; results in the order of ``cells``.

    Every entry is the cell's dict or a failure record (see :func:`is_failure`), normalised
    through JSON (as a stored result reads back). With ``store`` each result is written to it
    as soon as the cell returns; with ``resume`` too, cells whose result is already stored (not
    failed) are read back instead of run. ``retries``: how often Ray re-runs a cell whose
    worker process or node died, with Ray or local processes (a cell that raises is not retried:
    it would raise again). A lost worker costs only the cells it was running.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    jobs = int(jobs)
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    if address is not None and backend != "ray":
        raise InputError("--address is only used with --backend ray")
    cells = [dict(c) for c in cells]
    results: list[dict[str, Any] | None] = [None] * len(cells)
    ids: list[str] = []
    if store is not None:
        fp = fingerprint(shared if isinstance(shared, dict) else {"shared": shared})
        ids = [cell_id(c, fp) for c in cells]
        if resume:
            for i, cid in enumerate(ids):
                results[i] = store.load(cid)
    todo = [i for i, r in enumerate(results) if r is None]
    bar = _Progress(len(cells), len(cells) - len(todo), progress, desc)
    stop = _stop_after()
    count = [0]

    def finished(i: int, result: dict[str, Any]) -> None:
        result = normalise(result)
        if store is not None:
            store.save(ids[i], cells[i], result)
        results[i] = result
        bar.update(result)
        count[0] += 1
        if stop is not None and count[0] >= stop:
            raise GridInterrupted(f"stopped after {count[0]} cell(s) (VAELAB_GRID_STOP_AFTER)")

    try:
        if todo:
            if backend == "ray":
                _run_ray(fn, cells, todo, shared, finished, jobs=jobs, address=address, retries=retries)
            elif jobs == 1 or len(todo) <= 1:
                for i in todo:
                    finished(i, execute_cell(fn, shared, cells[i]))
            else:
                _run_pool(fn, cells, todo, shared, finished, jobs=jobs, retries=retries)
    finally:
        bar.close()
    return [r if r is not None else {"error": "RuntimeError: cell did not run"} for r in results]


Done = Callable[[int, dict[str, Any]], None]


def _run_pool(fn: CellFn, cells: list[dict[str, Any]], todo: list[int], shared: Any, finished: Done, *,
              jobs: int, retries: int = 3) -> None:
    """Local worker processes. A worker that dies (killed, out of memory) breaks the pool: the cells
    that had not returned are run again in a fresh pool, at most ``retries`` times each; finished
    cells are never lost."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    attempts = dict.fromkeys(todo, 0)
    remaining = list(todo)
    while remaining:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(remaining)), mp_context=ctx,
                                   initializer=_init_worker, initargs=(shared,))
        again: list[int] = []
        try:
            futures = {pool.submit(_execute_in_worker, fn, cells[i]): i for i in remaining}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    res = fut.result()
                except BrokenProcessPool as e:
                    attempts[i] += 1
                    if attempts[i] <= retries:
                        again.append(i)
                        continue
                    res = failure(e)
                except Exception as e:  # noqa: BLE001 - recorded as the cell's failure
                    res = failure(e)
                finished(i, res)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        remaining = sorted(again)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs the optional dependency ray: pip install 'vaelab[ray]'") from None
    return ray


def _run_ray(fn: CellFn, cells: list[dict[str, Any]], todo: list[int], shared: Any, finished: Done, *,
             jobs: int, address: str | None, retries: int) -> None:
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        try:
            if address is None:
                ray.init(num_cpus=max(jobs, 2), include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise InputError(f"cannot connect to the Ray cluster at {address}: {' '.join(str(e).split())}") from None
        started = True
    pending: list[Any] = []
    try:
        # max_retries: Ray re-runs a task whose worker process or node died (system failures only)
        task = ray.remote(num_cpus=1, max_retries=int(retries), retry_exceptions=False)(execute_cell)
        shared_ref = ray.put(shared)
        refs = [task.remote(fn, shared_ref, cells[i]) for i in todo]
        index = {ref: i for ref, i in zip(refs, todo, strict=True)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    res = ray.get(ref)
                except Exception as e:  # noqa: BLE001 - retries exhausted: the cell fails, recorded
                    res = failure(e)
                finished(index[ref], res)
    finally:
        if started:
            ray.shutdown()
        else:
            for ref in pending:  # interrupted on a cluster we joined: leave no orphan tasks behind
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001, S110 - best effort
                    pass


__all__ = ["BACKENDS", "GridInterrupted", "execute_cell", "failure", "is_failure", "run_cells"]
