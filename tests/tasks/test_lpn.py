import numpy as np

from selftaught.tasks import TaskError, get_task


def _reference_instance(seed):
    """The reference code's generator, draw for draw."""
    np.random.seed(seed)
    true_bits = np.random.binomial(1, 0.3, 10)
    samples = np.random.binomial(1, 0.5, (120, 10))
    parity = np.sum(samples * true_bits, axis=1) % 2
    noise = np.random.binomial(1, 0.05, 100)
    return samples[:100], (parity[:100] + noise) % 2, samples[100:], parity[100:]


def test_instances_match_the_reference_generator():
    task = get_task("lpn")
    for split, first, size in (("val", 4321, 20), ("test", 5678, 50)):
        assert (task.splits[split].first_seed, task.splits[split].size) == (first, size)
    inst = task.instance(4321)
    train, train_parity, test, test_parity = _reference_instance(4321)
    assert inst.inputs == [train.tolist(), train_parity.tolist(), test.tolist()]
    assert inst.answer == test_parity.tolist()


def test_score_flattens_and_rejects_broadcasting_shapes():
    task = get_task("lpn")
    inst = task.instance(4321)
    labels = inst.answer
    assert task.score(inst, labels) == (1.0, None)
    assert task.score(inst, [[v] for v in labels])[0] == 1.0  # (20, 1) flattens
    # A (20, 20) answer would broadcast against the labels in a careless scorer.
    hack = [[v] * 20 for v in labels]
    score, reason = task.score(inst, hack)
    assert score == 0.0 and "expected 20 predictions" in reason
    assert task.score(inst, "abc")[0] == 0.0


def test_unknown_task_is_a_clear_error():
    try:
        get_task("nope")
    except TaskError as exc:
        assert "known tasks" in str(exc)
    else:
        raise AssertionError("no error")
