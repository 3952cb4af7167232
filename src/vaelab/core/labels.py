"""Class labels as vaelab keeps them: integers stay int64, anything else becomes text.

Labels are compared and stored through their JSON form (python ``int`` or ``str``), so a
class called ``1`` in a table and ``"1"`` typed on the command line can be matched, and
class names survive a round trip through ``run.json`` / ``config.json``.
"""

from __future__ import annotations

import numpy as np

from vaelab.core.errors import InputError


def unique_labels(y: np.ndarray) -> np.ndarray:
    """Sorted unique labels of ``y`` (n,): int64 for integer labels, else an object array of str."""
    y = np.asarray(y)
    if y.dtype.kind in "iu":
        return np.unique(y).astype(np.int64)
    return np.asarray(sorted({str(v) for v in y}), dtype=object)


def labels_to_json(classes: np.ndarray) -> list:
    """Class labels as JSON values (python int or str), in order."""
    out = []
    for c in classes:
        if isinstance(c, (np.integer, int)) and not isinstance(c, bool):
            out.append(int(c))
        else:
            out.append(str(c))
    return out


def labels_from_json(values: list) -> np.ndarray:
    """The inverse of :func:`labels_to_json`: int64 when every value is an int, else str objects."""
    if all(isinstance(v, int) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([str(v) for v in values], dtype=object)


def encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Map labels ``y`` (n,) to indices (n,) int64 into ``classes``; unknown labels raise ``InputError``."""
    lookup = {c: i for i, c in enumerate(labels_to_json(classes))}
    out = np.empty(len(y), dtype=np.int64)
    for i, v in enumerate(labels_to_json(np.asarray(y, dtype=object))):
        if v not in lookup:
            raise InputError(f"label {v!r} is not one of the model's classes {list(lookup)}")
        out[i] = lookup[v]
    return out


__all__ = ["encode_labels", "labels_from_json", "labels_to_json", "unique_labels"]
