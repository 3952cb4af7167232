"""Novelty / memorisation metrics: distance to closest record (DCR).

A generative model that copies its training samples scores perfectly on fidelity
metrics; DCR compares how close synthetic samples are to the training set with how
close unseen real samples (a holdout set from the same distribution) are to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelab.core.errors import InputError
from vaelab.metrics.distribution import _distance_blocks, _flatten, _same_width

__all__ = ["dcr", "dcr_breakdown", "left_out_dcr", "left_out_distances", "nearest_distances"]


def nearest_distances(queries: Any, reference: Any) -> np.ndarray:
    """Euclidean distance from each query to its nearest reference sample.

    Computed in row blocks, so memory stays bounded. The nearest neighbour is found
    with the fast dot-product form of the distance; the returned distance to it is
    then recomputed from the difference vector, so exact copies give exactly 0.

    Args:
        queries: numpy.ndarray([Q, ...]); trailing axes are flattened.
        reference: numpy.ndarray([R, ...]), same trailing size, R >= 1.
    Returns:
        numpy.ndarray([Q]) of distances >= 0.
    """
    q = _flatten(queries, "queries")
    r = _flatten(reference, "reference")
    _same_width(q, r, "queries", "reference")
    out = np.empty(q.shape[0])
    for rows, d in _distance_blocks(q, r):
        nearest = r[d.argmin(axis=1)]
        out[rows] = np.sqrt(np.einsum("ij,ij->i", q[rows] - nearest, q[rows] - nearest))
    return out


def left_out_distances(samples: Any, groups: Any = None) -> np.ndarray:
    """Euclidean distance from each sample to its nearest *other* sample (of another group, if
    ``groups``): the distance a sample has to the rest when it is left out of it.

    As :func:`nearest_distances`: row blocks, the nearest found with the dot-product form, its
    distance recomputed from the difference vector (exact copies give exactly 0).

    Args:
        samples: numpy.ndarray([N, ...]), N >= 2; trailing axes are flattened.
        groups: optional numpy.ndarray([N]) of group labels (patients, speakers).
    Returns:
        numpy.ndarray([N]) of distances >= 0; inf for a sample with no sample of another group.
    """
    x = _flatten(samples, "samples", min_rows=2)
    g = None if groups is None else np.asarray([str(v) for v in np.asarray(groups).tolist()], dtype=object)
    if g is not None and len(g) != len(x):
        raise InputError(f"groups has {len(g)} entries for {len(x)} samples")
    out = np.empty(x.shape[0])
    for rows, d in _distance_blocks(x, x):
        idx = np.arange(rows.start, rows.stop)
        d[np.arange(len(idx)), idx] = np.inf
        if g is not None:
            d[g[idx][:, None] == g[None, :]] = np.inf
        j = d.argmin(axis=1)
        diff = x[idx] - x[j]
        out[idx] = np.where(np.isfinite(d[np.arange(len(idx)), j]), np.sqrt(np.einsum("ij,ij->i", diff, diff)),
                            np.inf)
    return out


def dcr_breakdown(synthetic: Any, train: Any, holdout: Any) -> dict[str, Any]:
    """Distance to closest record, with the raw distances. See :func:`dcr`.

    Args:
        synthetic: numpy.ndarray([M, ...]) generated samples.
        train: numpy.ndarray([N, ...]) samples the generator was trained on.
        holdout: numpy.ndarray([H, ...]) real samples the generator never saw.
    Returns:
        dict with ``dcr_ratio``, ``closer_than_holdout`` (see :func:`dcr`),
        ``median_synthetic_to_train``, ``median_holdout_to_train``,
        ``min_holdout_to_train``, ``n_synthetic``, ``n_train``, ``n_holdout``,
        ``synthetic_to_train`` (numpy.ndarray([M])) and ``holdout_to_train``
        (numpy.ndarray([H])) for histograms, ``metric`` ("euclidean").
    """
    syn = _flatten(synthetic, "synthetic")
    tr = _flatten(train, "train")
    ho = _flatten(holdout, "holdout")
    _same_width(syn, tr, "synthetic", "train")
    _same_width(ho, tr, "holdout", "train")

    syn_d = nearest_distances(syn, tr)
    ho_d = nearest_distances(ho, tr)
    med_syn = float(np.median(syn_d))
    med_ho = float(np.median(ho_d))
    min_ho = float(ho_d.min())
    ratio = med_syn / med_ho if med_ho > 0 else float("nan")
    return {
        "dcr_ratio": ratio,
        "closer_than_holdout": float(np.mean(syn_d < min_ho)),
        "median_synthetic_to_train": med_syn,
        "median_holdout_to_train": med_ho,
        "min_holdout_to_train": min_ho,
        "n_synthetic": int(syn.shape[0]),
        "n_train": int(tr.shape[0]),
        "n_holdout": int(ho.shape[0]),
        "synthetic_to_train": syn_d,
        "holdout_to_train": ho_d,
        "metric": "euclidean",
    }


def dcr(synthetic: Any, train: Any, holdout: Any) -> dict[str, float]:
    """Distance to closest record (DCR): are synthetic samples copies of training samples?

    For every sample, the Euclidean distance (on flattened features) to its nearest
    training sample is computed, for the synthetic set and for a holdout set of real
    samples that the model never saw.

      * ``dcr_ratio`` = median(synthetic -> train) / median(holdout -> train).
        Goal: **about 1 or more is good**; range [0, inf). ~1: synthetic samples are
        as far from the training data as new real data is (novel); -> 0: the
        generator reproduces (near-)copies of training samples. NaN when the holdout
        median is 0 (holdout duplicates training samples; fix the split).
      * ``closer_than_holdout`` = share of synthetic samples whose nearest-train
        distance is strictly smaller than the smallest holdout -> train distance,
        i.e. closer to the training set than ANY unseen real sample is.
        Goal: **lower is better**; range [0, 1]; copies give 1.

    Both numbers depend on the feature scale; compute them on the same
    preprocessing the model was trained on.

    References:
        Z. Zhao, A. Kunar, R. Birke, L. Y. Chen, "CTAB-GAN: Effective Table Data
        Synthesizing", ACML 2021 (DCR); M. Platzer and T. Reutterer, "Holdout-Based
        Empirical Assessment of Mixed-Type Synthetic Data", Frontiers in Big Data 2021
        (comparison with a holdout set).

    Args:
        synthetic: numpy.ndarray([M, ...]).
        train: numpy.ndarray([N, ...]).
        holdout: numpy.ndarray([H, ...]).
    Returns:
        dict with ``dcr_ratio`` and ``closer_than_holdout`` (floats). See
        :func:`dcr_breakdown` for medians and raw distances.
    """
    b = dcr_breakdown(synthetic, train, holdout)
    return {"dcr_ratio": b["dcr_ratio"], "closer_than_holdout": b["closer_than_holdout"]}


def left_out_dcr(train: Any, holdout: Any, groups: Any = None) -> float:
    """The DCR ratio of real samples left out of the training set: a reference for :func:`dcr`.

    ``median(train_i -> nearest other training sample) / median(holdout -> train)`` (the nearest
    other of another group with ``groups``, :func:`left_out_distances`): what
    :func:`dcr` gives when the "synthetic" samples are the training samples themselves, each
    scored with itself left out. A generator whose samples lie exactly as far from the training
    set as a left-out training sample does (the target of
    :meth:`vaelab.samplers.kde.CalibratedKDE.calibrate`) scores this, not 1: the two medians
    estimate the same distance from different samples, and where the nearest-neighbour distances
    are bimodal (clusters of near-replicate spectra next to isolated ones) they can differ by a
    factor 2-3 between splits of one data set (``benchmarks/RESULTS.md``, issue 16, session 9).
    Goal: none (a property of the data and the split); read a DCR ratio against it.

    Args:
        train: numpy.ndarray([N, ...]), N >= 2.
        holdout: numpy.ndarray([H, ...]), same trailing size.
        groups: optional numpy.ndarray([N]) of the training samples' groups.
    Returns:
        float >= 0; NaN when the holdout median is 0 (as :func:`dcr`).
    """
    tr = _flatten(train, "train", min_rows=2)
    ho = _flatten(holdout, "holdout")
    _same_width(ho, tr, "holdout", "train")
    med_ho = float(np.median(nearest_distances(ho, tr)))
    return float(np.median(left_out_distances(tr, groups))) / med_ho if med_ho > 0 else float("nan")
