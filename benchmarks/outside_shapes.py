"""Synthetic stand-ins for the outside spectral sets of issue 16 (robustness audit, session 18).

Gaussian-peak spectra on a sloped, curved baseline with noise, one peak pattern per class (shared
peaks, class-specific heights and one class-specific shoulder), a patient / batch group column and
a per-group intensity scale. Nothing is read from the development data.

    python benchmarks/outside_shapes.py --out DIR

writes to DIR:

* ``ftir230.csv`` / ``.xlsx`` / ``.npz``: 230 points on a DESCENDING wavenumber axis 4000..650 cm-1
  (header row of numbers), classes a/b/c with 40/40/12 spectra, column ``group`` (8 groups);
* ``ftir230_holdout.csv``: the same kind, other draws and groups, 20/20/6 spectra; and variants of it:
  ``hold_asc.csv`` (the same spectra written in ascending wavenumber order), ``hold_shift.csv`` (axis
  +7 cm-1, half a point spacing), ``hold_noc.csv`` (class c left out), ``hold_extra.csv`` (6 spectra
  relabelled ``zz``, a class the training data lack);
* ``raman1000.csv``: 1000 points ascending 400..1800 cm-1, 3 classes x 700 spectra (2100), groups;
* ``tiny.csv``: 230 points descending, classes with 40/40/3 spectra (a class of 3);
* ``few200.csv``: 200 points, no axis header (point indices), 3 classes x 40.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def spectra(axis: np.ndarray, counts: dict[str, int], seed: int, n_groups: int = 8):
    """Peak spectra: ``(X (n, d), y (n,) str, groups (n,) int)``."""
    rng = np.random.default_rng(seed)
    lo, hi = float(axis.min()), float(axis.max())
    span = hi - lo
    centres = lo + span * np.array([0.12, 0.3, 0.45, 0.62, 0.8])
    width = span * 0.02
    X, y, g = [], [], []
    for k, (label, n) in enumerate(counts.items()):
        heights = 1.0 + 0.3 * np.sin(np.arange(5) * (k + 1))
        shoulder = lo + span * (0.2 + 0.25 * k)
        for i in range(n):
            grp = i % n_groups
            h = heights * (1 + 0.1 * rng.standard_normal(5))
            s = sum(hj * np.exp(-0.5 * ((axis - c - rng.normal(0, width * 0.1)) / width) ** 2)
                    for hj, c in zip(h, centres, strict=True))
            s = s + 0.4 * np.exp(-0.5 * ((axis - shoulder) / width) ** 2)
            t = (axis - lo) / span
            base = rng.normal(0.3, 0.05) + rng.normal(0.2, 0.1) * t + rng.normal(0.1, 0.05) * t ** 2
            scale = 1 + 0.15 * (grp - n_groups / 2) / n_groups
            X.append(scale * (s + base) + rng.normal(0, 0.01, len(axis)))
            y.append(label)
            g.append(grp + 100 * k)
    return np.asarray(X), np.asarray(y), np.asarray(g)


def write_csv(path: Path, axis: np.ndarray | None, X, y, g=None) -> None:
    import pandas as pd

    cols = [f"{a:.2f}" for a in axis] if axis is not None else None
    df = pd.DataFrame(X, columns=cols)
    if g is not None:
        df.insert(0, "group", g)
    df.insert(0, "label", y)
    if path.suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        df.to_csv(path, index=False, header=axis is not None, float_format="%.6g")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    ftir = np.linspace(4000, 650, 230)
    X, y, g = spectra(ftir, {"a": 40, "b": 40, "c": 12}, seed=1)
    for suf in (".csv", ".xlsx"):
        write_csv(out / f"ftir230{suf}", ftir, X, y, g)
    np.savez(out / "ftir230.npz", X=X, y=y, groups=g, axis=ftir)
    X, y, g = spectra(ftir, {"a": 20, "b": 20, "c": 6}, seed=5)
    write_csv(out / "ftir230_holdout.csv", ftir, X, y, g + 1000)
    write_csv(out / "hold_asc.csv", ftir[::-1], X[:, ::-1], y, g + 1000)
    write_csv(out / "hold_shift.csv", ftir + 7.0, X, y, g + 1000)
    write_csv(out / "hold_noc.csv", ftir, X[y != "c"], y[y != "c"], g[y != "c"] + 1000)
    write_csv(out / "hold_extra.csv", ftir, X, np.where(np.arange(len(y)) < 6, "zz", y), g + 1000)
    raman = np.linspace(400, 1800, 1000)
    X, y, g = spectra(raman, {"ctrl": 700, "d1": 700, "d2": 700}, seed=2, n_groups=30)
    write_csv(out / "raman1000.csv", raman, X, y, g)
    X, y, g = spectra(ftir, {"a": 40, "b": 40, "c": 3}, seed=3)
    write_csv(out / "tiny.csv", ftir, X, y, g)
    X, y, _ = spectra(np.linspace(0, 1, 200), {"0": 40, "1": 40, "2": 40}, seed=4)
    write_csv(out / "few200.csv", None, X, y)


if __name__ == "__main__":
    main()
