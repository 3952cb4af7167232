"""Which residual makes a decoded ``vaelab-image`` code look like its class (a diagnosis; no TSTR, train split only).

For ONE saved network fitted on a textured-shapes train split, codes of two kinds — the training images' posterior
means (reconstructions) and an oracle sampler's (FRESH real images of the same process, ``make_textured_shapes``
with ``--fresh-seed``, encoded) — are decoded to mean + sd x residual with residuals of several kinds, and judged by 3
small CNNs trained on the real training images (30 epochs, probabilities averaged; "fidelity" = share judged as the
label): ``own`` (the image's own whitened residual: the image itself), ``gauss`` (the default texture draw: the
class's residual Gaussian), ``other`` (a random same-class training image's residual), ``nn`` (the residual of the
training image whose posterior mean is nearest the code, same class), ``none`` (the decoder mean alone).

    PYTHONPATH=src .venv/bin/python benchmarks/images_texture_probe.py --data S.npz --model DIR

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_novelty_diag import arguments, judged_case  # noqa: E402
from synthetic_images import make_textured_shapes  # noqa: E402


def main() -> None:
    import torch

    from vaelab.models.base import encode_labels
    from vaelab.models.image.vaelab_image import _batched_decode, _batched_encode
    from vaelab.models.texture import draw_residuals

    args = arguments(__doc__).parse_args()
    X, y, g, judge = judged_case(args)
    module = g.module
    lo, hi = (float(v) for v in g.extra_["scale"][:2])

    def fidelity(u: torch.Tensor, c: torch.Tensor) -> float:
        return judge(lo + u.clamp(0, 1).reshape(len(u), -1).double() * (hi - lo), c)

    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        ct = torch.as_tensor(encode_labels(y, g.classes_), dtype=torch.long)
        u = g._unit(torch.as_tensor(X.reshape(len(X), -1).astype(np.float32)))
        mu, _ = _batched_encode(module, u, ct)
        mean, lv = _batched_decode(module, mu, ct)
        w = (u - mean) / torch.exp(0.5 * lv)  # whitened residuals of the training images
        Xf, yf = make_textured_shapes(args.per_class, len(g.classes_), size=X.shape[1], seed=args.fresh_seed)
        cf = torch.as_tensor(encode_labels(yf, g.classes_), dtype=torch.long)
        mf, _ = _batched_encode(module, g._unit(torch.as_tensor(Xf.reshape(len(Xf), -1).astype(np.float32))), cf)
        out: dict = {}
        for kind, z, c, self_idx in (("training codes", mu, ct, torch.arange(len(mu))), ("oracle codes", mf, cf, None)):
            pick = torch.cat([torch.nonzero(c == k).flatten()[: args.per_class] for k in range(len(g.classes_))])
            z, c = z[pick], c[pick]
            m, s = _batched_decode(module, z, c)
            sd = torch.exp(0.5 * s)
            other = torch.stack([torch.nonzero(ct == int(k)).flatten()[torch.randint(int((ct == k).sum()), (1,),
                                 generator=gen)][0] for k in c])
            dist = torch.cdist(z, mu)
            dist[ct.unsqueeze(0) != c.unsqueeze(1)] = float("inf")
            if self_idx is not None:
                dist[torch.arange(len(z)), pick] = float("inf")
            nn = dist.argmin(dim=1)
            res = {"gauss": draw_residuals(g.extra_["tex_rows"], g.extra_["tex_mean"], c, gen).view_as(m),
                   "other": w[other], "nn": w[nn], "none": torch.zeros_like(m)}
            if self_idx is not None:
                res["own"] = w[pick]
            row = {name: fidelity(m + sd * r, c) for name, r in res.items()}
            row["nn code distance"] = float(dist.min(dim=1).values.median())
            out[kind] = row
            print(kind, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
