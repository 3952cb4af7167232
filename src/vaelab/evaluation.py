"""Evaluate synthetic data against real data: numbers (metrics.json), a table and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_dir, write_text
from .data.dataset import Dataset
from .errors import InputError
from .metrics.seed import METRIC_NAMES, seed_metrics, seed_references


def _keys(y: np.ndarray) -> set[str]:
    return {str(v) for v in np.asarray(y, dtype=object).tolist()}


def check_compatible(real: Dataset, synthetic: Dataset, what: str = "synthetic data") -> None:
    if real.feature_shape != synthetic.feature_shape:
        raise InputError(f"{what} have {synthetic.feature_shape} features per sample, the real data {real.feature_shape}")
    if not _keys(real.y) & _keys(synthetic.y):
        raise InputError(f"{what} share no class with the real data (real: {sorted(_keys(real.y))[:5]}, "
                         f"{what}: {sorted(_keys(synthetic.y))[:5]})")


def evaluate_arrays(real: Dataset, synthetic: Dataset, *, holdout: Dataset | None = None, seed: int = 0) -> dict[str, Any]:
    """All metrics for ``synthetic`` against ``real`` (both already in the same space)."""
    check_compatible(real, synthetic)
    if holdout is not None:
        check_compatible(real, holdout, "holdout data")
    result: dict[str, Any] = {
        "n_real": real.n,
        "n_synthetic": synthetic.n,
        "n_holdout": None if holdout is None else holdout.n,
        "seed": seed,
        "seed_metrics": seed_metrics(real.X, real.y, synthetic.X, synthetic.y, seed=seed),
        "references": seed_references(real.X, real.y, real.groups, seed=seed),
    }
    return result


def seed_table(result: dict[str, Any]) -> str:
    """The seed metrics with their two reference rows, as an aligned text table."""
    rows = [("synthetic", result["seed_metrics"])]
    rows += [(name.replace("_", " "), vals) for name, vals in result["references"].items()]
    head = f"{'':<18}" + "".join(f"{m:>15}" for m in ("cosine ↑", "MSE ↓", "Pearson ↑", "Wasserstein ↓"))
    lines = [head]
    for name, vals in rows:
        lines.append(f"{name:<18}" + "".join(f"{vals[m]:>15.5g}" for m in METRIC_NAMES))
    return "\n".join(lines)


def format_report(result: dict[str, Any]) -> str:
    return "Seed-report metrics (same class, all pairs; references: real half vs half, class-mean copy)\n" + seed_table(result)


def seed_table_csv(result: dict[str, Any]) -> str:
    lines = ["row," + ",".join(METRIC_NAMES)]
    rows = [("synthetic", result["seed_metrics"])] + list(result["references"].items())
    for name, vals in rows:
        lines.append(name + "," + ",".join(repr(float(vals[m])) for m in METRIC_NAMES))
    return "\n".join(lines) + "\n"


def write_report(result: dict[str, Any], real: Dataset, synthetic: Dataset, out: str | Path, *,
                 axis: np.ndarray | None = None) -> Path:
    """Write ``metrics.json``, ``metrics.csv``, ``report.txt`` and the figures into ``out`` (atomic)."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        write_report_files(result, real, synthetic, tmp, axis=axis)
    return out


def write_report_files(result: dict[str, Any], real: Dataset, synthetic: Dataset, tmp: Path, *,
                       axis: np.ndarray | None = None) -> None:
    """The files of :func:`write_report`, written into an existing folder."""
    from .plots import real_vs_synthetic

    write_text(tmp / "metrics.json", json.dumps(_jsonable(result), indent=1, allow_nan=True) + "\n")
    write_text(tmp / "metrics.csv", seed_table_csv(result))
    write_text(tmp / "report.txt", format_report(result) + "\n")
    ax = axis if axis is not None else real.axis
    real_vs_synthetic(real.X, real.y, synthetic.X, synthetic.y, tmp / "real_vs_synthetic.png", axis=ax,
                      axis_label="spectral axis" if ax is not None else "feature index",
                      title="real (grey) vs synthetic (colour)")


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def evaluate_files(real: str | Path, synthetic: str | Path, *, out: str | Path, holdout: str | Path | None = None,
                   run: str | Path | None = None, seed: int = 0, label_column: str | int | None = None,
                   group_column: str | int | None = None) -> dict[str, Any]:
    """``vaelab evaluate``: load the files, bring the real ones into model space, compute, write."""
    from .data.io import load_data
    from .runs import load_run

    real_ds = load_data(real, label_column=label_column, group_column=group_column)
    synth_ds = load_data(synthetic)
    hold_ds = load_data(holdout, label_column=label_column, group_column=group_column) if holdout else None
    axis = real_ds.axis
    if run is not None:
        r = load_run(run)
        real_ds = _with_X(real_ds, r.to_model_space(real_ds, "the real data"))
        if hold_ds is not None:
            hold_ds = _with_X(hold_ds, r.to_model_space(hold_ds, "the holdout data"))
        if synth_ds.feature_shape != r.feature_shape:
            raise InputError(f"the synthetic data have {synth_ds.feature_shape} features per sample, "
                             f"the run was trained on {r.feature_shape}")
        axis = r.axis if r.axis is not None else axis
    result = evaluate_arrays(real_ds, synth_ds, holdout=hold_ds, seed=seed)
    write_report(result, real_ds, synth_ds, out, axis=axis)
    return result


def _with_X(ds: Dataset, X: np.ndarray) -> Dataset:
    from dataclasses import replace

    return replace(ds, X=X)
