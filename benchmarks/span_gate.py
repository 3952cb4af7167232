"""Gate G of issue 16, session 19 (``span = "class"``): the default against a vaelab-cvae config (the candidate), paired
C2ST as in ``parts_diag.py``, and the top-point sd ratios per class of both.

One cell: coffee or Raman, one preprocessing space, inner split ``S`` of the outer split of seed 0 (``spread_diag.py``'s
``training_part``; no holdout is read). Per arm (``default``: the default config; ``candidate``: the default with the
``--config`` JSON) one vaelab-cvae fit, seed S, and one draw, seed S + 1 (``--draw D``: S + D), at the training counts
per class. Per arm one JSON line: the calibrated kernel widths ``h``, ``c2st`` (``generators.py``'s, raw), ``c2st_paired``
(``parts_diag.paired_c2st``: the same forest on all rows, 5 folds by group, each sample in its source row's group; the
source rows are the sampler's pick of that draw, read by replaying its first call with the draw's seed) and the
top-point sd ratios (``parts_diag.top_sd_ratio``: per class, the median over 12 points of the synthetic / real sd) at
the default draw's 12 most important points (a 300-tree forest on all real rows vs the default's draw, as
``parts_diag.py``) and at the candidate draw's own 12. The candidate's line also holds ``span_rank`` (per class, with
``numpy.linalg.matrix_rank``'s default rank of the centred class rows beside it); every line ``hull_residual`` (the
largest residual of a least-squares fit of each sample on its class's training rows, over the largest absolute sample
value: the linear span, since the per-sample renormalisation after the projection rescales a point of the affine hull).

    python benchmarks/span_gate.py coffee arpls+savgol+vector 134,135,136 --config '{"span": "class"}' > g.jsonl
    python benchmarks/span_gate.py --table g.jsonl

(``--table``: a row per cell and the gate: the candidate's mean paired C2ST at least ``--margin`` (0.05) below the
default's.) ``--outside`` (descriptive, :func:`outside`): per class the share of a held-out spectrum's and of a default
sample's centred squared norm outside the class's training hull, i.e. what the projection removes:

    python benchmarks/span_gate.py raman minmax,arpls+savgol+vector 80 --outside --data /work/shared/data/raman_saliva_covid.npz Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generators import inner_split, load_sets  # noqa: E402
from parts_diag import paired_c2st, top_sd_ratio  # noqa: E402
from spread_diag import cell_parser, fit, training_part  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.metrics.distribution import c2st  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import _class_spans  # noqa: E402


def top_points(X: np.ndarray, S: np.ndarray, seed: int, n: int = 12) -> np.ndarray:
    rf = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    rf.fit(np.concatenate([X, S]), np.r_[np.zeros(len(X)), np.ones(len(S))])
    return np.argsort(rf.feature_importances_)[::-1][:n]


def hull_residual(X: np.ndarray, y: np.ndarray, S: np.ndarray, ys: np.ndarray) -> float:
    """The largest residual of a least-squares fit of each sample on its class's training rows (their linear span: it
    holds the affine hull and, after a per-sample rescaling such as the vector norm, its rescaled points), over the
    largest absolute sample value."""
    worst = 0.0
    for k in np.unique(y):
        A, D = X[y == k].T, S[ys == k].T
        worst = max(worst, float(np.abs(A @ np.linalg.lstsq(A, D, rcond=None)[0] - D).max()))
    return worst / float(np.abs(S).max())


def cell(data: str, space: str, split: str, path: Path, config: dict, draw: int = 1) -> None:
    X_raw, y, groups, S = training_part(data, split, path)
    X, groups = Preprocessing.from_spec(space).fit_transform(X_raw), np.asarray(groups)
    classes, n_per = np.unique(y, return_counts=True)
    counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
    head = {"data": data, "space": space, "split": S, "draw": S + draw}
    arms = {}
    with torch_threads():
        for arm, cfg in (("default", {}), ("candidate", config)):
            g, job = fit(X, y, S, cfg)
            Sx, ys = g.sample(counts, seed=S + draw)
            sampler = g._latent_sampler()
            c = torch.as_tensor(np.repeat(np.arange(len(g.classes_)), [counts[k] for k in g.classes_]))
            rows = sampler.sample_rows(c, torch.Generator().manual_seed(S + draw))[2].numpy()
            arms[arm] = (g, np.asarray(Sx, dtype=np.float64), np.asarray(ys).astype(str), rows)
    top_d = top_points(X, arms["default"][1], S)
    top_c = top_points(X, arms["candidate"][1], S)
    for arm, (g, Sx, ys, rows) in arms.items():
        line = {**head, "arm": arm, "config": {} if arm == "default" else config,
                "h": g._latent_sampler().state["kde_h"].tolist(), "c2st": c2st(X, Sx, seed=S),
                "c2st_paired": paired_c2st(X, Sx, groups, rows, S),
                "top_default": top_d.tolist(), "top_candidate": top_c.tolist(),
                "sd_ratio_top_default": top_sd_ratio(X, y, Sx, ys, top_d),
                "sd_ratio_top_candidate": top_sd_ratio(X, y, Sx, ys, top_c),
                "sha256": hashlib.sha256(np.ascontiguousarray(Sx).tobytes()).hexdigest()}
        if "span_rank" in g.extra_:
            line["span_rank"] = g.extra_["span_rank"].tolist()
            line["matrix_rank"] = [int(np.linalg.matrix_rank(X[y == k] - X[y == k].mean(axis=0))) for k in classes]
        line["hull_residual"] = hull_residual(X, y, Sx, ys)
        print(json.dumps(line), flush=True)


def outside(data: str, space: str, split: str, path: Path) -> None:
    """Descriptive (after the validation): per class, the share of the squared centred norm ``|x - m_k|^2`` that lies
    outside the affine hull of the class's training rows (``|(I - Q_k Q_k^T)(x - m_k)|^2 / |x - m_k|^2``, what
    ``span = "class"`` removes), median over the inner split's held-out spectra of the class (``generators.py``'s
    ``inner_split``; the outer holdout is not read) and over one draw of the default (seed S + 1, training counts); one
    JSON line per class with n_k, the rank and d."""
    outer = load_sets([data], path, 0)[data]
    s = inner_split(outer, int(split))
    pre = Preprocessing.from_spec(space)
    X, y = pre.fit_transform(s["X_raw"]), np.asarray(s["y"]).astype(str)
    Xh, yh = pre.transform(s["X_raw_ho"]), np.asarray(s["y_ho"]).astype(str)
    classes, n_per = np.unique(y, return_counts=True)
    with torch_threads():
        g, _ = fit(X, y, int(split), {})
        Sx, ys = g.sample(dict(zip(classes.tolist(), n_per.tolist(), strict=True)), seed=int(split) + 1)
    ys = np.asarray(ys).astype(str)
    sp = _class_spans(X, torch.as_tensor(np.searchsorted(classes, y)), len(classes))
    for k, name in enumerate(classes):
        m, Q = sp["span_mean"][k].numpy(), sp["span_basis"][k, :, : int(sp["span_rank"][k])].numpy()

        def share(Z, m=m, Q=Q):
            D = Z - m
            return float(np.median(((D - (D @ Q) @ Q.T) ** 2).sum(axis=1) / (D**2).sum(axis=1)))
        print(json.dumps({"data": data, "space": space, "split": int(split), "class": str(name), "n_k": int(n_per[k]),
                          "rank": int(sp["span_rank"][k]), "d": X.shape[1], "outside_holdout": share(Xh[yh == name]),
                          "n_holdout": int((yh == name).sum()), "outside_default": share(np.asarray(Sx)[ys == name])}),
              flush=True)


def outside_table(rows: list[dict]) -> None:
    """Per data set and space, over its class-cells (:func:`outside`'s lines): the median [smallest, largest] share
    outside the class hull of the held-out spectra and of the default's samples."""
    print("| data space (class-cells) | n_k / rank / d | held-out spectra: share outside the class hull, median [min, max] "
          "| default samples |\n|---|---|---|---|")
    for key in dict.fromkeys((r["data"], r["space"]) for r in rows):
        rs = [r for r in rows if (r["data"], r["space"]) == key]

        def f(name, rs=rs):
            v = [r[name] for r in rs]
            return f"{np.median(v):.4f} [{min(v):.4f}, {max(v):.4f}]"
        sizes = " ".join(sorted({f"{r['n_k']}/{r['rank']}" for r in rs}))
        print(f"| {key[0]} {key[1]} ({len(rs)}) | {sizes} / {rs[0]['d']} | {f('outside_holdout')} | {f('outside_default')} |")


def table(paths: list[str], margin: float) -> None:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()]
    if rows and "outside_holdout" in rows[0]:
        outside_table(rows)
        return
    cells = list(dict.fromkeys((r["data"], r["split"], r["space"], r["draw"]) for r in rows))
    print("| cell | h per class, default -> candidate | class ranks (matrix_rank) | C2ST raw, default -> candidate | "
          "paired C2ST, default -> candidate | change | top-point sd ratio per class at the default's top 12: default -> "
          "candidate | at the candidate's top 12: default -> candidate | hull residual, default / candidate |")
    print("|---|---|---|---|---|---|---|---|---|")
    pd, pc = [], []
    for key in cells:
        a = {r["arm"]: r for r in rows if (r["data"], r["split"], r["space"], r["draw"]) == key}
        d, c = a["default"], a["candidate"]
        pd.append(d["c2st_paired"])
        pc.append(c["c2st_paired"])

        def f(v, p=2):
            return " ".join(f"{x:.{p}f}" for x in v)
        print(f"| {key[0]} {key[1]} {key[2]} (draw {key[3]}) | {f(d['h'])} -> {f(c['h'])} | "
              f"{' '.join(map(str, c.get('span_rank', [])))} ({' '.join(map(str, c.get('matrix_rank', [])))}) | "
              f"{d['c2st']:.3f} -> {c['c2st']:.3f} | {d['c2st_paired']:.3f} -> {c['c2st_paired']:.3f} | "
              f"{c['c2st_paired'] - d['c2st_paired']:+.3f} | {f(d['sd_ratio_top_default'], 1)} -> "
              f"{f(c['sd_ratio_top_default'], 1)} | {f(d['sd_ratio_top_candidate'], 1)} -> "
              f"{f(c['sd_ratio_top_candidate'], 1)} | {d['hull_residual']:.1e} / {c['hull_residual']:.1e} |")
    md, mc = float(np.mean(pd)), float(np.mean(pc))
    print(f"\nmean paired C2ST over {len(cells)} cells: default {md:.3f}, candidate {mc:.3f}, change {mc - md:+.3f} "
          f"(gate: <= {-margin:+.3f})")
    print("G PASS" if mc <= md - margin else "G FAIL")


def main(argv: list[str] | None = None) -> None:
    ap = cell_parser(__doc__)
    ap.add_argument("--config", default='{"span": "class"}', help="the candidate's vaelab-cvae options (JSON)")
    ap.add_argument("--draw", type=int, default=1, help="the draw seed is the split's seed plus this")
    ap.add_argument("--margin", type=float, default=0.05, help="the gate's required fall of the mean paired C2ST")
    ap.add_argument("--outside", action="store_true", help="the descriptive hull shares (outside) instead of the gate")
    a = ap.parse_args(argv)
    if a.outside:
        for split in a.splits.split(","):
            for space in a.spaces.split(","):
                outside(a.data, space, split, Path(a.npz))
        return
    if a.table:
        table(a.table, a.margin)
        return
    for split in a.splits.split(","):
        for space in a.spaces.split(","):
            cell(a.data, space, split, Path(a.npz), json.loads(a.config), a.draw)


if __name__ == "__main__":
    main()
