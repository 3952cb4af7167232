"""HTML sections of an audio reconstruction study (``reconstruction.json`` of ``vaelab reconstruct``) and of an
audio evaluation (``metrics.json`` of ``vaelab evaluate`` on audio folders, the demo's ``audio/metrics.json``).

The verdict says which enhancements help against the plain VAE (``none``) and against ``eq`` on the
> 4 kHz log-spectral distance, with the paired 95 % bootstrap intervals, and how far the plain VAE is from
the vocoder-only ceiling. Labels and reading hints come from the metric registry; every number is a
:func:`~vaelab.reporting.html.num` element tied to the JSON.
"""

from __future__ import annotations

from vaelab.metrics.registry import RECONSTRUCTION_METRICS, metric, metrics_for
from vaelab.reporting.html import esc, quoted, section, table
from vaelab.reporting.report_evaluation import figures_html
from vaelab.reporting.result_folder import Part

SPECTRAL = ("lsd_full", "lsd_low", "lsd_mid", "lsd_high", "mel_distance", "mrstft")
KEPT_AND_WAVE = ("retention_low_db", "retention_mid_db", "retention_high_db", "snr_db", "correlation")
ROW_TITLES = {"front_end": "mel step only (original phase)", "vocoder": "vocoder only (no VAE)",
              "none": "VAE, no enhancement (none)", "eq": "VAE + eq (per-bin gain)"}


def _title(method: str) -> str:
    return ROW_TITLES.get(method, f"VAE + {method}")


def _head(key: str) -> str:
    info = metric(key)
    return info.short_label + (f" ({info.unit})" if info.unit else "") + info.arrow


def _ci(part: Part, *keys: str, mean: str = "mean_diff") -> str:
    """``+0.12 [0.05, 0.2]``: a mean and its 95 % interval, each tied to the JSON."""
    return (f"{part.num(*keys, mean, digits=3, signed=True)} "
            f"[{part.num(*keys, 'ci_low', digits=3, signed=True)}, {part.num(*keys, 'ci_high', digits=3, signed=True)}]")


def _rows(part: Part) -> list[str]:
    return ["front_end", "vocoder", *part.doc["methods"]]


def means_table(part: Part, keys: tuple[str, ...], *, with_ci: bool = False) -> str:
    """One row per method (the two reference rows first), the mean over clips of each metric of ``keys``."""
    doc = part.doc
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in ["method", *(_head(k) for k in keys)])
    body = []
    for m in _rows(part):
        cells = [esc(_title(m))]
        for k in keys:
            band = k[len("retention_"):-len("_db")] if k.startswith("retention_") else None
            if with_ci and band and m in doc["retention_ci"]:
                cells.append(_ci(part, "retention_ci", m, band, mean="mean"))
            else:
                cells.append(part.num("means", m, k, digits=3))
        cls = ' class="ref"' if m in ("front_end", "vocoder") else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="metrics"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def comparisons_table(part: Part, keys: tuple[str, ...]) -> str:
    """Paired differences (method − reference) with 95 % bootstrap intervals; bold where the interval excludes 0."""
    doc = part.doc
    rows = []
    for name, comp in doc["comparisons"].items():
        method, _, ref = name.partition("_vs_")
        cells = [f"{esc(method)} − {esc(ref)}"]
        for k in keys:
            c = _ci(part, "comparisons", name, k)
            cells.append(f"<strong>{c}</strong>" if comp[k]["excludes_zero"] else c)
        rows.append(cells)
    return table(["difference", *(_head(k) for k in keys)], rows, cls="metrics")


def how_to_read() -> str:
    return '<dl class="meta">' + "".join(
        f"<dt>{esc(metric(k).label)}</dt><dd>{esc(metric(k).read)}</dd>" for k in RECONSTRUCTION_METRICS) + "</dl>"


def verdict(part: Part) -> str:
    """Which enhancements help (vs none and vs eq, > 4 kHz LSD, 95 % intervals) and the vocoder-only ceiling."""
    doc = part.doc
    methods = doc["methods"]
    s = [f"The vocoder alone ({esc(doc['vocoder']['name'])} on the original log-mel, no VAE: the best any VAE with "
         f"this vocoder can do) has LSD {part.num('means', 'vocoder', 'lsd_full', digits=3)} dB over the full band and "
         f"{part.num('means', 'vocoder', 'lsd_high', digits=3)} dB above 4 kHz."]
    base = "none" if "none" in methods else methods[0]
    ratio = doc["targets"].get(f"{base}_lsd_ratio_to_vocoder")
    s.append(f"{esc(_title(base))} reaches {part.num('means', base, 'lsd_full', digits=3)} dB and "
             f"{part.num('means', base, 'lsd_high', digits=3)} dB"
             + (f" ({part.num('targets', f'{base}_lsd_ratio_to_vocoder', digits=3)} × the vocoder's full-band LSD)."
                if ratio is not None else "."))
    if "eq" in methods and "none" in methods:
        s.append(f"eq changes the > 4 kHz LSD by {_ci(part, 'comparisons', 'eq_vs_none', 'lsd_high')} dB against "
                 "none (95 % interval).")
    helps = doc["targets"]["enhancement_helps_vs_eq"]
    others = [m for m in methods if m not in ("none", "eq")]
    for m in others:
        parts = [f"{_ci(part, 'comparisons', f'{m}_vs_{r}', 'lsd_high')} dB against {r}"
                 for r in ("none", "eq") if f"{m}_vs_{r}" in doc["comparisons"]]
        if parts:
            s.append(f"{esc(m)} changes the > 4 kHz LSD by " + " and ".join(parts) + ".")
    judged = [m for m in others if m in helps]
    if judged:
        good = [m for m in judged if helps[m]]
        rule = ("(it must lower the > 4 kHz LSD against both none and eq with the 95 % interval below 0, without a "
                "significantly worse mel distance or < 4 kHz LSD)")
        if good:
            s.append("Enhancements that help: <strong>" + ", ".join(esc(m) for m in good) + "</strong>; "
                     + ("the others do not " if len(good) < len(judged) else "") + rule + ".")
        else:
            s.append(f"<strong>No enhancement helps</strong> {rule}.")
    elif not others:
        s.append("No enhancement besides none / eq was run (--enhance).")
    cls = "verdict"
    return f'<p class="{cls}" id="verdict">{" ".join(s)}</p>'


def header_items(part: Part) -> list[tuple[str, str]]:
    doc = part.doc
    n = part.num
    params = []
    for m in doc["methods"]:
        used = doc["parameters"].get(m, {})
        params.append(esc(m) + (" (" + ", ".join(f"{esc(k)} {n('parameters', m, k, digits=3)}" for k in used) + ")"
                                if used else ""))
    return [
        ("audio folder", f'<span class="cmd">{esc(doc["input"])}</span> ({n("n_clips")} clips)'),
        ("run", f'<span class="cmd">{esc(doc["run"])}</span>'),
        ("log-mel", f"{n('mel', 'sample_rate')} Hz, {n('mel', 'duration')} s clips, {n('mel', 'n_mels')} mel bins, "
                    f"n_fft {n('mel', 'n_fft')}, hop {n('mel', 'hop')}"),
        ("vocoder", f"{esc(doc['vocoder']['name'])}, {n('vocoder', 'n_iter')} iterations, momentum "
                    f"{n('vocoder', 'momentum')}, seed {n('vocoder', 'seed')}"),
        ("methods", ", ".join(params) + ' <span class="muted">(a method without a value in --enhance uses the '
                                        "value tuned on the run's training clips)</span>"),
        ("intervals", quoted(doc["conventions"]["bootstrap"], part.src, "/conventions/bootstrap")),
    ]


def per_clip_table(part: Part, key: str = "lsd_high") -> str:
    doc = part.doc
    methods = [m for m in _rows(part) if m in doc["per_clip"]]
    rows = []
    for i, f in enumerate(doc["files"]):
        rows.append([f'<span class="file">{esc(f)}</span>']
                    + [part.num("per_clip", m, i, key, digits=3) if i < len(doc["per_clip"][m]) else "—"
                       for m in methods])
    return table(["clip", *methods], rows, cls="classes", caption=esc(_head(key)) + " per clip")


def body(part: Part) -> str:
    doc = part.doc
    out = [verdict(part)]
    out.append(section("Metrics per method (mean over clips)",
                       '<p class="muted">Reference rows: the mel step alone (the original phase: what the mel '
                       "representation loses) and the vocoder alone (the ceiling). Lower distances are better; "
                       "0 dB kept energy is ideal.</p>"
                       + "<h3>Spectral distances</h3>" + means_table(part, SPECTRAL)
                       + "<h3>Band energy kept (with 95 % bootstrap intervals) and waveform scores</h3>"
                       + means_table(part, KEPT_AND_WAVE, with_ci=True)
                       + f'<p class="muted">Note on phase: {quoted(doc["conventions"]["phase"], part.src, "/conventions/phase")}</p>',
                       sid="metrics"))
    out.append(section("Paired differences with 95 % bootstrap intervals",
                       '<p class="muted">Method minus reference, per clip, averaged; <strong>bold</strong>: the '
                       "interval excludes 0. For distances a negative difference is an improvement.</p>"
                       + comparisons_table(part, SPECTRAL)
                       + "<h3>Band energy kept and waveform scores</h3>" + comparisons_table(part, KEPT_AND_WAVE),
                       sid="intervals"))
    out.append(section("Figures", figures_html(part)))
    out.append(section("How to read the metrics", how_to_read()
                       + f'<p class="muted">{quoted(doc["conventions"]["lsd"], part.src, "/conventions/lsd")}</p>'))
    out.append(section("Per clip", per_clip_table(part) + per_clip_table(part, "lsd_full"), collapsed=True))
    return "".join(out)


def generation_table(part: Part) -> str:
    """The demo's audio generation metrics (``audio/metrics.json``) in its two feature spaces, with how to read them."""
    doc = part.doc
    rows = []
    audio = metrics_for("audio")  # the registry's entries marked for audio: labels and how to read
    for k in ("c2st_auc", "frechet", "precision", "recall", "density", "coverage", "dcr_ratio", "closer_than_holdout"):
        if k not in audio:
            continue
        cells = [part.num(sp, k, digits=3) if k in doc[sp] else '<span class="muted">—</span>' for sp in ("cnn", "melstats")]
        rows.append([esc(metric(k).short_label), *cells, esc(metric(k).read)])
    ref = [part.num(sp, "c2st_auc_real_vs_real", digits=3) if sp in doc and "c2st_auc_real_vs_real" in doc[sp]
           else "—" for sp in ("cnn", "melstats")]
    rows.append(["C2ST AUC, held-out real vs training real", *ref, "the value a generator can hope for (n/a: too few "
                 "clips for 5 folds)"])
    return table(["metric", esc(doc["features"]["cnn"]["name"]), esc(doc["features"]["melstats"]["name"]),
                  "how to read"], rows, cls="metrics")


def demo_section(rec: Part, gen: Part, *, verdict_first: bool = False) -> str:
    """The demo's audio part on the demo page: the reconstruction verdict, tables and figures; the generation metrics."""
    from vaelab.reporting.report_evaluation import flags_section

    v = verdict(rec)
    if not verdict_first:
        v = v.replace('id="verdict"', "")
    folder = rec.src.rsplit("/", 1)[0]
    out = ('<p class="muted">Synthesised tones, chirps and noise bursts (files under <span class="file">audio/</span>): '
           "a vaelab-audio run reconstructs the held-out clips and generates new ones. The full reconstruction page "
           f'is <span class="file">{esc(folder)}/report.html</span>.</p>')
    out += section("Audio reconstruction", v + "<h3>Spectral distances (mean over clips)</h3>"
                   + means_table(rec, SPECTRAL) + "<h3>Band energy kept (95 % bootstrap intervals)</h3>"
                   + means_table(rec, KEPT_AND_WAVE[:3], with_ci=True) + figures_html(rec), collapsed=False)
    util = utility_sentence(gen)
    out += section("Audio generation", (f"<p>{util}</p>" if util else "") + generation_table(gen) + "<h3>Flags</h3>"
                   + flags_section(gen), collapsed=False)
    return section("Audio part: synthesised clips", out, sid="audio", collapsed=False)


def utility_sentence(gen: Part) -> str:
    """TSTR against TRTR of an audio evaluation, or ``""`` when it was not measured (no holdout)."""
    if gen.doc.get("tstr") is None or gen.doc.get("trtr") is None:
        return ""
    return (f"Trained on generated clips only, a small CNN reaches balanced accuracy {gen.num('tstr', digits=3)} "
            f"on the held-out clips, against {gen.num('trtr', digits=3)} when trained on the real training clips.")


def evaluation_verdict(part: Part) -> str:
    """The verdict of ``vaelab evaluate`` on audio: flags, C2ST against its real-vs-real reference, TSTR, DCR."""
    from vaelab.reporting.report_evaluation import flags_sentence, raised_flags

    doc = part.doc
    s = [flags_sentence(part, "The synthetic clips")]
    for sp in ("cnn", "melstats"):
        if doc[sp]["c2st_auc"] is None:
            continue
        ref = doc[sp].get("c2st_auc_real_vs_real")
        s.append(f"In the {esc(doc['features'][sp]['name'])} a random forest tells them from real clips with ROC AUC "
                 f"{part.num(sp, 'c2st_auc', digits=3)}"
                 + (f", against {part.num(sp, 'c2st_auc_real_vs_real', digits=3)} for real clips of unseen sources "
                    "(the real-vs-real reference)." if ref is not None else " (no real-vs-real reference: it needs "
                    "enough held-out clips)."))
    s.append(utility_sentence(part) or "Usefulness for training a classifier (TSTR) was not measured: it needs "
             "held-out clips (--holdout).")
    if doc["cnn"].get("dcr_ratio") is not None:
        s.append(f"The typical synthetic clip is {part.num('cnn', 'dcr_ratio', digits=3)} times as far from its "
                 "nearest training clip as real clips not trained on are (CNN features); values near 1 mean new "
                 "clips, values near 0 copies.")
    cls = "verdict warn" if raised_flags(doc) else "verdict"
    return f'<p class="{cls}" id="verdict">{" ".join(s)}</p>'


def evaluation_header_items(part: Part) -> list[tuple[str, str]]:
    """Header lines of an audio evaluation: the folders compared, the protocol, the log-mel, sizes, feature spaces."""
    doc = part.doc
    n = part.num

    def folder(key: str) -> str:
        return f'<span class="cmd">{esc(doc[key])}</span>' if doc[key] else '<span class="muted">none</span>'

    items = [("real clips (training)", f"{folder('real')} ({n('n_real')} clips)"),
             ("synthetic clips", f"{folder('synthetic')} ({n('n_synthetic')} clips)"),
             ("held-out clips (unseen sources)", folder("holdout") + (f" ({n('n_holdout')} clips)"
                                                                      if doc["n_holdout"] is not None else "")),
             ("reference clips (training sources)", folder("reference") + (
                 f" ({n('n_reference')} clips)" if doc.get("n_reference") is not None else ""))]
    if doc.get("protocol"):
        items.append(("compared against", quoted(doc["protocol"], part.src, "/protocol")))
    items += [("log-mel", f"{n('mel', 'sample_rate')} Hz, {n('mel', 'duration')} s clips, {n('mel', 'n_mels')} mel "
                          f"bins, n_fft {n('mel', 'n_fft')}, hop {n('mel', 'hop')}"),
              ("feature spaces", "; ".join(f"{esc(doc['features'][sp]['name'])} ({n('features', sp, 'n_features')} "
                                           "features)" for sp in ("cnn", "melstats"))),
              ("seed", n("seed"))]
    return items


def evaluation_body(part: Part) -> str:
    """Verdict, flags, metrics in both feature spaces with the real-vs-real reference row, figures."""
    from vaelab.reporting.report_evaluation import flags_section

    util = utility_sentence(part)
    return (evaluation_verdict(part)
            + section("Flags", flags_section(part), sid="flags")
            + section("Metrics", generation_table(part) + (f"<p>{util}</p>" if util else ""), sid="metrics")
            + section("Figures", figures_html(part)))


__all__ = ["body", "comparisons_table", "demo_section", "evaluation_body", "evaluation_header_items",
           "evaluation_verdict", "generation_table", "header_items", "means_table", "verdict"]
