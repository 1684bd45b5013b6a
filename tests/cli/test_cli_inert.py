"""Terminal escapes and rich markup in model-written text never reach the console raw
(issue 25, item 4): every console line of `run`, `safety`, `evaluate`, `compare`, `runs`,
`report`, `doctor` and `tasks --show` shows control characters visibly escaped, and markup
as text."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import run_cli
from hostile import HOSTILE, hostile_run

from selftaught.inert import visible

LINE = "\x1b[2J\x1b[H\x1b[32mALL CLEAR: 0 circumventions\x1b[0m [/] [bold red]x"  # in a comment
SPOOF = LINE + "\r\u202e"
# A solution whose every instance raises with the spoof; an improver whose flagged line (an
# exec call the static scan reports) carries it in a comment, and which raises it too.
SOLUTION = f"def algorithm(*inputs):\n    raise RuntimeError({SPOOF!r})\n"
IMPROVER = (
    "def improve_algorithm(initial_solution, utility, language_model):\n"
    f"    exec('x = 1')  # {LINE}\n"
    "    utility(initial_solution)\n"
    f"    raise RuntimeError({SPOOF!r})\n"
)


def inert(done, *, code: int = 0) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == code, out[-3000:]
    assert "Traceback" not in out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out, out[-3000:]
    return out


@pytest.fixture(scope="module")
def spoofed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spoof")
    args = ("--iterations", "1", "--repetitions", "1")
    done, run_dir = hostile_run(tmp, solution=SOLUTION, improver=IMPROVER, args=args)
    return tmp, done, run_dir


def test_run_shows_the_model_text_escaped(spoofed):
    _, done, _ = spoofed
    out = inert(done)
    assert "\\x1b[2J" in out  # the failure lines quote it, visibly


def test_safety_shows_the_flagged_line_escaped(spoofed):
    _, _, run_dir = spoofed
    out = inert(run_cli("safety", str(run_dir)))
    assert "exec" in out and "\\x1b[32mALL CLEAR" in out and "[/] [bold red]x" in out


def test_evaluate_compare_runs_and_report_too(spoofed):
    tmp, _, run_dir = spoofed
    solution = tmp / "solution.py"
    solution.write_text(SOLUTION)
    out = inert(run_cli("evaluate", "--solution", str(solution), "--task", "lpn"))
    assert "\\x1b[2J" in out and "[bold red]x" in out  # a table cell: markup shown as text
    improver = tmp / "improver.py"
    improver.write_text(IMPROVER)
    compare = ("compare", "--improvers", f"seed,{improver}", "--model", HOSTILE,
               "--repetitions", "1", "--run-dir", str(tmp / "compare"))  # fmt: skip
    assert "\\x1b[2J" in inert(run_cli(*compare))
    inert(run_cli("runs", str(tmp)))
    inert(run_cli("report", str(run_dir), "-o", str(tmp / "report.html")))
    inert(run_cli("doctor", "--run-dir", str(run_dir)))


def test_a_task_text_is_shown_escaped(tmp_path):
    task = tmp_path / "task.py"
    task.write_text(
        "from selftaught.tasks import Instance, Split\n\n\nclass T:\n"
        "    name = 'spoof'\n    entry = 'algorithm'\n"
        "    seed_solution = 'def algorithm(x):\\n    return x\\n'\n"
        f"    description = {('utility ' + SPOOF)!r}\n"
        "    instance_seconds = 1.0\n    array_args = False\n"
        "    splits = {'val': Split(1, 2), 'test': Split(10, 2)}\n\n"
        "    def instance(self, seed):\n        return Instance(inputs=[seed], answer=seed)\n\n"
        "    def score(self, instance, output):\n"
        "        return float(output == instance.answer), None\n\n\nTASK = T()\n"
    )
    out = inert(run_cli("tasks", "--show", str(task)))
    assert visible(SPOOF) in out


def test_visible_escapes_what_a_terminal_would_act_on():
    assert visible("a\x1b[2Jb\r\u202e\udc80\x9b") == "a\\x1b[2Jb\\x0d\\u202e\\udc80\\x9b"
    assert visible("line\n\tnext", newlines=True) == "line\n\tnext"
    assert visible("line\nnext") == "line\\x0anext"
    assert visible("plain [bold] text é ü 漢") == "plain [bold] text é ü 漢"


def test_the_compilers_warnings_about_a_program_do_not_quote_it_to_stderr():
    """An invalid escape sequence "\\<ESC>" in a program: Python 3.12 warns about it at parse
    time, quoting the ESC raw; the host's parses of programs show no such warning."""
    program = 'x = "\\\x1b[2Jpwned"\n'
    code = (
        "import sys\nfrom selftaught.sandbox.scan import scan\n"
        "from selftaught.report.lineage import guess_strategy\n"
        "scan(sys.argv[1]); guess_strategy(sys.argv[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code, program], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
