"""Queries of the config database: functions that take a session and never commit, and
the statements the fast read path (``services/common/storage/point_reads.py``) runs without one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.storage.orm import utcnow
from services.common.storage.pagination import PageRequest, newest_first
from services.config.changes import API_KEY, CALL_TARGET, note_change
from services.config.models import (
    Account,
    AgentIdentity,
    ApiKey,
    IdentityBusinessHours,
    IdentitySigningKey,
    IncomingCallAction,
)
from services.config.secrets import NewApiKeySecret


async def add_account(session: AsyncSession, name: str) -> Account:
    """Insert an account."""
    account = Account(name=name)
    session.add(account)
    await session.flush()
    return account


async def add_api_key(
    session: AsyncSession, account_id: str, minted: NewApiKeySecret, **fields: Any
) -> ApiKey:
    """Insert the record of a freshly minted key (only its hash, prefix and last4 are kept)."""
    key = ApiKey(
        account_id=account_id,
        secret_hash=minted.secret_hash,
        display_prefix=minted.display_prefix,
        last4=minted.last4,
        **fields,
    )
    session.add(key)
    await session.flush()
    return key


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
        note_change(session, API_KEY, key.id)
        await session.refresh(key)
    return key


async def touch_api_key(session: AsyncSession, key_id: str, when: datetime) -> None:
    """Record that a key was used at ``when`` (its ``updated_at`` is about changes, not use)."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(last_used_at=when, updated_at=ApiKey.updated_at)
    )


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


async def lock_account(session: AsyncSession, account_id: str) -> Account | None:
    """The account, locked for the rest of the transaction (PostgreSQL; SQLite locks anyway)."""
    result = await session.execute(
        select(Account).where(Account.id == account_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def lock_identity(session: AsyncSession, identity_id: str) -> AgentIdentity | None:
    """The identity, locked for the rest of the transaction (serializes its writers)."""
    result = await session.execute(
        select(AgentIdentity).where(AgentIdentity.id == identity_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def get_identity_by_handle(session: AsyncSession, handle: str) -> AgentIdentity | None:
    """The identity with handle ``handle`` in any account."""
    result = await session.execute(
        select(AgentIdentity).where(AgentIdentity.agent_handle == handle)
    )
    return result.scalar_one_or_none()


async def add_identity(session: AsyncSession, identity: AgentIdentity) -> AgentIdentity:
    """Insert an identity (IntegrityError when its handle is taken)."""
    session.add(identity)
    await session.flush()
    return identity


async def update_identity(
    session: AsyncSession, identity: AgentIdentity, values: dict[str, Any]
) -> AgentIdentity:
    """Write ``values`` to ``identity`` (IntegrityError when a new handle is taken)."""
    for name, value in values.items():
        setattr(identity, name, value)
    await session.flush()
    return identity


async def delete_identity(session: AsyncSession, identity_id: str) -> None:
    """Delete an identity; its call action and scoped keys go with it (FK cascade)."""
    await session.execute(delete(AgentIdentity).where(AgentIdentity.id == identity_id))
    note_change(session, CALL_TARGET, identity_id)


async def list_identities(
    session: AsyncSession, account_id: str, page: PageRequest
) -> Sequence[AgentIdentity]:
    """One page of the account's identities, newest first."""
    query = select(AgentIdentity).where(AgentIdentity.account_id == account_id)
    query = newest_first(query, AgentIdentity.created_at, AgentIdentity.id, page)
    return (await session.execute(query)).scalars().all()


async def save_call_action(
    session: AsyncSession,
    identity_id: str,
    existing: IncomingCallAction | None,
    values: dict[str, Any],
) -> IncomingCallAction:
    """Insert the identity's call action or update ``existing``; bumps ``version`` on change."""
    if existing is None:
        action = IncomingCallAction(agent_identity_id=identity_id, **values)
        session.add(action)
    else:
        action = existing
        changed = {name: value for name, value in values.items() if getattr(action, name) != value}
        for name, value in changed.items():
            setattr(action, name, value)
        if changed:
            action.version += 1
    await session.flush()
    return action


async def list_api_keys(
    session: AsyncSession, account_id: str, page: PageRequest
) -> Sequence[ApiKey]:
    """One page of the account's keys (any status), newest first."""
    query = select(ApiKey).where(ApiKey.account_id == account_id)
    query = newest_first(query, ApiKey.created_at, ApiKey.id, page)
    return (await session.execute(query)).scalars().all()


async def get_signing_key(session: AsyncSession, identity_id: str) -> IdentitySigningKey | None:
    """The identity's webhook signing key, if any."""
    return await session.get(IdentitySigningKey, identity_id)


async def add_signing_key(session: AsyncSession, key: IdentitySigningKey) -> IdentitySigningKey:
    """Insert an identity's signing key."""
    session.add(key)
    await session.flush()
    return key


async def signing_key_times(
    session: AsyncSession, identity_ids: Sequence[str]
) -> dict[str, datetime]:
    """identity id -> when its signing key was created or rotated, for those that have one."""
    if not identity_ids:
        return {}
    result = await session.execute(
        select(IdentitySigningKey.agent_identity_id, IdentitySigningKey.created_at).where(
            IdentitySigningKey.agent_identity_id.in_(identity_ids)
        )
    )
    return {identity_id: created_at for identity_id, created_at in result.all()}


async def newest_signing_key_time(session: AsyncSession, account_id: str) -> datetime | None:
    """When the account's most recently created or rotated identity key was; None if none."""
    result = await session.execute(
        select(func.max(IdentitySigningKey.created_at))
        .join(AgentIdentity, AgentIdentity.id == IdentitySigningKey.agent_identity_id)
        .where(AgentIdentity.account_id == account_id)
    )
    newest: datetime | None = result.scalar_one_or_none()
    return newest


async def get_business_hours(
    session: AsyncSession, identity_id: str
) -> IdentityBusinessHours | None:
    """The identity's business hours, if any."""
    return await session.get(IdentityBusinessHours, identity_id)


async def save_business_hours(
    session: AsyncSession,
    identity_id: str,
    schedule: dict[str, Any],
    outside_action: dict[str, Any],
) -> IdentityBusinessHours:
    """Insert or replace the identity's business hours (the identity row is locked)."""
    row = await session.get(IdentityBusinessHours, identity_id)
    if row is None:
        row = IdentityBusinessHours(
            agent_identity_id=identity_id, schedule=schedule, outside_action=outside_action
        )
        session.add(row)
    else:
        row.schedule, row.outside_action = schedule, outside_action
        row.updated_at = utcnow()
    await session.flush()
    await session.refresh(row)
    return row


async def delete_business_hours(session: AsyncSession, identity_id: str) -> bool:
    """Remove the identity's business hours; False when it had none."""
    row = await session.get(IdentityBusinessHours, identity_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def business_hours_of(
    session: AsyncSession, identity_ids: Sequence[str]
) -> dict[str, IdentityBusinessHours]:
    """identity id -> its business hours, for those of ``identity_ids`` that have some."""
    if not identity_ids:
        return {}
    result = await session.execute(
        select(IdentityBusinessHours).where(
            IdentityBusinessHours.agent_identity_id.in_(identity_ids)
        )
    )
    return {row.agent_identity_id: row for row in result.scalars().all()}


# Point-read statements: run by PointReader, they bind only named parameters.

API_KEY_BY_HASH: Final = select(
    *(
        ApiKey.__table__.c[name]
        for name in (
            "id",
            "account_id",
            "scoped_identity_id",
            "status",
            "expires_at",
            "last_used_at",
        )
    )
).where(ApiKey.secret_hash == bindparam("secret_hash"))
"""Authentication's read: the key with ``secret_hash``, those six columns in that order."""

CALL_TARGET_IDENTITY_COLUMNS: Final = tuple(AgentIdentity.__table__.columns)
CALL_TARGET_ACTION_COLUMNS: Final = tuple(IncomingCallAction.__table__.columns)
CALL_TARGET_BY_IDENTITY: Final = (
    select(
        *CALL_TARGET_IDENTITY_COLUMNS,
        *CALL_TARGET_ACTION_COLUMNS,
        IdentitySigningKey.secret,
        IdentityBusinessHours.schedule,
        IdentityBusinessHours.outside_action,
    )
    .outerjoin(IncomingCallAction, IncomingCallAction.agent_identity_id == AgentIdentity.id)
    .outerjoin(IdentitySigningKey, IdentitySigningKey.agent_identity_id == AgentIdentity.id)
    .outerjoin(IdentityBusinessHours, IdentityBusinessHours.agent_identity_id == AgentIdentity.id)
    .where(AgentIdentity.id == bindparam("identity_id"))
)
"""``ResolveCallTarget``'s read: identity, call action (all NULL when none), signing key and
business hours (schedule, outside-hours action)."""


class IdentityRow(NamedTuple):
    """An identity's columns, read without building an ORM instance (50 of those cost ~1 ms)."""

    id: str
    account_id: str
    agent_handle: str
    display_name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    max_concurrent_calls: int | None
    overflow_chain: list[dict[str, Any]] | None


_IDENTITY_ROW_COLUMNS: Final = tuple(
    AgentIdentity.__table__.c[name] for name in IdentityRow._fields
)


def identities_by_ids(size: int) -> Select[Any]:
    """The identities among ``size`` ids bound as ``id0``..``id<size-1>`` (IdentityRow columns)."""
    # By primary key only (the account is checked on the rows): with the account in the
    # WHERE clause, PostgreSQL scans all the account's identities through its index.
    return select(*_IDENTITY_ROW_COLUMNS).where(
        AgentIdentity.id.in_([bindparam(f"id{index}") for index in range(size)])
    )
