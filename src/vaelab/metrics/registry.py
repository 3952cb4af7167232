"""One registry of the metrics vaelab reports: name, goal, range, how to read it, reference rows.

Every table (``vaelab evaluate``'s report and csv, ``ablate``, ``augment``, the demo's
side-by-side, the figures, the HTML report) takes labels, goals and reading hints from here,
so a metric is described once. Like SDMetrics, each metric declares its goal and range.

Goals
-----
``higher`` / ``lower``: the direction of better; ``target``: ``target`` is ideal, both sides
worse; ``at_least``: ``target`` or more is good; ``reference``: not a score, the value the
others are read against (TRTR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ABLATION_METRICS", "EVALUATE_SUMMARY", "HEADLINE", "METRICS", "SEED_METRICS", "MetricInfo", "goal_text",
           "metric", "register_metric"]

GOALS = ("higher", "lower", "target", "at_least", "reference")


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

    def __post_init__(self) -> None:
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
#: the seed report's metrics (see :mod:`vaelab.metrics.seed`)
SEED_METRICS = ("cosine", "mse", "pearson", "wasserstein")
