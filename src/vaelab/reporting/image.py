"""Text and csv of an image evaluation (:func:`vaelab.evaluation.image.evaluate_images`): the synthetic
images beside the reference rows, the flags, how to read each number."""

from __future__ import annotations

import math
from typing import Any

from vaelab.metrics.registry import IMAGE_SUMMARY, metric

# labels that say how an image evaluation measures a metric registered for every kind of data
_IMAGE_LABELS = {"c2st_auc": "C2ST ROC AUC (small CNN, pixels)", "frechet": "Fréchet distance (domain features)",
                 "precision": "precision (PRDC, features)", "recall": "recall (PRDC, features)",
                 "dcr_ratio": "DCR ratio (features)"}
#: (key, label, how to read) of every row; how to read from the metric registry
SUMMARY = [(k, _IMAGE_LABELS.get(k, metric(k).label), metric(k).read) for k in IMAGE_SUMMARY]


def _flat_row(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    for side in ("tstr", "trtr"):
        v = r.get(side) or {}
        out[f"{side}_auc"] = v.get("roc_auc")
        out[f"{side}_bacc"] = v.get("balanced_accuracy")
    known = [v for v in (r.get("diversity") or {}).values() if v is not None and math.isfinite(v)]
    out["spread_min"] = min(known) if known else None  # a class too small for a ratio (NaN) is not the minimum
    return out


def format_image_report(result: dict[str, Any]) -> str:
    """Metrics of the synthetic images beside the reference rows, the flags, how to read them."""
    from vaelab.reporting.tables import fmt as _fmt

    rows = {"synthetic": result, **result.get("references", {})}
    flat = {k: _flat_row(v) for k, v in rows.items()}
    lines = [f"real: {result['n_real']}  synthetic: {result['n_synthetic']}  holdout: {result.get('n_holdout') or '-'}",
             f"features: {result['features']['name']} "
             f"({result['features'].get('trained_on', 'fitted on the real training images')})", ""]
    names = list(flat)
    lines.append(f"{'metric':<36}" + "".join(f"{n[:13]:>14}" for n in names) + "   how to read")
    for key, label, goal in [*SUMMARY, ("spread_min", "smallest per-class spread ratio", "1 ideal, < 0.5 collapse")]:
        lines.append(f"{label:<36}" + "".join(f"{_fmt(flat[n].get(key)):>14}" for n in names) + f"   {goal}")
    lines.append("")
    lines.append("flags:")
    for name, f in result["flags"].items():
        state = {True: "RAISED", False: "ok", None: "not computed"}[f["raised"]]
        lines.append(f"  {name:<16}{state:<14}{f['reason']}")
    if result.get("references"):
        lines.append("")
        lines.append("reference rows (flags raised; expected):")
        for name, r in result["references"].items():
            raised = sorted(k for k, f in r["flags"].items() if f["raised"])
            ok = "as expected" if r["as_expected"] else "NOT AS EXPECTED"
            lines.append(f"  {name:<14}{', '.join(raised) or 'none':<34}{', '.join(r['expected_flags']) or 'none':<30}{ok}")
    for n in result.get("notes", []):
        lines.append(f"note: {n}")
    return "\n".join(lines)


def image_summary_csv(result: dict[str, Any]) -> str:
    rows = {"synthetic": result, **result.get("references", {})}
    flat = {k: _flat_row(v) for k, v in rows.items()}
    keys = [k for k, _, _ in SUMMARY] + ["spread_min"]
    lines = ["row," + ",".join(keys) + ",flags_raised"]
    for name, r in flat.items():
        raised = ";".join(sorted(k for k, f in r["flags"].items() if f["raised"]))
        vals = ["" if r.get(k) is None else repr(float(r[k])) for k in keys]
        lines.append(f"{name}," + ",".join(vals) + f",{raised}")
    return "\n".join(lines) + "\n"
