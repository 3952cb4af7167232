"""Old -> new of one ``images_tstr.py --json`` run scored twice on the same cached sets (e.g. raw-pixel CNN vs the
per-channel standardised CNN of ``vaelab.evaluation.image``, ``CNN_STANDARDISE``): one markdown row per generator.

Columns: TSTR ROC AUC mean ± sd over generator seeds (each seed's value = its mean over classifier seeds), old -> new;
balanced accuracy old -> new; TSTR / TRTR (mean AUC over mean TRTR AUC) old -> new; with ``--versus B``, each
generator minus B paired by (generator seed, classifier seed): mean and the pairs where it is higher, old -> new::

    python3 benchmarks/images_tstr_rescore.py OLD.json NEW.json [--versus pythae-vae] [--label chest]

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 17, second helper).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_tstr import seed_scores  # noqa: E402

TRTR = "real (TRTR)"


def _mean_sd(run: dict, name: str, key: str) -> tuple[float, float]:
    """Mean and sd over generator seeds of the per-seed means over classifier seeds."""
    per = np.array([[c[key] for c in p] for p in run[name]["per_gen_seed"]]).mean(axis=1)
    return float(per.mean()), float(np.std(per, ddof=1)) if len(per) > 1 else 0.0


def _paired(run: dict, a: str, b: str) -> str:
    d = seed_scores(run, a, "roc_auc") - seed_scores(run, b, "roc_auc")
    return f"{d.mean():+.4f} ({int((d > 0).sum())}/{len(d)})"


def rows(old: dict, new: dict, versus: str | None = None, label: str = "") -> list[str]:
    """Markdown rows (header included) comparing the generators both runs hold, in ``new``'s order."""
    head = ["set", "generator", "TSTR AUC old -> new", "bacc old -> new", "TSTR/TRTR old -> new"]
    if versus:
        head.append(f"paired AUC minus {versus}, old -> new")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    t_old, t_new = _mean_sd(old, TRTR, "roc_auc")[0], _mean_sd(new, TRTR, "roc_auc")[0]
    for name in new:
        if name not in old:
            continue
        (ao, so), (an, sn) = _mean_sd(old, name, "roc_auc"), _mean_sd(new, name, "roc_auc")
        bo, bn = _mean_sd(old, name, "balanced_accuracy")[0], _mean_sd(new, name, "balanced_accuracy")[0]
        cells = [label, name, f"{ao:.3f} ± {so:.3f} -> {an:.3f} ± {sn:.3f}", f"{bo:.3f} -> {bn:.3f}",
                 "" if name == TRTR else f"{ao / t_old:.3f} -> {an / t_new:.3f}"]
        if versus:
            cells.append("" if name in (TRTR, versus) or versus not in new
                         else f"{_paired(old, name, versus)} -> {_paired(new, name, versus)}")
        out.append("| " + " | ".join(cells) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--versus", default=None, help="paired differences against this generator")
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    old, new = (json.loads(Path(p).read_text()) for p in (args.old, args.new))
    print("\n".join(rows(old, new, args.versus, args.label)))


if __name__ == "__main__":
    main()
