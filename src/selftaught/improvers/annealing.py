"""Simulated annealing: walk from solution to solution, sometimes accepting a worse one.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: GPT-4 proposed an improver that
accepts a worse candidate with a probability that falls as a temperature cools, so the search
can leave a local optimum early and settles later. Here each language-model call proposes
rewrites of the current solution; the proposals are visited in order, and each one replaces the
current solution if it scores higher, or with probability exp((new - current) / T) if it scores
lower. T cools geometrically with every proposal; the best solution ever measured is kept
apart from the walk and is what is returned. The sampling temperature follows T as well.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

import math
import random

from helpers import extract_code

START_T = 0.05  # utilities lie in [0, 1]: a 0.05 drop is accepted with probability 1/e at first
COOLING = 0.85  # per proposal
SAMPLING_HOT, SAMPLING_COLD = 1.0, 0.4

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, description):
    return f"""Here is a solution:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

Propose a variation of this solution that might score higher: try a different idea for one
part of it. Explain it in a sentence, then give the complete new solution in a single python
code block."""


def _ask(language_model, messages, temperature):
    """One call's responses, or None once the model's budget is spent."""
    if not messages or language_model.budget <= 0:
        return None
    try:
        return language_model.batch_prompt(EXPERTISE, messages, temperature=temperature)
    except Exception as exc:  # only a spent budget is expected; anything else is a bug
        if type(exc).__name__ == "BudgetExceeded":
            return None
        raise


class _Scores:
    """The utility behind a cache, remembering the best solution measured."""

    def __init__(self, utility, initial):
        self.utility = utility
        self.known = {}
        self.best, self.best_score = initial, None
        self.best_score = self(initial)

    def left(self):
        return self.utility.budget - self.utility.uses

    def __call__(self, solution):
        """The solution's utility, or None if it has no code or the budget is spent."""
        if not isinstance(solution, str) or not solution.strip():
            return None
        if solution in self.known:
            return self.known[solution]
        if self.left() <= 0:
            return None
        score = float(self.utility(solution, use_sandbox=True))
        self.known[solution] = score
        if self.best_score is not None and score > self.best_score:
            self.best, self.best_score = solution, score
        return score


def _accept(new, current, t):
    """The Metropolis rule: always uphill; downhill with probability exp(delta / t)."""
    if new >= current:
        return True
    return random.random() < math.exp((new - current) / max(t, 1e-12))


def improve_algorithm(initial_solution, utility, language_model):
    """Anneals over the model's rewrites; returns the best solution measured."""
    scores = _Scores(utility, initial_solution)
    current, current_score = initial_solution, scores.best_score or 0.0
    t = START_T
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        sampling = SAMPLING_COLD + (SAMPLING_HOT - SAMPLING_COLD) * t / START_T
        responses = _ask(language_model, [_message(current, utility.str)] * n, sampling)
        if responses is None:
            break
        for candidate in extract_code(responses):
            score = scores(candidate)
            if score is None:
                continue
            if _accept(score, current_score, t):
                current, current_score = candidate, score
            t *= COOLING
    return scores.best
