"""The in-memory data set every part of vaelab passes around."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vaelab.core.labels import labels_to_json, unique_labels
from vaelab.data.sample import SampleSpec


@dataclass
class Layout:
    """How a table or npz was laid out on disk, so outputs can be written the same way.

    ``label_position`` is the label column's index among the written columns (label +
    features); ``header`` whether the table had a header row; ``label_name`` its header text.
    """

    kind: str = "table"  # "table" | "npz": the file layout; what a sample is lives in Dataset.spec
    header: bool = False
    label_position: int = 0
    label_name: str | None = None
    feature_names: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "header": self.header,
            "label_position": self.label_position,
            "label_name": self.label_name,
            "feature_names": self.feature_names,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Layout:
        return cls(**{k: d.get(k) for k in ("kind", "header", "label_position", "label_name", "feature_names")})


@dataclass
class Dataset:
    """Samples ``X`` (n, *feature_shape), labels ``y`` (n), optional ``groups`` (n) and ``axis``.

    Labels keep their original type: integer labels stay integers, strings stay strings
    (an object array), so class names survive end to end.

    ``spec`` describes one sample (:class:`~vaelab.data.sample.SampleSpec`: spectrum, image,
    audio or generic). Left out, it is inferred from ``X``'s shape and ``axis``
    (:meth:`SampleSpec.infer`); given, it must match ``X.shape[1:]``. For spectra ``axis`` and
    ``spec.axis`` are kept equal (``axis`` wins when both are given).
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    axis: np.ndarray | None = None
    layout: Layout = field(default_factory=Layout)
    source: str | None = None
    spec: SampleSpec | None = None

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}")
        if self.groups is not None and len(self.groups) != len(self.X):
            raise ValueError("groups must have one entry per sample")
        shape = tuple(int(s) for s in np.shape(self.X)[1:])
        if self.spec is None:
            self.spec = SampleSpec.infer(shape, axis=self.axis, dtype=np.asarray(self.X).dtype)
        elif self.spec.shape != shape:
            raise ValueError(f"the sample description says shape {self.spec.shape}, X has {shape} per sample")
        elif self.axis is not None:
            self.spec = self.spec.with_axis(self.axis)
        if self.axis is None and self.spec.axis is not None:
            self.axis = np.asarray(self.spec.axis, dtype=np.float64)

    @property
    def n(self) -> int:
        return int(len(self.X))

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.X.shape[1:])

    @property
    def classes(self) -> np.ndarray:
        return unique_labels(self.y)

    def class_counts(self) -> dict[Any, int]:
        cls = self.classes
        keys = labels_to_json(cls)
        ys = labels_to_json(np.asarray(self.y, dtype=object))
        return {k: sum(1 for v in ys if v == k) for k in keys}

    def subset(self, idx: np.ndarray) -> Dataset:
        idx = np.asarray(idx)
        return replace(
            self,
            X=self.X[idx],
            y=self.y[idx],
            groups=None if self.groups is None else self.groups[idx],
        )


def data_summary(ds: Dataset) -> dict[str, Any]:
    """What a result records about its data: source, size, sample shape, classes and counts, groups."""
    counts = ds.class_counts()
    return {
        "source": ds.source,
        "n": ds.n,
        "feature_shape": list(ds.feature_shape),
        "classes": [str(k) for k in counts],
        "class_counts": list(counts.values()),
        "grouped": ds.groups is not None,
        "n_groups": None if ds.groups is None else int(len({str(g) for g in ds.groups.tolist()})),
    }


__all__ = ["Dataset", "Layout", "SampleSpec", "data_summary", "unique_labels"]
