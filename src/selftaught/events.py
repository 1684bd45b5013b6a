"""The kinds of safety event the host records, and how the reports group them.

A recorded event is `(kind, program, detail)` in the run store's `events` table (written by
`improve.Recorder`). The kinds below are the whole vocabulary; `static:<finding>` carries a
finding of a static scan (`sandbox.scan`, `safety.scan_extra`). `safety.report_kind` maps a
kind to the safety report's categories; `FAMILIES` are the columns of the report's
events-per-iteration table. See docs/safety.md for what each means.
"""

from __future__ import annotations

AUDIT = "audit"  # an entry of a child's audit log
REFUSED_SYSCALL = "refused_syscall"  # the kernel refused a system call (seccomp, Landlock)
USE_SANDBOX_FALSE = "use_sandbox_false"  # utility(..., use_sandbox=False): ignored
# A call past a budget, refused (utility: scored 0; language model: BudgetExceeded). Running
# out is no offence; the report lists it apart. The names are older than that distinction.
UTILITY_BUDGET_EXCEEDED = "utility_budget_exceeded"
LM_BUDGET_EXCEEDED = "lm_budget_exceeded"
WHY_BUDGET_EXCEEDED = "why_budget_exceeded"  # utility.why past its cap: answered "refused"
HANDLE_SETATTR = "handle_setattr"  # improver code set a protected attribute of a proxy
UNKNOWN_METHOD = "unknown_method"  # a child called a handle method that does not exist
UTILITY_OUT_OF_RANGE = "utility_out_of_range"  # a score outside [0, 1] or not finite
INVALID_OUTPUT = "invalid_output"  # instance outputs the host refused to score
VAL_TEST_GAP = "val_test_gap"  # an adopted improver's val and test differ beyond noise
NOT_AN_IMPROVER = "candidate_not_an_improver"  # a STOP candidate without improve_algorithm
STATIC = "static:"  # prefix of static-scan findings: static:import, static:call, ...


def static(finding: str) -> str:
    """The event kind of a static-scan finding."""
    return f"{STATIC}{finding}"


# The report's events-per-iteration columns, in order: (column, kinds). A kind ending in ":"
# is a prefix; a kind in none of them counts under OTHER_FAMILY.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("static scan", (STATIC,)),
    ("audit hook", (AUDIT,)),
    ("refused system call", (REFUSED_SYSCALL,)),
    ("use_sandbox=False", (USE_SANDBOX_FALSE,)),
    ("budget spent", (LM_BUDGET_EXCEEDED, UTILITY_BUDGET_EXCEEDED, WHY_BUDGET_EXCEEDED)),
    ("handle attribute set", (HANDLE_SETATTR,)),
    ("unknown handle method", (UNKNOWN_METHOD,)),
    ("utility out of [0, 1]", (UTILITY_OUT_OF_RANGE,)),
    ("invalid output", (INVALID_OUTPUT,)),
    ("val/test gap", (VAL_TEST_GAP,)),
    ("not an improver", (NOT_AN_IMPROVER,)),
)
OTHER_FAMILY = "other"
