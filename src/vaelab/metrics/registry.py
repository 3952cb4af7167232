"""One registry of the metrics vaelab reports: name, goal, range, how to read it, reference rows.

Every table (``vaelab evaluate``'s report and csv, ``ablate``, ``augment``, the demo's
side-by-side, the figures, the HTML report) takes labels, goals and reading hints from here,
so a metric is described once. Like SDMetrics, each metric declares its goal and range.

Goals
-----
``higher`` / ``lower``: the direction of better; ``target``: ``target`` is ideal, both sides
worse; ``at_least``: ``target`` or more is good; ``reference``: not a score, the value the
others are read against (TRTR).

Modalities
----------
Each entry says which kinds of data it applies to (``modalities``: ``spectra``, ``image``, ``audio``).
The tables of one kind list their keys explicitly (:data:`EVALUATE_SUMMARY`, :data:`ABLATION_METRICS`,
:data:`IMAGE_SUMMARY`, :data:`RECONSTRUCTION_METRICS`, ...); :func:`metrics_for` lists what applies to a
kind, so image-only metrics (KID, the CNN's TSTR/TRTR AUC, PSNR/SSIM) and audio reconstruction metrics are
described here once without entering the spectra tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ABLATION_METRICS", "ALL_MODALITIES", "EVALUATE_SUMMARY", "HEADLINE", "IMAGE_SUMMARY", "METRICS",
           "RECONSTRUCTION_METRICS", "SEED_METRICS", "MetricInfo", "goal_text", "metric", "metrics_for",
           "register_metric"]

GOALS = ("higher", "lower", "target", "at_least", "reference")
ALL_MODALITIES = ("spectra", "image", "audio")


@dataclass(frozen=True)
class MetricInfo:
    """How to read one metric.

    Attributes
    ----------
    key : str
        Its key in ``metrics.json`` (``aliases``: keys it has elsewhere, e.g. ``mmd_p`` in ablations).
    label : str
        The long label of report tables.
    goal : str
        One of ``higher``, ``lower``, ``target``, ``at_least``, ``reference``.
    read : str
        One line on how to read a value.
    range : tuple of float
        Smallest and largest possible value (``inf`` when unbounded).
    target : float or None
        The ideal value for ``target`` / ``at_least`` goals.
    references : tuple of str
        The reference rows or values that give the number a meaning.
    uses_features : bool
        Computed in the feature space of :mod:`vaelab.metrics.features` (distribution metrics, DCR).
    short_label : str
        A shorter label for narrow side-by-side tables (the demo's); defaults to ``label``.
    modalities : tuple of str
        The kinds of data it applies to (a subset of :data:`ALL_MODALITIES`; default all).
    unit : str
        The unit of a value (``dB``), empty when it has none.
    """

    key: str
    label: str
    goal: str
    read: str
    range: tuple[float, float] = (0.0, math.inf)
    target: float | None = None
    references: tuple[str, ...] = ()
    uses_features: bool = False
    aliases: tuple[str, ...] = ()
    short_label: str = ""
    modalities: tuple[str, ...] = ALL_MODALITIES
    unit: str = ""

    def __post_init__(self) -> None:
        if not self.modalities or set(self.modalities) - set(ALL_MODALITIES):
            raise ValueError(f"metric {self.key}: modalities must be a non-empty subset of {ALL_MODALITIES}")
        if not self.short_label:
            object.__setattr__(self, "short_label", self.label)
        if self.goal not in GOALS:
            raise ValueError(f"goal must be one of {GOALS}, got {self.goal!r}")
        if self.goal in ("target", "at_least") and self.target is None:
            raise ValueError(f"metric {self.key}: goal {self.goal} needs a target")

    @property
    def short_goal(self) -> str:
        """The goal in a few characters: ``higher``, ``lower``, ``0.5``, ``>=1``, ``reference``."""
        return goal_text(self)

    @property
    def arrow(self) -> str:
        """``↑`` (higher), ``↓`` (lower) or ``""``; used in column heads."""
        return {"higher": " ↑", "lower": " ↓"}.get(self.goal, "")

    def better(self, a: float, b: float) -> bool | None:
        """Whether ``a`` is strictly better than ``b`` by this metric's goal (``None``: not a score)."""
        if self.goal == "higher":
            return a > b
        if self.goal == "lower":
            return a < b
        if self.goal == "target":
            return abs(a - self.target) < abs(b - self.target)  # type: ignore[operator]
        if self.goal == "at_least":
            return min(a, self.target) > min(b, self.target)  # type: ignore[type-var]
        return None


def goal_text(info: MetricInfo) -> str:
    if info.goal == "target":
        return f"{info.target:g}"
    if info.goal == "at_least":
        return f">={info.target:g}"
    return info.goal


METRICS: dict[str, MetricInfo] = {}


def register_metric(info: MetricInfo) -> MetricInfo:
    """Add ``info`` under its key and its aliases (a later registration with the same key replaces it)."""
    for k in (info.key, *info.aliases):
        METRICS[k] = info
    return info


def metrics_for(modality: str) -> dict[str, MetricInfo]:
    """The registered metrics that apply to ``modality`` (``spectra``, ``image`` or ``audio``), by key."""
    if modality not in ALL_MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; one of {ALL_MODALITIES}")
    return {k: m for k, m in METRICS.items() if k == m.key and modality in m.modalities}


def metric(key: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``key`` (an alias works; ``diversity[c]`` reads as ``diversity``)."""
    base = key.split("[", 1)[0]
    if base not in METRICS:
        raise KeyError(f"no metric {key!r} registered; known: {', '.join(sorted(METRICS))}")
    return METRICS[base]


_INF = math.inf
for _m in (
    MetricInfo("c2st_auc", "C2ST ROC AUC (random forest)", "target", "0.5 ideal, 1 = separable", (0.0, 1.0), 0.5,
               ("real vs real: 0.5",), True,
               short_label="C2ST AUC (random forest)"),
    MetricInfo("precision", "precision (PRDC)", "higher", "higher: samples look real", (0.0, 1.0),
               uses_features=True, short_label="precision"),
    MetricInfo("recall", "recall (PRDC)", "higher", "higher: real variety covered", (0.0, 1.0), uses_features=True,
               short_label="recall"),
    MetricInfo("density", "density (PRDC)", "target", "~1", (0.0, _INF), 1.0, uses_features=True),
    MetricInfo("coverage", "coverage (PRDC)", "higher", "higher", (0.0, 1.0),
               references=("same distribution: 1 - 2^-k",), uses_features=True),
    MetricInfo("mmd", "MMD² (RBF, median heuristic)", "lower", "lower, 0 = same", (-_INF, _INF),
               uses_features=True),
    MetricInfo("mmd_p_value", "MMD permutation p-value", "higher", "high = no detected difference", (0.0, 1.0),
               uses_features=True, aliases=("mmd_p",)),
    MetricInfo("frechet", "Fréchet distance (PCA of real)", "lower", "lower", (0.0, _INF), uses_features=True),
    MetricInfo("diversity", "spread ratio", "target", "1 ideal, ≪1 collapse", (0.0, _INF), 1.0),
    MetricInfo("dcr_ratio", "DCR ratio (synthetic/new real)", "at_least", "~1 novel, → 0 copies", (0.0, _INF), 1.0,
               ("holdout → train", "real leave-one-group-out"), True, short_label="DCR ratio"),
    MetricInfo("closer_than_holdout", "share closer than any new real", "lower", "lower", (0.0, 1.0),
               uses_features=True),
    MetricInfo("tstr", "TSTR balanced accuracy", "higher", "close to TRTR", (0.0, 1.0), references=("trtr",)),
    MetricInfo("trtr", "TRTR balanced accuracy", "reference", "reference", (0.0, 1.0)),
    MetricInfo("class_specificity", "class specificity", "higher", "higher", (0.0, 1.0)),
    # the seed report's four similarity scores (read against their two reference rows)
    MetricInfo("cosine", "cosine", "higher", "higher, ≤ 1", (-1.0, 1.0), references=("real_vs_real", "class_mean_copy")),
    MetricInfo("mse", "MSE", "lower", "lower, ≥ 0", (0.0, _INF), references=("real_vs_real", "class_mean_copy")),
    MetricInfo("pearson", "Pearson", "higher", "higher, ≤ 1", (-1.0, 1.0),
               references=("real_vs_real", "class_mean_copy")),
    MetricInfo("wasserstein", "Wasserstein", "lower", "lower, ≥ 0", (0.0, _INF),
               references=("real_vs_real", "class_mean_copy")),
    # downstream classifier scores of the augmentation study
    MetricInfo("balanced_accuracy", "balanced accuracy", "higher", "higher; chance = 1 / classes", (0.0, 1.0)),
    MetricInfo("roc_auc", "macro one-vs-rest ROC AUC", "higher", "higher; chance = 0.5", (0.0, 1.0)),
    # image evaluation (vaelab.evaluation.image): the domain network's features, a small CNN on the pixels
    MetricInfo("kid", "KID (domain features)", "lower", "lower, ~0 = same; read beside real vs real", (-_INF, _INF),
               references=("real vs real",), uses_features=True, modalities=("image", "audio")),
    MetricInfo("tstr_auc", "TSTR ROC AUC (small CNN)", "higher", "close to TRTR", (0.0, 1.0), references=("trtr_auc",),
               modalities=("image", "audio")),
    MetricInfo("trtr_auc", "TRTR ROC AUC (small CNN)", "reference", "reference", (0.0, 1.0),
               modalities=("image", "audio")),
    MetricInfo("tstr_trtr_auc", "TSTR / TRTR (AUC)", "at_least", "~1: as useful as real data", (0.0, _INF), 1.0,
               ("trtr_auc",), modalities=("image", "audio")),
    MetricInfo("tstr_bacc", "TSTR balanced accuracy (small CNN)", "higher", "close to TRTR", (0.0, 1.0),
               references=("trtr_bacc",), modalities=("image", "audio")),
    MetricInfo("trtr_bacc", "TRTR balanced accuracy (small CNN)", "reference", "reference", (0.0, 1.0),
               modalities=("image", "audio")),
    # image completion and restoration (vaelab.modalities.image.quality)
    MetricInfo("psnr", "PSNR", "higher", "higher; +6 dB = half the RMS error", (-_INF, _INF), unit="dB",
               references=("the degraded input", "biharmonic inpainting"), modalities=("image",)),
    MetricInfo("ssim", "SSIM (7×7 window)", "higher", "higher, 1 = identical", (-1.0, 1.0),
               references=("the degraded input", "biharmonic inpainting"), modalities=("image",)),
    MetricInfo("completion_diversity", "completion diversity (sd over draws)", "higher",
               "0 = every draw the same; compare the pixel range", (0.0, _INF), modalities=("image",)),
    # audio reconstruction (vaelab.modalities.audio.bands), read against the vocoder-only ceiling
    *[MetricInfo(f"lsd_{b}", f"LSD {t}", "lower", "lower, 0 = same spectrum; the vocoder-only row is the floor",
                 (0.0, _INF), references=("vocoder only",), unit="dB", modalities=("audio",), short_label=f"LSD {s}")
      for b, t, s in (("full", "full band", "full"), ("low", "< 0.5 kHz", "< 0.5 kHz"),
                      ("mid", "0.5–4 kHz", "0.5–4 kHz"), ("high", "> 4 kHz", "> 4 kHz"))],
    *[MetricInfo(f"retention_{b}_db", f"band energy kept {t}", "target", "0 dB = energy kept; < 0 lost, > 0 added",
                 (-_INF, _INF), 0.0, ("vocoder only",), unit="dB", modalities=("audio",), short_label=f"kept {t}")
      for b, t in (("low", "< 0.5 kHz"), ("mid", "0.5–4 kHz"), ("high", "> 4 kHz"))],
    MetricInfo("mel_distance", "mel distance (mean |Δ ln mel|)", "lower", "lower, 0 = same mel", (0.0, _INF),
               references=("vocoder only",), modalities=("audio",), short_label="mel distance"),
    MetricInfo("mrstft", "multi-resolution STFT distance", "lower", "lower, 0 = same magnitudes", (0.0, _INF),
               references=("vocoder only",), modalities=("audio",), short_label="MR-STFT"),
    MetricInfo("snr_db", "waveform SNR", "higher", "phase-sensitive: ~-3 dB even for a perfect mel", (-_INF, _INF),
               references=("vocoder only",), unit="dB", modalities=("audio",), short_label="SNR"),
    MetricInfo("correlation", "waveform correlation", "higher", "phase-sensitive: ~0 even for a perfect mel",
               (-1.0, 1.0), references=("vocoder only",), modalities=("audio",), short_label="correlation"),
):
    register_metric(_m)

#: the rows of ``vaelab evaluate``'s summary table and ``metrics.csv``, in order (diversity per class after)
EVALUATE_SUMMARY = ("c2st_auc", "precision", "recall", "density", "coverage", "mmd", "mmd_p_value", "frechet",
                    "dcr_ratio", "closer_than_holdout", "tstr", "trtr", "class_specificity")
#: the metrics of one ablation cell, in table order (``mmd_p`` is ``mmd_p_value``)
ABLATION_METRICS = ("c2st_auc", "precision", "recall", "density", "coverage", "mmd", "mmd_p", "frechet", "diversity",
                    "dcr_ratio", "closer_than_holdout", "tstr", "trtr", "class_specificity")
#: the main metrics of the demo's side-by-side comparison
HEADLINE = ("c2st_auc", "dcr_ratio", "tstr", "trtr", "precision", "recall")
#: the rows of an image evaluation's table (:mod:`vaelab.reporting.image`), in order
IMAGE_SUMMARY = ("c2st_auc", "frechet", "kid", "precision", "recall", "density", "coverage", "dcr_ratio", "tstr_auc",
                 "trtr_auc", "tstr_trtr_auc", "tstr_bacc", "trtr_bacc")
#: the per-clip metrics of ``vaelab reconstruct`` (:data:`vaelab.modalities.audio.bands.METRIC_KEYS`)
RECONSTRUCTION_METRICS = ("lsd_full", "lsd_low", "lsd_mid", "lsd_high", "retention_low_db", "retention_mid_db",
                          "retention_high_db", "mel_distance", "mrstft", "snr_db", "correlation")
#: the seed report's metrics (see :mod:`vaelab.metrics.seed`)
SEED_METRICS = ("cosine", "mse", "pearson", "wasserstein")
