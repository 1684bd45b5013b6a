"""Improver runs in the real sandbox: proxies over the child's socket to a handler in the test."""

from __future__ import annotations

import time

import pytest

from selftaught.sandbox import HandleError, HandleSpec, Limits, open_sandbox

SPEC = HandleSpec(
    initial_solution="def algorithm(x):\n    return x\n",
    utility_budget=5,
    utility_str="doubles x",
    lm_budget=3,
    max_responses_per_call=6,
)
LIMITS = Limits(wall_seconds=5, cpu_seconds=2, memory_mb=256)
REPLY = "Here:\n```python\ndef algorithm(x):\n    return x * 2\n```\n"


@pytest.fixture(scope="module", params=["auto", "subprocess"])
def sandbox(request):
    sb = open_sandbox(request.param)
    yield sb
    sb.close()


def score(sandbox, solution):
    run = sandbox.run_solution(
        solution, "algorithm", [[1], [2]], instance_seconds=2, seed=0, array_args=False,
        limits=LIMITS,
    )  # fmt: skip
    pairs = zip(run.outcomes, [1, 2], strict=True)
    return sum(o.status == "ok" and o.output == 2 * x for o, x in pairs) / 2


def make_handler(sandbox, calls):
    def handler(method, params):
        calls.append((method, params))
        if method == "batch_prompt":
            return {"responses": [REPLY] * len(params["messages"]), "budget": 2}
        if method == "utility":
            return {"score": score(sandbox, params["solution"]), "uses": len(calls)}
        raise HandleError("RemoteError", method)

    return handler


def test_improver_uses_helpers_language_model_and_utility(sandbox):
    source = (
        "from helpers import extract_code\n"
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    responses = language_model.batch_prompt('expert', ['improve'] * 2, temperature=0.5)\n"
        "    best = max(extract_code(responses), key=utility)\n"
        "    return best if utility(best) > utility(initial_solution) else initial_solution\n"
    )
    calls = []
    run = sandbox.run_improver(source, SPEC, make_handler(sandbox, calls), seed=1, limits=LIMITS)
    assert run.status == "ok", run.error
    assert run.result == "def algorithm(x):\n    return x * 2"
    assert calls[0] == ("batch_prompt", {"expertise": "expert", "messages": ["improve"] * 2,
                                         "temperature": 0.5})  # fmt: skip
    assert [m for m, _ in calls[1:]] == ["utility"] * 4
    assert "zygote" in run.layers or "subprocess" in run.layers


def test_handle_error_surfaces_in_the_child(sandbox):
    source = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    try:\n"
        "        language_model.batch_prompt('e', ['m'])\n"
        "    except Exception as exc:\n"
        "        return type(exc).__name__ + ': ' + str(exc)\n"
    )

    def handler(method, params):
        raise HandleError("BudgetExceeded", "spent")

    run = sandbox.run_improver(source, SPEC, handler, seed=1, limits=LIMITS)
    assert (run.status, run.result) == ("ok", "BudgetExceeded: spent")


def test_wall_clock_excludes_handler_time(sandbox):
    source = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    return str(utility(initial_solution))\n"
    )

    def handler(method, params):
        time.sleep(2)
        return {"score": 0.5, "uses": 1}

    limits = Limits(wall_seconds=1, cpu_seconds=2, memory_mb=256)
    started = time.perf_counter()
    run = sandbox.run_improver(source, SPEC, handler, seed=1, limits=limits)
    assert (run.status, run.result) == ("ok", "0.5")
    assert time.perf_counter() - started >= 2
    assert run.seconds < 1


def test_nested_runs_while_the_outer_child_waits(sandbox):
    inner = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    return initial_solution + '# inner ' + str(utility(initial_solution))\n"
    )
    outer = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    return str(utility(initial_solution))\n"
    )

    def inner_handler(method, params):
        return {"score": score(sandbox, params["solution"]), "uses": 1}

    def outer_handler(method, params):  # a meta-utility: runs an improver, scores its result
        run = sandbox.run_improver(inner, SPEC, inner_handler, seed=2, limits=LIMITS)
        assert run.status == "ok", run.error
        return {"score": 1.0 if run.result.endswith("# inner 0.0") else 0.0, "uses": 1}

    run = sandbox.run_improver(outer, SPEC, outer_handler, seed=1, limits=LIMITS)
    assert (run.status, run.result) == ("ok", "1.0")


def test_a_host_bug_in_the_handler_is_raised(sandbox):
    source = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    return str(utility(initial_solution))\n"
    )

    def handler(method, params):
        raise KeyError("host bug")

    with pytest.raises(KeyError):
        sandbox.run_improver(source, SPEC, handler, seed=1, limits=LIMITS)


def test_setting_proxy_budgets_reaches_nothing(sandbox):
    source = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    utility.budget = 10 ** 9\n"
        "    language_model.budget = 10 ** 9\n"
        "    return [utility(initial_solution, use_sandbox=False) for _ in range(3)]\n"
    )
    seen = []

    def handler(method, params):
        if method != "utility":  # e.g. notices of the proxies' own about the assignments
            return None
        seen.append(params)
        if len(seen) > 2:
            return {"score": 0.0, "uses": 2}  # the host's budget, not the child's
        return {"score": 0.5, "uses": len(seen)}

    run = sandbox.run_improver(source, SPEC, handler, seed=1, limits=LIMITS)
    assert run.result == [0.5, 0.5, 0.0]
    assert all(p["use_sandbox"] is False for p in seen)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("    return {1, 2}", "error"),
        ("    return float('nan')", "error"),
        ("    raise ValueError('nope')", "error"),
        ("    while True:\n        pass", "cpu_limit"),
        ("    import time\n    time.sleep(60)", "timeout"),
        ("    import os\n    os._exit(0)", "no_result"),
        ("    return bytearray(2 << 30)", "memory_limit"),
        ("    return 'x' * 2_000_000", "output_too_large"),
        ("    return None", "ok"),
    ],
)
def test_improver_outcomes(sandbox, body, status):
    source = f"def improve_algorithm(initial_solution, utility, language_model):\n{body}\n"
    wall = 1.5 if status == "timeout" else 10  # a loaded machine gives a spinning child < 1 CPU
    limits = Limits(wall_seconds=wall, cpu_seconds=1, memory_mb=256, output_bytes=1_000_000)
    run = sandbox.run_improver(source, SPEC, lambda m, p: None, seed=1, limits=limits)
    assert run.status == status, run.error


def test_missing_improve_algorithm(sandbox):
    run = sandbox.run_improver("x = 1\n", SPEC, lambda m, p: None, seed=1, limits=LIMITS)
    assert run.status == "error" and "improve_algorithm" in run.error
