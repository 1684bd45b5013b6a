"""The invocation vocabulary of selftaught.records: one level enum, and the scope and purpose
strings made in one place. The strings are part of the model cache's key and of the stored
meta-utilities' keys: the expected values are those the code built by hand before (commit
4d6402c; tests/store/test_replay.py replays whole runs recorded then)."""

from __future__ import annotations

from selftaught.records import (
    RECORD_PURPOSE,
    Invocation,
    Level,
    Scope,
    compare_group,
    stop_group,
    study_purpose,
    transfer_group,
)


def test_scopes_are_spelled_as_before():
    assert Scope.stop(1) == Scope("t=1", Level.STOP, "t=1")
    assert Scope.repetition(stop_group(0), "lpn", 1) == Scope(
        "t=0/lpn/1", Level.META_UTILITY, "t=0"
    )
    assert Scope.repetition(compare_group(7, 0, "seed"), "lpn", 0).name == "compare:7:0:seed/lpn/0"
    assert (
        Scope.repetition(transfer_group("maxcut"), "maxcut", 2).name == "transfer:maxcut/maxcut/2"
    )
    assert Scope.probe("meta", Level.STOP) == Scope("probe/meta", Level.STOP, "probe")
    assert Scope.probe("solution/lpn", Level.META_UTILITY).name == "probe/solution/lpn"


def test_purposes_are_spelled_as_before():
    assert RECORD_PURPOSE == "record"
    assert study_purpose(compare_group(7, 0, "a.py"), "lpn") == "compare:7:0:a.py:lpn"
    assert study_purpose(transfer_group("lpn"), "improver") == "transfer:lpn:improver"
    assert Invocation.stop(2).purpose == "stop:t=2"
    assert Invocation.meta_utility("lpn", 0, t=1).purpose == "meta_utility:lpn:0"


def test_one_level_enum_speaks_both_stored_spellings():
    # invocations.level keeps "stop"/"meta_utility"; lm_calls.level keeps "meta"/"task"
    assert [level.value for level in Level] == ["stop", "meta_utility", "probe"]
    assert [level.call_level for level in Level] == ["meta", "task", "task"]
    assert Scope.stop(1).call_level == "meta" and Scope.of("x").call_level is None
    assert Invocation.stop(1).level == "stop"  # a str: what the store binds and JSON writes


def test_a_scope_given_a_plain_string_level_keeps_that_spelling():
    # callers from before the enum passed the lm_calls spelling itself
    assert Scope("s", "task", "s").call_level == "task"  # type: ignore[arg-type]


def test_a_transfer_row_prints_what_transfer_json_printed_and_reads_it_back():
    from selftaught.records import TransferRow

    row = TransferRow("lpn", 0.5, 0.523, 0.6, (0.5, 0.55), (0.55, 0.65))
    printed = {"task": "lpn", "seed_solution": 0.5, "seed_improver": 0.523, "improver": 0.6,
               "ci": {"seed_improver": [0.5, 0.55], "improver": [0.55, 0.65]}}  # fmt: skip
    assert row.to_json() == printed and list(row.to_json()) == list(printed)
    assert TransferRow.from_row(printed) == row


def test_a_version_1_purpose_reads_back_as_the_invocation_that_wrote_it():
    for invocation in (Invocation.stop(2), Invocation.meta_utility("lpn", 3)):
        assert Invocation.from_purpose(invocation.purpose) == invocation
    assert Invocation.from_purpose("meta_utility:a:b:1") == Invocation.meta_utility("a:b", 1)
    assert Invocation.from_purpose("stop:t=x") == Invocation(Level.STOP)  # a part it cannot read
    assert Invocation.from_purpose("other") == Invocation("other")  # type: ignore[arg-type]
