"""The TRTR CNN with and without ``restarts`` over many classifier seeds (issue 11, session 15, second helper).

Trains :class:`vaelab.modalities.image.cnn.SmallCNNClassifier` on the real training images of an npz set (MedMNIST
layout) with TRTR's budget (:func:`vaelab.evaluation.image.cnn_steps`, the R1 budget of ``images_tstr.py
--clf-budget trtr``) once with ``restarts=0`` (the code before session 15) and once with ``restarts=2`` (what
``cnn_scores`` now passes), per classifier seed; prints the test ROC AUC of each, the training cross-entropy of the
plain CNN over the chance level (entropy of the training labels; the guard retrains at >= 0.9), the attempts and
whether the two CNNs' test probabilities are byte-identical, e.g.

    PYTHONPATH=src .venv/bin/python benchmarks/images_cnn_restarts.py --data /tmp/shapes_s47.npz --seeds 0-39
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    import torch

    from vaelab.evaluation.image import _roc_auc, cnn_steps
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", default="0-39", help="first-last classifier seeds")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    Xf, yf = d["train_images"], d["train_labels"].ravel().astype(str)
    Xe, ye = d["test_images"], d["test_labels"].ravel().astype(str)
    rows_f = Xf.reshape(len(Xf), -1).astype(np.float64)
    rows_e = Xe.reshape(len(Xe), -1).astype(np.float64)
    freq = np.unique(yf, return_counts=True)[1] / len(yf)
    chance = float(-np.sum(freq * np.log(freq)))
    steps = cnn_steps(len(yf))
    first, last = (int(v) for v in args.seeds.split("-"))
    print(f"{len(yf)} training images, {steps} steps; chance cross-entropy {chance:.3f}")
    print("| clf seed | AUC plain | train CE / chance (plain) | attempts | AUC restarts=2 | identical |")
    print("|---|---|---|---|---|---|")
    for s in range(first, last + 1):
        fits = [SmallCNNClassifier(image_shape=Xf.shape[1:], random_state=s, steps=steps, restarts=r).fit(rows_f, yf)
                for r in (0, 2)]
        pe = [c.predict_proba(rows_e) for c in fits]
        p_tr = fits[0].predict_proba(rows_f)[np.arange(len(yf)), np.searchsorted(fits[0].classes_, yf)]
        ce = float(-np.mean(np.log(p_tr)))
        print(f"| {s} | {_roc_auc(ye, pe[0], fits[0].classes_):.3f} | {ce / chance:.3f} | {fits[1].attempts_} | "
              f"{_roc_auc(ye, pe[1], fits[1].classes_):.3f} | {np.array_equal(pe[0], pe[1])} |", flush=True)


if __name__ == "__main__":
    main()
