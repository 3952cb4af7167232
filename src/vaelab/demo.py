"""``vaelab demo``: the whole job on the bundled coffee FTIR set, into one folder."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_dir
from .data.io import write_data
from .datasets import COFFEE_CREDIT, coffee
from .evaluation import evaluate_arrays, format_report, write_report_files
from .runs import generate, per_class_counts, train_run
from .train import stratified_split


def run_demo(out: str | Path = "demo_output", *, model: str = "seed-cvae", seed: int = 0, epochs: int | None = None,
             progress: bool = True, log=print) -> dict[str, Any]:
    """Train ``model`` on two thirds of the coffee set, generate 1× the training counts, evaluate
    against the training part (the held-out third is the holdout), draw, and write it all to ``out``."""
    t0 = time.perf_counter()
    ds = coffee()
    log(f"data: {COFFEE_CREDIT}")
    codes = np.unique(np.asarray(ds.y, dtype=str), return_inverse=True)[1]
    tr, ho = stratified_split(codes, 1 / 3, seed)
    train, holdout = ds.subset(tr), ds.subset(ho)
    log(f"split: {train.n} training spectra, {holdout.n} held out (stratified by origin), {ds.X.shape[1]} points each")
    out = Path(out)
    with atomic_dir(out) as tmp:
        config = {} if epochs is None else {"epochs": int(epochs)}
        run = train_run(train, tmp / "run", model=model, seed=seed, config=config, progress=progress)
        t_train = time.perf_counter() - t0
        synth = generate(run, per_class_counts(run, factor=1.0), seed=seed)
        write_data(synth, tmp / "synthetic.csv")
        real_m = train.__class__(X=run.to_model_space(train), y=train.y, groups=train.groups, axis=train.axis,
                                 layout=train.layout)
        hold_m = holdout.__class__(X=run.to_model_space(holdout), y=holdout.y, axis=holdout.axis, layout=holdout.layout)
        log("evaluating (two-sample tests, diversity, novelty, utility) ...")
        result = evaluate_arrays(real_m, synth, holdout=hold_m, seed=seed, diagnostics=True)
        result["model"] = model
        write_report_files(result, real_m, synth, tmp, axis=ds.axis, holdout=hold_m)
        result.pop("_diagnostics", None)
        if (tmp / "run" / "loss.png").exists():
            shutil.copyfile(tmp / "run" / "loss.png", tmp / "loss.png")
    log("")
    log(format_report(result))
    log("")
    log(f"training took {t_train:.1f} s; everything took {time.perf_counter() - t0:.1f} s")
    log(f"output: {out.resolve()}")
    for name in sorted(p.name for p in out.iterdir()):
        log(f"  {name}")
    return result
