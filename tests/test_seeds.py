"""Every seed a run derives comes from a named function of selftaught.seeds, and each returns
what the code before them derived by hand: the values below were computed by that code (commit
4d6402c). A changed value would change recorded runs' draws and the model cache's seeds."""

from __future__ import annotations

from selftaught import seeds
from selftaught.tasks.base import Split
from selftaught.utility import instance_seed

KEY = "k" * 64


def test_each_named_seed_is_what_the_run_derived_before():
    assert seeds.stop_seed(7, 1) == 748279727
    assert seeds.repetition_seed(7, "lpn", 0) == 1634829567
    assert seeds.repeat_seed(7, 0) == 322975945
    assert seeds.solution_seed("ab" * 32, "lpn", "val") == 1790071174
    assert seeds.secret_instance_seed("s3cret", 1, 2) == 112282683
    assert seeds.sample_seed(7, KEY, 3) == 1221566342


def test_the_named_seeds_keep_their_ranges():
    assert all(0 <= seeds.sample_seed(0, KEY, i) < 2**31 for i in range(200))
    assert all(0 <= seeds.solution_seed(str(i), "t", "val") < 2**31 - 2**16 for i in range(200))


def test_an_instance_seed_is_public_without_a_secret_and_derived_with_one():
    split = Split(first_seed=100, size=5)
    assert instance_seed(split, 2, None) == 102
    assert instance_seed(split, 2, "s3cret") == seeds.secret_instance_seed("s3cret", 100, 2)
