"""Why ``adv_weight`` moved the decoded mean so little on textured shapes: what its discriminator saw (a diagnosis).

Re-fits ``vaelab-image`` with ``adv_weight`` on the train split of a textured-shapes set (``--seed``, the fit seed of
the saved network ``--model``, whose weights it must reproduce byte for byte: the recording adds forward passes only),
recording per epoch the discriminator's hinge loss and mean logits on the batch it is trained on (before its step),
and the adaptive weight lambda. After training the discriminator is kept and scored on ``--per-class`` FRESH images
per class (``make_textured_shapes`` seed ``--fresh-seed``) against the decoded means of their posterior means (oracle
reconstructions), both low-passed as in training: its accuracy (a patch-averaged logit > 0 for real, < 0 for means).

Also, for this network and the default one ``--default`` (same set and seed): how much of the object's position and
size the oracle codes carry — the cross-validated R^2 of a ridge regression from the fresh images' posterior means to
the centroid (row, column) and area of their object masks.

``--offline``: no fit; can the same discriminator (architecture, initialisation, Adam, batch 64, the VAE's first
learning rate or ``--lr``, ``--steps`` steps) learn, on the training images, to tell (i) low-passed real images from the
low-passed decoded means of their posterior means (``--default``'s network: the task at the adversary's start), (ii)
the same without the low-pass, (iii) low-passed real images from the same blurred once more (sigma 1.5; a sanity
task)? Accuracy on the fresh images and their means. ``--design '{"standardise": true, "width": 64, "spectral": true,
"k": 2}'`` tries a variant of the discriminator (see ``learnability``).

Re-fit options (diagnoses; the network is then not ``--model``'s): ``--adv-weight W`` fits with that weight instead,
``--disc-steps K`` takes K discriminator steps per VAE step (the same batch K times).

    PYTHONPATH=src .venv/bin/python benchmarks/images_adversary_probe.py --data S.npz --model ADV_DIR \\
        --default DEFAULT_DIR --out probe.json [--offline]

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 16).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_images import make_textured_shapes  # noqa: E402


def code_content(g, X: np.ndarray, y: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """Cross-validated R^2 (5 folds, ridge with its penalty chosen inside each fold) of the object's centroid and
    area from the posterior means of images ``X`` of classes ``y`` (``masks``: their object masks)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import cross_val_score

    mu, _ = g.encode(X, y)
    feats = np.hstack([mu, np.eye(len(g.classes_))[np.searchsorted(g.classes_, y)]])  # the decoder has the label too
    rows, cols = np.indices(masks.shape[1:])
    area = masks.sum(axis=(1, 2))
    target = {"centroid row": (masks * rows).sum(axis=(1, 2)) / area,
              "centroid column": (masks * cols).sum(axis=(1, 2)) / area, "area": area}
    return {k: float(np.mean(cross_val_score(RidgeCV(alphas=np.logspace(-3, 3, 13)), feats, t, cv=5, scoring="r2")))
            for k, t in target.items()}


def judged(disc, real, fake, c) -> dict[str, float]:
    """The discriminator's patch-averaged logits on ``real`` and ``fake`` images (n, C, H, W) of classes ``c``: the
    shares judged rightly (logit > 0 for real, < 0 for fake), their mean (accuracy) and the mean logits."""
    import torch

    with torch.no_grad():
        r, f = disc(real, c).mean(dim=(1, 2, 3)), disc(fake, c).mean(dim=(1, 2, 3))
    ok_r, ok_f = float((r > 0).float().mean()), float((f < 0).float().mean())
    return {"accuracy": (ok_r + ok_f) / 2, "real judged real": ok_r, "mean judged fake": ok_f,
            "logit real": float(r.mean()), "logit mean": float(f.mean())}


def learnability(g, X, y, Xf, yf, steps: int, seed: int, lr: float | None = None,
                 design: dict | None = None) -> dict[str, dict[str, float]]:
    """The ``--offline`` tasks (see the module docstring) on network ``g``: the discriminator's accuracy (patch-averaged
    logit > 0 for the first kind, < 0 for the second, averaged over the two kinds) on the training images after
    ``steps`` steps at Adam rate ``lr`` (None: the VAE's) and on the fresh images ``Xf``. ``design``: the
    discriminator's variant, keys ``standardise`` (inputs centred and scaled by the real training pixels' mean and
    sd per channel), ``width``, ``spectral`` (see ``PatchDiscriminator``) and ``k`` (each batch used for k steps in a
    row, as k discriminator steps per VAE step would); also the CPU seconds per step."""
    import time

    import torch

    from vaelab.models.base import encode_labels
    from vaelab.models.image.adversary import (
        BETAS,
        SEED_OFFSET,
        PatchDiscriminator,
        gaussian_lowpass,
        hinge_d_loss,
        pixel_stats,
    )
    from vaelab.models.image.vaelab_image import _batched_decode, _batched_encode
    from vaelab.training.optim import Adam

    def images(imgs, labels):
        with torch.no_grad():
            c = torch.as_tensor(encode_labels(labels, g.classes_), dtype=torch.long)
            u = g._unit(torch.as_tensor(imgs.reshape(len(imgs), -1).astype(np.float32)))
            return u, _batched_decode(g.module, _batched_encode(g.module, u, c)[0], c)[0], c

    design = dict(design or {})
    k = int(design.pop("k", 1))
    standardise = bool(design.pop("standardise", False))
    (u, m, c), (uf, mf, cf) = images(X, y), images(Xf, yf)
    if standardise:
        design.update(zip(("centre", "spread"), pixel_stats(u), strict=True))
    lp = gaussian_lowpass
    tasks = {"(i) low-passed real vs low-passed means": lambda a, b: (lp(a), lp(b)),
             "(ii) real vs means, no low-pass": lambda a, b: (a, b),
             "(iii) low-passed real vs the same blurred again (sigma 1.5)": lambda a, b: (lp(a), lp(lp(a, 1.5)))}
    out = {}
    for name, pair in tasks.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + SEED_OFFSET)
            disc = PatchDiscriminator(u.shape[1], len(g.classes_), **design)
        opt = Adam(disc.parameters(), lr=g.config.lr if lr is None else lr, betas=BETAS)
        real, fake = pair(u, m)
        gen = torch.Generator().manual_seed(seed)
        t0 = time.process_time()
        for _ in range(steps):
            b = torch.randperm(len(u), generator=gen)[:64]
            for _ in range(k):
                opt.zero_grad()
                hinge_d_loss(disc(real[b], c[b]), disc(fake[b], c[b])).backward()
                opt.step()
        cpu = (time.process_time() - t0) / (steps * k)
        disc.eval()
        out[name] = {"train accuracy": judged(disc, real, fake, c)["accuracy"],
                     "fresh accuracy": judged(disc, *pair(uf, mf), cf)["accuracy"], "CPU s per step": cpu}
        print(name, json.dumps(out[name]), flush=True)
    return out


def main() -> None:
    import torch

    import vaelab.models.image.vaelab_image as vi
    from vaelab.models import get_model
    from vaelab.models.base import encode_labels
    from vaelab.models.image.adversary import Adversary, gaussian_lowpass, hinge_d_loss
    from vaelab.models.image.vaelab_image import VaelabImage, _batched_decode, _batched_encode

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True, help="the saved adv_weight network of this set and seed (a check)")
    ap.add_argument("--default", required=True, help="the saved default network of this set and seed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fresh-seed", type=int, default=111)
    ap.add_argument("--per-class", type=int, default=225)
    ap.add_argument("--out", required=True)
    ap.add_argument("--offline", action="store_true", help="no fit: the discriminator's learnability tasks only")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=None, help="--offline: the discriminator's rate (default: the VAE's)")
    ap.add_argument("--adv-weight", type=float, default=None,
                    help="re-fit with this adv_weight instead of --model's (then its weights are not reproduced)")
    ap.add_argument("--disc-steps", type=int, default=1,
                    help="re-fit: discriminator steps per VAE step (on the same batch; 1 = the option's)")
    ap.add_argument("--design", default="{}", help="--offline: the discriminator's variant, JSON (see learnability)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.offline:
        d = np.load(args.data)
        X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
        g0 = VaelabImage.load(args.default)
        Xf, yf = make_textured_shapes(args.per_class, len(g0.classes_), size=X.shape[1], seed=args.fresh_seed)
        Path(args.out).write_text(json.dumps(learnability(g0, X, y, Xf, yf, args.steps, args.seed, args.lr,
                                                               json.loads(args.design)), indent=1))
        return
    saved = VaelabImage.load(args.model)
    rows: list[dict[str, float]] = []

    class Recording(Adversary):
        """The discriminator of the fit, which also records what it saw and keeps its weights after training."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.kept, self.acc = None, {}

        def generator_term(self, real, mean, c, nll, last):
            term, g = super().generator_term(real, mean, c, nll, last)
            if float(g) != 0:
                self.acc["lambda"] = self.acc.get("lambda", 0.0) + float(term.detach()) / (self.weight * float(g))
            return term, g

        def on_step_end(self, trainer) -> None:
            if self._batch is not None:
                with torch.no_grad():
                    r, f = (self.disc(x, self._batch[2]) for x in self._batch[:2])
                for k, v in {"d_loss": hinge_d_loss(r, f), "logit real": r.mean(), "logit mean": f.mean(),
                             "steps": torch.tensor(1.0)}.items():
                    self.acc[k] = self.acc.get(k, 0.0) + float(v)
            batch = self._batch
            for _ in range(args.disc_steps):  # --disc-steps: the same batch judged k times in a row
                self._batch = batch
                super().on_step_end(trainer)

        def on_epoch_end(self, trainer) -> None:
            if self.acc:
                n = self.acc.pop("steps")
                rows.append({"epoch": trainer.epoch + 1, **{k: v / n for k, v in self.acc.items()}})
            self.acc = {}

        def on_fit_end(self, trainer) -> None:
            self.kept = self.disc
            super().on_fit_end(trainer)

    vi.Adversary = Recording  # the model builds its discriminator callback from this name
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    g = get_model("vaelab-image", adv_weight=saved.config.adv_weight if args.adv_weight is None else args.adv_weight)
    g.progress = False
    g.fit(X, y, seed=args.seed)
    same = all(torch.equal(v, saved.module.state_dict()[k]) for k, v in g.module.state_dict().items())
    disc = g._adversary.kept
    Xf, yf, Mf = make_textured_shapes(args.per_class, len(g.classes_), size=X.shape[1], seed=args.fresh_seed, masks=True)
    with torch.no_grad():
        c = torch.as_tensor(encode_labels(yf, g.classes_), dtype=torch.long)
        u = g._unit(torch.as_tensor(Xf.reshape(len(Xf), -1).astype(np.float32)))
        mean, _ = _batched_decode(g.module, _batched_encode(g.module, u, c)[0], c)
    fresh = judged(disc, gaussian_lowpass(u), gaussian_lowpass(mean), c)
    content = {"adv": code_content(g, Xf, yf, Mf), "default": code_content(VaelabImage.load(args.default), Xf, yf, Mf)}
    out = {"weights identical to --model": same, "epochs": rows, "fresh": fresh, "code content R2": content}
    print(json.dumps({k: v for k, v in out.items() if k != "epochs"}, indent=1))
    for row in rows[:: max(1, len(rows) // 8)] + rows[-1:]:
        print(json.dumps(row))
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
