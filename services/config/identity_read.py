"""``BatchGetAgentIdentities``' read: one indexed query for up to 1,000 ids of an account."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.storage.point_reads import PointQuery, PointReader
from services.config.repository import IdentityRow, identities_by_ids


def _bucket(count: int) -> int:
    """The smallest power of two >= ``count``: a handful of statements serve every size."""
    return 1 << max(count - 1, 0).bit_length()


class IdentityBatchReader:
    """The account's identities among a list of ids, on the fast read path."""

    def __init__(self, reader: PointReader) -> None:
        self._reader = reader
        self._queries: dict[int, PointQuery] = {}

    async def get(self, account_id: str, ids: Sequence[str]) -> list[IdentityRow]:
        """Those of ``ids`` (distinct) that are identities of ``account_id``, in no set order."""
        if not ids:
            return []
        size = _bucket(len(ids))
        query = self._queries.get(size)
        if query is None:
            query = self._queries[size] = self._reader.query(identities_by_ids(size))
        # Padding repeats the last id: the IN list matches the same rows.
        padded = [*ids, *([ids[-1]] * (size - len(ids)))]
        params = {f"id{index}": value for index, value in enumerate(padded)}
        rows = (IdentityRow._make(row) for row in await query.all(params))
        return [row for row in rows if row.account_id == account_id]
