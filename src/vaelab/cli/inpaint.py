"""``vaelab inpaint RUN --input DATA --mask SPEC [--samples K] --out OUT.npz``: complete missing image regions."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import DATA_HELP, add_data_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("inpaint", help="complete missing pixels of images with a vaelab-image run")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, metavar="DATA", help=DATA_HELP)
    add_data_args(p)
    p.add_argument("--mask", required=True, metavar="SPEC",
                   help="center:F | random:P | half | MASK.npz (key 'mask', (H, W) or (n, H, W); True = missing)")
    p.add_argument("--samples", type=int, default=1, metavar="K", help="K > 1: also K posterior completions per image")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="OUT.npz")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write a result folder DIR: completion.json (PSNR/SSIM in the missing region and on the "
                        "whole image against the complete input, beside biharmonic inpainting), completion.png and "
                        "report.html")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.cli.common import load
    from vaelab.modalities.image.commands import inpaint_file

    ds = load(args.input, args)
    if args.report is not None:
        from vaelab.reporting.completion import inpaint_with_report

        info = inpaint_with_report(args.run, ds, args.mask, args.out, args.report, samples=args.samples,
                                   seed=args.seed, command_line=args.command_line)
        r = info["report"]["region"]
        print("PSNR in the missing region: " + ", ".join(
            f"{k} {v['psnr']:.2f} dB" if v["psnr"] is not None else f"{k} n/a" for k, v in r.items()))
    else:
        info = inpaint_file(args.run, ds, args.mask, args.out, samples=args.samples, seed=args.seed)
    print(f"completed {info['n']} images ({100 * info['missing_fraction']:.1f}% of pixels missing) -> {args.out}")
    if args.report is not None:
        print(f"report: {args.report}/report.html")
    return 0
