"""Does a second stage's pixel calibration reach its novelty target? Per class, for saved ``vaelab-image`` networks.

Loads each saved network (``images_sampler_variants.py --models``), re-fits its second stage with the given options
(``--options '{"texture_draw": "neighbour", "kde_kernel": "mixture"}'``, the network unchanged) on the fitting images
of its ``images_tstr.py`` split, and prints per class the calibrated kernel width ``h``, the target of the novelty
rule (a left-out training image's median nearest-image distance) and the samples' novelty at that width — the very
numbers ``CalibratedKDE.calibrate`` compares (``vaelab.samplers.kde.novelty_targets`` / ``sample_novelty``). A class
at the grid's top (h = 10) with novelty below the target is one the calibration could not make new. JSON to ``--out``.

    PYTHONPATH=src .venv/bin/python benchmarks/images_tm_novelty.py --data X.npz --eval test --models DIR --seeds 0,1,2

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11, second helper).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA  # noqa: E402
from images_sampler_variants import SECOND_STAGE_OPTIONS, fitting_split  # noqa: E402

TM = '{"texture_draw": "neighbour", "kde_kernel": "mixture"}'


def main() -> None:
    import torch

    from vaelab.models.base import encode_labels
    from vaelab.models.image.vaelab_image import VaelabImage
    from vaelab.samplers.kde import novelty_targets, sample_novelty

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--eval", choices=("val", "test"), default="val")
    ap.add_argument("--models", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--options", default=TM)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    options = json.loads(args.options)
    if set(options) - set(SECOND_STAGE_OPTIONS):
        raise SystemExit(f"only {SECOND_STAGE_OPTIONS} leave the network as it is, got {sorted(options)}")
    X, y, _ = fitting_split(args.data, args.eval)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        g = VaelabImage.load(Path(args.models) / f"{Path(args.data).stem}_{args.eval}_s{seed}")
        for k, v in options.items():
            setattr(g.config, k, v)
        xt = torch.as_tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
        ct = torch.as_tensor(encode_labels(y, g.classes_), dtype=torch.long)
        with torch.no_grad():
            g.fit_second_stage(xt, ct, seed=seed)
            for k, ck, target, ref in novelty_targets(xt, ct, seed=seed):
                nov = sample_novelty(g.generate, ck, ref, seed=seed)
                h = float(g.extra_["kde_h"][k])
                rows.append({"seed": seed, "class": k, "h": h, "target": target, "novelty": nov, "reached": nov >= target})
                print(f"seed {seed} class {k}: h {h:.3g} novelty {nov:.1f} target {target:.1f} "
                      f"({nov / target:.3f}) {'reached' if nov >= target else 'SHORT'}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"data": args.data, "options": options, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
