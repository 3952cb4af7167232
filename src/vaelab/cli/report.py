"""``vaelab report RESULT_DIR [--out FILE.html]``: one self-contained HTML page for a result folder."""

from __future__ import annotations

import argparse
from typing import Any


def run(args: argparse.Namespace) -> int:
    from vaelab.reporting.report import write_report_html  # the library only when the command runs

    out = write_report_html(args.result_dir, args.out)
    print(f"wrote {out}")
    return 0


def add_parser(sub: Any) -> None:
    r = sub.add_parser("report", help="write a self-contained HTML report of a result folder (evaluate, demo, "
                                      "ablate, augment, reconstruct, latent, inpaint/restore --report)")
    r.add_argument("result_dir", metavar="RESULT_DIR", help="a folder written by vaelab evaluate/demo/ablate/augment/reconstruct/latent, "
                                           "or the --report DIR of inpaint/restore")
    r.add_argument("--out", default=None, metavar="FILE.html", help="default: RESULT_DIR/report.html")
    r.set_defaults(func=run)


__all__ = ["add_parser", "run"]
