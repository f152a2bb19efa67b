"""Helpers shared by the Vyom routes: the success envelope, body text fields, paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Final, TypeVar

from fastapi.responses import JSONResponse
from google.protobuf.message import Message
from pydantic import AfterValidator

REST_PAGE_SIZE: Final = 1000
"""The services' largest page: used to collect a whole list when the client does not page."""

ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "Invalid request (`{success: false, message, data}`)"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Not found, or not visible to this API key"},
    422: {"description": "Malformed payload; `data.errors` lists the fields"},
}

Item = TypeVar("Item")


def _encodable(value: str) -> str:
    # Lone surrogates survive JSON decoding but cannot be sent as protobuf strings.
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]
"""A string body field that can be forwarded over gRPC."""


def ok(message: str, data: Any, **extra: Any) -> JSONResponse:
    """The 200 success envelope ``{success: true, message, data}`` (plus ``extra`` keys)."""
    return JSONResponse({"success": True, "message": message, "data": data, **extra})


def optional(message: Message, name: str) -> Any:
    """A field's value, or None (JSON null) when it is not set."""
    return getattr(message, name) if message.HasField(name) else None


def timestamp(message: Message, name: str) -> str | None:
    """A Timestamp field as RFC 3339 UTC with ``Z``, or None when not set."""
    return getattr(message, name).ToJsonString() if message.HasField(name) else None


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
    Collecting everything walks the keyset pages, so items added meanwhile are not repeated.
    """
    if page_size is None and page_token is None:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page, token = await fetch(REST_PAGE_SIZE, token)
            items.extend(render(item) for item in page)
            if not token:
                return ok(message, items)
    # The service caps pages at REST_PAGE_SIZE anyway; capping here keeps the value an int32.
    page, token = await fetch(min(page_size or 0, REST_PAGE_SIZE), page_token or "")
    return ok(message, [render(item) for item in page], next_page_token=token)
