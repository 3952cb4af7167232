"""``vaelab reconstruct RUN --input AUDIO_DIR --out DIR [--enhance ...]``: audio VAE reconstruction study."""

from __future__ import annotations

import argparse

from vaelab.cli.common import add_vocoder_args


def add_parser(sub) -> argparse.ArgumentParser:
    r = sub.add_parser("reconstruct", help="audio: original / vocoder-only / VAE (+ enhancements) with metrics and "
                                           "paired bootstrap intervals; write DIR/<method>/*.wav, reconstruction.json and report.html")
    r.add_argument("run", metavar="RUN_DIR", help="a run trained on an audio folder (vaelab-audio)")
    r.add_argument("--input", required=True, metavar="AUDIO_DIR", help="labelled audio folder (labels.csv or class folders)")
    r.add_argument("--label-column", default=None, help="label column of labels.csv (default 'label')")
    r.add_argument("--group-column", default=None, help="group column of labels.csv (default 'group' if present)")
    r.add_argument("--enhance", default="none,eq", metavar="LIST",
                   help="comma list of none, laplacian[:A], noise[:A], contrast[:A], hybrid, eq; a method without a "
                        "value uses the value tuned on the run's training clips (default none,eq)")
    r.add_argument("--gl-iter", type=int, default=32, metavar="N", help="Griffin-Lim iterations (default 32)")
    r.add_argument("--momentum", type=float, default=0.99, help="Griffin-Lim momentum (default 0.99)")
    r.add_argument("--seed", type=int, default=0)
    add_vocoder_args(r)
    r.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples (default 2000)")
    r.add_argument("--out", required=True, metavar="DIR")
    r.set_defaults(func=run)
    return r


def run(args: argparse.Namespace) -> int:
    from vaelab.modalities.audio.reconstruct import run_reconstruct
    from vaelab.runs import load_run

    run_ = load_run(args.run)
    res = run_reconstruct(run_, args.input, args.out, enhance_spec=args.enhance, label_column=args.label_column,
                          group_column=args.group_column, n_iter=args.gl_iter, momentum=args.momentum, seed=args.seed,
                          n_boot=args.bootstrap, command_line=args.command_line,
                          vocoder=args.vocoder, jobs=args.jobs)
    m = res["means"]
    print(f"{res['n_clips']} clips; means (LSD dB full/high, retention dB low/mid/high, mel distance):")
    for name, v in m.items():
        print(f"  {name:10s} LSD {v['lsd_full']:.2f}/{v['lsd_high']:.2f}  retention {v['retention_low_db']:+.2f}/"
              f"{v['retention_mid_db']:+.2f}/{v['retention_high_db']:+.2f}  mel {v['mel_distance']:.3f}")
    helps = res["targets"].get("enhancement_helps_vs_eq", {})
    if helps:
        print("beats eq on >4 kHz LSD (95 % CI) without worse mel/low/mid: "
              + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in helps.items()))
    print(f"wrote {args.out}/reconstruction.json, wav folders, figures and report.html")
    return 0
