"""Hypothesis strategies for hostile programs: solutions of the fuzz task (`algorithm(x)`) and
improvers (`improve_algorithm(s, utility, language_model)`), each drawn from one class of
attack. Every program is source text; nothing here runs it."""

from __future__ import annotations

import json
import signal
import struct

from hypothesis import strategies as st

SIGNALS = [s for s in signal.Signals if s not in (signal.SIGSTOP, signal.SIGCONT)]
TARGETS = ["os.getpid()", "0", "os.getppid()", "-os.getpgid(0)", "1"]  # self, group, parent


def _signal(rare_stop: bool) -> st.SearchStrategy[str]:
    signals = st.sampled_from(SIGNALS).map(lambda s: f"signal.{s.name}")
    if rare_stop:  # a stopped child uses no CPU: it waits, up to its limit
        signals = st.one_of(signals, st.just("signal.SIGSTOP").filter(lambda _: True))
    return st.builds(
        lambda target, sig: (
            f"import os, signal\nos.kill({target}, {sig})"
            if target != "0"
            else f"import os, signal\nos.killpg(0, {sig})"
        ),
        st.sampled_from(TARGETS),
        signals,
    )


EXITS = st.sampled_from(
    [
        "import sys\nsys.exit(0)",
        "import sys\nsys.exit(3)",
        "import sys\nsys.exit('bye \\udc80')",
        "import os\nos._exit(0)",
        "import os\nos._exit(255)",
        "raise SystemExit(None)",
        "raise KeyboardInterrupt",
        "raise BaseException('base')",
        "raise GeneratorExit",
        "import os\nos.abort()",
        "import faulthandler\nfaulthandler._sigsegv()",
        "import ctypes\nctypes.string_at(0)",
    ]
)


def _frame(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return struct.pack(">I", len(data)) + data


FRAMES = st.sampled_from(
    [
        {"t": "out", "i": 0, "status": "ok", "output": 2},
        {"t": "out", "i": 5, "status": "ok", "output": 2},
        {"t": "result", "status": "ok", "result": "def algorithm(x):\n    return 2 * x\n"},
        {"t": "ready"},
        {"t": "hello", "layers": ["none"]},
        {"t": "call", "method": "utility", "params": {"solution": 5}},
        {"t": "out", "i": 0, "status": "ok"},
        {"t": "out", "i": "0", "status": "weird"},
    ]
).map(_frame)
WRITES = st.builds(
    lambda fd, data, times: (
        f"import os\nfor _ in range({times}):\n"
        f"    try:\n        os.write({fd}, {data!r})\n    except OSError:\n        pass"
    ),
    st.integers(0, 12),
    st.one_of(st.binary(max_size=64), FRAMES, st.just(struct.pack(">I", 2**32 - 1))),
    st.integers(1, 3),
)


def _nested(depth: int, leaf: str) -> str:
    return "[" * depth + leaf + "]" * depth


OUTPUTS = st.one_of(
    st.sampled_from(
        [
            "return '\\udc80' * 1000",
            "return {'\\ud800': 1}",
            "return b'\\xff\\xfe'",
            "return 'x' * 3_000_000",
            "return [0] * 2_000_000",
            "return 10**400",
            "return -10**400",
            "return [10**400] * 3",
            "return 1e308 * 10",
            "return float('nan')",
            "return 2 ** 0.5j",
            "return object()",
            "return {1: 2}",
            "return x * 2",
            "return None",
            "return [x * 2] * 3",
            "raise ValueError('\\udc80 bad ' * 100)",
            "raise ValueError('x' * 1_000_000)",
            "raise RecursionError()",
            "def f(n):\n    return f(n + 1)\nreturn f(0)",
        ]
    ),
    st.builds(lambda d: f"return {_nested(d, '1')}", st.integers(50, 150)),
    st.builds(
        lambda d: f"v = 1\nfor _ in range({d}):\n    v = [v]\nreturn v", st.integers(100, 10**5)
    ),
    st.builds(lambda n: "return " + "+".join(["1"] * n), st.integers(100, 3000)),
    st.text(max_size=40).map(lambda t: f"raise RuntimeError({t!r})"),
    st.text(max_size=40).map(lambda t: f"return {t!r}"),
)
EXHAUSTION = st.sampled_from(
    [
        "return len(bytearray(4 << 30))",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(32 << 20))",
        "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (4 << 20))\n    i += 1",
        "import threading, time\nfor _ in range(500):\n"
        "    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()",
        "import os\nfds = []\nwhile True:\n    fds.append(os.open('.', os.O_RDONLY))",
        "while True:\n    pass",
        "import os\nos.fork()\nreturn 2 * x",
        "import subprocess\nsubprocess.run(['true'])",
    ]
)


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.splitlines())


def _at_load(code: str) -> str:
    """The attack run while the module loads (in a function: it may `return`)."""
    return f"def _attack(x=1):\n{_indent(code)}\n\n\n_attack()\n"


def _place(code: str, where: str) -> str:
    """The attack at module level (at load) or inside the entry (per instance)."""
    if where == "module":
        return f"{_at_load(code)}\n\ndef algorithm(x):\n    return 2 * x\n"
    return f"def algorithm(x):\n{_indent(code)}\n    return 2 * x\n"


# Control characters and terminal escapes in what a program says: its exception messages and
# outputs reach the console, where they must show as inert text (docs/safety.md).
ESCAPES = [
    "\x1b[2J\x1b[H\x1b[32mALL CLEAR: 0 circumventions\x1b[0m",
    "\x1b]0;owned\x07",
    "\r\x1b[K[bold red]rich markup[/]",
    "\x9b31m",
    "\x00\x08\x7f",
    "\u202eevil",
]
CONTROL = st.one_of(
    st.sampled_from(ESCAPES),
    st.text(st.characters(max_codepoint=0x20) | st.sampled_from("\x1b[]\x9b"), max_size=30),
).flatmap(
    lambda text: st.sampled_from(
        [f"raise RuntimeError({text!r})", f"return {text!r}", f"print({text!r})\nreturn x * 2"]
    )
)
ATTACKS = {"control": CONTROL, "signal": _signal(rare_stop=False), "exit": EXITS, "write": WRITES,
           "output": OUTPUTS, "exhaustion": EXHAUSTION}  # fmt: skip


def solutions(rare_stop: bool = False) -> st.SearchStrategy[tuple[str, str]]:
    """(class, source) of one hostile solution."""
    attacks = dict(ATTACKS, signal=_signal(rare_stop))
    return st.sampled_from(sorted(attacks)).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.builds(_place, attacks[kind], st.sampled_from(["module", "entry"])),
        )
    )


# -------------------------------------------------------------- evaluator-form metrics

METRIC_VALUES = st.one_of(
    st.integers(-(10**400), 10**400), st.floats(), st.sampled_from([10**400, -(10**400), 1.7e308]),
    st.booleans(), st.text(max_size=5),
)  # fmt: skip
METRICS = st.dictionaries(st.sampled_from(["combined_score", "a", "b", "c"]), METRIC_VALUES)


def metric_solutions() -> st.SearchStrategy[str]:
    """Candidates of `fuzz/metric_task` whose `metrics()` are hostile numbers (as JSON, which
    holds integers past float range and, from Python, NaN and Infinity)."""
    return METRICS.map(
        lambda metrics: (
            f"import json\n\n\ndef metrics():\n    return json.loads({json.dumps(metrics)!r})\n"
        )
    )


# ------------------------------------------------------------------------- improvers

WRONG = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**400), 10**400), st.floats(allow_nan=False),
    st.text(max_size=8), st.lists(st.integers(), max_size=3), st.just({"a": [1]}),
    st.just("\udc80"), st.just(10**400),
)  # fmt: skip
RAW_CALLS = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["utility", "batch_prompt", "prompt", "notice"]), WRONG),
        st.one_of(
            st.dictionaries(
                st.sampled_from(
                    [
                        "solution",
                        "use_sandbox",
                        "line",
                        "expertise",
                        "messages",
                        "temperature",
                        "handle",
                        "value",
                    ]
                ),  # fmt: skip
                WRONG,
                max_size=4,
            ),
            WRONG,
        ),
    ),
    min_size=1,
    max_size=6,
)


def _raw_calls(calls: list) -> str:
    lines = [f"CALLS = {calls!r}", "for method, params in CALLS:", "    try:",
             "        utility._call(method, params)", "    except Exception:",
             "        pass"]  # fmt: skip
    return "\n".join(lines)


IMPROVER_ATTACKS = {
    "signal": _signal(rare_stop=False),
    "exit": EXITS,
    "write": WRITES,
    "output": OUTPUTS,
    "exhaustion": EXHAUSTION.filter(lambda code: "while True:\n    pass" not in code),
    "raw_call": RAW_CALLS.map(_raw_calls),
}


def _improver(code: str, where: str) -> str:
    code = code.replace("2 * x", "2 * len(initial_solution)").replace("x * 2", "initial_solution")
    if where == "module" and "utility._call" not in code:
        return (
            f"{_at_load(code)}\n\ndef improve_algorithm(initial_solution, utility, language_model):"
            "\n    return initial_solution\n"
        )
    return (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        f"{_indent(code)}\n    return initial_solution\n"
    )


def improvers() -> st.SearchStrategy[tuple[str, str]]:
    """(class, source) of one hostile improver."""
    return st.sampled_from(sorted(IMPROVER_ATTACKS)).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.builds(_improver, IMPROVER_ATTACKS[kind], st.sampled_from(["module", "entry"])),
        )
    )
