"""The one read of the routing hot path: the active mapping of a number, with its strategy
and the contact rule (if any) of the caller's number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, and_, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.point_reads import PointReader
from services.registry.models import ContactRule, InboundContextStrategy, InboundNumber
from services.registry.routing.caller_screening import MatchedRule
from services.registry.routing.context_lookup import StrategyRef


@dataclass(frozen=True, slots=True)
class ActiveMapping:
    """What routing needs of a matched mapping."""

    inbound_id: str
    account_id: str
    assistant_id: str | None
    strategy: StrategyRef | None
    filter_mode: str = "blacklist"
    caller_rule: MatchedRule | None = None
    max_concurrent_calls: int | None = None


_ACTIVE: Final = text(f"{InboundNumber.__tablename__}.active")
# Literals, not bound values: the point-read path passes only the named parameters.
# The inbound side's partial unique index predicate, spelled the same: the join is a point read.
_RULE_ENFORCED: Final = text(
    f"{ContactRule.__tablename__}.status = 'active' "
    f"AND {ContactRule.__tablename__}.direction IN ('inbound', 'both')"
)


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
            InboundNumber.filter_mode,
            ContactRule.id,
            ContactRule.action,
            InboundNumber.max_concurrent_calls,
        )
        .outerjoin(
            InboundContextStrategy,
            InboundContextStrategy.id == InboundNumber.inbound_context_strategy_id,
        )
        .outerjoin(
            ContactRule,
            and_(
                ContactRule.inbound_id == InboundNumber.id,
                ContactRule.match_target_normalized == bindparam("caller"),
                _RULE_ENFORCED,
            ),
        )
        .where(InboundNumber.phone_number_normalized == bindparam("number"))
        .where(_ACTIVE)
    )
    if scoped:
        statement = statement.where(InboundNumber.account_id == bindparam("account_id"))
    return statement


_ANY_ACCOUNT: Final = _statement(scoped=False)
_ONE_ACCOUNT: Final = _statement(scoped=True)


class MappingLookup:
    """The routing read, on the fast point-read path (see services/common/point_reads.py).

    Never cached: every call reads the latest committed mapping, so a deleted or detached
    mapping stops routing at once on every replica.
    """

    def __init__(self, readers: async_sessionmaker[AsyncSession]) -> None:
        engine: AsyncEngine = readers.kw["bind"]
        self._reader = PointReader(engine, readers)
        self._any_account = self._reader.query(_ANY_ACCOUNT)
        self._one_account = self._reader.query(_ONE_ACCOUNT)

    async def find(
        self, normalized_number: str, account_id: str | None, caller: str | None = None
    ) -> ActiveMapping | None:
        """The active mapping of ``normalized_number``; with ``account_id``, only if its own.

        ``caller`` (the caller's normalized number) selects the enforced contact rule read
        with it; None (a caller ID that does not normalize) matches no rule.
        """
        caller_key = caller or ""
        if account_id is None:
            row = await self._any_account.first({"number": normalized_number, "caller": caller_key})
        else:
            row = await self._one_account.first(
                {"number": normalized_number, "account_id": account_id, "caller": caller_key}
            )
        return None if row is None else _mapping(row)

    async def close(self) -> None:
        """Release the fast path's connection(s)."""
        await self._reader.close()


def _mapping(row: tuple[Any, ...]) -> ActiveMapping:
    strategy = (
        StrategyRef(str(row[3]), str(row[4]), str(row[5]), dict(row[6] or {}))
        if row[3] is not None
        else None
    )
    rule = MatchedRule(str(row[8]), str(row[9])) if row[8] is not None else None
    return ActiveMapping(str(row[0]), str(row[1]), row[2], strategy, str(row[7]), rule, row[10])
