"""What vaelab-cvae's decoder does between a class's latent codes (issue 16, session 16, second helper; descriptive).

Train-only (no holdout read): one default fit per cell (``spread_diag.py``'s ``training_part`` / ``fit``). Per class,
for every pair (i, j) of its training rows, the decoded signal (decoder mean, renormalised, no residual nor rest:
``dispersion_diag.py``'s signal) at row i's posterior mean ``at_code``, at the midpoint of the two posterior means
``at_mid`` (row i's noise level), and the midpoint of the two decoded signals ``lin_mid`` (what a decoder linear
between the codes would give); each as the median over the pairs of the distance to the nearest training spectrum (the
model-space reconstruction with the rest, as the kernel calibration measures), next to the calibration's target (the
median distance of a training spectrum to its nearest other one, ``novelty_targets``). One JSON line per cell and class.

    python benchmarks/midpoint_diag.py coffee arpls+savgol+vector,d1 89,90,91,92,93 > mid.jsonl
    python benchmarks/midpoint_diag.py --table mid.jsonl  # per space: medians over the class-cells of the ratios

Run from the repository root with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generators import RAMAN  # noqa: E402
from spread_diag import fit, training_part  # noqa: E402

from vaelab.data.preprocess import Preprocessing  # noqa: E402
from vaelab.models.torch_base import torch_threads  # noqa: E402
from vaelab.models.vaelab_cvae import _RENORM_NAMES, _renormalise  # noqa: E402
from vaelab.samplers.kde import novelty_targets  # noqa: E402


def cell(data: str, space: str, split: str, path: Path) -> list[dict]:
    X_raw, y, _, seed = training_part(data, split, path)
    X = Preprocessing.from_spec(space).fit_transform(X_raw)
    g, job = fit(X, np.asarray(y).astype(str), seed, {})
    m, U, c = g.module, job.X_all, job.c_all
    code = int(g.extra_.get("renorm", torch.tensor([0]))[0])
    out = []
    with torch.no_grad():
        lev = m.level(U)
        mu, _ = m.encode(U, c)
        ref = m.merge(U, job.state["rest"])

        def signal(z: torch.Tensor, cc: torch.Tensor, lv: torch.Tensor) -> torch.Tensor:
            mean, _ = m.decode(z, cc, lv)
            return _renormalise(m.merge(torch.cat([mean, lv], 1), None), _RENORM_NAMES.get(code, "none"))

        def nearest(P: torch.Tensor) -> float:
            return float(torch.cdist(P, ref).min(dim=1).values.median())

        for k, _, target, _ in novelty_targets(ref, c, seed=job.seed):
            idx = torch.nonzero(c == k).flatten()
            i, j = torch.triu_indices(len(idx), len(idx), 1)
            a, b = idx[i], idx[j]
            at_code = signal(mu[a], c[a], lev[a])
            at_mid = signal((mu[a] + mu[b]) / 2, c[a], lev[a])
            lin_mid = (at_code + signal(mu[b], c[b], lev[a])) / 2
            out.append({"data": data, "space": space, "split": split, "class": str(g.classes_[k]), "n_k": len(idx),
                        "target": target, "at_code": nearest(at_code), "at_mid": nearest(at_mid),
                        "lin_mid": nearest(lin_mid)})
    return out


def table(path: str) -> None:
    """Per data set and space, the medians over its class-cells of ``at_code``, ``at_mid``, ``lin_mid`` over the
    target, and of ``at_mid`` over ``lin_mid`` (1: the decoder is linear between the codes)."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    print("| data space | class-cells | at_code / target | at_mid / target | lin_mid / target | at_mid / lin_mid |\n"
          "|---|---|---|---|---|---|")
    for ds in sorted({(r["data"], r["space"]) for r in rows}):
        rs = [r for r in rows if (r["data"], r["space"]) == ds]
        med = [np.median([r[k] / r[d] for r in rs]) for k, d in
               (("at_code", "target"), ("at_mid", "target"), ("lin_mid", "target"), ("at_mid", "lin_mid"))]
        print(f"| {ds[0]} {ds[1]} | {len(rs)} | " + " | ".join(f"{v:.2f}" for v in med) + " |")


def main(argv: list[str] | None = None) -> None:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--table"]:
        table(argv[1])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("spaces")
    ap.add_argument("splits", help="outer or inner split seeds, comma-separated")
    ap.add_argument("--data", dest="npz", default=str(RAMAN), help="the development Raman npz")
    args = ap.parse_args(argv)
    with torch_threads():
        for split in args.splits.split(","):
            for space in args.spaces.split(","):
                for line in cell(args.data, space, split, Path(args.npz)):
                    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
