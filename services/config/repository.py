"""Queries of the config database; functions take a session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.orm import utcnow
from services.config.models import (
    Account,
    AgentIdentity,
    ApiKey,
    IncomingCallAction,
    WebhookSigningSecret,
)


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


async def touch_api_key(session: AsyncSession, key_id: str, when: datetime) -> None:
    """Record that a key was used at ``when``."""
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))


async def get_identities(
    session: AsyncSession, account_id: str, ids: Sequence[str]
) -> Sequence[AgentIdentity]:
    """The account's identities among ``ids``."""
    result = await session.execute(
        select(AgentIdentity).where(
            AgentIdentity.account_id == account_id, AgentIdentity.id.in_(ids)
        )
    )
    return result.scalars().all()


async def get_identity(session: AsyncSession, identity_id: str) -> AgentIdentity | None:
    """The identity with id ``identity_id`` in any account."""
    return await session.get(AgentIdentity, identity_id)


async def get_call_action(session: AsyncSession, identity_id: str) -> IncomingCallAction | None:
    """The identity's incoming-call action, if configured."""
    return await session.get(IncomingCallAction, identity_id)


async def get_signing_secret(session: AsyncSession, account_id: str) -> WebhookSigningSecret | None:
    """The account's active webhook signing secret, if any."""
    secret = await session.get(WebhookSigningSecret, account_id)
    return secret if secret is not None and secret.active else None
