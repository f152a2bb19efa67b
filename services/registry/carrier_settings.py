"""Each account's carrier overrides: what carriers are told per reject reason.

Stored in the registry database (table ``carrier_overrides``, one row per account that has
any); the rules and defaults live in :mod:`services.registry.routing.carrier_outcomes`.
Routing reads an account's policy only for a refused call, through a small per-process cache
whose entries live ``cache_seconds`` (the routing staleness bound of configuration,
``SWITCHBOARD_CALL_TARGET_CACHE_TTL_SECONDS``); the replica that writes drops its entry at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.errors import InvalidArgument
from services.registry.models import CarrierOverrides
from services.registry.routing.carrier_outcomes import (
    DEFAULT_POLICY,
    DEFAULTS,
    NOT_OVERRIDABLE,
    WHY,
    CarrierAnswer,
    CarrierPolicy,
    parse_overrides,
)

_MAX_CACHED: Final = 10_000
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CarrierRow:
    """One reject reason's answer for an account, and why it is what it is."""

    reason: str
    answer: CarrierAnswer
    overridable: bool
    why: str


class CarrierSettings:
    """Reads and replaces accounts' overrides; serves routing their policies, cached.

    ``reasons`` are the reject reasons routing gives (the table lists only those).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
        *,
        reasons: Iterable[str],
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._readers = readers
        self._reasons = frozenset(reasons)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, CarrierPolicy]] = {}

    async def table(self, principal: Principal) -> list[CarrierRow]:
        """Every reason's answer for the caller's account (admin keys only)."""
        principal.require_admin()
        return self._rows(await self._load(principal.account_id))

    async def replace(self, principal: Principal, raw: Mapping[str, Any]) -> list[CarrierRow]:
        """Replace the account's overrides with ``raw`` (admin keys only); {} restores defaults.

        ``raw`` is ``{reason: {"sip_status": N, "edge_outcome"?: ...}}``; InvalidArgument
        names every bad entry and nothing is stored.
        """
        principal.require_admin()
        unknown = sorted(str(reason) for reason in raw if reason not in self._reasons)
        if unknown:
            raise InvalidArgument.for_field(
                "overrides", f"overrides.{unknown[0][:40]}: not a reject reason routing gives"
            )
        overrides = parse_overrides(raw, "overrides")
        stored = {
            reason: {"sip_status": answer.sip_status, "edge_outcome": answer.edge_outcome}
            for reason, answer in overrides.items()
        }
        for attempt in range(2):
            try:
                await self._store(principal.account_id, stored)
                break
            except IntegrityError:
                # A concurrent first write of the same account inserted the row: write again.
                if attempt:
                    raise
        self._cache.pop(principal.account_id, None)
        return self._rows(overrides)

    async def policy_for(self, account_id: str) -> CarrierPolicy:
        """The account's policy for routing (defaults when it has no overrides)."""
        now = self._clock()
        cached = self._cache.get(account_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            overrides = await self._load(account_id)
        except (SQLAlchemyError, OSError):
            # Routing never fails for want of a refusal's SIP status: the defaults answer.
            _log.warning("carrier overrides unreadable; defaults apply", exc_info=True)
            return DEFAULT_POLICY
        policy = CarrierPolicy(overrides) if overrides else DEFAULT_POLICY
        if self._cache_seconds > 0:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[account_id] = (now + self._cache_seconds, policy)
        return policy

    async def _load(self, account_id: str) -> dict[str, CarrierAnswer]:
        async with self._readers() as session:
            raw = await session.scalar(
                select(CarrierOverrides.overrides).where(CarrierOverrides.account_id == account_id)
            )
        if not raw:
            return {}
        try:
            return parse_overrides(raw, "overrides")
        except InvalidArgument:
            # Stored by an older rule set: the defaults are the safe reading.
            _log.warning("carrier overrides of an account no longer valid; defaults apply")
            return {}

    async def _store(self, account_id: str, stored: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            if not stored:
                await session.execute(
                    delete(CarrierOverrides).where(CarrierOverrides.account_id == account_id)
                )
                return
            row = await session.get(CarrierOverrides, account_id, with_for_update=True)
            if row is None:
                session.add(CarrierOverrides(account_id=account_id, overrides=stored))
            else:
                row.overrides = stored

    def _rows(self, overrides: Mapping[str, CarrierAnswer]) -> list[CarrierRow]:
        return [
            CarrierRow(
                reason=reason,
                answer=overrides.get(reason, default),
                overridable=reason not in NOT_OVERRIDABLE,
                why=WHY[reason],
            )
            for reason, default in DEFAULTS.items()
            if reason in self._reasons
        ]
