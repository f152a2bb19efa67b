"""The one read of the routing hot path: the active mapping of a number, with its strategy
and the contact rule (if any) of the caller's number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.storage.point_reads import PointReader
from services.registry import repository
from services.registry.routing.caller_screening import MatchedRule
from services.registry.routing.context_lookup import StrategyRef


@dataclass(frozen=True, slots=True)
class ActiveMapping:
    """What routing needs of a matched mapping."""

    inbound_id: str
    account_id: str
    assistant_id: str | None
    strategy: StrategyRef | None
    filter_mode: str = "blacklist"
    caller_rule: MatchedRule | None = None
    max_concurrent_calls: int | None = None


class MappingLookup:
    """The routing read, on the process's fast point-read path (``storage/point_reads.py``).

    The statement is the registry repository's (``ACTIVE_MAPPING_OF_*``); this decodes its row.

    Never cached: every call reads the latest committed mapping, so a deleted or detached
    mapping stops routing at once on every replica.
    """

    def __init__(self, reader: PointReader) -> None:
        self._any_account = reader.query(repository.ACTIVE_MAPPING_OF_ANY_ACCOUNT)
        self._one_account = reader.query(repository.ACTIVE_MAPPING_OF_ACCOUNT)

    async def find(
        self, normalized_number: str, account_id: str | None, caller: str | None = None
    ) -> ActiveMapping | None:
        """The active mapping of ``normalized_number``; with ``account_id``, only if its own.

        ``caller`` (the caller's normalized number) selects the enforced contact rule read
        with it; None (a caller ID that does not normalize) matches no rule.
        """
        caller_key = caller or ""
        if account_id is None:
            row = await self._any_account.first({"number": normalized_number, "caller": caller_key})
        else:
            row = await self._one_account.first(
                {"number": normalized_number, "account_id": account_id, "caller": caller_key}
            )
        return None if row is None else _mapping(row)


def _mapping(row: tuple[Any, ...]) -> ActiveMapping:
    strategy = (
        StrategyRef(str(row[3]), str(row[4]), str(row[5]), dict(row[6] or {}))
        if row[3] is not None
        else None
    )
    rule = MatchedRule(str(row[8]), str(row[9])) if row[8] is not None else None
    return ActiveMapping(str(row[0]), str(row[1]), row[2], strategy, str(row[7]), rule, row[10])
