"""Issue 3 acceptance on the development Raman set: negative controls and evaluation speed.

Data: ``../shared/data/raman_saliva_covid.npz`` (Bertazioli et al., Comput. Biol. Med. 2024;
2501 spectra × 991 points, 101 patients, classes COV+/COV-/CTRL). Not shipped with vaelab.

Patients (not spectra) are split into thirds per class: train / holdout / "synthetic".
Spectra are min–max scaled per spectrum (the seed models' space). Controls:

* real held-out third as "synthetic"       → must raise no flag
* class-mean copies of the training third   → must raise ``collapse`` (``distinguishable`` too is right)
* training third + N(0, 1e-4) noise          → must raise ``memorization``

Then the evaluation of all 2501 real spectra against 2501 "synthetic" spectra is timed.

Run: ``.venv/bin/python benchmarks/evaluate_raman.py [path/to/raman.npz]``

``--speed-inputs DIR [path/to/raman.npz]`` only writes ``DIR/real.npz`` (all spectra, min–max) and
``DIR/synthetic.npz`` (as many per-class PPCA samples, the timed case above) so that the command
itself can be timed: ``vaelab evaluate --real DIR/real.npz --synthetic DIR/synthetic.npz --out ...``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from vaelab.data.dataset import Dataset
from vaelab.data.io import load_data
from vaelab.data.preprocess import Preprocessing
from vaelab.evaluation.suite import evaluate_arrays
from vaelab.metrics.seed import class_mean_copy

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raman_saliva_covid.npz"


def patient_thirds(y: np.ndarray, groups: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for c in sorted(set(y.tolist())):
        pats = np.unique(groups[y == c])
        rng.shuffle(pats)
        for j, chunk in enumerate(np.array_split(pats, 3)):
            parts[j].extend(np.flatnonzero(np.isin(groups, chunk) & (y == c)).tolist())
    return [np.sort(np.asarray(p)) for p in parts]


def ppca_like(X: np.ndarray, y: np.ndarray) -> Dataset:
    """As many per-class PPCA samples as there are real spectra (the timed 2501-vs-2501 case)."""
    from vaelab.models import get_model

    ppca = get_model("ppca").fit(X, y, seed=0)
    Xs, ys = ppca.sample({c: int(np.sum(y == c)) for c in sorted(set(y.tolist()))}, seed=1)
    return Dataset(X=Xs, y=ys)


def write_speed_inputs(out: Path, path: Path) -> None:
    ds = load_data(path)
    X = Preprocessing.from_spec("minmax").fit_transform(ds.X)
    y = np.asarray(ds.y)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "real.npz", X=X, y=y.astype(str), groups=np.asarray(ds.groups).astype(str))  # no pickles
    fake = ppca_like(X, y)
    np.savez(out / "synthetic.npz", X=fake.X, y=np.asarray(fake.y).astype(str))
    print(f"wrote {out}/real.npz ({X.shape[0]} × {X.shape[1]}) and {out}/synthetic.npz ({fake.X.shape[0]})")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--speed-inputs":
        write_speed_inputs(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT)
        return
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    ds = load_data(path)
    X = Preprocessing.from_spec("minmax").fit_transform(ds.X)
    y, g = np.asarray(ds.y), np.asarray(ds.groups)
    tr, ho, sy = patient_thirds(y, g)
    assert not (set(g[tr]) & set(g[ho]) or set(g[tr]) & set(g[sy]) or set(g[ho]) & set(g[sy]))
    train = Dataset(X=X[tr], y=y[tr], groups=g[tr])
    holdout = Dataset(X=X[ho], y=y[ho], groups=g[ho])
    print(f"data: {path.name}: {ds.n} spectra × {X.shape[1]}, {len(set(g))} patients; "
          f"thirds by patient: train {len(tr)}, holdout {len(ho)}, third part {len(sy)}")

    means, labels = class_mean_copy(train.X, train.y)
    reps = np.concatenate([np.full(int(np.sum(train.y == lab)), i) for i, lab in enumerate(labels)])
    rng = np.random.default_rng(1)
    controls = {
        "real held-out third": Dataset(X=X[sy], y=y[sy], groups=g[sy]),
        "class-mean copy": Dataset(X=means[reps], y=labels[reps]),
        "train copy + 1e-4 noise": Dataset(X=train.X + rng.normal(0, 1e-4, train.X.shape), y=train.y),
    }
    expected = {"real held-out third": set(), "class-mean copy": {"collapse"},
                "train copy + 1e-4 noise": {"memorization"}}
    print()
    print(f"{'control':<26}{'C2ST':>7}{'min spread':>11}{'DCR':>7}{'TSTR':>7}{'TRTR':>7}{'time s':>8}   flags raised"
          "   (expected)")
    ok = True
    for name, fake in controls.items():
        t = time.perf_counter()
        r = evaluate_arrays(train, fake, holdout=holdout, seed=0)
        dt = time.perf_counter() - t
        raised = {k for k, v in r["flags"].items() if v["raised"]}
        # the real third must raise nothing; each bad control must raise (at least) its flag
        ok &= raised == expected[name] if not expected[name] else expected[name] <= raised
        print(f"{name:<26}{r['c2st_auc']:>7.3f}{min(r['diversity'].values()):>11.3f}{r['dcr_ratio']:>7.3f}"
              f"{r['tstr']:>7.3f}{r['trtr']:>7.3f}{dt:>8.1f}   {sorted(raised) or '-'}   ({sorted(expected[name]) or '-'})")
    print(f"\nall controls as expected: {ok}")

    # speed: the whole data set against a same-size synthetic set (per-class PPCA samples)
    real = Dataset(X=X, y=y, groups=g)
    fake = ppca_like(X, y)
    t = time.perf_counter()
    evaluate_arrays(real, fake, seed=0)
    t_all = time.perf_counter() - t
    t = time.perf_counter()
    evaluate_arrays(train, controls["real held-out third"], holdout=holdout, seed=0)
    t_thirds = time.perf_counter() - t
    print(f"\nfull evaluation, 2501 real vs 2501 PPCA samples × 991 (no holdout): {t_all:.1f} s")
    print(f"full evaluation, thirds ({len(tr)} train + {len(sy)} synthetic + {len(ho)} holdout = {ds.n} spectra): "
          f"{t_thirds:.1f} s")


if __name__ == "__main__":
    main()
