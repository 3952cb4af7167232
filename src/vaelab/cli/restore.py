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
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write a result folder DIR: restoration.json, restoration.png and report.html")
    p.add_argument("--reference", default=None, metavar="CLEAN",
                   help="with --report: the clean images (same order, same units) for PSNR / SSIM")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.cli.common import load
    from vaelab.core.errors import InputError
    from vaelab.modalities.image.commands import restore_file

    if args.reference is not None and args.report is None:
        raise InputError("--reference is read only with --report DIR")
    ds = load(args.input, args)
    if args.report is not None:
        from vaelab.reporting.completion import restore_with_report

        ref = load(args.reference, args) if args.reference is not None else None
        info = restore_with_report(args.run, ds, args.out, args.report, sigma=args.sigma, unit=args.unit,
                                   reference=ref, command_line=args.command_line)
    else:
        info = restore_file(args.run, ds, args.out, sigma=args.sigma, unit=args.unit)
    how = "estimated" if info["estimated"] else "given"
    print(f"restored {info['n']} images (noise sd {info['sigma']:.4g}, {how}) -> {args.out}")
    if args.report is not None:
        q = info["report"]["quality"]
        if q:
            print("against the clean reference: " + ", ".join(f"{k} PSNR {v['psnr']:.2f} dB" for k, v in q.items()
                                                               if v["psnr"] is not None))
        print(f"report: {args.report}/report.html")
    return 0
