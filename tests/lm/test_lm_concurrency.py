"""The broker under concurrency: requests of a batch go out at once when the backend allows it,
results do not depend on completion order, and several threads may share one broker."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from lm_servers import FaultServer  # noqa: E402

from selftaught.lm import LMBroker, ModelOptions, open_language_model  # noqa: E402
from selftaught.lm.base import Backend  # noqa: E402
from selftaught.store import RunStore, Sample  # noqa: E402


class SlowRandomBackend(Backend):
    """Answers "USER/seed" after a random delay; records how many requests overlap."""

    name = identity = "test:slow"
    max_concurrency = 4

    def __init__(self, splits: bool, rng: random.Random):
        self.splits_samples = splits
        self.rng = rng
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.requests = 0

    def generate(self, system, user, n, temperature, max_tokens, seeds):
        with self.lock:
            self.in_flight += 1
            self.requests += 1
            self.peak = max(self.peak, self.in_flight)
            delay = self.rng.uniform(0, 0.05)
        time.sleep(delay)
        with self.lock:
            self.in_flight -= 1
        return [Sample(f"{user}/{seed}", 1, 1, delay) for seed in seeds]


def run_batches(tmp_path: Path, splits: bool, order_seed: int) -> tuple[list, SlowRandomBackend]:
    backend = SlowRandomBackend(splits, random.Random(order_seed))
    store = RunStore.open_run(tmp_path / f"run-{splits}-{order_seed}", create=True)
    broker = LMBroker(backend, store, run_seed=5, max_tokens=8)
    out = [broker.sample("s", ["a", "b", "a", "c", "a", "d"], 0.7, "t=1") for _ in range(2)]
    rows = store.rows("lm_calls", "request_key", "first_sample", "n")
    return [out, sorted(tuple(row.values()) for row in rows)], backend


def test_results_do_not_depend_on_completion_order(tmp_path):
    for splits in (False, True):
        results = [run_batches(tmp_path, splits, seed) for seed in range(3)]
        assert results[0][0] == results[1][0] == results[2][0]
        backend = results[0][1]
        assert backend.peak > 1  # requests really overlapped
        # one request per distinct message, or one per sample when the backend splits them
        assert backend.requests == (12 if splits else 8)
        out = results[0][0][0]
        assert out[0][0] != out[0][2] != out[0][4]  # three samples of "a", three seeds
        assert len({*out[0], *out[1]}) == 12  # the second batch gets new sample indices


def test_many_threads_share_one_broker(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    store = RunStore.open_run(tmp_path, create=True)
    with FaultServer(["500", "reset"]) as server:
        broker = open_language_model(
            "openai:gpt-4o-mini",
            base_url=server.url + "/v1",
            store=store,
            run_seed=0,
            max_tokens=8,
            options=ModelOptions(retries=3, backoff=0.01),
        )
        errors: list[BaseException] = []

        def worker(k: int) -> None:
            try:
                for j in range(5):
                    out = broker.sample("s", [f"m{k}-{j}", "shared"], 0.7)
                    assert out[0].startswith(f"m{k}-{j}|")
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        broker.close()
    assert errors == []
    assert broker.usage.calls == 80 and broker.usage.retries == 2
    assert store.count("lm_calls") == 80
    # "shared" was asked 40 times: 40 distinct sample indices, none reused
    calls = store.rows("lm_calls", "request", "first_sample")
    indices = [row["first_sample"] for row in calls if '"user": "shared"' in row["request"]]
    assert sorted(indices) == list(range(40))
