"""The in-memory data set every part of vaelab passes around."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vaelab.core.labels import labels_to_json, unique_labels

__all__ = ["Dataset", "Layout", "unique_labels"]


@dataclass
class Layout:
    """How a table or npz was laid out on disk, so outputs can be written the same way.

    ``label_position`` is the label column's index among the written columns (label +
    features); ``header`` whether the table had a header row; ``label_name`` its header text.
    """

    kind: str = "table"  # "table" | "npz"
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
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    axis: np.ndarray | None = None
    layout: Layout = field(default_factory=Layout)
    source: str | None = None

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}")
        if self.groups is not None and len(self.groups) != len(self.X):
            raise ValueError("groups must have one entry per sample")

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
