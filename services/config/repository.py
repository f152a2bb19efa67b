"""Queries of the config database; functions take a session and never commit."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.orm import utcnow
from services.config.models import Account, ApiKey


async def add_account(session: AsyncSession, name: str) -> Account:
    """Insert an account."""
    account = Account(name=name)
    session.add(account)
    await session.flush()
    return account


async def add_api_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Insert an API key record."""
    session.add(key)
    await session.flush()
    return key


async def find_api_key_by_hash(session: AsyncSession, secret_hash: str) -> ApiKey | None:
    """The key whose secret hashes to ``secret_hash``, whatever its status."""
    result = await session.execute(select(ApiKey).where(ApiKey.secret_hash == secret_hash))
    return result.scalar_one_or_none()


async def get_api_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    """The key with id ``key_id``."""
    return await session.get(ApiKey, key_id)


async def mark_api_key_revoked(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Revoke ``key`` (idempotent: an already revoked key keeps its revocation time)."""
    if key.status != "revoked":
        now = utcnow()
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(status="revoked", revoked_at=now, updated_at=now)
        )
        await session.refresh(key)
    return key
