"""A file-bound SQLite connection: kept while the file stays, reopened when it is replaced."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from services.common.storage.sqlite_file import FileBoundConnection


def _database(path: Path, name: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE which (name TEXT)")
        connection.execute("INSERT INTO which VALUES (?)", (name,))
    connection.close()


def _name(connection: sqlite3.Connection) -> str:
    return str(connection.execute("SELECT name FROM which").fetchone()[0])


def test_the_connection_follows_the_file_at_the_path(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _database(path, "first")
    opened: list[str] = []

    def connect(target: str) -> sqlite3.Connection:
        opened.append(target)
        return sqlite3.connect(target)

    bound = FileBoundConnection(str(path), connect)
    try:
        first = bound.current()
        assert bound.current() is first and _name(first) == "first" and len(opened) == 1
        _database(tmp_path / "other.sqlite", "second")
        os.replace(tmp_path / "other.sqlite", path)
        second = bound.current()
        assert second is not first and _name(second) == "second" and len(opened) == 2
        with pytest.raises(sqlite3.ProgrammingError):
            _name(first)  # the old file's connection was closed, not leaked
        path.unlink()
        with pytest.raises(sqlite3.OperationalError, match="unavailable"):
            bound.current()
        _database(path, "third")
        assert _name(bound.current()) == "third"
    finally:
        bound.close()


def test_a_failed_open_leaves_nothing_open_and_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    _database(path, "only")
    failures = [sqlite3.OperationalError("cannot open")]

    def connect(target: str) -> sqlite3.Connection:
        if failures:
            raise failures.pop()
        return sqlite3.connect(target)

    bound = FileBoundConnection(str(path), connect)
    with pytest.raises(sqlite3.OperationalError, match="cannot open"):
        bound.current()
    try:
        assert _name(bound.current()) == "only"
    finally:
        bound.close()
