"""Per-process cache of identities' call targets: pushed invalidations, bounded by TTLs."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from time import monotonic
from typing import Final, TypeAlias

from services.common.observability import metrics
from services.registry import call_target
from services.registry.config_client import ConfigClient

_MAX_ENTRIES: Final = 10_000
REFRESH_AHEAD_FRACTION: Final = 0.25
"""A hit in the last quarter of an entry's life refreshes it in the background."""

CallTarget: TypeAlias = call_target.CallTarget | None


class CallTargetCache:
    """``ResolveCallTarget`` answers reused for a bounded time (0: never cached).

    Two bounds: ``ttl`` (``call_target_cache_ttl_seconds``, at most 5 s) whenever the
    config change stream is down, and ``pushed_ttl`` while it is live
    (:meth:`set_live`): then every committed change invalidates the entries it makes
    stale within milliseconds (:meth:`invalidate`, :meth:`clear`), and the long
    lifetime only covers changes config could not announce. An entry's age is counted
    from the moment its request was sent, and nothing older than the bound in force is
    ever served: losing the stream falls back to ``ttl`` at once. Errors (config
    unavailable) are never cached; "no such identity" is, like any answer.

    Concurrent misses on one identity share one request (single flight), and a hit in the
    last quarter of an entry's life starts a background refresh, so identities in steady
    use are served from memory without waiting for config. A request in flight when its
    identity is invalidated still answers its waiters but is not kept.
    """

    def __init__(self, config: ConfigClient, ttl: float, pushed_ttl: float = 0.0) -> None:
        self._config = config
        self._ttl = ttl
        self._pushed_ttl = max(ttl, pushed_ttl)
        self._live = False
        self._entries: OrderedDict[str, tuple[float, CallTarget]] = OrderedDict()
        self._flights: dict[str, asyncio.Task[CallTarget]] = {}
        self._stale_flights: set[str] = set()

    @property
    def lifetime(self) -> float:
        """The bound in force: ``pushed_ttl`` while the change stream is live, else ``ttl``."""
        return self._pushed_ttl if self._live else self._ttl

    def set_live(self, live: bool) -> None:
        """Whether the config change stream is connected and up to date."""
        self._live = live

    def invalidate(self, identity_id: str) -> None:
        """Forget one identity's entry (its call target changed)."""
        self._entries.pop(identity_id, None)
        if identity_id in self._flights:
            self._stale_flights.add(identity_id)

    def clear(self) -> None:
        """Forget every entry (a change that touches many, or a resync)."""
        self._entries.clear()
        self._stale_flights.update(self._flights)

    async def get(self, identity_id: str) -> CallTarget:
        """The identity's call target, or None when the identity does not exist."""
        if self._ttl <= 0:
            metrics.CALL_TARGET_CACHE_MISSES.inc()
            return await self._config.resolve_call_target(identity_id)
        cached = self._entries.get(identity_id)
        if cached is not None:
            asked, target = cached
            lifetime = self.lifetime
            remaining = asked + lifetime - monotonic()
            if remaining > 0:
                metrics.CALL_TARGET_CACHE_HITS.inc()
                if (
                    remaining < lifetime * REFRESH_AHEAD_FRACTION
                    and identity_id not in self._flights
                ):
                    metrics.CALL_TARGET_CACHE_REFRESHES.inc()
                    self._fly(identity_id)
                return target
        metrics.CALL_TARGET_CACHE_MISSES.inc()
        flight = self._flights.get(identity_id) or self._fly(identity_id)
        # Shielded: a cancelled caller must not cancel the request others are waiting on.
        return await asyncio.shield(flight)

    def _fly(self, identity_id: str) -> asyncio.Task[CallTarget]:
        flight = asyncio.ensure_future(self._fetch(identity_id))
        self._flights[identity_id] = flight
        flight.add_done_callback(lambda done: self._landed(identity_id, done))
        return flight

    async def _fetch(self, identity_id: str) -> CallTarget:
        asked = monotonic()
        target = await self._config.resolve_call_target(identity_id)
        if identity_id in self._stale_flights:
            return target
        self._entries[identity_id] = (asked, target)
        self._entries.move_to_end(identity_id)
        if len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)
        return target

    def _landed(self, identity_id: str, flight: asyncio.Task[CallTarget]) -> None:
        if self._flights.get(identity_id) is flight:
            del self._flights[identity_id]
            self._stale_flights.discard(identity_id)
        if not flight.cancelled():
            # Retrieved so that a failed background refresh is not reported as unhandled;
            # waiters (if any) get the error themselves.
            flight.exception()
