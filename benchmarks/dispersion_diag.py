"""Why vaelab-cvae's decoded signal is under-dispersed in coffee arpls+savgol+vector (issue 16, session 15, spec24).

Train-only (no holdout, no validation third read): one fit per cell (``spread_diag.py``'s ``training_part`` / ``fit``),
with a config override (``--whiten level_checked`` by default: the outlier row fixed). One JSON line per cell:

* ``K``, ``n`` and the per-class spread ratio (``spread_ratio`` against the class's real training spectra, before the
  per-sample renormalisation) of: ``principal`` the training spectra's principal parts (their coordinates on the K
  axes, no rest); ``boot_real`` the real training spectra resampled with replacement, as many as the class has (what a
  generator that copies training spectra exactly gets with ``generate()``'s row pick; mean of 200 resamples;
  ``boot_real_q10`` their 10 % quantile);
  ``boot_principal`` the same for the principal parts; ``recon_mean`` the decoder mean at every training row's
  posterior mean; ``recon_draw`` at one posterior draw per training row; ``signal_h=V`` the decoder mean at
  ``generate()``'s own codes (random rows, kernel width V; ``cal`` the calibrated width), mean of ``--draws`` seeds;
  ``whole_h=V`` the whole samples (``generate()``) likewise.
* ``top_row``: per class, the training row farthest from the class mean (``group``), its share of the class's summed
  squared deviations, and the class's spread without it over the spread with it (data space).
* ``latent``: per class, the number of latent dimensions whose posterior-mean sd exceeds their mean posterior sd (active) and, in them, the median ratio
  posterior sd / posterior-mean sd (how far a posterior draw moves a code, relative to the class spread of codes).
* ``novelty``: per class, the calibration's target (median distance of a left-out training spectrum to its nearest
  other one, ``novelty_targets``) and the novelty (``sample_novelty``, the calibration's own seed) of the whole samples
  and of the signal alone (decoder mean, renormalised as ``generate()`` does, no residual nor rest) at kernel widths
  ``--widths``; ``h`` the calibrated width; ``nn_own`` / ``pair_own`` the median distance of a training spectrum to
  its nearest other one of its class / between two of its class; ``h_spread1`` the smallest width of the calibration's
  grid (``WIDTHS``) at which the class's whole samples (``--draws`` seeds) reach spread 1; ``n_k`` its rows.

    python benchmarks/dispersion_diag.py coffee arpls+savgol+vector outer,66 > d.jsonl
    python benchmarks/dispersion_diag.py --table d.jsonl   # per cell, per class, and a summary per space

Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spread_diag import cell_parser, fit, training_part  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.metrics.diversity import spread_ratio  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import _RENORM_NAMES, _renormalise  # noqa: E402
from vaelab.samplers.kde import WIDTHS, novelty_targets, sample_novelty, smallest_reaching  # noqa: E402


def signal_generate(g):
    """``generate()`` without the residual and the rest: the decoder mean at the sampled code, renormalised."""
    m = g.module

    def gen_signal(c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        z, level, _ = g._latent_sampler().sample_rows(c, gen)
        mean, _ = m.decode(z, c, level)
        code = int(g.extra_.get("renorm", torch.tensor([0]))[0])
        return _renormalise(m.merge(torch.cat([mean, level], 1), None), _RENORM_NAMES.get(code, "none"))

    return gen_signal


def boot_spread(X: np.ndarray, P: np.ndarray, y: np.ndarray, rng: np.random.Generator, reps: int = 200,
                q: float | None = None) -> dict:
    """Mean spread ratio (vs ``X``) of ``P``'s rows resampled with replacement within each class (class sizes kept);
    with ``q`` the ``q``-quantile over the resamples instead of the mean."""
    acc: dict[str, list[float]] = {}
    for _ in range(reps):
        idx = np.concatenate([rng.choice(np.flatnonzero(y == k), (y == k).sum()) for k in np.unique(y)])
        for k, v in spread_ratio(X, P[idx], y, y[idx]).items():
            acc.setdefault(str(k), []).append(v)
    return {k: float(np.mean(v) if q is None else np.quantile(v, q)) for k, v in acc.items()}


def top_row(X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict:
    """Per class the row farthest from the class mean: its group, its share of the class's summed squared deviations
    (1 / n_k when all rows are alike) and the class's spread without it over the spread with it."""
    out = {}
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        d = ((X[idx] - X[idx].mean(axis=0)) ** 2).sum(axis=1)
        i = int(np.argmax(d))
        keep = np.delete(idx, i)
        out[str(k)] = {"group": str(groups[idx[i]]), "share": float(d[i] / d.sum()),
                       "spread_without": float(X[keep].std(axis=0, ddof=1).mean() / X[idx].std(axis=0, ddof=1).mean())}
    return out


def cell(data: str, space: str, split: str, overrides: dict, widths: list[float], draws: int, path: Path) -> dict:
    X_raw, y, groups, seed = training_part(data, split, path)
    X = Preprocessing.from_spec(space).fit_transform(X_raw)
    y = np.asarray(y).astype(str)
    g, job = fit(X, y, seed, overrides)
    m, U, c = g.module, job.X_all, job.c_all
    classes = [str(k) for k in g.classes_]
    yc = np.asarray(classes)[c.numpy()]
    sampler = g._latent_sampler()
    h_cal = sampler.state["kde_h"].clone()
    out = {"data": data, "space": space, "split": split, "overrides": overrides, "n": len(X),
           "K": int((m.basis.abs().sum(dim=0) > 0).sum()),
           "h": h_cal.tolist(), "spread": {}, "latent": {}, "novelty": {}}

    def sr(P: np.ndarray, yp: np.ndarray) -> dict:
        return {str(k): float(v) for k, v in spread_ratio(X, P, y, yp).items()}

    with torch.no_grad():
        lev = m.level(U)
        principal = m.merge(U, None).double().numpy()
        mu, logvar = m.encode(U, c)
        dec = {"recon_mean": mu, "recon_draw": mu + torch.exp(0.5 * logvar) * torch.randn(
            mu.shape, generator=torch.Generator().manual_seed(seed + 99))}
        out["spread"]["principal"] = sr(principal, yc)
        rng = np.random.default_rng(seed)
        out["spread"]["boot_real"] = boot_spread(X, X, yc, rng)
        out["spread"]["boot_principal"] = boot_spread(X, principal, yc, rng)
        out["spread"]["boot_real_q10"] = boot_spread(X, X, yc, rng, q=0.1)
        out["top_row"] = top_row(X, y, np.asarray(groups))
        for key, z in dec.items():
            mean, _ = m.decode(z, c, lev)
            out["spread"][key] = sr(m.merge(torch.cat([mean, lev], 1), None).double().numpy(), yc)
        counts = {k: int((yc == k).sum()) for k in classes}
        cs = torch.as_tensor(np.concatenate([np.full(n, i) for i, n in enumerate(counts.values())]))
        ys = np.asarray(classes)[cs.numpy()]
        gen_signal = signal_generate(g)
        for tag, hv in [("cal", None), *[(f"{w:g}", w) for w in widths]]:
            sampler.state["kde_h"][:] = h_cal if hv is None else hv
            for name, fn in (("signal", gen_signal), ("whole", g.generate)):
                runs = [sr(fn(cs, torch.Generator().manual_seed(seed + 1 + d)).double().numpy(), ys) for d in range(draws)]
                out["spread"][f"{name}_h={tag}"] = {k: float(np.mean([r[k] for r in runs])) for k in classes}
        ref = m.merge(U, job.state["rest"])
        D = torch.cdist(ref, ref).fill_diagonal_(float("inf"))
        for k, ck, target, refx in novelty_targets(ref, c, seed=job.seed):
            own = c == k
            Dk = D[own][:, own]
            curve = {}
            for w in widths:
                sampler.state["kde_h"][:] = h_cal
                sampler.state["kde_h"][k] = w
                curve[f"{w:g}"] = {"whole": sample_novelty(g.generate, ck, refx, seed=job.seed),
                                   "signal": sample_novelty(gen_signal, ck, refx, seed=job.seed)}
            sampler.state["kde_h"][:] = h_cal
            def spread_at(w: float, k: int = k, ck: torch.Tensor = ck) -> float:
                sampler.state["kde_h"][k] = w
                yk = np.full(len(ck), classes[k])
                return float(np.mean([spread_ratio(X, g.generate(ck, torch.Generator().manual_seed(seed + 1 + d)).double().numpy(),
                                                   y, yk)[classes[k]] for d in range(draws)]))

            out["novelty"][classes[k]] = {
                "target": target, "h": float(h_cal[k]), "curve": curve, "n_k": len(ck),
                "nn_own": float(Dk.min(dim=1).values.median()),  # nearest other row of the same class
                "pair_own": float(Dk[torch.isfinite(Dk)].median()),  # median distance between two rows of the class
                "h_spread1": smallest_reaching(WIDTHS, spread_at, 1.0)}  # smallest grid width with whole spread >= 1
        sampler.state["kde_h"][:] = h_cal
        for i, k in enumerate(classes):
            sel = c == i
            msd, psd = mu[sel].std(dim=0), torch.exp(0.5 * logvar[sel]).mean(dim=0)
            act = msd > psd
            out["latent"][k] = {"active": int(act.sum()), "L": len(msd),
                                "post_over_mu_sd": float((psd[act] / msd[act]).median()) if bool(act.any()) else None}
    return out


def table(paths: list[str]) -> None:
    lines = [json.loads(t) for p in paths for t in Path(p).read_text().splitlines() if t.strip()]
    keys = ["principal", "boot_real", "boot_real_q10", "boot_principal", "recon_mean", "recon_draw", "signal_h=cal", "whole_h=cal"]
    print("| cell | K / n | h | " + " | ".join(keys) + " | latent: active dims of L, median posterior sd / posterior-mean sd in them "
          "| farthest row per class: group, share, spread without it |")
    print("|---" * (len(keys) + 5) + "|")
    for r in lines:
        sp = [" ".join(f"{v:.2f}" for v in r["spread"][k].values()) for k in keys]
        top = " ; ".join(f"{v['group']}, {v['share']:.2f}, {v['spread_without']:.2f}" for v in r["top_row"].values())
        lat = " ; ".join(f"{v['active']} of {v['L']}, {v['post_over_mu_sd']:.2f}" for v in r["latent"].values())
        print(f"| {r['data']} {r['split']} {r['space']} | {r['K']} / {r['n']} | {' '.join(f'{v:.2f}' for v in r['h'])} | "
              + " | ".join(sp) + f" | {lat} | {top} |")
    print()
    hs = [k for k in lines[0]["spread"] if k.startswith("signal_h=") and k != "signal_h=cal"]
    print("| cell | class (calibrated h) | target / nearest own / median pair | novelty whole / signal at h = "
          + ", ".join(h[9:] for h in hs) + " | signal spread at h = " + ", ".join(h[9:] for h in hs)
          + " | whole spread at same | smallest h with whole spread >= 1 |")
    print("|---|---|---|---|---|---|---|")
    for r in lines:
        for k, v in r["novelty"].items():
            cur = ", ".join(f"{q['whole']:.4f} / {q['signal']:.4f}" for q in v["curve"].values())
            sig = " ".join(f"{r['spread'][h][k]:.2f}" for h in hs)
            who = " ".join(f"{r['spread']['whole' + h[6:]][k]:.2f}" for h in hs)
            print(f"| {r['split']} {r['space']} | {k} ({v['h']:.2f}) | {v['target']:.4f} / {v['nn_own']:.4f} / "
                  f"{v['pair_own']:.4f} | {cur} | {sig} | {who} | {v['h_spread1']:.2f} |")
    print()
    summary(lines)


def summary(lines: list[dict]) -> None:
    """Per space, over all its class-cells: spreads (median [min, max], classes below 0.85 / above 1.15), the
    calibration's outcome and the width that reaches spread 1."""
    keys = ["principal", "boot_real", "boot_real_q10", "recon_mean", "recon_draw", "signal_h=0", "signal_h=cal",
            "whole_h=0", "whole_h=cal", "whole_h=0.25", "whole_h=0.5"]
    print("| space | class-cells | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 2) + "|")
    for space in dict.fromkeys(r["space"] for r in lines):
        R = [r for r in lines if r["space"] == space]
        cells = []
        for k in keys:
            v = np.array([x for r in R for x in r["spread"][k].values()])
            cells.append(f"{np.median(v):.2f} [{v.min():.2f}, {v.max():.2f}] {(v < 0.85).sum()} / {(v > 1.15).sum()}")
        print(f"| {space} | {sum(len(r['novelty']) for r in R)} | " + " | ".join(cells) + " |")
    print()
    print("| space | calibrated h = 0 | of those, novelty at h = 0 >= target: signal alone / whole | target / median pair "
          "distance: median [min, max] | calibrated h: median | smallest h with whole spread >= 1: median [q25, q75] "
          "| calibrated h < 1 / sqrt(n_k) | farthest row's share: median, classes > 0.5 "
          "| posterior sd / posterior-mean sd (active dims): largest |")
    print("|---|---|---|---|---|---|---|---|---|")
    for space in dict.fromkeys(r["space"] for r in lines):
        R = [r for r in lines if r["space"] == space]
        nov = [v for r in R for v in r["novelty"].values()]
        h0 = [v for v in nov if v["h"] == 0]
        sig = sum(v["curve"]["0"]["signal"] >= v["target"] for v in h0)
        who = sum(v["curve"]["0"]["whole"] >= v["target"] for v in h0)
        ratio = np.array([v["target"] / v["pair_own"] for v in nov])
        hs = np.array([v["h_spread1"] for v in nov])
        share = np.array([v["share"] for r in R for v in r["top_row"].values()])
        post = max(v["post_over_mu_sd"] for r in R for v in r["latent"].values())
        below = sum(v["h"] < 1 / np.sqrt(v["n_k"]) for v in nov)
        print(f"| {space} | {len(h0)} of {len(nov)} | {sig} / {who} | {np.median(ratio):.3f} [{ratio.min():.3f}, "
              f"{ratio.max():.3f}] | {np.median([v['h'] for v in nov]):.2f} | {np.median(hs):.2f} "
              f"[{np.quantile(hs, 0.25):.2f}, {np.quantile(hs, 0.75):.2f}] | {below} of {len(nov)} | {np.median(share):.2f}, "
              f"{(share > 0.5).sum()} | {post:.3f} |")


def main(argv: list[str] | None = None) -> None:
    ap = cell_parser(__doc__)
    ap.add_argument("--whiten", default="level_checked", help="config override (the outlier row fixed by default)")
    ap.add_argument("--widths", default="0,0.25,0.5,1,2", help="kernel widths for the curves")
    ap.add_argument("--draws", type=int, default=5)
    a = ap.parse_args(argv)
    if a.table:
        table(a.table)
        return
    widths = [float(w) for w in a.widths.split(",")]
    with torch_threads():
        for split in a.splits.split(","):
            for space in a.spaces.split(","):
                print(json.dumps(cell(a.data, space, split, {"whiten": a.whiten}, widths, a.draws, Path(a.npz))), flush=True)


if __name__ == "__main__":
    main()
