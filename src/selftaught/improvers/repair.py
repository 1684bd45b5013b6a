"""Repair: sample candidates, score them, show the model why the promising failures failed and
ask for a fix; keep the initial solution unless a candidate beats it.

From STOP (Zelikman et al., 2023), Fig. 2 and the appendix: the seed improver returns the best of
one batch even when every candidate failed, and small models' candidates mostly fail for reasons
a second try fixes (a missing import, no entry function, the wrong return type). This improver
scores the initial solution once, asks for improvements, and in later calls sends the failed
candidates back with what went wrong (`utility.why`, where the host offers it; a syntax error
or a missing entry function it sees itself, at no utility cost) and asks for a fixed program.
Improving an improver, the same works one level up: the "solution" is an improver and `why`
says why its invocations failed (an import that does not exist, say).

Every call asks for `language_model.max_responses_per_call` responses: visibly broken replies
and repeats of the initial solution cost no utility use, and on a batching backend extra samples
cost little time. Utility uses are spread over the calls; valid leftovers wait for the last.

Contract: never more than `language_model.budget` calls or `utility.budget` utility uses; the
initial solution's utility is the baseline, and the initial solution is returned unless a
candidate measured strictly better. No utility use is spent on a program already scored, or
equal to the initial solution once whitespace, comments, imports and a pasted copy of the
scoring code are set aside.
"""

import ast

from helpers import extract_code

TEMPERATURE = 0.7
MAX_TRIES = 2  # fix requests per failed program
EXPERTISE = "You are an expert Python programmer. You write complete, correct programs."
MAIN_ENTRIES = ("improve_algorithm", "algorithm")  # what a program must define, if it did
SCORING_NAMES = ("utility", "meta_utility")  # the scoring code's functions, pasted back

# The program comes last, right before the request: asked with the scoring code last, the
# 0.5B pasted that code back in 4 of 6 replies (benchmarks: compare on string_grid).
IMPROVE = """A program is scored by this code:
```python
{description}
```

Improve this Python program. It scores {score} (higher is better, at most 1).{shortfall}

```python
{program}
```

Write a better version of this program. Do not copy the scoring code.
Return the complete program in one ```python block.{must}"""

FIX = """This Python program has a problem.

```python
{program}
```

{problem}

Fix it. Return the complete fixed program in one ```python block.{must}"""


def _functions(program):
    """The top-level functions of `program`, as "name(params)"."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = f"{node.name}({', '.join(a.arg for a in node.args.args)})"
    return found


def _must(initial):
    """What every candidate must define, from the initial program: its main entry function,
    or else (up to three of) its top-level functions."""
    functions = _functions(initial)
    main = [functions[name] for name in MAIN_ENTRIES if name in functions][:1]
    shown = main or list(functions.values())[:3]
    if not shown:
        return "", None
    names = " and ".join(f"`{f}`" for f in shown)
    return f" It must define {names}.", (main[0].split("(")[0] if main else None)


def _key(program, pasted=(), imports=True):
    """The program's syntax tree without comments, the functions in `pasted` and (unless
    `imports`) imports; its words if it does not parse."""
    drop = () if imports else (ast.Import, ast.ImportFrom)
    try:  # a tree deep enough to parse can still be too deep to dump
        body = ast.parse(program).body
        kept = [n for n in body if not isinstance(n, drop) and getattr(n, "name", 0) not in pasted]
        return ast.dump(ast.Module(body=kept, type_ignores=[]))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(program.split())


def _local_problem(program, entry):
    """What is wrong with `program` without running it (a syntax error, the entry function
    missing), as a why-like dict, or None."""
    try:
        tree = ast.parse(program)
    except SyntaxError as exc:
        lines = program.splitlines()
        line = exc.lineno if isinstance(exc.lineno, int) else None
        code = lines[line - 1].strip() if line and 0 < line <= len(lines) else None
        error = f"SyntaxError: {exc.msg}"
        return {"status": "syntax_error", "error": error, "line": line, "code": code}
    except (ValueError, RecursionError, MemoryError):
        return {"status": "syntax_error", "error": "the program cannot be parsed"}
    if entry is None:
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry:
            return None
    return {"status": "no_entry_function", "error": f"it does not define `{entry}`"}


class _Pool:
    """Every program seen, by key: its score, why it scored that, how often it was sent back."""

    def __init__(self, utility, initial, entry):
        self.utility = utility
        self.why = getattr(utility, "why", None)  # older hosts have no utility.why
        self.entry = entry
        # Copies of the initial program under pasted scoring code won by val noise on Max-Cut.
        # An added import can be the fix, so imports are set aside only against the initial.
        self.pasted = [name for name in SCORING_NAMES if name not in _functions(initial)]
        self.initial_key = _key(initial, self.pasted, imports=False)
        self.seen = {}
        self.waiting = {}  # key -> valid candidate not scored yet, in the order they came
        self.best, self.best_score = initial, None
        self.best_score = self._measure(initial)
        # Why the initial solution falls short (on Max-Cut the seed times out on most graphs)
        # is what tells a small model what to improve; a why call costs no utility use.
        self.best_why = self._ask_why(initial) if self.best_score is not None else None

    def left(self):
        return self.utility.budget - self.utility.uses

    def _measure(self, program):
        if self.left() <= 0:
            return None
        return float(self.utility(program, use_sandbox=True))

    def add(self, program):
        """Take a new candidate in: unless it is the initial one, one seen before, or visibly
        broken (remembered with why, at no utility cost), it waits to be scored."""
        if not isinstance(program, str) or not program.strip():
            return
        key = _key(program, self.pasted)
        if key in self.seen or key in self.waiting:
            return
        if _key(program, self.pasted, imports=False) == self.initial_key:
            return
        problem = _local_problem(program, self.entry)
        if problem is not None:
            self.seen[key] = {"program": program, "score": 0.0, "why": problem, "tries": 0}
            return
        self.waiting[key] = program

    def score_waiting(self, uses):
        """Score up to `uses` waiting candidates, first come first scored."""
        while self.waiting and uses > 0 and self.left() > 0:
            key = next(iter(self.waiting))
            self._score(key, self.waiting.pop(key))
            uses -= 1

    def _score(self, key, program):
        score = self._measure(program)
        if score is None:
            return
        entry = {"program": program, "score": score, "why": self._ask_why(program), "tries": 0}
        self.seen[key] = entry
        if self.best_score is not None and score > self.best_score:
            self.best, self.best_score, self.best_why = program, score, entry["why"]

    def _ask_why(self, program):
        if self.why is None:
            return None
        try:
            reply = self.why(program)
        except Exception:  # noqa: BLE001 - an explanation is a bonus, never a reason to fail
            return None
        return reply if isinstance(reply, dict) else None

    def failures(self):
        """Programs worth a fix request, most promising first: a program that ran part of the
        way, or failed at run time, before one that does not parse."""
        out = [e for e in self.seen.values() if _failed(e) and e["tries"] < MAX_TRIES]
        # A program without the entry function (often the scoring code pasted back) has
        # nothing to fix: the call is better spent improving the best.
        out = [e for e in out if (e["why"] or {}).get("status") != "no_entry_function"]

        def promise(e):
            status = (e["why"] or {}).get("status")
            late = status not in ("syntax_error", "no_code")
            return (late, e["score"], -e["tries"])

        return sorted(out, key=promise, reverse=True)


def _failed(entry):
    status = (entry["why"] or {}).get("status")
    if status in (None, "not_scored", "not_recorded", "refused"):
        return entry["score"] <= 0.0
    return status != "ok"


def _problem(why):
    """What went wrong, in words a small model can act on."""
    why = why or {}
    status, error = why.get("status"), why.get("error")
    where = ""
    if why.get("line"):
        where = f" at line {why['line']}"
        if why.get("code"):
            where += f": `{why['code']}`"
    if status == "wrong_output_type" and why.get("expected"):
        return f"It returned a {why.get('returned')}, but it must return a {why['expected']}."
    if status == "timeout":
        return "It is too slow: it ran past the time limit. Make it much faster."
    if error:
        text = f"Running it failed{where}:\n{error}"
        if error.startswith(("ModuleNotFoundError", "ImportError")):
            text += "\nThat module does not exist here: remove that import."
        elif error.startswith("NameError"):
            text += "\nAdd the missing import or definition."
        return text
    if status in (None, "not_scored", "not_recorded", "refused"):
        return "It scored 0: it raised an error, returned the wrong type or took too long."
    return f"It failed ({status})."


def _shortfall(why):
    """Where the best program still fails, as a sentence for the improve request, or ""."""
    why = why or {}
    failed, total = why.get("failed"), why.get("total")
    if why.get("status") in (None, "ok") or not failed or not total:
        return ""
    return f"\nIt fails on {failed} of {total} tests. {_problem(why)}"


def _ask(language_model, messages):
    """One call's responses, or None once the model's budget is spent."""
    if not messages or language_model.budget <= 0:
        return None
    try:
        return language_model.batch_prompt(EXPERTISE, messages, temperature=TEMPERATURE)
    except Exception as exc:  # only a spent budget is expected; anything else is a bug
        if type(exc).__name__ == "BudgetExceeded":
            return None
        raise


def _messages(pool, n, description, must):
    """n prompts: fixes for the most promising failures (several tries each, and one slot for
    improving the best when there is room), else improvements of the best."""
    improve = IMPROVE.format(
        score=f"{pool.best_score or 0.0:.3f}", program=pool.best, description=description,
        must=must, shortfall=_shortfall(pool.best_why),
    )  # fmt: skip
    failures = pool.failures()[:n]
    if not failures:
        return [improve] * n
    fixes = n - 1 if n >= 3 else n
    messages = []
    for i in range(fixes):
        entry = failures[i % len(failures)]
        if i < len(failures):
            entry["tries"] += 1
        problem = _problem(entry["why"])
        messages.append(FIX.format(program=entry["program"], problem=problem, must=must))
    return messages + [improve] * (n - fixes)


def improve_algorithm(initial_solution, utility, language_model):
    """Improve, then repair what failed; returns the best solution measured."""
    must, entry = _must(initial_solution)
    pool = _Pool(utility, initial_solution, entry)
    rounds = language_model.budget
    for step in range(rounds):
        left = pool.left()
        if left <= 0:
            break
        share = -(-left // max(rounds - step, 1))  # ceil: spread the uses over the calls
        n = language_model.max_responses_per_call
        responses = _ask(language_model, _messages(pool, n, utility.str, must))
        if responses is None:
            break
        for candidate in extract_code(responses):
            pool.add(candidate)
        pool.score_waiting(share)
    pool.score_waiting(pool.left())  # what the last call left
    return pool.best
