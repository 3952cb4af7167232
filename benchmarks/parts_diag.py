"""Which drawn part of vaelab-cvae's samples the random-forest C2ST separates, by oracle substitution on one fitted
network, and where on the axis / in which statistic the forest reads it (issue 16, session 18).

One cell: coffee or Raman, one preprocessing space, inner split ``S`` of the outer split of seed 0 (``generators.py``'s
``load_sets(seed=0)`` and ``inner_split``; no holdout is read). One vaelab-cvae fit with the current default config,
seed S; one draw, seed S + 1 (``--draw D``: S + D), the training counts per class. A sample of ``generate()`` is made of: the training row
``r`` its code is drawn around (the sampler's pick), the code ``Z`` (posterior draw + calibrated kernel), the row's own
noise level (attached, never drawn), the decoded-coordinate residual ``T`` (scale x the drawn whitened residual), the
rest outside the axes ``R`` (drawn ``r / s``, times the level in ``merge``), then the per-sample renormalisation. Their
real counterparts for row ``r``: its posterior mean, its own residual (its coordinates minus the decoder mean at its
posterior mean and level) and its own rest. Variants, named Z T R with ``d`` drawn, ``o`` the row's own, ``0`` left
out, all from the same random numbers and picked rows: ``ddd`` (the default; checked equal to ``generate()``'s
bytes), ``odd`` / ``dod`` / ``ddo`` (one part real), ``doo`` / ``odo`` / ``ood`` (one part drawn), ``ooo`` (the real
rows back, the floor), ``o00`` (decoded posterior means alone), ``d00`` (decoded sampled codes alone), ``oo0`` (the
real principal part alone).

Per variant one JSON line: ``c2st`` (``generators.py``'s C2ST: training part vs the variant, 300 trees, 5 folds, seed S;
raw; below 0.5 read as 0.5 in the table) and ``c2st_paired`` (the same forest, all rows, 5 folds by group, each synthetic
sample in its source row's group -- the spectrum for coffee, the patient for Raman -- so no sample and its source row
fall on both sides of a fold: a copy's twin is never in the training folds, which removes the anti-learning on copies;
a diagnostic, not the benchmark's metric) and ``top_sd_ratio`` (per class, the median over the top points below of the
variant's sd over the real sd). The top points and
the ``top`` line: a 300-tree forest on all real rows vs the default draw, its 12 most important points (index and, for Raman, the
wavenumber) and at each, per class, the real / synthetic mean, sd, q01, q50, q99 and skewness.

    python benchmarks/parts_diag.py raman arpls+savgol+vector,d1 79 --data /work/shared/data/raman_saliva_covid.npz > r.jsonl
    python benchmarks/parts_diag.py coffee arpls+savgol+vector,d1 119,120,121,122,123 > c.jsonl
    python benchmarks/parts_diag.py --table r.jsonl c.jsonl

(``--table``: the C2ST table (official raw / paired per variant), the per-part summary (the paired C2ST's change when
one part of the default is made real, and the paired C2ST with only that part drawn; the part whose replacement lowers
it most), the top-point sd ratios, the checks and the forest's top points.)

Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import skew
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spread_diag import cell_parser, fit, training_part  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.metrics.distribution import _default_c2st_classifier, _positive_scores, c2st  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import _RENORM_NAMES, _renormalise  # noqa: E402

VARIANTS = ("ddd", "odd", "dod", "ddo", "doo", "odo", "ood", "ooo", "o00", "d00", "oo0")
STATS = ("mean", "sd", "q01", "q50", "q99")


def parts(g, job, counts: dict, seed: int) -> dict:
    """The default draw's parts and their real counterparts (see the module docstring), as tensors."""
    m, sampler = g.module, g._latent_sampler()
    U, c_all = job.X_all, job.c_all
    c = torch.as_tensor(np.repeat(np.arange(len(g.classes_)), [counts[k] for k in g.classes_]))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # the calls and order of generate() (texture_draw "local_checked", rest "gaussian")
        z, level, rows = sampler.sample_rows(c, gen)
        mean, logvar = m.decode(z, c, level)
        tc = sampler.state["train_class"]
        tex = g._residual_scale(logvar, level, mean) * g._local_residual("tex", c, rows, tc, gen)
        rest = g._draw("rest", c, gen, None)
        mu, _ = m.encode(U, c_all)
        lev = m.level(U)
        mean_mu, _ = m.decode(mu, c_all, lev)
        own_tex = U[:, : m.D_out] - mean_mu
    return {"c": c, "rows": rows, "level": level, "mean_z": mean, "mean_own": mean_mu[rows], "tex": tex,
            "own_tex": own_tex[rows], "rest": rest, "own_rest": torch.as_tensor(job.state["rest"])[rows].float()}


def compose(g, p: dict, variant: str) -> np.ndarray:
    """One variant's samples in the data's space (after the renormalisation, as ``generate()``)."""
    zc, tc, rc = variant
    u = p["mean_z" if zc == "d" else "mean_own"]
    if tc != "0":
        u = u + p["tex" if tc == "d" else "own_tex"]
    rest = None if rc == "0" else p["rest" if rc == "d" else "own_rest"]
    with torch.no_grad():
        x = g.module.merge(torch.cat([u, p["level"]], 1), rest)
    return _renormalise(x, _RENORM_NAMES[int(g.extra_["renorm"][0])]).double().numpy()


def paired_c2st(real: np.ndarray, syn: np.ndarray, groups: np.ndarray, rows: np.ndarray, seed: int,
                folds: int = 5) -> float:
    """The C2ST's forest and z-scoring (``c2st``), all rows, folds by group with each synthetic sample in its source
    row's group: a sample and its source row are never on both sides of a fold (mean of the fold AUCs)."""
    mean, sd = real.mean(axis=0), real.std(axis=0)
    sd[sd == 0] = 1.0
    data = (np.concatenate([real, syn]) - mean) / sd
    target = np.r_[np.zeros(len(real), int), np.ones(len(syn), int)]
    g = np.unique(np.r_[groups, groups[rows]], return_inverse=True)[1]
    aucs = []
    for tr, te in StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(data, target, g):
        clf = _default_c2st_classifier(seed).fit(data[tr], target[tr])
        aucs.append(roc_auc_score(target[te], _positive_scores(clf, data[te])))
    return float(np.mean(aucs))


def point_stats(real: np.ndarray, y: np.ndarray, syn: np.ndarray, ys: np.ndarray, p: int) -> dict:
    out = {}
    for k in np.unique(y):
        r, s = real[y == k, p], syn[ys == k, p]
        sd = r.std() if r.std() > 0 else 1.0
        f = {"mean": np.mean, "sd": np.std, "q01": lambda v: np.quantile(v, 0.01),
             "q50": np.median, "q99": lambda v: np.quantile(v, 0.99)}
        out[str(k)] = {**{n: [float(fn(r)), float(fn(s)), float((fn(s) - fn(r)) / sd)] for n, fn in f.items()},
                       "skew": [float(skew(r)), float(skew(s))]}
    return out


def top_sd_ratio(real: np.ndarray, y: np.ndarray, syn: np.ndarray, ys: np.ndarray, top: np.ndarray) -> list[float]:
    """Per class, the median over the ``top`` points of the synthetic / real sd."""
    out = []
    for k in np.unique(y):
        sd = real[y == k][:, top].std(axis=0)
        out.append(float(np.median(syn[ys == k][:, top].std(axis=0) / np.where(sd > 0, sd, 1.0))))
    return out


def cell(data: str, space: str, split: str, path: Path, draw: int = 1) -> None:
    X_raw, y, groups, S = training_part(data, split, path)
    X, groups = Preprocessing.from_spec(space).fit_transform(X_raw), np.asarray(groups)
    classes, n_per = np.unique(y, return_counts=True)
    counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
    axis = np.load(path)["axis"] if data == "raman" else None
    head = {"data": data, "space": space, "split": S, **({"draw": S + draw} if draw != 1 else {})}
    with torch_threads():
        g, job = fit(X, y, S, {})
        p = parts(g, job, counts, S + draw)
        Sx, ys = g.sample(counts, seed=S + draw)
    ys = np.asarray(ys).astype(str)
    assert (ys == classes[p["c"].numpy()]).all()
    rows = p["rows"].numpy()
    h = g._latent_sampler().state["kde_h"].tolist()
    rf = RandomForestClassifier(n_estimators=300, random_state=S, n_jobs=1)
    rf.fit(np.concatenate([X, Sx]), np.r_[np.zeros(len(X)), np.ones(len(Sx))])
    imp = rf.feature_importances_
    top = np.argsort(imp)[::-1][:12]
    for v in VARIANTS:
        x = compose(g, p, v)
        line = {**head, "variant": v, "h": h, "c2st": c2st(X, x, seed=S),
                "c2st_paired": paired_c2st(X, x, groups, rows, S),
                "max_abs_vs_rows": float(np.abs(x - X[rows]).max()), "top_sd_ratio": top_sd_ratio(X, y, x, ys, top)}
        if v == "ddd":
            line["same_as_generate"] = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() == \
                hashlib.sha256(np.ascontiguousarray(Sx, dtype=np.float64).tobytes()).hexdigest()
            line["max_abs_vs_generate"] = float(np.abs(x - Sx).max())
        print(json.dumps(line), flush=True)
    print(json.dumps({**head, "top": [{"point": int(q), "importance": float(imp[q]),
                                       "axis": None if axis is None or len(axis) != X.shape[1] else float(axis[q]),
                                       "stats": point_stats(X, y, Sx, ys, int(q))} for q in top],
                      "importance_share_top12": float(imp[top].sum())}), flush=True)


def table(paths: list[str]) -> None:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()]
    cells = list(dict.fromkeys((r["data"], r["split"], r["space"]) for r in rows))
    print("| cell | h per class | " + " | ".join(VARIANTS) + " |")
    print("|---" * (2 + len(VARIANTS)) + "|")
    for key in cells:
        vs = {r["variant"]: r for r in rows if (r["data"], r["split"], r["space"]) == key and "variant" in r}
        h = " ".join(f"{v:.2f}" for v in vs["ddd"]["h"])
        print(f"| {key[0]} {key[1]} {key[2]} | {h} | " + " | ".join(
            f"{vs[v]['c2st']:.3f} / {vs[v]['c2st_paired']:.3f}" for v in VARIANTS) + " |")
    checks = [(k, r["same_as_generate"], r["max_abs_vs_generate"], next(x["max_abs_vs_rows"] for x in rows if
              (x["data"], x["split"], x["space"]) == k and x.get("variant") == "ooo"))
              for k in cells for r in rows if (r["data"], r["split"], r["space"]) == k and r.get("variant") == "ddd"]
    print("\n| cell | paired C2ST: default | change with the real code / residual / rest (odd, dod, ddo) | only the code / "
          "residual / rest drawn (doo, odo, ood) | all real (ooo) | largest single part |")
    print("|---|---|---|---|---|---|")
    for key in cells:
        vs = {r["variant"]: r["c2st_paired"] for r in rows if (r["data"], r["split"], r["space"]) == key and "variant" in r}
        ch = {part: vs[v] - vs["ddd"] for part, v in (("code", "odd"), ("residual", "dod"), ("rest", "ddo"))}
        print(f"| {key[0]} {key[1]} {key[2]} | {vs['ddd']:.3f} | {' / '.join(f'{v:+.3f}' for v in ch.values())} | "
              f"{vs['doo']:.3f} / {vs['odo']:.3f} / {vs['ood']:.3f} | {vs['ooo']:.3f} | {min(ch, key=ch.get)} |")
    print("\n| cell | top-point sd ratio per class (synthetic / real, median over the top 12): " + " | ".join(VARIANTS) + " |")
    print("|---" * (1 + len(VARIANTS)) + "|")
    for key in cells:
        vs = {r["variant"]: r for r in rows if (r["data"], r["split"], r["space"]) == key and "variant" in r}
        print(f"| {key[0]} {key[1]} {key[2]} | " + " | ".join(
            " ".join(f"{v:.1f}" for v in vs[name]["top_sd_ratio"]) for name in VARIANTS) + " |")
    print("\nchecks (ddd == generate() bytes, max |ddd - generate()|, max |ooo - X[rows]|):",
          "; ".join(f"{k[0]} {k[1]} {k[2]}: {a} {b:.1e} {c:.1e}" for k, a, b, c in checks))
    print("\n| cell | share of importance in top 12 | top points (axis) | median abs. gap over top points and classes "
          "(real sd): " + " / ".join(STATS) + " | median skewness real / synthetic |")
    print("|---|---|---|---|---|")
    for key in cells:
        t = next(r for r in rows if (r["data"], r["split"], r["space"]) == key and "top" in r)
        pts = " ".join(f"{q['point']}" + (f" ({q['axis']:.0f})" if q["axis"] is not None else "") for q in t["top"])
        gaps = [float(np.median([abs(cs[s][2]) for q in t["top"] for cs in q["stats"].values()])) for s in STATS]
        sk = [float(np.median([cs["skew"][i] for q in t["top"] for cs in q["stats"].values()])) for i in (0, 1)]
        print(f"| {key[0]} {key[1]} {key[2]} | {t['importance_share_top12']:.3f} | {pts} | "
              f"{' / '.join(f'{v:.2f}' for v in gaps)} | {sk[0]:.2f} / {sk[1]:.2f} |")


def main(argv: list[str] | None = None) -> None:
    ap = cell_parser(__doc__)
    ap.add_argument("--draw", type=int, default=1, help="the draw seed is the split's seed plus this")
    a = ap.parse_args(argv)
    cells = [] if a.table else [(split, space) for split in a.splits.split(",") for space in a.spaces.split(",")]
    for split, space in cells:  # one JSON line per variant, then the cell's top points
        cell(a.data, space, split, Path(a.npz), a.draw)
    if a.table:
        table(a.table)


if __name__ == "__main__":
    main()
