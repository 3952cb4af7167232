"""Atomic outputs: everything is written under a temporary name and renamed when complete.

A crash, an error or Ctrl-C leaves either the old output or nothing — never a
half-written file or folder that looks complete. Parent folders created for an output
that then fails are removed again, and a location that cannot be written is reported as
an :class:`~vaelab.core.errors.InputError` (one line), not a traceback.

Output folders carry a small marker file (:data:`MARKER`). An existing folder is replaced
only when it is empty or carries the marker, so ``--out ~/project`` can never wipe a
folder that vaelab did not write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from vaelab.core.errors import InputError

MARKER = ".vaelab"
MARKER_TEXT = "written by vaelab; a later vaelab command may replace this folder\n"


def _make_parents(path: Path) -> list[Path]:
    """Create the missing parents of ``path``; returns the ones created (deepest first)."""
    created: list[Path] = []
    p = path.parent
    while not p.exists():
        created.append(p)
        if p.parent == p:
            break
        p = p.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{path}: cannot create the folder {path.parent} ({e.strerror or e})") from None
    if not path.parent.is_dir():
        raise InputError(f"{path}: {path.parent} is not a folder")
    return created


def _umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (briefly affects other threads)
    os.umask(mask)
    return mask


def _share(path: Path, mode: int) -> None:
    """Give a temporary file / folder the permissions a normal one would have (mkstemp and
    mkdtemp make them private to the owner; run folders are shared between colleagues)."""
    try:
        os.chmod(path, mode & ~_umask())
    except OSError:
        pass


def _remove_empty(dirs: list[Path]) -> None:
    for d in dirs:  # deepest first
        try:
            d.rmdir()
        except OSError:
            break


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name for the output")
    created = _make_parents(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        _remove_empty(created)
        raise InputError(f"{path}: cannot write here ({e.strerror or e})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    _share(tmp_path, 0o666)
    ok = False
    try:
        yield tmp_path
        _share(tmp_path, 0o666)  # again: a writer may have replaced the file (safetensors makes it 0600)
        _fsync(tmp_path)
        os.replace(tmp_path, path)
        _fsync(path.parent)
        ok = True
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
        if not ok:
            _remove_empty(created)


def is_replaceable(path: Path) -> bool:
    """True if ``path`` is absent, an empty folder, or a folder vaelab wrote (it has the marker)."""
    if not path.exists() and not path.is_symlink():
        return True
    if not path.is_dir() or path.is_symlink():
        return False
    return (path / MARKER).is_file() or not any(path.iterdir())


@contextlib.contextmanager
def atomic_dir(path: str | Path, keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it into place on success.

    An existing folder at ``path`` is replaced only once the new one is complete, and only
    if vaelab wrote it (or it is empty); anything else raises :class:`InputError` before
    anything is written. Sub-folders of the old folder named in ``keep`` (e.g. the finished
    cells of a grid) are carried over into the new one (hard links where possible).
    """
    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: exists and is not a folder; choose another output folder")
    if not is_replaceable(path):
        raise InputError(f"{path}: exists and was not written by vaelab (no {MARKER} marker); "
                         "refusing to replace it — choose another output folder or remove it")
    created = _make_parents(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        _remove_empty(created)
        raise InputError(f"{path}: cannot write here ({e.strerror or e})") from None
    _share(tmp, 0o777)
    ok = False
    try:
        (tmp / MARKER).write_text(MARKER_TEXT)
        yield tmp
        for name in keep:
            if (path / name).is_dir() and not (tmp / name).exists():
                shutil.copytree(path / name, tmp / name, copy_function=_link_or_copy)
        for p in tmp.rglob("*"):  # files written by other libraries (safetensors: 0600) too
            if not p.is_symlink():
                _share(p, 0o777 if p.is_dir() else 0o666)
                if p.is_file():
                    _fsync(p)  # on disk before the folder appears under its final name
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.rmdir(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync(path.parent)  # the rename itself
        ok = True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if not ok:
            _remove_empty(created)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _fsync(path: Path) -> None:
    """Flush a finished file (or a folder's entries) to disk (best effort), so that after a power
    cut or reboot a renamed output is complete, not an empty file under the final name."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: str | Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def normalise_safetensors(path: str | Path) -> None:
    """Rewrite a safetensors header with its ``__metadata__`` keys sorted, in place.

    The safetensors writer keeps metadata in a hash map whose order changes from process to
    process, so the same weights would give different bytes; sorting fixes that. The header
    keeps its length (same keys and values, reordered), so the tensor data do not move.
    """
    import json
    import struct

    path = Path(path)
    with open(path, "r+b") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return
        (n,) = struct.unpack("<Q", head)
        raw = fh.read(n)
        if len(raw) != n:
            return
        header = json.loads(raw.decode("utf-8"))
        meta = header.get("__metadata__")
        if not isinstance(meta, dict) or len(meta) < 2:
            return
        header["__metadata__"] = dict(sorted(meta.items()))
        new = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(new) > n:
            return
        fh.seek(8)
        fh.write(new + b" " * (n - len(new)))


def normalise_zip(path: str | Path, transform: Callable[[str, bytes], bytes] | None = None) -> None:
    """Rewrite a zip (xlsx, npz) with fixed entry timestamps so equal content gives equal bytes;
    ``transform(name, data)`` may also rewrite an entry's content (e.g. a time stamp inside it)."""
    path = Path(path)
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    if transform is not None:
        entries = [(info, transform(info.filename, data)) for info, data in entries]
    tmp = path.with_name(path.name + ".norm")
    try:
        with zipfile.ZipFile(tmp, "w") as zout:
            for info, data in entries:
                zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = info.compress_type
                zi.external_attr = 0o644 << 16
                zout.writestr(zi, data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
