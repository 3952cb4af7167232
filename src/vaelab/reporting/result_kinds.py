"""Read the result folders of ``reconstruct``, ``latent``, ``inpaint --report`` and ``restore --report`` for the
report, refusing damaged ones (the same rules as :mod:`vaelab.reporting.result_folder`: every entry the page
shows is present and of the right type, the figures the writer always draws are PNGs; one line otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaelab.core.errors import InputError
from vaelab.metrics.registry import RECONSTRUCTION_METRICS
from vaelab.reporting.result_folder import (
    BOOL_OR_NONE,
    DICT,
    INT,
    INT_OR_NONE,
    KINDS,
    LIST,
    NUM,
    REAL,
    STR,
    STR_OR_NONE,
    FigureSpec,
    Part,
    ResultFolder,
    _load_figures,
    _read_json,
    _Type,
    check_schema,
    load_result_folder,
)

_PROVENANCE: list[tuple[str, _Type]] = [("?command_line", STR_OR_NONE), ("?vaelab_version", STR)]
_CI = [("mean_diff", REAL), ("ci_low", REAL), ("ci_high", REAL), ("excludes_zero", (lambda v: isinstance(v, bool),
                                                                                    "true or false")), ("n", INT)]
RECONSTRUCT_SCHEMA: list[tuple[str, _Type]] = [
    ("input", STR), ("run", STR), ("n_clips", INT), ("files", LIST), ("files/*", STR),
    ("mel", DICT), ("mel/sample_rate", INT), ("mel/duration", REAL), ("mel/n_mels", INT), ("mel/n_fft", INT),
    ("mel/hop", INT),
    ("vocoder", DICT), ("vocoder/name", STR), ("vocoder/n_iter", INT), ("vocoder/momentum", REAL),
    ("vocoder/seed", INT), ("methods", LIST), ("methods/*", STR), ("parameters", DICT), ("parameters/*", DICT),
    ("parameters/*/*", REAL), ("conventions/lsd", STR), ("conventions/phase", STR), ("conventions/bootstrap", STR),
    ("means", DICT), ("means/front_end", DICT), ("means/vocoder", DICT),
    *[(f"means/*/{k}", REAL) for k in RECONSTRUCTION_METRICS],
    ("retention_ci", DICT), *[(f"retention_ci/*/{b}/{k}", REAL) for b in ("low", "mid", "high")
                              for k in ("mean", "ci_low", "ci_high")],
    ("comparisons", DICT), *[(f"comparisons/*/{m}/{k}", t) for m in RECONSTRUCTION_METRICS for k, t in _CI],
    ("targets", DICT), ("targets/enhancement_helps_vs_eq", DICT), ("targets/enhancement_helps_vs_eq/*", BOOL_OR_NONE),
    ("?targets/none_lsd_ratio_to_vocoder", REAL), ("per_clip", DICT), ("per_clip/*/*/lsd_high", REAL),
    ("per_clip/*/*/lsd_full", REAL), *_PROVENANCE,
]
LATENT_SCHEMA: list[tuple[str, _Type]] = [
    ("kind", STR), ("run", STR), ("input", STR), ("n", INT), ("latent_dim", INT), ("seed", INT),
    ("classes", LIST), ("classes/*", STR), ("class_counts", LIST), ("class_counts/*", INT),
    ("explained_variance", LIST), ("explained_variance/*", REAL), ("total_variance", REAL),
    ("map_variance_share", NUM),
    ("posterior_sd", DICT), ("posterior_sd/*", REAL), ("centroid_accuracy", NUM), ("chance_accuracy", REAL),
    *_PROVENANCE,
]
_QUALITY = [("psnr", NUM), ("ssim", NUM)]  # null: not finite (a perfect image has PSNR inf)
COMPLETION_SCHEMA: list[tuple[str, _Type]] = [
    ("kind", STR), ("run", STR), ("input", STR), ("output", STR), ("n", INT), ("image_shape", LIST),
    ("image_shape/*", INT), ("data_range", REAL), ("mask", STR), ("missing_fraction", REAL), ("samples", INT),
    ("methods", LIST), ("methods/*", STR), ("region", DICT), ("whole", DICT),
    *[(f"{w}/*/{k}", t) for w in ("region", "whole") for k, t in _QUALITY],
    ("?diversity", DICT), ("?diversity/mean", REAL), *_PROVENANCE,
]
RESTORE_SCHEMA: list[tuple[str, _Type]] = [
    ("kind", STR), ("run", STR), ("input", STR), ("output", STR), ("n", INT), ("image_shape", LIST),
    ("image_shape/*", INT), ("data_range", REAL), ("sigma", DICT), ("sigma/given", (lambda v: isinstance(v, bool),
                                                                                    "true or false")),
    ("sigma/mean", REAL), ("sigma/min", REAL), ("sigma/max", REAL), ("reference", STR_OR_NONE),
    ("quality", DICT), *[(f"quality/*/{k}", t) for k, t in _QUALITY], *_PROVENANCE,
]

RECONSTRUCT_FIGURES = [
    FigureSpec("spectrograms.png", "Log-mel spectrograms of the first clips: original, vocoder only, then each method "
               "(same colour scale per row)", True),
    FigureSpec("band_retention.png", "Energy kept per band and method, mean over clips with 95 % bootstrap "
               "intervals (0 dB = original)", True),
]
LATENT_FIGURES = [
    FigureSpec("map.png", "Posterior means on their first two principal directions, coloured by class", True),
    FigureSpec("interpolation.png", "Decoded images along straight lines between the codes of two images of "
               "different classes (the class input switches at the midpoint)", True),
    FigureSpec("traversals.png", "Per class: the decoder at the class's mean code moved −2 … +2 standard deviations "
               "along each principal direction", True),
]
COMPLETION_FIGURES = [FigureSpec("completion.png", "Per image: the input with the missing region grey, biharmonic "
                                 "inpainting, vaelab's completion, the complete input (truth) and, with --samples, "
                                 "posterior draws", True)]
RESTORE_FIGURES = [FigureSpec("restoration.png", "Per image: the noisy input, vaelab's restoration and, when given, "
                              "the clean reference", True)]

#: file name -> (kind, schema, figures)
FILES: dict[str, tuple[str, list[tuple[str, _Type]], list[FigureSpec]]] = {
    "reconstruction.json": ("reconstruct", RECONSTRUCT_SCHEMA, RECONSTRUCT_FIGURES),
    "latent.json": ("latent", LATENT_SCHEMA, LATENT_FIGURES),
    "completion.json": ("inpaint", COMPLETION_SCHEMA, COMPLETION_FIGURES),
    "restoration.json": ("restore", RESTORE_SCHEMA, RESTORE_FIGURES),
}


def _need(doc: dict[str, Any], rel: str, *keys: Any) -> None:
    from vaelab.reporting.html import pointer

    node: Any = doc
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            raise InputError(f"{rel}: missing entry {pointer(*keys)!r}; the folder is incomplete or was edited")
        node = node[k]


def _check_reconstruct(doc: dict[str, Any], rel: str) -> None:
    methods = doc["methods"]
    if not methods:
        raise InputError(f"{rel}: no method listed")
    for m in methods:
        _need(doc, rel, "means", m)
        _need(doc, rel, "retention_ci", m)
        for ref in ("none", "eq", "vocoder"):
            if ref != m and (ref == "vocoder" or ref in methods):
                _need(doc, rel, "comparisons", f"{m}_vs_{ref}")
    _need(doc, rel, "retention_ci", "vocoder")
    for m in doc["targets"]["enhancement_helps_vs_eq"]:
        if m not in methods:
            raise InputError(f"{rel}: entry '/targets/enhancement_helps_vs_eq' names {m!r}, not among the methods")
    if len(doc["files"]) != doc["n_clips"]:
        raise InputError(f"{rel}: {len(doc['files'])} files listed for n_clips {doc['n_clips']}")


def _check_lists(doc: dict[str, Any], rel: str) -> None:
    if doc["kind"] == "latent" and len(doc["classes"]) != len(doc["class_counts"]):
        raise InputError(f"{rel}: 'classes' and 'class_counts' differ in length")
    if doc["kind"] == "inpaint":
        for m in doc["methods"]:
            _need(doc, rel, "region", m)
            _need(doc, rel, "whole", m)


def load_kind_folder(folder: Path, name: str, prefix: str = "") -> tuple[str, Part]:
    """The kind and the checked :class:`Part` of the result file ``name`` (a key of :data:`FILES`) in ``folder``
    (``prefix``: the folder's path inside the folder the page is written for, e.g. ``audio/reconstruct/``)."""
    kind, schema, figures = FILES[name]
    rel = prefix + name
    doc = _read_json(folder / name, rel)
    check_schema(doc, schema, rel)
    if kind == "reconstruct":
        _check_reconstruct(doc, rel)
    else:
        if doc["kind"] != kind:
            raise InputError(f"{rel}: entry '/kind' should be {kind!r}, got {doc['kind']!r}")
        _check_lists(doc, rel)
    return kind, Part(rel, doc, None, _load_figures(folder, prefix, figures))


_AUDIO_SPACE = [(k, NUM) for k in ("c2st_auc", "frechet", "precision", "recall", "density", "coverage")] + [
    (f"?{k}", NUM) for k in ("dcr_ratio", "closer_than_holdout", "c2st_auc_real_vs_real")]
#: ``audio/metrics.json`` of the demo (:func:`vaelab.modalities.audio.evaluate.evaluate_audio`)
AUDIO_EVAL_SCHEMA: list[tuple[str, _Type]] = [
    ("n_real", INT), ("n_synthetic", INT), ("n_holdout", INT_OR_NONE), ("seed", INT), ("features", DICT),
    ("features/cnn/name", STR), ("features/melstats/name", STR),
    *[(("?" if k.startswith("?") else "") + f"{sp}/{k.lstrip('?')}", t) for sp in ("cnn", "melstats")
      for k, t in _AUDIO_SPACE],
    ("?tstr", NUM), ("?trtr", NUM), ("?tstr_over_trtr", NUM),
    ("flags", DICT), ("flags/*", DICT), ("flags/*/raised", BOOL_OR_NONE), ("flags/*/reason", STR),
    ("flags/*/value", NUM), ("flags/*/threshold", NUM),
]


#: ``metrics.json`` of ``vaelab evaluate`` on audio folders: the demo's entries, where the clips came from, the mel
AUDIO_EVALUATE_SCHEMA: list[tuple[str, _Type]] = [
    ("modality", STR), *AUDIO_EVAL_SCHEMA, ("real", STR), ("synthetic", STR), ("holdout", STR_OR_NONE),
    ("reference", STR_OR_NONE), ("?n_reference", INT_OR_NONE), ("?protocol", STR), ("mel", DICT),
    *[(f"mel/{k}", INT) for k in ("sample_rate", "n_mels", "n_fft", "hop")], ("mel/duration", REAL),
    ("features/cnn/n_features", INT), ("features/melstats/n_features", INT), *_PROVENANCE,
]
AUDIO_EVALUATE_FIGURES = [FigureSpec("real_vs_synthetic.png", "Log-mel spectrograms per class: the first real clips, "
                                     "then the first synthetic clips (each row on its real clips' colour scale)", True)]


def is_audio_evaluation(folder: Path) -> bool:
    """Whether ``folder/metrics.json`` says it is an audio evaluation (``"modality": "audio"``)."""
    try:
        doc = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # load_result_folder names the problem
    return isinstance(doc, dict) and doc.get("modality") == "audio"


def audio_evaluation_part(folder: Path) -> Part:
    """The checked :class:`Part` of an audio evaluation folder (``vaelab evaluate --real AUDIO_DIR``)."""
    doc = _read_json(folder / "metrics.json", "metrics.json")
    check_schema(doc, AUDIO_EVALUATE_SCHEMA, "metrics.json")
    for k in ("n_real", "n_synthetic"):
        if doc[k] < 0:
            raise InputError(f"metrics.json: entry '/{k}' is negative")
    return Part("metrics.json", doc, None, _load_figures(folder, "", AUDIO_EVALUATE_FIGURES))


def demo_audio_parts(folder: Path) -> list[Part]:
    """The demo's audio part (``audio/reconstruct/`` and ``audio/metrics.json``), when it ran; else ``[]``."""
    audio = folder / "audio"
    if not audio.is_dir():
        return []
    if not (audio / "reconstruct" / "reconstruction.json").is_file():
        raise InputError("audio/reconstruct/reconstruction.json: missing; the demo's audio part is incomplete")
    _, rec = load_kind_folder(audio / "reconstruct", "reconstruction.json", "audio/reconstruct/")
    rel = "audio/metrics.json"
    if not (audio / "metrics.json").is_file():
        raise InputError(f"{rel}: missing; the demo's audio part is incomplete")
    doc = _read_json(audio / "metrics.json", rel)
    check_schema(doc, AUDIO_EVAL_SCHEMA, rel)
    return [rec, Part(rel, doc, None, [])]


#: ``images/restoration/restoration.json`` of the demo (:func:`vaelab.modalities.image.restoration_demo.run_restoration_demo`)
DEMO_RESTORATION_SCHEMA: list[tuple[str, _Type]] = [
    ("n", INT), ("mask", STR), ("sigma", REAL), ("inpaint_box", DICT), ("denoise", DICT),
    *[(f"{w}/*/{k}", t) for w in ("inpaint_box", "denoise") for k, t in _QUALITY],
]
DEMO_RESTORATION_FIGURES = [FigureSpec("restoration.png", "Per image: the input with the box grey, biharmonic "
                                       "inpainting, vaelab's completion, the truth; the noisy input, TV denoising, "
                                       "vaelab's restoration", True)]


def demo_restoration_part(folder: Path) -> Part | None:
    """The demo's image completion / denoising (``images/restoration/``), when the demo wrote it; else ``None``."""
    sub = folder / "images" / "restoration"
    if not sub.is_dir():
        return None
    rel = "images/restoration/restoration.json"
    doc = _read_json(sub / "restoration.json", rel)
    check_schema(doc, DEMO_RESTORATION_SCHEMA, rel)
    return Part(rel, doc, None, _load_figures(sub, "images/restoration/", DEMO_RESTORATION_FIGURES))


def load_folder(path: str | Path) -> ResultFolder:
    """Detect and check any result folder: an audio evaluation, reconstruct / latent / inpaint / restore folders
    (a file of :data:`FILES`), the demo's audio part alone (``vaelab demo --part audio``), else
    :func:`~vaelab.reporting.result_folder.load_result_folder` (with the demo's audio part when it ran)."""
    folder = Path(path)
    if folder.is_dir() and is_audio_evaluation(folder):
        return ResultFolder(folder, "evaluate-audio", [audio_evaluation_part(folder)])
    if folder.is_dir() and not any((folder / n).is_file() for n in KINDS):
        for n in FILES:
            if (folder / n).is_file():
                kind, part = load_kind_folder(folder, n)
                return ResultFolder(folder, kind, [part])
        if (folder / "audio").is_dir() and not (folder / "images").is_dir():
            audio = demo_audio_parts(folder)
            return ResultFolder(folder, "demo-audio", audio, audio_parts=audio)
    result = load_result_folder(folder)
    if result.kind == "demo":
        result.audio_parts = demo_audio_parts(folder)
    if result.kind in ("demo", "demo-images"):
        result.restoration = demo_restoration_part(folder)
    return result


__all__ = ["AUDIO_EVALUATE_SCHEMA", "DEMO_RESTORATION_SCHEMA", "demo_restoration_part", "AUDIO_EVAL_SCHEMA", "audio_evaluation_part", "FILES", "demo_audio_parts", "load_folder", "load_kind_folder"]
