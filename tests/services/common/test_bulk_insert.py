"""Bulk inserts: the SQLite fast path stores exactly what Core's insert would, and falls back."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.storage import bulk_insert
from services.common.storage.bulk_insert import BulkInserter
from services.common.storage.db import create_engine, create_session_factory
from services.common.storage.orm import UTCDateTime

_METADATA = MetaData()
_TABLE = Table(
    "events",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("later", UTCDateTime()),
    Column("ms", Float),
)
_ROWS = [
    {"id": 1, "name": "whole second", "at": datetime(2026, 12, 6, 9, 0, tzinfo=UTC), "ms": 1.5},
    {
        "id": 2,
        "name": "micro",
        "at": datetime(2026, 12, 6, 9, 0, 0, 123, tzinfo=UTC),
        "later": datetime(2030, 1, 1, tzinfo=UTC),
    },
]


async def sqlite_engine(path: Path, metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """An engine on a new SQLite file at ``path`` holding ``metadata``'s tables."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for created in sqlite_engine(tmp_path / "events.db", _METADATA):
        yield created


async def stored(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(_TABLE).order_by(_TABLE.c.id))
        return [tuple(row) for row in rows]


async def raw_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT * FROM events ORDER BY id").fetchall()


async def core_raw_rows(engine: AsyncEngine, path: Path) -> list[tuple[Any, ...]]:
    """What Core's own insert of ``_ROWS`` stores, as raw SQLite values (the table emptied)."""
    async with engine.begin() as connection:
        await connection.execute(_TABLE.delete())
        complete = [
            {column.name: row.get(column.name) for column in _TABLE.columns} for row in _ROWS
        ]
        await connection.execute(insert(_TABLE), complete)
    return await raw_rows(path)


def cannot_open(path: str) -> sqlite3.Connection:
    raise sqlite3.OperationalError("unable to open database file")


@pytest.mark.parametrize("path", ["fast", "session fallback"])
async def test_either_path_stores_what_core_stores(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if path == "session fallback":
        monkeypatch.setattr(bulk_insert, "_open_for_appending", cannot_open)
    inserter = BulkInserter(engine, create_session_factory(engine), _TABLE)
    try:
        await inserter.insert(_ROWS)
    finally:
        await inserter.close()
    written = await raw_rows(tmp_path / "events.db")
    decoded = await stored(engine)
    assert await core_raw_rows(engine, tmp_path / "events.db") == written  # byte for byte
    assert decoded == await stored(engine)
    assert decoded[1] == (2, "micro", _ROWS[1]["at"], _ROWS[1]["later"], None)


async def test_rows_are_made_on_the_calling_thread_never_in_the_writers(
    engine: AsyncEngine,
) -> None:
    # Python work in the writer's thread would contend with the event loop for the GIL.
    built_on: set[int] = set()

    def to_row(item: dict[str, Any]) -> dict[str, Any]:
        built_on.add(threading.get_ident())
        return item

    inserter = BulkInserter(engine, create_session_factory(engine), _TABLE, to_row)
    try:
        prepared = [inserter.prepare(row) for row in _ROWS]
        await inserter.write(prepared)
    finally:
        await inserter.close()
    assert built_on == {threading.get_ident()}
    assert [row[0] for row in await stored(engine)] == [1, 2]


def _many_rows(count: int) -> list[dict[str, Any]]:
    at = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    return [{"id": i, "name": f"row {i}", "at": at, "ms": i / 4} for i in range(1, count + 1)]


@pytest.mark.parametrize("variable_limit", [None, 12])
async def test_a_batch_longer_than_one_statement_lands_whole_and_in_order(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, variable_limit: int | None
) -> None:
    if variable_limit is not None:
        # An SQLite built with a low variable limit: two 5-column rows per statement.
        opened = bulk_insert._open_for_appending

        def limited(path: str) -> sqlite3.Connection:
            connection = opened(path)
            connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variable_limit)
            return connection

        monkeypatch.setattr(bulk_insert, "_open_for_appending", limited)
    rows = _many_rows(2 * bulk_insert.ROWS_PER_STATEMENT + 3)
    inserter = BulkInserter(engine, create_session_factory(engine), _TABLE)
    try:
        await inserter.insert(rows)
    finally:
        await inserter.close()
    assert await stored(engine) == [
        (row["id"], row["name"], row["at"], None, row["ms"]) for row in rows
    ]


def test_batches_of_any_length_need_only_a_handful_of_statement_shapes() -> None:
    # Each distinct row count is a statement the connection prepares and caches.
    largest = bulk_insert.ROWS_PER_STATEMENT
    shapes: set[int] = set()
    for rows in range(5 * largest):
        sizes = bulk_insert._statement_sizes(rows, largest)
        assert sum(sizes) == rows
        assert sizes == sorted(sizes, reverse=True)
        shapes.update(sizes)
    assert shapes == {1 << bit for bit in range(largest.bit_length())}


@pytest.fixture
def warnings_logged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The inserter's warnings, as logged from here on."""
    logged: list[str] = []
    monkeypatch.setattr(
        bulk_insert._log, "warning", lambda message, *args: logged.append(message % args)
    )
    return logged


async def test_a_duplicate_in_a_later_statement_rolls_back_the_earlier_ones(
    engine: AsyncEngine, warnings_logged: list[str]
) -> None:
    fell_back = warnings_logged
    rows = _many_rows(bulk_insert.ROWS_PER_STATEMENT + 2)
    inserter = BulkInserter(engine, create_session_factory(engine), _TABLE)
    try:
        with pytest.raises(Exception, match="UNIQUE"):
            await inserter.insert([*rows, rows[0]])
    finally:
        await inserter.close()
    assert fell_back and "UNIQUE" in fell_back[0]  # the fast path failed first, then Core did
    assert await stored(engine) == []


async def test_a_failed_batch_is_rolled_back_whole(engine: AsyncEngine) -> None:
    inserter = BulkInserter(engine, create_session_factory(engine), _TABLE)
    try:
        await inserter.insert(_ROWS[:1])
        with pytest.raises(Exception, match="UNIQUE"):
            # The fast path fails on the duplicate, the session path then fails the same way.
            await inserter.insert([{**_ROWS[1]}, {**_ROWS[0]}])
        await inserter.insert(_ROWS[1:])
    finally:
        await inserter.close()
    assert [row[0] for row in await stored(engine)] == [1, 2]


async def test_a_replaced_file_is_reopened(engine: AsyncEngine, tmp_path: Path) -> None:
    inserter = BulkInserter(engine, create_session_factory(engine), _TABLE)
    try:
        await inserter.insert(_ROWS[:1])
        replacement = tmp_path / "replacement.db"
        fresh = create_sync_engine(f"sqlite:///{replacement}")
        _METADATA.create_all(fresh)
        fresh.dispose()
        original = tmp_path / "events.db"
        with sqlite3.connect(original) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        for leftover in ("events.db-wal", "events.db-shm"):  # they belong to the old file
            (tmp_path / leftover).unlink(missing_ok=True)
        os.replace(replacement, original)
        await inserter.insert(_ROWS[1:])
    finally:
        await inserter.close()
    assert [row[0] for row in await raw_rows(tmp_path / "events.db")] == [2]


async def test_batches_from_concurrent_writers_all_land(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    inserters = [BulkInserter(engine, sessions, _TABLE) for _ in range(3)]

    async def write(index: int) -> None:
        inserter = inserters[index % 3]
        rows = [
            {"id": index * 100 + n, "name": f"w{index}", "at": datetime.now(UTC)} for n in range(50)
        ]
        await inserter.insert(rows)

    try:
        await asyncio.gather(*(write(index) for index in range(12)))
    finally:
        for inserter in inserters:
            await inserter.close()
    assert len(await stored(engine)) == 12 * 50


_KEYED_METADATA = MetaData()
_KEYED = Table(
    "keyed",
    _KEYED_METADATA,
    Column("id", Integer, primary_key=True),
    Column("key", Integer, index=True),
    Column("parked", Integer),
)
_EVERY = 8


@pytest.fixture
async def keyed_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for created in sqlite_engine(tmp_path / "keyed.db", _KEYED_METADATA):
        yield created


def keyed_inserter(engine: AsyncEngine) -> BulkInserter:
    deferred = bulk_insert.DeferredIndex("key", "parked", every_rows=_EVERY)
    return BulkInserter(engine, create_session_factory(engine), _KEYED, deferred=deferred)


def keyed_rows(first: int, count: int) -> list[dict[str, int]]:
    return [{"id": i, "key": 1000 + i} for i in range(first, first + count)]


async def keyed_stored(engine: AsyncEngine) -> dict[int, tuple[int | None, int | None]]:
    """id -> (key, parked)."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(_KEYED).order_by(_KEYED.c.id))
        return {row.id: (row.key, row.parked) for row in rows}


def indexed(first: int, count: int) -> dict[int, tuple[int | None, int | None]]:
    return {i: (1000 + i, None) for i in range(first, first + count)}


def parked(first: int, count: int) -> dict[int, tuple[int | None, int | None]]:
    return {i: (None, 1000 + i) for i in range(first, first + count)}


async def test_a_deferred_column_is_indexed_every_so_many_rows_not_per_batch(
    keyed_engine: AsyncEngine,
) -> None:
    inserter = keyed_inserter(keyed_engine)
    try:
        # The first batch on a connection also indexes what an earlier writer left parked.
        await inserter.insert(keyed_rows(1, 3))
        assert await keyed_stored(keyed_engine) == indexed(1, 3)
        await inserter.insert(keyed_rows(4, 5))
        await inserter.insert(keyed_rows(9, 2))
        assert await keyed_stored(keyed_engine) == {**indexed(1, 3), **parked(4, 7)}
        await inserter.insert(keyed_rows(11, 1))  # the 8th row since the last move
        assert await keyed_stored(keyed_engine) == indexed(1, 11)
        await inserter.insert(keyed_rows(12, 2))
        assert await keyed_stored(keyed_engine) == {**indexed(1, 11), **parked(12, 2)}
        await inserter.index_deferred()
        assert await keyed_stored(keyed_engine) == indexed(1, 13)
        await inserter.insert(keyed_rows(14, 1))
    finally:
        await inserter.close()
    assert await keyed_stored(keyed_engine) == indexed(1, 14)  # closing indexes the rest


async def test_values_left_parked_are_indexed_by_the_next_writer(
    keyed_engine: AsyncEngine,
) -> None:
    # As after a restart, or from another replica: its first batch indexes what is parked.
    first, second = keyed_inserter(keyed_engine), keyed_inserter(keyed_engine)
    try:
        await first.insert(keyed_rows(1, 1))
        await first.insert(keyed_rows(2, 2))
        assert await keyed_stored(keyed_engine) == {**indexed(1, 1), **parked(2, 2)}
        await second.insert(keyed_rows(4, 1))
        assert await keyed_stored(keyed_engine) == indexed(1, 4)
    finally:
        await first.close()
        await second.close()


async def test_a_failed_move_leaves_the_batch_written_and_is_tried_again(
    keyed_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, warnings_logged: list[str]
) -> None:
    inserter = keyed_inserter(keyed_engine)
    try:
        await inserter.insert(keyed_rows(1, 1))
        original = bulk_insert._Deferral.index
        failures = iter([sqlite3.OperationalError("database is locked")])

        def flaky(self: Any, connection: sqlite3.Connection) -> None:
            failure = next(failures, None)
            if failure is not None:
                raise failure
            original(self, connection)

        monkeypatch.setattr(bulk_insert._Deferral, "index", flaky)
        await inserter.insert(keyed_rows(2, _EVERY))
        assert await keyed_stored(keyed_engine) == {**indexed(1, 1), **parked(2, _EVERY)}
        assert any("locked" in warning for warning in warnings_logged)
        await inserter.insert(keyed_rows(2 + _EVERY, 1))
        assert await keyed_stored(keyed_engine) == indexed(1, _EVERY + 2)
    finally:
        await inserter.close()


async def test_the_session_fallback_parks_deferred_values_too(
    keyed_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_insert, "_open_for_appending", cannot_open)
    inserter = keyed_inserter(keyed_engine)
    try:
        await inserter.insert(keyed_rows(1, 2))
    finally:
        await inserter.close()  # cannot index them either: logged, not raised
    # Stored as the fast path stores them; a writer that can open the file indexes them.
    assert await keyed_stored(keyed_engine) == parked(1, 2)
