"""Whole-program rewrites on evaluator-form tasks (tasks/splicing.py): a candidate that drops
the EVOLVE-BLOCK markers or rewrites the fixed code has its definitions of the blocks' names
spliced into the initial program, the fixed code kept byte for byte; one that changes what a
fixed name does, or is not Python, is refused with the reason."""

from __future__ import annotations

from html import escape

import pytest
from conftest import K_MODULE

from selftaught.report import build_report
from selftaught.sandbox import open_sandbox
from selftaught.store import RunReader, RunStore
from selftaught.tasks import resolve_task
from selftaught.tasks.evolve_blocks import END, START
from selftaught.tasks.splicing import splice
from selftaught.utility import Evaluator

BEST = {"loader": "csv_reader", "preprocess": "normalize", "algorithm": "quicksort",
        "formatter": "json"}  # fmt: skip

# What a small model writes when shown the whole k_module file: the markers gone, the
# docstring cut, a module-level constant and an import it needs, the fixed entry point
# "improved" too (with a print), and the __main__ part rewritten.
REWRITE = '''"""
K-Module Pipeline Configuration Problem - improved version
"""
import random

LOADERS = ['csv_reader', 'json_reader', 'xml_reader', 'parquet_reader', 'sql_reader']


def configure_pipeline():
    """Configure the pipeline with the best options."""
    config = {
        'loader': LOADERS[0],
        'preprocess': random.choice(['normalize']),
        'algorithm': 'quicksort',
        'formatter': 'json',
    }
    return config


def run_pipeline():
    """Run the pipeline configuration (entry point for evaluator)."""
    config = configure_pipeline()
    print("running", config)
    return {'loader': 'xml_reader'}


if __name__ == "__main__":
    print(run_pipeline())
'''

INITIAL = f"""import math

# {START}
import numpy as np


def f(x):
    return helper(x)


def helper(x):
    return x
# {END}


def g():
    return f(2) + math.pi


# {START}
LIMIT = 3
# {END}
"""


@pytest.fixture(scope="module")
def k_module():
    return resolve_task(str(K_MODULE), check=False)


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox("auto")
    yield box
    box.close()


def outside(program: str) -> list[str]:
    """The program's lines outside its blocks, markers included, exactly as written."""
    out, inside = [], False
    for line in program.splitlines(keepends=True):
        if START in line:
            inside = True
        if not inside:
            out.append(line)
        if END in line:
            inside = False
            out.append(line)
    return out


def test_a_rewrite_without_markers_is_spliced_and_scores(k_module, sandbox, tmp_path):
    store = RunStore.open_run(tmp_path, create=True)
    got = Evaluator(k_module, sandbox, store).evaluate(REWRITE, "val")
    assert got.failure is None and got.score == 1.0  # all four modules right
    assert got.instances[0]["metrics"]["correct_modules"] == 4
    assert "dropped the EVOLVE-BLOCK markers" in got.spliced
    assert "configure_pipeline" in got.spliced and "run_pipeline" not in got.spliced
    again = Evaluator(k_module, sandbox, store).evaluate(REWRITE, "val")  # the cached record
    assert (again.score, again.spliced) == (got.score, got.spliced)
    store.close()
    with RunReader.open(tmp_path) as reader:
        (row,) = reader.rows("evaluations")
    assert row["spliced"] == got.spliced and row["score"] == 1.0
    html = build_report(tmp_path)  # the report says so beside the best solution
    assert f'<p class="note spliced">{escape(got.spliced)}</p>' in html


def test_the_fixed_code_is_kept_byte_for_byte(k_module):
    spliced = splice(k_module.seed_solution, REWRITE)
    assert spliced.refusal is None
    assert outside(spliced.program) == outside(k_module.seed_solution)
    assert "print(\"running\"" not in spliced.program  # the rewritten fixed code is dropped
    for needed in ("import random\n", "LOADERS = [", "def configure_pipeline():"):
        assert needed in spliced.program  # in the block, in the candidate's own text
    kept = k_module.seed_solution.replace("'preprocess': 'standardize'", "'preprocess': 'none'")
    assert k_module.splice(kept) is None  # markers and fixed code kept: it runs as written


def test_a_rewrite_of_the_fixed_code_keeps_its_block_names():
    edited = INITIAL.replace("return f(2) + math.pi", "return 0").replace(
        "    return x\n", "    return math.sqrt(x) * 3\n"
    )  # fmt: skip
    spliced = splice(INITIAL, edited)
    assert "changed the code outside the EVOLVE-BLOCKs" in spliced.note
    assert outside(spliced.program) == outside(INITIAL)
    assert "return math.sqrt(x) * 3" in spliced.program and "return 0" not in spliced.program
    compile(spliced.program, "spliced", "exec")
    namespace: dict = {}
    exec(compile(spliced.program, "spliced", "exec"), namespace)  # test input, ours
    assert namespace["g"]() == pytest.approx(3 * 2**0.5 + 3.141592653589793)


def test_a_candidate_that_changes_a_fixed_name_is_refused(k_module, sandbox):
    block = k_module.seed_solution.split(f"# {START}\n")[1].split(f"# {END}")[0]
    patches = {
        "global": "    global run_pipeline\n    run_pipeline = lambda: {}\n",
        "attribute": "    run_pipeline.__code__ = (lambda: {}).__code__\n",
        "setattr": "    setattr(run_pipeline, '__wrapped__', None)\n",
        "globals()": "    globals()['run_pipeline'] = dict\n",
        "sys.modules": "    import sys\n    sys.modules[__name__].run_pipeline = dict\n",
    }
    for kind, patch in patches.items():
        candidate = block.replace("    return config\n", patch + "    return config\n")
        got = Evaluator(k_module, sandbox, None).evaluate(candidate, "val")
        assert got.score == 0.0 and got.instances == [], kind
        assert "the fixed code must keep its behaviour" in got.failure, kind
        named = "run_pipeline" if kind in ("global", "attribute", "setattr") else kind
        assert named in got.failure, (kind, got.failure)
    helper = "pair = 1\n\ndef f(x):\n    return x + pair\n\nhelper2, g = 1, 2\npair = helper2\n"
    assert "changes 'g'" in splice(INITIAL, helper).refusal  # a helper that rebinds g


def test_a_candidate_that_is_not_python_or_defines_nothing_is_refused(k_module, sandbox):
    broken = REWRITE.replace("def configure_pipeline():", "def configure_pipeline(:")
    got = Evaluator(k_module, sandbox, None).evaluate(broken, "val")
    assert got.score == 0.0 and got.instances == []
    assert got.failure.startswith("the candidate is not Python (line 9:")
    other = "def pipeline():\n    return {}\n"
    refused = Evaluator(k_module, sandbox, None).evaluate(other, "val")
    assert "defines none of the names the blocks define (configure_pipeline)" in refused.failure


def test_needed_imports_and_helpers_come_along_once():
    candidate = (
        "import math\nimport numpy as np\nimport random\n\nSTEP = 2\n\n"
        "def f(x):\n    return jitter(x) * STEP\n\n"
        "def jitter(x):\n    return x + random.random() * 0 + math.e * 0\n\n"
        "def unused():\n    return 1\n"
    )
    spliced = splice(INITIAL, candidate)
    program = spliced.program
    assert outside(program) == outside(INITIAL)
    assert program.count("import numpy as np") == 1  # the block's own import is not repeated
    assert program.count("import math") == 1  # the fixed code's is not taken again
    assert "import random" in program and "STEP = 2" in program and "def jitter" in program
    assert "def unused" not in program and "def helper(x)" in program  # helper: not redefined
    namespace: dict = {}
    exec(compile(program, "spliced", "exec"), namespace)  # test input, ours
    assert namespace["f"](3) == 6


def test_the_api_says_it_was_spliced():
    import selftaught

    got = selftaught.evaluate(task=str(K_MODULE), solution=REWRITE, split="val")
    assert got.score == 1.0 and got.spliced.startswith("spliced: the candidate dropped")


def test_lines_are_counted_as_python_counts_them():
    """A form feed inside a string is no line end to `ast`: the text taken stays whole."""
    candidate = 'NOTE = "a\x0cb"\n\ndef f(x):\n    return len(NOTE) + x\n'
    program = splice(INITIAL, candidate).program
    namespace: dict = {}
    exec(compile(program, "spliced", "exec"), namespace)  # test input, ours
    assert namespace["f"](1) == 4 and outside(program) == outside(INITIAL)
