"""Appending batches of rows to one table, off the event loop's back: the journal's writer.

A producer makes each item a row with ``BulkInserter.prepare`` when it has the item (on the
event loop, a few tens of microseconds), and ``BulkInserter.write`` writes a batch of
prepared rows in one transaction. ``prepare`` builds the row with the inserter's ``to_row``
and encodes its values by the table's own column types for the engine's dialect, so the
stored rows are exactly those SQLAlchemy's Core ``insert`` would store.

Rows are prepared where the item is produced, not in the writer's thread: any Python work
in a second thread competes with the event loop for the GIL, and the loop, which releases
the GIL at every system call, then waits for it again each time. Built in the thread, a
registry's batch every 0.2 s held up routing for 20-40 ms at a time (RouteCall p99 at 16 in
flight 30-35 ms against 14-18 ms without the journal); prepared on the loop, the same work
is spread over the requests that cause it.

* SQLite: a dedicated ``sqlite3`` connection on the same file, used from one worker
  thread of its own, which only executes: up to :data:`ROWS_PER_STATEMENT` rows per
  ``INSERT``, SQLite's own work done with the GIL released. Through the session path,
  every statement is a round trip through aiosqlite's thread. Not ``executemany``: it
  steps once per row, releasing the GIL for each step and waiting to win it back from the
  busy event loop (up to the 5 ms switch interval) before the next row.
* Other engines (PostgreSQL): Core ``insert`` executemany through a write session (asyncpg
  sends the batch in one round trip).

Any ``sqlite3.Error`` on the SQLite path (the file replaced, a lock held past the busy
timeout) rolls that batch back and writes the same values through the session path instead,
so the fast path can only be faster, never lose a batch the session path would have written.

A :class:`DeferredIndex` column (SQLite only) is stored NULL, its value parked in an
unindexed staging column, and moved across for many rows at once every
``DeferredIndex.every_rows`` rows. Why: when a column's values are random (a hash), each
new row's index entry lands on a random page of that index, so once the index outgrows a
batch nearly every row dirties (and writes to the WAL) a page of its own, and the cost per
row grows with the table. Moved across thousands at a time, rows share pages. Readers
must therefore also look at rows whose column is still NULL: at most about ``every_rows``
recent rows (and whatever an older version left), which the NULL end of the same index
finds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import Any, Final

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.compiler import IdentifierPreparer

from services.common.storage.db import SQLITE_BUSY_TIMEOUT_MS
from services.common.storage.sqlite_file import FileBoundConnection

_log = logging.getLogger(__name__)

Row = Mapping[str, Any]
"""Column name -> value; a column left out is NULL."""
RowBuilder = Callable[[Any], Row]
"""Turns one item handed to :meth:`BulkInserter.prepare` into its row."""
PreparedRow = list[Any]
"""A row from :meth:`BulkInserter.prepare`: its values in the table's column order."""
_CLOSE_TIMEOUT_S: Final = 5.0
ROWS_PER_STATEMENT: Final = 64
"""Rows per multi-row ``INSERT`` on the SQLite path (fewer if the build's variable limit
needs): one GIL round trip per statement instead of per row."""


@dataclass(frozen=True, slots=True)
class DeferredIndex:
    """An indexed column of random values whose index entries the SQLite path writes late.

    Rows are stored with ``column`` NULL and its value in ``staging`` (a column of the same
    type in no index); each time ``every_rows`` more rows have been written, one statement
    moves every staged value into ``column``. Other engines store ``column`` at once.
    """

    column: str
    staging: str
    every_rows: int


class BulkInserter:
    """Items made rows by ``to_row`` (:meth:`prepare`), written in batches into ``table``
    (:meth:`write`); :meth:`close` on shutdown. ``to_row`` defaults to taking each item as
    its row already. ``deferred``: a column whose index entries the SQLite path writes late.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        to_row: RowBuilder = lambda row: row,
        deferred: DeferredIndex | None = None,
    ) -> None:
        self._sessions = sessions
        self._to_row = to_row
        self._core = insert(table)
        self._names = tuple(column.name for column in table.columns)
        self._sqlite: _SqliteAppender | None = None
        path = engine.url.database
        if engine.dialect.name == "sqlite" and path and path != ":memory:":
            self._sqlite = _SqliteAppender(path, table, self._names, engine, deferred)

    def prepare(self, item: Any) -> PreparedRow:
        """``item``'s row as :meth:`write` takes it: its values in column order (a column
        ``to_row`` left out is NULL), encoded for SQLite when the fast path is in use."""
        row = self._to_row(item)
        if self._sqlite is not None:
            return self._sqlite.encode(row)
        return [row.get(name) for name in self._names]

    async def write(self, rows: Sequence[PreparedRow]) -> None:
        """Write prepared ``rows`` in one transaction; raises if the session path fails too."""
        if not rows:
            return
        if self._sqlite is not None:
            try:
                await self._sqlite.append(rows)
                return
            except sqlite3.Error as error:
                _log.warning(
                    "bulk insert into %s fell back to the session path: %r", self._core.table, error
                )
            async with self._sessions.begin() as session:
                connection = await session.connection()
                # The values are already encoded for SQLite: the appender's statement, as is.
                await connection.exec_driver_sql(self._sqlite.statement(1), list(map(tuple, rows)))
            return
        async with self._sessions.begin() as session:
            connection = await session.connection()
            named = [dict(zip(self._names, row, strict=True)) for row in rows]
            await connection.execute(self._core, named)

    async def insert(self, items: Sequence[Any]) -> None:
        """:meth:`prepare` each of ``items`` and :meth:`write` them."""
        await self.write([self.prepare(item) for item in items])

    async def index_deferred(self) -> None:
        """Move every staged value of the deferred column into it now (SQLite path only)."""
        if self._sqlite is not None:
            await self._sqlite.index_deferred()

    async def close(self) -> None:
        """Index what is deferred, close the SQLite connection and stop its thread (the
        session path needs nothing)."""
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
        deferred: DeferredIndex | None,
    ) -> None:
        dialect = engine.dialect
        self._names = names
        self._deferral: _Deferral | None = None
        if deferred is not None:
            self._deferral = _Deferral(deferred, table, names, dialect.identifier_preparer)
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

    async def append(self, rows: Sequence[PreparedRow]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, rows)

    async def index_deferred(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._index_deferred)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.run_in_executor(self._thread, self._index_and_close), timeout=_CLOSE_TIMEOUT_S
            )
        finally:
            self._thread.shutdown(wait=False)

    def _index_and_close(self) -> None:
        try:
            self._index_deferred()
        except sqlite3.Error as error:
            # Nothing is lost: readers see these rows through the NULL end of the index,
            # and the next writer to open the file indexes them.
            _log.warning("could not index deferred values before closing: %r", error)
        self._file.close()

    def _write(self, rows: Sequence[PreparedRow]) -> None:
        connection = self._file.current()
        per_statement = min(
            ROWS_PER_STATEMENT,
            connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(self._names),
        )
        try:
            with _write_transaction(connection):
                start = 0
                for size in _statement_sizes(len(rows), per_statement):
                    values = list(chain.from_iterable(rows[start : start + size]))
                    connection.execute(self.statement(size), values)
                    start += size
        except sqlite3.Error:
            self._file.close()
            raise
        if self._deferral is not None and self._deferral.due(connection, len(rows)):
            try:
                self._deferral.index(connection)
            except sqlite3.Error as error:
                # The batch is committed: tried again after the next one.
                _log.warning("could not index deferred values: %r", error)

    def _index_deferred(self) -> None:
        if self._deferral is not None:
            self._deferral.index(self._file.current())

    def statement(self, rows: int) -> str:
        """The ``INSERT`` of ``rows`` rows (positional parameters, column order)."""
        found = self._statements.get(rows)
        if found is None:
            found = self._statements[rows] = (
                f"{self._head} VALUES {', '.join([self._one_row] * rows)}"
            )
        return found

    def encode(self, row: Row) -> list[Any]:
        """``row``'s values in column order, each encoded by its column's type (a deferred
        column's value in its staging column)."""
        values = [row.get(name) for name in self._names]
        for index, encoder in self._encoded:
            value = values[index]
            if value is not None:
                values[index] = encoder(value)
        if self._deferral is not None:
            self._deferral.stage(values)
        return values


class _Deferral:
    """A :class:`DeferredIndex` on one table: staging values, and when and how to index them."""

    def __init__(
        self,
        spec: DeferredIndex,
        table: Table,
        names: tuple[str, ...],
        quote: IdentifierPreparer,
    ) -> None:
        self._column = names.index(spec.column)
        self._staging = names.index(spec.staging)
        self._every = spec.every_rows
        column, staging = quote.quote(spec.column), quote.quote(spec.staging)
        self._statement = (
            f"UPDATE {quote.format_table(table)} SET {column} = {staging}, {staging} = NULL "
            f"WHERE {column} IS NULL AND {staging} IS NOT NULL"
        )
        self._connection: sqlite3.Connection | None = None
        self._unindexed = 0

    def stage(self, values: list[Any]) -> None:
        values[self._staging] = values[self._column]
        values[self._column] = None

    def due(self, connection: sqlite3.Connection, written: int) -> bool:
        """Whether to index after ``written`` more rows: every ``every_rows`` rows, and after
        the first batch on a connection (staged by an earlier process or file)."""
        if connection is not self._connection:
            self._connection = connection
            self._unindexed = self._every
        self._unindexed += written
        return self._unindexed >= self._every

    def index(self, connection: sqlite3.Connection) -> None:
        """Move every staged value into the column, in one transaction."""
        with _write_transaction(connection):
            connection.execute(self._statement)
        self._unindexed = 0


@contextlib.contextmanager
def _write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """The block as one write transaction: the write lock taken up front, committed at its
    end, rolled back if it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


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
