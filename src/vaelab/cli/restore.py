"""``vaelab restore RUN --input DATA [--sigma S] --out OUT.npz``: denoise images (additive Gaussian noise)."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import DATA_HELP, add_data_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("restore", help="denoise images (additive Gaussian noise) with a vaelab-image run")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, metavar="DATA", help=DATA_HELP)
    add_data_args(p)
    p.add_argument("--sigma", type=float, default=None, metavar="S",
                   help="noise standard deviation in the input's units (default: estimated per image)")
    p.add_argument("--unit", action="store_true",
                   help="the input's pixels are in [0, 1] (the run's pixel range mapped to [0, 1], e.g. uint8 / 255)")
    p.add_argument("--out", required=True, metavar="OUT.npz")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.cli.common import load
    from vaelab.modalities.image.commands import restore_file

    ds = load(args.input, args)
    info = restore_file(args.run, ds, args.out, sigma=args.sigma, unit=args.unit)
    how = "estimated" if info["estimated"] else "given"
    print(f"restored {info['n']} images (noise sd {info['sigma']:.4g}, {how}) -> {args.out}")
    return 0
