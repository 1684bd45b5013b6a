"""Beam search: keep the few best solutions and expand each of them, call after call.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: beam search was the strategy GPT-4
proposed most often, in variants with a utility cache and with a decaying temperature (threads
are left out: the calls are sequential and cheap to serialize). One language-model call per
round holds requests to improve every solution of the beam, the slots split among them; the
children are scored (each solution once, thanks to the cache) and the best `BEAM_WIDTH` of
beam and children form the next beam. The temperature starts high, to explore, and decays
towards `FINAL_TEMPERATURE`, to refine.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

from helpers import extract_code

BEAM_WIDTH = 3
FIRST_TEMPERATURE = 1.0
FINAL_TEMPERATURE = 0.4

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, score, description):
    return f"""This solution currently scores {score:.4f}:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

Write a solution that scores higher. Keep what already works and change what holds the score
back. Explain your idea in a sentence or two, then give the complete improved solution in a
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


def _temperature(step, rounds):
    """Geometric decay from FIRST_TEMPERATURE to FINAL_TEMPERATURE over the rounds."""
    if rounds <= 1:
        return FIRST_TEMPERATURE
    ratio = FINAL_TEMPERATURE / FIRST_TEMPERATURE
    return FIRST_TEMPERATURE * ratio ** (step / (rounds - 1))


def improve_algorithm(initial_solution, utility, language_model):
    """Beam search over the model's rewrites; returns the best solution measured."""
    scores = _Scores(utility, initial_solution)
    beam = [(scores.best_score or 0.0, initial_solution)]
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        # Slots go round-robin over the beam, best first, so the leader gets any remainder.
        messages = [
            _message(beam[i % len(beam)][1], beam[i % len(beam)][0], utility.str) for i in range(n)
        ]
        responses = _ask(language_model, messages, _temperature(step, rounds))
        if responses is None:
            break
        pool = {solution: score for score, solution in beam}
        for candidate in extract_code(responses):
            score = scores(candidate)
            if score is not None:
                pool[candidate] = score
        ranked = sorted(pool.items(), key=lambda item: item[1], reverse=True)
        beam = [(score, solution) for solution, score in ranked[:BEAM_WIDTH]]
    return scores.best
