"""Turning a presented API key into a :class:`Principal` (the config service is the authority)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal, Scope, credential_from_metadata
from services.common.errors import Unauthenticated
from services.common.grpc_server import ServicerContext
from services.common.orm import utcnow
from services.config import repository
from services.config.secrets import hash_api_key

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is refreshed at most this often per key, to keep reads mostly read-only."""


class Authenticator:
    """Checks keys with a read-only transaction; writes only to refresh ``last_used_at``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
    ) -> None:
        self._sessions = sessions
        self._readers = readers

    async def authenticate(self, credential: str) -> Principal:
        """The principal of a live key; Unauthenticated for unknown, revoked or expired keys."""
        now = utcnow()
        async with self._readers() as session:
            key = await repository.find_api_key_by_hash(session, hash_api_key(credential))
        if key is None or key.status != "active":
            raise Unauthenticated("invalid or revoked API key")
        if key.expires_at is not None and key.expires_at <= now:
            raise Unauthenticated("API key has expired")
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            async with self._sessions.begin() as session:
                await repository.touch_api_key(session, key.id, now)
        return Principal(
            account_id=key.account_id,
            scope=Scope.IDENTITY if key.scoped_identity_id else Scope.ADMIN,
            api_key_id=key.id,
            identity_id=key.scoped_identity_id,
        )

    async def authenticate_call(self, context: ServicerContext) -> Principal:
        """The principal of the credential in a gRPC call's metadata."""
        return await self.authenticate(credential_from_metadata(context.invocation_metadata()))
