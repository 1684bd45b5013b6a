"""The probe's meta-level trials: does a model-written improver do an improver's job?

Each trial runs the improver in a sandboxed child through the ordinary `Invoker` (its proxies,
budgets and records are a real invocation's), with two scripted stand-ins served by the host:

- a scripted language model whose replies are canned candidates, each in a ```python block;
- a scripted utility that scores those known candidates (and 0 for anything else).

`works`: the candidates offered alternate worse, better, worse, ... than the initial solution;
the improver works if it returns the better one. `keeps_initial`: every candidate is worse; it
passes if it returns the initial solution. No real model is called and nothing runs in the host.
"""

from __future__ import annotations

from dataclasses import dataclass

from selftaught.config import Budgets
from selftaught.improve import Invoker, Recorder
from selftaught.records import Invocation, Level, Scope
from selftaught.sandbox import Limits, Sandbox

INITIAL = 'def algorithm(*args):\n    """The initial solution."""\n    return "initial"'
BETTER = 'def algorithm(*args):\n    """A better solution."""\n    return "better"'
WORSE = 'def algorithm(*args):\n    """A worse solution."""\n    return "worse"'
SCORES = {INITIAL: 0.4, BETTER: 0.9, WORSE: 0.1}
DESCRIPTION = (
    "def utility(algorithm_str: str):\n"
    '    """Scores the algorithm in algorithm_str between 0 and 1; higher is better."""'
)


def reply(candidate: str) -> str:
    return f"Here is an improved solution.\n```python\n{candidate}\n```"


def score(solution: str | None) -> float:
    """The scripted utility: the known candidates' scores, 0 for anything else."""
    return SCORES.get((solution or "").strip(), 0.0)


@dataclass
class ScriptedModel:
    """Canned replies: the k-th sample of the trial is `offers[k % len(offers)]`."""

    offers: tuple[str, ...]
    served: int = 0

    def __call__(self, expertise: str, messages: list[str], temperature: float, scope: Scope):
        replies = []
        for _ in messages:
            replies.append(reply(self.offers[self.served % len(self.offers)]))
            self.served += 1
        return replies


class Trials:
    """Runs the two trials for improvers, with a run's budgets, sandbox and recorder."""

    def __init__(self, budgets: Budgets, sandbox: Sandbox, recorder: Recorder, limits: Limits):
        self.budgets = budgets
        self.sandbox = sandbox
        self.recorder = recorder
        self.limits = limits

    def works(self, improver: str, index: int) -> bool:
        returned = self._run(improver, (WORSE, BETTER), "works", index)
        return returned == BETTER

    def keeps_initial(self, improver: str, index: int) -> bool:
        returned = self._run(improver, (WORSE,), "keeps_initial", index)
        return returned == INITIAL

    def _run(self, improver: str, offers: tuple[str, ...], trial: str, index: int) -> str | None:
        model = ScriptedModel(offers)
        invoker = Invoker(model, self.budgets, self.sandbox, self.recorder, self.limits)
        result = invoker(
            improver,
            INITIAL,
            score,
            utility_budget=self.budgets.utility_calls,
            description=DESCRIPTION,
            scope=Scope.probe(f"{trial}/{index}", Level.PROBE),
            seed=index,
            invocation=Invocation(Level.PROBE, task=trial, repetition=index),
        )
        return result.strip() if isinstance(result, str) else None
