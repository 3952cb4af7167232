"""Sampling variants of ONE ``vaelab-image`` fit, written into the cache of ``images_tstr.py``.

Fits ``vaelab-image`` (default settings, ``--gen-seed``) on the fitting part of an ``images_tstr.py``
train-only split (``--eval val | group | hist | pca | feat``; never the test split) and writes, under the names
``images_tstr.py --cache DIR`` reads (generator seed suffix ``_SEED``):

* ``vaelab-image`` — the default samples (identical to what ``images_tstr.py`` itself would fit and draw);
* ``vaelab-image_noise-none`` — the decoder mean only (smooth samples, as the MLP VAEs draw);
* ``vaelab-image_t-0.7`` — latent codes pulled towards their class's mean, ``centre + 0.7 (z - centre)``.

The variants share the network and the calibrated kernel, so their differences are due to sampling.
Then ``images_tstr.py --eval E --models vaelab-image,vaelab-image_noise-none,vaelab-image_t-0.7 --cache DIR``
scores them. Results: ``benchmarks/RESULTS.md`` (images, issue 11, fourth session).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA  # noqa: E402
from images_tstr import _split_cluster, _split_group, _split_val  # noqa: E402
from images_tstr_diag import temper  # noqa: E402


def main() -> None:
    import torch

    from vaelab.models import get_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", choices=("val", "group", "hist", "pca", "feat"), default="val")
    ap.add_argument("--gen-seed", type=int, default=0)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--cache", default="/tmp/images_tstr")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    split = {"val": lambda: _split_val(y), "group": lambda: _split_group(X, y)}.get(
        args.eval, lambda: _split_cluster(X, y, args.eval))
    fi, ev = split()
    counts = {int(k): int(v) for k, v in zip(*np.unique(y[ev], return_counts=True), strict=True)}
    cache = Path(args.cache) / args.eval
    cache.mkdir(parents=True, exist_ok=True)
    seed = args.gen_seed
    g = get_model("vaelab-image")
    g.progress = False
    c0 = time.process_time()
    g.fit(X[fi], y[fi], seed=seed)
    cpu = time.process_time() - c0

    def save(tag: str) -> None:
        Xs, ys = g.sample(counts, seed=seed + 1)
        Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).astype(np.uint8).reshape(len(Xs), *X.shape[1:])
        np.savez(cache / f"{tag}_{seed}.npz", X=Xs, y=np.asarray(ys).astype(np.int64), cpu_s=cpu)

    save("vaelab-image")
    g.config.noise = "none"
    save("vaelab-image_noise-none")
    g.config.noise = "texture"
    temper(g, 0.7)
    save("vaelab-image_t-0.7")
    print(f"fit cpu s {cpu:.0f}; wrote {cache}")


if __name__ == "__main__":
    main()
