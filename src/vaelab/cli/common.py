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


def load(path: str, args: argparse.Namespace | None = None):
    """The data file ``path`` with the label/group columns of ``args``."""
    from vaelab.data.io import load_data

    return load_data(path, label_column=getattr(args, "label_column", None), group_column=getattr(args, "group_column", None),
                     split=getattr(args, "split", None))


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
