"""Where the pixel novelty of ``vaelab-image`` samples comes from, and what the kde's kernel width does to the class.

For ONE saved ``vaelab-image`` network (``images_sampler_variants.py --models``) fitted on the train split of a
textured-shapes set (``synthetic_images.py``), per class and for a few fixed kernel widths ``h`` (and the widths the
calibration sets in each space), with the SAME sample seed:

* ``px``: median distance (pixels, the training scale) of samples (decoded mean + texture) to the nearest real training
  image — what ``CalibratedKDE.calibrate`` matches to a left-out training image's (``target px``);
* ``dec``: the same for the decoded means of the sampled codes against the training images' reconstructions (decoded
  posterior means; ``target dec``: a left-out reconstruction's distance to the others);
* ``tex``: median norm of the texture draw ``sd * r`` (sample minus its decoded mean);
* ``fid``: class fidelity — the share of samples judged as their label by 3 small CNNs trained on the real training
  images (30 epochs, probabilities averaged).

Reference rows: the real training images (their residual ``x - reconstruction``), and an oracle sampler — FRESH real
images of the same process (``make_textured_shapes`` with ``--fresh-seed``), encoded and decoded with the texture draw.

    PYTHONPATH=src .venv/bin/python benchmarks/images_novelty_diag.py --data S.npz --model DIR --out diag.json

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_images import make_textured_shapes  # noqa: E402

WIDTHS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """The command line of this diagnosis and of ``images_texture_probe.py``."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--fresh-seed", type=int, default=111)
    ap.add_argument("--per-class", type=int, default=100)
    return ap


def judged_case(args: argparse.Namespace):
    """The training images ``X``, labels ``y``, the saved network ``g`` and ``fidelity(images, c)``: the share of
    ``images`` (n, d) (pixels, the training scale) judged as their class indices ``c`` by 3 small CNNs trained on
    the real training images (30 epochs, probabilities averaged)."""
    import torch

    from vaelab.modalities.image.cnn import SmallCNNClassifier
    from vaelab.models.image.vaelab_image import VaelabImage

    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    g = VaelabImage.load(args.model)
    judges = [SmallCNNClassifier(image_shape=tuple(X.shape[1:]), epochs=30, random_state=s).fit(
        X.reshape(len(X), -1).astype(np.float64), y.astype(str)) for s in range(3)]

    def fidelity(imgs, c) -> float:
        p = np.mean([j.predict_proba(imgs.double().numpy()) for j in judges], axis=0)
        return float((p.argmax(axis=1) == c.numpy()).mean())

    return X, y, g, fidelity


def main() -> None:
    import torch

    from vaelab.models.base import encode_labels
    from vaelab.models.image.pixels import from_nchw
    from vaelab.models.image.vaelab_image import _batched_decode, _batched_encode
    from vaelab.models.texture import draw_residuals
    from vaelab.samplers.kde import median_nearest

    ap = arguments(__doc__)
    ap.add_argument("--seed", type=int, default=0, help="the network's fit seed (the calibration's seed)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    X, y, g, fidelity = judged_case(args)
    module, scale, shape = g.module, g.extra_["scale"], g.feature_shape_
    xt = torch.as_tensor(X.reshape(len(X), -1).astype(np.float32))
    ct = torch.as_tensor(encode_labels(y, g.classes_), dtype=torch.long)
    lo, hi = (float(v) for v in scale[:2])
    rows = lambda u: lo + from_nchw(u.clamp(0, 1), shape).float() * (hi - lo)  # noqa: E731  (pixels, not rounded)

    with torch.no_grad():
        mu, _ = _batched_encode(module, g._unit(xt), ct)
        recon = rows(_batched_decode(module, mu, ct)[0])

        def decode(z, c, gen):
            mean, logvar = _batched_decode(module, z, c)
            r = draw_residuals(g.extra_["tex_rows"], g.extra_["tex_mean"], c, gen).view_as(mean)
            return rows(mean), rows(mean + torch.exp(0.5 * logvar) * r)

        def measure(z, c, gen) -> dict:
            m, s = decode(z, c, gen)
            return {"px": median_nearest(s, xt), "dec": median_nearest(m, recon), "tex": float((s - m).norm(dim=1).median()),
                    "fid": fidelity(s, c), "fid_mean": fidelity(m, c)}

        out: dict = {"classes": {}}
        h_px = g.extra_["kde_h"].clone()
        # the same calibration rule in the decoder's mean space: decoded means of sampled codes vs reconstructions
        g.extra_["kde_h"].zero_()
        g._latent_sampler().calibrate(lambda c, gen: decode(g._latent_sampler().sample(c, gen)[0], c, gen)[0],
                                      recon, ct, seed=args.seed)
        h_dec = g.extra_["kde_h"].clone()
        Xf, yf = make_textured_shapes(args.per_class, len(g.classes_), size=X.shape[1], seed=args.fresh_seed)
        ft = torch.as_tensor(Xf.reshape(len(Xf), -1).astype(np.float32))
        cf = torch.as_tensor(encode_labels(yf, g.classes_), dtype=torch.long)
        for k in range(len(g.classes_)):
            own = ct == k
            dk = torch.cdist(xt[own], xt)
            dk[torch.arange(int(own.sum())), torch.nonzero(own).flatten()] = float("inf")
            rk = torch.cdist(recon[own], recon)
            rk[torch.arange(int(own.sum())), torch.nonzero(own).flatten()] = float("inf")
            row = {"target px": float(dk.min(dim=1).values.median()), "target dec": float(rk.min(dim=1).values.median()),
                   "real residual": float((xt[own] - recon[own]).norm(dim=1).median()),
                   "h px": float(h_px[k]), "h dec": float(h_dec[k])}
            ck = torch.full((args.per_class,), k, dtype=torch.long)
            fk = cf == k
            mf, _ = _batched_encode(module, g._unit(ft[fk]), cf[fk])
            row["oracle (fresh real, encoded)"] = measure(mf, cf[fk], torch.Generator().manual_seed(5))
            row["fresh real (no decoding)"] = {"px": median_nearest(ft[fk], xt), "fid": fidelity(ft[fk], cf[fk])}
            for name, h in [*[(f"h={w:g}", w) for w in WIDTHS], ("h px (calibrated)", float(h_px[k])),
                            ("h dec (calibrated)", float(h_dec[k]))]:
                g.extra_["kde_h"][k] = h
                gen = torch.Generator().manual_seed(1000 + k)
                z, _ = g._latent_sampler().sample(ck, gen)
                row[name] = measure(z, ck, gen)
            out["classes"][int(g.classes_[k])] = row
            print(k, json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
