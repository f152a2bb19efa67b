"""Walking a list RPC's keyset pages, for REST lists that answer in one piece."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from services.common.storage.pagination import MAX_PAGE_SIZE

Item = TypeVar("Item")


async def collect_all(
    fetch: Callable[[int, str], Awaitable[tuple[Sequence[Item], str]]],
) -> list[Item]:
    """Every item of a list RPC, walking its keyset pages of :data:`MAX_PAGE_SIZE`.

    ``fetch(page_size, page_token)`` returns one page and the next token ("" at the end);
    keyset paging means items added meanwhile are not repeated.
    """
    items: list[Item] = []
    token = ""
    while True:
        page, token = await fetch(MAX_PAGE_SIZE, token)
        items.extend(page)
        if not token:
            return items
