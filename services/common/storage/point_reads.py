"""Indexed reads for hot paths without the ORM session: same SQL, same decoded values.

``PointQuery`` runs one compiled SELECT and returns its first row (or all its rows),
decoded by the statement's own SQLAlchemy result processors, so callers see exactly
what ``session.execute(statement).first()`` (``.all()``) would return:

* SQLite: a dedicated read-only ``sqlite3`` connection on the same file (``mode=ro``,
  ``PRAGMA query_only``, autocommit, so every read is its own WAL snapshot of the latest
  commit), used directly on the event-loop thread. An indexed point query takes tens of
  microseconds, far less than aiosqlite's worker-thread round trips. It never waits for a
  lock (busy timeout 0) and is reopened when the database file is replaced.
* PostgreSQL: a small dedicated asyncpg pool from the engine's URL; the statement is
  prepared once per connection, then each read is one round trip.

Any error on the fast path (busy, I/O, lost connection) falls back to the engine's
session path for that read, so the fast path can only be faster, never wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.storage.db import asyncpg_dsn, behind_pgbouncer
from services.common.storage.sqlite_file import FileBoundConnection

_log = logging.getLogger(__name__)

POOL_SIZE: Final = 4
"""PostgreSQL connections of one point reader (one process, one event loop)."""
RETRY_AFTER_S: Final = 1.0
"""After the fast path could not be set up, use the session path this long before retrying."""

Row = tuple[Any, ...]
_Processor = Callable[[Any], Any] | None


class PointReader:
    """The fast path to one database, shared by its :class:`PointQuery` objects.

    Call :meth:`close` on shutdown.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        fallback: async_sessionmaker[AsyncSession],
        *,
        pool_size: int = POOL_SIZE,
    ) -> None:
        self._engine = engine
        self._fallback = fallback
        self._backend: _Backend | None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            self._backend = _SqliteBackend(url.database)
        elif url.get_backend_name() == "postgresql":
            self._backend = _AsyncpgBackend(
                asyncpg_dsn(engine.url),
                engine.dialect,
                pool_size,
                statement_cache_size=0 if behind_pgbouncer(engine.url) else None,
            )
        else:
            self._backend = None

    def query(self, statement: Select[Any]) -> PointQuery:
        """``statement`` prepared for :meth:`PointQuery.first` and :meth:`PointQuery.all`."""
        return PointQuery(statement, self._engine.dialect, self._backend, self._fallback)

    async def close(self) -> None:
        """Release the fast path's connection(s)."""
        if self._backend is not None:
            await self._backend.close()


class PointQuery:
    """``first(params)``: the first row of one SELECT for ``params``, or None; ``all(params)``.

    ``params`` go to the driver as they are (plain strings and numbers: the statement's
    bind parameters must need no type processing).
    """

    def __init__(
        self,
        statement: Select[Any],
        dialect: Dialect,
        backend: _Backend | None,
        fallback: async_sessionmaker[AsyncSession],
    ) -> None:
        self._statement = statement
        self._backend = backend
        self._fallback = fallback
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._processors = _result_processors(statement, dialect)

    async def first(self, params: Mapping[str, Any]) -> Row | None:
        """The first row, decoded; the session path when the fast one fails."""
        rows = await self._fast(params, one=True)
        if rows is None:
            return await self.first_via_session(params)
        return rows[0] if rows else None

    async def all(self, params: Mapping[str, Any]) -> list[Row]:
        """Every row, decoded; the session path when the fast one fails."""
        rows = await self._fast(params, one=False)
        return await self.all_via_session(params) if rows is None else rows

    async def first_via_session(self, params: Mapping[str, Any]) -> Row | None:
        """The same read through an ORM session (the fallback; also for comparisons)."""
        async with self._fallback() as session:
            result = await session.execute(self._statement, dict(params))
            row = result.first()
        return None if row is None else tuple(row)

    async def all_via_session(self, params: Mapping[str, Any]) -> list[Row]:
        """:meth:`all` through an ORM session."""
        async with self._fallback() as session:
            result = await session.execute(self._statement, dict(params))
            return [tuple(row) for row in result.all()]

    async def _fast(self, params: Mapping[str, Any], *, one: bool) -> list[Row] | None:
        """The decoded rows from the fast path, or None when it did not answer."""
        backend = self._backend
        if backend is None:
            return None
        args = [params[name] for name in self._names]
        try:
            found, raw = await backend.fetch(self._sql, args, one=one)
        except Exception as error:
            _log.debug("fast read failed, using the session path: %r", error)
            return None
        return [self._decode(row) for row in raw] if found else None

    def _decode(self, raw: Sequence[Any]) -> Row:
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self._processors, raw, strict=True)
        )


def _result_processors(statement: Select[Any], dialect: Dialect) -> tuple[_Processor, ...]:
    return tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.selected_columns
    )


class _Backend:
    """A fast path: ``(True, rows)`` when it answered, ``(False, [])`` when it cannot.

    ``one``: at most the first row is wanted.
    """

    async def fetch(
        self, sql: str, args: list[Any], *, one: bool
    ) -> tuple[bool, Sequence[Sequence[Any]]]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class _SqliteBackend(_Backend):
    """A read-only connection on the event-loop thread; reopened if the file is replaced."""

    def __init__(self, path: str) -> None:
        self._file = FileBoundConnection(path, _open_read_only)
        self._retry_at = 0.0

    async def fetch(
        self, sql: str, args: list[Any], *, one: bool
    ) -> tuple[bool, Sequence[Sequence[Any]]]:
        connection = self._current()
        if connection is None:
            return False, []
        try:
            cursor = connection.execute(sql, args)
            rows: list[Any] = cursor.fetchmany(1) if one else cursor.fetchall()
        except sqlite3.Error:
            self._file.close()
            raise
        return True, rows

    async def close(self) -> None:
        self._file.close()

    def _current(self) -> sqlite3.Connection | None:
        if time.monotonic() < self._retry_at:
            return None
        try:
            return self._file.current()
        except sqlite3.Error as error:
            _log.warning("read-only SQLite connection unavailable: %r", error)
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            return None


def _open_read_only(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(
        f"file:{quote(os.path.abspath(path))}?mode=ro",
        uri=True,
        timeout=0,  # never block the event loop on a lock: fall back instead
        isolation_level=None,  # autocommit: each SELECT sees the latest commit
        check_same_thread=False,
    )
    try:
        connection.execute("PRAGMA query_only=1")
    except sqlite3.Error:
        connection.close()
        raise
    return connection


class _AsyncpgBackend(_Backend):
    """A small asyncpg pool, created on first use; its JSON codecs mirror the dialect's."""

    def __init__(
        self, dsn: str, dialect: Dialect, size: int, *, statement_cache_size: int | None = None
    ) -> None:
        self._dsn = dsn
        self._options = (
            {} if statement_cache_size is None else {"statement_cache_size": statement_cache_size}
        )
        self._size = size
        self._json_loads: Callable[[str], Any] = (
            getattr(dialect, "_json_deserializer", None) or json.loads
        )
        self._pool: Any = None
        self._creating: asyncio.Lock | None = None
        self._retry_at = 0.0

    async def fetch(
        self, sql: str, args: list[Any], *, one: bool
    ) -> tuple[bool, Sequence[Sequence[Any]]]:
        pool = self._pool or await self._create()
        if pool is None:
            return False, []
        if one:
            row = await pool.fetchrow(sql, *args)
            return True, [] if row is None else [row]
        rows: list[Any] = await pool.fetch(sql, *args)
        return True, rows

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _create(self) -> Any:
        if time.monotonic() < self._retry_at:
            return None
        if self._creating is None:
            self._creating = asyncio.Lock()
        async with self._creating:
            if self._pool is None and time.monotonic() >= self._retry_at:
                try:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        init=self._init,
                        reset=_nothing_to_reset,
                        **self._options,
                    )
                except (OSError, asyncpg.PostgresError) as error:
                    _log.warning("asyncpg read pool unavailable: %r", error)
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
        return self._pool

    async def _init(self, connection: Any) -> None:
        loads = self._json_loads
        for name, prefix, skip in (("json", b"", 0), ("jsonb", b"\x01", 1)):
            await connection.set_type_codec(
                name,
                encoder=lambda value, prefix=prefix: prefix + value.encode(),
                decoder=lambda value, skip=skip: loads(value[skip:].decode()),
                schema="pg_catalog",
                format="binary",
            )


async def _nothing_to_reset(connection: Any) -> None:
    """A point-read connection goes back to the pool as it is.

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` whenever a connection is released: a second round trip for every read. These
    connections only ever run the point-read SELECTs, outside any transaction, so they hold
    no lock, cursor, listener or setting to undo (asyncpg still ends any transaction and
    cancels what was in flight before this is called).
    """
