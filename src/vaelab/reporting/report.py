"""``vaelab report``: one self-contained HTML page for a result folder (evaluate, demo, ablate, augment,
reconstruct, latent, inpaint and restore with ``--report``).

:func:`render_report` checks the folder (:func:`~vaelab.reporting.result_kinds.load_folder`)
and returns the page; :func:`write_report_html` writes it atomically (``report.html`` in the folder
unless told otherwise). A damaged folder raises :class:`~vaelab.core.errors.InputError` and nothing is
written.
"""

from __future__ import annotations

from pathlib import Path

from vaelab import __version__
from vaelab.core.atomic import write_text
from vaelab.core.errors import InputError
from vaelab.reporting.html import definition_list, esc, page, section
from vaelab.reporting.result_folder import Part, ResultFolder
from vaelab.reporting.result_kinds import load_folder

TITLES = {"evaluate": "Evaluation of synthetic data", "demo": "vaelab demo: synthetic coffee spectra, evaluated",
          "ablate": "Ablation: generators compared", "augment": "Augmentation study",
          "image": "Evaluation of synthetic images", "demo-images": "vaelab demo: synthetic digit images, evaluated",
          "demo-audio": "vaelab demo: synthesised audio clips, reconstructed and generated",
          "reconstruct": "Audio reconstruction: VAE and vocoder against the original clips",
          "evaluate-audio": "Evaluation of synthetic audio clips",
          "latent": "Latent space of an image VAE", "inpaint": "Image completion", "restore": "Image denoising"}


def _provenance(part: Part, kind: str) -> list[tuple[str, str]]:
    doc = part.doc
    cmd = doc.get("command_line")
    return [("vaelab version", esc(doc.get("vaelab_version", "not recorded"))),
            ("command line", f'<code class="cmd">{esc(cmd)}</code>' if cmd else
             '<span class="muted">not recorded (written by a library call or an older vaelab)</span>')]


def _study_data(part: Part) -> list[tuple[str, str]]:
    data = part.doc["data"]
    n = part.num

    groups = (f"{n('data', 'n_groups')} groups (each kept on one side of every split)"
              if data.get("n_groups") is not None else "none (samples treated as independent)")
    return [("data set", f'<span class="cmd">{esc(data["source"] or "in memory")}</span> '
                         f"({n('data', 'n')} samples)"),
            *([("one sample", part.shape() + " values")] if part.shape() else []),
            ("classes (samples)", ", ".join(f"<q>{esc(c)}</q>: {n('data', 'class_counts', i)}"
                                             for i, c in enumerate(data["classes"]))),
            ("groups", groups),
            ("preprocessing", esc(part.doc["preprocess"]) + " (fitted on each training part only)"),
            ("seeds", f"{n('seeds')} (" + ("seed 0" if part.doc["seeds"] == 1 else
                                           f"seeds 0 … {part.doc['seeds'] - 1}") + ", a new fold partition each)")]


def _image_demo(folder: ResultFolder, *, verdict_first: bool = False) -> str:
    """The demo's image part (``images/``), when the demo ran it: each model's image evaluation
    (``verdict_first``: the first model's verdict is the page's verdict)."""
    from vaelab.reporting import report_image as im

    out = ""
    for i, p in enumerate(folder.image_parts):
        model = p.doc.get("model") or p.src
        v = im.verdict(p, f"{model}'s images")
        out += section(f"Images: {model}", (v if verdict_first and i == 0 else v.replace('id="verdict"', ""))
                       + im.image_sections(p, title_prefix=f"images, {model}: "), collapsed=False)
    if out and folder.restoration is not None:
        from vaelab.reporting.report_latent_images import demo_restoration

        out += section("Images: completion and denoising", demo_restoration(folder.restoration), sid="restoration",
                       collapsed=False)
    if not out:
        return ""
    return section("Image part: scikit-learn's 8x8 digits", '<p class="muted">The same job on images '
                   "(files under <span class=\"file\">images/</span>).</p>" + out, sid="images", collapsed=False)


def _audio_demo(folder: ResultFolder, *, verdict_first: bool = False) -> str:
    """The demo's audio part (``audio/``), when the demo ran it."""
    if not folder.audio_parts:
        return ""
    from vaelab.reporting.report_audio import demo_section

    rec, gen = folder.audio_parts
    return demo_section(rec, gen, verdict_first=verdict_first)


def render(folder: ResultFolder, name: str | None = None) -> str:
    """The HTML page of a checked result folder (``name``: the folder's name on the page; default its own)."""
    from vaelab.reporting import report_evaluation as ev
    from vaelab.reporting import report_study as st

    main = folder.main
    kind = folder.kind
    name = folder.path.name if name is None else name
    if kind == "evaluate" and main.result is None:  # an image evaluation
        from vaelab.reporting import report_image as im

        head = im.header_items(main)
        body = im.verdict(main, f"{main.doc['model']}'s images" if main.doc.get("model") else "The synthetic images")
        body += im.image_sections(main)
    elif kind == "demo-images":
        from vaelab.reporting import report_image as im

        head = im.header_items(main)
        body = _image_demo(folder, verdict_first=True)
    elif kind == "demo-audio":
        from vaelab.reporting import report_audio as au

        head = au.header_items(main)
        body = _audio_demo(folder, verdict_first=True)
    elif kind in ("evaluate", "demo"):
        head = ev.header_items(main)
        body = ev.verdict(main, f"{main.doc['model']}'s synthetic data" if main.doc.get("model")
                          else "The synthetic data")
        if len(folder.parts) > 1:
            cmp = "".join(ev.verdict(p, f"{p.doc.get('model') or p.src}'s synthetic data").replace(
                'id="verdict"', "") for p in folder.parts[1:])
            body += section("Side by side on the same split", ev.comparison_table(folder.parts) + cmp, sid="comparison")
        body += ev.evaluation_sections(main)
        for p in folder.parts[1:]:
            name = p.doc.get("model") or p.src
            body += section(f"Comparison model: {name}", ev.evaluation_sections(p, title_prefix=f"{name}: "),
                            collapsed=False)
        body += _image_demo(folder)
        body += _audio_demo(folder)
    elif kind == "evaluate-audio":
        from vaelab.reporting import report_audio as au

        head, body = au.evaluation_header_items(main), au.evaluation_body(main)
    elif kind == "reconstruct":
        from vaelab.reporting import report_audio as au

        head, body = au.header_items(main), au.body(main)
    elif kind in ("latent", "inpaint", "restore"):
        from vaelab.reporting import report_latent_images as li

        head, body = li.header_items(main), li.body(main)
    elif kind == "ablate":
        head = _study_data(main) + st.ablation_header(main)
        body = st.ablation_body(main)
    elif kind == "augment":
        head = _study_data(main) + st.augment_header(main)
        body = st.augment_body(main)
    else:  # pragma: no cover - load_result_folder only returns the kinds above
        raise InputError(f"{folder.path}: unknown result kind {kind!r}")
    head += _provenance(main, kind)
    title = TITLES["image" if kind == "evaluate" and main.result is None else kind]
    top = (f"<header><h1>{esc(title)}</h1>{definition_list(head)}</header>")
    foot = (f"<footer>Written by vaelab {esc(__version__)} from <span class=\"file\">{esc(main.src)}</span> in "
            f"<span class=\"file\">{esc(name)}</span>. Every number is the result file's value, shown "
            "rounded; nothing on this page is loaded from the network.</footer>")
    return page(f"{title} — {name}", top + body + foot)


def render_report(path: str | Path, name: str | None = None) -> str:
    """Check the result folder at ``path`` and return its HTML page (``name``: the folder as the page names it)."""
    folder = load_folder(path)
    try:
        return render(folder, name)
    except (KeyError, IndexError, TypeError, AttributeError) as e:  # an entry the checks let through
        raise InputError(f"{folder.main.src}: an entry the report needs is missing or malformed "
                         f"({e.__class__.__name__}: {e})") from None


def write_report_html(path: str | Path, out: str | Path | None = None, *, name: str | Path | None = None) -> Path:
    """Render the folder at ``path`` into ``out`` (default ``path/report.html``), atomically; returns ``out``.

    ``name``: the folder as the page names it (writers pass the final folder while they fill a temporary one).
    """
    html_text = render_report(path, None if name is None else Path(name).name)
    target = Path(out) if out is not None else Path(path) / "report.html"
    write_text(target, html_text)
    return target


__all__ = ["render", "render_report", "write_report_html"]
