"""benchmarks/images_rule_check.py (clause verdicts of a candidate vs the default) and images_code_usage.py's probe."""

import numpy as np


def _run(aucs, quality, cpu):
    return {"per_gen_seed": [[{"roc_auc": a, "balanced_accuracy": a} for a in g] for g in aucs], "quality": quality,
            "fit_cpu_s": cpu}


def _q(c2st, fd, dcr, spread=0.95):
    return {"c2st": c2st, "fd": fd, "dcr": dcr, "spread_min": spread}


def test_rule_check_clauses_on_known_values(benchmark_module):
    m = benchmark_module("images_rule_check.py")
    s0 = _run([[0.80, 0.80, 0.80]] * 3, [_q(0.60, 0.8, 0.95)] * 3, [100.0, 100.0, 100.0])
    # higher in 6 of 9 pairs, mean > 0; S0 meets every bound, B too; C2ST 0.45 read as 0.5 (mean diff -0.10)
    b = _run([[0.82, 0.82, 0.79]] * 3, [_q(0.45, 0.85, 0.92)] * 3, [110.0, 114.0, 115.0])
    _, ok = m.verdicts({"B": b, "S0": s0}, "B", "S0", real_fd=0.5, need="improve", min_higher=6, margin=-0.002,
                       cpu_ratio=1.15)
    assert ok == {"auc": True, "bounds": True, "means": True, "cpu": True}
    # 5 of 9 higher fails "improve"; DCR 0.89 where S0 meets 0.9 fails the bounds; FD +0.2 fails the means; 1.16x cpu
    b = _run([[0.82, 0.82, 0.79], [0.82, 0.79, 0.79], [0.82, 0.82, 0.79]], [_q(0.6, 1.0, 0.89)] + [_q(0.6, 1.0, 0.95)] * 2,
             [116.0, 100.0, 100.0])
    _, ok = m.verdicts({"B": b, "S0": s0}, "B", "S0", 0.5, "improve", 6, -0.002, 1.15)
    assert ok == {"auc": False, "bounds": False, "means": False, "cpu": False}
    # a bound S0 misses itself (FD above 2 x real) is not charged to B; margin: mean -0.002 passes, -0.003 fails
    s0m = _run([[0.80] * 3] * 3, [_q(0.6, 1.2, 0.95)] * 3, [100.0] * 3)
    for d, want in ((-0.002, True), (-0.003, False)):
        b = _run([[0.80 + d] * 3] * 3, [_q(0.6, 1.25, 0.95)] * 3, [100.0] * 3)
        _, ok = m.verdicts({"B": b, "S0": s0m}, "B", "S0", 0.5, "margin", 6, -0.002, 1.15)
        assert ok["auc"] is want and ok["bounds"] and ok["means"]


def test_code_usage_r2_of_an_exact_map_is_one_and_of_noise_is_low(benchmark_module):
    m = benchmark_module("images_code_usage.py")
    rng = np.random.default_rng(0)
    F = rng.standard_normal((200, 5))
    T = F @ rng.standard_normal((5, 2)) + 3.0
    assert abs(m.held_out_r2(F, T) - 1.0) < 1e-9
    assert m.held_out_r2(F, rng.standard_normal((200, 2))) < 0.1
