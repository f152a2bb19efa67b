"""The SQLite write gate: this process's writers take turns in order, never meeting the lock.

Most tests run on an engine whose connections do not wait for SQLite's write lock at all
(``busy_timeout=0``): a writer that found it taken would fail at once with "database is
locked", so a run in which every writer commits is one in which none met it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from services.common.storage.db import (
    AmbientTransaction,
    WriteSessions,
    create_engine,
    create_read_only_session_factory,
    create_session_factory,
)
from services.common.storage.sqlite_write_gate import WriteGate
from tests.support.databases import fresh_engine

_METADATA = MetaData()
_WRITES = Table(
    "writes",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("writer", Integer, nullable=False),
)
WRITERS = 64


def _no_busy_wait(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A SQLite engine whose connections fail at once where they would wait for the lock."""
    built = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    event.listen(built.sync_engine, "connect", _no_busy_wait)
    async with built.begin() as connection:
        await connection.run_sync(_METADATA.create_all)
    yield built
    await built.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> WriteSessions:
    return create_session_factory(engine)


def gate_of(sessions: WriteSessions) -> WriteGate:
    assert sessions.gate is not None
    return sessions.gate


async def committed(engine: AsyncEngine) -> list[int]:
    """The writers whose row is stored, in commit order."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(_WRITES.c.writer).order_by(_WRITES.c.id))
        return [row[0] for row in rows]


async def write(sessions: WriteSessions, writer: int) -> None:
    async with sessions.begin() as session:
        await session.execute(insert(_WRITES).values(writer=writer))


async def gate_is_free(sessions: WriteSessions) -> bool:
    """Whether a writer would get the gate without waiting."""
    gate = gate_of(sessions)
    timeout_s, gate.timeout_s = gate.timeout_s, 0
    try:
        async with gate.held():
            return True
    except OperationalError:
        return False
    finally:
        gate.timeout_s = timeout_s


async def the_next_writer_commits_alone(engine: AsyncEngine, sessions: WriteSessions) -> None:
    """The gate is free again and a new writer's row is the only one stored."""
    assert await gate_is_free(sessions)
    await write(sessions, 2)
    assert await committed(engine) == [2]


async def test_without_the_gate_a_second_writer_meets_the_lock(engine: AsyncEngine) -> None:
    # What the gate spares: on these connections a writer meeting the lock fails at once.
    plain = async_sessionmaker(engine)
    async with plain.begin() as first:
        await first.execute(insert(_WRITES).values(writer=1))
        with pytest.raises(OperationalError, match="database is locked"):
            async with plain.begin() as second:
                await second.execute(insert(_WRITES).values(writer=2))


async def test_concurrent_writers_take_turns_in_arrival_order(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    inside = most_inside = 0
    entered: list[int] = []

    async def turn(writer: int) -> None:
        nonlocal inside, most_inside
        async with sessions.begin() as session:
            inside += 1
            most_inside = max(most_inside, inside)
            entered.append(writer)
            await session.execute(insert(_WRITES).values(writer=writer))
            await asyncio.sleep(0)  # the others run while this transaction is open
        inside -= 1

    await asyncio.gather(*(turn(writer) for writer in range(WRITERS)))
    assert most_inside == 1
    assert entered == list(range(WRITERS))
    assert await committed(engine) == list(range(WRITERS))
    assert await gate_is_free(sessions)


async def test_ambient_transactions_take_turns_and_free_the_gate(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    inside = most_inside = 0

    async def claim(session: AsyncSession) -> None:
        nonlocal inside, most_inside
        inside += 1
        most_inside = max(most_inside, inside)
        await session.execute(insert(_WRITES).values(writer=-1))

    async def ambient(writer: int) -> None:
        nonlocal inside
        transaction = AmbientTransaction(sessions, claim)
        async with transaction.around():
            await write(sessions, writer)  # joins the ambient transaction
            await asyncio.sleep(0)
        if writer % 2:
            await transaction.abandon()
        else:
            await transaction.commit()
        inside -= 1

    await asyncio.gather(*(ambient(writer) for writer in range(16)))
    assert most_inside == 1
    assert await committed(engine) == [
        stored for writer in range(0, 16, 2) for stored in (-1, writer)
    ]
    assert await gate_is_free(sessions)


async def test_an_ambient_transaction_that_failed_to_begin_frees_the_gate_on_abandon(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    async def refuse(session: AsyncSession) -> None:
        raise LookupError("replay")

    transaction = AmbientTransaction(sessions, refuse)
    with pytest.raises(LookupError):
        async with transaction.around():
            await write(sessions, 1)
    assert not await gate_is_free(sessions)  # held until the transaction is ended
    await transaction.abandon()
    await the_next_writer_commits_alone(engine, sessions)


async def test_a_transaction_that_raises_frees_the_gate(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    with pytest.raises(ValueError):
        async with sessions.begin() as session:
            await session.execute(insert(_WRITES).values(writer=1))
            raise ValueError("refused")
    await the_next_writer_commits_alone(engine, sessions)


async def test_a_writer_cancelled_while_holding_the_gate_frees_it(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    holding = asyncio.Event()

    async def hold() -> None:
        async with sessions.begin() as session:
            await session.execute(insert(_WRITES).values(writer=1))
            holding.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    queued = asyncio.create_task(write(sessions, 2))
    await asyncio.sleep(0)
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    await queued  # got the gate, and SQLite's lock with it: the holder rolled back first
    assert await committed(engine) == [2]
    assert await gate_is_free(sessions)


async def test_a_writer_cancelled_while_waiting_leaves_the_queue(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with sessions.begin() as session:
            await session.execute(insert(_WRITES).values(writer=1))
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    cancelled = asyncio.create_task(write(sessions, 2))
    later = asyncio.create_task(write(sessions, 3))
    await asyncio.sleep(0)  # both wait in line
    cancelled.cancel()
    release.set()
    await asyncio.gather(holder, later)
    assert cancelled.cancelled()
    assert await committed(engine) == [1, 3]
    assert await gate_is_free(sessions)


async def test_a_write_nested_in_the_same_task_fails_as_locked_instead_of_hanging(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    gate_of(sessions).timeout_s = 3600  # so it is not the wait that ends it
    other_factory = create_session_factory(engine)
    for inner in (sessions, other_factory):
        async with asyncio.timeout(60), sessions.begin() as session:
            await session.execute(insert(_WRITES).values(writer=1))
            with pytest.raises(OperationalError, match="database is locked") as raised:
                await write(inner, 2)
        assert getattr(raised.value.orig, "sqlite_errorname", None) == "SQLITE_BUSY"
    assert await gate_is_free(sessions)
    assert await committed(engine) == [1, 1]


async def test_waiting_for_the_gate_ends_as_locked_after_the_busy_timeout(
    engine: AsyncEngine, sessions: WriteSessions
) -> None:
    gate_of(sessions).timeout_s = 0.05
    async with sessions.begin() as session:
        await session.execute(insert(_WRITES).values(writer=1))
        # Another task (a child the holder waits for, say) gives up like SQLite would.
        with pytest.raises(OperationalError, match="database is locked") as raised:
            await asyncio.create_task(write(sessions, 2))
    assert any("waited" in note for note in getattr(raised.value, "__notes__", ()))
    assert await committed(engine) == [1]
    assert await gate_is_free(sessions)


async def test_reads_do_not_wait_for_the_gate(engine: AsyncEngine, sessions: WriteSessions) -> None:
    gate_of(sessions).timeout_s = 0.05  # a gated read would fail, not wait
    readers = create_read_only_session_factory(engine)
    await write(sessions, 1)

    async def read(factory: Any) -> list[int]:
        async with factory() as session:
            return list((await session.scalars(select(_WRITES.c.writer))).all())

    async with sessions.begin() as session:
        await session.execute(insert(_WRITES).values(writer=2))
        read_before_write = asyncio.create_task(read(sessions.reading))
        read_only = asyncio.create_task(read(readers))
        assert await read_before_write == [1]
        assert await read_only == [1]
    assert await committed(engine) == [1, 2]


async def test_one_gate_per_database_file(engine: AsyncEngine, tmp_path: Path) -> None:
    same_file = create_engine(str(engine.url))
    other_file = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        gate = create_session_factory(engine).gate
        assert gate is not None
        assert create_session_factory(engine).gate is gate
        assert create_session_factory(same_file).gate is gate
        assert create_session_factory(other_file).gate not in (None, gate)
    finally:
        await same_file.dispose()
        await other_file.dispose()


async def test_the_gate_serves_one_event_loop_after_another() -> None:
    gate = WriteGate(timeout_s=30)

    async def contend() -> list[int]:
        order: list[int] = []

        async def turn(writer: int) -> None:
            async with gate.held():
                order.append(writer)
                await asyncio.sleep(0)

        await asyncio.gather(*(turn(writer) for writer in range(3)))
        return order

    assert await contend() == [0, 1, 2]
    elsewhere: list[list[int]] = []
    thread = threading.Thread(target=lambda: elsewhere.append(asyncio.run(contend())))
    thread.start()
    await asyncio.to_thread(thread.join)
    assert elsewhere == [[0, 1, 2]]
    assert await contend() == [0, 1, 2]


async def test_only_sqlite_writers_are_gated(backend: str, tmp_path: Path) -> None:
    async with fresh_engine(backend, tmp_path, "registry") as engine:
        async with engine.begin() as connection:
            await connection.run_sync(_METADATA.create_all)
        sessions = create_session_factory(engine)
        if backend == "sqlite":
            assert isinstance(sessions.gate, WriteGate)
            return
        assert sessions.gate is None
        together = asyncio.Barrier(8)

        async def overlapping(writer: int) -> None:
            async with sessions.begin() as session:
                await session.execute(insert(_WRITES).values(writer=writer))
                async with asyncio.timeout(30):
                    await together.wait()  # all eight are in a transaction at once

        await asyncio.gather(*(overlapping(writer) for writer in range(8)))
        assert sorted(await committed(engine)) == list(range(8))
