"""Sampling variants of ONE ``vaelab-image`` fit, written into the cache of ``images_tstr.py``.

Fits ``vaelab-image`` (default settings, ``--gen-seed``) on the fitting part of an ``images_tstr.py``
train-only split (``--eval val | group | hist | pca | feat``; never the test split) and writes, under the names
``images_tstr.py --cache DIR`` reads (generator seed suffix ``_SEED``):

* ``vaelab-image`` — the default samples (identical to what ``images_tstr.py`` itself would fit and draw);
* ``vaelab-image_noise-none`` — the decoder mean only (smooth samples, as the MLP VAEs draw);
* ``vaelab-image_t-0.7`` — latent codes pulled towards their class's mean, ``centre + 0.7 (z - centre)``.

The variants share the network and the calibrated kernel, so their differences are due to sampling.

``--config '{"lr_schedule": "cosine"}' --tag NAME`` instead fits ``vaelab-image`` with those options and
writes only its default samples, as ``NAME_SEED.npz``; every run also writes ``NAME_SEED_elbo.json``: the
held-out negative ELBO per image (nats, the network in eval mode, fixed noise) of the evaluation images
(a train-only split) — how well the fitted network models images it did not see.
Then ``images_tstr.py --eval E --models vaelab-image,vaelab-image_noise-none,vaelab-image_t-0.7 --cache DIR``
scores them. Results: ``benchmarks/RESULTS.md`` (images, issue 11, fourth session).
"""

from __future__ import annotations

import argparse
import json
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
    ap.add_argument("--config", default="{}", help="vaelab-image options as a JSON object")
    ap.add_argument("--tag", default="vaelab-image", help="cache name of the samples (with --config)")
    args = ap.parse_args()
    options = json.loads(args.config)
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
    g = get_model("vaelab-image", **options)
    g.progress = False
    c0 = time.process_time()
    g.fit(X[fi], y[fi], seed=seed)
    cpu = time.process_time() - c0
    nelbo = heldout_nelbo(g, X[ev], y[ev])
    (cache / f"{args.tag}_{seed}_elbo.json").write_text(json.dumps(
        {"config": options, "heldout_nelbo": nelbo, "fit_cpu_s": cpu, "epochs": len(g.history_)}))

    def save(tag: str) -> None:
        Xs, ys = g.sample(counts, seed=seed + 1)
        Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).astype(np.uint8).reshape(len(Xs), *X.shape[1:])
        np.savez(cache / f"{tag}_{seed}.npz", X=Xs, y=np.asarray(ys).astype(np.int64), cpu_s=cpu)

    save(args.tag)
    if options or args.tag != "vaelab-image":
        print(f"fit cpu s {cpu:.0f}; held-out -ELBO {nelbo:.2f}; wrote {cache}")
        return
    g.config.noise = "none"
    save("vaelab-image_noise-none")
    g.config.noise = "texture"
    temper(g, 0.7)
    save("vaelab-image_t-0.7")
    print(f"fit cpu s {cpu:.0f}; held-out -ELBO {nelbo:.2f}; wrote {cache}")


def heldout_nelbo(g, X: np.ndarray, y: np.ndarray) -> float:
    """Negative ELBO per image (nats) of images ``X`` (n, H, W) of classes ``y`` under the fitted ``g``."""
    import torch

    from vaelab.core.labels import encode_labels

    g.module.eval()
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
        c = torch.as_tensor(encode_labels(np.asarray(y), g.classes_), dtype=torch.long)
        # in eval mode the loss is the full negative ELBO (KL weight 1, fixed noise), in the saved pixel scale
        total = sum(float(g.loss(g.module, x[i:i + 256], c[i:i + 256], 10**6)["loss"]) for i in range(0, len(x), 256))
    return total / len(X)


if __name__ == "__main__":
    main()
