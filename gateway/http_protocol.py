"""The gateway's HTTP/1.1 protocol: uvicorn's httptools one, with oversized heads answered.

httptools' parser refuses a request line plus headers beyond its own fixed bound (about
80 KB) before the ASGI app sees anything, and uvicorn then writes a plain-text 400. The
limits of ``gateway/limits.py`` are far below that bound, so this only changes what a client
sending such a head reads: the app is asked with an empty request that carries the refusal
(414 for the URL, 431 for the headers, 400 for a head that is not HTTP at all), so the answer
comes in the dialect of the route the URL addresses, with a request id and a log line, like
any smaller oversized request. The connection is closed after it, as uvicorn does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.limits import Refusal, with_refusal
from gateway.settings import GatewaySettings

_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def head_limited_protocol(settings: GatewaySettings) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``http=``)."""
    max_url = settings.max_request_url_bytes
    max_headers = settings.max_request_header_bytes

    class HeadLimitedProtocol(HttpToolsProtocol):
        _since_last_request = 0
        """Bytes received since the previous request completed: the head being parsed."""
        _answer: asyncio.Task[None] | None = None

        def data_received(self, data: bytes) -> None:
            self._since_last_request += len(data)
            super().data_received(data)

        def on_message_complete(self) -> None:
            self._since_last_request = 0
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            url: bytes = getattr(self, "url", b"")
            if len(url) > max_url:
                refused = Refusal(414, f"request URL exceeds {max_url} bytes")
            elif self._since_last_request > max_headers:
                refused = Refusal(431, f"request headers exceed {max_headers} bytes")
            else:
                refused = Refusal(400, "invalid HTTP request")
            path = url.split(b"?", 1)[0]
            self._answer = self.loop.create_task(self._answer_refusal(path, refused))

        async def _answer_refusal(self, path: bytes, refused: Refusal) -> None:
            scope = with_refusal(
                {
                    "type": "http",
                    "asgi": {"version": "3.0", "spec_version": "2.3"},
                    "http_version": "1.1",
                    "server": self.server,
                    "client": self.client,
                    "scheme": self.scheme,
                    "root_path": self.root_path,
                    "method": self._method(),
                    "path": path.decode("latin-1"),
                    "raw_path": path,
                    "query_string": b"",
                    "headers": [],
                    "state": self.app_state.copy(),
                },
                refused,
            )
            start: dict[str, Any] = {}
            body: list[bytes] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    body.append(message.get("body", b""))

            try:
                await self.app(scope, receive, send)
            finally:
                status = int(start.get("status", refused.status_code))
                headers = start.get("headers", [])
                self.transport.write(_serialize(status, b"".join(body), headers))
                self.transport.close()

        def _method(self) -> str:
            try:
                return str(self.parser.get_method().decode("ascii"))
            except Exception:  # the parser failed before or inside the method
                return "GET"

    return HeadLimitedProtocol


def _serialize(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    reason = _REASONS.get(status, b"Error")
    lines: list[bytes] = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    for name, value in headers:
        if name.lower() not in (b"content-length", b"connection"):
            lines += [name, b": ", value, b"\r\n"]
    lines += [b"content-length: %d\r\n" % len(body), b"connection: close\r\n\r\n", body]
    return b"".join(lines)
