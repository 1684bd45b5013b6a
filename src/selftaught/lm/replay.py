"""`replay:RUN_DIR`: answer every request from another run's response cache.

The replayed run stored each sample under a request key that includes its model identity; this
backend takes that identity from the other database's meta key "model_identity", so that the
broker computes the same keys and finds the same samples. It never generates: a request the other
run never made is an error (raised by the broker, which knows the request and sample index).
"""

from __future__ import annotations

from pathlib import Path

from selftaught.lm.base import Backend, LanguageModelError
from selftaught.store import RunReader, Sample, StoreError

IDENTITY_KEY = "model_identity"


class ReplayBackend(Backend):
    """Serves recorded samples from RUN_DIR/run.db, opened read-only."""

    generates = False

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        try:
            self.source = RunReader.open(self.run_dir)
        except StoreError as exc:
            raise LanguageModelError(f"replay:{run_dir}: {exc}") from None
        identity = self.source.get_meta(IDENTITY_KEY)
        if not isinstance(identity, str) or not identity:
            self.source.close()
            raise LanguageModelError(
                f"replay:{run_dir}: the run database records no {IDENTITY_KEY!r}, so its cached"
                " responses cannot be matched; only runs that saved their model identity replay"
            )
        self.identity = identity
        self.name = f"replay:{self.run_dir.name} ({identity})"

    def lookup(self, request_key: str, index: int) -> Sample | None:
        return self.source.get_sample(request_key, index)

    def generate(
        self,
        system: str,
        user: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seeds: list[int],
    ) -> list[Sample]:
        raise LanguageModelError(f"{self.name} cannot generate new samples; it only replays")

    def close(self) -> None:
        self.source.close()
