"""The account's webhook signing secret: status, creation and rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.errors import NotFound
from services.common.orm import utcnow
from services.config import repository
from services.config.models import WebhookSigningSecret
from services.config.secrets import new_signing_secret

DISPLAY_PREFIX_LENGTH: Final = 10


@dataclass(frozen=True)
class SigningSecretStatus:
    """Whether the account has a secret, and how to recognise it (never the secret)."""

    configured: bool
    display_prefix: str | None = None
    created_at: datetime | None = None
    rotated_at: datetime | None = None


@dataclass(frozen=True)
class RotatedSecret:
    """The new secret (shown once) and the status after rotation."""

    secret: str
    status: SigningSecretStatus


async def get_status(
    readers: async_sessionmaker[AsyncSession], principal: Principal
) -> SigningSecretStatus:
    """The status of the account's signing secret (admin keys only)."""
    principal.require_admin()
    async with readers() as session:
        return _status(await repository.get_signing_secret(session, principal.account_id))


async def rotate(sessions: async_sessionmaker[AsyncSession], principal: Principal) -> RotatedSecret:
    """Create the account's secret, or replace it; the old one stops being used at once."""
    principal.require_admin()
    secret = new_signing_secret()
    now = utcnow()
    async with sessions.begin() as session:
        # The account row lock serializes concurrent first creations (no duplicate insert).
        if await repository.lock_account(session, principal.account_id) is None:
            raise NotFound("account not found")
        row = await repository.get_signing_secret_row(session, principal.account_id)
        if row is None:
            row = await repository.add_signing_secret(
                session,
                WebhookSigningSecret(
                    account_id=principal.account_id,
                    secret=secret,
                    active=True,
                    created_at=now,
                    rotated_at=now,
                ),
            )
        else:
            row.secret, row.active, row.rotated_at = secret, True, now
            await session.flush()
        return RotatedSecret(secret, _status(row))


def _status(row: WebhookSigningSecret | None) -> SigningSecretStatus:
    if row is None or not row.active:
        return SigningSecretStatus(configured=False)
    return SigningSecretStatus(
        configured=True,
        display_prefix=row.secret[:DISPLAY_PREFIX_LENGTH],
        created_at=row.created_at,
        rotated_at=row.rotated_at or row.created_at,
    )
