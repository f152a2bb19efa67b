"""A TCP proxy that lets requests through and loses every answer: the connection drops first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class DroppingProxy:
    """Forwards each client's bytes to ``upstream``; on the first answer byte, hangs up on both.

    The answer's first byte proves the server finished (and committed) the request, so a
    client that sees its connection dropped knows nothing, while the write has happened.
    """

    upstream_port: int
    port: int = 0
    dropped: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        """Base URL clients use instead of the upstream's."""
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def forward() -> None:
            while chunk := await reader.read(65536):
                up_writer.write(chunk)
                await up_writer.drain()

        pump = asyncio.create_task(forward())
        self._tasks.add(pump)
        try:
            first = await up_reader.read(1)  # the server has answered; the client never will
            if first:
                self.dropped += 1
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pump
            self._tasks.discard(pump)
            for stream in (writer, up_writer):
                stream.transport.abort()


@contextlib.asynccontextmanager
async def dropping_proxy(upstream_port: int) -> AsyncIterator[DroppingProxy]:
    """A :class:`DroppingProxy` listening on an ephemeral port of 127.0.0.1."""
    proxy = DroppingProxy(upstream_port)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        await server.wait_closed()
