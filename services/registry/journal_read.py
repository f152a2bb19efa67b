"""Reading the decision journal back: one call's latest decision, filtered keyset pages."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.errors import InvalidArgument, NotFound
from services.common.phone import (
    SERVICE_DEFAULT_REGIONS,
    InvalidPhoneNumber,
    normalize_phone_number,
)
from services.common.storage.pagination import Cursor, Page, PageRequest, newest_first
from services.registry.models import CallDecision, call_lookup_key
from services.registry.routing.edge_auth import RoutingCaller

_DEFAULT_REGION = SERVICE_DEFAULT_REGIONS["exotel"]


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """What ``ListCallDecisions`` narrows to (None: no restriction)."""

    inbound_number: str | None = None
    assistant_id: str | None = None
    verdict: str | None = None
    reject_reason: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


class DecisionJournalReader:
    """Queries scoped to the caller: the edge sees every record, an account only its own."""

    def __init__(self, readers: async_sessionmaker[AsyncSession]) -> None:
        self._readers = readers

    async def get(self, caller: RoutingCaller, call_id: str) -> CallDecision:
        """The latest record of ``call_id`` visible to ``caller``; NotFound otherwise."""
        if not call_id:
            raise InvalidArgument.for_field("call_id", "call_id is required")
        statement = (
            _scoped(select(CallDecision), caller)
            .where(
                or_(
                    CallDecision.call_key == call_lookup_key(call_id),
                    CallDecision.call_key.is_(None),  # key not indexed yet, or an older replica
                ),
                CallDecision.call_id == call_id,
            )
            .order_by(CallDecision.decided_at.desc(), CallDecision.id.desc())
            .limit(1)
        )
        async with self._readers() as session:
            found: CallDecision | None = (await session.scalars(statement)).first()
        if found is None:
            raise NotFound(f"no decision recorded for call {call_id}")
        return found

    async def list(
        self, caller: RoutingCaller, wanted: DecisionFilter, page_size: int, page_token: str
    ) -> Page[CallDecision]:
        """One page, newest first, of the records matching ``wanted``."""
        paging = PageRequest.parse(
            "ListCallDecisions", [caller.account_id, *astuple(wanted)], page_size, page_token
        )
        statement = _scoped(select(CallDecision), caller)
        if wanted.inbound_number is not None:
            try:
                normalized = normalize_phone_number(wanted.inbound_number, _DEFAULT_REGION)
            except InvalidPhoneNumber as error:
                raise InvalidArgument.for_field("inbound_number", error.message) from None
            statement = statement.where(CallDecision.dialed_normalized == normalized)
        if wanted.assistant_id is not None:
            statement = statement.where(CallDecision.assistant_id == wanted.assistant_id)
        if wanted.verdict is not None:
            statement = statement.where(CallDecision.verdict == wanted.verdict)
        if wanted.reject_reason is not None:
            statement = statement.where(CallDecision.reject_reason == wanted.reject_reason)
        if wanted.start_time is not None:
            statement = statement.where(CallDecision.decided_at >= wanted.start_time)
        if wanted.end_time is not None:
            statement = statement.where(CallDecision.decided_at < wanted.end_time)
        statement = newest_first(statement, CallDecision.decided_at, CallDecision.id, paging)
        async with self._readers() as session:
            rows = (await session.scalars(statement)).all()
        return paging.page(rows, lambda row: Cursor(row.decided_at, row.id))


def _scoped(statement: Select[Any], caller: RoutingCaller) -> Select[Any]:
    if caller.account_id is None:
        return statement
    return statement.where(CallDecision.account_id == caller.account_id)
