"""HTML pages of the image folders: latent maps (``latent.json``), completion (``completion.json``) and
denoising (``restoration.json``).

Labels and reading hints of PSNR / SSIM / completion diversity come from the metric registry; every number
is a :func:`~vaelab.reporting.html.num` element tied to the JSON.
"""

from __future__ import annotations

from vaelab.metrics.registry import metric
from vaelab.reporting.html import esc, quoted, section, table
from vaelab.reporting.report_evaluation import figures_html
from vaelab.reporting.result_folder import Part


def _sources(part: Part) -> list[tuple[str, str]]:
    doc = part.doc
    items = [("input", f'<span class="cmd">{esc(doc["input"])}</span>'),
             ("run", f'<span class="cmd">{esc(doc["run"])}</span>')]
    if "output" in doc:
        items.append(("output (npz)", f'<span class="cmd">{esc(doc["output"])}</span>'))
    if "image_shape" in doc:
        shape = " × ".join(part.num("image_shape", i) for i in range(len(doc["image_shape"])))
        items.append(("images", f"{part.num('n')} of {shape} pixels; PSNR / SSIM read against a pixel range of "
                                f"{part.num('data_range')}"))
    return items


def header_items(part: Part) -> list[tuple[str, str]]:
    doc, n = part.doc, part.num
    items = _sources(part)
    if doc["kind"] == "latent":
        items += [("images", f"{n('n')} encoded into {n('latent_dim')} latent dimensions"),
                  ("classes (images)", ", ".join(f"<q>{esc(c)}</q>: {n('class_counts', i)}"
                                                 for i, c in enumerate(doc["classes"]))),
                  ("seed", n("seed"))]
    elif doc["kind"] == "inpaint":
        items += [("mask", f'<span class="cmd">{esc(doc["mask"])}</span> (a fraction {n("missing_fraction", digits=3)} of the '
                           "pixels missing)"),
                  ("posterior draws", n("samples"))]
    else:
        s = doc["sigma"]
        how = "given (--sigma)" if s["given"] else "estimated per image (Immerkær 1996)"
        items += [("noise sd", f"{n('sigma', 'mean', digits=3)}, {how}"),
                  ("clean reference", f'<span class="cmd">{esc(doc["reference"])}</span>' if doc["reference"]
                   else '<span class="muted">none given (--reference): no quality numbers</span>')]
    return items


def _latent(part: Part) -> str:
    doc, n = part.doc, part.num
    ev = doc["explained_variance"]
    s = [f"{n('n')} images were encoded into {n('latent_dim')} latent dimensions (posterior means)."]
    if len(ev) >= 2 and doc["map_variance_share"] is not None:
        s.append(f"The map shows the first two principal directions of the codes: variances {n('explained_variance', 0)} "
                 f"and {n('explained_variance', 1)} of {n('total_variance')} in all, a share of "
                 f"{n('map_variance_share', digits=3)}; what is left varies along directions the map does not show.")
    if doc["centroid_accuracy"] is not None:
        s.append(f"Assigned to the nearest class mean code (leave-one-out), {n('centroid_accuracy', digits=3)} of the "
                 f"codes land in their own class (chance: {n('chance_accuracy', digits=3)}). The model is "
                 "class-conditional: the class is an input of the decoder, so the code need not carry it — an accuracy "
                 "near chance means the code holds what varies within a class.")
    body = f'<p class="verdict" id="verdict">{" ".join(s)}</p>'
    rows = [[f"<q>{esc(c)}</q>", n("class_counts", i), n("posterior_sd", c, digits=3)]
            for i, c in enumerate(doc["classes"])]
    pcs = [[f"PC {i + 1}", n("explained_variance", i, digits=3)] for i in range(len(ev))]
    body += section("Summary", table(["class", "images", "mean posterior sd (1 = prior, ≪ 1 = precise code)"], rows,
                                     cls="classes")
                    + table(["principal direction of the codes", "variance"], pcs, cls="classes"))
    body += section("Figures", figures_html(part))
    return body


def quality_table(part: Part, where: str, methods: list[str]) -> str:
    p, s = metric("psnr"), metric("ssim")
    rows = [[esc(m), part.num(where, m, "psnr", digits=4), part.num(where, m, "ssim", digits=3)] for m in methods]
    return table(["method", f"{p.label} ({p.unit}){p.arrow}", f"{s.label}{s.arrow}"], rows, cls="metrics")


def read_quality(*keys: str) -> str:
    return '<dl class="meta">' + "".join(f"<dt>{esc(metric(k).label)}</dt><dd>{esc(metric(k).read)}</dd>"
                                         for k in keys) + "</dl>"


def _best(part: Part, where: str) -> str | None:
    vals = {m: v["psnr"] for m, v in part.doc[where].items() if v["psnr"] is not None}
    return max(vals, key=vals.__getitem__) if vals else None


def _inpaint(part: Part) -> str:
    doc, n = part.doc, part.num
    methods = doc["methods"]
    s = [f"{n('n')} complete images were masked by vaelab (a fraction {n('missing_fraction', digits=3)} of the pixels missing) "
         "and completed; the input is the truth."]
    if "vaelab-image" in doc["region"] and doc["region"]["vaelab-image"]["psnr"] is not None:
        s.append(f"In the missing region vaelab-image reaches PSNR {n('region', 'vaelab-image', 'psnr', digits=4)} dB "
                 f"and SSIM {n('region', 'vaelab-image', 'ssim', digits=3)}")
        if "biharmonic" in doc["region"] and doc["region"]["biharmonic"]["psnr"] is not None:
            s[-1] += (f", against {n('region', 'biharmonic', 'psnr', digits=4)} dB and "
                      f"{n('region', 'biharmonic', 'ssim', digits=3)} for biharmonic inpainting")
        s[-1] += "."
    best = _best(part, "region")
    if best is not None:
        s.append(f"Best PSNR in the missing region: <strong>{esc(best)}</strong>.")
    if "diversity" in doc:
        s.append(f"Across the {n('samples')} posterior draws the missing pixels vary by "
                 f"{n('diversity', 'mean', digits=3)} (mean sd, pixel range {n('data_range')}).")
    body = f'<p class="verdict" id="verdict">{" ".join(s)}</p>'
    body += section("Quality against the complete input",
                    "<h3>In the missing region</h3>" + quality_table(part, "region", methods)
                    + "<h3>On the whole image (observed pixels are kept, so only the region differs)</h3>"
                    + quality_table(part, "whole", methods)
                    + '<p class="muted">observed mean fill: each missing pixel set to the mean of the image\'s '
                      "observed pixels — a trivial reference a method should beat.</p>"
                    + read_quality("psnr", "ssim", "completion_diversity"))
    body += section("Figures", figures_html(part))
    return body


def _restore(part: Part) -> str:
    doc, n = part.doc, part.num
    sig = doc["sigma"]
    how = ("given with --sigma" if sig["given"] else
           f"the mean of the per-image estimates, which range from {n('sigma', 'min', digits=3)} to "
           f"{n('sigma', 'max', digits=3)}")
    s = [f"{n('n')} images were denoised assuming additive Gaussian noise of standard deviation "
         f"{n('sigma', 'mean', digits=3)} ({how})."]
    q = doc["quality"]
    if q:
        if "vaelab-image" in q and "noisy input" in q and None not in (q["vaelab-image"]["psnr"],
                                                                       q["noisy input"]["psnr"]):
            s.append(f"Against the clean reference, PSNR goes from {n('quality', 'noisy input', 'psnr', digits=4)} dB "
                     f"(noisy input) to {n('quality', 'vaelab-image', 'psnr', digits=4)} dB, SSIM from "
                     f"{n('quality', 'noisy input', 'ssim', digits=3)} to {n('quality', 'vaelab-image', 'ssim', digits=3)}.")
    else:
        s.append("No clean reference was given (--reference), so there are no quality numbers: compare the input "
                 "and the restored images by eye, and judge the restoration on images whose clean version you know.")
    body = f'<p class="verdict" id="verdict">{" ".join(s)}</p>'
    if q:
        body += section("Quality against the clean reference", quality_table(part, "quality", list(q))
                        + read_quality("psnr", "ssim"))
    body += section("Figures", figures_html(part))
    return body


def body(part: Part) -> str:
    return {"latent": _latent, "inpaint": _inpaint, "restore": _restore}[part.doc["kind"]](part)


__all__ = ["body", "demo_restoration", "header_items", "quality_table", "read_quality"]


def demo_restoration(part: Part) -> str:
    """The demo's completion and denoising part (``images/restoration/restoration.json``): two quality tables
    (PSNR / SSIM, labels and how to read them from the metric registry) and the figure."""
    doc, n = part.doc, part.num
    intro = (f"<p>The vaelab-image run completes a centre box (mask <code>{quoted(doc['mask'], part.src, '/mask')}"
             f"</code>) of {n('n')} held-out images, against biharmonic inpainting, and denoises the same images with "
             f"Gaussian noise of σ {n('sigma')} (pixels in [0, 1]), against TV denoising (weight 0.1, not tuned) "
             "and the noisy input.</p>")
    return (intro + "<h3>Completion (inside the missing box)</h3>"
            + quality_table(part, "inpaint_box", list(doc["inpaint_box"]))
            + "<h3>Denoising (whole image)</h3>" + quality_table(part, "denoise", list(doc["denoise"]))
            + read_quality("psnr", "ssim") + figures_html(part))
