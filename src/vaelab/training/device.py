"""Which device a model trains on: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``.

On CPU nothing changes: the same seed gives the same bytes as before devices existed. On CUDA
the loop is the same, but GPU kernels round differently, so results are reproducible on one
machine, not equal to CPU results. Post-training statistics and sampling run on CPU.
"""

from __future__ import annotations

from vaelab.core.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(name: str | None = "auto") -> str:
    """``"cpu"`` or ``"cuda"`` for a requested device (``None`` = ``"auto"``).

    Raises:
        InputError: an unknown name, or ``cuda`` requested on a machine without CUDA.
    """
    name = "auto" if name is None else str(name).strip().lower()
    if name not in DEVICES:
        raise InputError(f"unknown device {name!r}; choose from {', '.join(DEVICES)}")
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name == "cuda" and not cuda_available():
        raise InputError("--device cuda: no CUDA device is available here (torch.cuda.is_available() is False); "
                         "use --device cpu or auto")
    return name
