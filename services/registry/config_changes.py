"""Following the config service's change stream: pushed invalidation of the registry's caches.

One task per registry process reads ``WatchChanges``. Each change drops exactly the
cache entries it makes stale (a call target, every call target, an API key's
authentications); a resync drops everything. While the stream is live the call-target
cache keeps entries for its long pushed lifetime; the moment the stream is lost (error,
end, or no message for :data:`SILENCE_SECONDS`) it falls back to the short TTL, and the
task reconnects with backoff, resuming after the last version it applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

import grpc
from switchboard.config.v1 import config_pb2

from services.common.settings import CHANGE_HEARTBEAT_SECONDS
from services.registry.config_client import ConfigClient
from services.registry.routing.call_targets import CallTargetCache

SILENCE_SECONDS: Final = 3 * CHANGE_HEARTBEAT_SECONDS
"""No message (not even a heartbeat) for this long: the stream is treated as lost."""
RETRY_MIN_SECONDS: Final = 0.2
RETRY_MAX_SECONDS: Final = 5.0

_log = logging.getLogger(__name__)


class ChangeWatcher:
    """Applies config's committed changes to this process's caches."""

    def __init__(
        self,
        config: ConfigClient,
        call_targets: CallTargetCache,
        *,
        silence_seconds: float = SILENCE_SECONDS,
    ) -> None:
        self._config = config
        self._targets = call_targets
        self._silence = silence_seconds
        self._stream_id = ""
        self._version = 0
        self._task: asyncio.Task[None] | None = None
        self.live = False
        """Whether the stream is connected and every change so far was applied."""
        self.applied = 0
        """Changes applied so far (markers included), for tests and diagnostics."""

    def start(self) -> None:
        """Start following the stream in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop following it (server shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._set_live(False)

    async def _run(self) -> None:
        backoff = RETRY_MIN_SECONDS
        while True:
            try:
                async for change in self._follow():
                    self._apply(change)
                    backoff = RETRY_MIN_SECONDS
            except (grpc.aio.AioRpcError, TimeoutError) as error:
                reason = error.code().name if isinstance(error, grpc.aio.AioRpcError) else "silent"
                _log.info("config change stream lost (%s); call targets fall back to TTL", reason)
            self._set_live(False)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_SECONDS)

    async def _follow(self) -> Any:
        call = self._config.watch_changes(self._stream_id, self._version)
        try:
            while True:
                change = await asyncio.wait_for(call.read(), timeout=self._silence)
                if change is grpc.aio.EOF:
                    return
                yield change
        finally:
            call.cancel()

    def _apply(self, change: config_pb2.ConfigChange) -> None:
        kind = change.kind
        if kind == config_pb2.CONFIG_CHANGE_KIND_RESYNC:
            self._targets.clear()
            self._config.forget_all_keys()
        elif kind == config_pb2.CONFIG_CHANGE_KIND_CALL_TARGET:
            self._targets.invalidate(change.id)
        elif kind == config_pb2.CONFIG_CHANGE_KIND_ACCOUNT:
            self._targets.clear()
        elif kind == config_pb2.CONFIG_CHANGE_KIND_API_KEY:
            self._config.forget_key(change.id)
        self._stream_id, self._version = change.stream_id, change.version
        self.applied += 1
        self._set_live(True)

    def _set_live(self, live: bool) -> None:
        self.live = live
        self._targets.set_live(live)
