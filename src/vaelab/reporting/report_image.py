"""HTML sections of an image evaluation (``metrics.json`` of ``vaelab evaluate`` on images, the demo's image part).

The synthetic images beside the reference rows of :func:`vaelab.evaluation.image.evaluate_images`
(real vs real, class mean, training copies, blurred real), with the flags each row raised and was
expected to raise. Labels are those of the image text report (:data:`vaelab.reporting.image.SUMMARY`),
reading hints from the metric registry; numbers are
:func:`~vaelab.reporting.html.num` elements tied to the JSON.
"""

from __future__ import annotations

from typing import Any

from vaelab.reporting.html import badge, esc, pointer, quoted, section, table
from vaelab.reporting.image import SUMMARY
from vaelab.reporting.report_evaluation import (
    data_items,
    figures_html,
    flags_section,
    flags_sentence,
    notes_html,
    raised_flags,
)
from vaelab.reporting.result_folder import Part

ROW_TITLES = {"real": "real vs real", "class_mean": "class mean", "train_copies": "training copies",
              "blurred_real": "blurred real"}
# SUMMARY key -> the path of the value in a row of metrics.json
_PATHS = {"tstr_auc": ("tstr", "roc_auc"), "trtr_auc": ("trtr", "roc_auc"),
          "tstr_bacc": ("tstr", "balanced_accuracy"), "trtr_bacc": ("trtr", "balanced_accuracy")}


def _cell(part: Part, row: tuple[Any, ...], key: str) -> str:
    path = _PATHS.get(key, (key,))
    node: Any = part.doc
    for k in (*row, *path):
        if not isinstance(node, dict) or k not in node:
            return '<span class="muted">—</span>'
        node = node[k]
    return part.num(*row, *path)


def metrics_table(part: Part) -> str:
    """Every image metric: the synthetic images, then one column per reference row, and how to read it."""
    refs = list(part.doc.get("references", {}))
    rows = []
    for key, label, read in SUMMARY:  # how to read: from the metric registry
        cells = [_cell(part, (), key)] + [_cell(part, ("references", r), key) for r in refs]
        rows.append([esc(label), *cells, esc(read)])
    head = ["metric", "synthetic", *(esc(ROW_TITLES.get(r, r)) for r in refs), "how to read"]
    return table(head, rows, cls="metrics")


def reference_flags_table(part: Part) -> str:
    """Per reference row: the flags it raised, those it should raise, and whether they agree."""
    rows = []
    for name, r in part.doc.get("references", {}).items():
        raised = [k for k, f in r["flags"].items() if f["raised"] is True]
        ok = r.get("as_expected")
        state = badge(None if ok is None else not ok).replace("RAISED", "NOT AS EXPECTED")
        note = part.doc.get("reference_notes", {}).get(name)
        what = esc(ROW_TITLES.get(name, name)) + (
            f'<br><span class="muted">{quoted(note, part.src, pointer("reference_notes", name))}</span>' if note else "")
        rows.append([what, esc(", ".join(raised) or "none"), esc(", ".join(r.get("expected_flags", [])) or "none"),
                     state])
    return table(["reference row", "flags raised", "flags expected", "as expected"], rows, cls="refs")


def verdict(part: Part, name: str = "The synthetic images") -> str:
    """A paragraph in plain words: flags, distinguishability, utility, novelty — every number from the JSON."""
    doc = part.doc
    raised = raised_flags(doc)
    s = [flags_sentence(part, name)]
    if doc["c2st_auc"] is not None:
        s.append(f"A {esc(doc['classifier']['name'])} tells generated from real images with ROC AUC "
                 f"{part.num('c2st_auc')} (0.5: not told apart, 1: always told apart).")
    if isinstance(doc["tstr"], dict) and isinstance(doc["trtr"], dict):
        s.append(f"Trained on generated images only, it reaches ROC AUC {part.num('tstr', 'roc_auc')} on real "
                 f"held-out images, against {part.num('trtr', 'roc_auc')} when trained on the real training images.")
    else:
        s.append("Usefulness for training a classifier (TSTR) was not measured: it needs real held-out images.")
    if doc["dcr_ratio"] is not None:
        s.append(f"The typical generated image is {part.num('dcr_ratio')} times as far from its nearest training "
                 f"image as the reference ({quoted(doc['dcr_reference'], part.src, '/dcr_reference')}) is; "
                 "values near 1 mean new images, values near 0 copies.")
    refs = doc.get("references", {})
    off = [k for k, r in refs.items() if r.get("as_expected") is False]
    if refs:
        s.append("Every reference row raised the flags it should." if not off else
                 "Reference rows that did not raise the flags they should: "
                 + ", ".join(esc(ROW_TITLES.get(k, k)) for k in off) + " — read the flags with care.")
    cls = "verdict warn" if raised else "verdict"
    return f'<p class="{cls}" id="verdict">{" ".join(s)}</p>'


def header_items(part: Part) -> list[tuple[str, str]]:
    """Header lines of an image evaluation: data, sample shape, classes, sizes, feature space, classifier."""
    doc = part.doc
    items = data_items(part, "pixels", "images")
    holdout = part.num("n_holdout") if doc["n_holdout"] is not None else "none"
    items.append(("images", f"real {part.num('n_real')}, synthetic {part.num('n_synthetic')}, held out {holdout}"))
    items.append(("model", esc(doc.get("model") or "not recorded")))
    feats = doc["features"]
    dims = ""
    if isinstance(feats.get("n_features_in"), int) and isinstance(feats.get("n_features"), int):
        dims = f" ({part.num('features', 'n_features_in')} pixels per image → {part.num('features', 'n_features')} features)"
    items.append(("feature space of the distribution metrics", esc(feats["name"]) + dims))
    items.append(("classifier (C2ST, TSTR)", esc(doc["classifier"]["name"])))
    items.append(("seed", part.num("seed")))
    return items


def per_class_table(part: Part) -> str:
    rows = [[f"<q>{esc(c)}</q>", part.num("diversity", c)] for c in part.doc["diversity"]]
    return table(["class", "spread ratio (synthetic / real, features)"], rows, cls="classes")


def image_sections(part: Part, *, title_prefix: str = "") -> str:
    """Flags, metrics beside the reference rows, figures, per-class spread and notes of one image evaluation."""
    sid = title_prefix.replace(" ", "-").replace(":", "")
    refs = ("<h3>Flags of the reference rows</h3>" + reference_flags_table(part)
            if part.doc.get("references") else "")
    body = [
        section(title_prefix + "Flags", flags_section(part), sid=f"{sid}flags"),
        section(title_prefix + "Metrics", metrics_table(part) + refs),
        section(title_prefix + "Figures", figures_html(part)),
        section(title_prefix + "Per class", per_class_table(part), collapsed=True),
    ]
    if part.doc["notes"]:
        body.append(section(title_prefix + "Notes", notes_html(part)))
    return "".join(body)


__all__ = ["header_items", "image_sections", "metrics_table", "reference_flags_table", "verdict"]
