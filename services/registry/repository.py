"""Queries of the registry database: functions that take a session and never commit, and
the statements the fast read path (``services/common/storage/point_reads.py``) runs without one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, and_, bindparam, delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import AlreadyExists
from services.common.storage.pagination import PageRequest, newest_first
from services.registry.models import ContactRule, InboundContextStrategy, InboundNumber
from services.registry.resource_ids import strategy_not_found

_RULE_INDEX_MARKERS = (
    "uq_contact_rules_inbound_side",  # PostgreSQL names the index
    "uq_contact_rules_outbound_side",
    "contact_rules.inbound_id",  # SQLite names the columns
)
_ACTIVE_NUMBER_INDEX_MARKERS = (
    "uq_inbound_numbers_active_normalized",  # PostgreSQL names the index
    "inbound_numbers.phone_number_normalized",  # SQLite names the column
)

NUMBER_ALREADY_ASSIGNED = "Inbound number is already assigned"


async def add_mapping(session: AsyncSession, mapping: InboundNumber) -> InboundNumber:
    """Insert an active mapping; the partial unique index alone decides a duplicate.

    Raises AlreadyExists when the normalized number already has an active mapping
    (possibly inserted by a concurrent transaction), NotFound when the strategy
    vanished meanwhile.
    """
    session.add(mapping)
    try:
        await session.flush()
    except IntegrityError as error:
        if any(marker in str(error.orig) for marker in _ACTIVE_NUMBER_INDEX_MARKERS):
            raise AlreadyExists(NUMBER_ALREADY_ASSIGNED, reason="NUMBER_ALREADY_ASSIGNED") from None
        raise strategy_not_found() from None
    return mapping


async def get_active_mapping(
    session: AsyncSession,
    account_id: str,
    inbound_id: str,
    *,
    assistant_id: str | None = None,
    for_update: bool = False,
) -> InboundNumber | None:
    """The account's active mapping ``inbound_id``, if attached to ``assistant_id`` when given."""
    query = select(InboundNumber).where(
        InboundNumber.id == inbound_id,
        InboundNumber.account_id == account_id,
        InboundNumber.active.is_(True),
    )
    if assistant_id is not None:
        query = query.where(InboundNumber.assistant_id == assistant_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_mappings(
    session: AsyncSession,
    account_id: str,
    *,
    assistant_id: str | None,
    page: PageRequest,
) -> Sequence[tuple[InboundNumber, str | None]]:
    """One page of active mappings, newest first, with their strategy's name.

    The name is a per-row subquery, not a join, so the page is cut by the index scan alone
    (a join let PostgreSQL join and sort every mapping past a deep cursor).
    """
    strategy_name = (
        select(InboundContextStrategy.name)
        .where(InboundContextStrategy.id == InboundNumber.inbound_context_strategy_id)
        .scalar_subquery()
    )
    query = select(InboundNumber, strategy_name).where(
        InboundNumber.account_id == account_id, InboundNumber.active.is_(True)
    )
    if assistant_id is not None:
        query = query.where(InboundNumber.assistant_id == assistant_id)
    query = newest_first(query, InboundNumber.created_at, InboundNumber.id, page)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def get_strategy(
    session: AsyncSession,
    account_id: str,
    strategy_id: str,
    *,
    lock: bool = False,
    exclusive: bool = False,
) -> InboundContextStrategy | None:
    """The account's strategy ``strategy_id``.

    ``lock`` takes a shared row lock (PostgreSQL), so a concurrent delete waits
    until the caller's transaction that links a mapping to it has committed;
    ``exclusive`` takes the row lock a delete or update needs.
    """
    query = select(InboundContextStrategy).where(
        InboundContextStrategy.id == strategy_id,
        InboundContextStrategy.account_id == account_id,
    )
    if lock or exclusive:
        query = query.with_for_update(read=not exclusive)
    return (await session.execute(query)).scalar_one_or_none()


async def strategy_name(session: AsyncSession, strategy_id: str) -> str | None:
    """The name of strategy ``strategy_id``, if it exists."""
    query = select(InboundContextStrategy.name).where(InboundContextStrategy.id == strategy_id)
    return (await session.execute(query)).scalar_one_or_none()


async def add_strategy(
    session: AsyncSession, strategy: InboundContextStrategy
) -> InboundContextStrategy:
    """Insert a strategy."""
    session.add(strategy)
    await session.flush()
    return strategy


async def list_strategies(
    session: AsyncSession, account_id: str, *, page: PageRequest
) -> Sequence[InboundContextStrategy]:
    """One page of the account's strategies, newest first."""
    query = select(InboundContextStrategy).where(InboundContextStrategy.account_id == account_id)
    query = newest_first(query, InboundContextStrategy.created_at, InboundContextStrategy.id, page)
    return (await session.execute(query)).scalars().all()


async def delete_strategy(session: AsyncSession, strategy_id: str, now: datetime) -> int:
    """Detach the strategy from every mapping, then delete it; the number of mappings detached."""
    detached = await session.execute(
        update(InboundNumber)
        .where(InboundNumber.inbound_context_strategy_id == strategy_id)
        .values(inbound_context_strategy_id=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(InboundContextStrategy).where(InboundContextStrategy.id == strategy_id)
    )
    return int(getattr(detached, "rowcount", 0) or 0)


async def add_rule(session: AsyncSession, *rules: ContactRule) -> None:
    """Insert contact rules; AlreadyExists when a side they cover already has a rule for
    that number on that mapping."""
    session.add_all(rules)
    await flush_rules(session)


async def flush_rules(session: AsyncSession) -> None:
    """Write pending rule changes; AlreadyExists when one would cover a covered side."""
    try:
        await session.flush()
    except IntegrityError as error:
        if any(marker in str(error.orig) for marker in _RULE_INDEX_MARKERS):
            raise AlreadyExists(
                "A contact rule for this number already covers that direction",
                reason="CONTACT_RULE_EXISTS",
            ) from None
        raise


async def get_rule(
    session: AsyncSession, inbound_id: str, rule_id: str, *, for_update: bool = False
) -> ContactRule | None:
    """Rule ``rule_id`` of mapping ``inbound_id``."""
    query = select(ContactRule).where(
        ContactRule.id == rule_id, ContactRule.inbound_id == inbound_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_rules(
    session: AsyncSession,
    account_id: str,
    *,
    inbound_id: str | None,
    action: str | None,
    match_type: str | None,
    direction: str | None,
    target: str | None,
    page: PageRequest,
) -> Sequence[ContactRule]:
    """One page of the rules of the account's active mappings, newest first.

    ``direction`` ``inbound`` or ``outbound`` also matches rules covering ``both``.
    """
    query = (
        select(ContactRule)
        .join(InboundNumber, InboundNumber.id == ContactRule.inbound_id)
        .where(ContactRule.account_id == account_id, InboundNumber.active.is_(True))
    )
    if inbound_id is not None:
        query = query.where(ContactRule.inbound_id == inbound_id)
    if action is not None:
        query = query.where(ContactRule.action == action)
    if match_type is not None:
        query = query.where(ContactRule.match_type == match_type)
    if direction is not None:
        query = query.where(ContactRule.direction.in_({direction, "both"}))
    if target is not None:
        query = query.where(ContactRule.match_target_normalized == target)
    query = newest_first(query, ContactRule.created_at, ContactRule.id, page)
    return (await session.execute(query)).scalars().all()


async def delete_rule(session: AsyncSession, rule_id: str) -> None:
    """Delete contact rule ``rule_id``."""
    await session.execute(delete(ContactRule).where(ContactRule.id == rule_id))


# Point-read statements: run by PointReader, they bind only named parameters.

_ACTIVE: Final = text(f"{InboundNumber.__tablename__}.active")
# Literals, not bound values: the point-read path passes only the named parameters.
# The inbound side's partial unique index predicate, spelled the same: the join is a point read.
_RULE_ENFORCED: Final = text(
    f"{ContactRule.__tablename__}.status = 'active' "
    f"AND {ContactRule.__tablename__}.direction IN ('inbound', 'both')"
)


def _active_mapping(*, scoped: bool) -> Select[Any]:
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


ACTIVE_MAPPING_OF_ANY_ACCOUNT: Final = _active_mapping(scoped=False)
"""Routing's read: the active mapping of ``number``, its strategy and the rule of ``caller``."""
ACTIVE_MAPPING_OF_ACCOUNT: Final = _active_mapping(scoped=True)
"""The same, only when the mapping is ``account_id``'s."""
