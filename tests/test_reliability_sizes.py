"""Size caps (issue 25, item 9): what a model or a program produced is capped where the host
reads it, before it is stored or sent on (docs/reliability.md, "Size caps"), and a dollars cap
counts a call's worst case before sending it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import stored
from hostile import hostile_run, invocations
from lm_servers import FaultServer

from selftaught import sizes
from selftaught.lm import LanguageModelError, RunCapReached, SpendingCaps, open_language_model
from selftaught.store import RunReader, RunStore, Sample
from selftaught.tasks import resolve_task

QUICK = ("--iterations", "0", "--repetitions", "1")


def test_a_huge_reply_is_cut_before_it_is_stored_or_sent_on(tmp_path):
    code = "def improve_algorithm(initial_solution, utility, language_model):\n    return 1\n"
    reply = f"```python\n{code}```\n" + "#" * (3 * sizes.REPLY_CHARS)
    done, run_dir = hostile_run(tmp_path, reply=reply, args=("--iterations", "1", *QUICK[2:]))
    assert done.returncode == 0, done.stderr[-2000:]
    responses = [row["response"] for row in stored(run_dir, "lm_samples", "response")]
    assert responses and all(len(r) <= sizes.REPLY_CHARS for r in responses)
    assert (run_dir / "run.db").stat().st_size < 10 * sizes.REPLY_CHARS
    with RunReader.open(run_dir) as reader:
        assert reader.get_meta("size_caps") == sizes.as_dict()


PROMPTER = """
def improve_algorithm(initial_solution, utility, language_model):
    language_model.batch_prompt("expert", ["x" * 450_000])
    return initial_solution
"""


def test_an_improver_prompt_past_the_cap_is_refused_unsent(tmp_path):
    done, run_dir = hostile_run(tmp_path, initial=PROMPTER, args=QUICK)
    assert done.returncode == 0, done.stderr[-2000:]
    errors = [error or "" for _, error in invocations(run_dir)]
    assert any(f"at most {sizes.PROMPT_CHARS:,} characters" in e for e in errors), errors
    assert stored(run_dir, "lm_calls") == []  # nothing sent, nothing paid


@pytest.fixture
def no_keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-fake")
    for name in ("OPENAI_BASE_URL", "SELFTAUGHT_PRICES", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _broker(run_dir: Path, url: str, spec: str = "openai:gpt-4o-mini", **kw):
    store = RunStore.open_run(run_dir, create=True)
    base = url + ("/v1" if spec.startswith("openai") else "")
    return open_language_model(spec, base_url=base, store=store, run_seed=0, **kw)


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest"])
def test_an_http_body_past_the_cap_is_not_read(tmp_path, no_keys, monkeypatch, spec):
    monkeypatch.setattr(sizes, "REPLY_BODY_BYTES", 4 << 20)
    with FaultServer(["huge:64"]) as server:
        broker = _broker(tmp_path / "r", server.url, spec, max_tokens=16)
        with pytest.raises(LanguageModelError, match="larger than 4 MB"):
            broker.sample("s", ["a"], 0.7)
        assert len(server.requests) == 1  # not retried: it would be as large again
        broker.close()


def test_the_dollars_cap_counts_a_calls_worst_case_before_sending(tmp_path, no_keys):
    # gpt-4o-mini: $0.15 / $0.60 per 1M tokens. 1,000 max tokens cost at most $0.0006 of
    # output; the fake server bills 13 tokens, far less: the worst case is what counts.
    worst = (len("s" + "a") / 3 * 0.15 + 1000 * 0.60) / 1e6
    with FaultServer() as server:
        broker = _broker(
            tmp_path / "d", server.url, max_tokens=1000, caps=SpendingCaps(dollars=worst / 2)
        )
        with pytest.raises(RunCapReached, match="worst case"):
            broker.sample("s", ["a"], 0.7)
        assert server.requests == []  # refused before sending
        broker.close()
        roomy = _broker(
            tmp_path / "e", server.url, max_tokens=1000, caps=SpendingCaps(dollars=worst * 2.5)
        )
        roomy.sample("s", ["a"], 0.7)  # the first fits; after it, spent + worst still fits
        roomy.sample("s", ["b"], 0.7)
        assert len(server.requests) == 2
        roomy.close()


def test_an_evaluators_huge_artifacts_are_not_stored_whole(tmp_path):
    (tmp_path / "evaluator.py").write_text(
        "def evaluate(path):\n    return {'combined_score': 0.5}\n"
    )
    (tmp_path / "initial_program.py").write_text("def f():\n    return 1\n")
    task = resolve_task(str(tmp_path))
    big = {"metrics": {"combined_score": 0.5}, "artifacts": {"log": "x" * 900_000}}
    row = task.record(big)
    assert len(json.dumps(row)) <= sizes.RECORD_CHARS and "record cap" in row["cut"]
    assert row["metrics"] == {"combined_score": 0.5}  # the score's metric is kept
    small = {"metrics": {"combined_score": 0.5}, "artifacts": {"log": "ok"}}
    assert task.record(small)["artifacts"] == {"log": "ok"}


def test_a_stored_reply_past_the_cap_is_read_cut(tmp_path):
    """A run directory from elsewhere (--cache-from, replay) may hold a reply no selftaught
    stored: the store reads at most the cap of it."""
    store = RunStore.open_run(tmp_path, create=True)
    store.put_sample("k", 0, Sample("é" * (2 * sizes.REPLY_CHARS), 1, 1, 0.1))
    got = store.get_sample("k", 0)
    assert got.response == "é" * sizes.REPLY_CHARS and got.prompt_tokens == 1
    store.close()
