"""The config process's change log: what committed writes made stale, streamed to registries.

Every read-write session of the config process is a :class:`TrackedSession`. Its
flushes are inspected for the rows a registry caches (an identity, its call action,
its signing key, its business hours, a revoked API key); after the commit those changes are
appended to the process's :class:`ChangeLog`, in commit order, and every open
``WatchChanges`` stream is woken. A rolled-back transaction publishes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any, Final

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from switchboard.config.v1 import config_pb2

from services.common.settings import CHANGE_HEARTBEAT_SECONDS
from services.config.models import (
    AgentIdentity,
    ApiKey,
    IdentityBusinessHours,
    IdentitySigningKey,
    IncomingCallAction,
)

CALL_TARGET: Final = config_pb2.CONFIG_CHANGE_KIND_CALL_TARGET
ACCOUNT: Final = config_pb2.CONFIG_CHANGE_KIND_ACCOUNT
API_KEY: Final = config_pb2.CONFIG_CHANGE_KIND_API_KEY
RESYNC: Final = config_pb2.CONFIG_CHANGE_KIND_RESYNC
HEARTBEAT: Final = config_pb2.CONFIG_CHANGE_KIND_HEARTBEAT

LOG_CAPACITY: Final = 10_000
"""Changes kept for streams that resume; older positions get a resync."""
HEARTBEAT_SECONDS: Final = CHANGE_HEARTBEAT_SECONDS
_INFO_KEY: Final = "switchboard.change_log"
_PENDING_KEY: Final = "switchboard.pending_changes"
_REVOKING_FIELDS: Final = ("revoked_at", "status", "expires_at")

Change = tuple[int, str]
"""(kind, id) of one change."""


class ChangeLog:
    """The last :data:`LOG_CAPACITY` changes of this process, and their live watchers."""

    def __init__(
        self, capacity: int = LOG_CAPACITY, heartbeat_seconds: float = HEARTBEAT_SECONDS
    ) -> None:
        self.stream_id = uuid.uuid4().hex
        self._version = 0
        self._recent: deque[tuple[int, Change]] = deque(maxlen=capacity)
        self._heartbeat = heartbeat_seconds
        self._wakeup = asyncio.Event()

    @property
    def version(self) -> int:
        """Position of the latest change (0 before the first)."""
        return self._version

    def publish(self, changes: Iterable[Change]) -> None:
        """Append committed changes (duplicates in one batch collapse) and wake every watcher."""
        added = False
        for change in dict.fromkeys(changes):
            self._version += 1
            self._recent.append((self._version, change))
            added = True
        if added:
            self._wakeup.set()
            self._wakeup = asyncio.Event()

    def _after(self, version: int) -> list[tuple[int, Change]] | None:
        """Changes after ``version``, or None when some of them are no longer kept."""
        if version > self._version:
            return None
        if version == self._version:
            return []
        oldest = self._recent[0][0] if self._recent else self._version + 1
        if version + 1 < oldest:
            return None
        return [entry for entry in self._recent if entry[0] > version]

    async def watch(self, stream_id: str, after_version: int) -> AsyncIterator[Any]:
        """``ConfigChange`` messages: resync or heartbeat first, then every change, forever."""
        resumable = stream_id == self.stream_id
        backlog = self._after(after_version) if resumable else None
        # Positions are taken before each yield: changes published while the consumer
        # holds a message must still follow it.
        if backlog is None:
            position = self._version
            yield self._marker(RESYNC)
        else:
            yield self._marker(HEARTBEAT)
            for version, (kind, target) in backlog:
                yield self._message(version, kind, target)
            position = backlog[-1][0] if backlog else after_version
        while True:
            wakeup = self._wakeup
            if position == self._version:
                try:
                    await asyncio.wait_for(wakeup.wait(), timeout=self._heartbeat)
                except TimeoutError:
                    yield self._marker(HEARTBEAT)
                    continue
            pending = self._after(position)
            if pending is None:  # this watcher fell too far behind
                position = self._version
                yield self._marker(RESYNC)
                continue
            for version, (kind, target) in pending:
                yield self._message(version, kind, target)
                position = version

    def _marker(self, kind: int) -> Any:
        return self._message(self._version, kind, "")

    def _message(self, version: int, kind: int, target: str) -> Any:
        return config_pb2.ConfigChange(
            stream_id=self.stream_id,
            version=version,
            kind=kind,  # type: ignore[arg-type]
            id=target,
        )


class TrackedSession(Session):
    """The config process's read-write session: its commits feed the change log."""


def session_options(log: ChangeLog) -> dict[str, Any]:
    """``async_sessionmaker`` options that make its sessions report to ``log``."""
    return {"sync_session_class": TrackedSession, "info": {_INFO_KEY: log}}


def changes_in_flush(session: Session) -> list[Change]:
    """What the flush about to be written changes, for a registry's caches."""
    found: list[Change] = []
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, IncomingCallAction):
            found.append((CALL_TARGET, instance.agent_identity_id))
        elif isinstance(instance, AgentIdentity):
            if instance not in session.new:
                found.append((CALL_TARGET, instance.id))
        elif isinstance(instance, IdentitySigningKey | IdentityBusinessHours):
            found.append((CALL_TARGET, instance.agent_identity_id))
        elif isinstance(instance, ApiKey) and instance not in session.new:
            state = inspect(instance)
            if instance in session.deleted or any(
                state.attrs[name].history.has_changes() for name in _REVOKING_FIELDS
            ):
                found.append((API_KEY, instance.id))
    return found


def note_change(session: AsyncSession, kind: int, target: str) -> None:
    """Record a change the flush hook cannot see (a bulk UPDATE/DELETE statement)."""
    info = session.sync_session.info
    if _INFO_KEY in info:
        info.setdefault(_PENDING_KEY, []).append((kind, target))


@event.listens_for(TrackedSession, "after_flush")
def _collect(session: Session, flush_context: Any) -> None:
    if _INFO_KEY in session.info:
        session.info.setdefault(_PENDING_KEY, []).extend(changes_in_flush(session))


@event.listens_for(TrackedSession, "after_commit")
def _publish(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    log: ChangeLog | None = session.info.get(_INFO_KEY)
    if pending and log is not None:
        log.publish(pending)


@event.listens_for(TrackedSession, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
