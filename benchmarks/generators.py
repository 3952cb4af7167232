"""Generators side by side: vaelab-cvae, seed-cvae, ppca, pythae's VAE and ctgan's TVAE.

For the bundled coffee set and the development Raman set (patient-level split), every
generator is trained on the training part in the min-max space (the seed's), asked for as
many samples per class as the training part has, and scored with the issue-3 metrics:

* ``c2st``    random forest (300 trees, z-scored with the real statistics), 5-fold ROC AUC,
              real training part vs synthetic (0.5 = indistinguishable); target <= 0.60
* ``spread``  per-class mean per-feature sd, synthetic / real training part; target 0.85..1.15
* ``tstr``    balanced accuracy of a logistic regression trained on synthetic, tested on the
              real holdout; ``trtr`` the same trained on the real training part;
              target tstr >= 0.95 trtr
* ``dcr``     median nearest-training-sample distance, synthetic / real holdout; target >= 0.9
* ``fit s``   training time inside this process (wall clock)

The ``floor`` row scores the real holdout (other patients / samples) against the training
part in the same way: how far apart two real samples of the data are. The ``left-out training
spectra`` row gives the DCR ratio that the training spectra themselves score, each left out
(``vaelab.metrics.novelty.left_out_dcr``): what a generator whose samples lie as far from the training
part as a left-out training spectrum (the kde kernel's calibration target) scores on this holdout.

Also timed, side by side: the whole ``vaelab train`` process (start-up, loading, preprocessing,
training, writing the run folder) for ``vaelab-cvae`` and the seed recipe (``seed-cvae``: 500
epochs, batch 32, the seed's loop) on the same training part.

pythae and ctgan are not vaelab dependencies (they pin other pandas versions); install them in
a separate environment that sees vaelab's::

    python3 -m venv /tmp/bench-venv
    echo "import site; site.addsitedir('$PWD/.venv/lib/python3.11/site-packages')" \\
        > /tmp/bench-venv/lib/python3.11/site-packages/zz_vaelab.pth
    /tmp/bench-venv/bin/pip install -c constraints.txt pythae ctgan

and run ``/tmp/bench-venv/bin/python benchmarks/generators.py``. With ``.venv/bin/python`` the
two are skipped with a note. Options: ``--datasets coffee,raman`` (also ``synthetic[:NOISE[:POINTS]]``, a set
whose law is known: :func:`synthetic_set`), ``--models a,b``,
``--data PATH`` (the Raman npz), ``--seed S``, ``--preprocess SPEC[,SPEC...]`` (spaces, default minmax; a model
that needs [0, 1] data, the seed CVAE, is trained outside [0, 1] spaces on per-feature min-max scaled data:
:class:`UnitScaled`), ``--shapes full,few-points,bin-points,few-spectra`` (:func:`reshape_set`), ``--vaelab-config JSON`` (overrides for
vaelab-cvae), ``--inner`` (validation protocol inside the training part: :func:`inner_split`), ``--sample-seeds N``
(N sample sets per fit, seeds seed+1..seed+N, reported as mean +- sd: one draw's TSTR/TRTR moves by several
hundredths on Raman), ``--hashes`` (each draw's sha256 under the row: which draws two configs share), ``--no-process-timing``
(process timing runs in the minmax space only); ``--ablation`` instead
scores variants of vaelab-cvae (one design choice changed at a time; no TSTR, to save time).

Splits: coffee (60 spectra, no groups) stratified 2/3 train, 1/3 holdout; Raman 2/3 of the
patients of each class train, 1/3 holdout (no patient on both sides).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vaelab.data.preprocess import Preprocessing
from vaelab.metrics.distribution import c2st
from vaelab.metrics.diversity import spread_ratio
from vaelab.metrics.novelty import dcr, left_out_dcr
from vaelab.metrics.utility import trtr, tstr

RAMAN = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raman_saliva_covid.npz"
MODELS = ["vaelab-cvae", "seed-cvae", "ppca", "pythae-vae", "ctgan-tvae"]
# one design choice of vaelab-cvae changed at a time (see the module docstring of vaelab_cvae)
ABLATION = {
    "default": {},
    "all features in the VAE (components=0)": {"components": 0},
    "independent noise (noise=decoder)": {"noise": "decoder"},
    "residual covariance low rank + diagonal (texture_cov=lowrank)": {"texture_cov": "lowrank"},
    "no noise, means only (noise=none)": {"noise": "none"},
    "residuals whitened by decoder sd": {"whiten": "decoder"},
    "leave-one-out noise level (level=loo)": {"level": "loo"},
    "kernel on the posterior mean (kde_centre=mean)": {"kde_centre": "mean"},
    "one training residual, not a Gaussian combination (texture_draw=bootstrap)": {"texture_draw": "bootstrap"},
    "one class-wide residual Gaussian, not the neighbourhood's (texture_draw=gaussian)": {"texture_draw": "gaussian"},
    "latent N(0, I) (prior=standard)": {"prior": "standard"},
    "latent aggregate posterior, no kernel": {"prior": "aggregate"},
    "latent Gaussian mixture (prior=gmm)": {"prior": "gmm"},
    "random init (init=random)": {"init": "random"},
    "beta = 1": {"beta": 1.0},
    "no early stopping (300 epochs)": {"patience": None},
}


# ---------------------------------------------------------------------------- data
def split_by_group(y: np.ndarray, groups: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """2/3 of the groups of every class train, 1/3 holdout."""
    rng = np.random.default_rng(seed)
    tr, ho = [], []
    for c in np.unique(y):
        g = np.unique(groups[y == c])
        rng.shuffle(g)
        k = int(round(len(g) / 3))
        ho.append(np.flatnonzero((y == c) & np.isin(groups, g[:k])))
        tr.append(np.flatnonzero((y == c) & np.isin(groups, g[k:])))
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(ho))


def inner_split(s: dict, seed: int) -> dict:
    """The validation protocol: the training part split again by groups (:func:`split_by_group`, seed + 100);
    its held-out third takes the place of the holdout, which is dropped."""
    tr, va = split_by_group(s["y"], s["groups"], seed + 100)
    return {"X_raw": s["X_raw"][tr], "y": s["y"][tr], "groups": s["groups"][tr],
            "X_raw_ho": s["X_raw"][va], "y_ho": s["y"][va]}


def synthetic_set(n_per: int = 150, points: int = 230, noise: float = 0.002, seed: int = 0, classes: int = 3,
                  bands: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """A set of FTIR-like spectra whose law is known (for experiments, not a benchmark of record).

    ``bands`` Gaussian bands at fixed positions and widths (sd 0.004-0.03 of the axis [0, 1]) whose
    log-amplitudes have a class effect (sd 0.25) and a per-spectrum part (sd 0.3); band positions jitter
    (sd 0.002); a baseline (offset 0.2 +- 0.05, slope sd 0.05) and an intensity factor (log sd 0.2);
    white noise of sd ``noise`` x the spectrum's maximum. The same curves can be drawn at any
    ``points`` (a finer or coarser grid of one instrument), so the number of points and the noise
    are set independently. The law (positions, widths, class effects) is fixed; ``seed`` draws the
    spectra. Returns X (classes x n_per, points) and y (str)."""
    law = np.random.default_rng(12345)
    pos, wid = np.sort(law.uniform(0.05, 0.95, bands)), law.uniform(0.004, 0.03, bands)
    base, effect = law.lognormal(0, 0.6, bands), law.normal(0, 0.25, (classes, bands))
    rng, t = np.random.default_rng(seed), np.linspace(0, 1, points)
    X, y = [], []
    for c in range(classes):
        for _ in range(n_per):
            amp = base * np.exp(effect[c] + rng.normal(0, 0.3, bands))
            p = pos + rng.normal(0, 0.002, bands)
            curve = (amp[:, None] * np.exp(-0.5 * ((t[None] - p[:, None]) / wid[:, None]) ** 2)).sum(axis=0)
            curve = (curve + rng.normal(0.2, 0.05) + rng.normal(0, 0.05) * t) * rng.lognormal(0, 0.2)
            X.append(curve + rng.normal(0, noise * curve.max(), points))
            y.append(f"c{c}")
    return np.asarray(X), np.asarray(y)


def load_sets(names: list[str], raman_path: Path, seed: int) -> dict[str, dict]:
    """The named sets, split (:func:`split_by_group`): ``coffee``, ``raman`` (``raman_path``) and
    ``synthetic[:NOISE[:POINTS]]`` (:func:`synthetic_set`, 150 spectra per class, default 0.002 and 230;
    its spectra drawn with ``seed``)."""
    from vaelab.datasets import coffee

    out = {}
    for name in names:
        if name.startswith("synthetic"):
            opts = name.split(":")[1:]
            X, y = synthetic_set(noise=float(opts[0]) if opts else 0.002, points=int(opts[1]) if len(opts) > 1 else 230,
                                 seed=seed)
            groups = np.arange(len(y)).astype(str)
        elif name == "coffee":
            ds = coffee()
            X, y = np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y).astype(str)
            groups = np.arange(len(y)).astype(str)  # no groups: every spectrum its own
        elif name == "raman":
            if not raman_path.is_file():
                print(f"note: {raman_path} not found; Raman set skipped")
                continue
            d = np.load(raman_path, allow_pickle=False)
            X, y, groups = d["X"].astype(np.float64), d["y"].astype(str), d["groups"].astype(str)
        else:
            raise SystemExit(f"unknown data set {name!r}")
        tr, ho = split_by_group(y, groups, seed)
        out[name] = {"X_raw": X[tr], "y": y[tr], "X_raw_ho": X[ho], "y_ho": y[ho], "groups": groups[tr]}
    return out


# ---------------------------------------------------------------------------- external generators
@contextlib.contextmanager
def _quiet():
    """Silence a library's console output (its loggers and progress bars) for the duration."""
    import logging

    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in
               ("pythae", "ctgan", "rdt")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


class PerClass:
    """One unconditional generator per class (how pythae's VAE / ctgan's TVAE give class labels)."""

    def __init__(self, fit_one, sample_one):
        self.fit_one, self.sample_one, self.models = fit_one, sample_one, {}

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> PerClass:
        self.models = {c: self.fit_one(X[y == c], seed + i) for i, c in enumerate(np.unique(y))}
        return self

    def sample(self, counts: dict, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        Xs, ys = [], []
        for i, (c, n) in enumerate(counts.items()):
            Xs.append(self.sample_one(self.models[c], n, seed + i))
            ys += [c] * n
        return np.vstack(Xs), np.asarray(ys)


def pythae_vae() -> PerClass:
    """pythae's VAE with its default MLP networks (sigmoid output, MSE loss), latent 16, 100 epochs."""
    import torch
    from pythae.models import VAE, VAEConfig
    from pythae.pipelines import TrainingPipeline
    from pythae.samplers import NormalSampler
    from pythae.trainers import BaseTrainerConfig

    tmp = tempfile.mkdtemp(prefix="pythae-")

    def fit_one(X, seed):
        torch.manual_seed(seed)
        model = VAE(VAEConfig(input_dim=(X.shape[1],), latent_dim=16, reconstruction_loss="mse"))
        cfg = BaseTrainerConfig(output_dir=tmp, num_epochs=100, learning_rate=1e-3, per_device_train_batch_size=64,
                                per_device_eval_batch_size=64, seed=seed, no_cuda=True)
        with _quiet():  # pythae logs every epoch to stdout and draws progress bars
            TrainingPipeline(model=model, training_config=cfg)(train_data=X.astype(np.float32))
        return model

    def sample_one(model, n, seed):
        torch.manual_seed(seed)
        model.eval()
        with torch.no_grad():
            return NormalSampler(model).sample(num_samples=n).reshape(n, -1).cpu().numpy().astype(np.float64)

    return PerClass(fit_one, sample_one)


def ctgan_tvae() -> PerClass:
    """ctgan's TVAE with its defaults (300 epochs, batch 500), one per class."""
    import pandas as pd
    import torch
    from ctgan import TVAE

    def fit_one(X, seed):
        torch.manual_seed(seed)
        np.random.seed(seed)
        m = TVAE(enable_gpu=False)
        m.fit(pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]))
        return m

    def sample_one(model, n, seed):
        model.set_random_state(seed)
        return model.sample(n).to_numpy(dtype=np.float64)

    return PerClass(fit_one, sample_one)


class UnitScaled:
    """A generator that needs data in [0, 1] (the seed CVAE: sigmoid + BCE), used in another space: every
    feature min-max scaled to [0, 1] with the training part's range, samples mapped back."""

    def __init__(self, inner):
        self.inner = inner

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> UnitScaled:
        self.lo, hi = X.min(axis=0), X.max(axis=0)
        self.rng = np.where(hi > self.lo, hi - self.lo, 1.0)
        self.inner.fit((X - self.lo) / self.rng, y, seed=seed)
        return self

    def sample(self, counts: dict, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        S, ys = self.inner.sample(counts, seed=seed)
        return np.asarray(S) * self.rng + self.lo, ys


def make(name: str, **config):
    if name == "pythae-vae":
        return pythae_vae()
    if name == "ctgan-tvae":
        return ctgan_tvae()
    from vaelab.models import get_model

    g = get_model(name, **config)
    if hasattr(g, "progress"):
        g.progress = False
    return g


def make_for(name: str, X: np.ndarray, **config):
    """``make(name, **config)``, wrapped in :class:`UnitScaled` when the model needs [0, 1] data and ``X`` is not."""
    g = make(name, **config)
    if getattr(g, "needs_unit_interval", False) and (X.min() < 0 or X.max() > 1):
        return UnitScaled(g)
    return g


# ---------------------------------------------------------------------------- data shapes
def reshape_set(s: dict, shape: str, seed: int) -> dict:
    """The training/holdout parts in another data shape (the same split):

    ``full``         as loaded;
    ``few-points``   every k-th point of the raw spectra, k = the smallest giving <= 250 points;
    ``bin-points``   the mean of k adjacent raw points instead (a coarser grid: noise per point / sqrt(k));
    ``few-spectra``  at most 40 training spectra per class (whole groups, drawn at random), holdout kept;
    ``spectra-N``    the same with at most N per class;
    ``A+B``          shape A, then shape B (e.g. ``few-points+spectra-100``).
    """
    if "+" in shape:
        for part in shape.split("+"):
            s = reshape_set(s, part, seed)
        return s
    if shape == "full":
        return s
    out = dict(s)
    if shape.startswith("spectra-") and shape[8:].isdigit():
        return _few_spectra(s, int(shape[8:]), seed)
    if shape == "few-points":
        k = -(-s["X_raw"].shape[1] // 250)
        out["X_raw"], out["X_raw_ho"] = s["X_raw"][:, ::k], s["X_raw_ho"][:, ::k]
        return out
    if shape == "bin-points":
        k = -(-s["X_raw"].shape[1] // 250)
        m = s["X_raw"].shape[1] // k * k
        for key in ("X_raw", "X_raw_ho"):
            out[key] = s[key][:, :m].reshape(len(s[key]), m // k, k).mean(axis=2)
        return out
    if shape == "few-spectra":
        return _few_spectra(s, 40, seed)
    raise SystemExit(f"unknown data shape {shape!r}")


def _few_spectra(s: dict, per_class: int, seed: int) -> dict:
    """At most ``per_class`` training spectra per class (whole groups, drawn at random), holdout kept."""
    rng = np.random.default_rng(seed + 17)
    keep = []
    for c in np.unique(s["y"]):
        idx = np.flatnonzero(s["y"] == c)
        groups = rng.permutation(np.unique(s["groups"][idx]))
        chosen: list[int] = []
        for g in groups:  # whole groups until per_class spectra
            if len(chosen) >= per_class:
                break
            chosen += np.flatnonzero((s["y"] == c) & (s["groups"] == g)).tolist()
        keep += chosen[:per_class]
    keep = np.sort(np.asarray(keep))
    return {**s, "X_raw": s["X_raw"][keep], "y": s["y"][keep], "groups": s["groups"][keep]}


def available(name: str) -> str | None:
    """None if usable, else why not."""
    mod = {"pythae-vae": "pythae", "ctgan-tvae": "ctgan"}.get(name)
    if mod is None:
        return None
    try:
        __import__(mod)
    except ImportError:
        return f"{mod} is not installed (see the module docstring); skipped"
    return None


# ---------------------------------------------------------------------------- scoring
def score(real, y_real, holdout, y_ho, synth, y_syn, seed: int) -> dict:
    sr = spread_ratio(real, synth, y_real, y_syn)
    t, r = tstr(synth, y_syn, holdout, y_ho, seed=seed), trtr(real, y_real, holdout, y_ho, seed=seed)
    return {"c2st": c2st(real, synth, seed=seed), "spread": sr, "tstr": t, "trtr": r, "tstr/trtr": t / r,
            "dcr": dcr(synth, real, holdout)["dcr_ratio"]}


def fmt_row(name: str, m: dict, fit_s: float | None, utility: bool = True) -> str:
    spread = " ".join(f"{v:.2f}" for v in m["spread"].values())
    fit = "" if fit_s is None else f"{fit_s:.1f}"
    util = f"{m['tstr']:.3f} | {m['trtr']:.3f} | {m['tstr/trtr']:.3f}" if utility else "- | - | -"
    return f"| {name} | {m['c2st']:.3f} | {spread} | {util} | {m['dcr']:.3f} | {fit} |"


def mean_sd(scores: list[dict]) -> dict:
    """The :func:`score` dicts of several sampling seeds of one fit, as (mean, sd) pairs: ``c2st``, ``tstr``,
    ``trtr``, ``tstr/trtr``, ``dcr``, and ``spread`` per class (sd with ddof 1; 0 for a single draw)."""
    def pair(v: list[float]) -> tuple[float, float]:
        return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    out = {k: pair([m[k] for m in scores]) for k in ("c2st", "tstr", "trtr", "tstr/trtr", "dcr")}
    out["spread"] = {c: pair([m["spread"][c] for m in scores]) for c in scores[0]["spread"]}
    return out


def fmt_row_mean_sd(name: str, m: dict, fit_s: float | None) -> str:
    """A row of :func:`mean_sd` (mean +- sd over sampling seeds; the spread as means)."""
    def f(key: str) -> str:
        return f"{m[key][0]:.3f} +- {m[key][1]:.3f}"

    spread = " ".join(f"{v[0]:.2f}" for v in m["spread"].values())
    fit = "" if fit_s is None else f"{fit_s:.1f}"
    return f"| {name} | {f('c2st')} | {spread} | {f('tstr')} | {m['trtr'][0]:.3f} | {f('tstr/trtr')} | {f('dcr')} | {fit} |"


def process_time(X_raw, y, model: str, workdir: Path, preprocess: str = "minmax") -> float:
    """Wall-clock seconds of a whole ``vaelab train`` process (python start-up included)."""
    data = workdir / "train.npz"
    if not data.exists():
        np.savez(data, X=X_raw, y=y)
    out = workdir / f"run-{model}"
    env = dict(os.environ)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vaelab", "train", str(data), "--model", model, "--preprocess", preprocess,
                    "--seed", "0", "--quiet", "--out", str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def ablation(sets: dict[str, dict], seed: int) -> None:
    from vaelab.metrics.novelty import dcr as dcr_fn
    from vaelab.models.vaelab_cvae import VaelabCVAE

    for name, s in sets.items():
        pre = Preprocessing.from_spec("minmax")
        X, y = pre.fit_transform(s["X_raw"]), s["y"]
        Xh = pre.transform(s["X_raw_ho"])
        classes, n_per = np.unique(y, return_counts=True)
        counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
        print(f"\n## vaelab-cvae ablation on {name} (minmax space, seed {seed})\n")
        print(f"| variant | C2ST AUC | spread ratio ({' / '.join(map(str, classes))}) | DCR ratio | epochs | fit s |")
        print("|---|---|---|---|---|---|")
        for label, cfg in ABLATION.items():
            g = VaelabCVAE(**cfg)
            g.progress = False
            t = time.perf_counter()
            g.fit(X, y, seed=seed)
            fit_s = time.perf_counter() - t
            S, ys = g.sample(counts, seed=seed + 1)
            spread = " ".join(f"{v:.2f}" for v in spread_ratio(X, S, y, ys).values())
            print(f"| {label} | {c2st(X, S, seed=seed):.3f} | {spread} | {dcr_fn(S, X, Xh)['dcr_ratio']:.3f} | "
                  f"{len(g.history_)} | {fit_s:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="coffee,raman")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--data", default=str(RAMAN), help="the development Raman npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-process-timing", action="store_true")
    ap.add_argument("--preprocess", default="minmax",
                    help="the space(s) generators are trained and scored in, comma-separated "
                         "(default: minmax, the seed's)")
    ap.add_argument("--shapes", default="full", help="data shapes, comma-separated: full, few-points, few-spectra")
    ap.add_argument("--ablation", action="store_true", help="score variants of vaelab-cvae instead")
    ap.add_argument("--vaelab-config", default="{}", help="JSON config overrides for vaelab-cvae")
    ap.add_argument("--sample-seeds", type=int, default=1,
                    help="draw N sample sets per fit (seeds seed+1..seed+N) and report mean +- sd of C2ST, TSTR and "
                         "DCR (spread: means); 1 (default): the single draw of seed+1")
    ap.add_argument("--hashes", action="store_true",
                    help="print the sha256 (first 16 hex digits) of each draw's samples under the model's row")
    ap.add_argument("--inner", action="store_true",
                    help="validation protocol: split the training part again by groups (2/3 : 1/3) and score on "
                         "its held-out third; the real holdout is not read")
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    overrides = json.loads(args.vaelab_config)
    sets = load_sets([s for s in args.datasets.split(",") if s], Path(args.data), args.seed)
    if args.inner:
        sets = {name: inner_split(s, args.seed) for name, s in sets.items()}
    if args.ablation:
        ablation(sets, args.seed)
        return
    for (name, s0), space, shape in itertools.product(sets.items(), args.preprocess.split(","), args.shapes.split(",")):
        s = reshape_set(s0, shape, args.seed)
        pre = Preprocessing.from_spec(space)
        X, y = pre.fit_transform(s["X_raw"]), s["y"]
        Xh, yh = pre.transform(s["X_raw_ho"]), s["y_ho"]
        classes, n_per = np.unique(y, return_counts=True)
        counts = dict(zip(classes.tolist(), n_per.tolist(), strict=True))
        print(f"\n## {name} ({shape}): train {len(X)} spectra ({counts}), holdout {len(Xh)}, {X.shape[1]} features, "
              f"{space} space, seed {args.seed}\n")
        print(f"| generator | C2ST AUC | spread ratio ({' / '.join(map(str, classes))}) | TSTR | TRTR | TSTR/TRTR "
              f"| DCR ratio | fit s |")
        print("|---|---|---|---|---|---|---|---|")
        # the holdout scored as if it were synthetic (its TSTR would test on itself: not shown)
        print(fmt_row("floor: real holdout", score(X, y, Xh, yh, Xh, yh, args.seed), None, utility=False), flush=True)
        print(f"| left-out training spectra | - | - | - | - | - | {left_out_dcr(X, Xh):.3f} | |", flush=True)
        for model in models:
            why = available(model)
            if why:
                print(f"| {model} | {why} |", flush=True)
                continue
            g = make_for(model, X, **(overrides if model == "vaelab-cvae" else {}))
            t = time.perf_counter()
            g.fit(X, y, seed=args.seed)
            fit_s = time.perf_counter() - t
            runs, hashes = [], []
            for i in range(max(args.sample_seeds, 1)):
                S, ys = g.sample(counts, seed=args.seed + 1 + i)
                runs.append(score(X, y, Xh, yh, S, np.asarray(ys).astype(str), args.seed))
                hashes.append(hashlib.sha256(np.ascontiguousarray(S, dtype=np.float64).tobytes()).hexdigest())
            row = fmt_row(model, runs[0], fit_s) if len(runs) == 1 else fmt_row_mean_sd(model, mean_sd(runs), fit_s)
            print(row, flush=True)
            if args.hashes:
                print(f"| {model}: sha256 of the draws | {' '.join(h[:16] for h in hashes)} |", flush=True)
        if not args.no_process_timing and space == "minmax":
            with tempfile.TemporaryDirectory() as tmp:
                times = {m: process_time(s["X_raw"], y, m, Path(tmp), space)
                         for m in ("vaelab-cvae", "seed-cvae")}
            print(f"\nwhole `vaelab train` process on the training part: vaelab-cvae {times['vaelab-cvae']:.1f} s, "
                  f"seed-cvae (500 epochs, batch 32) {times['seed-cvae']:.1f} s, "
                  f"speed-up {times['seed-cvae'] / times['vaelab-cvae']:.1f}x", flush=True)


if __name__ == "__main__":
    main()
