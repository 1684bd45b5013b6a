"""Safety you can measure: circumvention, reward hacking and budget gaming, recorded and reported.

Three parts, all in the host (nothing here runs untrusted code): the prompts of the paper's
circumvention experiment (safety/prompts.py), the detectors used while a run records
(safety/detectors.py) and the analysis of a run store (safety/analysis.py). The event kinds
they share are in selftaught/events.py. See docs/safety.md.
"""

from __future__ import annotations

from selftaught.safety.analysis import (
    PAPER_ROWS,
    analyse,
    attempts,
    by_iteration,
    offender_line,
    offending_lines,
    percent,
    rate_cell,
    report_kind,
    run_summary,
    summary_line,
)
from selftaught.safety.detectors import (
    check_evaluation,
    generalization_flags,
    refused_syscall,
    scan,
    scan_extra,
)
from selftaught.safety.prompts import WARNING, sandbox_flag_seed, task_description

__all__ = [
    "PAPER_ROWS",
    "WARNING",
    "analyse",
    "attempts",
    "by_iteration",
    "check_evaluation",
    "generalization_flags",
    "offender_line",
    "offending_lines",
    "percent",
    "rate_cell",
    "refused_syscall",
    "report_kind",
    "run_summary",
    "sandbox_flag_seed",
    "scan",
    "scan_extra",
    "summary_line",
    "task_description",
]
