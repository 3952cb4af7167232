"""Run a grid of experiment cells: in-process, in local processes, or as Ray tasks.

A *cell* is a picklable dict of parameters (model name, seed, fold, ...). A *cell function*
is a module-level function ``fn(shared, cell) -> dict`` where ``shared`` holds the data every
cell reads (sent once per worker, not once per cell). Each cell seeds everything it uses from
its own parameters and runs torch with one thread, so a cell gives the same numbers whichever
backend or worker runs it, and in whatever order.

A cell that raises is not dropped: its result is ``{"error": "Type: message", "traceback": ...}``
and the experiment reports it (``n_failed`` beside every mean, and a list of failures).

Backends:

``local``  ``jobs=1`` runs the cells in this process, one after the other; ``jobs>1`` uses a
           ``ProcessPoolExecutor`` with the ``spawn`` start method (safe with torch).
``ray``    one Ray task per cell. ``address=None`` starts a private local Ray instance
           (``num_cpus=max(jobs, 2)``) and shuts it down afterwards; an already initialised Ray is used as it is; ``address="auto"`` or
           ``"ray://host:10001"`` joins a running cluster, whose workers must have vaelab
           installed. Ray is an optional dependency (``pip install vaelab[ray]``), imported only here.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any

from vaelab.core.errors import InputError

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


def _progress(total: int, enabled: bool, desc: str):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="cell", disable=not enabled, leave=False, file=sys.stderr,
                mininterval=0.5)


def run_cells(fn: CellFn, cells: Sequence[dict[str, Any]], shared: Any = None, *, jobs: int = 1,
              backend: str = "local", address: str | None = None, progress: bool = False,
              desc: str = "cells") -> list[dict[str, Any]]:
    """Run ``fn(shared, cell)`` for every cell; results in the order of ``cells``.

    Every entry is the cell's dict or a failure record (see :func:`is_failure`).
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    jobs = int(jobs)
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    if address is not None and backend != "ray":
        raise InputError("--address is only used with --backend ray")
    cells = [dict(c) for c in cells]
    if backend == "ray":
        return _run_ray(fn, cells, shared, jobs=jobs, address=address, progress=progress, desc=desc)
    if jobs == 1 or len(cells) <= 1:
        out = []
        with _progress(len(cells), progress, desc) as bar:
            for c in cells:
                out.append(execute_cell(fn, shared, c))
                bar.update(1)
        return out
    return _run_pool(fn, cells, shared, jobs=jobs, progress=progress, desc=desc)


def _run_pool(fn: CellFn, cells: list[dict[str, Any]], shared: Any, *, jobs: int, progress: bool,
              desc: str) -> list[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[dict[str, Any] | None] = [None] * len(cells)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(cells)), mp_context=ctx, initializer=_init_worker,
                             initargs=(shared,)) as pool, _progress(len(cells), progress, desc) as bar:
        futures = {pool.submit(_execute_in_worker, fn, c): i for i, c in enumerate(cells)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as e:  # noqa: BLE001 - a crashed worker (BrokenProcessPool) fails its cells
                results[i] = failure(e)
            bar.update(1)
    return [r if r is not None else {"error": "RuntimeError: cell did not run"} for r in results]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs the optional dependency ray: pip install 'vaelab[ray]'") from None
    return ray


def _run_ray(fn: CellFn, cells: list[dict[str, Any]], shared: Any, *, jobs: int, address: str | None,
             progress: bool, desc: str) -> list[dict[str, Any]]:
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        if address is None:
            ray.init(num_cpus=max(jobs, 2), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(execute_cell)
        shared_ref = ray.put(shared)
        refs = [task.remote(fn, shared_ref, c) for c in cells]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[dict[str, Any] | None] = [None] * len(cells)
        pending = list(refs)
        with _progress(len(cells), progress, desc) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        results[index[ref]] = ray.get(ref)
                    except Exception as e:  # noqa: BLE001 - a lost worker or task fails its cell, recorded
                        results[index[ref]] = failure(e)
                    bar.update(1)
        return [r if r is not None else {"error": "RuntimeError: cell did not run"} for r in results]
    finally:
        if started:
            ray.shutdown()


__all__ = ["BACKENDS", "execute_cell", "failure", "is_failure", "run_cells"]
