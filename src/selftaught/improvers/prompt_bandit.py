"""Prompt bandit: learn, call by call, which way of asking yields the best solutions.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: GPT-4 proposed a multi-armed
bandit whose arms are prompts. Here each arm is a complete way of asking for an improvement
(refine, find and fix the weakness, rethink from scratch, speed up, simplify); a pull is one
response, and its reward is the utility of the solution it contained (0 without code). Every
slot of a language-model call is given to the arm of highest upper confidence bound (UCB1),
counting the slots already given in the same call, so the first call tries every arm and later
calls lean towards the prompts that paid off. Prompts are applied to the best solution so far.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

import math

from helpers import extract_code

C = 0.5  # exploration weight; rewards lie in [0, 1]
TEMPERATURE = 0.7

PROMPTS = {
    "refine": "Refine this solution so that it scores higher, keeping its overall approach.",
    "fix": "Find the single weakest part of this solution, the one that costs the most score, "
    "and fix it.",
    "rethink": "Set this solution aside and design a better one from scratch, with a different "
    "approach.",
    "speed": "Make this solution faster, and use the time saved to do more useful work.",
    "simplify": "Simplify this solution: remove what does not help, and make the rest sound.",
}

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, description, instruction):
    return f"""Here is a solution:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

{instruction} Explain your idea in a sentence or two, then give the complete new solution in a
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


def _choose(rewards, pulls, pending):
    """The arm of highest UCB1 index, counting `pending` pulls as made (with no reward yet)."""
    counts = {arm: pulls[arm] + pending[arm] for arm in PROMPTS}
    untried = [arm for arm in PROMPTS if counts[arm] == 0]
    if untried:
        return untried[0]
    t = sum(counts.values()) + 1

    def index(arm):
        mean = rewards[arm] / pulls[arm] if pulls[arm] else 0.0
        return mean + C * math.sqrt(math.log(t) / counts[arm])

    return max(PROMPTS, key=index)


def improve_algorithm(initial_solution, utility, language_model):
    """Allocates prompt slots by UCB1 over past rewards; returns the best solution measured."""
    scores = _Scores(utility, initial_solution)
    rewards = {arm: 0.0 for arm in PROMPTS}
    pulls = {arm: 0 for arm in PROMPTS}
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        pending = {arm: 0 for arm in PROMPTS}
        arms = []
        for _ in range(n):
            arm = _choose(rewards, pulls, pending)
            pending[arm] += 1
            arms.append(arm)
        messages = [_message(scores.best, utility.str, PROMPTS[arm]) for arm in arms]
        responses = _ask(language_model, messages, TEMPERATURE)
        if responses is None:
            break
        for arm, candidate in zip(arms, extract_code(responses), strict=False):
            score = scores(candidate)
            if score is None and isinstance(candidate, str) and candidate.strip():
                continue  # unmeasured for want of budget: no evidence either way
            rewards[arm] += score or 0.0
            pulls[arm] += 1
    return scores.best
