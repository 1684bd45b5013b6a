"""A model server that sends a 300 MB reply: what the host holds and stores. Prints one JSON
object.

    nice -n 10 python benchmarks/reply_cap.py [--megabytes 300]

A loopback OpenAI-compatible server answers the first request with a chunked body of
`--megabytes` MB (no Content-Length to refuse it by); the `openai:` backend reads it through
the capped transport (`lm/http_cap.py`, `sizes.REPLY_BODY_BYTES`). The figures: how long until
the request failed, the host's peak resident memory before and after (`ru_maxrss`), the bytes
the client read, and the size of the run database afterwards (docs/reliability.md, "Size caps").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "models"))

from lm_servers import FaultServer  # noqa: E402
from machine import machine  # noqa: E402

from selftaught import sizes  # noqa: E402
from selftaught.lm import LanguageModelError, open_language_model  # noqa: E402
from selftaught.store import RunStore  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=300)
    args = parser.parse_args()
    info = machine()
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark")
    with tempfile.TemporaryDirectory() as tmp, FaultServer([f"huge:{args.megabytes}"]) as server:
        store = RunStore.open_run(Path(tmp) / "run", create=True)
        broker = open_language_model(
            "openai:gpt-4o-mini", base_url=server.url + "/v1", store=store, run_seed=0,
            max_tokens=16,
        )  # fmt: skip
        before = peak_mb()
        started = time.perf_counter()
        try:
            broker.sample("s", ["a"], 0.7)
            outcome = "answered"
        except LanguageModelError as exc:
            outcome = str(exc)[:160]
        seconds = time.perf_counter() - started
        after = peak_mb()
        broker.close()
        store.close()
        db_bytes = (Path(tmp) / "run" / "run.db").stat().st_size
    print(
        json.dumps(
            {
                "benchmark": "reply cap",
                "machine": info,
                "reply_megabytes_sent": args.megabytes,
                "cap_megabytes": sizes.REPLY_BODY_BYTES / (1 << 20),
                "seconds_until_refused": round(seconds, 2),
                "peak_rss_mb_before": round(before, 1),
                "peak_rss_mb_after": round(after, 1),
                "requests": len(server.requests),
                "run_db_bytes": db_bytes,
                "outcome": outcome,
            }  # fmt: skip
        )
    )


if __name__ == "__main__":
    main()
