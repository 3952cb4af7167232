"""Validation cells for vaelab-cvae's residual draws (``texture_draw``), issue 16 (RESULTS.md, session 11).

A cell is one data set, one preprocessing space and one inner split ``S`` of the outer split of seed 0
(``generators.py``'s ``load_sets(seed=0)`` and ``inner_split(s, S)``: the outer test holdout is not read). One
vaelab-cvae network is fitted with seed ``S`` (the default config); every arm reuses it and only re-runs
``after_fit`` (the residual model and the kernel calibration) with its ``texture_draw``; each arm draws seeds S+1..S+N
and is scored with ``generators.py``'s ``score``; the DCR reference is ``left_out_dcr``. One JSON line per arm and
draw; for arms that keep the neighbour table, one line per class with the residual's shares (``shares``; for
``"local_balanced"``, ``balanced_shares``).

    python benchmarks/texture_val.py run raman arpls+savgol+vector,d1 26 --arms gaussian,local > a.jsonl
    (``--data PATH``: the Raman npz where it is not ``generators.py``'s default place)
    python benchmarks/texture_val.py rule a.jsonl b.jsonl ... --arm local  # the session-11 rule (RESULTS.md)
    python benchmarks/texture_val.py run raman d1 20 --draws 0 --arms local,local_balanced  # the shares only

The session-11 candidate ``texture_draw = "blend"`` failed its rule and was removed; its arm runs at the commit that
added it (RESULTS.md, issue 16, session 11, gives the commands). Session 12 applied the same rule to ``--arm
local_balanced`` (kept as an option; RESULTS.md, issue 16, session 12) and its second helper to ``--arm local_auto``
(``local_classes``: per class, 1 where the gate lets the class draw locally; the shares are the balanced draw's).

Session 13 (the small-class check before ``"local_auto"`` becomes the default): ``--shape spectra-N`` subsamples the
inner split's training part to at most N spectra per class (``generators.py``'s ``reshape_set``: whole patients drawn
at random with seed S, the last one cut at N; the held-out patients are kept whole), and ``small-rule`` applies that
session's clauses:

    python benchmarks/texture_val.py run raman d1 34 --shape spectra-40 --arms gaussian,local_auto --draws 5 > c.jsonl
    python benchmarks/texture_val.py small-rule c.jsonl ... --arm local_auto

Session 13, second helper: ``--arm local_checked`` (its gate lines also say why each class is gated, ``gate_why``) and
``identity`` (whether two arms draw the same sample bytes on full classes; no scoring, no holdout read):

    python benchmarks/texture_val.py identity raman minmax,d1 outer,38 --arms local_auto,local_checked > i.jsonl

Session 14: an arm named ``DRAW+rest+centre`` also draws the rest outside the axes locally (``rest_draw = "local"``)
and centres the kernel on the posterior mean where it calibrates to 0 (``kde_centre = "auto"``) (:func:`arm_config`),
and the rules take ``--base`` (the arm compared against; the default of the time):

    python benchmarks/texture_val.py run raman arpls+savgol+vector 42 --arms local_checked,local_checked+rest+centre > e.jsonl
    python benchmarks/texture_val.py rule e.jsonl ... --arm local_checked+rest+centre --base local_checked

Session 14, second helper: ``parts`` (descriptive, no rule) sets several arms beside the base arm, per cell and
as means per space: the changes of C2ST, TSTR/TRTR and DCR, the DCR against 0.9 and the left-out reference, and the
single parts' shares of the combined arm's C2ST change and DCR cost:

    python benchmarks/texture_val.py parts f.jsonl --arms local_checked+rest,local_checked+centre,local_checked+rest+centre \
        --base local_checked

Session 15 (the class spread target): an arm token ``wloo`` (``whiten = "loo"``) and ``spread-rule``, that session's
clauses (:func:`spread_rule`):

    python benchmarks/texture_val.py run coffee arpls+savgol+vector 48 --arms local_checked,local_checked+wloo > g.jsonl
    python benchmarks/texture_val.py spread-rule g.jsonl ... --arm local_checked+wloo --base local_checked

Session 15, second helper: an arm token ``wchk`` (``whiten = "level_checked"``: the level of a training row at the
leverage bound replaced by its class's median for whitening); ``run`` lines also carry the samples' ``sha256`` and
``spread-rule`` counts the cells whose draws are byte-identical to the base's (descriptive); ``identity`` lines carry
``n_1mh_min``, the smallest ``n (1 - h)`` of the training rows (1: a row at the leverage bound):

    python benchmarks/texture_val.py run coffee arpls+savgol+vector 61 --arms local_checked,local_checked+wchk > k.jsonl
    python benchmarks/texture_val.py identity raman d1 61 --arms local_checked,local_checked+wchk > j.jsonl
    python benchmarks/texture_val.py bound coffee arpls+savgol+vector 61,62  # the rows at the bound (no network fitted)

Session 15, fourth helper: an arm token ``floor`` (``kde_floor = "variance"``: the calibrated kernel width raised to
``1 / sqrt(n_k)`` in classes with the unshrunk per-dimension kernel), ``run --spread-draws N`` (one more line per arm
with the class spreads' means over draws S+1..S+N, ``spread_many``, no scoring) and ``floor-rule`` (that session's
clauses over the class-cells whose kernel width the arm changes, spreads from ``spread_many``; :func:`floor_rule`):

    python benchmarks/texture_val.py run coffee d1 74 --arms local_checked+wchk,local_checked+wchk+floor \
        --spread-draws 20 > m.jsonl
    python benchmarks/texture_val.py floor-rule m.jsonl --arm local_checked+wchk+floor --base local_checked+wchk

Session 16 (``whiten = "level_checked"`` as the default): ``run`` lines also carry ``n_1mh_min``, and ``wchk-rule``
applies that session's clauses over the changed cells (:func:`wchk_rule`; ``identity`` lines enter as hashed cells):

    python benchmarks/texture_val.py run coffee arpls+savgol+vector 79 --arms local_checked,local_checked+wchk \
        --draws 5 > n.jsonl
    python benchmarks/texture_val.py wchk-rule n.jsonl j.jsonl --arm local_checked+wchk --base local_checked

Session 16, second helper (``kde_floor = "span"``): an arm token ``span``; ``run`` and ``identity`` lines of such an
arm carry ``span_g``, the extra width per class (0: the floor does not act), and ``span-rule`` applies the lead's
clauses over the changed cells (:func:`span_rule`):

    python benchmarks/texture_val.py run coffee arpls+savgol+vector 89 --arms local_checked+wchk,local_checked+wchk+span \
        --draws 5 > p.jsonl
    python benchmarks/texture_val.py span-rule p.jsonl q.jsonl --arm local_checked+wchk+span --base local_checked+wchk

Session 17 (``pick = "balanced"``: the latent sampler's training rows picked stratified, every row of a class floor or
ceil of m / n_k times, instead of with replacement): an arm token ``pick``, and ``pick-rule`` applies the lead's
clauses over every scored cell (:func:`pick_rule`):

    python benchmarks/texture_val.py run coffee arpls+savgol+vector 99 --arms local_checked+wchk,local_checked+wchk+pick \
        --draws 5 > s.jsonl
    python benchmarks/texture_val.py pick-rule s.jsonl t.jsonl --arm local_checked+wchk+pick --base local_checked+wchk

Session 17, second helper (``pick = "balanced_zero"``: the balanced pick only in classes whose calibrated kernel width
is 0, the calibration and every other class the default's): an arm token ``pickzero``, and ``pickzero-rule`` applies the
lead's clauses over the changed cells (:func:`pickzero_rule`; C2ST read as max(cell mean, 0.5)):

    python benchmarks/texture_val.py run coffee arpls+savgol+vector 109 \
        --arms local_checked+wchk,local_checked+wchk+pickzero --draws 5 > z.jsonl
    python benchmarks/texture_val.py pickzero-rule z.jsonl --base local_checked+wchk

Session 19 (``span = "class"``: each sample projected onto the affine hull of its class's training rows): arm tokens
``hull`` (``span = "class"``) and ``pickauto`` (``pick = "auto"``: ``local_checked+wchk+pickauto`` is the default
config), and ``hull-rule`` applies the lead's clauses over the changed cells (:func:`hull_rule`; C2ST read as max(cell
mean, 0.5)):

    python benchmarks/texture_val.py identity coffee arpls+savgol+vector 134 \
        --arms local_checked+wchk+pickauto,local_checked+wchk+pickzero > id.jsonl
    python benchmarks/texture_val.py run coffee arpls+savgol+vector 124 \
        --arms local_checked+wchk+pickzero,local_checked+wchk+pickzero+hull --draws 5 > h.jsonl
    python benchmarks/texture_val.py hull-rule h.jsonl --arm local_checked+wchk+pickzero+hull --base local_checked+wchk+pickzero

Session 19, second helper (``span = "class_after"``: the same projection, not applied while the kernel is calibrated):
an arm token ``hullafter``, and ``hullafter-rule`` applies the lead's clauses (:func:`hullafter_rule`: every class's h
equal to the base's, then :func:`hull_rule`'s clauses with (c)'s bound + 1e-9):

    python benchmarks/texture_val.py run coffee minmax 137 \
        --arms local_checked+wchk+pickauto,local_checked+wchk+pickauto+hullafter --draws 5 > ha.jsonl
    python benchmarks/texture_val.py hullafter-rule ha.jsonl --base local_checked+wchk+pickauto

Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generators import RAMAN, inner_split, load_sets, make_for, reshape_set, score  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.metrics.diversity import spread_ratio  # noqa: E402
from vaelab.metrics.novelty import left_out_dcr  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import _leverage, class_positions, class_residuals, local_checks  # noqa: E402


def shares(g, c: torch.Tensor) -> list[dict]:
    """Per class, for the fitted model ``g`` (an arm that keeps the neighbour table): k, the residual's dimension D,
    and as shares of the class covariance's trace tr(Sigma): the average local covariance W, the spread of the
    local means Cov(rbar), lam (the share of W outside the neighbours' span), the blend's A (the part of Sigma the
    local draws miss: the positive part of Sigma - Cov(rbar) - W, the session-11 candidate "blend"), and the effective ranks
    (participation ratio tr^2 / tr(M^2)) of Sigma and W next to the k - 1 directions of one local covariance."""
    ex, out = g.extra_, []
    pos = class_positions(torch.arange(len(c)), c)
    for k in range(len(g.classes_)):
        res = class_residuals(ex, k)
        near = pos[ex["tex_nn"][c == k, : int(ex["tex_nnk"][k])]]
        r = res[near].double()  # (n, k, D): each row's neighbours' residuals
        rbar = r.mean(dim=1)
        dev = r - rbar.unsqueeze(1)
        sigma = torch.cov(res.double().T)
        W = torch.einsum("ikd,ike->de", dev, dev) / (len(near) * max(near.shape[1] - 1, 1))
        _, sv, vh = torch.linalg.svd(dev, full_matrices=False)  # each row's span: its k - 1 centred deviations
        inside = (torch.einsum("mjd,de,mje->mj", vh, W, vh) * (sv > sv[:, :1] * 1e-9)).sum(dim=1)  # tr(P_i W)
        centred = rbar - rbar.mean(dim=0)  # A: the positive part of Sigma - Cov(rbar) (denominator n) - W
        ev = torch.linalg.eigvalsh(ex["tex_rows"][k].double().T @ ex["tex_rows"][k].double() - centred.T @ centred
                                   / len(near) - W)
        t = float(sigma.trace())

        def eff(m):
            return float(m.trace() ** 2 / (m * m).sum())
        out.append({"class": str(g.classes_[k]), "k": int(near.shape[1]), "D": int(res.shape[1]),
                    "W/Sigma": float(W.trace()) / t, "Cov(rbar)/Sigma": float(torch.cov(rbar.T).trace()) / t,
                    "lam": 1 - float(inside.mean() / W.trace()), "A/Sigma": float(ev.clamp_min(0).sum()) / t,
                    "eff_rank_Sigma": eff(sigma), "eff_rank_W": eff(W)})
    return out


def balanced_shares(g, c: torch.Tensor) -> list[dict]:
    """Per class, for ``texture_draw = "local_balanced"``: k, n, q (the draws' marginal residual variance, mean
    tr C_i + tr Cov(m_i) with denominator n, as a share of tr(Sigma); expected (n - 1) / n), the largest deviation of a
    row's total weight over the neighbourhoods from 1 (0: doubly stochastic), the neighbourhood sizes (mean, largest)
    and the effective sizes 1 / sum_j w_ij^2 (smallest, median)."""
    ex, out = g.extra_, []
    pos = class_positions(torch.arange(len(c)), c)
    for k in range(len(g.classes_)):
        res = class_residuals(ex, k).double()
        near, w = pos[ex["tex_bn"][c == k]], ex["tex_bw"][c == k].double()
        r = res[near]  # (n, M, D)
        m = torch.einsum("nk,nkd->nd", w, r)
        within = torch.einsum("nk,nk->n", w, (r - m.unsqueeze(1)).pow(2).sum(dim=2)).mean()
        between = (m - m.mean(dim=0)).pow(2).sum(dim=1).mean()
        col = torch.zeros(len(res), dtype=torch.float64).index_add_(0, near.flatten(), w.flatten())
        neff = 1 / w.pow(2).sum(dim=1)
        size = (w > 0).sum(dim=1).double()
        out.append({"class": str(g.classes_[k]), "k": int(ex["tex_nnk"][k]), "n": len(res),
                    "q": float((within + between) / torch.cov(res.T).trace()),
                    "col_err": float((col - 1).abs().max()), "size_mean": float(size.mean()),
                    "size_max": int(size.max()), "neff_min": float(neff.min()), "neff_median": float(neff.median())})
    return out


def gate_why(g, c: torch.Tensor) -> list[str]:
    """Per class, why ``texture_draw = "local_checked"`` gates it (``vaelab_cvae.local_checks``): "local" where it draws
    locally, else the failed conditions joined by "+": "count" (n_k <= latent_dim), "unbalanced" (a column sum of the
    balanced weights more than 1e-3 from 1), "eff<2" (a row's effective neighbourhood size below 2)."""
    ch = local_checks(g.extra_, c, len(g.classes_), g.config.latent_dim)
    out = []
    for k in range(len(g.classes_)):
        why = [name for name, key in (("count", "codes"), ("unbalanced", "balanced"), ("eff<2", "eff_ok"))
               if not bool(ch[key][k] > 0)]
        out.append("+".join(why) or "local")
    return out


def arm_config(arm: str) -> dict:
    """An arm's options (session 14): ``texture_draw`` is the arm's name up to the first ``+``; the tokens after it
    add ``rest`` (``rest_draw = "local"``: the rest outside the axes from the code's balanced neighbourhood),
    ``centre`` (``kde_centre = "auto"``: the posterior mean where the draw-calibrated kernel is 0) and (session 15)
    ``wloo`` (``whiten = "loo"``: the decoded-coordinate residuals divided by the leave-one-out level), e.g.
    ``local_checked+rest+centre``; ``wchk`` (session 15, second helper: ``whiten = "level_checked"``); ``floor``
    (session 15, fourth helper: ``kde_floor = "variance"``); without them the default's ``"gaussian"`` rest,
    ``"draw"`` centre and no floor, and ``"level"`` whitening (the default until session 16, set explicitly); ``span``
    (session 16, second helper: ``kde_floor = "span"``); ``pick`` (session 17: ``pick = "balanced"``; without it
    ``"replacement"``); ``pickzero`` (session 17, second helper: ``pick = "balanced_zero"``); ``pickauto`` (session 19:
    ``pick = "auto"``, the default since session 17, so ``local_checked+wchk+pickauto`` is the default config and, as
    the first arm, the fitted network untouched); ``hull`` (session 19: ``span = "class"``, each sample projected onto
    the affine hull of its class's training rows; without it ``"none"``); ``hullafter`` (session 19, second helper:
    ``span = "class_after"``, the same projection, not while the kernel is calibrated)."""
    draw, *tokens = arm.split("+")
    picks = {"pick", "pickzero", "pickauto"}
    if (set(tokens) - {"rest", "centre", "wloo", "wchk", "floor", "span", "hull", "hullafter"} - picks
            or {"wloo", "wchk"} <= set(tokens) or {"floor", "span"} <= set(tokens) or len(picks & set(tokens)) > 1
            or {"hull", "hullafter"} <= set(tokens)):
        raise SystemExit(f"unknown arm option in {arm!r} (known: rest, centre, one of hull / hullafter, one of pick / "
                         "pickzero / pickauto, one of floor / span, one of wloo / wchk)")
    whiten = "loo" if "wloo" in tokens else "level_checked" if "wchk" in tokens else "level"
    floor = "variance" if "floor" in tokens else "span" if "span" in tokens else "none"
    return {"texture_draw": draw, "rest_draw": "local" if "rest" in tokens else "gaussian",
            "kde_centre": "auto" if "centre" in tokens else "draw", "whiten": whiten, "kde_floor": floor,
            "pick": ("balanced" if "pick" in tokens else "balanced_zero" if "pickzero" in tokens
                     else "auto" if "pickauto" in tokens else "replacement"),
            "span": "class" if "hull" in tokens else "class_after" if "hullafter" in tokens else "none"}


def arm_fits(X: np.ndarray, y: np.ndarray, seed: int, arms: list[str]):
    """Yields (model, fit job, arm) for each arm: one vaelab-cvae network (default config) fitted with ``seed``, each
    arm re-running only ``after_fit`` (the residual model and the kernel calibration) with its ``texture_draw`` (and
    ``rest_draw``, :func:`arm_config`)."""
    g = make_for("vaelab-cvae", X)
    job = g.prepare_fit(X, y, seed=seed)
    g.finish_fit(job, g.trainer(job).fit(job.module, g.loss, job.data(), seed=seed, val=job.val()))
    for i, arm in enumerate(arms):
        cfg = arm_config(arm)
        if i > 0 or any(getattr(g.config, k) != v for k, v in cfg.items()):  # the same network, the arm's residual model
            g.config = dataclasses.replace(g.config, **cfg)
            with torch.no_grad():
                g.after_fit(job)
        yield g, job, arm


def n_1mh_min(g, job) -> float:
    """The smallest ``n (1 - h)`` over the training rows (``h`` the leverage of their principal coordinates, ``n`` all
    rows): 1 for a row at the leverage bound, where ``whiten = "level_checked"`` replaces its level (<= 1.01)."""
    net = g.module
    a = job.X_all[:, : net.k] * net.u_scale[: net.k] + net.u_mean[: net.k]
    return float((len(a) * (1 - _leverage(a.double()))).min())


def span_g(g) -> dict:
    """``{"span_g": [...]}``, the extra width per class of ``kde_floor = "span"`` (0: the floor does not act), or ``{}``
    for an arm without it."""
    return {"span_g": g.extra_["kde_g"].tolist()} if "kde_g" in g.extra_ else {}


def identity(data: str, spaces: list[str], splits: list[str], arms: list[str], path: Path) -> None:
    """Whether the arms draw the same bytes on full classes (no scoring, no holdout read): per split ("outer": the
    outer split's training part, fitted with seed 0; S: the inner split S's training part, seed S) and space, one network,
    each arm's samples (the training counts per class, seed 1) hashed; one JSON line per arm with the gate per class
    (``gate_why``), the balanced neighbourhoods' largest column-sum error and smallest effective size per class."""
    outer = load_sets([data], path, 0)[data]
    for S in splits:
        seed = 0 if S == "outer" else int(S)
        part = outer if S == "outer" else inner_split(outer, seed)
        X_raw, y = part["X_raw"], part["y"]
        counts = dict(zip(*(v.tolist() for v in np.unique(y, return_counts=True)), strict=True))
        for space in spaces:
            X = Preprocessing.from_spec(space).fit_transform(X_raw)
            with torch_threads():
                for g, job, arm in arm_fits(X, y, seed, arms):
                    ch = local_checks(g.extra_, job.c_all, len(g.classes_), g.config.latent_dim)
                    S_ = np.ascontiguousarray(g.sample(counts, seed=1)[0], dtype=np.float64)
                    print(json.dumps({"data": data, "split": S, "space": space, "arm": arm,
                                      "n_train": counts, "tex_local": g.extra_["tex_local"].tolist(),
                                      "gate_why": gate_why(g, job.c_all), "col_err": ch["col_err"].tolist(),
                                      "eff_min": ch["eff_min"].tolist(),
                                      "n_1mh_min": n_1mh_min(g, job), **span_g(g),
                                      "h": g._latent_sampler().state["kde_h"].tolist(),
                                      "sha256": hashlib.sha256(S_.tobytes()).hexdigest()}), flush=True)


def bound(data: str, spaces: list[str], splits: list[str], path: Path) -> None:
    """Per split's training part and space (only the principal axes are fitted, as a vaelab-cvae fit does; no network):
    per class its size, its rows with ``n (1 - h) <= 1.01`` (``whiten = "level_checked"``'s leverage bound; the rows'
    positions in the class), their in-sample levels, the class's median level and the smallest ``n (1 - h)`` of its
    other rows. A printed table row per class that has such a row, and a summary line per cell."""
    outer = load_sets([data], path, 0)[data]
    for S in splits:
        part = outer if S == "outer" else inner_split(outer, int(S))
        for space in spaces:
            X, y = Preprocessing.from_spec(space).fit_transform(part["X_raw"]), part["y"]
            g = make_for("vaelab-cvae", X)
            job = g.prepare_fit(X, y, seed=0 if S == "outer" else int(S))
            net, U, c = job.module, job.X_all, job.c_all
            a = U[:, : net.k] * net.u_scale[: net.k] + net.u_mean[: net.k]
            n1mh = len(U) * (1 - _leverage(a.double()))
            s = torch.exp(U[:, net.k] * net.u_scale[net.k] + net.u_mean[net.k]).numpy()
            rows = 0
            for k, name in enumerate(g.classes_):
                ck = (c == k).numpy()
                at = ck & (n1mh <= 1.01)
                if at.any():
                    rows += int(at.sum())
                    print(f"| {data} {S} {space} | {name} ({int(ck.sum())}) | {np.flatnonzero(at[ck]).tolist()} | "
                          f"{', '.join(f'{v:.4f}' for v in n1mh[at])} | {', '.join(f'{v:.4f}' for v in s[at])} | "
                          f"{np.median(s[ck & ~at]):.4f} | {n1mh[ck & ~at].min():.2f} |")
            K = int((net.basis.abs().sum(dim=0) > 0).sum())
            print(f"{data} {S} {space}: n = {len(U)}, K = {K}, rows at the bound {rows}, smallest n (1 - h) of the "
                  f"others {n1mh[n1mh > 1.01].min():.2f}", file=sys.stderr)


def run(data: str, spaces: list[str], splits: list[int], arms: list[str], draws: int, path: Path,
        shape: str = "full", spread_draws: int = 0) -> None:
    outer = load_sets([data], path, 0)[data]
    for S in splits:
        s = reshape_set(inner_split(outer, S), shape, S)
        for space in spaces:
            pre = Preprocessing.from_spec(space)
            X, y = pre.fit_transform(s["X_raw"]), s["y"]
            Xh, yh = pre.transform(s["X_raw_ho"]), s["y_ho"]
            classes, n_per = np.unique(y, return_counts=True)
            counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
            cell = {"data": data, "space": space, "split": S, "ref": left_out_dcr(X, Xh)}
            if shape != "full":  # the lines of earlier sessions have no shape
                cell.update(shape=shape, n_train=counts, n_holdout=len(yh))
            with torch_threads():
                for g, job, arm in arm_fits(X, y, S, arms):
                    h = g._latent_sampler().state["kde_h"].tolist()
                    if "tex_bw" in g.extra_:
                        gate = {"local_classes": g.extra_["tex_local"].tolist()} if "tex_local" in g.extra_ else {}
                        if arm_config(arm)["texture_draw"] == "local_checked":
                            gate["gate_why"] = gate_why(g, job.c_all)
                        print(json.dumps({**cell, "arm": arm, **gate, "balanced_shares": balanced_shares(g, job.c_all)}),
                              flush=True)
                    elif "tex_nn" in g.extra_:
                        print(json.dumps({**cell, "arm": arm, "shares": shares(g, job.c_all)}), flush=True)
                    for d in range(draws):
                        S_, ys = g.sample(counts, seed=S + 1 + d)
                        m = score(X, y, Xh, yh, S_, np.asarray(ys).astype(str), S)
                        sha = hashlib.sha256(np.ascontiguousarray(S_, dtype=np.float64).tobytes()).hexdigest()
                        print(json.dumps({**cell, "arm": arm, "draw": S + 1 + d, "h": h, **m, "sha256": sha,
                                          "n_1mh_min": n_1mh_min(g, job), **span_g(g)}), flush=True)
                    if spread_draws:  # the class spreads alone over draws S+1..S+N (no scoring), their mean per class
                        srs = []
                        for d in range(spread_draws):
                            S_, ys = g.sample(counts, seed=S + 1 + d)
                            srs.append(spread_ratio(X, S_, y, np.asarray(ys).astype(str)))
                        many = {str(c): float(np.mean([v[c] for v in srs])) for c in srs[0]}
                        print(json.dumps({**cell, "arm": arm, "h": h, "spread_draws": spread_draws, "spread_many": many}),
                              flush=True)


def _lines(paths: list[str]) -> list[dict]:
    return [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()]


def mean(rs: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rs]))


def spread(rs: list[dict]) -> np.ndarray:
    """The per-class spread ratios, means over the draws ``rs``."""
    return np.mean([list(r["spread"].values()) for r in rs], axis=0)


def desc(rs: list[dict]) -> str:
    """C2ST / spread / TSTR/TRTR +- sd / DCR, means over the draws ``rs`` (sd with ddof 0)."""
    return (f"{mean(rs, 'c2st'):.3f} / {' '.join(f'{v:.2f}' for v in spread(rs))} / "
            f"{mean(rs, 'tstr/trtr'):.3f} +- {float(np.std([r['tstr/trtr'] for r in rs])):.3f} / {mean(rs, 'dcr'):.3f}")


def kernels(b: list[dict], a: list[dict]) -> str:
    """The kernel widths h per class of the two arms, "default -> candidate"."""
    return " -> ".join(" ".join(f"{v:.2f}" for v in rs[0]["h"]) for rs in (b, a))


def cost_clauses(name: str, b: list[dict], a: list[dict], ref: float, fails: dict, allowance: float = 0.03) -> None:
    """Clauses (c) and (d) of the rules for one cell (default draws ``b``, candidate draws ``a``): TSTR/TRTR lower
    by more than max(the default's sd over its draws, ``allowance``); DCR newly below 0.9 x the left-out reference
    ``ref``."""
    if mean(a, "tstr/trtr") < mean(b, "tstr/trtr") - max(float(np.std([r["tstr/trtr"] for r in b])), allowance):
        fails["c"].append(name)
    if mean(a, "dcr") < 0.9 * ref <= mean(b, "dcr"):
        fails["d"].append(name)


def verdict(fails: dict, clauses: str | list[str]) -> None:
    for clause in clauses:
        print(f"({clause}) {'FAIL: ' + '; '.join(fails[clause]) if fails[clause] else 'pass'}")
    print("PASS" if not any(fails.values()) else "FAIL")


def paired_cells(paths: list[str], arm: str, base: str, extra: tuple[str, ...] = ()) -> tuple[dict, list]:
    """The draws of ``paths`` per (data, space, split, arm) and the cells that hold both ``base`` and ``arm``; prints the
    header of the rules' cell table (with the columns ``extra`` after the usual ones)."""
    rows = defaultdict(list)
    for r in _lines(paths):
        if "draw" in r:
            rows[(r["data"], r["space"], r["split"], r["arm"])].append(r)
    print("| cell | kernel h, default -> candidate | left-out DCR ref | default: C2ST / spread / TSTR/TRTR +- sd / DCR "
          f"| {arm} | C2ST change |{''.join(f' {c} |' for c in extra)}\n|---|---|---|---|---|---|{'---|' * len(extra)}")
    return rows, sorted({k[:3] for k in rows if k[3] == base and (*k[:3], arm) in rows})


def rule(paths: list[str], arm: str = "local", base: str = "gaussian") -> None:
    """The session-11 rule (RESULTS.md, issue 16, session 11), clauses (a)-(f), on the JSON lines of ``paths``."""
    rows, cells = paired_cells(paths, arm, base)
    fails, key_cells, inside = defaultdict(list), [], [0, 0]
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        ref, dc = b[0]["ref"], mean(a, "c2st") - mean(b, "c2st")
        print(f"| {cell[0]} {cell[2]} {cell[1]} | {kernels(b, a)} | {ref:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} |")
        name = f"{cell[0]} {cell[2]} {cell[1]}"
        if cell[0] == "raman" and cell[1] in ("arpls+savgol+vector", "d1"):
            key_cells.append((dc, mean(a, "tstr/trtr") - mean(b, "tstr/trtr")))
        sb, sa = spread(b), spread(a)
        if cell[0] == "raman":
            fails["b"] += [name for x, z in zip(sb, sa, strict=True) if 0.85 <= x <= 1.15 and not 0.85 <= z <= 1.15]
        else:
            inside[0] += int(np.sum((sb >= 0.85) & (sb <= 1.15)))
            inside[1] += int(np.sum((sa >= 0.85) & (sa <= 1.15)))
        cost_clauses(name, b, a, ref, fails)
        if cell[1] in ("minmax", "snv") and max(mean(a, "c2st"), 0.5) > max(mean(b, "c2st"), 0.5) + 0.02:
            fails["e"].append(name)
    n = len(key_cells)
    lower = sum(dc < 0 for dc, _ in key_cells)
    need = n - 1 if n >= 6 else n
    mean_dc = float(np.mean([dc for dc, _ in key_cells])) if n else 0.0
    mean_dt = float(np.mean([dt for _, dt in key_cells])) if n else 0.0
    if lower < need or mean_dc > -0.02:
        fails["a"].append(f"{lower} of {n} lower (need {need}), mean {mean_dc:+.3f}")
    if inside[1] < inside[0] - 2:
        fails["b"].append(f"coffee classes inside 0.85-1.15: {inside[0]} -> {inside[1]}")
    if mean_dt < -0.01:
        fails["f"].append(f"mean TSTR/TRTR change over the Raman arpls / d1 cells {mean_dt:+.3f}")
    print(f"\nRaman arpls / d1: C2ST lower in {lower} of {n}, mean change {mean_dc:+.3f}; TSTR/TRTR mean change "
          f"{mean_dt:+.3f}; coffee classes inside 0.85-1.15: {inside[0]} -> {inside[1]}")
    verdict(fails, "abcdef")


def gate_text(local: list | None, sh: list[dict]) -> str:
    """The gate column of ``small_rule``: "k of n" classes drawing locally, for ``"local_checked"`` (``gate_why``) with
    the gated classes and why."""
    if local is None:
        return ""
    if all(isinstance(v, str) for v in local):
        why = ", ".join(f"{s['class']}: {v}" for s, v in zip(sh, local, strict=True) if v != "local")
        return f"{sum(v == 'local' for v in local)} of {len(local)}" + (f" ({why})" if why else "")
    return f"{int(sum(local))} of {len(local)}"


def small_rule(paths: list[str], arm: str = "local_auto", base: str = "gaussian") -> None:
    """The session-13 rule (RESULTS.md, issue 16, session 13: no harm where the gate opens on classes of 33-100
    spectra), on the JSON lines of ``paths`` (cells of ``run --shape``), every cell and class counted: (b) at most 1
    class-cell newly outside spread 0.85-1.15; (c) TSTR/TRTR in no cell lower by more than max(the default's sd over
    its draws, 0.03); (d) no DCR newly below 0.9 x the left-out reference; (e) mean C2ST change <= +0.01 and none >
    +0.03; (f) mean TSTR/TRTR change >= -0.01. Also per cell: the classes the gate lets draw locally, n, k and the
    balanced neighbourhoods' effective sizes (smallest, median) per class."""
    rows, gate = defaultdict(list), {}
    for r in _lines(paths):
        key = (r["data"], r.get("shape", "full"), r["space"], r["split"])
        if "draw" in r:
            rows[(*key, r["arm"])].append(r)
        elif r["arm"] == arm and "balanced_shares" in r:
            gate[key] = (r.get("gate_why", r.get("local_classes")), r["balanced_shares"])
    cells = sorted({k[:4] for k in rows if k[4] == base and (*k[:4], arm) in rows})
    print("| cell | n per class / k | local classes | eff. size min / median per class | left-out DCR ref | default: "
          f"C2ST / spread / TSTR/TRTR +- sd / DCR | {arm} | C2ST change |\n|---|---|---|---|---|---|---|---|")
    fails, dcs, dts, newly_out, whys = defaultdict(list), [], [], [], []
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        ref = b[0]["ref"]
        dc, dt = mean(a, "c2st") - mean(b, "c2st"), mean(a, "tstr/trtr") - mean(b, "tstr/trtr")
        dcs.append(dc)
        dts.append(dt)
        local, sh = gate.get(cell, (None, []))
        whys += [v for v in local or [] if isinstance(v, str)]
        sizes = " ".join(f"{s['n']}/{s['k']}" for s in sh)
        neff = " ".join(f"{s['neff_min']:.1f}/{s['neff_median']:.1f}" for s in sh)
        name = f"{cell[0]} {cell[1]} {cell[3]} {cell[2]}"
        print(f"| {name} | {sizes} | {gate_text(local, sh)} | {neff} | {ref:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} |")
        newly_out += [f"{name} {c}" for c, x, z in zip(b[0]["spread"], spread(b), spread(a), strict=True)
                      if 0.85 <= x <= 1.15 and not 0.85 <= z <= 1.15]
        cost_clauses(name, b, a, ref, fails)
        if dc > 0.03:
            fails["e"].append(f"{name} {dc:+.3f}")
    if len(newly_out) > 1:
        fails["b"].append("newly outside 0.85-1.15: " + ", ".join(newly_out))
    mean_dc, mean_dt = float(np.mean(dcs)), float(np.mean(dts))
    if mean_dc > 0.01:
        fails["e"].append(f"mean C2ST change {mean_dc:+.3f}")
    if mean_dt < -0.01:
        fails["f"].append(f"mean TSTR/TRTR change {mean_dt:+.3f}")
    print(f"\n{len(cells)} cells: mean C2ST change {mean_dc:+.3f} (lower in {sum(d < 0 for d in dcs)}), mean TSTR/TRTR "
          f"change {mean_dt:+.3f}; class-cells newly outside 0.85-1.15: {len(newly_out)}")
    if whys:
        gated = ", ".join(f"{w} {whys.count(w)}" for w in sorted(set(whys)) if w != "local")
        print(f"class-cells drawing locally: {whys.count('local')} of {len(whys)}; gated: {gated or 'none'}")
    verdict(fails, "bcdef")


def band_distance(v: np.ndarray) -> np.ndarray:
    """Distance of spread ratios ``v`` to the target band [0.85, 1.15] (0 inside)."""
    return np.maximum(0.0, np.maximum(0.85 - v, v - 1.15))


def cell_clauses(raman: bool, name: str, b: list[dict], a: list[dict], spreads: tuple, fails: dict, inside: list,
                 met: list) -> None:
    """One cell's share of the spread rules' (b)-(e) (base draws ``b``, candidate draws ``a``, class spreads
    ``spreads`` = (base, candidate)): a Raman class newly outside 0.85-1.15 (else the coffee classes inside counted in
    ``inside``), :func:`cost_clauses`, the cells with DCR >= 0.9 counted in ``met``, C2ST higher by more than 0.03."""
    sb, sa = spreads
    if raman:
        fails["b"] += [name for x, z in zip(sb, sa, strict=True) if 0.85 <= x <= 1.15 and not 0.85 <= z <= 1.15]
    else:
        inside[0] += int(np.sum(band_distance(sb) == 0))
        inside[1] += int(np.sum(band_distance(sa) == 0))
    cost_clauses(name, b, a, b[0]["ref"], fails)
    met[0] += int(mean(b, "dcr") >= 0.9)
    met[1] += int(mean(a, "dcr") >= 0.9)
    if max(mean(a, "c2st"), 0.5) > max(mean(b, "c2st"), 0.5) + 0.03:
        fails["e"].append(f"{name} {mean(a, 'c2st') - mean(b, 'c2st'):+.3f}")


def total_clauses(fails: dict, inside: list, met: list, dcs: list, slack: int) -> float:
    """The spread rules' totals: coffee classes inside the band not fewer by more than ``slack`` (b), cells with DCR >=
    0.9 not fewer by more than 1 (d), the mean of the C2ST changes ``dcs`` <= +0.01 (e); returns that mean."""
    if inside[1] < inside[0] - slack:
        fails["b"].append(f"coffee classes inside 0.85-1.15: {inside[0]} -> {inside[1]}")
    if met[1] < met[0] - 1:
        fails["d"].append(f"cells with DCR >= 0.9: {met[0]} -> {met[1]}")
    mean_dc = float(np.mean(dcs)) if dcs else 0.0
    if mean_dc > 0.01:
        fails["e"].append(f"mean C2ST change {mean_dc:+.3f}")
    return mean_dc


def spread_rule(paths: list[str], arm: str = "local_checked+wloo", base: str = "local_checked") -> None:
    """The session-15 rule (RESULTS.md, issue 16, session 15: the class spread target), on the JSON lines of ``paths``,
    3-draw means, every cell and class counted: (a) the summed distance to [0.85, 1.15] over the class-cells where the
    base is outside falls to <= 0.75 x the base's, and in coffee arpls+savgol+vector every class-cell with base spread >
    1.15 comes closer to the band, except at most one; (b) coffee class-cells inside the band not fewer by more than 2,
    no Raman class newly outside; (c) TSTR/TRTR in no cell lower by more than max(the base's sd over its draws, 0.03);
    (d) no DCR newly below 0.9 x the left-out reference, cells with DCR >= 0.9 not fewer by more than 1; (e) C2ST in no
    cell higher by more than 0.03 (below 0.5 read as 0.5), mean change <= +0.01."""
    rows = defaultdict(list)
    for r in _lines(paths):
        if "draw" in r:
            rows[(r["data"], r["space"], r["split"], r["arm"])].append(r)
    cells = sorted({k[:3] for k in rows if k[3] == base and (*k[:3], arm) in rows})
    print("| cell | kernel h, default -> candidate | left-out DCR ref | default: C2ST / spread / TSTR/TRTR +- sd / DCR "
          f"| {arm} | C2ST change |\n|---|---|---|---|---|---|")
    fails, dist, arpls_over, inside, met, dcs = defaultdict(list), [0.0, 0.0], [0, 0], [0, 0], [0, 0], []
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        ref, dc = b[0]["ref"], mean(a, "c2st") - mean(b, "c2st")
        dcs.append(dc)
        name = f"{cell[0]} {cell[2]} {cell[1]}"
        print(f"| {name} | {kernels(b, a)} | {ref:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} |")
        sb, sa = spread(b), spread(a)
        out = band_distance(sb) > 0
        dist[0] += float(band_distance(sb)[out].sum())
        dist[1] += float(band_distance(sa)[out].sum())
        if cell[0] == "coffee" and cell[1] == "arpls+savgol+vector":
            over = sb > 1.15
            arpls_over[0] += int(over.sum())
            arpls_over[1] += int((band_distance(sa)[over] < band_distance(sb)[over]).sum())
        cell_clauses(cell[0] == "raman", name, b, a, (sb, sa), fails, inside, met)
    if dist[1] > 0.75 * dist[0] or arpls_over[1] < arpls_over[0] - 1:
        fails["a"].append(f"summed distance {dist[0]:.3f} -> {dist[1]:.3f}; coffee arpls classes over 1.15 closer: "
                          f"{arpls_over[1]} of {arpls_over[0]}")
    mean_dc = total_clauses(fails, inside, met, dcs, 2)
    same = [c for c in cells if all("sha256" in r for r in rows[(*c, base)] + rows[(*c, arm)])
            and [r["sha256"] for r in rows[(*c, base)]] == [r["sha256"] for r in rows[(*c, arm)]]]
    print(f"\nbyte-identical to the base in every draw (descriptive): {len(same)} of {len(cells)} cells"
          + (f" ({', '.join(f'{c[0]} {c[2]} {c[1]}' for c in same)})" if same else ""))
    print(f"\n{len(cells)} cells: summed distance to 0.85-1.15 over the default's outside class-cells {dist[0]:.3f} -> "
          f"{dist[1]:.3f}; coffee arpls classes over 1.15 closer: {arpls_over[1]} of {arpls_over[0]}; coffee classes "
          f"inside: {inside[0]} -> {inside[1]}; cells with DCR >= 0.9: {met[0]} -> {met[1]}; mean C2ST change "
          f"{mean_dc:+.3f}")
    verdict(fails, "abcde")


def floor_rule(paths: list[str], arm: str = "local_checked+wchk+floor", base: str = "local_checked+wchk") -> None:
    """The session-15 fourth helper's rule (RESULTS.md, issue 16: ``kde_floor = "variance"``). Spreads: the means over
    the ``--spread-draws`` draws (``spread_many``); C2ST, TSTR/TRTR, DCR: means over the scored draws. A changed
    class-cell: its kernel width differs between the arms; a changed cell: one with a changed class-cell. (a) over the
    changed class-cells the summed distance to [0.85, 1.15] falls to <= 0.6 x the base's, and the arpls+savgol+vector
    + d1 class-cells below 0.85 become fewer; (b) at most 2 changed class-cells newly above 1.15, coffee class-cells
    inside the band not fewer, no Raman class newly outside; (c) TSTR/TRTR in no cell lower by more than max(the base's
    sd over its draws, 0.03); (d) no DCR newly below 0.9 x the left-out reference, cells with DCR >= 0.9 not fewer by
    more than 1; (e) C2ST in no cell higher by more than 0.03 (below 0.5 read as 0.5), mean change over the changed
    cells <= +0.01."""
    rows, many = defaultdict(list), {}
    for r in _lines(paths):
        key = (r["data"], r["space"], r["split"], r["arm"])
        if "draw" in r:
            rows[key].append(r)
        elif "spread_many" in r:
            many[key] = np.array(list(r["spread_many"].values()))
    cells = sorted({k[:3] for k in rows if k[3] == base and (*k[:3], arm) in rows})
    print(f"| cell | kernel h, base -> candidate | spread (means over the spread draws), base -> candidate | "
          f"left-out DCR ref | base: C2ST / spread / TSTR/TRTR +- sd / DCR | {arm} | C2ST change |\n"
          "|---|---|---|---|---|---|---|")
    fails, dist, under, inside, met, dcs = defaultdict(list), [0.0, 0.0], [0, 0], [0, 0], [0, 0], []
    newly_over, n_changed = [], 0
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        ref, dc = b[0]["ref"], mean(a, "c2st") - mean(b, "c2st")
        sb, sa = many.get((*cell, base), spread(b)), many.get((*cell, arm), spread(a))
        changed = np.array(b[0]["h"]) != np.array(a[0]["h"])
        name = f"{cell[0]} {cell[2]} {cell[1]}"
        print(f"| {name} | {kernels(b, a)} | {' '.join(f'{v:.2f}' for v in sb)} -> {' '.join(f'{v:.2f}' for v in sa)} "
              f"| {ref:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} |")
        n_changed += int(changed.sum())
        dist[0] += float(band_distance(sb)[changed].sum())
        dist[1] += float(band_distance(sa)[changed].sum())
        newly_over += [f"{name} class {i}" for i in np.flatnonzero(changed & (sb <= 1.15) & (sa > 1.15))]
        if cell[1] in ("arpls+savgol+vector", "d1"):
            under[0] += int((sb < 0.85).sum())
            under[1] += int((sa < 0.85).sum())
        cell_clauses(cell[0] == "raman", name, b, a, (sb, sa), fails, inside, met)
        if changed.any():
            dcs.append(dc)
    if dist[1] > 0.6 * dist[0] or under[1] >= under[0]:
        fails["a"].append(f"summed distance over the changed class-cells {dist[0]:.3f} -> {dist[1]:.3f}; arpls + d1 "
                          f"class-cells below 0.85: {under[0]} -> {under[1]}")
    if len(newly_over) > 2:
        fails["b"].append(f"changed class-cells newly above 1.15: {', '.join(newly_over)}")
    mean_dc = total_clauses(fails, inside, met, dcs, 0)
    print(f"\n{len(cells)} cells, {len(dcs)} changed, {n_changed} changed class-cells: summed distance to 0.85-1.15 over "
          f"them {dist[0]:.3f} -> {dist[1]:.3f}; arpls + d1 class-cells below 0.85: {under[0]} -> {under[1]}; newly "
          f"above 1.15: {len(newly_over)}; coffee classes inside: {inside[0]} -> {inside[1]}; cells with DCR >= 0.9: "
          f"{met[0]} -> {met[1]}; mean C2ST change over the changed cells {mean_dc:+.3f} (all cells "
          f"{float(np.mean([mean(rows[(*c, arm)], 'c2st') - mean(rows[(*c, base)], 'c2st') for c in cells])):+.3f})")
    verdict(fails, "abcde")


def wchk_rule(paths: list[str], arm: str = "local_checked+wchk", base: str = "local_checked") -> None:
    """The session-16 rule for ``whiten = "level_checked"`` as the default (RESULTS.md, issue 16, session 16), on the
    lines of ``run`` (scored cells) and ``identity`` (cells hashed only) in ``paths``. A changed cell: the arm's samples
    differ from the base's (sha256) in any draw; a cell at the bound: a training row with n (1 - h) <= 1.01. Means over
    the draws: (i) every cell not at the bound byte-identical in every draw; (a) the summed distance of the class
    spreads to [0.85, 1.15] over all classes of the changed cells <= 0.5 x the base's; (b) C2ST: mean change over the
    changed cells <= -0.02, none higher by more than 0.10; (c) TSTR/TRTR: mean change over the changed cells >= -0.01,
    none lower by more than max(the base's sd over its draws, 0.05); (d) no changed cell's DCR newly below 0.9 x its
    left-out reference. A changed cell that was only hashed has to be scored: the rule then fails as incomplete."""
    changed_rule(paths, arm, base, ChangedRule("smallest n (1 - h)", lambda r: r["n_1mh_min"] <= 1 + 0.01,
                                               lambda r: f"{r['n_1mh_min']:.4f}", "no row at the bound", 0.5, -0.02))


def span_rule(paths: list[str], arm: str = "local_checked+wchk+span", base: str = "local_checked+wchk") -> None:
    """The session-16 second helper's rule for ``kde_floor = "span"`` (RESULTS.md, issue 16), registered by the lead:
    as :func:`wchk_rule`, with the floor acting in a cell where the arm's ``span_g`` is above 0 in some class, and the
    limits (i) every cell where the floor does not act byte-identical; (a) summed distance <= 0.7 x the base's, and
    the changed cells' class-cells above 1.15 not more than the base's + 1; (b) mean C2ST change <= +0.01, none higher
    by more than 0.10; (c) and (d) as there."""
    changed_rule(paths, arm, base, ChangedRule("extra width g per class", lambda r: max(r.get("span_g", [0.0])) > 0,
                                               lambda r: " ".join(f"{v:.2f}" for v in r.get("span_g", [])),
                                               "the floor does not act", 0.7, 0.01, 1), arm_acts=True)
    span_spaces(paths, arm, base)


def span_spaces(paths: list[str], arm: str, base: str) -> None:
    """Descriptive, after :func:`span_rule`: per data set and space (scored cells), the cells changed, the floored
    class-cells (``span_g`` > 0), the means over the cells of C2ST and DCR, the class-cells (5-draw mean spreads) below
    0.85 and above 1.15, the median spread of the floored classes, and whether every unfloored class's spread equals
    the base's."""
    rows, cells = defaultdict(list), set()
    for r in _lines(paths):
        if "draw" in r:
            rows[(r["data"], r["space"], r["split"], r["arm"])].append(r)
            cells.add((r["data"], r["space"], r["split"]))
    print(f"\n| data space | cells changed | floored class-cells | C2ST {base} -> {arm} | DCR | class-cells below 0.85 | "
          "above 1.15 | median spread of the floored classes | unfloored spreads equal |\n|---|---|---|---|---|---|---|---|---|")
    for ds in sorted({c[:2] for c in cells}):
        cs = sorted(c for c in cells if c[:2] == ds and (*c, base) in rows and (*c, arm) in rows)
        b, a = [rows[(*c, base)] for c in cs], [rows[(*c, arm)] for c in cs]
        sb, sa = np.array([spread(x) for x in b]), np.array([spread(x) for x in a])
        floored = np.array([x[0].get("span_g", [0.0] * sb.shape[1]) for x in a]) > 0
        changed = sum([r["sha256"] for r in x] != [r["sha256"] for r in y] for x, y in zip(b, a, strict=True))

        def both(key, b=b, a=a):
            return f"{np.mean([mean(x, key) for x in b]):.3f} -> {np.mean([mean(x, key) for x in a]):.3f}"
        med = (f"{np.median(sb[floored]):.2f} -> {np.median(sa[floored]):.2f}" if floored.any() else "-")
        print(f"| {ds[0]} {ds[1]} | {changed} of {len(cs)} | {int(floored.sum())} | {both('c2st')} | {both('dcr')} | "
              f"{int((sb < 0.85).sum())} -> {int((sa < 0.85).sum())} | {int((sb > 1.15).sum())} -> "
              f"{int((sa > 1.15).sum())} | {med} | {bool(np.array_equal(sb[~floored], sa[~floored]))} |")


@dataclasses.dataclass
class ChangedRule:
    """The parts in which :func:`wchk_rule` and :func:`span_rule` differ: the column printed per cell (its header and
    value from a line), whether a cell may change (from a line), the text for a cell that may not, the factor of (a),
    the largest mean C2ST change of (b), and (``over_slack``, None: not a clause) how many more class-cells of the
    changed cells may lie above 1.15."""

    column: str
    acts: Callable[[dict], bool]
    value: Callable[[dict], str]
    inert: str
    dist_factor: float
    max_mean_dc: float
    over_slack: int | None = None
    c2st_floor: bool = False  # C2ST read as max(cell mean, 0.5) (session 17, second helper)
    raman_dc: float | None = None  # set: Raman cells apart, each C2ST change <= this and DCR not newly below 0.9;
    #   the mean and the 0.10 limit of (b) over the coffee cells only
    same_h: bool = False  # (i) also: every class with h > 0 in either arm keeps the base's h


def changed_rule(paths: list[str], arm: str, base: str, rule: ChangedRule, arm_acts: bool = False) -> None:
    """The clauses over the changed cells (:class:`ChangedRule`; ``arm_acts``: whether a cell acts is read from the
    arm's line, else from the base's)."""
    rows, cells = paired_cells(paths, arm, base, (rule.column, "samples"))
    hashed = {}
    for r in _lines(paths):
        if "draw" not in r and "sha256" in r:
            hashed[(r["data"], r["space"], str(r["split"]), r["arm"])] = r
    fails, dist, over, dcs, dts = defaultdict(list), [0.0, 0.0], [0, 0], [], []
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        name, line = f"{cell[0]} {cell[2]} {cell[1]}", (a if arm_acts else b)[0]
        changed = [r["sha256"] for r in b] != [r["sha256"] for r in a]
        c2 = [max(mean(x, "c2st"), 0.5) if rule.c2st_floor else mean(x, "c2st") for x in (b, a)]
        dc, dt = c2[1] - c2[0], mean(a, "tstr/trtr") - mean(b, "tstr/trtr")
        print(f"| {name} | {kernels(b, a)} | {b[0]['ref']:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} | "
              f"{rule.value(line)} | {'changed' if changed else 'identical'} |")
        if not rule.acts(line) and changed:
            fails["i"].append(f"{name} ({rule.inert}) differs")
        if rule.same_h and any(x != z for x, z in zip(b[0]["h"], a[0]["h"], strict=True) if max(x, z) > 0):
            fails["i"].append(f"{name} h {kernels(b, a)}")
        if not changed:
            continue
        dist[0] += float(band_distance(spread(b)).sum())
        dist[1] += float(band_distance(spread(a)).sum())
        over[0] += int((spread(b) > 1.15).sum())
        over[1] += int((spread(a) > 1.15).sum())
        dts.append(dt)
        apart = rule.raman_dc is not None and cell[0] == "raman"
        if not apart:
            dcs.append(dc)
        if dc > (rule.raman_dc if apart else 0.10):
            fails["b"].append(f"{name} C2ST {dc:+.3f}")
        cost_clauses(name, b, a, 1.0 if apart else b[0]["ref"], fails, allowance=0.05)  # Raman: DCR below 0.9
    for key in sorted(k for k in hashed if k[3] == base and (*k[:3], arm) in hashed):
        if (key[0], key[1], int(key[2]) if key[2].isdigit() else key[2]) in cells:
            continue
        hb, ha = hashed[key], hashed[(*key[:3], arm)]
        name, line = f"{key[0]} {key[2]} {key[1]}", ha if arm_acts else hb
        changed = hb["sha256"] != ha["sha256"]
        print(f"| {name} | hashed only (identity) | | | | | {rule.value(line)} | "
              f"{'changed' if changed else 'identical'} |")
        if changed and not rule.acts(line):
            fails["i"].append(f"{name} ({rule.inert}) differs")
        if changed:
            fails["scope"].append(f"{name} changed but not scored")
    if not dcs:
        fails["b"].append("no changed cell")
    if dist[1] > rule.dist_factor * dist[0]:
        fails["a"].append(f"summed distance {dist[0]:.3f} -> {dist[1]:.3f}")
    if rule.over_slack is not None and over[1] > over[0] + rule.over_slack:
        fails["a"].append(f"class-cells above 1.15 {over[0]} -> {over[1]}")
    mean_dc = float(np.mean(dcs)) if dcs else 0.0
    mean_dt = float(np.mean(dts)) if dts else 0.0
    if mean_dc > rule.max_mean_dc:
        fails["b"].append(f"mean C2ST change {mean_dc:+.3f}")
    if mean_dt < -0.01:
        fails["c"].append(f"mean TSTR/TRTR change {mean_dt:+.3f}")
    print(f"\n{len(cells)} scored cells, {len(dts)} changed{f' ({len(dcs)} coffee)' if rule.raman_dc is not None else ''}: summed distance to 0.85-1.15 over the changed cells' "
          f"classes {dist[0]:.3f} -> {dist[1]:.3f} (limit {rule.dist_factor * dist[0]:.3f})"
          + (f"; their class-cells above 1.15 {over[0]} -> {over[1]}" if rule.over_slack is not None else "")
          + f"; mean C2ST change{' (coffee)' if rule.raman_dc is not None else ''} {mean_dc:+.3f}; mean TSTR/TRTR "
          f"change {mean_dt:+.3f}")
    verdict(fails, ["i", "a", "b", "c", "d", "scope"])


def pickzero_rule(paths: list[str], arm: str = "local_checked+wchk+pickzero", base: str = "local_checked+wchk") -> None:
    """The session-17 second helper's rule for ``pick = "balanced_zero"`` (RESULTS.md, issue 16), registered by the
    lead, over the changed cells (:func:`changed_rule`), a cell acting where a class's calibrated h is 0: (i) every cell
    with no class at h = 0 byte-identical in every draw, every class with h > 0 keeping the base's h; (a) summed distance
    <= 0.8 x the base's, the changed cells' class-cells above 1.15 not more than the base's + 1; (b) C2ST read as
    max(cell mean, 0.5): mean change over the changed coffee cells <= 0.00, no changed coffee cell higher by more than
    0.10, no changed Raman cell (one per space) by more than 0.02; (c) TSTR/TRTR: mean change over the changed cells
    >= -0.01, none lower by more than max(the base's sd, 0.05); (d) DCR: no changed coffee cell newly below 0.9 x its
    left-out reference, no changed Raman cell newly below 0.9."""
    changed_rule(paths, arm, base, ChangedRule("classes at h = 0", lambda r: min(r.get("h", [1.0])) == 0,
                                               lambda r: str(sum(v == 0 for v in r.get("h", []))),
                                               "no class at h = 0", 0.8, 0.0, 1, c2st_floor=True, raman_dc=0.02,
                                               same_h=True), arm_acts=True)
    rows = defaultdict(list)  # descriptive, after the verdict: per data set and space, every cell (pick_spaces)
    for r in _lines(paths):
        if "draw" in r:
            rows[(r["data"], r["space"], r["split"], r["arm"])].append(r)
    pick_spaces(rows, sorted({k[:3] for k in rows if k[3] == base and (*k[:3], arm) in rows}), arm, base)


def hull_rule(paths: list[str], arm: str = "local_checked+wchk+pickzero+hull",
              base: str = "local_checked+wchk+pickzero", same_h: bool = False, tstr_tol: float = 0.0) -> None:
    """The session-19 rule for ``span = "class"`` (RESULTS.md, issue 16, session 19; the lead's LEAD_RULE.md of spec32),
    over the changed cells (a cell whose samples differ from the base's in any draw), C2ST read as max(cell mean, 0.5),
    sd with ddof 0: (a) the summed distance of the class spreads to [0.85, 1.15] over the class-cells of the changed
    cells <= 1.1 x the base's + 0.05, and their class-cells above 1.15 not more than the base's + 1; (b) C2ST: mean
    change over the changed coffee arpls+savgol+vector cells <= -0.05, mean change over all changed coffee cells <=
    0.00, no changed coffee cell higher by more than 0.10, no changed Raman cell (one per space) higher by more than
    0.02; (c) TSTR/TRTR: mean change over the changed cells >= -0.01, no changed cell lower by more than max(the base's
    sd over its draws, 0.05); (d) DCR: no changed coffee cell newly below 0.9 x its left-out reference, no changed
    Raman cell newly below 0.9 ("newly": the base at or above, the arm below). Then the per-space table
    (:func:`pick_spaces`, every cell). ``same_h`` (:func:`hullafter_rule`): clause (i), every class's kernel width h in
    every cell (every draw) equal to the base's; ``tstr_tol`` added to (c)'s bound per cell."""
    rows, cells = paired_cells(paths, arm, base, ("samples",))
    fails, dist, over, dts = defaultdict(list), [0.0, 0.0], [0, 0], []
    if same_h:
        for cell in cells:
            b, a = rows[(*cell, base)], rows[(*cell, arm)]
            if [r["h"] for r in b] != [r["h"] for r in a]:
                fails["i"].append(f"{cell[0]} {cell[2]} {cell[1]} h {b[0]['h']} -> {a[0]['h']}")
    dcs, arpls = [], []
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        name, raman = f"{cell[0]} {cell[2]} {cell[1]}", cell[0] == "raman"
        changed = [r["sha256"] for r in b] != [r["sha256"] for r in a]
        dc = max(mean(a, "c2st"), 0.5) - max(mean(b, "c2st"), 0.5)
        dt = mean(a, "tstr/trtr") - mean(b, "tstr/trtr")
        print(f"| {name} | {kernels(b, a)} | {b[0]['ref']:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} | "
              f"{'changed' if changed else 'identical'} |")
        if not changed:
            continue
        sb, sa = spread(b), spread(a)
        dist[0] += float(band_distance(sb).sum())
        dist[1] += float(band_distance(sa).sum())
        over[0] += int((sb > 1.15).sum())
        over[1] += int((sa > 1.15).sum())
        dts.append(dt)
        if raman:
            if dc > 0.02:
                fails["b"].append(f"{name} C2ST {dc:+.3f}")
        else:
            dcs.append(dc)
            if cell[1] == "arpls+savgol+vector":
                arpls.append(dc)
            if dc > 0.10:
                fails["b"].append(f"{name} C2ST {dc:+.3f}")
        if dt < -max(float(np.std([r["tstr/trtr"] for r in b])), 0.05) - tstr_tol:
            fails["c"].append(f"{name} TSTR/TRTR {dt:+.3f}")
        thr = 0.9 if raman else 0.9 * b[0]["ref"]
        if mean(a, "dcr") < thr <= mean(b, "dcr"):
            fails["d"].append(f"{name} DCR {mean(b, 'dcr'):.3f} -> {mean(a, 'dcr'):.3f} (threshold {thr:.3f})")
    limit = 1.1 * dist[0] + 0.05
    if dist[1] > limit:
        fails["a"].append(f"summed distance {dist[0]:.3f} -> {dist[1]:.3f} (limit {limit:.3f})")
    if over[1] > over[0] + 1:
        fails["a"].append(f"class-cells above 1.15 {over[0]} -> {over[1]}")
    mean_arpls = float(np.mean(arpls)) if arpls else float("nan")
    mean_dc = float(np.mean(dcs)) if dcs else float("nan")
    mean_dt = float(np.mean(dts)) if dts else float("nan")
    if not arpls or mean_arpls > -0.05:
        fails["b"].append(f"mean C2ST change over the changed coffee arpls+savgol+vector cells {mean_arpls:+.3f}")
    if not dcs or mean_dc > 0.0:
        fails["b"].append(f"mean C2ST change over the changed coffee cells {mean_dc:+.3f}")
    if not dts or mean_dt < -0.01:
        fails["c"].append(f"mean TSTR/TRTR change {mean_dt:+.3f}")
    print(f"\n{len(cells)} scored cells, {len(dts)} changed ({len(dcs)} coffee, {len(arpls)} coffee arpls): summed "
          f"distance to 0.85-1.15 over the changed cells' classes {dist[0]:.3f} -> {dist[1]:.3f} (limit {limit:.3f}); "
          f"their class-cells above 1.15 {over[0]} -> {over[1]} (limit {over[0] + 1}); mean C2ST change (floored at 0.5) "
          f"coffee arpls {mean_arpls:+.3f} (limit -0.050), coffee {mean_dc:+.3f} (limit +0.000); mean TSTR/TRTR change "
          f"{mean_dt:+.3f} (limit -0.010)")
    verdict(fails, "iabcd" if same_h else "abcd")
    pick_spaces(rows, cells, arm, base)


def hullafter_rule(paths: list[str], arm: str = "local_checked+wchk+pickauto+hullafter",
                   base: str = "local_checked+wchk+pickauto") -> None:
    """The session-19 second helper's rule for ``span = "class_after"`` (RESULTS.md, issue 16, session 19, second
    helper; the lead's LEAD_RULE.md of spec33): (i) every class's h in every cell equal to the base's (else an
    implementation error), then :func:`hull_rule`'s (a)-(d) over the changed cells, (c)'s per-cell bound
    max(base sd, 0.05) + 1e-9."""
    hull_rule(paths, arm, base, same_h=True, tstr_tol=1e-9)


def pick_rule(paths: list[str], arm: str = "local_checked+wchk+pick", base: str = "local_checked+wchk") -> None:
    """The session-17 rule for ``pick = "balanced"`` (RESULTS.md, issue 16, session 17), registered by the lead, on the
    ``run`` lines of ``paths``, over every cell scored in both arms (means over a cell's draws; spreads per class):
    (a) coffee: the summed distance of the class spreads to [0.85, 1.15] over all coffee class-cells <= 0.8 x the
    base's, and the coffee class-cells above 1.15 not more than the base's + 2; Raman: no class-cell newly outside the
    band; (b) C2ST: mean change over the coffee cells <= +0.01, no coffee cell higher by more than 0.10, no Raman cell
    (one per space) higher by more than 0.02; (c) TSTR/TRTR: mean change over all cells >= -0.01, no cell lower by more
    than max(the base's sd over its draws, 0.05); (d) DCR: no coffee cell newly below 0.9 x its left-out reference, no
    Raman cell newly below 0.9 ("newly": the base at or above, the arm below)."""
    rows, cells = paired_cells(paths, arm, base, ("samples",))
    fails, dist, over, dcs, dts, counts = defaultdict(list), [0.0, 0.0], [0, 0], [], [], defaultdict(int)
    for cell in cells:
        b, a = rows[(*cell, base)], rows[(*cell, arm)]
        name, raman = f"{cell[0]} {cell[2]} {cell[1]}", cell[0] == "raman"
        counts[cell[0]] += 1
        dc, dt = mean(a, "c2st") - mean(b, "c2st"), mean(a, "tstr/trtr") - mean(b, "tstr/trtr")
        changed = [r["sha256"] for r in b] != [r["sha256"] for r in a]
        print(f"| {name} | {kernels(b, a)} | {b[0]['ref']:.3f} | {desc(b)} | {desc(a)} | {dc:+.3f} | "
              f"{'changed' if changed else 'identical'} |")
        sb, sa = spread(b), spread(a)
        dts.append(dt)
        if raman:
            fails["a"] += [f"{name} {c} {x:.2f} -> {z:.2f}" for c, x, z in zip(b[0]["spread"], sb, sa, strict=True)
                           if 0.85 <= x <= 1.15 and not 0.85 <= z <= 1.15]
            if dc > 0.02:
                fails["b"].append(f"{name} C2ST {dc:+.3f}")
            if mean(a, "dcr") < 0.9 <= mean(b, "dcr"):
                fails["d"].append(f"{name} DCR {mean(b, 'dcr'):.3f} -> {mean(a, 'dcr'):.3f}")
        else:
            dist[0] += float(band_distance(sb).sum())
            dist[1] += float(band_distance(sa).sum())
            over[0] += int((sb > 1.15).sum())
            over[1] += int((sa > 1.15).sum())
            dcs.append(dc)
            if dc > 0.10:
                fails["b"].append(f"{name} C2ST {dc:+.3f}")
            if mean(a, "dcr") < 0.9 * b[0]["ref"] <= mean(b, "dcr"):
                fails["d"].append(f"{name} DCR {mean(b, 'dcr'):.3f} -> {mean(a, 'dcr'):.3f} (ref {b[0]['ref']:.3f})")
        if dt < -max(float(np.std([r["tstr/trtr"] for r in b])), 0.05):
            fails["c"].append(f"{name} TSTR/TRTR {dt:+.3f}")
    if not dcs:
        fails["b"].append("no coffee cell")
    if dist[1] > 0.8 * dist[0]:
        fails["a"].append(f"coffee summed distance {dist[0]:.3f} -> {dist[1]:.3f}")
    if over[1] > over[0] + 2:
        fails["a"].append(f"coffee class-cells above 1.15 {over[0]} -> {over[1]}")
    mean_dc = float(np.mean(dcs)) if dcs else 0.0
    mean_dt = float(np.mean(dts)) if dts else 0.0
    if mean_dc > 0.01:
        fails["b"].append(f"mean coffee C2ST change {mean_dc:+.3f}")
    if mean_dt < -0.01:
        fails["c"].append(f"mean TSTR/TRTR change {mean_dt:+.3f}")
    print(f"\n{counts['coffee']} coffee cells, {counts['raman']} Raman cells: coffee summed distance to 0.85-1.15 "
          f"{dist[0]:.3f} -> {dist[1]:.3f} (limit {0.8 * dist[0]:.3f}); coffee class-cells above 1.15 {over[0]} -> "
          f"{over[1]} (limit {over[0] + 2}); mean coffee C2ST change {mean_dc:+.3f}; mean TSTR/TRTR change over all "
          f"cells {mean_dt:+.3f}")
    verdict(fails, "abcd")
    pick_spaces(rows, cells, arm, base)


def pick_spaces(rows: dict, cells: list, arm: str, base: str) -> None:
    """Descriptive, after :func:`pick_rule`: per data set and space, means over its cells of C2ST (raw, and each cell's
    draw mean read as max(0.5, .)), the cells with C2ST below 0.5, DCR and the cells with DCR below 0.9 x the left-out
    reference (Raman: 0.9), and over its class-cells the summed distance to [0.85, 1.15], those below 0.85 and above
    1.15, and the median calibrated kernel width h ("base -> arm"); then the class-cells whose calibrated h the arm
    raised / lowered, and those newly above 1.15 (with, in brackets, how many of them had h raised)."""
    print(f"\n| data space (cells) | C2ST {base} -> {arm} | C2ST read as max(0.5, .) | cells C2ST < 0.5 | DCR | cells DCR < 0.9 "
          "x ref | summed distance to the band | class-cells below 0.85 | above 1.15 | median h | class-cells with h raised / "
          "lowered | newly above 1.15 (of them h raised) |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    for ds in sorted({c[:2] for c in cells}):
        cs = [c for c in cells if c[:2] == ds]
        thr = [0.9 if ds[0] == "raman" else 0.9 * rows[(*c, base)][0]["ref"] for c in cs]
        cols = [space_stats([rows[(*c, name)] for c in cs], thr) for name in (base, arm)]
        hb, ha = (np.array([rows[(*c, name)][0]["h"] for c in cs]) for name in (base, arm))
        sb, sa = (np.array([spread(rows[(*c, name)]) for c in cs]) for name in (base, arm))
        newly = (sb <= 1.15) & (sa > 1.15)
        print(f"| {ds[0]} {ds[1]} ({len(cs)}) | " + " | ".join(f"{x} -> {y}" for x, y in zip(*cols, strict=True))
              + f" | {int((ha > hb).sum())} / {int((ha < hb).sum())} | {int(newly.sum())} ({int((newly & (ha > hb)).sum())}) |")


def space_stats(cells: list[list[dict]], thr: list[float]) -> list[str]:
    """The columns of :func:`pick_spaces` for one arm's ``cells`` (each a list of draws), DCR thresholds ``thr``."""
    c2st, dcr = [mean(x, "c2st") for x in cells], [mean(x, "dcr") for x in cells]
    sp = [spread(x) for x in cells]
    return [f"{np.mean(c2st):.3f}", f"{np.mean(np.maximum(c2st, 0.5)):.3f}", str(sum(v < 0.5 for v in c2st)),
            f"{np.mean(dcr):.3f}", str(sum(v < t for v, t in zip(dcr, thr, strict=True))),
            f"{sum(float(band_distance(v).sum()) for v in sp):.3f}", str(sum(int((v < 0.85).sum()) for v in sp)),
            str(sum(int((v > 1.15).sum()) for v in sp)), f"{np.median([x[0]['h'] for x in cells]):.2f}"]


def parts(paths: list[str], arms: list[str], base: str = "local_checked") -> None:
    """Descriptive (session 14, second helper): per Raman / coffee cell complete in every arm, the base arm's C2ST /
    TSTR/TRTR / DCR (means over its draws) and each arm's changes against it with its DCR / left-out reference ("*":
    below 0.9 x the reference); then per space and pooled, each arm's mean changes, its cells with DCR below 0.9, and,
    for every arm but the last (the combined one), its share of the last arm's mean C2ST change and of its DCR cost
    (cost: max(0, -mean DCR change)), and the last arm's change against the sum of the other arms' changes."""
    rows = defaultdict(list)
    for r in _lines(paths):
        if "draw" in r:
            rows[(r["data"], r["space"], r["split"], r["arm"])].append(r)
    cells = sorted({k[:3] for k in rows if k[3] == base and all((*k[:3], a) in rows for a in arms)})
    print(f"| cell | left-out DCR ref | {base}: C2ST / TSTR/TRTR / DCR | "
          + " | ".join(f"{a}: change C2ST / TSTR/TRTR / DCR (DCR/ref)" for a in arms) + " |\n|---|---|---|"
          + "---|" * len(arms))
    ch = defaultdict(list)  # (data space, arm) -> [(dC2ST, dTSTR/TRTR, dDCR, DCR)]
    for cell in cells:
        b, ref = rows[(*cell, base)], rows[(*cell, base)][0]["ref"]
        ch[(f"{cell[0]} {cell[1]}", base)].append((mean(b, "c2st"), mean(b, "tstr/trtr"), mean(b, "dcr"), mean(b, "dcr")))
        line = f"| {cell[0]} {cell[2]} {cell[1]} | {ref:.3f} | {mean(b, 'c2st'):.3f} / {mean(b, 'tstr/trtr'):.3f} / " \
               f"{mean(b, 'dcr'):.3f} ({mean(b, 'dcr') / ref:.2f}) |"
        for a in arms:
            d = [mean(rows[(*cell, a)], k) - mean(b, k) for k in ("c2st", "tstr/trtr", "dcr")]
            dcr = mean(rows[(*cell, a)], "dcr")
            ch[(f"{cell[0]} {cell[1]}", a)].append((*d, dcr))
            line += f" {d[0]:+.3f} / {d[1]:+.3f} / {d[2]:+.3f} ({dcr / ref:.2f}{'*' if dcr < 0.9 * ref else ''}) |"
        print(line)
    spaces = sorted({f"{cell[0]} {cell[1]}" for cell in cells})
    pooled = [f"{d} pooled" for d in sorted({cell[0] for cell in cells})]
    print("\n| data space (cells) | arm | mean change C2ST / TSTR/TRTR / DCR (base: means) | cells with DCR < 0.9 | share "
          "of the combined C2ST change / DCR cost |\n|---|---|---|---|---|")
    for space in spaces + pooled:
        sel = [s for s in spaces if s.split()[0] == space.split()[0]] if space in pooled else [space]
        m = {a: np.mean([v for s in sel for v in ch[(s, a)]], axis=0) for a in [base, *arms]}
        n = sum(len(ch[(s, base)]) for s in sel)
        cost = {a: max(0.0, -float(m[a][2])) for a in arms}
        for a in [base, *arms]:
            low = sum(v[3] < 0.9 for s in sel for v in ch[(s, a)])
            share = "" if a in (base, arms[-1]) else (
                f"{m[a][0] / m[arms[-1]][0]:.2f} / " + (f"{cost[a] / cost[arms[-1]]:.2f}" if cost[arms[-1]] > 0 else "n/a"))
            sign = "" if a == base else "+"
            print(f"| {space} ({n}) | {a} | {m[a][0]:{sign}.3f} / {m[a][1]:{sign}.3f} / {m[a][2]:{sign}.3f} | {low} of {n} "
                  f"| {share} |")
        summed = sum(float(m[a][0]) for a in arms[:-1])
        if len(arms) > 2:
            print(f"| {space} ({n}) | sum of the parts vs {arms[-1]} | C2ST {summed:+.3f} vs {m[arms[-1]][0]:+.3f} | | |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("data")
    r.add_argument("spaces")
    r.add_argument("splits")
    r.add_argument("--arms", default="gaussian,local")
    r.add_argument("--draws", type=int, default=3)
    r.add_argument("--data", dest="npz", default=str(RAMAN), help="the development Raman npz")
    r.add_argument("--shape", default="full", help="generators.py's data shape of the training part, e.g. spectra-40")
    r.add_argument("--spread-draws", type=int, default=0, help="also the class spreads' means over draws S+1..S+N")
    i = sub.add_parser("identity")
    i.add_argument("data")
    i.add_argument("spaces")
    i.add_argument("splits", help="outer: the outer split's training part; S: inner split S's training part")
    i.add_argument("--arms", default="local_auto,local_checked")
    i.add_argument("--data", dest="npz", default=str(RAMAN), help="the development Raman npz")
    b = sub.add_parser("bound")
    b.add_argument("data")
    b.add_argument("spaces")
    b.add_argument("splits", help="outer: the outer split's training part; S: inner split S's training part")
    b.add_argument("--data", dest="npz", default=str(RAMAN), help="the development Raman npz")
    for name, default in (("rule", "local"), ("small-rule", "local_auto"), ("spread-rule", "local_checked+wloo"),
                          ("floor-rule", "local_checked+wchk+floor"), ("wchk-rule", "local_checked+wchk"),
                          ("span-rule", "local_checked+wchk+span"), ("pick-rule", "local_checked+wchk+pick"),
                          ("pickzero-rule", "local_checked+wchk+pickzero"), ("hull-rule", "local_checked+wchk+pickzero+hull"),
                          ("hullafter-rule", "local_checked+wchk+pickauto+hullafter")):
        s = sub.add_parser(name)
        s.add_argument("logs", nargs="+")
        s.add_argument("--arm", default=default)
        s.add_argument("--base", default="gaussian", help="the arm compared against (session 14: local_checked)")
    pa = sub.add_parser("parts")
    pa.add_argument("logs", nargs="+")
    pa.add_argument("--arms", required=True, help="the arms beside the base, the combined one last")
    pa.add_argument("--base", default="local_checked")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        run(args.data, args.spaces.split(","), [int(v) for v in args.splits.split(",")], args.arms.split(","),
            args.draws, Path(args.npz), args.shape, args.spread_draws)
    elif args.cmd == "identity":
        identity(args.data, args.spaces.split(","), args.splits.split(","), args.arms.split(","), Path(args.npz))
    elif args.cmd == "bound":
        bound(args.data, args.spaces.split(","), args.splits.split(","), Path(args.npz))
    elif args.cmd == "parts":
        parts(args.logs, args.arms.split(","), args.base)
    else:
        rules = {"rule": rule, "small-rule": small_rule, "spread-rule": spread_rule, "floor-rule": floor_rule,
                 "wchk-rule": wchk_rule, "span-rule": span_rule, "pick-rule": pick_rule,
                 "pickzero-rule": pickzero_rule, "hull-rule": hull_rule, "hullafter-rule": hullafter_rule}
        rules[args.cmd](args.logs, args.arm, args.base)


if __name__ == "__main__":
    main()
