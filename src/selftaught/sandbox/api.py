"""The one interface through which the host runs untrusted code.

Callers (the utility, the meta-utility, the STOP loop) only see `Sandbox`, `Limits` and the
result dataclasses below; how a child is made (zygote fork, fresh subprocess) and which kernel
layers confine it is the sandbox's business, reported in `layers`.

Two kinds of execution:

- a *solution* run: the child loads `source`, finds `entry` and calls it once per instance on
  that instance's inputs, streaming back one plain-JSON output per instance. The host times each
  instance from the messages it receives and scores the outputs itself.
- an *improver* run: the child loads `source`, builds proxies for `utility` and
  `language_model` whose every call travels over the child's pipe to `handler` in the host,
  calls `improve_algorithm(initial_solution, utility, language_model)` and returns its result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Every execution ends in exactly one of these.
STATUSES = (
    "ok",
    "error",  # the code raised; `error` holds the exception text
    "timeout",  # the wall-clock deadline passed
    "cpu_limit",
    "memory_limit",
    "output_too_large",
    "killed",  # died of a signal we did not send for a limit
    "no_result",  # exited without sending a result
    "sandbox_violation",  # a refused system call killed it, or the zygote died
)


# An instance is limited by the CPU time its child used (measured by the host), so that the same
# program scores the same on a loaded machine, and by the time it waited for anything but a CPU
# (sleeping, stopped: the limit plus `runs.WAIT_MARGIN`). A child starved of a CPU meets a
# wall-clock backstop of this many times the limit, plus a second, which is a timeout too.
WALL_BACKSTOP = 4.0


@dataclass(frozen=True)
class Limits:
    """Per-child limits; soft = hard for every rlimit."""

    wall_seconds: float = 60.0
    cpu_seconds: float = 60.0
    memory_mb: int = 1024  # address space above the child's baseline
    output_bytes: int = 1_000_000
    # The confinement profile (see `PROFILES`): "strict" for every built-in task and every
    # improver; "evaluator" lets an evaluator-form task's evaluator start child processes.
    profile: str = "strict"


PROFILES = {
    "strict": "no new processes or programs, no network, writes only in scratch",
    "evaluator": "may start child processes of the interpreter (bounded in number, killed "
    "with the evaluation); still no network, writes only in scratch, the same limits",
}


@dataclass
class InstanceOutcome:
    status: str
    output: Any = None  # plain JSON data when status == "ok"
    seconds: float = 0.0  # measured by the parent
    error: str | None = None


@dataclass
class SolutionRun:
    outcomes: list[InstanceOutcome]
    layers: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    node: str | None = None  # where it ran, set by the executor ("local", a Ray node's name)


@dataclass
class ImproverRun:
    status: str
    result: Any = None  # what improve_algorithm returned, if JSON data (normally a str)
    error: str | None = None
    seconds: float = 0.0  # time spent in the child, not in the host's handler
    layers: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HandleSpec:
    """What the child needs to build the proxies an improver sees."""

    initial_solution: str
    utility_budget: int
    utility_str: str
    lm_budget: int
    max_responses_per_call: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


# handler(method, params) -> JSON-able reply, or a `Served` one (a plain reply counts as
# budgeted work). Methods: "utility", "batch_prompt", "prompt".
# A handler raises `HandleError` to make the proxy in the child raise; its time is charged.
Handler = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Served:
    """A handler's reply that says whether it did budgeted work (an evaluation, a model call).
    The time of budgeted work is the host's, not the improver's; any other call's (refused,
    past its budget, a plain reply) is charged to the invocation's wall-clock limit, so that
    an improver calling in an endless loop still meets it."""

    value: Any
    budgeted: bool


class HandleError(Exception):
    """Raised by a host handler; re-raised in the child with the same kind and message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class Sandbox(Protocol):
    layers: list[str]

    def run_solution(
        self,
        source: str,
        entry: str,
        inputs: list[list[Any]],
        *,
        instance_seconds: float,
        seed: int,
        array_args: bool,
        limits: Limits,
    ) -> SolutionRun:
        """Run `entry(*inputs[i])` for each i; one outcome per instance, in order.

        `array_args`: pass list arguments to the entry as numpy arrays (the reference tasks do).
        Before instance i the child seeds `random` and `numpy.random` with `seed + i`.
        An instance over `instance_seconds` of CPU time, or of time waiting for anything but a
        CPU (plus a margin), or `WALL_BACKSTOP` times that, plus a second, of wall time, is a
        timeout; the remaining instances still run. An outcome's
        `seconds` is the CPU time it used, where the kernel says, else its wall time.
        """
        ...

    def run_improver(
        self, source: str, spec: HandleSpec, handler: Handler, *, seed: int, limits: Limits
    ) -> ImproverRun:
        """Run `improve_algorithm` from `source`, serving its proxy calls with `handler`."""
        ...

    def close(self) -> None: ...
