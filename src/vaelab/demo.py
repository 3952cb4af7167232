"""``vaelab demo``: the whole job on the bundled coffee FTIR set, into one folder."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir, write_text
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.data.io import write_data
from vaelab.datasets import COFFEE_CREDIT, coffee
from vaelab.evaluation.suite import evaluate_arrays, write_report_files
from vaelab.reporting.report import write_report_html
from vaelab.reporting.tables import comparison_csv, comparison_rows, comparison_table, format_report
from vaelab.runs import generate, per_class_counts, train_run
from vaelab.training.trainer import stratified_split


def _other_part(part: str, tmp: Path, *, seed: int, epochs: int | None, progress: bool, log) -> dict[str, Any]:
    """The image or audio part of the demo, into ``tmp/images`` or ``tmp/audio``."""
    if part == "images":
        from vaelab.modalities.image.demo import run_image_demo

        return run_image_demo(tmp / "images", seed=seed, epochs=epochs, progress=progress, log=log)
    from vaelab.modalities.audio.demo import run_audio_demo

    return run_audio_demo(tmp / "audio", seed=seed, epochs=epochs, progress=progress, log=log)


def run_demo(out: str | Path = "demo_output", *, model: str = "seed-cvae", seed: int = 0, epochs: int | None = None,
             compare: str | None = "vaelab-cvae", progress: bool = True, log=print,
             part: str = "all", command_line: str | None = None) -> dict[str, Any]:
    """Train ``model`` on two thirds of the coffee set, generate 1× the training counts, evaluate
    against the training part (the held-out third is the holdout), draw, and write it all to ``out``.

    With ``compare`` (default: vaelab's own generator), the same is done for that model on the
    same split into ``out/<compare>/`` (``epochs`` applies to ``model`` only), and a table of
    the main metrics of both, with their training times, is printed and written to
    ``comparison.csv``. ``report.html`` shows it all on one page (``command_line`` in its header),
    the image and audio parts included.

    ``part``: ``all`` (default), ``spectra``, ``images`` or ``audio``; the image part (scikit-learn's 8x8
    digits, :mod:`vaelab.modalities.image.demo`) goes to ``out/images/``, the audio part (synthesised tones,
    chirps and noise bursts, :mod:`vaelab.modalities.audio.demo`) to ``out/audio/``."""
    if part not in ("all", "spectra", "images", "audio"):
        raise InputError(f"unknown demo part {part!r}; choose all, spectra, images or audio")
    if part in ("images", "audio"):
        with atomic_dir(Path(out)) as tmp:
            res = _other_part(part, tmp, seed=seed, epochs=epochs, progress=progress, log=log)
            write_report_html(tmp, name=out)
        log(f"output: {Path(out).resolve()}")
        log(f"report: {(Path(out) / 'report.html').resolve()}")
        return res
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
        about = _provenance(train, command_line)
        result, t_train = _train_and_evaluate(train, holdout, tmp, model, seed=seed, config=config,
                                              progress=progress, axis=ds.axis, log=log,
                                              extra={"command": "demo", "compare": compare if compare != model
                                                     else None, **about})
        if (tmp / "run" / "loss.png").exists():
            shutil.copyfile(tmp / "run" / "loss.png", tmp / "loss.png")
        other = None
        if compare and compare != model:
            log(f"training {compare} on the same split, for comparison ...")
            (tmp / compare).mkdir()
            other, t_other = _train_and_evaluate(train, holdout, tmp / compare, compare, seed=seed, config={},
                                                 progress=progress, axis=ds.axis, extra=about)
            table = comparison_rows({model: (result, t_train), compare: (other, t_other)})
            write_text(tmp / "comparison.csv", comparison_csv([model, compare], table))
        if part == "all":
            log("")
            log("image part: scikit-learn's 8x8 digits -> images/")
            _other_part("images", tmp, seed=seed, epochs=epochs, progress=progress, log=log)
            log("")
            log("audio part: synthesised tones, chirps and noise bursts -> audio/")
            _other_part("audio", tmp, seed=seed, epochs=epochs, progress=progress, log=log)
        write_report_html(tmp, name=out)  # after the image and audio parts: the page shows them
    log("")
    log(format_report(result))
    if other is not None:
        log("")
        log(f"side by side on the same split ({model}: the seed report's recipe; {compare}: vaelab's generator)")
        log(comparison_table([model, compare], table))
    log("")
    log(f"training {model} took {t_train:.1f} s; everything took {time.perf_counter() - t0:.1f} s")
    log(f"output: {out.resolve()}")
    for name in sorted(p.name for p in out.iterdir()):
        log(f"  {name}")
    log(f"report: {(out / 'report.html').resolve()}")
    return result


def _train_and_evaluate(train: Dataset, holdout: Dataset, folder: Path, model: str, *, seed: int,
                        config: dict[str, Any], progress: bool, axis: Any, log=None,
                        extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], float]:
    """Train ``model`` into ``folder/run``, write ``folder/synthetic.csv`` (1× the training counts) and the
    evaluation files into ``folder``; returns the ``metrics.json`` dict (with ``model``, the run's
    ``preprocess`` and ``extra``) and the training time."""
    t0 = time.perf_counter()
    run = train_run(train, folder / "run", model=model, seed=seed, config=config, progress=progress)
    t_train = time.perf_counter() - t0
    synth = generate(run, per_class_counts(run, factor=1.0), seed=seed)
    write_data(synth, folder / "synthetic.csv")
    real_m = replace(train, X=run.to_model_space(train))
    hold_m = replace(holdout, X=run.to_model_space(holdout), groups=None)
    if log is not None:
        log("evaluating (two-sample tests, diversity, novelty, utility) ...")
    result = evaluate_arrays(real_m, synth, holdout=hold_m, seed=seed, diagnostics=True)
    result["model"] = model
    result.update(extra or {}, preprocess=run.preprocessing.spec)
    write_report_files(result, real_m, synth, folder, axis=axis, holdout=hold_m)
    result.pop("_diagnostics", None)
    return result, t_train


def _provenance(train: Dataset, command_line: str | None) -> dict[str, Any]:
    """What the report's header shows besides the model: training data, version, command line."""
    from vaelab import __version__
    from vaelab.data.dataset import data_summary

    return {"vaelab_version": __version__, "command_line": command_line, "data": data_summary(train)}
