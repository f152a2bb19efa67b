"""A ``sqlite3`` connection bound to the file now at a path: reopened when the file is replaced.

Point reads (:mod:`services.common.storage.point_reads`) and the journal's bulk writer
(:mod:`services.common.storage.bulk_insert`) each keep a raw connection beside the engine's
pool. A connection follows the inode it opened, not the path: after a restored backup or a
test's fresh database is moved into place it would go on reading and writing the old,
unlinked file. Checking the file's identity (device, inode) before each use is one ``stat``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable


class FileBoundConnection:
    """The connection ``connect(path)`` opened on the file at ``path`` as it is now.

    Not thread-safe: used from one thread (the event loop's, or one worker's).
    """

    def __init__(self, path: str, connect: Callable[[str], sqlite3.Connection]) -> None:
        self._path = path
        self._connect = connect
        self._connection: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None

    def current(self) -> sqlite3.Connection:
        """The open connection, first reopened if the file was replaced.

        Raises ``sqlite3.OperationalError`` when no file is at the path (the old connection
        is closed), and what ``connect`` raises when it cannot open the new one.
        """
        try:
            stat = os.stat(self._path)
        except OSError as error:
            self.close()
            raise sqlite3.OperationalError(f"database file unavailable: {error}") from error
        identity = (stat.st_dev, stat.st_ino)
        if self._connection is not None and identity == self._identity:
            return self._connection
        self.close()
        self._connection = self._connect(self._path)
        self._identity = identity
        return self._connection

    def close(self) -> None:
        """Close the connection, if open; the next :meth:`current` opens a new one."""
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._identity = None
