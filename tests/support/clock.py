"""A monotonic clock the test moves by hand, for code that takes ``clock=`` (TTLs, cool-downs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ManualClock:
    """Seconds, like ``time.monotonic``; only :meth:`advance` (or setting ``now``) moves it."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds
