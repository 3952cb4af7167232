"""The image CNN's input scale: ``SmallCNNClassifier(standardise=True)`` against the raw pixels (issue 11, session 17).

Measures the clauses of the rule in benchmarks/RESULTS.md (issue 11, session 17) on real images and the evaluation's
own reference rows, base (``standardise=False``) vs candidate (``True``), classifier seeds ``--seeds``:

* ``n1`` the TRTR CNN with ``restarts=0`` at evaluate's budget (:func:`~vaelab.evaluation.image.cnn_steps` of the
  training part): its training cross-entropy over the entropy of the training labels (at >= 0.9: on the plateau);
* ``n2`` TRTR as evaluate scores it (:func:`~vaelab.evaluation.image.cnn_scores`, restarts 2): ROC AUC on the test part;
* ``n3`` evaluate's CNN C2ST (:func:`~vaelab.evaluation.image.cnn_c2st`, 5 folds) of the training part vs the test part;
* ``n4`` the same C2ST against evaluate's reference rows (:func:`~vaelab.evaluation.image.reference_sets`):
  ``blurred_real`` (the test part blurred, sigma 1 px) and ``class_mean`` (class-mean images at the training counts);
* ``n5`` determinism: the candidate's TRTR fit and C2ST run twice give the same bytes / AUCs; ``--study-sha`` prints the
  sha256 of the augmentation study's ``cnn`` scores on shapes3001 (run it with this ``src`` and with main's).

Sets (``--sets``): ``shapes3001``-``shapes3003`` (``make_textured_shapes(100 per class, seed)``), ``shapes3004``
(225 per class), each split 2/3 : 1/3 stratified at the same seed; ``digits3006`` (scikit-learn's digits, 2/3 : 1/3 at
seed 3006); ``chest3005`` (a stratified 600 of PneumoniaMNIST's train images at seed 3005 -> its val images; never the
test split; ``--chest`` the MedMNIST npz). e.g. (from the repository root)

    PYTHONPATH=src .venv/bin/python benchmarks/images_cnn_scale.py --sets shapes3001 --json /tmp/s1.json
    PYTHONPATH=src .venv/bin/python benchmarks/images_cnn_scale.py --verdict /tmp/s1.json /tmp/s2.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES = {"shapes3001": (3001, 100), "shapes3002": (3002, 100), "shapes3003": (3003, 100), "shapes3004": (3004, 225)}
ARMS = {"base": False, "candidate": True}


def _split(X: np.ndarray, y: np.ndarray, seed: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), stratify=y, random_state=seed, **kw)


def load_set(name: str, chest: str):
    """(training part, test part) as Datasets, the way ``vaelab evaluate`` reads them."""
    from vaelab.data.dataset import Dataset
    from vaelab.modalities.image.io import _spec, load_medmnist

    if name in SHAPES:
        sys.path.insert(0, str(HERE))
        from synthetic_images import make_textured_shapes

        seed, per_class = SHAPES[name]
        X, y = make_textured_shapes(n_per_class=per_class, seed=seed)
        ds = Dataset(X=X.astype(np.float64), y=y, spec=_spec(X, np.uint8))
        tr, te = _split(X, y, seed, test_size=1 / 3)
        return ds.subset(np.sort(tr)), ds.subset(np.sort(te))
    if name == "digits3006":
        from vaelab.modalities.image.demo import digits

        ds = digits()
        tr, te = _split(ds.X, ds.y, 3006, test_size=1 / 3)
        return ds.subset(np.sort(tr)), ds.subset(np.sort(te))
    if name == "chest3005":
        train = load_medmnist(chest, "train")
        tr, _ = _split(train.X, train.y, 3005, train_size=600)
        return train.subset(np.sort(tr)), load_medmnist(chest, "val")
    raise SystemExit(f"unknown set {name!r}")


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def measure(train, test, seed: int, standardise: bool) -> dict:
    """One classifier seed, one arm: the numbers of clauses n1-n4 (see the module docstring)."""
    from images_study_cnn_guard import loss_over_chance  # on the inputs as the classifier sees them

    from vaelab.evaluation.image import cnn_c2st, cnn_scores, cnn_steps, reference_sets
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    rows = train.X.reshape(train.n, -1)
    plain = SmallCNNClassifier(image_shape=train.feature_shape, random_state=seed, steps=cnn_steps(train.n),
                               standardise=standardise).fit(rows, train.y)
    out = {"trtr_r0_loss_over_chance": loss_over_chance(plain, rows, train.y),
           "trtr_r0_test_sha": _sha(plain.predict_proba(test.X.reshape(test.n, -1)))}
    trtr = cnn_scores(train.X, train.y, {"test": (test.X, test.y)}, seed=seed, standardise=standardise)["test"]
    out["trtr_auc"], out["trtr_bacc"] = trtr["roc_auc"], trtr["balanced_accuracy"]
    out["c2st_real"] = cnn_c2st(train.X, test.X, seed=seed, standardise=standardise)["auc"]
    refs = reference_sets(train, train, test, seed=seed, blur_sigma=1.0)
    for row in ("blurred_real", "class_mean"):
        r, s, _ = refs[row]
        out[f"c2st_{row}"] = cnn_c2st(r.X, s.X, seed=seed, standardise=standardise)["auc"]
    return out


def determinism(train, test) -> dict:
    """n5: the candidate's TRTR fit and its C2ST, twice in one process (seed 0)."""
    from vaelab.evaluation.image import cnn_c2st, cnn_steps
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    def once():
        clf = SmallCNNClassifier(image_shape=train.feature_shape, random_state=0, steps=cnn_steps(train.n),
                                 standardise=True).fit(train.X.reshape(train.n, -1), train.y)
        return _sha(clf.predict_proba(test.X.reshape(test.n, -1))), cnn_c2st(train.X, test.X, standardise=True)["auc"]

    a, b = once(), once()
    return {"first": a, "second": b, "identical": a == b}


def study_sha(chest: str) -> str:
    """The augmentation study's ``cnn`` (make_classifier, seed 0) on shapes3001 train -> test: sha256 of its
    probabilities."""
    from vaelab.experiments.classifiers import make_classifier

    train, test = load_set("shapes3001", chest)
    clf = make_classifier("cnn", seed=0, image_shape=train.feature_shape)
    clf.fit(train.X.reshape(train.n, -1), np.asarray(train.y).astype(str))
    return _sha(clf.predict_proba(test.X.reshape(test.n, -1)))


def run(names: list[str], seeds: list[int], chest: str) -> dict:
    record: dict = {"seeds": seeds, "sets": {}}
    for name in names:
        train, test = load_set(name, chest)
        sets = record["sets"][name] = {"n_train": train.n, "n_test": test.n}
        for arm, flag in ARMS.items():
            t0 = time.process_time()
            sets[arm] = [measure(train, test, s, flag) for s in seeds]
            sets[f"{arm}_cpu_s"] = time.process_time() - t0
            print(name, arm, f"{sets[f'{arm}_cpu_s']:.0f} CPU s", flush=True)
        if name == names[0]:
            record["determinism"] = {name: determinism(train, test)}
    return record


KEYS = ("trtr_auc", "c2st_real", "c2st_blurred_real", "c2st_class_mean")


def verdict(records: list[dict]) -> dict:
    """The rule's clauses over the sets of ``records`` (see benchmarks/RESULTS.md, issue 11, session 17)."""
    sets = {k: v for r in records for k, v in r["sets"].items()}
    rows, ok = {}, {"n1": True, "n2": True, "n3": True, "n4": True}
    tot = {"base": 0, "candidate": 0}
    for name, v in sets.items():
        row = {}
        for arm in ARMS:
            row[f"{arm}_plateau"] = sum(m["trtr_r0_loss_over_chance"] >= 0.9 for m in v[arm])
            for k in KEYS:
                row[f"{arm}_{k}"] = float(np.mean([m[k] for m in v[arm]]))
            if name in SHAPES:
                tot[arm] += row[f"{arm}_plateau"]
        ok["n1"] &= row["candidate_plateau"] <= row["base_plateau"]
        ok["n2"] &= row["candidate_trtr_auc"] >= row["base_trtr_auc"] - 0.01
        ok["n3"] &= row["candidate_c2st_real"] <= 0.60
        for k in ("c2st_blurred_real", "c2st_class_mean"):
            c, b = row[f"candidate_{k}"], row[f"base_{k}"]
            ok["n4"] &= c >= min(b - 0.02, 0.9) and c >= 0.75
        rows[name] = row
    ok["n1"] &= (tot["candidate"] == tot["base"] == 0) or tot["candidate"] <= tot["base"] / 3
    det = [d["identical"] for r in records for d in r.get("determinism", {}).values()]
    ok["n5 (determinism part)"] = bool(det) and all(det)
    return {"rows": rows, "shapes_plateau_total": tot, "clauses": ok,
            "base_c2st_real_above_0.60": [n for n, r in rows.items() if r["base_c2st_real"] > 0.60]}


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="shapes3001,shapes3002,shapes3003,shapes3004,digits3006,chest3005")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--chest", default="/work/shared/data/pneumoniamnist.npz")
    ap.add_argument("--json", help="write the record here")
    ap.add_argument("--verdict", nargs="+", metavar="JSON", help="print the clauses over these records")
    ap.add_argument("--study-sha", action="store_true", help="print the study cnn's score sha on shapes3001")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(HERE))
    if args.verdict:
        print(json.dumps(verdict([json.loads(Path(p).read_text()) for p in args.verdict]), indent=1))
        return
    if args.study_sha:
        print(study_sha(args.chest))
        return
    r = run(args.sets.split(","), [int(s) for s in args.seeds.split(",")], args.chest)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
