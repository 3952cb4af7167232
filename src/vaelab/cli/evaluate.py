"""``vaelab evaluate --real DATA --synthetic FILE --out DIR``: metrics.json, tables and figures."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import add_data_args, add_features_arg


def add_parser(sub: Any) -> None:
    e = sub.add_parser("evaluate", help="compare synthetic with real data; write metrics.json and figures")
    e.add_argument("--real", required=True, metavar="DATA", help="the real (training) data")
    e.add_argument("--synthetic", required=True, metavar="FILE")
    e.add_argument("--holdout", default=None, metavar="DATA", help="real data not used for training")
    e.add_argument("--reference", default=None, metavar="DIR",
                   help="audio: held-out clips of the training sources (speakers), not used for training; when "
                        "given, synthetic clips are compared with these instead of the training clips")
    e.add_argument("--holdout-split", default=None, metavar="S",
                   help="part of a MedMNIST-layout holdout npz (default test)")
    e.add_argument("--run", default=None, metavar="RUN_DIR", help="apply this run's preprocessing to the real files")
    add_data_args(e)
    add_features_arg(e)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True, metavar="DIR")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vaelab.cli.common import is_audio_folder

    if is_audio_folder(Path(args.real)):  # a folder of PNG/JPEG class folders is image data, read below
        from vaelab.modalities.audio.evaluate import evaluate_folders

        evaluate_folders(args)
        return 0
    if args.reference is not None:
        from vaelab.core.errors import InputError

        raise InputError("--reference is for audio folders (--real DIR)")
    from vaelab.evaluation.suite import evaluate_files
    from vaelab.reporting.tables import format_report

    result = evaluate_files(args.real, args.synthetic, holdout=args.holdout, run=args.run, out=args.out,
                            seed=args.seed, label_column=args.label_column, group_column=args.group_column,
                            features=args.features, split=args.split, holdout_split=args.holdout_split,
                            command_line=args.command_line)
    if result.get("modality") == "image":
        from vaelab.reporting.image import format_image_report

        print(format_image_report(result))
        print(f"\nwrote {args.out}/metrics.json, figures and report.html")
    else:
        print(format_report(result))
        print(f"\nwrote {args.out}/metrics.json, figures and report.html")
    return 0
