"""The ``vaelab`` command line: parse arguments, call the library, print. No logic of its own.

Errors the user can fix print one line (``vaelab: error: ...``) on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vaelab import __version__
from vaelab.core.errors import InputError, VaelabError


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--label-column", default=None, help="label column: header name or 0-based index (default: first column)")
    p.add_argument("--group-column", default=None, help="group column (e.g. patient id): header name or index")


def _load(path: str, args: argparse.Namespace | None = None):
    from vaelab.data.io import load_data

    return load_data(path, label_column=getattr(args, "label_column", None), group_column=getattr(args, "group_column", None))


def _read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such config file")
    try:
        return tomllib.loads(p.read_text())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{p}: not valid TOML ({e})") from None


def cmd_train(args: argparse.Namespace) -> int:
    from vaelab.models import data_kind, default_model
    from vaelab.runs import train_run

    cfg = _read_toml(args.config) if args.config else {}
    ds = _load(args.data, args)
    model = args.model or cfg.pop("model", None) or default_model(data_kind(ds))
    preprocess = args.preprocess or cfg.pop("preprocess", None)
    seed = args.seed if args.seed is not None else int(cfg.pop("seed", 0))
    cfg.pop("model", None), cfg.pop("preprocess", None), cfg.pop("seed", None)
    overrides = dict(cfg.pop(model, {})) if isinstance(cfg.get(model), dict) else {}
    overrides.update({k: v for k, v in cfg.items() if not isinstance(v, dict)})
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    run = train_run(ds, args.out, model=model, preprocess=preprocess, seed=seed, config=overrides,
                    progress=not args.quiet, resume=args.resume, checkpoint_every=args.checkpoint_every,
                    device=args.device)
    counts = ", ".join(f"{k}: {v}" for k, v in run.class_counts.items())
    print(f"trained {model} on {ds.n} samples ({counts}); preprocessing {run.preprocessing.spec}")
    hist = getattr(run.generator, "history_", None)
    if hist:
        print(f"final loss per sample {hist[-1]['loss']:.5g} after {len(hist)} epochs")
    print(f"run folder: {args.out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from vaelab.data.io import write_data
    from vaelab.runs import generate, load_run, per_class_counts

    run = load_run(args.run)
    counts = per_class_counts(run, per_class=args.per_class, factor=args.factor)
    synth = generate(run, counts, seed=args.seed)
    write_data(synth, args.out)
    print(f"wrote {synth.n} synthetic samples ({', '.join(f'{k}: {v}' for k, v in counts.items())}) to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vaelab.evaluation.suite import evaluate_files

    result = evaluate_files(args.real, args.synthetic, holdout=args.holdout, run=args.run, out=args.out,
                            seed=args.seed, label_column=args.label_column, group_column=args.group_column)
    from vaelab.evaluation.suite import format_report

    print(format_report(result))
    print(f"\nwrote {args.out}/metrics.json and figures")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from vaelab.demo import run_demo
    from vaelab.models import get_model

    compare = None if args.compare in ("", "none") else args.compare
    if compare is not None:
        get_model(compare)  # an unknown name: one-line error before anything is trained
    run_demo(args.out, seed=args.seed, epochs=args.epochs, compare=compare, progress=not args.quiet)
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from vaelab.experiments.ablation import ablation_table, run_ablation, write_ablation

    ds = _load(args.data, args)
    result = run_ablation(ds, args.models, seeds=args.seeds, folds=args.folds, preprocess=args.preprocess,
                          epochs=args.epochs, c2st_trees=args.c2st_trees, mmd_permutations=args.mmd_permutations,
                          jobs=args.jobs, backend=args.backend, address=args.address, progress=not args.quiet)
    write_ablation(result, args.out)
    print(ablation_table(result))
    _warn_failures(result)
    print(f"\nwrote {args.out}/ablation.json, ablation.csv, ablation.txt, ablation.png")
    return 0


def cmd_augment(args: argparse.Namespace) -> int:
    from vaelab.experiments.augment import augment_table, run_augment, write_augment

    ds = _load(args.data, args)
    result = run_augment(ds, model=args.model, factors=args.factors, classifiers=args.classifiers,
                         folds=args.folds, seeds=args.seeds, preprocess=args.preprocess, classical=args.classical,
                         classical_factors=args.classical_factors, epochs=args.epochs, trees=args.trees,
                         alpha=args.alpha, jobs=args.jobs, backend=args.backend, address=args.address,
                         progress=not args.quiet)
    write_augment(result, args.out)
    print(augment_table(result))
    _warn_failures(result)
    print(f"\nwrote {args.out}/augment.json, augment.csv, augment.txt, augment.png")
    return 0


def _warn_failures(result: dict[str, Any]) -> None:
    if result["failures"]:
        first = result["failures"][0]["error"]
        print(f"vaelab: warning: {result['n_failed_cells']} of {result['n_cells']} cells failed, "
              f"{len(result['failures'])} failure(s) in all (first: {first}); listed under 'failures'",
              file=sys.stderr)


def _add_runner_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folds", type=int, default=5, help="K of the (group-aware, stratified) K-fold (default 5)")
    p.add_argument("--seeds", type=int, default=2,
                   help="repeats with seeds 0..N-1, each a new partition (default 2: 5 × 2 = 10 paired values)")
    p.add_argument("--preprocess", default=None, help="one preprocessing for all generators (default: the model's)")
    p.add_argument("--epochs", type=int, default=None, help="override the epochs of torch models")
    p.add_argument("--jobs", type=int, default=1, help="parallel cells (local processes or Ray CPUs; default 1)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local processes (default) or Ray tasks (pip install 'vaelab[ray]')")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, metavar="DIR")


def _add_experiment_parsers(sub: Any) -> None:
    from vaelab.experiments import DEFAULT_CLASSIFIERS, DEFAULT_FACTORS
    from vaelab.models import DEFAULT_MODEL

    a = sub.add_parser("ablate", help="compare generators over seeds × group-aware folds; write ablation.json")
    a.add_argument("data", metavar="DATA", help="csv / tsv / xlsx table or npz")
    _add_data_args(a)
    a.add_argument("--models", required=True, metavar="A,B,...", help="generators; the first is the reference")
    a.add_argument("--c2st-trees", type=int, default=300, help="trees of the C2ST random forest (default 300)")
    a.add_argument("--mmd-permutations", type=int, default=200, help="MMD permutation-test size (default 200)")
    _add_runner_args(a)
    a.set_defaults(func=cmd_ablate)

    u = sub.add_parser("augment", help="does synthetic augmentation help a classifier? write augment.json")
    u.add_argument("data", metavar="DATA", help="csv / tsv / xlsx table or npz")
    _add_data_args(u)
    u.add_argument("--model", default=None, help=f"the generator studied (default {DEFAULT_MODEL})")
    u.add_argument("--factors", default=DEFAULT_FACTORS, help=f"synthetic = factor × class counts (default {DEFAULT_FACTORS})")
    u.add_argument("--classifiers", default=DEFAULT_CLASSIFIERS, help=f"default {DEFAULT_CLASSIFIERS}")
    u.add_argument("--classical", default="auto",
                   help="classical augmentations to compare with: auto (all registered), none, or a list")
    u.add_argument("--classical-factors", default=None, help="their factors (default: same as --factors)")
    u.add_argument("--trees", type=int, default=200, help="trees of the rf classifier (default 200)")
    u.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    _add_runner_args(u)
    u.set_defaults(func=cmd_augment)


def build_parser() -> argparse.ArgumentParser:
    from vaelab.models import DEFAULT_MODEL, available

    p = argparse.ArgumentParser(prog="vaelab", description="Conditional VAEs and honest evaluation of synthetic data.")
    p.add_argument("--version", action="version", version=f"vaelab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a generator on a data file and write a run folder")
    t.add_argument("data", metavar="DATA", help="csv / tsv / xlsx table or npz")
    _add_data_args(t)
    t.add_argument("--model", default=None, help=f"one of {', '.join(available())} (default: per modality, {DEFAULT_MODEL} for spectra)")
    t.add_argument("--preprocess", default=None,
                   help="none | minmax | standard, chain with '+' (default: the model's own, minmax for seed models)")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--config", default=None, metavar="FILE.toml", help="model/training options (CLI flags win)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in RUN_DIR.partial/ left by an interrupted run (same data, "
                        "model, seed and options); without one, train from the start")
    t.add_argument("--checkpoint-every", type=int, default=25, metavar="N",
                   help="write a checkpoint to RUN_DIR.partial/ every N epochs (default 25)")
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where torch models train: auto (CUDA when present), cpu or cuda (default auto)")
    t.add_argument("--out", required=True, metavar="RUN_DIR")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("generate", help="sample synthetic data from a run folder")
    g.add_argument("run", metavar="RUN_DIR")
    how = g.add_mutually_exclusive_group(required=True)
    how.add_argument("--per-class", type=int, default=None, metavar="N", help="N samples of every class")
    how.add_argument("--factor", type=float, default=None, metavar="K", help="K × the training count of each class")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, metavar="FILE", help="output .csv, .tsv, .xlsx or .npz")
    g.set_defaults(func=cmd_generate)

    e = sub.add_parser("evaluate", help="compare synthetic with real data; write metrics.json and figures")
    e.add_argument("--real", required=True, metavar="DATA", help="the real (training) data")
    e.add_argument("--synthetic", required=True, metavar="FILE")
    e.add_argument("--holdout", default=None, metavar="DATA", help="real data not used for training")
    e.add_argument("--run", default=None, metavar="RUN_DIR", help="apply this run's preprocessing to the real files")
    _add_data_args(e)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True, metavar="DIR")
    e.set_defaults(func=cmd_evaluate)

    _add_experiment_parsers(sub)

    d = sub.add_parser("demo", help="the whole job on the bundled coffee FTIR set")
    d.add_argument("--out", default="demo_output", metavar="DIR")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--epochs", type=int, default=None, help="override the seed model's epochs (for a quick look)")
    d.add_argument("--compare", default="vaelab-cvae", metavar="MODEL",
                   help="also train MODEL on the same split and print both side by side (default vaelab-cvae; "
                        "'none' to skip)")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VaelabError as e:
        msg = " ".join(str(e).split())
        print(f"vaelab: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vaelab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
