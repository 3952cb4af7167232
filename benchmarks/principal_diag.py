"""What the random forest separates in vaelab-cvae's samples, and which stage of the generator loses the per-point
shape (issue 16, session 14; session 10's breakdown redone with the default of session 13).

One cell: Raman (or coffee), one preprocessing space, inner split ``S`` of the outer split of seed 0 (``generators.py``'s
``load_sets(seed=0)`` and ``inner_split``: the outer test holdout is not read). One vaelab-cvae fit (default config,
seed S, as ``texture_val.py``'s ``arm_fits``), one draw (seed S + 1, the training counts per class). Printed as one JSON
line per cell (``--table``: the markdown rows RESULTS.md holds, from such lines):

* ``official``: ``generators.py``'s ``score`` of the draw (C2ST with 300 trees, 5 folds; spread, TSTR/TRTR, DCR).
* ``c2st``: a smaller forest (100 trees, 3 folds, seed S) on real training spectra against: the samples ("whole"); the
  principal part alone (each spectrum's ``V a`` in the model's own axes, real and synthetic alike, in data units);
  the rest alone (spectrum minus principal part); a real training spectrum's principal part (of a random one of the
  class) plus the sample's rest ("real_principal"); the sample's principal part plus a random real rest
  ("real_rest"); the rank-swap oracles: per class and point, the samples' principal values replaced by the real ones of
  the same rank, plus the samples' rest ("rank_principal"), and the same on whole spectra ("rank_whole").
* ``top``: the 12 points a forest (300 trees, all rows) fitted on real vs samples finds most important, and at each
  the real / synthetic 1 % quantile and skewness per class.
* ``skew``: median over all points of the pooled per-point skewness, real / synthetic, whole and principal part.
* ``stages``: the principal part at each stage of generation, in data units (before the per-sample renormalisation):
  ``real`` (training spectra), ``dec_mu`` (the decoder mean at the training posterior means and levels, every row
  once), ``dec_mu_tex`` (that plus the default's residual draw around the same row), ``dec_z`` (the decoder mean at
  the sampler's codes: posterior draws plus the calibrated kernel), ``dec_z_tex`` (that plus the residual draw: the
  sample's principal part). For each: at the top points, the median over points and classes of the 1 % quantile's
  distance from the real one (in real sd, negative: below), of the per-class skewness and of the sd ratio; over all
  points, the median per-class skewness; and the small forest's C2ST against the real principal parts.
* ``codes``: per class, over the latent dimensions in use (posterior-mean variance > 1e-3), the median skewness,
  median |skewness|, median excess kurtosis of the posterior means ``mu`` and of the sampled codes ``z``, and the
  median share of a sampled code's variance that the posterior noise and kernel add (1 - var(mu) / var(z)).

* ``--oracle VARIANTS``: samples recomposed from the same fitted network's parts (the calls of ``generate()``, draw
  seed S + 1), each scored with ``score`` and the small forest: ``default`` (what ``generate()`` gives),
  ``local_rest`` (the rest outside the axes from the code's balanced neighbourhood, as ``rest_draw = "local"``),
  ``own_rest`` (the rest of the training row the code was drawn from: a copy, not a generator), ``mean`` (the code
  at that row's posterior mean, the kernel kept at its calibrated width), ``mean_local_rest`` (both). One line each.

    python benchmarks/principal_diag.py raman arpls+savgol+vector,d1 41 > diag_41.jsonl
    python benchmarks/principal_diag.py --table diag_41.jsonl
    python benchmarks/principal_diag.py raman d1 41 --oracle default,local_rest,mean,mean_local_rest

Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kurtosis, skew
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generators import RAMAN, inner_split, load_sets, score  # noqa: E402
from texture_val import arm_fits  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.metrics.distribution import c2st  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import _RENORM_NAMES, _renormalise, _weighted_draw, class_positions  # noqa: E402


def small_c2st(real: np.ndarray, synth: np.ndarray, seed: int) -> float:
    return c2st(real, synth, classifier=RandomForestClassifier(n_estimators=100, n_jobs=1), folds=3, seed=seed)


def principal(g, X: np.ndarray) -> np.ndarray:
    """Each row's principal part ``V a`` in the fitted model's axes, in data units."""
    m = g.module
    mean, scale, B = (getattr(m, k).double().numpy() for k in ("x_mean", "x_scale", "basis"))
    return mean + (((X - mean) / scale) @ B @ B.T) * scale


def to_data(g, u_coords: torch.Tensor) -> np.ndarray:
    """Decoded principal coordinates (standardised, (n, K)) to the principal part in data units."""
    m = g.module
    a = u_coords * m.u_scale[: m.k] + m.u_mean[: m.k]
    return ((a @ m.basis.T) * m.x_scale + m.x_mean).double().numpy()


def rank_swap(real: np.ndarray, y_real: np.ndarray, synth: np.ndarray, y_syn: np.ndarray) -> np.ndarray:
    """Per class and point, the synthetic values replaced by the real ones of the same rank (quantiles where the
    counts differ)."""
    out = synth.copy()
    for k in np.unique(y_syn):
        s, r = y_syn == k, np.sort(real[y_real == k], axis=0)
        ranks = np.argsort(np.argsort(synth[s], axis=0), axis=0)
        levels = (ranks + 0.5) / s.sum()
        out[s] = np.take_along_axis(np.quantile(r, np.linspace(0, 1, 1001), axis=0),
                                    np.rint(levels * 1000).astype(int), axis=0)
    return out


def class_stats(real, y_real, other, y_other, points) -> dict:
    """At ``points``: per class the 1 % quantile gap (real sd units), skewness and sd ratio; medians."""
    gaps, sk, sdr, allsk = [], [], [], []
    for k in np.unique(y_real):
        r, o = real[y_real == k], other[y_other == k]
        sd = r[:, points].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        gaps.append((np.quantile(o[:, points], 0.01, axis=0) - np.quantile(r[:, points], 0.01, axis=0)) / sd)
        sk.append(skew(o[:, points], axis=0))
        sdr.append(o[:, points].std(axis=0) / sd)
        allsk.append(float(np.nanmedian(skew(o, axis=0))))
    return {"q01_gap": float(np.median(gaps)), "skew_top": float(np.median(sk)), "sd_ratio": float(np.median(sdr)),
            "skew_all": allsk}


def code_stats(mu: np.ndarray, z: np.ndarray, c_mu: np.ndarray, c_z: np.ndarray) -> list[dict]:
    out = []
    for k in np.unique(c_mu):
        a, b = mu[c_mu == k], z[c_z == k]
        use = a.var(axis=0) > 1e-3
        a, b = a[:, use], b[:, use]
        out.append({"dims": int(use.sum()),
                    "skew_mu": float(np.median(skew(a, axis=0))), "skew_z": float(np.median(skew(b, axis=0))),
                    "abs_skew_mu": float(np.median(np.abs(skew(a, axis=0)))),
                    "abs_skew_z": float(np.median(np.abs(skew(b, axis=0)))),
                    "kurt_mu": float(np.median(kurtosis(a, axis=0))), "kurt_z": float(np.median(kurtosis(b, axis=0))),
                    "added": float(np.median(1 - a.var(axis=0) / b.var(axis=0)))})
    return out


def cell(data: str, space: str, S: int, path: Path) -> dict:
    s = inner_split(load_sets([data], path, 0)[data], S)
    pre = Preprocessing.from_spec(space)
    X, y = pre.fit_transform(s["X_raw"]), s["y"]
    Xh, yh = pre.transform(s["X_raw_ho"]), s["y_ho"]
    classes, n_per = np.unique(y, return_counts=True)
    counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
    rng = np.random.default_rng(S)
    with torch_threads():
        g, job, _ = next(arm_fits(X, y, S, ["local_checked"]))
        h = g._latent_sampler().state["kde_h"].tolist()
        Sx, ys = g.sample(counts, seed=S + 1)
        ys = np.asarray(ys).astype(str)
        out = {"data": data, "space": space, "split": S, "h": h, "official": score(X, y, Xh, yh, Sx, ys, S)}
        Pr, Ps = principal(g, X), principal(g, Sx)
        Rr, Rs = X - Pr, Sx - Ps
        pick_r = np.array([rng.choice(np.flatnonzero(y == k)) for k in ys])
        out["c2st"] = {
            "whole": small_c2st(X, Sx, S), "principal": small_c2st(Pr, Ps, S), "rest": small_c2st(Rr, Rs, S),
            "real_principal": small_c2st(X, Pr[pick_r] + Rs, S), "real_rest": small_c2st(X, Ps + Rr[pick_r], S),
            "rank_principal": small_c2st(X, rank_swap(Pr, y, Ps, ys) + Rs, S),
            "rank_whole": small_c2st(X, rank_swap(X, y, Sx, ys), S)}
        rf = RandomForestClassifier(n_estimators=300, random_state=S, n_jobs=1)
        rf.fit(np.concatenate([X, Sx]), np.r_[np.zeros(len(X)), np.ones(len(Sx))])
        top = np.argsort(rf.feature_importances_)[::-1][:12]
        out["top"] = [{"point": int(p), "importance": float(rf.feature_importances_[p]),
                       "real_q01": [float(np.quantile(X[y == k, p], 0.01)) for k in classes],
                       "syn_q01": [float(np.quantile(Sx[ys == k, p], 0.01)) for k in classes],
                       "real_skew": [float(skew(X[y == k, p])) for k in classes],
                       "syn_skew": [float(skew(Sx[ys == k, p])) for k in classes]} for p in top]
        out["skew"] = {"whole": [float(np.nanmedian(skew(X, axis=0))), float(np.nanmedian(skew(Sx, axis=0)))],
                       "principal": [float(np.nanmedian(skew(Pr, axis=0))), float(np.nanmedian(skew(Ps, axis=0)))]}
        # the stages, re-run from the fitted parts (the same calls as generate(), without the rest and renormalisation)
        m, sampler = g.module, g._latent_sampler()
        c_all, U = job.c_all, job.X_all
        tc = sampler.state["train_class"]
        with torch.no_grad():
            mu, _ = m.encode(U, c_all)
            lev = m.level(U)
            gen = torch.Generator().manual_seed(S + 1)
            mean_mu, lv_mu = m.decode(mu, c_all, lev)
            tex_mu = g._local_residual("tex", c_all, torch.arange(len(c_all)), tc, gen)
            c_s = torch.as_tensor(np.searchsorted(g.classes_, ys))
            z, lev_z, rows = sampler.sample_rows(c_s, gen)
            mean_z, lv_z = m.decode(z, c_s, lev_z)
            tex_z = g._local_residual("tex", c_s, rows, tc, gen)
            stages = {"real": (Pr, y),  # the fit job keeps the training rows in their order
                      "dec_mu": (to_data(g, mean_mu), y),
                      "dec_mu_tex": (to_data(g, mean_mu + g._residual_scale(lv_mu, lev, mean_mu) * tex_mu), y),
                      "dec_z": (to_data(g, mean_z), ys),
                      "dec_z_tex": (to_data(g, mean_z + g._residual_scale(lv_z, lev_z, mean_z) * tex_z), ys)}
        out["stages"] = {name: {**class_stats(Pr, y, v, yv, top), "c2st": None if name == "real" else small_c2st(Pr, v, S)}
                         for name, (v, yv) in stages.items()}
        out["codes"] = code_stats(mu.numpy(), z.numpy(), c_all.numpy(), c_s.numpy())
        out["class_order"] = [str(k) for k in classes]
    return out


def oracle(data: str, space: str, S: int, path: Path, variants: list[str]) -> None:
    """``--oracle``: one line per variant (see the module docstring)."""
    s = inner_split(load_sets([data], path, 0)[data], S)
    pre = Preprocessing.from_spec(space)
    X, y = pre.fit_transform(s["X_raw"]), s["y"]
    Xh, yh = pre.transform(s["X_raw_ho"]), s["y_ho"]
    with torch_threads():
        g, job, _ = next(arm_fits(X, y, S, ["local_checked"]))
        m, sampler = g.module, g._latent_sampler()
        rest_tr = torch.as_tensor(job.state["rest"])  # (n, d): every training row's r / s
        tc = sampler.state["train_class"]
        pos = class_positions(torch.arange(len(tc)), tc)
        classes, n_per = np.unique(y, return_counts=True)
        c = torch.as_tensor(np.repeat(np.arange(len(classes)), n_per))
        ys = classes[c.numpy()]
        mode = _RENORM_NAMES[int(g.extra_["renorm"][0])]
        for variant in variants:
            gen = torch.Generator().manual_seed(S + 1)
            with torch.no_grad():
                z, level, rows = sampler.sample_rows(c, gen)
                if variant.startswith("mean"):
                    z = sampler.state["train_mu"][rows]
                mean, logvar = m.decode(z, c, level)
                u = mean + g._residual_scale(logvar, level, mean) * g._local_residual("tex", c, rows, tc, gen)
                rest = g._draw("rest", c, gen, None)
                if variant.endswith("local_rest"):
                    for k in range(len(classes)):
                        w = torch.nonzero(c == k).flatten()
                        rest[w] = _weighted_draw(rest_tr[tc == k].float(), pos[g.extra_["tex_bn"][rows[w]]],
                                                 g.extra_["tex_bw"][rows[w]], gen)
                elif variant == "own_rest":
                    rest = rest_tr[rows].float()
                x = _renormalise(m.merge(torch.cat([u, level], 1), rest), mode).double().numpy()
            sc = score(X, y, Xh, yh, x, ys, S)
            print(json.dumps({"data": data, "space": space, "split": S, "variant": variant, "small": small_c2st(X, x, S),
                              "c2st": sc["c2st"], "tstr/trtr": sc["tstr/trtr"], "dcr": sc["dcr"],
                              "spread": list(sc["spread"].values())}), flush=True)


def table(paths: list[str]) -> None:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()]
    keys = ("whole", "principal", "rest", "real_principal", "real_rest", "rank_principal", "rank_whole")
    print("| split, space | h per class | C2ST (official) | TSTR/TRTR | DCR | " + " | ".join(keys) + " |")
    print("|---" * (5 + len(keys)) + "|")
    for r in rows:
        o = r["official"]
        print(f"| {r['split']}, {r['space']} | {' '.join(f'{v:.2f}' for v in r['h'])} | {o['c2st']:.3f} | "
              f"{o['tstr/trtr']:.3f} | {o['dcr']:.3f} | " + " | ".join(f"{r['c2st'][k]:.3f}" for k in keys) + " |")
    print("\n| split, space | point | importance | real q01 per class | synthetic q01 | real skewness | synthetic skewness |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        for t in r["top"][:6]:
            def f(v, fmt=".4f"):
                return " ".join(f"{x:{fmt}}" for x in v)
            print(f"| {r['split']}, {r['space']} | {t['point']} | {t['importance']:.4f} | {f(t['real_q01'])} | "
                  f"{f(t['syn_q01'])} | {f(t['real_skew'], '.2f')} | {f(t['syn_skew'], '.2f')} |")
    print("\n| split, space | stage | C2ST vs real principal parts | q01 gap at top 12 (real sd) | skewness at top 12 "
          "| sd ratio at top 12 | median per-point skewness per class |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        for name, st in r["stages"].items():
            cv = "-" if st["c2st"] is None else f"{st['c2st']:.3f}"
            print(f"| {r['split']}, {r['space']} | {name} | {cv} | {st['q01_gap']:+.2f} | {st['skew_top']:.2f} | "
                  f"{st['sd_ratio']:.2f} | {' '.join(f'{v:.2f}' for v in st['skew_all'])} |")
    print("\n| split, space | class | dims | skewness mu / z | abs skewness mu / z | excess kurtosis mu / z | added |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        for k, cs in zip(r["class_order"], r["codes"], strict=True):
            print(f"| {r['split']}, {r['space']} | {k} | {cs['dims']} | {cs['skew_mu']:.2f} / {cs['skew_z']:.2f} | "
                  f"{cs['abs_skew_mu']:.2f} / {cs['abs_skew_z']:.2f} | {cs['kurt_mu']:.2f} / {cs['kurt_z']:.2f} | "
                  f"{cs['added']:.2f} |")
        print(f"| {r['split']}, {r['space']} | median skewness whole real / syn {r['skew']['whole'][0]:.2f} / "
              f"{r['skew']['whole'][1]:.2f}; principal {r['skew']['principal'][0]:.2f} / {r['skew']['principal'][1]:.2f} "
              "| | | | | |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("args", nargs="*", help="DATA SPACES SPLITS, or with --table the JSON-line files")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--oracle", help="comma-separated variants: default, local_rest, own_rest, mean, mean_local_rest")
    ap.add_argument("--data", dest="npz", default=str(RAMAN), help="the development Raman npz")
    a = ap.parse_args(argv)
    if a.table:
        table(a.args)
        return
    data, spaces, splits = a.args
    for S in (int(v) for v in splits.split(",")):
        for space in spaces.split(","):
            if a.oracle:
                oracle(data, space, S, Path(a.npz), a.oracle.split(","))
            else:
                print(json.dumps(cell(data, space, S, Path(a.npz))), flush=True)


if __name__ == "__main__":
    main()
