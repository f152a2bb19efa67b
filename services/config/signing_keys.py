"""Per-identity webhook signing keys: status, creation, rotation, and the deprecated org view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import SIGNING_KEY_PER_IDENTITY, Principal, Scope
from services.common.errors import FailedPrecondition
from services.common.storage.orm import utcnow
from services.config import repository
from services.config.access import check_own_identity, visible
from services.config.identities import find_by_handle
from services.config.models import AgentIdentity, IdentitySigningKey
from services.config.secrets import new_signing_secret

PER_IDENTITY_MESSAGE: Final = (
    "signing keys are per agent identity: with an admin API key use "
    "POST /api/v1/identities/{agent_handle}/signing-key"
)


@dataclass(frozen=True)
class SigningKeyStatus:
    """Whether a key exists and when it was created or last rotated (never the key)."""

    configured: bool
    created_at: datetime | None = None


@dataclass(frozen=True)
class NewSigningKey:
    """A freshly created or rotated key (shown once)."""

    signing_key: str
    created_at: datetime


async def get_status(
    readers: async_sessionmaker[AsyncSession], principal: Principal, agent_handle: str
) -> SigningKeyStatus:
    """The status of one identity's key; a scoped key may ask only about its own."""
    async with readers() as session:
        identity = await _identity(session, principal, agent_handle)
        return _status(await repository.get_signing_key(session, identity.id))


async def rotate(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, agent_handle: str
) -> NewSigningKey:
    """Create the identity's key or replace it; the old key stops signing at once."""
    async with sessions.begin() as session:
        identity = await _identity(session, principal, agent_handle)
        return await _rotate(session, identity.id)


async def get_organization_status(
    readers: async_sessionmaker[AsyncSession], principal: Principal
) -> SigningKeyStatus:
    """Deprecated org-level status: a scoped key's own identity, or the account aggregate."""
    async with readers() as session:
        if principal.scope is Scope.IDENTITY and principal.identity_id is not None:
            return _status(await repository.get_signing_key(session, principal.identity_id))
        newest = await repository.newest_signing_key_time(session, principal.account_id)
        return SigningKeyStatus(configured=newest is not None, created_at=newest)


async def rotate_organization(
    sessions: async_sessionmaker[AsyncSession], principal: Principal
) -> NewSigningKey:
    """Deprecated org-level rotation: a scoped key rotates its identity; admin keys may not."""
    if principal.scope is not Scope.IDENTITY or principal.identity_id is None:
        raise FailedPrecondition(PER_IDENTITY_MESSAGE, reason=SIGNING_KEY_PER_IDENTITY)
    async with sessions.begin() as session:
        identity = visible(
            principal, await repository.lock_identity(session, principal.identity_id)
        )
        return await _rotate(session, identity.id)


async def _identity(session: AsyncSession, principal: Principal, handle: str) -> AgentIdentity:
    identity = await find_by_handle(session, handle)
    # Like GetAgentIdentity: a scoped key gets 403 for every handle but its own.
    check_own_identity(principal, identity.id if identity is not None else "")
    return visible(principal, identity)


async def _rotate(session: AsyncSession, identity_id: str) -> NewSigningKey:
    # The identity row lock serializes concurrent first creations (no duplicate insert).
    await repository.lock_identity(session, identity_id)
    secret, now = new_signing_secret(), utcnow()
    row = await repository.get_signing_key(session, identity_id)
    if row is None:
        await repository.add_signing_key(
            session,
            IdentitySigningKey(agent_identity_id=identity_id, secret=secret, created_at=now),
        )
    else:
        row.secret, row.created_at = secret, now
        await session.flush()
    return NewSigningKey(secret, now)


def _status(row: IdentitySigningKey | None) -> SigningKeyStatus:
    if row is None:
        return SigningKeyStatus(configured=False)
    return SigningKeyStatus(configured=True, created_at=row.created_at)
