"""Image generators side by side on the development chest X-rays (PneumoniaMNIST, 28x28 grey).

Data: ``../shared/data/pneumoniamnist.npz`` (a class-balanced subsample of PneumoniaMNIST, CC BY 4.0;
MedMNIST layout): generators train on ``train`` (2428 images, 1214 per class), everything is scored
against ``test`` (468 images, 234 per class), the split MedMNIST ships. Every generator is asked for
as many images per class as the test split has and scored with :func:`vaelab.evaluation.image.evaluate_images`
(one domain feature network trained on the real training images, shared by all rows):

* ``c2st``   small CNN on pixels, 5-fold ROC AUC, real training images vs synthetic; target <= 0.75
* ``fd``     Fréchet distance in the domain features (real training vs synthetic); target <= 2 x the
             ``real test`` row (the real test split scored the same way)
* ``kid``    KID in the same features; ``prec``/``rec`` PRDC precision and recall there
* ``tstr``   ROC AUC of the small CNN trained on synthetic, tested on the real test split;
             target >= 0.9 x ``trtr`` (the same CNN trained on the real training images)
* ``dcr``    median nearest-training distance in features, synthetic / real test; target >= 0.9
* ``fit s``  wall-clock training time in this process, and ``cpu s`` its process (CPU) time (one
             torch thread: the time a dedicated core would take; the machine is shared)

Rows: ``vaelab-image``, ``seed-image-vae``, ``ppca`` (per class on pixels, 10 components, clipped
and rounded to uint8), ``pythae-vae`` (pythae's VAE with its default MLP networks, one model per
class as pythae advises: latent 16, MSE, 100 epochs, Adam 1e-3, batch 64; pixels / 255; ``pythae-vae-range``: the
same with pixels scaled by the class's training range, as ``vaelab.models.image.pixels.fit_scale`` scales them for
vaelab's image models — equal to ``pythae-vae`` where each class's images span 0..255, fair on low-range sets such as 8-bit
digits 0..16, RESULTS issue 11 session 14), plus reference rows:
``real test`` (the test split itself), ``class mean``, ``train copies``, ``blurred real`` (test
images, Gaussian sigma 1 px).

pythae is not a vaelab dependency; install it in a separate environment that sees vaelab's::

    python3 -m venv /tmp/img-bench-venv
    echo "import site; site.addsitedir('$PWD/.venv/lib/python3.11/site-packages')" \\
        > /tmp/img-bench-venv/lib/python3.11/site-packages/zz_vaelab.pth
    /tmp/img-bench-venv/bin/pip install -c constraints.txt pythae

and run ``PYTHONPATH=src /tmp/img-bench-venv/bin/python benchmarks/images.py``; with ``.venv/bin/python``
pythae is skipped with a note. Options: ``--models a,b``, ``--data PATH``, ``--seed S``, ``--no-references``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

# ../shared beside the repository (a worktree may sit deeper: the first parent that has shared/ wins)
DATA = next((p / "shared" / "data" / "pneumoniamnist.npz" for p in Path(__file__).resolve().parents
             if (p / "shared" / "data" / "pneumoniamnist.npz").is_file()),
            Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pneumoniamnist.npz")
MODELS = ["vaelab-image", "seed-image-vae", "ppca", "pythae-vae"]


def pythae_vae(by_range: bool = False):
    """pythae's VAE (default MLP encoder/decoder for (1, H, W)), one per class; pixels / 255, or (``by_range``)
    scaled by the class's training range and mapped back into it, rounded (``fit_scale``'s rule)."""
    import tempfile

    import torch
    from pythae.models import VAE, VAEConfig
    from pythae.pipelines import TrainingPipeline
    from pythae.samplers import NormalSampler
    from pythae.trainers import BaseTrainerConfig

    from vaelab.models.image.pixels import fit_scale, from_unit, to_unit

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generators import PerClass, _quiet

    tmp = tempfile.mkdtemp(prefix="pythae-")

    shape: list[tuple[int, ...]] = []

    def fit_one(X, seed):
        shape[:] = [X.shape[1:]]
        torch.manual_seed(seed)
        scale = fit_scale(X) if by_range else None
        x = (X.astype(np.float32) / 255.0 if scale is None else
             to_unit(torch.as_tensor(X, dtype=torch.float64), scale).numpy().astype(np.float32))[:, None]
        model = VAE(VAEConfig(input_dim=tuple(x.shape[1:]), latent_dim=16, reconstruction_loss="mse"))
        cfg = BaseTrainerConfig(output_dir=tmp, num_epochs=100, learning_rate=1e-3, per_device_train_batch_size=64,
                                per_device_eval_batch_size=64, seed=seed, no_cuda=True)
        with _quiet():
            TrainingPipeline(model=model, training_config=cfg)(train_data=x)
        model.vaelab_scale = scale
        return model

    def sample_one(model, n, seed):
        torch.manual_seed(seed)
        model.eval()
        with torch.no_grad():
            s = NormalSampler(model).sample(num_samples=n).cpu().numpy().reshape(n, *shape[0])
        if not by_range:
            return np.clip(np.round(s * 255.0), 0, 255)
        return from_unit(torch.as_tensor(s, dtype=torch.float64), model.vaelab_scale).numpy()

    g = PerClass(fit_one, sample_one)
    return g


class PixelPPCA:
    """vaelab's per-class PPCA on flattened pixels; samples clipped to 0..255 and rounded."""

    def __init__(self):
        from vaelab.models import get_model

        self.g = get_model("ppca")

    def fit(self, X, y, *, seed=0):
        self.shape = X.shape[1:]
        self.g.fit(X.reshape(len(X), -1).astype(np.float64), y, seed=seed)
        return self

    def sample(self, counts, *, seed=0):
        X, y = self.g.sample(counts, seed=seed)
        return np.clip(np.round(X), 0, 255).reshape(len(X), *self.shape), y


class TrainCopies:
    """A reference, not a generator: each "sample" is a real training image of the class, drawn without replacement
    (``seed``), so TSTR on it is TRTR at the synthetic set's size (what real images of that count teach a CNN)."""

    def fit(self, X, y, *, seed=0):
        self.X, self.y = np.asarray(X), np.asarray(y)
        return self

    def sample(self, counts, *, seed=0):
        rng = np.random.default_rng(seed)
        idx = np.concatenate([rng.choice(np.flatnonzero(self.y == k), n, replace=False) for k, n in counts.items()])
        return self.X[idx], self.y[idx]


def make(name: str):
    if name in ("pythae-vae", "pythae-vae-range"):
        return pythae_vae(by_range=name == "pythae-vae-range")
    if name == "ppca":
        return PixelPPCA()
    if name == "train-copies":
        return TrainCopies()
    from vaelab.models import get_model

    g = get_model(name)
    g.progress = False
    return g


def row(name: str, r: dict, fit_s: float | None, cpu_s: float | None) -> str:
    f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    ts, tr = r.get("tstr") or {}, r.get("trtr") or {}
    ratio = r.get("tstr_trtr_auc")
    raised = ", ".join(sorted(k for k, v in r["flags"].items() if v["raised"])) or "none"
    fit = "" if fit_s is None else f"{fit_s:.0f} / {cpu_s:.0f}"
    return (f"| {name} | {f(r['c2st_auc'])} | {f(r['frechet'])} | {f(r['kid'])} | {f(r['precision'])} | "
            f"{f(r['recall'])} | {f(ts.get('roc_auc'))} | {f(tr.get('roc_auc'))} | {f(ratio)} | "
            f"{f(ts.get('balanced_accuracy'))} | {f(r['dcr_ratio'])} | {min(r['diversity'].values()):.2f} | "
            f"{raised} | {fit} |")


HEADER = ("| generator | c2st | fd | kid | prec | rec | tstr auc | trtr auc | tstr/trtr | tstr bacc | dcr | "
          "spread min | flags | fit s / cpu s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    import torch

    from vaelab.data.dataset import Dataset
    from vaelab.data.sample import SampleSpec
    from vaelab.evaluation.image import evaluate_images
    from vaelab.modalities.image.features import fit_feature_extractor

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-references", action="store_true")
    ap.add_argument("--json", default=None, help="also write all results to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    Xtr, ytr = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    Xte, yte = d["test_images"], d["test_labels"].ravel().astype(np.int64)
    spec = SampleSpec.image(*Xtr.shape[1:3], dtype="uint8")
    real, test = Dataset(X=Xtr.astype(np.float64), y=ytr, spec=spec), Dataset(X=Xte.astype(np.float64), y=yte, spec=spec)
    counts = {int(k): int(v) for k, v in zip(*np.unique(yte, return_counts=True), strict=True)}
    t = time.perf_counter()
    ext = fit_feature_extractor(Xtr, ytr, seed=args.seed)
    print(f"feature network: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    lines, out = [HEADER], {}
    ev = dict(holdout=test, seed=args.seed, extractor=ext)
    if not args.no_references:
        from vaelab.evaluation.image import _image_metrics, _str_labels, reference_sets

        t = time.perf_counter()
        kw = dict(seed=args.seed, c2st_folds=5, cnn_epochs=15, prdc_k=5)
        test_row = _image_metrics(_str_labels(real), _str_labels(test), None, ext, trtr=None, **kw)
        test_row.pop("_diag")
        lines.append(row("real test (reference; no TSTR: it is the test split)", test_row, None, None))
        out["real test"] = test_row
        for name, (r, s_, h) in reference_sets(_str_labels(real), _str_labels(test), _str_labels(test),
                                                seed=args.seed).items():
            rr = _image_metrics(r, s_, h, ext, trtr=None, **kw)
            rr.pop("_diag")
            label = "real: half of test vs train, other half holdout" if name == "real" else name.replace("_", " ")
            lines.append(row(f"{label} (reference)", rr, None, None))
            out[name] = rr
            print(lines[-1], file=sys.stderr, flush=True)
        print(f"references: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    for name in [m for m in args.models.split(",") if m]:
        try:
            g = make(name)
        except ImportError as e:
            lines.append(f"| {name} | skipped: {e} |")
            continue
        t, c = time.perf_counter(), time.process_time()
        g.fit(Xtr, ytr, seed=args.seed)
        fit_s, cpu_s = time.perf_counter() - t, time.process_time() - c
        Xs, ys = g.sample(counts, seed=args.seed + 1)
        Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).astype(np.uint8).reshape(len(Xs), *Xtr.shape[1:])
        r = evaluate_images(real, Dataset(X=Xs.astype(np.float64), y=np.asarray(ys).astype(np.int64), spec=spec), references=False, **ev)
        lines.append(row(name, r, fit_s, cpu_s))
        out[name] = {**r, "fit_s": fit_s, "cpu_s": cpu_s}
        print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))
    if args.json:
        from vaelab.core.jsonable import jsonable

        Path(args.json).write_text(json.dumps(jsonable(out), indent=1))


if __name__ == "__main__":
    main()
