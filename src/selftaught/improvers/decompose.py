"""Decomposition: improve one function of the solution at a time, keeping the rest fixed.

From STOP (Zelikman et al., 2023), Fig. 1 and the appendix: GPT-4 proposed splitting a
solution into parts and improving each part separately. Here the parts are the solution's
top-level functions and classes. Each language-model call targets one part (in turn, in source
order) of the best solution so far: the model sees the whole program but is asked to return
only that part, with any new helpers or imports it needs. The reply is spliced into the program
in place of the old part, and the result is scored. A solution that does not parse, or has
fewer than two top-level definitions, is improved whole.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better.
"""

import ast

from helpers import extract_code

TEMPERATURE = 0.7

EXPERTISE = (
    "You are a seasoned computer scientist and software engineer with a talent for designing "
    "and tuning algorithms."
)


def _message(solution, name, description):
    if name is None:
        focus = "Rewrite it to score higher and return the complete new solution"
    else:
        focus = (
            f"Improve only `{name}`; the rest of the program stays exactly as it is. Return the "
            f"new `{name}` (with any new helper functions or imports it needs), not the rest"
        )
    return f"""Here is a program:
```python
{solution}
```

It is scored by this utility function:
```python
{description}
```

{focus}. Explain your idea in a sentence, then give the code in a single python code block."""


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


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _tree(source):
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _span(node):
    """First and last line (1-based) of a top-level statement, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first, node.end_lineno


def _parts(source):
    """Names of the top-level functions and classes of `source`, in source order."""
    tree = _tree(source)
    if tree is None:
        return []
    return [node.name for node in tree.body if isinstance(node, DEFINITIONS)]


def _defined(tree):
    """Names bound at the top level of a module: definitions, assignments and imports."""
    names = set()
    for node in tree.body:
        if isinstance(node, DEFINITIONS):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _splice(solution, name, code):
    """`solution` with its part `name` replaced by the same-named part of `code`; None if the
    reply lacks that part or the result does not parse. New imports go to the top, new helpers
    and constants just before the part."""
    old, new = _tree(solution), _tree(code)
    if old is None or new is None:
        return None
    target = next((n for n in old.body if isinstance(n, DEFINITIONS) and n.name == name), None)
    if target is None or not any(isinstance(n, DEFINITIONS) and n.name == name for n in new.body):
        return None
    known = _defined(old)
    lines, reply = solution.splitlines(), code.splitlines()
    imports, before, replacement = [], [], []
    for node in new.body:
        first, last = _span(node)
        text = reply[first - 1 : last]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if not _defined(ast.Module(body=[node], type_ignores=[])) <= known:
                imports.extend(text)
        elif isinstance(node, DEFINITIONS) and node.name == name:
            replacement = text
        elif not (_defined(ast.Module(body=[node], type_ignores=[])) <= known):
            before.extend(text + [""])
    first, last = _span(target)
    head = _import_line(old)
    body = lines[: first - 1] + before + replacement + lines[last:]
    spliced = "\n".join(body[:head] + imports + body[head:]) + "\n"
    return spliced if _tree(spliced) is not None else None


def _import_line(tree):
    """Index of the line where new imports may go: after a docstring and __future__ imports."""
    line = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (is_doc or is_future):
            break
        line = node.end_lineno
    return line


def improve_algorithm(initial_solution, utility, language_model):
    """Improves the best solution one top-level part per call; returns the best measured."""
    scores = _Scores(utility, initial_solution)
    order = []  # parts in the order first seen, so new helpers do not shift the rotation
    rounds = language_model.budget
    for step in range(rounds):
        share = -(-scores.left() // max(rounds - step, 1))  # ceil: spread uses over the calls
        n = min(language_model.max_responses_per_call, share)
        if n <= 0:
            break
        current = scores.best
        parts = _parts(current)
        order += [part for part in parts if part not in order]
        live = [part for part in order if part in parts]
        # With a single part there is nothing to decompose: improve the program whole.
        name = live[step % len(live)] if len(live) >= 2 else None
        responses = _ask(language_model, [_message(current, name, utility.str)] * n, TEMPERATURE)
        if responses is None:
            break
        for code in extract_code(responses):
            if isinstance(code, str) and name is not None:
                code = _splice(current, name, code)
            scores(code)
    return scores.best
