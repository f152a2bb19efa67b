"""Interceptors wrap a method's handler once, on its first RPC, not on every RPC."""

from __future__ import annotations

import grpc
import pytest
from switchboard.bench.v1 import echo_pb2, echo_pb2_grpc

from bench import echo_server
from services.common.rpc import error_interceptor, observe
from services.common.rpc.handlers import WrappedHandlers


def test_a_handler_is_wrapped_once_and_again_only_when_it_changes() -> None:
    wrapped: list[str] = []

    def wrap(method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        wrapped.append(method)
        return grpc.unary_unary_rpc_method_handler(handler.unary_unary)

    handlers = WrappedHandlers(wrap)
    first = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    again = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    one = handlers.get("/s/M", first)
    assert handlers.get("/s/M", first) is one
    assert handlers.get("/s/N", first) is not one
    assert handlers.get("/s/M", again) is not one
    assert wrapped == ["/s/M", "/s/N", "/s/M"]


async def test_a_served_method_is_wrapped_once_for_many_rpcs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wraps: list[str] = []
    for module, name in ((observe, "_in_context"), (error_interceptor, "_guarded")):
        original = getattr(module, name)

        def counted(
            method: str, handler: grpc.RpcMethodHandler, original: object = original
        ) -> grpc.RpcMethodHandler:
            wraps.append(method)
            return original(method, handler)  # type: ignore[operator]

        monkeypatch.setattr(module, name, counted)
    server = await echo_server.start("127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = echo_pb2_grpc.EchoServiceStub(channel)
            for index in range(5):
                answer = await stub.Echo(echo_pb2.EchoRequest(payload=str(index)), timeout=10)
                assert answer.payload == str(index)
    finally:
        await server.stop(0)
    assert wraps == ["/switchboard.bench.v1.EchoService/Echo"] * 2
