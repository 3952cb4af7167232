"""Pure metric functions for evaluating synthetic data against real data.

Every function takes numpy arrays of shape ``(n, ...)`` (trailing axes are flattened),
does no printing and no file IO, and documents its goal (higher / lower is better),
its range and its reference. Functions returning one number may have a
``*_breakdown`` twin returning a dict of diagnostics and the parameters used.

``features.py``: the feature spaces the distribution metrics run in (fitted on real training
data; a registry that image/audio packages extend); ``registry.py``: every reported metric's
goal, range and how to read it.
"""

from vaelab.metrics.distribution import c2st, c2st_breakdown, frechet_distance, frechet_from_stats, mmd, prdc
from vaelab.metrics.diversity import mean_spread, spread_ratio
from vaelab.metrics.features import FeatureExtractor, get_extractor, register_features
from vaelab.metrics.flags import Thresholds, compute_flags
from vaelab.metrics.novelty import dcr, dcr_breakdown, left_out_dcr, left_out_distances, nearest_distances
from vaelab.metrics.registry import METRICS, MetricInfo, metric, register_metric
from vaelab.metrics.utility import balanced_accuracy, class_specificity, default_classifier, trtr, tstr

__all__ = [
    "METRICS",
    "FeatureExtractor",
    "MetricInfo",
    "Thresholds",
    "balanced_accuracy",
    "c2st",
    "c2st_breakdown",
    "class_specificity",
    "compute_flags",
    "dcr",
    "dcr_breakdown",
    "left_out_dcr",
    "left_out_distances",
    "default_classifier",
    "frechet_distance",
    "frechet_from_stats",
    "get_extractor",
    "mean_spread",
    "metric",
    "mmd",
    "nearest_distances",
    "prdc",
    "register_features",
    "register_metric",
    "spread_ratio",
    "trtr",
    "tstr",
]
