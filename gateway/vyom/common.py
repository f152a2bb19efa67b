"""Helpers shared by the Vyom routes: the success envelope and paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from fastapi.responses import JSONResponse

from gateway.paging import collect_all
from gateway.rest_text import Text
from services.common.storage.pagination import MAX_PAGE_SIZE

PageSize = Annotated[
    int | None,
    Query(ge=1, description=f"Return one page of at most this many (max {MAX_PAGE_SIZE})."),
]
PageToken = Annotated[Text | None, Query(description="`next_page_token` of the previous page.")]

Item = TypeVar("Item")


def ok(message: str, data: Any, **extra: Any) -> JSONResponse:
    """The 200 success envelope ``{success: true, message, data}`` (plus ``extra`` keys)."""
    return JSONResponse({"success": True, "message": message, "data": data, **extra})


async def listing(
    message: str,
    fetch: Callable[[int, str], Awaitable[tuple[Sequence[Item], str]]],
    render: Callable[[Item], dict[str, Any]],
    *,
    page_size: int | None,
    page_token: str | None,
) -> JSONResponse:
    """A list answer: every item when the client did not page, else one page and its token.

    ``fetch(page_size, page_token)`` returns one page and the next token ("" at the end).
    """
    if page_size is None and page_token is None:
        return ok(message, [render(item) for item in await collect_all(fetch)])
    # The service caps pages at MAX_PAGE_SIZE anyway; capping here keeps the value an int32.
    page, token = await fetch(min(page_size or 0, MAX_PAGE_SIZE), page_token or "")
    return ok(message, [render(item) for item in page], next_page_token=token)
