"""Hints: one batch of prompts, each nudging the model towards another kind of improvement.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: GPT-4 proposed an improver that
asks for improvements under several hints at once (a different algorithm, speed, robustness,
tuning, ...), so one call yields a spread of ideas instead of many variations of one idea. Each
language-model call sends the same solution (the best so far) under a different hint per slot,
rotating through the hints from call to call so that every hint gets its turn.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

from helpers import extract_code

TEMPERATURE = 0.7

HINTS = (
    "Start from scratch with a fundamentally different algorithm rather than a tweak of this one.",
    "Exploit the structure of the problem that the utility function reveals: its sizes, its "
    "distributions and its constraints.",
    "Make it faster, so that more useful work fits within the time limit.",
    "Make it robust: handle edge cases and anything that could raise an exception or time out.",
    "Tune its parameters and constants, or combine several estimates into one (an ensemble).",
    "Search exhaustively, or much more widely, if the problem is small enough to allow it.",
)

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, description, hint):
    return f"""Here is a solution to improve:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

Write a solution that scores higher. Hint: {hint}
Explain your idea in a sentence or two, then give the complete improved solution in a single
python code block."""


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
    """Improves the best solution under a different hint per slot; returns the best measured."""
    scores = _Scores(utility, initial_solution)
    rounds = language_model.budget
    next_hint = 0
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        hints = [HINTS[(next_hint + i) % len(HINTS)] for i in range(n)]
        next_hint = (next_hint + n) % len(HINTS)
        messages = [_message(scores.best, utility.str, hint) for hint in hints]
        responses = _ask(language_model, messages, TEMPERATURE)
        if responses is None:
            break
        for candidate in extract_code(responses):
            scores(candidate)
    return scores.best
