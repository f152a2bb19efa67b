"""Hedged webhook requests: ask the secondary URL when the primary is slower than usual.

:class:`LatencyTracker` keeps, per endpoint (bounded, least recently used forgotten), the
durations of its last ``window`` successful answers, and :meth:`~LatencyTracker.hedge_delay`
turns their 95th percentile into how long to wait for the primary before also asking the
secondary: the p95 itself, clamped to ``[min_delay, max_fraction * budget]``; with fewer
than ``min_samples`` answers (a new or forgotten endpoint), ``default_fraction * budget``.
Only answers are sampled: a timeout says "slower than the budget", not how slow, and a
failing endpoint is the circuit breaker's business.

:func:`hedged` runs the race: the primary alone until the delay passes (or it fails, then
the secondary at once: failover), then both; the first *successful* result wins and the
other request is cancelled. When neither succeeds the primary's result is returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HedgeSettings:
    """How hedging picks its delay."""

    window: int = 64
    min_samples: int = 10
    min_delay: float = 0.05
    max_fraction: float = 0.8
    default_fraction: float = 0.5
    max_endpoints: int = 10_000

    def __post_init__(self) -> None:
        if not 1 <= self.min_samples <= self.window or self.max_endpoints < 1:
            raise ValueError("need 1 <= min_samples <= window and max_endpoints >= 1")
        if not 0 < self.default_fraction <= 1 or not 0 < self.max_fraction <= 1:
            raise ValueError("fractions must be in (0, 1]")
        if self.min_delay < 0:
            raise ValueError("min_delay must not be negative")


class LatencyTracker:
    """Recent answer latencies per endpoint, and the hedging delay they suggest."""

    def __init__(self, settings: HedgeSettings | None = None) -> None:
        self._settings = settings or HedgeSettings()
        self._samples: OrderedDict[str, deque[float]] = OrderedDict()

    def observe(self, endpoint: str, seconds: float) -> None:
        """Record one successful answer's duration."""
        samples = self._samples.get(endpoint)
        if samples is None:
            samples = self._samples[endpoint] = deque(maxlen=self._settings.window)
            while len(self._samples) > self._settings.max_endpoints:
                self._samples.popitem(last=False)
        else:
            self._samples.move_to_end(endpoint)
        samples.append(max(0.0, seconds))

    def p95(self, endpoint: str) -> float | None:
        """The 95th percentile (nearest rank) of the recent answers; None with too few."""
        samples = self._samples.get(endpoint)
        if samples is None or len(samples) < self._settings.min_samples:
            return None
        ordered = sorted(samples)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    def hedge_delay(self, endpoint: str, budget: float) -> float:
        """How long to wait for ``endpoint`` before also asking the secondary."""
        settings = self._settings
        p95 = self.p95(endpoint)
        if p95 is None:
            return budget * settings.default_fraction
        ceiling = budget * settings.max_fraction
        return min(max(p95, settings.min_delay), ceiling)


@dataclass(frozen=True, slots=True)
class HedgeOutcome(Generic[T]):
    """The result used, who produced it, and whether the secondary was asked at all."""

    result: T
    winner: Literal["primary", "secondary"]
    secondary_asked: bool


async def hedged(
    primary: Callable[[], Awaitable[T]],
    secondary: Callable[[], Awaitable[T]] | None,
    *,
    delay: float,
    succeeded: Callable[[T], bool],
) -> HedgeOutcome[T]:
    """Race ``primary`` against a ``secondary`` started after ``delay`` or on its failure.

    The callables must not raise for an ordinary failure (return a failed ``T``); any
    exception propagates after the other request is cancelled.
    """
    first = asyncio.ensure_future(primary())
    if secondary is None:
        return HedgeOutcome(await first, "primary", secondary_asked=False)
    second: asyncio.Future[T] | None = None
    try:
        done, _ = await asyncio.wait({first}, timeout=max(0.0, delay))
        if done and succeeded(first.result()):
            return HedgeOutcome(first.result(), "primary", secondary_asked=False)
        second = asyncio.ensure_future(secondary())
        racing: set[asyncio.Future[T]] = {second} if done else {first, second}
        while racing:
            finished, racing = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
            for future in (first, second):  # primary first when both finish together
                if future in finished and succeeded(future.result()):
                    winner: Literal["primary", "secondary"] = (
                        "primary" if future is first else "secondary"
                    )
                    return HedgeOutcome(future.result(), winner, secondary_asked=True)
        return HedgeOutcome(first.result(), "primary", secondary_asked=True)
    finally:
        requests: tuple[asyncio.Future[T] | None, ...] = (first, second)
        for request in requests:
            if request is not None and not request.done():
                request.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await request
