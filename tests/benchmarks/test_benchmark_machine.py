"""benchmarks/machine.py describes the machine for every benchmark that prints one: no
benchmark keeps a `machine()` of its own, and the description still has every key the committed
results of those benchmarks carry, so that a new result reads as the old ones did."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
# The committed results of benchmarks whose machine comes from benchmarks/machine.py (the
# sandbox's benchmarks describe it as `selftaught doctor` does; benchmarks/README.md).
RESULTS = ("dashboard", "embedded_batch", "engine", "ngram_share", "reply_cap",
           "server_slots", "startup")  # fmt: skip


def _machine_module():
    spec = importlib.util.spec_from_file_location("benchmark_machine", BENCHMARKS / "machine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_benchmark_describes_the_machine_itself():
    defines = re.compile(r"^def machine\(", re.M)
    own = [p.name for p in BENCHMARKS.glob("*.py") if defines.search(p.read_text())]
    assert own == ["machine.py"]


def test_the_description_keeps_every_key_of_the_committed_results():
    machine = _machine_module().machine
    now = set(machine("openai")) | set(machine(load="load_average_now"))
    for name in RESULTS:
        recorded = json.loads((BENCHMARKS / f"{name}.json").read_text())["machine"]
        assert set(recorded) <= now, (name, set(recorded) - now)


def test_the_description():
    module = _machine_module()
    described = module.machine("no-such-package-here")
    assert described["cores"] >= 1 and len(described["load_average_at_start"]) == 3
    assert described["cpu"] == module.cpu_model() != ""
    assert described["no-such-package-here"] is None  # not installed: said, not an error
    assert "llama_cpp_python" in described
    assert "load_average_now" in module.machine(load="load_average_now")
