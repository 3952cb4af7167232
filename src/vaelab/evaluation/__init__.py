"""The evaluation suite shared by ``evaluate``, ``ablate`` and the demo."""

from vaelab.evaluation.suite import (
    check_compatible,
    evaluate_arrays,
    evaluate_files,
    format_report,
    write_report,
    write_report_files,
)

__all__ = [
    "check_compatible",
    "evaluate_arrays",
    "evaluate_files",
    "format_report",
    "write_report",
    "write_report_files",
]
