"""The task utility u: a solution string -> mean score over one split's instances.

The candidate runs in a sandboxed child that only returns outputs; instances are generated and
scored here, in the host. An instance that times out, raises or returns something unusable
scores 0 and keeps its reason; it never zeroes the other instances. Evaluations are cached in
the run store by (program, task, split, seed), which is also what a resumed run reads back.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from selftaught.records import StoredEvaluation
from selftaught.sandbox import Limits, Sandbox
from selftaught.sandbox.api import WALL_BACKSTOP
from selftaught.scores import UNIT, Bounds, mean
from selftaught.seeds import secret_instance_seed, solution_seed
from selftaught.store import RunStore, sha256
from selftaught.tasks import Instance, Split, Task, TaskError, child_program

RECENT = 256  # evaluations an Evaluator keeps in memory for `recorded`


@dataclass
class Evaluation:
    score: float
    instances: list[dict[str, Any]]  # {"score", "status", "seconds", "reason"?}
    seconds: float
    layers: list[str]
    failure: str | None = None  # why the whole program failed (no code, no entry, ...)
    profile: str = "strict"  # the sandbox's confinement profile it ran under (api.PROFILES)
    node: str | None = None  # where it ran (the executor's node name); not part of the score
    # How a whole-program rewrite was read into the initial program's EVOLVE-BLOCKs (what was
    # taken), when it was (tasks/splicing.py); None when it ran as written.
    spliced: str | None = None
    # What the child's audit hook saw (processes, sockets, ctypes, ...): reported as safety
    # events by the caller, which knows whose solution it is; not part of the cached record.
    audit: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "audit"}

    @classmethod
    def read_back(cls, stored: StoredEvaluation) -> Evaluation:
        """The evaluation the store recorded (its profile and audit are not stored)."""
        return cls(
            stored.score, stored.instances, stored.seconds, stored.layers, stored.failure,
            node=stored.node, spliced=stored.spliced,
        )  # fmt: skip


@cache
def _instances(task: Task, split: str, secret: str | None) -> tuple[Instance, ...]:
    spec = task.splits[split]
    return tuple(task.instance(instance_seed(spec, i, secret)) for i in range(spec.size))


def instance_seed(spec: Split, i: int, secret: str | None) -> int:
    """The seed of instance i of a split: the paper's public first_seed + i, or, with a run's
    secret, one derived from it that a child cannot compute (it never sees the secret)."""
    if secret is None:
        return spec.first_seed + i
    return secret_instance_seed(secret, spec.first_seed, i)


def bounds_of(evaluators: list[Evaluator]) -> Bounds:
    """Where a mean over these tasks' scores lives: [0, 1], or None when any task scores on
    its evaluator's own scale."""
    return None if any(e.bounds is None for e in evaluators) else UNIT


class Evaluator:
    """Scores solutions of one task; the same object serves every split. `secret`: the run's
    instance secret (`--secret-seeds`), None for the paper's public seeds."""

    def __init__(
        self,
        task: Task,
        sandbox: Sandbox,
        store: RunStore | None,
        *,
        memory_mb: int = 1024,
        secret: str | None = None,
    ):
        self.task = task
        self.sandbox = sandbox
        self.store = store
        self.memory_mb = memory_mb
        self.secret = secret
        self.count = 0  # evaluations run (not read from the cache)
        self._lock = threading.Lock()
        self._in_progress: dict[tuple[str, str], threading.Lock] = {}
        # The last evaluations, for `recorded` (utility.why) without a store read, or a store.
        self._recent: OrderedDict[tuple[str, str], Evaluation] = OrderedDict()

    @property
    def bounds(self) -> Bounds:
        """Where the task's scores live: [0, 1], or None on its evaluator's own scale."""
        return None if getattr(self.task, "own_scale", Task.own_scale) else UNIT

    def evaluate(self, solution: str | None, split: str) -> Evaluation:
        if not isinstance(solution, str) or not solution.strip():
            return Evaluation(0.0, [], 0.0, [], failure="no solution code")
        program = self.store.put_program(solution, "solution") if self.store else sha256(solution)
        seed = solution_seed(program, self.task.name, split)
        # Concurrent invocations often return the same solution: it is run once, the others
        # wait and read it back, so that every caller sees the one recorded evaluation.
        with self._once(program, split):
            hit = self.store and self.store.get_evaluation(program, self.task.name, split, seed)
            if hit:
                return self._remember(program, split, Evaluation.read_back(hit))
            result = self._run(solution, split, seed)
            if self.store:
                self.store.put_evaluation(program, self.task.name, split, seed, result.to_json())
        with self._lock:
            self.count += 1
        return self._remember(program, split, result)

    def recorded(self, solution: str, split: str) -> Evaluation | None:
        """The evaluation of `solution` on `split` if it was scored, without running anything."""
        program = sha256(solution)
        with self._lock:
            if (recent := self._recent.get((program, split))) is not None:
                return recent
        seed = solution_seed(program, self.task.name, split)
        hit = self.store and self.store.get_evaluation(program, self.task.name, split, seed)
        return Evaluation.read_back(hit) if hit else None

    def _remember(self, program: str, split: str, evaluation: Evaluation) -> Evaluation:
        with self._lock:
            self._recent[(program, split)] = evaluation
            self._recent.move_to_end((program, split))
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return evaluation

    def _once(self, program: str, split: str) -> threading.Lock:
        with self._lock:
            return self._in_progress.setdefault((program, split), threading.Lock())

    def _run(self, solution: str, split: str, seed: int) -> Evaluation:
        profile = getattr(self.task, "profile", Task.profile)
        refuse = getattr(self.task, "refuse", Task.refuse)  # checks made before running anything
        refusal = refuse(solution) if callable(refuse) else None
        if refusal:
            return Evaluation(0.0, [], 0.0, [], failure=str(refusal)[:500], profile=profile)
        # a whole-program rewrite, read forgivingly
        splice = getattr(self.task, "splice", Task.splice)
        spliced = splice(solution) if callable(splice) else None
        if spliced is not None and spliced.program is not None:
            solution = spliced.program
        instances = _instances(self.task, split, self.secret)
        seconds = self.task.instance_seconds
        limits = Limits(
            wall_seconds=seconds * len(instances) * WALL_BACKSTOP + 5.0,
            cpu_seconds=seconds * len(instances) + 5.0,
            memory_mb=self.memory_mb,
            profile=profile,
        )
        started = time.monotonic()
        run = self.sandbox.run_solution(
            child_program(self.task, solution),
            self.task.entry,
            [inst.inputs for inst in instances],
            instance_seconds=seconds,
            seed=seed,
            array_args=self.task.array_args,
            limits=limits,
        )
        rows = [self._score(inst, out) for inst, out in zip(instances, run.outcomes, strict=True)]
        score = mean(r["score"] for r in rows)
        failure = _common_failure(rows)
        seconds = time.monotonic() - started
        note = spliced.note if spliced is not None else None
        return Evaluation(
            score, rows, seconds, run.layers, failure, profile, run.node, note,
            audit=list(run.audit),
        )  # fmt: skip

    def _score(self, instance: Instance, outcome: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"score": 0.0, "status": outcome.status, "seconds": outcome.seconds}
        if outcome.status != "ok":
            row["reason"] = outcome.error or outcome.status
        elif outcome.seconds > self.task.instance_seconds:
            row["status"], row["reason"] = "timeout", f"took {outcome.seconds:.2f} s"
        else:
            row["score"], reason = self._scored(instance, outcome.output)
            if reason:
                row["status"], row["reason"] = "invalid_output", reason
            row |= {k: v for k, v in self._recorded(outcome.output).items() if k not in row}
        return row

    def _recorded(self, output: Any) -> dict[str, Any]:
        """What the task records of an output beyond its score (the evaluator form's metrics
        and artifacts); like the score, an output that breaks it costs only the record."""
        record = getattr(self.task, "record", Task.record)
        if not callable(record):
            return {}
        try:
            return dict(record(output))
        except TaskError:
            raise
        except Exception as exc:  # noqa: BLE001 - the output is the candidate's, not ours
            return {"record_error": f"{type(exc).__name__}: {str(exc)[:200]}"}

    def _scored(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        """The task's score of one output; an output that breaks the scorer (10**400 is past
        float range) costs its instance, built-in task or user task alike. A user task that
        breaks its own contract (`TaskError`) is still the user's error."""
        try:
            return self.task.score(instance, output)
        except TaskError:
            raise
        except Exception as exc:  # noqa: BLE001 - the output is the candidate's, not ours
            return 0.0, f"the task's scorer raised {type(exc).__name__}: {str(exc)[:200]}"


def _common_failure(rows: list[dict[str, Any]]) -> str | None:
    """The reason shared by every instance, when all of them failed the same way."""
    reasons = {r.get("reason") for r in rows}
    if len(reasons) == 1 and None not in reasons:
        return str(reasons.pop())[:500]
    return None
