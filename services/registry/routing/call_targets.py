"""Per-process cache of identities' call targets, with staleness bounded by a TTL setting."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final

from switchboard.config.v1 import config_pb2

from services.registry.config_client import ConfigClient

_MAX_ENTRIES: Final = 10_000


class CallTargetCache:
    """``ResolveCallTarget`` answers reused for at most ``ttl`` seconds (0: never cached).

    A change to an identity, its call action or the account's signing secret therefore
    reaches every registry replica within ``ttl`` (``call_target_cache_ttl_seconds``, at most
    5 s). Errors (config unavailable) are never cached; "no such identity" is, like any answer.
    """

    def __init__(self, config: ConfigClient, ttl: float) -> None:
        self._config = config
        self._ttl = ttl
        self._entries: OrderedDict[str, tuple[float, config_pb2.CallTarget | None]] = OrderedDict()

    async def get(self, identity_id: str) -> config_pb2.CallTarget | None:
        """The identity's call target, or None when the identity does not exist."""
        if self._ttl <= 0:
            return await self._config.resolve_call_target(identity_id)
        now = time.monotonic()
        cached = self._entries.get(identity_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        target = await self._config.resolve_call_target(identity_id)
        self._entries[identity_id] = (now + self._ttl, target)
        self._entries.move_to_end(identity_id)
        if len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)
        return target
