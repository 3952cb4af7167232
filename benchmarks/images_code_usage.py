"""What the code of a ``vaelab-image`` network carries, for one or several saved networks fitted on a textured-shapes
set (``images_sampler_variants.py --models``; e.g. the default and ``--config '{"beta": 0.5}'``). A diagnosis, no
fitting of the network. On FRESH real images of the same process (``make_textured_shapes`` with ``--fresh-seed``, with
their object masks) and on the training images, per network:

* ``kl``: the mean KL of the posterior to N(0, I) per image (nats), and ``active``: the latent dimensions whose
  posterior mean varies over the images by more than 0.01 (Burda et al. 2016's active units);
* ``rmse`` / ``sd``: the RMS difference (pixels) between an image and the decoded mean of its posterior mean, and the
  decoder's mean per-pixel sd there (pixels);
* ``r2 centroid`` / ``r2 area`` (fresh images only): the held-out R^2 of a least-squares map (with intercept) from the
  posterior mean and the one-hot class to the object's mask centroid (row, column) and its area, fitted on the first
  half of the fresh images and scored on the second — how much of the object's position and size the code holds.

    PYTHONPATH=src .venv/bin/python benchmarks/images_code_usage.py --data S.npz --models DIR_A DIR_B

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 18).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_images import make_textured_shapes  # noqa: E402


def held_out_r2(F: np.ndarray, T: np.ndarray) -> float:
    """Mean R^2 over the columns of ``T`` of a least-squares map (with intercept) from ``F``, fitted on the first
    half of the rows and scored on the second."""
    A = np.hstack([F, np.ones((len(F), 1))])
    h = len(F) // 2
    coef, *_ = np.linalg.lstsq(A[:h], T[:h], rcond=None)
    err = ((A[h:] @ coef - T[h:]) ** 2).sum(axis=0)
    return float(np.mean(1.0 - err / ((T[h:] - T[h:].mean(axis=0)) ** 2).sum(axis=0)))


def code_usage(g, X: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """KL, active units, reconstruction RMSE and decoder sd (pixels) of network ``g`` on images ``X`` (n, H, W) of
    labels ``y``; and the posterior means."""
    import torch

    from vaelab.models.base import encode_labels
    from vaelab.models.image.vaelab_image import _batched_decode, _batched_encode

    lo, hi = (float(v) for v in g.extra_["scale"][:2])
    with torch.no_grad():
        c = torch.as_tensor(encode_labels(y, g.classes_), dtype=torch.long)
        u = g._unit(torch.as_tensor(X.reshape(len(X), -1).astype(np.float32)))
        mu, lv = _batched_encode(g.module, u, c)
        mean, dlv = _batched_decode(g.module, mu, c)
        kl = 0.5 * (mu**2 + lv.exp() - 1.0 - lv).sum(dim=1)
        diff = (u.reshape(mean.shape) - mean).double() * (hi - lo)
    return {"kl": float(kl.mean()), "active": int((mu.var(dim=0) > 0.01).sum()),
            "rmse": float(diff.pow(2).mean().sqrt()), "sd": float(torch.exp(0.5 * dlv).double().mean() * (hi - lo))}, \
        mu.double().numpy()


def main() -> None:
    import torch

    from vaelab.models.image.vaelab_image import VaelabImage

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--fresh-seed", type=int, default=111)
    ap.add_argument("--per-class", type=int, default=225)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    K = len(np.unique(y))
    Xf, yf, Mf = make_textured_shapes(args.per_class, K, size=X.shape[1], seed=args.fresh_seed, masks=True)
    rows, cols = np.mgrid[: Mf.shape[1], : Mf.shape[2]]
    area = Mf.sum(axis=(1, 2))
    centroid = np.stack([(Mf * rows).sum(axis=(1, 2)) / area, (Mf * cols).sum(axis=(1, 2)) / area], axis=1)
    order = np.random.default_rng(0).permutation(len(yf))  # halves with every class in both
    out: dict = {}
    for path in args.models:
        g = VaelabImage.load(path)
        train, _ = code_usage(g, X, y)
        fresh, mu = code_usage(g, Xf, yf)
        F = np.hstack([mu, np.eye(K)[yf]])[order]
        fresh.update({"r2 centroid": held_out_r2(F, centroid[order]), "r2 area": held_out_r2(F, area[order, None]),
                      "r2 class only": held_out_r2(np.eye(K)[yf][order], np.hstack([centroid, area[:, None]])[order])})
        out[path] = {"beta": g.config.beta, "train": train, "fresh": fresh}
        print(path, json.dumps(out[path]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
