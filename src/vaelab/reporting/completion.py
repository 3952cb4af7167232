"""``vaelab inpaint … --report DIR`` and ``vaelab restore … --report DIR``: the npz plus a result folder with its page.

The commands write one npz (the data product). With ``--report DIR`` they also write a result folder
``DIR`` (``completion.json`` or ``restoration.json``, one figure, ``report.html``) that ``vaelab report``
renders like any other. Both outputs appear together or not at all: the npz is written into the
report's temporary folder first, the numbers and the figure are computed from it, and only then is
the npz copied to its place and the folder moved into place.

Quality numbers only where the truth is known:

* inpaint: the input images are complete (vaelab applies the mask), so PSNR / SSIM
  (:mod:`vaelab.modalities.image.quality`) in the missing region and on the whole image are measured
  against the input, beside scikit-image's biharmonic inpainting and a trivial fill with the mean of
  each image's observed pixels; with ``--samples K`` the completion diversity too.
* restore: only with ``--reference CLEAN`` (the clean images, same order); then the noisy input and the
  restoration against them. Without it the page shows input vs restored and the noise level used.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from vaelab import __version__
from vaelab.core.atomic import atomic_dir, atomic_file, write_text
from vaelab.core.errors import InputError


def _npz_target(out: str | Path, report: str | Path) -> Path:
    out = Path(out)
    if out.suffix != ".npz":
        raise InputError(f"{out}: the output must be an .npz file")
    if out.resolve().is_relative_to(Path(report).resolve()):
        raise InputError(f"{out}: the npz must not be inside the report folder {report} (the folder is replaced "
                         "as a whole)")
    return out


def _data_range(ds, run, unit: bool = False) -> float:
    """The pixel range PSNR / SSIM are read against: 1 in [0, 1] units, the dtype's range for integer
    images (255 for uint8), else the run's pixel range."""
    if unit:
        return 1.0
    if ds.spec.dtype is not None and np.issubdtype(np.dtype(ds.spec.dtype), np.integer):
        info = np.iinfo(np.dtype(ds.spec.dtype))
        return float(info.max - info.min)
    lo, hi = (float(v) for v in run.generator.extra_["scale"][:2])
    return hi - lo


def _mean(v: np.ndarray) -> float | None:
    """The mean over images; ``None`` when a value is not finite (a perfect image has PSNR inf)."""
    m = float(np.mean(v))
    return m if np.isfinite(m) else None


def _quality(truth: np.ndarray, est: np.ndarray, rng: float, region: np.ndarray | None = None) -> dict[str, Any]:
    from vaelab.modalities.image.quality import psnr, ssim

    return {"psnr": _mean(psnr(truth, est, rng, region)), "ssim": _mean(ssim(truth, est, rng, region))}


def _show(a: np.ndarray) -> np.ndarray:
    return a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a


def _grid(columns: list[tuple[str, np.ndarray]], path: Path, lo: float, hi: float, k: int = 6) -> None:
    """Rows of images (the first ``k``), one column per (title, images (n, H, W[, C]))."""
    from vaelab.reporting.figures import _plt, _save

    plt = _plt()
    k = min(k, len(columns[0][1]))
    fig, ax = plt.subplots(k, len(columns), figsize=(1.25 * len(columns), 1.3 * k), squeeze=False)
    for i in range(k):
        for j, (title, imgs) in enumerate(columns):
            im = (np.asarray(imgs[i], np.float64) - lo) / max(hi - lo, 1e-12)
            ax[i, j].imshow(np.clip(_show(im), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax[i, j].axis("off")
            if i == 0:
                ax[i, j].set_title(title, fontsize=7)
    _save(fig, path)


def _provenance(run_path, ds, out: Path, command_line: str | None) -> dict[str, Any]:
    return {"run": str(run_path), "input": str(ds.source or "in memory"), "output": str(out), "n": int(ds.n),
            "image_shape": [int(v) for v in ds.feature_shape]}


def _finish(tmp: Path, npz: Path, out: Path, report: str | Path, name: str, doc: dict[str, Any]) -> None:
    """Write the json and the page into ``tmp``, then copy the npz to ``out`` (atomically) and drop it from ``tmp``."""
    from vaelab.reporting.report import write_report_html

    write_text(tmp / name, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    write_report_html(tmp, name=report)
    with atomic_file(out) as t:
        shutil.copyfile(npz, t)
    npz.unlink()


def inpaint_with_report(run_path: str | Path, ds, mask_spec: str, out: str | Path, report: str | Path, *,
                        samples: int = 1, seed: int = 0, command_line: str | None = None) -> dict[str, Any]:
    """``vaelab inpaint`` writing ``out`` (npz) and the result folder ``report``; returns ``completion.json``."""
    from skimage.restoration import inpaint_biharmonic

    from vaelab.modalities.image.commands import inpaint_file
    from vaelab.modalities.image.masks import pixel_mask
    from vaelab.modalities.image.quality import completion_diversity
    from vaelab.runs import load_run

    out = _npz_target(out, report)
    with atomic_dir(report) as tmp:
        npz = tmp / "completed.npz"
        info = inpaint_file(run_path, ds, mask_spec, npz, samples=samples, seed=seed)
        with np.load(npz, allow_pickle=False) as z:
            done, mask = z["X"].astype(np.float64), z["mask"]
            draws = z["samples"].astype(np.float64) if "samples" in z.files else None
        truth = np.asarray(ds.X, np.float64)
        rng = _data_range(ds, load_run(run_path))
        colour = truth.ndim == 4
        bh = np.stack([inpaint_biharmonic(np.where(pixel_mask(m[None], x.shape)[0], 0, x), m,
                                          channel_axis=-1 if colour else None) for x, m in zip(truth, mask, strict=True)])
        miss = pixel_mask(mask, ds.feature_shape)
        obs_mean = np.stack([x[~mm].mean() if (~mm).any() else x.mean() for x, mm in zip(truth, miss, strict=True)])
        fill = np.where(miss, obs_mean.reshape(-1, *[1] * (truth.ndim - 1)), truth)
        est = {"vaelab-image": done, "biharmonic": bh, "observed mean fill": fill}
        doc: dict[str, Any] = {"kind": "inpaint", **_provenance(run_path, ds, out, command_line), "data_range": rng,
                               "mask": str(mask_spec), "missing_fraction": float(mask.mean()), "samples": int(samples),
                               "methods": list(est),
                               "region": {k: _quality(truth, v, rng, mask) for k, v in est.items()},
                               "whole": {k: _quality(truth, v, rng) for k, v in est.items()}}
        if draws is not None:
            doc["diversity"] = {"mean": float(np.mean(completion_diversity(draws, mask)))}
        doc.update(vaelab_version=__version__, command_line=command_line)
        lo, hi = float(truth.min()), float(truth.max())
        shown = np.where(miss, (lo + hi) / 2, truth)
        cols = [("input (grey: missing)", shown), ("biharmonic", bh), ("vaelab-image", done), ("truth", truth)]
        if draws is not None:
            cols += [(f"draw {j + 1}", draws[:, j]) for j in range(min(3, draws.shape[1]))]
        _grid(cols, tmp / "completion.png", lo, hi)
        _finish(tmp, npz, out, report, "completion.json", doc)
    return {**info, "report": doc}


def restore_with_report(run_path: str | Path, ds, out: str | Path, report: str | Path, *, sigma: float | None = None,
                        unit: bool = False, reference=None, command_line: str | None = None) -> dict[str, Any]:
    """``vaelab restore`` writing ``out`` (npz) and the result folder ``report``; ``reference``: the clean
    images (a dataset of the same images, same order) or ``None``. Returns ``restoration.json``."""
    from vaelab.modalities.image.commands import restore_file
    from vaelab.runs import load_run

    out = _npz_target(out, report)
    if reference is not None and (reference.n != ds.n or tuple(reference.feature_shape) != tuple(ds.feature_shape)):
        raise InputError(f"the reference holds {reference.n} images of {reference.feature_shape}; the input "
                         f"{ds.n} of {ds.feature_shape} (give the clean images in the same order)")
    with atomic_dir(report) as tmp:
        npz = tmp / "restored.npz"
        info = restore_file(run_path, ds, npz, sigma=sigma, unit=unit)
        with np.load(npz, allow_pickle=False) as z:
            restored, sig = z["X"].astype(np.float64), z["sigma"].astype(np.float64)
        noisy = np.asarray(ds.X, np.float64)
        rng = _data_range(ds, load_run(run_path), unit)
        quality: dict[str, Any] = {}
        cols = [("noisy input", noisy), ("vaelab-image", restored)]
        if reference is not None:
            clean = np.asarray(reference.X, np.float64)
            quality = {"noisy input": _quality(clean, noisy, rng), "vaelab-image": _quality(clean, restored, rng)}
            cols.append(("clean reference", clean))
        doc = {"kind": "restore", **_provenance(run_path, ds, out, command_line), "data_range": rng,
               "sigma": {"given": sigma is not None, "mean": float(sig.mean()), "min": float(sig.min()),
                         "max": float(sig.max())},
               "reference": None if reference is None else str(reference.source or "in memory"),
               "quality": quality, "vaelab_version": __version__, "command_line": command_line}
        lo, hi = (0.0, 1.0) if unit else tuple(float(v) for v in load_run(run_path).generator.extra_["scale"][:2])
        _grid(cols, tmp / "restoration.png", lo, hi)
        _finish(tmp, npz, out, report, "restoration.json", doc)
    return {**info, "report": doc}


__all__ = ["inpaint_with_report", "restore_with_report"]
