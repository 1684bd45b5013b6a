"""Run configuration from a TOML file: the loader, the layers, and the command on bad input."""

from __future__ import annotations

import pytest
from conftest import ROOT, last_json, one_clear_line, run_cli

from selftaught.config import ConfigError, build_config
from selftaught.config_file import load_config_file
from selftaught.lm.options import ModelOptions
from selftaught.store import RunStore

EXAMPLE = ROOT / "examples" / "run.toml"


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- the loader


def test_example_file_parses_and_validates():
    config = build_config(file=load_config_file(EXAMPLE))
    assert (config.model, config.preset, config.task) == ("llamacpp", "quick", "lpn")
    assert config.caps.calls == 500 and config.limits.improver_seconds == 120.0
    assert ModelOptions.from_pairs(list(config.model_options)).timeout == 600.0


def test_file_goes_over_the_preset_and_the_command_line_over_the_file(tmp_path):
    file = load_config_file(
        _write(
            tmp_path / "run.toml",
            'preset = "paper"\niterations = 2\nrepetitions = 1\nseed = 5\nconcurrency = 3\n'
            "[caps]\ncalls = 10\ndollars = 2\n[limits]\nimprover_seconds = 30\n",
        )
    )
    config = build_config(file=file, iterations=None, seed=None)
    assert (config.preset, config.iterations, config.seed, config.concurrency) == ("paper", 2, 5, 3)
    assert config.budgets.repetitions == 1 and config.budgets.lm_calls == 4  # the rest: paper's
    assert config.limits.improver_seconds == 30 and config.limits.improver_memory_mb == 2048

    given = build_config("quick", file=file, iterations=0, seed=1, caps={"dollars": 1.5})
    assert (given.preset, given.iterations, given.seed) == ("quick", 0, 1)
    assert given.budgets.repetitions == 1 and given.budgets.lm_calls == 2
    assert (given.caps.calls, given.caps.dollars) == (10, 1.5)  # caps merge by key


def test_a_commands_defaults_sit_between_preset_and_file(tmp_path):
    defaults = {"task": "parity", "repetitions": 5}
    assert build_config(defaults=defaults).budgets.repetitions == 5
    file = load_config_file(_write(tmp_path / "r.toml", "repetitions = 1\n"))
    config = build_config(defaults=defaults, file=file)
    assert (config.task, config.budgets.repetitions) == ("parity", 1)


def test_model_options_round_trip_and_the_command_line_replaces_by_key(tmp_path):
    path = _write(
        tmp_path / "run.toml",
        "[model_options]\ntemperature = 1\ntimeout = 60.5\nsend_seed = false\n"
        'retries = 2\n[model_options.extra_body]\ntop_k = 40\nstop = ["</s>", "x=1"]\n'
        'chat = { name = "a \\"b\\"", weights = [0.1, 2] }\n',
    )
    file = load_config_file(path)
    options = ModelOptions.from_pairs(list(build_config(file=file).model_options))
    extra = {"top_k": 40, "stop": ["</s>", "x=1"], "chat": {"name": 'a "b"', "weights": [0.1, 2]}}
    assert options == ModelOptions(
        temperature=1.0, timeout=60.5, send_seed=False, retries=2, extra_body=extra
    )

    config = build_config(file=file, model_options=("retries=7", "backoff=0"))
    options = ModelOptions.from_pairs(list(config.model_options))
    assert (options.retries, options.backoff, options.timeout) == (7, 0.0, 60.5)
    assert len(config.model_options) == 6  # retries once: the command line's


def test_paths_are_relative_to_the_files_directory(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    (conf / "tasks").mkdir(parents=True)
    task_file = _write(conf / "tasks" / "mine.py", "TASK = None\n")
    improver = _write(conf / "my_improver.py", "def improve_algorithm(s, u, m):\n    return s\n")
    model = _write(conf / "model.py", "def respond(*args):\n    return []\n")
    _write(
        conf / "run.toml",
        'task = "tasks/mine.py, lpn"\nimprover = "my_improver.py"\n'
        'cache_from = "../earlier"\nmodel = "python:model.py:respond"\n',
    )
    monkeypatch.chdir(tmp_path)  # not the file's directory
    values = load_config_file("conf/run.toml")
    assert values["task"] == f"{task_file},lpn"  # a built-in name stays a name
    assert values["improver"] == str(improver)
    assert values["cache_from"] == str(tmp_path / "earlier")
    assert values["model"] == f"python:{model}:respond"
    assert load_config_file(_write(conf / "b.toml", 'improver = "seed"\n'))["improver"] == "seed"


BAD_FILES = [
    ("", "cannot read", ["missing.toml"]),
    ("iterations = 1\nseed = = 2\n", "not valid TOML", ["line 2"]),
    ("gate = [\n", "not valid TOML", ["line 1"]),
    ("iteration = 1\n", "unknown key 'iteration'", ["known:", "iterations", "model_options"]),
    ("[caps]\ncall = 3\n", "unknown key 'call'", ["[caps]", "calls, tokens, dollars, seconds"]),
    ('iterations = "3"\n', "iterations", ["valid integer"]),
    ('sandbox_flag = "yes"\n', "sandbox_flag", ["valid boolean"]),
    ("caps = 3\n", "caps", ["dictionary"]),
    ("[model_options]\nbogus = 1\n", "unknown model option 'bogus'", ["timeout"]),
    ('[model_options]\ntimeout = "fast"\n', "timeout", ["valid number"]),
    ("[model_options]\ntemperature = 5\n", "temperature", ["[0, 2]"]),
    ('preset = "huge"\n', "preset", ["'quick' or 'paper'"]),
    ("iterations = 5000\n", "invalid iterations", []),
]


@pytest.mark.parametrize("text, first, more", BAD_FILES)
def test_bad_files_are_one_line(tmp_path, text, first, more):
    path = tmp_path / "missing.toml" if not text else _write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        build_config(file=load_config_file(path))
    message = str(err.value)
    assert "\n" not in message
    for word in (first, *more):
        assert word in message, message


# ---------------------------------------------------------------------------- the command


def test_run_from_a_config_file_records_it(tmp_path, scripted_model):
    path = _write(
        tmp_path / "run.toml",
        f'model = "{scripted_model}"\ntask = "lpn"\niterations = 0\nrepetitions = 1\n'
        "seed = 5\nconcurrency = 2\n[caps]\ncalls = 50\n[limits]\nimprover_seconds = 60\n"
        "[model_options]\ntimeout = 30\nretries = 3\n[model_options.extra_body]\ntop_k = 4\n",
    )
    run_dir = tmp_path / "r"
    done = run_cli(
        "run", "--config", str(path), "--seed", "3", "--concurrency", "1",
        "--model-option", "retries=1", "--run-dir", str(run_dir), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [row["t"] for row in last_json(done.stdout)["iterations"]] == [0]
    store = RunStore.open_run(run_dir)
    try:
        config = store.get_meta("config")
    finally:
        store.close()
    assert (config["iterations"], config["seed"], config["concurrency"]) == (0, 3, 1)
    assert config["budgets"]["repetitions"] == 1 and config["budgets"]["lm_calls"] == 2
    assert config["caps"]["calls"] == 50 and config["limits"]["improver_seconds"] == 60
    options = ModelOptions.from_pairs(config["model_options"])
    assert (options.timeout, options.retries, options.extra_body) == (30.0, 1, {"top_k": 4})


@pytest.mark.parametrize(
    "text, words",
    [
        (None, ["cannot read config file", "absent.toml"]),
        ("iterations = 0\nseed = = 1\n", ["not valid TOML", "line 2"]),
        ("iterations = 0\nrepetition = 1\n", ["unknown key 'repetition'", "known:"]),
        ('seed = "one"\n', ["seed", "valid integer"]),
        ("[model_options]\ntimeot = 5\n", ["unknown model option 'timeot'"]),
    ],
)
def test_run_refuses_a_bad_config_file(tmp_path, scripted_model, text, words):
    path = tmp_path / "absent.toml" if text is None else _write(tmp_path / "bad.toml", text)
    run_dir = tmp_path / "r"
    done = run_cli(
        "run", "--config", str(path), "--model", scripted_model, "--run-dir", str(run_dir)
    )
    one_clear_line(done, *words)
    assert not run_dir.exists()


def test_unknown_model_option_on_the_command_line(tmp_path, scripted_model):
    run_dir = tmp_path / "r"
    done = run_cli(
        "run", "--model", scripted_model, "--model-option", "timeot=5", "--run-dir", str(run_dir)
    )
    one_clear_line(done, "unknown model option 'timeot'")
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "command", [("transfer", "--improver", "seed"), ("compare", "--improvers", "seed")]
)
def test_side_commands_read_the_config_file(tmp_path, command):
    path = _write(tmp_path / "bad.toml", "[limits]\nimprover_secs = 5\n")
    done = run_cli(*command, "--config", str(path), "--run-dir", str(tmp_path / "r"))
    one_clear_line(done, "unknown key 'improver_secs'", "[limits]")
    assert not (tmp_path / "r").exists()


def test_help_names_the_new_options():
    for command in ("run", "transfer", "compare"):
        text = run_cli(command, "--help", env={"COLUMNS": "200"}).stdout
        assert "--config" in text and "--concurrency" in text and "--model-option" in text
