"""Point reads' fast path: reopened when the SQLite file is replaced, bypassed when unusable."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.storage.db import create_engine, create_read_only_session_factory
from services.common.storage.point_reads import PointQuery, PointReader
from tests.support.databases import fresh_engine

_TABLE = Table(
    "things", MetaData(), Column("id", Integer, primary_key=True), Column("name", String)
)
_BY_ID = select(_TABLE.c.name).where(_TABLE.c.id == bindparam("id"))


def make_database(path: Path, name: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO things VALUES (1, ?)", (name,))
    connection.close()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    make_database(tmp_path / "things.db", "first")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'things.db'}")
    yield engine
    await engine.dispose()


async def test_a_replaced_sqlite_file_is_reopened(engine: AsyncEngine, tmp_path: Path) -> None:
    reader = PointReader(engine, create_read_only_session_factory(engine))
    query = reader.query(_BY_ID)
    try:
        assert await query.first({"id": 1}) == ("first",)
        make_database(tmp_path / "other.db", "second")
        os.replace(tmp_path / "other.db", tmp_path / "things.db")
        assert await query.first({"id": 1}) == ("second",)
        assert await query.first({"id": 2}) is None
    finally:
        await reader.close()


async def test_the_sqlite_fast_path_is_read_only(engine: AsyncEngine) -> None:
    reader = PointReader(engine, create_read_only_session_factory(engine))
    try:
        await reader.query(_BY_ID).first({"id": 1})
        connection = reader._backend._file.current()  # type: ignore[union-attr]
        with pytest.raises(sqlite3.OperationalError):
            connection.execute("DELETE FROM things")
    finally:
        await reader.close()


async def test_a_missing_file_uses_the_session_path(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = PointReader(engine, create_read_only_session_factory(engine))
    query = reader.query(_BY_ID)
    used: list[Any] = []

    async def via_session(self: PointQuery, params: Any) -> tuple[str]:
        used.append(params)
        return ("from session",)

    monkeypatch.setattr(PointQuery, "first_via_session", via_session)
    (tmp_path / "things.db").unlink()
    try:
        assert await query.first({"id": 1}) == ("from session",)
        assert used == [{"id": 1}]
    finally:
        await reader.close()


async def test_an_unreachable_postgresql_uses_the_session_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/nothing")
    reader = PointReader(engine, create_read_only_session_factory(engine))
    query = reader.query(_BY_ID)

    async def via_session(self: PointQuery, params: Any) -> tuple[str]:
        return ("from session",)

    monkeypatch.setattr(PointQuery, "first_via_session", via_session)
    try:
        assert await query.first({"id": 1}) == ("from session",)
        assert await query.first({"id": 1}) == ("from session",)  # no retry storm: still fine
    finally:
        await reader.close()
        await engine.dispose()


async def test_all_rows_on_the_fast_path_and_through_the_session(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite3.connect(tmp_path / "things.db") as connection:
        connection.execute("INSERT INTO things VALUES (2, 'second'), (3, 'third')")
    connection.close()
    reader = PointReader(engine, create_read_only_session_factory(engine))
    query = reader.query(select(_TABLE.c.name).where(_TABLE.c.id >= bindparam("id")))
    try:
        assert sorted(await query.all({"id": 2})) == [("second",), ("third",)]
        assert await query.all({"id": 9}) == []
        assert sorted(await query.all_via_session({"id": 1})) == sorted(await query.all({"id": 1}))

        async def via_session(self: PointQuery, params: Any) -> list[tuple[str]]:
            return [("from session",)]

        monkeypatch.setattr(PointQuery, "all_via_session", via_session)
        (tmp_path / "things.db").unlink()
        assert await query.all({"id": 1}) == [("from session",)]
    finally:
        await reader.close()


async def test_a_postgresql_read_is_one_round_trip_with_no_reset_after_it(tmp_path: Path) -> None:
    async with fresh_engine("postgresql", tmp_path, "registry") as engine:
        async with engine.begin() as connection:
            await connection.run_sync(_TABLE.metadata.create_all)
            await connection.execute(_TABLE.insert().values(id=1, name="first"))
        reader = PointReader(engine, create_read_only_session_factory(engine))
        query = reader.query(_BY_ID)
        try:
            for _ in range(20):
                assert await query.first({"id": 1}) == ("first",)
            async with engine.connect() as connection:
                last_statements = (
                    (
                        await connection.exec_driver_sql(
                            "SELECT query FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                    .scalars()
                    .all()
                )
        finally:
            await reader.close()
    # The read pool's connection last ran the point read itself: asyncpg's default reset
    # (a second round trip per read, "... UNLISTEN *; RESET ALL;") never followed it.
    assert any("FROM things" in statement for statement in last_statements), last_statements
    assert not any("RESET ALL" in statement for statement in last_statements), last_statements
