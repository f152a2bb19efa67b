"""Capacity leases: at most ``limit`` concurrent calls per scope, one indexed write per call.

Design (the ``capacity_slots`` table, one row per *slot*, never one per call):

* A scope (``identity:<id>``, ``mapping:<id>``) with limit N owns slot rows 0..N-1. A slot
  is held while its ``expires_at`` is in the future; a released slot gets
  :data:`FREE_SLOT_EXPIRY` (the epoch), an unreleased one is free again once its lease
  expires. Nothing sweeps: the claim itself accepts an expired slot, so a crashed edge
  leaks a slot for at most one TTL.
* :meth:`CapacityLeases.acquire` is ONE ``UPDATE ... RETURNING`` statement in one
  transaction, whatever the number of scopes. For each scope it picks, by scalar
  subquery, the call's own live slot (a retried RouteCall keeps its slot) or else the free
  slot below the limit that has been free longest (index ``ix_capacity_slots_free``). On
  PostgreSQL that subquery is ``FOR UPDATE SKIP LOCKED``: concurrent claimers on any
  replica each lock a different free row, and a row committed by another claimer after
  our snapshot is re-checked and passed over, so N+1 simultaneous calls get exactly N
  slots with no count-then-insert race and no waiting on each other. On SQLite every
  writer holds the database write lock (``BEGIN IMMEDIATE``), which serializes claims
  across processes. A lease spans several scopes (identity and mapping limits) all or
  nothing: when a scope has no free slot the transaction is rolled back.
* Slot rows are created (``INSERT ... ON CONFLICT DO NOTHING``, its own transaction) when
  a claim fails on a scope this process had not yet seen complete at that limit when the
  claim began, then the claim is retried once: a new or raised limit costs a count and one
  write once per process, not per call, and a refusal on a known scope costs the one claim
  only.
* A **raised** limit takes effect at once (the missing rows are added). A **lowered**
  limit is never enforced by cutting calls: new calls only get slots below the new limit,
  while calls holding higher slots keep them until released or expired. During that drain
  the total can exceed the new limit by at most the number of such calls (never the old
  limit); afterwards the new limit holds exactly.
* Under contention PostgreSQL may refuse a call whose only free slot was locked at that
  instant by a claim that then rolled back (a two-scope lease whose other scope was full):
  a conservative busy, never an over-admission.
* Expiry compares the replica's clock with ``expires_at`` written by another replica's:
  skew between replicas (NTP: milliseconds) shortens or lengthens a lease by that much,
  negligible against TTLs of minutes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.capacity import MAX_CONCURRENT_CALLS
from services.common.observability import metrics
from services.common.storage.db import WriteSessions
from services.common.storage.orm import utcnow
from services.registry.models import CapacitySlot

FREE_SLOT_EXPIRY: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""``expires_at`` of a released slot: free on every replica whatever its clock says."""
MAX_LIMIT: Final = MAX_CONCURRENT_CALLS
"""The largest ``max_concurrent_calls`` a scope may have (that many slot rows at most)."""
MIN_TTL: Final = timedelta(seconds=1)
MAX_TTL: Final = timedelta(hours=24)
MAX_CALL_ID_LENGTH: Final = 256
MAX_SCOPE_KEY_LENGTH: Final = 80
_KNOWN_SCOPES: Final = 10_000
_COLUMNS = CapacitySlot.__table__.c

Clock = Callable[[], datetime]


def identity_scope(identity_id: str) -> str:
    """The scope key of an agent identity's ``max_concurrent_calls``."""
    return f"identity:{identity_id}"


def mapping_scope(inbound_id: str) -> str:
    """The scope key of an inbound mapping's ``max_concurrent_calls``."""
    return f"mapping:{inbound_id}"


@dataclass(frozen=True, slots=True)
class CapacityScope:
    """One limit a lease must fit under: ``limit`` concurrent calls in ``key``."""

    key: str
    limit: int


@dataclass(frozen=True, slots=True, order=True)
class HeldSlot:
    """A slot a lease holds."""

    scope_key: str
    slot: int


@dataclass(frozen=True, slots=True)
class Lease:
    """A call's slots (one per scope) until ``expires_at`` unless renewed or released."""

    call_id: str
    slots: tuple[HeldSlot, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CapacityReached:
    """No lease: these scopes had no free slot (the first is the one to report)."""

    full_scopes: tuple[str, ...]


class CapacityLeases:
    """Acquire, renew and release capacity leases in the registry database."""

    def __init__(self, sessions: WriteSessions, *, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock
        self._slots_known: OrderedDict[str, int] = OrderedDict()
        """Scopes this process saw with all their rows, by limit (LRU): a failed claim on
        one of these is a plain busy, on any other it checks for missing rows and retries.
        An optimization only: the limit itself is kept by the database alone."""

    async def acquire(
        self,
        call_id: str,
        scopes: Sequence[CapacityScope],
        ttl: timedelta,
        *,
        account_id: str | None = None,
    ) -> Lease | CapacityReached:
        """A slot in every scope for ``call_id``, or which scopes are full.

        Acquiring again for a call that holds live slots keeps them and extends them.
        Raises ValueError for an unusable argument (empty or too long call id, duplicate
        scope, limit outside 0..MAX_LIMIT, TTL outside MIN_TTL..MAX_TTL).
        """
        _check_call_id(call_id)
        _check_ttl(ttl)
        keys = [scope.key for scope in scopes]
        if len(set(keys)) != len(keys):
            raise ValueError("each scope may appear once")
        if not all(0 < len(key) <= MAX_SCOPE_KEY_LENGTH for key in keys):
            raise ValueError(f"scope keys must be 1 to {MAX_SCOPE_KEY_LENGTH} characters")
        for scope in scopes:
            if not 0 <= scope.limit <= MAX_LIMIT:
                raise ValueError(f"limit must be between 0 and {MAX_LIMIT}")
        closed = tuple(scope.key for scope in scopes if scope.limit == 0)
        if closed:
            return self._count(CapacityReached(closed))
        if not scopes:
            return Lease(call_id, (), self._clock() + ttl)
        # What was known before the claim: another call of this process may finish creating
        # a scope's rows while this claim runs and cannot see them yet; its refusal is then
        # no proof the scope is full.
        known = {scope.key: self._slots_known.get(scope.key, -1) for scope in scopes}
        result = await self._claim(call_id, scopes, ttl, account_id)
        if isinstance(result, CapacityReached):
            unverified = [
                scope
                for scope in scopes
                if scope.key in result.full_scopes and known[scope.key] < scope.limit
            ]
            if unverified:
                await self._add_missing_slots(unverified)
                result = await self._claim(call_id, scopes, ttl, account_id)
        return self._count(result)

    async def renew(
        self, call_id: str, ttl: timedelta, *, account_id: str | None = None
    ) -> Lease | None:
        """Extend the call's live slots (of ``account_id``'s scopes, when given) to now +
        ``ttl``; None when it holds none any more."""
        _check_call_id(call_id)
        _check_ttl(ttl)
        now = self._clock()
        expires_at = now + ttl
        statement = update(CapacitySlot).where(
            CapacitySlot.call_id == call_id, CapacitySlot.expires_at > now
        )
        if account_id is not None:
            statement = statement.where(CapacitySlot.account_id == account_id)
        async with self._sessions.begin() as session:
            rows = (
                await session.execute(
                    statement.values(expires_at=expires_at).returning(
                        CapacitySlot.scope_key, CapacitySlot.slot
                    )
                )
            ).all()
        if not rows:
            return None
        return Lease(call_id, _held(rows), expires_at)

    async def release(self, call_id: str, *, account_id: str | None = None) -> int:
        """Free every slot the call holds (of ``account_id``'s scopes, when given).

        Idempotent: releasing again (or a call that never held a slot) frees nothing.
        Returns how many slots were freed.
        """
        _check_call_id(call_id)
        statement = update(CapacitySlot).where(CapacitySlot.call_id == call_id)
        if account_id is not None:
            statement = statement.where(CapacitySlot.account_id == account_id)
        async with self._sessions.begin() as session:
            rows = (
                await session.execute(
                    statement.values(
                        call_id=None,
                        account_id=None,
                        acquired_at=None,
                        expires_at=FREE_SLOT_EXPIRY,
                    ).returning(CapacitySlot.slot)
                )
            ).all()
        metrics.CAPACITY_RELEASES.labels(result="released" if rows else "not_held").inc()
        return len(rows)

    async def in_use(self, scope_key: str) -> int:
        """How many of the scope's slots are held now (for explain and operators)."""
        now = self._clock()
        async with self._sessions.reading() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(CapacitySlot)
                .where(CapacitySlot.scope_key == scope_key, CapacitySlot.expires_at > now)
            )
        return int(count or 0)

    async def drop_scope(self, scope_key: str) -> None:
        """Forget a scope's slots (its identity or mapping is gone)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(CapacitySlot).where(CapacitySlot.scope_key == scope_key))
        self._slots_known.pop(scope_key, None)

    async def _claim(
        self,
        call_id: str,
        scopes: Sequence[CapacityScope],
        ttl: timedelta,
        account_id: str | None,
    ) -> Lease | CapacityReached:
        now = self._clock()
        expires_at = now + ttl
        chosen = [
            (CapacitySlot.scope_key == scope.key)
            & (
                CapacitySlot.slot
                == func.coalesce(_own_slot(scope, call_id, now), _free_slot(scope, now))
            )
            for scope in scopes
        ]
        statement = (
            update(CapacitySlot)
            .where(or_(*chosen))
            .values(
                call_id=call_id,
                account_id=account_id,
                # A retried acquire keeps the time its call first got the slot.
                acquired_at=_acquired_at(call_id, now),
                expires_at=expires_at,
            )
            .returning(CapacitySlot.scope_key, CapacitySlot.slot)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(statement)).all()
            held = {str(row[0]) for row in rows}
            full = tuple(scope.key for scope in scopes if scope.key not in held)
            if full:
                await session.rollback()
                return CapacityReached(full)
        return Lease(call_id, _held(rows), expires_at)

    async def _add_missing_slots(self, scopes: Sequence[CapacityScope]) -> None:
        """Create the slot rows each scope lacks below its limit, and remember it has them."""
        for scope in sorted(scopes, key=lambda scope: scope.key):
            async with self._sessions.begin() as session:
                existing = await session.scalar(
                    select(func.count())
                    .select_from(CapacitySlot)
                    .where(CapacitySlot.scope_key == scope.key, CapacitySlot.slot < scope.limit)
                )
                if int(existing or 0) < scope.limit:
                    rows = [
                        {"scope_key": scope.key, "slot": slot, "expires_at": FREE_SLOT_EXPIRY}
                        for slot in range(scope.limit)
                    ]
                    await session.execute(_insert_ignoring_duplicates(session), rows)
            self._slots_known[scope.key] = scope.limit
            self._slots_known.move_to_end(scope.key)
            while len(self._slots_known) > _KNOWN_SCOPES:
                self._slots_known.popitem(last=False)

    def _count(self, result: Lease | CapacityReached) -> Lease | CapacityReached:
        outcome = "acquired" if isinstance(result, Lease) else "at_capacity"
        metrics.CAPACITY_ACQUISITIONS.labels(result=outcome).inc()
        return result


def _own_slot(scope: CapacityScope, call_id: str, now: datetime) -> Any:
    """The live slot ``call_id`` already holds in the scope (a retried acquire)."""
    return (
        select(_COLUMNS.slot)
        .where(
            _COLUMNS.scope_key == scope.key, _COLUMNS.call_id == call_id, _COLUMNS.expires_at > now
        )
        .limit(1)
        .scalar_subquery()
    )


def _free_slot(scope: CapacityScope, now: datetime) -> Any:
    """The free slot below the limit that has been free longest, locked (PostgreSQL)."""
    query: Select[Any] = (
        select(_COLUMNS.slot)
        .where(
            _COLUMNS.scope_key == scope.key,
            _COLUMNS.expires_at <= now,
            _COLUMNS.slot < scope.limit,
        )
        .order_by(_COLUMNS.expires_at, _COLUMNS.slot)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return query.scalar_subquery()


def _acquired_at(call_id: str, now: datetime) -> Any:
    """``now``, or the row's own value when the call already held it live (a retry)."""
    return case(
        ((_COLUMNS.call_id == call_id) & (_COLUMNS.expires_at > now), _COLUMNS.acquired_at),
        else_=now,
    )


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(CapacitySlot).on_conflict_do_nothing()
    return sqlite.insert(CapacitySlot).on_conflict_do_nothing()


def _held(rows: Sequence[Any]) -> tuple[HeldSlot, ...]:
    return tuple(sorted(HeldSlot(str(row[0]), int(row[1])) for row in rows))


def _check_call_id(call_id: str) -> None:
    if not call_id or len(call_id) > MAX_CALL_ID_LENGTH:
        raise ValueError(f"call_id must be 1 to {MAX_CALL_ID_LENGTH} characters")


def _check_ttl(ttl: timedelta) -> None:
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between {MIN_TTL} and {MAX_TTL}")
