"""Completion, denoising and compression with vaelab-image against the classical methods (issue 12).

Data: ``../shared/data/pneumoniamnist.npz`` (MedMNIST layout, 28x28 grey uint8). A ``vaelab-image`` run is
trained on ``train`` (default settings, seed 0; reused when ``--run`` exists); everything is measured on
``test`` (468 images), pixels scaled to [0, 1] (``uint8 / 255``), ``data_range = 1``.

* **Completion**, mask ``center:0.25`` (a centred 14x14 box): PSNR and SSIM in the box and on the whole
  image for: the mean training image in the box, ``skimage.restoration.inpaint_biharmonic``, vaelab's MAP
  completion (``vaelab inpaint``), and the mean of K posterior completions (MALA) on ``--sample-n``
  evenly spaced images, with their diversity (mean per-pixel sd across completions in the box).
* **Denoising**, additive Gaussian noise sigma = 0.2 (seed 0): total variation
  (``denoise_tv_chambolle``) and non-local means (``denoise_nl_means``, ``sigma`` given, ``fast_mode``)
  each at the best setting of a grid **chosen on the test images themselves** (an oracle advantage for the
  baselines), vaelab's restoration with sigma given and with sigma estimated (``vaelab restore``), and the
  plain decoder mean at the MAP code (ablation of the per-pixel combination).
* **Compression**: bytes per image vs PSNR / SSIM: the VAE code at 1..8 bits per latent coordinate
  (:mod:`vaelab.modalities.image.compress`), PCA of the training images with k 8-bit coefficients
  (k bytes), JPEG (Pillow, quality sweep, whole file), and, to reach JPEG's byte range, the 8-bit VAE
  code plus k 8-bit PCA coefficients of the residual image (PCA of the training images' residuals).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/image_restoration.py [--run DIR] [--out DIR]``;
writes ``results.json``, ``compression.csv`` and figures to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def _row(name, truth, est, mask=None, **extra):
    from vaelab.modalities.image.quality import psnr, ssim

    r = {"method": name, "psnr": float(np.mean(psnr(truth, est, 1.0))), "ssim": float(np.mean(ssim(truth, est, 1.0)))}
    if mask is not None:
        r["psnr_box"] = float(np.mean(psnr(truth, est, 1.0, mask)))
        r["ssim_box"] = float(np.mean(ssim(truth, est, 1.0, mask)))
    r.update(extra)
    return r


def completion(post, u, y, mean_img, n_samples, k, seed, log):
    from skimage.restoration import inpaint_biharmonic

    from vaelab.modalities.image.masks import make_mask
    from vaelab.modalities.image.quality import completion_diversity

    mask = make_mask("center:0.25", len(u), u.shape[1:])
    rows = [_row("mean training image", u, np.where(mask, mean_img, u), mask)]
    t = time.process_time()
    bh = np.stack([inpaint_biharmonic(np.where(m, 0, x), m) for x, m in zip(u, mask, strict=True)])
    rows.append(_row("biharmonic (skimage)", u, bh, mask, cpu_s=time.process_time() - t))
    t = time.process_time()
    done, _ = post.inpaint(u, y, mask, unit=True)
    rows.append(_row("vaelab-image MAP", u, done, mask, cpu_s=time.process_time() - t))
    log(rows[-1])
    m = n_samples
    sel = np.unique(np.linspace(0, len(u) - 1, m).round().astype(int))
    u, y, mask, bh, done = u[sel], y[sel], mask[sel], bh[sel], done[sel]  # the figure shows this subset
    t = time.process_time()
    _, s = post.inpaint(u, y, mask, samples=k, seed=seed, unit=True)
    cpu = time.process_time() - t
    sub = [_row(f"biharmonic, subset of {m}", u, bh, mask),
           _row(f"vaelab-image MAP, subset of {m}", u, done, mask),
           _row(f"vaelab-image mean of {k} MALA completions, subset of {m}", u, s.mean(axis=1), mask, cpu_s=cpu,
                diversity_box=float(completion_diversity(s, mask).mean()))]
    return rows + sub, u, mask, bh, done, s


def denoising(post, u, y, seed, log):
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    from vaelab.modalities.image.quality import psnr
    from vaelab.modalities.image.restoration import estimate_sigma

    sigma = 0.2
    noisy = u + sigma * np.random.default_rng(seed).standard_normal(u.shape)
    rows = [_row("noisy input", u, noisy)]
    grids = {"TV (denoise_tv_chambolle)": ("weight", [0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3],
                                           lambda x, w: denoise_tv_chambolle(x, weight=w)),
             "NLM (denoise_nl_means)": ("h", [0.4 * sigma, 0.6 * sigma, 0.8 * sigma, 1.0 * sigma, 1.2 * sigma],
                                        lambda x, h: denoise_nl_means(x, h=h, sigma=sigma, patch_size=5,
                                                                      patch_distance=6, fast_mode=True))}
    best = {}
    for name, (pname, grid, fn) in grids.items():
        scores = []
        for v in grid:
            est = np.stack([fn(x, v) for x in noisy])
            scores.append((float(np.mean(psnr(u, est, 1.0))), v, est))
        p, v, est = max(scores, key=lambda s: s[0])
        best[name] = est
        rows.append(_row(f"{name}, best {pname}={v:.3g}", u, est, grid={f"{g:.3g}": round(s, 3) for s, g, _ in scores}))
        log(rows[-1])
    t = time.process_time()
    vae = post.restore(noisy, y, sigma, unit=True)
    rows.append(_row("vaelab-image restore (sigma given)", u, vae, cpu_s=time.process_time() - t))
    log(rows[-1])
    est_sig = estimate_sigma(noisy)
    vae_e = post.restore(noisy, y, est_sig, unit=True)
    rows.append(_row("vaelab-image restore (sigma estimated)", u, vae_e, sigma_estimated=float(est_sig.mean())))
    mean_only = post.restore(noisy, y, sigma, unit=True, combine=False)
    rows.append(_row("vaelab-image decoder mean only (ablation)", u, mean_only))
    return rows, noisy, best, vae


def compression(post, gen, u, y, u_train, y_train, log):
    import torch

    from vaelab.modalities.image.compress import (
        dequantise,
        jpeg_roundtrip,
        pca_roundtrip,
        quantise,
        vae_bytes,
    )
    from vaelab.modalities.image.quality import psnr, ssim

    def score(name, param, nbytes, est):
        return {"method": name, "param": param, "bytes": float(nbytes), "psnr": float(np.mean(psnr(u, est, 1.0))),
                "ssim": float(np.mean(ssim(u, est, 1.0)))}

    rows = []
    mu_train, _ = gen.encode(u_train * 255, y_train)
    scale = mu_train.std(axis=0)
    fit = post._run(lambda: post.fit(post.to_unit_nchw(u, True), torch.ones(len(u), 1, *u.shape[1:]), y, 0.0))
    z = fit.z.numpy().astype(np.float64)
    L = z.shape[1]
    for bits in (1, 2, 3, 4, 5, 6, 8):
        zq = dequantise(quantise(z, scale, bits), scale, bits)
        est = gen.decode(zq, y)[0] / 255.0
        rows.append(score("vaelab-image code", f"{bits} bit", vae_bytes(L, bits), est))
    flat_tr, flat = u_train.reshape(len(u_train), -1), u.reshape(len(u), -1)
    # VAE code (8 bits) + PCA of the residual image (k 8-bit coefficients; PCA of the training residuals)
    dec_tr = gen.decode(dequantise(quantise(mu_train, scale, 8), scale, 8), y_train)[0].reshape(len(u_train), -1) / 255
    dec = gen.decode(dequantise(quantise(z, scale, 8), scale, 8), y)[0].reshape(len(u), -1) / 255
    for k in (8, 16, 32, 64, 96, 128, 192, 256, 384):
        est = np.clip(dec + pca_roundtrip(flat_tr - dec_tr, flat - dec, k), 0, 1).reshape(u.shape)
        rows.append(score("vaelab-image code + residual PCA", f"8 bit + k={k}", vae_bytes(L, 8) + k, est))
    for k in (4, 8, 12, 16, 24, 33, 48, 64, 96, 128, 192, 256, 384):
        rows.append(score("PCA (8-bit coefficients)", f"k={k}", k, np.clip(pca_roundtrip(flat_tr, flat, k), 0, 1).reshape(u.shape)))
    for q in (1, 5, 10, 20, 30, 50, 70, 90):
        est, size = jpeg_roundtrip(u, q)
        rows.append(score("JPEG (Pillow)", f"q={q}", size, est))
    log(f"compression: {len(rows)} rows")
    return rows


def figures(out, u_sub, u, mask, bh, done, samples, noisy, best, vae, comp):
    from vaelab.reporting.figures import _plt, _save

    plt = _plt()
    m = min(6, len(samples))
    cols = ["masked", "biharmonic", "vaelab MAP", *[f"sample {j + 1}" for j in range(min(3, samples.shape[1]))], "truth"]
    fig, ax = plt.subplots(m, len(cols), figsize=(1.2 * len(cols), 1.25 * m), squeeze=False)
    for i in range(m):
        imgs = [np.where(mask[i], 0.5, u_sub[i]), bh[i], done[i], *samples[i, :3], u_sub[i]]
        for j, im in enumerate(imgs):
            ax[i, j].imshow(im, cmap="gray", vmin=0, vmax=1)
            ax[i, j].axis("off")
            if i == 0:
                ax[i, j].set_title(cols[j], fontsize=7)
    _save(fig, out / "inpainting.png")
    names = ["noisy", *[k.split(" ")[0] for k in best], "vaelab", "truth"]
    fig, ax = plt.subplots(m, len(names), figsize=(1.2 * len(names), 1.25 * m), squeeze=False)
    for i in range(m):
        for j, im in enumerate([noisy[i], *[b[i] for b in best.values()], vae[i], u[i]]):
            ax[i, j].imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax[i, j].axis("off")
            if i == 0:
                ax[i, j].set_title(names[j], fontsize=7)
    _save(fig, out / "denoising.png")
    rd_figure(out, comp)


def rd_figure(out, comp) -> None:
    """Bytes per image vs PSNR and SSIM, one line per method."""
    from vaelab.reporting.figures import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    for name in dict.fromkeys(r["method"] for r in comp):
        rs = [r for r in comp if r["method"] == name]
        for a, key in zip(ax, ("psnr", "ssim"), strict=True):
            a.plot([r["bytes"] for r in rs], [r[key] for r in rs], "o-", label=name, ms=3)
            a.set_xscale("log")
            a.set_xlabel("bytes per image")
            a.set_ylabel(key.upper())
    ax[0].legend(fontsize=7)
    _save(fig, out / "rate_distortion.png")


def _write_compression(out, comp) -> None:
    with open(out / "compression.csv", "w") as f:
        f.write("method,param,bytes,psnr,ssim\n")
        for r in comp:
            f.write(f"{r['method']},{r['param']},{r['bytes']:.1f},{r['psnr']:.3f},{r['ssim']:.4f}\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(HERE.parent.parent.parent / "shared/data/pneumoniamnist.npz"))
    ap.add_argument("--run", default="/tmp/vaelab-bench/pneumonia-image")
    ap.add_argument("--out", default="/tmp/vaelab-bench/image_restoration")
    ap.add_argument("--n-test", type=int, default=None, help="N evenly spaced test images (default all)")
    ap.add_argument("--sample-n", type=int, default=40)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only-compression", action="store_true", help="the compression part alone")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from vaelab.data.io import load_data
    from vaelab.modalities.image.restoration import ImagePosterior
    from vaelab.runs import load_run, train_run

    tr, te = load_data(a.data, split="train"), load_data(a.data, split="test")
    t0 = time.time()
    if not Path(a.run).is_dir():
        train_run(tr, a.run, model="vaelab-image", seed=0, progress=False, device="cpu")
    run = load_run(a.run)
    gen = run.generator
    post = ImagePosterior(gen)
    n = min(a.n_test or te.n, te.n)
    pick = np.unique(np.linspace(0, te.n - 1, n).round().astype(int))  # evenly spaced: both classes
    u, y = te.X[pick] / 255.0, te.y[pick]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda r: print(r, flush=True)  # noqa: E731
    mean_img = tr.X.mean(axis=0) / 255.0
    if a.only_compression:
        comp = compression(post, gen, u, y, tr.X / 255.0, tr.y, log)
        _write_compression(out, comp)
        rd_figure(out, comp)
        for r in comp:
            print("  " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
        return 0
    inp, u_sub, mask, bh, done, s = completion(post, u, y, mean_img, min(a.sample_n, n), a.samples, a.seed, log)
    log(f"completion done {time.time() - t0:.0f} s")
    den, noisy, best, vae = denoising(post, u, y, a.seed, log)
    log(f"denoising done {time.time() - t0:.0f} s")
    comp = compression(post, gen, u, y, tr.X / 255.0, tr.y, log)
    figures(out, u_sub, u, mask, bh, done, s, noisy, best, vae, comp)
    res = {"data": a.data, "run": a.run, "n_test": n, "completion": inp, "denoising": den, "compression": comp,
           "wall_s": time.time() - t0}
    (out / "results.json").write_text(json.dumps(res, indent=1))
    _write_compression(out, comp)
    for part in ("completion", "denoising", "compression"):
        print(f"\n## {part}")
        for r in res[part]:
            print("  " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}"
                                  for k, v in r.items() if k != "grid"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
