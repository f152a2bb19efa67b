"""The one read of the routing hot path: the active mapping of a number, with its strategy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import InboundContextStrategy, InboundNumber
from services.registry.routing.context_lookup import StrategyRef


@dataclass(frozen=True, slots=True)
class ActiveMapping:
    """What routing needs of a matched mapping."""

    inbound_id: str
    account_id: str
    assistant_id: str | None
    strategy: StrategyRef | None


_ACTIVE: Final = text(f"{InboundNumber.__tablename__}.active")


def _statement(*, scoped: bool) -> Select[Any]:
    # A bare `active`, exactly the partial unique index's predicate: SQLite would not use
    # uq_inbound_numbers_active_normalized for the `active = 1` that SQLAlchemy renders.
    statement = (
        select(
            InboundNumber.id,
            InboundNumber.account_id,
            InboundNumber.assistant_id,
            InboundContextStrategy.id,
            InboundContextStrategy.name,
            InboundContextStrategy.strategy_type,
            InboundContextStrategy.config,
        )
        .outerjoin(
            InboundContextStrategy,
            InboundContextStrategy.id == InboundNumber.inbound_context_strategy_id,
        )
        .where(InboundNumber.phone_number_normalized == bindparam("number"))
        .where(_ACTIVE)
    )
    if scoped:
        statement = statement.where(InboundNumber.account_id == bindparam("account_id"))
    return statement


_ANY_ACCOUNT: Final = _statement(scoped=False)
_ONE_ACCOUNT: Final = _statement(scoped=True)


async def find_active_mapping(
    session: AsyncSession, normalized_number: str, account_id: str | None
) -> ActiveMapping | None:
    """The active mapping of ``normalized_number``; with ``account_id``, only if that account's."""
    if account_id is None:
        result = await session.execute(_ANY_ACCOUNT, {"number": normalized_number})
    else:
        result = await session.execute(
            _ONE_ACCOUNT, {"number": normalized_number, "account_id": account_id}
        )
    row = result.first()
    if row is None:
        return None
    strategy = (
        StrategyRef(str(row[3]), str(row[4]), str(row[5]), dict(row[6] or {}))
        if row[3] is not None
        else None
    )
    return ActiveMapping(str(row[0]), str(row[1]), row[2], strategy)
