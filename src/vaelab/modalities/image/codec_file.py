"""The compressed-images file of ``vaelab compress``: magic, a small JSON header, then the images' byte strings.

Layout::

    b"VAELABZ1"                      8 bytes
    header length                    4 bytes, big-endian
    header                           UTF-8 JSON (format, version, n, shape, quality, run fingerprint, classes,
                                     dtype, codec: fingerprint of the run's codec file or null)
    per image: length (LEB128 varint) + the rANS bytes of :class:`codec.VaeCodec`

Nothing is ever unpickled; every field is checked on reading, and anything inconsistent (wrong magic, a header
that is not the expected JSON, lengths that run past the end, trailing bytes) is an :class:`InputError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaelab.core.errors import InputError

MAGIC = b"VAELABZ1"
VERSION = 2  # 2: optional per-image modes with the run's codec file (1: one mode; still read)
_MAX_HEADER = 1 << 20


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pack_file(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    """The file's bytes for ``header`` (JSON-serialisable; ``n`` is set here) and the images' byte strings."""
    head = json.dumps({"format": "vaelab-compressed-images", "version": VERSION, **header, "n": len(blobs)},
                      separators=(",", ":"), sort_keys=True).encode()
    return b"".join([MAGIC, len(head).to_bytes(4, "big"), head, *(_varint(len(b)) + b for b in blobs)])


def unpack_file(data: bytes, where: str | Path = "the file") -> tuple[dict[str, Any], list[bytes]]:
    """Inverse of :func:`pack_file`, validating the structure (not the model fields: see the caller)."""
    bad = f"{where}: not a vaelab compressed-images file or corrupt"
    if len(data) < 12 or data[:8] != MAGIC:
        raise InputError(f"{bad} (wrong magic)")
    hl = int.from_bytes(data[8:12], "big")
    if hl > _MAX_HEADER or 12 + hl > len(data):
        raise InputError(f"{bad} (header length)")
    try:
        head = json.loads(data[12:12 + hl].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{bad} (header is not JSON)") from None
    if not isinstance(head, dict) or head.get("format") != "vaelab-compressed-images":
        raise InputError(f"{bad} (header)")
    if head.get("version") not in (1, VERSION):
        raise InputError(f"{where}: unsupported version {head.get('version')!r} (this vaelab reads {VERSION})")
    n = head.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(data):
        raise InputError(f"{bad} (image count)")
    pos, blobs = 12 + hl, []
    for _ in range(n):
        length, shift = 0, 0
        while True:
            if pos >= len(data) or shift > 35:
                raise InputError(f"{bad} (truncated)")
            b = data[pos]
            pos += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if pos + length > len(data):
            raise InputError(f"{bad} (truncated)")
        blobs.append(data[pos:pos + length])
        pos += length
    if pos != len(data):
        raise InputError(f"{bad} ({len(data) - pos} trailing bytes)")
    return head, blobs
