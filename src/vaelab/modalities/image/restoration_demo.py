"""The completion/denoising part of ``vaelab demo``'s image section (kept short: a few held-out images)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def run_restoration_demo(run_path: str | Path, holdout, out: str | Path, *, n: int = 30, sigma: float = 0.2,
                         seed: int = 0, log=print) -> dict[str, Any]:
    """Complete a centre box of 25 % and denoise (Gaussian noise ``sigma`` in [0, 1] units) ``n`` held-out images
    with the run's vaelab-image model; compare with biharmonic inpainting and TV denoising (weight 0.1, not
    tuned); write ``restoration.json`` and ``restoration.png`` into the new folder ``out``."""
    from skimage.restoration import denoise_tv_chambolle, inpaint_biharmonic

    from vaelab.modalities.image.masks import make_mask
    from vaelab.modalities.image.quality import psnr, ssim
    from vaelab.modalities.image.restoration import ImagePosterior
    from vaelab.reporting.figures import _plt, _save
    from vaelab.runs import load_run

    run = load_run(run_path)
    post = ImagePosterior(run.generator, steps=100)
    pick = np.unique(np.linspace(0, holdout.n - 1, min(n, holdout.n)).round().astype(int))
    u, y = (holdout.X[pick] - post.lo) / (post.hi - post.lo), holdout.y[pick]
    mask = make_mask("center:0.25", len(u), u.shape[1:])
    vae_inp, _ = post.inpaint(u, y, mask, unit=True)
    bh = np.stack([inpaint_biharmonic(np.where(m, 0, x), m) for x, m in zip(u, mask, strict=True)])
    noisy = u + sigma * np.random.default_rng(seed).standard_normal(u.shape)
    vae_den = post.restore(noisy, y, sigma, unit=True)
    tv = np.stack([denoise_tv_chambolle(x, weight=0.1) for x in noisy])

    def m(est, region=None):
        return {"psnr": float(np.mean(psnr(u, est, 1.0, region))), "ssim": float(np.mean(ssim(u, est, 1.0, region)))}

    res = {"n": len(u), "mask": "center:0.25", "sigma": sigma,
           "inpaint_box": {"vaelab-image": m(vae_inp, mask), "biharmonic": m(bh, mask)},
           "denoise": {"noisy": m(noisy), "vaelab-image": m(vae_den), "tv (weight 0.1)": m(tv)}}
    out = Path(out)
    out.mkdir(parents=True)
    (out / "restoration.json").write_text(json.dumps(res, indent=1) + "\n")
    plt = _plt()
    k = min(5, len(u))
    cols = ["masked", "biharmonic", "vaelab", "truth", "noisy", "TV", "vaelab"]
    fig, ax = plt.subplots(k, len(cols), figsize=(1.1 * len(cols), 1.15 * k), squeeze=False)
    for i in range(k):
        for j, im in enumerate([np.where(mask[i], 0.5, u[i]), bh[i], vae_inp[i], u[i], noisy[i], tv[i], vae_den[i]]):
            ax[i, j].imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax[i, j].axis("off")
            if i == 0:
                ax[i, j].set_title(cols[j], fontsize=7)
    _save(fig, out / "restoration.png")
    ib, dn = res["inpaint_box"], res["denoise"]
    log(f"completion of a 25% centre box ({len(u)} held-out images, PSNR in the box): vaelab-image "
        f"{ib['vaelab-image']['psnr']:.2f} dB, biharmonic {ib['biharmonic']['psnr']:.2f} dB")
    log(f"denoising sigma={sigma}: noisy {dn['noisy']['psnr']:.2f} dB, TV {dn['tv (weight 0.1)']['psnr']:.2f} dB, "
        f"vaelab-image {dn['vaelab-image']['psnr']:.2f} dB")
    return res
