"""``vaelab compress RUN --input DATA --out FILE [--quality Q]``, ``vaelab compress RUN --fit --input TRAIN`` (the
run's codec file: per-image choice of the best mode) and ``vaelab decompress RUN FILE --out OUT.npz``."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import DATA_HELP, add_data_args


def add_parser(sub: Any) -> None:
    p = sub.add_parser("compress", help="compress images with a vaelab-image run (VAE prediction + coded residual)")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, metavar="DATA", help=DATA_HELP)
    add_data_args(p)
    p.add_argument("--quality", type=float, default=50.0, metavar="Q",
                   help="0..100 (default 50): the residual's quantiser step halves every 10 points")
    p.add_argument("--out", metavar="FILE")
    p.add_argument("--fit", action="store_true",
                   help="instead of compressing: fit the codec's PCA mode on these (training) images and write "
                        "RUN/codec.safetensors; later compress calls then pick the best mode per image")
    p.set_defaults(func=run_compress)
    d = sub.add_parser("decompress", help="decode a file of `vaelab compress` with the same run")
    d.add_argument("run", metavar="RUN_DIR")
    d.add_argument("file", metavar="FILE")
    d.add_argument("--out", required=True, metavar="OUT.npz")
    d.set_defaults(func=run_decompress)


def run_compress(args: argparse.Namespace) -> int:
    from vaelab.cli.common import load
    from vaelab.core.errors import InputError
    from vaelab.modalities.image.commands import compress_file

    if args.fit == (args.out is not None):
        raise InputError("give either --out FILE (compress) or --fit (write the run's codec file)")
    ds = load(args.input, args)
    if args.fit:
        from vaelab.modalities.image.commands import fit_codec_file

        info = fit_codec_file(args.run, ds)
        print(f"fitted the codec on {info['n']} images -> {info['path']}")
        return 0
    info = compress_file(args.run, ds, args.out, quality=args.quality)
    print(f"compressed {info['n']} images into {info['bytes']} bytes ({info['bytes_per_image']:.1f} per image, "
          f"header included) -> {args.out}")
    return 0


def run_decompress(args: argparse.Namespace) -> int:
    from vaelab.modalities.image.commands import decompress_file

    info = decompress_file(args.run, args.file, args.out)
    print(f"decompressed {info['n']} images -> {args.out}")
    return 0
