"""This process's queue for write transactions, one per SQLite database file.

SQLite lets one connection at a time hold a database's write lock, and every write
transaction takes it up front (``BEGIN IMMEDIATE``, see ``db.py``). A connection that finds
it taken sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms) and looks again, so the
coroutines of one process racing for it wait in those sleeps, often long after the lock was
freed: ``POST /inbound/assign`` had a p99 of 470-550 ms at 16 in flight and 700-760 ms at 64,
150-160 and 245-260 ms behind the gate. Behind the gate they queue first, in arrival order,
on an ``asyncio.Lock``, and only the head of the queue issues ``BEGIN``; the busy handler
then only arbitrates with writers outside the gate: other processes (replicas on one file,
migrations at start-up) and the journal's own connection in ``bulk_insert.py``.

The gate only orders; SQLite's lock still decides. A writer that bypasses the gate is slower
under contention, never wrong. Waiting for the gate is bounded like waiting for the lock,
and ends in the error SQLite itself raises then: ``OperationalError`` "database is locked".
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine


class WriteGate:
    """One write transaction at a time of this process on one SQLite database, FIFO."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        """The longest wait for the gate before "database is locked" (tests shorten it)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the gate for the block: wait in line (at most ``timeout_s``), release at its end."""
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # Only this task could release it: a write transaction nested in its own.
            raise database_locked("this task already holds the SQLite write gate")
        lock = self._lock_of_running_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                await lock.acquire()
        except TimeoutError:
            raise database_locked(
                f"waited {self.timeout_s:g} s for this process's SQLite write gate"
            ) from None
        self._holder = task
        try:
            yield
        finally:
            if self._holder is task:
                self._holder = None
            lock.release()

    def _lock_of_running_loop(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to the loop it first waits on; each loop gets its own
        # (tests run several, one after another).
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._lock, self._holder = loop, asyncio.Lock(), None
        return self._lock


def database_locked(detail: str) -> OperationalError:
    """The error SQLite raises when its busy timeout runs out, with ``detail`` as a note."""
    cause = sqlite3.OperationalError("database is locked")
    cause.sqlite_errorcode = sqlite3.SQLITE_BUSY
    cause.sqlite_errorname = "SQLITE_BUSY"
    error = OperationalError("BEGIN IMMEDIATE", None, cause)
    error.add_note(detail)
    return error


_GATES: weakref.WeakValueDictionary[str, WriteGate] = weakref.WeakValueDictionary()
"""Live gates by database; a gate lives as long as a session factory uses it."""


def write_gate(engine: AsyncEngine, timeout_s: float) -> WriteGate | None:
    """The gate of ``engine``'s database, None unless it is SQLite.

    Every engine of this process on the same file shares it (SQLite's lock is per file);
    an in-memory database is its engine's own.
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if database and database != ":memory:":
        key = str(Path(database).resolve())
    else:
        key = f"engine {id(engine.sync_engine)}"
    gate = _GATES.get(key)
    if gate is None:
        gate = WriteGate(timeout_s)
        _GATES[key] = gate
    return gate
