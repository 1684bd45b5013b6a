"""Temperature sweep: sample improvements at several temperatures, keep the best measured.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix's list of improvers GPT-4 proposed:
"varying the sampling temperature" over 0.4, 0.7 and 1.0, with a cache so that no solution is
scored twice. Each language-model call uses the next temperature of the sweep and asks for
improvements of the best solution found so far, so a later call builds on an earlier success.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

from helpers import extract_code

TEMPERATURES = (0.4, 0.7, 1.0)

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, description):
    return f"""Here is a solution to improve:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

Write a solution that scores higher. Be inventive within the constraints, and make the main
change substantial rather than cosmetic. Explain your idea in a sentence or two, then give the
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
    """Sweeps the sampling temperature over the calls; returns the best solution measured."""
    scores = _Scores(utility, initial_solution)
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        temperature = TEMPERATURES[step % len(TEMPERATURES)]
        message = _message(scores.best, utility.str)
        responses = _ask(language_model, [message] * n, temperature)
        if responses is None:
            break
        for candidate in extract_code(responses):
            scores(candidate)
    return scores.best
