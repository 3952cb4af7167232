"""Library side of ``vaelab inpaint`` and ``vaelab restore``: read a run and a data set, check, compute, write
one npz atomically (nothing is written when an input is refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_file
from vaelab.core.errors import InputError


def _open(run_path: str | Path, ds, what: str):
    from vaelab.modalities.image.restoration import ImagePosterior, check_image_model
    from vaelab.runs import load_run

    run = load_run(run_path)
    check_image_model(run.generator, what)
    if ds.spec.kind != "image":
        raise InputError(f"{what} needs images; the input holds {ds.spec.describe()}")
    run.to_model_space(ds, "the input")  # checks the shape
    return run, ImagePosterior(run.generator)


def _cast(X: np.ndarray, dtype: str | None) -> np.ndarray:
    if dtype is not None and np.issubdtype(np.dtype(dtype), np.integer):
        info = np.iinfo(np.dtype(dtype))
        return np.clip(np.round(X), info.min, info.max).astype(dtype)
    return np.asarray(X, np.float32)


def _write_npz(out: str | Path, arrays: dict[str, np.ndarray]) -> None:
    out = Path(out)
    if out.suffix != ".npz":
        raise InputError(f"{out}: the output must be an .npz file")
    with atomic_file(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def _labels(y: np.ndarray) -> np.ndarray:
    return np.asarray([str(v) for v in np.asarray(y, dtype=object).tolist()])


def inpaint_file(run_path: str | Path, ds, mask_spec: str, out: str | Path, *, samples: int = 1,
                 seed: int = 0) -> dict[str, Any]:
    """Complete the images of ``ds`` under ``mask_spec`` (see :mod:`masks`) and write ``out`` (npz:
    ``X`` completed in the input's dtype, ``mask`` (n, H, W) True = was missing, ``y``, and with
    ``samples > 1`` ``samples`` (n, K, *shape))."""
    from vaelab.modalities.image.masks import make_mask, pixel_mask

    if samples < 1:
        raise InputError("--samples must be at least 1")
    mask = make_mask(mask_spec, ds.n, ds.feature_shape, seed=seed)
    run, post = _open(run_path, ds, "inpaint")
    Xm = run.preprocessing.transform(ds.X)
    done, draws = post.inpaint(Xm, ds.y, mask, samples=samples, seed=seed)
    miss = pixel_mask(mask, ds.feature_shape)
    inv = run.preprocessing.inverse_transform
    X = np.where(miss, inv(done.reshape(ds.n, *ds.feature_shape)), ds.X)
    arrays = {"X": _cast(X, ds.spec.dtype), "mask": mask, "y": _labels(ds.y)}
    if draws is not None:
        k = draws.shape[1]
        back = inv(draws.reshape(ds.n * k, *ds.feature_shape)).reshape(draws.shape)
        arrays["samples"] = _cast(np.where(miss[:, None], back, ds.X[:, None]), ds.spec.dtype)
    _write_npz(out, arrays)
    return {"n": ds.n, "missing_fraction": float(mask.mean()), "samples": samples}


def restore_file(run_path: str | Path, ds, out: str | Path, *, sigma: float | None = None,
                 unit: bool = False) -> dict[str, Any]:
    """Denoise the images of ``ds`` (additive Gaussian noise of standard deviation ``sigma`` in the input's
    units, or estimated per image) and write ``out`` (npz: ``X`` restored, float32; ``y``; ``sigma`` (n,))."""
    from vaelab.modalities.image.restoration import estimate_sigma

    if sigma is not None and not (np.isfinite(sigma) and sigma >= 0):
        raise InputError("--sigma must be a finite number >= 0")
    run, post = _open(run_path, ds, "restore")
    if not np.all(np.isfinite(ds.X)):
        raise InputError("the input images contain NaN or infinite values")
    if run.preprocessing.spec != "none":
        raise InputError("restore needs a run trained without preprocessing (vaelab-image's default, --preprocess none)")
    sig = estimate_sigma(ds.X) if sigma is None else np.full(ds.n, float(sigma))
    X = post.restore(ds.X, ds.y, sig, unit=unit)
    _write_npz(out, {"X": X.astype(np.float32), "y": _labels(ds.y), "sigma": sig})
    return {"n": ds.n, "sigma": float(np.mean(sig)), "estimated": sigma is None}


def _run_fingerprint(run_path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in ("config.json", "weights.safetensors"):
        h.update((Path(run_path) / name).read_bytes())
    return h.hexdigest()[:16]


def _levels(scale) -> int:
    lo, hi, step = (float(v) for v in scale)
    return int(round((hi - lo) / step)) if step > 0 else 0


CODEC_FILE = "codec.safetensors"


def _codec_basis(run_path: str | Path, gen):
    """The run's :class:`codec.PcaBasis` and its fingerprint, or ``(None, None)`` when the run has none."""
    import hashlib

    from vaelab.modalities.image.codec import PcaBasis

    f = Path(run_path) / CODEC_FILE
    if not f.is_file():
        return None, None
    basis = PcaBasis.load(f, int(np.prod(gen.feature_shape_)))
    return basis, hashlib.sha256(f.read_bytes()).hexdigest()[:16]


def fit_codec_file(run_path: str | Path, ds) -> dict[str, Any]:
    """Fit the PCA part of the codec (:class:`codec.PcaBasis`) on the images of ``ds`` (the run's training
    images) and write ``RUN/codec.safetensors``; later ``compress`` calls choose per image among its modes."""
    from vaelab.modalities.image.codec import PcaBasis

    run, post = _open(run_path, ds, "compress --fit")
    if run.preprocessing.spec != "none":
        raise InputError("compress needs a run trained without preprocessing (vaelab-image's default)")
    if not np.all(np.isfinite(ds.X)):
        raise InputError("the input images contain NaN or infinite values")
    u = post.to_unit_nchw(ds.X, False).double().numpy().clip(0, 1)
    PcaBasis.fit(u.reshape(len(u), -1)).save(Path(run_path) / CODEC_FILE)
    return {"n": ds.n, "path": str(Path(run_path) / CODEC_FILE)}


def compress_file(run_path: str | Path, ds, out: str | Path, *, quality: float = 50.0) -> dict[str, Any]:
    """Compress the images of ``ds`` with the run's model (:mod:`vaelab.modalities.image.codec`; with the
    run's codec file, the best mode per image) into ``out`` (:mod:`vaelab.modalities.image.codec_file`).
    Returns n, bytes and bytes per image."""
    from vaelab.modalities.image.codec import VaeCodec, quality_steps
    from vaelab.modalities.image.codec_file import pack_file

    quality_steps(quality)  # validates
    run, post = _open(run_path, ds, "compress")
    if run.preprocessing.spec != "none":
        raise InputError("compress needs a run trained without preprocessing (vaelab-image's default)")
    if not np.all(np.isfinite(ds.X)):
        raise InputError("the input images contain NaN or infinite values")
    gen = run.generator
    basis, fingerprint = _codec_basis(run_path, gen)
    codec = VaeCodec(gen, levels=_levels(gen.extra_["scale"]), basis=basis)
    u = post.to_unit_nchw(ds.X, False).double().numpy().clip(0, 1)
    z, c = codec.codes(u, ds.y)
    blobs, _ = codec.encode(u, z, c, quality)
    header = {"quality": float(quality), "run": _run_fingerprint(run_path), "shape": list(gen.feature_shape_),
              "classes": _labels(gen.classes_).tolist(), "dtype": str(ds.spec.dtype or np.asarray(ds.X).dtype),
              "codec": fingerprint}
    data = pack_file(header, blobs)
    out = Path(out)
    with atomic_file(out) as tmp:
        Path(tmp).write_bytes(data)
    return {"n": ds.n, "bytes": len(data), "bytes_per_image": len(data) / max(ds.n, 1)}


def decompress_file(run_path: str | Path, path: str | Path, out: str | Path) -> dict[str, Any]:
    """Decode a file of :func:`compress_file` with the same run (and the same codec file); writes ``out``
    (npz: ``X`` in the original dtype and scale, ``y`` the class labels)."""
    import torch

    from vaelab.modalities.image.codec import VaeCodec
    from vaelab.modalities.image.codec_file import unpack_file
    from vaelab.modalities.image.restoration import ImagePosterior, check_image_model
    from vaelab.runs import load_run

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    head, blobs = unpack_file(data, path)
    run = load_run(run_path)
    check_image_model(run.generator, "decompress")
    gen = run.generator
    if head.get("run") != _run_fingerprint(run_path):
        raise InputError(f"{path} was compressed with another run than {run_path}")
    if head.get("shape") != list(gen.feature_shape_) or head.get("classes") != _labels(gen.classes_).tolist():
        raise InputError(f"{path}: header does not match the run (shape / classes)")
    q, dtype = head.get("quality"), head.get("dtype")
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not isinstance(dtype, str):
        raise InputError(f"{path}: corrupt header (quality / dtype)")
    try:
        np.dtype(dtype)
    except TypeError:
        raise InputError(f"{path}: corrupt header (dtype {dtype!r})") from None
    basis = None
    if head.get("codec") is not None:
        basis, fingerprint = _codec_basis(run_path, gen)
        if fingerprint != head.get("codec"):
            raise InputError(f"{path} was compressed with another codec file than {Path(run_path) / CODEC_FILE}")
    codec = VaeCodec(gen, levels=_levels(gen.extra_["scale"]), basis=basis)
    try:
        u, c = codec.decode(blobs, float(q))
    except (ValueError, OverflowError, IndexError, ZeroDivisionError):
        raise InputError(f"{path}: corrupt compressed data") from None
    post = ImagePosterior(gen)
    X = post.from_unit_nchw(torch.as_tensor(u), False)
    _write_npz(out, {"X": _cast(X, dtype), "y": _labels(gen.classes_)[c] if len(c) else np.asarray([], str)})
    return {"n": len(blobs), "quality": float(q)}
