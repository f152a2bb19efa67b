"""The decision journal's writer: records queued by RouteCall, inserted in batches off the hot path.

:meth:`DecisionJournal.record` never blocks and never raises: it makes the decision its row
(:func:`journal_row`: time-ordered UUIDv7 ids, the caller's number normalized, the call's
lookup key), prepared by the ``BulkInserter`` (:mod:`services.common.storage.bulk_insert`)
for writing, and appends it to a bounded queue; when the queue is full the record is dropped
and counted (``switchboard_journal_records_total{result="dropped"}``). One background task
hands each batch to the inserter (one transaction; on SQLite the statements run in a thread
of its own, so the event loop never waits on the database). Another task prunes by age and
row count.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Table, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.observability import metrics
from services.common.phone import (
    SERVICE_DEFAULT_REGIONS,
    InvalidPhoneNumber,
    canonical_service,
    normalize_phone_number,
)
from services.common.storage.bulk_insert import BulkInserter, DeferredIndex, PreparedRow
from services.common.storage.orm import new_time_ordered_id
from services.registry.models import CallDecision, call_lookup_key
from services.registry.routing.outcome import Decision

_log = logging.getLogger(__name__)
_CLOSE_FLUSH_SECONDS: Final = 2.0

Record = dict[str, Any]
"""Column values of one :class:`~services.registry.models.CallDecision` row."""


@dataclass(frozen=True, slots=True)
class PendingDecision:
    """A decision as RouteCall hands it over; the journal makes it a row (``decision_record``)."""

    decision: Decision
    dialed_number: str
    caller_number: str
    service: str
    decided_at: float
    """Unix time the decision started (``time.time()``)."""
    elapsed_seconds: float
    replica: str


CALL_KEYS_INDEXED_EVERY: Final = 8192
"""Records between two moves of parked call keys into their index (SQLite). Larger: cheaper
per record (at 1M records 4,096 / 8,192 / 16,384 measured about 38 / 34 / 30 us of CPU per
record written, against 49 indexed at once), but readers scan up to this many unindexed
records and each move holds SQLite's write lock longer (about 0.2 s for 8,192 at 1M)."""


def journal_rows(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> BulkInserter:
    """The inserter of journal records (``call_decisions``) into ``engine``'s database; on
    SQLite the random ``call_key`` is indexed a few thousand records at a time."""
    return BulkInserter(
        engine,
        sessions,
        cast(Table, CallDecision.__table__),
        journal_row,
        DeferredIndex("call_key", "pending_call_key", CALL_KEYS_INDEXED_EVERY),
    )


class DecisionJournal:
    """Bounded queue -> batched inserts, plus retention pruning; :meth:`start` / :meth:`close`.

    ``rows`` writes the batches (and is closed by :meth:`close`); ``sessions`` prune.
    """

    def __init__(
        self,
        rows: BulkInserter,
        sessions: async_sessionmaker[AsyncSession],
        *,
        enabled: bool,
        queue_size: int,
        batch_size: int,
        retention_days: float,
        max_rows: int,
        prune_interval_seconds: float,
        flush_interval_seconds: float = 0.2,
    ) -> None:
        self._rows = rows
        self._sessions = sessions
        self._enabled = enabled
        self._queue: asyncio.Queue[PreparedRow] = asyncio.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._retention = timedelta(days=retention_days)
        self._max_rows = max_rows
        self._prune_interval = prune_interval_seconds
        self._flush_interval = flush_interval_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def enabled(self) -> bool:
        """Whether decisions are recorded at all."""
        return self._enabled

    def start(self) -> None:
        """Start the writer and the pruner (in the running event loop)."""
        if self._enabled and not self._tasks:
            self._tasks = [
                asyncio.create_task(self._write_forever(), name="journal-writer"),
                asyncio.create_task(self._prune_forever(), name="journal-pruner"),
            ]

    def record(self, entry: PendingDecision | Record) -> None:
        """Queue one decision (or a finished row) as its prepared row; dropped (and counted)
        when the queue is full, failed (counted and logged) if it cannot be made a row.

        Never blocks: the row is made here, on the caller's thread, and written by the writer
        (why not in the writer's thread: :mod:`services.common.storage.bulk_insert`).
        """
        if not self._enabled:
            return
        # Checked before the row is made, so a full queue costs nothing; nothing awaits
        # between the check and the put, so the put cannot find the queue full.
        if self._queue.full():
            metrics.JOURNAL_RECORDS.labels(result="dropped").inc()
            return
        try:
            row = self._rows.prepare(entry)
        except Exception:
            metrics.JOURNAL_RECORDS.labels(result="failed").inc()
            _log.exception("could not make a journal record")
            return
        self._queue.put_nowait(row)
        self._idle.clear()

    async def flush(self) -> None:
        """Wait until every queued record has been written (or failed)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Write what is queued (briefly), then stop the background tasks."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), timeout=_CLOSE_FLUSH_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._rows.close()

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.qsize() < self._batch_size - 1:
                # Let a batch gather: one transaction per interval, not one per decision.
                await asyncio.sleep(self._flush_interval)
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)
            if self._queue.empty():
                self._idle.set()

    async def _write(self, batch: list[PreparedRow]) -> None:
        try:
            await self._rows.write(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            metrics.JOURNAL_RECORDS.labels(result="failed").inc(len(batch))
            _log.exception("could not write %d journal records", len(batch))
            return
        metrics.JOURNAL_RECORDS.labels(result="written").inc(len(batch))

    async def _prune_forever(self) -> None:
        # First wait: the journal starts before the process has applied its migrations.
        while True:
            await asyncio.sleep(self._prune_interval)
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("journal pruning failed")

    async def prune(self, now: datetime | None = None) -> int:
        """Delete records older than the retention age and beyond the row cap; how many."""
        cutoff = (now or datetime.now(UTC)) - self._retention
        async with self._sessions.begin() as session:
            aged = await session.execute(
                delete(CallDecision).where(CallDecision.decided_at < cutoff)
            )
            removed = int(aged.rowcount or 0)  # type: ignore[attr-defined]
            oldest_kept = (
                await session.execute(
                    select(CallDecision.decided_at, CallDecision.id)
                    .order_by(CallDecision.decided_at.desc(), CallDecision.id.desc())
                    .offset(self._max_rows)
                    .limit(1)
                )
            ).first()
            if oldest_kept is not None:
                at, row_id = oldest_kept
                excess = await session.execute(
                    delete(CallDecision).where(
                        or_(
                            CallDecision.decided_at < at,
                            and_(CallDecision.decided_at == at, CallDecision.id <= row_id),
                        )
                    )
                )
                removed += int(excess.rowcount or 0)  # type: ignore[attr-defined]
        if removed:
            metrics.JOURNAL_PRUNED.inc(removed)
        return removed


def decision_record(pending: PendingDecision) -> Record:
    """The journal row of a decision (numbers as received and normalized, timings in ms)."""
    decision = pending.decision
    facts = decision.facts
    context = decision.caller_context
    webhook = facts.webhook
    return {
        "id": decision.decision_id or new_time_ordered_id(pending.decided_at),
        "call_id": decision.call_id[:256],
        "decided_at": datetime.fromtimestamp(pending.decided_at, UTC),
        "account_id": facts.account_id,
        "dialed_number": pending.dialed_number[:256],
        "dialed_normalized": facts.normalized_number,
        "caller_number": pending.caller_number[:256],
        "caller_normalized": facts.caller_normalized,  # else filled in by journal_row
        "service": canonical_service(pending.service)[:32],
        "inbound_id": decision.inbound_id,
        "assistant_id": decision.assistant_id,
        "call_action_version": facts.action_version,
        "action_source": _value(decision.action_source),
        "verdict": decision.verdict.value,
        "reject_reason": _value(decision.reject_reason),
        "edge_outcome": decision.edge_outcome.value,
        "sip_status": decision.sip_status,
        "reason_detail": decision.reason_detail[:1024] if decision.reason_detail else None,
        "webhook_status": webhook.verdict.value if webhook else None,
        "webhook_ms": _ms(webhook.elapsed_seconds) if webhook else None,
        "context_status": context.status.value if context else None,
        "context_ms": _ms(context.elapsed_seconds) if context else None,
        "decision_ms": _ms(pending.elapsed_seconds),
        "replica": pending.replica[:128],
        "capacity": decision.capacity.journal_text() if decision.capacity else None,
    }


def journal_row(entry: PendingDecision | Record) -> Record:
    """The stored row of a queued entry: a decision's record, or a finished row as given,
    either completed with the caller's normalized number and the call's lookup key."""
    row = decision_record(entry) if isinstance(entry, PendingDecision) else dict(entry)
    if row.get("caller_normalized") is None:
        region = SERVICE_DEFAULT_REGIONS.get(str(row.get("service", "")), "")
        row["caller_normalized"] = _normalized_caller(str(row["caller_number"]), region)
    row["call_key"] = call_lookup_key(str(row["call_id"]))
    return row


@functools.lru_cache(maxsize=4096)
def _normalized_caller(number: str, region: str) -> str | None:
    # Callers repeat; parsing a number is most of the time it takes to make a row.
    try:
        return normalize_phone_number(number, region)
    except InvalidPhoneNumber:
        return None


def _value(member: Any) -> str | None:
    return None if member is None else str(member.value)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
