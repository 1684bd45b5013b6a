"""Seeds derived from names: every seed a run derives has a named function here, so each is
reproducible from what the run records and the same on every machine, process and Python
version (no `hash()`, which is salted per process).

A seed is the first four bytes of the SHA-256 of its parts, modulo 2**31 - 1 unless a function
says otherwise. The parts and their order are part of the run's records (an improver child's
seed, a language-model sample's seed, a compare repeat's run seed) and of the model cache's key
(a sample's seed is what the backend is asked with): none of these functions may change what it
returns (tests/test_seeds.py pins them; tests/store/test_replay.py replays old runs).
"""

from __future__ import annotations

import hashlib


def seed_of(text: str, modulus: int = 2**31 - 1) -> int:
    """The seed named by `text`: its SHA-256's first four bytes modulo `modulus`."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % modulus


def derive_seed(*parts: object, modulus: int = 2**31 - 1) -> int:
    """The seed named by `parts`, joined with "|"."""
    return seed_of("|".join(str(part) for part in parts), modulus)


def stop_seed(run_seed: int, t: int) -> int:
    """The improver child's seed of STOP iteration t (the incumbent improving itself)."""
    return derive_seed(run_seed, "stop", t)


def repetition_seed(run_seed: int, task: str, repetition: int) -> int:
    """The improver child's seed of one repetition of û: the same for every improver, so that
    candidates and incumbents meet the same draws."""
    return derive_seed(run_seed, task, repetition)


def repeat_seed(seed: int, repeat: int) -> int:
    """The run seed of a comparison's repeat: the same for every improver, distinct per repeat."""
    return derive_seed("compare", seed, repeat)


def solution_seed(program: str, task: str, split: str) -> int:
    """Seed of `random`/`numpy.random` in a solution's child: same program, same draws, every
    run (below 2**31 - 2**16, so that a solution adding a small offset stays in 31 bits)."""
    return derive_seed(program, task, split, modulus=2**31 - 2**16)


def secret_instance_seed(secret: str, first_seed: int, i: int) -> int:
    """Instance i of a split under a run's secret (`--secret-seeds`): one a child cannot
    compute, since it never sees the secret."""
    return derive_seed(secret, first_seed, i)


def sample_seed(run_seed: int, key: str, index: int) -> int:
    """The seed of sample `index` of a model request (its cache key): 31 bits, which every
    server accepts."""
    return seed_of(f"{run_seed}:{key}:{index}", 2**31)
