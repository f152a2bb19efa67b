"""Creating, reading, listing, updating and deleting agent identities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.capacity import check_max_concurrent_calls
from services.common.errors import AlreadyExists, InvalidArgument
from services.common.field_limits import DESCRIPTION_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH
from services.common.storage.pagination import PageRequest, row_cursor
from services.config import repository
from services.config.access import check_own_identity, visible
from services.config.models import AgentIdentity, IdentityBusinessHours
from services.config.overflow import Step, checked_chain
from services.config.validation import check_length, normalize_handle

CLEARED_DISPLAY_NAME: Final = ""
"""What a cleared display name is stored as (the API shows null; see models.AgentIdentity)."""
HANDLE_TAKEN = "agent_handle already taken"
UPDATABLE_FIELDS: Final = frozenset(
    {"agent_handle", "display_name", "description", "max_concurrent_calls", "overflow_chain"}
)


@dataclass(frozen=True)
class IdentityView:
    """An identity with the status of its webhook signing key (the Inkbox summary)."""

    identity: AgentIdentity
    signing_key_created_at: datetime | None = None
    business_hours: IdentityBusinessHours | None = None


@dataclass(frozen=True)
class IdentityPage:
    """One page of a listing and the token of the next (empty when last)."""

    identities: Sequence[IdentityView]
    next_page_token: str


async def create_identity(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    agent_handle: str,
    display_name: str | None,
    description: str | None,
    *,
    max_concurrent_calls: int | None = None,
    overflow_chain: Sequence[Step] = (),
) -> IdentityView:
    """A new identity in the principal's account (admin keys only)."""
    principal.require_admin()
    handle = normalize_handle(agent_handle)
    identity = AgentIdentity(
        account_id=principal.account_id,
        agent_handle=handle,
        display_name=_display_name(display_name, handle),
        description=_description(description),
        max_concurrent_calls=check_max_concurrent_calls(max_concurrent_calls),
    )
    try:
        async with sessions.begin() as session:
            identity.overflow_chain = await checked_chain(
                session, principal.account_id, None, overflow_chain
            )
            return IdentityView(await repository.add_identity(session, identity))
    except IntegrityError:
        raise AlreadyExists(HANDLE_TAKEN, reason="AGENT_HANDLE_TAKEN") from None


async def get_identity(
    readers: async_sessionmaker[AsyncSession], principal: Principal, agent_handle: str
) -> IdentityView:
    """The account's identity with this handle; a scoped key may read only its own."""
    async with readers() as session:
        identity = await find_by_handle(session, agent_handle)
        # A scoped key gets 403 for every handle but its own, so it cannot probe for handles.
        check_own_identity(principal, identity.id if identity is not None else "")
        return await _view(session, visible(principal, identity))


async def list_identities(
    readers: async_sessionmaker[AsyncSession],
    principal: Principal,
    requested_page_size: int,
    page_token: str,
) -> IdentityPage:
    """A page of the account's identities, newest first (admin keys only)."""
    principal.require_admin()
    paging = PageRequest.parse("ListAgentIdentities", [], requested_page_size, page_token)
    async with readers() as session:
        rows = await repository.list_identities(session, principal.account_id, paging)
        ids = [row.id for row in rows]
        keys = await repository.signing_key_times(session, ids)
        hours = await repository.business_hours_of(session, ids)
    page = paging.page(rows, row_cursor)
    views = [IdentityView(row, keys.get(row.id), hours.get(row.id)) for row in page.items]
    return IdentityPage(views, page.next_page_token)


async def update_identity(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    agent_handle: str,
    changes: dict[str, Any],
) -> IdentityView:
    """Apply ``changes`` (field -> new value, None clears) to an identity (admin keys only).

    ``max_concurrent_calls`` is an int (None: unlimited), ``overflow_chain`` a list of steps
    (services/config/overflow.py; None or empty: no chain).
    """
    principal.require_admin()
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidArgument.for_field(
            "update_mask", f"cannot update {', '.join(sorted(unknown))}"
        )
    try:
        async with sessions.begin() as session:
            identity = await _by_handle(session, principal, agent_handle)
            values: dict[str, Any] = {}
            if "agent_handle" in changes:
                new_handle = changes["agent_handle"]
                if new_handle is None:
                    raise InvalidArgument.for_field("agent_handle", "agent_handle cannot be null")
                values["agent_handle"] = normalize_handle(new_handle)
            if "display_name" in changes:
                values["display_name"] = _new_display_name(changes["display_name"])
            if "description" in changes:
                values["description"] = _description(changes["description"])
            if "max_concurrent_calls" in changes:
                values["max_concurrent_calls"] = check_max_concurrent_calls(
                    changes["max_concurrent_calls"]
                )
            if "overflow_chain" in changes:
                values["overflow_chain"] = await checked_chain(
                    session, identity.account_id, identity.id, changes["overflow_chain"] or ()
                )
            return await _view(session, await repository.update_identity(session, identity, values))
    except IntegrityError:
        raise AlreadyExists(HANDLE_TAKEN, reason="AGENT_HANDLE_TAKEN") from None


async def delete_identity(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, agent_handle: str
) -> None:
    """Delete an identity with its call action and scoped keys (admin keys only)."""
    principal.require_admin()
    async with sessions.begin() as session:
        identity = await _by_handle(session, principal, agent_handle)
        await repository.delete_identity(session, identity.id)


async def find_by_handle(session: AsyncSession, raw: str) -> AgentIdentity | None:
    """The identity with this handle in any account; None also for a malformed handle."""
    try:
        handle = normalize_handle(raw)
    except InvalidArgument:
        return None
    return await repository.get_identity_by_handle(session, handle)


async def _by_handle(session: AsyncSession, principal: Principal, raw: str) -> AgentIdentity:
    return visible(principal, await find_by_handle(session, raw))


async def _view(session: AsyncSession, identity: AgentIdentity) -> IdentityView:
    key = await repository.get_signing_key(session, identity.id)
    hours = await repository.get_business_hours(session, identity.id)
    return IdentityView(identity, key.created_at if key is not None else None, hours)


def _display_name(value: str | None, handle: str) -> str:
    if value is None or not value.strip():
        return handle
    return check_length(value.strip(), "display_name", maximum=DISPLAY_NAME_MAX_LENGTH)


def _new_display_name(value: str | None) -> str:
    """An update's display name; null or blank clears it (Inkbox: ``None`` clears)."""
    if value is None or not value.strip():
        return CLEARED_DISPLAY_NAME
    return check_length(value.strip(), "display_name", maximum=DISPLAY_NAME_MAX_LENGTH)


def _description(value: str | None) -> str | None:
    if value is None:
        return None
    return check_length(value, "description", maximum=DESCRIPTION_MAX_LENGTH)
