"""Per-process cache of identities' call targets, with staleness bounded by a TTL setting."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from time import monotonic
from typing import Final, TypeAlias

from switchboard.config.v1 import config_pb2

from services.registry.config_client import ConfigClient

_MAX_ENTRIES: Final = 10_000
REFRESH_AHEAD_FRACTION: Final = 0.25
"""A hit in the last quarter of an entry's life refreshes it in the background."""

CallTarget: TypeAlias = config_pb2.CallTarget | None


class CallTargetCache:
    """``ResolveCallTarget`` answers reused for at most ``ttl`` seconds (0: never cached).

    A change to an identity, its call action or its signing key therefore
    reaches every registry replica within ``ttl`` (``call_target_cache_ttl_seconds``,
    default 5 s, at most 5 s): an entry's life is counted from the moment its request was
    sent, and nothing older is ever served. Errors (config unavailable) are never cached;
    "no such identity" is, like any answer.

    Concurrent misses on one identity share one request (single flight), and a hit in the
    last quarter of an entry's life starts a background refresh, so identities in steady
    use are served from memory without waiting for config.
    """

    def __init__(self, config: ConfigClient, ttl: float) -> None:
        self._config = config
        self._ttl = ttl
        self._refresh_window = ttl * REFRESH_AHEAD_FRACTION
        self._entries: OrderedDict[str, tuple[float, CallTarget]] = OrderedDict()
        self._flights: dict[str, asyncio.Task[CallTarget]] = {}

    async def get(self, identity_id: str) -> CallTarget:
        """The identity's call target, or None when the identity does not exist."""
        if self._ttl <= 0:
            return await self._config.resolve_call_target(identity_id)
        cached = self._entries.get(identity_id)
        if cached is not None:
            expires, target = cached
            remaining = expires - monotonic()
            if remaining > 0:
                if remaining < self._refresh_window and identity_id not in self._flights:
                    self._fly(identity_id)
                return target
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
        self._entries[identity_id] = (asked + self._ttl, target)
        self._entries.move_to_end(identity_id)
        if len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)
        return target

    def _landed(self, identity_id: str, flight: asyncio.Task[CallTarget]) -> None:
        if self._flights.get(identity_id) is flight:
            del self._flights[identity_id]
        if not flight.cancelled():
            # Retrieved so that a failed background refresh is not reported as unhandled;
            # waiters (if any) get the error themselves.
            flight.exception()
