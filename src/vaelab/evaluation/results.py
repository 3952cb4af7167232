"""Typed results: what ``metrics.json``, ``ablation.json`` and ``augment.json`` hold, as dataclasses.

Every renderer (text report, csv, figures, the HTML report) reads these instead of walking
nested dicts. ``to_dict`` gives the JSON document field by field in the order it has always
been written, so ``json.dumps(Result.from_dict(d).to_dict()) == json.dumps(d)`` for every
document vaelab wrote (keys it does not know are kept, in ``extra``, and written last).
Nested parts whose shape is owned by a metric (``c2st``, ``mmd_details``, ``dcr``, the seed
table, the flags, per-cell summaries) stay plain dicts; the accessors below read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from vaelab.core.errors import InputError

__all__ = ["AblationResult", "AugmentResult", "EvaluationResult", "ExperimentResult", "Result"]

R = TypeVar("R", bound="Result")


@dataclass(kw_only=True)
class Result:
    """Base of the result types: dict round trip in field order, unknown keys kept in ``extra``."""

    extra: dict[str, Any] = field(default_factory=dict)

    #: fields left out of ``to_dict`` when ``None`` (added after the format was fixed, or optional)
    omit_if_none: ClassVar[tuple[str, ...]] = ()
    #: the document's name in error messages
    what: ClassVar[str] = "result"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            v = getattr(self, f.name)
            if v is None and f.name in self.omit_if_none:
                continue
            out[f.name] = v
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:
        if not isinstance(d, Mapping):
            raise InputError(f"{cls.what}: expected a JSON object, got {type(d).__name__}")
        names = [f.name for f in fields(cls) if f.name != "extra"]
        required = [f.name for f in fields(cls) if f.name != "extra" and f.name not in cls.omit_if_none]
        missing = [k for k in required if k not in d]
        if missing:
            raise InputError(f"{cls.what}: missing field(s) {', '.join(missing)}")
        kwargs = {k: d[k] for k in names if k in d}
        return cls(**kwargs, extra={k: v for k, v in d.items() if k not in names})

    @classmethod
    def coerce(cls: type[R], r: R | Mapping[str, Any]) -> R:
        """``r`` itself if it is a ``cls``, else :meth:`from_dict` of it."""
        return r if isinstance(r, cls) else cls.from_dict(r)


@dataclass(kw_only=True)
class EvaluationResult(Result):
    """``metrics.json`` of ``vaelab evaluate`` and the demo (see :func:`vaelab.evaluation.suite.evaluate_arrays`)."""

    what: ClassVar[str] = "metrics.json"
    omit_if_none: ClassVar[tuple[str, ...]] = ("features", "model")

    n_real: int
    n_synthetic: int
    n_holdout: int | None
    seed: int
    features: dict[str, Any] | None = None
    c2st_auc: float
    c2st: dict[str, Any]
    precision: float
    recall: float
    density: float
    coverage: float
    prdc_k: int
    mmd: float
    mmd_p_value: float
    mmd_details: dict[str, Any]
    frechet: float
    diversity: dict[str, float]
    dcr_reference: str
    dcr_ratio: float
    closer_than_holdout: float
    dcr: dict[str, Any]
    tstr: float | None
    trtr: float | None
    class_specificity: float
    seed_metrics: dict[str, Any]
    references: dict[str, dict[str, Any]]
    flags: dict[str, dict[str, Any]]
    notes: list[str]
    model: str | None = None

    def value(self, key: str) -> Any:
        """A summary value by metric key; ``diversity[c]`` reads class ``c``'s spread ratio."""
        if key.startswith("diversity[") and key.endswith("]"):
            return self.diversity.get(key[len("diversity["):-1])
        return getattr(self, key, None)

    def summary_rows(self) -> list[tuple[str, str, Any, str]]:
        """``(key, label, value, how to read)`` of the summary table, from the metric registry."""
        from vaelab.metrics.registry import EVALUATE_SUMMARY, metric

        rows = []
        for k in EVALUATE_SUMMARY:
            info = metric(k)
            rows.append((k, info.label, self.value(k), info.read))
        div = metric("diversity")
        for c, v in self.diversity.items():
            rows.append((f"diversity[{c}]", f"{div.label}, class {c}", v, div.read))
        return rows

    def flag_rows(self) -> list[tuple[str, bool | None, str]]:
        """``(name, raised, reason)`` per flag; ``raised`` is ``None`` when not computed."""
        return [(name, f["raised"], f["reason"]) for name, f in self.flags.items()]

    def seed_rows(self) -> list[tuple[str, dict[str, Any]]]:
        """``(row name, values)`` of the seed table: the synthetic row, then the reference rows."""
        return [("synthetic", self.seed_metrics), *self.references.items()]


@dataclass(kw_only=True)
class ExperimentResult(Result):
    """The head every experiment document starts with: the command, the version, the data summary."""

    command: str
    vaelab_version: str
    data: dict[str, Any]


@dataclass(kw_only=True)
class AblationResult(ExperimentResult):
    """``ablation.json`` (see :func:`vaelab.experiments.ablation.run_ablation`)."""

    what: ClassVar[str] = "ablation.json"

    models: list[str]
    reference_model: str
    seeds: int
    folds: int
    preprocess: str
    settings: dict[str, Any]
    metric_goals: dict[str, str]
    results: dict[str, dict[str, dict[str, Any]]]
    tests_vs_reference: dict[str, dict[str, dict[str, Any]]]
    n_cells: int
    n_failed_cells: int
    failures: list[dict[str, Any]]
    notes: list[str]
    timing: dict[str, Any]

    @property
    def metrics(self) -> list[str]:
        return list(self.metric_goals)

    def summary(self, model: str, metric: str) -> dict[str, Any]:
        """``{"mean", "std", "n", "n_failed", "values", ...}`` of one model and metric over the cells."""
        return self.results[model][metric]

    def p_vs_reference(self, model: str, metric: str) -> float | None:
        """The paired test's p-value of ``model`` against the reference model (``None``: not tested)."""
        return self.tests_vs_reference.get(model, {}).get(metric, {}).get("p")

    @property
    def n_failed_metrics(self) -> int:
        return sum(1 for f in self.failures if f["metric"])


@dataclass(kw_only=True)
class AugmentResult(ExperimentResult):
    """``augment.json`` (see :func:`vaelab.experiments.augment.run_augment`)."""

    what: ClassVar[str] = "augment.json"
    omit_if_none: ClassVar[tuple[str, ...]] = ("compared", "compared_results", "compared_tests")

    model: str
    preprocess: str
    factors: list[str]
    classifiers: list[str]
    folds: int
    seeds: int
    n_pairs: int
    alpha: float
    settings: dict[str, Any]
    results: dict[str, dict[str, dict[str, Any]]]
    mean_balanced_accuracy_over_classifiers: dict[str, float | None]
    classical: list[str]
    classical_factors: list[str]
    classical_results: dict[str, dict[str, dict[str, dict[str, Any]]]]
    best_classical: dict[str, dict[str, Any] | None]
    #: other generators run in the same study (``--compare``); absent when none
    compared: list[str] | None = None
    compared_results: dict[str, dict[str, dict[str, dict[str, Any]]]] | None = None
    compared_tests: dict[str, dict[str, dict[str, dict[str, Any]]]] | None = None
    tests: dict[str, dict[str, dict[str, Any]]]
    significant_gain: dict[str, list[str]]
    significant_loss: dict[str, list[str]]
    recommended_factor: str
    verdict: str
    notes: list[str]
    n_cells: int
    n_failed_cells: int
    failures: list[dict[str, Any]]
    timing: dict[str, Any]

    def summary(self, factor: str, classifier: str, metric: str = "balanced_accuracy") -> dict[str, Any]:
        return self.results[factor][classifier][metric]

    def p_vs_0(self, factor: str, classifier: str, metric: str = "balanced_accuracy") -> float | None:
        t = self.tests.get(factor, {}).get(classifier, {}).get("vs_0", {}).get(metric)
        return None if t is None else t["p_holm"]

    def generator_results(self) -> list[tuple[str, dict[str, dict[str, dict[str, Any]]]]]:
        """``(generator, {factor: {classifier: {metric: summary}}})``: the model, then the classical ones."""
        return [(self.model, self.results), *self.classical_results.items()]
