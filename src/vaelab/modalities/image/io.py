"""Image data: readers (npz ``X`` (n, H, W[, C]), the MedMNIST npz layout, class folders of PNG/JPEG)
and writers (npz, class folders of PNG).

Pixels are float in memory; the file's type is recorded in ``Dataset.spec.dtype`` (``uint8`` for PNG/JPEG),
so generated images are rounded and written as uint8 again (npz: :func:`vaelab.data.io.write_data`; PNG
folders: :func:`write_png_folder`); float images stay float. Every problem with the input
(a corrupt file, images of different sizes, an empty class folder, an unknown split) is one
:class:`~vaelab.core.errors.InputError` line, raised before anything is written.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset, Layout
from vaelab.data.sample import SampleSpec

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MEDMNIST_SPLITS = ("train", "val", "test")
_SAFE = re.compile(r"[^A-Za-z0-9._ -]")


def is_image_shape(feature_shape: tuple[int, ...]) -> bool:
    """(H, W) or (H, W, C) with C in 1..4 and H, W >= 2: what vaelab treats as an image."""
    s = tuple(feature_shape)
    return (len(s) == 2 and min(s) >= 2) or (len(s) == 3 and min(s[:2]) >= 2 and 1 <= s[2] <= 4)


def is_image_dataset(ds: Dataset) -> bool:
    return ds.spec is not None and ds.spec.kind == "image"


def _spec(X: np.ndarray, dtype: Any) -> SampleSpec:
    shape = X.shape[1:]
    return SampleSpec.image(shape[0], shape[1], shape[2] if len(shape) == 3 else None, dtype=np.dtype(dtype).name)


def npz_kind(path: Path) -> str:
    """``"medmnist"`` (``train_images`` ...), ``"plain"`` (``X``/``y``) or ``"other"``; without reading arrays."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n[:-4] if n.endswith(".npy") else n for n in zf.namelist()}
    except (zipfile.BadZipFile, OSError):
        return "other"
    if any(f"{s}_images" in names for s in MEDMNIST_SPLITS) and "X" not in names:
        return "medmnist"
    return "plain" if {"X", "y"} <= names else "other"


def load_medmnist(path: str | Path, split: str = "train") -> Dataset:
    """The ``split`` part (train | val | test) of an npz in the MedMNIST layout: ``{split}_images``
    (n, H, W) or (n, H, W, C) and ``{split}_labels`` (n,) or (n, 1) integer classes."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as z:
        splits = [s for s in MEDMNIST_SPLITS if f"{s}_images" in z.files]
        if split not in splits:
            raise InputError(f"{path}: unknown split {split!r}; this file has {', '.join(splits)}")
        if f"{split}_labels" not in z.files:
            raise InputError(f"{path}: has {split}_images but no {split}_labels")
        try:
            X, lab = z[f"{split}_images"], z[f"{split}_labels"]
        except ValueError:
            raise InputError(f"{path}: npz holds object arrays (pickled data), refused") from None
    if X.dtype.kind not in "iuf" or X.ndim not in (3, 4) or not is_image_shape(X.shape[1:]):
        raise InputError(f"{path}: {split}_images must be numeric (n, H, W) or (n, H, W, C), got {X.dtype} {X.shape}")
    if len(X) == 0:
        raise InputError(f"{path}: {split}_images holds no images")
    if lab.ndim == 2 and lab.shape[1] == 1:
        lab = lab[:, 0]
    if lab.ndim != 1 or len(lab) != len(X) or lab.dtype.kind not in "iu":
        raise InputError(f"{path}: {split}_labels must hold one integer class per image (multi-label sets are not "
                         f"supported), got {lab.dtype} {lab.shape}")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        raise InputError(f"{path}: {split}_images contains NaN or infinite values")
    spec = _spec(X, X.dtype)
    X = X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    return Dataset(X=X, y=lab.astype(np.int64), layout=Layout(kind="npz"), source=f"{path}[{split}]", spec=spec)


def load_image_folder(path: str | Path) -> Dataset:
    """A folder with one sub-folder per class, each holding PNG / JPEG files of one size.

    Grey images give (n, H, W); as soon as one image has colour, all are read as RGB (n, H, W, 3)
    (an alpha channel is dropped). Files with other suffixes and hidden files are ignored.
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(path)
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise InputError(f"{root}: a folder of images needs one sub-folder per class; found none")
    files: list[tuple[Path, str]] = []
    for d in classes:
        own = sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith(".")
                     and f.suffix.lower() in IMAGE_SUFFIXES)
        if not own:
            raise InputError(f"{d}: class folder holds no PNG/JPEG images")
        files += [(f, d.name) for f in own]
    images: list[Image.Image] = []
    for f, _ in files:
        try:
            with Image.open(f) as im:
                im.load()
                images.append(im.copy())
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise InputError(f"{f}: not a readable image ({e.__class__.__name__})") from None
    sizes = {im.size for im in images}
    if len(sizes) > 1:
        first = images[0].size
        odd = next(i for i, im in enumerate(images) if im.size != first)
        raise InputError(f"{files[odd][0]}: is {images[odd].size[0]}x{images[odd].size[1]} pixels, "
                         f"{files[0][0].name} is {first[0]}x{first[1]}; all images must have one size")
    for (f, _), im in zip(files, images, strict=True):
        if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            raise InputError(f"{f}: {im.mode} (16-bit or float) images are not supported; save as 8-bit")
    grey = all(im.mode in ("L", "1", "LA") or (im.mode == "P" and _palette_is_grey(im)) for im in images)
    X8 = np.stack([np.asarray(im.convert("L" if grey else "RGB"), dtype=np.uint8) for im in images])
    y = np.asarray([c for _, c in files], dtype=object)
    if all(re.fullmatch(r"-?\d{1,18}", c) for c in set(y.tolist())):
        y = np.asarray([int(c) for c in y.tolist()], dtype=np.int64)
    return Dataset(X=X8.astype(np.float64), y=y, layout=Layout(kind="npz"), source=str(root), spec=_spec(X8, np.uint8))


def _palette_is_grey(im: Any) -> bool:
    rgb = np.asarray(im.convert("RGB"))
    return bool(np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]))


# --------------------------------------------------------------------------- writing


def _folder_name(label: Any) -> str:
    name = _SAFE.sub("_", str(label)).strip(" .")
    return name or "_"


def write_png_folder(ds: Dataset, path: str | Path) -> Path:
    """One sub-folder per class holding ``00000.png``, ... (8-bit grey or RGB), atomically.

    Float images must lie in [0, 1] (they are scaled by 255 and rounded); uint8 images are written as
    they are.
    """
    from PIL import Image

    path = Path(path)
    X = np.asarray(ds.X, dtype=np.float64)
    if ds.spec is None or ds.spec.dtype != "uint8":
        if X.min(initial=0) < 0 or X.max(initial=0) > 1:
            raise InputError(f"{path}: images that are not uint8 must lie in [0, 1] to be written as PNG; "
                             "write an .npz")
        X = X * 255.0
    X8 = np.clip(np.rint(X), 0, 255).astype(np.uint8)
    if X8.ndim == 4 and X8.shape[-1] == 1:
        X8 = X8[..., 0]
    names = [_folder_name(v) for v in ds.y.tolist()]
    if len(set(names)) != len({str(v) for v in ds.y.tolist()}):
        raise InputError(f"{path}: two class names map to one folder name; write an .npz")
    with atomic_dir(path) as tmp:
        counters: dict[str, int] = {}
        for img, name in zip(X8, names, strict=True):
            i = counters.get(name, 0)
            counters[name] = i + 1
            (tmp / name).mkdir(exist_ok=True)
            Image.fromarray(img).save(tmp / name / f"{i:05d}.png", optimize=False)
    return path
