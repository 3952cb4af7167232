"""Cells with stable IDs, and the folder that keeps each cell's result as soon as it finishes.

A grid (the ablation, the augmentation study) is a list of cells, each a JSON-able dict of
parameters. :func:`cell_id` names a cell by what determines its result: its parameters and the
fingerprint of the data it reads (arrays, splits, preprocessing; :func:`fingerprint`). The same
command on the same data gives the same IDs in any process, so a later run finds the cells an
interrupted one finished.

:class:`CellStore` writes ``DIR/<id>.json`` atomically (temporary name, then rename) from the
driver as each cell returns; a failed cell is written too (its error is kept for inspection) and
counts as missing when the grid is resumed. Results are normalised through JSON before they are
used, so a result read back from disk and one just computed are the same Python values, and a
resumed grid summarises to the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import MARKER, MARKER_TEXT, is_replaceable, write_text
from vaelab.core.errors import InputError

CELLS_DIR = "cells"  # the sub-folder of an output folder that holds the cell results


def _plain(x: Any) -> Any:
    """numpy scalars/arrays -> Python values (for ``json.dumps(default=...)``)."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def canonical_json(x: Any) -> str:
    """Sorted keys, no spaces, exact float reprs (NaN allowed): equal values give equal text."""
    return json.dumps(x, sort_keys=True, separators=(",", ":"), default=_plain)


def normalise(result: Any) -> Any:
    """``result`` as it reads back from a cell file (tuples -> lists, numpy -> Python)."""
    return json.loads(json.dumps(result, default=_plain))


def fingerprint(shared: dict[str, Any]) -> str:
    """SHA-256 (hex, 16 chars) of what every cell reads: arrays, splits and the preprocessing spec.

    A ``"fingerprint"`` entry already in ``shared`` (set by ``shared_data``) is returned as it is.
    """
    if isinstance(shared.get("fingerprint"), str):
        return shared["fingerprint"]
    h = hashlib.sha256()

    def add(tag: str, a: Any) -> None:
        h.update(tag.encode())
        if a is None:
            h.update(b"<none>")
            return
        arr = np.asarray(a)
        if arr.dtype == object or arr.dtype.kind in "US":
            h.update(canonical_json([str(v) for v in arr.ravel().tolist()]).encode())
        else:
            arr = np.ascontiguousarray(arr)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())

    for key in sorted(shared):
        val = shared[key]
        if key == "fingerprint":
            continue
        if key == "splits":
            for s in sorted(val):
                for k, (tr, te) in enumerate(val[s]):
                    add(f"split{s}/{k}/tr", tr)
                    add(f"split{s}/{k}/te", te)
        elif isinstance(val, (str, int, float, bool)):
            h.update(f"{key}={val!r}".encode())
        else:
            add(key, val)
    return h.hexdigest()[:16]


def cell_id(cell: dict[str, Any], data_fingerprint: str = "") -> str:
    """A readable, stable ID: ``<kind>-<name>-s<seed>-f<fold>-<hash>``, the hash over every parameter."""
    digest = hashlib.sha256((data_fingerprint + canonical_json(cell)).encode()).hexdigest()[:12]
    name = cell.get("generator", cell.get("model")) or "none"
    kind = cell.get("role", "cell")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{kind}-{name}")
    parts = [safe]
    if "seed" in cell:
        parts.append(f"s{cell['seed']}")
    if "fold" in cell:
        parts.append(f"f{cell['fold']}")
    return "-".join(parts + [digest])


class CellStore:
    """One JSON file per finished cell in ``directory`` (created, with the vaelab marker on its parent).

    ``root`` is the output folder the cells belong to; it must be absent, empty or a folder
    vaelab wrote, checked before any cell runs (so a grid never runs for hours and then
    cannot write its result).
    """

    def __init__(self, root: str | Path, *, fresh: bool = False):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root}: exists and is not a folder; choose another output folder")
        if not is_replaceable(self.root):
            raise InputError(f"{self.root}: exists and was not written by vaelab (no {MARKER} marker); "
                             "refusing to write into it — choose another output folder or remove it")
        self.dir = self.root / CELLS_DIR
        if fresh and self.dir.is_dir():
            shutil.rmtree(self.dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if not (self.root / MARKER).exists():
                (self.root / MARKER).write_text(MARKER_TEXT)
        except OSError as e:
            raise InputError(f"{self.root}: cannot write here ({e.strerror or e})") from None

    def path(self, cid: str) -> Path:
        return self.dir / f"{cid}.json"

    def load(self, cid: str) -> dict[str, Any] | None:
        """The stored result of cell ``cid``; None if absent, unreadable, or a failure."""
        p = self.path(cid)
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(rec, dict) or rec.get("id") != cid or not isinstance(rec.get("result"), dict):
            return None
        res = rec["result"]
        return None if "error" in res else res

    def save(self, cid: str, cell: dict[str, Any], result: dict[str, Any]) -> None:
        rec = {"id": cid, "cell": cell, "result": result}
        write_text(self.path(cid), json.dumps(rec, indent=1, default=_plain, allow_nan=True) + "\n")

    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json"))


__all__ = ["CELLS_DIR", "CellStore", "canonical_json", "cell_id", "fingerprint", "normalise"]
