"""The augmentation study's ``cnn`` with and without its chance-plateau guard (issue 11, session 16, third helper).

Runs the study (:func:`vaelab.experiments.augment.run_augment`: model ``noise``, factors 0 and 1, classifier ``cnn``
only, no classical augmentations) twice on one image set, once with ``CNN_RESTARTS = 0`` (the study before the guard,
still its default) and once with ``CNN_RESTARTS = 2`` (``restarts`` of
:class:`~vaelab.modalities.image.cnn.SmallCNNClassifier`, as the image TSTR/TRTR), and records every CNN fit of both runs in the same order: the plain network's training cross-entropy
over the chance level (entropy of the training labels; the guard retrains at >= 0.9), the networks trained, whether
the two runs' test-fold probabilities are byte-identical (sha256), and the CPU seconds of the fits. Sets:

``digits``         scikit-learn's 8x8 digits (1797, uint8 0..16, as ``digits_npz.py``)
``digits-random``  the same images with their labels permuted (``default_rng(16)``): the study's leak check, nothing
                   can be learnt, the cross-validated balanced accuracy must stay at 1/10
``shapes``         ``make_textured_shapes(n_per_class=--per-class, seed=1601)`` (raw uint8, 4 classes; default 100)

e.g. (from the repository root)

    PYTHONPATH=src .venv/bin/python benchmarks/images_study_cnn_guard.py --set digits --folds 5 --seeds 2

``--loss-pass`` instead times the guard's only added work on a CNN it keeps, one forward pass over the training rows,
against the fit (the study's ``cnn`` with ``cnn_restarts=0``, 180 steps) on 720 rows of the set and on the same rows
twice (1,440: the rows of factor 1, the steps unchanged), 3 classifier seeds each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def load_set(name: str, per_class: int = 100) -> tuple[np.ndarray, np.ndarray]:
    if name in ("digits", "digits-random"):
        from vaelab.modalities.image.demo import digits

        d = digits()
        X, y = d.X.astype(np.uint8), np.asarray(d.y, dtype=np.int64)
        if name == "digits-random":
            y = np.random.default_rng(16).permutation(y)
        return X, y
    if name == "shapes":
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from synthetic_images import make_textured_shapes

        return make_textured_shapes(n_per_class=per_class, seed=1601)
    raise SystemExit(f"unknown set {name!r}")


def loss_over_chance(clf, X: np.ndarray, y: np.ndarray) -> float:
    """A fitted SmallCNNClassifier's mean cross-entropy on (X, y) over the entropy of y (the guard retrains at 0.9)."""
    import torch

    codes = np.unique(np.asarray(y), return_inverse=True)[1].reshape(-1)
    freq = np.bincount(codes) / len(codes)
    chance = float(-np.sum(freq * np.log(freq)))
    return clf._loss(clf.inputs(X), torch.as_tensor(codes, dtype=torch.long)) / chance


@contextmanager
def recorded_cnn_fits(fields):
    """Within the block, every ``SmallCNNClassifier`` fit appends a record to the yielded list: ``fields(clf, X, y)``
    (called after the fit), its CPU s, and the sha256 of the probabilities of its first prediction after the fit (the
    rows it is scored on). The class's methods are restored on exit."""
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    fits: list[dict] = []
    fit0, proba0 = SmallCNNClassifier.fit, SmallCNNClassifier.predict_proba

    def fit(self, Xf, yf):
        t0 = time.process_time()
        out = fit0(self, Xf, yf)
        cpu = time.process_time() - t0
        fits.append({**fields(self, Xf, yf), "cpu": cpu})
        return out

    def predict_proba(self, Xt):
        p = proba0(self, Xt)
        if "sha" not in fits[-1]:  # the first call after a fit: the rows it is scored on
            fits[-1]["sha"] = hashlib.sha256(np.ascontiguousarray(p).tobytes()).hexdigest()[:16]
        return p

    SmallCNNClassifier.fit, SmallCNNClassifier.predict_proba = fit, predict_proba
    try:
        yield fits
    finally:
        SmallCNNClassifier.fit, SmallCNNClassifier.predict_proba = fit0, proba0


def run(X: np.ndarray, y: np.ndarray, restarts: int, folds: int, seeds: int) -> tuple[list[dict], dict]:
    """One study with ``CNN_RESTARTS = restarts``: (one record per CNN fit, in order; the study's cnn means)."""
    import vaelab.experiments.augment as aug
    from vaelab.data.dataset import Dataset

    def fields(clf, Xf, yf) -> dict:
        return {"n": len(Xf), "attempts": clf.attempts_, "loss_over_chance": loss_over_chance(clf, Xf, yf)}

    old = aug.CNN_RESTARTS
    aug.CNN_RESTARTS = restarts
    try:
        with recorded_cnn_fits(fields) as fits:
            r = aug.run_augment(Dataset(X=X, y=y), model="noise", factors="0,1", classifiers="cnn", folds=folds,
                                seeds=seeds, classical="none")
    finally:
        aug.CNN_RESTARTS = old
    means = {f: {m: r["results"][f]["cnn"][m]["mean"] for m in ("balanced_accuracy", "roc_auc")} for f in ("0", "1")}
    return fits, means


def loss_pass(X: np.ndarray, y: np.ndarray) -> None:
    """Print the CPU seconds of a study CNN's fit and of the guard's loss pass over its training rows."""
    import torch

    from vaelab.experiments.classifiers import make_classifier
    from vaelab.modalities.image.cnn import rows_to_images

    rows, labels = X.reshape(len(X), -1).astype(np.float64), np.asarray(y).astype(str)
    idx = np.random.default_rng(0).permutation(len(X))[:720]
    for copies in (1, 2):
        R, Y = np.concatenate([rows[idx]] * copies), np.concatenate([labels[idx]] * copies)
        for seed in range(3):
            p = make_classifier("cnn", seed=seed, image_shape=X.shape[1:], cnn_steps=180, cnn_restarts=0)
            t0 = time.process_time()
            p.fit(R, Y)
            fit = time.process_time() - t0
            x = rows_to_images(p[0].transform(R), p[-1].image_shape)
            t = torch.as_tensor(np.unique(Y, return_inverse=True)[1].reshape(-1), dtype=torch.long)
            t0 = time.process_time()
            p[-1]._loss(x, t)
            loss = time.process_time() - t0
            print(f"  {len(R)} rows, seed {seed}: fit {fit:.2f} s, loss pass {loss:.3f} s = {100 * loss / fit:.1f} %")


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True, choices=("digits", "digits-random", "shapes"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--per-class", type=int, default=100, help="images per class of the shapes set")
    ap.add_argument("--json", help="write the records here")
    ap.add_argument("--loss-pass", action="store_true", help="time the guard's loss pass against a fit instead")
    args = ap.parse_args()
    torch.set_num_threads(1)
    X, y = load_set(args.set, args.per_class)
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    warm = np.linspace(0, len(X) - 1, 64).astype(int)
    SmallCNNClassifier(steps=3).fit(X[warm].reshape(64, -1).astype(np.float64), y[warm])  # torch's first-call set-up
    if args.loss_pass:
        loss_pass(X, y)
        return
    off, m_off = run(X, y, 0, args.folds, args.seeds)
    on, m_on = run(X, y, 2, args.folds, args.seeds)
    assert len(off) == len(on)
    same = [a["sha"] == b["sha"] for a, b in zip(off, on, strict=True)]
    kept = [b["attempts"] == 1 for b in on]
    cpu_off, cpu_on = sum(f["cpu"] for f in off), sum(f["cpu"] for f in on)
    cpu_kept = (sum(f["cpu"] for f, k in zip(off, kept, strict=True) if k),
                sum(f["cpu"] for f, k in zip(on, kept, strict=True) if k))
    ratios = np.array([f["loss_over_chance"] for f in off])
    print(f"{args.set}: {len(X)} images, {args.folds} folds x {args.seeds} seeds, {len(on)} CNN fits per run")
    print(f"  plain training loss / chance: min {ratios.min():.3f} median {np.median(ratios):.3f} "
          f"max {ratios.max():.3f}; >= 0.9: {int(np.sum(ratios >= 0.9))}")
    print(f"  guarded: retrained {len(on) - sum(kept)} fits (attempts {sorted({f['attempts'] for f in on})}); "
          f"kept fits byte-identical {sum(s for s, k in zip(same, kept, strict=True) if k)}/{sum(kept)}; "
          f"retrained fits identical {sum(s for s, k in zip(same, kept, strict=True) if not k)}/{len(on) - sum(kept)}")
    print(f"  CNN fit CPU s: off {cpu_off:.1f}, on {cpu_on:.1f} (ratio {cpu_on / cpu_off:.3f}); "
          f"fits kept as they were: {cpu_kept[0]:.1f} -> {cpu_kept[1]:.1f}")
    for f in ("0", "1"):
        print(f"  factor {f}: bacc {m_off[f]['balanced_accuracy']:.4f} -> {m_on[f]['balanced_accuracy']:.4f}, "
              f"AUC {m_off[f]['roc_auc']:.4f} -> {m_on[f]['roc_auc']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"set": args.set, "off": off, "on": on, "means_off": m_off,
                                               "means_on": m_on}, indent=1))


if __name__ == "__main__":
    main()
