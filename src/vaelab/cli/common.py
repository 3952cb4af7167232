"""Argument groups and helpers shared by the command modules. Imports nothing heavy (no torch, numpy)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vaelab.core.errors import InputError

DATA_HELP = "csv / tsv / xlsx table, npz, or a folder of PNG/JPEG images with one sub-folder per class"
MODEL_DEFAULT_HELP = "default: the default generator for the data's kind (vaelab-cvae for spectra)"


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-column", default=None, help="label column: header name or 0-based index (default: first column)")
    p.add_argument("--group-column", default=None, help="group column (e.g. patient id): header name or index")
    p.add_argument("--split", default=None, metavar="S",
                   help="part of an npz in the MedMNIST layout: train | val | test (default train)")
    a = p.add_argument_group("audio folders (DATA is a folder with labels.csv or class sub-folders)")
    a.add_argument("--sample-rate", type=int, default=16000, help="resample to this rate (default 16000 Hz)")
    a.add_argument("--duration", type=float, default=2.0, help="pad/trim every clip to this many seconds (default 2)")
    a.add_argument("--n-mels", type=int, default=64, help="mel bins (default 64)")
    a.add_argument("--n-fft", type=int, default=1024, help="STFT size (default 1024)")
    a.add_argument("--hop", type=int, default=160, help="STFT hop in samples (default 160)")


def load(path: str, args: argparse.Namespace | None = None):
    """The data file ``path`` with the label/group columns of ``args``."""
    from vaelab.data.io import load_data

    if is_audio_folder(Path(path)):
        from vaelab.modalities.audio.dataset import load_audio_dataset
        from vaelab.modalities.audio.mel import MelParams

        params = MelParams(sample_rate=getattr(args, "sample_rate", 16000), duration=getattr(args, "duration", 2.0),
                           n_mels=getattr(args, "n_mels", 64), n_fft=getattr(args, "n_fft", 1024),
                           hop=getattr(args, "hop", 160))
        return load_audio_dataset(path, params, label_column=getattr(args, "label_column", None),
                                  group_column=getattr(args, "group_column", None))[0]
    return load_data(path, label_column=getattr(args, "label_column", None), group_column=getattr(args, "group_column", None),
                     split=getattr(args, "split", None))


def is_audio_folder(folder: Path) -> bool:
    """A folder is audio when it has ``labels.csv`` or holds no PNG/JPEG file; a folder of class
    sub-folders of images goes to the image reader (both readers give their own one-line errors). A file: False."""
    from vaelab.modalities.image.io import IMAGE_SUFFIXES

    if not folder.is_dir():
        return False
    if (folder / "labels.csv").exists():
        return True
    return not any(f.suffix.lower() in IMAGE_SUFFIXES for f in folder.rglob("*") if f.is_file())


def read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such config file")
    try:
        return tomllib.loads(p.read_text())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{p}: not valid TOML ({e})") from None


def add_features_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--features", default=None, metavar="NAME",
                   help="feature space of the distribution metrics and DCR, fitted on the real training data: "
                        "identity, pca[:K], or a registered domain network (default: the data kind's)")


def add_vocoder_args(p: argparse.ArgumentParser) -> None:
    """``--vocoder`` and ``--jobs`` of the commands that write audio clips (generate, reconstruct)."""
    from vaelab.modalities.audio.vocoder import VOCODERS

    p.add_argument("--vocoder", default=None, choices=VOCODERS,
                   help="audio: how clips are written (default: the run's: 'refine' = Griffin-Lim + gradient descent of "
                        "the waveform towards the log-mel, ~1.4 s CPU per 2-s clip; runs saved before the option: "
                        "'griffin-lim')")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="audio: worker processes writing clips (the same bytes whatever N; default 1)")


def add_runner_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folds", type=int, default=5, help="K of the (group-aware, stratified) K-fold (default 5)")
    p.add_argument("--seeds", type=int, default=2,
                   help="repeats with seeds 0..N-1, each a new partition (default 2: 5 × 2 = 10 paired values)")
    p.add_argument("--preprocess", default=None, help="one preprocessing for all generators (default: the model's)")
    p.add_argument("--epochs", type=int, default=None, help="override the epochs of torch models")
    p.add_argument("--jobs", type=int, default=1, help="parallel cells (local processes or Ray CPUs; default 1)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local processes (default) or Ray tasks (pip install 'vaelab[ray]')")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--resume", action="store_true",
                   help="reuse the finished cells in DIR/cells/ (each cell is stored there as it finishes) and run "
                        "only the missing or failed ones; same options, same result")
    p.add_argument("--estimate", action="store_true",
                   help="time one cell of each kind, print the estimated time of the grid and stop (the timed "
                        "cells are kept in DIR/cells/ for a later --resume)")
    p.add_argument("--out", required=True, metavar="DIR")


def study_command_line(args: argparse.Namespace) -> str:
    """The command line a grid's result records: as typed, without ``--resume`` (an execution detail),
    so a resumed study writes the same result files as an uninterrupted one."""
    import shlex

    return shlex.join([t for t in shlex.split(args.command_line) if t != "--resume"])


def warn_failures(result: dict[str, Any]) -> None:
    if result["failures"]:
        first = result["failures"][0]["error"]
        print(f"vaelab: warning: {result['n_failed_cells']} of {result['n_cells']} cells failed, "
              f"{len(result['failures'])} failure(s) in all (first: {first}); listed under 'failures'",
              file=sys.stderr)
