"""Running untrusted code: `open_sandbox(mode)` gives an `api.Sandbox`.

Modes:
- "auto": a zygote with every layer this machine supports (network namespace, Landlock,
  seccomp, audit hook, on top of setsid and rlimits); if no zygote can start, fresh
  subprocesses with the same layers. Never in-process.
- "zygote-rlimits": a zygote with setsid and rlimits only (weak; for comparison).
- "subprocess": a fresh `sys.executable -s -S -P` child per execution (isolated mode; see
  `environment`), confined by the same layers where they work.

`doctor_report()` says which layers work here and what an execution costs.
"""

from __future__ import annotations

from selftaught.sandbox.api import (
    STATUSES,
    HandleError,
    Handler,
    HandleSpec,
    ImproverRun,
    InstanceOutcome,
    Limits,
    Sandbox,
    SolutionRun,
)

MODES = ("auto", "zygote-rlimits", "subprocess")


def open_sandbox(mode: str = "auto") -> Sandbox:
    """A ready sandbox; close it with `.close()` (or use it as a context manager)."""
    from selftaught.sandbox.host import ZygoteSandbox
    from selftaught.sandbox.subprocess_sandbox import SubprocessSandbox

    if mode == "auto":
        try:
            return ZygoteSandbox()
        except (OSError, RuntimeError):
            return SubprocessSandbox()
    if mode == "zygote-rlimits":
        return ZygoteSandbox(layers=())
    if mode == "subprocess":
        return SubprocessSandbox()
    raise ValueError(f"unknown sandbox mode {mode!r}; expected one of {', '.join(MODES)}")


def readable_root(path: str) -> str | None:
    """The root children may read (Landlock's read-only rules) that `path` lies beneath, if
    any: a run directory or working directory there is readable by model-written code."""
    from selftaught.sandbox.environment import readable_root as find

    return find(path)


def doctor_report() -> dict:
    """Which layers work on this machine (each with ok/why) and the zygote's overhead."""
    from selftaught.sandbox.doctor import report

    return report()


__all__ = [
    "MODES",
    "STATUSES",
    "HandleError",
    "HandleSpec",
    "Handler",
    "ImproverRun",
    "InstanceOutcome",
    "Limits",
    "Sandbox",
    "SolutionRun",
    "doctor_report",
    "open_sandbox",
    "readable_root",
]
