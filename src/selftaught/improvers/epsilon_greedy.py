"""Epsilon-greedy population: mostly improve the best, sometimes another member.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: GPT-4 proposed a population of
solutions explored epsilon-greedily, with an adaptive epsilon and a decaying temperature. Each
slot of a language-model call improves the population's best member with probability
1 - epsilon and a random other member with probability epsilon. Epsilon adapts after each call:
it halves when the call raised the best score (exploit what works) and grows when it did not
(look elsewhere). The sampling temperature decays geometrically from call to call.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

import random

from helpers import extract_code

POPULATION = 8
EPSILON, EPSILON_MIN, EPSILON_MAX = 0.3, 0.05, 0.9
TEMPERATURE, DECAY, TEMPERATURE_MIN = 1.0, 0.8, 0.3

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, score, description):
    return f"""This solution scores {score:.4f}:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

Write a solution that scores higher. Explain your idea in a sentence or two, then give the
complete improved solution in a single python code block."""


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


def improve_algorithm(initial_solution, utility, language_model):
    """Epsilon-greedy over a scored population; returns the best solution measured."""
    scores = _Scores(utility, initial_solution)
    population = {initial_solution: scores.best_score or 0.0}
    epsilon, temperature = EPSILON, TEMPERATURE
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        ranked = sorted(population, key=population.get, reverse=True)
        parents = [
            random.choice(ranked[1:])
            if len(ranked) > 1 and random.random() < epsilon
            else ranked[0]
            for _ in range(n)
        ]
        messages = [_message(p, population[p], utility.str) for p in parents]
        responses = _ask(language_model, messages, temperature)
        if responses is None:
            break
        before = population[ranked[0]]
        for candidate in extract_code(responses):
            score = scores(candidate)
            if score is not None:
                population[candidate] = score
        kept = sorted(population, key=population.get, reverse=True)[:POPULATION]
        population = {solution: population[solution] for solution in kept}
        improved = population[kept[0]] > before
        epsilon = max(EPSILON_MIN, epsilon / 2) if improved else min(EPSILON_MAX, epsilon * 1.5)
        temperature = max(TEMPERATURE_MIN, temperature * DECAY)
    return scores.best
