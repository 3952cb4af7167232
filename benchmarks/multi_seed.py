"""Cost of training 10 seeds at once (``vaelab.training.multi.fit_many``) vs one seed, side by side.

For each data set (the bundled coffee set; the development Raman set's training part when
``../shared`` is present) and each torch generator, in one process, after one warm-up fit:

* ``1 seed``: ``generator.fit(X, y, seed=0)``, wall clock (median of 3);
* ``10 separate``: ``fit`` for seeds 0..9, one after the other;
* ``fit_many 10``: :func:`vaelab.training.multi.fit_many` for seeds 0..9 (one stacked loop);

and prints the ratios ``10 separate / 1 seed`` and ``fit_many 10 / 1 seed`` (target: <= 3).
Run with one BLAS / torch thread, as ``make test`` does::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python benchmarks/multi_seed.py

Options: ``--datasets coffee,raman``, ``--models vaelab-cvae,seed-cvae``, ``--seeds 10``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generators import RAMAN, load_sets  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.models import get_model  # noqa: E402
from vaelab.training.multi import fit_many  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="coffee,raman")
    ap.add_argument("--models", default="vaelab-cvae,seed-cvae")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--data", default=str(RAMAN))
    args = ap.parse_args(argv)
    sets = load_sets(args.datasets.split(","), Path(args.data), 0)
    seeds = list(range(args.seeds))
    print(f"| data | model | 1 seed s | {len(seeds)} separate s | ratio | fit_many {len(seeds)} s | ratio | epochs per seed |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in sets.items():
        X = Preprocessing.from_spec("minmax").fit_transform(s["X_raw"])
        y = s["y"]
        for model in args.models.split(","):
            def make(model=model):
                g = get_model(model)
                g.progress = False
                return g

            make().fit(X, y, seed=0)  # warm-up (imports, allocator, first-call overheads)
            one = []
            for _ in range(3):
                t = time.perf_counter()
                make().fit(X, y, seed=0)
                one.append(time.perf_counter() - t)
            t1 = statistics.median(one)
            t = time.perf_counter()
            for sd in seeds:
                make().fit(X, y, seed=sd)
            tsep = time.perf_counter() - t
            t = time.perf_counter()
            many = fit_many(make, X, y, seeds)
            tmany = time.perf_counter() - t
            epochs = "/".join(str(len(m.history_)) for m in many)
            print(f"| {name} | {model} | {t1:.2f} | {tsep:.2f} | {tsep / t1:.1f} | {tmany:.2f} | {tmany / t1:.1f} | "
                  f"{epochs} |", flush=True)


if __name__ == "__main__":
    main()
