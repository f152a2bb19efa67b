"""Inbound context strategies: create, update (merge), read, list and delete, per account.

Every operation, reads included, needs an admin key: a strategy is shared by all of the
account's mappings and carries the customer's CRM credentials (masked on read, but its
URL and plain headers still describe the customer's systems), so an identity-scoped key
sees none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.errors import InvalidArgument
from services.common.storage.orm import utcnow
from services.common.storage.pagination import Page, PageRequest, row_cursor
from services.registry import repository
from services.registry.models import InboundContextStrategy
from services.registry.resource_ids import referenced_id, strategy_not_found
from services.registry.strategy_config import (
    StrategyPatch,
    WebhookConfig,
    checked_name,
    checked_type,
    merged_config,
    new_config,
)


@dataclass(frozen=True)
class NewStrategy:
    """What ``create`` is asked to store (``timeout_seconds`` None = default)."""

    strategy_name: str
    strategy_type: str
    url: str
    headers: dict[str, str]
    timeout_seconds: float | None = None


class InboundContextStrategies:
    """The strategy operations, on behalf of an authenticated principal."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
        *,
        allow_private_urls: bool,
    ) -> None:
        self._sessions = sessions
        self._readers = readers
        self._allow_private = allow_private_urls

    async def create(self, principal: Principal, new: NewStrategy) -> InboundContextStrategy:
        """Validate and store a strategy."""
        principal.require_admin()
        now = utcnow()
        strategy = InboundContextStrategy(
            account_id=principal.account_id,
            created_at=now,
            updated_at=now,
            name=checked_name(new.strategy_name),
            strategy_type=checked_type(new.strategy_type),
            config=new_config(
                new.url, new.headers, new.timeout_seconds, allow_private=self._allow_private
            ).to_json(),
        )
        async with self._sessions.begin() as session:
            return await repository.add_strategy(session, strategy)

    async def update(
        self, principal: Principal, strategy_id: str, patch: StrategyPatch
    ) -> InboundContextStrategy:
        """Apply ``patch``: name/type replaced, config merged (see :func:`merged_config`)."""
        principal.require_admin()
        if patch == StrategyPatch():
            raise InvalidArgument(
                "At least one of strategy_name, strategy_type or strategy_config is required",
                reason="EMPTY_UPDATE",
            )
        if (patch.strategy_type is None) != (patch.strategy_config is None):
            raise InvalidArgument.for_field(
                "strategy_config" if patch.strategy_config is None else "strategy_type",
                "strategy_type and strategy_config must be updated together",
            )
        name = checked_name(patch.strategy_name) if patch.strategy_name is not None else None
        strategy_type = (
            checked_type(patch.strategy_type) if patch.strategy_type is not None else None
        )
        canonical = referenced_id(strategy_id, strategy_not_found())
        async with self._sessions.begin() as session:
            strategy = await _existing(session, principal, canonical, exclusive=True)
            if name is not None:
                strategy.name = name
            if strategy_type is not None and patch.strategy_config is not None:
                strategy.strategy_type = strategy_type
                strategy.config = merged_config(
                    WebhookConfig.from_json(strategy.config),
                    patch.strategy_config,
                    allow_private=self._allow_private,
                ).to_json()
            await session.flush()
        return strategy

    async def get(self, principal: Principal, strategy_id: str) -> InboundContextStrategy:
        """The account's strategy ``strategy_id`` (admin keys only)."""
        principal.require_admin()
        canonical = referenced_id(strategy_id, strategy_not_found())
        async with self._readers() as session:
            return await _existing(session, principal, canonical)

    async def list_strategies(
        self, principal: Principal, *, page_size: int, page_token: str
    ) -> Page[InboundContextStrategy]:
        """One page of the account's strategies, newest first (admin keys only)."""
        principal.require_admin()
        paging = PageRequest.parse("ListInboundContextStrategies", [], page_size, page_token)
        async with self._readers() as session:
            rows = await repository.list_strategies(session, principal.account_id, page=paging)
        return paging.page(rows, row_cursor)

    async def delete(self, principal: Principal, strategy_id: str) -> str:
        """Delete a strategy, detaching it from every mapping in the same transaction."""
        principal.require_admin()
        canonical = referenced_id(strategy_id, strategy_not_found())
        async with self._sessions.begin() as session:
            await _existing(session, principal, canonical, exclusive=True)
            await repository.delete_strategy(session, canonical, utcnow())
        return canonical


async def _existing(
    session: AsyncSession, principal: Principal, strategy_id: str, *, exclusive: bool = False
) -> InboundContextStrategy:
    strategy = await repository.get_strategy(
        session, principal.account_id, strategy_id, exclusive=exclusive
    )
    if strategy is None:
        raise strategy_not_found()
    return strategy
