"""Genetic algorithm with explicit fitness: selection, crossover and mutation by the model.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: one of the improvers GPT-4 proposed
keeps a population scored by the utility (its fitness, measured explicitly, as opposed to the
variant where the model judges fitness itself), picks parents by tournament, and asks the
language model both to cross two parents over (merge the best ideas of both into one program)
and to mutate one parent. The first generation is made of mutations of the initial solution;
each later generation is one language-model call whose slots are split between crossovers and
mutations. The population keeps its fittest `POPULATION` members (elitism).

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

import random

from helpers import extract_code

POPULATION = 6
CROSSOVER_SHARE = 0.5  # of each later generation's slots
TOURNAMENT = 2
TEMPERATURE = 0.8

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _mutation(solution, description):
    return f"""Here is a solution:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

Mutate it: make one meaningful change that you expect to raise its score, keeping the rest.
Say what you change in a sentence, then give the complete new solution in a single python
code block."""


def _crossover(first, second, description):
    return f"""Here are two solutions to the same problem.

Parent A:
```python
{first}
```

Parent B:
```python
{second}
```

They are scored by this utility function:
```python
{description}
```

Cross them over: write one solution that combines the strongest ideas of both parents.
Say what you take from each in a sentence, then give the complete combined solution in a
single python code block."""


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


def _select(population, rng):
    """Tournament selection: the fitter of TOURNAMENT members drawn at random."""
    entrants = [rng.choice(population) for _ in range(TOURNAMENT)]
    return max(entrants, key=lambda member: member[0])[1]


def _breed(population, n, description, rng):
    """n messages: crossovers of two distinct parents when there are two, mutations otherwise."""
    crossovers = round(n * CROSSOVER_SHARE) if len(population) >= 2 else 0
    messages = []
    for _ in range(crossovers):
        first = _select(population, rng)
        second = _select([m for m in population if m[1] != first], rng)
        messages.append(_crossover(first, second, description))
    for _ in range(n - crossovers):
        messages.append(_mutation(_select(population, rng), description))
    return messages


def improve_algorithm(initial_solution, utility, language_model):
    """Evolves a scored population; returns the fittest solution measured."""
    rng = random.Random(random.random())  # the sandbox seeds `random` per run: reproducible
    scores = _Scores(utility, initial_solution)
    population = [(scores.best_score or 0.0, initial_solution)]
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        responses = _ask(language_model, _breed(population, n, utility.str, rng), TEMPERATURE)
        if responses is None:
            break
        members = {solution: fitness for fitness, solution in population}
        for child in extract_code(responses):
            fitness = scores(child)
            if fitness is not None:
                members[child] = fitness
        ranked = sorted(members.items(), key=lambda item: item[1], reverse=True)
        population = [(fitness, solution) for solution, fitness in ranked[:POPULATION]]
    return scores.best
