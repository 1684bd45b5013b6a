import pytest

from selftaught.config import ConfigError, build_config


def test_presets_carry_the_papers_budgets():
    paper = build_config("paper").budgets
    assert (paper.responses_per_call, paper.lm_calls, paper.utility_calls) == (6, 4, 25)
    assert (paper.meta_utility_calls, paper.repetitions, paper.max_tokens) == (25, 5, 1024)
    assert paper.temperature == 0.7
    quick = build_config("quick", repetitions=1)
    assert quick.budgets.repetitions == 1 and quick.iterations == 1 and quick.gate == "better"


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"task": "nope"}, "unknown task 'nope'"),
        ({"gate": "maybe"}, "gate"),
        ({"iterations": -1}, "iterations"),
        ({"repetitions": 0}, "repetitions"),
    ],
)
def test_bad_values_give_one_line(overrides, words):
    with pytest.raises(ConfigError) as err:
        build_config("quick", **overrides)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset"):
        build_config("huge")
