"""Inbound number mappings: assign, update, detach, delete and list, per account.

Each operation runs in one transaction; calls to the config service (assistant
checks, names) happen outside it so no database lock is held across an RPC.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal, Scope
from services.common.capacity import check_max_concurrent_calls
from services.common.errors import FieldViolation, InvalidArgument
from services.common.ids import parse_uuid
from services.common.phone import (
    SERVICE_DEFAULT_REGIONS,
    InvalidPhoneNumber,
    canonical_service,
    normalize_phone_number,
    supported_service,
)
from services.common.storage.orm import utcnow
from services.common.storage.pagination import Cursor, Page, PageRequest
from services.registry import repository
from services.registry.config_client import ConfigClient
from services.registry.contact_rule_values import FILTER_MODES, checked_choice
from services.registry.models import InboundNumber
from services.registry.resource_ids import (
    assistant_not_found,
    mapping_not_found,
    referenced_id,
    strategy_not_found,
)

ASSISTANT_ID = "assistant_id"
STRATEGY_ID = "inbound_context_strategy_id"
FILTER_MODE = "filter_mode"
MAX_CONCURRENT_CALLS = "max_concurrent_calls"
UPDATABLE_LINKS = frozenset({ASSISTANT_ID, STRATEGY_ID, FILTER_MODE, MAX_CONCURRENT_CALLS})


@dataclass(frozen=True)
class MappingView:
    """A mapping with the names of what it links to, as shown to its account."""

    mapping: InboundNumber
    strategy_name: str | None = None
    assistant_name: str | None = None


@dataclass(frozen=True)
class AssignCommand:
    """What ``assign`` is asked to map."""

    assistant_id: str
    service: str
    phone_number: str
    inbound_config_type: str = ""
    strategy_id: str | None = None


class InboundNumbers:
    """The mapping operations, on behalf of an authenticated principal."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
        config: ConfigClient,
    ) -> None:
        self._sessions = sessions
        self._readers = readers
        self._config = config

    async def assign(self, principal: Principal, command: AssignCommand) -> MappingView:
        """Create an active mapping; AlreadyExists if the number is active anywhere."""
        service = supported_service(command.service)
        config_type = canonical_service(command.inbound_config_type or service)
        if config_type != service:
            raise InvalidArgument.for_field(
                "inbound_config.type",
                "inbound_config.type must match service",
                reason="INBOUND_CONFIG_TYPE_MISMATCH",
            )
        normalized = _normalized(command.phone_number, service)
        strategy_id = _strategy_reference(command.strategy_id)
        assistant_id, assistant_name = await self._assistant(principal, command.assistant_id)

        now = utcnow()
        async with self._sessions.begin() as session:
            strategy_name = await _linkable_strategy_name(session, principal, strategy_id)
            mapping = await repository.add_mapping(
                session,
                InboundNumber(
                    account_id=principal.account_id,
                    phone_number=command.phone_number,
                    phone_number_normalized=normalized,
                    service=service,
                    inbound_config={"type": config_type, "phone_number": command.phone_number},
                    assistant_id=assistant_id,
                    inbound_context_strategy_id=strategy_id,
                    created_at=now,
                    updated_at=now,
                ),
            )
        return MappingView(mapping, strategy_name, assistant_name)

    async def update(
        self, principal: Principal, inbound_id: str, links: Mapping[str, Any]
    ) -> MappingView:
        """Replace (value) or clear (None) the links named in ``links``; others are kept."""
        unknown = sorted(set(links) - UPDATABLE_LINKS)
        if unknown:
            raise InvalidArgument.for_field(
                "update_mask",
                f"cannot update {', '.join(unknown)}: only assistant_id, "
                "inbound_context_strategy_id, filter_mode and max_concurrent_calls can be updated",
            )
        if not links:
            raise InvalidArgument(
                "At least one of assistant_id or inbound_context_strategy_id is required",
                reason="EMPTY_UPDATE",
            )
        filter_mode: str | None = None
        if FILTER_MODE in links:
            principal.require_admin()
            filter_mode = checked_choice(FILTER_MODE, links[FILTER_MODE] or "", FILTER_MODES)
        if MAX_CONCURRENT_CALLS in links:
            principal.require_admin()
            check_max_concurrent_calls(links[MAX_CONCURRENT_CALLS])
        mapping_id = _mapping_reference(inbound_id)
        assistant_name: str | None = None
        new_assistant = links.get(ASSISTANT_ID)
        if new_assistant is not None:
            new_assistant, assistant_name = await self._assistant(principal, new_assistant)
        new_strategy = _strategy_reference(links.get(STRATEGY_ID))

        async with self._sessions.begin() as session:
            mapping = await _visible_mapping(session, principal, mapping_id)
            if ASSISTANT_ID in links:
                mapping.assistant_id = new_assistant
            if filter_mode is not None:
                mapping.filter_mode = filter_mode
            if MAX_CONCURRENT_CALLS in links:
                mapping.max_concurrent_calls = links[MAX_CONCURRENT_CALLS]
            if STRATEGY_ID in links:
                strategy_name = await _linkable_strategy_name(session, principal, new_strategy)
                mapping.inbound_context_strategy_id = new_strategy
            elif mapping.inbound_context_strategy_id is not None:
                strategy_name = await repository.strategy_name(
                    session, mapping.inbound_context_strategy_id
                )
            else:
                strategy_name = None
            await session.flush()
        view = MappingView(mapping, strategy_name, assistant_name)
        if ASSISTANT_ID not in links:
            [view] = await self._with_assistant_names(principal.account_id, [view])
        return view

    async def get(self, principal: Principal, inbound_id: str) -> MappingView:
        """One active mapping the caller sees, names resolved."""
        mapping_id = _mapping_reference(inbound_id)
        async with self._readers() as session:
            mapping = await repository.get_active_mapping(
                session, principal.account_id, mapping_id, assistant_id=assistant_scope(principal)
            )
            if mapping is None:
                raise mapping_not_found()
            strategy_name = (
                await repository.strategy_name(session, mapping.inbound_context_strategy_id)
                if mapping.inbound_context_strategy_id is not None
                else None
            )
        [view] = await self._with_assistant_names(
            principal.account_id, [MappingView(mapping, strategy_name)]
        )
        return view

    async def detach(self, principal: Principal, inbound_id: str) -> MappingView:
        """Clear both links; the mapping stays active, holding its number."""
        mapping_id = _mapping_reference(inbound_id)
        async with self._sessions.begin() as session:
            mapping = await _visible_mapping(session, principal, mapping_id)
            mapping.assistant_id = None
            mapping.inbound_context_strategy_id = None
            await session.flush()
        return MappingView(mapping)

    async def delete(self, principal: Principal, inbound_id: str) -> str:
        """Soft-delete: inactive, links cleared, number free for reuse at once."""
        mapping_id = _mapping_reference(inbound_id)
        async with self._sessions.begin() as session:
            mapping = await _visible_mapping(session, principal, mapping_id)
            mapping.active = False
            mapping.assistant_id = None
            mapping.inbound_context_strategy_id = None
            mapping.deleted_at = mapping.updated_at = utcnow()
            await session.flush()
        return mapping.id

    async def list_mappings(
        self,
        principal: Principal,
        *,
        page_size: int,
        page_token: str,
        assistant_id: str | None,
    ) -> Page[MappingView]:
        """One page of the caller's active mappings, newest first, names resolved."""
        wanted = parse_uuid(assistant_id, ASSISTANT_ID) if assistant_id is not None else None
        paging = PageRequest.parse("ListInboundNumbers", [wanted], page_size, page_token)
        scope = assistant_scope(principal)
        if scope is not None and wanted not in (None, scope):
            return Page(items=(), next_page_token="")
        async with self._readers() as session:
            rows = await repository.list_mappings(
                session, principal.account_id, assistant_id=wanted or scope, page=paging
            )
        page = paging.page(rows, lambda row: Cursor(row[0].created_at, row[0].id))
        views = [MappingView(mapping, name) for mapping, name in page.items]
        named = await self._with_assistant_names(principal.account_id, views)
        return Page(named, page.next_page_token)

    async def _assistant(self, principal: Principal, assistant_id: str) -> tuple[str, str]:
        """The canonical id and display name of an assistant the caller may link to."""
        canonical = referenced_id(assistant_id, assistant_not_found())
        scope = assistant_scope(principal)
        if scope is not None and canonical != scope:
            raise assistant_not_found()
        found = await self._config.get_identities(principal.account_id, [canonical])
        identity = found.get(canonical)
        if identity is None:
            raise assistant_not_found()
        return canonical, identity.assistant_name

    async def _with_assistant_names(
        self, account_id: str, views: Collection[MappingView]
    ) -> list[MappingView]:
        """``views`` with ``assistant_name`` filled in by one batch lookup."""
        ids = {v.mapping.assistant_id for v in views if v.mapping.assistant_id is not None}
        identities = await self._config.get_identities(account_id, ids) if ids else {}
        return [
            replace(view, assistant_name=identities[assistant].assistant_name)
            if (assistant := view.mapping.assistant_id) in identities
            else view
            for view in views
        ]


def _normalized(phone_number: str, service: str) -> str:
    try:
        return normalize_phone_number(phone_number, SERVICE_DEFAULT_REGIONS[service])
    except InvalidPhoneNumber as error:
        raise InvalidArgument(
            "Invalid inbound phone number",
            violations=[FieldViolation("inbound_config.phone_number", error.message)],
            reason="INVALID_PHONE_NUMBER",
        ) from None


def assistant_scope(principal: Principal) -> str | None:
    """The only assistant an identity-scoped key may see or link ("" sees nothing)."""
    if principal.scope is Scope.IDENTITY:
        return principal.identity_id or ""
    return None


def _mapping_reference(inbound_id: str) -> str:
    return referenced_id(inbound_id, mapping_not_found())


def _strategy_reference(strategy_id: str | None) -> str | None:
    if strategy_id is None:
        return None
    return referenced_id(strategy_id, strategy_not_found())


async def _visible_mapping(
    session: AsyncSession, principal: Principal, mapping_id: str
) -> InboundNumber:
    mapping = await repository.get_active_mapping(
        session,
        principal.account_id,
        mapping_id,
        assistant_id=assistant_scope(principal),
        for_update=True,
    )
    if mapping is None:
        raise mapping_not_found()
    return mapping


async def _linkable_strategy_name(
    session: AsyncSession, principal: Principal, strategy_id: str | None
) -> str | None:
    """The name of the account's strategy ``strategy_id``, row-locked until commit."""
    if strategy_id is None:
        return None
    strategy = await repository.get_strategy(session, principal.account_id, strategy_id, lock=True)
    if strategy is None:
        raise strategy_not_found()
    return strategy.name
