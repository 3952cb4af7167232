"""``vaelab demo``: the whole job on the bundled coffee FTIR set, into one folder."""

from __future__ import annotations

import csv
import io
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir
from vaelab.data.io import write_data
from vaelab.datasets import COFFEE_CREDIT, coffee
from vaelab.evaluation.suite import evaluate_arrays, format_report, write_report_files
from vaelab.runs import generate, per_class_counts, train_run
from vaelab.training.trainer import stratified_split


def run_demo(out: str | Path = "demo_output", *, model: str = "seed-cvae", seed: int = 0, epochs: int | None = None,
             compare: str | None = "vaelab-cvae", progress: bool = True, log=print) -> dict[str, Any]:
    """Train ``model`` on two thirds of the coffee set, generate 1× the training counts, evaluate
    against the training part (the held-out third is the holdout), draw, and write it all to ``out``.

    With ``compare`` (default: vaelab's own generator), the same is done for that model on the
    same split into ``out/<compare>/`` (``epochs`` applies to ``model`` only), and a table of
    the main metrics of both, with their training times, is printed and written to
    ``comparison.csv``."""
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
        other = None
        if compare and compare != model:
            log(f"training {compare} on the same split, for comparison ...")
            t1 = time.perf_counter()
            sub = tmp / compare
            sub.mkdir()
            run2 = train_run(train, sub / "run", model=compare, seed=seed, progress=progress)
            t_other = time.perf_counter() - t1
            synth2 = generate(run2, per_class_counts(run2, factor=1.0), seed=seed)
            write_data(synth2, sub / "synthetic.csv")
            real2 = train.__class__(X=run2.to_model_space(train), y=train.y, groups=train.groups, axis=train.axis,
                                    layout=train.layout)
            hold2 = holdout.__class__(X=run2.to_model_space(holdout), y=holdout.y, axis=holdout.axis,
                                      layout=holdout.layout)
            other = evaluate_arrays(real2, synth2, holdout=hold2, seed=seed, diagnostics=True)
            other["model"] = compare
            write_report_files(other, real2, synth2, sub, axis=ds.axis, holdout=hold2)
            other.pop("_diagnostics", None)
            table = comparison_rows({model: (result, t_train), compare: (other, t_other)})
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["metric", model, compare, "how_to_read"])
            w.writerows([label, *(_csv(v) for v in vals), goal] for label, vals, goal in table)
            (tmp / "comparison.csv").write_text(buf.getvalue())
    log("")
    log(format_report(result))
    if other is not None:
        log("")
        log(f"side by side on the same split ({model}: the seed report's recipe; {compare}: vaelab's generator)")
        log(f"{'metric':<34}{model:>12}{compare:>14}   how to read")
        for label, vals, goal in table:
            log(f"{label:<34}{_fmt(vals[0]):>12}{_fmt(vals[1]):>14}   {goal}")
    log("")
    log(f"training {model} took {t_train:.1f} s; everything took {time.perf_counter() - t0:.1f} s")
    log(f"output: {out.resolve()}")
    for name in sorted(p.name for p in out.iterdir()):
        log(f"  {name}")
    return result


def comparison_rows(results: dict[str, tuple[dict[str, Any], float]]) -> list[tuple[str, list[Any], str]]:
    """Rows (label, one value per model, how to read) of the main metrics and the training time."""
    keys = [("c2st_auc", "C2ST AUC (random forest)", "0.5 ideal, 1 = told apart"),
            ("dcr_ratio", "DCR ratio", "~1 novel, -> 0 copies"),
            ("tstr", "TSTR balanced accuracy", "close to TRTR"),
            ("trtr", "TRTR balanced accuracy", "real-data reference"),
            ("precision", "precision", "1 ideal"),
            ("recall", "recall", "1 ideal")]
    rows = [(label, [r.get(k) for r, _ in results.values()], goal) for k, label, goal in keys]
    classes = sorted({c for r, _ in results.values() for c in r.get("diversity", {})})
    for c in classes:
        rows.append((f"spread ratio, class {c}", [r.get("diversity", {}).get(c) for r, _ in results.values()],
                     "1 ideal, <<1 collapse"))
    for name in next(iter(results.values()))[0].get("flags", {}):
        vals = [{True: "RAISED", False: "ok", None: "n/a"}[r.get("flags", {}).get(name, {}).get("raised")]
                for r, _ in results.values()]
        rows.append((f"flag {name}", vals, "ok expected"))
    rows.append(("training time, s", [round(t, 1) for _, t in results.values()], "lower is faster"))
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "nan" if not np.isfinite(v) else f"{v:.4g}"
    return str(v)


def _csv(v: Any) -> str:
    return "" if v is None else (repr(float(v)) if isinstance(v, (float, int)) and not isinstance(v, bool) else str(v))
