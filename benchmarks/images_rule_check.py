"""Clause verdicts of a candidate generator B against the default S0 from ``images_tstr.py --quality --json`` runs
of one set (issue 11's validation rules: the lead's beta = 0.5 rule of session 18 and its predecessors' clauses).

Prints, for B minus S0 paired by (generator seed, classifier seed), the TSTR ROC AUC difference (mean, pairs where B
is higher) and its verdict: ``--need improve`` (mean > 0 and B higher in >= ``--min-higher`` pairs) or
``--need margin`` (mean >= ``--margin``, e.g. -0.002); per generator seed the absolute bounds (C2ST <= 0.75,
FD <= 2 x ``--real-fd`` (``images_realref.py``'s FD), DCR >= 0.9), charged to B only where S0 meets them; the set
means (C2ST read as max(., 0.5), B - S0 <= 0.03; FD B - S0 <= 0.1; smallest class spread B >= S0 - 0.05, read as
the mean over generator seeds, the minimum shown too); and the fits' CPU seconds, B <= ``--cpu-ratio`` x S0 per
generator seed (each bound inclusive, up to float rounding):

    python3 benchmarks/images_rule_check.py "vaelab-image:beta=0.5" vaelab-image run.json --real-fd 0.85 --need improve

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 18).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_tstr import seed_scores  # noqa: E402

TOL = 1e-9  # the rule's bounds are inclusive: a value equal to one up to float rounding meets it


def bounds(q: dict, real_fd: float) -> dict[str, bool]:
    """Which absolute bounds one generator seed's quality row meets."""
    return {"c2st": q["c2st"] <= 0.75, "fd": q["fd"] <= 2 * real_fd, "dcr": q["dcr"] >= 0.9}


def verdicts(runs: dict, a: str, b: str, real_fd: float, need: str, min_higher: int, margin: float,
             cpu_ratio: float) -> tuple[list[str], dict[str, bool]]:
    """Report lines and the pass / fail of each clause (auc, bounds, means, cpu) of ``a`` (candidate) vs ``b``."""
    d = seed_scores(runs, a, "roc_auc") - seed_scores(runs, b, "roc_auc")
    higher = int((d > 0).sum())
    ok = {"auc": bool(d.mean() > 0 and higher >= min_higher) if need == "improve" else bool(d.mean() >= margin - TOL)}
    lines = [f"paired auc {a} - {b}: {d.mean():+.4f} ± {np.std(d, ddof=1):.4f} ({higher}/{len(d)}); "
             f"pairs {' '.join(f'{v:+.4f}' for v in d)} -> {'pass' if ok['auc'] else 'FAIL'}"]
    qa, qb = runs[a]["quality"], runs[b]["quality"]
    ok["bounds"] = True
    for i, (ra, rb) in enumerate(zip(qa, qb, strict=True)):
        ba, bb = bounds(ra, real_fd), bounds(rb, real_fd)
        miss = [k for k in ba if bb[k] and not ba[k]]
        ok["bounds"] &= not miss
        lines.append(f"gen seed #{i}: " + "; ".join(f"{k} {ra[k]:.3f} vs {rb[k]:.3f}" for k in ("c2st", "fd", "dcr"))
                     + f" (FD limit {2 * real_fd:.3f}); S0 meets {[k for k in bb if bb[k]]}; B misses where S0 "
                     f"meets: {miss or 'none'}")
    mean = {n: {k: float(np.mean([max(r[k], 0.5) if k == "c2st" else r[k] for r in q])) for k in ("c2st", "fd",
                                                                                               "spread_min")}
            for n, q in ((a, qa), (b, qb))}
    dc, df = mean[a]["c2st"] - mean[b]["c2st"], mean[a]["fd"] - mean[b]["fd"]
    ds = mean[a]["spread_min"] - mean[b]["spread_min"]
    ok["means"] = bool(dc <= 0.03 + TOL and df <= 0.1 + TOL and ds >= -0.05 - TOL)
    lines.append(f"means B - S0: C2ST {dc:+.4f} (<= 0.03), FD {df:+.4f} (<= 0.1), smallest spread {ds:+.4f} (>= -0.05); "
                 f"min spread B {min(r['spread_min'] for r in qa):.3f} S0 {min(r['spread_min'] for r in qb):.3f}"
                 f" -> {'pass' if ok['means'] else 'FAIL'}")
    ca, cb = np.array(runs[a]["fit_cpu_s"]), np.array(runs[b]["fit_cpu_s"])
    ok["cpu"] = bool((ca <= cpu_ratio * cb + TOL).all())
    lines.append(f"fit cpu s B {' / '.join(f'{v:.0f}' for v in ca)} vs S0 {' / '.join(f'{v:.0f}' for v in cb)}; ratios "
                 f"{' / '.join(f'{v:.3f}' for v in ca / cb)} (<= {cpu_ratio}) -> {'pass' if ok['cpu'] else 'FAIL'}")
    return lines, ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="the candidate (its name in the json)")
    ap.add_argument("b", help="the default it is compared with")
    ap.add_argument("json", nargs="+")
    ap.add_argument("--real-fd", type=float, required=True, help="images_realref.py's FD of the same split")
    ap.add_argument("--need", choices=("improve", "margin"), default="improve")
    ap.add_argument("--min-higher", type=int, default=6)
    ap.add_argument("--margin", type=float, default=-0.002)
    ap.add_argument("--cpu-ratio", type=float, default=1.15)
    args = ap.parse_args()
    runs: dict = {}
    for path in args.json:
        runs.update(json.load(open(path)))
    lines, ok = verdicts(runs, args.a, args.b, args.real_fd, args.need, args.min_higher, args.margin, args.cpu_ratio)
    print("\n".join(lines))
    print("verdicts: " + ", ".join(f"{k} {'pass' if v else 'FAIL'}" for k, v in ok.items()))


if __name__ == "__main__":
    main()
