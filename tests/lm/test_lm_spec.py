"""Model spec parsing: every kind, and one-line errors for every malformed spec."""

from __future__ import annotations

import pytest
from conftest import MODELS

from selftaught.lm import describe_models
from selftaught.lm.spec import ModelSpecError, embedded_gguf, parse_model_spec
from selftaught.store import RunStore


def test_default_is_the_embedded_qwen_and_names_resolve_later():
    spec = parse_model_spec("llamacpp")
    assert (spec.kind, spec.model, spec.path) == ("llamacpp", "qwen2.5-coder-0.5b", None)
    spec = parse_model_spec("llamacpp:smollm2-135m")
    assert (spec.kind, spec.model, spec.path) == ("llamacpp", "smollm2-135m", None)
    smoke = embedded_gguf()  # the fast model the tests use, verified in the cache
    assert smoke.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and smoke.stat().st_size > 50 * 2**20


def test_llamacpp_file(tmp_path):
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    spec = parse_model_spec(f"llamacpp:{model}")
    assert (spec.kind, spec.path) == ("llamacpp", model.resolve())


def test_openai():
    spec = parse_model_spec("openai:gpt-4o-mini")
    assert (spec.kind, spec.model) == ("openai", "gpt-4o-mini")
    # model names with colons (Ollama tags) survive
    assert parse_model_spec("openai:qwen2.5:7b").model == "qwen2.5:7b"


def test_anthropic():
    spec = parse_model_spec("anthropic:claude-3-5-haiku-latest")
    assert (spec.kind, spec.model) == ("anthropic", "claude-3-5-haiku-latest")


def test_python_file_and_module():
    spec = parse_model_spec(f"python:{MODELS / 'lm_echo.py'}:respond")
    assert spec.kind == "python"
    assert spec.module == str((MODELS / "lm_echo.py").resolve())
    assert spec.function == "respond"
    spec = parse_model_spec("python:mypkg.models:respond")
    assert (spec.module, spec.function) == ("mypkg.models", "respond")


def test_replay(tmp_path):
    RunStore.open_run(tmp_path, create=True).close()
    spec = parse_model_spec(f"replay:{tmp_path}")
    assert (spec.kind, spec.path) == ("replay", tmp_path.resolve())


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "foo:bar",
            "unknown model kind 'foo' in 'foo:bar'; use llamacpp, llamacpp:NAME,"
            " llamacpp:PATH.gguf, openai:MODEL, anthropic:MODEL, python:FILE.py:FUNC"
            " or replay:RUN_DIR",
        ),
        ("", "empty model spec"),
        ("   ", "empty model spec"),
        ("gpt-4", "unknown model kind 'gpt-4'"),
        ("llamacpp:", "no model after 'llamacpp:'"),
        ("llamacpp:model.bin", "is neither an embedded model nor a .gguf file"),
        ("llamacpp:qwen7", "use llamacpp:qwen2.5-coder-0.5b, llamacpp:qwen2.5-coder-1.5b"),
        ("llamacpp:/nonexistent/model.gguf", "not found"),
        ("openai", "no model name"),
        ("openai:  ", "no model name"),
        ("anthropic", "no model name in 'anthropic'; use anthropic:MODEL"),
        ("anthropic:", "no model name"),
        ("python:", "needs a module and a function"),
        ("python:lm_echo.py", "needs a module and a function"),
        ("python::respond", "needs a module and a function"),
        ("python:/nonexistent/model.py:respond", "not found"),
        ("python:my-model:respond", "neither a .py file nor a dotted module name"),
        ("python:mypkg.models:1respond", "is not a Python function name"),
        ("replay:", "no run directory"),
        ("replay:/nonexistent/run", "no run database at"),
    ],
)
def test_malformed_specs_give_one_line(text, says):
    with pytest.raises(ModelSpecError) as caught:
        parse_model_spec(text)
    message = str(caught.value)
    assert says in message
    assert "\n" not in message and "Traceback" not in message
    assert caught.value.__context__ is None  # nothing chained that would print a traceback


def test_describe_models_lists_every_kind():
    rows = describe_models()
    assert {row["kind"] for row in rows} == {"llamacpp", "openai", "anthropic", "python", "replay"}
    for row in rows:
        assert set(row) == {"kind", "example", "what", "available", "detail", "configure"}
    by_kind = {row["kind"]: row for row in rows}
    assert "OPENAI_API_KEY" in by_kind["openai"]["configure"]
    assert "ANTHROPIC_API_KEY" in by_kind["anthropic"]["configure"]
    assert "extra_body" in by_kind["anthropic"]["configure"]
    embedded = rows[0]
    assert embedded["example"] == "llamacpp" and embedded["available"] is True
    assert embedded["detail"].startswith("yes")  # installed with selftaught


def test_llama_threads_come_from_the_environment(monkeypatch):
    from selftaught.lm.base import LanguageModelError
    from selftaught.lm.llamacpp import threads_from_env

    monkeypatch.delenv("SELFTAUGHT_LLAMA_THREADS", raising=False)
    assert threads_from_env() == 2
    monkeypatch.setenv("SELFTAUGHT_LLAMA_THREADS", "1")
    assert threads_from_env() == 1
    monkeypatch.setenv("SELFTAUGHT_LLAMA_THREADS", "zero")
    with pytest.raises(LanguageModelError, match="must be a positive whole number"):
        threads_from_env()
