"""Where vaelab-cvae's class spread comes from (issue 16, session 15: coffee arpls+savgol+vector Vietnam 4.16).

Train-only: a cell is one data set, one preprocessing space and one training part: ``outer`` (the outer split of seed 0's
training part, fitted with seed 0: the part whose test-split row reads Vietnam 4.16; its holdout is not read) or an
inner split ``S`` (``generators.py``'s ``inner_split``, fitted with seed S; its validation third is not read either).
One vaelab-cvae fit (default config), one draw (seed + 1, the training counts per class), recomposed from the calls of
``generate()`` (checked byte for byte against ``generate()``). The spread ratio (``spread_ratio``: per class, mean
per-feature sd of the samples / of the real training spectra) needs no holdout. One JSON line per cell and arm:

* ``spread``: per class, of the whole samples (``whole``: the official number), of the decoded principal part alone
  (``signal``: the decoder mean at the sampled code, merged without residual), of signal + decoded-coordinate residual
  (``signal_tex``), of signal + the rest outside the axes (``signal_rest``), all before the per-sample renormalisation
  except ``whole``.
* ``samples``: per class, the decoded-coordinate residual's norm per sample in data units (``tex_norm``): median, the
  largest over the median, and the share of the class's summed squared norms held by its largest 10 % of samples
  (0.1: uniform; near 1: a few samples explode); the same for the whole sample's distance from the class's real mean.
* ``rows``: per class and training row (``group``: coffee's spectrum index in the data set): the in-sample noise level ``s``, its leverage ``h`` on the axes and the
  leave-one-out level ``s / (1 - h)`` (``_noise_levels``), the whitened residual's squared norm over the class's mean
  squared norm (``w_share``: the row's weight in the class Gaussian of the residuals; 1 each when they are alike) and
  the unwhitened residual's (``raw_share``), and its distance to the nearest other training spectrum over the median of
  those distances (``nn``; data space).

Arms (``--arms``): ``default`` (the default config of session 15, when this script was written: ``whiten = "level"``,
set explicitly since session 16 made ``"level_checked"`` the default); ``whiten=V`` / ``level=V`` (a config override:
``whiten`` re-runs only ``after_fit`` on the same network, ``level`` refits, seed unchanged); ``drop=ROW`` (diagnostic
only: the default with training row ROW's whitened residual replaced by its class mean before the class Gaussian is
fitted, i.e. left out of it).

    python benchmarks/spread_diag.py coffee arpls+savgol+vector outer,48 --arms default,whiten=loo > d.jsonl
    python benchmarks/spread_diag.py --table d.jsonl

Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generators import RAMAN, inner_split, load_sets, make_for  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.metrics.diversity import spread_ratio  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import (  # noqa: E402
    _LOCAL_DRAWS,
    _RENORM_NAMES,
    _leverage,
    _noise_levels,
    _renormalise,
    class_positions,
)


def training_part(data: str, split: str, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The raw training part of ``split`` ("outer" or an inner seed), its labels, groups (coffee: the spectrum's index
    in the data set) and the fit seed."""
    outer = load_sets([data], path, 0)[data]
    if split == "outer":
        return outer["X_raw"], outer["y"], outer["groups"], 0
    part = inner_split(outer, int(split))
    return part["X_raw"], part["y"], part["groups"], int(split)


def fit(X: np.ndarray, y: np.ndarray, seed: int, overrides: dict):
    g = make_for("vaelab-cvae", X, **overrides)
    job = g.prepare_fit(X, y, seed=seed)
    g.finish_fit(job, g.trainer(job).fit(job.module, g.loss, job.data(), seed=seed, val=job.val()))
    return g, job


def drop_row(g, job, row: int) -> None:
    """Re-run ``after_fit`` with training row ``row``'s whitened decoded-coordinate residual replaced by the mean of
    its class's other residuals before the class Gaussian is fitted, i.e. left out of it (diagnostic only)."""
    import vaelab.models.vaelab_cvae as vc

    fit_gaussians = vc.fit_class_gaussians

    def patched(w, c, *args, **kwargs):
        if patched.first:  # after_fit's first call: the decoded-coordinate residuals
            patched.first = False
            others = (c == c[row]) & (torch.arange(len(c)) != row)
            w = w.clone()
            w[row] = w[others].mean(dim=0)
        return fit_gaussians(w, c, *args, **kwargs)

    patched.first = True
    vc.fit_class_gaussians = patched
    try:
        g.after_fit(job)
    finally:
        vc.fit_class_gaussians = fit_gaussians


def parts(g, counts: dict, seed: int) -> dict[str, np.ndarray]:
    """``generate()``'s calls for the training counts with ``seed``, its intermediate parts in data units."""
    m = g.module
    gen = torch.Generator().manual_seed(int(seed))
    c = torch.as_tensor(np.concatenate([np.full(n, list(g.classes_).index(k)) for k, n in counts.items()]))
    sampler = g._latent_sampler()
    z, level, rows = sampler.sample_rows(c, gen)
    mean, logvar = m.decode(z, c, level)
    tc = sampler.state.get("train_class")
    avoid = class_positions(rows, tc) if g.config.texture_draw != "gaussian" else None
    if g.config.texture_draw in _LOCAL_DRAWS:
        tex = g._local_residual("tex", c, rows, tc, gen)
    else:
        tex = g._draw("tex", c, gen, avoid)
    tex_u = g._residual_scale(logvar, level, mean) * tex
    rest = g._local_residual("rest", c, rows, tc, gen, max_cells=1 << 24) if g.config.rest_draw == "local" \
        else g._draw("rest", c, gen, avoid)
    cat = torch.cat
    out = {"signal": m.merge(cat([mean, level], 1), None), "signal_tex": m.merge(cat([mean + tex_u, level], 1), None),
           "signal_rest": m.merge(cat([mean, level], 1), rest), "full": m.merge(cat([mean + tex_u, level], 1), rest)}
    code = int(g.extra_.get("renorm", torch.tensor([0]))[0])
    out["whole"] = _renormalise(out["full"], _RENORM_NAMES.get(code, "none"))
    out["dec_u"] = mean
    out = {k: v.double().numpy() for k, v in out.items()}
    out["y"] = g.classes_[c.numpy()]
    return out


def sample_stats(v: np.ndarray) -> dict:
    sq = np.sort(v**2)[::-1]
    top = max(1, int(round(0.1 * len(v))))
    med = float(np.median(v))
    return {"median": med, "max_over_median": float(v.max() / med) if med > 0 else float("inf"),
            "top10_share": float(sq[:top].sum() / sq.sum()) if sq.sum() > 0 else 0.0}


def row_stats(g, job, Xdata: np.ndarray, groups: np.ndarray) -> dict:
    """Per class and training row: level, leverage, loo level, the whitened and raw residuals' norm shares."""
    m, X, c = g.module, job.X_all, job.c_all
    xs = (torch.as_tensor(Xdata) - m.x_mean.double()) / m.x_scale.double()
    B = m.basis.double()[:, (m.basis.abs().sum(dim=0) > 0)]
    s_in, s_loo = _noise_levels(xs, B, loo=False), _noise_levels(xs, B, loo=True)
    h = _leverage(xs @ B)
    D = torch.cdist(torch.as_tensor(Xdata), torch.as_tensor(Xdata))
    D.fill_diagonal_(float("inf"))
    nn = D.min(dim=1).values
    nn = (nn / nn.median()).numpy()
    mu, _ = m.encode(X, c)
    mean, logvar = m.decode(mu, c, m.level(X))
    raw = (X[:, : m.D_out] - mean) * m.u_scale[: m.D_out]
    w = (X[:, : m.D_out] - mean) / g._residual_scale(logvar, m.level(X), X[:, : m.D_out])
    out = {}
    for k, name in enumerate(g.classes_):
        idx = torch.nonzero(c == k).flatten()
        wn, rn = w[idx].pow(2).sum(1).double().numpy(), raw[idx].pow(2).sum(1).double().numpy()
        out[str(name)] = [{"row": int(i), "group": str(groups[i]), "s": float(s_in[i]), "h": float(h[i]), "s_loo": float(s_loo[i]),
                           "w_share": float(a / wn.mean()), "raw_share": float(b / rn.mean()), "nn": float(nn[i])}
                          for i, a, b in zip(idx.tolist(), wn, rn, strict=True)]
    return out


def one_minus_leverage(g, job, dec_u: np.ndarray) -> dict:
    """Medians of ``1 - h`` (leverage on the principal axes, ``_leverage_state``'s per-axis sums of squares of the
    training rows) of the training rows and of the samples' decoded means (what ``whiten = "loo"`` divides by)."""
    m = g.module
    a_tr = (job.X_all[:, : m.k] * m.u_scale[: m.k] + m.u_mean[: m.k]).double()
    lam = a_tr.pow(2).sum(dim=0).clamp_min(1e-12)
    a_s = torch.as_tensor(dec_u[:, : m.k]) * m.u_scale[: m.k].double() + m.u_mean[: m.k].double()
    h_tr, h_s = (a_tr.pow(2) / lam).sum(1), (a_s.pow(2) / lam).sum(1)
    return {"train": float((1 - h_tr).median()), "samples": float((1 - h_s).median())}


def cell(data: str, space: str, split: str, arms: list[str], path: Path) -> None:
    X_raw, y, groups, seed = training_part(data, split, path)
    X = Preprocessing.from_spec(space).fit_transform(X_raw)
    classes, n_per = np.unique(y, return_counts=True)
    counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
    base, dirty = None, False
    with torch_threads():
        for arm in arms:
            key, _, val = arm.partition("=")
            if key not in ("default", "whiten", "level", "drop"):
                raise SystemExit(f"unknown arm {arm!r}")
            if key == "level":
                g, job = fit(X, y, seed, {"level": val, "whiten": "level"})
            else:
                base = base or fit(X, y, seed, {"whiten": "level"})
                g, job = base
                g.config = dataclasses.replace(g.config, whiten=val if key == "whiten" else "level")
                with torch.no_grad():
                    if key == "drop":
                        drop_row(g, job, int(val))
                    elif dirty or key != "default":
                        g.after_fit(job)
                dirty = key != "default"
            with torch.no_grad():
                p = parts(g, counts, seed + 1)
            S_, ys = g.sample(counts, seed=seed + 1)
            same = hashlib.sha256(np.ascontiguousarray(S_, dtype=np.float64).tobytes()).hexdigest() == \
                hashlib.sha256(np.ascontiguousarray(p["whole"].astype(np.float32).astype(np.float64)).tobytes()).hexdigest()
            ys = np.asarray(ys).astype(str)
            sp = {k: {str(c): float(v) for c, v in spread_ratio(X, p[k], y, ys).items()}
                  for k in ("whole", "signal", "signal_tex", "signal_rest", "full")}
            tex = np.linalg.norm(p["signal_tex"] - p["signal"], axis=1)
            samples = {}
            for k in classes:
                sel = ys == k
                dev = np.linalg.norm(p["whole"][sel] - X[y == k].mean(axis=0), axis=1)
                samples[str(k)] = {"tex_norm": sample_stats(tex[sel]), "dist_from_real_mean": sample_stats(dev)}
            h = g._latent_sampler().state["kde_h"].tolist()
            line = {"data": data, "space": space, "split": split, "arm": arm, "n_train": counts, "h": h,
                    "generate_identical": bool(same), "spread": sp, "samples": samples,
                    "one_minus_h": one_minus_leverage(g, job, p["dec_u"])}
            if key != "drop":
                with torch.no_grad():
                    line["rows"] = row_stats(g, job, X, groups)
            print(json.dumps(line), flush=True)


def table(paths: list[str]) -> None:
    lines = [json.loads(t) for p in paths for t in Path(p).read_text().splitlines() if t.strip()]
    print("| cell | arm | kernel h | spread whole | signal | signal + tex | signal + rest | tex norm: max / median, "
          "top-10 % share (per class) | largest w_share per class (row = group, s, h, nn) | median 1 - h: training rows / samples "
          "|\n|---|---|---|---|---|---|---|---|---|---|")
    for r in lines:
        f = " ".join
        sp = {k: f(f"{v:.2f}" for v in r["spread"][k].values()) for k in r["spread"]}
        tex = " ; ".join(f"{v['tex_norm']['max_over_median']:.1f}, {v['tex_norm']['top10_share']:.2f}"
                         for v in r["samples"].values())
        top = ""
        if "rows" in r:
            tops = [max(rows, key=lambda q: q["w_share"]) for rows in r["rows"].values()]
            top = " ; ".join(f"{q['w_share']:.1f} (#{q['row']} = {q['group']}, {q['s']:.4f}, {q['h']:.3f}, {q['nn']:.0f})"
                             for q in tops)
        lev = r["one_minus_h"]
        print(f"| {r['data']} {r['split']} {r['space']} | {r['arm']} | {f(f'{v:.2f}' for v in r['h'])} | {sp['whole']} | "
              f"{sp['signal']} | {sp['signal_tex']} | {sp['signal_rest']} | {tex} | {top} | {lev['train']:.2f} / "
              f"{lev['samples']:.2f} |")


def cell_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a train-only diagnosis over cells: data set, spaces, splits, ``--data``, ``--table``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("data", nargs="?")
    ap.add_argument("spaces", nargs="?")
    ap.add_argument("splits", nargs="?", help="outer and/or inner split seeds, comma-separated")
    ap.add_argument("--data", dest="npz", default=str(RAMAN), help="the development Raman npz")
    ap.add_argument("--table", nargs="+", help="print the markdown table(s) of these JSON-line files")
    return ap


def main(argv: list[str] | None = None) -> None:
    ap = cell_parser(__doc__)
    ap.add_argument("--arms", default="default")
    a = ap.parse_args(argv)
    if a.table:
        table(a.table)
        return
    for split in a.splits.split(","):
        for space in a.spaces.split(","):
            cell(a.data, space, split, a.arms.split(","), Path(a.npz))


if __name__ == "__main__":
    main()
