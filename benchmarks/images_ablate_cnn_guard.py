"""``vaelab ablate`` on images before and after its TSTR/TRTR CNN got the chance guard (issue 11, session 16, fourth helper).

Runs every cell of :func:`vaelab.experiments.ablation.plan_ablation` (models ``ppca,noise``: cheap generators, the
change is in the classifiers) with :func:`~vaelab.experiments.ablation.ablation_cell` on one image set, records every
:class:`~vaelab.modalities.image.cnn.SmallCNNClassifier` fit in order (role ``c2st``: 2 classes, real vs synthetic;
``utility``: the class labels, TSTR/TRTR; the networks trained ``attempts_``, the kept network's training cross-entropy
over the entropy of the training labels, the sha256 of its first ``predict_proba``, CPU seconds) and each cell's
metrics, and writes them to ``--json``. ``--restarts R`` sets ``UTILITY_CNN_RESTARTS`` (the guard of the TSTR/TRTR
CNN; 0, the default, is the ablation before it: the same bytes as the code before the two CNNs were separated, main at
7730142, checked with that code on ``PYTHONPATH`` and no ``--restarts``); ``--compare BEFORE AFTER`` prints the counts
and byte-identities of two records, ``--summary`` each record's plateau counts and mean metrics (the CNNs' inputs are
standardised per channel since issue 11, session 17: ``CNN_STANDARDISE`` of the ablation, run with the code on
``PYTHONPATH``; the loss is taken on the inputs as the CNN sees them).
Sets: ``digits`` (scikit-learn's 8x8 digits, 1797, 0..16) and ``shapes`` (``make_textured_shapes(n_per_class=
--per-class, seed=1611)``, raw uint8 0..255, 4 classes). e.g. (from the repository root)

    PYTHONPATH=src .venv/bin/python benchmarks/images_ablate_cnn_guard.py --set digits --restarts 0 --json before.json
    PYTHONPATH=src .venv/bin/python benchmarks/images_ablate_cnn_guard.py --set digits --restarts 2 --json after.json
    .venv/bin/python benchmarks/images_ablate_cnn_guard.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np


def load_set(name: str, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        from vaelab.modalities.image.demo import digits

        d = digits()
        return d.X.astype(np.uint8), np.asarray(d.y, dtype=np.int64)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from synthetic_images import make_textured_shapes

    return make_textured_shapes(n_per_class=per_class, seed=1611)


def run(X: np.ndarray, y: np.ndarray, models: str, seeds: int, folds: int, restarts: int | None) -> dict:
    """Every cell of the ablation, with a record of each CNN fit (see the module docstring)."""
    import sys

    import vaelab.experiments.ablation as abl
    from vaelab.data.dataset import Dataset
    from vaelab.experiments.ablation import ablation_cell, plan_ablation

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from images_study_cnn_guard import loss_over_chance, recorded_cnn_fits  # the study's measure and recorder

    def fields(clf, Xf, yf) -> dict:
        return {"cell": cell_key, "role": "c2st" if len(clf.classes_) == 2 else "utility",
                "restarts": int(clf.restarts), "attempts": clf.attempts_,
                "loss_over_chance": loss_over_chance(clf, Xf, yf)}

    if restarts is not None:
        abl.UTILITY_CNN_RESTARTS = restarts
    plan = plan_ablation(Dataset(X=X, y=y), models, seeds=seeds, folds=folds)
    cells = {}
    cell_key = ""
    with recorded_cnn_fits(fields) as fits:
        for cell in plan["cells"]:
            cell_key = f"{cell['model']}-s{cell['seed']}-f{cell['fold']}"
            res = ablation_cell(plan["shared"], cell)
            cells[cell_key] = {"metrics": res["metrics"], "errors": res["errors"], "cnn_restarts":
                               cell.get("cnn_restarts")}
            print(cell_key, {k: round(v, 4) for k, v in res["metrics"].items() if k in ("c2st_auc", "tstr", "trtr")},
                  flush=True)
    return {"cells": cells, "fits": fits}


def same(a: float, b: float) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def compare(before: dict, after: dict) -> None:
    fb, fa = before["fits"], after["fits"]
    by_cell: dict[str, list[int]] = {}
    for f in fa:
        if f["role"] == "utility":
            by_cell.setdefault(f["cell"], []).append(f["attempts"])
    # the C2ST fits of a cell come first, so the two runs' fits pair up in order
    assert [(f["cell"], f["role"]) for f in fb] == [(f["cell"], f["role"]) for f in fa]
    for role in ("c2st", "utility"):
        pairs = [(b, a) for b, a in zip(fb, fa, strict=True) if b["role"] == role]
        at_chance = [b for b, _ in pairs if b["loss_over_chance"] >= 0.9]
        retrained = [a for _, a in pairs if a["attempts"] > 1]
        kept = [(b, a) for b, a in pairs if a["attempts"] == 1]
        ratios = np.array([b["loss_over_chance"] for b, _ in pairs])
        print(f"{role}: {len(pairs)} CNN fits; before: loss/chance min {ratios.min():.3f} median "
              f"{np.median(ratios):.3f} max {ratios.max():.3f}, at chance (>= 0.9) {len(at_chance)}; after: "
              f"restarts {sorted({a['restarts'] for _, a in pairs})}, retrained {len(retrained)}; kept fits "
              f"byte-identical {sum(b['sha'] == a['sha'] for b, a in kept)}/{len(kept)}; CPU s "
              f"{sum(b['cpu'] for b, _ in pairs):.1f} -> {sum(a['cpu'] for _, a in pairs):.1f}")
    quiet = [k for k, v in by_cell.items() if all(n == 1 for n in v)]
    ident = [k for k in quiet if before["cells"][k]["metrics"].keys() == after["cells"][k]["metrics"].keys()
             and all(same(before["cells"][k]["metrics"][m], after["cells"][k]["metrics"][m])
                     for m in before["cells"][k]["metrics"])]
    c2st = [k for k in before["cells"] if same(before["cells"][k]["metrics"].get("c2st_auc"),
                                                after["cells"][k]["metrics"].get("c2st_auc"))]
    print(f"R1 cells without a utility restart, every metric byte-identical: {len(ident)}/{len(quiet)}")
    print(f"R2 c2st_auc byte-identical: {len(c2st)}/{len(before['cells'])}")
    for k in sorted(set(by_cell) - set(quiet)):
        b, a = before["cells"][k]["metrics"], after["cells"][k]["metrics"]
        print(f"  retrained in {k}: tstr {b.get('tstr'):.4f} -> {a.get('tstr'):.4f}, "
              f"trtr {b.get('trtr'):.4f} -> {a.get('trtr'):.4f}")


def summary(name: str, record: dict) -> None:
    """Per CNN role: fits, training loss / chance (min, median, max), fits at >= 0.9; the cells' mean metrics."""
    for role in ("c2st", "utility"):
        r = np.array([f["loss_over_chance"] for f in record["fits"] if f["role"] == role])
        print(f"{name} {role}: {len(r)} CNN fits; loss/chance min {r.min():.3f} median {np.median(r):.3f} max "
              f"{r.max():.3f}; at chance (>= 0.9) {int((r >= 0.9).sum())}")
    cells = record["cells"].values()
    print(f"{name} cells {len(cells)}: mean " + ", ".join(
        f"{m} {np.nanmean([c['metrics'].get(m, np.nan) for c in cells]):.4f}" for m in ("c2st_auc", "tstr", "trtr")))


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=("digits", "shapes"))
    ap.add_argument("--models", default="ppca,noise")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--per-class", type=int, default=100, help="images per class of the shapes set")
    ap.add_argument("--restarts", type=int, help="UTILITY_CNN_RESTARTS (omit: as the code on PYTHONPATH has it)")
    ap.add_argument("--json", help="write the records here")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two --json records")
    ap.add_argument("--summary", nargs="+", metavar="JSON", help="plateau counts and mean metrics of --json records")
    args = ap.parse_args()
    if args.summary:
        for p in args.summary:
            summary(Path(p).stem, json.loads(Path(p).read_text()))
        return
    if args.compare:
        compare(*(json.loads(Path(p).read_text()) for p in args.compare))
        return
    torch.set_num_threads(1)
    X, y = load_set(args.set, args.per_class)
    r = run(X, y, args.models, args.seeds, args.folds, args.restarts)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
