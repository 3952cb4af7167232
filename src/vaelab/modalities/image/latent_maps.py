"""``vaelab latent``: posterior means of images, a 2-D map coloured by class, interpolations, traversals.

* ``latent.npz``: ``mu`` and ``logvar`` (n, L) of the encoder, ``y``, the 2-D map ``map2d`` (n, 2) and the
  PCA directions ``components`` (k, L) / ``explained_variance`` (k,) of the posterior means.
* ``map.png``: the posterior means projected on their first two principal components (PCA of the means of
  the given images; linear, so distances along the axes are latent distances), coloured by class.
* ``interpolation.png``: for pairs of images of two different classes, the decoder mean along the straight
  line between their codes; the class input of the decoder switches from the first image's to the second's
  at the midpoint (the model is class-conditional, the code carries what is not the class).
* ``traversals.png``: per class, the decoder mean at the class's mean code plus ``-2..2`` standard deviations
  along each of the first three principal directions.
* ``latent.json``: the summary (sizes, variance along the principal directions and in all, mean posterior
  standard deviation per class, leave-one-out nearest-centroid accuracy of the codes against chance) and
  ``report.html``, its page (:mod:`vaelab.reporting.report_latent_images`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir, write_text
from vaelab.core.errors import InputError


def pca(mu: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (L,), the first ``k`` principal directions (k, L) and their variances (k,) of ``mu`` (n, L)."""
    centre = mu.mean(axis=0)
    _, s, vt = np.linalg.svd(mu - centre, full_matrices=False)
    k = min(k, len(s))
    var = s[:k] ** 2 / max(len(mu) - 1, 1)
    comps = vt[:k] * np.sign(vt[:k, :1] + 1e-300)  # sign convention: first coordinate >= 0
    return centre, comps, var


def centroid_accuracy(mu: np.ndarray, keys: np.ndarray) -> float | None:
    """Leave-one-out nearest-class-centroid accuracy of the codes ``mu`` (n, L) for labels ``keys`` (n,).

    Each code is assigned to the class whose mean code (without the code itself) is nearest (Euclidean).
    ``None`` when a class has a single image (no centroid without it) or there is one class.
    """
    classes, idx, counts = np.unique(keys, return_inverse=True, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        return None
    sums = np.stack([mu[idx == k].sum(axis=0) for k in range(len(classes))])
    d = np.empty((len(mu), len(classes)))
    for k in range(len(classes)):
        own = idx == k
        cen = np.where(own[:, None], (sums[k] - mu) / np.maximum(counts[k] - 1, 1), sums[k] / counts[k])
        d[:, k] = np.linalg.norm(mu - cen, axis=1)
    return float(np.mean(d.argmin(axis=1) == idx))


def latent_report(run_path: str | Path, ds, out: str | Path, *, seed: int = 0, steps: int = 7,
                  command_line: str | None = None) -> dict[str, Any]:
    """Write ``latent.npz``, the three figures, ``latent.json`` and ``report.html`` into the new folder ``out``."""
    from vaelab.modalities.image.restoration import check_image_model
    from vaelab.runs import load_run

    run = load_run(run_path)
    check_image_model(run.generator, "latent")
    if ds.spec.kind != "image":
        raise InputError(f"latent needs images; the input holds {ds.spec.describe()}")
    Xm = run.to_model_space(ds, "the input")
    gen = run.generator
    keys = np.asarray([str(v) for v in np.asarray(ds.y, dtype=object).tolist()])
    known = {str(c) for c in np.asarray(gen.classes_, dtype=object).tolist()}
    if not set(keys) <= known:
        raise InputError(f"latent needs images labelled with the run's classes ({', '.join(sorted(known))})")
    y = _run_labels(gen, keys)
    mu, logvar = gen.encode(Xm, y)
    centre, comps, var = pca(mu, min(3, mu.shape[1]))
    map2d = (mu - centre) @ comps[:2].T
    classes = list(dict.fromkeys(str(c) for c in np.asarray(gen.classes_, dtype=object).tolist()))
    with atomic_dir(out) as d:
        with open(d / "latent.npz", "wb") as f:
            np.savez_compressed(f, mu=mu, logvar=logvar, y=keys, map2d=map2d, components=comps,
                                explained_variance=var)
        _map_figure(map2d, keys, classes, d / "map.png")
        _interp_figure(gen, mu, y, keys, classes, d / "interpolation.png", seed=seed, steps=steps)
        _traversal_figure(gen, mu, y, keys, classes, comps, var, d / "traversals.png")
        summary = _summary(run_path, ds, mu, logvar, keys, classes, var, seed, command_line)
        write_text(d / "latent.json", json.dumps(summary, indent=1, allow_nan=False) + "\n")
        from vaelab.reporting.report import write_report_html

        write_report_html(d, name=out)
    return summary


def _summary(run_path, ds, mu, logvar, keys, classes, var, seed, command_line) -> dict[str, Any]:
    from vaelab import __version__

    present = [k for k in classes if np.any(keys == k)]
    counts = [int(np.sum(keys == k)) for k in present]
    sd = np.exp(0.5 * logvar)
    total = float(mu.var(axis=0, ddof=1).sum()) if len(mu) > 1 else 0.0
    return {"kind": "latent", "run": str(run_path), "input": str(ds.source or "in memory"), "n": int(len(mu)),
            "latent_dim": int(mu.shape[1]), "seed": int(seed), "classes": present, "class_counts": counts,
            "explained_variance": [float(v) for v in var],
            "total_variance": total, "map_variance_share": float(sum(var[:2]) / total) if total > 0 else None,
            "posterior_sd": {k: float(sd[keys == k].mean()) for k in present},
            "centroid_accuracy": centroid_accuracy(mu, keys), "chance_accuracy": max(counts) / len(mu),
            "vaelab_version": __version__, "command_line": command_line}


def _run_labels(gen, keys: np.ndarray) -> np.ndarray:
    lookup = {str(c): c for c in np.asarray(gen.classes_, dtype=object).tolist()}
    return np.asarray([lookup[k] for k in keys], dtype=object)


def _img(a: np.ndarray) -> np.ndarray:
    return a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a


def _map_figure(map2d, keys, classes, path) -> None:
    from vaelab.reporting.figures import _plt, _save

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for k in classes:
        sel = keys == k
        ax.scatter(map2d[sel, 0], map2d[sel, 1], s=6, alpha=0.6, label=f"{k} ({sel.sum()})")
    ax.set_xlabel("PC 1 of posterior means")
    ax.set_ylabel("PC 2 of posterior means")
    ax.set_title("latent map (PCA of encoder means)")
    ax.legend(markerscale=2, fontsize=8)
    _save(fig, path)


def _decode_mean(gen, z, labels) -> np.ndarray:
    return gen.decode(np.asarray(z), np.asarray(labels, dtype=object))[0]


def _interp_figure(gen, mu, y, keys, classes, path, *, seed: int, steps: int) -> None:
    from vaelab.reporting.figures import _plt, _save

    plt = _plt()
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for i, a in enumerate(classes) for b in classes[i + 1:]][:6] or [(classes[0], classes[0])]
    rows = []
    for a, b in pairs:
        ia, ib = np.flatnonzero(keys == a), np.flatnonzero(keys == b)
        if len(ia) == 0 or len(ib) == 0:
            continue
        for _ in range(2 if len(pairs) < 3 else 1):
            i, j = int(rng.choice(ia)), int(rng.choice(ib))
            t = np.linspace(0, 1, steps)
            z = (1 - t)[:, None] * mu[i] + t[:, None] * mu[j]
            lab = np.where(t < 0.5, y[i], y[j])
            rows.append((f"{a} -> {b}", _decode_mean(gen, z, lab)))
    lo, hi = (float(v) for v in gen.extra_["scale"][:2])
    fig, axes = plt.subplots(len(rows), steps, figsize=(1.1 * steps, 1.2 * len(rows)), squeeze=False)
    for r, (name, imgs) in enumerate(rows):
        for s in range(steps):
            ax = axes[r, s]
            ax.axis("off")
            ax.imshow(_img(imgs[s]), cmap="gray", vmin=lo, vmax=hi)
        axes[r, 0].set_title(name, fontsize=7, loc="left")
    _save(fig, path)


def _traversal_figure(gen, mu, y, keys, classes, comps, var, path) -> None:
    from vaelab.reporting.figures import _plt, _save

    plt = _plt()
    offs = np.linspace(-2, 2, 5)
    lo, hi = (float(v) for v in gen.extra_["scale"][:2])
    rows = [(k, p) for k in classes for p in range(len(comps)) if np.any(keys == k)]
    fig, axes = plt.subplots(len(rows), len(offs), figsize=(1.1 * len(offs), 1.2 * len(rows)), squeeze=False)
    for r, (k, p) in enumerate(rows):
        sel = keys == k
        z = mu[sel].mean(axis=0) + offs[:, None] * np.sqrt(var[p]) * comps[p]
        imgs = _decode_mean(gen, z, np.repeat(y[sel][:1], len(offs)))
        for s in range(len(offs)):
            ax = axes[r, s]
            ax.axis("off")
            ax.imshow(_img(imgs[s]), cmap="gray", vmin=lo, vmax=hi)
        axes[r, 0].set_title(f"class {k}, PC {p + 1} (-2..2 sd)", fontsize=7, loc="left")
    _save(fig, path)
