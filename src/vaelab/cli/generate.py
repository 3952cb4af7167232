"""``vaelab generate RUN_DIR (--per-class N | --factor K) --out FILE``: sample synthetic data from a run."""

from __future__ import annotations

import argparse
from typing import Any

from vaelab.cli.common import add_vocoder_args


def add_parser(sub: Any) -> None:
    g = sub.add_parser("generate", help="sample synthetic data from a run folder")
    g.add_argument("run", metavar="RUN_DIR")
    how = g.add_mutually_exclusive_group(required=True)
    how.add_argument("--per-class", type=int, default=None, metavar="N", help="N samples of every class")
    how.add_argument("--factor", type=float, default=None, metavar="K", help="K × the training count of each class")
    g.add_argument("--seed", type=int, default=0)
    add_vocoder_args(g)
    g.add_argument("--out", required=True, metavar="FILE",
                   help="output .csv, .tsv, .xlsx or .npz; for an audio run a folder DIR/<label>/<n>.wav + labels.csv")
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vaelab.data.io import write_data
    from vaelab.runs import generate, load_run, per_class_counts

    r = load_run(args.run)
    counts = per_class_counts(r, per_class=args.per_class, factor=args.factor)
    synth = generate(r, counts, seed=args.seed)
    if r.meta["data"]["layout"].get("kind") == "audio":
        import sys

        from vaelab.modalities.audio.generate import run_vocoder, write_generated_audio

        print(f"writing {synth.n} clips with the {args.vocoder or run_vocoder(r.generator)} vocoder "
              f"({max(1, args.jobs)} worker process(es))...", file=sys.stderr, flush=True)
        write_generated_audio(r, synth, args.out, seed=args.seed, vocoder=args.vocoder, jobs=args.jobs)
    else:
        write_data(synth, args.out)
    print(f"wrote {synth.n} synthetic samples ({', '.join(f'{k}: {v}' for k, v in counts.items())}) to {args.out}")
    return 0
