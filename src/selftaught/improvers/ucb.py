"""Upper confidence bound: spend utility calls where they tell most, among noisy candidates.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: GPT-4 proposed treating candidate
solutions as arms of a bandit when the utility is noisy, and allocating utility calls by an
upper confidence bound (UCB1). Each language-model call asks for improvements of the current
leader (the arm with the highest mean); the new candidates join the arms, and the round's share
of utility calls goes, one at a time, to the arm with the highest mean + C * sqrt(ln(t) / n):
an unmeasured arm first, then whichever arm is either good or still uncertain. The initial
solution is an arm too. The answer is the arm with the highest mean utility; no cache, since
measuring a solution again is the point when the utility is noisy.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's mean utility is the baseline, and the initial solution is returned unless
a candidate's mean is strictly higher.
"""

import math

from helpers import extract_code

C = 0.5  # exploration weight; utilities lie in [0, 1]
PULLS_PER_ARM = 3  # utility uses planned per candidate: fewer candidates, each measured more
TEMPERATURE = 0.7

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, description):
    return f"""Here is a solution to improve:
```python
{solution}
```

It is scored by this utility function, whose measurements are noisy:
```python
{description}
```

Write a solution that scores higher on average. Explain your idea in a sentence or two, then
give the complete improved solution in a single python code block."""


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


class _Arms:
    """Candidates with their utility measurements; the initial solution is arm 0."""

    def __init__(self, utility, initial):
        self.utility = utility
        self.solutions, self.totals, self.counts = [], [], []
        self.add(initial)

    def left(self):
        return self.utility.budget - self.utility.uses

    def add(self, solution):
        if isinstance(solution, str) and solution.strip() and solution not in self.solutions:
            self.solutions.append(solution)
            self.totals.append(0.0)
            self.counts.append(0)

    def mean(self, i):
        return self.totals[i] / self.counts[i] if self.counts[i] else None

    def pull(self):
        """Measure the arm of highest upper bound once; False when the budget is spent."""
        if self.left() <= 0:
            return False
        t = sum(self.counts) + 1
        untried = [i for i, n in enumerate(self.counts) if n == 0]
        if untried:
            i = untried[0]
        else:
            i = max(
                range(len(self.solutions)),
                key=lambda j: self.mean(j) + C * math.sqrt(math.log(t) / self.counts[j]),
            )
        self.totals[i] += float(self.utility(self.solutions[i], use_sandbox=True))
        self.counts[i] += 1
        return True

    def leader(self):
        """The measured arm of highest mean (more measurements break ties); else arm 0."""
        measured = [i for i, n in enumerate(self.counts) if n]
        if not measured:
            return 0
        # Arm 0 is listed first, so among equal means and counts the initial solution wins.
        return max(measured, key=lambda i: (self.mean(i), self.counts[i], -i))


def improve_algorithm(initial_solution, utility, language_model):
    """Generates candidates and measures them by UCB1; returns the arm of highest mean."""
    arms = _Arms(utility, initial_solution)
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-arms.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        if share <= 0:
            break
        n = min(language_model.max_responses_per_call, max(share // PULLS_PER_ARM, 1))
        leader = arms.solutions[arms.leader()]
        responses = _ask(language_model, [_message(leader, utility.str)] * n, TEMPERATURE)
        if responses is None:
            break
        for candidate in extract_code(responses):
            arms.add(candidate)
        for _ in range(share):
            if not arms.pull():
                break
    # Uses left over (the model's budget ran out first) sharpen the estimates.
    for _ in range(max(arms.left(), 0)):
        arms.pull()
    return arms.solutions[arms.leader()]
