"""Appending batches of rows to one table, off the event loop's back: the journal's writer.

``BulkInserter.insert`` writes a batch in one transaction. Each item
becomes a row through the inserter's ``to_row``; the values are encoded by the table's own
column types for the engine's dialect, so the stored rows are exactly those SQLAlchemy's
Core ``insert`` would store.

* SQLite: a dedicated ``sqlite3`` connection on the same file, used from one worker
  thread of its own. Through the session path, SQLAlchemy's per-row parameter handling runs
  on the event-loop thread and every statement is a round trip through aiosqlite's thread;
  on this path the loop only hands the batch over, and the thread builds, encodes and
  writes the rows, up to :data:`ROWS_PER_STATEMENT` per ``INSERT``. Not ``executemany``:
  it steps once per row, releasing the GIL for each step and waiting to win it back from
  the busy event loop (up to the 5 ms switch interval) before the next row, so the
  writer crawled and every step forced a GIL hand-over on the loop.
* Other engines (PostgreSQL): rows built on the loop, Core ``insert`` executemany through
  a write session (asyncpg sends the batch in one round trip).

Any ``sqlite3.Error`` on the SQLite path (the file replaced, a lock held past the busy
timeout) rolls that batch back and writes it through the session path instead, so the
fast path can only be faster, never lose a batch the session path would have written.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.storage.db import SQLITE_BUSY_TIMEOUT_MS
from services.common.storage.sqlite_file import FileBoundConnection

_log = logging.getLogger(__name__)

Row = Mapping[str, Any]
"""Column name -> value; a column left out is NULL."""
RowBuilder = Callable[[Any], Row]
"""Turns one item handed to :meth:`BulkInserter.insert` into its row; pure, thread-safe."""
_CLOSE_TIMEOUT_S: Final = 5.0
ROWS_PER_STATEMENT: Final = 64
"""Rows per multi-row ``INSERT`` on the SQLite path (fewer if the build's variable limit
needs): one GIL round trip per statement instead of per row."""


class BulkInserter:
    """Batches of items, each made a row by ``to_row``, into ``table``; :meth:`close` on shutdown.

    ``to_row`` defaults to taking each item as its row already.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        to_row: RowBuilder = lambda row: row,
    ) -> None:
        self._sessions = sessions
        self._to_row = to_row
        self._core = insert(table)
        self._names = tuple(column.name for column in table.columns)
        self._sqlite: _SqliteAppender | None = None
        path = engine.url.database
        if engine.dialect.name == "sqlite" and path and path != ":memory:":
            self._sqlite = _SqliteAppender(path, table, self._names, engine, to_row)

    async def insert(self, items: Sequence[Any]) -> None:
        """Write the rows of ``items`` in one transaction; raises if the session path fails too."""
        if not items:
            return
        if self._sqlite is not None:
            try:
                await self._sqlite.append(items)
                return
            except sqlite3.Error as error:
                _log.warning(
                    "bulk insert into %s fell back to the session path: %r", self._core.table, error
                )
        rows = [self._to_row(item) for item in items]
        complete = [{name: row.get(name) for name in self._names} for row in rows]
        async with self._sessions.begin() as session:
            connection = await session.connection()
            await connection.execute(self._core, complete)

    async def close(self) -> None:
        """Close the SQLite connection and stop its thread (the session path needs nothing)."""
        if self._sqlite is not None:
            await self._sqlite.close()


class _SqliteAppender:
    """One read-write connection, only ever used from its one worker thread."""

    def __init__(
        self,
        path: str,
        table: Table,
        names: tuple[str, ...],
        engine: AsyncEngine,
        to_row: RowBuilder,
    ) -> None:
        dialect = engine.dialect
        self._to_row = to_row
        self._names = names
        compiled = insert(table).compile(dialect=dialect, column_keys=list(self._names))
        order = compiled.positiontup or []
        if tuple(order) != self._names:
            raise ValueError(f"unexpected parameter order for {table.name}: {order}")
        self._head, _, one_row = str(compiled).rpartition(" VALUES ")
        if one_row != "(" + ", ".join("?" * len(self._names)) + ")":
            raise ValueError(f"unexpected VALUES clause for {table.name}: {one_row}")
        self._one_row = one_row
        self._statements: dict[int, str] = {}
        encoders = (
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns
        )
        self._encoded: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (index, encoder) for index, encoder in enumerate(encoders) if encoder is not None
        )
        """(column index, encoder) of the columns whose type encodes values; most pass as is."""
        self._file = FileBoundConnection(path, _open_for_appending)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{table.name}-writer")

    async def append(self, items: Sequence[Any]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, items)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.run_in_executor(self._thread, self._file.close), timeout=_CLOSE_TIMEOUT_S
            )
        finally:
            self._thread.shutdown(wait=False)

    def _write(self, items: Sequence[Any]) -> None:
        to_row = self._to_row
        encoded = [self._encode(to_row(item)) for item in items]
        connection = self._file.current()
        per_statement = min(
            ROWS_PER_STATEMENT,
            connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(self._names),
        )
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                start = 0
                for rows in _statement_sizes(len(encoded), per_statement):
                    values = [value for row in encoded[start : start + rows] for value in row]
                    connection.execute(self._statement(rows), values)
                    start += rows
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error:
            self._file.close()
            raise

    def _statement(self, rows: int) -> str:
        found = self._statements.get(rows)
        if found is None:
            found = self._statements[rows] = (
                f"{self._head} VALUES {', '.join([self._one_row] * rows)}"
            )
        return found

    def _encode(self, row: Row) -> list[Any]:
        values = [row.get(name) for name in self._names]
        for index, encoder in self._encoded:
            value = values[index]
            if value is not None:
                values[index] = encoder(value)
        return values


def _statement_sizes(rows: int, largest: int) -> list[int]:
    """Rows per statement for a batch of ``rows``: ``largest`` while they last, then the tail
    in powers of two, so a connection prepares (and its statement cache keeps) a handful of
    statements instead of one per tail length (each of them sized by its parameters)."""
    sizes = [largest] * (rows // largest)
    tail = rows % largest
    while tail:
        size = 1 << (tail.bit_length() - 1)
        sizes.append(size)
        tail -= size
    return sizes


def _open_for_appending(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path,
        timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
        check_same_thread=False,  # opened, used and closed in the appender's one worker thread
    )
    try:
        connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error:
        connection.close()
        raise
    return connection
