"""The parity transfer task shows the model its own utility text, not LPN's (docs/tasks.md)."""

from selftaught.tasks import get_task


def test_parity_describes_itself_without_noise():
    parity, lpn = get_task("parity"), get_task("lpn")
    assert "noise_level" in lpn.description and "parity_noise" in lpn.description
    assert "noise_level" not in parity.description and "parity_noise" not in parity.description
    assert "without noise" in parity.description
    compile(parity.description, "<parity utility.str>", "exec")  # still the same Python
    # And the instances match the text: some mask explains every training label exactly.
    import itertools

    import numpy as np

    instance = parity.instance(parity.splits["val"].first_seed)
    x, y = np.array(instance.inputs[0]), np.array(instance.inputs[1])
    masks = np.array(list(itertools.product([0, 1], repeat=x.shape[1])))
    assert (((x @ masks.T) % 2) == y[:, None]).all(axis=0).any()
