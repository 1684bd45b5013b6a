"""The scripted STOP world (stop_world.py) behind an OpenAI-compatible loopback server whose
answers depend on the request's seed, as a sampled model's do, and that answers after a random
delay, so that concurrent requests complete out of order.

Improver requests get the hinted improver; solution requests get, by (seed, choice index), one
of seven solutions of distinct scores (the brute-force solver, variants of it wrong on part of
the inputs, the majority baseline; a hinted prompt gets one of the better four). Which solution
a request gets therefore depends on the sample index the broker assigned it: a run whose indices
followed completion order would record other per-repetition results than a sequential run.
`peak` is the largest number of requests the server held at once.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from typing import Any

import stop_world
from lm_servers import FaultServer, last_user_text, openai_reply

# The brute-force solver, made wrong on the test inputs from index k on: k orders them by score.
SOLUTIONS = tuple(
    stop_world.BRUTE_FORCE.format(flip=f"predictions[{k}:] ^= 1\n    ") for k in (2, 6, 10, 14, 18)
) + (stop_world.BRUTE_FORCE.format(flip=""), stop_world.MAJORITY)


def answer(user: str, seed: int | None, k: int) -> str:
    if "def improve_algorithm" in user:
        return stop_world._fenced(stop_world._improver())
    digest = hashlib.sha256(f"{seed}|{k}".encode()).digest()
    choices = SOLUTIONS[2:6] if stop_world.BRUTE_HINT in user else SOLUTIONS
    return stop_world._fenced(choices[digest[0] % len(choices)])


class StopWorldServer(FaultServer):
    def __init__(self, max_delay: float = 0.05, gate: threading.Event | None = None):
        super().__init__()
        self.max_delay = max_delay
        self.gate = gate  # when given, every request waits for it to be set
        self.in_flight = self.peak = 0
        self.rng = random.Random(0)

    def _handle(self, h: Any) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)) or b"{}")
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.requests.append((h.path, dict(h.headers), body))
            delay = self.rng.uniform(0, self.max_delay)
        try:
            time.sleep(delay)
            if self.gate is not None:
                self.gate.wait(timeout=300)
            reply = openai_reply(body)
            user = last_user_text(body)
            for k, choice in enumerate(reply["choices"]):
                choice["message"]["content"] = answer(user, body.get("seed"), k)
            self._reply(h, 200, reply)
        finally:
            with self.lock:
                self.in_flight -= 1

    def reset_peak(self) -> None:
        with self.lock:
            self.peak = 0
