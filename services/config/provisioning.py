"""Provisioning run by the operator (the ``switchboard`` CLI) directly against the config
database: accounts, admin keys, revocation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.errors import InvalidArgument, NotFound
from services.common.field_limits import LABEL_MAX_LENGTH
from services.common.ids import parse_uuid
from services.config import repository
from services.config.models import Account, ApiKey
from services.config.secrets import new_api_key_secret

ACCOUNT_NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class CreatedAccount:
    """A new account and the secret of its first admin key (shown once)."""

    account_id: str
    api_key_id: str
    api_key: str


async def create_account(sessions: async_sessionmaker[AsyncSession], name: str) -> CreatedAccount:
    """Create an account and its first admin API key in one transaction."""
    name = name.strip()
    if not name or len(name) > ACCOUNT_NAME_MAX_LENGTH:
        raise InvalidArgument.for_field(
            "name", f"account name must be 1-{ACCOUNT_NAME_MAX_LENGTH} characters"
        )
    minted = new_api_key_secret()
    async with sessions.begin() as session:
        account = await repository.add_account(session, name)
        key = await repository.add_api_key(
            session,
            account.id,
            minted,
            label="initial admin key",
            created_by="operator",
            creator_type="human",
        )
        return CreatedAccount(account.id, key.id, minted.secret)


@dataclass(frozen=True)
class CreatedKey:
    """A new admin key's record and its secret (shown once)."""

    account_id: str
    api_key_id: str
    api_key: str


async def create_admin_key(
    sessions: async_sessionmaker[AsyncSession], account_id: str, label: str
) -> CreatedKey:
    """Mint an admin key for an existing account (the API refuses to mint admin keys)."""
    account_id = parse_uuid(account_id, "account_id")
    label = label.strip()
    if not label or len(label) > LABEL_MAX_LENGTH:
        raise InvalidArgument.for_field("label", f"label must be 1-{LABEL_MAX_LENGTH} characters")
    minted = new_api_key_secret()
    async with sessions.begin() as session:
        if await session.get(Account, account_id) is None:
            raise NotFound(f"account {account_id} not found")
        key = await repository.add_api_key(
            session, account_id, minted, label=label, created_by="operator", creator_type="human"
        )
        return CreatedKey(account_id, key.id, minted.secret)


async def revoke_key(sessions: async_sessionmaker[AsyncSession], key_id: str) -> ApiKey:
    """Revoke any account's key by id."""
    async with sessions.begin() as session:
        key = await repository.get_api_key(session, key_id)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        return await repository.mark_api_key_revoked(session, key)
