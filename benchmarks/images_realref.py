"""Real-vs-real reference of ``images_tstr.py --quality``: the evaluation images themselves scored as a "synthetic"
set against the fitting images, through the same :func:`images_tstr.quality` (C2ST, FD, KID, PRDC, spread; the DCR
of a set against itself is meaningless and not printed). The FD limit of the issue is 2x this FD.

    PYTHONPATH=src .venv/bin/python benchmarks/images_realref.py --data X.npz --eval test

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA  # noqa: E402
from images_sampler_variants import splits  # noqa: E402
from images_tstr import quality  # noqa: E402


def main() -> None:
    import torch

    import vaelab.modalities.image  # noqa: F401  (registers the image feature network)
    from vaelab.metrics.features import get_extractor

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--eval", choices=("val", "test"), default="val")
    args = ap.parse_args()
    torch.set_num_threads(1)
    Xf, yf, Xe, ye = splits(args.data, args.eval)
    ext = get_extractor("image-cnn:epochs=10", seed=0).fit(Xf.astype(np.float64), yf.astype(str))
    q = quality(Xf, yf, Xe, Xe, ye, ext)
    print(", ".join(f"{k} {v:.3f}" for k, v in q.items() if k != "dcr"))


if __name__ == "__main__":
    main()
