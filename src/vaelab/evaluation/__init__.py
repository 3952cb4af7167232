"""The evaluation suite shared by ``evaluate``, ``ablate`` and the demo, and the typed results.

``suite.py``: :func:`evaluate_arrays` / :func:`evaluate_files` (metrics.json, tables, figures);
``results.py``: :class:`EvaluationResult`, :class:`AblationResult`, :class:`AugmentResult`.
Submodules load on first use, so importing a result type does not import the suite.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "check_compatible": "suite", "evaluate_arrays": "suite", "evaluate_files": "suite", "write_report": "suite",
    "write_report_files": "suite", "format_report": "suite",
    "EvaluationResult": "results", "AblationResult": "results", "AugmentResult": "results",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"vaelab.evaluation.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
