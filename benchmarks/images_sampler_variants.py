"""Calibration variants of ONE ``vaelab-image`` fit, written into the cache of ``images_tstr.py`` (paired seeds).

Fits the default ``vaelab-image`` with ``--seed`` on the fitting images of an ``images_tstr.py`` split (``--eval val``:
80 % of the train split; ``--eval test``: the whole train split), saves the network under ``--models DIR`` (or loads it
from there when present), and writes ``vaelab-image_SEED.npz`` — the same images ``images_tstr.py --models
vaelab-image`` would fit and draw (fit seed ``SEED``, sample seed ``SEED + 1``) — and, per ``--variants
'NAME={"texture_draw": "neighbour"}'``, the latent sampler's width re-calibrated with those options on the SAME network,
drawn with the same sample seed, as ``NAME_SEED.npz`` (the second stage — latent sampler, texture, kernel width — is
fitted again with those options, the network unchanged; ``NAME={}`` re-fits the default's, which must reproduce
``vaelab-image_SEED.npz`` byte for byte). Widths and the second stage's CPU time (and
the classes ``texture_draw = "neighbour_guarded"`` guards) go to ``NAME_SEED_h.json``.
``images_tstr.py --models vaelab-image,NAME --cache DIR`` then scores both and prints their paired differences.
Only options of the second stage (texture draw, latent sampler) are accepted: the network stays as it is.
``--config '{"nll_power": 0.5}' --tag n05`` fits the network with those training options instead (saved as
``..._sSEED_n05``, its set ``vaelab-image-n05_SEED.npz``).

    PYTHONPATH=src .venv/bin/python benchmarks/images_sampler_variants.py --data X.npz --eval test --seed 0 \\
        --models /tmp/m --cache /tmp/c --variants 'vaelab-image-nb={"texture_draw": "neighbour"}'

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11).
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
from images_tstr import _split_val  # noqa: E402

SECOND_STAGE_OPTIONS = ("texture_draw", "kde_kernel", "kde_centre", "kde_shrink", "prior")


def splits(data: str, eval_: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fitting images and labels and the evaluation images and labels of ``images_tstr.py --eval eval_``
    (``val``: its split of the train images; ``test``: the whole train split and the test split)."""
    d = np.load(data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    if eval_ == "val":
        fi, ev = _split_val(y)
        return X[fi], y[fi], X[ev], y[ev]
    return X, y, d["test_images"], d["test_labels"].ravel().astype(np.int64)


def fitting_split(data: str, eval_: str) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """The fitting images and labels of ``images_tstr.py --eval eval_`` and the evaluation split's class counts."""
    X, y, _, ye = splits(data, eval_)
    return X, y, {int(k): int(v) for k, v in zip(*np.unique(ye, return_counts=True), strict=True)}


def write_set(g, counts: dict[int, int], seed: int, shape: tuple[int, ...], cpu: float, path: Path) -> None:
    Xs, ys = g.sample(counts, seed=seed + 1)
    Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).astype(np.uint8).reshape(len(Xs), *shape)
    np.savez(path, X=Xs, y=np.asarray(ys).astype(np.int64), cpu_s=cpu)


def main() -> None:
    import torch

    from vaelab.models import get_model
    from vaelab.models.base import encode_labels
    from vaelab.models.image.vaelab_image import VaelabImage

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--eval", choices=("val", "test"), default="val")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", required=True, help="folder of the saved networks (one per data name, eval, seed)")
    ap.add_argument("--cache", default="/tmp/images_tstr")
    ap.add_argument("--variants", default="", help="NAME=JSON options, separated by ' ; '")
    ap.add_argument("--config", default="{}", help="JSON options of the network's fit (with --tag)")
    ap.add_argument("--tag", default="", help="names the network's folder and set when --config is given")
    args = ap.parse_args()
    torch.set_num_threads(1)
    X, y, counts = fitting_split(args.data, args.eval)
    cache = Path(args.cache) / args.eval
    cache.mkdir(parents=True, exist_ok=True)
    config = json.loads(args.config)
    if config and not args.tag:
        raise SystemExit("--config needs --tag (the default network's folder keeps its name)")
    tag = f"_{args.tag}" if args.tag else ""
    folder = Path(args.models) / f"{Path(args.data).stem}_{args.eval}_s{args.seed}{tag}"
    if (folder / "config.json").is_file():
        g = VaelabImage.load(folder)
        cpu = float(json.loads((folder.parent / f"{folder.name}_cpu.json").read_text())["fit_cpu_s"])
    else:
        g = get_model("vaelab-image", **config)
        g.progress = False
        c0 = time.process_time()
        g.fit(X, y, seed=args.seed)
        cpu = time.process_time() - c0
        g.save(folder)
        (folder.parent / f"{folder.name}_cpu.json").write_text(json.dumps({"fit_cpu_s": cpu}))
    default = cache / f"vaelab-image{tag.replace('_', '-')}_{args.seed}.npz"
    if not default.is_file():
        write_set(g, counts, args.seed, X.shape[1:], cpu, default)
    h0 = g.extra_["kde_h"].clone()
    print(f"fit cpu s {cpu:.0f}; default h {[round(v, 2) for v in h0.tolist()]}", flush=True)
    xt = torch.as_tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
    ct = torch.as_tensor(encode_labels(y, g.classes_), dtype=torch.long)
    for item in [v.strip() for v in args.variants.split(" ; ") if v.strip()]:
        name, _, opts = item.partition("=")
        options = json.loads(opts)
        if set(options) - set(SECOND_STAGE_OPTIONS):
            raise SystemExit(f"only {SECOND_STAGE_OPTIONS} leave the network as it is, got {sorted(options)}")
        saved, extra = {k: getattr(g.config, k) for k in options}, g.extra_
        for k, v in options.items():
            setattr(g.config, k, v)
        c0 = time.process_time()
        with torch.no_grad():
            g.fit_second_stage(xt, ct, seed=args.seed)
        cpu2 = time.process_time() - c0
        h = g.extra_["kde_h"].tolist()
        guard = g.extra_["tex_guard"].tolist() if "tex_guard" in g.extra_ else None  # "neighbour_guarded"
        (cache / f"{name}_{args.seed}_h.json").write_text(json.dumps(
            {"options": options, "h": h, "default_h": h0.tolist(), "guard": guard, "second_stage_cpu_s": cpu2}))
        write_set(g, counts, args.seed, X.shape[1:], cpu, cache / f"{name}_{args.seed}.npz")
        print(f"{name}: h {[round(v, 2) for v in h]}; guard {guard}; second stage cpu s {cpu2:.1f}", flush=True)
        for k, v in saved.items():
            setattr(g.config, k, v)
        g.extra_ = extra


if __name__ == "__main__":
    main()
