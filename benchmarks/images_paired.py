"""Paired seed comparison of two generators scored by ``images_tstr.py --json`` (one or several json files).

Prints, for generator A minus generator B, the TSTR ROC AUC and balanced accuracy differences paired by
(generator seed, classifier seed): mean ± sd over the pairs, the pairs where A is higher, each pair's AUC difference;
and, with ``--quality``, each generator's per-seed FD / C2ST / DCR / smallest spread and their means:

    python3 benchmarks/images_paired.py A B run1.json [run2.json ...]

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 11).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_tstr import seed_scores  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("json", nargs="+")
    args = ap.parse_args()
    runs: dict = {}
    for path in args.json:
        runs.update(json.load(open(path)))
    for key in ("roc_auc", "balanced_accuracy"):
        d = seed_scores(runs, args.a, key) - seed_scores(runs, args.b, key)
        print(f"{key}: {args.a} - {args.b} = {d.mean():+.4f} ± {np.std(d, ddof=1):.4f} ({int((d > 0).sum())}/{len(d)}); "
              f"pairs {' '.join(f'{v:+.4f}' for v in d)}")
    for name in (args.a, args.b):
        auc = seed_scores(runs, name, "roc_auc")
        q = runs[name].get("quality") or []
        line = f"{name}: auc {auc.mean():.3f}"
        for key in ("fd", "c2st", "dcr", "spread_min"):
            v = [r[key] for r in q]
            if v:
                line += f"; {key} {' / '.join(f'{x:.3f}' for x in v)} (mean {np.mean(v):.3f})"
        print(line)


if __name__ == "__main__":
    main()
