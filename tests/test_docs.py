"""The docs name files that exist (issue 29, item 5): every path docs/*.md and README.md write
from the repository's root (`src/...`, `tests/...`, `benchmarks/...`, `docs/...`,
`examples/...`) or as a test file's bare name, and every file docs/architecture.md's "How to
add" says a task, an improver, a model backend or an executor touches."""

from __future__ import annotations

import re

from conftest import ROOT

PACKAGE = ROOT / "src" / "selftaught"
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
ROOTED = re.compile(r"(?<![\w/.-])((?:src|tests|benchmarks|docs|examples)/[\w./-]*\w)")
TEST_FILE = re.compile(r"(?<![\w/.-])(test_\w+\.py)")
# What each kind of addition must name at least (the files a new one cannot do without).
MUST_NAME = {
    "A task.": {"tasks/NAME.py", "tasks/registry.py"},
    "An improver.": {"improvers/NAME.py", "improvers/__init__.py"},
    "A model backend.": {"lm/NAME_backend.py", "lm/spec.py", "lm/__init__.py", "lm/catalog.py"},
    "An executor.": {"executors/NAME.py", "executors/__init__.py", "config.py"},
}


def written_paths(text: str) -> set[str]:
    return set(ROOTED.findall(text))


def test_every_path_the_docs_write_exists():
    tests = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    missing = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        missing += [f"{page.name}: {p}" for p in written_paths(text) if not (ROOT / p).exists()]
        missing += [f"{page.name}: {n}" for n in set(TEST_FILE.findall(text)) if n not in tests]
    assert missing == []


def test_the_path_check_sees_a_stale_path():
    assert written_paths("`tests/test_llamacpp_batch.py` checks it; see docs/cluster.md.") == {
        "tests/test_llamacpp_batch.py", "docs/cluster.md"
    }  # fmt: skip
    assert not (ROOT / "tests" / "test_llamacpp_batch.py").exists()  # it moved to tests/lm/


def how_to_add() -> dict[str, set[str]]:
    """Each "How to add" paragraph's heading -> the files it names (backquoted, ending .py or
    .toml; paths under src/selftaught/ unless they start at the repository's root)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## How to add\n", 1)[1].split("\n## ", 1)[0]
    named: dict[str, set[str]] = {}
    for heading, body in re.findall(r"^\*\*(.+?)\*\*(.*?)(?=^\*\*|\Z)", section, re.M | re.S):
        named[heading] = set(re.findall(r"`([\w/]+\.(?:py|toml))`", body))
    return named


def _exists(name: str) -> bool:
    for base in (PACKAGE, ROOT):
        path = base / name
        if "NAME" in path.name:  # a new file: its folder exists
            return path.parent.is_dir()
        if path.exists():
            return True
    return False


def test_each_how_to_add_names_every_file_to_touch_and_they_exist():
    named = how_to_add()
    assert set(named) == set(MUST_NAME)
    for heading, files in named.items():
        assert MUST_NAME[heading] <= files, (heading, MUST_NAME[heading] - files)
        assert [f for f in sorted(files) if not _exists(f)] == [], heading


README_START = (
    "```bash\n"
    "bin/selftaught run --task examples/tasks/k_module_problem   # a STOP run on the embedded "
    "local model (no key, no network)\n"
    "bin/test                                                    # the test suite (lint + pytest)\n"
    "```\n"
)


def test_the_readme_starts_with_the_two_commands_and_reads_in_two_minutes():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith(README_START)
    assert len(text.split()) <= 1200  # as `wc -w` counts; the logs of runs live in benchmarks/
    assert "(docs/architecture.md)" in text  # the map of the code, session.py and all
