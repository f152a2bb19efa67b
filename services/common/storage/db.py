"""Async engine and session factory construction for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from services.common.storage.sqlite_write_gate import WriteGate, write_gate

SQLITE_BUSY_TIMEOUT_MS = 5000


PGBOUNCER_QUERY = "pgbouncer"
"""``?pgbouncer=true`` on a PostgreSQL URL: the server is PgBouncer in transaction mode."""


def behind_pgbouncer(url: URL) -> bool:
    """Whether ``url`` says a transaction-pooling PgBouncer sits in front of PostgreSQL."""
    return str(url.query.get(PGBOUNCER_QUERY, "")).lower() in ("1", "true", "transaction")


def pgbouncer_connect_args() -> dict[str, Any]:
    """asyncpg/SQLAlchemy options that survive transaction pooling.

    A server connection is only ours for one transaction, so no prepared statement
    may outlive it: asyncpg keeps no statement cache, SQLAlchemy's asyncpg adapter
    none either, and names what it prepares uniquely (never reused on a server
    connection another client prepared on).
    """
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__sb_{uuid.uuid4().hex}__",
    }


def asyncpg_dsn(url: str | URL) -> str:
    """A SQLAlchemy PostgreSQL URL as the DSN asyncpg itself accepts (our flags dropped)."""
    parsed = make_url(url).difference_update_query([PGBOUNCER_QUERY])
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """True when ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def describe_database(url: str) -> str:
    """``url`` for an operator: a SQLite file's absolute path, else the URL (no password)."""
    parsed = make_url(url)
    if is_sqlite(url) and parsed.database and parsed.database != ":memory:":
        return str(Path(parsed.database).resolve())
    return parsed.render_as_string(hide_password=True)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Build an engine with the per-backend settings the services rely on.

    SQLite gets WAL, foreign keys and a busy timeout on every connection; its
    parent directory is created. PostgreSQL gets a pre-pinged pool.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if behind_pgbouncer(parsed):
        options["connect_args"] = pgbouncer_connect_args()
        engine = create_async_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **options
        )
        # The flag is ours, not asyncpg's: drop it from what is passed to connect().
        event.listen(engine.sync_engine, "do_connect", _without_pgbouncer_flag)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _without_pgbouncer_flag(
    dialect: Any, record: ConnectionPoolEntry, cargs: Any, cparams: dict[str, Any]
) -> None:
    cparams.pop(PGBOUNCER_QUERY, None)


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _begin_immediate) instead of pysqlite's
    # deferred implicit transactions, which deadlock writers under WAL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Writers take the write lock up front so concurrent writers queue rather than
    # failing with SQLITE_BUSY when a read transaction upgrades: within this process on
    # its write gate (WriteSessions), between processes on busy_timeout. Read-only
    # sessions (see read_only_session_factory) stay deferred.
    mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


_SQLITE_BEGIN_OPTION = "switchboard_sqlite_begin"


def create_session_factory(engine: AsyncEngine, **options: Any) -> WriteSessions:
    """The read-write session factory; one per process, built at start-up.

    ``options`` go to ``async_sessionmaker`` (the config process tracks its commits).
    """
    return WriteSessions(engine, expire_on_commit=False, **options)


class WriteSessions(async_sessionmaker[AsyncSession]):
    """Read-write sessions whose ``begin()`` joins the caller's :class:`AmbientTransaction`.

    Outside one (the usual case) ``begin()`` is SQLAlchemy's, a new session and a
    transaction committed at the end of the block, entered on SQLite only once the
    database's write gate (``sqlite_write_gate.py``) is this task's, until the block ends.
    A session taken with ``sessions()`` and written without ``begin()`` bypasses the gate.
    """

    def __init__(self, bind: AsyncEngine, **options: Any) -> None:
        super().__init__(bind, **options)
        self.gate: WriteGate | None = write_gate(bind, SQLITE_BUSY_TIMEOUT_MS / 1000)
        """This process's queue for write transactions on ``bind``'s database (SQLite only)."""

    def begin(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:  # type: ignore[override]
        """A session in a transaction: the ambient one (as a savepoint) when open, else new."""
        ambient = _AMBIENT.get()
        if ambient is not None and ambient.sessions is self:
            return ambient.join()
        if self.gate is None:
            return super().begin()
        return self._begin_gated(self.gate)

    @contextlib.asynccontextmanager
    async def _begin_gated(self, gate: WriteGate) -> AsyncIterator[AsyncSession]:
        async with gate.held(), super().begin() as session:
            yield session

    def reading(self) -> AsyncSession:
        """A session for a read before a write: on SQLite it does not take the write lock."""
        engine = self.kw["bind"].execution_options(**{_SQLITE_BEGIN_OPTION: "DEFERRED"})
        return AsyncSession(engine, expire_on_commit=False)


class AmbientTransaction:
    """One transaction that every ``sessions.begin()`` of the current task joins.

    A caller (see ``services.common.storage.idempotency``) opens it around a service call, so
    that work of its own (``on_begin`` first, ``finish`` last) commits atomically with
    the service's writes. The transaction starts lazily, at the service's first
    ``begin()``, so nothing done before it (validation, RPCs) holds a database lock; on
    SQLite it holds the write gate from then until :meth:`commit` or :meth:`abandon`, one of
    which must end it.
    """

    def __init__(
        self,
        sessions: WriteSessions,
        on_begin: Callable[[AsyncSession], Awaitable[None]],
    ) -> None:
        self.sessions = sessions
        self._on_begin = on_begin
        self._session: AsyncSession | None = None
        self._gate = contextlib.AsyncExitStack()

    @contextlib.asynccontextmanager
    async def around(self) -> AsyncIterator[None]:
        """Make this the ambient transaction of the current task for the block."""
        token = _AMBIENT.set(self)
        try:
            yield
        finally:
            _AMBIENT.reset(token)

    async def session(self) -> AsyncSession:
        """The open session, beginning the transaction (and running ``on_begin``) if needed."""
        if self._session is None:
            if self.sessions.gate is not None:
                await self._gate.enter_async_context(self.sessions.gate.held())
            session = self.sessions()
            self._session = session
            await session.begin()
            await self._on_begin(session)
        return self._session

    @contextlib.asynccontextmanager
    async def join(self) -> AsyncIterator[AsyncSession]:
        """A savepoint in the ambient transaction, as a service's ``begin()`` block."""
        session = await self.session()
        async with session.begin_nested():
            yield session

    async def commit(self) -> None:
        """Commit and close (the transaction must have begun)."""
        try:
            session = await self.session()
            try:
                await session.commit()
            finally:
                await session.close()
        finally:
            await self._gate.aclose()

    async def abandon(self) -> None:
        """Roll back and close whatever was begun."""
        try:
            if self._session is not None:
                try:
                    await self._session.rollback()
                finally:
                    await self._session.close()
        finally:
            await self._gate.aclose()


_AMBIENT: ContextVar[AmbientTransaction | None] = ContextVar(
    "switchboard_ambient_transaction", default=None
)


def create_read_only_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for pure reads: on SQLite they do not take the write lock."""
    reader = engine.execution_options(**{_SQLITE_BEGIN_OPTION: "DEFERRED"})
    return async_sessionmaker(reader, expire_on_commit=False)
