"""Reading safetensors files safely: a pickle or zip (``torch.save``) is refused without loading it.

Used for model weights, sampler states and training checkpoints alike; nothing is ever unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vaelab.core.errors import InputError

if TYPE_CHECKING:
    import torch


def check_weights_file(path: Path) -> Path:
    """The weights file, after refusing a missing file or a pickle/zip without loading it."""
    f = Path(path)
    if not f.is_file():
        raise InputError(f"{f}: missing weights file")
    with f.open("rb") as fh:
        head = fh.read(16)
    # safetensors: an 8-byte little-endian header length, then the JSON header ("{"). Test that
    # first: a header length whose low byte is 0x80 (or whose first bytes spell "PK") is legal.
    # Anything else that is not safetensors fails in load_file below; nothing is ever unpickled.
    if head[8:9] != b"{" and (head[:1] == b"\x80" or head[:2] == b"PK"):
        raise InputError(f"{f}: is a pickle/zip (torch.save) file, not safetensors; refused without loading")
    return f


def load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file as CPU tensors; anything else (a pickle, garbage) is refused, nothing executed."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    f = check_weights_file(path)
    try:
        return load_file(str(f), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InputError(f"{f}: not a valid safetensors file ({str(e).splitlines()[0][:80]})") from None


def load_safetensors_numpy(path: Path) -> dict[str, np.ndarray]:
    """The numpy twin of :func:`load_safetensors` (same refusals); arrays are copied out of the file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    f = check_weights_file(path)
    try:
        return {k: np.array(v) for k, v in load_file(str(f)).items()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InputError(f"{f}: not a valid safetensors file ({str(e).splitlines()[0][:80]})") from None
