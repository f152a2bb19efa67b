"""Request size limits of the gateway: 413 (body), 414 (URL), 431 (headers), in the dialect's shape.

An ASGI middleware, so the limits hold before any route reads the request. A refused request
still goes through routing, with an empty body and a :class:`Refusal` in its scope: the
dialect route it addresses renders the refusal in its own shape (``gateway/dialects.py``);
any other path gets ``{"detail": message}``. The HTTP server's own head limit
(:func:`server_head_limit`) is set well above the URL and header limits so that oversized
requests reach this check and get an answer instead of a dropped connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import GatewaySettings

MIN_SERVER_HEAD_BYTES: Final = 1024 * 1024
DRAIN_FACTOR: Final = 8
"""An oversized body is read and dropped up to this many times the limit before the 413 is
sent, so that a client still sending it reads the answer instead of a connection reset."""
_SCOPE_KEY: Final = "switchboard.refusal"


@dataclass
class Refusal:
    """Why the request is refused; ``rendered`` once a dialect route has answered it."""

    status_code: int
    message: str
    rendered: bool = False


def refusal(scope: Scope) -> Refusal | None:
    """The size-limit refusal of this request, if any."""
    found: Refusal | None = scope.get(_SCOPE_KEY)
    return found


def with_refusal(scope: Scope, refused: Refusal) -> Scope:
    """``scope`` carrying ``refused``: :class:`RequestLimits` answers it without reading on."""
    return {**scope, _SCOPE_KEY: refused}


def server_head_limit(settings: GatewaySettings) -> int:
    """The HTTP server's limit on a request line plus headers (bytes)."""
    return max(
        MIN_SERVER_HEAD_BYTES,
        4 * (settings.max_request_url_bytes + settings.max_request_header_bytes),
    )


class RequestLimits:
    """Refuses requests whose URL, headers or body exceed the settings' limits."""

    def __init__(self, app: ASGIApp, *, settings: GatewaySettings) -> None:
        self.app = app
        self.max_body = settings.max_request_body_bytes
        self.max_url = settings.max_request_url_bytes
        self.max_headers = settings.max_request_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = refusal(scope)
        if refused is not None:  # refused by the HTTP protocol (gateway/http_protocol.py)
            await self._refuse(scope, receive, send, refused, drain=False)
            return
        path = scope.get("raw_path") or scope["path"].encode()
        if len(path) + len(scope.get("query_string", b"")) > self.max_url:
            message = f"request URL exceeds {self.max_url} bytes"
            await self._refuse(scope, receive, send, Refusal(414, message))
            return
        if sum(len(name) + len(value) for name, value in scope["headers"]) > self.max_headers:
            message = f"request headers exceed {self.max_headers} bytes"
            await self._refuse(scope, receive, send, Refusal(431, message))
            return
        length = _content_length(scope)
        if (length is None and not _chunked(scope)) or (
            length is not None and length <= self.max_body
        ):
            await self.app(scope, receive, send)
            return
        await self._bounded_body(scope, receive, send)

    async def _bounded_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer a body of unknown or too large length; refuse it once past the limit."""
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                if more:
                    await _drain(receive, self.max_body * DRAIN_FACTOR)
                refused = Refusal(413, f"request body exceeds {self.max_body} bytes")
                await self._refuse(scope, receive, send, refused, drain=False)
                return
        await self.app(scope, replay(bytes(body), receive), send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, refused: Refusal, *, drain: bool = True
    ) -> None:
        if drain:
            await _drain(receive, self.max_body * DRAIN_FACTOR)
        scope = with_refusal(scope, refused)
        replaced = False

        async def send_refusal(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and not refused.rendered:
                # Not a dialect route (unknown path, docs, health): the generic shape.
                replaced = True
                fallback = JSONResponse({"detail": refused.message}, refused.status_code)
                await fallback(scope, receive, send)
            if not replaced:
                await send(message)

        await self.app(scope, replay(b"", receive), send_refusal)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields ``body`` once, then the connection's own messages
    (for a reader after the one that read the body)."""
    return prepend({"type": "http.request", "body": body, "more_body": False}, receive)


def prepend(message: Message, receive: Receive) -> Receive:
    """A receive channel that yields ``message``, then the connection's own messages."""
    given = False

    async def next_message() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return message

    return next_message


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop what remains of the body, up to ``budget`` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _chunked(scope: Scope) -> bool:
    return header(scope, b"transfer-encoding") is not None
