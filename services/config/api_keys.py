"""Minting, listing and revoking API keys through the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.errors import NotFound, PermissionDenied
from services.common.field_limits import DESCRIPTION_MAX_LENGTH, LABEL_MAX_LENGTH
from services.common.ids import parse_uuid
from services.common.storage.pagination import PageRequest, row_cursor
from services.config import repository
from services.config.access import owned_identity
from services.config.models import ApiKey
from services.config.secrets import new_api_key_secret
from services.config.validation import check_length

API_KEY_NOT_FOUND = "API key not found"
API_CREATOR_TYPE = "agent"
"""Keys minted through the API are created programmatically, by another key."""
ADMIN_KEY_REFUSED: Final = (
    "an API key may only mint identity-scoped keys (scoped_identity_id is required); "
    "an operator mints admin keys with `switchboard keys create --admin`"
)


@dataclass(frozen=True)
class MintedApiKey:
    """A new key's record and its secret (shown once)."""

    secret: str
    record: ApiKey


@dataclass(frozen=True)
class ApiKeyPage:
    """One page of a listing and the token of the next (empty when last)."""

    api_keys: Sequence[ApiKey]
    next_page_token: str


async def create_api_key(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    label: str,
    description: str | None,
    scoped_identity_id: str | None,
) -> MintedApiKey:
    """Mint a key scoped to an identity of the account (admin keys only).

    As in Inkbox, an API key may not mint another admin key (PermissionDenied).
    """
    principal.require_admin()
    label = check_length(label.strip(), "label", minimum=1, maximum=LABEL_MAX_LENGTH)
    if description is not None:
        check_length(description, "description", maximum=DESCRIPTION_MAX_LENGTH)
    if not scoped_identity_id:
        raise PermissionDenied(ADMIN_KEY_REFUSED, reason="ADMIN_KEY_MINTING_REFUSED")
    identity_id = parse_uuid(scoped_identity_id, "scoped_identity_id")
    minted = new_api_key_secret()
    async with sessions.begin() as session:
        await owned_identity(session, principal, identity_id, lock=True)
        record = await repository.add_api_key(
            session,
            principal.account_id,
            minted,
            label=label,
            description=description,
            scoped_identity_id=identity_id,
            created_by=principal.api_key_id,
            creator_type=API_CREATOR_TYPE,
        )
    return MintedApiKey(minted.secret, record)


async def list_api_keys(
    readers: async_sessionmaker[AsyncSession],
    principal: Principal,
    requested_page_size: int,
    page_token: str,
) -> ApiKeyPage:
    """A page of the account's keys, active and revoked, newest first (admin keys only)."""
    principal.require_admin()
    paging = PageRequest.parse("ListApiKeys", [], requested_page_size, page_token)
    async with readers() as session:
        rows = await repository.list_api_keys(session, principal.account_id, paging)
    page = paging.page(rows, row_cursor)
    return ApiKeyPage(page.items, page.next_page_token)


async def revoke_api_key(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, api_key_id: str
) -> ApiKey:
    """Revoke one of the account's keys (admin keys only; idempotent)."""
    principal.require_admin()
    key_id = parse_uuid(api_key_id, "api_key_id")
    async with sessions.begin() as session:
        key = await repository.get_api_key(session, key_id)
        if key is None or key.account_id != principal.account_id:
            raise NotFound(API_KEY_NOT_FOUND)
        return await repository.mark_api_key_revoked(session, key)


async def get_caller_key(readers: async_sessionmaker[AsyncSession], principal: Principal) -> ApiKey:
    """The record of the key the principal authenticated with (any key may ask)."""
    async with readers() as session:
        key = await repository.get_api_key(session, principal.api_key_id)
    if key is None or key.account_id != principal.account_id:
        raise NotFound(API_KEY_NOT_FOUND)
    return key
