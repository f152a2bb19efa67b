"""A gRPC server that accepts every RPC and never answers, recording each caller's deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc


@dataclass(frozen=True)
class Held:
    """One RPC the silent server received: method, remaining time on arrival, metadata."""

    method: str
    time_remaining: float | None
    metadata: dict[str, str]


@dataclass
class SilentServer:
    """Where it listens and what it was asked."""

    port: int
    held: list[Held] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


class _Hang(grpc.GenericRpcHandler):
    def __init__(self, record: list[Held]) -> None:
        self._record = record

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method

        async def hang(_request: bytes, context: Any) -> bytes:
            metadata = {
                key: value for key, value in context.invocation_metadata() if isinstance(value, str)
            }
            self._record.append(Held(method, context.time_remaining(), metadata))
            await asyncio.sleep(3600)
            return b""

        return grpc.unary_unary_rpc_method_handler(hang)


@contextlib.asynccontextmanager
async def silent_grpc_server() -> AsyncIterator[SilentServer]:
    """Serve on an ephemeral port for the duration of the block."""
    record: list[Held] = []
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_Hang(record),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield SilentServer(port, record)
    finally:
        await server.stop(0)
