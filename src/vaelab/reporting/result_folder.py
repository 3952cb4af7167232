"""Read a result folder vaelab wrote (evaluate, demo, ablate, augment) for the report, refusing damaged ones.

:func:`load_result_folder` finds what kind of folder it is, parses its JSON into the typed result
(:mod:`vaelab.evaluation.results`: its required fields), checks every nested entry the report shows
(present, of the right type) and reads the figures the writer always draws. Anything missing or
malformed raises :class:`~vaelab.core.errors.InputError` with one line naming the file and the entry,
before a byte of the report is written.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaelab.core.errors import InputError
from vaelab.evaluation.results import AblationResult, AugmentResult, EvaluationResult, Result
from vaelab.reporting.html import PNG_SIGNATURE, num, pointer

# entry types: a checker and how it is named in messages
_Type = tuple[Callable[[Any], bool], str]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


NUM: _Type = (lambda v: v is None or _is_num(v), "a number or null")
REAL: _Type = (_is_num, "a number")
INT: _Type = (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
INT_OR_NONE: _Type = (lambda v: v is None or INT[0](v), "an integer or null")
STR: _Type = (lambda v: isinstance(v, str), "a string")
STR_OR_NONE: _Type = (lambda v: v is None or isinstance(v, str), "a string or null")
BOOL_OR_NONE: _Type = (lambda v: v is None or isinstance(v, bool), "true, false or null")
DICT: _Type = (lambda v: isinstance(v, dict), "an object")
DICT_OR_NONE: _Type = (lambda v: v is None or isinstance(v, dict), "an object or null")
LIST: _Type = (lambda v: isinstance(v, list), "a list")

SEED_METRICS = ("cosine", "mse", "pearson", "wasserstein")
SUMMARY_NUMBERS = ("c2st_auc", "precision", "recall", "density", "coverage", "mmd", "mmd_p_value", "frechet",
                   "dcr_ratio", "closer_than_holdout", "tstr", "trtr", "class_specificity")

# "*" = every key of an object / every item of a list; a leading "?" = optional entry (checked when present)
EVALUATE_SCHEMA: list[tuple[str, _Type]] = [
    ("n_real", INT), ("n_synthetic", INT), ("n_holdout", INT_OR_NONE), ("seed", INT),
    *[(k, NUM) for k in SUMMARY_NUMBERS],
    ("dcr_reference", STR), ("diversity", DICT), ("diversity/*", NUM),
    ("?c2st/fold_aucs", LIST), ("?c2st/fold_aucs/*", NUM),
    ("flags", DICT), ("flags/*", DICT), ("flags/*/raised", BOOL_OR_NONE), ("flags/*/reason", STR),
    ("flags/*/value", NUM), ("flags/*/threshold", NUM),
    ("seed_metrics", DICT), *[(f"seed_metrics/{m}", NUM) for m in SEED_METRICS],
    ("?seed_metrics/per_class/*", DICT), *[(f"?seed_metrics/per_class/*/{m}", NUM) for m in SEED_METRICS],
    ("references", DICT), *[(f"references/*/{m}", NUM) for m in SEED_METRICS],
    ("notes", LIST), ("notes/*", STR),
    ("?command_line", STR_OR_NONE), ("?model", STR_OR_NONE), ("?preprocess", STR_OR_NONE),
    ("?vaelab_version", STR), ("?data", DICT),
]
# an image evaluation (vaelab.evaluation.image.evaluate_images): its own keys, reference rows as full evaluations
IMAGE_NUMBERS = ("c2st_auc", "precision", "recall", "density", "coverage", "frechet", "kid", "dcr_ratio",
                 "closer_than_holdout")
_IMAGE_ROW: list[tuple[str, _Type]] = [
    ("n_real", INT), ("n_synthetic", INT), ("n_holdout", INT_OR_NONE), *[(k, NUM) for k in IMAGE_NUMBERS],
    ("dcr_reference", STR), ("diversity", DICT), ("diversity/*", NUM),
    ("?c2st/fold_aucs", LIST), ("?c2st/fold_aucs/*", NUM),
    ("tstr", DICT_OR_NONE), ("?tstr/roc_auc", NUM), ("?tstr/balanced_accuracy", NUM),
    ("trtr", DICT_OR_NONE), ("?trtr/roc_auc", NUM), ("?trtr/balanced_accuracy", NUM), ("tstr_trtr_auc", NUM),
    ("flags", DICT), ("flags/*", DICT), ("flags/*/raised", BOOL_OR_NONE), ("flags/*/reason", STR),
    ("flags/*/value", NUM), ("flags/*/threshold", NUM),
]
IMAGE_SCHEMA: list[tuple[str, _Type]] = [
    *_IMAGE_ROW, ("modality", STR), ("seed", INT), ("features", DICT), ("features/name", STR),
    ("classifier", DICT), ("classifier/name", STR), ("notes", LIST), ("notes/*", STR),
    ("?references", DICT), *[("?references/*/" + k.lstrip("?"), t) for k, t in _IMAGE_ROW],
    ("?references/*/expected_flags", LIST), ("?references/*/expected_flags/*", STR),
    ("?references/*/as_expected", BOOL_OR_NONE), ("?reference_notes", DICT), ("?reference_notes/*", STR),
    ("?command_line", STR_OR_NONE), ("?model", STR_OR_NONE), ("?vaelab_version", STR), ("?data", DICT),
]
DATA_SCHEMA: list[tuple[str, _Type]] = [
    ("data", DICT), ("data/source", STR_OR_NONE), ("data/n", INT), ("data/classes", LIST), ("data/classes/*", STR),
    ("data/class_counts", LIST), ("data/class_counts/*", INT), ("?data/n_groups", INT_OR_NONE),
    ("?data/feature_shape", LIST), ("?data/feature_shape/*", INT),
]
SUMMARY_SCHEMA = [("mean", NUM), ("std", NUM), ("n", INT), ("n_failed", INT), ("values", LIST), ("values/*", NUM)]
TEST_SCHEMA = [("p", REAL), ("diff_mean", NUM), ("n_pairs", INT), ("min_p_possible", NUM)]
STUDY_SCHEMA: list[tuple[str, _Type]] = [
    ("vaelab_version", STR), *DATA_SCHEMA, ("preprocess", STR), ("folds", INT), ("seeds", INT),
    ("n_cells", INT), ("n_failed_cells", INT), ("failures", LIST), ("failures/*", DICT), ("failures/*/error", STR),
    ("notes", LIST), ("notes/*", STR), ("?command_line", STR_OR_NONE),
]
ABLATE_SCHEMA: list[tuple[str, _Type]] = [
    *STUDY_SCHEMA, ("models", LIST), ("models/*", STR), ("reference_model", STR),
    ("metric_goals", DICT), ("metric_goals/*", STR), ("results", DICT), ("results/*", DICT), ("results/*/*", DICT),
    *[(f"results/*/*/{k}", t) for k, t in SUMMARY_SCHEMA],
    ("tests_vs_reference", DICT), ("tests_vs_reference/*/*", DICT),
    *[(f"tests_vs_reference/*/*/{k}", t) for k, t in TEST_SCHEMA],
]
AUGMENT_SCHEMA: list[tuple[str, _Type]] = [
    *STUDY_SCHEMA, ("model", STR), ("factors", LIST), ("factors/*", STR), ("classifiers", LIST),
    ("classifiers/*", STR), ("alpha", REAL), ("n_pairs", INT), ("recommended_factor", STR), ("verdict", STR),
    ("results", DICT), ("results/*/*/*", DICT), *[(f"results/*/*/*/{k}", t) for k, t in SUMMARY_SCHEMA],
    ("mean_balanced_accuracy_over_classifiers", DICT), ("mean_balanced_accuracy_over_classifiers/*", NUM),
    ("classical", LIST), ("classical/*", STR), ("classical_results", DICT),
    *[(f"classical_results/*/*/*/*/{k}", t) for k, t in SUMMARY_SCHEMA],
    ("best_classical", DICT), ("best_classical/*", DICT_OR_NONE), ("tests", DICT), ("tests/*/*", DICT),
    *[(f"tests/*/*/vs_0/*/{k}", t) for k, t in TEST_SCHEMA], ("tests/*/*/vs_0/*/p_holm", REAL),
    ("significant_gain", DICT), ("significant_gain/*", LIST), ("significant_gain/*/*", STR),
]


def check_schema(doc: Any, schema: list[tuple[str, _Type]], what: str) -> None:
    """Raise :class:`InputError` naming the first entry of ``schema`` that ``doc`` lacks or has of a wrong type."""
    if not isinstance(doc, dict):
        raise InputError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    for path, (ok, expected) in schema:
        optional = path.startswith("?")
        parts = path.lstrip("?").split("/")
        for ptr, value, found in _walk(doc, parts, ()):
            if not found:
                if optional:
                    continue
                raise InputError(f"{what}: missing entry {ptr!r}; the folder is incomplete or was edited")
            if not ok(value):
                raise InputError(f"{what}: entry {ptr!r} should be {expected}, got {json.dumps(value)[:40]}")


def _walk(node: Any, parts: list[str], done: tuple[Any, ...]):
    """``(pointer, value, found)`` for every match of ``parts`` (with ``*``) under ``node``."""
    if not parts:
        yield pointer(*done), node, True
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            yield from _walk(v, rest, (*done, k))
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, (*done, head))
    else:
        yield pointer(*done, head), None, False


@dataclass
class FigureSpec:
    """A figure the writer draws: file name, caption, and whether the writer always draws it."""

    name: str
    caption: str
    required: bool


@dataclass
class Part:
    """One JSON document of a result folder with its figures (the demo has two: its model and the comparison)."""

    src: str  # the JSON's path relative to the folder, as the page names it
    doc: dict[str, Any]
    result: Any  # the typed result of ``doc`` (EvaluationResult, AblationResult, AugmentResult)
    figures: list[tuple[FigureSpec, bytes]] = field(default_factory=list)

    def shape(self) -> str:
        """``data.feature_shape`` as ``64`` or ``28 × 28``, each number tied to the JSON; empty when absent."""
        dims = self.doc.get("data", {}).get("feature_shape") or []
        return " × ".join(self.num("data", "feature_shape", i) for i in range(len(dims)))

    def num(self, *keys: Any, digits: int = 4, signed: bool = False) -> str:
        """The number at ``keys`` as a ``<data>`` element tied to this document (:func:`~vaelab.reporting.html.num`)."""
        v: Any = self.doc
        for k in keys:
            v = v[k]
        return num(v, self.src, pointer(*keys), digits, signed)


@dataclass
class ResultFolder:
    """A checked result folder: its kind, its documents (the first is the main one)."""

    path: Path
    kind: str  # evaluate | demo | demo-images | ablate | augment | reconstruct | latent | inpaint | restore
    parts: list[Part]
    image_parts: list[Part] = field(default_factory=list)  # the demo's image part (images/<model>/)
    audio_parts: list[Part] = field(default_factory=list)  # the demo's audio part (reconstruction, evaluation)
    restoration: Part | None = None  # the demo's image completion / denoising (images/restoration/)

    @property
    def main(self) -> Part:
        return self.parts[0]


KINDS = {"ablation.json": "ablate", "augment.json": "augment", "metrics.json": "evaluate"}


def _read_json(path: Path, rel: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{rel}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{rel}: not valid JSON (line {e.lineno}: {e.msg})") from None


def _read_png(path: Path, rel: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{rel}: cannot be read ({e.strerror or e})") from None
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InputError(f"{rel}: not a PNG image")
    w, h = struct.unpack(">II", data[16:24])
    if w == 0 or h == 0:
        raise InputError(f"{rel}: an empty PNG image")
    return data


def evaluate_figures(doc: dict[str, Any]) -> list[FigureSpec]:
    """The figures :func:`vaelab.evaluation.suite.write_report_files` draws for ``doc``."""
    return [
        FigureSpec("real_vs_synthetic.png", "Real (grey) and synthetic (colour) samples, one panel per class", True),
        FigureSpec("pca.png", "PCA of the real data: real, synthetic and held-out samples", doc["n_real"] > 2),
        FigureSpec("nn_distances.png", "Distance of each sample to its nearest training sample", False),
        FigureSpec("loss.png", "Training loss per epoch", False),
    ]


def image_figures(doc: dict[str, Any]) -> list[FigureSpec]:
    """The figures an image evaluation (``vaelab evaluate`` on images, the demo's image part) draws."""
    return [
        FigureSpec("real_vs_synthetic.png", "Real (left) and generated (right) images, one row per class", True),
        FigureSpec("nearest_training.png", "Generated images beside their nearest training image (pixels)", True),
        FigureSpec("nn_distances.png", "Distance of each sample to its nearest training sample (features)", False),
    ]


def _load_figures(folder: Path, prefix: str, specs: list[FigureSpec]) -> list[tuple[FigureSpec, bytes]]:
    out = []
    for spec in specs:
        p = folder / spec.name
        rel = prefix + spec.name
        if p.exists():
            out.append((spec, _read_png(p, rel)))
        elif spec.required:
            raise InputError(f"{rel}: figure missing; the folder is incomplete (re-run the command that wrote it)")
    return out


def _typed(cls: type[Result], doc: Any, rel: str) -> Any:
    """``cls.from_dict(doc)``, its error naming the file as the folder has it."""
    try:
        return cls.from_dict(doc)
    except InputError as e:
        raise InputError(f"{rel}: {str(e).split(': ', 1)[-1]}") from None


def is_image(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("modality") == "image"


def _image_part(folder: Path, prefix: str, doc: Any) -> Part:
    rel = prefix + "metrics.json"
    check_schema(doc, IMAGE_SCHEMA, rel)
    if "data" in doc:
        check_schema(doc, DATA_SCHEMA, rel)
    for k in ("n_real", "n_synthetic"):
        if doc[k] < 0:
            raise InputError(f"{rel}: entry '/{k}' is negative")
    for row in [doc, *doc.get("references", {}).values()]:
        for k in IMAGE_NUMBERS:
            if row[k] is not None and math.isinf(row[k]):
                raise InputError(f"{rel}: entry {k!r} is infinite")
    return Part(rel, doc, None, _load_figures(folder, prefix, image_figures(doc)))


def _evaluation_part(folder: Path, prefix: str) -> Part:
    rel = prefix + "metrics.json"
    doc = _read_json(folder / "metrics.json", rel)
    if is_image(doc):
        return _image_part(folder, prefix, doc)
    result = _typed(EvaluationResult, doc, rel)
    check_schema(doc, EVALUATE_SCHEMA, rel)
    if "data" in doc:
        check_schema(doc, DATA_SCHEMA, rel)
    for name in doc["references"]:
        if not isinstance(name, str):
            raise InputError(f"{rel}: reference row names must be strings")
    _check_finite_or_none(doc, rel)
    return Part(rel, doc, result, _load_figures(folder, prefix, evaluate_figures(doc)))


def _check_finite_or_none(doc: dict[str, Any], rel: str) -> None:
    for k in ("n_real", "n_synthetic"):
        if doc[k] < 0:
            raise InputError(f"{rel}: entry '/{k}' is negative")
    for k in SUMMARY_NUMBERS:
        v = doc[k]
        if v is not None and math.isinf(v):
            raise InputError(f"{rel}: entry '/{k}' is infinite")


def load_result_folder(path: str | Path) -> ResultFolder:
    """Detect and check the result folder at ``path``.

    Kinds: ``ablation.json`` -> ablate, ``augment.json`` -> augment, ``metrics.json`` -> evaluate,
    or demo when it says ``"command": "demo"`` (then its comparison model's sub-folder, named by
    ``compare``, is read too). The other kinds (reconstruct, latent, inpaint, restore, the demo's audio
    part): :func:`vaelab.reporting.result_kinds.load_folder`, which falls back to this function.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such result folder")
    present = [n for n in KINDS if (folder / n).is_file()]
    if not present and (folder / "images").is_dir():  # ``vaelab demo --part images``: the image part alone
        images = _demo_image_parts(folder)
        return ResultFolder(folder, "demo-images", images, images)
    if not present:
        raise InputError(f"{folder}: no metrics.json, ablation.json, augment.json, reconstruction.json, latent.json, "
                         "completion.json or restoration.json; not a vaelab result folder (or an incomplete one)")
    name = present[0]
    kind = KINDS[name]
    if kind == "evaluate":
        main = _evaluation_part(folder, "")
        parts = [main]
        if main.doc.get("command") == "demo":
            kind = "demo"
            compare = main.doc.get("compare")
            if compare is not None:
                if not isinstance(compare, str) or not compare or "/" in compare or compare.startswith("."):
                    raise InputError(f"metrics.json: entry '/compare' is not a model name: {compare!r}")
                if not (folder / compare / "metrics.json").is_file():
                    raise InputError(f"{compare}/metrics.json: missing; the demo folder is incomplete")
                parts.append(_evaluation_part(folder / compare, compare + "/"))
        return ResultFolder(folder, kind, parts, _demo_image_parts(folder) if kind == "demo" else [])
    doc = _read_json(folder / name, name)
    result = _typed(AblationResult if kind == "ablate" else AugmentResult, doc, name)
    check_schema(doc, ABLATE_SCHEMA if kind == "ablate" else AUGMENT_SCHEMA, name)
    _check_study(doc, kind, name)
    stem = name.split(".")[0]
    caption = ("Each model's value per (seed, fold) cell, with mean ± sd" if kind == "ablate" else
               "Balanced accuracy against augmentation factor, one panel per classifier (mean ± sd)")
    figs = _load_figures(folder, "", [FigureSpec(f"{stem}.png", caption, True)])
    return ResultFolder(folder, kind, [Part(name, doc, result, figs)])


def _demo_image_parts(folder: Path) -> list[Part]:
    """The demo's image part (``images/<model>/metrics.json``, written by ``--part all``), when it ran."""
    from vaelab.modalities.image.demo import MODELS

    if not (folder / "images").is_dir():
        return []
    parts = []
    for model in MODELS:
        rel = f"images/{model}/"
        if not (folder / rel / "metrics.json").is_file():
            raise InputError(f"{rel}metrics.json: missing; the demo's image part is incomplete")
        doc = _read_json(folder / rel / "metrics.json", rel + "metrics.json")
        if not is_image(doc):
            raise InputError(f"{rel}metrics.json: entry '/modality' should be \"image\"")
        parts.append(_image_part(folder / rel, rel, doc))
    return parts


def augment_scores(doc: dict[str, Any]) -> list[str]:
    """The classifier scores an augmentation study holds (those of its first factor and classifier)."""
    if not doc["factors"] or not doc["classifiers"]:
        return []
    first = doc["results"].get(doc["factors"][0], {}).get(doc["classifiers"][0], {})
    return list(first) if isinstance(first, dict) else []


def _check_study(doc: dict[str, Any], kind: str, rel: str) -> None:
    """Entries the tables index by the lists of models / factors / classifiers are there."""
    def need(ptr_keys: tuple[Any, ...]) -> None:
        node: Any = doc
        for k in ptr_keys:
            if not isinstance(node, dict) or k not in node:
                raise InputError(f"{rel}: missing entry {pointer(*ptr_keys)!r}; the folder is incomplete or was edited")
            node = node[k]

    if kind == "ablate":
        if doc["reference_model"] not in doc["models"]:
            raise InputError(f"{rel}: the reference model {doc['reference_model']!r} is not among the models")
        for n in doc["models"]:
            for m in doc["metric_goals"]:
                need(("results", n, m))
        return
    if not doc["factors"] or not doc["classifiers"]:
        raise InputError(f"{rel}: no augmentation factor or no classifier listed")
    scores = augment_scores(doc)
    if "balanced_accuracy" not in scores:
        raise InputError(f"{rel}: missing entry {pointer('results', doc['factors'][0], doc['classifiers'][0], 'balanced_accuracy')!r}")
    if doc["recommended_factor"] not in doc["factors"]:
        raise InputError(f"{rel}: the recommended factor {doc['recommended_factor']!r} is not among the factors")
    for k in doc["factors"]:
        need(("mean_balanced_accuracy_over_classifiers", k))
        for c in doc["classifiers"]:
            for m in scores:
                need(("results", k, c, m))
                if k != doc["factors"][0]:
                    need(("tests", k, c, "vs_0", m))
    for c in doc["classifiers"]:
        need(("best_classical", c))


__all__ = ["FigureSpec", "Part", "ResultFolder", "augment_scores", "check_schema", "evaluate_figures",
           "image_figures", "is_image", "load_result_folder"]
