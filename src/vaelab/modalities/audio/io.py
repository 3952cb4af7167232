"""Audio folders: read labelled clips (resampled, padded/trimmed) and write generated ones.

A folder holds either ``labels.csv`` (columns ``file,label[,group]``; other column names via
``label_column`` / ``group_column``; a file is found relative to the folder, or by its name anywhere
below it when that is unique) or one sub-folder per class. Formats: wav, flac, ogg (soundfile).
Every problem with the input raises :class:`InputError` with one line, before anything is written.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vaelab.core.errors import InputError
from vaelab.modalities.audio.mel import MelParams

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
LABELS_FILE = "labels.csv"
MIN_RATE, MAX_RATE = 1000, 384000  # file sample rates soxr resamples reliably here
SILENCE = 1e-6  # peak amplitude below which a clip counts as silence


@dataclass
class AudioClips:
    """Clips as equal-length waveforms ``(n, n_samples)`` float32 at ``params.sample_rate``."""

    waves: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None
    files: list[str]
    params: MelParams
    source: str


def read_clip(path: str | Path, p: MelParams) -> np.ndarray:
    """One file -> mono float32 waveform of ``p.n_samples`` at ``p.sample_rate`` (zero-padded or trimmed)."""
    path = Path(path)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise InputError(f"{path}: unsupported audio format {path.suffix or '(no suffix)'!r}; "
                         f"use {', '.join(s[1:] for s in AUDIO_SUFFIXES)}")
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    import soundfile as sf

    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError / TypeError on damaged files
        raise InputError(f"{path}: cannot read audio ({str(e).splitlines()[0][:80] or 'corrupt file'})") from None
    if x.size == 0:
        raise InputError(f"{path}: holds no audio samples")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: holds NaN or infinite samples")
    if not (MIN_RATE <= sr <= MAX_RATE):
        raise InputError(f"{path}: sample rate {sr} Hz cannot be resampled to {p.sample_rate} Hz "
                         f"(supported {MIN_RATE}..{MAX_RATE} Hz)")
    x = x.mean(axis=1)
    if sr != p.sample_rate:
        import librosa

        x = librosa.resample(x, orig_sr=sr, target_sr=p.sample_rate, res_type="soxr_hq")
    n = p.n_samples
    x = x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))
    if np.max(np.abs(x), initial=0.0) < SILENCE:
        raise InputError(f"{path}: silence only (within the first {p.duration:g} s)")
    return x.astype(np.float32)


def _index(root: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for f in sorted(root.rglob("*")):
        if f.is_file():
            out.setdefault(f.name, []).append(f)
    return out


def _column(header: list[str], want: str | int | None, default: str | None, what: str, path: Path) -> int | None:
    if want is None:
        return header.index(default) if default in header else None
    if isinstance(want, int) or (isinstance(want, str) and want.isdigit()):
        i = int(want)
        if not 0 <= i < len(header):
            raise InputError(f"{path}: {what} column {i} out of range (columns: {', '.join(header)})")
        return i
    if want not in header:
        raise InputError(f"{path}: no {what} column {want!r} (columns: {', '.join(header)})")
    return header.index(want)


def _rows_from_csv(root: Path, label_column, group_column) -> tuple[list[Path], list[str], list[str] | None]:
    f = root / LABELS_FILE
    try:
        with f.open(newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error, OSError) as e:
        raise InputError(f"{f}: cannot read ({e.__class__.__name__})") from None
    if len(rows) < 2:
        raise InputError(f"{f}: needs a header (file,label[,group]) and at least one row")
    header = [c.strip() for c in rows[0]]
    if "file" not in header:
        raise InputError(f"{f}: no 'file' column (header: {', '.join(header)})")
    fi = header.index("file")
    li = _column(header, label_column, "label", "label", f)
    if li is None:
        others = [i for i in range(len(header)) if i != fi]
        if len(others) != 1:
            raise InputError(f"{f}: no 'label' column; name it with --label-column (columns: {', '.join(header)})")
        li = others[0]
    gi = _column(header, group_column, "group", "group", f)
    index: dict[str, list[Path]] | None = None
    files, labels, groups = [], [], []
    for k, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise InputError(f"{f}: line {k} has {len(r)} fields, the header has {len(header)}")
        name, label = r[fi].strip(), r[li].strip()
        if not name or not label:
            raise InputError(f"{f}: line {k} has an empty file name or label")
        cand = (root / name).resolve()
        if root.resolve() not in cand.parents:
            raise InputError(f"{f}: line {k}: {name!r} points outside the folder")
        if not cand.is_file():
            index = _index(root) if index is None else index
            hits = index.get(Path(name).name, [])
            if len(hits) != 1:
                raise InputError(f"{f}: line {k}: {name!r} is missing" if not hits
                                 else f"{f}: line {k}: {name!r} matches {len(hits)} files below {root}")
            cand = hits[0]
        files.append(cand)
        labels.append(label)
        if gi is not None:
            groups.append(r[gi].strip())
    return files, labels, (groups if gi is not None else None)


def _rows_from_folders(root: Path) -> tuple[list[Path], list[str], None]:
    files, labels = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(q for q in d.iterdir() if q.is_file() and not q.name.startswith(".")):
            files.append(f)
            labels.append(d.name)
    if not files:
        raise InputError(f"{root}: no {LABELS_FILE} and no class sub-folders with audio files")
    return files, labels, None


def load_clips(path: str | Path, p: MelParams | None = None, *, label_column: str | int | None = None,
               group_column: str | int | None = None) -> AudioClips:
    """Read a labelled audio folder; all clips resampled to ``p.sample_rate`` and cut/padded to ``p.duration``."""
    p = p or MelParams()
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder of audio clips")
    if (root / LABELS_FILE).is_file():
        files, labels, groups = _rows_from_csv(root, label_column, group_column)
    else:
        if label_column is not None or group_column is not None:
            raise InputError(f"{root}: --label-column/--group-column need a {LABELS_FILE}")
        files, labels, groups = _rows_from_folders(root)
    waves = np.stack([read_clip(f, p) for f in files])
    rel = [f.resolve().relative_to(root.resolve()).as_posix() for f in files]
    return AudioClips(waves=waves, y=np.asarray(labels, dtype=object),
                      groups=None if groups is None else np.asarray(groups, dtype=object),
                      files=rel, params=p, source=str(root))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(label: str) -> str:
    """A label as a folder name: other characters become '_'; never empty, '.' or '..'."""
    s = _UNSAFE.sub("_", str(label)).strip("._") or "class"
    return s


def write_wav(path: Path, x: np.ndarray, sample_rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0), int(sample_rate), subtype="PCM_16",
             format="WAV")


def write_clip_folder(tmp: Path, waves: np.ndarray, y: np.ndarray, sample_rate: int) -> None:
    """Into an (atomic, temporary) folder: ``<label>/<n>.wav`` for each clip and ``labels.csv`` (file,label)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    lines = ["file,label"]
    for x, label in zip(waves, y, strict=True):
        label = str(label)
        d = names.setdefault(label, safe_name(label))
        while d in (v for k, v in names.items() if k != label):  # two labels with one safe name
            d = names[label] = d + "_"
        counts[label] = counts.get(label, 0) + 1
        rel = f"{d}/{counts[label] - 1}.wav"
        (tmp / d).mkdir(exist_ok=True)
        write_wav(tmp / rel, x, sample_rate)
        q = '"' + label.replace('"', '""') + '"' if any(c in label for c in ',"\n') else label
        lines.append(f"{rel},{q}")
    (tmp / LABELS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
