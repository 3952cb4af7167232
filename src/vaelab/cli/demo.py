"""``vaelab demo [--out DIR] [--part all|spectra|images|audio]``: the whole job on bundled and synthesised data."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    d = sub.add_parser("demo", help="the whole job on the bundled coffee FTIR set, scikit-learn's 8x8 digits and synthesised sounds")
    d.add_argument("--out", default="demo_output", metavar="DIR")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--epochs", type=int, default=None, help="override the seed model's epochs (for a quick look)")
    d.add_argument("--compare", default="vaelab-cvae", metavar="MODEL",
                   help="also train MODEL on the same split and print both side by side (default vaelab-cvae; "
                        "'none' to skip)")
    d.add_argument("--part", default="all", choices=["all", "spectra", "images", "audio"],
                   help="spectra (coffee FTIR), images (scikit-learn's 8x8 digits), audio (synthesised tones, chirps, "
                        "noise bursts) or all (default)")
    d.add_argument("--quiet", action="store_true")
    d.add_argument("--audio", action="store_true", help="the same as --part audio")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.audio:
        args.part = "audio"
    from vaelab.demo import run_demo
    from vaelab.models import get_model

    compare = None if args.compare in ("", "none") else args.compare
    if compare is not None:
        get_model(compare)  # an unknown name: one-line error before anything is trained
    run_demo(args.out, seed=args.seed, epochs=args.epochs, compare=compare, progress=not args.quiet, part=args.part,
             command_line=args.command_line)
    return 0
