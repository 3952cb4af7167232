"""Pieces shared by the ablation and the augmentation study: fold data, generators, data summary."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir, write_text
from vaelab.core.errors import InputError
from vaelab.core.jsonable import jsonable
from vaelab.core.labels import labels_to_json, unique_labels
from vaelab.data.dataset import Dataset, data_summary
from vaelab.data.preprocess import Preprocessing
from vaelab.data.sample import SampleSpec
from vaelab.experiments.splits import cell_seed, fold_splits, label_keys


def parse_names(spec: str | list[str] | tuple[str, ...], what: str = "model") -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> checked list of registered model names (order kept)."""
    from vaelab.models import REGISTRY, available

    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    names = [n for n in names if n]
    if not names:
        raise InputError(f"no {what} given")
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise InputError(f"unknown {what}(s) {unknown}; choose from {', '.join(available())}")
    if len(set(names)) != len(names):
        raise InputError(f"{what} listed twice in {names}")
    return names


def model_overrides(name: str, epochs: int | None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Config overrides for model ``name``: ``config`` plus ``epochs`` where the model has that option."""
    from vaelab.models import REGISTRY

    out = dict(config or {})
    if epochs is not None:
        if int(epochs) < 1:
            raise InputError(f"--epochs must be at least 1, got {epochs}")
        cfg_cls = getattr(REGISTRY[name], "Config", None)
        fields = getattr(cfg_cls, "__dataclass_fields__", {})
        if "epochs" in fields:
            out["epochs"] = int(epochs)
    return out


def build_generator(name: str, overrides: dict[str, Any]) -> Any:
    """A fresh generator with progress bars off (cells run unattended)."""
    from vaelab.models import get_model

    gen = get_model(name, **overrides)
    if hasattr(gen, "progress"):
        gen.progress = False
    return gen


def choose_preprocess(names: list[str], preprocess: str | None, sample: SampleSpec | None = None) -> str:
    """One preprocessing for every model of an experiment, so all metrics live in one space.

    Given: that one. Otherwise the first model's default, unless a later model needs data in
    [0, 1] (a sigmoid/BCE model such as the seed CVAE): then that model's default. With
    ``sample``, a step that does not apply to that kind of data is refused.
    """
    from vaelab.models import DEFAULT_PREPROCESS, REGISTRY

    if preprocess:
        pre = Preprocessing.from_spec(preprocess)  # validates the names
        if sample is not None:
            pre.check(sample)
        return preprocess
    chosen = DEFAULT_PREPROCESS.get(names[0], "none")
    for n in names:
        if getattr(REGISTRY[n], "needs_unit_interval", False):
            return DEFAULT_PREPROCESS.get(n, "minmax")
    return chosen


def make_splits(ds: Dataset, *, folds: int, seeds: int) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """``{seed: [(train_idx, test_idx), ...]}`` for seeds ``0 .. seeds-1`` (group-aware)."""
    if int(seeds) < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    return {s: fold_splits(ds.y, ds.groups, folds=folds, seed=s) for s in range(int(seeds))}


def shared_data(ds: Dataset, splits: dict[int, list], preprocess: str) -> dict[str, Any]:
    """What every cell reads: the raw arrays, the splits and the preprocessing spec, and their fingerprint."""
    from vaelab.experiments.grid import fingerprint

    shared = {"X": np.asarray(ds.X, dtype=np.float64), "y": np.asarray(ds.y), "groups": ds.groups,
              "splits": splits, "preprocess": preprocess, "axis": ds.axis}
    shared["fingerprint"] = fingerprint(shared)
    return shared


_FOLD_CACHE: dict[tuple, dict[str, Any]] = {}  # the last few folds prepared in this process


def fold_data(shared: dict[str, Any], seed: int, fold: int) -> dict[str, Any]:
    """Train/test arrays of one fold in model space; preprocessing fitted on the training part only.

    The preprocessed fold is kept per process (the last 2), so the cells of one fold that run in
    the same process (baseline, model, classical augmentations) preprocess it once; every caller
    gets its own copies of the arrays.
    """
    key = (shared.get("fingerprint"), int(seed), int(fold))
    d = _FOLD_CACHE.get(key) if key[0] is not None else None
    if d is None:
        d = _prepare_fold(shared, seed, fold)
        if key[0] is not None:
            while len(_FOLD_CACHE) >= 2:
                _FOLD_CACHE.pop(next(iter(_FOLD_CACHE)))
            _FOLD_CACHE[key] = d
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def start_cell(shared: dict[str, Any], cell: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Seed Python, numpy and torch from ``cell_seed(seed, fold)`` of a study cell and return that seed
    with the cell's fold (:func:`fold_data`), so every cell of every study starts the same way."""
    import random

    import torch

    cs = cell_seed(int(cell["seed"]), int(cell["fold"]))
    random.seed(cs)
    np.random.seed(cs)
    torch.manual_seed(cs)
    return cs, fold_data(shared, int(cell["seed"]), int(cell["fold"]))


def _prepare_fold(shared: dict[str, Any], seed: int, fold: int) -> dict[str, Any]:
    tr, te = shared["splits"][seed][fold]
    X, y = shared["X"], shared["y"]
    pre = Preprocessing.from_spec(shared["preprocess"])
    Xtr = pre.fit_transform(X[tr], shared.get("axis"))
    Xte = pre.transform(X[te])
    if not (np.all(np.isfinite(Xtr)) and np.all(np.isfinite(Xte))):
        raise InputError(f"preprocessing {pre.spec!r} produced NaN/inf values on fold {fold}")
    groups = shared.get("groups")
    return {"X_train": Xtr, "y_train": y[tr], "X_test": Xte, "y_test": y[te],
            "groups_train": None if groups is None else np.asarray(groups)[tr],
            "groups_test": None if groups is None else np.asarray(groups)[te]}


def class_counts(y: np.ndarray) -> dict[Any, int]:
    """``{label: count}`` in sorted class order with the labels' own type (int or str)."""
    classes = unique_labels(y)
    keys = label_keys(y)
    return {lab: int(np.sum(keys == str(lab))) for lab in labels_to_json(classes)}


def scaled_counts(counts: dict[Any, int], factor: float) -> dict[Any, int]:
    """``round(factor × n)`` per class (halves round up)."""
    return {k: int(math.floor(factor * n + 0.5)) for k, n in counts.items()}


__all__ = ["build_generator", "choose_preprocess", "class_counts", "data_summary", "fold_data", "jsonable",
           "make_splits", "model_overrides", "parse_names", "scaled_counts", "shared_data"]


def write_result_folder(out: str | Path, stem: str, result: dict[str, Any], csv_text: str, table: str,
                        plot: Callable[[dict[str, Any], Path], Any]) -> Path:
    """``STEM.json``, ``STEM.csv``, ``STEM.txt``, ``STEM.png`` (drawn by ``plot``) and ``report.html`` into ``out``,
    atomically; the grid's finished cells (``out/cells/``) stay."""
    from vaelab.experiments.grid import CELLS_DIR
    from vaelab.reporting.report import write_report_html

    out = Path(out)
    with atomic_dir(out, keep=(CELLS_DIR,)) as tmp:  # the grid's finished cells stay (for --resume)
        write_text(tmp / f"{stem}.json", json.dumps(result, indent=1) + "\n")
        write_text(tmp / f"{stem}.csv", csv_text)
        write_text(tmp / f"{stem}.txt", table + "\n")
        plot(result, tmp / f"{stem}.png")
        write_report_html(tmp, name=out)
    return out
