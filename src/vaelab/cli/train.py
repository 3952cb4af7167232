"""``vaelab train DATA --out RUN_DIR``: train a generator on a data file and write a run folder."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import DATA_HELP, MODEL_DEFAULT_HELP, add_data_args, load, read_toml


def add_parser(sub: Any) -> None:
    t = sub.add_parser("train", help="train a generator on a data file and write a run folder")
    t.add_argument("data", metavar="DATA", help=DATA_HELP + ", or an audio folder")
    add_data_args(t)
    t.add_argument("--model", default=None, help=f"a registered generator ({MODEL_DEFAULT_HELP})")
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
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.models import default_model
    from vaelab.runs import train_run

    cfg = read_toml(args.config) if args.config else {}
    ds = load(args.data, args)
    model = args.model or cfg.pop("model", None) or default_model(ds.spec.kind)
    preprocess = args.preprocess or cfg.pop("preprocess", None)
    seed = args.seed if args.seed is not None else int(cfg.pop("seed", 0))
    cfg.pop("model", None), cfg.pop("preprocess", None), cfg.pop("seed", None)
    overrides = dict(cfg.pop(model, {})) if isinstance(cfg.get(model), dict) else {}
    overrides.update({k: v for k, v in cfg.items() if not isinstance(v, dict)})
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if ds.spec.kind == "audio" and model == "vaelab-audio":
        overrides["mel"] = dict(ds.layout.mel)  # type: ignore[attr-defined]
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
