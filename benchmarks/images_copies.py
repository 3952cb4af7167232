"""How many images of cached synthetic sets (``images_tstr.py --cache``) are pixel-for-pixel copies of a training image.

    PYTHONPATH=src .venv/bin/python benchmarks/images_copies.py --data X.npz --eval test SET.npz [SET.npz ...]

``--eval val`` compares with the fitting part of ``images_tstr.py --eval val`` (80 % of the train split), ``test``
with the whole train split. Prints per set: the share of exact copies and the median distance (pixels) to the
nearest training image. Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_sampler_variants import fitting_split  # noqa: E402

from vaelab.metrics.novelty import nearest_distances  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--eval", choices=("val", "test"), default="test")
    ap.add_argument("sets", nargs="+")
    args = ap.parse_args()
    X = fitting_split(args.data, args.eval)[0]
    R = X.reshape(len(X), -1).astype(np.float64)
    for path in args.sets:
        d = nearest_distances(np.load(path)["X"].reshape(-1, R.shape[1]).astype(np.float64), R)
        print(f"{Path(path).name}: exact copies {np.mean(d < 1e-6):.3f}, median nearest distance {np.median(d):.2f}")


if __name__ == "__main__":
    main()
