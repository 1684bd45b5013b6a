"""Learning Parity with Noise, STOP's self-improvement task, with the reference parameters.

10 bits; secret bits Bernoulli(0.3); 100 train and 20 test inputs Bernoulli(0.5); label =
parity of the masked bits; 5% label noise on the train labels only. Utility: test accuracy,
with predictions and labels flattened and their sizes checked before comparing (the paper saw
a >1000% "accuracy" from predictions that broadcast against the labels).

Time limit: `instance_seconds` of CPU time per instance, as the host reads it from the kernel
(so a loaded machine does not lower a score), and as long, plus `sandbox.runs.WAIT_MARGIN`,
waiting for anything but a CPU (sleeping, stopped); a starved child meets a wall-clock backstop
of `sandbox.api.WALL_BACKSTOP` times that plus a second. Each is a timeout and scores 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, paper_splits

SEED_SOLUTION = """import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    predictions = np.random.binomial(1, 0.5, len(test_samples))
    return predictions
"""

# What the language model is shown as `utility.str`. Like the reference, it says 100 ms per
# test; the scorer allows `instance_seconds` (2 s), the reference's effective limit.
DESCRIPTION = '''import random
import numpy as np
import time

def utility(algorithm_str: str):
    """
    Implements the parity learning task. Returns the number of correct predictions.
    """

    n_tests = 3
    average_correct = 0

    try:
        exec(algorithm_str, globals())
    except:
        return 0

    for _ in range(n_tests):
        start_time = time.time()
        n_bits = 10
        p_true = 0.3
        n_train_samples = 100
        n_test_samples = 20
        noise_level = 0.05
        true_bits = np.random.binomial(1, p_true, n_bits)

        samples = np.random.binomial(1, 0.5, (n_train_samples + n_test_samples, n_bits))
        masked_samples = samples * true_bits
        parity = np.sum(masked_samples, axis=1) % 2
        train_samples = samples[:n_train_samples]
        train_parity = parity[:n_train_samples]
        parity_noise = np.random.binomial(1, noise_level, n_train_samples)
        train_parity = (train_parity + parity_noise) % 2

        test_samples = samples[n_train_samples:]
        test_parity = parity[n_train_samples:]

        # Because algorithm is a string, we can't call it directly. Instead, we can use eval to
        # evaluate it as a Python expression.
        try:
            predictions = algorithm(train_samples, train_parity, test_samples)
            test_parity = np.array(test_parity).reshape(-1)
            predictions = np.array(predictions).reshape(-1)
            correct = np.sum(predictions == test_parity) / n_test_samples
        except:
            correct = 0
        # Use no more than 100 milliseconds per test
        if time.time() - start_time > 0.1:
            return 0
        average_correct += correct / n_tests
    return average_correct
'''


class LearningParityWithNoise:
    name = "lpn"
    entry = "algorithm"
    seed_solution = SEED_SOLUTION
    description = DESCRIPTION
    instance_seconds = 2.0
    array_args = True
    splits = paper_splits(20, 50)

    def __init__(self, noise_level: float = 0.05):
        self.noise_level = noise_level

    def instance(self, seed: int) -> Instance:
        rng = np.random.RandomState(seed)
        n_bits, n_train, n_test = 10, 100, 20
        true_bits = rng.binomial(1, 0.3, n_bits)
        samples = rng.binomial(1, 0.5, (n_train + n_test, n_bits))
        parity = (samples * true_bits).sum(axis=1) % 2
        noise = rng.binomial(1, self.noise_level, n_train)
        train_parity = (parity[:n_train] + noise) % 2
        inputs = [samples[:n_train].tolist(), train_parity.tolist(), samples[n_train:].tolist()]
        return Instance(inputs=inputs, answer=parity[n_train:].tolist())

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        labels = np.asarray(instance.answer).reshape(-1)
        try:
            predictions = np.asarray(output, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            return 0.0, "predictions are not numbers"
        if predictions.size != labels.size:
            return 0.0, f"expected {labels.size} predictions, got {predictions.size}"
        return float(np.mean(predictions == labels)), None


def _without_noise(text: str) -> str:
    noise = (
        "        noise_level = 0.05\n",
        "        parity_noise = np.random.binomial(1, noise_level, n_train_samples)\n"
        "        train_parity = (train_parity + parity_noise) % 2\n",
    )
    for line in noise:
        assert line in text, "DESCRIPTION changed: update the parity text"
        text = text.replace(line, "")
    return text.replace("the parity learning task.", "the parity learning task, without noise.")


# The parity transfer task's own `utility.str`: LPN's, with no label noise.
PARITY_DESCRIPTION = _without_noise(DESCRIPTION)


class ParityWithoutNoise(LearningParityWithNoise):
    name = "parity"
    description = PARITY_DESCRIPTION

    def __init__(self) -> None:
        super().__init__(noise_level=0.0)
