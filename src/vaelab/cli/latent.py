"""``vaelab latent RUN --input DATA --out DIR``: latent codes, a 2-D class map, interpolations, traversals."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import DATA_HELP, add_data_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("latent", help="latent space of a vaelab-image run: codes, class map, interpolations")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, metavar="DATA", help=DATA_HELP)
    add_data_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.cli.common import load
    from vaelab.modalities.image.latent_maps import latent_report

    ds = load(args.input, args)
    info = latent_report(args.run, ds, args.out, seed=args.seed, command_line=args.command_line)
    print(f"encoded {info['n']} images into {info['latent_dim']} latent dimensions -> {args.out} "
          "(latent.npz, latent.json, map.png, interpolation.png, traversals.png, report.html)")
    return 0
