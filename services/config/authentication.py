"""Turning a presented API key into a :class:`Principal` (the config service is the authority)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal, Scope, credential_from_metadata
from services.common.errors import Unauthenticated
from services.common.rpc.server import ServicerContext
from services.common.storage.orm import utcnow
from services.common.storage.point_reads import PointReader
from services.config import repository
from services.config.secrets import hash_api_key

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is refreshed at most this often per key, to keep reads mostly read-only."""


class Authenticator:
    """Checks keys with one point read; writes only to refresh ``last_used_at``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], reader: PointReader) -> None:
        self._sessions = sessions
        self._by_hash = reader.query(repository.API_KEY_BY_HASH)

    async def authenticate(self, credential: str) -> Principal:
        """The principal of a live key; Unauthenticated for unknown, revoked or expired keys."""
        now = utcnow()
        row = await self._by_hash.first({"secret_hash": hash_api_key(credential)})
        if row is None:
            raise Unauthenticated("invalid or revoked API key")
        key_id, account_id, scoped_identity_id, status, expires_at, last_used_at = row
        if status != "active":
            raise Unauthenticated("invalid or revoked API key")
        if expires_at is not None and expires_at <= now:
            raise Unauthenticated("API key has expired")
        if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
            async with self._sessions.begin() as session:
                await repository.touch_api_key(session, key_id, now)
        return Principal(
            account_id=account_id,
            scope=Scope.IDENTITY if scoped_identity_id else Scope.ADMIN,
            api_key_id=key_id,
            identity_id=scoped_identity_id,
        )

    async def authenticate_call(self, context: ServicerContext) -> Principal:
        """The principal of the credential in a gRPC call's metadata."""
        return await self.authenticate(credential_from_metadata(context.invocation_metadata()))
