"""What a full STOP run would cost with a model, from what a probe measured.

The count is the one the budgets imply (an upper bound: every improver spends its whole budget):

    task-level invocations  = (1 + T * (meta_utility_calls + 1)) * repetitions * tasks
    meta-level invocations  = T
    language-model calls    = invocations * lm_calls
    samples                 = calls * responses_per_call

(one meta-utility û is `repetitions` invocations per task; t = 0 scores the initial improver
once; each of the T iterations lets the improver of improvers call û up to
`meta_utility_calls` times, then scores its candidate once more). Tokens are the samples times
the mean prompt and completion tokens per sample the probe measured at that level; dollars come
from the price table (None where it has no price); hours are the samples times the backend
seconds per sample measured at that level (prompt and completion, one request at a time), and
`tokens_per_second` the measured completion tokens per backend second. One task, as a run on
one task spends; a run on k tasks spends k times the task level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import reduce

from selftaught.config import PRESETS, Budgets
from selftaught.lm.pricing import Price


@dataclass(frozen=True)
class LevelCost:
    """What the samples generated at one level cost: counts, tokens and backend seconds."""

    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @classmethod
    def between(cls, before: Mapping[str, float], after: Mapping[str, float]) -> LevelCost:
        """The generated (not cached) samples between two `Usage.as_dict()` readings."""

        def grew(key: str) -> float:
            return after.get(key, 0) - before.get(key, 0)

        return cls(
            samples=int(grew("samples") - grew("cached_samples")),
            prompt_tokens=int(grew("prompt_tokens")),
            completion_tokens=int(grew("completion_tokens")),
            seconds=float(grew("seconds")),
        )

    def plus(self, other: LevelCost) -> LevelCost:
        return LevelCost(
            self.samples + other.samples,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.seconds + other.seconds,
        )

    def per_sample(self, field: str) -> float:
        return getattr(self, field) / self.samples if self.samples else 0.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def invocations(budgets: Budgets, iterations: int, tasks: int) -> dict[str, int]:
    """Improver invocations of a full run, per level (the module docstring's formula)."""
    task = (1 + iterations * (budgets.meta_utility_calls + 1)) * budgets.repetitions * tasks
    return {"task": task, "meta": iterations}


def estimate(
    budgets: Budgets,
    iterations: int,
    costs: Mapping[str, LevelCost],
    price: Price | None,
    tasks: int = 1,
) -> dict[str, float | int | None]:
    """Calls, samples, tokens, dollars and hours of a run with these budgets."""
    counts = invocations(budgets, iterations, tasks)
    calls = samples = prompt = completion = 0
    seconds = 0.0
    for level, count in counts.items():
        level_samples = count * budgets.lm_calls * budgets.responses_per_call
        calls += count * budgets.lm_calls
        samples += level_samples
        cost = costs.get(level) or costs.get("task") or LevelCost()
        prompt += round(level_samples * cost.per_sample("prompt_tokens"))
        completion += round(level_samples * cost.per_sample("completion_tokens"))
        seconds += level_samples * cost.per_sample("seconds")
    measured = reduce(LevelCost.plus, costs.values(), LevelCost())
    speed = measured.completion_tokens / measured.seconds if measured.completion_tokens else None
    return {
        "iterations": iterations,
        "invocations": sum(counts.values()),
        "lm_calls": calls,
        "samples": samples,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": prompt + completion,
        "dollars": None if price is None else price.cost(prompt, completion),
        "tokens_per_second": speed,
        "hours": seconds / 3600 if measured.seconds else None,
    }


def estimates(
    costs: Mapping[str, LevelCost], price: Price | None, tasks: int = 1
) -> dict[str, dict[str, float | int | None]]:
    """`estimate` for the paper and quick presets, for a run on `tasks` tasks."""
    return {
        name: estimate(Budgets(**preset["budgets"]), preset["iterations"], costs, price, tasks)
        for name, preset in PRESETS.items()
    }
