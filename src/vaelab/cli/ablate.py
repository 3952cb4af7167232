"""``vaelab ablate DATA --models A,B,... --out DIR``: generators over seeds × group-aware folds."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import (
    DATA_HELP,
    add_data_args,
    add_features_arg,
    add_runner_args,
    load,
    study_command_line,
    warn_failures,
)


def add_parser(sub: Any) -> None:
    a = sub.add_parser("ablate", help="compare generators over seeds × group-aware folds; write ablation.json")
    a.add_argument("data", metavar="DATA", help=DATA_HELP)
    add_data_args(a)
    a.add_argument("--models", required=True, metavar="A,B,...", help="generators; the first is the reference")
    a.add_argument("--c2st-trees", type=int, default=300, help="trees of the C2ST random forest (default 300)")
    a.add_argument("--mmd-permutations", type=int, default=200, help="MMD permutation-test size (default 200)")
    add_features_arg(a)
    add_runner_args(a)
    a.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.experiments.ablation import run_ablation, write_ablation
    from vaelab.reporting.tables import ablation_table

    ds = load(args.data, args)
    opts = dict(seeds=args.seeds, folds=args.folds, preprocess=args.preprocess, epochs=args.epochs,
                c2st_trees=args.c2st_trees, mmd_permutations=args.mmd_permutations, features=args.features)
    if args.estimate:
        from vaelab.experiments.ablation import estimate_ablation
        from vaelab.experiments.estimate import format_estimate

        print(format_estimate(estimate_ablation(ds, args.models, jobs=args.jobs, out=args.out, **opts), "ablation"))
        return 0
    result = run_ablation(ds, args.models, **opts, jobs=args.jobs, backend=args.backend, address=args.address,
                          progress=not args.quiet, out=args.out, resume=args.resume)
    result["command_line"] = study_command_line(args)
    write_ablation(result, args.out)
    print(ablation_table(result))
    warn_failures(result)
    print(f"\nwrote {args.out}/ablation.json, ablation.csv, ablation.txt, ablation.png, report.html")
    return 0
