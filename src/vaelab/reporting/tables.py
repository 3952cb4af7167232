"""Text tables and csv of the results: ``report.txt`` / ``metrics.csv`` / ``seed_metrics.csv`` of
``vaelab evaluate``, ``ablation.txt`` / ``.csv``, ``augment.txt`` / ``.csv`` and the demo's comparison.

Every function takes a typed result (:mod:`vaelab.evaluation.results`) or its JSON dict, and
reads labels, goals and reading hints from the metric registry (:mod:`vaelab.metrics.registry`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any

from vaelab.evaluation.results import AblationResult, AugmentResult, EvaluationResult
from vaelab.metrics.registry import HEADLINE, SEED_METRICS, metric

__all__ = ["ablation_csv", "ablation_table", "augment_csv", "augment_table", "comparison_csv",
           "comparison_rows", "comparison_table", "fmt", "format_report", "seed_table", "seed_table_csv",
           "summary_csv"]

FLAG_STATE = {True: "RAISED", False: "ok", None: "not computed"}


def fmt(v: Any, digits: int = 4, *, none: str = "n/a") -> str:
    """A value for a text table: ``n/a`` for None, ``nan`` for non-finite floats, ``digits`` significant."""
    if v is None:
        return none
    if isinstance(v, float) and not math.isfinite(v):
        return "nan"
    return f"{v:.{digits}g}" if isinstance(v, (float, int)) and not isinstance(v, bool) else str(v)


def _csv_number(v: Any) -> str:
    return "" if v is None else repr(float(v))


# --------------------------------------------------------------------------- vaelab evaluate


def seed_table(result: EvaluationResult | Mapping[str, Any]) -> str:
    """The seed metrics with their two reference rows, as an aligned text table."""
    r = EvaluationResult.coerce(result)
    head = f"{'':<18}" + "".join(f"{metric(m).label + metric(m).arrow:>15}" for m in SEED_METRICS)
    lines = [head]
    for name, vals in r.seed_rows():
        lines.append(f"{name.replace('_', ' '):<18}" + "".join(f"{vals[m]:>15.5g}" for m in SEED_METRICS))
    return "\n".join(lines)


def format_report(result: EvaluationResult | Mapping[str, Any]) -> str:
    """A readable report: the metrics with how to read them, the flags, the seed table."""
    r = EvaluationResult.coerce(result)
    lines = [f"real: {r.n_real}  synthetic: {r.n_synthetic}  holdout: {r.n_holdout or '-'}"]
    lines.append("")
    lines.append(f"{'metric':<34}{'value':>10}   how to read")
    for _, label, v, read in r.summary_rows():
        lines.append(f"{label:<34}{fmt(v):>10}   {read}")
    lines.append("")
    lines.append("flags:")
    for name, raised, reason in r.flag_rows():
        lines.append(f"  {name:<16}{FLAG_STATE[raised]:<14}{reason}")
    for n in r.notes:
        lines.append(f"note: {n}")
    if r.features is not None and r.features.get("name") != "identity":
        lines.append(f"note: distribution metrics and DCR computed on {_features_text(r.features)}")
    lines.append("")
    lines.append("Seed-report metrics (same class, all pairs; references: real half vs half, class-mean copy)")
    lines.append(seed_table(r))
    return "\n".join(lines)


def _features_text(features: Mapping[str, Any]) -> str:
    params = ", ".join(f"{k}={fmt(v)}" for k, v in features.get("params", {}).items())
    return f"{features['name']} features" + (f" ({params})" if params else "") + \
        f", {features.get('n_features')} per sample, fitted on the real training data"


def seed_table_csv(result: EvaluationResult | Mapping[str, Any]) -> str:
    r = EvaluationResult.coerce(result)
    lines = ["row," + ",".join(SEED_METRICS)]
    for name, vals in r.seed_rows():
        lines.append(name + "," + ",".join(repr(float(vals[m])) for m in SEED_METRICS))
    return "\n".join(lines) + "\n"


def summary_csv(result: EvaluationResult | Mapping[str, Any]) -> str:
    r = EvaluationResult.coerce(result)
    lines = ["metric,value,how_to_read"]
    for key, _, v, read in r.summary_rows():
        lines.append(f"{key},{_csv_number(v)},\"{read}\"")
    for name, raised, reason in r.flag_rows():
        lines.append(f"flag_{name},{'' if raised is None else int(raised)},\"{reason}\"")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the demo's side by side


def comparison_rows(results: Mapping[str, tuple[EvaluationResult | Mapping[str, Any], float]]
                    ) -> list[tuple[str, list[Any], str]]:
    """Rows (label, one value per model, how to read) of the headline metrics, flags and training time."""
    rs = [(EvaluationResult.coerce(r), t) for r, t in results.values()]
    rows = [(metric(k).short_label, [r.value(k) for r, _ in rs], metric(k).read) for k in HEADLINE]
    div = metric("diversity")
    for c in sorted({c for r, _ in rs for c in r.diversity}):
        rows.append((f"{div.label}, class {c}", [r.diversity.get(c) for r, _ in rs], div.read))
    for name in rs[0][0].flags:
        vals = [{True: "RAISED", False: "ok", None: "n/a"}[r.flags.get(name, {}).get("raised")] for r, _ in rs]
        rows.append((f"flag {name}", vals, "ok expected"))
    rows.append(("training time, s", [round(t, 1) for _, t in rs], "lower is faster"))
    return rows


def comparison_table(names: list[str], rows: list[tuple[str, list[Any], str]]) -> str:
    lines = [f"{'metric':<34}{names[0]:>12}{names[1]:>14}   how to read"]
    for label, vals, read in rows:
        lines.append(f"{label:<34}{fmt(vals[0]):>12}{fmt(vals[1]):>14}   {read}")
    return "\n".join(lines)


def comparison_csv(names: list[str], rows: list[tuple[str, list[Any], str]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return ""
        return repr(float(v)) if isinstance(v, (float, int)) and not isinstance(v, bool) else str(v)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", *names, "how_to_read"])
    w.writerows([label, *(cell(v) for v in vals), read] for label, vals, read in rows)
    return buf.getvalue()


# --------------------------------------------------------------------------- vaelab ablate


def ablation_table(result: AblationResult | Mapping[str, Any]) -> str:
    """Aligned text: one row per metric, one column per model (mean ± sd [failed], p vs reference)."""
    r = AblationResult.coerce(result)
    ref = r.reference_model
    head = f"{'metric (goal)':<30}" + "".join(f"{n:>30}" for n in r.models)
    lines = [f"Ablation: {r.folds} folds × {r.seeds} seeds, preprocessing {r.preprocess}; "
             f"mean ± sd over cells, p = paired Wilcoxon vs {ref}", head]
    for m, goal in r.metric_goals.items():
        row = f"{m + ' (' + goal + ')':<30}"
        for n in r.models:
            s = r.summary(n, m)
            cell = f"{fmt(s['mean'], none='—')} ± {fmt(s['std'], 2, none='—')}"
            if s["n_failed"]:
                cell += f" [{s['n_failed']} failed]"
            p = r.p_vs_reference(n, m) if n != ref else None
            if p is not None:
                cell += f" p={p:.2g}"
            row += f"{cell:>30}"
        lines.append(row)
    lines.append(f"cells: {r.n_cells}, failed cells: {r.n_failed_cells}, failed metrics: {r.n_failed_metrics}")
    return "\n".join(lines)


def ablation_csv(result: AblationResult | Mapping[str, Any]) -> str:
    r = AblationResult.coerce(result)
    lines = ["model,metric,goal,mean,std,n,n_failed,p_vs_reference"]
    for n in r.models:
        for m, goal in r.metric_goals.items():
            s = r.summary(n, m)
            vals = [s["mean"], s["std"], s["n"], s["n_failed"], r.p_vs_reference(n, m)]
            lines.append(f"{n},{m},{goal}," + ",".join("" if v is None else repr(v) for v in vals))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- vaelab augment


def augment_table(result: AugmentResult | Mapping[str, Any]) -> str:
    """Balanced accuracy (mean ± sd) per factor and classifier, with p vs factor 0 and the best classical."""
    r = AugmentResult.coerce(result)
    clfs = r.classifiers
    lines = [f"Augmentation study: {r.model}, {r.folds} folds × {r.seeds} seeds, preprocessing {r.preprocess}",
             "balanced accuracy, mean ± sd; p = Holm-corrected paired Wilcoxon vs factor 0",
             f"{'factor':<10}" + "".join(f"{c:>26}" for c in clfs) + f"{'mean':>10}"]
    for k in r.factors:
        row = f"{k:<10}"
        for c in clfs:
            s = r.summary(k, c)
            cell = "—" if s["mean"] is None else f"{s['mean']:.3f} ± {(s['std'] or 0):.3f}"
            if s["n_failed"]:
                cell += f" [{s['n_failed']}✗]"
            if k != "0":
                cell += f" p={r.p_vs_0(k, c):.2g}"
            row += f"{cell:>26}"
        mo = r.mean_balanced_accuracy_over_classifiers[k]
        mo_txt = "—" if mo is None else f"{mo:.3f}"
        lines.append(row + f"{mo_txt:>10}")
    for g, res in (r.compared_results or {}).items():
        lines.append(f"{g} (compared; p = Holm-corrected paired Wilcoxon vs {r.model} at the same factor)")
        for k, per in res.items():
            row = f"  {k:<8}"
            for c in clfs:
                sm = per[c]["balanced_accuracy"]
                cell = "—" if sm["mean"] is None else f"{sm['mean']:.3f} ± {(sm['std'] or 0):.3f}"
                t = (r.compared_tests or {}).get(g, {}).get(k, {}).get(c, {}).get("vs_model", {}).get(
                    "balanced_accuracy")
                if t is not None:
                    cell += f" p={t['p_holm']:.2g}"
                row += f"{cell:>26}"
            ms = [per[c]["balanced_accuracy"]["mean"] for c in clfs]
            lines.append(row + (f"{sum(ms) / len(ms):>10.3f}" if all(v is not None for v in ms) else f"{'—':>10}"))
    row = f"{'classical':<10}"
    for c in clfs:
        b = r.best_classical.get(c)
        txt = "—" if b is None else f"{b['balanced_accuracy']:.3f} {b['generator']}×{b['factor']}"
        row += f"{txt:>26}"
    lines.append(row)
    lines.append(f"recommended factor: {r.recommended_factor}")
    lines.append(r.verdict)
    lines += [f"note: {n}" for n in r.notes]
    lines.append(f"cells: {r.n_cells}, failed cells: {r.n_failed_cells}, failures listed: {len(r.failures)}")
    return "\n".join(lines)


def augment_csv(result: AugmentResult | Mapping[str, Any]) -> str:
    r = AugmentResult.coerce(result)
    lines = ["generator,factor,classifier,metric,mean,std,n,n_failed"]
    for g, res in [*r.generator_results(), *(r.compared_results or {}).items()]:
        for k, per in res.items():
            for c, ms in per.items():
                for m, s in ms.items():
                    vals = [s["mean"], s["std"], s["n"], s["n_failed"]]
                    lines.append(f"{g},{k},{c},{m}," + ",".join("" if v is None else repr(v) for v in vals))
    return "\n".join(lines) + "\n"
