"""``vaelab augment DATA --out DIR``: does synthetic augmentation help a classifier?"""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import (
    DATA_HELP,
    MODEL_DEFAULT_HELP,
    add_data_args,
    add_runner_args,
    load,
    study_command_line,
    warn_failures,
)


def add_parser(sub: Any) -> None:
    from vaelab.experiments import DEFAULT_CLASSICAL_FACTORS, DEFAULT_CLASSIFIERS, DEFAULT_FACTORS

    u = sub.add_parser("augment", help="does synthetic augmentation help a classifier? write augment.json")
    u.add_argument("data", metavar="DATA", help=DATA_HELP)
    add_data_args(u)
    u.add_argument("--model", default=None, help=f"the generator studied ({MODEL_DEFAULT_HELP})")
    u.add_argument("--factors", default=DEFAULT_FACTORS, help=f"synthetic = factor × class counts (default {DEFAULT_FACTORS})")
    u.add_argument("--classifiers", default=DEFAULT_CLASSIFIERS, help=f"default {DEFAULT_CLASSIFIERS}")
    u.add_argument("--classical", default="auto",
                   help="classical augmentations to compare with: auto (all registered), none, or a list")
    u.add_argument("--compare", default=None, metavar="MODELS",
                   help="other generators run in the same study at the same factors, reported beside the model "
                        "(e.g. seed-cvae,ppca); add them to a finished study folder with --resume")
    u.add_argument("--classical-factors", default=DEFAULT_CLASSICAL_FACTORS,
                   help=f"their factors (default {DEFAULT_CLASSICAL_FACTORS}; 'same' for those of --factors)")
    u.add_argument("--trees", type=int, default=200, help="trees of the rf classifier (default 200)")
    u.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    add_runner_args(u)
    u.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.experiments.augment import run_augment, write_augment
    from vaelab.reporting.tables import augment_table

    ds = load(args.data, args)
    opts = dict(factors=args.factors, classifiers=args.classifiers, folds=args.folds, seeds=args.seeds,
                preprocess=args.preprocess, classical=args.classical, classical_factors=None if args.classical_factors == "same" else args.classical_factors,
                compare=args.compare, epochs=args.epochs, trees=args.trees, alpha=args.alpha)
    if args.estimate:
        from vaelab.experiments.augment import estimate_augment
        from vaelab.experiments.estimate import format_estimate
        from vaelab.models import default_model

        est = estimate_augment(ds, args.model or default_model(ds.spec.kind), jobs=args.jobs, out=args.out, **opts)
        print(format_estimate(est, "augmentation study"))
        return 0
    result = run_augment(ds, model=args.model, **opts, jobs=args.jobs, backend=args.backend, address=args.address,
                         progress=not args.quiet, out=args.out, resume=args.resume)
    result["command_line"] = study_command_line(args)
    write_augment(result, args.out)
    print(augment_table(result))
    warn_failures(result)
    print(f"\nwrote {args.out}/augment.json, augment.csv, augment.txt, augment.png, report.html")
    return 0
