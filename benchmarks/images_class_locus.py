"""Where the class of a textured shape goes between a ``vaelab-image`` code and its pixels (a diagnosis, no fitting).

For ONE saved network fitted on the train split of a textured-shapes set (``images_sampler_variants.py --models``),
codes of two kinds — ORACLE codes (the posterior means of FRESH real images of the same process,
``make_textured_shapes`` with ``--fresh-seed``) and SAMPLED codes (the network's own latent sampler, sample seed
``--seed``) — are decoded to ``mean + sd x r`` with residuals ``r`` of several kinds: none (the decoder mean alone),
the fresh image's own whitened residual (oracle only: the image itself, a sanity row), the default texture draw (the
class's residual Gaussian, independent of the code), the residual of the training image whose posterior mean is
nearest the code (same class; for sampled codes the row the code was drawn from excluded, as ``texture_draw =
"neighbour"`` does), white noise of the same sd (the texture's amplitude without its structure), the residual of the
training image whose DECODED mean is nearest the code's (pixels; alignment judged where it matters), and a draw from
the Gaussian of the k = round(sqrt(n_k)) nearest codes' residuals (as vaelab-cvae's ``texture_draw = "local"``). Per
variant:

* ``fid``: the share judged as the label by 3 small CNNs trained on the real training images (30 epochs,
  probabilities averaged; as ``images_texture_probe.py``);
* ``fid_M`` (decoder means only): the same by 3 CNNs trained on the training images' decoded posterior means — does
  the mean still carry the shape when the judge is not put off by the missing texture;
* ``tstr``: ROC AUC (one-vs-rest, mean over ``--clf-seeds``) on the real TEST split of a CNN trained on the variant's
  images with the TRTR CNN's optimiser steps (fresh real images at the same count: the reference).

And, from the fresh images' object masks, per band (interior: mask > 0.95; edge: 0.05-0.95; the ring outside within
~2 px), the RMS (pixels) of each residual ``x - mean``; the object's contrast (interior minus outer ring) and the mean
gradient magnitude in the edge band of the fresh images, their decoded means and the textured variants.

    PYTHONPATH=src .venv/bin/python benchmarks/images_class_locus.py --data S.npz --model DIR --out locus.json

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 15).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_novelty_diag import arguments, judged_case  # noqa: E402
from synthetic_images import make_textured_shapes  # noqa: E402


def bands(masks: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean (n, H, W) regions of blurred object masks: interior, edge, and the ring just outside."""
    from scipy.ndimage import gaussian_filter

    near = np.stack([gaussian_filter(m, 2.0) for m in masks]) > 0.05
    return {"interior": masks > 0.95, "edge": (masks > 0.05) & (masks <= 0.95), "outside": near & (masks <= 0.05)}


def edge_stats(imgs: np.ndarray, regions: dict[str, np.ndarray]) -> dict[str, float]:
    """Object contrast (mean interior minus mean outer ring, pixels) and mean gradient magnitude in the edge band."""
    gy, gx = np.gradient(imgs, axis=(1, 2))
    grad = np.hypot(gy, gx)
    inner = np.array([im[r].mean() if r.any() else np.nan for im, r in zip(imgs, regions["interior"], strict=True)])
    outer = np.array([im[r].mean() for im, r in zip(imgs, regions["outside"], strict=True)])
    return {"contrast": float(np.nanmean(inner - outer)), "edge grad": float(grad[regions["edge"]].mean())}


def main() -> None:
    import torch

    from vaelab.evaluation.image import cnn_scores, cnn_steps
    from vaelab.models.base import encode_labels
    from vaelab.models.image.vaelab_image import _batched_decode, _batched_encode
    from vaelab.models.texture import draw_residuals
    from vaelab.models.vaelab_cvae import _local_draw

    ap = arguments(__doc__)
    ap.set_defaults(per_class=225)
    ap.add_argument("--seed", type=int, default=0, help="sample seed of the sampled codes and the texture draws")
    ap.add_argument("--clf-seeds", default="0,1")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    X, y, g, judge = judged_case(args)
    d = np.load(args.data)
    Xt, yt = d["test_images"], d["test_labels"].ravel().astype(np.int64)
    module, K, shape = g.module, len(g.classes_), X.shape[1:]
    lo, hi = (float(v) for v in g.extra_["scale"][:2])

    def px(u: torch.Tensor) -> np.ndarray:  # [0, 1] tensors -> rounded pixels (n, H, W), as a drawn set is stored
        return np.clip(np.round(lo + u.clamp(0, 1).reshape(len(u), *shape).double().numpy() * (hi - lo)), 0, 255)

    def unit(imgs: np.ndarray) -> torch.Tensor:
        return g._unit(torch.as_tensor(imgs.reshape(len(imgs), -1).astype(np.float32)))

    from vaelab.modalities.image.cnn import SmallCNNClassifier

    with torch.no_grad():
        ct = torch.as_tensor(encode_labels(y, g.classes_), dtype=torch.long)
        u = unit(X)
        mu, _ = _batched_encode(module, u, ct)
        mean, lv = _batched_decode(module, mu, ct)
        w = (u - mean) / torch.exp(0.5 * lv)
        # the neighbour draw's tables on this network (what texture_draw = "neighbour" stores), for its helper
        g.extra_.update(tex_all=w.reshape(len(w), -1), tex_code=mu, tex_class=ct)
    judges_m = [SmallCNNClassifier(image_shape=tuple(shape), epochs=30, random_state=s).fit(
        px(mean).reshape(len(X), -1), y.astype(str)) for s in range(3)]

    def fid_m(imgs: np.ndarray, c: torch.Tensor) -> float:
        p = np.mean([j.predict_proba(imgs.reshape(len(imgs), -1)) for j in judges_m], axis=0)
        return float((p.argmax(axis=1) == c.numpy()).mean())

    steps, seeds = cnn_steps(len(y)), [int(s) for s in args.clf_seeds.split(",")]

    def tstr(imgs: np.ndarray, labels: np.ndarray) -> float:
        with torch.enable_grad():
            return float(np.mean([cnn_scores(imgs, labels, {"test": (Xt, yt)}, seed=s, steps=steps)["test"]["roc_auc"]
                                  for s in seeds]))

    flat_w, flat_mean = w.reshape(len(w), -1), mean.reshape(len(mean), -1)

    def nearest_residual(q: torch.Tensor, c: torch.Tensor, excl: torch.Tensor | None, pixels: bool = False,
                         gen: torch.Generator | None = None) -> torch.Tensor:
        """Per query (a code, or with ``pixels`` a decoded mean) of class ``c``: the residual of the same-class
        training image nearest it (codes: posterior means; pixels: decoded means), the row ``excl`` excluded; with
        ``gen``, a draw from the Gaussian of the k = round(sqrt(n_k)) nearest codes' residuals (their mean plus a
        N(0, 1 / (k - 1)) combination of the centred ones, as vaelab-cvae's ``texture_draw = "local"``)."""
        ref = flat_mean if pixels else mu
        out = torch.zeros(len(q), flat_w.shape[1])
        for k in torch.unique(c).tolist():
            where, own = torch.nonzero(c == k).flatten(), torch.nonzero(ct == k).flatten()
            dist = torch.cdist(q[where].reshape(len(where), -1), ref[own])
            if excl is not None:
                dist[own.unsqueeze(0) == excl[where].unsqueeze(1)] = float("inf")
            if gen is None:
                out[where] = flat_w[own[dist.argmin(dim=1)]]
                continue
            near = dist.topk(max(2, round(len(own) ** 0.5)), dim=1, largest=False).indices
            out[where] = _local_draw(flat_w[own], near, gen)
        return out.view(len(q), *w.shape[1:])

    Xf, yf, Mf = make_textured_shapes(args.per_class, K, size=shape[0], seed=args.fresh_seed, masks=True)
    regions = bands(Mf)
    out: dict = {"fresh real": {"fid": judge(torch.as_tensor(Xf.reshape(len(Xf), -1)).double(),
                                             torch.as_tensor(yf)), "tstr": tstr(Xf, yf),
                                **edge_stats(Xf.astype(np.float64), regions)}}
    print("fresh real", json.dumps(out["fresh real"]), flush=True)
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        cf = torch.as_tensor(encode_labels(yf, g.classes_), dtype=torch.long)
        uf = unit(Xf)
        mf, _ = _batched_encode(module, uf, cf)
        sampler = g._latent_sampler()
        cs = cf.clone()
        zs, _, rows = sampler.sample_rows(cs, gen) if hasattr(sampler, "sample_rows") else (*sampler.sample(cs, gen), None)
        for kind, z, c, excl in (("oracle codes", mf, cf, None), ("sampled codes", zs, cs, rows)):
            m, s = _batched_decode(module, z, c)
            sd = torch.exp(0.5 * s)
            res = {"mean alone": torch.zeros_like(m)}
            if kind == "oracle codes":
                res["mean + own residual (= the image)"] = (uf - m) / sd
            res["mean + Gaussian texture (default)"] = draw_residuals(g.extra_["tex_rows"], g.extra_["tex_mean"], c,
                                                                      gen).view_as(m)
            res["mean + neighbour's residual"] = g._neighbour_residuals(z, c, excl).view_as(m)
            res["mean + white noise (same sd)"] = torch.randn(m.shape, generator=gen)
            res["mean + residual of the nearest decoded mean"] = nearest_residual(m, c, excl, pixels=True)
            res["mean + local Gaussian of the nearest codes' residuals"] = nearest_residual(z, c, excl, gen=gen)
            mean_px = px(m)
            for name, r in res.items():
                imgs = px(m + sd * r)
                c_np = c.numpy()
                row = {"fid": judge(torch.as_tensor(imgs.reshape(len(imgs), -1)), c), "tstr": tstr(imgs, c_np)}
                if name == "mean alone":
                    row["fid_M"] = fid_m(imgs, c)
                if kind == "oracle codes":
                    row.update(edge_stats(imgs, regions))
                    diff = imgs - mean_px if name != "mean alone" else Xf - mean_px  # the mean's row: the real residual
                    row.update({f"rms {b}": float(np.sqrt((diff[reg] ** 2).mean())) for b, reg in regions.items()})
                out[f"{kind}: {name}"] = row
                print(f"{kind}: {name}", json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
