"""Run folders: train a generator on a data set and keep everything needed to use it again.

A run folder holds

* ``config.json`` + ``weights.safetensors`` — the generator (safetensors + JSON, never a pickle)
* ``preprocessing.json`` — the fitted preprocessing (model space = after it)
* ``run.json`` — what was trained on what: model, seed, the device it trained on, data shape,
  classes and their counts, the input's layout (so outputs can be written the same way), the
  spectral axis (``data.axis``) and the sample description (``data.sample``:
  :class:`~vaelab.data.sample.SampleSpec` without the axis; run folders written before it existed
  get one inferred from ``feature_shape``)
* ``history.csv`` and ``loss.png`` — loss terms per epoch (torch models)

The folder is assembled under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vaelab import __version__
from vaelab.core.atomic import atomic_dir, is_replaceable, normalise_safetensors, write_text
from vaelab.core.errors import InputError
from vaelab.core.labels import labels_from_json, labels_to_json
from vaelab.data.dataset import Dataset, Layout
from vaelab.data.preprocess import Preprocessing
from vaelab.data.sample import SampleSpec
from vaelab.models import (
    DEFAULT_PREPROCESS,
    check_model_supports,
    default_model,
    get_model,
    load_model,
)
from vaelab.models.base import check_training_data
from vaelab.training.checkpoint import latest_checkpoint, partial_path, remove_checkpoints
from vaelab.training.trainer import TrainingDiverged, history_to_csv

RUN_FILE = "run.json"


@dataclass
class Run:
    """A loaded run folder."""

    path: Path
    generator: Any
    preprocessing: Preprocessing
    meta: dict[str, Any]

    @property
    def classes(self) -> np.ndarray:
        return labels_from_json(self.meta["data"]["classes"])

    @property
    def class_counts(self) -> dict[Any, int]:
        return dict(zip(labels_to_json(self.classes), self.meta["data"]["class_counts"], strict=True))

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(self.meta["data"]["feature_shape"])

    @property
    def model_feature_shape(self) -> tuple[int, ...]:
        """Feature shape after preprocessing (differs from the data's when a step crops)."""
        return tuple(self.meta.get("model_space", {}).get("feature_shape", self.feature_shape))

    @property
    def axis(self) -> np.ndarray | None:
        """The spectral axis of the model space (cropped when the preprocessing crops)."""
        ax = self.meta.get("model_space", self.meta["data"]).get("axis")
        return None if ax is None else np.asarray(ax, dtype=np.float64)

    @property
    def layout(self) -> Layout:
        layout = Layout.from_dict(self.meta["data"]["layout"])
        if "model_space" in self.meta:  # the data's feature names no longer match the model space
            layout.feature_names = None
        return layout

    @property
    def spec(self) -> SampleSpec:
        """What one training sample was (kind, shape, axis / image size / audio parameters)."""
        return _sample_spec(self.meta["data"])

    def to_model_space(self, ds: Dataset, what: str = "data") -> np.ndarray:
        """Apply this run's preprocessing to ``ds.X`` after checking the feature shape."""
        if ds.feature_shape != self.feature_shape:
            raise InputError(f"{what} has {_fmt_shape(ds.feature_shape)} features per sample, "
                             f"the run was trained on {_fmt_shape(self.feature_shape)}")
        if self.spec.kind == "spectrum":
            from vaelab.modalities.spectra.axis import check_same_axis

            check_same_axis(ds.axis, self.meta["data"].get("axis"), what, "the run's training data")
        return self.preprocessing.transform(ds.X)


def _sample_spec(data: dict[str, Any]) -> SampleSpec:
    """``data.sample`` of run.json with the axis put back; inferred for older run folders."""
    shape = tuple(int(k) for k in data["feature_shape"])
    axis = data.get("axis")
    if data.get("sample") is None:
        return SampleSpec.infer(shape, axis=axis)
    spec = SampleSpec.from_dict(data["sample"])
    if spec.shape != shape:
        raise InputError(f"{RUN_FILE} describes samples of shape {_fmt_shape(spec.shape)} but feature_shape "
                         f"{_fmt_shape(shape)}; the run folder is inconsistent")
    return spec.with_axis(axis) if spec.kind == "spectrum" else spec


def _fmt_shape(s: tuple[int, ...]) -> str:
    return str(s[0]) if len(s) == 1 else "×".join(map(str, s))


def train_run(
    ds: Dataset,
    out: str | Path,
    *,
    model: str | None = "seed-cvae",
    preprocess: str | None = None,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    progress: bool = True,
    resume: bool = False,
    checkpoint_every: int | None = 25,
    device: str = "auto",
) -> Run:
    """Fit preprocessing + generator on ``ds`` and write the run folder ``out`` atomically.

    While a torch model trains, checkpoints go to ``<out>.partial/`` every ``checkpoint_every``
    epochs (``None``: no checkpoints); ``resume=True`` continues from the newest one there
    (refusing one written for other data, model, seed or configuration). The run folder
    itself appears only when training is complete; the checkpoints are then removed.

    ``model=None`` picks the default model of the data's modality. ``device``: ``auto`` (CUDA when
    present), ``cpu`` or ``cuda`` (an InputError when CUDA is not available); recorded in ``run.json``
    (models without training record ``cpu``).
    """
    from vaelab.training.device import resolve_device

    out = Path(out)
    if not is_replaceable(out):
        raise InputError(f"{out}: exists and is not a vaelab run folder; refusing to replace it — "
                         "choose another --out or remove it")
    resolved = resolve_device(device)
    model = model or default_model(ds.spec.kind)
    check_model_supports(model, ds.feature_shape, ds.spec.kind)
    gen = get_model(model, **(config or {}))
    if hasattr(gen, "device"):
        gen.device = resolved
    else:
        resolved = "cpu"
    preprocess = preprocess or DEFAULT_PREPROCESS.get(model, "none")
    check_training_data(ds.X, ds.y, min_classes=1)
    n_classes = len(ds.classes)
    if n_classes < 2:
        raise InputError(f"{ds.source or 'the data'}: only one class ({labels_to_json(ds.classes)[0]!r}); "
                         "vaelab trains class-conditional generators and needs at least 2 classes")
    pre = Preprocessing.from_spec(preprocess).check(ds.spec)
    Xm = pre.fit_transform(ds.X, ds.axis)
    if not np.all(np.isfinite(Xm)):
        raise InputError(f"preprocessing {pre.spec!r} produced NaN/inf values on these data")
    if hasattr(gen, "progress"):
        gen.progress = progress
    partial = partial_path(out)
    if checkpoint_every is not None and hasattr(gen, "checkpoint_dir"):
        if checkpoint_every < 1:
            raise InputError(f"--checkpoint-every must be at least 1, got {checkpoint_every}")
        gen.checkpoint_dir = partial
        gen.checkpoint_every = int(checkpoint_every)
        gen.resume = bool(resume)
    try:
        gen.fit(Xm, ds.y, seed=seed)
    except TrainingDiverged:
        remove_checkpoints(partial)  # deterministic: resuming would diverge the same way
        raise
    counts = ds.class_counts()
    meta = {
        "vaelab_version": __version__,
        "model": model,
        "seed": int(seed),
        "device": resolved,
        "preprocess": pre.spec,
        "data": {
            "source": ds.source,
            "n": ds.n,
            "feature_shape": list(ds.feature_shape),
            "classes": list(counts),
            "class_counts": list(counts.values()),
            "axis": None if ds.axis is None else [float(a) for a in ds.axis],
            "layout": ds.layout.to_dict(),
            "has_groups": ds.groups is not None,
            "sample": ds.spec.to_dict(axis=False),
        },
    }
    if Xm.shape[1:] != ds.X.shape[1:]:  # a step changed the shape (crop): the model space differs
        m_axis = pre.transform_axis(ds.axis)
        meta["model_space"] = {"feature_shape": list(Xm.shape[1:]),
                               "axis": None if m_axis is None else [float(a) for a in m_axis]}
    history = getattr(gen, "history_", None) or []
    with atomic_dir(out) as tmp:
        gen.save(tmp)
        for f in sorted(tmp.rglob("*.safetensors")):
            normalise_safetensors(f)  # every model's weights: same content, same bytes
        pre.save(tmp / "preprocessing.json")
        write_text(tmp / RUN_FILE, json.dumps(meta, indent=1) + "\n")
        if history:
            write_text(tmp / "history.csv", history_to_csv(history))
            from vaelab.reporting.figures import training_history

            training_history(history, tmp / "loss.png", title=f"{model}: training loss")
    remove_checkpoints(partial)
    return Run(path=out, generator=gen, preprocessing=pre, meta=meta)


def load_run(path: str | Path) -> Run:
    """Open a run folder (validating it; weights are read with safetensors only)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a run folder")
    f = path / RUN_FILE
    if not f.is_file():
        if latest_checkpoint(path) is not None:
            raise InputError(f"{path}: holds the checkpoints of an unfinished training run, not a run; "
                             "finish it with vaelab train ... --resume")
        raise InputError(f"{path}: no {RUN_FILE}; not a vaelab run folder")
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
        data = meta["data"]
        classes = labels_from_json(list(data["classes"]))
        counts = [int(k) for k in data["class_counts"]]
        shape = tuple(int(k) for k in data["feature_shape"])
        layout = Layout.from_dict(data["layout"])
        int(layout.label_position)
        if layout.feature_names is not None and not all(isinstance(n, str) for n in layout.feature_names):
            raise ValueError("feature names")
        if data.get("axis") is not None:
            np.asarray(data["axis"], dtype=np.float64).reshape(-1)
        if data.get("sample") is not None:
            SampleSpec.from_dict(data["sample"])
        if len(counts) != len(classes) or not shape:
            raise ValueError("inconsistent")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{f}: damaged run description") from None
    pre = Preprocessing.load(path / "preprocessing.json")
    gen = load_model(path)
    # the model files and run.json must describe the same thing (a swapped or edited file would
    # otherwise produce samples of the wrong width or with the wrong class names)
    g_shape = getattr(gen, "feature_shape_", None)
    if "model_space" in meta:
        try:
            shape = tuple(int(k) for k in meta["model_space"]["feature_shape"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{f}: damaged run description") from None
    if g_shape is not None and tuple(g_shape) != shape:
        raise InputError(f"{path}: the model has {_fmt_shape(tuple(g_shape))} features per sample but {RUN_FILE} "
                         f"says {_fmt_shape(shape)}; the run folder is inconsistent")
    g_classes = getattr(gen, "classes_", None)
    if g_classes is not None and labels_to_json(g_classes) != labels_to_json(classes):
        raise InputError(f"{path}: the model's classes {labels_to_json(g_classes)[:6]} differ from {RUN_FILE}'s "
                         f"{labels_to_json(classes)[:6]}; the run folder is inconsistent")
    _sample_spec(data)  # its shape must agree with feature_shape
    return Run(path=path, generator=gen, preprocessing=pre, meta=meta)


def per_class_counts(run: Run, *, per_class: int | None = None, factor: float | None = None) -> dict[Any, int]:
    """``per_class`` samples of every class, or ``factor`` × the training count of each class."""
    if (per_class is None) == (factor is None):
        raise InputError("give exactly one of --per-class N and --factor K")
    if per_class is not None:
        if per_class < 1:
            raise InputError("--per-class must be at least 1")
        return {c: int(per_class) for c in run.class_counts}
    if not (factor > 0 and math.isfinite(factor)):
        raise InputError("--factor must be a positive number")
    return {c: max(1, int(round(factor * n))) for c, n in run.class_counts.items()}


def generate(run: Run, counts: dict[Any, int], *, seed: int = 0) -> Dataset:
    """Sample from a run's generator; returns a Dataset in model space with the run's layout.

    Its sample description is the run's; it keeps the input's dtype (uint8 images are written
    back as uint8) only when the preprocessing is ``none``, since model space is then the
    input's own scale; otherwise the samples are float.
    """
    X, y = run.generator.sample(counts, seed=seed)
    spec = run.spec
    if run.preprocessing.spec != "none":
        spec = spec.with_dtype(None)
    if "model_space" in run.meta:  # a step (crop) changed the shape: describe the model space
        from dataclasses import replace

        ax = run.axis
        spec = replace(spec, shape=run.model_feature_shape, axis=None if ax is None else tuple(ax.tolist()))
    return Dataset(X=X, y=np.asarray(y), axis=run.axis, layout=run.layout, source=f"generated by {run.path}",
                   spec=spec)
