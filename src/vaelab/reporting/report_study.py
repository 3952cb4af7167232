"""HTML sections of the studies: ``ablation.json`` (``vaelab ablate``) and ``augment.json`` (``vaelab augment``)."""

from __future__ import annotations

from typing import Any

from vaelab.metrics.registry import metric
from vaelab.reporting.html import esc, pointer, quoted, section, table
from vaelab.reporting.report_evaluation import figures_html
from vaelab.reporting.result_folder import Part, augment_scores

#: ablation tests are uncorrected (ablation.json says so); the page calls p below this "significant"
ABLATION_ALPHA = 0.05



def _mean_sd(part: Part, *keys: Any) -> str:
    """``mean ± sd`` of a cell summary, with its failed count when any."""
    s: Any = part.doc
    for k in keys:
        s = s[k]
    txt = part.num(*keys, "mean")
    if s["mean"] is not None and s["std"] is not None:
        txt += f" ± {part.num(*keys, 'std', digits=2)}"
    if s["n_failed"]:
        txt += f' <span class="fail-count">[{part.num(*keys, "n_failed")} of {part.num(*keys, "n")} failed]</span>'
    return txt


def _cells_line(part: Part) -> str:
    what = "model, seed, fold" if part.doc.get("command") == "ablate" else "generator or baseline, seed, fold"
    return (f"{part.num('folds')} folds × {part.num('seeds')} seed(s), paired across models; "
            f"{part.num('n_cells')} cells ({what}) in all, {part.num('n_failed_cells')} failed")


def failures_section(part: Part, columns: list[str]) -> str:
    fails = part.doc["failures"]
    if not fails:
        return section("Failed cells", '<p id="failures">No cell and no metric failed.</p>')
    rows = []
    for i, f in enumerate(fails):
        rows.append([esc("—" if f.get(c) is None else f.get(c)) for c in columns]
                    + [quoted(f["error"], part.src, pointer("failures", i, "error"))])
    body = (f'<p id="failures" class="fail">{len(fails)} failure(s); their values are missing from the means '
            "(counted in “failed”, never dropped silently).</p>" + table([*columns, "error"], rows, cls="fail"))
    return section("Failed cells", body)


def notes_section(part: Part) -> str:
    notes = part.doc["notes"]
    items = "".join(f"<li>{quoted(n, part.src, pointer('notes', i))}</li>" for i, n in enumerate(notes))
    return section("Notes", f"<ul>{items}</ul>") if notes else ""


# ---------------------------------------------------------------------------------------------- ablation


def ablation_verdict(part: Part) -> str:
    """Per model: the metrics on which it differs significantly from the reference model, and in which direction."""
    doc = part.doc
    ref = doc["reference_model"]
    s = []
    tests = doc["tests_vs_reference"]
    for n in doc["models"]:
        if n == ref or n not in tests:
            continue
        better, worse, other = [], [], []
        for m, t in tests[n].items():
            if t["p"] >= ABLATION_ALPHA:
                continue
            a, b = part.result.summary(n, m)["mean"], part.result.summary(ref, m)["mean"]
            good = None if a is None or b is None else metric(m).better(a, b)
            txt = (f"{esc(metric(m).label)} ({part.num('results', n, m, 'mean')} vs "
                   f"{part.num('results', ref, m, 'mean')}, p = {part.num('tests_vs_reference', n, m, 'p', digits=2)})")
            (better if good else worse if good is False else other).append(txt)
        parts = []
        if better:
            parts.append("better on " + "; ".join(better))
        if worse:
            parts.append("worse on " + "; ".join(worse))
        if other:
            parts.append("different on " + "; ".join(other))
        n_same = len(tests[n]) - len(better) - len(worse) - len(other)
        if parts:
            s.append(f"<strong>{esc(n)}</strong> is " + ", ".join(parts)
                     + f"; no significant difference on the other {n_same} metrics.")
        else:
            s.append(f"<strong>{esc(n)}</strong> shows no significant difference from {esc(ref)} on any of the "
                     f"{n_same} metrics tested.")
    min_ps = [t["min_p_possible"] for ts in tests.values() for t in ts.values() if t["min_p_possible"] is not None]
    lead = (f"Every model against the reference <strong>{esc(ref)}</strong>, paired over the "
            f"(seed, fold) cells (two-sided Wilcoxon signed-rank, uncorrected p &lt; {ABLATION_ALPHA:g}): ")
    tail = []
    if min_ps and min(min_ps) >= ABLATION_ALPHA:
        tail.append(f"With this few paired cells no difference can reach p &lt; {ABLATION_ALPHA:g}; "
                    "run more folds × seeds before drawing conclusions.")
    if doc["n_failed_cells"] or doc["failures"]:
        tail.append(f"Warning: {part.num('n_failed_cells')} cell(s) failed and {len(doc['failures'])} failure(s) are "
                    "listed below; their values are missing from the means.")
    cls = "verdict warn" if doc["failures"] else "verdict"
    return f'<p class="{cls}" id="verdict">{lead}{" ".join(s)} {" ".join(tail)}</p>'


def ablation_table(part: Part) -> str:
    doc = part.doc
    ref = doc["reference_model"]
    head = ["metric", *(f"{n} (reference)" if n == ref else n for n in doc["models"]), "how to read"]
    rows = []
    for m in part.result.metrics:
        cells = [esc(metric(m).label)]
        for n in doc["models"]:
            c = _mean_sd(part, "results", n, m)
            if n != ref and part.result.p_vs_reference(n, m) is not None:
                c += f'<br><span class="muted">p = {part.num("tests_vs_reference", n, m, "p", digits=2)}</span>'
            cells.append(c)
        cells.append(esc(metric(m).read))
        rows.append(cells)
    return table(head, rows, cls="study", caption="mean ± sd over the cells; p: paired Wilcoxon against the reference")


def ablation_tests(part: Part) -> str:
    rows = []
    for n, ts in part.doc["tests_vs_reference"].items():
        for m in ts:
            k = ("tests_vs_reference", n, m)
            rows.append([esc(n), esc(metric(m).label), part.num(*k, "diff_mean", signed=True), part.num(*k, "p", digits=2),
                         part.num(*k, "n_pairs"), part.num(*k, "min_p_possible", digits=2)])
    return table(["model", "metric", "mean difference vs reference", "p", "pairs", "smallest possible p"], rows)


def ablation_cells(part: Part) -> str:
    out = []
    for n in part.doc["models"]:
        rows = []
        for m in part.result.metrics:
            vals = part.result.summary(n, m)["values"]
            rows.append([esc(metric(m).label)] + [part.num("results", n, m, "values", i) for i in range(len(vals))])
        width = max((len(part.result.summary(n, m)["values"]) for m in part.result.metrics), default=0)
        out.append(f"<h3>{esc(n)}</h3>" + table(["metric", *(f"cell {i + 1}" for i in range(width))], rows))
    return "".join(out)


def ablation_body(part: Part) -> str:
    figs = figures_html(part)
    return "".join([
        ablation_verdict(part),
        section("Metrics per model", ablation_table(part)),
        section("Paired tests against the reference model", ablation_tests(part)),
        failures_section(part, ["model", "seed", "fold", "metric"]),
        section("Figures", figs),
        section("Values per (seed, fold) cell", ablation_cells(part), collapsed=True),
        notes_section(part),
    ])


def ablation_header(part: Part) -> list[tuple[str, str]]:
    doc = part.doc
    items = [("models", ", ".join(esc(n) for n in doc["models"]) + f" (reference: {esc(doc['reference_model'])})"),
             ("design", _cells_line(part))]
    feats = doc.get("settings", {}).get("features") if isinstance(doc.get("settings"), dict) else None
    if isinstance(feats, str):
        items.append(("feature space of the distribution metrics", esc(feats) + " (fitted on each training part)"))
    return items


# ---------------------------------------------------------------------------------------------- augment


def augment_verdict(part: Part) -> str:
    doc = part.doc
    cls = "verdict warn" if doc["failures"] else "verdict"
    return (f'<div class="{cls}" id="verdict"><p>{quoted(doc["verdict"], part.src, "/verdict")}</p>'
            f'<p>Recommended augmentation factor: <strong>{quoted(doc["recommended_factor"], part.src, "/recommended_factor")}'
            "</strong> (0 = no augmentation).</p></div>")


def augment_table(part: Part, m: str) -> str:
    doc = part.doc
    rows = []
    for i, k in enumerate(doc["factors"]):
        cells = [esc(k)]
        for c in doc["classifiers"]:
            txt = _mean_sd(part, "results", k, c, m)
            if i > 0:
                txt += (f'<br><span class="muted">p (Holm) vs 0 = '
                        f'{part.num("tests", k, c, "vs_0", m, "p_holm", digits=2)}</span>')
            cells.append(txt)
        if m == "balanced_accuracy":
            cells.append(part.num("mean_balanced_accuracy_over_classifiers", k))
        rows.append(cells)
    head = ["factor", *doc["classifiers"]] + (["mean over classifiers"] if m == "balanced_accuracy" else [])
    info = metric(m)
    return table(head, rows, cls="study", caption=f"{esc(info.label)}: {esc(info.read)}; mean ± sd over "
                 f"{part.num('n_pairs')} (seed, fold) cells")


def best_classical_table(part: Part) -> str:
    rows = []
    for c, b in part.doc["best_classical"].items():
        if b is None:
            rows.append([esc(c), '<span class="muted">none</span>', "", "", ""])
            continue
        k = ("best_classical", c)
        rows.append([esc(c), f"{esc(b['generator'])} × {esc(b['factor'])}", part.num(*k, "balanced_accuracy"),
                     part.num(*k, "roc_auc"), part.num(*k, "vs_0", "p", digits=2)])
    return table(["classifier", "best classical augmentation", "balanced accuracy", "ROC AUC",
                  "p vs no augmentation (uncorrected)"], rows)


def augment_tests(part: Part) -> str:
    rows = []
    for k, per in part.doc["tests"].items():
        for c, against in per.items():
            for what, ms in against.items():
                for m, t in ms.items():
                    if t is None:
                        continue
                    key = ("tests", k, c, what, m)
                    rows.append([esc(k), esc(c), esc({"vs_0": "no augmentation"}.get(what, "best classical")),
                                 esc(metric(m).label), part.num(*key, "diff_mean", signed=True),
                                 part.num(*key, "p", digits=2), part.num(*key, "p_holm", digits=2)])
    return table(["factor", "classifier", "against", "metric", "mean difference", "p", "p (Holm)"], rows)


def augment_classical(part: Part) -> str:
    out = []
    for g, per in part.result.generator_results()[1:]:
        rows = []
        for k, cs in per.items():
            rows.append([esc(k)] + [_mean_sd(part, "classical_results", g, k, c, "balanced_accuracy") for c in cs])
        clfs = list(next(iter(per.values()), {}))
        out.append(f"<h3>{esc(g)}</h3>" + table(["factor", *clfs], rows, caption="balanced accuracy, mean ± sd"))
    return "".join(out) or "<p>No classical augmentation was run.</p>"


def augment_compared(part: Part) -> str:
    """The other generators of the study (``--compare``): balanced accuracy and p vs the model."""
    out = []
    model = part.doc["model"]
    for g, per in (part.doc.get("compared_results") or {}).items():
        rows = []
        for k, cs in per.items():
            rows.append([esc(k)] + [_mean_sd(part, "compared_results", g, k, c, "balanced_accuracy") + " (p "
                                    + part.num("compared_tests", g, k, c, "vs_model", "balanced_accuracy", "p_holm",
                                               digits=2) + ")" for c in cs])
        clfs = list(next(iter(per.values()), {}))
        out.append(f"<h3>{esc(g)}</h3>" + table(["factor", *clfs], rows, caption=(
            f"balanced accuracy, mean ± sd (p: Holm-corrected paired Wilcoxon vs {esc(model)} at the same factor)")))
    return "".join(out)


def augment_body(part: Part) -> str:
    doc = part.doc
    figs = figures_html(part)
    sig = []
    for what, word in (("significant_gain", "raises"), ("significant_loss", "lowers")):
        for k, clfs in doc.get(what, {}).items():
            if clfs:
                sig.append(f"<li>factor {esc(k)} significantly {word} balanced accuracy for "
                           f"{', '.join(esc(c) for c in clfs)}</li>")
    sig_html = f"<ul>{''.join(sig)}</ul>" if sig else "<p>No factor changes balanced accuracy significantly.</p>"
    return "".join([
        augment_verdict(part),
        section("Balanced accuracy per factor", augment_table(part, "balanced_accuracy") + sig_html),
        *[section(f"{metric(m).label[:1].upper()}{metric(m).label[1:]} per factor", augment_table(part, m))
          for m in augment_scores(part.doc) if m != "balanced_accuracy"],
        section("Best classical augmentation per classifier", best_classical_table(part)),
        failures_section(part, ["generator", "seed", "fold", "factor", "classifier"]),
        section("Figures", figs),
        section("Paired tests", augment_tests(part), collapsed=True),
        section("Classical augmentations", augment_classical(part), collapsed=True),
        *([section("Other generators in the same study", augment_compared(part))]
          if part.doc.get("compared_results") else []),
        notes_section(part),
    ])


def augment_header(part: Part) -> list[tuple[str, str]]:
    doc = part.doc
    return [("model studied", esc(doc["model"])),
            ("factors", ", ".join(esc(k) for k in doc["factors"])),
            ("classifiers", ", ".join(esc(c) for c in doc["classifiers"])),
            ("classical augmentations", ", ".join(esc(g) for g in doc["classical"]) or "none"),
            ("design", _cells_line(part) + f"; significance level {part.num('alpha')}, Holm-corrected over classifiers")]


__all__ = ["ablation_body", "ablation_header", "augment_body", "augment_header"]
