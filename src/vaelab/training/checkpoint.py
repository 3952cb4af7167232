"""Training checkpoints: everything needed to continue a killed training run exactly.

A checkpoint is a folder ``checkpoint-NNNNNN`` (NNNNNN = epochs completed) inside a
checkpoint location (``train_run`` uses ``<RUN>.partial/`` next to the run folder, which
appears only when training is complete). It holds

* ``state.safetensors`` — the module's state (``module.*``), the optimizer's tensors
  (``optim.<param>.<name>``), the best-so-far weights when a validation part is used
  (``best.*``), the model's own training state (``extra.*``, e.g. EMA weights; see
  :class:`vaelab.training.callbacks.Callback`) and the random number generators' states as uint8 tensors
  (``rng.torch``, ``rng.shuffle``, ``rng.cuda``);
* ``state.json`` — format and version, the epoch, whether training has finished, the
  loss history, the optimizer's scalars and parameter groups, the early-stopping counters
  and a *fingerprint* of what is being trained.

Nothing is pickled; the safetensors file is read with the same loader that refuses
pickles for model weights. Each checkpoint is written under a temporary name and renamed
into place, then older checkpoints are removed, so a kill at any moment leaves at least
one complete checkpoint once the first has been written.

The fingerprint (sha256 of the model-space training arrays, the training configuration,
the seed, the network's parameter shapes and the model's own description) makes a resume
refuse a checkpoint written for a different data set, model, seed or configuration.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaelab.core.atomic import atomic_dir
from vaelab.core.errors import InputError
from vaelab.core.safetensors_io import load_safetensors

FORMAT = "vaelab-checkpoint"
VERSION = 1
PREFIX = "checkpoint-"
STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
_NAME = re.compile(rf"{PREFIX}(\d{{6,}})")


@dataclass
class TrainingState:
    """The state of :class:`vaelab.training.trainer.Trainer` after ``epoch`` completed epochs."""

    epoch: int
    done: bool
    fingerprint: str
    history: list[dict[str, float]]
    module: dict[str, torch.Tensor]
    # saving: ``optimizer.state_dict()``; loaded: ``{"tensors": ..., "meta": ...}`` for restore_optimizer
    optimizer: dict[str, Any]
    torch_rng: torch.Tensor
    shuffle_rng: torch.Tensor
    cuda_rng: torch.Tensor | None = None
    best: dict[str, torch.Tensor] | None = None
    counters: dict[str, Any] = field(default_factory=dict)  # best_val, best_epoch, stale
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  # the model's own training state (EMA, ...)


def partial_path(out: str | Path) -> Path:
    """Where ``train_run`` keeps the checkpoints of the run folder ``out`` while it trains."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def fingerprint(
    arrays: Mapping[str, torch.Tensor | np.ndarray | None],
    *,
    config: Mapping[str, Any],
    seed: int,
    module: torch.nn.Module,
    extra: str = "",
) -> str:
    """sha256 over the training arrays (bytes, dtype, shape), config, seed and network layout."""
    h = hashlib.sha256(f"{FORMAT}-{VERSION}\n".encode())
    for name in sorted(arrays):
        a = arrays[name]
        if a is None:
            h.update(f"{name}:none\n".encode())
            continue
        arr = a.detach().cpu().contiguous().numpy() if torch.is_tensor(a) else np.ascontiguousarray(a)
        h.update(f"{name}:{arr.dtype.str}:{list(arr.shape)}\n".encode())
        h.update(arr.tobytes())
    h.update(json.dumps(dict(config), sort_keys=True, default=str).encode())
    h.update(f"\nseed:{int(seed)}\n".encode())
    for k, v in module.state_dict().items():
        h.update(f"{k}:{list(v.shape)}:{v.dtype}\n".encode())
    h.update(extra.encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- optimizer state


def _flatten_optimizer(sd: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{int(pid)}.{k}"] = v
            else:
                scalars.setdefault(str(int(pid)), {})[k] = v
    groups = []
    for i, g in enumerate(sd["param_groups"]):
        out = {}
        for k, v in g.items():
            if torch.is_tensor(v):
                tensors[f"optim_group.{i}.{k}"] = v
                out[k] = {"__tensor__": f"optim_group.{i}.{k}"}
            else:
                out[k] = list(v) if isinstance(v, tuple) else v
        groups.append(out)
    return tensors, {"state": scalars, "param_groups": groups}


def _unflatten_optimizer(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any],
                         live: Mapping[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, t in tensors.items():
        if name.startswith("optim."):
            _, pid, k = name.split(".", 2)
            state.setdefault(int(pid), {})[k] = t
    for pid, d in meta["state"].items():
        state.setdefault(int(pid), {}).update(d)
    live_groups = live["param_groups"]
    if len(live_groups) != len(meta["param_groups"]):
        raise InputError("checkpoint: optimizer parameter groups do not match")
    groups = []
    for lg, sg in zip(live_groups, meta["param_groups"], strict=True):
        g = {}
        for k, v in sg.items():
            if isinstance(v, dict) and "__tensor__" in v:
                v = tensors[v["__tensor__"]]
            elif isinstance(v, list) and isinstance(lg.get(k), tuple):
                v = tuple(v)
            g[k] = v
        groups.append(g)
    return {"state": state, "param_groups": groups}


# ----------------------------------------------------------------------------- save / find / load


def _tensor(t: torch.Tensor) -> torch.Tensor:
    return t.detach().cpu().contiguous().clone()


def save_checkpoint(folder: str | Path, st: TrainingState) -> Path:
    """Write ``st`` to ``folder/checkpoint-<epoch>`` atomically; older checkpoints are removed after."""
    from safetensors.torch import save_file

    folder = Path(folder)
    tensors = {f"module.{k}": _tensor(v) for k, v in st.module.items()}
    opt_tensors, opt_meta = _flatten_optimizer(st.optimizer)
    tensors.update({k: _tensor(v) for k, v in opt_tensors.items()})
    if st.best is not None:
        tensors.update({f"best.{k}": _tensor(v) for k, v in st.best.items()})
    tensors.update({f"extra.{k}": _tensor(v) for k, v in st.extra.items()})
    tensors["rng.torch"] = _tensor(st.torch_rng)
    tensors["rng.shuffle"] = _tensor(st.shuffle_rng)
    if st.cuda_rng is not None:
        tensors["rng.cuda"] = _tensor(st.cuda_rng)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(st.epoch),
        "done": bool(st.done),
        "fingerprint": st.fingerprint,
        "has_best": st.best is not None,
        "counters": st.counters,
        "optimizer": opt_meta,
        "history": st.history,
    }
    target = folder / f"{PREFIX}{int(st.epoch):06d}"
    with atomic_dir(target) as tmp:
        save_file(tensors, str(tmp / STATE_TENSORS), metadata={"format": FORMAT})
        (tmp / STATE_JSON).write_text(json.dumps(meta, indent=1, allow_nan=True) + "\n")
    for old in folder.iterdir():
        if old != target and _NAME.fullmatch(old.name) and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return target


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The complete checkpoint with the most epochs in ``folder``, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = []
    for p in folder.iterdir():
        m = _NAME.fullmatch(p.name)
        if m and (p / STATE_JSON).is_file() and (p / STATE_TENSORS).is_file():
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def remove_checkpoints(folder: str | Path) -> None:
    """Remove the checkpoints in ``folder`` and the folder itself if nothing else is in it."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if _NAME.fullmatch(p.name) or (p.name.startswith(f".{PREFIX}") and p.name.endswith((".tmp", ".old"))):
            shutil.rmtree(p, ignore_errors=True)
    try:
        folder.rmdir()
    except OSError:
        pass


def load_checkpoint(path: str | Path, *, expect_fingerprint: str | None = None) -> TrainingState:
    """Read a checkpoint folder; refuses pickles, damaged files and (given ``expect_fingerprint``)
    a checkpoint written for another data set / model / seed / configuration."""
    path = Path(path)
    f = path / STATE_JSON
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise KeyError("format")
        version = int(meta["version"])
        epoch, done, fp = int(meta["epoch"]), bool(meta["done"]), str(meta["fingerprint"])
        history, opt_meta, counters = list(meta["history"]), dict(meta["optimizer"]), dict(meta["counters"])
        has_best = bool(meta["has_best"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: damaged training checkpoint ({STATE_JSON}); remove it to start over") from None
    if version != VERSION:
        raise InputError(f"{path}: checkpoint format version {version}, this vaelab reads version {VERSION}")
    if expect_fingerprint is not None and fp != expect_fingerprint:
        raise InputError(f"{path}: this checkpoint was written for a different data set, model, seed or "
                         "configuration; train without --resume (or with the original settings)")
    tensors = load_safetensors(path / STATE_TENSORS)
    try:
        module = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
        best = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")} if has_best else None
        st = TrainingState(
            epoch=epoch, done=done, fingerprint=fp, history=history, module=module,
            optimizer={"tensors": {k: v for k, v in tensors.items() if k.startswith("optim")}, "meta": opt_meta},
            torch_rng=tensors["rng.torch"], shuffle_rng=tensors["rng.shuffle"], cuda_rng=tensors.get("rng.cuda"),
            best=best, counters=counters,
            extra={k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")},
        )
    except KeyError as e:
        raise InputError(f"{path}: damaged training checkpoint (missing {e})") from None
    for t in (st.torch_rng, st.shuffle_rng):
        if t.dtype != torch.uint8:
            raise InputError(f"{path}: damaged training checkpoint (RNG state is not uint8)")
    return st


def restore_optimizer(opt: Any, saved: Mapping[str, Any]) -> None:
    """Load the optimizer part of a :func:`load_checkpoint` result into ``opt``."""
    try:
        opt.load_state_dict(_unflatten_optimizer(saved["tensors"], saved["meta"], opt.state_dict()))
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        raise InputError(f"checkpoint: optimizer state does not fit ({str(e).splitlines()[0][:100]})") from None
