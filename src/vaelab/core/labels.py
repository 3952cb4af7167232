"""Class labels: sorted unique labels, JSON round-trip, label -> index, per-class counts.

Labels keep their type end to end: integer labels are ``int64``, anything else is kept as
strings in an object array, so class names survive training, saving and sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vaelab.core.errors import InputError


def unique_labels(y: np.ndarray) -> np.ndarray:
    """Sorted unique labels, keeping ints as int64 and strings as an object array."""
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
    """Inverse of :func:`labels_to_json`: an int64 array if every value is an int, else strings."""
    if all(isinstance(v, int) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([str(v) for v in values], dtype=object)


def encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Map labels to indices into ``classes``; unknown labels raise ``InputError``."""
    lookup = {c: i for i, c in enumerate(labels_to_json(classes))}
    out = np.empty(len(y), dtype=np.int64)
    for i, v in enumerate(labels_to_json(np.asarray(y, dtype=object))):
        if v not in lookup:
            raise InputError(f"label {v!r} is not one of the model's classes {list(lookup)}")
        out[i] = lookup[v]
    return out


def normalise_counts(counts: Mapping[Any, int], classes: np.ndarray) -> list[tuple[int, int]]:
    """Validate per-class counts; returns ``[(class_index, n), ...]`` in class order."""
    idx = {c: i for i, c in enumerate(labels_to_json(classes))}
    out = []
    for label, n in counts.items():
        key = labels_to_json(np.asarray([label], dtype=object))[0]
        if key not in idx:
            # allow "1" for an int class given on the command line
            if isinstance(key, str) and key.lstrip("-").isdigit() and int(key) in idx:
                key = int(key)
            else:
                raise InputError(f"unknown class {label!r}; the model knows {list(idx)}")
        n = int(n)
        if n < 0:
            raise InputError(f"negative sample count {n} for class {label!r}")
        out.append((idx[key], n))
    return sorted(out)

__all__ = ["encode_labels", "labels_from_json", "labels_to_json", "normalise_counts", "unique_labels"]
