"""HTML sections of an evaluation (``metrics.json`` of ``vaelab evaluate`` and of the demo).

Each function takes a checked :class:`~vaelab.reporting.result_folder.Part` and returns HTML; numbers
are :func:`~vaelab.reporting.html.num` elements tied to the JSON, text from data is escaped.
"""

from __future__ import annotations

import math
from typing import Any

from vaelab.metrics.registry import HEADLINE, METRICS, SEED_METRICS, metric
from vaelab.reporting.html import badge, esc, figure, pointer, quoted, section, table
from vaelab.reporting.result_folder import Part

FLAG_TITLES = {"collapse": "mode collapse", "memorization": "memorisation (copies of training samples)",
               "distinguishable": "synthetic data told apart from real"}


def raised_flags(doc: dict[str, Any]) -> list[str]:
    return [name for name, f in doc["flags"].items() if f["raised"] is True]


def flags_sentence(part: Part, name: str) -> str:
    """``name raise N warning flags: …`` (each with its reason from the JSON) or ``… raise no warning flag``."""
    doc = part.doc
    raised = raised_flags(doc)
    if raised:
        return (f"{esc(name)} raise {len(raised)} warning flag{'s' if len(raised) > 1 else ''}: "
                + "; ".join(f"<strong>{esc(FLAG_TITLES.get(k, k))}</strong> "
                            f"({quoted(doc['flags'][k]['reason'], part.src, pointer('flags', k, 'reason'))})"
                            for k in raised) + ".")
    unknown = [k for k, f in doc["flags"].items() if f["raised"] is None]
    return (f"{esc(name)} raise no warning flag"
            + (f" ({', '.join(esc(k) for k in unknown)} not computed)" if unknown else "") + ".")


def verdict(part: Part, name: str = "The synthetic data") -> str:
    """A paragraph in plain words: flags, distinguishability, utility, novelty — every number from the JSON."""
    doc = part.doc
    raised = raised_flags(doc)
    s = [flags_sentence(part, name)]
    if doc["c2st_auc"] is not None:
        s.append(f"A random-forest classifier tells synthetic from real samples with ROC AUC {part.num('c2st_auc')} "
                 f"({esc(metric('c2st_auc').read)}).")
    if doc["tstr"] is not None and doc["trtr"] is not None:
        s.append(f"Trained on synthetic data only, a classifier reaches balanced accuracy {part.num('tstr')} on real "
                 f"held-out data, against {part.num('trtr')} when trained on the real training data.")
    else:
        s.append("Usefulness for training a classifier (TSTR) was not measured: it needs real held-out data.")
    if doc["dcr_ratio"] is not None:
        s.append(f"The typical synthetic sample is {part.num('dcr_ratio')} times as far from its nearest training "
                 f"sample as the reference ({quoted(doc['dcr_reference'], part.src, '/dcr_reference')}) is; "
                 "values near 1 mean new samples, values near 0 copies.")
        left_out = (doc.get("dcr") or {}).get("left_out_ratio")
        if isinstance(left_out, (int, float)) and math.isfinite(left_out):
            s.append(f"Real training samples, each left out of the rest, score {part.num('dcr', 'left_out_ratio')} "
                     "on the same reference: a generator as novel as new real data scores about that.")
    cls = "verdict warn" if raised else "verdict"
    return f'<p class="{cls}" id="verdict">{" ".join(s)}</p>'


def flags_section(part: Part) -> str:
    items = []
    for name, f in part.doc["flags"].items():
        raised, reason = f["raised"], f["reason"]
        extra = ""
        if part.doc["flags"][name].get("value") is not None:
            extra = (f' <span class="muted">(value {part.num("flags", name, "value")}, threshold '
                     f'{part.num("flags", name, "threshold")})</span>')
        items.append(f'<li class="flag" data-flag="{esc(name)}">{badge(raised)} <strong>{esc(name)}</strong>: '
                     f'{quoted(reason, part.src, pointer("flags", name, "reason"))}{extra}</li>')
    return '<ul class="flags">' + "".join(items) + "</ul>"


def _interval(part: Part, key: str) -> str:
    """The spread the result holds for ``key`` (C2ST: the range of its per-fold AUCs)."""
    if key != "c2st_auc":
        return ""
    folds = part.doc.get("c2st", {}).get("fold_aucs")
    vals = [v for v in (folds or []) if v is not None]
    if len(vals) < 2:
        return ""
    lo, hi = folds.index(min(vals)), folds.index(max(vals))
    return (f'<br><span class="muted">per-fold range {part.num("c2st", "fold_aucs", lo)} – '
            f'{part.num("c2st", "fold_aucs", hi)} over {len(folds)} folds</span>')


def _reference(part: Part, key: str) -> str:
    """What the value is read against: a reference value of the result, or the registry's reference text."""
    doc = part.doc
    info = metric(key)
    if info.goal == "reference":  # the metrics read against this one
        readers = dict.fromkeys(m.label for m in METRICS.values() if key in m.references)
        return "for " + ", ".join(esc(r) for r in readers) if readers else '<span class="muted">—</span>'
    if "trtr" in info.references and doc["trtr"] is not None:
        return f"{esc(metric('trtr').label)} {part.num('trtr')}"
    if info.uses_features and key in ("dcr_ratio", "closer_than_holdout"):
        return "novel samples: the " + quoted(doc["dcr_reference"], part.src, "/dcr_reference") + " reference"
    text = "; ".join(r for r in info.references if r != "trtr")
    return esc(text) if text else '<span class="muted">—</span>'


def metrics_table(part: Part) -> str:
    """Every summary metric with its reference and how to read it (rows and texts from the metric registry)."""
    rows = []
    for key, label, _, read in part.result.summary_rows():
        if key.startswith("diversity["):
            c = key[len("diversity["):-1]
            rows.append([esc(label), part.num("diversity", c), "1 = as varied as real", esc(read)])
        else:
            rows.append([esc(label), part.num(key) + _interval(part, key), _reference(part, key), esc(read)])
    return table(["metric", "value", "reference", "how to read"], rows, cls="metrics")


def seed_table(part: Part, per_class: str | None = None) -> str:
    """The seed report's similarity scores: the synthetic row, then the reference rows (real vs real, mean copy).

    ``per_class``: the scores of that class instead of the means over classes.
    """
    head = "".join(f'<th scope="col">{esc(h)}</th>'
                   for h in ["row"] + [metric(m).label + metric(m).arrow for m in SEED_METRICS])
    body = []
    for name, vals in part.result.seed_rows():
        keys: tuple[Any, ...] = ("seed_metrics",) if name == "synthetic" else ("references", name)
        if per_class is not None:
            if per_class not in vals.get("per_class", {}):
                continue
            keys = (*keys, "per_class", per_class)
        cells = [esc(name.replace("_", " "))] + [part.num(*keys, m) for m in SEED_METRICS]
        cls = "" if name == "synthetic" else ' class="ref"'
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="seed"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def per_class_section(part: Part) -> str:
    """Per class: size, spread ratio and the seed scores with their references (collapsed)."""
    doc = part.doc
    out = []
    counts = {}
    if "data" in doc:
        counts = dict(zip(doc["data"]["classes"], range(len(doc["data"]["classes"])), strict=True))
    rows = []
    for c in doc["diversity"]:
        n = part.num("data", "class_counts", counts[c]) if c in counts else '<span class="muted">—</span>'
        rows.append([f"<q>{esc(c)}</q>", n, part.num("diversity", c)])
    out.append(table(["class", "real training samples", "spread ratio (synthetic / real)"], rows, cls="classes"))
    per = doc["seed_metrics"].get("per_class", {})
    for c in per:
        out.append(f"<h3>class <q>{esc(c)}</q></h3>" + seed_table(part, c))
    return "".join(out)


def figures_html(part: Part) -> str:
    """The part's figures as embedded PNGs, named by their path in the result folder."""
    folder = part.src.rsplit("/", 1)[0] + "/" if "/" in part.src else ""
    return "".join(figure(png, spec.caption, folder + spec.name) for spec, png in part.figures)


def notes_html(part: Part) -> str:
    notes = part.doc["notes"]
    if not notes:
        return ""
    return "<ul>" + "".join(f"<li>{quoted(n, part.src, pointer('notes', i))}</li>" for i, n in enumerate(notes)) + "</ul>"


def evaluation_sections(part: Part, *, title_prefix: str = "") -> str:
    """Flags, metrics with references, seed table, figures, per-class details and notes of one evaluation."""
    body = [
        section(title_prefix + "Flags", flags_section(part), sid=f"{title_prefix}flags".replace(" ", "-")),
        section(title_prefix + "Metrics", metrics_table(part)
                + "<h3>Similarity to real samples of the same class, with reference rows</h3>"
                + '<p class="muted">real vs real: one half of the real data against the other half; class mean '
                  "copy: every synthetic sample replaced by its class mean. A generator should score near "
                  "real vs real; scoring like the class-mean copy means it only learned the average.</p>"
                + seed_table(part)),
        section(title_prefix + "Figures", figures_html(part)),
        section(title_prefix + "Per class", per_class_section(part), collapsed=True),
    ]
    if part.doc["notes"]:
        body.append(section(title_prefix + "Notes", notes_html(part)))
    return "".join(body)


def comparison_table(parts: list[Part]) -> str:
    """The demo's side by side: headline metrics and flags of every model (one column each)."""
    models = [p.doc.get("model") or p.src for p in parts]
    rows = []
    for key in HEADLINE:
        info = metric(key)
        rows.append([esc(info.label)] + [p.num(key) for p in parts] + [esc(info.read)])
    for name in parts[0].doc["flags"]:
        cells = [badge(p.doc["flags"].get(name, {}).get("raised")) for p in parts]
        rows.append([f"flag {esc(name)}", *cells, "ok expected"])
    return table(["metric", *models, "how to read"], rows, cls="comparison")


def data_items(part: Part, unit: str = "values", what: str = "samples") -> list[tuple[str, str]]:
    """Header lines on the data: its source, the shape of one sample (in ``unit``), the classes and their counts."""
    data = part.doc.get("data")
    if not data:
        return [("classes", ", ".join(f"<q>{esc(c)}</q>" for c in part.doc["diversity"]))]
    items = [("data set", f'<span class="cmd">{esc(data["source"] or "in memory")}</span>')]
    if part.shape():
        items.append(("one sample", part.shape() + " " + unit))
    items.append((f"classes (real training {what})", ", ".join(
        f"<q>{esc(c)}</q>: {part.num('data', 'class_counts', i)}" for i, c in enumerate(data["classes"]))))
    return items


def header_items(part: Part) -> list[tuple[str, str]]:
    """Header lines of an evaluation: data, classes, groups, model, preprocessing, seed, sizes."""
    doc = part.doc
    items = data_items(part)
    data = doc.get("data")
    if data:
        groups = (f"{part.num('data', 'n_groups')} groups (kept on one side of every split)"
                  if data.get("n_groups") is not None else "none (samples treated as independent)")
        items.append(("groups", groups))
    holdout = part.num("n_holdout") if doc["n_holdout"] is not None else "none"
    items.append(("samples", f"real {part.num('n_real')}, synthetic {part.num('n_synthetic')}, held out {holdout}"))
    items.append(("model", esc(doc.get("model") or "not recorded")))
    feats = doc.get("features")
    if isinstance(feats, dict) and "name" in feats:
        dims = ""
        if isinstance(feats.get("n_features_in"), int) and isinstance(feats.get("n_features"), int):
            dims = f" ({part.num('features', 'n_features_in')} values per sample → {part.num('features', 'n_features')} features)"
        items.append(("feature space of the distribution metrics", esc(feats["name"]) + dims))
    items.append(("preprocessing", esc(doc.get("preprocess") or "not recorded")))
    items.append(("seed", part.num("seed")))
    return items


__all__ = ["comparison_table", "data_items", "flags_sentence", "evaluation_sections", "header_items", "raised_flags", "verdict"]
